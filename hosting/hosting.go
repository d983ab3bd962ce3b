// Package hosting finds where a reported URL is hosted, without ever
// fetching it: by the hosting providers' registered domains and IP
// ranges, else by resolving the host's addresses (a Resolver: DNS by
// default) and asking RDAP (RFC 9083) for the network's country and abuse
// contact. What it found, and how, is the evidence kept on a notice.
package hosting

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/hashhub/hashhub/reports"
)

// Resolver turns a host name into addresses.
type Resolver interface {
	LookupHost(ctx context.Context, host string) ([]string, error)
}

// DNS resolves with the system's resolver.
type DNS struct{}

// LookupHost implements Resolver.
func (DNS) LookupHost(ctx context.Context, host string) ([]string, error) {
	return net.DefaultResolver.LookupHost(ctx, host)
}

// Static is a fixed table of host → addresses (tests, air-gapped nodes).
type Static map[string][]string

// LookupHost implements Resolver.
func (s Static) LookupHost(_ context.Context, host string) ([]string, error) {
	if a, ok := s[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// Result is where one URL is hosted.
type Result struct {
	Jurisdiction string
	// Provider is the registered provider's organisation, if one matched.
	Provider string
	// AbuseEmail is RDAP's abuse address when no registered provider
	// matched.
	AbuseEmail string
	Evidence   *reports.Evidence
	// Note says why nothing was found, when nothing was.
	Note string
}

// Locator finds the hosting of URLs.
type Locator struct {
	Resolver Resolver
	// RDAP is consulted for addresses no registration covers; nil skips it.
	RDAP *RDAP
	Now  func() time.Time
}

// Locate finds where u (a normalised report URL) is hosted among the
// registered providers, then by DNS and RDAP.
func (l *Locator) Locate(ctx context.Context, u string, providers []reports.Provider) Result {
	now := time.Now
	if l.Now != nil {
		now = l.Now
	}
	host := reports.Host(u)
	ev := &reports.Evidence{Host: host, ResolvedAt: now().UTC()}
	// 1. A registered domain: the longest matching suffix wins.
	if addr, err := netip.ParseAddr(host); err != nil {
		best, bestLen := -1, 0
		for i, p := range providers {
			for _, d := range p.Domains {
				if (host == d || strings.HasSuffix(host, "."+d)) && len(d) > bestLen {
					best, bestLen = i, len(d)
				}
			}
		}
		if best >= 0 {
			p := providers[best]
			ev.Method, ev.Provider, ev.Jurisdiction = "registered_domain", p.Org, p.Jurisdiction
			for _, d := range p.Domains {
				if len(d) == bestLen && (host == d || strings.HasSuffix(host, "."+d)) {
					ev.Range = d
				}
			}
			return Result{Jurisdiction: p.Jurisdiction, Provider: p.Org, Evidence: ev}
		}
	} else {
		ev.Addresses = []string{addr.String()}
	}
	// 2. The host's addresses.
	if len(ev.Addresses) == 0 {
		r := l.Resolver
		if r == nil {
			r = DNS{}
		}
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		addrs, err := r.LookupHost(rctx, host)
		cancel()
		if err != nil || len(addrs) == 0 {
			return Result{Evidence: ev, Note: fmt.Sprintf("host %s does not resolve", host)}
		}
		ev.Addresses = addrs
	}
	// 3. A registered range holding one of them.
	for _, a := range ev.Addresses {
		ip, err := netip.ParseAddr(a)
		if err != nil {
			continue
		}
		for _, p := range providers {
			for _, rg := range p.Ranges {
				if pfx, err := netip.ParsePrefix(rg); err == nil && pfx.Contains(ip.Unmap()) {
					ev.Method, ev.Provider, ev.Jurisdiction, ev.Range = "registered_range", p.Org, p.Jurisdiction, rg
					return Result{Jurisdiction: p.Jurisdiction, Provider: p.Org, Evidence: ev}
				}
			}
		}
	}
	// 4. RDAP for the first address that answers.
	if l.RDAP == nil {
		return Result{Evidence: ev, Note: "no registered provider hosts " + host + " and RDAP is off"}
	}
	var lastErr error
	for _, a := range ev.Addresses {
		nw, err := l.RDAP.Network(ctx, a)
		if err != nil {
			lastErr = err
			continue
		}
		ev.Method, ev.Range, ev.Handle, ev.Country, ev.AbuseEmail, ev.RDAPServer = "rdap", nw.Range(), nw.Handle, nw.Country, nw.AbuseEmail, nw.Server
		ev.Jurisdiction = nw.Country
		res := Result{Jurisdiction: nw.Country, AbuseEmail: nw.AbuseEmail, Evidence: ev}
		// An abuse address a provider registered is that provider.
		for _, p := range providers {
			if nw.AbuseEmail != "" && strings.EqualFold(p.Email, nw.AbuseEmail) {
				res.Provider, res.AbuseEmail, ev.Provider = p.Org, "", p.Org
			}
		}
		return res
	}
	return Result{Evidence: ev, Note: fmt.Sprintf("RDAP: %v", lastErr)}
}
