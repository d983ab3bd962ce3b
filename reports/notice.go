package reports

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Notice statuses. A notice is queued until its first delivery succeeds
// (sent), then the provider acknowledges it and reports removal or a
// dispute; failed is the dead letter after the last delivery attempt;
// held is law enforcement's hold on the takedown.
const (
	Queued       = "queued"
	Sent         = "sent"
	Acknowledged = "acknowledged"
	Removed      = "removed"
	Disputed     = "disputed"
	Failed       = "failed"
	Held         = "held"
)

// NoticeStatuses lists every status.
var NoticeStatuses = []string{Queued, Sent, Acknowledged, Removed, Disputed, Failed, Held}

// Final reports whether a status ends the notice's life.
func Final(status string) bool { return status == Removed || status == Disputed || status == Failed }

// ProviderStats are one provider's takedown figures: how fast it
// acknowledges and removes, and the share removed within 24 hours, 3 days
// and 7 days of the first notice (time held by law enforcement excluded).
type ProviderStats struct {
	Provider         string  `json:"provider"`
	Name             string  `json:"name"`
	Notices          int     `json:"notices"`
	Sent             int     `json:"sent"`
	Acknowledged     int     `json:"acknowledged"`
	Removed          int     `json:"removed"`
	Disputed         int     `json:"disputed"`
	Failed           int     `json:"failed"`
	Held             int     `json:"held"`
	MedianAckSeconds float64 `json:"median_ack_seconds"`
	MedianRemovalSec float64 `json:"median_removal_seconds"`
	MeanRemovalSec   float64 `json:"mean_removal_seconds"`
	Within24h        float64 `json:"removed_within_24h"`
	Within3d         float64 `json:"removed_within_3d"`
	Within7d         float64 `json:"removed_within_7d"`
}

// Notice is a takedown notice to a hosting provider for one URL.
type Notice struct {
	ID       string `json:"id"`
	Report   string `json:"report"`
	URL      string `json:"url"`
	Provider string `json:"provider,omitempty"` // the registered provider's organisation
	// ProviderName names the provider for people; unregistered providers
	// (found by RDAP) are named by their abuse address.
	ProviderName string `json:"provider_name"`
	// Channels are how it is delivered: webhook and/or email.
	WebhookURL string    `json:"webhook_url,omitempty"`
	Email      string    `json:"email,omitempty"`
	Status     string    `json:"status"`
	Evidence   *Evidence `json:"evidence,omitempty"`
	// XARFID is the XARF report_id (a UUID) of this notice.
	XARFID        string     `json:"xarf_id"`
	Urgent        bool       `json:"urgent"`
	Created       time.Time  `json:"created"`
	SentAt        *time.Time `json:"sent_at,omitempty"`
	AckedAt       *time.Time `json:"acked_at,omitempty"`
	RemovedAt     *time.Time `json:"removed_at,omitempty"`
	DisputedAt    *time.Time `json:"disputed_at,omitempty"`
	FailedAt      *time.Time `json:"failed_at,omitempty"`
	DisputeReason string     `json:"dispute_reason,omitempty"`
	FailReason    string     `json:"fail_reason,omitempty"`
	Sends         int        `json:"sends"`    // successful deliveries (first notice and re-notices)
	Attempts      int        `json:"attempts"` // delivery attempts of the current send
	Escalation    int        `json:"escalation"`
	HeldFrom      string     `json:"held_from,omitempty"` // status before the hold
	HeldSince     *time.Time `json:"held_since,omitempty"`
	HoldUntil     *time.Time `json:"hold_until,omitempty"`
	// HeldSeconds is the total time spent held: the takedown clock
	// stops meanwhile.
	HeldSeconds    int64          `json:"held_seconds"`
	History        []Change       `json:"history"`
	ReporterName   string         `json:"reporter_name"`
	Classification Classification `json:"classification"`
	Detection      string         `json:"detection"`
	ObservedAt     time.Time      `json:"observed_at"`
	Hashes         []HashRef      `json:"hashes,omitempty"`
}

// Change is one status change.
type Change struct {
	At     time.Time `json:"at"`
	Status string    `json:"status"`
	By     string    `json:"by"`
	Note   string    `json:"note,omitempty"`
}

// transitions lists what a provider (or an analyst) may set from each
// status. queued, sent, failed and held are the node's own.
var transitions = map[string][]string{
	Sent:         {Acknowledged, Removed, Disputed},
	Acknowledged: {Removed, Disputed},
	Held:         {Acknowledged, Removed, Disputed},
}

// CanSet reports whether a status update from outside the node may move a
// notice from → to.
func CanSet(from, to string) bool { return slices.Contains(transitions[from], to) }

// Provider is a hosting provider's registration: what it hosts and where
// notices reach it.
type Provider struct {
	Org          string    `json:"org"`
	Name         string    `json:"name"`
	Jurisdiction string    `json:"jurisdiction"`
	Domains      []string  `json:"domains"`
	Ranges       []string  `json:"ranges"`
	WebhookURL   string    `json:"webhook_url,omitempty"`
	Email        string    `json:"email,omitempty"`
	Updated      time.Time `json:"updated"`
}

var domainRE = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// Validate checks a registration and normalises it.
func (p *Provider) Validate() error {
	if len(p.Domains)+len(p.Ranges) == 0 {
		return &FieldError{"domains", "register at least one domain or IP range"}
	}
	if len(p.Domains) > 1000 || len(p.Ranges) > 1000 {
		return &FieldError{"domains", "at most 1000 domains and 1000 ranges"}
	}
	for i, d := range p.Domains {
		d = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
		if len(d) > 253 || !domainRE.MatchString(d) {
			return &FieldError{fmt.Sprintf("domains[%d]", i), "a DNS name such as example.net (its subdomains are included)"}
		}
		p.Domains[i] = d
	}
	for i, r := range p.Ranges {
		_, n, err := net.ParseCIDR(strings.TrimSpace(r))
		if err != nil {
			return &FieldError{fmt.Sprintf("ranges[%d]", i), "a CIDR range such as 192.0.2.0/24 or 2001:db8::/32"}
		}
		p.Ranges[i] = n.String()
	}
	p.Domains = uniq(p.Domains)
	p.Ranges = uniq(p.Ranges)
	if p.WebhookURL == "" && p.Email == "" {
		return &FieldError{"webhook_url", "give a webhook URL, an abuse email address, or both"}
	}
	if p.WebhookURL != "" {
		u, err := url.Parse(p.WebhookURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.Fragment != "" {
			return &FieldError{"webhook_url", "an http(s) URL with a host and no credentials (use https outside tests)"}
		}
	}
	if p.Email != "" {
		a, err := mail.ParseAddress(p.Email)
		if err != nil || a.Name != "" || strings.ContainsAny(a.Address, "\r\n") {
			return &FieldError{"email", "a plain address such as abuse@example.net"}
		}
		p.Email = a.Address
	}
	return nil
}

func uniq(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	out = slices.Compact(out)
	if out == nil {
		out = []string{}
	}
	return out
}
