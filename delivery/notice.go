package delivery

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/netip"
	"net/smtp"
	"net/textproto"
	"strings"
	"time"

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

// BuildXARF makes the XARF v4 document of a notice. XARF's csam
// classification scale has "baseline" but nothing for "illegal under
// named national law": a national notice leaves classification out and
// says so in a tag and the description.
func BuildXARF(id Identity, n *reports.Notice) *XARF {
	host := reports.Host(n.URL)
	x := &XARF{
		XARFVersion: "4.0.0", ReportID: n.XARFID, Timestamp: n.ObservedAt.UTC().Format(time.RFC3339),
		Reporter:         XARFContact{Org: orDefault(n.ReporterName, id.Org), Contact: id.Email, Domain: id.Domain},
		Sender:           XARFContact{Org: id.Org, Contact: id.Email, Domain: id.Domain},
		SourceIdentifier: host, Category: "content", Type: "csam", URL: n.URL,
		DetectionMethod: n.Detection,
		Tags:            []string{"hashhub:" + n.ID},
	}
	if _, err := netip.ParseAddr(host); err != nil {
		x.Domain = host
	}
	if n.Evidence != nil && n.Evidence.Jurisdiction != "" {
		x.CountryCode = n.Evidence.Jurisdiction
	}
	switch n.Classification.Category {
	case "baseline":
		x.Classification = "baseline"
		x.Description = "Child sexual abuse material by INTERPOL's baseline criteria, illegal everywhere."
	case "national":
		x.Tags = append(x.Tags, "hashhub:national")
		x.Description = "Child sexual abuse material illegal under the law of " + strings.Join(n.Classification.Jurisdictions, ", ") + "."
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
	return x
}

func orDefault(s, d string) string {
	if strings.TrimSpace(s) == "" {
		return d
	}
	return s
}

// WebhookNotice is the body of a notice webhook.
type WebhookNotice struct {
	Type       string          `json:"type"` // "takedown_notice"
	Notice     NoticeSummary   `json:"notice"`
	XARF       *XARF           `json:"xarf"`
	StatusURL  string          `json:"status_url"`
	Send       int             `json:"send"`
	Escalation int             `json:"escalation"`
	Evidence   json.RawMessage `json:"hosting_evidence,omitempty"`
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
	return json.Marshal(WebhookNotice{
		Type: "takedown_notice",
		Notice: NoticeSummary{ID: n.ID, URL: n.URL, Urgent: n.Urgent, Classification: n.Classification,
			ObservedAt: n.ObservedAt, Created: n.Created},
		XARF: BuildXARF(id, n), StatusURL: statusURL(id, n), Send: send, Escalation: n.Escalation, Evidence: ev,
	})
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
// person reads and a machine-readable XARF v4 JSON part (xarf.json).
// Nothing else is attached: never evidence.
func NoticeEmail(id Identity, n *reports.Notice, send int, idemKey string, now time.Time) ([]byte, error) {
	x, err := json.MarshalIndent(BuildXARF(id, n), "", "  ")
	if err != nil {
		return nil, err
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
	if _, err := qp.Write([]byte(plainText(id, n, send))); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
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

func plainText(id Identity, n *reports.Notice, send int) string {
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
	b.WriteString("The attached xarf.json is the same notice in XARF v4 (category content, type csam).\n")
	return b.String()
}
