package release

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
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
	b, err := json.Marshal(it)
	if err != nil {
		panic(err)
	}
	return b
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

// MaxLine bounds a delta or snapshot line a client will read.
const MaxLine = 4 << 10

// ErrBadLine is wrapped by every ParseChange/ParseItem failure.
var ErrBadLine = errors.New("bad line")

// ParseChange decodes a delta line strictly and canonically.
func ParseChange(line []byte) (Change, error) {
	var c Change
	if err := strictDecode(line, &c); err != nil {
		return c, err
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
	var it Item
	if err := strictDecode(line, &it); err != nil {
		return it, err
	}
	if err := it.check(); err != nil {
		return it, err
	}
	if !bytes.Equal(it.Line(), line) {
		return it, fmt.Errorf("%w: not in canonical form", ErrBadLine)
	}
	return it, nil
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
