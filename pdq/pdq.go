// Package pdq computes PDQ perceptual hashes of pictures, in pure Go.
//
// PDQ is Meta's open perceptual hash (facebook/ThreatExchange): 256 bits
// that change little when a picture is re-encoded, resized or slightly
// edited, so two pictures whose hashes differ in few bits (a Hamming
// distance of about 31 or less) are probably the same picture. This
// package follows the published description of the algorithm:
//
//  1. luminance Y = 0.299 R + 0.587 G + 0.114 B per pixel (0–255);
//  2. two passes of a Jarosz box filter (rows, then columns) whose window
//     is ceil(dimension / 128), which approximates a tent blur;
//  3. decimation to 64×64 by sampling the centre of each cell;
//  4. a 16×16 two-dimensional DCT of that buffer (basis functions 1–16,
//     the constant one left out);
//  5. one bit per coefficient: set when it is above the median of the 256.
//
// Quality (0–100) measures how much detail the 64×64 buffer has; hashes of
// quality below 50 are too flat to match on and PDQ users discard them.
//
// The package decodes JPEG, PNG, GIF and WebP. It never decodes a picture
// whose header claims more than MaxPixels pixels (see ErrTooLarge): a tiny
// file can otherwise claim a canvas that needs gigabytes of memory.
//
// Hashes agree with Meta's C++ reference within a few bits (docs/pdq.md
// has the measured table); the reference's own rule is a distance of at
// most 10 for pictures of quality 80 or more.
package pdq

import (
	"encoding/hex"
	"errors"
	"image"
	"math"
	"math/bits"
	"sort"
)

// Hash is a 256-bit PDQ hash. Byte 0 is the most significant, as in the
// reference's hexadecimal form: Hash.String of a hash equals the
// reference's 64-digit output.
type Hash [32]byte

// String returns the hash as 64 lower-case hexadecimal digits.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// Distance returns the Hamming distance between two hashes: the number of
// bits in which they differ (0–256).
func Distance(a, b Hash) int {
	n := 0
	for i := range a {
		n += bits.OnesCount8(a[i] ^ b[i])
	}
	return n
}

// ErrBadHash is returned by ParseHash for text that is not 64 hex digits.
var ErrBadHash = errors.New("pdq: a hash is 64 hexadecimal digits")

// ParseHash parses 64 hexadecimal digits (either case).
func ParseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != 64 {
		return h, ErrBadHash
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, ErrBadHash
	}
	return h, nil
}

// Result is a picture's hash and its quality.
type Result struct {
	Hash    Hash
	Quality int // 0–100; below 50 the hash is not worth matching on
}

// Size of the decimated buffer and of the DCT output.
const (
	bufSize = 64
	dctSize = 16
)

// dct is the 16×64 DCT matrix: dct[i][j] = sqrt(2/64) cos(π/128 (i+1)(2j+1)).
var dct = func() (m [dctSize][bufSize]float64) {
	scale := math.Sqrt(2.0 / bufSize)
	for i := range dctSize {
		for j := range bufSize {
			m[i][j] = scale * math.Cos(math.Pi/2/bufSize*float64(i+1)*float64(2*j+1))
		}
	}
	return m
}()

// FromImage hashes a decoded picture. A picture with no pixels gets an
// error (ErrEmpty).
func FromImage(img image.Image) (Result, error) {
	coeffs, quality, err := transform(img)
	if err != nil {
		return Result{}, err
	}
	return Result{Hash: threshold(&coeffs), Quality: quality}, nil
}

// ErrEmpty is returned for a picture of zero width or height.
var ErrEmpty = errors.New("pdq: the picture has no pixels")

// transform runs the algorithm up to the DCT and returns the 16×16
// coefficients and the quality.
func transform(img image.Image) (coeffs [dctSize][dctSize]float64, quality int, err error) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return coeffs, 0, ErrEmpty
	}
	luma := luminance(img)
	tmp := make([]float32, len(luma))
	jarosz(luma, tmp, h, w, windowSize(w), windowSize(h))
	var small [bufSize][bufSize]float64
	decimate(luma, h, w, &small)
	return dct16(&small), qualityOf(&small), nil
}

// windowSize is the Jarosz box-filter window for a dimension: ceil(dim/128),
// so that two passes blur about one 64th of the picture.
func windowSize(dim int) int { return (dim + 2*bufSize - 1) / (2 * bufSize) }

// luminance converts a picture to 0–255 luminance, row by row, with fast
// paths for the types the standard decoders return.
func luminance(img image.Image) []float32 {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := make([]float32, w*h)
	switch m := img.(type) {
	case *image.YCbCr:
		// JPEG: convert each pixel to RGB exactly as the standard library
		// does, then weigh the channels. A pixel's chroma offset is the
		// row's plus a per-column step that is the same on every row, so
		// it is computed once.
		cstep := make([]int, w)
		c0 := m.COffset(b.Min.X, b.Min.Y)
		for x := range w {
			cstep[x] = m.COffset(b.Min.X+x, b.Min.Y) - c0
		}
		for y := range h {
			yrow := m.Y[m.YOffset(b.Min.X, b.Min.Y+y):]
			crow := m.COffset(b.Min.X, b.Min.Y+y)
			cb, cr := m.Cb[crow:], m.Cr[crow:]
			o := out[y*w : (y+1)*w]
			for x := range o {
				ci := cstep[x]
				r, g, bl := yCbCrToRGB(yrow[x], cb[ci], cr[ci])
				o[x] = 0.299*float32(r) + 0.587*float32(g) + 0.114*float32(bl)
			}
		}
	case *image.Gray:
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+w]
			for x, v := range row {
				out[y*w+x] = float32(v)
			}
		}
	case *image.NRGBA:
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+4*w]
			for x := range w {
				p := row[4*x : 4*x+3]
				out[y*w+x] = 0.299*float32(p[0]) + 0.587*float32(p[1]) + 0.114*float32(p[2])
			}
		}
	case *image.RGBA:
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+4*w]
			for x := range w {
				p := row[4*x : 4*x+3]
				out[y*w+x] = 0.299*float32(p[0]) + 0.587*float32(p[1]) + 0.114*float32(p[2])
			}
		}
	default:
		// Any other type: its 16-bit colour, brought back to 0–255. (A
		// transparent pixel counts as its premultiplied colour.)
		for y := range h {
			for x := range w {
				r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
				out[y*w+x] = (0.299*float32(r>>8) + 0.587*float32(g>>8) + 0.114*float32(bl>>8))
			}
		}
	}
	return out
}

// yCbCrToRGB is the JFIF conversion of the image/color package, inlined
// here so the JPEG path does not go through an interface per pixel.
func yCbCrToRGB(y, cb, cr uint8) (uint8, uint8, uint8) {
	yy1 := int32(y) * 0x10101
	cb1 := int32(cb) - 128
	cr1 := int32(cr) - 128
	r := yy1 + 91881*cr1
	if uint32(r)&0xff000000 == 0 {
		r >>= 16
	} else {
		r = ^(r >> 31)
	}
	g := yy1 - 22554*cb1 - 46802*cr1
	if uint32(g)&0xff000000 == 0 {
		g >>= 16
	} else {
		g = ^(g >> 31)
	}
	b := yy1 + 116130*cb1
	if uint32(b)&0xff000000 == 0 {
		b >>= 16
	} else {
		b = ^(b >> 31)
	}
	return uint8(r), uint8(g), uint8(b)
}

// jarosz blurs buf (rows×cols) in place with two passes of a box filter
// along rows and then along columns; tmp is scratch of the same size.
func jarosz(buf, tmp []float32, rows, cols, rowWindow, colWindow int) {
	for range 2 {
		for i := range rows {
			box1D(buf[i*cols:], tmp[i*cols:], cols, 1, rowWindow)
		}
		boxColumns(tmp, buf, rows, cols, colWindow)
	}
}

// box1D writes to out the mean of in over a sliding window of size window,
// centred (for an even window, one more sample after than before) and
// shrunk at both ends, for n samples stride apart.
func box1D(in, out []float32, n, stride, window int) {
	half := (window + 2) / 2
	var sum float32
	count := 0
	ri, li, oi := 0, 0, 0
	// Accumulate the first half window without writing.
	for range half - 1 {
		sum += in[ri]
		count++
		ri += stride
	}
	// Growing window.
	for range window - half + 1 {
		sum += in[ri]
		count++
		out[oi] = sum / float32(count)
		ri += stride
		oi += stride
	}
	// Full window.
	for range n - window {
		sum += in[ri]
		sum -= in[li]
		out[oi] = sum / float32(count)
		li += stride
		ri += stride
		oi += stride
	}
	// Shrinking window.
	for range half - 1 {
		sum -= in[li]
		count--
		out[oi] = sum / float32(count)
		li += stride
		oi += stride
	}
}

// boxColumns is box1D down every column at once: the same sums in the
// same order, but walking whole rows, which keeps the memory access
// sequential (one column at a time strides through the whole buffer).
func boxColumns(in, out []float32, rows, cols, window int) {
	half := (window + 2) / 2
	sum := make([]float32, cols)
	row := func(buf []float32, i int) []float32 { return buf[i*cols : (i+1)*cols] }
	count := 0
	ri, li, oi := 0, 0, 0
	for range half - 1 {
		for j, v := range row(in, ri) {
			sum[j] += v
		}
		count++
		ri++
	}
	for range window - half + 1 {
		o := row(out, oi)
		for j, v := range row(in, ri) {
			sum[j] += v
			o[j] = sum[j] / float32(count+1)
		}
		count++
		ri++
		oi++
	}
	for range rows - window {
		o, add, sub := row(out, oi), row(in, ri), row(in, li)
		for j := range sum {
			sum[j] += add[j]
			sum[j] -= sub[j]
			o[j] = sum[j] / float32(count)
		}
		li++
		ri++
		oi++
	}
	for range half - 1 {
		o, sub := row(out, oi), row(in, li)
		for j := range sum {
			sum[j] -= sub[j]
			o[j] = sum[j] / float32(count-1)
		}
		count--
		li++
		oi++
	}
}

// decimate samples the blurred picture at the centres of a 64×64 grid.
func decimate(in []float32, rows, cols int, out *[bufSize][bufSize]float64) {
	for i := range bufSize {
		y := int((float64(i) + 0.5) * float64(rows) / bufSize)
		for j := range bufSize {
			x := int((float64(j) + 0.5) * float64(cols) / bufSize)
			out[i][j] = float64(in[y*cols+x])
		}
	}
}

// qualityOf is PDQ's quality metric: the sum of the absolute differences
// of neighbouring samples (as whole percentages of full scale), over 90,
// at most 100.
func qualityOf(buf *[bufSize][bufSize]float64) int {
	sum := 0
	for i := range bufSize - 1 {
		for j := range bufSize {
			sum += absInt(int((buf[i][j] - buf[i+1][j]) * 100 / 255))
		}
	}
	for i := range bufSize {
		for j := range bufSize - 1 {
			sum += absInt(int((buf[i][j] - buf[i][j+1]) * 100 / 255))
		}
	}
	return min(sum/90, 100)
}

func absInt(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// dct16 returns D·A·Dᵀ for the 64×64 buffer A.
func dct16(a *[bufSize][bufSize]float64) (out [dctSize][dctSize]float64) {
	var t [dctSize][bufSize]float64
	for i := range dctSize {
		for k := range bufSize {
			d := dct[i][k]
			for j := range bufSize {
				t[i][j] += d * a[k][j]
			}
		}
	}
	for i := range dctSize {
		for j := range dctSize {
			var s float64
			for k := range bufSize {
				s += t[i][k] * dct[j][k]
			}
			out[i][j] = s
		}
	}
	return out
}

// threshold sets bit i·16+j when coefficient [i][j] is above the median.
// Bit k lives in the reference's 16-bit word k/16, and the reference
// prints word 15 first, so row 15 is the first two bytes of the Hash.
func threshold(c *[dctSize][dctSize]float64) Hash {
	vals := make([]float64, 0, dctSize*dctSize)
	for i := range dctSize {
		vals = append(vals, c[i][:]...)
	}
	sort.Float64s(vals)
	// The lower of the two middle values, as the reference's Torben
	// median returns for an even count.
	median := vals[len(vals)/2-1]
	var h Hash
	for i := range dctSize {
		for j := range dctSize {
			if c[i][j] > median {
				word := 15 - i // byte pair 2·word, 2·word+1 holds row i
				if j >= 8 {
					h[2*word] |= 1 << (j - 8)
				} else {
					h[2*word+1] |= 1 << j
				}
			}
		}
	}
	return h
}
