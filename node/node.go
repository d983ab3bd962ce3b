// Package node assembles a hashhub node from its data directory: the
// node's identity, keys, store, domain service and HTTP server. The hashhub
// command and tests that run real nodes both start nodes through it.
package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/hashhub/hashhub/auth"
	"github.com/hashhub/hashhub/federation"
	"github.com/hashhub/hashhub/hub"
	"github.com/hashhub/hashhub/jurisdiction"
	"github.com/hashhub/hashhub/keys"
	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/outbox"
	"github.com/hashhub/hashhub/publish"
	"github.com/hashhub/hashhub/release"
	"github.com/hashhub/hashhub/server"
	"github.com/hashhub/hashhub/store"
	"github.com/hashhub/hashhub/translog"
	"github.com/hashhub/hashhub/witness"
)

// Files in the data directory.
const (
	ConfigFile = "node.json"
	AdminFile  = "admin.json"
)

// Defaults.
const (
	DefaultData         = "./hashhub-data"
	DefaultAddr         = "127.0.0.1:8080"
	DefaultJurisdiction = orgs.Unspecified
	// DefaultMetricsAddr is where hashhub serve answers /metrics: the
	// loopback interface, since the series name providers and peers.
	DefaultMetricsAddr = "127.0.0.1:9090"
	// ShutdownTimeout bounds how long a stopping node waits for requests
	// in flight; long polls end at once (server.Drain), so only writes
	// and downloads are waited for. Below docker stop's 10 s grace.
	ShutdownTimeout = 4 * time.Second
)

// Config is a node's identity, written at init.
type Config struct {
	NodeID       string    `json:"node_id"`
	Jurisdiction string    `json:"jurisdiction"`
	Created      time.Time `json:"created"`
}

// Credentials are a client id and secret as written to admin.json.
type Credentials struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

// ErrInitialised is returned by Init on a data directory that has a node.
var ErrInitialised = errors.New("data directory already holds a node")

// ErrIdentity is returned by CheckIdentity when the node in a data
// directory is not the one asked for.
var ErrIdentity = errors.New("the data directory holds another node")

// CheckIdentity checks that the node in dir has the id and jurisdiction
// given (either may be empty: anything goes). A node's id and
// jurisdiction are fixed at init; a flag that names others means the
// wrong data directory, not a wish to rename.
func CheckIdentity(dir, nodeID, jur string) error {
	cfg, err := ReadConfig(dir)
	if err != nil {
		return err
	}
	if nodeID != "" && nodeID != cfg.NodeID {
		return fmt.Errorf("%w: %q is node %q, not %q (the id is fixed at init: drop --node-id or use another --data)",
			ErrIdentity, dir, cfg.NodeID, nodeID)
	}
	if jur != "" {
		j, err := jurisdiction.Normalize(jur)
		if err != nil {
			return err
		}
		if j != cfg.Jurisdiction {
			return fmt.Errorf("%w: node %q in %q has jurisdiction %s, not %s (fixed at init: drop --jurisdiction or use another --data)",
				ErrIdentity, cfg.NodeID, dir, cfg.Jurisdiction, j)
		}
	}
	return nil
}

var nodeIDRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{0,62}$`)

// Init creates a node in dir: config, keys, store and the first admin,
// whose credentials are written to dir/admin.json (0600) and returned.
func Init(dir, nodeID, jur string) (*Credentials, error) {
	if _, err := os.Stat(filepath.Join(dir, ConfigFile)); err == nil {
		return nil, fmt.Errorf("%w: %q", ErrInitialised, dir)
	}
	// Only an operator's settings may be there before a node: anything
	// else is another program's directory, or a node's whose node.json
	// was lost, and keys or a store in it must not be taken over.
	ents, err := dirEntries(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		if e != ReportsFile {
			return nil, fmt.Errorf("%w: %q holds %q but no %s; init needs a new or empty directory (%s may be there)",
				ErrNotEmpty, dir, e, ConfigFile, ReportsFile)
		}
	}
	if nodeID == "" {
		host, _ := os.Hostname()
		nodeID = "node-" + sanitise(host)
	}
	if !nodeIDRE.MatchString(nodeID) {
		return nil, fmt.Errorf("node id %q: use 1–63 characters of a-z, 0-9, '.' and '-'", nodeID)
	}
	if jur == "" {
		jur = DefaultJurisdiction
	} else {
		j, err := jurisdiction.Normalize(jur)
		if err != nil {
			return nil, err
		}
		jur = j
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	if _, err := keys.Create(dir); err != nil {
		return nil, err
	}
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	cid, secret, err := hub.New(db, nodeID).Bootstrap("Node administrators", jur)
	if err != nil {
		return nil, err
	}
	creds := &Credentials{ClientID: cid, ClientSecret: secret}
	if err := writeJSON(filepath.Join(dir, AdminFile), creds); err != nil {
		return nil, err
	}
	// The config is written last: its presence means the node is complete.
	cfg := Config{NodeID: nodeID, Jurisdiction: jur, Created: time.Now().UTC()}
	if err := writeJSON(filepath.Join(dir, ConfigFile), cfg); err != nil {
		return nil, err
	}
	return creds, nil
}

func sanitise(s string) string {
	out := make([]byte, 0, len(s))
	for _, r := range []byte(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '.':
			out = append(out, r)
		case r >= 'A' && r <= 'Z':
			out = append(out, r+'a'-'A')
		}
	}
	if len(out) == 0 || len(out) > 50 {
		return "local"
	}
	return string(out)
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Initialised reports whether dir holds a complete node.
func Initialised(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, ConfigFile))
	return err == nil
}

// Node is a running node's parts.
type Node struct {
	// ReleaseInterval is how often lists are checked for a due release
	// (changes, or a manifest past half its lifetime); 0 turns the
	// schedule off, leaving releases to POST /v1/lists/{name}/releases.
	ReleaseInterval time.Duration
	// CosignInterval is how often peers are asked to cosign the latest
	// checkpoint (besides right after each release).
	CosignInterval time.Duration
	// ReleaseAfterSync is how long after a peer's step was imported the
	// node publishes its own lists that changed (steps arriving meanwhile
	// share the release); negative: never (only the schedule publishes).
	// hashhub serve defaults it to DefaultReleaseAfterSync.
	ReleaseAfterSync time.Duration
	// Syncer pulls the peers' lists; its intervals may be tuned before
	// Serve.
	Syncer     *federation.Syncer
	syncKick   chan struct{}
	cosigner   *federation.Cosigner
	cosignKick chan struct{}
	foldKick   chan struct{}
	Config     Config
	DB         *store.DB
	Hub        *hub.Service
	// People is the console's sign-in desk (invites, sessions).
	People *hub.People
	Server *server.Server
	Keys   *keys.Set
	Log    *slog.Logger
	// Reports is the report desk; Outbox delivers its notices, pushes
	// and forwards in the background while the node serves.
	Reports *hub.Reports
	Outbox  *outbox.Worker
	// dir is the data directory (the backup socket lives there).
	dir string
	// Metrics, if set, is where Serve answers GET /metrics (Prometheus);
	// the API's own address does not.
	Metrics net.Listener
	// publishLoop, if set (PublishTo), publishes after each release.
	publishLoop *publish.Loop
	publishKick chan struct{}
}

// Publisher returns a publisher of this node's releases to t.
func (n *Node) Publisher(t publish.Target, private bool) *publish.Publisher {
	k := n.Server.PublicKeys()
	return &publish.Publisher{Hub: n.Hub, Target: t, Keys: k, ReleaseKeyPEM: []byte(k.ReleaseKeyPEM), Private: private}
}

// PublishTo makes Serve publish to t after each release and every
// interval (0: publish.DefaultInterval), with its metrics on /metrics.
func (n *Node) PublishTo(t publish.Target, private bool, interval time.Duration) error {
	l := publish.NewLoop(n.Publisher(t, private), interval, n.Log)
	if err := n.Server.Register(l.Collectors()...); err != nil {
		return err
	}
	n.publishLoop = l
	return nil
}

// ReadConfig reads a node's identity from its data directory.
func ReadConfig(dir string) (*Config, error) {
	raw, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		return nil, fmt.Errorf("read node config (run hashhub init first?): %w", err)
	}
	var cfg Config
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, fmt.Errorf("parse %s: %w", ConfigFile, err)
	}
	return &cfg, nil
}

// Open loads a node from its data directory.
func Open(dir string, log *slog.Logger) (*Node, error) {
	if log == nil {
		log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	c, err := ReadConfig(dir)
	if err != nil {
		return nil, err
	}
	cfg := *c
	rotations, err := keys.LoadRotations(dir)
	if err != nil {
		return nil, err
	}
	ks, err := keys.Load(dir)
	if err != nil {
		return nil, err
	}
	db, err := store.Open(dir, store.Options{})
	if err != nil {
		return nil, err
	}
	h := hub.New(db, cfg.NodeID)
	signer, err := release.NewSigner(ks.Release)
	if err != nil {
		db.Close()
		return nil, err
	}
	logSigner, err := translog.NewSigner("hashhub/"+cfg.NodeID, ks.Log)
	if err != nil {
		db.Close()
		return nil, err
	}
	h.SetPublisher(&hub.Publisher{Signer: signer, Log: logSigner})
	h.TempDir = filepath.Join(dir, "tmp")
	if err := os.MkdirAll(h.TempDir, 0o700); err != nil {
		db.Close()
		return nil, err
	}
	// The witness cosigns the logs of active peers, each with the log key
	// the peer was registered with.
	wit, err := witness.New("hashhub/"+cfg.NodeID+"/witness", ks.Witness, func(origin string) (string, bool) {
		id, ok := strings.CutPrefix(origin, "hashhub/")
		if !ok {
			return "", false
		}
		p, err := h.Peer(id)
		if err != nil || p.Paused {
			return "", false
		}
		return p.LogKey, true
	}, db.Witness(), time.Now)
	if err != nil {
		db.Close()
		return nil, err
	}
	// The node key signs this node's records (and its peer assertions).
	h.SetRecordKey(ks.Token)
	syncKick := make(chan struct{}, 1)
	syncer := &federation.Syncer{Hub: h, SelfID: cfg.NodeID, Key: ks.Token, Dir: filepath.Join(dir, "peers"), Log: log,
		OnApplied: func() {
			select {
			case syncKick <- struct{}{}:
			default:
			}
		},
		// What this node cosigned of a peer's log shows whether the
		// peer's mirror is behind.
		Witnessed: func(origin string) ([]byte, bool) {
			_, _, note, ok, err := db.Witness().Latest(origin)
			return note, ok && err == nil
		}}
	ppl := hub.NewPeople(h)
	srv := server.New(server.Config{Hub: h, People: ppl, Tokens: auth.NewTokens(ks.Token, cfg.NodeID, 0), Logger: log,
		Signer: signer, LogSigner: logSigner, Rotations: rotations, Witness: wit, Evidence: db.Witness().WitnessEvidence,
		PeerSync: syncer.Health})
	if err := srv.Register(syncer); err != nil {
		db.Close()
		return nil, err
	}
	cosign, fold, pub := make(chan struct{}, 1), make(chan struct{}, 1), make(chan struct{}, 1)
	h.OnRelease(func() {
		for _, c := range []chan struct{}{cosign, fold, pub} {
			select {
			case c <- struct{}{}:
			default:
			}
		}
	})
	n := &Node{Config: cfg, DB: db, Hub: h, People: ppl, Server: srv, Keys: ks, Log: log, Syncer: syncer, syncKick: syncKick,
		cosigner: &federation.Cosigner{Hub: h, Log: log, LogKey: logSigner.VerifierKey()}, cosignKick: cosign,
		foldKick: fold, publishKick: pub, dir: dir}
	if err := n.openReports(dir); err != nil {
		db.Close()
		return nil, err
	}
	srv.SetReports(n.Reports)
	return n, nil
}

// Close releases the store.
func (n *Node) Close() error { return n.DB.Close() }

// Serve answers HTTP on ln until ctx is cancelled, then ends long polls,
// finishes in-flight requests (up to ShutdownTimeout) and returns.
func (n *Node) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           n.Server,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(n.Log.Handler(), slog.LevelWarn),
	}
	// Shutdown calls this as it starts: peers' long polls (up to a minute)
	// answer now instead of holding the node past docker stop's grace.
	hs.RegisterOnShutdown(n.Server.Drain)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	if n.Metrics != nil {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", n.Server.Metrics())
		ms := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 10 * time.Second,
			ErrorLog: slog.NewLogLogger(n.Log.Handler(), slog.LevelWarn)}
		go ms.Serve(n.Metrics)
		defer ms.Close()
		n.Log.Info("serving metrics", slog.String("addr", n.Metrics.Addr().String()))
	}
	go n.housekeeping(ctx)
	go n.serveBackups(ctx)
	every := n.CosignInterval
	if every <= 0 {
		every = federation.DefaultCosignInterval
	}
	go n.cosigner.Run(ctx, every, n.cosignKick)
	if n.publishLoop != nil {
		// Off the release's path: a slow or failing target delays
		// nothing but itself.
		pubDone := make(chan struct{})
		go func() { n.publishLoop.Run(ctx, n.publishKick); close(pubDone) }()
		defer func() { <-pubDone }()
	}
	if n.ReleaseInterval > 0 {
		go n.releaseSchedule(ctx)
	}
	// Peer sync stops with the server (and is waited for, so that its
	// mirrors are closed before the store is).
	syncDone := make(chan struct{})
	syncCtx, stopSync := context.WithCancel(ctx)
	go func() {
		defer close(syncDone)
		n.Syncer.Run(syncCtx)
	}()
	defer func() { <-syncDone }()
	defer stopSync()
	if n.ReleaseAfterSync >= 0 {
		go n.releaseAfterSync(ctx)
	}
	// A fold in progress stops between chunks, before the store closes.
	foldDone := make(chan struct{})
	foldCtx, stopFold := context.WithCancel(ctx)
	go func() { n.foldMembers(foldCtx); close(foldDone) }()
	defer func() { <-foldDone }()
	defer stopFold()
	outboxDone := make(chan struct{})
	go func() { n.Outbox.Run(ctx); close(outboxDone) }()
	n.Log.Info("serving", slog.String("addr", ln.Addr().String()), slog.String("node", n.Config.NodeID))
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	n.Log.Info("shutting down: finishing in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		// A request still running (a long import or download) is cut
		// off; an import's committed batches stay, and its client sees
		// the connection close and retries.
		n.Log.Warn("shutdown: requests still running were cut off", slog.Any("err", err))
		hs.Close()
	}
	// Deliveries in flight finish (bounded by outbox.DrainTimeout); one
	// cut off is retried after the restart.
	<-outboxDone
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// foldMembers folds the member overlays that reached their limit, after
// each release (hub.DefaultOverlayLimit), off the build's path.
func (n *Node) foldMembers(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.foldKick:
		}
		start := time.Now()
		k, err := n.Hub.FoldDue(ctx)
		if k > 0 {
			n.Log.Info("folded list members", slog.Int("keys", k), slog.Duration("took", time.Since(start)))
		}
		if err != nil && ctx.Err() == nil {
			n.Log.Error("fold list members", slog.Any("err", err))
		}
	}
}

// HousekeepingInterval is how often the node sweeps expired state.
const HousekeepingInterval = time.Hour

// housekeeping periodically deletes expired idempotency records, console
// sessions and invites.
func (n *Node) housekeeping(ctx context.Context) {
	t := time.NewTicker(HousekeepingInterval)
	defer t.Stop()
	for {
		if k, err := n.Server.SweepIdempotency(); err != nil {
			n.Log.Warn("sweep idempotency records", slog.Any("err", err))
		} else if k > 0 {
			n.Log.Info("swept expired idempotency records", slog.Int("count", k))
		}
		if ss, ins, err := n.People.Sweep(); err != nil {
			n.Log.Warn("sweep console sessions", slog.Any("err", err))
		} else if ss+ins > 0 {
			n.Log.Info("swept expired console sessions and invites", slog.Int("sessions", ss), slog.Int("invites", ins))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// DefaultReleaseInterval is the release schedule's default period.
const DefaultReleaseInterval = 10 * time.Minute

// releaseSchedule publishes due releases every ReleaseInterval. The first
// run is one interval after start, so a restart does not release at once.
func (n *Node) releaseSchedule(ctx context.Context) {
	t := time.NewTicker(n.ReleaseInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n.releaseDue("released", "scheduled release")
	}
}

// releaseDue publishes every list that is due and logs each release
// (done) and any failure (failed).
func (n *Node) releaseDue(done, failed string) {
	ms, err := n.Hub.ScheduledReleases()
	for _, m := range ms {
		n.Log.Info(done, slog.String("list", m.List), slog.Uint64("version", m.Version),
			slog.Uint64("entries", m.Entries), slog.Uint64("adds", m.Delta.Adds), slog.Uint64("removes", m.Delta.Removes))
	}
	if err != nil {
		n.Log.Error(failed, slog.Any("err", err))
	}
}

// DefaultReleaseAfterSync is how long the node waits after importing a
// peer's step before publishing its own changed lists.
const DefaultReleaseAfterSync = 250 * time.Millisecond

// releaseAfterSync publishes the lists a peer's step changed, shortly
// after the step, so that a release travels on along a chain of peers
// within moments rather than at the next scheduled release.
func (n *Node) releaseAfterSync(ctx context.Context) {
	wait := n.ReleaseAfterSync
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.syncKick:
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		n.releaseDue("released after a peer's update", "release after sync")
	}
}
