package console

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hashhub/hashhub/hub"
	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/reports"
)

// The law-enforcement pages: the reports inbox, a report with the notices
// it caused, acknowledging it and holding its takedown. Each read goes
// through the report desk with the session's Actor, so it is the API's
// read: the same organisations see a report, and every read is recorded
// in the audit chain.

// InboxPage is how many reports one inbox page shows.
const InboxPage = 50

// inboxPage is InboxPage, smaller in tests of the paging.
var inboxPage atomic.Int64

func init() { inboxPage.Store(InboxPage) }

// holdLayout is the datetime-local value of a hold's end, read as UTC.
const holdLayout = "2006-01-02T15:04"

// desk is the report desk, or an error page when the node runs without it.
func (cn *Console) desk(c *gin.Context, s *Session) (*hub.Reports, bool) {
	d := cn.Reports()
	if d == nil {
		cn.Error(c, s, http.StatusServiceUnavailable, "This node was started without its report desk: there are no reports here.")
		return nil, false
	}
	return d, true
}

// deskError shows a report desk's error as a page: not found for a
// report the organisation may not read (as the API: its existence does
// not leak), the reason for bad input, a plain 500 for anything else.
func (cn *Console) deskError(c *gin.Context, s *Session, err error) {
	var fe *reports.FieldError
	switch {
	case errors.Is(err, reports.ErrNotFound), errors.Is(err, reports.ErrNoticeGone):
		cn.Error(c, s, http.StatusNotFound, "There is no such report, or it was not given to your organisation.")
	case errors.Is(err, hub.ErrForbidden):
		cn.Error(c, s, http.StatusForbidden, "Your organisation's role may not do this.")
	case errors.As(err, &fe):
		cn.Error(c, s, http.StatusUnprocessableEntity, fe.Error())
	default:
		cn.log.Error("console: report desk", "err", err)
		cn.Error(c, s, http.StatusInternalServerError, "Something went wrong on the node.")
	}
}

type inboxRow struct {
	hub.InboxEntry
	Mine *reports.Forward // the hand-over to the viewer's organisation
}

type inboxView struct {
	Rows  []inboxRow
	After uint64
	// Next is the cursor of the next page (0: this is the last one).
	Next uint64
}

// inbox lists the reports handed to the session's organisation, oldest
// first, a page at a time after a cursor.
func (cn *Console) inbox(c *gin.Context, s *Session) {
	d, ok := cn.desk(c, s)
	if !ok {
		return
	}
	after, err := strconv.ParseUint(c.DefaultQuery("after", "0"), 10, 64)
	if err != nil {
		cn.Error(c, s, http.StatusBadRequest, "The page cursor is not a number.")
		return
	}
	size := int(inboxPage.Load())
	items, err := d.Inbox(s.Actor(), after, size)
	if err != nil {
		cn.deskError(c, s, err)
		return
	}
	v := inboxView{After: after}
	for _, it := range items {
		v.Rows = append(v.Rows, inboxRow{InboxEntry: it, Mine: forwardTo(it.Report, s.Org)})
	}
	if len(items) == size {
		v.Next = items[len(items)-1].Seq
	}
	cn.Render(c, s, http.StatusOK, "reports_inbox", v)
}

func forwardTo(rep *reports.Report, org string) *reports.Forward {
	for i := range rep.Forwards {
		if f := &rep.Forwards[i]; f.To == org && f.Kind != "peer" {
			return f
		}
	}
	return nil
}

type reportView struct {
	R       *reports.Report
	Notices []reports.Notice
	Mine    *reports.Forward
	// CanAck and CanHold say which forms the page offers.
	CanAck, CanHold bool
	// HoldMin and HoldMax bound the hold's end (datetime-local, UTC);
	// Until and Reason refill the form after an error, HoldError says it.
	HoldMin, HoldMax string
	Until, Reason    string
	HoldError        string
	MaxHold          string
	// HoldOrg names the organisation holding the takedown.
	HoldOrg string
}

// report shows one report, its routes, hand-overs, hold and notices.
func (cn *Console) report(c *gin.Context, s *Session) {
	cn.showReport(c, s, http.StatusOK, reportView{})
}

func (cn *Console) showReport(c *gin.Context, s *Session, status int, v reportView) {
	d, ok := cn.desk(c, s)
	if !ok {
		return
	}
	id := c.Param("id")
	a := s.Actor()
	rep, err := d.Get(a, id)
	if err != nil {
		cn.deskError(c, s, err)
		return
	}
	ns, err := d.ReportNotices(a, id)
	if err != nil {
		cn.deskError(c, s, err)
		return
	}
	now := d.Now()
	max := d.Config().MaxHold
	v.R, v.Notices, v.Mine = rep, ns, forwardTo(rep, s.Org)
	v.CanAck = v.Mine != nil && (s.Role == orgs.LawEnforcement || s.Role == orgs.Hotline)
	v.CanHold = v.Mine != nil && s.Role == orgs.LawEnforcement
	v.HoldMin, v.HoldMax = now.Add(time.Minute).Format(holdLayout), now.Add(max).Format(holdLayout)
	v.MaxHold = days(max)
	if rep.Hold != nil {
		v.HoldOrg = rep.Hold.Org
		for _, f := range rep.Forwards {
			if f.To == rep.Hold.Org && f.Name != "" {
				v.HoldOrg = f.Name
			}
		}
	}
	switch {
	case v.Until != "":
	case rep.Hold != nil && rep.Hold.Until.After(now):
		v.Until = rep.Hold.Until.Format(holdLayout)
	default:
		v.Until = now.Add(7 * 24 * time.Hour).Truncate(time.Minute).Format(holdLayout)
	}
	cn.Render(c, s, status, "reports_report", v)
}

// ackReport records that the session's organisation acknowledged a report
// handed to it.
func (cn *Console) ackReport(c *gin.Context, s *Session) {
	d, ok := cn.desk(c, s)
	if !ok {
		return
	}
	id := c.Param("id")
	if _, err := d.Ack(s.Actor(), id); err != nil {
		cn.deskError(c, s, err)
		return
	}
	cn.Flash(c, "Report acknowledged.")
	cn.Redirect(c, Prefix+"/reports/"+id)
}

// holdReport puts law enforcement's hold on a report's takedown: its
// notices wait until the hold ends. A bad reason or end redisplays the
// form with the reason the desk gave, and changes nothing.
func (cn *Console) holdReport(c *gin.Context, s *Session) {
	d, ok := cn.desk(c, s)
	if !ok {
		return
	}
	id := c.Param("id")
	reason := strings.TrimSpace(c.PostForm("reason"))
	raw := strings.TrimSpace(c.PostForm("until"))
	until, err := time.ParseInLocation(holdLayout, raw, time.UTC)
	if err != nil {
		err = &reports.FieldError{Field: "until", Reason: "a date and time such as 2026-03-10T12:00 (UTC)"}
	} else {
		_, err = d.Hold(s.Actor(), id, reason, until)
	}
	var fe *reports.FieldError
	if errors.As(err, &fe) {
		cn.showReport(c, s, http.StatusUnprocessableEntity, reportView{Until: raw, Reason: reason, HoldError: fe.Error()})
		return
	}
	if err != nil {
		cn.deskError(c, s, err)
		return
	}
	cn.Flash(c, "Takedown held until "+FormatTime(until)+".")
	cn.Redirect(c, Prefix+"/reports/"+id)
}

// days writes a duration in whole days (or hours below two days).
func days(d time.Duration) string {
	if d < 48*time.Hour {
		return fmt.Sprintf("%d hours", int(d.Hours()))
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}
