package mirror

import (
	"bytes"
	"errors"
	"testing"

	"github.com/hashhub/hashhub/release"
)

// FuzzParseDelta feeds untrusted bytes to the delta parser. It must never
// panic, must refuse with ErrBadLine, and whatever it accepts must be the
// canonical encoding of what it parsed, in strictly increasing key order:
// there is one byte string per delta, so a digest over it means one thing.
func FuzzParseDelta(f *testing.F) {
	f.Add(deltaBytes([]release.Change{add(c), remove(b), update(a)}))
	f.Add(deltaBytes([]release.Change{add(a), add(c)}))
	f.Add([]byte(""))
	f.Add([]byte("\n"))
	f.Add([]byte(`{"op":"add","algo":"md5","value":"00000000000000000000000000000000"}`))
	f.Add([]byte(`{"op":"remove","algo":"md5","value":"00000000000000000000000000000000","severity":"A"}` + "\n"))
	f.Add([]byte(`{"op":"update","algo":"pdq","value":"` + string(bytes.Repeat([]byte("0"), 64)) + `","quality":90}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var out bytes.Buffer
		prev := ""
		err := parseDelta(bytes.NewReader(data), func(c release.Change) error {
			if prev != "" && c.Key() <= prev {
				t.Fatalf("order not enforced: %q after %q", c.Key(), prev)
			}
			prev = c.Key()
			out.Write(c.Line())
			out.WriteByte('\n')
			return nil
		})
		if err != nil {
			if !errors.Is(err, ErrBadLine) {
				t.Fatalf("refusal does not wrap ErrBadLine: %v", err)
			}
			return
		}
		if !bytes.Equal(out.Bytes(), data) {
			t.Fatalf("accepted non-canonical delta:\n%q\nre-encodes as\n%q", data, out.Bytes())
		}
	})
}

// FuzzParseSnapshot does the same for snapshot lines.
func FuzzParseSnapshot(f *testing.F) {
	f.Add([]byte(a.Line()))
	f.Add(append(append(append([]byte{}, a.Line()...), '\n'), append(c.Line(), '\n')...))
	f.Add([]byte(`{"algo":"sha1","value":"0000000000000000000000000000000000000000","severity":"D"}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var out bytes.Buffer
		err := parseSnapshot(bytes.NewReader(data), func(l *snapLine) error {
			if l.key != l.it.Key() || !bytes.Equal(l.line, l.it.Line()) {
				t.Fatalf("line %q with key %q, item %+v", l.line, l.key, l.it)
			}
			out.Write(l.it.Line())
			out.WriteByte('\n')
			return nil
		})
		if err != nil {
			if !errors.Is(err, ErrBadLine) {
				t.Fatalf("refusal does not wrap ErrBadLine: %v", err)
			}
			return
		}
		if !bytes.Equal(out.Bytes(), data) {
			t.Fatalf("accepted non-canonical snapshot:\n%q\nre-encodes as\n%q", data, out.Bytes())
		}
	})
}
