package server

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hashhub/hashhub/hub"
	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/reports"
)

// Problems of reports and notices.
var (
	pHopLimit   = problemKind{"hop-limit", "The report passed too many nodes", http.StatusUnprocessableEntity}
	pNoticeStep = problemKind{"notice-status-conflict", "The notice cannot take that status now", http.StatusConflict}
	pNoDesk     = problemKind{"reports-off", "This node does not take reports", http.StatusServiceUnavailable}
)

var reportKinds = []problemKind{pHopLimit, pNoticeStep, pNoDesk}

// reportProblem maps the report desk's errors; nil when err is not one.
func reportProblem(err error) *Problem {
	var fe *reports.FieldError
	switch {
	case errors.As(err, &fe):
		p := pInvalid.with(fe.Error())
		p.Field = fe.Field
		return p
	case errors.Is(err, reports.ErrNotFound), errors.Is(err, reports.ErrNoticeGone):
		return pNotFound.with(err.Error())
	case errors.Is(err, reports.ErrHopLimit):
		return pHopLimit.with(err.Error())
	case errors.Is(err, reports.ErrTransition):
		return pNoticeStep.with(err.Error())
	}
	return nil
}

// reportRoutes registers the endpoints of reports, inboxes, hosting
// providers and notices (DESIGN §6), and the takedown metrics.
func (s *Server) reportRoutes(h func(method, path string, o routeOpt, fn gin.HandlerFunc)) {
	reporters := roles(orgs.Hotline, orgs.LawEnforcement, orgs.Platform, orgs.Peer)
	recipients := roles(orgs.LawEnforcement, orgs.Hotline)
	h("POST", "/reports", reporters.accepts("json").creates(), s.submitReport)
	h("GET", "/reports/unrouted", roles(orgs.Admin), s.unroutedReports)
	h("GET", "/reports/:id", roles(orgs.Admin, orgs.Hotline, orgs.LawEnforcement, orgs.Platform), s.getReport)
	h("POST", "/reports/:id/ack", recipients, s.ackReport)
	h("POST", "/reports/:id/hold", roles(orgs.LawEnforcement).accepts("json"), s.holdReport)
	h("GET", "/inbox", recipients, s.inbox)
	h("PUT", "/inbox/webhook", recipients.accepts("json"), s.setInboxWebhook)

	h("POST", "/providers", roles(orgs.Admin).accepts("json").creates(), s.putProvider)
	h("GET", "/providers", roles(orgs.Admin), s.listProviders)
	h("GET", "/providers/:org", roles(orgs.Admin, orgs.HostingProvider), s.getProvider)

	h("GET", "/notices", roles(orgs.Admin, orgs.HostingProvider), s.listNotices)
	h("GET", "/notices/:id", roles(orgs.Admin, orgs.HostingProvider, orgs.Hotline, orgs.LawEnforcement), s.getNotice)
	h("POST", "/notices/:id/status", roles(orgs.HostingProvider, orgs.Hotline, orgs.LawEnforcement).accepts("json"), s.setNoticeStatus)
	h("GET", "/takedown-stats", roles(orgs.Admin, orgs.Hotline, orgs.LawEnforcement, orgs.HostingProvider), s.takedownStats)
	h("GET", "/outbox", roles(orgs.Admin), s.outboxState)

	if s.cfg.Reports != nil {
		s.SetReports(s.cfg.Reports)
	}
	s.metrics.outbox = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hashhub_outbox_attempts_total", Help: "Outbox job attempts by kind and result (ok, failed).",
	}, []string{"kind", "result"})
	s.metrics.reg.MustRegister(s.metrics.outbox)
}

// ObserveOutbox counts an outbox attempt (the node's worker reports here).
func (s *Server) ObserveOutbox(kind string, ok bool, _ time.Duration) {
	res := "ok"
	if !ok {
		res = "failed"
	}
	s.metrics.outbox.WithLabelValues(kind, res).Inc()
}

func (s *Server) desk(c *gin.Context) (*hub.Reports, bool) {
	if s.cfg.Reports == nil {
		writeProblem(c, pNoDesk.with("the node was started without its report desk"))
		return nil, false
	}
	return s.cfg.Reports, true
}

// ReportReceipt acknowledges a report at once; routing follows in the
// background.
type ReportReceipt struct {
	ID        string    `json:"id" example:"rep_0123456789abcdef0123456789abcdef"`
	Status    string    `json:"status" example:"received"`
	Received  time.Time `json:"received"`
	Duplicate bool      `json:"duplicate,omitempty"`
} // @name ReportReceipt

// submitReport godoc
//
//	@Summary		Submit a report of URLs
//	@ID			submitReport
//	@Description	URLs (http/https only) where child sexual abuse material is found, optional hashes, classification, how it was detected, an explanation, the reporter's reference, urgency and when it was seen. Text only: never media. The answer is immediate with the report's id; the node then finds where each URL is hosted (never fetching it) and hands the report to law enforcement of the hosting jurisdiction, a takedown notice to the hosting provider, the peer node of that jurisdiction or the fallback organisation. A peer forwarding a report sends its id, hops, hop_limit and reporter; a report seen before answers 200 with duplicate true.
//	@Tags			reports
//	@Accept			json
//	@Produce		json
//	@Security		Bearer
//	@Param			Idempotency-Key	header		string				false	"makes retries safe"
//	@Param			body			body		reports.Submission	true	"the report"
//	@Success		201				{object}	ReportReceipt
//	@Success		200				{object}	ReportReceipt	"a forwarded report already seen"
//	@Failure		400,401,403,413,415,422	{object}	Problem
//	@Router			/v1/reports [post]
func (s *Server) submitReport(c *gin.Context) {
	d, ok := s.desk(c)
	if !ok {
		return
	}
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		s.fail(c, err)
		return
	}
	if !s.jsonText(c, body) {
		return
	}
	sub, err := reports.Parse(body)
	if err != nil {
		writeProblem(c, pMalformed.with(strings.TrimPrefix(err.Error(), "body: ")))
		return
	}
	receipt := func(r hub.ReportSubmitted) (int, any) {
		if r.Duplicate {
			rc := ReportReceipt{ID: sub.ID, Status: "already_seen", Duplicate: true}
			if r.Report != nil {
				rc.Received = r.Report.Received
			}
			return http.StatusOK, rc
		}
		return http.StatusCreated, ReportReceipt{ID: r.Report.ID, Status: r.Report.Status, Received: r.Report.Received}
	}
	rep, dup, err := d.Submit(replayable(c, receipt), sub)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(receipt(hub.ReportSubmitted{Report: rep, Duplicate: dup}))
}

// getReport godoc
//
//	@Summary		Read a report
//	@ID			getReport
//	@Description	The reporting organisation and the organisations the report was forwarded to may read it, and administrators an unrouted one; to anyone else it does not exist (404). Every read is recorded in the audit log.
//	@Tags			reports
//	@Produce		json
//	@Security		Bearer
//	@Param			id	path		string	true	"report id"
//	@Success		200	{object}	reports.Report
//	@Failure		401,403,404	{object}	Problem
//	@Router			/v1/reports/{id} [get]
func (s *Server) getReport(c *gin.Context) {
	d, ok := s.desk(c)
	if !ok {
		return
	}
	rep, err := d.Get(actor(c), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, rep)
}

// ackReport godoc
//
//	@Summary		Acknowledge a forwarded report
//	@ID			ackReport
//	@Description	Records when the recipient organisation (law enforcement, or the fallback) took the report in. Repeating it changes nothing.
//	@Tags			reports
//	@Produce		json
//	@Security		Bearer
//	@Param			id	path		string	true	"report id"
//	@Success		200	{object}	reports.Report
//	@Failure		401,403,404	{object}	Problem
//	@Router			/v1/reports/{id}/ack [post]
func (s *Server) ackReport(c *gin.Context) {
	d, ok := s.desk(c)
	if !ok {
		return
	}
	rep, err := d.Ack(actor(c), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, rep)
}

// HoldRequest puts a hold on a report's takedown.
type HoldRequest struct {
	Reason string    `json:"reason" example:"investigation open; preserve evidence"`
	Until  time.Time `json:"until"`
} // @name HoldRequest

// holdReport godoc
//
//	@Summary		Hold a report's takedown
//	@ID			holdReport
//	@Description	Law enforcement the report was forwarded to stops its takedown notices until a time (at most the node's maximum hold) so that evidence is not lost while it investigates. Queued notices wait; the re-notice clock stops while held.
//	@Tags			reports
//	@Accept			json
//	@Produce		json
//	@Security		Bearer
//	@Param			id		path		string		true	"report id"
//	@Param			body	body		HoldRequest	true	"reason and end of the hold"
//	@Success		200		{object}	reports.Report
//	@Failure		400,401,403,404,413,415,422	{object}	Problem
//	@Router			/v1/reports/{id}/hold [post]
func (s *Server) holdReport(c *gin.Context) {
	d, ok := s.desk(c)
	if !ok {
		return
	}
	var req HoldRequest
	if !s.decodeJSON(c, &req) {
		return
	}
	rep, err := d.Hold(actor(c), c.Param("id"), strings.TrimSpace(req.Reason), req.Until)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, rep)
}

// InboxPage is a page of an organisation's inbox.
type InboxPage struct {
	Reports    []hub.InboxEntry `json:"reports"`
	NextCursor string           `json:"next_cursor,omitempty"`
} // @name InboxPage

// inbox godoc
//
//	@Summary		Read your inbox of forwarded reports
//	@ID			listInbox
//	@Description	Reports routed to your organisation, oldest first, after a cursor. Each read is recorded in the audit log.
//	@Tags			reports
//	@Produce		json
//	@Security		Bearer
//	@Param			cursor	query		string	false	"next_cursor of the previous page"
//	@Param			limit	query		int		false	"page size (1–1000)"
//	@Success		200		{object}	InboxPage
//	@Failure		401,403,422	{object}	Problem
//	@Router			/v1/inbox [get]
func (s *Server) inbox(c *gin.Context) {
	s.reportPage(c, func(d *hub.Reports, a hub.Actor, after uint64, limit int) ([]hub.InboxEntry, error) {
		return d.Inbox(a, after, limit)
	})
}

// unroutedReports godoc
//
//	@Summary		Reports that went nowhere
//	@ID			listUnroutedReports
//	@Description	Reports with a URL that found no destination: hosted in a jurisdiction no peer takes, with no fallback organisation set (status unrouted; each such route has destination unrouted and a note). Nobody else was given them, so administrators see them here, oldest first after a cursor, to hand them on. A provider registered on this node has had its notice all the same. Each read is recorded in the audit log; the Prometheus gauge hashhub_reports_unrouted counts them.
//	@Tags			reports
//	@Produce		json
//	@Security		Bearer
//	@Param			cursor	query		string	false	"next_cursor of the previous page"
//	@Param			limit	query		int		false	"page size (1–1000)"
//	@Success		200		{object}	InboxPage
//	@Failure		401,403,422	{object}	Problem
//	@Router			/v1/reports/unrouted [get]
func (s *Server) unroutedReports(c *gin.Context) {
	s.reportPage(c, func(d *hub.Reports, a hub.Actor, after uint64, limit int) ([]hub.InboxEntry, error) {
		return d.Unrouted(a, after, limit)
	})
}

// reportPage answers a cursor-paged list of report items (an inbox, the
// unrouted reports) read by fetch.
func (s *Server) reportPage(c *gin.Context, fetch func(d *hub.Reports, a hub.Actor, after uint64, limit int) ([]hub.InboxEntry, error)) {
	d, ok := s.desk(c)
	if !ok {
		return
	}
	limit, ok := s.page(c)
	if !ok {
		return
	}
	after, ok := s.cursor(c)
	if !ok {
		return
	}
	items, err := fetch(d, actor(c), after, limit)
	if err != nil {
		s.fail(c, err)
		return
	}
	p := InboxPage{Reports: items}
	if len(items) == limit {
		p.NextCursor = uitoa(items[len(items)-1].Seq)
	}
	c.JSON(http.StatusOK, p)
}

// WebhookRequest sets where reports are pushed.
type WebhookRequest struct {
	WebhookURL string `json:"webhook_url" example:"https://police.example/hashhub"`
} // @name WebhookRequest

// setInboxWebhook godoc
//
//	@Summary		Push your inbox to a webhook
//	@ID			setInboxWebhook
//	@Description	Besides the pull inbox, each report routed to your organisation is POSTed to this URL, signed with the node's Ed25519 key (headers Hashhub-Timestamp, Hashhub-Signature, Idempotency-Key; see README). An empty URL turns the push off.
//	@Tags			reports
//	@Accept			json
//	@Produce		json
//	@Security		Bearer
//	@Param			body	body		WebhookRequest	true	"webhook URL"
//	@Success		200		{object}	WebhookRequest
//	@Failure		400,401,403,413,415,422	{object}	Problem
//	@Router			/v1/inbox/webhook [put]
func (s *Server) setInboxWebhook(c *gin.Context) {
	d, ok := s.desk(c)
	if !ok {
		return
	}
	var req WebhookRequest
	if !s.decodeJSON(c, &req) {
		return
	}
	rc, err := d.SetPushURL(actor(c), strings.TrimSpace(req.WebhookURL))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, WebhookRequest{WebhookURL: rc.WebhookURL})
}

// putProvider godoc
//
//	@Summary		Register a hosting provider
//	@ID			putProvider
//	@Description	The domains (subdomains included) and IP ranges an organisation of kind hosting_provider hosts, and where its notices go: a webhook, an abuse email address, or both. Registering again replaces the registration. Admins only: a provider naming its own domains could divert others' notices.
//	@Tags			notices
//	@Accept			json
//	@Produce		json
//	@Security		Bearer
//	@Param			Idempotency-Key	header		string				false	"makes retries safe"
//	@Param			body			body		reports.Provider	true	"registration (name, jurisdiction and updated are set by the node)"
//	@Success		201				{object}	reports.Provider
//	@Failure		400,401,403,413,415,422	{object}	Problem
//	@Router			/v1/providers [post]
func (s *Server) putProvider(c *gin.Context) {
	d, ok := s.desk(c)
	if !ok {
		return
	}
	var p reports.Provider
	if !s.decodeJSON(c, &p) {
		return
	}
	out, err := d.PutProvider(replayable(c, providerPut), p)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(providerPut(out))
}

func providerPut(p *reports.Provider) (int, any) { return http.StatusCreated, p }

// ProviderList is every registered hosting provider.
type ProviderList struct {
	Providers []reports.Provider `json:"providers"`
} // @name ProviderList

// listProviders godoc
//
//	@Summary	List registered hosting providers
//	@ID		listProviders
//	@Tags		notices
//	@Produce	json
//	@Security	Bearer
//	@Success	200	{object}	ProviderList
//	@Failure	401,403	{object}	Problem
//	@Router		/v1/providers [get]
func (s *Server) listProviders(c *gin.Context) {
	d, ok := s.desk(c)
	if !ok {
		return
	}
	ps, err := d.Providers()
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, ProviderList{Providers: ps})
}

// getProvider godoc
//
//	@Summary	Read a hosting provider's registration (a provider reads its own)
//	@ID		getProvider
//	@Tags		notices
//	@Produce	json
//	@Security	Bearer
//	@Param		org	path		string	true	"organisation id"
//	@Success	200	{object}	reports.Provider
//	@Failure	401,403,404	{object}	Problem
//	@Router		/v1/providers/{org} [get]
func (s *Server) getProvider(c *gin.Context) {
	d, ok := s.desk(c)
	if !ok {
		return
	}
	p, err := d.Provider(actor(c), c.Param("org"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, p)
}

// NoticePage is a page of takedown notices.
type NoticePage struct {
	Notices    []reports.Notice `json:"notices"`
	NextCursor string           `json:"next_cursor,omitempty"`
} // @name NoticePage

// listNotices godoc
//
//	@Summary		List takedown notices
//	@ID			listNotices
//	@Description	A hosting provider sees only its own notices; an admin sees all (for dead letters and escalations).
//	@Tags			notices
//	@Produce		json
//	@Security		Bearer
//	@Param			status	query		string	false	"queued, sent, acknowledged, removed, disputed, failed or held"
//	@Param			cursor	query		string	false	"next_cursor of the previous page"
//	@Param			limit	query		int		false	"page size (1–1000)"
//	@Success		200		{object}	NoticePage
//	@Failure		401,403,422	{object}	Problem
//	@Router			/v1/notices [get]
func (s *Server) listNotices(c *gin.Context) {
	d, ok := s.desk(c)
	if !ok {
		return
	}
	limit, ok := s.page(c)
	if !ok {
		return
	}
	ns, err := d.Notices(actor(c), hub.NoticeFilter{Status: c.Query("status"), After: c.Query("cursor"), Limit: limit})
	if err != nil {
		s.fail(c, err)
		return
	}
	p := NoticePage{Notices: ns}
	if len(ns) == limit {
		p.NextCursor = ns[len(ns)-1].ID
	}
	c.JSON(http.StatusOK, p)
}

// getNotice godoc
//
//	@Summary		Read a takedown notice
//	@ID			getNotice
//	@Description	Its provider, an admin, or an analyst of the reporting organisation; anyone else finds nothing (404). The notice carries the hosting evidence and its status history.
//	@Tags			notices
//	@Produce		json
//	@Security		Bearer
//	@Param			id	path		string	true	"notice id"
//	@Success		200	{object}	reports.Notice
//	@Failure		401,403,404	{object}	Problem
//	@Router			/v1/notices/{id} [get]
func (s *Server) getNotice(c *gin.Context) {
	d, ok := s.desk(c)
	if !ok {
		return
	}
	n, err := d.Notice(actor(c), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, n)
}

// StatusRequest updates a notice's status.
type StatusRequest struct {
	Status string `json:"status" example:"removed" enums:"acknowledged,removed,disputed"`
	Note   string `json:"note,omitempty" example:"removed at 12:00 UTC"`
} // @name StatusRequest

// setNoticeStatus godoc
//
//	@Summary		Update a notice's status
//	@ID			setNoticeStatus
//	@Description	The provider acknowledges, reports removal, or disputes with a reason; an analyst of the reporting organisation may confirm removal. Removal is never checked by fetching the URL.
//	@Tags			notices
//	@Accept			json
//	@Produce		json
//	@Security		Bearer
//	@Param			id		path		string			true	"notice id"
//	@Param			body	body		StatusRequest	true	"new status"
//	@Success		200		{object}	reports.Notice
//	@Failure		400,401,403,404,409,413,415,422	{object}	Problem
//	@Router			/v1/notices/{id}/status [post]
func (s *Server) setNoticeStatus(c *gin.Context) {
	d, ok := s.desk(c)
	if !ok {
		return
	}
	var req StatusRequest
	if !s.decodeJSON(c, &req) {
		return
	}
	n, err := d.SetStatus(actor(c), c.Param("id"), req.Status, strings.TrimSpace(req.Note))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, n)
}

// TakedownStats are the takedown figures per provider.
type TakedownStats struct {
	Providers []reports.ProviderStats `json:"providers"`
} // @name TakedownStats

// takedownStats godoc
//
//	@Summary		Takedown figures per hosting provider
//	@ID			getTakedownStats
//	@Description	Time to acknowledgement and to removal (median, seconds; time held by law enforcement excluded) and the share of sent notices removed within 24 hours, 3 days and 7 days. A provider sees its own figures.
//	@Tags			notices
//	@Produce		json
//	@Security		Bearer
//	@Success		200	{object}	TakedownStats
//	@Failure		401,403	{object}	Problem
//	@Router			/v1/takedown-stats [get]
func (s *Server) takedownStats(c *gin.Context) {
	d, ok := s.desk(c)
	if !ok {
		return
	}
	st, err := d.Stats(actor(c))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, TakedownStats{Providers: st})
}

// OutboxState is the background delivery queue.
type OutboxState struct {
	Pending int              `json:"pending"`
	Dead    []hub.DeadLetter `json:"dead"`
} // @name OutboxState

// outboxState godoc
//
//	@Summary	Pending outbox jobs and dead letters
//	@ID		getOutbox
//	@Tags		notices
//	@Produce	json
//	@Security	Bearer
//	@Success	200	{object}	OutboxState
//	@Failure	401,403	{object}	Problem
//	@Router		/v1/outbox [get]
func (s *Server) outboxState(c *gin.Context) {
	d, ok := s.desk(c)
	if !ok {
		return
	}
	pending, dead, err := d.Outbox()
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, OutboxState{Pending: pending, Dead: dead})
}

func uitoa(n uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// takedownCollector exposes the takedown figures to Prometheus, computed
// at scrape time from the notices.
type takedownCollector struct{ desk *hub.Reports }

var (
	descNotices = prometheus.NewDesc("hashhub_notices", "Takedown notices by provider and status.", []string{"provider", "status"}, nil)
	descAck     = prometheus.NewDesc("hashhub_notice_ack_seconds_median", "Median time from first delivery to acknowledgement, per provider.", []string{"provider"}, nil)
	descRemoval = prometheus.NewDesc("hashhub_notice_removal_seconds_median", "Median time from first delivery to removal (hold time excluded), per provider.", []string{"provider"}, nil)
	descWithin  = prometheus.NewDesc("hashhub_notice_removed_within_ratio", "Share of sent notices removed within a window, per provider.", []string{"provider", "window"}, nil)
	descPending = prometheus.NewDesc("hashhub_outbox_pending", "Jobs waiting in the outbox.", nil, nil)
	descDead    = prometheus.NewDesc("hashhub_outbox_dead", "Dead letters in the outbox.", nil, nil)
	descNoRoute = prometheus.NewDesc("hashhub_reports_unrouted", "Reports with a URL that found no destination (no peer, no fallback): GET /v1/reports/unrouted.", nil, nil)
)

func (t *takedownCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descNotices, descAck, descRemoval, descWithin, descPending, descDead, descNoRoute} {
		ch <- d
	}
}

func (t *takedownCollector) Collect(ch chan<- prometheus.Metric) {
	st, err := t.desk.Stats(hub.Actor{Role: orgs.Admin})
	if err == nil {
		for _, p := range st {
			for status, n := range map[string]int{"sent": p.Sent, "acknowledged": p.Acknowledged, "removed": p.Removed,
				"disputed": p.Disputed, "failed": p.Failed, "held": p.Held, "all": p.Notices} {
				ch <- prometheus.MustNewConstMetric(descNotices, prometheus.GaugeValue, float64(n), p.Provider, status)
			}
			ch <- prometheus.MustNewConstMetric(descAck, prometheus.GaugeValue, p.MedianAckSeconds, p.Provider)
			ch <- prometheus.MustNewConstMetric(descRemoval, prometheus.GaugeValue, p.MedianRemovalSec, p.Provider)
			ch <- prometheus.MustNewConstMetric(descWithin, prometheus.GaugeValue, p.Within24h, p.Provider, "24h")
			ch <- prometheus.MustNewConstMetric(descWithin, prometheus.GaugeValue, p.Within3d, p.Provider, "3d")
			ch <- prometheus.MustNewConstMetric(descWithin, prometheus.GaugeValue, p.Within7d, p.Provider, "7d")
		}
	}
	if pending, dead, err := t.desk.Outbox(); err == nil {
		ch <- prometheus.MustNewConstMetric(descPending, prometheus.GaugeValue, float64(pending))
		ch <- prometheus.MustNewConstMetric(descDead, prometheus.GaugeValue, float64(len(dead)))
	}
	if n, err := t.desk.UnroutedCount(); err == nil {
		ch <- prometheus.MustNewConstMetric(descNoRoute, prometheus.GaugeValue, float64(n))
	}
}

// SetReports attaches the report desk (the node builds it after the
// server, since its worker reports to the server's metrics).
func (s *Server) SetReports(d *hub.Reports) {
	s.cfg.Reports = d
	if s.console != nil {
		s.console.SetReports(d)
	}
	s.metrics.reg.MustRegister(&takedownCollector{desk: d})
}
