// Command hashctl is the command-line client of a hashhub node, for
// hotlines, law enforcement, platforms and operators.
//
//	hashctl [global flags] COMMAND [SUBCOMMAND] [flags] [args]
//
// Credentials come from --client-id and --client-secret, or --credentials
// FILE (a JSON file such as a node's admin.json), or the environment
// (HASHCTL_CLIENT_ID, HASHCTL_CLIENT_SECRET, HASHCTL_CREDENTIALS); the node
// from --server or HASHCTL_SERVER. Global flags may come before or after
// the command. Every command takes --json to print the node's answer as is.
//
// Exit status: 0 success, 1 an error from the node or the network (for
// hashctl hash, which needs no node: a file that could not be read), 2 a
// usage error. hashctl match exits as grep does: 0 a match, 1 none, 2 an
// error. hashctl pull --from --fail-if-behind exits 3 when the published
// tree is behind the log.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/hashhub/hashhub/client"
	"github.com/hashhub/hashhub/version"
)

const defaultServer = client.DefaultServer

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// command is one hashctl command.
type command struct {
	name    string // e.g. "orgs create"
	args    string // synopsis after the name
	summary string
	run     func(e *env, args []string) error
}

// commands lists every command in the order help shows them. (Filled in
// init: the help command refers to the list.)
var commands []*command

func init() {
	commands = []*command{
		{"login", "", "check the credentials and show who they belong to", cmdLogin},

		{"orgs create", "--name NAME --kind KIND --jurisdiction CC", "create an organisation (admin)", cmdOrgsCreate},
		{"orgs list", "[--limit N] [--cursor C]", "list organisations (admin)", cmdOrgsList},
		{"orgs show", "ID", "show an organisation (admin)", cmdOrgsShow},
		{"users create", "--org ID --name NAME [--credentials-out FILE]", "create a user with client credentials (admin)", cmdUsersCreate},
		{"users list", "--org ID", "list an organisation's users (admin)", cmdUsersList},
		{"users invite", "--org ID --name NAME", "invite a person to the web console: a one-time link valid 24 h (admin)", cmdUsersInvite},
		{"users disable", "--org ID USER", "disable a user: no more sign-ins or tokens, console sessions end (admin)", cmdUsersDisable},

		{"lists create", "--name NAME --min-assessments N [--min-orgs N] [--min-jurisdictions N] [--algorithms A,..] [--categories C,..] [--reader-roles R,..] [--reader-orgs ID,..] [--open-review] [--description TEXT]", "create a list and its policy (admin)", cmdListsCreate},
		{"lists list", "", "list the lists you may read", cmdListsList},
		{"lists show", "NAME", "show a list's policy and readers", cmdListsShow},
		{"lists entries", "NAME [--limit N] [--cursor C] [--all]", "show the entries that qualify for a list now", cmdListsEntries},
		{"lists release", "NAME", "publish the next signed version of a list now (admin)", cmdListsRelease},

		{"hashes submit", "--algo ALGO --value VALUE [--quality Q] [--category C] [--jurisdictions CC,..] [--severity A|B|C] [--note TEXT]", "submit one hash with your assessment (analysts)", cmdHashesSubmit},
		{"hashes import", "FILE|- [--format ndjson|csv]", "import hashes from an NDJSON or CSV file (analysts)", cmdHashesImport},
		{"hashes show", "ALGO VALUE", "show an entry and its assessments", cmdHashesShow},
		{"hashes history", "ALGO VALUE", "show an entry's assessments, feedback and disputes", cmdHashesHistory},
		{"hashes assess", "ALGO VALUE --verdict illegal|not_illegal [--category C] [--jurisdictions CC,..] [--severity A|B|C] [--note TEXT]", "assess an entry (analysts)", cmdHashesAssess},
		{"hashes retract", "ALGO VALUE --reason TEXT", "retract your organisation's assessments (analysts)", cmdHashesRetract},
		{"hashes feedback", "ALGO VALUE --kind confirmed_match|false_positive [--note TEXT] | --from-matches FILE|- --kind K [--note TEXT]", "report a confirmed match or a false positive, for one entry or each entry in hashctl match output (platforms)", cmdHashesFeedback},

		{"disputes list", "[--status open|upheld|overturned] [--limit N] [--cursor C]", "list disputes", cmdDisputesList},
		{"disputes resolve", "ID --outcome upheld|overturned --reason TEXT", "resolve a dispute (an analyst of another organisation)", cmdDisputesResolve},
		{"review", "[--limit N] [--cursor C]", "your review queue: open disputes and entries one short of a list", cmdReview},

		{"peers add", "--name NAME --jurisdiction CC --url URL --keys FILE [--lists L,..] [--routed-jurisdictions CC,..] [--count-as-org NAME] [--count-as-jurisdiction CC] [--mirror URL]", "register a peer node from its /v1/keys answer (admin)", cmdPeersAdd},
		{"peers update", "ID --mirror URL", "change a peer's registration: the published tree its lists are read from (admin)", cmdPeersUpdate},
		{"peers list", "", "list peer nodes (admin)", cmdPeersList},
		{"peers show", "ID", "show a peer (admin)", cmdPeersShow},
		{"peers pause", "ID", "pause syncing with a peer (admin)", peerPause(true)},
		{"peers resume", "ID", "resume syncing with a peer (admin)", peerPause(false)},
		{"peers remove", "ID", "remove a peer (admin)", cmdPeersRemove},

		{"hash", "FILE|DIR... [--algo pdq|md5|sha1|sha256]..", "hash pictures and files locally: PDQ, md5, sha1, sha256 as import lines (nothing is sent)", cmdHash},

		{"match", "--dir DIR [--dir DIR..] [--max-distance N] [--low-quality] [--allow-expired] [--category LIST=C].. [FILE|- | --images FILE|DIR...]", "match hash lines, or pictures hashed in memory, against local mirrors (nothing is sent); exit 0 a match, 1 none, 2 an error", cmdMatch},
		{"match serve", "--dir DIR [--dir DIR..] [--addr HOST:PORT] [--pull-interval D [--witness-policy FILE]] [--token-file FILE] [--allow-expired] [--category LIST=C]..", "serve lookups against local mirrors over HTTP on loopback (GET/POST /v1/lookup, POST /v1/lookup/image, GET /m/lookup, /metrics, /healthz)", cmdMatchServe},

		{"pull", "--list NAME --dir DIR [--key FILE --log-key KEY | --trust-on-first-use] [--witness-policy FILE] [--from URL]", "pull a list's signed releases into a local mirror, verifying each (platforms); --from: from a published tree (hashhub publish) on any web server", cmdPull},
		{"verify", "--dir DIR [--allow-expired]", "re-check a local mirror offline: signatures, hash chain, checkpoint, set root", cmdVerify},
		{"mirror export", "--dir DIR [--format ndjson|csv] [--out FILE]", "write a mirror's entries, to load into a matcher", cmdMirrorExport},

		{"reports submit", "--url URL [--url URL..] --detection METHOD --explanation TEXT [--category C] [--jurisdictions CC,..] [--severity A|B|C] [--hash ALGO:VALUE..] [--reporter-ref REF] [--urgent] [--observed-at TIME] [--hosting-jurisdiction CC]", "report URLs of abuse material (hotlines, police, platforms)", cmdReportsSubmit},
		{"reports show", "ID", "show a report, where it went and who acknowledged it", cmdReportsShow},
		{"reports inbox", "[--limit N] [--cursor C]", "reports routed to your organisation (law enforcement)", cmdReportsInbox},
		{"reports unrouted", "[--limit N] [--cursor C]", "reports with a URL no peer or fallback took, to hand on (admin)", cmdReportsUnrouted},
		{"reports ack", "ID", "acknowledge a report routed to you", cmdReportsAck},
		{"reports hold", "ID --reason TEXT (--until TIME | --for DURATION)", "hold a report's takedown while you investigate (law enforcement)", cmdReportsHold},
		{"reports webhook", "--url URL", "push reports routed to you to a webhook (empty: off)", cmdReportsWebhook},
		{"providers register", "--org ID --domains D,.. --ranges CIDR,.. [--webhook URL] [--email ADDRESS]", "register a hosting provider's domains, ranges and channels (admin)", cmdProvidersRegister},
		{"providers list", "", "list registered hosting providers (admin)", cmdProvidersList},
		{"notices list", "[--status S] [--limit N] [--cursor C]", "list takedown notices (providers: yours)", cmdNoticesList},
		{"notices show", "ID", "show a notice, its hosting evidence and history", cmdNoticesShow},
		{"notices update", "ID --status acknowledged|removed|disputed [--note TEXT]", "acknowledge, confirm removal of, or dispute a notice", cmdNoticesUpdate},
		{"notices stats", "", "time to acknowledgement and removal, share removed within 24h/3d/7d, per provider", cmdNoticesStats},

		{"help", "[COMMAND]", "show help for hashctl or a command", cmdHelp},
		{"version", "", "show hashctl's version (also --version)", cmdVersion},
	}
}

func lookup(words ...string) *command {
	name := strings.Join(words, " ")
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// groups lists the first words that take a subcommand.
func isGroup(w string) bool {
	for _, c := range commands {
		if strings.HasPrefix(c.name, w+" ") {
			return true
		}
	}
	return false
}

// env is one invocation's surroundings.
type env struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	g      *globals
	cmd    *command
	raw    []byte // the last answer's body, with --json
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// One key per invocation: a retry of this invocation's creating
	// request is recognised by the node and not applied twice.
	ctx = client.WithIdempotencyKey(ctx, client.NewIdempotencyKey())
	e := &env{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr, g: &globals{}}
	return e.report(e.dispatch(args))
}

func (e *env) dispatch(args []string) error {
	top := flag.NewFlagSet("hashctl", flag.ContinueOnError)
	top.SetOutput(io.Discard)
	e.g.register(top)
	showVersion := top.Bool("version", false, "print hashctl's version and exit")
	if err := top.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			e.topUsage(e.stdout)
			return nil
		}
		return &usageError{msg: err.Error()}
	}
	rest := top.Args()
	if *showVersion {
		fmt.Fprintln(e.stdout, version.String("hashctl"))
		return nil
	}
	if len(rest) == 0 {
		return &usageError{msg: "no command given"}
	}
	var cmd *command
	n := 1
	switch {
	case isGroup(rest[0]) && lookup(rest[0]) != nil && (len(rest) < 2 || lookup(rest[0], rest[1]) == nil):
		// A command that also has subcommands (hashctl match beside
		// hashctl match serve): anything but a subcommand's name is the
		// command's own arguments.
		cmd = lookup(rest[0])
	case isGroup(rest[0]):
		if len(rest) < 2 || strings.HasPrefix(rest[1], "-") {
			if len(rest) >= 2 && (rest[1] == "-h" || rest[1] == "--help" || rest[1] == "-help") {
				e.groupUsage(e.stdout, rest[0])
				return nil
			}
			e.groupUsage(e.stderr, rest[0])
			return &usageError{msg: "which subcommand?", cmd: &command{name: rest[0]}}
		}
		cmd, n = lookup(rest[0], rest[1]), 2
		if cmd == nil {
			e.groupUsage(e.stderr, rest[0])
			return &usageError{msg: fmt.Sprintf("unknown command %q", rest[0]+" "+rest[1]), cmd: &command{name: rest[0]}}
		}
	default:
		cmd = lookup(rest[0])
		if cmd == nil {
			return &usageError{msg: fmt.Sprintf("unknown command %q", rest[0])}
		}
	}
	e.cmd = cmd
	return cmd.run(e, rest[n:])
}

// flags returns a flag set for the current command; the command adds its
// own flags and calls parse.
func (e *env) flags() *flag.FlagSet {
	fs := flag.NewFlagSet("hashctl "+e.cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// anyArgs tells parse to leave the count of positional arguments to the
// command (whose flags decide it).
const anyArgs = -1

// parse registers the global flags on fs, parses args (flags may follow
// positional arguments) and checks that there are want positional
// arguments (any number for anyArgs).
func (e *env) parse(fs *flag.FlagSet, args []string, want int) ([]string, error) {
	e.g.register(fs)
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		e.cmdUsage(e.stdout, fs)
		return nil, errHelp
	}
	if err != nil {
		return nil, e.usagef("%v", err)
	}
	switch {
	case want == anyArgs:
	case len(pos) < want:
		return nil, e.usagef("missing %s", missingArgs(e.cmd.args, len(pos), want))
	case len(pos) > want:
		return nil, e.usagef("unexpected argument %q", pos[want])
	}
	return pos, nil
}

// missingArgs names the positional arguments not given, from the synopsis.
func missingArgs(synopsis string, have, want int) string {
	var names []string
	for _, w := range strings.Fields(synopsis) {
		if strings.HasPrefix(w, "-") || strings.HasPrefix(w, "[") {
			break
		}
		names = append(names, w)
	}
	if len(names) >= want {
		return strings.Join(names[have:want], " ")
	}
	return fmt.Sprintf("%d argument(s)", want-have)
}

func (e *env) usagef(format string, a ...any) error {
	return &usageError{cmd: e.cmd, msg: fmt.Sprintf(format, a...)}
}

// need checks required flags, given as name, value pairs.
func (e *env) need(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if strings.TrimSpace(pairs[i+1]) == "" {
			return e.usagef("missing --%s", pairs[i])
		}
	}
	return nil
}

// call returns the context for a request, capturing the answer's body
// when --json asks for it.
func (e *env) call() context.Context {
	if e.g.json.v {
		return client.CaptureBody(e.ctx, &e.raw)
	}
	return e.ctx
}

// printRaw prints the last answer as received (indented).
func (e *env) printRaw() error {
	return writeJSON(e.stdout, e.raw)
}

func writeJSON(w io.Writer, raw []byte) error {
	if len(raw) == 0 {
		raw = []byte("null")
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		buf.Reset()
		buf.Write(raw)
	}
	if !bytes.HasSuffix(buf.Bytes(), []byte("\n")) {
		buf.WriteByte('\n')
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// client builds an API client from the global flags and the environment.
func (e *env) client() (*client.Client, error) {
	server := e.g.server.v
	if !e.g.server.set {
		server = os.Getenv(envServer)
	}
	id, secret, err := e.credentials()
	if err != nil {
		return nil, err
	}
	// Half a pair: say which half is missing.
	switch {
	case id != "" && secret == "":
		return nil, e.usagef("a client id but no client secret: pass --client-secret (or set %s), or --credentials FILE with both", envClientSecret)
	case id == "" && secret != "":
		return nil, e.usagef("a client secret but no client id: pass --client-id (or set %s), or --credentials FILE with both", envClientID)
	}
	c, err := client.New(client.Config{Server: server, ClientID: id, ClientSecret: secret, UserAgent: userAgent()})
	switch {
	case errors.Is(err, client.ErrNoCredentials):
		return nil, e.usagef("no credentials: pass --credentials FILE, or --client-id and --client-secret " +
			"(or set " + envCredentials + ", or " + envClientID + " and " + envClientSecret + ")")
	case err != nil:
		return nil, e.usagef("%v", err)
	}
	if u, _ := url.Parse(c.Server()); u != nil && u.Scheme == "http" && !loopback(u.Hostname()) {
		fmt.Fprintf(e.stderr, "hashctl: warning: %s is plain HTTP: the client secret and tokens cross the network unencrypted\n", c.Server())
	}
	return c, nil
}

// credentials resolves the client id and secret. For each, the first
// found wins: the --client-id/--client-secret flag, the --credentials
// file, the HASHCTL_CLIENT_ID/HASHCTL_CLIENT_SECRET variable, the
// HASHCTL_CREDENTIALS file.
func (e *env) credentials() (id, secret string, err error) {
	if e.g.clientID.set {
		id = e.g.clientID.v
	}
	if e.g.clientSecret.set {
		secret = e.g.clientSecret.v
	}
	fill := func(path, what string) error {
		if id != "" && secret != "" {
			return nil
		}
		fid, fsecret, err := readCredentials(path)
		if err != nil {
			return e.usagef("%s: %v", what, err)
		}
		if id == "" {
			id = fid
		}
		if secret == "" {
			secret = fsecret
		}
		return nil
	}
	if e.g.credentials.set && e.g.credentials.v != "" {
		if err := fill(e.g.credentials.v, "--credentials"); err != nil {
			return "", "", err
		}
	}
	if id == "" {
		id = os.Getenv(envClientID)
	}
	if secret == "" {
		secret = os.Getenv(envClientSecret)
	}
	if p := os.Getenv(envCredentials); p != "" {
		if err := fill(p, envCredentials); err != nil {
			return "", "", err
		}
	}
	return id, secret, nil
}

// readCredentials reads a {"client_id":..,"client_secret":..} file.
func readCredentials(path string) (id, secret string, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", "", err
	}
	// Editors on Windows save UTF-8 with a byte-order mark, which JSON
	// does not allow.
	b = bytes.TrimPrefix(b, []byte("\ufeff"))
	var c struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		// Not %v of the error: it may quote the file's content.
		return "", "", fmt.Errorf("%s is not a JSON object with client_id and client_secret", path)
	}
	if c.ClientID == "" || c.ClientSecret == "" {
		return "", "", fmt.Errorf("%s lacks client_id or client_secret", path)
	}
	return c.ClientID, c.ClientSecret, nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func cmdVersion(e *env, args []string) error {
	if _, err := e.parse(e.flags(), args, 0); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, version.String("hashctl"))
	return nil
}

func userAgent() string {
	v := "dev"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v = bi.Main.Version
	}
	return "hashctl/" + v
}

// report prints err and returns the exit status.
func (e *env) report(err error) int {
	if err == nil || errors.Is(err, errHelp) {
		return 0
	}
	if errors.Is(err, errNoMatch) {
		return 1
	}
	if errors.Is(err, errBehind) {
		fmt.Fprintf(e.stderr, "hashctl: %v\n", err)
		var h *hinted
		if errors.As(err, &h) {
			fmt.Fprintf(e.stderr, "  %s\n", h.hint)
		}
		return 3
	}
	var h *hinted
	if errors.As(err, &h) {
		defer fmt.Fprintf(e.stderr, "  %s\n", h.hint)
	}
	var ue *usageError
	if errors.As(err, &ue) {
		name := "hashctl"
		if ue.cmd != nil {
			name += " " + ue.cmd.name
		}
		fmt.Fprintf(e.stderr, "%s: %s\n", name, ue.msg)
		switch {
		case ue.quiet:
		case ue.cmd != nil && ue.cmd.run != nil:
			fmt.Fprintf(e.stderr, "usage: %s\nRun 'hashctl %s -h' for details.\n", strings.TrimSpace("hashctl "+ue.cmd.name+" "+ue.cmd.args), ue.cmd.name)
		case ue.cmd == nil:
			fmt.Fprintln(e.stderr, "Run 'hashctl help' for the list of commands.")
		}
		return 2
	}
	var p *client.Problem
	if errors.As(err, &p) {
		if e.g.json.v && len(p.Raw) > 0 {
			_ = writeJSON(e.stdout, p.Raw)
		}
		fmt.Fprintf(e.stderr, "hashctl: %s\n", p.Error())
		if p.Field != "" {
			fmt.Fprintf(e.stderr, "  field: %s\n", p.Field)
		}
		printLineErrors(e.stderr, p.Errors, len(p.Errors), maxShownErrors)
		if hint := problemHint(p); hint != "" {
			fmt.Fprintf(e.stderr, "  %s\n", hint)
		}
		return 1
	}
	var ae *client.AuthError
	if errors.As(err, &ae) {
		fmt.Fprintf(e.stderr, "hashctl: %s\n", ae.Error())
		if ae.Code == "invalid_client" {
			fmt.Fprintln(e.stderr, "  check --client-id and --client-secret, or the --credentials file (or the HASHCTL_* variables)")
		}
		return 1
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(e.stderr, "hashctl: interrupted")
		return 1
	}
	fmt.Fprintf(e.stderr, "hashctl: %v\n", err)
	return 1
}

func problemHint(p *client.Problem) string {
	switch p.Kind() {
	case client.KindInvalidToken, client.KindUnauthorized:
		return "the node refused the access token; check --server points at the node that issued the credentials"
	case client.KindForbidden:
		return "your organisation's role may not do this; 'hashctl login' shows who you are"
	case client.KindReplayWithheld:
		return "an earlier attempt succeeded but its secret cannot be shown again; create another user"
	}
	return ""
}

// topUsage prints hashctl's help.
func (e *env) topUsage(w io.Writer) {
	fmt.Fprintf(w, `hashctl is the command-line client of a hashhub node.

Usage: hashctl [global flags] COMMAND [flags] [args]

Commands:
`)
	commandTable(w, commands)
	fs := flag.NewFlagSet("hashctl", flag.ContinueOnError)
	(&globals{}).register(fs)
	printFlags(w, fs)
	fmt.Fprintf(w, `
Credentials: for the client id and for the secret, the first found wins:
--client-id/--client-secret, the --credentials file, %s/%s,
the %s file.

Every command takes --json. Exit status: 0 success, 1 an error from the
node or the network, 2 a usage error (pull --from --fail-if-behind: 3, the
published tree is behind). Run 'hashctl COMMAND -h' for a
command's flags.
`, envClientID, envClientSecret, envCredentials)
}

func (e *env) groupUsage(w io.Writer, group string) {
	fmt.Fprintf(w, "Usage: hashctl %s SUBCOMMAND [flags]\n\nSubcommands:\n", group)
	var sub []*command
	for _, c := range commands {
		if strings.HasPrefix(c.name, group+" ") {
			sub = append(sub, c)
		}
	}
	commandTable(w, sub)
}

// commandTable prints commands and their summaries in two aligned
// columns, however long the longest name.
func commandTable(w io.Writer, cmds []*command) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range cmds {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	tw.Flush()
}

func (e *env) cmdUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: %s\n\n%s.\n", strings.TrimSpace("hashctl "+e.cmd.name+" "+e.cmd.args), upperFirst(e.cmd.summary))
	printFlags(w, fs)
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func cmdHelp(e *env, args []string) error {
	fs := e.flags()
	e.g.register(fs)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			e.topUsage(e.stdout)
			return nil
		}
		return e.usagef("%v", err)
	}
	switch {
	case len(pos) == 0:
		e.topUsage(e.stdout)
		return nil
	case len(pos) == 1 && isGroup(pos[0]):
		e.groupUsage(e.stdout, pos[0])
		return nil
	}
	c := lookup(pos...)
	if c == nil {
		return e.usagef("unknown command %q", strings.Join(pos, " "))
	}
	e.cmd = c
	// Run the command with -h: it registers its flags and prints them.
	return c.run(e, []string{"-h"})
}

// paged runs the common shape of a command that lists one page: flags
// adds the command's own flags beside --limit and --cursor, call reads
// the page (its items and next cursor), and the human form is print's
// table, or none when the page is empty, then the command for the next
// page. With --json the node's raw answer is printed instead.
func paged[T any](e *env, args []string, flags func(fs *flag.FlagSet), call func(c *client.Client, cursor string, limit int) ([]T, string, error),
	none, next string, print func([]T)) error {
	fs := e.flags()
	if flags != nil {
		flags(fs)
	}
	limit := fs.Int("limit", 0, "page size `N` (1–1000; default the node's, 100)")
	cursor := fs.String("cursor", "", "continue after `CURSOR` (the next cursor of the previous page)")
	if _, err := e.parse(fs, args, 0); err != nil {
		return err
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	items, more, err := call(c, *cursor, *limit)
	if err != nil {
		return err
	}
	if e.g.json.v {
		return e.printRaw()
	}
	if len(items) == 0 {
		fmt.Fprintln(e.stdout, none)
	} else {
		print(items)
	}
	if more != "" {
		fmt.Fprintf(e.stdout, "more: %s --cursor %s\n", next, more)
	}
	return nil
}

// show runs the common shape of a command that takes only positional
// arguments: parse them, call the node, and print either the node's raw
// answer (--json) or the human form.
func show[T any](e *env, args []string, npos int, call func(c *client.Client, pos []string) (T, error), print func(T)) error {
	fs := e.flags()
	pos, err := e.parse(fs, args, npos)
	if err != nil {
		return err
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	v, err := call(c, pos)
	if err != nil {
		return err
	}
	if e.g.json.v {
		return e.printRaw()
	}
	print(v)
	return nil
}
