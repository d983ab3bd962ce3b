package release

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/hashhub/hashhub/hashes"
)

// Item is one entry as a list publishes it: the hash and the attributes a
// platform acts on. No analyst or organisation is named.
type Item struct {
	Algo     string `json:"algo"`
	Value    string `json:"value"`
	Quality  *int   `json:"quality,omitempty"`
	Severity string `json:"severity,omitempty"`
}

// Key is the item's identity within a list: algo:value.
func (it *Item) Key() string { return it.Algo + ":" + it.Value }

// Line is the canonical snapshot line of an item (no trailing newline):
// the bytes its set-root leaf hash covers.
func (it *Item) Line() []byte {
	return it.appendLine(make([]byte, 0, 48+len(it.Algo)+len(it.Value)+len(it.Severity)))
}

// Ops of a delta line.
const (
	OpAdd    = "add"
	OpRemove = "remove"
	OpUpdate = "update"
)

// Change is one delta line: an item added, removed or updated (its
// attributes changed). A remove carries only algo and value.
type Change struct {
	Op string `json:"op"`
	Item
}

// Line is the canonical delta line (no trailing newline).
func (c *Change) Line() []byte {
	if c.Op == OpRemove {
		b, _ := json.Marshal(struct {
			Op    string `json:"op"`
			Algo  string `json:"algo"`
			Value string `json:"value"`
		}{c.Op, c.Algo, c.Value})
		return b
	}
	b, err := json.Marshal(c)
	if err != nil {
		panic(err)
	}
	return b
}

// LineKey returns the key (algo:value) of a canonical snapshot line
// (Item.Line), which starts {"algo":"…","value":"…"; a line of any other
// shape is parsed, and one that does not parse has no key.
func LineKey(line []byte) (string, bool) {
	const a, v = `{"algo":"`, `","value":"`
	if rest, ok := bytes.CutPrefix(line, []byte(a)); ok {
		if i := bytes.IndexByte(rest, '"'); i > 0 {
			if val, ok := bytes.CutPrefix(rest[i:], []byte(v)); ok {
				if j := bytes.IndexByte(val, '"'); j > 0 {
					return string(rest[:i]) + ":" + string(val[:j]), true
				}
			}
		}
	}
	it, err := ParseItem(line)
	if err != nil {
		return "", false
	}
	return it.Key(), true
}

// AppendChangeLine appends to dst the canonical delta line of an add or
// an update whose item's canonical line (Item.Line) is itemLine: what
// Change.Line encodes, the op and then the item's fields in the same
// order, without encoding the item again.
func AppendChangeLine(dst []byte, op string, itemLine []byte) []byte {
	dst = append(dst, `{"op":"`...)
	dst = append(dst, op...)
	dst = append(dst, `",`...)
	return append(dst, itemLine[1:]...)
}

// MaxLine bounds a delta or snapshot line a client will read.
const MaxLine = 4 << 10

// ErrBadLine is wrapped by every ParseChange/ParseItem failure.
var ErrBadLine = errors.New("bad line")

// ParseChange decodes a delta line strictly and canonically.
func ParseChange(line []byte) (Change, error) {
	c, ok := scanCanonical(line, true)
	if !ok {
		// Not in the plain canonical shape: the strict decoder says why
		// (or finds a form the checks below refuse).
		c = Change{}
		if err := strictDecode(line, &c); err != nil {
			return c, err
		}
	}
	switch c.Op {
	case OpAdd, OpUpdate:
	case OpRemove:
		if c.Quality != nil || c.Severity != "" {
			return c, fmt.Errorf("%w: a remove carries only algo and value", ErrBadLine)
		}
	default:
		return c, fmt.Errorf("%w: op %q", ErrBadLine, c.Op)
	}
	if err := c.Item.check(); err != nil {
		return c, err
	}
	if !bytes.Equal(c.Line(), line) {
		return c, fmt.Errorf("%w: not in canonical form", ErrBadLine)
	}
	return c, nil
}

// ParseItem decodes a snapshot line strictly and canonically.
func ParseItem(line []byte) (Item, error) {
	c, ok := scanCanonical(line, false)
	it := c.Item
	if !ok {
		it = Item{}
		if err := strictDecode(line, &it); err != nil {
			return it, err
		}
	}
	if err := it.check(); err != nil {
		return it, err
	}
	var buf [256]byte
	if !bytes.Equal(it.appendLine(buf[:0]), line) {
		return it, fmt.Errorf("%w: not in canonical form", ErrBadLine)
	}
	return it, nil
}

// appendLine appends the item's canonical line (Line) to dst: the bytes
// json.Marshal writes. When every string is plain — printable ASCII that
// encoding/json writes as it is — they are written field by field,
// without reflection: a first version writes a line per member and a
// snapshot check parses one, and json.Marshal was a third of ParseItem's
// time. Anything else goes through json.Marshal (FuzzItemLine).
func (it *Item) appendLine(dst []byte) []byte {
	if !plain(it.Algo) || !plain(it.Value) || !plain(it.Severity) {
		b, err := json.Marshal(it)
		if err != nil {
			panic(err)
		}
		return append(dst, b...)
	}
	dst = append(dst, `{"algo":"`...)
	dst = append(dst, it.Algo...)
	dst = append(dst, `","value":"`...)
	dst = append(dst, it.Value...)
	dst = append(dst, '"')
	if it.Quality != nil {
		dst = append(dst, `,"quality":`...)
		dst = strconv.AppendInt(dst, int64(*it.Quality), 10)
	}
	if it.Severity != "" {
		dst = append(dst, `,"severity":"`...)
		dst = append(dst, it.Severity...)
		dst = append(dst, '"')
	}
	return append(dst, '}')
}

// plain reports whether encoding/json writes s between quotes as it is:
// printable ASCII without the quote and backslash it escapes, nor the
// <, > and & it escapes for HTML.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c > 0x7e, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}

func (it *Item) check() error {
	h, err := hashes.Parse(it.Algo, it.Value, it.Quality)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadLine, err)
	}
	if h.Value != it.Value {
		return fmt.Errorf("%w: value not canonical", ErrBadLine)
	}
	switch it.Severity {
	case "", "A", "B", "C":
	default:
		return fmt.Errorf("%w: severity %q", ErrBadLine, it.Severity)
	}
	return nil
}

// scanCanonical reads a line in the exact shape the node writes —
// {"op":…,"algo":…,"value":…[,"quality":N][,"severity":…]} with plain
// strings — without a JSON decoder (a million-line snapshot would
// otherwise allocate a decoder per line). It only splits the line: the
// caller still checks every value and that the line re-encodes to itself.
// ok is false for anything else, which the strict decoder then handles.
func scanCanonical(line []byte, withOp bool) (c Change, ok bool) {
	if len(line) > MaxLine {
		return c, false
	}
	p := line
	lit := func(s string) bool {
		if len(p) < len(s) || string(p[:len(s)]) != s {
			return false
		}
		p = p[len(s):]
		return true
	}
	str := func() (string, bool) {
		i := bytes.IndexByte(p, '"')
		if i < 0 {
			return "", false
		}
		for _, b := range p[:i] {
			if b < 0x20 || b > 0x7e || b == '\\' {
				return "", false // escapes and non-ASCII: the decoder's job
			}
		}
		v := string(p[:i])
		p = p[i+1:]
		return v, true
	}
	if withOp {
		if !lit(`{"op":"`) {
			return c, false
		}
		if c.Op, ok = str(); !ok || !lit(`,"algo":"`) {
			return c, false
		}
	} else if !lit(`{"algo":"`) {
		return c, false
	}
	if c.Algo, ok = str(); !ok || !lit(`,"value":"`) {
		return c, false
	}
	if c.Value, ok = str(); !ok {
		return c, false
	}
	if lit(`,"quality":`) {
		n, digits := 0, 0
		for len(p) > 0 && p[0] >= '0' && p[0] <= '9' && digits < 4 {
			n = n*10 + int(p[0]-'0')
			p = p[1:]
			digits++
		}
		if digits == 0 {
			return c, false
		}
		c.Quality = &n
	}
	if lit(`,"severity":"`) {
		if c.Severity, ok = str(); !ok {
			return c, false
		}
	}
	return c, lit("}") && len(p) == 0
}

func strictDecode(line []byte, v any) error {
	if len(line) > MaxLine {
		return fmt.Errorf("%w: longer than %d bytes", ErrBadLine, MaxLine)
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %w", ErrBadLine, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: trailing data", ErrBadLine)
	}
	return nil
}

// CompareKeys orders items by key, the order of delta lines.
func CompareKeys(a, b string) int { return strings.Compare(a, b) }

// MaxItemLine returns the length of the longest canonical snapshot line
// (without its newline) that any registered algorithm can have: the
// longest name and value with a three-digit quality and a severity. A
// snapshot of n entries is at most n·(MaxItemLine()+1) bytes, which lets
// a client refuse an oversized snapshot as soon as it passes that bound,
// rather than at MaxLine per entry.
func MaxItemLine() int {
	longest := 0
	q := 100
	for _, name := range hashes.Names() {
		it := Item{Algo: name, Value: strings.Repeat("v", hashes.MaxCanonicalLen(name)), Quality: &q, Severity: "A"}
		longest = max(longest, len(it.Line()))
	}
	return longest
}
