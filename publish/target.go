package publish

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Cache lifetimes a target may attach to what it stores (an S3 object's
// Cache-Control; a web server in front of a directory is configured with
// the same, see docs/publishing.md).
const (
	CacheImmutable = "public, max-age=31536000, immutable"
	CacheShort     = "public, max-age=60"
)

// Target is where a tree is published. Paths are relative, slash
// separated and come from this package only.
type Target interface {
	// Stat reports whether path holds a file and its size.
	Stat(ctx context.Context, path string) (exists bool, size int64, err error)
	// Get reads a whole file of at most limit bytes (ErrNotExist when
	// there is none).
	Get(ctx context.Context, path string, limit int64) ([]byte, error)
	// Put stores r as path, whole or not at all: a reader sees the old
	// file or the new one, never a part.
	Put(ctx context.Context, path string, r io.Reader, cache string) error
	// String names the target for messages.
	String() string
}

// ErrNotExist is returned by Target.Get for a path that holds nothing.
var ErrNotExist = errors.New("no such file on the target")

// ErrTarget is returned by Open for a target it cannot use.
var ErrTarget = errors.New("bad publish target")

// Open returns the target a --to value names: a directory path, a
// file:// URL or an s3://bucket/prefix URL (see OpenS3).
func Open(to string) (Target, error) {
	if strings.HasPrefix(to, "s3:") {
		return OpenS3(to)
	}
	dir := to
	if strings.Contains(to, "://") {
		u, err := url.Parse(to)
		if err != nil {
			return nil, fmt.Errorf("%w: %q: %w", ErrTarget, to, err)
		}
		if u.Scheme != "file" || (u.Host != "" && u.Host != "localhost") {
			return nil, fmt.Errorf("%w: %q: want a directory (a path or file:///path) or s3://bucket/prefix", ErrTarget, to)
		}
		dir = u.Path
	}
	if dir == "" {
		return nil, fmt.Errorf("%w: empty directory", ErrTarget)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTarget, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTarget, err)
	}
	return &Dir{Root: abs}, nil
}

// Dir is a directory target, for any web server to serve.
type Dir struct{ Root string }

// TempPrefix starts the name of a file being written. A publish that was
// killed may leave one behind in the directory it was writing; nothing
// names it, and it may be deleted at any time.
const TempPrefix = ".hashhub-tmp-"

func (d *Dir) String() string { return d.Root }

func (d *Dir) file(p string) (string, error) {
	if p == "" || path.IsAbs(p) || path.Clean(p) != p || strings.HasPrefix(p, "../") || p == ".." {
		return "", fmt.Errorf("%w: path %q", ErrTarget, p)
	}
	return filepath.Join(d.Root, filepath.FromSlash(p)), nil
}

func (d *Dir) Stat(_ context.Context, p string) (bool, int64, error) {
	f, err := d.file(p)
	if err != nil {
		return false, 0, err
	}
	fi, err := os.Stat(f)
	if errors.Is(err, fs.ErrNotExist) {
		return false, 0, nil
	}
	if err != nil {
		return false, 0, err
	}
	return fi.Mode().IsRegular(), fi.Size(), nil
}

func (d *Dir) Get(_ context.Context, p string, limit int64) ([]byte, error) {
	f, err := d.file(p)
	if err != nil {
		return nil, err
	}
	fh, err := os.Open(f)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotExist, p)
	}
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", p, limit)
	}
	return b, nil
}

// Put writes a temporary file beside path, syncs it and renames it over
// path: rename is atomic, so a web server serving the directory hands out
// the old file or the new one whole.
func (d *Dir) Put(_ context.Context, p string, r io.Reader, _ string) error {
	f, err := d.file(p)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
		return err
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := filepath.Join(filepath.Dir(f), TempPrefix+hex.EncodeToString(rnd[:]))
	fh, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = io.Copy(fh, r)
	if err == nil {
		err = fh.Sync()
	}
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, f)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", p, err)
	}
	return syncDir(filepath.Dir(f))
}

func syncDir(dir string) error {
	fh, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer fh.Close()
	return fh.Sync()
}

// putBytes is Put of a small file.
func putBytes(ctx context.Context, t Target, p string, b []byte, cache string) error {
	return t.Put(ctx, p, bytes.NewReader(b), cache)
}
