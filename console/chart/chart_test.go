package chart

import (
	"encoding/xml"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
)

// svgDoc is what the tests read back from the drawn SVG.
type svgDoc struct {
	XMLName xml.Name `xml:"svg"`
	Role    string   `xml:"role,attr"`
	Labels  string   `xml:"aria-labelledby,attr"`
	Title   struct {
		ID   string `xml:"id,attr"`
		Text string `xml:",chardata"`
	} `xml:"title"`
	Desc struct {
		ID   string `xml:"id,attr"`
		Text string `xml:",chardata"`
	} `xml:"desc"`
	Texts  []svgText `xml:"text"`
	Groups []struct {
		Class  string    `xml:"class,attr"`
		Series string    `xml:"data-series,attr"`
		Texts  []svgText `xml:"text"`
		Lines  []struct {
			Points string `xml:"points,attr"`
			Dash   string `xml:"stroke-dasharray,attr"`
		} `xml:"polyline"`
		Circles []struct {
			CX    string `xml:"cx,attr"`
			CY    string `xml:"cy,attr"`
			Title string `xml:"title"`
		} `xml:"circle"`
	} `xml:"g"`
}

type svgText struct {
	Class string `xml:"class,attr"`
	Text  string `xml:",chardata"`
}

func draw(t *testing.T, c *Line) svgDoc {
	t.Helper()
	out, err := c.SVG()
	if err != nil {
		t.Fatal(err)
	}
	// Well-formed XML throughout (the decoder fails on any error).
	dec := xml.NewDecoder(strings.NewReader(string(out)))
	for {
		if _, err := dec.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, out)
		}
	}
	var d svgDoc
	if err := xml.Unmarshal([]byte(out), &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func weeks3() *Line {
	return &Line{ID: "ttr", Title: "Time to removal", Desc: "Median and p90 by week", XLabel: "Week", YLabel: "Hours",
		XTicks: []string{"W1", "W2", "W3"}, Unit: "h",
		Series: []Series{
			{Name: "Host A median", Points: []Point{{Y: 0, OK: true}, {Y: 5, OK: true}, {Y: 10, OK: true}}},
			{Name: "Host A p90", Dashed: true, Points: []Point{{Y: 1, OK: true}, {}, {Y: 3, OK: true}}},
		}}
}

func TestPointsWhereTheDataSays(t *testing.T) {
	d := draw(t, weeks3())
	if d.Role != "img" || d.Labels != "ttr-title ttr-desc" || d.Title.ID != "ttr-title" || d.Desc.ID != "ttr-desc" ||
		d.Title.Text != "Time to removal" || d.Desc.Text != "Median and p90 by week" {
		t.Fatalf("accessible name: %+v", d)
	}
	var labels []string
	for _, x := range d.Texts {
		labels = append(labels, x.Class+"="+x.Text)
	}
	if !strings.Contains(strings.Join(labels, ";"), "x-label=Week;y-label=Hours") {
		t.Fatalf("axis labels: %v", labels)
	}
	series := map[string]int{}
	for i, g := range d.Groups {
		if g.Class == "series" {
			series[g.Series] = i
		}
	}
	med, p90 := d.Groups[series["Host A median"]], d.Groups[series["Host A p90"]]
	// 720×320 with one legend row: plot x 64…704, y 16…244; y axis 0…10.
	want := [][2]string{{"64", "244"}, {"384", "130"}, {"704", "16"}}
	if len(med.Circles) != 3 {
		t.Fatalf("median circles %+v", med.Circles)
	}
	for i, c := range med.Circles {
		if c.CX != want[i][0] || c.CY != want[i][1] {
			t.Errorf("median point %d at (%s,%s), want (%s,%s)", i, c.CX, c.CY, want[i][0], want[i][1])
		}
	}
	if med.Circles[1].Title != "Host A median, W2: 5 h" {
		t.Errorf("point title %q", med.Circles[1].Title)
	}
	if len(med.Lines) != 1 || med.Lines[0].Points != "64,244 384,130 704,16" || med.Lines[0].Dash != "" {
		t.Errorf("median line %+v", med.Lines)
	}
	// The p90 series has a gap in W2: two runs, two points, dashed.
	if len(p90.Circles) != 2 || len(p90.Lines) != 2 || p90.Lines[0].Points != "64,221.2" || p90.Lines[1].Points != "704,175.6" || p90.Lines[0].Dash == "" {
		t.Errorf("p90 %+v", p90)
	}
	if len(p90.Texts) != 1 || p90.Texts[0].Text != "Host A p90" {
		t.Errorf("legend %+v", p90.Texts)
	}
}

func TestYAxisTicks(t *testing.T) {
	for _, c := range []struct {
		max  float64
		want []string
	}{
		{10, []string{"0", "2", "4", "6", "8", "10"}},
		{7, []string{"0", "2", "4", "6", "8"}},
		{0, []string{"0", "1"}},
		{0.3, []string{"0", "0.1", "0.2", "0.3"}},
		{170, []string{"0", "50", "100", "150", "200"}},
	} {
		l := &Line{ID: "c", XTicks: []string{"a"}, Series: []Series{{Name: "s", Points: []Point{{Y: c.max, OK: true}}}}}
		d := draw(t, l)
		var got []string
		for _, g := range d.Groups {
			if g.Class == "y-ticks" {
				for _, x := range g.Texts {
					got = append(got, x.Text)
				}
			}
		}
		if strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("max %v: ticks %v, want %v", c.max, got, c.want)
		}
	}
}

func TestTextIsEscaped(t *testing.T) {
	l := weeks3()
	l.Title = `</title><script>alert(1)</script>`
	l.Series[0].Name = `A & "B" <c>`
	d := draw(t, l)
	if d.Title.Text != l.Title {
		t.Fatalf("title %q", d.Title.Text)
	}
	found := false
	for _, g := range d.Groups {
		found = found || g.Series == l.Series[0].Name
	}
	if !found {
		t.Fatal("series name lost in escaping")
	}
}

func TestRefusesWhatCannotBeDrawn(t *testing.T) {
	for name, l := range map[string]*Line{
		"no x":      {ID: "c"},
		"short":     {ID: "c", XTicks: []string{"a", "b"}, Series: []Series{{Name: "s", Points: []Point{{Y: 1, OK: true}}}}},
		"negative":  {ID: "c", XTicks: []string{"a"}, Series: []Series{{Name: "s", Points: []Point{{Y: -1, OK: true}}}}},
		"NaN":       {ID: "c", XTicks: []string{"a"}, Series: []Series{{Name: "s", Points: []Point{{Y: math.NaN(), OK: true}}}}},
		"infinite":  {ID: "c", XTicks: []string{"a"}, Series: []Series{{Name: "s", Points: []Point{{Y: math.Inf(1), OK: true}}}}},
		"too small": {ID: "c", XTicks: []string{"a"}, Width: 50, Height: 50},
	} {
		if _, err := l.SVG(); !errors.Is(err, ErrBadChart) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestEmptySeriesStillDraws(t *testing.T) {
	d := draw(t, &Line{ID: "c", Title: "Nothing yet", XTicks: []string{"a", "b"}, Series: []Series{{Name: "s", Points: []Point{{}, {}}}}})
	for _, g := range d.Groups {
		if g.Class == "series" && (len(g.Circles) != 0 || len(g.Lines) != 0) {
			t.Fatalf("points drawn for no data: %+v", g)
		}
	}
}
