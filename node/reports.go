package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/hashhub/hashhub/delivery"
	"github.com/hashhub/hashhub/hosting"
	"github.com/hashhub/hashhub/hub"
	"github.com/hashhub/hashhub/outbox"
)

// ReportsFile holds a node's report settings (optional; defaults apply).
const ReportsFile = "reports.json"

// ReportSettings is how a node handles reports and notices. Durations are
// Go duration strings ("24h", "500ms").
type ReportSettings struct {
	// FallbackOrg receives reports for jurisdictions with no peer.
	FallbackOrg string `json:"fallback_org,omitempty"`
	// MaxHold bounds law enforcement's holds (default 720h).
	MaxHold string `json:"max_hold,omitempty"`
	// Renotice lists the re-notice delays (default 24h, 72h, 168h).
	Renotice []string `json:"renotice,omitempty"`
	// NoticeDelay holds a non-urgent report's first notice back this long
	// (default 0), a window in which law enforcement can put a hold on it.
	NoticeDelay string `json:"notice_delay,omitempty"`
	HopLimit    int    `json:"hop_limit,omitempty"`
	// SMTPAddr is the relay notices by email go through (host:port);
	// empty turns email off.
	SMTPAddr string `json:"smtp_addr,omitempty"`
	// Org, ContactEmail and Domain name the node's operator in notices
	// (XARF reporter/sender, email From); PublicURL is where providers
	// reach the API.
	Org          string `json:"org,omitempty"`
	ContactEmail string `json:"contact_email,omitempty"`
	Domain       string `json:"domain,omitempty"`
	PublicURL    string `json:"public_url,omitempty"`
	// RDAPBase is the RDAP service (default https://rdap.org); RDAPOff
	// skips RDAP.
	RDAPBase string `json:"rdap_base,omitempty"`
	RDAPOff  bool   `json:"rdap_off,omitempty"`
	// Hosts is a static host → addresses table used instead of DNS
	// (air-gapped nodes, tests).
	Hosts map[string][]string `json:"hosts,omitempty"`
	// Retry schedule of deliveries.
	RetryBase     string `json:"retry_base,omitempty"`
	RetryMax      string `json:"retry_max,omitempty"`
	RetryAttempts int    `json:"retry_attempts,omitempty"`
}

// LoadReportSettings reads dir/reports.json; a missing file gives the
// defaults.
func LoadReportSettings(dir string) (*ReportSettings, error) {
	var rs ReportSettings
	raw, err := os.ReadFile(filepath.Join(dir, ReportsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return &rs, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, &rs); err != nil {
		return nil, fmt.Errorf("%s: %w", ReportsFile, err)
	}
	return &rs, nil
}

func duration(name, s string, def time.Duration) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s: %s %q is not a positive duration", ReportsFile, name, s)
	}
	return d, nil
}

// openReports builds the report desk and its outbox worker.
func (n *Node) openReports(dir string) error {
	rs, err := LoadReportSettings(dir)
	if err != nil {
		return err
	}
	cfg := hub.ReportConfig{Jurisdiction: n.Config.Jurisdiction, Fallback: rs.FallbackOrg, HopLimit: rs.HopLimit}
	if cfg.MaxHold, err = duration("max_hold", rs.MaxHold, hub.DefaultMaxHold); err != nil {
		return err
	}
	if cfg.NoticeDelay, err = duration("notice_delay", rs.NoticeDelay, 0); err != nil {
		return err
	}
	for _, s := range rs.Renotice {
		d, err := duration("renotice", s, 0)
		if err != nil {
			return err
		}
		cfg.Renotice = append(cfg.Renotice, d)
	}
	desk := hub.NewReports(n.Hub, cfg)
	w := &outbox.Worker{Reports: desk, Log: n.Log, NodeKey: n.Keys.Token,
		Poster:   &delivery.Poster{Key: n.Keys.Token, NodeID: n.Config.NodeID},
		Identity: delivery.Identity{NodeID: n.Config.NodeID, Org: rs.Org, Email: rs.ContactEmail, Domain: rs.Domain, PublicURL: rs.PublicURL},
		Locator:  &hosting.Locator{}}
	if w.Identity.Org == "" {
		w.Identity.Org = "hashhub node " + n.Config.NodeID
	}
	if w.Identity.Domain == "" {
		w.Identity.Domain = n.Config.NodeID + ".invalid"
		if !delivery.ValidHostname(w.Identity.Domain) {
			w.Identity.Domain = "hashhub.invalid"
		}
	}
	if w.Identity.Email == "" {
		w.Identity.Email = "notices@" + w.Identity.Domain
	}
	if err := w.Identity.Validate(); err != nil {
		return fmt.Errorf("%s: %w", ReportsFile, err)
	}
	if rs.SMTPAddr != "" {
		w.Mailer = &delivery.Mailer{Addr: rs.SMTPAddr}
	}
	if len(rs.Hosts) > 0 {
		w.Locator.Resolver = hosting.Static(rs.Hosts)
	}
	if !rs.RDAPOff {
		w.Locator.RDAP = &hosting.RDAP{Base: rs.RDAPBase, Client: &http.Client{Timeout: 15 * time.Second}}
	}
	if w.Backoff.Base, err = duration("retry_base", rs.RetryBase, outbox.DefaultBaseDelay); err != nil {
		return err
	}
	if w.Backoff.Max, err = duration("retry_max", rs.RetryMax, outbox.DefaultMaxDelay); err != nil {
		return err
	}
	w.Backoff.Attempts = rs.RetryAttempts
	desk.OnJob(w.Kick)
	w.Observe = n.Server.ObserveOutbox
	n.Reports, n.Outbox = desk, w
	return nil
}
