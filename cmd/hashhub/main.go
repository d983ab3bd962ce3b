// Command hashhub runs a hashhub node.
//
//	hashhub init  --data DIR [--node-id ID] [--jurisdiction CC]
//	hashhub serve --data DIR --addr HOST:PORT
//	hashhub audit verify --data DIR
//	hashhub keys rotate --data DIR
//	hashhub backup --data DIR --to FILE
//	hashhub restore --from FILE --data DIR [--force]
//
// Flags fall back to the environment (HASHHUB_DATA, HASHHUB_ADDR) and then
// to the defaults ./hashhub-data and 127.0.0.1:8080.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/hashhub/hashhub/console"
	"github.com/hashhub/hashhub/federation"
	"github.com/hashhub/hashhub/hub"
	"github.com/hashhub/hashhub/keys"
	"github.com/hashhub/hashhub/node"
	"github.com/hashhub/hashhub/publish"
	"github.com/hashhub/hashhub/release"
	"github.com/hashhub/hashhub/server"
	"github.com/hashhub/hashhub/store"
	"github.com/hashhub/hashhub/version"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `hashhub runs a node of the hashhub federation.

Commands:
  init          create a data directory: keys, store and the first admin
  serve         run the node's HTTP API (initialises an empty data dir first)
  audit verify  check the audit chain offline and name the first broken link
  keys rotate   replace the release key (node stopped); the old key signs the hand-over
  backup        write a consistent backup archive of a node, running or stopped
  restore       unpack a backup archive into a new data directory, checking it first
  publish       write a stopped node's releases to a directory any web server can serve

Run "hashhub COMMAND -h" for a command's flags, "hashhub --version" for the build.
`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "init":
		err = cmdInit(args[1:], stdout, stderr)
	case "serve":
		err = cmdServe(args[1:], stdout, stderr)
	case "audit":
		if len(args) < 2 || args[1] != "verify" {
			fmt.Fprint(stderr, "usage: hashhub audit verify --data DIR\n")
			return 2
		}
		err = cmdAuditVerify(args[2:], stdout, stderr)
	case "keys":
		if len(args) < 2 || args[1] != "rotate" {
			fmt.Fprint(stderr, "usage: hashhub keys rotate --data DIR\n")
			return 2
		}
		err = cmdKeysRotate(args[2:], stdout, stderr)
	case "backup":
		err = cmdBackup(args[1:], stdout, stderr)
	case "restore":
		err = cmdRestore(args[1:], stdout, stderr)
	case "publish":
		err = cmdPublish(args[1:], stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, version.String("hashhub"))
		return 0
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "hashhub: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "hashhub %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// envSet is envOr for a setting whose empty value means something (off).
func envSet(key, def string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	return def
}

func envDuration(key string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(key)); err == nil {
		return d
	}
	return def
}

func envInt64(key string, def int64) int64 {
	if n, err := strconv.ParseInt(os.Getenv(key), 10, 64); err == nil {
		return n
	}
	return def
}

func dataFlag(fs *flag.FlagSet) *string {
	return fs.String("data", envOr("HASHHUB_DATA", node.DefaultData), "data directory (env HASHHUB_DATA)")
}

func cmdInit(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hashhub init", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := dataFlag(fs)
	id := fs.String("node-id", "", "this node's identifier (default: node-<hostname>)")
	jur := fs.String("jurisdiction", "", "ISO 3166-1 alpha-2 code of the node's jurisdiction (default ZZ, unspecified)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return initNode(*data, *id, *jur, stdout)
}

func initNode(data, id, jur string, stdout io.Writer) error {
	creds, err := node.Init(data, id, jur)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "initialised node in %s\n", data)
	fmt.Fprintf(stdout, "first admin credentials (shown once; also in %s, mode 0600):\n", filepath.Join(data, node.AdminFile))
	fmt.Fprintf(stdout, "  client_id:     %s\n  client_secret: %s\n", creds.ClientID, creds.ClientSecret)
	return nil
}

func cmdServe(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hashhub serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := dataFlag(fs)
	addr := fs.String("addr", envOr("HASHHUB_ADDR", node.DefaultAddr), "listen address (env HASHHUB_ADDR)")
	id := fs.String("node-id", "", "node identifier for a new data dir (an existing node's must match)")
	jur := fs.String("jurisdiction", "", "jurisdiction for a new data dir (an existing node's must match)")
	every := fs.Duration("release-interval", envDuration("HASHHUB_RELEASE_INTERVAL", node.DefaultReleaseInterval),
		"how often to publish due list releases; 0 turns the schedule off (env HASHHUB_RELEASE_INTERVAL)")
	afterSync := fs.Duration("release-after-sync", envDuration("HASHHUB_RELEASE_AFTER_SYNC", node.DefaultReleaseAfterSync),
		"publish lists changed by a peer's update this long after it arrives; negative: only on the schedule (env HASHHUB_RELEASE_AFTER_SYNC)")
	idle := fs.Duration("peer-idle-timeout", envDuration("HASHHUB_PEER_IDLE_TIMEOUT", federation.DefaultIdleTimeout),
		"a peer that sends no answer, or less than 1 KiB of one, for this long (a long poll: beyond its wait) is reported stalled and retried (env HASHHUB_PEER_IDLE_TIMEOUT)")
	mirrorPoll := fs.Duration("peer-mirror-poll", envDuration("HASHHUB_PEER_MIRROR_POLL", federation.DefaultMirrorPoll),
		"how often a peer's list read from its mirror (peers add --mirror) is checked for a new release: a published tree cannot be long-polled (env HASHHUB_PEER_MIRROR_POLL)")
	metricsAddr := fs.String("metrics-addr", envSet("HASHHUB_METRICS_ADDR", node.DefaultMetricsAddr),
		"address of GET /metrics (Prometheus), apart from the API since its series name providers and peers; keep it on loopback or a private network; empty: no metrics (env HASHHUB_METRICS_ADDR)")
	bodyTimeout := fs.Duration("body-timeout", envDuration("HASHHUB_BODY_TIMEOUT", server.DefaultBodyTimeout),
		"a request body must start arriving within this, plus its size at --body-min-rate, or the request gets 408 and its connection closes (env HASHHUB_BODY_TIMEOUT)")
	bodyRate := fs.Int64("body-min-rate", server.DefaultBodyMinRate,
		"slowest rate a request body (an import too) may arrive at, in bytes per second")
	limits := server.DefaultRateLimits
	fs.Var(&limits.TokenClient, "rate-token-client", "POST /v1/oauth/token per client id: RATE:BURST (requests per second, burst); 0: no limit")
	fs.Var(&limits.TokenAddr, "rate-token-addr", "POST /v1/oauth/token per remote address: RATE:BURST; 0: no limit")
	fs.Var(&limits.Org, "rate-org", "API requests per organisation: RATE:BURST; 0: no limit")
	fs.Var(&limits.Lookup, "rate-lookup", "single-hash lookups (entry, history, list proof) per organisation, also counted in --rate-org: RATE:BURST; 0: no limit")
	maxStep := fs.Int64("peer-max-step-bytes", envInt64("HASHHUB_PEER_MAX_STEP_BYTES", federation.DefaultMaxStepBytes),
		"the most bytes one delta or snapshot from a peer may have, whatever its signed manifest says, for peers registered without max_step_bytes (env HASHHUB_PEER_MAX_STEP_BYTES)")
	maxRecords := fs.Int64("peer-max-records-bytes", envInt64("HASHHUB_PEER_MAX_RECORDS_BYTES", federation.DefaultMaxRecordsBytes),
		"the most bytes of signed records one step from a peer may bring, for peers registered without max_records_bytes (env HASHHUB_PEER_MAX_RECORDS_BYTES)")
	peerBatch := fs.Int("peer-batch", int(envInt64("HASHHUB_PEER_BATCH", hub.DefaultPeerBatch)),
		"the most entries one transaction writes when a peer's list is loaded from a snapshot (its mirror, then this node's store); bounds the memory of a catch-up, which resumes from the last batch after a restart (env HASHHUB_PEER_BATCH)")
	publishTo := fs.String("publish-to", envOr("HASHHUB_PUBLISH_TO", ""),
		"after each release (and every minute), publish the releases to this `TARGET`: a directory (a path or file:///path) for any web server to serve, or an S3 bucket (s3://bucket/prefix, credentials from the environment: see docs/publishing.md); a failed publish is retried and never holds up a release (env HASHHUB_PUBLISH_TO)")
	publishPrivate := fs.Bool("publish-private", false, "the --publish-to target's readers are access-controlled: publish lists with restricted readers and the log's entry bundles to it too")
	tlsProxy := fs.Bool("console-tls-proxy", os.Getenv("HASHHUB_CONSOLE_TLS_PROXY") == "1",
		"a TLS-terminating proxy serves this node: the web console's cookies are Secure (__Host- prefix) with HSTS, and sign-ins are throttled by the last X-Forwarded-For address (the one the proxy appends) (env HASHHUB_CONSOLE_TLS_PROXY=1)")
	breakAfter := fs.Int("break-after", int(envInt64("HASHHUB_BREAK_AFTER", console.DefaultBreakAfter)),
		"the console reminds an analyst to take a break after this many reviews in a day, and every as many after; 0 turns it off (env HASHHUB_BREAK_AFTER)")
	buildChunk := fs.Int("build-chunk", int(envInt64("HASHHUB_BUILD_CHUNK", hub.DefaultBuildChunk)),
		"a list's first version with more entries than this is built in steps of this many entries, each its own transaction, so that its memory does not grow with the list; 0: in one transaction (env HASHHUB_BUILD_CHUNK)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *breakAfter < 0 {
		return fmt.Errorf("--break-after: want 0 or more reviews, got %d", *breakAfter)
	}
	if *buildChunk < 0 {
		return fmt.Errorf("--build-chunk: want 0 or more, got %d", *buildChunk)
	}
	if *peerBatch <= 0 {
		return fmt.Errorf("--peer-batch: want a positive number, got %d", *peerBatch)
	}
	var target publish.Target
	if *publishTo != "" {
		var err error
		if target, err = publish.Open(*publishTo); err != nil {
			return fmt.Errorf("--publish-to: %w", err)
		}
	}
	if *maxStep <= 0 || *maxRecords <= 0 {
		return errors.New("--peer-max-step-bytes and --peer-max-records-bytes must be positive")
	}
	if *idle <= 0 {
		return fmt.Errorf("--peer-idle-timeout: want a positive duration, got %s", *idle)
	}
	if *mirrorPoll <= 0 {
		return fmt.Errorf("--peer-mirror-poll: want a positive duration, got %s", *mirrorPoll)
	}
	if *bodyTimeout <= 0 || *bodyRate <= 0 {
		return errors.New("--body-timeout and --body-min-rate must be positive")
	}
	fresh := !node.Initialised(*data)
	if !fresh {
		if err := node.CheckIdentity(*data, *id, *jur); err != nil {
			return err
		}
	}
	// The addresses are taken before a new node is made: a port in use must
	// not leave a data directory and a printed admin secret behind.
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	defer ln.Close()
	var metricsLn net.Listener
	if *metricsAddr != "" {
		if metricsLn, err = net.Listen("tcp", *metricsAddr); err != nil {
			return fmt.Errorf("metrics: %w (--metrics-addr \"\" turns metrics off)", err)
		}
		defer metricsLn.Close()
	}
	if fresh {
		if err := initNode(*data, *id, *jur, stdout); err != nil {
			return err
		}
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	n, err := node.Open(*data, log)
	if err != nil {
		return err
	}
	defer n.Close()
	n.ReleaseInterval = *every
	n.ReleaseAfterSync = *afterSync
	n.Hub.SetBuildChunk(*buildChunk)
	n.Syncer.IdleTimeout = *idle
	n.Syncer.MirrorPoll = *mirrorPoll
	n.Server.SetBodyLimits(server.BodyLimits{Timeout: *bodyTimeout, MinRate: *bodyRate})
	n.Server.SetRateLimits(limits)
	n.Server.SetConsoleTLSProxy(*tlsProxy)
	if cn := n.Server.Console(); cn != nil {
		cn.SetBreakAfter(*breakAfter)
	}
	n.Metrics = metricsLn
	n.Syncer.MaxStepBytes, n.Syncer.MaxRecordsBytes = *maxStep, *maxRecords
	n.Syncer.Batch, n.Hub.PeerBatch = *peerBatch, *peerBatch
	if target != nil {
		if err := n.PublishTo(target, *publishPrivate, 0); err != nil {
			return err
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	return n.Serve(ctx, ln)
}

func cmdAuditVerify(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hashhub audit verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := dataFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fi, err := os.Stat(*data); err != nil || !fi.IsDir() {
		return fmt.Errorf("no data directory at %q", *data)
	}
	if _, err := os.Stat(filepath.Join(*data, store.FileName)); err != nil {
		return fmt.Errorf("%q holds no node store (no %s)", *data, store.FileName)
	}
	db, err := store.Open(*data, store.Options{ReadOnly: true})
	if errors.Is(err, store.ErrInUse) {
		return fmt.Errorf("%w: stop the node, or verify a copy (hashhub backup, then hashhub restore into another directory)", err)
	}
	if err != nil {
		return err
	}
	defer db.Close()
	n, err := hub.VerifyAudit(db)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "audit chain intact: %d events\n", n)
	return nil
}

func cmdKeysRotate(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hashhub keys rotate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := dataFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	// Holding the store's lock proves the node is stopped: a running node
	// would go on signing with the old key.
	db, err := store.Open(*data, store.Options{Timeout: time.Second})
	if err != nil {
		return fmt.Errorf("%w (stop the node first)", err)
	}
	defer db.Close()
	cfg, err := node.ReadConfig(*data)
	if err != nil {
		return err
	}
	sr, err := keys.RotateRelease(*data, cfg.NodeID, time.Now())
	if err != nil {
		return err
	}
	var r release.Rotation
	if err := json.Unmarshal([]byte(sr.Statement), &r); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "release key rotated\n  old key id: %s\n  new key id: %s\n", r.OldKeyID, r.NewKeyID)
	fmt.Fprintf(stdout, "the statement signed by both keys is in %s; clients that pin the old key follow it.\n",
		filepath.Join(*data, keys.Dir, keys.RotationsFile))
	return nil
}
