package pdq

import (
	"image"
	"image/draw"
	"os"
	"testing"

	xdraw "golang.org/x/image/draw"
)

// apply returns the variant v of img as a new picture, moving pixels.
func apply(img image.Image, v Variant) image.Image {
	b := img.Bounds()
	src := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(src, src.Bounds(), img, b.Min, draw.Src)
	w, h := b.Dx(), b.Dy()
	ow, oh := w, h
	if v == Rotate90 || v == Rotate270 || v == FlipPlus || v == FlipMinus {
		ow, oh = h, w
	}
	out := image.NewRGBA(image.Rect(0, 0, ow, oh))
	for y := range oh {
		for x := range ow {
			// (sx, sy) is the source pixel that lands at (x, y).
			var sx, sy int
			switch v {
			case Original:
				sx, sy = x, y
			case FlipX:
				sx, sy = x, h-1-y
			case FlipY:
				sx, sy = w-1-x, y
			case Rotate180:
				sx, sy = w-1-x, h-1-y
			case FlipPlus:
				sx, sy = y, x
			case Rotate90: // anticlockwise: the top-right corner goes top-left
				sx, sy = w-1-y, x
			case Rotate270: // clockwise: the bottom-left corner goes top-left
				sx, sy = y, h-1-x
			case FlipMinus:
				sx, sy = w-1-y, h-1-x
			}
			copy(out.Pix[out.PixOffset(x, y):][:4], src.Pix[src.PixOffset(sx, sy):][:4])
		}
	}
	return out
}

// TestDihedralMatchesTransformedPicture checks each DCT-domain variant
// against the hash of the picture actually rotated or mirrored: they must
// be close, and far from the other variants (so a sign or transposition
// mistake cannot pass).
func TestDihedralMatchesTransformedPicture(t *testing.T) {
	for _, name := range []string{"bridge-1-original.jpg", "pen-and-coaster.png", "wee.jpg"} {
		f, err := os.Open("testdata/images/" + name)
		if err != nil {
			t.Fatal(err)
		}
		full, _, err := Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		// A quarter of the size keeps the test quick (under -race too).
		fb := full.Bounds()
		img := image.NewRGBA(image.Rect(0, 0, (fb.Dx()+1)/2, (fb.Dy()+1)/2))
		xdraw.ApproxBiLinear.Scale(img, img.Bounds(), full, fb, draw.Src, nil)
		all, err := Dihedral(img)
		if err != nil {
			t.Fatal(err)
		}
		plain, _ := FromImage(img)
		if all[Original] != plain {
			t.Errorf("%s: Dihedral's original %v differs from FromImage %v", name, all[Original], plain)
		}
		for v := Original; v <= FlipMinus; v++ {
			moved, err := FromImage(apply(img, v))
			if err != nil {
				t.Fatal(err)
			}
			d := Distance(moved.Hash, all[v].Hash)
			t.Logf("%s %-9s %3d bits", name, v, d)
			if d > 16 {
				t.Errorf("%s %s: the DCT-domain hash is %d bits from the hash of the transformed picture", name, v, d)
			}
			for o := Original; o <= FlipMinus; o++ {
				if o != v && all[o].Hash != all[v].Hash && Distance(moved.Hash, all[o].Hash) <= d {
					t.Errorf("%s %s: the transformed picture is as close to variant %s", name, v, o)
				}
			}
		}
	}
}

// TestRotatedReference: the reference's bridge picture turned by 90°
// (anticlockwise) is found by the original's Rotate90 variant although
// the two plain hashes are about 120 bits apart; this pins the direction
// of PDQ's rotations.
func TestRotatedReference(t *testing.T) {
	orig, err := os.Open("testdata/images/bridge-1-original.jpg")
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	img, _, err := Decode(orig)
	if err != nil {
		t.Fatal(err)
	}
	all, err := Dihedral(img)
	if err != nil {
		t.Fatal(err)
	}
	rot := hashFile(t, "testdata/images/bridge-2-rotate-90.jpg")
	if d := Distance(all[Original].Hash, rot.Hash); d < 64 {
		t.Errorf("original and rotated bridge only %d bits apart", d)
	}
	if d := Distance(all[Rotate90].Hash, rot.Hash); d > 10 {
		t.Errorf("the bridge's rot90 variant is %d bits from the rotated bridge", d)
	}
	t.Logf("rot90 %d, rot270 %d bits", Distance(all[Rotate90].Hash, rot.Hash), Distance(all[Rotate270].Hash, rot.Hash))
}
