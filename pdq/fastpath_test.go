package pdq

import (
	"image"
	"math/rand/v2"
	"testing"
)

// TestBoxColumnsEqualsBox1D: the row-wise column filter gives exactly the
// floats of box1D run down each column, for windows up to the height.
func TestBoxColumnsEqualsBox1D(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, size := range [][2]int{{1, 1}, {1, 7}, {5, 3}, {37, 11}, {64, 50}, {130, 9}} {
		rows, cols := size[0], size[1]
		in := make([]float32, rows*cols)
		for i := range in {
			in[i] = rng.Float32() * 255
		}
		for window := 1; window <= rows; window++ {
			want := make([]float32, len(in))
			for j := range cols {
				box1D(in[j:], want[j:], rows, cols, window)
			}
			got := make([]float32, len(in))
			boxColumns(in, got, rows, cols, window)
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("%d×%d window %d: index %d is %v, want %v", rows, cols, window, i, got[i], want[i])
				}
			}
		}
	}
}

// TestYCbCrLuminanceEqualsGeneric: the JPEG fast path gives exactly the
// luminance of the generic path (colour by colour through image/color),
// for every chroma subsampling and for a sub-image that starts at odd
// coordinates.
func TestYCbCrLuminanceEqualsGeneric(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	ratios := []image.YCbCrSubsampleRatio{
		image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio420,
		image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410,
	}
	for _, ratio := range ratios {
		m := image.NewYCbCr(image.Rect(0, 0, 37, 23), ratio)
		for _, p := range [][]uint8{m.Y, m.Cb, m.Cr} {
			for i := range p {
				p[i] = uint8(rng.UintN(256))
			}
		}
		for _, img := range []*image.YCbCr{m, m.SubImage(image.Rect(3, 5, 30, 22)).(*image.YCbCr)} {
			got := luminance(img)
			want := luminance(struct{ image.Image }{img}) // hides the type: the generic path
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("%v %v: pixel %d is %v, want %v", ratio, img.Bounds(), i, got[i], want[i])
				}
			}
		}
	}
}
