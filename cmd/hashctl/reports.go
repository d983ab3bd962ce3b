package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hashhub/hashhub/client"
	"github.com/hashhub/hashhub/reports"
)

// multiFlag collects a flag given several times (URLs may hold commas, so
// they are not split).
type multiFlag []string

func (f *multiFlag) String() string     { return strings.Join(*f, " ") }
func (f *multiFlag) Set(s string) error { *f = append(*f, s); return nil }

func cmdReportsSubmit(e *env, args []string) error {
	fs := e.flags()
	var urls, hashFlags multiFlag
	fs.Var(&urls, "url", "reported `URL` (http or https; repeat for several)")
	fs.Var(&hashFlags, "hash", "hash of the material as `ALGO:VALUE` (repeatable)")
	v := addVerdictFlags(fs)
	detection := fs.String("detection", "", "how it was found: `METHOD` hash_match, ai_detection, manual_review, user_report or automated_scan")
	explanation := fs.String("explanation", "", "why the material is illegal (`TEXT`)")
	ref := fs.String("reporter-ref", "", "your own reference for the report (`REF`)")
	urgent := fs.Bool("urgent", false, "ask for immediate action (a child may be at risk)")
	observed := fs.String("observed-at", "", "when the material was seen, RFC 3339 `TIME` (default now)")
	hostingJur := fs.String("hosting-jurisdiction", "", "where you believe it is hosted (`CODE`), used when the node cannot resolve the host")
	if _, err := e.parse(fs, args, 0); err != nil {
		return err
	}
	if len(urls) == 0 {
		return e.usagef("missing --url")
	}
	if err := e.need("detection", *detection, "explanation", *explanation); err != nil {
		return err
	}
	at := time.Now().UTC().Truncate(time.Second)
	if *observed != "" {
		t, err := time.Parse(time.RFC3339, *observed)
		if err != nil {
			return e.usagef("--observed-at: %q is not an RFC 3339 time", *observed)
		}
		at = t
	}
	sub := reports.Submission{URLs: urls, Detection: *detection, Explanation: *explanation, ReporterRef: *ref,
		Urgent: *urgent, ObservedAt: at, HostingJurisdiction: *hostingJur,
		Classification: reports.Classification{Category: orDefault(*v.category, "baseline"), Jurisdictions: v.jurisdictions, Severity: *v.severity}}
	if *v.note != "" {
		return e.usagef("--note is not part of a report; use --explanation")
	}
	for _, h := range hashFlags {
		algo, value, ok := strings.Cut(h, ":")
		if !ok {
			return e.usagef("--hash %q: use ALGO:VALUE", h)
		}
		sub.Hashes = append(sub.Hashes, reports.HashRef{Algo: algo, Value: value})
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	r, err := c.SubmitReport(e.call(), sub)
	if err != nil {
		return err
	}
	if e.g.json.v {
		return e.printRaw()
	}
	fmt.Fprintf(e.stdout, "Report %s received\n", r.ID)
	fields(e.stdout, "id", r.ID, "status", r.Status, "received", ts(r.Received))
	fmt.Fprintf(e.stdout, "follow it: hashctl reports show %s\n", r.ID)
	return nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func printReport(e *env, r *reports.Report) {
	hold := ""
	if r.Hold != nil {
		hold = "until " + ts(r.Hold.Until) + ": " + r.Hold.Reason
	}
	fields(e.stdout, "id", r.ID, "status", r.Status, "reporter", r.Reporter.OrgName+" ("+r.Reporter.Jurisdiction+", node "+r.Reporter.Node+")",
		"reporter ref", r.ReporterRef, "classification", classification(r.Classification), "detection", r.Detection,
		"urgent", strconv.FormatBool(r.Urgent), "observed", ts(r.ObservedAt), "received", ts(r.Received),
		"hops", strings.Join(r.Hops, " → "), "hold", hold, "explanation", r.Explanation)
	if len(r.Routes) > 0 {
		fmt.Fprintln(e.stdout, "\nRoutes:")
		t := newTable(e.stdout, "URL", "JURISDICTION", "DESTINATION", "NOTICE", "EVIDENCE")
		for _, rt := range r.Routes {
			ev := ""
			if rt.Evidence != nil {
				ev = rt.Evidence.Method
				if rt.Evidence.Range != "" {
					ev += " " + rt.Evidence.Range
				}
			}
			dest := rt.Destination
			if rt.Peer != "" {
				dest += " " + rt.Peer
			}
			t.row(rt.URL, rt.Jurisdiction, dest, rt.Notice, ev)
		}
		t.flush()
	}
	if len(r.Forwards) > 0 {
		fmt.Fprintln(e.stdout, "\nForwarded to:")
		t := newTable(e.stdout, "TO", "KIND", "AT", "ACKNOWLEDGED")
		for _, f := range r.Forwards {
			ack := ""
			if f.AckedAt != nil {
				ack = ts(*f.AckedAt)
			}
			t.row(orDefault(f.Name, f.To), f.Kind, ts(f.At), ack)
		}
		t.flush()
	}
}

func classification(c reports.Classification) string {
	s := c.Category
	if len(c.Jurisdictions) > 0 {
		s += " (" + strings.Join(c.Jurisdictions, ",") + ")"
	}
	if c.Severity != "" {
		s += ", severity " + c.Severity
	}
	return s
}

func cmdReportsShow(e *env, args []string) error {
	return show(e, args, 1, func(c *client.Client, pos []string) (*reports.Report, error) { return c.Report(e.call(), pos[0]) },
		func(r *reports.Report) { printReport(e, r) })
}

func cmdReportsAck(e *env, args []string) error {
	return show(e, args, 1, func(c *client.Client, pos []string) (*reports.Report, error) { return c.AckReport(e.call(), pos[0]) },
		func(r *reports.Report) { fmt.Fprintf(e.stdout, "Acknowledged report %s\n", r.ID) })
}

func cmdReportsInbox(e *env, args []string) error {
	return paged(e, args, nil, func(c *client.Client, cursor string, limit int) ([]client.InboxEntry, string, error) {
		p, err := c.Inbox(e.call(), cursor, limit)
		if err != nil {
			return nil, "", err
		}
		return p.Reports, p.NextCursor, nil
	}, "inbox empty", "hashctl reports inbox", func(items []client.InboxEntry) {
		t := newTable(e.stdout, "REPORT", "RECEIVED", "URGENT", "CLASSIFICATION", "REPORTER", "URLS")
		for _, it := range items {
			r := it.Report
			t.row(r.ID, ts(it.At), strconv.FormatBool(r.Urgent), classification(r.Classification), r.Reporter.OrgName, strings.Join(r.URLs, " "))
		}
		t.flush()
	})
}

func cmdReportsUnrouted(e *env, args []string) error {
	return paged(e, args, nil, func(c *client.Client, cursor string, limit int) ([]client.InboxEntry, string, error) {
		p, err := c.UnroutedReports(e.call(), cursor, limit)
		if err != nil {
			return nil, "", err
		}
		return p.Reports, p.NextCursor, nil
	}, "no unrouted reports", "hashctl reports unrouted", func(items []client.InboxEntry) {
		t := newTable(e.stdout, "REPORT", "ROUTED", "URGENT", "REPORTER", "UNROUTED")
		for _, it := range items {
			r := it.Report
			var urls []string
			for _, rt := range r.Routes {
				if rt.Destination != reports.DestUnrouted {
					continue
				}
				jur := rt.Jurisdiction
				if jur == "" {
					jur = "jurisdiction unknown"
				}
				urls = append(urls, rt.URL+" ("+jur+")")
			}
			t.row(r.ID, ts(it.At), strconv.FormatBool(r.Urgent), r.Reporter.OrgName, strings.Join(urls, " "))
		}
		t.flush()
	})
}

func cmdReportsHold(e *env, args []string) error {
	fs := e.flags()
	reason := fs.String("reason", "", "why the takedown must wait (`TEXT`)")
	until := fs.String("until", "", "end of the hold, RFC 3339 `TIME`")
	forD := fs.Duration("for", 0, "hold for this `DURATION` instead of --until (e.g. 72h)")
	pos, err := e.parse(fs, args, 1)
	if err != nil {
		return err
	}
	if err := e.need("reason", *reason); err != nil {
		return err
	}
	var end time.Time
	switch {
	case *forD > 0 && *until == "":
		end = time.Now().Add(*forD)
	case *until != "" && *forD == 0:
		if end, err = time.Parse(time.RFC3339, *until); err != nil {
			return e.usagef("--until: %q is not an RFC 3339 time", *until)
		}
	default:
		return e.usagef("give one of --until or --for")
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	r, err := c.HoldReport(e.call(), pos[0], *reason, end)
	if err != nil {
		return err
	}
	if e.g.json.v {
		return e.printRaw()
	}
	fmt.Fprintf(e.stdout, "Takedown of report %s held until %s\n", r.ID, ts(r.Hold.Until))
	return nil
}

func cmdReportsWebhook(e *env, args []string) error {
	fs := e.flags()
	u := fs.String("url", "", "`URL` to push reports to; empty turns the push off")
	if _, err := e.parse(fs, args, 0); err != nil {
		return err
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	if err := c.SetInboxWebhook(e.call(), *u); err != nil {
		return err
	}
	if *u == "" {
		fmt.Fprintln(e.stdout, "Inbox push turned off")
	} else {
		fmt.Fprintf(e.stdout, "Reports routed to you are pushed to %s, signed by the node's key\n", *u)
	}
	return nil
}

func cmdProvidersRegister(e *env, args []string) error {
	fs := e.flags()
	org := fs.String("org", "", "the hosting provider's organisation `ID` or exact name")
	var domains, ranges listFlag
	fs.Var(&domains, "domains", "`DOMAINS` it hosts, comma-separated (subdomains included)")
	fs.Var(&ranges, "ranges", "IP `RANGES` it hosts, comma-separated CIDRs")
	webhook := fs.String("webhook", "", "`URL` notices are POSTed to (signed)")
	email := fs.String("email", "", "abuse `ADDRESS` notices are mailed to")
	if _, err := e.parse(fs, args, 0); err != nil {
		return err
	}
	if err := e.need("org", *org); err != nil {
		return err
	}
	c, orgID, err := e.orgClient(*org)
	if err != nil {
		return err
	}
	p, err := c.PutProvider(e.call(), reports.Provider{Org: orgID, Domains: domains, Ranges: ranges, WebhookURL: *webhook, Email: *email})
	if err != nil {
		return err
	}
	if e.g.json.v {
		return e.printRaw()
	}
	fmt.Fprintf(e.stdout, "Registered hosting provider %s\n", p.Name)
	printProvider(e, p)
	return nil
}

func printProvider(e *env, p *reports.Provider) {
	fields(e.stdout, "org", p.Org, "name", p.Name, "jurisdiction", p.Jurisdiction, "domains", strings.Join(p.Domains, ","),
		"ranges", strings.Join(p.Ranges, ","), "webhook", p.WebhookURL, "email", p.Email)
}

func cmdProvidersList(e *env, args []string) error {
	return show(e, args, 0, func(c *client.Client, _ []string) ([]reports.Provider, error) { return c.Providers(e.call()) },
		func(ps []reports.Provider) {
			if len(ps) == 0 {
				fmt.Fprintln(e.stdout, "no hosting providers registered")
				return
			}
			t := newTable(e.stdout, "ORG", "NAME", "JURISDICTION", "DOMAINS", "RANGES", "CHANNELS")
			for _, p := range ps {
				var ch []string
				if p.WebhookURL != "" {
					ch = append(ch, "webhook")
				}
				if p.Email != "" {
					ch = append(ch, "email")
				}
				t.row(p.Org, p.Name, p.Jurisdiction, strings.Join(p.Domains, ","), strings.Join(p.Ranges, ","), strings.Join(ch, "+"))
			}
			t.flush()
		})
}

func cmdNoticesList(e *env, args []string) error {
	var status *string
	return paged(e, args, func(fs *flag.FlagSet) {
		status = fs.String("status", "", "only notices in this `STATUS` (queued, sent, acknowledged, removed, disputed, failed, held)")
	}, func(c *client.Client, cursor string, limit int) ([]reports.Notice, string, error) {
		p, err := c.Notices(e.call(), *status, cursor, limit)
		if err != nil {
			return nil, "", err
		}
		return p.Notices, p.NextCursor, nil
	}, "no notices", "hashctl notices list", func(ns []reports.Notice) {
		t := newTable(e.stdout, "NOTICE", "STATUS", "PROVIDER", "URL", "SENT", "SENDS")
		for _, n := range ns {
			sent := ""
			if n.SentAt != nil {
				sent = ts(*n.SentAt)
			}
			t.row(n.ID, n.Status, n.ProviderName, n.URL, sent, strconv.Itoa(n.Sends))
		}
		t.flush()
	})
}

func printNotice(e *env, n *reports.Notice) {
	opt := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return ts(*t)
	}
	fields(e.stdout, "id", n.ID, "status", n.Status, "report", n.Report, "url", n.URL, "provider", n.ProviderName,
		"webhook", n.WebhookURL, "email", n.Email, "sent", opt(n.SentAt), "acknowledged", opt(n.AckedAt), "removed", opt(n.RemovedAt),
		"disputed", n.DisputeReason, "failed", n.FailReason, "sends", strconv.Itoa(n.Sends), "escalation", strconv.Itoa(n.Escalation))
	if ev := n.Evidence; ev != nil {
		fmt.Fprintln(e.stdout, "\nHosting evidence:")
		fields(e.stdout, "method", ev.Method, "host", ev.Host, "addresses", strings.Join(ev.Addresses, ","), "range", ev.Range,
			"handle", ev.Handle, "country", ev.Country, "abuse email", ev.AbuseEmail, "rdap server", ev.RDAPServer, "resolved", ts(ev.ResolvedAt))
	}
	fmt.Fprintln(e.stdout, "\nHistory:")
	t := newTable(e.stdout, "AT", "STATUS", "BY", "NOTE")
	for _, h := range n.History {
		t.row(ts(h.At), h.Status, h.By, h.Note)
	}
	t.flush()
}

func cmdNoticesShow(e *env, args []string) error {
	return show(e, args, 1, func(c *client.Client, pos []string) (*reports.Notice, error) { return c.Notice(e.call(), pos[0]) },
		func(n *reports.Notice) { printNotice(e, n) })
}

func cmdNoticesUpdate(e *env, args []string) error {
	fs := e.flags()
	status := fs.String("status", "", "`STATUS`: acknowledged, removed or disputed")
	note := fs.String("note", "", "a note; a dispute must say why (`TEXT`)")
	pos, err := e.parse(fs, args, 1)
	if err != nil {
		return err
	}
	if err := e.need("status", *status); err != nil {
		return err
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	n, err := c.SetNoticeStatus(e.call(), pos[0], *status, *note)
	if err != nil {
		return err
	}
	if e.g.json.v {
		return e.printRaw()
	}
	fmt.Fprintf(e.stdout, "Notice %s is %s\n", n.ID, n.Status)
	return nil
}

func cmdNoticesStats(e *env, args []string) error {
	return show(e, args, 0, func(c *client.Client, _ []string) ([]reports.ProviderStats, error) { return c.TakedownStats(e.call()) },
		func(st []reports.ProviderStats) {
			if len(st) == 0 {
				fmt.Fprintln(e.stdout, "no notices yet")
				return
			}
			t := newTable(e.stdout, "PROVIDER", "NOTICES", "SENT", "REMOVED", "DISPUTED", "FAILED", "MEDIAN ACK", "MEDIAN REMOVAL", "≤24H", "≤3D", "≤7D")
			for _, p := range st {
				t.row(orDefault(p.Name, p.Provider), strconv.Itoa(p.Notices), strconv.Itoa(p.Sent), strconv.Itoa(p.Removed),
					strconv.Itoa(p.Disputed), strconv.Itoa(p.Failed), secs(p.MedianAckSeconds), secs(p.MedianRemovalSec),
					pct(p.Within24h), pct(p.Within3d), pct(p.Within7d))
			}
			t.flush()
		})
}

func secs(s float64) string {
	if s == 0 {
		return ""
	}
	return (time.Duration(s * float64(time.Second))).Round(time.Second).String()
}

func pct(f float64) string { return fmt.Sprintf("%.0f%%", 100*f) }
