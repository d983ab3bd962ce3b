package delivery

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hashhub/hashhub/jurisdiction"
	"github.com/hashhub/hashhub/reports"
)

// Identity is who the node says it is in notices: the XARF reporter and
// sender, the email From address, and where the provider updates status.
type Identity struct {
	NodeID string
	// Org is the organisation running the node.
	Org string
	// Email is the node's contact address (XARF contact, email From).
	Email string
	// Domain is the organisation's domain.
	Domain string
	// PublicURL is where the node's API answers, for the status link.
	PublicURL string
}

// Validate checks that the identity makes a valid XARF contact_info
// (reporter and sender): Domain a host name, Email a plain address, Org
// at most 200 characters. A node refuses to start with one that does not,
// rather than send notices a XARF parser refuses.
func (id Identity) Validate() error {
	if !ValidHostname(id.Domain) {
		return fmt.Errorf("domain %q: a host name such as hotline.example (letters, digits, hyphens; no label starting or ending with a hyphen)", id.Domain)
	}
	a, err := mail.ParseAddress(id.Email)
	if err != nil || a.Name != "" || a.Address != id.Email || !ValidHostname(id.Email[strings.LastIndexByte(id.Email, '@')+1:]) {
		return fmt.Errorf("contact_email %q: a plain address such as notices@hotline.example", id.Email)
	}
	if id.Org == "" || utf8.RuneCountInString(id.Org) > xarfMaxOrg {
		return fmt.Errorf("org: 1–%d characters", xarfMaxOrg)
	}
	return nil
}

// ValidHostname reports whether s is a DNS host name as JSON Schema's
// "hostname" format has it (RFC 1123): dot-separated labels of 1–63
// letters, digits and hyphens, no label starting or ending with a hyphen,
// at most 253 characters.
func ValidHostname(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			if c := l[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// XARF is the XARF v4 document of a notice (category content, type csam).
// It carries no evidence: only the URL, hashes and metadata.
type XARF struct {
	XARFVersion      string            `json:"xarf_version"`
	ReportID         string            `json:"report_id"`
	Timestamp        string            `json:"timestamp"`
	Reporter         XARFContact       `json:"reporter"`
	Sender           XARFContact       `json:"sender"`
	SourceIdentifier string            `json:"source_identifier"`
	Category         string            `json:"category"`
	Type             string            `json:"type"`
	URL              string            `json:"url"`
	Domain           string            `json:"domain,omitempty"`
	CountryCode      string            `json:"country_code,omitempty"`
	Classification   string            `json:"classification,omitempty"`
	DetectionMethod  string            `json:"detection_method"`
	HashValues       map[string]string `json:"hash_values,omitempty"`
	Description      string            `json:"description,omitempty"`
	Tags             []string          `json:"tags,omitempty"`
}

// XARFContact is XARF's contact_info.
type XARFContact struct {
	Org     string `json:"org"`
	Contact string `json:"contact"`
	Domain  string `json:"domain"`
}

// ErrNoXARFClassification is why a national notice carries no XARF part:
// XARF v4's csam classification (baseline, A1, A2, B1, B2) has a value
// for INTERPOL's baseline, and A1–B2 grade the child's age group and the
// act, which hashhub does not record. "Illegal under named national law"
// has no honest value there, and the schema requires one.
var ErrNoXARFClassification = errors.New("XARF v4 has no csam classification for material illegal only under national law")

// xarfDomainRE is the pattern of XARF v4's content "domain" (content-base
// schema), copied as it stands: no label with "--" (so no punycode xn--
// name), no digits in the top-level label, no IP address. A host that does
// not match is still named in source_identifier and url.
var xarfDomainRE = regexp.MustCompile(`^([a-z0-9]+(-[a-z0-9]+)*\.)+[a-z]{2,}$`)

// BuildXARF makes the XARF v4 document of a notice (content-csam, valid
// against the official schemas). A notice whose classification XARF cannot
// state gets ErrNoXARFClassification and no document.
func BuildXARF(id Identity, n *reports.Notice) (*XARF, error) {
	if n.Classification.Category != "baseline" {
		return nil, ErrNoXARFClassification
	}
	host := reports.Host(n.URL)
	x := &XARF{
		XARFVersion: "4.0.0", ReportID: n.XARFID, Timestamp: n.ObservedAt.UTC().Format(time.RFC3339),
		Reporter:         XARFContact{Org: clip(orDefault(n.ReporterName, id.Org), xarfMaxOrg), Contact: id.Email, Domain: id.Domain},
		Sender:           XARFContact{Org: clip(id.Org, xarfMaxOrg), Contact: id.Email, Domain: id.Domain},
		SourceIdentifier: host, Category: "content", Type: "csam", URL: URI(n.URL),
		Classification:  "baseline",
		Description:     "Child sexual abuse material by INTERPOL's baseline criteria, illegal everywhere.",
		DetectionMethod: n.Detection,
		Tags:            []string{"hashhub:" + n.ID},
	}
	if xarfDomainRE.MatchString(host) {
		x.Domain = host
	}
	if n.Evidence != nil && jurisdiction.Valid(n.Evidence.Jurisdiction) {
		x.CountryCode = n.Evidence.Jurisdiction
	}
	for _, h := range n.Hashes {
		switch h.Algo {
		case "md5", "sha1", "sha256", "photodna":
			if x.HashValues == nil {
				x.HashValues = map[string]string{}
			}
			if _, ok := x.HashValues[h.Algo]; !ok {
				x.HashValues[h.Algo] = h.Value
			}
		}
	}
	return x, nil
}

// URI returns a normalised report URL as an RFC 3986 URI: the query (and
// path and fragment) keep every character RFC 3986 allows and valid
// %-escapes, and every other byte (", <, >, \, ^, `, {, |, }, non-ASCII)
// is %-escaped, which names the same resource. Go's url package keeps a
// query as it came, so a reported URL can hold them; XARF's url is
// format "uri" and refuses them. A non-ASCII host is %-escaped the same
// way (RFC 3986 reg-name).
func URI(normalized string) string {
	u, err := url.Parse(normalized)
	if err != nil || u.Opaque != "" {
		return normalized
	}
	var b strings.Builder
	b.WriteString(u.Scheme + "://")
	hostExtra := ":"
	if strings.HasPrefix(u.Host, "[") {
		hostExtra = ":[]" // an IPv6 literal
	}
	b.WriteString(escapeURIPart(u.Host, hostExtra))
	b.WriteString(escapeURIPart(u.EscapedPath(), ":@/"))
	if u.ForceQuery || u.RawQuery != "" {
		b.WriteString("?" + escapeURIPart(u.RawQuery, ":@/?"))
	}
	if u.Fragment != "" {
		b.WriteString("#" + escapeURIPart(u.EscapedFragment(), ":@/?"))
	}
	return b.String()
}

// escapeURIPart %-escapes every byte of s that is neither RFC 3986
// unreserved, a sub-delim, one of extra, nor part of a valid %-escape.
func escapeURIPart(s, extra string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			strings.IndexByte("-._~!$&'()*+,;=", c) >= 0, strings.IndexByte(extra, c) >= 0:
			b.WriteByte(c)
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// xarfMaxOrg is XARF's maxLength of contact_info.org, in characters. Our
// own organisation names are shorter, but a forwarded report names an
// organisation of another node.
const xarfMaxOrg = 200

func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

func orDefault(s, d string) string {
	if strings.TrimSpace(s) == "" {
		return d
	}
	return s
}

// WebhookNotice is the body of a notice webhook.
type WebhookNotice struct {
	Type   string        `json:"type"` // "takedown_notice"
	Notice NoticeSummary `json:"notice"`
	XARF   *XARF         `json:"xarf,omitempty"`
	// XARFOmitted says why a notice has no XARF document.
	XARFOmitted string          `json:"xarf_omitted,omitempty"`
	StatusURL   string          `json:"status_url"`
	Send        int             `json:"send"`
	Escalation  int             `json:"escalation"`
	Evidence    json.RawMessage `json:"hosting_evidence,omitempty"`
}

// NoticeSummary is what a provider needs to act on a notice.
type NoticeSummary struct {
	ID             string                 `json:"id"`
	URL            string                 `json:"url"`
	Urgent         bool                   `json:"urgent"`
	Classification reports.Classification `json:"classification"`
	ObservedAt     time.Time              `json:"observed_at"`
	Created        time.Time              `json:"created"`
}

// NoticeBody builds the webhook body of a notice's send-th delivery.
func NoticeBody(id Identity, n *reports.Notice, send int) ([]byte, error) {
	ev, err := json.Marshal(n.Evidence)
	if err != nil {
		return nil, err
	}
	wn := WebhookNotice{
		Type: "takedown_notice",
		Notice: NoticeSummary{ID: n.ID, URL: n.URL, Urgent: n.Urgent, Classification: n.Classification,
			ObservedAt: n.ObservedAt, Created: n.Created},
		StatusURL: statusURL(id, n), Send: send, Escalation: n.Escalation, Evidence: ev,
	}
	if wn.XARF, err = BuildXARF(id, n); err != nil {
		wn.XARFOmitted = err.Error()
	}
	return json.Marshal(wn)
}

func statusURL(id Identity, n *reports.Notice) string {
	return strings.TrimSuffix(id.PublicURL, "/") + "/v1/notices/" + n.ID + "/status"
}

// Mailer sends notices by SMTP.
type Mailer struct {
	// Addr is the SMTP relay, host:port. STARTTLS is used when offered.
	Addr string
	// Auth, when set, authenticates to the relay.
	Auth smtp.Auth
	Now  func() time.Time
}

// Send delivers the send-th email of a notice to n.Email.
func (m *Mailer) Send(id Identity, n *reports.Notice, send int, idemKey string) error {
	msg, err := NoticeEmail(id, n, send, idemKey, m.now())
	if err != nil {
		return &Permanent{err}
	}
	return smtp.SendMail(m.Addr, m.Auth, id.Email, []string{n.Email}, msg)
}

func (m *Mailer) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// NoticeEmail builds the MIME message of a notice: a plain-text part a
// person reads and a machine-readable XARF v4 JSON part (xarf.json) when
// XARF can state the notice's classification (the text says why not
// otherwise). Nothing else is attached: never evidence.
func NoticeEmail(id Identity, n *reports.Notice, send int, idemKey string, now time.Time) ([]byte, error) {
	var x []byte
	doc, xerr := BuildXARF(id, n)
	if xerr == nil {
		var err error
		if x, err = json.MarshalIndent(doc, "", "  "); err != nil {
			return nil, err
		}
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	host := reports.Host(n.URL)
	subject := fmt.Sprintf("Takedown notice %s: child sexual abuse material at %s", n.ID, host)
	if send > 1 {
		subject = fmt.Sprintf("Reminder %d: %s", send-1, subject)
	}
	if n.Urgent {
		subject = "URGENT " + subject
	}
	hdr := []string{
		"From: " + (&mailAddress{id.Org, id.Email}).String(),
		"To: " + n.Email,
		"Subject: " + mime.QEncoding.Encode("utf-8", subject),
		"Date: " + now.UTC().Format(time.RFC1123Z),
		"Message-ID: <" + strings.ReplaceAll(idemKey, "/", ".") + "@" + id.NodeID + ".hashhub>",
		"MIME-Version: 1.0",
		"Auto-Submitted: auto-generated",
		"X-Hashhub-Notice: " + n.ID,
		"X-Hashhub-Idempotency-Key: " + idemKey,
		"Content-Type: multipart/mixed; boundary=\"" + mw.Boundary() + "\"",
	}
	buf.WriteString(strings.Join(hdr, "\r\n") + "\r\n\r\n")

	tp, err := mw.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {"text/plain; charset=utf-8"},
		"Content-Transfer-Encoding": {"quoted-printable"},
	})
	if err != nil {
		return nil, err
	}
	qp := quotedprintable.NewWriter(tp)
	if _, err := qp.Write([]byte(plainText(id, n, send, x != nil))); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	if x != nil {
		jp, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {"application/json; charset=utf-8"},
			"Content-Disposition":       {`attachment; filename="xarf.json"`},
			"Content-Transfer-Encoding": {"base64"},
		})
		if err != nil {
			return nil, err
		}
		enc := base64.StdEncoding.EncodeToString(x)
		for len(enc) > 76 {
			fmt.Fprintf(jp, "%s\r\n", enc[:76])
			enc = enc[76:]
		}
		fmt.Fprintf(jp, "%s\r\n", enc)
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	// SMTP wants CRLF line ends throughout.
	return bytes.ReplaceAll(bytes.ReplaceAll(buf.Bytes(), []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\r\n")), nil
}

type mailAddress struct{ name, addr string }

func (a *mailAddress) String() string {
	if a.name == "" {
		return "<" + a.addr + ">"
	}
	return mime.QEncoding.Encode("utf-8", a.name) + " <" + a.addr + ">"
}

func plainText(id Identity, n *reports.Notice, send int, withXARF bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "This is a takedown notice from %s (hashhub node %s).\n\n", id.Org, id.NodeID)
	if send > 1 {
		fmt.Fprintf(&b, "REMINDER %d: this notice was first sent earlier and the material has not been reported removed.\n\n", send-1)
	}
	fmt.Fprintf(&b, "A report names the following URL on your service as hosting child sexual abuse material:\n\n  %s\n\n", n.URL)
	switch n.Classification.Category {
	case "baseline":
		b.WriteString("Classification: baseline (illegal everywhere, INTERPOL baseline criteria)")
	default:
		b.WriteString("Classification: illegal under the law of " + strings.Join(n.Classification.Jurisdictions, ", "))
	}
	if n.Classification.Severity != "" {
		b.WriteString(", severity " + n.Classification.Severity)
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "Observed: %s\nDetected by: %s\n", n.ObservedAt.UTC().Format(time.RFC3339), strings.ReplaceAll(n.Detection, "_", " "))
	if n.Urgent {
		b.WriteString("Urgent: yes — please act at once.\n")
	}
	fmt.Fprintf(&b, "Notice id: %s\n\n", n.ID)
	b.WriteString("Please remove or disable access to the material and preserve any related data for law enforcement.\n")
	b.WriteString("Do not forward or download the material. No evidence is attached to this message.\n\n")
	fmt.Fprintf(&b, "When you have acted, confirm removal (or dispute the notice with a reason) at:\n  %s\n", statusURL(id, n))
	fmt.Fprintf(&b, "or reply to %s quoting the notice id.\n\n", id.Email)
	if withXARF {
		b.WriteString("The attached xarf.json is the same notice in XARF v4 (category content, type csam).\n")
	} else {
		b.WriteString("No xarf.json is attached: XARF v4's csam classification (baseline, A1, A2, B1, B2) has no value\n" +
			"for material illegal only under national law, and this notice does not guess one.\n")
	}
	return b.String()
}
