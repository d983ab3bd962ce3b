package match_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/hashhub/hashhub/client"
	"github.com/hashhub/hashhub/lists"
	"github.com/hashhub/hashhub/match"
	"github.com/hashhub/hashhub/mirror"
	"github.com/hashhub/hashhub/node"
	"github.com/hashhub/hashhub/orgs"
)

// publisher is a real node on a loopback port that releases one list,
// with a hotline that submits and a platform that pulls.
type publisher struct {
	admin, hotline, platform *client.Client
}

func startPublisher(t *testing.T) *publisher {
	t.Helper()
	dir := t.TempDir()
	ac, err := node.Init(dir, "match-node", "NL")
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
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
		n.Close()
	})
	url := "http://" + ln.Addr().String()
	cl := func(id, secret string) *client.Client {
		c, err := client.New(client.Config{Server: url, ClientID: id, ClientSecret: secret, Tries: 1})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	p := &publisher{admin: cl(ac.ClientID, ac.ClientSecret)}
	user := func(name string, kind orgs.Role) *client.Client {
		o, err := p.admin.CreateOrg(ctx, client.CreateOrgRequest{Name: name, Kind: kind, Jurisdiction: "NL"})
		if err != nil {
			t.Fatal(err)
		}
		u, err := p.admin.CreateUser(ctx, o.ID, name+" user")
		if err != nil {
			t.Fatal(err)
		}
		return cl(u.ClientID, u.ClientSecret)
	}
	p.hotline, p.platform = user("Hotline", orgs.Hotline), user("Platform", orgs.Platform)
	if _, err := p.admin.CreateList(ctx, client.CreateListRequest{Name: "verified", Policy: lists.Policy{MinAssessments: 1},
		Readers: lists.Readers{Roles: []orgs.Role{orgs.Platform}}}); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *publisher) release(t *testing.T) uint64 {
	t.Helper()
	m, err := p.admin.BuildRelease(context.Background(), "verified")
	if err != nil {
		t.Fatal(err)
	}
	return m.Version
}

func keys(t *testing.T, ms []match.Match) []string {
	t.Helper()
	var out []string
	for _, m := range ms {
		out = append(out, m.Key())
	}
	slices.Sort(out)
	return out
}

// TestLoadMirrorFromNode loads a mirror that a real node's releases were
// pulled into, and checks it against what the hotline submitted: every
// algorithm, severity and quality, the version, and a retraction gone
// after the next release and pull — in an index rebuilt with LoadMirror
// and in one kept in step by the mirror's Importer.
func TestLoadMirrorFromNode(t *testing.T) {
	p := startPublisher(t)
	bg := context.Background()
	const (
		pdqA = "f8f8f0cee0f4a84f06370a22028f67f0b36e2ed596621e1d33e6b39c4e9c9b22"
		pdqB = "0f0f0f31e0f4a84f06370a22028f67f0b36e2ed596621e1d33e6b39c4e9c9b22"
		md5  = "d41d8cd98f00b204e9800998ecf8427e"
		sh   = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	)
	q := 90
	for _, r := range []client.SubmitRequest{
		{Algo: "pdq", Value: pdqA, Quality: &q, Severity: "A"},
		{Algo: "pdq", Value: pdqB, Quality: &q, Severity: "B"},
		{Algo: "md5", Value: md5, Severity: "C"},
		{Algo: "sha256", Value: sh},
	} {
		if _, _, err := p.hotline.Submit(bg, r); err != nil {
			t.Fatal(err)
		}
	}
	v1 := p.release(t)

	dir := filepath.Join(t.TempDir(), "mirror")
	k, err := p.platform.Keys(bg)
	if err != nil {
		t.Fatal(err)
	}
	if err := mirror.Init(dir, p.platform.Server(), "verified", []byte(k.ReleaseKeyPEM), k.LogVerifierKey); err != nil {
		t.Fatal(err)
	}

	// A mirror that holds no version yet loads as empty.
	ix := match.New()
	st, err := ix.LoadMirror(dir, "baseline")
	if err != nil || st.Version != 0 || ix.Len() != 0 {
		t.Fatalf("empty mirror: state %+v, %d entries, err %v", st, ix.Len(), err)
	}

	live := match.New() // kept in step by the pulls
	pull := func() {
		t.Helper()
		m, err := mirror.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		m.Importer = live.Importer("baseline")
		if _, err := m.Pull(bg, p.platform, time.Now(), nil); err != nil {
			t.Fatal(err)
		}
	}
	pull()

	st, err = ix.LoadMirror(dir, "baseline")
	if err != nil {
		t.Fatal(err)
	}
	if st.Version != v1 || st.List != "verified" || ix.Len() != 4 {
		t.Fatalf("state %+v, %d entries; want version %d, 4 entries", st, ix.Len(), v1)
	}
	for _, idx := range []*match.Index{ix, live} {
		res, err := idx.Lookup(match.Query{Algo: "pdq", Value: pdqA})
		if err != nil {
			t.Fatal(err)
		}
		if got := keys(t, res.Matches); !slices.Equal(got, []string{"pdq:" + pdqB, "pdq:" + pdqA}) {
			t.Fatalf("pdq lookup: %v", got)
		}
		for _, m := range res.Matches {
			if m.Version != v1 || m.List != "verified" || m.Category != "baseline" || m.Quality == nil || *m.Quality != q {
				t.Errorf("match %+v", m)
			}
			if (m.Value == pdqA) != (m.Distance == 0) || (m.Value == pdqA) != (m.Severity == "A") {
				t.Errorf("match %+v: distance or severity", m)
			}
		}
		res, err = idx.Lookup(match.Query{Algo: "md5", Value: "D41D8CD98F00B204E9800998ECF8427E"})
		if err != nil || len(res.Matches) != 1 || res.Matches[0].Severity != "C" {
			t.Fatalf("md5 lookup: %+v %v", res, err)
		}
		res, err = idx.Lookup(match.Query{Algo: "sha256", Value: sh})
		if err != nil || len(res.Matches) != 1 {
			t.Fatalf("sha256 lookup: %+v %v", res, err)
		}
	}

	// Retract one at the node: it matches until the next release is
	// pulled, then neither index has it.
	if _, err := p.hotline.Retract(bg, "pdq", pdqB, "not this picture"); err != nil {
		t.Fatal(err)
	}
	v2 := p.release(t)
	pull()
	if _, err := ix.LoadMirror(dir, "baseline"); err != nil {
		t.Fatal(err)
	}
	for name, idx := range map[string]*match.Index{"rebuilt": ix, "importer": live} {
		res, err := idx.Lookup(match.Query{Algo: "pdq", Value: pdqA})
		if err != nil {
			t.Fatal(err)
		}
		if got := keys(t, res.Matches); !slices.Equal(got, []string{"pdq:" + pdqA}) || idx.Len() != 3 {
			t.Errorf("%s index after the retraction's release %d: %v, %d entries", name, v2, got, idx.Len())
		}
	}

	// Not a mirror: refused with mirror's error.
	if _, err := match.New().LoadMirror(t.TempDir(), ""); !errors.Is(err, mirror.ErrNoMirror) {
		t.Errorf("not a mirror: %v", err)
	}
}
