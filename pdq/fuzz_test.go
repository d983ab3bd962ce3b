package pdq

import (
	"bytes"
	"errors"
	"os"
	"testing"
)

// FuzzHashImage feeds arbitrary bytes to the image path. It must never
// panic, must refuse with one of the package's errors, and a hash it
// returns must have a quality in 0–100. The pixel limit is lowered so
// that a header claiming a big canvas cannot make one run slow or large.
func FuzzHashImage(f *testing.F) {
	for _, p := range []string{
		"testdata/images/small.jpg",
		"testdata/images/q0003.jpg",
		"testdata/formats/blue-purple-pink.lossy.webp",
	} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(pngHeader(64, 64))
	f.Add([]byte("GIF89a\x10\x00\x10\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff;"))
	f.Fuzz(func(t *testing.T, b []byte) {
		img, _, err := DecodeLimit(bytes.NewReader(b), 1<<16)
		if err != nil {
			if !errors.Is(err, ErrNotImage) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrEmpty) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if px := img.Bounds().Dx() * img.Bounds().Dy(); px > 1<<16 {
			t.Fatalf("decoded %d pixels over the limit", px)
		}
		all, err := Dihedral(img)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range all {
			if r.Quality < 0 || r.Quality > 100 {
				t.Fatalf("quality %d", r.Quality)
			}
		}
	})
}
