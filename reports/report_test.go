package reports_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hashhub/hashhub/reports"
)

func TestNormalizeURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://Example.ORG/Path?q=1#f": "https://example.org/Path?q=1#f",
		"HTTP://x.example:8080/a":        "http://x.example:8080/a",
		"https://[2001:db8::1]/x":        "https://[2001:db8::1]/x",
	} {
		got, err := reports.NormalizeURL(in)
		if err != nil || got != want {
			t.Errorf("%q: %q %v, want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{
		"data:image/png;base64,AAAA", "file:///etc/passwd", "javascript:alert(1)", "ftp://x.example/a",
		"//x.example/a", "https:///a", "https://u:p@x.example/", "https://x.example/a b", "https://x.example/\x00",
		"https://" + strings.Repeat("a", reports.MaxURLLen) + ".example/", "mailto:a@x.example", "https://x_y.example/",
		"http://]", "http://a]b.example/", "http://[192.0.2.1]/", "http://[x.example]/", "http://[::1/",
	} {
		if got, err := reports.NormalizeURL(bad); err == nil {
			t.Errorf("%q accepted as %q", bad, got)
		}
	}
}

func valid() *reports.Submission {
	return &reports.Submission{URLs: []string{"https://x.example/a"}, Classification: reports.Classification{Category: "national", Jurisdictions: []string{"nl", "be", "NL"}},
		Detection: "hash_match", Explanation: " Known hash.\nSecond line. ", ObservedAt: time.Now().Add(-time.Minute)}
}

func TestValidateNormalises(t *testing.T) {
	s := valid()
	if err := s.Validate(false, time.Now()); err != nil {
		t.Fatal(err)
	}
	if strings.Join(s.Classification.Jurisdictions, ",") != "BE,NL" || s.Explanation != "Known hash.\nSecond line." || s.ObservedAt.Location() != time.UTC {
		t.Fatalf("%+v", s)
	}
}

func TestValidateRefuses(t *testing.T) {
	now := time.Now()
	for name, tc := range map[string]struct {
		mut   func(*reports.Submission)
		peer  bool
		field string
	}{
		"duplicate URL":      {func(s *reports.Submission) { s.URLs = []string{"https://x.example/a", "HTTPS://X.example/a"} }, false, "urls[1]"},
		"too many URLs":      {func(s *reports.Submission) { s.URLs = make([]string, reports.MaxURLs+1) }, false, "urls"},
		"baseline with jurs": {func(s *reports.Submission) { s.Classification.Category = "baseline" }, false, "classification.jurisdictions"},
		"bad jurisdiction":   {func(s *reports.Submission) { s.Classification.Jurisdictions = []string{"EU"} }, false, "classification.jurisdictions"},
		"empty explanation":  {func(s *reports.Submission) { s.Explanation = "  " }, false, "explanation"},
		"bad ref":            {func(s *reports.Submission) { s.ReporterRef = "<script>" }, false, "reporter_ref"},
		"no observed time":   {func(s *reports.Submission) { s.ObservedAt = time.Time{} }, false, "observed_at"},
		"bad hosting jur":    {func(s *reports.Submission) { s.HostingJurisdiction = "XX1" }, false, "hosting_jurisdiction"},
		"peer without id":    {func(s *reports.Submission) {}, true, "id"},
		"peer without hops": {func(s *reports.Submission) {
			s.ID = "rep_0123456789abcdef0123456789abcdef"
		}, true, "hops"},
		"peer hop limit": {func(s *reports.Submission) {
			s.ID, s.Hops, s.HopLimit = "rep_0123456789abcdef0123456789abcdef", []string{"node-a"}, 99
		}, true, "hop_limit"},
		"peer without reporter": {func(s *reports.Submission) {
			s.ID, s.Hops, s.HopLimit = "rep_0123456789abcdef0123456789abcdef", []string{"node-a"}, 3
		}, true, "reporter"},
	} {
		s := valid()
		tc.mut(s)
		err := s.Validate(tc.peer, now)
		var fe *reports.FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field || !errors.Is(err, reports.ErrInvalid) {
			t.Errorf("%s: %v, want a field error on %s", name, err, tc.field)
		}
	}
}

func TestParseStrict(t *testing.T) {
	for name, body := range map[string]string{
		"unknown field": `{"urls":["https://x.example"],"media":"AAAA"}`,
		"two values":    `{} {}`,
		"array":         `[]`,
		"bad time":      `{"observed_at":"yesterday"}`,
		"not UTF-8":     "{\"explanation\":\"\xff\xfe\"}",
		"wrong type":    `{"urgent":"yes"}`,
	} {
		if _, err := reports.Parse([]byte(body)); !errors.Is(err, reports.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestNoticeTransitions(t *testing.T) {
	for _, tc := range []struct {
		from, to string
		ok       bool
	}{
		{reports.Sent, reports.Acknowledged, true}, {reports.Sent, reports.Removed, true}, {reports.Acknowledged, reports.Disputed, true},
		{reports.Held, reports.Removed, true}, {reports.Queued, reports.Removed, false}, {reports.Removed, reports.Acknowledged, false},
		{reports.Failed, reports.Removed, false}, {reports.Sent, reports.Failed, false}, {reports.Disputed, reports.Removed, false},
	} {
		if reports.CanSet(tc.from, tc.to) != tc.ok {
			t.Errorf("%s → %s: want %v", tc.from, tc.to, tc.ok)
		}
	}
}

// FuzzParse: the report decoder and validator take untrusted bytes; they
// return a report or a field error, never panic, and what they accept is
// text-only http(s) URLs.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"urls":["https://x.example/a"],"classification":{"category":"baseline"},"detection":"hash_match","explanation":"x","observed_at":"2026-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"urls":["data:image/png;base64,AAAA"],"hashes":[{"algo":"pdq","value":"00"}]}`))
	f.Add([]byte(`{"id":"rep_0123456789abcdef0123456789abcdef","hops":["a"],"hop_limit":2,"reporter":{"org_name":"x"}}`))
	f.Add([]byte("{\"explanation\":\"\\u0000\"}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := reports.Parse(b)
		if err != nil {
			if !errors.Is(err, reports.ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
			return
		}
		for _, peer := range []bool{false, true} {
			c := *s
			c.URLs = append([]string(nil), s.URLs...)
			if err := c.Validate(peer, time.Now()); err != nil {
				continue
			}
			for _, u := range c.URLs {
				if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
					t.Fatalf("accepted URL %q", u)
				}
			}
		}
	})
}
