package hosting

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/hashhub/hashhub/jurisdiction"
)

// DefaultRDAPBase is the RDAP service queried for IP networks: rdap.org
// redirects each query to the regional registry that holds the address.
const DefaultRDAPBase = "https://rdap.org"

// MaxRDAPResponse bounds an RDAP answer read from the network.
const MaxRDAPResponse = 1 << 20

// ErrRDAP wraps every RDAP failure.
var ErrRDAP = errors.New("rdap")

// RDAP is a client for IP network lookups (RFC 9082 query, RFC 9083
// answer).
type RDAP struct {
	Base   string
	Client *http.Client
}

// Network is what the node keeps of an RDAP IP network object.
type Network struct {
	Handle       string
	StartAddress string
	EndAddress   string
	CIDR         string
	Country      string
	AbuseEmail   string
	Server       string
}

// Range is the network as a CIDR when RDAP gave one, else start–end.
func (n *Network) Range() string {
	if n.CIDR != "" {
		return n.CIDR
	}
	if n.StartAddress != "" {
		return n.StartAddress + "-" + n.EndAddress
	}
	return ""
}

// Network looks up the network holding addr.
func (c *RDAP) Network(ctx context.Context, addr string) (*Network, error) {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return nil, fmt.Errorf("%w: %q is not an IP address", ErrRDAP, addr)
	}
	base := c.Base
	if base == "" {
		base = DefaultRDAPBase
	}
	hc := c.Client
	if hc == nil {
		hc = &http.Client{Timeout: 15 * time.Second}
	}
	u := strings.TrimSuffix(base, "/") + "/ip/" + url.PathEscape(ip.Unmap().String())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRDAP, err)
	}
	req.Header.Set("Accept", "application/rdap+json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRDAP, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: %s answered %d", ErrRDAP, resp.Request.URL.Host, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxRDAPResponse+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRDAP, err)
	}
	if len(body) > MaxRDAPResponse {
		return nil, fmt.Errorf("%w: answer larger than %d bytes", ErrRDAP, MaxRDAPResponse)
	}
	nw, err := ParseNetwork(body)
	if err != nil {
		return nil, err
	}
	nw.Server = resp.Request.URL.Scheme + "://" + resp.Request.URL.Host
	return nw, nil
}

// The parts of RFC 9083 the node reads.
type rdapObject struct {
	ObjectClassName string          `json:"objectClassName"`
	Handle          string          `json:"handle"`
	StartAddress    string          `json:"startAddress"`
	EndAddress      string          `json:"endAddress"`
	Country         string          `json:"country"`
	Roles           []string        `json:"roles"`
	VCardArray      json.RawMessage `json:"vcardArray"`
	Entities        []rdapObject    `json:"entities"`
	CIDRs           []struct {
		V4Prefix string `json:"v4prefix"`
		V6Prefix string `json:"v6prefix"`
		Length   int    `json:"length"`
	} `json:"cidr0_cidrs"`
}

// maxEntityDepth bounds the recursive search for the abuse entity.
const maxEntityDepth = 8

// ParseNetwork reads an RDAP IP network answer: its handle, range, country
// and the email of its abuse entity, searched recursively through nested
// entities (registries put the abuse contact under the registrant).
// Untrusted input: malformed or hostile answers are errors, never panics.
func ParseNetwork(body []byte) (*Network, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	var o rdapObject
	if err := dec.Decode(&o); err != nil {
		return nil, fmt.Errorf("%w: answer is not RDAP JSON", ErrRDAP)
	}
	if o.ObjectClassName != "ip network" {
		return nil, fmt.Errorf("%w: objectClassName %q, want \"ip network\"", ErrRDAP, clip(o.ObjectClassName))
	}
	nw := &Network{Handle: clip(o.Handle)}
	if a, err := netip.ParseAddr(o.StartAddress); err == nil {
		nw.StartAddress = a.String()
	}
	if a, err := netip.ParseAddr(o.EndAddress); err == nil {
		nw.EndAddress = a.String()
	}
	for _, c := range o.CIDRs {
		p := c.V4Prefix
		if p == "" {
			p = c.V6Prefix
		}
		if pfx, err := netip.ParsePrefix(fmt.Sprintf("%s/%d", p, c.Length)); err == nil {
			nw.CIDR = pfx.String()
			break
		}
	}
	if o.Country != "" {
		if j, err := jurisdiction.Normalize(o.Country); err == nil {
			nw.Country = j
		}
	}
	nw.AbuseEmail = abuseEmail(o.Entities, 0)
	return nw, nil
}

func abuseEmail(es []rdapObject, depth int) string {
	if depth >= maxEntityDepth {
		return ""
	}
	for _, e := range es {
		for _, r := range e.Roles {
			if r == "abuse" {
				if m := vcardEmail(e.VCardArray); m != "" {
					return m
				}
			}
		}
	}
	for _, e := range es {
		if m := abuseEmail(e.Entities, depth+1); m != "" {
			return m
		}
	}
	return ""
}

// vcardEmail reads the first email of a jCard (RFC 7095):
// ["vcard", [["email", {}, "text", "abuse@example.net"], ...]].
func vcardEmail(raw json.RawMessage) string {
	var card []json.RawMessage
	if json.Unmarshal(raw, &card) != nil || len(card) != 2 {
		return ""
	}
	var props [][]json.RawMessage
	if json.Unmarshal(card[1], &props) != nil {
		return ""
	}
	for _, p := range props {
		if len(p) < 4 {
			continue
		}
		var name, value string
		if json.Unmarshal(p[0], &name) != nil || !strings.EqualFold(name, "email") || json.Unmarshal(p[3], &value) != nil {
			continue
		}
		value = strings.TrimPrefix(strings.TrimSpace(value), "mailto:")
		if validEmail(value) {
			return value
		}
	}
	return ""
}

func validEmail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || domain == "" || len(s) > 254 || strings.ContainsAny(s, " \r\n\t<>,;\"()[]\\") {
		return false
	}
	return strings.Contains(domain, ".")
}

func clip(s string) string {
	if len(s) > 100 {
		s = s[:100]
	}
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return -1
		}
		return r
	}, s)
}
