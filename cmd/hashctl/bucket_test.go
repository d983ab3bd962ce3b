package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/hashhub/hashhub/client"
	"github.com/hashhub/hashhub/internal/s3test"
	"github.com/hashhub/hashhub/publish"
)

// bucketTree is a published tree in a bucket, reached with the
// publisher's key.
type bucketTree struct {
	c              *minio.Client
	bucket, prefix string
}

func (b bucketTree) read(t *testing.T, p string) []byte {
	t.Helper()
	obj, err := b.c.GetObject(context.Background(), b.bucket, b.prefix+"/"+p, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	out, err := io.ReadAll(obj)
	if err != nil {
		t.Fatalf("read %s: %v", p, err)
	}
	return out
}

func (b bucketTree) write(t *testing.T, p string, data []byte) {
	t.Helper()
	if _, err := b.c.PutObject(context.Background(), b.bucket, b.prefix+"/"+p, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatalf("write %s: %v", p, err)
	}
}

func (b bucketTree) remove(t *testing.T, p string) {
	t.Helper()
	if err := b.c.RemoveObject(context.Background(), b.bucket, b.prefix+"/"+p, minio.RemoveObjectOptions{}); err != nil {
		t.Fatalf("remove %s: %v", p, err)
	}
}

// TestPullFromBucket publishes a real node's releases to an
// authenticated bucket of a real S3 server (SeaweedFS) and mirrors the
// list from it with hashctl pull --from s3://, each reader with its own
// read-only key: the same checks as against the node, new releases
// followed, every kind of tampering refused with the mirror unchanged.
func TestPullFromBucket(t *testing.T) {
	srv := s3test.Start(t)
	srv.Setenv(t, srv.Publisher)
	bg := context.Background()
	rn := startRelNode(t, nil, nil)
	rn.submit(t, "h1", "h2", "h3")
	rn.build(t)
	rn.submit(t, "h4")
	rn.build(t)

	to := "s3://" + s3test.Private + "/hashhub/tree"
	target, err := publish.Open(to)
	if err != nil {
		t.Fatal(err)
	}
	if target.String() != to {
		t.Errorf("target %q", target)
	}
	sum, err := rn.n.Publisher(target, true).Publish(bg)
	if err != nil || sum.LogSize != 2 || sum.Lists[0].Version != 2 || sum.Lists[0].Snapshot != 2 || sum.FilesWritten == 0 {
		t.Fatalf("publish: %v %+v", err, sum)
	}
	again, err := rn.n.Publisher(target, true).Publish(bg)
	if err != nil || again.FilesWritten != 0 || again.FilesSkipped == 0 {
		t.Fatalf("a second publish with nothing new: %v %+v (the first wrote %d)", err, again, sum.FilesWritten)
	}
	// Each object says how long a cache may keep it, and what it is.
	for _, c := range []struct{ path, cache, ctype string }{
		{client.StaticLatest(listName), publish.CacheShort, "application/json"},
		{client.StaticCheckpoint, publish.CacheShort, "text/plain; charset=utf-8"},
		{"lists/verified/2/delta.ndjson", publish.CacheImmutable, "application/x-ndjson"},
		{"lists/verified/2/manifest.json", publish.CacheImmutable, "application/json"},
		{"log/tile/0/000.p/2", publish.CacheImmutable, "application/octet-stream"},
	} {
		info, err := srv.Admin.StatObject(bg, s3test.Private, "hashhub/tree/"+c.path, minio.StatObjectOptions{})
		if err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		if info.Metadata.Get("Cache-Control") != c.cache || info.ContentType != c.ctype {
			t.Errorf("%s: Cache-Control %q, Content-Type %q; want %q, %q", c.path, info.Metadata.Get("Cache-Control"), info.ContentType, c.cache, c.ctype)
		}
	}
	// The target's reads are bounded.
	if _, err := target.Get(bg, client.StaticKeys, 10); err == nil || !strings.Contains(err.Error(), "larger than 10 bytes") {
		t.Errorf("Get of keys.json within 10 bytes: %v", err)
	}
	if _, err := target.Get(bg, "lists/verified/99/manifest.json", 1<<20); !errors.Is(err, publish.ErrNotExist) {
		t.Errorf("Get of a missing object: %v", err)
	}
	if ok, _, err := target.Stat(bg, "lists/verified/99/manifest.json"); ok || err != nil {
		t.Errorf("Stat of a missing object: %v %v", ok, err)
	}

	// A reader with its own read-only key mirrors the list.
	srv.Setenv(t, srv.Reader)
	dir := filepath.Join(t.TempDir(), "mirror")
	r := ok(t, rn.pullFrom(t, to, dir))
	contains(t, r.stdout, "version 0 → 2", "version 2: 1 added, 0 removed, 0 updated, 4 entries")
	lacks(t, r.stderr, "behind")

	// The key reads and nothing more; without a key, or over plain
	// HTTP, the bucket refuses, and no mirror is left behind.
	if err := target.Put(bg, "x", strings.NewReader("x"), publish.CacheShort); err != nil {
		t.Fatalf("the publisher's target: %v", err)
	}
	rt, _ := publish.Open(to)
	if err := rt.Put(bg, "y", strings.NewReader("y"), publish.CacheShort); err == nil {
		t.Error("a reader's key wrote to the bucket")
	}
	for _, from := range []string{to, srv.Endpoint + "/" + s3test.Private + "/hashhub/tree"} {
		srv.Setenv(t, s3test.Key{})
		nodir := filepath.Join(t.TempDir(), "mirror")
		r = rn.pullFrom(t, from, nodir)
		if r.code == 0 || !strings.Contains(r.stderr, "Forbidden") || !strings.Contains(r.stderr, "AccessDenied") {
			t.Errorf("an anonymous pull from %s: %s", from, r)
		}
		if _, err := os.Stat(nodir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("an anonymous pull left a mirror: %v", err)
		}
	}
	srv.Setenv(t, srv.Reader)

	// New releases are followed.
	rn.submit(t, "h5")
	rn.build(t)
	srv.Setenv(t, srv.Publisher)
	if _, err := rn.n.Publisher(target, true).Publish(bg); err != nil {
		t.Fatal(err)
	}
	srv.Setenv(t, srv.Reader)
	r = ok(t, rn.pullFrom(t, to, dir))
	contains(t, r.stdout, "version 2 → 3", "version 3: 1 added, 0 removed, 0 updated, 5 entries")

	// Version 4, published; each object of it broken in turn, and
	// refused.
	rn.submit(t, "h6", "h7")
	rn.build(t)
	srv.Setenv(t, srv.Publisher)
	if _, err := rn.n.Publisher(target, true).Publish(bg); err != nil {
		t.Fatal(err)
	}
	srv.Setenv(t, srv.Reader)
	refusals(t, bucketTree{c: srv.Admin, bucket: s3test.Private, prefix: "hashhub/tree"}, dir, func() result { return rn.pullFrom(t, to, dir) })
	r = ok(t, rn.pullFrom(t, to, dir))
	contains(t, r.stdout, "version 3 → 4", "7 entries")
	ok(t, hashctl(nil, "verify", "--dir", dir))

	// An object larger than a reader accepts is refused, whatever the
	// bucket holds.
	big := bucketTree{c: srv.Admin, bucket: s3test.Private, prefix: "hashhub/big"}
	big.write(t, client.StaticKeys, bytes.Repeat([]byte(" "), 1<<20))
	srv.Setenv(t, s3test.Key{ID: srv.Reader.ID, Secret: srv.Reader.Secret})
	r = hashctl(nil, "pull", "--list", listName, "--dir", filepath.Join(t.TempDir(), "m"), "--from", "s3://"+s3test.Private+"/hashhub/big",
		"--server", rn.url, "--trust-on-first-use")
	if r.code == 0 || !strings.Contains(r.stderr, "more than") {
		t.Errorf("a pull of a 1 MiB keys.json: %s", r)
	}
}
