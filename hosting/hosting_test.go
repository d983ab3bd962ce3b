package hosting_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashhub/hashhub/hosting"
	"github.com/hashhub/hashhub/reports"
)

// rdapServer answers /ip/{addr} from the recorded (synthetic) answers in
// testdata/rdap, the way a registry's RDAP service does; an address with
// no file gets 404.
func rdapServer(t testing.TB) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		addr, ok := strings.CutPrefix(r.URL.Path, "/ip/")
		if !ok {
			http.NotFound(w, r)
			return
		}
		b, err := os.ReadFile(filepath.Join("testdata", "rdap", strings.ReplaceAll(addr, ":", "-")+".json"))
		if err != nil {
			http.Error(w, `{"errorCode":404}`, http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/rdap+json")
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestRDAPNetwork(t *testing.T) {
	srv := rdapServer(t)
	c := &hosting.RDAP{Base: srv.URL}
	for _, tc := range []struct {
		addr, rng, country, abuse, handle string
	}{
		// The abuse entity sits under the registrant: found recursively,
		// and the technical contact's address is not taken for it.
		{"203.0.113.9", "203.0.113.0/24", "NL", "abuse@hoster-c.example", "NET-203-0-113-0-TEST"},
		// Lower-case country, mailto: URI, no CIDR: start–end range.
		{"192.0.2.44", "192.0.2.0-192.0.2.255", "DE", "abuse@hoster-d.example", "NET-192-0-2-0-TEST"},
		// Three levels down, IPv6.
		{"2001:db8::7", "2001:db8::-2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "GB", "abuse@v6.example", "NET6-TEST"},
	} {
		nw, err := c.Network(context.Background(), tc.addr)
		if err != nil {
			t.Fatalf("%s: %v", tc.addr, err)
		}
		if nw.Range() != tc.rng || nw.Country != tc.country || nw.AbuseEmail != tc.abuse || nw.Handle != tc.handle || nw.Server != srv.URL {
			t.Errorf("%s: %+v", tc.addr, nw)
		}
	}
	if _, err := c.Network(context.Background(), "198.18.0.1"); !errors.Is(err, hosting.ErrRDAP) || !strings.Contains(err.Error(), "404") {
		t.Errorf("unknown network: %v", err)
	}
	if _, err := c.Network(context.Background(), "not-an-ip"); !errors.Is(err, hosting.ErrRDAP) {
		t.Errorf("bad address: %v", err)
	}
}

func TestParseNetworkRefuses(t *testing.T) {
	for name, body := range map[string]string{
		"not JSON":     "<html>",
		"domain":       `{"objectClassName":"domain","handle":"x"}`,
		"empty object": `{}`,
	} {
		if _, err := hosting.ParseNetwork([]byte(body)); !errors.Is(err, hosting.ErrRDAP) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Bad country codes and emails are dropped, not trusted.
	nw, err := hosting.ParseNetwork([]byte(`{"objectClassName":"ip network","country":"Narnia","entities":[{"roles":["abuse"],"vcardArray":["vcard",[["email",{},"text","not an address"]]]}]}`))
	if err != nil || nw.Country != "" || nw.AbuseEmail != "" {
		t.Fatalf("%+v %v", nw, err)
	}
}

func TestLocate(t *testing.T) {
	srv := rdapServer(t)
	providers := []reports.Provider{
		{Org: "org_a", Jurisdiction: "NL", Domains: []string{"example.net", "cdn.example.net"}},
		{Org: "org_b", Jurisdiction: "NL", Ranges: []string{"198.51.100.0/24", "2001:db8:1::/48"}},
		{Org: "org_c", Jurisdiction: "BE", Domains: []string{"deep.cdn.example.net"}},
		{Org: "org_hc", Jurisdiction: "NL", Email: "Abuse@Hoster-C.example", Domains: []string{"hoster-c.example"}},
	}
	l := &hosting.Locator{Resolver: hosting.Static{
		"files.other.example": {"198.51.100.20"},
		"v6.other.example":    {"2001:db8:1::5"},
		"c.example":           {"203.0.113.9"},
		"d.example":           {"192.0.2.44"},
	}, RDAP: &hosting.RDAP{Base: srv.URL}}
	for _, tc := range []struct {
		url, provider, jur, method, abuse string
	}{
		{"https://example.net/x", "org_a", "NL", "registered_domain", ""},
		{"https://a.b.example.net/x", "org_a", "NL", "registered_domain", ""},
		{"https://x.deep.cdn.example.net/x", "org_c", "BE", "registered_domain", ""}, // longest suffix
		{"https://notexample.net/x", "", "", "", ""},                                 // not a subdomain; does not resolve
		{"https://files.other.example/x", "org_b", "NL", "registered_range", ""},
		{"https://[2001:db8:1::9]/x", "org_b", "NL", "registered_range", ""},
		{"http://198.51.100.3:8080/x", "org_b", "NL", "registered_range", ""},
		{"https://c.example/x", "org_hc", "NL", "rdap", ""}, // RDAP's abuse address is a registered provider's
		{"https://d.example/x", "", "DE", "rdap", "abuse@hoster-d.example"},
	} {
		r := l.Locate(context.Background(), tc.url, providers)
		method := ""
		if r.Evidence != nil {
			method = r.Evidence.Method
		}
		if r.Provider != tc.provider || r.Jurisdiction != tc.jur || method != tc.method || r.AbuseEmail != tc.abuse {
			t.Errorf("%s: %+v evidence %+v", tc.url, r, r.Evidence)
		}
		if tc.provider == "" && tc.abuse == "" && r.Note == "" {
			t.Errorf("%s: nothing found and no note", tc.url)
		}
	}
}

// FuzzParseNetwork: RDAP answers come from the network; whatever they
// hold, parsing returns a network or an error, never panics, and keeps
// only a valid country and a plausible address.
func FuzzParseNetwork(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "rdap", "*.json"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"objectClassName":"ip network","entities":[{"entities":[{"entities":[{"entities":[{"entities":[{"entities":[{"entities":[{"entities":[{"entities":[{"roles":["abuse"],"vcardArray":["vcard",[["email",{},"text","deep@x.example"]]]}]}]}]}]}]}]}]}]}]}`))
	f.Add([]byte(`{"objectClassName":"ip network","entities":[{"roles":["abuse"],"vcardArray":["vcard",[["email"],["email",{},"text",5]]]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		nw, err := hosting.ParseNetwork(b)
		if err != nil {
			return
		}
		if nw.Country != "" && len(nw.Country) != 2 {
			t.Fatalf("country %q", nw.Country)
		}
		if nw.AbuseEmail != "" && (!strings.Contains(nw.AbuseEmail, "@") || strings.ContainsAny(nw.AbuseEmail, "\r\n <>")) {
			t.Fatalf("abuse email %q", nw.AbuseEmail)
		}
		if strings.ContainsAny(nw.Handle, "\r\n") || len(nw.Handle) > 100 {
			t.Fatalf("handle %q", nw.Handle)
		}
	})
}
