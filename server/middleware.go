package server

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/hashhub/hashhub/hub"
	"github.com/hashhub/hashhub/orgs"
	"github.com/hashhub/hashhub/store"
)

const actorKey = "hashhub.actor"

func actor(c *gin.Context) hub.Actor { return c.MustGet(actorKey).(hub.Actor) }

// recoverer turns a panic into a logged 500 problem.
func (s *Server) recoverer(c *gin.Context) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v) // a handler cutting its answer short: net/http aborts it
			}
			s.log.Error("panic", slog.Any("panic", v), slog.String("path", c.Request.URL.Path))
			if !c.Writer.Written() {
				writeProblem(c, pInternal.with("the node could not complete the request; it has been logged"))
			}
		}
	}()
	c.Next()
}

// observe logs each request as JSON and records metrics.
func (s *Server) observe(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	d := time.Since(start)
	code := c.Writer.Status()
	s.metrics.observe(c.Request.Method, route, code, d)
	attrs := []any{slog.String("method", c.Request.Method), slog.String("route", route),
		slog.Int("status", code), slog.Duration("duration", d), slog.Int("bytes", c.Writer.Size())}
	if a, ok := c.Get(actorKey); ok {
		attrs = append(attrs, slog.String("user", a.(hub.Actor).User), slog.String("org", a.(hub.Actor).Org))
	}
	s.log.Info("request", attrs...)
}

// refuseMedia refuses any request that carries media or a multipart upload,
// before anything reads the body: the node never receives media.
func (s *Server) refuseMedia(c *gin.Context) {
	ct := c.GetHeader("Content-Type")
	if ct == "" {
		c.Next()
		return
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		writeProblem(c, pContentType.with(fmt.Sprintf("cannot parse Content-Type %q", ct)))
		return
	}
	if isMedia(mt) {
		writeProblem(c, pMedia.with(fmt.Sprintf("%s: hashhub accepts only hashes, URLs and metadata, never media or uploads", mt)))
		return
	}
	c.Next()
}

func isMedia(mt string) bool {
	for _, p := range []string{"image/", "video/", "audio/", "multipart/", "model/", "font/"} {
		if strings.HasPrefix(mt, p) {
			return true
		}
	}
	return mt == "application/octet-stream" || mt == "application/zip" || mt == "application/pdf"
}

// limitBody caps the request body; reading past the cap fails with a
// *http.MaxBytesError that maps to 413.
func (s *Server) limitBody(n int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength > n {
			writeProblem(c, pTooLarge.with(fmt.Sprintf("the body of %d bytes exceeds this endpoint's limit of %d", c.Request.ContentLength, n)))
			return
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, n)
		c.Next()
	}
}

// requireContentType accepts only the listed media types.
func requireContentType(types ...string) gin.HandlerFunc {
	return func(c *gin.Context) {
		mt, params, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
		if !slices.Contains(types, mt) {
			got := mt
			if got == "" {
				got = "none"
			}
			writeProblem(c, pContentType.with(fmt.Sprintf("Content-Type %s; this endpoint accepts %s", got, strings.Join(types, ", "))))
			return
		}
		// Bodies are read as UTF-8, whatever they say: refuse one that
		// says it is something else rather than misread it.
		if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
			writeProblem(c, pContentType.with(fmt.Sprintf("charset %q; this endpoint reads UTF-8 only (charset=utf-8 or none)", cs)))
			return
		}
		c.Next()
	}
}

// authenticate requires a valid bearer token and puts its actor on the context.
func (s *Server) authenticate(c *gin.Context) {
	h := c.GetHeader("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if h == "" || !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		writeProblem(c, pUnauthorized.with("send Authorization: Bearer <token> from POST /v1/oauth/token"))
		return
	}
	cl, err := s.tokens.Verify(strings.TrimSpace(tok))
	if err != nil {
		// The reason (expired, wrong audience, bad signature…) is the
		// client's own token's; safe to say, useful to fix.
		writeProblem(c, pInvalidToken.with(err.Error()))
		return
	}
	role := orgs.Role(cl.Role)
	if !role.Valid() {
		writeProblem(c, pInvalidToken.with("token names an unknown role"))
		return
	}
	c.Set(actorKey, hub.Actor{User: cl.Subject, Org: cl.Org, Role: role, Jurisdiction: cl.Jurisdiction})
	c.Next()
}

// authorize allows only the listed roles.
func (s *Server) authorize(allowed []orgs.Role) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !slices.Contains(allowed, actor(c).Role) {
			writeProblem(c, pForbidden.with(fmt.Sprintf("role %s may not use this endpoint", actor(c).Role)))
			return
		}
		c.Next()
	}
}

// IdempotencyTTL is how long a stored outcome answers a retried request.
const IdempotencyTTL = 24 * time.Hour

const replayKey = "hashhub.replay"

// idempotent honours the Idempotency-Key header on creating POSTs: the
// first successful outcome is stored and replayed for a retry with the same
// key; the same key with a different body is refused. Keys are scoped to
// the user, method and route. fingerprintBody is false for streamed imports,
// whose body is too large to read twice.
//
// The outcome is stored in the change's own transaction: the middleware
// puts a slot on the context, the handler says how it answers the domain's
// result (replayable), and the domain's write path keeps that answer before
// it commits. A node that stops after the commit and before its answer
// reaches the client thus answers the retry with the original outcome
// instead of making the change a second time.
func (s *Server) idempotent(fingerprintBody bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		key := c.GetHeader("Idempotency-Key")
		if key == "" {
			c.Next()
			return
		}
		if len(key) > 255 {
			p := pInvalid.with("Idempotency-Key longer than 255 characters")
			p.Field = "Idempotency-Key"
			writeProblem(c, p)
			return
		}
		a := actor(c)
		scoped := a.User + " " + c.Request.Method + " " + c.Request.URL.Path + " " + key
		fp := sha256.New()
		fmt.Fprintf(fp, "%s\n%s\n", c.Request.URL.RawQuery, c.GetHeader("Content-Type"))
		if !fingerprintBody {
			// A streamed body is not read twice; its length stands in,
			// so a different import under a reused key is refused.
			fmt.Fprintf(fp, "%d\n", c.Request.ContentLength)
		} else {
			body, err := readBody(c)
			if err != nil {
				s.fail(c, err)
				return
			}
			fp.Write(body)
		}
		fingerprint := hex.EncodeToString(fp.Sum(nil))

		s.idemMu.Lock()
		if s.idemInFlight[scoped] {
			s.idemMu.Unlock()
			writeProblem(c, pIdemInFlight.with("retry when the first request has finished"))
			return
		}
		s.idemInFlight[scoped] = true
		s.idemMu.Unlock()
		defer func() {
			s.idemMu.Lock()
			delete(s.idemInFlight, scoped)
			s.idemMu.Unlock()
		}()

		var rec *store.IdemRecord
		err := s.hub.DB().View(func(tx *store.Tx) (err error) {
			rec, err = tx.Idem(scoped)
			return err
		})
		if err == nil && time.Since(time.Unix(rec.Time, 0)) < IdempotencyTTL {
			if rec.Fingerprint != fingerprint {
				writeProblem(c, pIdemReused.with("this Idempotency-Key was used for a different request"))
				return
			}
			if rec.Withheld {
				writeProblem(c, pIdemWithheld.with(fmt.Sprintf("the first request with this key succeeded (%d); its answer held a secret that is shown only once and was not kept", rec.Status)))
				return
			}
			c.Header("Idempotent-Replayed", "true")
			c.Data(rec.Status, rec.ContentType, rec.Body)
			c.Abort()
			return
		}
		slot := &replaySlot{key: scoped, fingerprint: fingerprint}
		c.Set(replayKey, slot)
		w := &teeWriter{ResponseWriter: c.Writer, slot: slot}
		c.Writer = w
		c.Next()
		if st := w.Status(); st >= 200 && st < 300 && !w.overflow && !slot.kept {
			// A handler that does not use replayable: its outcome is kept
			// after the answer, in a transaction of its own, which a crash
			// between the two can lose (TestIdempotencyKeyCrash fails for
			// a creating route that takes this path).
			rec := &store.IdemRecord{Fingerprint: fingerprint, Status: st, ContentType: w.Header().Get("Content-Type"),
				Body: w.buf, Time: time.Now().Unix()}
			// An answer marked no-store (one carrying a client secret) is
			// never written to disk: only that the request succeeded.
			if strings.Contains(w.Header().Get("Cache-Control"), "no-store") {
				rec.Body, rec.ContentType, rec.Withheld = nil, "", true
			}
			if err := s.hub.DB().Update(func(tx *store.Tx) error { return tx.PutIdem(scoped, rec) }); err != nil {
				s.log.Error("store idempotency record", slog.Any("err", err))
			}
		}
	}
}

// replaySlot is a request's Idempotency-Key slot: the domain calls Keep in
// the transaction of the change, and Keep stores the answer the handler
// will give (answer renders the domain's result as status and body).
type replaySlot struct {
	key, fingerprint string
	answer           func(result any) (int, any)
	// withheld keeps only that the request succeeded: its answer holds a
	// secret shown once.
	withheld bool
	kept     bool
}

// Keep implements hub.Replay.
func (r *replaySlot) Keep(tx *store.Tx, result any) error {
	if r.answer == nil {
		return nil
	}
	status, body := r.answer(result)
	rec := &store.IdemRecord{Fingerprint: r.fingerprint, Status: status, Time: time.Now().Unix()}
	if r.withheld {
		rec.Withheld = true
	} else {
		// The bytes gin's c.JSON writes for the same value.
		raw, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("keep the answer for a replay: %w", err)
		}
		rec.Body, rec.ContentType = raw, jsonContentType
	}
	if err := tx.PutIdem(r.key, rec); err != nil {
		return err
	}
	r.kept = true
	return nil
}

// jsonContentType is the Content-Type of gin's c.JSON.
const jsonContentType = "application/json; charset=utf-8"

// replayable returns the request's actor, carrying its Idempotency-Key slot
// when it has one. answer is how the handler answers the domain's result:
// the handler answers with c.JSON(answer(result)), and the same answer is
// kept in the change's transaction for a retry.
func replayable[T any](c *gin.Context, answer func(T) (int, any)) hub.Actor {
	a := actor(c)
	if v, ok := c.Get(replayKey); ok {
		slot := v.(*replaySlot)
		slot.answer = func(result any) (int, any) { return answer(result.(T)) }
		a.Replay = slot
	}
	return a
}

// replayableSecret is replayable for an answer that holds a secret shown
// once: a retry learns only that the first request succeeded with status.
func replayableSecret(c *gin.Context, status int) hub.Actor {
	a := replayable(c, func(any) (int, any) { return status, nil })
	if a.Replay != nil {
		a.Replay.(*replaySlot).withheld = true
	}
	return a
}

// afterCommit, when set (by tests only), runs when a handler starts a
// successful answer to a request with an Idempotency-Key: after its change
// committed and before any byte of the answer is written. The crash test
// stops the process there.
var afterCommit func()

// teeWriter keeps a copy of a (small) response body for a handler that
// does not keep its answer in the change's transaction; a body over 1 MiB
// is not kept (overflow) and its request is not replayable.
type teeWriter struct {
	gin.ResponseWriter
	slot     *replaySlot
	buf      []byte
	overflow bool
}

func (w *teeWriter) Write(b []byte) (int, error) {
	if afterCommit != nil && !w.Written() && w.Status() >= 200 && w.Status() < 300 {
		afterCommit()
	}
	if len(w.buf)+len(b) <= 1<<20 {
		w.buf = append(w.buf, b...)
	} else {
		w.overflow = true
	}
	return w.ResponseWriter.Write(b)
}

func (w *teeWriter) WriteString(s string) (int, error) { return w.Write([]byte(s)) }
