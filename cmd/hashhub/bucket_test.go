package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/hashhub/hashhub/ingest"
	"github.com/hashhub/hashhub/internal/s3test"
	"github.com/hashhub/hashhub/node"
)

// TestPublishToBucketKilledThenResumed publishes to a real S3 server
// (SeaweedFS) and kills hashhub publish with SIGKILL half way through
// the next publish: anonymous readers of the public bucket, over plain
// HTTP, still see the previous release whole; the next publish sends
// only what is missing and ends with exactly the tree an uninterrupted
// publish makes.
func TestPublishToBucketKilledThenResumed(t *testing.T) {
	srv := s3test.Start(t)
	defer s3test.Stop()
	srv.Setenv(t, srv.Publisher)
	bin := buildBinary(t)
	dir, k := releasedNode(t, 2)
	const prefix = "killed"
	to := "s3://" + s3test.Public + "/" + prefix
	ref := t.TempDir() // the same releases published to a directory, uninterrupted
	for _, target := range []string{to, ref} {
		if code, _, stderr := runCmd("publish", "--data", dir, "--to", target); code != 0 {
			t.Fatalf("publish to %s: %s", target, stderr)
		}
	}
	// The list is readable by every role, so the bucket may be public:
	// anyone pulls it over plain HTTP.
	from := srv.Endpoint + "/" + s3test.Public + "/" + prefix
	mdir := filepath.Join(t.TempDir(), "m")
	if v, err := pullTree(t, from, mdir, k); err != nil || v != 2 {
		t.Fatalf("pull over HTTP: version %d, %v", v, err)
	}

	killThenResume(t, bucketTree{srv, prefix}, bin, dir, to, from, mdir, k)

	// The same tree as an uninterrupted publish, object for file.
	if code, _, stderr := runCmd("publish", "--data", dir, "--to", ref); code != 0 {
		t.Fatalf("publish to %s: %s", ref, stderr)
	}
	bg := context.Background()
	want := map[string][]byte{}
	err := filepath.WalkDir(ref, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(ref, p)
		want[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]byte{}
	for obj := range srv.Admin.ListObjects(bg, s3test.Public, minio.ListObjectsOptions{Prefix: prefix + "/", Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		o, err := srv.Admin.GetObject(bg, s3test.Public, obj.Key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(o)
		o.Close()
		if err != nil {
			t.Fatal(err)
		}
		got[strings.TrimPrefix(obj.Key, prefix+"/")] = b
	}
	if !slices.Equal(slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want))) {
		t.Fatalf("the bucket holds %d objects, the uninterrupted tree %d files:\n%v\n%v", len(got), len(want), slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}
	for p, b := range want {
		if !bytes.Equal(got[p], b) {
			t.Errorf("%s differs from the uninterrupted tree's", p)
		}
	}
}

// bucketTree is a published tree under prefix in the test server's
// public bucket, looked into with the admin's key.
type bucketTree struct {
	srv    *s3test.Server
	prefix string
}

func (b bucketTree) exists(_ *testing.T, p string) bool {
	_, err := b.srv.Admin.StatObject(context.Background(), s3test.Public, b.prefix+"/"+p, minio.StatObjectOptions{})
	return err == nil
}

func (b bucketTree) stamp(t *testing.T, p string) string {
	t.Helper()
	o, err := b.srv.Admin.StatObject(context.Background(), s3test.Public, b.prefix+"/"+p, minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return o.ETag + " " + o.LastModified.String()
}

// BenchmarkPublishToBucket measures publishing a modest list to a real S3
// server (SeaweedFS on loopback): the first publish of a list of
// HASHHUB_BENCH_ENTRIES entries (default 100,000), then the publish after
// a release of 100 new entries. It reports the time, files and bytes of
// each, and the same publishes to a local directory for comparison (one
// run: -benchtime=1x).
//
//	go test -run '^$' -bench PublishToBucket -benchtime=1x ./cmd/hashhub/
func BenchmarkPublishToBucket(b *testing.B) {
	srv := s3test.Start(b)
	defer s3test.Stop()
	srv.Setenv(b, srv.Publisher)
	entriesN := 100_000
	if v := os.Getenv("HASHHUB_BENCH_ENTRIES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatal(err)
		}
		entriesN = n
	}
	dir, _ := releasedNode(b, 1)
	importN := func(from, to int) {
		n, err := node.Open(dir, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer n.Close()
		admin, analyst := actors(b, n)
		var nd strings.Builder
		for i := from; i < to; i++ {
			sum := sha256.Sum256(fmt.Appendf(nil, "bench-%d", i))
			fmt.Fprintf(&nd, `{"algo":"sha256","value":%q}`+"\n", hex.EncodeToString(sum[:]))
		}
		if _, err := n.Hub.Import(analyst, ingest.NewNDJSON(strings.NewReader(nd.String()), 0), fmt.Sprintf("bench-%d", from), nil); err != nil {
			b.Fatal(err)
		}
		if _, err := n.Hub.BuildRelease(admin, "open"); err != nil {
			b.Fatal(err)
		}
	}
	// The same to a local directory, for comparison.
	targets := []string{fmt.Sprintf("s3://%s/bench-%d", s3test.Private, time.Now().UnixNano()), b.TempDir()}
	publishOnce := func(what string) {
		for _, to := range targets {
			start := time.Now()
			code, _, stderr := runCmd("publish", "--data", dir, "--to", to, "--private")
			if code != 0 {
				b.Fatalf("publish: %s", stderr)
			}
			b.Logf("%s: %s (wall %s)", what, strings.TrimSpace(stderr[strings.LastIndex(stderr, "published to"):]), time.Since(start).Round(time.Millisecond))
		}
	}
	importN(0, entriesN)
	b.ResetTimer()
	for range b.N {
		publishOnce(fmt.Sprintf("first publish, %d entries", entriesN+1))
		b.StopTimer()
		importN(entriesN, entriesN+100)
		b.StartTimer()
		publishOnce("after a release of 100 new entries")
	}
}
