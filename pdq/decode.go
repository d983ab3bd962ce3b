package pdq

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"io"

	// The formats this package decodes.
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"

	_ "golang.org/x/image/webp"
)

// MaxPixels is the largest picture, in pixels (width × height), that
// Decode accepts: 50 million, more than a 48-megapixel camera's output.
// Hashing needs about 12 bytes per pixel at once (the decoded picture and
// two float32 buffers), so this bounds a single hash to some 600 MB. The
// size is read from the header before anything is decoded, so a small
// file claiming a huge canvas (a decompression bomb) costs nothing.
const MaxPixels = 50_000_000

var (
	// ErrNotImage means the bytes are not a picture in a format this
	// package decodes (JPEG, PNG, GIF, WebP), or are damaged.
	ErrNotImage = errors.New("pdq: not a JPEG, PNG, GIF or WebP picture, or a damaged one")
	// ErrTooLarge means the picture's header claims more than the pixel
	// limit; nothing was decoded.
	ErrTooLarge = errors.New("pdq: picture too large")
)

// Decode reads one picture from r, refusing one whose header claims more
// than MaxPixels pixels before decoding it. It returns the picture and
// its format ("jpeg", "png", "gif" or "webp"). Errors wrap ErrNotImage,
// ErrTooLarge or ErrEmpty, or are r's own read errors.
//
// Decode reads r once, front to back, so r may be a pipe or an
// io.TeeReader feeding other hashes; it stops where the decoder stops, so
// a caller that needs every byte should drain r afterwards.
func Decode(r io.Reader) (image.Image, string, error) {
	return DecodeLimit(r, MaxPixels)
}

// DecodeLimit is Decode with another pixel limit.
func DecodeLimit(r io.Reader, maxPixels int64) (image.Image, string, error) {
	// The header is read through a recorder so that the full decode can
	// start again from the first byte without seeking.
	var head bytes.Buffer
	cr := &errReader{r: r}
	cfg, format, err := image.DecodeConfig(io.TeeReader(cr, &head))
	if err != nil {
		if cr.err != nil && cr.err != io.EOF {
			return nil, "", cr.err
		}
		return nil, "", fmt.Errorf("%w (%v)", ErrNotImage, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, "", ErrEmpty
	}
	if int64(cfg.Width)*int64(cfg.Height) > maxPixels {
		return nil, "", fmt.Errorf("%w: %s header claims %d×%d pixels (at most %d)", ErrTooLarge, format, cfg.Width, cfg.Height, maxPixels)
	}
	img, _, err := image.Decode(io.MultiReader(&head, cr))
	if err != nil {
		if cr.err != nil && cr.err != io.EOF {
			return nil, "", cr.err
		}
		return nil, "", fmt.Errorf("%w (%v)", ErrNotImage, err)
	}
	// A decoder could in principle return a picture larger than its
	// header said; never hash beyond the limit.
	if b := img.Bounds(); int64(b.Dx())*int64(b.Dy()) > maxPixels {
		return nil, "", fmt.Errorf("%w: %d×%d pixels (at most %d)", ErrTooLarge, b.Dx(), b.Dy(), maxPixels)
	}
	return img, format, nil
}

// errReader remembers the first error of the underlying reader, so
// that a failing disk is reported as such and not as a damaged picture.
type errReader struct {
	r   io.Reader
	err error
}

func (c *errReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}

// HashReader decodes one picture from r (as Decode) and hashes it.
func HashReader(r io.Reader) (Result, error) {
	img, _, err := Decode(r)
	if err != nil {
		return Result{}, err
	}
	return FromImage(img)
}
