package consoletest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/hashhub/hashhub/internal/needtool"
)

// Flags are chromium's flags besides chromedp's defaults, as the console's
// tests pin them.
var Flags = []chromedp.ExecAllocatorOption{
	chromedp.Flag("headless", true),
	chromedp.Flag("no-sandbox", true),
	chromedp.Flag("disable-gpu", true),
	chromedp.Flag("no-first-run", true),
	chromedp.Flag("disable-background-networking", true),
	chromedp.Flag("disable-component-update", true),
	chromedp.Flag("disable-sync", true),
	chromedp.WindowSize(1280, 900),
}

// The browser shared by a test binary.
var shared struct {
	once    sync.Once
	ctx     context.Context // the browser's first tab; parent of every test's context
	cancel  func()
	dataDir string
	err     error
}

// Main runs the tests and then closes the shared browser. Use it as
//
//	func TestMain(m *testing.M) { consoletest.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	if shared.cancel != nil {
		shared.cancel()
		os.RemoveAll(shared.dataDir)
	}
	os.Exit(code)
}

// Browser is one test's tab, in a browser context of its own (its own
// cookies), on the node at Base.
type Browser struct {
	T    testing.TB
	Ctx  context.Context
	Base string
	axe  string
}

// Timeout bounds each Run.
const Timeout = 30 * time.Second

// NewBrowser opens a tab for the test on node n (skipping, or failing on
// CI, when chromium or axe-core is missing).
func NewBrowser(t testing.TB, n *Node) *Browser {
	t.Helper()
	exe := needtool.Chromium(t)
	axe := needtool.AxeCore(t)
	shared.once.Do(func() {
		dir, err := os.MkdirTemp("", "hashhub-chromium-")
		if err != nil {
			shared.err = err
			return
		}
		shared.dataDir = dir
		opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.UserDataDir(dir))
		opts = append(opts, Flags...)
		actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
		bctx, bcancel := chromedp.NewContext(actx)
		if err := chromedp.Do(bctx); err != nil {
			shared.err = fmt.Errorf("start chromium: %w", err)
		}
		shared.ctx, shared.cancel = bctx, func() { bcancel(); acancel() }
	})
	if shared.err != nil {
		t.Fatalf("browser: %v", shared.err)
	}
	ctx, cancel := chromedp.NewContext(shared.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("new tab: %v", err)
	}
	return &Browser{T: t, Ctx: ctx, Base: n.URL, axe: axe}
}

// Do runs chromedp actions with a timeout, failing the test on error.
func (b *Browser) Do(actions ...chromedp.Action[chromedp.Void]) {
	b.T.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, Timeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.T.Fatalf("browser: %v", err)
	}
}

// Run runs one chromedp action that yields a value, with a timeout,
// failing the test on error.
func Run[T any](b *Browser, a chromedp.Action[T]) T {
	b.T.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, Timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.T.Fatalf("browser: %v", err)
	}
	return v
}

// Go opens a console path ("/console/…") and waits for the page to load.
func (b *Browser) Go(path string) {
	b.T.Helper()
	b.Do(chromedp.Navigate(b.Base + path))
}

// Text returns the visible text of the first element matching a CSS
// selector.
func (b *Browser) Text(sel string) string {
	b.T.Helper()
	return Run(b, chromedp.Text(chromedp.CSS(sel)))
}

// Has reports whether an element matches a CSS selector now.
func (b *Browser) Has(sel string) bool {
	b.T.Helper()
	return Run(b, chromedp.Evaluate[int](fmt.Sprintf("document.querySelectorAll(%q).length", sel))) > 0
}

// Path is the current page's path.
func (b *Browser) Path() string {
	b.T.Helper()
	return Run(b, chromedp.Evaluate[string]("location.pathname"))
}

// Status is the HTTP status of the page now shown (from the Navigation
// Timing API).
func (b *Browser) Status() int {
	b.T.Helper()
	return Run(b, chromedp.Evaluate[int]("performance.getEntriesByType('navigation')[0].responseStatus"))
}

// Submit fills a form's fields (CSS selector inside the form → value),
// clicks its submit button and waits for the next page to load.
func (b *Browser) Submit(form string, fields map[string]string) {
	b.T.Helper()
	var acts []chromedp.Action[chromedp.Void]
	for sel, v := range fields {
		acts = append(acts, chromedp.SetValue(chromedp.CSS(form+" "+sel), v))
	}
	b.Do(acts...)
	b.Click(form + ` [type="submit"]`)
}

// Click clicks an element (a link, a button) and waits for the page it
// leads to.
func (b *Browser) Click(sel string) {
	b.T.Helper()
	Run(b, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(sel))))
}

// SignIn signs p in through the sign-in page and waits for the start page.
func (b *Browser) SignIn(n *Node, p *Person) {
	b.T.Helper()
	b.Go("/console/login")
	b.Submit("form.signin", map[string]string{"#name": p.Name, "#password": p.Password, "#code": n.Code(p)})
	if got := b.Path(); got != "/console/" {
		b.T.Fatalf("sign-in of %q ended at %s: %s", p.Name, got, b.Text("main"))
	}
}

// AxeViolation is one rule axe-core found broken.
type AxeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any  `json:"target"`
		HTML   string `json:"html"`
	} `json:"nodes"`
}

// Axe runs axe-core (WCAG 2.x A and AA rules) on the current page and
// fails the test on every serious or critical violation; it returns all
// violations found.
func (b *Browser) Axe() []AxeViolation {
	b.T.Helper()
	src, err := os.ReadFile(b.axe)
	if err != nil {
		b.T.Fatalf("axe-core: %v", err)
	}
	// The script is injected through the DevTools protocol, which the
	// page's Content-Security-Policy does not govern.
	b.Do(chromedp.Evaluate[chromedp.Void](string(src)))
	raw := Run(b, chromedp.Evaluate[string](`axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}}).then(r => JSON.stringify(r.violations))`,
		chromedp.EvalAwaitPromise))
	var vs []AxeViolation
	if err := json.Unmarshal([]byte(raw), &vs); err != nil {
		b.T.Fatalf("axe-core result: %v", err)
	}
	path := b.Path()
	for _, v := range vs {
		if v.Impact == "serious" || v.Impact == "critical" {
			var where []string
			for _, n := range v.Nodes {
				where = append(where, n.HTML)
			}
			b.T.Errorf("axe-core on %s: %s (%s): %s; at %s", path, v.ID, v.Impact, v.Help, strings.Join(where, " | "))
		}
	}
	return vs
}

// Screenshot captures the whole page. With HASHHUB_SCREENSHOTS=1 it is
// written to docs/console/name.png in the repository (to refresh the
// documentation's pictures); otherwise into the test's temp directory.
func (b *Browser) Screenshot(name string) string {
	b.T.Helper()
	png := Run(b, chromedp.FullScreenshot(100))
	dir := b.T.TempDir()
	if os.Getenv("HASHHUB_SCREENSHOTS") != "" {
		dir = filepath.Join(repoRoot(b.T), "docs", "console")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.T.Fatal(err)
		}
	}
	p := filepath.Join(dir, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.T.Fatal(err)
	}
	return p
}

func repoRoot(t testing.TB) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = up
	}
}
