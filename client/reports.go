package client

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/hashhub/hashhub/reports"
)

// ReportReceipt acknowledges a submitted report.
type ReportReceipt struct {
	ID        string    `json:"id"`
	Status    string    `json:"status"`
	Received  time.Time `json:"received"`
	Duplicate bool      `json:"duplicate,omitempty"`
}

// SubmitReport sends a report (hotlines, law enforcement, platforms).
func (c *Client) SubmitReport(ctx context.Context, s reports.Submission) (*ReportReceipt, error) {
	var out ReportReceipt
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/reports", body: s, creates: true}, &out)
	return ptr(&out, err)
}

// Report reads a report the caller may read.
func (c *Client) Report(ctx context.Context, id string) (*reports.Report, error) {
	var out reports.Report
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/v1/reports/" + segment(id)}, &out)
	return ptr(&out, err)
}

// AckReport acknowledges a report forwarded to the caller's organisation.
func (c *Client) AckReport(ctx context.Context, id string) (*reports.Report, error) {
	var out reports.Report
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/reports/" + segment(id) + "/ack"}, &out)
	return ptr(&out, err)
}

// HoldReport holds a report's takedown until a time (law enforcement).
func (c *Client) HoldReport(ctx context.Context, id, reason string, until time.Time) (*reports.Report, error) {
	var out reports.Report
	body := map[string]any{"reason": reason, "until": until}
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/reports/" + segment(id) + "/hold", body: body}, &out)
	return ptr(&out, err)
}

// InboxEntry is one report in an inbox.
type InboxEntry struct {
	Seq    uint64          `json:"seq"`
	Kind   string          `json:"kind"`
	At     time.Time       `json:"at"`
	Report *reports.Report `json:"report"`
}

// InboxPage is a page of the caller's inbox.
type InboxPage struct {
	Reports    []InboxEntry `json:"reports"`
	NextCursor string       `json:"next_cursor,omitempty"`
}

// Inbox reads the caller's organisation's inbox after a cursor.
func (c *Client) Inbox(ctx context.Context, cursor string, limit int) (*InboxPage, error) {
	var out InboxPage
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/v1/inbox", query: page(cursor, limit)}, &out)
	return ptr(&out, err)
}

// UnroutedReports lists, for an admin, the reports with a URL that found
// no destination (no peer for its jurisdiction, no fallback).
func (c *Client) UnroutedReports(ctx context.Context, cursor string, limit int) (*InboxPage, error) {
	var out InboxPage
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/v1/reports/unrouted", query: page(cursor, limit)}, &out)
	return ptr(&out, err)
}

// SetInboxWebhook sets (or with "" clears) where the inbox is pushed.
func (c *Client) SetInboxWebhook(ctx context.Context, webhook string) error {
	_, err := c.do(ctx, call{method: http.MethodPut, path: "/v1/inbox/webhook", body: map[string]string{"webhook_url": webhook}}, nil)
	return err
}

// PutProvider registers a hosting provider (admin).
func (c *Client) PutProvider(ctx context.Context, p reports.Provider) (*reports.Provider, error) {
	var out reports.Provider
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/providers", body: p, creates: true}, &out)
	return ptr(&out, err)
}

// Providers lists the registered hosting providers (admin).
func (c *Client) Providers(ctx context.Context) ([]reports.Provider, error) {
	var out struct {
		Providers []reports.Provider `json:"providers"`
	}
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/v1/providers"}, &out)
	return out.Providers, err
}

// NoticePage is a page of notices.
type NoticePage struct {
	Notices    []reports.Notice `json:"notices"`
	NextCursor string           `json:"next_cursor,omitempty"`
}

// Notices lists notices (a provider its own; an admin all), optionally of
// one status.
func (c *Client) Notices(ctx context.Context, status, cursor string, limit int) (*NoticePage, error) {
	q := page(cursor, limit)
	if q == nil {
		q = url.Values{}
	}
	if status != "" {
		q.Set("status", status)
	}
	var out NoticePage
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/v1/notices", query: q}, &out)
	return ptr(&out, err)
}

// Notice reads one notice.
func (c *Client) Notice(ctx context.Context, id string) (*reports.Notice, error) {
	var out reports.Notice
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/v1/notices/" + segment(id)}, &out)
	return ptr(&out, err)
}

// SetNoticeStatus acknowledges, confirms removal of, or disputes a notice.
func (c *Client) SetNoticeStatus(ctx context.Context, id, status, note string) (*reports.Notice, error) {
	var out reports.Notice
	body := map[string]string{"status": status, "note": note}
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/notices/" + segment(id) + "/status", body: body}, &out)
	return ptr(&out, err)
}

// TakedownStats reads the takedown figures per provider.
func (c *Client) TakedownStats(ctx context.Context) ([]reports.ProviderStats, error) {
	var out struct {
		Providers []reports.ProviderStats `json:"providers"`
	}
	_, err := c.do(ctx, call{method: http.MethodGet, path: "/v1/takedown-stats"}, &out)
	return out.Providers, err
}
