package pdq

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"image"
	"image/jpeg"
	"io"
	"os"
	"sync"
	"testing"

	"golang.org/x/image/draw"
)

// megapixelJPEG is the reference bridge photograph scaled to 1254×800
// (1.0 MP) and encoded at JPEG quality 90: a typical upload.
var megapixelJPEG = sync.OnceValue(func() []byte {
	b, err := os.ReadFile("testdata/images/bridge-1-original.jpg")
	if err != nil {
		panic(err)
	}
	src, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		panic(err)
	}
	dst := image.NewRGBA(image.Rect(0, 0, 1254, 800))
	draw.CatmullRom.Scale(dst, dst.Bounds(), src, src.Bounds(), draw.Src, nil)
	var out bytes.Buffer
	if err := jpeg.Encode(&out, dst, &jpeg.Options{Quality: 90}); err != nil {
		panic(err)
	}
	return out.Bytes()
})

func reportRate(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
}

// BenchmarkDecodeJPEG1MP is the decode alone, the floor for hashing.
func BenchmarkDecodeJPEG1MP(b *testing.B) {
	data := megapixelJPEG()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := jpeg.Decode(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b)
}

// BenchmarkHashJPEG1MP is decode and PDQ.
func BenchmarkHashJPEG1MP(b *testing.B) {
	data := megapixelJPEG()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := HashReader(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b)
}

// BenchmarkHashJPEG1MPAll is what hashctl hash does per file: decode, PDQ,
// and md5, sha1 and sha256 of the bytes from the same read.
func BenchmarkHashJPEG1MPAll(b *testing.B) {
	data := megapixelJPEG()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		m, s1, s2 := md5.New(), sha1.New(), sha256.New()
		r := io.TeeReader(bytes.NewReader(data), io.MultiWriter(m, s1, s2))
		if _, err := HashReader(r); err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, r)
		m.Sum(nil)
		s1.Sum(nil)
		s2.Sum(nil)
	}
	reportRate(b)
}

// BenchmarkDihedralJPEG1MP is decode and all eight PDQ variants.
func BenchmarkDihedralJPEG1MP(b *testing.B) {
	data := megapixelJPEG()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		img, _, err := Decode(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Dihedral(img); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b)
}
