package pdq

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/gif"
	"image/png"
	"io"
	"os"
	"testing"
)

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFormats: the same picture as PNG, lossless WebP, lossy WebP and GIF
// hashes alike, and Decode names each format.
func TestFormats(t *testing.T) {
	ref := hashFile(t, "testdata/formats/blue-purple-pink.png")
	for file, max := range map[string]int{
		"testdata/formats/blue-purple-pink.lossless.webp": 0,
		"testdata/formats/blue-purple-pink.lossy.webp":    16,
	} {
		got := hashFile(t, file)
		if d := Distance(got.Hash, ref.Hash); d > max {
			t.Errorf("%s: %d bits from the PNG (at most %d)", file, d, max)
		}
	}
	img, format, err := Decode(bytes.NewReader(readFile(t, "testdata/formats/blue-purple-pink.png")))
	if err != nil || format != "png" {
		t.Fatalf("png: format %q, %v", format, err)
	}
	var buf bytes.Buffer
	if err := gif.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	_, format, err = Decode(bytes.NewReader(buf.Bytes()))
	if err != nil || format != "gif" {
		t.Fatalf("gif: format %q, %v", format, err)
	}
	got, err := HashReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if d := Distance(got.Hash, ref.Hash); d > 24 {
		t.Errorf("gif: %d bits from the PNG", d)
	}
}

// pngChunk encodes one PNG chunk with its CRC.
func pngChunk(typ string, data []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, uint32(len(data)))
	b.WriteString(typ)
	b.Write(data)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	return b.Bytes()
}

// pngHeader returns a valid PNG signature and IHDR for a w×h 8-bit RGB
// picture, with no pixel data.
func pngHeader(w, h uint32) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // bit depth, colour type RGB
	return append([]byte("\x89PNG\r\n\x1a\n"), pngChunk("IHDR", ihdr)...)
}

// limitedTo counts the bytes read through it: few show that a refused
// picture was not decoded.
type limitedTo struct {
	r io.Reader
	t int // bytes read
}

func (l *limitedTo) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	l.t += n
	return n, err
}

// TestBombRefusedBeforeDecoding: headers that claim 100,000 × 100,000
// (PNG) and 65,535 × 65,535 (GIF) pixels are refused with ErrTooLarge,
// although a PNG decoder would first allocate the whole canvas. The PNG
// is followed by a megabyte of compressed zeros, which must not be read.
func TestBombRefusedBeforeDecoding(t *testing.T) {
	bomb := pngHeader(100_000, 100_000)
	bomb = append(bomb, pngChunk("IDAT", make([]byte, 1<<20))...)
	r := &limitedTo{r: bytes.NewReader(bomb)}
	_, _, err := Decode(r)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("png bomb: %v, want ErrTooLarge", err)
	}
	if r.t > 64<<10 {
		t.Errorf("png bomb: %d bytes read before refusing", r.t)
	}

	// GIF: logical screen 65535×65535, global colour table of 2, then
	// nothing.
	g := []byte("GIF89a\xff\xff\xff\xff\x80\x00\x00\x00\x00\x00\xff\xff\xff;")
	if _, err := HashReader(bytes.NewReader(g)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("gif bomb: %v, want ErrTooLarge", err)
	}

	// Just under a custom limit is decoded; just over is refused.
	small := image.NewGray(image.Rect(0, 0, 100, 100))
	var buf bytes.Buffer
	png.Encode(&buf, small)
	if _, _, err := DecodeLimit(bytes.NewReader(buf.Bytes()), 10_000); err != nil {
		t.Errorf("100×100 at a limit of 10,000: %v", err)
	}
	if _, _, err := DecodeLimit(bytes.NewReader(buf.Bytes()), 9_999); !errors.Is(err, ErrTooLarge) {
		t.Errorf("100×100 at a limit of 9,999: %v, want ErrTooLarge", err)
	}
}

// TestBadInput: truncated and corrupt pictures and files that are not
// pictures at all get ErrNotImage, never a hash or a panic.
func TestBadInput(t *testing.T) {
	jpg := readFile(t, "testdata/images/wee.jpg")
	pngb := readFile(t, "testdata/formats/blue-purple-pink.png")
	webp := readFile(t, "testdata/formats/blue-purple-pink.lossless.webp")
	corrupt := bytes.Clone(pngb)
	for i := len(corrupt) / 2; i < len(corrupt)/2+64; i++ {
		corrupt[i] ^= 0x5a // breaks the IDAT chunk's CRC
	}
	cases := map[string][]byte{
		"empty":              nil,
		"text":               []byte("this is not a picture\n"),
		"ndjson":             []byte(`{"algo":"md5","value":"00112233445566778899aabbccddeeff"}` + "\n"),
		"jpeg magic only":    jpg[:4],
		"jpeg header only":   jpg[:200],
		"jpeg truncated":     jpg[:len(jpg)/2],
		"png signature only": pngb[:8],
		"png truncated":      pngb[:len(pngb)/2],
		"png corrupt":        corrupt,
		"webp truncated":     webp[:len(webp)/2],
		"png no pixel data":  pngHeader(16, 16),
		"png zero size":      pngHeader(0, 0),
	}
	for name, b := range cases {
		res, err := HashReader(bytes.NewReader(b))
		if err == nil {
			t.Errorf("%s: hashed as %v, want an error", name, res.Hash)
			continue
		}
		if !errors.Is(err, ErrNotImage) && !errors.Is(err, ErrEmpty) {
			t.Errorf("%s: %v, want ErrNotImage", name, err)
		}
	}
}

// TestReadErrorIsNotCalledBadPicture: a failing reader's error comes back
// as itself, not as ErrNotImage, so a caller can tell a bad disk from a
// bad file.
func TestReadErrorIsNotCalledBadPicture(t *testing.T) {
	boom := errors.New("disk on fire")
	jpg := readFile(t, "testdata/images/wee.jpg")
	r := io.MultiReader(bytes.NewReader(jpg[:1000]), &failing{err: boom})
	if _, err := HashReader(r); !errors.Is(err, boom) {
		t.Fatalf("got %v, want the read error", err)
	}
}

type failing struct{ err error }

func (f *failing) Read([]byte) (int, error) { return 0, f.err }
