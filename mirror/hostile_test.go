package mirror_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hashhub/hashhub/client"
	"github.com/hashhub/hashhub/lists"
	"github.com/hashhub/hashhub/mirror"
	"github.com/hashhub/hashhub/node"
	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/release"
	"github.com/hashhub/hashhub/setroot"
)

// hostileEntries is how many entries the real node's list has, so its
// genuine manifest allows a snapshot of at most this many lines.
const hostileEntries = 20

// startListNode starts a real node whose list "verified" has
// hostileEntries entries over two versions, and returns its address and a
// platform's credentials.
func startListNode(t *testing.T) (string, client.Config) {
	t.Helper()
	dir := t.TempDir()
	admin, err := node.Init(dir, "real-node", "NL")
	if err != nil {
		t.Fatal(err)
	}
	n, err := node.Open(dir, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		<-done
		n.Close()
	})
	base := "http://" + ln.Addr().String()
	cl := func(id, secret string) *client.Client {
		c, err := client.New(client.Config{Server: base, ClientID: id, ClientSecret: secret, Tries: 1})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	bg := context.Background()
	ad := cl(admin.ClientID, admin.ClientSecret)
	hot, err := ad.CreateOrg(bg, client.CreateOrgRequest{Name: "Hotline", Kind: orgs.Hotline, Jurisdiction: "NL"})
	if err != nil {
		t.Fatal(err)
	}
	hu, err := ad.CreateUser(bg, hot.ID, "Analyst")
	if err != nil {
		t.Fatal(err)
	}
	plat, err := ad.CreateOrg(bg, client.CreateOrgRequest{Name: "Platform", Kind: orgs.Platform, Jurisdiction: "IE"})
	if err != nil {
		t.Fatal(err)
	}
	pu, err := ad.CreateUser(bg, plat.ID, "Puller")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ad.CreateList(bg, client.CreateListRequest{Name: "verified", Policy: lists.Policy{MinAssessments: 1},
		Readers: lists.Readers{Roles: []orgs.Role{orgs.Platform}}}); err != nil {
		t.Fatal(err)
	}
	hc := cl(hu.ClientID, hu.ClientSecret)
	for i := range hostileEntries {
		if i == hostileEntries-1 {
			if _, err := ad.BuildRelease(bg, "verified"); err != nil {
				t.Fatal(err)
			}
		}
		v := sha256.Sum256([]byte("genuine" + strconv.Itoa(i)))
		if _, _, err := hc.Submit(bg, client.SubmitRequest{Algo: "sha256", Value: hex.EncodeToString(v[:]), Severity: "B"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ad.BuildRelease(bg, "verified"); err != nil {
		t.Fatal(err)
	}
	return base, client.Config{Server: base, ClientID: pu.ClientID, ClientSecret: pu.ClientSecret, Tries: 1}
}

// orderedLines is n well-formed snapshot lines of entries no manifest
// signed, in set-root order (bucket, then leaf hash) as a node writes
// them, so that only the count and the size can give them away early.
func orderedLines(n int) []byte {
	type line struct {
		b    uint16
		leaf setroot.Hash
		text []byte
	}
	ls := make([]line, n)
	for i := range ls {
		v := sha256.Sum256([]byte("fake" + strconv.Itoa(i)))
		it := release.Item{Algo: "sha256", Value: hex.EncodeToString(v[:]), Severity: "A"}
		ls[i] = line{setroot.Bucket(it.Key()), setroot.LeafHash(it.Line()), it.Line()}
	}
	slices.SortFunc(ls, func(x, y line) int {
		if x.b != y.b {
			return int(x.b) - int(y.b)
		}
		return bytes.Compare(x.leaf[:], y.leaf[:])
	})
	var out bytes.Buffer
	for _, l := range ls {
		out.Write(l.text)
		out.WriteByte('\n')
	}
	return out.Bytes()
}

// countingSource is a real client whose snapshot bodies count the bytes
// the mirror reads from them.
type countingSource struct {
	*client.Client
	mu   sync.Mutex
	read int64
}

func (c *countingSource) Snapshot(ctx context.Context, list string, v uint64) (io.ReadCloser, uint64, error) {
	rc, got, err := c.Client.Snapshot(ctx, list, v)
	if err != nil {
		return nil, 0, err
	}
	return &countingBody{rc, c}, got, nil
}

func (c *countingSource) bytesRead() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.read
}

type countingBody struct {
	io.ReadCloser
	c *countingSource
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.c.mu.Lock()
	b.c.read += int64(n)
	b.c.mu.Unlock()
	return n, err
}

// TestPullRefusesHostileSnapshot: a real node's genuine manifests, with
// the snapshot replaced on the way (a hostile server in between, on
// 127.0.0.1) by bodies far larger than the manifest allows. The mirror
// reads no more than the manifest's entry count can weigh, refuses the
// step with the check that failed, and holds nothing after it.
func TestPullRefusesHostileSnapshot(t *testing.T) {
	base, cfg := startListNode(t)
	u, _ := url.Parse(base)
	rp := httputil.NewSingleHostReverseProxy(u)
	var mu sync.Mutex
	var body []byte // the hostile snapshot body; nil passes the node's through
	hostile := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		b := body
		mu.Unlock()
		if b == nil || r.URL.Path != "/v1/lists/verified/snapshot" {
			rp.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.Header().Set("X-Hashhub-Version", "2")
		w.Write(b)
	}))
	defer hostile.Close()
	cfg.Server = hostile.URL
	cl, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := cl.Keys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "m")
	if err := mirror.Init(dir, hostile.URL, "verified", []byte(keys.ReleaseKeyPEM), keys.LogVerifierKey); err != nil {
		t.Fatal(err)
	}
	m, err := mirror.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	m.SnapshotAfter = 1 // two versions: start from the snapshot

	// What a snapshot of the manifest's entries can weigh at most.
	bound := int64(hostileEntries * (release.MaxItemLine() + 1))
	garbage := bytes.Repeat([]byte("x"), 8<<20)
	cases := []struct {
		name     string
		body     []byte
		maxBytes int64
		want     error
		maxRead  int64
	}{
		// Lines that parse, in the node's order: refused at the first line
		// past the manifest's count.
		{"more lines than the manifest's entries", orderedLines(100_000), 0, mirror.ErrSetRoot, bound + 1},
		// One endless line: refused once it is longer than any line can be.
		{"an endless line", garbage, 0, mirror.ErrBadLine, bound + 1},
		// The cap is tighter than the manifest's bound.
		{"over the mirror's cap", orderedLines(100_000), 1000, mirror.ErrTooLarge, 1001},
		// The node's own snapshot, over the cap.
		{"the genuine snapshot over the cap", nil, 100, mirror.ErrTooLarge, 101},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mu.Lock()
			body = c.body
			mu.Unlock()
			m.MaxBytes = c.maxBytes
			src := &countingSource{Client: cl}
			_, err := m.Pull(context.Background(), src, time.Now(), nil)
			if !errors.Is(err, c.want) {
				t.Fatalf("pull: %v, want %v", err, c.want)
			}
			t.Logf("refused after %d bytes: %v", src.bytesRead(), err)
			if got := src.bytesRead(); got > c.maxRead {
				t.Errorf("read %d bytes of the hostile snapshot, want at most %d", got, c.maxRead)
			}
			st, err := m.State()
			if err != nil {
				t.Fatal(err)
			}
			if st.Version != 0 || st.Entries != 0 || st.Node != "" {
				t.Errorf("a refused snapshot left version %d, %d entries, node %q", st.Version, st.Entries, st.Node)
			}
		})
	}

	// The node's own snapshot, in the node's order, is taken.
	mu.Lock()
	body = nil
	mu.Unlock()
	m.MaxBytes = 0
	res, err := m.Pull(context.Background(), cl, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Version != 2 || res.Entries != hostileEntries || !res.Steps[0].Snapshot {
		t.Fatalf("genuine snapshot: %+v", res)
	}
	if _, err := m.Verify(time.Now()); err != nil {
		t.Fatal(err)
	}
}
