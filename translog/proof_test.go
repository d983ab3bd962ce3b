package translog

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

func TestProofEncoding(t *testing.T) {
	s, _ := buildLog(t, 100, leafData)
	p, err := InclusionProof(s, 37, 100)
	if err != nil {
		t.Fatal(err)
	}
	enc := EncodeProof(p)
	got, err := DecodeProof(enc)
	if err != nil {
		t.Fatalf("DecodeProof: %v", err)
	}
	if !slices.Equal(got, p) {
		t.Fatalf("DecodeProof(EncodeProof(p)) = %v, want %v", got, p)
	}
	// Decoded proofs assign to tlog's proof types without conversion.
	var rp tlog.RecordProof = got
	var tp tlog.TreeProof = got
	_, _ = rp, tp

	if e := EncodeProof(nil); e == nil || len(e) != 0 {
		t.Errorf("EncodeProof(nil) = %#v, want empty non-nil", e)
	}
	if d, err := DecodeProof(nil); err != nil || len(d) != 0 {
		t.Errorf("DecodeProof(nil) = %v, %v", d, err)
	}
	full := make([]string, MaxProofHashes)
	for i := range full {
		full[i] = enc[0]
	}
	if _, err := DecodeProof(full); err != nil {
		t.Errorf("DecodeProof of %d hashes: %v", MaxProofHashes, err)
	}
}

func TestDecodeProofRefuses(t *testing.T) {
	h := sha256.Sum256([]byte("x"))
	good := base64.StdEncoding.EncodeToString(h[:])
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	nonCanonical := []byte(good)
	nonCanonical[42] = alphabet[strings.IndexByte(alphabet, nonCanonical[42])^1]

	for name, in := range map[string][]string{
		"too many":       slices.Repeat([]string{good}, MaxProofHashes+1),
		"empty string":   {good, ""},
		"short":          {good[:43]},
		"long":           {good + "A"},
		"not base64":     {strings.Repeat("!", 44)},
		"embedded \\n":   {good[:20] + "\n" + good[21:]},
		"non-canonical":  {string(nonCanonical)},
		"33 bytes":       {base64.StdEncoding.EncodeToString(append(h[:], 1))[:44]},
		"url alphabet":   {strings.Repeat("-", 43) + "="},
		"huge string":    {strings.Repeat("A", 1<<20)},
		"padding inside": {"AAAA====" + good[8:]},
	} {
		if _, err := DecodeProof(in); !errors.Is(err, ErrBadProof) {
			t.Errorf("%s: DecodeProof = %v, want ErrBadProof", name, err)
		}
	}
}

func FuzzDecodeProof(f *testing.F) {
	h := sha256.Sum256([]byte("x"))
	good := base64.StdEncoding.EncodeToString(h[:])
	f.Add(good)
	f.Add(good + "," + good)
	f.Add("")
	f.Add(",")
	f.Add(strings.Repeat(good+",", 70))
	f.Fuzz(func(t *testing.T, s string) {
		in := strings.Split(s, ",")
		got, err := DecodeProof(in)
		if err != nil {
			if !errors.Is(err, ErrBadProof) {
				t.Fatalf("DecodeProof error %v does not wrap ErrBadProof", err)
			}
			return
		}
		if len(got) > MaxProofHashes {
			t.Fatalf("DecodeProof accepted %d hashes", len(got))
		}
		// Anything accepted is in canonical form: re-encoding gives the
		// input back, so one proof has one spelling.
		if re := EncodeProof(got); !slices.Equal(re, in) {
			t.Fatalf("DecodeProof(%q) re-encodes as %q", in, re)
		}
	})
}
