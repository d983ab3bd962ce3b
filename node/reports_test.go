package node

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReportSettingsIdentity: the node's identity in notices (the XARF
// reporter and sender) must be valid XARF contact_info, so a node with a
// domain or contact address XARF refuses does not start, and one whose
// id makes no host name gets a valid default domain.
func TestReportSettingsIdentity(t *testing.T) {
	for _, c := range []struct{ id, settings, wantErr string }{
		{"node-a", `{"domain": "hotline.example", "contact_email": "notices@hotline.example"}`, ""},
		{"node-", `{}`, ""},
		{"a..b", `{}`, ""},
		{"node-a", `{"domain": "-bad.example"}`, `domain "-bad.example"`},
		{"node-a", `{"domain": "hotline_nl.example"}`, `domain "hotline_nl.example"`},
		{"node-a", `{"domain": "hotline.example", "contact_email": "Notices <notices@hotline.example>"}`, "contact_email"},
		{"node-a", `{"contact_email": "notices@bad_host"}`, "contact_email"},
	} {
		dir := t.TempDir()
		if _, err := Init(dir, c.id, "NL"); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, ReportsFile), []byte(c.settings), 0o600); err != nil {
			t.Fatal(err)
		}
		n, err := Open(dir, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err == nil {
			if err := n.Outbox.Identity.Validate(); err != nil {
				t.Errorf("%s %s: identity %+v: %v", c.id, c.settings, n.Outbox.Identity, err)
			}
			n.Close()
		}
		if c.wantErr == "" && err != nil {
			t.Errorf("%s %s: %v", c.id, c.settings, err)
		}
		if c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr) || !strings.Contains(err.Error(), ReportsFile)) {
			t.Errorf("%s %s: err %v, want %q", c.id, c.settings, err, c.wantErr)
		}
	}
}
