package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/hashhub/hashhub/audit"
	"github.com/hashhub/hashhub/entries"
	"github.com/hashhub/hashhub/hashes"
	"github.com/hashhub/hashhub/lists"
	"github.com/hashhub/hashhub/orgs"
)

// ---- organisations and users ----

// Org reads an organisation by id.
func (t *Tx) Org(id string) (*orgs.Org, error) {
	var o orgs.Org
	return &o, t.get(bOrgs, id, &o)
}

// OrgIDByName looks up an organisation id by its unique name.
func (t *Tx) OrgIDByName(name string) (string, error) {
	v := t.b(bOrgNames).Get([]byte(name))
	if v == nil {
		return "", ErrNotFound
	}
	return string(v), nil
}

// PutOrg writes an organisation and its name index.
func (t *Tx) PutOrg(o *orgs.Org) error {
	if err := t.b(bOrgNames).Put([]byte(o.Name), []byte(o.ID)); err != nil {
		return err
	}
	return t.put(bOrgs, o.ID, o)
}

// Orgs lists organisations in id order, starting after cursor.
func (t *Tx) Orgs(after string, limit int) ([]orgs.Org, error) {
	var out []orgs.Org
	err := t.scan(bOrgs, "", after, func(k, v []byte) (bool, error) {
		if string(k) == after {
			return true, nil
		}
		var o orgs.Org
		if err := json.Unmarshal(v, &o); err != nil {
			return false, err
		}
		out = append(out, o)
		return len(out) < limit, nil
	})
	return out, err
}

// User reads a user by id.
func (t *Tx) User(id string) (*orgs.User, error) {
	var u orgs.User
	return &u, t.get(bUsers, id, &u)
}

// UserByClientID finds the user a client id was issued to.
func (t *Tx) UserByClientID(clientID string) (*orgs.User, error) {
	v := t.b(bClients).Get([]byte(clientID))
	if v == nil {
		return nil, ErrNotFound
	}
	return t.User(string(v))
}

// PutUser writes a user and its client-id index.
func (t *Tx) PutUser(u *orgs.User) error {
	// A person (console sign-in) has no client credentials.
	if u.ClientID != "" {
		if err := t.b(bClients).Put([]byte(u.ClientID), []byte(u.ID)); err != nil {
			return err
		}
	}
	return t.put(bUsers, u.ID, u)
}

// Users lists the users of an organisation.
func (t *Tx) Users(org string) ([]orgs.User, error) {
	var out []orgs.User
	err := t.scan(bUsers, "", "", func(_, v []byte) (bool, error) {
		var u orgs.User
		if err := json.Unmarshal(v, &u); err != nil {
			return false, err
		}
		if u.Org == org {
			out = append(out, u)
		}
		return true, nil
	})
	return out, err
}

// ---- entries ----

// Entries live in bEntries keyed by an 8-byte sequence number assigned at
// creation, so new entries are appends (bbolt's fast path) and a scan runs
// oldest first. bIndex maps each hash's IndexKey to the sequence numbers of
// the entries with that key (almost always one); only this small index
// takes random inserts. bChanges is the change feed: one append per
// rewrite of an existing entry, naming its sequence number.

// Entry reads an entry by its key (algo:value).
func (t *Tx) Entry(key string) (*entries.Entry, error) {
	algo, value, ok := strings.Cut(key, ":")
	if !ok {
		return nil, ErrNotFound
	}
	return t.EntryByHash(hashes.Hash{Algo: algo, Value: value})
}

// EntryByHash reads the entry of a hash.
func (t *Tx) EntryByHash(h hashes.Hash) (*entries.Entry, error) {
	return t.EntryByIndexKey(IndexKey(h), h)
}

// EntryByIndexKey reads the entry of h, whose IndexKey the caller has
// computed already (e.g. to sort a batch).
func (t *Tx) EntryByIndexKey(ik []byte, h hashes.Hash) (*entries.Entry, error) {
	seqs := t.b(bIndex).Get(ik)
	if len(seqs)%8 != 0 {
		return nil, fmt.Errorf("index %x: %w", ik, errCorrupt)
	}
	for ; len(seqs) > 0; seqs = seqs[8:] {
		e, err := t.entryAt(seqs[:8])
		if err != nil {
			return nil, err
		}
		if e.Algo == h.Algo && e.Value == h.Value {
			return e, nil
		}
	}
	return nil, ErrNotFound
}

func (t *Tx) entryAt(seq []byte) (*entries.Entry, error) {
	raw := t.b(bEntries).Get(seq)
	if raw == nil {
		return nil, fmt.Errorf("entry %x indexed but missing: %w", seq, errCorrupt)
	}
	e, err := decodeEntry(raw)
	if err != nil {
		return nil, fmt.Errorf("entry %x: %w", seq, err)
	}
	e.Seq = binary.BigEndian.Uint64(seq)
	return e, nil
}

// PutEntry writes an entry: a new one when e.Seq is zero, which assigns
// its sequence number (ik is its IndexKey when the caller has it, or nil).
// A new entry needs no change-feed record: the entries bucket's tail is the
// feed of creations. Rewriting an existing entry appends its number to the
// change feed. Callers that write many new entries should do so in IndexKey
// order: bbolt inserts sorted keys far faster than random ones.
func (t *Tx) PutEntry(e *entries.Entry, ik []byte) error {
	eb := t.b(bEntries)
	isNew := e.Seq == 0
	if isNew {
		eb.FillPercent = 1.0 // appends: pack pages full
		n, err := eb.NextSequence()
		if err != nil {
			return err
		}
		if ik == nil {
			ik = IndexKey(e.Hash)
		}
		e.Seq = n
		ib := t.b(bIndex)
		// Another hash may share the index key: keep both numbers.
		seqs := append(t.keep(ib.Get(ik)), t.seqKey(n)...)
		if err := ib.Put(t.keep(ik), t.keep(seqs)); err != nil {
			return err
		}
	}
	// bbolt keeps references to keys and values until commit, so they are
	// carved from the transaction's arena rather than a reused buffer.
	if err := eb.Put(t.seqKey(e.Seq), t.encodeEntry(e)); err != nil {
		return err
	}
	if isNew {
		return nil
	}
	return t.appendSeq(bChanges, t.seqKey(e.Seq))
}

// ChangesAfter calls fn with the sequence numbers of entries rewritten
// after change number `after`, in order (an entry may appear more than
// once), and the change number of each.
func (t *Tx) ChangesAfter(after uint64, fn func(change, entrySeq uint64) (bool, error)) error {
	c := t.b(bChanges).Cursor()
	for k, v := c.Seek(seqKey(after + 1)); k != nil; k, v = c.Next() {
		more, err := fn(binary.BigEndian.Uint64(k), binary.BigEndian.Uint64(v))
		if err != nil || !more {
			return err
		}
	}
	return nil
}

func (t *Tx) appendSeq(bucket, v []byte) error {
	b := t.b(bucket)
	b.FillPercent = 1.0 // append-only: pack pages full
	n, err := b.NextSequence()
	if err != nil {
		return err
	}
	return b.Put(t.seqKey(n), v)
}

// EntriesByCreated calls fn for entries oldest first, starting after the
// given sequence number; fn returns false to stop.
func (t *Tx) EntriesByCreated(after uint64, fn func(e *entries.Entry) (bool, error)) error {
	c := t.b(bEntries).Cursor()
	for k, v := c.Seek(seqKey(after + 1)); k != nil; k, v = c.Next() {
		e, err := decodeEntry(v)
		if err != nil {
			return fmt.Errorf("entry %x: %w", k, err)
		}
		e.Seq = binary.BigEndian.Uint64(k)
		more, err := fn(e)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// EntryCount returns the number of stored entries.
func (t *Tx) EntryCount() int { return t.b(bIndex).Stats().KeyN }

// ---- feedback and disputes ----

// PutFeedback stores feedback under its entry so history reads are one scan.
func (t *Tx) PutFeedback(f *entries.Feedback) error {
	return t.put(bFeedback, f.Entry+"\x00"+f.ID, f)
}

// FeedbackFor lists the feedback on an entry, oldest first.
func (t *Tx) FeedbackFor(entry string) ([]entries.Feedback, error) {
	var out []entries.Feedback
	err := t.scan(bFeedback, entry+"\x00", "", func(_, v []byte) (bool, error) {
		var f entries.Feedback
		if err := json.Unmarshal(v, &f); err != nil {
			return false, err
		}
		out = append(out, f)
		return true, nil
	})
	return out, err
}

// NextID returns a new id with the given prefix, zero-padded so ids sort in
// creation order.
func (t *Tx) NextID(prefix string) (string, error) {
	n, err := t.b(bMeta).NextSequence()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s%012d", prefix, n), nil
}

// Dispute reads a dispute.
func (t *Tx) Dispute(id string) (*entries.Dispute, error) {
	var d entries.Dispute
	return &d, t.get(bDisputes, id, &d)
}

// PutDispute writes a dispute.
func (t *Tx) PutDispute(d *entries.Dispute) error { return t.put(bDisputes, d.ID, d) }

// Disputes calls fn for disputes in creation order after the given id.
func (t *Tx) Disputes(after string, fn func(*entries.Dispute) (bool, error)) error {
	return t.scan(bDisputes, "", after, func(k, v []byte) (bool, error) {
		if string(k) == after {
			return true, nil
		}
		var d entries.Dispute
		if err := json.Unmarshal(v, &d); err != nil {
			return false, err
		}
		return fn(&d)
	})
}

// DisputesFor lists the disputes of one entry.
func (t *Tx) DisputesFor(entry string) ([]entries.Dispute, error) {
	var out []entries.Dispute
	err := t.Disputes("", func(d *entries.Dispute) (bool, error) {
		if d.Entry == entry {
			out = append(out, *d)
		}
		return true, nil
	})
	return out, err
}

// ---- lists ----

// List reads a list by name.
func (t *Tx) List(name string) (*lists.List, error) {
	var l lists.List
	return &l, t.get(bLists, name, &l)
}

// PutList writes a list.
func (t *Tx) PutList(l *lists.List) error { return t.put(bLists, l.Name, l) }

// Lists returns every list, by name.
func (t *Tx) Lists() ([]lists.List, error) {
	var out []lists.List
	err := t.scan(bLists, "", "", func(_, v []byte) (bool, error) {
		var l lists.List
		if err := json.Unmarshal(v, &l); err != nil {
			return false, err
		}
		out = append(out, l)
		return true, nil
	})
	return out, err
}

// ---- audit ----

// auditHead is the last event's sequence and hash, kept in meta so that
// deleting events from the end of the chain is detectable.
type auditHead struct {
	Seq  uint64 `json:"seq"`
	Hash string `json:"hash"`
}

const metaAuditHead = "audit_head"

// AppendAudit chains e onto the audit log inside this transaction, so the
// event commits together with the change it records.
func (t *Tx) AppendAudit(e *audit.Event) error {
	var head auditHead
	if err := t.get(bMeta, metaAuditHead, &head); err != nil && err != ErrNotFound {
		return err
	}
	e.Seq = head.Seq + 1
	e.Prev = head.Hash
	e.Time = e.Time.UTC()
	e.Seal()
	b := t.b(bAudit)
	b.FillPercent = 1.0
	raw, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if err := b.Put(seqKey(e.Seq), raw); err != nil {
		return err
	}
	return t.put(bMeta, metaAuditHead, auditHead{e.Seq, e.Hash})
}

// AuditHead returns the recorded head of the audit chain.
func (t *Tx) AuditHead() (uint64, string, error) {
	var head auditHead
	if err := t.get(bMeta, metaAuditHead, &head); err != nil && err != ErrNotFound {
		return 0, "", err
	}
	return head.Seq, head.Hash, nil
}

// AuditEvents calls fn with each stored event's key sequence and raw bytes,
// in order, starting after seq.
func (t *Tx) AuditEvents(after uint64, fn func(seq uint64, raw []byte) (bool, error)) error {
	c := t.b(bAudit).Cursor()
	for k, v := c.Seek(seqKey(after + 1)); k != nil; k, v = c.Next() {
		if len(k) != 8 {
			return fmt.Errorf("audit key %x is not a sequence number", k)
		}
		more, err := fn(binary.BigEndian.Uint64(k), slices.Clone(v))
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// ---- idempotency ----

// IdemRecord is the stored outcome of a creating request.
type IdemRecord struct {
	Fingerprint string `json:"fingerprint"`
	Status      int    `json:"status"`
	ContentType string `json:"content_type"`
	Body        []byte `json:"body,omitempty"`
	// Withheld marks an outcome whose answer held a secret: only that the
	// request succeeded is kept.
	Withheld bool  `json:"withheld,omitempty"`
	Time     int64 `json:"time"`
}

// Idem reads a stored outcome.
func (t *Tx) Idem(key string) (*IdemRecord, error) {
	var r IdemRecord
	return &r, t.get(bIdem, key, &r)
}

// PutIdem stores an outcome.
func (t *Tx) PutIdem(key string, r *IdemRecord) error { return t.put(bIdem, key, r) }

// SweepIdem deletes outcomes stored before the given Unix time and returns
// how many it deleted.
func (t *Tx) SweepIdem(before int64) (int, error) {
	var stale [][]byte
	err := t.scan(bIdem, "", "", func(k, v []byte) (bool, error) {
		var r IdemRecord
		if err := json.Unmarshal(v, &r); err != nil || r.Time < before {
			stale = append(stale, slices.Clone(k))
		}
		return true, nil
	})
	if err != nil {
		return 0, err
	}
	b := t.b(bIdem)
	for _, k := range stale {
		if err := b.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(stale), nil
}
