package hashes

import (
	"fmt"
	"math/bits"
	"strings"
)

// pdqBits is the size of a PDQ hash.
const pdqBits = 256

// pdq is Meta's perceptual image hash: 256 bits written as 64 hex
// characters, compared by Hamming distance, optionally with a 0–100
// quality score computed alongside it.
type pdq struct{ hexDigest }

func init() {
	Register(pdq{hexDigest{name: "pdq", size: pdqBits / 8, match: Hamming}})
}

// Canonical applies the hex rules and then refuses the all-zero hash,
// which PDQ yields for blank or featureless images and which would be a
// near match for a great deal of innocent material.
func (p pdq) Canonical(value string) (string, error) {
	v, err := p.hexDigest.Canonical(value)
	if err != nil {
		return "", err
	}
	if strings.Trim(v, "0") == "" {
		return "", valueError("pdq hash is all zeros: that is the hash of a blank or degenerate image and matches nothing useful")
	}
	return v, nil
}

// checkQuality accepts PDQ's quality range, 0 to 100 inclusive.
func (pdq) checkQuality(q int) error {
	if q < 0 || q > 100 {
		return &FieldError{
			Field:  "quality",
			Reason: fmt.Sprintf("pdq quality must be an integer from 0 to 100, got %d", q),
			Err:    ErrInvalidQuality,
		}
	}
	return nil
}

// HammingDistance returns the number of bits in which two PDQ hashes
// differ (0 to 256), for near matching. Both must be 64 hex characters,
// as produced by [Parse]; they are not trimmed, so that this can run on the
// matching hot path without allocating. Hex case does not matter. The
// error is a *FieldError with Field "value".
//
// (The specification called this Hamming, but that name is taken by the
// [Hamming] MatchKind constant.)
func HammingDistance(a, b string) (int, error) {
	wa, err := pdqWords(a)
	if err != nil {
		return 0, err
	}
	wb, err := pdqWords(b)
	if err != nil {
		return 0, err
	}
	d := 0
	for i := range wa {
		d += bits.OnesCount64(wa[i] ^ wb[i])
	}
	return d, nil
}

// pdqWords decodes 64 hex characters into four 64-bit words.
func pdqWords(s string) ([pdqBits / 64]uint64, error) {
	var w [pdqBits / 64]uint64
	if len(s) != pdqBits/4 {
		return w, checkHex(s, "pdq", pdqBits/4)
	}
	var bad int8
	for i := range w {
		var x uint64
		for _, c := range []byte(s[i*16 : i*16+16]) {
			d := hexValues[c]
			bad |= d // stays non-negative unless some digit was -1
			x = x<<4 | uint64(d)&0xf
		}
		w[i] = x
	}
	if bad < 0 {
		return w, checkHex(s, "pdq", pdqBits/4)
	}
	return w, nil
}
