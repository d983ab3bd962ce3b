package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// Environment variables behind the global flags.
const (
	envServer       = "HASHCTL_SERVER"
	envClientID     = "HASHCTL_CLIENT_ID"
	envClientSecret = "HASHCTL_CLIENT_SECRET"
	envCredentials  = "HASHCTL_CREDENTIALS"
)

// globals are the flags every command accepts, before or after its name.
// Their values live here, and each flag set registers the same values, so
// a flag given before the command and one given after it land in one place.
type globals struct {
	server       strFlag
	clientID     strFlag
	clientSecret strFlag
	credentials  strFlag
	json         boolFlag
}

func (g *globals) register(fs *flag.FlagSet) {
	fs.Var(&g.server, "server", "node base `URL` (env "+envServer+"; default "+defaultServer+")")
	fs.Var(&g.clientID, "client-id", "client `ID` (env "+envClientID+")")
	fs.Var(&g.clientSecret, "client-secret", "client `SECRET` (env "+envClientSecret+"; prefer the env or --credentials: arguments are visible to other local users)")
	fs.Var(&g.credentials, "credentials", "JSON `FILE` with client_id and client_secret, e.g. a node's admin.json (env "+envCredentials+")")
	fs.Var(&g.json, "json", "print the node's JSON answer instead of a table or summary")
}

var globalNames = map[string]bool{"server": true, "client-id": true, "client-secret": true, "credentials": true, "json": true}

// strFlag is a string flag that remembers whether it was set. Registering
// it does not reset it, and its String never reveals a secret (flag help
// prints defaults through String).
type strFlag struct {
	v   string
	set bool
}

func (f *strFlag) String() string {
	return "" // no default shown: values may be secrets
}
func (f *strFlag) Set(s string) error { f.v, f.set = s, true; return nil }

type boolFlag struct{ v bool }

func (f *boolFlag) String() string {
	if f != nil && f.v {
		return "true"
	}
	return "false"
}
func (f *boolFlag) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return errors.New("want true or false")
	}
	f.v = b
	return nil
}
func (f *boolFlag) IsBoolFlag() bool { return true }

// listFlag is a comma-separated list; the flag may also be repeated.
type listFlag []string

func (f *listFlag) String() string { return strings.Join(*f, ",") }
func (f *listFlag) Set(s string) error {
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*f = append(*f, p)
		}
	}
	return nil
}

// optInt is an integer flag that may be absent.
type optInt struct {
	v   int
	set bool
}

func (f *optInt) String() string {
	if f == nil || !f.set {
		return ""
	}
	return strconv.Itoa(f.v)
}
func (f *optInt) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return errors.New("want an integer")
	}
	f.v, f.set = n, true
	return nil
}

func (f *optInt) ptr() *int {
	if !f.set {
		return nil
	}
	v := f.v
	return &v
}

// parseInterleaved parses flags that may come before, between and after
// positional arguments ("hashes import f.ndjson --server URL"). After
// "--" everything is positional.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// usageError is a mistake in the command line: exit status 2.
type usageError struct {
	cmd   *command // nil: the top level
	msg   string
	quiet bool // the command line was fine but an input was not: no usage reminder
}

func (e *usageError) Error() string { return e.msg }

// hinted adds advice to an error, printed on a line of its own.
type hinted struct {
	err  error
	hint string
}

func (h *hinted) Error() string { return h.err.Error() }
func (h *hinted) Unwrap() error { return h.err }

// errHelp asks for a command's help (exit status 0).
var errHelp = flag.ErrHelp

// printFlags writes a flag set's flags, the command's own first and then
// the global ones, as "--name VALUE  usage".
func printFlags(w io.Writer, fs *flag.FlagSet) {
	var own, glob []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) {
		if globalNames[f.Name] {
			glob = append(glob, f)
		} else {
			own = append(own, f)
		}
	})
	sort.Slice(own, func(i, j int) bool { return own[i].Name < own[j].Name })
	if len(own) > 0 {
		fmt.Fprintln(w, "\nFlags:")
		writeFlags(w, own)
	}
	fmt.Fprintln(w, "\nGlobal flags (before or after the command):")
	writeFlags(w, glob)
}

func writeFlags(w io.Writer, fl []*flag.Flag) {
	for _, f := range fl {
		name, usage := flag.UnquoteUsage(f)
		head := "  --" + f.Name
		if _, isBool := f.Value.(interface{ IsBoolFlag() bool }); !isBool {
			if name == "" || name == "value" || name == "string" || name == "int" {
				name = strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
			}
			head += " " + name
		}
		fmt.Fprintf(w, "%s\n      %s\n", head, usage)
	}
}
