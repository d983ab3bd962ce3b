package console

import (
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hashhub/hashhub/console/chart"
	"github.com/hashhub/hashhub/hub"
	"github.com/hashhub/hashhub/reports"
)

// Takedown tracking: the notices by provider and state with the overdue
// ones first, and how fast each provider removes, week by week, as a chart
// drawn on the server and the same figures in a table.

// ChartProviders caps the providers drawn in the chart (two lines each);
// the table lists every provider.
const ChartProviders = 6

type trendRow struct {
	Provider, Name, Week string
	Removed              int
	Median, P90          string
}

type takedownsView struct {
	Board    *hub.TakedownBoard
	Statuses []string
	Provider string
	Status   string
	Chart    template.HTML
	// Charted is how many providers the chart draws of Trended.
	Charted, Trended int
	Weeks            int
	Trend            []trendRow
	Deadline         string
	// Cols is the providers table's column count.
	Cols int
}

// takedowns shows the takedown board and the time-to-removal chart.
func (cn *Console) takedowns(c *gin.Context, s *Session) {
	d, ok := cn.desk(c, s)
	if !ok {
		return
	}
	a := s.Actor()
	f := hub.TakedownFilter{Provider: c.Query("provider"), Status: c.Query("status")}
	b, err := d.Takedowns(a, f)
	if err != nil {
		cn.deskError(c, s, err)
		return
	}
	trends, err := d.RemovalTrends(a, hub.DefaultTrendWeeks)
	if err != nil {
		cn.deskError(c, s, err)
		return
	}
	v := takedownsView{Board: b, Statuses: reports.NoticeStatuses, Provider: f.Provider, Status: f.Status,
		Weeks: hub.DefaultTrendWeeks, Trended: len(trends), Deadline: days(b.Deadline), Cols: len(reports.NoticeStatuses) + 3}
	for _, t := range trends {
		for _, w := range t.Weeks {
			if w.Removed > 0 {
				v.Trend = append(v.Trend, trendRow{Provider: t.Provider, Name: t.Name, Week: w.Start.Format("2006-01-02"),
					Removed: w.Removed, Median: hours(w.MedianSeconds), P90: hours(w.P90Seconds)})
			}
		}
	}
	svg, n, err := removalChart(trends, hub.DefaultTrendWeeks)
	if err != nil {
		cn.log.Error("console: takedown chart", "err", err)
		cn.Error(c, s, http.StatusInternalServerError, "Something went wrong on the node.")
		return
	}
	v.Chart, v.Charted = svg, n
	cn.Render(c, s, http.StatusOK, "takedowns", v)
}

// removalChart draws each provider's weekly median (solid) and 90th
// percentile (dashed) time to removal in hours, the providers with the
// most removals first, at most ChartProviders of them.
func removalChart(trends []hub.RemovalTrend, weeks int) (template.HTML, int, error) {
	removed := func(t hub.RemovalTrend) int {
		n := 0
		for _, w := range t.Weeks {
			n += w.Removed
		}
		return n
	}
	ts := slices.Clone(trends)
	slices.SortStableFunc(ts, func(x, y hub.RemovalTrend) int { return removed(y) - removed(x) })
	if len(ts) > ChartProviders {
		ts = ts[:ChartProviders]
	}
	l := &chart.Line{ID: "ttr", Title: "Time to removal by week",
		Desc: fmt.Sprintf("For each hosting provider, the median (solid line) and 90th percentile (dashed line) of the hours "+
			"from a notice's first delivery to its removal, for the notices removed in each of the last %d weeks "+
			"(weeks start on Monday, UTC; time held by law enforcement is not counted). The table below gives the same figures.", weeks),
		XLabel: "Week starting", YLabel: "Hours to removal", Unit: "h"}
	if len(ts) > 0 {
		for _, w := range ts[0].Weeks {
			l.XTicks = append(l.XTicks, w.Start.Format("2 Jan"))
		}
	} else {
		t := time.Now().UTC()
		start := time.Date(t.Year(), t.Month(), t.Day()-(int(t.Weekday())+6)%7, 0, 0, 0, 0, time.UTC) // Monday
		for i := weeks - 1; i >= 0; i-- {
			l.XTicks = append(l.XTicks, start.AddDate(0, 0, -7*i).Format("2 Jan"))
		}
	}
	for i, t := range ts {
		name := t.Name
		if name == "" {
			name = strings.TrimPrefix(t.Provider, "email:")
		}
		med := chart.Series{Name: name + " median", Colour: i}
		p90 := chart.Series{Name: name + " p90", Colour: i, Dashed: true}
		for _, w := range t.Weeks {
			ok := w.Removed > 0
			med.Points = append(med.Points, chart.Point{Y: w.MedianSeconds / 3600, OK: ok})
			p90.Points = append(p90.Points, chart.Point{Y: w.P90Seconds / 3600, OK: ok})
		}
		l.Series = append(l.Series, med, p90)
	}
	svg, err := l.SVG()
	return svg, len(ts), err
}

// hours writes seconds as hours with one decimal.
func hours(sec float64) string { return fmt.Sprintf("%.1f h", sec/3600) }

// overdue writes how long a notice is overdue, coarsely.
func overdue(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return coarse(d)
}

func init() {
	// The takedown and overview templates' helpers (kept here, beside the
	// pages that use them).
	funcs["overdue"] = overdue
	funcs["hours"] = hours
	funcs["count"] = func(m map[string]int, k string) int { return m[k] }
}
