package client

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/hashhub/hashhub/translog"
)

// A published tree is a node's releases as plain files (hashhub publish),
// for any web server, object store or CDN to serve. These are its paths;
// docs/publishing.md describes each. The log is a C2SP tlog-tiles tree
// under log/.
const (
	StaticKeys       = "keys.json"
	StaticReleasePEM = "keys/release.pem"
	StaticCheckpoint = "log/checkpoint"
	// TileHeight is the height of the log's tiles (C2SP tlog-tiles: 8, so
	// 256 hashes or entries a tile).
	TileHeight = 8
)

// StaticLatest is the path of a list's pointer to its newest version.
func StaticLatest(list string) string { return "lists/" + list + "/latest.json" }

// StaticVersion is the directory of a list's version v: manifest.json,
// manifest.sig, manifest.sigstore.json, delta.ndjson (from v−1) and, for
// some versions, snapshot.ndjson.
func StaticVersion(list string, v uint64) string {
	return "lists/" + list + "/" + strconv.FormatUint(v, 10)
}

// TilePath is a tile's path in C2SP tlog-tiles form: tile/<L>/<N>[.p/<W>]
// for hashes, tile/entries/<N>[.p/<W>] for entry bundles (t.L == -1).
func TilePath(t tlog.Tile) string {
	if t.L == -1 {
		return "log/tile/entries/" + strings.TrimPrefix(t.Path(), "tile/8/data/")
	}
	return "log/tile/" + strings.TrimPrefix(t.Path(), "tile/8/")
}

// Static reads a published tree over HTTP(S) or from a file:// URL, with
// the same limits and retries as a node's answers. It serves the pull
// (mirror.Source and mirror.KeySource) exactly what a node would, so a
// pull from a mirror runs the same checks: nothing it returns is trusted.
// Log proofs are computed here from the tree's hash tiles; a tile that
// does not hash to the checkpoint's root makes the proof fail with
// translog.ErrBadProof, and a proof the mirror then checks anyway.
type Static struct {
	c *Client
	// tree is the log tree of the checkpoint last read, which the proofs
	// are asked against.
	tree tlog.Tree
}

// NewStatic returns a reader of the tree at base (http://, https:// or
// file:// URL of its root directory, or s3://bucket/prefix: read from the
// S3 endpoint the environment names, each request signed with the
// reader's own credentials, see S3EndpointFromEnv and S3Credentials).
func NewStatic(base string, userAgent string) (*Static, error) {
	if strings.HasPrefix(base, "s3://") {
		return newS3Static(base, userAgent)
	}
	u, err := url.Parse(base)
	if err != nil || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("mirror %q: want an http://, https://, file:// or s3:// URL of the published tree", base)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" {
			return nil, fmt.Errorf("mirror %q: no host", base)
		}
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("mirror %q: a file:// URL names a local path", base)
		}
		tr.RegisterProtocol("file", http.NewFileTransport(http.Dir("/")))
	default:
		return nil, fmt.Errorf("mirror %q: want an http://, https://, file:// or s3:// URL of the published tree", base)
	}
	return newStatic(u, tr, userAgent), nil
}

func newStatic(u *url.URL, tr http.RoundTripper, userAgent string) *Static {
	idle := idleTimeout(0)
	hc := &http.Client{Transport: &baseTransport{next: tr, userAgent: userAgent, idle: idle}}
	return &Static{c: newClient(strings.TrimRight(u.String(), "/"), hc, 0, 0, 0, idle)}
}

// newS3Static reads a tree in a bucket with plain GETs of its objects,
// signed when the environment has credentials: only the transport
// differs from a tree on a web server.
func newS3Static(base, userAgent string) (*Static, error) {
	loc, err := ParseS3URL(base)
	if err != nil {
		return nil, fmt.Errorf("mirror %w", err)
	}
	ep, err := S3EndpointFromEnv()
	if err != nil {
		return nil, fmt.Errorf("mirror %s: %w", base, err)
	}
	tr := &s3Signer{next: http.DefaultTransport.(*http.Transport).Clone(), creds: S3Credentials(), region: ep.Region}
	return newStatic(ep.ObjectURL(loc), tr, userAgent), nil
}

// Server is the tree's base URL.
func (s *Static) Server() string { return s.c.server }

func (s *Static) get(ctx context.Context, p, accept string, limit int64) ([]byte, error) {
	b, err := s.c.getBytesWithin(ctx, s.c.timeout, "/"+p, nil, accept, limit)
	return b, s.named(p, err)
}

// named puts the file's address in a web server's error, which says no
// more than its status (the status stays: a 404 still steers the pull).
// An S3 service's error body (XML) is cut down to its code and message.
func (s *Static) named(p string, err error) error {
	pr, ok := err.(*Problem)
	if !ok {
		return err
	}
	var x struct{ Code, Message string }
	if strings.HasPrefix(pr.Detail, "<") && xml.Unmarshal([]byte(pr.Detail), &x) == nil && x.Code != "" {
		pr.Detail = strings.TrimSuffix(x.Code+": "+x.Message, ": ")
	}
	where := "GET " + s.c.server + "/" + p
	if pr.Detail == "" {
		pr.Detail = where
	} else if !strings.Contains(pr.Detail, p) {
		pr.Detail = where + ": " + pr.Detail
	}
	return err
}

// Keys reads keys.json, the node's keys and rotation statements.
func (s *Static) Keys(ctx context.Context) (*Keys, error) {
	var k Keys
	if err := s.c.getJSON(ctx, "/"+StaticKeys, nil, &k); err != nil {
		return nil, s.named(StaticKeys, err)
	}
	return &k, nil
}

// LatestRelease reads the list's latest.json.
func (s *Static) LatestRelease(ctx context.Context, list string) (*LatestRelease, error) {
	var out LatestRelease
	if err := s.c.getJSON(ctx, "/"+StaticLatest(list), nil, &out); err != nil {
		return nil, s.named(StaticLatest(list), err)
	}
	if out.List != list {
		return nil, fmt.Errorf("%s names list %q", StaticLatest(list), out.List)
	}
	return &out, nil
}

// Checkpoint reads the log's checkpoint and keeps its size and root for
// the proofs that follow. The note is checked by the caller (the mirror,
// with the pinned log key); here it is only parsed.
func (s *Static) Checkpoint(ctx context.Context) ([]byte, error) {
	raw, err := s.get(ctx, StaticCheckpoint, "text/plain", MaxCheckpoint)
	if err != nil {
		return nil, err
	}
	s.tree = tlog.Tree{}
	if lines := strings.SplitN(string(raw), "\n", 4); len(lines) == 4 {
		n, nerr := strconv.ParseInt(lines[1], 10, 64)
		h, herr := tlog.ParseHash(lines[2])
		if nerr == nil && herr == nil {
			s.tree = tlog.Tree{N: n, Hash: h}
		}
	}
	return raw, nil
}

// InclusionProof computes the proof from the tiles of the checkpoint last
// read (size must be its size).
func (s *Static) InclusionProof(ctx context.Context, index, size int64) ([]tlog.Hash, error) {
	if size != s.tree.N {
		return nil, fmt.Errorf("inclusion proof for size %d: the tree's checkpoint has size %d", size, s.tree.N)
	}
	p, err := tlog.ProveRecord(size, index, s.hashReader(ctx))
	if err != nil {
		return nil, s.proofErr(err)
	}
	return p, nil
}

// ConsistencyProof computes the proof from the tiles of the checkpoint
// last read (size new).
func (s *Static) ConsistencyProof(ctx context.Context, old, new int64) ([]tlog.Hash, error) {
	if new != s.tree.N {
		return nil, fmt.Errorf("consistency proof to size %d: the tree's checkpoint has size %d", new, s.tree.N)
	}
	p, err := tlog.ProveTree(new, old, s.hashReader(ctx))
	if err != nil {
		return nil, s.proofErr(err)
	}
	return p, nil
}

// proofErr tells a tile that does not match the checkpoint (a refusal)
// from a tile that could not be read.
func (s *Static) proofErr(err error) error {
	if _, ok := err.(*tileFetchError); ok {
		return err
	}
	return fmt.Errorf("%w: %v", translog.ErrBadProof, err)
}

type tileFetchError struct{ err error }

func (e *tileFetchError) Error() string { return e.err.Error() }
func (e *tileFetchError) Unwrap() error { return e.err }

func (s *Static) hashReader(ctx context.Context) tlog.HashReader {
	return tlog.TileHashReader(s.tree, &tileReader{s: s, ctx: ctx})
}

// tileReader fetches hash tiles; tlog.TileHashReader checks each against
// the tree's root before any hash of it is used.
type tileReader struct {
	s   *Static
	ctx context.Context
}

func (r *tileReader) Height() int { return TileHeight }

func (r *tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		b, err := r.s.get(r.ctx, TilePath(t), "application/octet-stream", int64(t.W)*tlog.HashSize)
		if err != nil {
			return nil, &tileFetchError{fmt.Errorf("fetch %s: %w", TilePath(t), err)}
		}
		out[i] = b
	}
	return out, nil
}

func (r *tileReader) SaveTiles([]tlog.Tile, [][]byte) {}

// Manifest reads version's manifest.json.
func (s *Static) Manifest(ctx context.Context, list string, version uint64) ([]byte, error) {
	return s.get(ctx, StaticVersion(list, version)+"/manifest.json", "application/json", MaxManifest)
}

// ManifestSignature reads version's manifest.sig.
func (s *Static) ManifestSignature(ctx context.Context, list string, version uint64) ([]byte, error) {
	return s.get(ctx, StaticVersion(list, version)+"/manifest.sig", "text/plain", MaxSignature)
}

// Delta streams the single step to's delta (from must be to−1: a tree
// holds no compacted ranges).
func (s *Static) Delta(ctx context.Context, list string, from, to uint64) (io.ReadCloser, error) {
	if to != from+1 {
		return nil, fmt.Errorf("delta %d→%d: a published tree holds single steps only", from, to)
	}
	p := StaticVersion(list, to) + "/delta.ndjson"
	body, _, err := s.c.stream(ctx, "/"+p, nil, "application/x-ndjson")
	return body, s.named(p, err)
}

// Snapshot streams version's snapshot.ndjson (latest.json says which
// version has the newest).
func (s *Static) Snapshot(ctx context.Context, list string, version uint64) (io.ReadCloser, uint64, error) {
	p := StaticVersion(list, version) + "/snapshot.ndjson"
	body, _, err := s.c.stream(ctx, "/"+p, nil, "application/x-ndjson")
	return body, version, s.named(p, err)
}

// NewPublic returns a client of a node's public routes (keys, checkpoint,
// log proofs), which need no credentials: a puller reading a mirror uses
// it to ask the node itself whether the mirror is behind.
func NewPublic(server, userAgent string, timeout time.Duration) (*Client, error) {
	s, err := NormalizeServer(server)
	if err != nil {
		return nil, err
	}
	idle := idleTimeout(0)
	hc := &http.Client{Transport: &baseTransport{next: http.DefaultTransport.(*http.Transport).Clone(), userAgent: userAgent, idle: idle}}
	return newClient(s, hc, 1, 0, timeout, idle), nil
}
