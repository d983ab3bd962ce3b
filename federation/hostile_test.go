package federation_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashhub/hashhub/entries"
	"github.com/hashhub/hashhub/peers"
	"github.com/hashhub/hashhub/records"
)

// hostileRecords stands in front of a real node and passes everything
// through, except that in a hostile mode it answers the records of a step
// with an endless stream of its own, counting what it managed to send
// before the puller hung up.
type hostileRecords struct {
	*httptest.Server
	mode atomic.Value // "", "unknown" or "forged"
	sent atomic.Int64
}

// hostileRecordsSize is how long the hostile stream would be.
const hostileRecordsSize = 256 << 20

func newHostileRecords(t *testing.T, upstream string, forgedOrigin string) *hostileRecords {
	u, _ := url.Parse(upstream)
	rp := httputil.NewSingleHostReverseProxy(u)
	_, ghostKey, _ := ed25519.GenerateKey(rand.Reader)
	h := &hostileRecords{}
	h.mode.Store("")
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mode := h.mode.Load().(string)
		if mode == "" || !strings.HasSuffix(r.URL.Path, "/records") {
			rp.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		// Well-formed records: of an origin no one registered (kept
		// apart, they cannot be verified), or claiming to be of a
		// registered origin with a signature that is not its.
		origin := "ghost-node"
		if mode == "forged" {
			origin = forgedOrigin
		}
		buf := make([]byte, 0, 64<<10)
		for seq := uint64(1); h.sent.Load() < hostileRecordsSize; seq++ {
			rec := &records.Record{Format: records.Format, Origin: origin, Seq: seq, Kind: records.KindAssessment,
				Time: records.FormatTime(time.Now()), Org: "Ghost", OrgJurisdiction: "NL", User: "ghost",
				Verdict: entries.Illegal, Category: entries.Baseline, Keys: []string{fmt.Sprintf("sha256:%064x", seq)}}
			buf = append(buf, records.Sign(rec, ghostKey).Line()...)
			buf = append(buf, '\n')
			if len(buf) < 60<<10 {
				continue
			}
			n, err := w.Write(buf)
			h.sent.Add(int64(n))
			if err != nil {
				return
			}
			buf = buf[:0]
		}
	}))
	t.Cleanup(h.Close)
	return h
}

// A peer whose manifests are genuine but whose records stream is hostile
// — endless well-formed records of an unknown origin past the peer's
// records cap, or records forged in a registered origin's name — is
// refused early, with the reason in the peer's health, and nothing of the
// step is applied; once the stream is honest again the step goes through.
func TestHostileRecordsStream(t *testing.T) {
	a, b := startFed(t, "hub-a", "NL"), startFed(t, "hub-b", "GB")
	a.createList(t, "shared", 1)
	b.createList(t, "shared", 1)
	hr := newHostileRecords(t, a.url, "hub-a")
	// A knows B (so B can authenticate); B pulls A through the hostile
	// server, with a records cap of 1 MiB of its own.
	a.register(t, b, nil)
	k, err := a.admin.Keys(bg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.admin.AddPeer(bg, peers.Peer{ID: a.id, Name: "Hotline hub-a", Jurisdiction: a.jur, BaseURL: hr.URL,
		NodeKeyPEM: k.NodeKeyPEM, ReleaseKeyPEM: k.ReleaseKeyPEM, LogKey: k.LogVerifierKey, Lists: []string{"shared"},
		MaxRecordsBytes: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	hr.mode.Store("unknown")
	h := a.submit(t, 1)[0]
	a.release(t, "shared")

	refused := func(what, reason string) {
		t.Helper()
		eventually(t, "B to refuse "+what, 20*time.Second, func() bool {
			s := b.syncOf(t, "hub-a")
			return s.State == peers.SyncFailing && strings.Contains(s.LastError, reason)
		})
		// What was sent is what B read plus what the sockets buffer on
		// loopback; the whole stream would be 256 MiB.
		if got := hr.sent.Load(); got > 32<<20 {
			t.Errorf("%s: the hostile server sent %d bytes before the refusal", what, got)
		}
		if s := b.syncOf(t, "hub-a"); s.Applied != 0 || s.Version != 0 || s.Records != 0 {
			t.Errorf("%s: B applied version %d (mirror %d, %d records)", what, s.Applied, s.Version, s.Records)
		}
		if b.entryOf(t, h) != nil {
			t.Errorf("%s: B holds A's entry after a refused step", what)
		}
	}
	refused("records past the cap", "longer than the cap of 1048576 bytes for peer hub-a")

	// Forged records are refused at the first line, whatever the cap.
	hr.mode.Store("forged")
	hr.sent.Store(0)
	refused("forged records", "forged record")

	hr.mode.Store("")
	eventually(t, "B to apply A's step once the stream is honest", 20*time.Second, func() bool {
		return b.syncOf(t, "hub-a").Applied == 1 && b.entryOf(t, h) != nil
	})
}

// A registration's caps must be byte counts.
func TestPeerCapsValidated(t *testing.T) {
	a, b := startFed(t, "hub-a", "NL"), startFed(t, "hub-b", "GB")
	k, err := a.admin.Keys(bg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.admin.AddPeer(bg, peers.Peer{ID: a.id, Name: "Hotline hub-a", Jurisdiction: a.jur, BaseURL: a.url,
		NodeKeyPEM: k.NodeKeyPEM, ReleaseKeyPEM: k.ReleaseKeyPEM, LogKey: k.LogVerifierKey, MaxStepBytes: -1})
	if err == nil || !strings.Contains(err.Error(), "max_step_bytes") {
		t.Fatalf("a negative cap: %v", err)
	}
}
