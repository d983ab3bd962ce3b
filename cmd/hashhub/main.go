// Command hashhub runs a hashhub node.
//
//	hashhub init  --data DIR [--node-id ID] [--jurisdiction CC]
//	hashhub serve --data DIR --addr HOST:PORT
//	hashhub audit verify --data DIR
//	hashhub keys rotate --data DIR
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

	"github.com/hashhub/hashhub/federation"
	"github.com/hashhub/hashhub/hub"
	"github.com/hashhub/hashhub/keys"
	"github.com/hashhub/hashhub/node"
	"github.com/hashhub/hashhub/release"
	"github.com/hashhub/hashhub/store"
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

Run "hashhub COMMAND -h" for a command's flags.
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
	id := fs.String("node-id", "", "node identifier, used only when initialising an empty data dir")
	jur := fs.String("jurisdiction", "", "jurisdiction, used only when initialising an empty data dir")
	every := fs.Duration("release-interval", envDuration("HASHHUB_RELEASE_INTERVAL", node.DefaultReleaseInterval),
		"how often to publish due list releases; 0 turns the schedule off (env HASHHUB_RELEASE_INTERVAL)")
	afterSync := fs.Duration("release-after-sync", envDuration("HASHHUB_RELEASE_AFTER_SYNC", node.DefaultReleaseAfterSync),
		"publish lists changed by a peer's update this long after it arrives; negative: only on the schedule (env HASHHUB_RELEASE_AFTER_SYNC)")
	maxStep := fs.Int64("peer-max-step-bytes", envInt64("HASHHUB_PEER_MAX_STEP_BYTES", federation.DefaultMaxStepBytes),
		"the most bytes one delta or snapshot from a peer may have, whatever its signed manifest says, for peers registered without max_step_bytes (env HASHHUB_PEER_MAX_STEP_BYTES)")
	maxRecords := fs.Int64("peer-max-records-bytes", envInt64("HASHHUB_PEER_MAX_RECORDS_BYTES", federation.DefaultMaxRecordsBytes),
		"the most bytes of signed records one step from a peer may bring, for peers registered without max_records_bytes (env HASHHUB_PEER_MAX_RECORDS_BYTES)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *maxStep <= 0 || *maxRecords <= 0 {
		return errors.New("--peer-max-step-bytes and --peer-max-records-bytes must be positive")
	}
	if !node.Initialised(*data) {
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
	n.Syncer.MaxStepBytes, n.Syncer.MaxRecordsBytes = *maxStep, *maxRecords
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
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
	db, err := store.Open(*data, store.Options{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("%w (a running node holds the store; stop it or verify a backup)", err)
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
