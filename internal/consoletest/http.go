package consoletest

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
)

// Client is a signed-in person's plain HTTP session (a cookie jar, no
// browser): for tests of many requests, such as the page × role walk and
// hostile forms, where a browser adds only time.
type Client struct {
	T    testing.TB
	Base string
	HTTP *http.Client
	// CSRF is the session's form token, read from the start page.
	CSRF string
}

// Response is a page fetched by a Client.
type Response struct {
	Status   int
	Header   http.Header
	Body     string
	Location string
}

// NewClient returns a client without a session (redirects are not
// followed, so tests see them).
func NewClient(t testing.TB, n *Node) *Client {
	jar, _ := cookiejar.New(nil)
	return &Client{T: t, Base: n.URL, HTTP: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// SignInHTTP signs p in through the sign-in form and returns the session.
func (n *Node) SignInHTTP(t testing.TB, p *Person) *Client {
	t.Helper()
	cl := NewClient(t, n)
	login := cl.Get("/console/login")
	m := csrfRE.FindStringSubmatch(login.Body)
	if m == nil {
		t.Fatalf("sign-in page has no form token:\n%s", login.Body)
	}
	r := cl.PostForm("/console/login", url.Values{"csrf": {m[1]}, "name": {p.Name}, "password": {p.Password}, "code": {n.Code(p)}})
	if r.Status != http.StatusSeeOther || r.Location != "/console/" {
		t.Fatalf("sign-in of %q: %d → %q\n%s", p.Name, r.Status, r.Location, r.Body)
	}
	home := cl.Get("/console/")
	if m = csrfRE.FindStringSubmatch(home.Body); m == nil {
		t.Fatalf("start page has no form token:\n%s", home.Body)
	}
	cl.CSRF = m[1]
	return cl
}

// Get fetches a path.
func (cl *Client) Get(path string) Response {
	cl.T.Helper()
	return cl.do("GET", path, "", nil)
}

// PostForm posts a URL-encoded form as is (add "csrf" yourself, or use
// Post).
func (cl *Client) PostForm(path string, form url.Values) Response {
	cl.T.Helper()
	return cl.do("POST", path, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
}

// Post posts a form with the session's CSRF token.
func (cl *Client) Post(path string, form url.Values) Response {
	cl.T.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", cl.CSRF)
	return cl.PostForm(path, form)
}

// Do sends any request (hostile-input tests).
func (cl *Client) Do(method, path, ctype string, body io.Reader) Response {
	cl.T.Helper()
	return cl.do(method, path, ctype, body)
}

func (cl *Client) do(method, path, ctype string, body io.Reader) Response {
	cl.T.Helper()
	req, err := http.NewRequest(method, cl.Base+path, body)
	if err != nil {
		cl.T.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := cl.HTTP.Do(req)
	if err != nil {
		cl.T.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: string(b), Location: resp.Header.Get("Location")}
}
