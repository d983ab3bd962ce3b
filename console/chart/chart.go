// Package chart draws small line charts as SVG on the server, for pages
// that must work without JavaScript: the console's takedown chart. The
// SVG is accessible on its own (role="img", a title and a description
// that say what it shows, labelled axes, a title on every point); pages
// put the same figures in a table beside it.
package chart

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
)

// Defaults of a chart's size, in SVG user units (CSS pixels at 100 %).
const (
	DefaultWidth  = 720
	DefaultHeight = 320
)

// Margins around the plot area: room for tick labels, axis titles and
// the legend.
const (
	marginLeft   = 64
	marginRight  = 16
	marginTop    = 16
	marginBottom = 56
	legendRow    = 20
	// legendCols is an even number, so that pairs of series (a median and
	// its p90) share a legend row.
	legendCols = 4
)

// Palette are the series' colours: dark enough on white for contrast
// (WCAG AA for the legend's text is on the text, which stays black), and
// told apart by dash pattern as well as by colour.
var Palette = []string{"#1f5aa6", "#b3401a", "#2d7a2d", "#6b3fa0", "#8a6d00", "#006d75"}

// Line is a line chart over a row of labelled x positions (weeks, days).
type Line struct {
	// ID prefixes the ids of the title and description (unique per page).
	ID    string
	Title string
	// Desc says in words what the chart shows (screen readers read it).
	Desc   string
	XLabel string
	YLabel string
	// XTicks labels each x position, left to right.
	XTicks []string
	Series []Series
	// Unit follows each value in the points' titles ("h").
	Unit          string
	Width, Height int
}

// Series is one line: a value (or none) at each x position.
type Series struct {
	Name   string
	Dashed bool
	// Colour picks the series' colour from Palette (modulo its length):
	// the median and p90 of one provider share a colour and differ by
	// dash.
	Colour int
	Points []Point
}

// Point is a value at one x position; OK false leaves a gap.
type Point struct {
	Y  float64
	OK bool
}

// Errors of a chart that cannot be drawn.
var ErrBadChart = errors.New("chart cannot be drawn")

type svgPoint struct {
	X, Y   string
	Series string
	XLabel string
	Value  string
}

type svgSeries struct {
	Name     string
	Color    string
	Dash     string
	Lines    []string // the points attribute of each run without gaps
	Points   []svgPoint
	LegendX  int
	LegendX2 int
	LegendY  int
	LegendTX int
}

type svgTick struct {
	Pos   string
	Label string
}

type view struct {
	ID, Title, Desc, XLabel, YLabel string
	Width, Height                   int
	Left, Right, Top, Bottom        int
	MidX, MidY, XLabelY             int
	YTickX, XTickY                  int
	XTicks, YTicks                  []svgTick
	Series                          []svgSeries
}

// SVG draws the chart. Values must be finite and not negative (times,
// counts); the y axis starts at 0.
func (c *Line) SVG() (template.HTML, error) {
	if len(c.XTicks) == 0 {
		return "", fmt.Errorf("%w: no x positions", ErrBadChart)
	}
	w, h := c.Width, c.Height
	if w <= 0 {
		w = DefaultWidth
	}
	if h <= 0 {
		h = DefaultHeight
	}
	top := marginTop
	legendRows := (len(c.Series) + legendCols - 1) / legendCols
	bottom := h - marginBottom - legendRows*legendRow
	left, right := marginLeft, w-marginRight
	if bottom-top < 40 || right-left < 40 {
		return "", fmt.Errorf("%w: %d×%d is too small", ErrBadChart, w, h)
	}
	ymax := 0.0
	for _, s := range c.Series {
		if len(s.Points) != len(c.XTicks) {
			return "", fmt.Errorf("%w: series %q has %d points for %d x positions", ErrBadChart, s.Name, len(s.Points), len(c.XTicks))
		}
		for _, p := range s.Points {
			if !p.OK {
				continue
			}
			if math.IsNaN(p.Y) || math.IsInf(p.Y, 0) || p.Y < 0 {
				return "", fmt.Errorf("%w: series %q has the value %v", ErrBadChart, s.Name, p.Y)
			}
			ymax = max(ymax, p.Y)
		}
	}
	step := niceStep(ymax)
	ytop := step * max(1, math.Ceil(ymax/step))
	yOf := func(v float64) float64 { return float64(bottom) - v/ytop*float64(bottom-top) }
	xOf := func(i int) float64 {
		if len(c.XTicks) == 1 {
			return float64(left+right) / 2
		}
		return float64(left) + float64(i)*float64(right-left)/float64(len(c.XTicks)-1)
	}
	v := view{ID: c.ID, Title: c.Title, Desc: c.Desc, XLabel: c.XLabel, YLabel: c.YLabel,
		Width: w, Height: h, Left: left, Right: right, Top: top, Bottom: bottom,
		MidX: (left + right) / 2, MidY: (top + bottom) / 2, XLabelY: bottom + 36,
		YTickX: left - 6, XTickY: bottom + 18}
	for i, l := range c.XTicks {
		v.XTicks = append(v.XTicks, svgTick{Pos: num(xOf(i)), Label: l})
	}
	for y := 0.0; y <= ytop+step/2; y += step {
		v.YTicks = append(v.YTicks, svgTick{Pos: num(yOf(y)), Label: num(y)})
	}
	for si, s := range c.Series {
		ss := svgSeries{Name: s.Name, Color: Palette[(s.Colour%len(Palette)+len(Palette))%len(Palette)]}
		if s.Dashed {
			ss.Dash = "6 4"
		}
		var run []string
		for i, p := range s.Points {
			if !p.OK {
				if len(run) > 0 {
					ss.Lines = append(ss.Lines, strings.Join(run, " "))
				}
				run = nil
				continue
			}
			x, y := num(xOf(i)), num(yOf(p.Y))
			run = append(run, x+","+y)
			ss.Points = append(ss.Points, svgPoint{X: x, Y: y, Series: s.Name, XLabel: c.XTicks[i], Value: num(p.Y) + " " + c.Unit})
		}
		if len(run) > 0 {
			ss.Lines = append(ss.Lines, strings.Join(run, " "))
		}
		col, row := si%legendCols, si/legendCols
		ss.LegendX = left + col*(right-left)/legendCols
		ss.LegendY = bottom + 48 + row*legendRow
		ss.LegendX2 = ss.LegendX + 22
		ss.LegendTX = ss.LegendX + 28
		v.Series = append(v.Series, ss)
	}
	var b bytes.Buffer
	if err := svgTmpl.Execute(&b, v); err != nil {
		return "", err
	}
	return template.HTML(b.String()), nil // built from escaped values only
}

// niceStep is a round tick step (1, 2 or 5 × 10ⁿ) that covers max in
// at most five steps.
func niceStep(max float64) float64 {
	if max <= 0 {
		return 1
	}
	raw := max / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			return m * mag
		}
	}
	return 10 * mag
}

// num formats a coordinate or value briefly (at most two decimals).
func num(f float64) string {
	return strconv.FormatFloat(math.Round(f*100)/100, 'f', -1, 64)
}

var svgTmpl = template.Must(template.New("svg").Parse(`<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {{.Width}} {{.Height}}" width="{{.Width}}" height="{{.Height}}" aria-labelledby="{{.ID}}-title {{.ID}}-desc">
<title id="{{.ID}}-title">{{.Title}}</title>
<desc id="{{.ID}}-desc">{{.Desc}}</desc>
<g class="axes" stroke="#444" stroke-width="1">
<line x1="{{.Left}}" y1="{{.Bottom}}" x2="{{.Right}}" y2="{{.Bottom}}"/>
<line x1="{{.Left}}" y1="{{.Top}}" x2="{{.Left}}" y2="{{.Bottom}}"/>
</g>
<g class="y-ticks" font-size="12" fill="#222" text-anchor="end">
{{- range .YTicks}}
<line x1="{{$.Left}}" y1="{{.Pos}}" x2="{{$.Right}}" y2="{{.Pos}}" stroke="#ddd" stroke-width="1"/>
<text x="{{$.YTickX}}" y="{{.Pos}}" dy="4">{{.Label}}</text>
{{- end}}
</g>
<g class="x-ticks" font-size="12" fill="#222" text-anchor="middle">
{{- range .XTicks}}
<text x="{{.Pos}}" y="{{$.XTickY}}">{{.Label}}</text>
{{- end}}
</g>
<text class="x-label" x="{{.MidX}}" y="{{.XLabelY}}" font-size="13" fill="#222" text-anchor="middle">{{.XLabel}}</text>
<text class="y-label" x="14" y="{{.MidY}}" font-size="13" fill="#222" text-anchor="middle" transform="rotate(-90 14 {{.MidY}})">{{.YLabel}}</text>
{{- range .Series}}
<g class="series" data-series="{{.Name}}" stroke="{{.Color}}" fill="{{.Color}}">
{{- $s := .}}
{{- range .Lines}}
<polyline points="{{.}}" fill="none" stroke-width="2"{{if $s.Dash}} stroke-dasharray="{{$s.Dash}}"{{end}}/>
{{- end}}
{{- range .Points}}
<circle cx="{{.X}}" cy="{{.Y}}" r="3.5"><title>{{.Series}}, {{.XLabel}}: {{.Value}}</title></circle>
{{- end}}
<line x1="{{.LegendX}}" y1="{{.LegendY}}" x2="{{.LegendX2}}" y2="{{.LegendY}}" stroke-width="2"{{if .Dash}} stroke-dasharray="{{.Dash}}"{{end}}/>
<text x="{{.LegendTX}}" y="{{.LegendY}}" dy="4" font-size="12" fill="#222" stroke="none">{{.Name}}</text>
</g>
{{- end}}
</svg>`))
