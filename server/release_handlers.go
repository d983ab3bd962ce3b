package server

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/hashhub/hashhub/hashes"
	"github.com/hashhub/hashhub/hub"
	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/release"
	"github.com/hashhub/hashhub/translog"
)

// Keys is the node's published verification keys.
type Keys struct {
	Node string `json:"node"`
	// ReleaseKeyPEM verifies manifest signatures (ECDSA P-256, SHA-256).
	ReleaseKeyPEM string `json:"release_key_pem"`
	ReleaseKeyID  string `json:"release_key_id"`
	// LogVerifierKey verifies checkpoints (a signed-note Ed25519 verifier key).
	LogVerifierKey string `json:"log_verifier_key"`
	LogOrigin      string `json:"log_origin"`
	// NodeKeyPEM is the node's Ed25519 key: it signs the client assertions
	// the node authenticates with at its peers (and its access tokens).
	NodeKeyPEM string `json:"node_key_pem"`
	// WitnessVerifierKey verifies this node's cosignatures of its peers'
	// checkpoints (cosignature/v1).
	WitnessVerifierKey string `json:"witness_verifier_key,omitempty"`
	// Rotations lead from earlier release keys to the current one, each
	// signed by the key it replaces and by its successor.
	Rotations []release.SignedRotation `json:"rotations"`
} // @name Keys

// keys godoc
//
//	@Summary		The node's public keys
//	@ID			listKeys
//	@Description	Pin these out of band before a first pull: the release key verifies manifests (also with cosign or openssl), the log key verifies checkpoints.
//	@Tags			releases
//	@Produce		json
//	@Success		200	{object}	Keys
//	@Security
//	@Router			/v1/keys [get]
func (s *Server) keys(c *gin.Context) {
	c.JSON(http.StatusOK, s.PublicKeys())
}

// PublicKeys is what GET /v1/keys answers; a published tree holds the
// same as keys.json.
func (s *Server) PublicKeys() Keys {
	k := Keys{Node: s.hub.NodeID(), LogVerifierKey: s.hub.LogVerifierKey(), Rotations: s.cfg.Rotations}
	if k.Rotations == nil {
		k.Rotations = []release.SignedRotation{}
	}
	if s.cfg.Witness != nil {
		k.WitnessVerifierKey = s.cfg.Witness.VerifierKey()
	}
	if pemBytes, err := cryptoutils.MarshalPublicKeyToPEM(s.tokens.PublicKey()); err == nil {
		k.NodeKeyPEM = string(pemBytes)
	}
	if s.cfg.Signer != nil {
		k.ReleaseKeyPEM, k.ReleaseKeyID = string(s.cfg.Signer.PublicKeyPEM()), s.cfg.Signer.KeyID()
	}
	if s.cfg.LogSigner != nil {
		k.LogOrigin = s.cfg.LogSigner.Origin()
	}
	return k
}

// releaseKeyPEM godoc
//
//	@Summary	The release public key as a PEM file (for cosign and openssl)
//	@ID		getReleaseKeyPEM
//	@Tags		releases
//	@Produce	application/x-pem-file
//	@Success	200	{string}	string
//	@Security
//	@Router		/v1/keys/release.pem [get]
func (s *Server) releaseKeyPEM(c *gin.Context) {
	c.Data(http.StatusOK, "application/x-pem-file", s.cfg.Signer.PublicKeyPEM())
}

// buildRelease godoc
//
//	@Summary		Publish the next version of a list
//	@ID			buildRelease
//	@Description	Builds version N+1 from the entries that qualify now; work is proportional to what changed since N. A list with no change still gets a new version, moving its expiry forward.
//	@Tags			releases
//	@Produce		json
//	@Security		Bearer
//	@Param			name	path		string	true	"list name"
//	@Success		201		{object}	release.Manifest
//	@Failure		401,403,404	{object}	Problem
//	@Router			/v1/lists/{name}/releases [post]
func (s *Server) buildRelease(c *gin.Context) {
	m, err := s.hub.BuildRelease(replayable(c, released), c.Param("name"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(released(m))
}

func released(m *release.Manifest) (int, any) { return http.StatusCreated, m }

// Long polls on the latest release.
const (
	DefaultLongPoll = 30 * time.Second
	MaxLongPoll     = 60 * time.Second
)

// LatestRelease points at a list's newest version.
type LatestRelease struct {
	hub.ReleaseInfo
	Manifest  string `json:"manifest" example:"/v1/lists/verified/releases/3/manifest.json"`
	Signature string `json:"signature" example:"/v1/lists/verified/releases/3/manifest.sig"`
	Snapshot  string `json:"snapshot" example:"/v1/lists/verified/snapshot?version=3"`
} // @name LatestRelease

// latestRelease godoc
//
//	@Summary		A list's latest version and links
//	@ID			getLatestRelease
//	@Description	Not cacheable for long (it changes with each release); everything it points at is immutable.
//	@Description	With after=N it is a long poll: the answer waits (up to wait seconds, default 30, at most 60) until a version newer than N exists, so that a release reaches peers and platforms within moments. A poll that times out answers the latest version as it is.
//	@Tags			releases
//	@Produce		json
//	@Security		Bearer
//	@Param			name	path		string	true	"list name"
//	@Param			after	query		int		false	"wait for a version newer than this"
//	@Param			wait	query		int		false	"seconds to wait (default 30, at most 60)"
//	@Success		200		{object}	LatestRelease
//	@Failure		401,404,422	{object}	Problem
//	@Router			/v1/lists/{name}/releases/latest [get]
func (s *Server) latestRelease(c *gin.Context) {
	l, ok := s.readableList(c)
	if !ok {
		return
	}
	after, ok := s.uintQuery(c, "after", 0)
	if !ok {
		return
	}
	wait, ok := s.uintQuery(c, "wait", uint64(DefaultLongPoll/time.Second))
	if !ok {
		return
	}
	var deadline <-chan time.Time
	if c.Query("after") != "" {
		t := time.NewTimer(min(time.Duration(wait)*time.Second, MaxLongPoll))
		defer t.Stop()
		deadline = t.C
	}
	// The signal is taken before each read, so that a release in between
	// is not missed; a poll that times out reads once more and answers.
	expired := deadline == nil
	var ri *hub.ReleaseInfo
	var err error
	for {
		signal := s.hub.ReleaseSignal()
		ri, err = s.hub.Releases(l.Name)
		waiting := errors.Is(err, hub.ErrNotReleaseState) || (err == nil && ri.Latest <= after)
		if expired || !waiting {
			break
		}
		select {
		case <-signal:
		case <-deadline:
			expired = true
		case <-s.draining:
			// The node is shutting down: answer what there is now; the
			// poller asks again (elsewhere, or here after the restart).
			expired = true
		case <-c.Request.Context().Done():
			return
		}
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	base := fmt.Sprintf("/v1/lists/%s/releases/%d/", l.Name, ri.Latest)
	setCache(c, cachePrivateRecheck)
	c.JSON(http.StatusOK, LatestRelease{ReleaseInfo: *ri, Manifest: base + "manifest.json", Signature: base + "manifest.sig",
		Snapshot: fmt.Sprintf("/v1/lists/%s/snapshot?version=%d", l.Name, ri.Latest)})
}

// Cache-Control of release artifacts. Who may keep a copy follows who
// may read it. Keys, the checkpoint and log proofs are served without a
// token, so any cache may keep and share them. Every list route needs a
// token and answers only the list's readers (readableList): no list is
// readable without restriction, so none is public to a cache, and its
// manifests, deltas, snapshots and entry proofs (and the log's leaves,
// which are manifests) are private: the asker's own cache may keep them,
// a shared cache or CDN may not, whatever the list's readers.
const (
	cachePublicForever  = "public, max-age=31536000, immutable"
	cachePrivateForever = "private, max-age=31536000, immutable"
	cachePrivateRecheck = "private, no-cache"
)

// setCache sets Cache-Control; a private answer also varies by the
// Authorization that decided it.
func setCache(c *gin.Context, cc string) {
	c.Header("Cache-Control", cc)
	if strings.HasPrefix(cc, "private") {
		c.Writer.Header().Add("Vary", "Authorization")
	}
}

// immutable marks an artifact that never changes with a strong ETag and
// the given Cache-Control, and answers 304 to a matching If-None-Match.
func immutable(c *gin.Context, body []byte, cc string) bool {
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	c.Header("ETag", etag)
	setCache(c, cc)
	if c.GetHeader("If-None-Match") == etag {
		c.Status(http.StatusNotModified)
		return true
	}
	return false
}

func (s *Server) versionParam(c *gin.Context, name string) (uint64, bool) {
	v, err := strconv.ParseUint(c.Param(name), 10, 64)
	if err != nil || v == 0 {
		p := pInvalid.with(fmt.Sprintf("%s: a version is a positive integer", name))
		p.Field = name
		writeProblem(c, p)
		return 0, false
	}
	return v, true
}

// manifestFile godoc
//
//	@Summary		A version's manifest or its signature
//	@ID			getReleaseFile
//	@Description	manifest.json is the exact signed bytes; manifest.sig is the base64 DER ECDSA signature (cosign verify-blob and openssl dgst -sha256 -verify accept them); manifest.sigstore.json is the same signature as a Sigstore bundle (v0.3, public-key hint, no Sigstore log entries). Immutable, with a strong ETag.
//	@Tags			releases
//	@Produce		json
//	@Security		Bearer
//	@Param			name	path		string	true	"list name"
//	@Param			version	path		int		true	"version"
//	@Param			file	path		string	true	"manifest.json, manifest.sig or manifest.sigstore.json"
//	@Success		200		{object}	release.Manifest
//	@Failure		401,404,422	{object}	Problem
//	@Router			/v1/lists/{name}/releases/{version}/{file} [get]
func (s *Server) manifestFile(c *gin.Context) {
	l, ok := s.readableList(c)
	if !ok {
		return
	}
	v, ok := s.versionParam(c, "version")
	if !ok {
		return
	}
	file := c.Param("file")
	if file != "manifest.json" && file != "manifest.sig" && file != "manifest.sigstore.json" {
		writeProblem(c, pNoRoute.with("releases hold manifest.json, manifest.sig and manifest.sigstore.json"))
		return
	}
	m, sig, err := s.hub.Manifest(l.Name, v)
	if err != nil {
		s.fail(c, err)
		return
	}
	body, ctype := m, "application/json"
	switch file {
	case "manifest.sig":
		body, ctype = sig, "text/plain; charset=utf-8"
	case "manifest.sigstore.json":
		pm, err := release.ParseManifest(m)
		if err == nil {
			body, err = release.Bundle(m, sig, pm.KeyID)
		}
		if err != nil {
			s.fail(c, err)
			return
		}
	}
	if immutable(c, body, cachePrivateForever) {
		return
	}
	c.Data(http.StatusOK, ctype, body)
}

func (s *Server) uintQuery(c *gin.Context, name string, def uint64) (uint64, bool) {
	q := c.Query(name)
	if q == "" {
		return def, true
	}
	v, err := strconv.ParseUint(q, 10, 64)
	if err != nil {
		p := pInvalid.with(fmt.Sprintf("%s: a version is a non-negative integer", name))
		p.Field = name
		writeProblem(c, p)
		return 0, false
	}
	return v, true
}

func (s *Server) formatQuery(c *gin.Context) (hub.DeltaFormat, string, bool) {
	switch c.DefaultQuery("format", "ndjson") {
	case "ndjson":
		return hub.NDJSON, "application/x-ndjson", true
	case "csv":
		return hub.CSV, "text/csv; charset=utf-8", true
	}
	p := pInvalid.with("format: ndjson or csv")
	p.Field = "format"
	writeProblem(c, p)
	return 0, "", false
}

// delta godoc
//
//	@Summary		Changes between two versions
//	@ID			getDelta
//	@Description	NDJSON lines {"op":"add"|"remove"|"update","algo","value","quality","severity"}. A single step (to = from+1) is the recorded delta byte for byte, in key order: its SHA-256 is the manifest's delta.sha256. A longer range is compacted (last change per entry wins), in key order; from=0 to the latest version N > 1 is the whole list as adds, in the snapshot's set-root order (bucket, then leaf hash), not key order. A from older than the retention window answers 410 with the snapshot's address. Immutable when to is given.
//	@Tags			releases
//	@Produce		application/x-ndjson
//	@Produce		text/csv
//	@Security		Bearer
//	@Param			name	path		string	true	"list name"
//	@Param			from	query		int		true	"the version the client has (0 for none)"
//	@Param			to		query		int		false	"the version wanted (default latest)"
//	@Param			format	query		string	false	"ndjson (default) or csv"
//	@Success		200		{string}	string
//	@Failure		401,404,410,422	{object}	Problem
//	@Router			/v1/lists/{name}/delta [get]
func (s *Server) delta(c *gin.Context) {
	l, ok := s.readableList(c)
	if !ok {
		return
	}
	if c.Query("from") == "" {
		p := pInvalid.with("from: required (the version you have; 0 for none)")
		p.Field = "from"
		writeProblem(c, p)
		return
	}
	from, ok := s.uintQuery(c, "from", 0)
	if !ok {
		return
	}
	to, ok := s.uintQuery(c, "to", 0)
	if !ok {
		return
	}
	format, ctype, ok := s.formatQuery(c)
	if !ok {
		return
	}
	explicitTo := to != 0
	to, err := s.hub.DeltaRange(l.Name, from, to)
	if err != nil {
		s.failRelease(c, l.Name, err)
		return
	}
	if explicitTo {
		setCache(c, cachePrivateForever)
		c.Header("ETag", fmt.Sprintf(`"%s-%d-%d-%d"`, l.Name, from, to, format))
	} else {
		setCache(c, cachePrivateRecheck)
	}
	c.Header("Content-Type", ctype)
	c.Header("X-Hashhub-Version", strconv.FormatUint(to, 10))
	c.Status(http.StatusOK)
	if err := s.hub.WriteDelta(c.Writer, l.Name, from, to, format); err != nil {
		// Headers are sent; the client sees a truncated body, which the
		// digest or set-root check refuses.
		s.log.Error("write delta", "list", l.Name, "err", err)
	}
}

// snapshot godoc
//
//	@Summary		A list's whole contents at a version
//	@ID			getSnapshot
//	@Description	One canonical line per entry, the bytes the set root covers (docs/release-format.md), in set-root order: by bucket (first two bytes of SHA-256 of algo:value), then by leaf hash (SHA-256 of the line), not in key order. Only the latest version is kept whole; an older one answers 410.
//	@Tags			releases
//	@Produce		application/x-ndjson
//	@Produce		text/csv
//	@Security		Bearer
//	@Param			name	path		string	true	"list name"
//	@Param			version	query		int		false	"version (default latest)"
//	@Param			format	query		string	false	"ndjson (default) or csv"
//	@Success		200		{string}	string
//	@Failure		401,404,410,422	{object}	Problem
//	@Router			/v1/lists/{name}/snapshot [get]
func (s *Server) snapshot(c *gin.Context) {
	l, ok := s.readableList(c)
	if !ok {
		return
	}
	v, ok := s.uintQuery(c, "version", 0)
	if !ok {
		return
	}
	format, ctype, ok := s.formatQuery(c)
	if !ok {
		return
	}
	started := false
	err := s.hub.WriteSnapshot(c.Writer, l.Name, v, format, func(latest uint64) {
		started = true
		c.Header("ETag", fmt.Sprintf(`"%s-snapshot-%d-%d"`, l.Name, latest, format))
		if v != 0 {
			setCache(c, cachePrivateForever)
		} else {
			setCache(c, cachePrivateRecheck)
		}
		c.Header("Content-Type", ctype)
		c.Header("X-Hashhub-Version", strconv.FormatUint(latest, 10))
		c.Status(http.StatusOK)
	})
	switch {
	case err != nil && !started:
		s.failRelease(c, l.Name, err)
	case err != nil:
		// Headers are sent; the client sees a truncated body, which the
		// set-root check refuses.
		s.log.Error("write snapshot", "list", l.Name, "err", err)
	}
}

// failRelease adds the snapshot's address to a 410.
func (s *Server) failRelease(c *gin.Context, list string, err error) {
	p := s.problemFor(c, err)
	if p.Status == http.StatusGone {
		p.Snapshot = "/v1/lists/" + list + "/snapshot"
		c.Header("Link", `<`+p.Snapshot+`>; rel="alternate"`)
	}
	writeProblem(c, p)
}

// InclusionProof proves a leaf is in a tree: base64 hashes, bottom-up.
type InclusionProof struct {
	Index int64    `json:"index"`
	Size  int64    `json:"size"`
	Proof []string `json:"proof"`
} // @name InclusionProof

// ConsistencyProof proves a tree of size Old is a prefix of one of size New.
type ConsistencyProof struct {
	Old   int64    `json:"old"`
	New   int64    `json:"new"`
	Proof []string `json:"proof"`
} // @name ConsistencyProof

// checkpoint godoc
//
//	@Summary		The transparency log's signed checkpoint
//	@ID			getCheckpoint
//	@Description	A C2SP tlog-checkpoint signed note (Ed25519 log key): origin, tree size, base64 root hash, signature lines.
//	@Tags			log
//	@Produce		plain
//	@Success		200	{string}	string
//	@Security
//	@Router			/v1/log/checkpoint [get]
func (s *Server) checkpoint(c *gin.Context) {
	cp, err := s.hub.Checkpoint()
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-cache")
	c.Data(http.StatusOK, "text/plain; charset=utf-8", cp)
}

func (s *Server) int64Query(c *gin.Context, name string) (int64, bool) {
	v, err := strconv.ParseInt(c.Query(name), 10, 64)
	if err != nil || v < 0 {
		p := pInvalid.with(name + ": a non-negative integer is required")
		p.Field = name
		writeProblem(c, p)
		return 0, false
	}
	return v, true
}

// inclusionProof godoc
//
//	@Summary	Proof that log leaf index is in the tree of a size
//	@ID		getInclusionProof
//	@Tags		log
//	@Produce	json
//	@Param		index	query		int	true	"leaf index (a manifest's log_index)"
//	@Param		size	query		int	true	"tree size (a checkpoint's)"
//	@Success	200		{object}	InclusionProof
//	@Failure	422		{object}	Problem
//	@Security
//	@Router		/v1/log/proof/inclusion [get]
func (s *Server) inclusionProof(c *gin.Context) {
	i, ok := s.int64Query(c, "index")
	if !ok {
		return
	}
	n, ok := s.int64Query(c, "size")
	if !ok {
		return
	}
	p, err := s.hub.InclusionProof(i, n)
	if err != nil {
		s.fail(c, err)
		return
	}
	setCache(c, cachePublicForever)
	c.JSON(http.StatusOK, InclusionProof{Index: i, Size: n, Proof: translog.EncodeProof(p)})
}

// consistencyProof godoc
//
//	@Summary	Proof that the tree of size old is a prefix of the tree of size new
//	@ID		getConsistencyProof
//	@Tags		log
//	@Produce	json
//	@Param		old	query		int	true	"older tree size (≥ 1)"
//	@Param		new	query		int	true	"newer tree size"
//	@Success	200	{object}	ConsistencyProof
//	@Failure	422	{object}	Problem
//	@Security
//	@Router		/v1/log/proof/consistency [get]
func (s *Server) consistencyProof(c *gin.Context) {
	old, ok := s.int64Query(c, "old")
	if !ok {
		return
	}
	n, ok := s.int64Query(c, "new")
	if !ok {
		return
	}
	p, err := s.hub.ConsistencyProof(old, n)
	if err != nil {
		s.fail(c, err)
		return
	}
	setCache(c, cachePublicForever)
	c.JSON(http.StatusOK, ConsistencyProof{Old: old, New: n, Proof: translog.EncodeProof(p)})
}

// LogLeafHash is what a caller who may not read a leaf's list gets: the
// leaf's RFC 6962 hash, enough to check the log's tree, nothing of the
// manifest (its list's name, size or set root).
type LogLeafHash struct {
	Index int64 `json:"index" example:"7"`
	// LeafHash is base64 SHA-256(0x00 || manifest bytes).
	LeafHash string `json:"leaf_hash" example:"Fz2c0vVJ7iX1pK4nQj1o5b1o0PZ0Yd1v9Fh0k2sZC2E="`
} // @name LogLeafHash

// logLeaf godoc
//
//	@Summary		A log leaf: the manifest at that index
//	@ID				getLogLeaf
//	@Description	A caller who may read the manifest's list gets the manifest's bytes; any other token holder gets only the leaf's hash (LogLeafHash), so the log does not reveal the names, sizes or set roots of lists one may not read. The answer depends on the caller: Cache-Control private, Vary Authorization.
//	@Tags			log
//	@Produce		json
//	@Security		Bearer
//	@Param			index	path		int	true	"leaf index"
//	@Success		200		{object}	release.Manifest
//	@Failure		401,422	{object}	Problem
//	@Router			/v1/log/leaves/{index} [get]
func (s *Server) logLeaf(c *gin.Context) {
	i, err := strconv.ParseInt(c.Param("index"), 10, 64)
	if err != nil || i < 0 {
		p := pInvalid.with("index: a non-negative integer")
		p.Field = "index"
		writeProblem(c, p)
		return
	}
	data, err := s.hub.LogLeaf(i)
	if err != nil {
		s.fail(c, err)
		return
	}
	if !s.mayReadLeaf(c, data) {
		h := tlog.RecordHash(data)
		data, err = json.Marshal(LogLeafHash{Index: i, LeafHash: base64.StdEncoding.EncodeToString(h[:])})
		if err != nil {
			s.fail(c, err)
			return
		}
	}
	// The same address answers readers and others differently: no shared
	// cache may keep it (immutable sets Vary: Authorization with private).
	if immutable(c, data, cachePrivateForever) {
		return
	}
	c.Data(http.StatusOK, "application/json", data)
}

// mayReadLeaf reports whether the caller may read the list whose manifest
// is the leaf. A leaf that names no list here (it cannot happen: the log
// holds only this node's manifests) is readable by no one but admins.
func (s *Server) mayReadLeaf(c *gin.Context, leaf []byte) bool {
	a := actor(c)
	if a.Role == orgs.Admin {
		return true
	}
	var m struct {
		List string `json:"list"`
	}
	if json.Unmarshal(leaf, &m) != nil {
		return false
	}
	l, err := s.hub.List(m.List)
	return err == nil && l.CanRead(a.Org, a.Role)
}

// entryProof godoc
//
//	@Summary		Proof that one entry is in a list's latest version
//	@ID			getEntryProof
//	@Description	The entry's snapshot line, every leaf hash of its set-root bucket and the bucket's audit path: with the manifest's set_root, setroot.VerifyProof (or the procedure in docs/release-format.md) checks it without the rest of the list. An entry not in the list answers 404.
//	@Tags			releases
//	@Produce		json
//	@Security		Bearer
//	@Param			name	path		string	true	"list name"
//	@Param			algo	query		string	true	"algorithm"
//	@Param			value	query		string	true	"hash value"
//	@Success		200		{object}	hub.EntryProof
//	@Failure		401,404,422	{object}	Problem
//	@Router			/v1/lists/{name}/proof [get]
func (s *Server) entryProof(c *gin.Context) {
	l, ok := s.readableList(c)
	if !ok {
		return
	}
	h, err := hashes.Parse(c.Query("algo"), c.Query("value"), nil)
	if err != nil {
		s.fail(c, err)
		return
	}
	p, err := s.hub.ProveEntry(l.Name, h.Key())
	if err != nil {
		s.fail(c, err)
		return
	}
	setCache(c, cachePrivateRecheck)
	c.JSON(http.StatusOK, p)
}
