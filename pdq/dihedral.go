package pdq

import "image"

// Variant names one of the eight symmetries of a rectangle (the dihedral
// group), in the order and with the names PDQ uses.
type Variant int

// The eight variants. Rotations are anticlockwise, as in the reference.
const (
	Original  Variant = iota
	Rotate90          // turned a quarter anticlockwise
	Rotate180         // turned upside down
	Rotate270         // turned a quarter clockwise
	FlipX             // mirrored top to bottom (about the horizontal axis)
	FlipY             // mirrored left to right (about the vertical axis)
	FlipPlus          // transposed (mirrored about the main diagonal)
	FlipMinus         // mirrored about the anti-diagonal
)

var variantNames = [...]string{"original", "rot90", "rot180", "rot270", "flipx", "flipy", "flipplus", "flipminus"}

// String returns the variant's short name, e.g. "rot90".
func (v Variant) String() string {
	if v < 0 || int(v) >= len(variantNames) {
		return "unknown"
	}
	return variantNames[v]
}

// Dihedral hashes a picture and the seven other pictures one gets by
// rotating and mirroring it, indexed by Variant, from one pass over the
// pixels. Matching a hash against all eight finds a rotated or mirrored
// copy; the quality is the same for all eight.
//
// The variants are computed in the DCT domain, which is exact for the 64×64
// buffer: mirroring sample k to 63−k multiplies DCT basis function u by
// (−1)^u (basis functions are numbered from 1, so coefficient index i,
// basis i+1, changes sign when i is even), and transposing the buffer
// transposes the coefficients. Hashing an actually rotated picture gives
// the same hash up to the few bits by which the blur and the sampling grid
// are not symmetric.
func Dihedral(img image.Image) ([8]Result, error) {
	var out [8]Result
	c, quality, err := transform(img)
	if err != nil {
		return out, err
	}
	for v := range out {
		t := transformCoeffs(&c, Variant(v))
		out[v] = Result{Hash: threshold(&t), Quality: quality}
	}
	return out, nil
}

// transformCoeffs returns the DCT coefficients of the variant v of the
// buffer whose coefficients are c.
func transformCoeffs(c *[dctSize][dctSize]float64, v Variant) (out [dctSize][dctSize]float64) {
	// sign is −1 for coefficient indices whose basis function is odd.
	sign := func(i int) float64 {
		if i%2 == 0 {
			return -1
		}
		return 1
	}
	for i := range dctSize {
		for j := range dctSize {
			// i indexes rows (vertical frequency), j columns.
			switch v {
			case Original:
				out[i][j] = c[i][j]
			case FlipX: // rows reversed
				out[i][j] = sign(i) * c[i][j]
			case FlipY: // columns reversed
				out[i][j] = sign(j) * c[i][j]
			case Rotate180:
				out[i][j] = sign(i) * sign(j) * c[i][j]
			case FlipPlus: // transpose
				out[i][j] = c[j][i]
			case Rotate90: // transpose of the left-right mirror
				out[i][j] = sign(i) * c[j][i]
			case Rotate270: // transpose of the top-bottom mirror
				out[i][j] = sign(j) * c[j][i]
			case FlipMinus: // transpose turned upside down
				out[i][j] = sign(i) * sign(j) * c[j][i]
			}
		}
	}
	return out
}
