package peers

import "time"

// Sync states of a (peer, list) pull loop.
const (
	SyncStarting = "starting"
	// SyncWaiting: the peer has not released the list yet.
	SyncWaiting = "waiting"
	SyncOK      = "ok"
	// SyncFailing: the last pull failed (LastError says why), or the peer
	// could not be reached.
	SyncFailing = "failing"
	// SyncStalled: the peer stopped answering: no answer,
	// or a body that made no progress, within the idle timeout (a long
	// poll: within its wait and the idle timeout).
	SyncStalled = "stalled"
	SyncPaused  = "paused"
)

// SyncStatus is how pulling one of a peer's lists is going: the version
// held, when it last worked, and why it last failed. The node keeps it in
// memory and serves it with the peer (GET /v1/peers/{id}) and as metrics.
type SyncStatus struct {
	Peer  string `json:"peer"`
	List  string `json:"list"`
	State string `json:"state" enums:"starting,waiting,ok,failing,stalled,paused"`
	// Version is the peer's version verified here, Applied the one imported
	// into this node's store (they differ only while a step is applied).
	Version uint64 `json:"version"`
	Applied uint64 `json:"applied"`
	Entries uint64 `json:"entries"`
	// Records counts the origin-signed records imported; UnknownOrigins
	// those skipped because no key of their origin is registered here.
	Records        uint64 `json:"records"`
	UnknownOrigins uint64 `json:"unknown_origins"`
	// Snapshots counts versions loaded from the peer's snapshot (a start
	// far behind, or a catch-up past the peer's delta retention).
	Snapshots   uint64    `json:"snapshots"`
	LastAttempt time.Time `json:"last_attempt,omitzero"`
	LastSuccess time.Time `json:"last_success,omitzero"`
	// Failures counts failed pulls since the last success; TotalFailures
	// all. LastError is why the loop is failing or stalled now (the last
	// pull's error, or a newer probe's while it waits to retry); a success
	// clears it and NextAttempt, LastErrorTime stays.
	Failures      int       `json:"failures"`
	TotalFailures uint64    `json:"total_failures"`
	LastError     string    `json:"last_error,omitempty"`
	LastErrorTime time.Time `json:"last_error_time,omitzero"`
	NextAttempt   time.Time `json:"next_attempt,omitzero"`
	// Mirror is how reading the list from the peer's mirror goes; absent
	// for a peer registered without one.
	Mirror *MirrorStatus `json:"mirror,omitempty"`
}

// Sources a pull step was read from.
const (
	SourceMirror = "mirror"
	SourceNode   = "node"
)

// MirrorStatus is how reading a peer's list from its mirror (a published
// tree) goes: whether the tree is behind the peer's log as the peer
// itself, or a witness, shows it, and where the last pull read from.
type MirrorStatus struct {
	URL string `json:"url"`
	// Source is where the last successful pull read the list: mirror, or
	// node after a fallback.
	Source string `json:"source,omitempty" enums:"mirror,node"`
	// Behind: the tree's checkpoint is older than one the peer or a
	// witness showed (or than the one already trusted here), so the last
	// pull fell back to the peer. CheckpointSize is the tree's log size,
	// NewestSize the largest verified size known, and NewestFrom who
	// showed it (node, witness, or trusted).
	Behind         bool   `json:"behind"`
	CheckpointSize int64  `json:"checkpoint_size"`
	NewestSize     int64  `json:"newest_size"`
	NewestFrom     string `json:"newest_from,omitempty"`
	// LastError is why the tree was last refused or could not be read (a
	// success from the tree clears it).
	LastError string `json:"last_error,omitempty"`
	// RecordsOwed: steps were verified from the tree while the peer could
	// not be reached for their records; they are imported once it answers
	// (Version runs ahead of Applied until then).
	RecordsOwed bool `json:"records_owed,omitempty"`
	// Fallbacks counts pulls read from the node because the tree was
	// behind or refused.
	Fallbacks uint64 `json:"fallbacks"`
}
