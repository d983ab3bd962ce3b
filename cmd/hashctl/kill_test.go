package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashhub/hashhub/internal/s3test"
)

// TestMain lets a test run hashctl as a real process: the test binary
// started with HASHCTL_TEST_MAIN=1 is hashctl.
func TestMain(m *testing.M) {
	if os.Getenv("HASHCTL_TEST_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	code := m.Run()
	s3test.Stop()
	os.Exit(code)
}

// pullKilled runs hashctl pull as its own process and kills it (SIGKILL)
// once it has reported staging its after-th batch. It reports whether the
// kill came before the process ended by itself.
func (rn *relNode) pullKilled(t *testing.T, server, dir string, after int, extra ...string) bool {
	t.Helper()
	args := append([]string{"pull", "--list", listName, "--dir", dir, "--server", server,
		"--client-id", rn.platform.id, "--client-secret", rn.platform.secret}, extra...)
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "HASHCTL_TEST_MAIN=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	sc := bufio.NewScanner(stderr)
	for n := 0; sc.Scan(); {
		if strings.Contains(sc.Text(), ": staged ") {
			if n++; n == after {
				killed = cmd.Process.Kill() == nil
				break
			}
		}
	}
	for sc.Scan() {
	}
	err = cmd.Wait()
	if !killed && err != nil {
		t.Fatalf("pull ended on its own with %v", err)
	}
	return killed
}

// exportOf is the mirror's NDJSON export.
func exportOf(t *testing.T, dir string) string {
	t.Helper()
	return ok(t, hashctl(nil, "mirror", "export", "--dir", dir)).stdout
}

// TestPullKilledDuringSnapshotLoad kills hashctl pull while it loads a
// snapshot in small batches — a first pull of a version 1 larger than a
// batch, then a catch-up past the node's delta retention — at several
// points. After each kill the mirror holds the version it held before
// (verified, with the same entries) or the new one, never a mix; the pull
// run again finishes with exactly the entries of an uninterrupted pull.
func TestPullKilledDuringSnapshotLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts hashctl processes")
	}
	rn := startRelNode(t, nil, nil)
	bg := context.Background()
	hot := rn.hotline
	importN := func(from, to int) {
		var b bytes.Buffer
		for i := from; i < to; i++ {
			fmt.Fprintf(&b, `{"algo":"sha256","value":%q,"severity":"B"}`+"\n", sha(fmt.Sprint("k", i)))
		}
		if _, err := hot.Import(bg, &b, "ndjson", int64(b.Len())); err != nil {
			t.Fatal(err)
		}
	}
	importN(0, 1500)
	rn.build(t)
	const batch = "--batch=40"
	// Every pull goes through a proxy (a mirror pins its server), which
	// later answers as a node that no longer keeps the delta.
	px := newProxy(t, rn.url)

	// An uninterrupted pull is the reference.
	ref := filepath.Join(t.TempDir(), "ref")
	r := ok(t, rn.pull(px.URL, ref, "--trust-on-first-use", batch))
	contains(t, r.stderr, "loading the snapshot in batches of 40 lines", "staged 1500 of 1500 entries")
	contains(t, r.stdout, "version 0 → 1")
	want1 := exportOf(t, ref)
	if want1 != string(rn.snapshot(t)) {
		t.Fatal("the reference mirror's export is not the node's snapshot")
	}

	dir := filepath.Join(t.TempDir(), "killed")
	resumed := false
	check := func(old uint64, oldExport string, newV uint64, newExport string) {
		t.Helper()
		switch v := mirrorVersion(t, dir); v {
		case old:
			if old == 0 {
				// Nothing verified yet: nothing to read either.
				fails(t, hashctl(nil, "mirror", "export", "--dir", dir), 1, "holds no release yet")
				return
			}
			ok(t, hashctl(nil, "verify", "--dir", dir))
			if got := exportOf(t, dir); got != oldExport {
				t.Fatalf("killed mid-load: the mirror holds version %d with other entries than before (%d bytes, want %d)", v, len(got), len(oldExport))
			}
		case newV:
			ok(t, hashctl(nil, "verify", "--dir", dir))
			if exportOf(t, dir) != newExport {
				t.Fatalf("version %d with other entries than an uninterrupted pull", v)
			}
		default:
			t.Fatalf("the killed pull left version %d, want %d or %d", v, old, newV)
		}
	}
	for _, at := range []int{1, 9, 25} {
		if !rn.pullKilled(t, px.URL, dir, at, "--trust-on-first-use", batch) {
			t.Fatalf("the pull finished before its batch %d", at)
		}
		check(0, "", 1, want1)
	}
	r = ok(t, rn.pull(px.URL, dir, batch))
	resumed = strings.Contains(r.stderr, "resuming the snapshot load at line")
	check(1, want1, 1, want1)

	// Version 2 through a proxy that no longer has the delta: a catch-up
	// from the snapshot over a mirror that holds version 1.
	importN(1500, 2600)
	rn.build(t)
	px.set(nil, func(r *http.Request, a *answer) {
		if r.URL.Path == "/v1/lists/"+listName+"/delta" {
			a.status, a.header = http.StatusGone, http.Header{"Content-Type": {"application/problem+json"}}
			a.body = []byte(`{"type":"urn:hashhub:problem:version-gone","title":"Version no longer kept","status":410,"snapshot":"/v1/lists/verified/snapshot"}`)
		}
	})
	r = ok(t, rn.pull(px.URL, ref, batch))
	contains(t, r.stderr, "catching up from the snapshot", "staged 2600 of 2600 entries")
	want2 := exportOf(t, ref)
	if want2 != string(rn.snapshot(t)) {
		t.Fatal("the reference mirror's export is not the node's snapshot of version 2")
	}
	for _, at := range []int{2, 20, 30} {
		if !rn.pullKilled(t, px.URL, dir, at, batch) {
			t.Fatalf("the catch-up finished before its batch %d", at)
		}
		check(1, want1, 2, want2)
	}
	r = ok(t, rn.pull(px.URL, dir, batch))
	resumed = resumed || strings.Contains(r.stderr, "resuming the snapshot load at line")
	check(2, want2, 2, want2)
	if !resumed {
		t.Error("no pull after a kill resumed a staged load")
	}

	// A first pull of the two versions, larger than a batch: the
	// manifests from version 1 are chained, and the contents come from
	// the snapshot in batches, not from version 1's delta in one
	// transaction.
	fresh := filepath.Join(t.TempDir(), "fresh")
	r = ok(t, rn.pull(px.URL, fresh, "--trust-on-first-use", batch))
	contains(t, r.stderr, "verifying the manifests from version 1 and loading the snapshot of version 2 in batches of 40 lines", "staged 2600 of 2600 entries")
	contains(t, r.stdout, "version 0 → 2")
	ok(t, hashctl(nil, "verify", "--dir", fresh))
	if exportOf(t, fresh) != want2 {
		t.Fatal("a first pull from the snapshot holds other entries than the node's snapshot of version 2")
	}
}
