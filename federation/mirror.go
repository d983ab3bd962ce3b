package federation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/hashhub/hashhub/client"
	"github.com/hashhub/hashhub/hub"
	"github.com/hashhub/hashhub/mirror"
	"github.com/hashhub/hashhub/peers"
)

// Syncing through a mirror. A peer registered with a mirror URL publishes
// its releases as a static tree (hashhub publish); its lists are read from
// the tree with the very pull used against the peer itself — client.Static
// is a mirror.Source like the peer's client — so the tree needs no trust.
// What the tree cannot vouch for is that it is current: a tree whose
// publisher stopped serves an old, validly signed state. So each round
// first compares the tree's checkpoint with the newest checkpoint of the
// peer's log known here — the peer's own (if it answers), the last one
// this node cosigned as a witness, and the one the local mirror already
// trusts — each believed only if the peer's log key signed it. A tree
// that is behind, unreadable or refused is reported and the round reads
// the peer itself; when the peer does not answer, a tree that is not
// behind what is held here is still read.
//
// The records behind each step (who assessed what) are not in a tree:
// they name organisations and analysts and are only for peers. They are
// fetched from the peer. A step verified from the tree while the peer is
// down is kept in the local mirror without being imported ("records
// owed": the store's cursor stays behind the mirror's version), and the
// steps owed are imported together, with their records, once the peer
// answers (settleOwed).

// freshness is what a round learnt about the tree's checkpoint.
type freshness struct {
	tree       int64 // the tree's log size
	newest     int64 // the largest verified size known
	newestFrom string
	trusted    int64 // the size the local mirror trusts
	nodeUp     bool  // the peer answered for its checkpoint
}

func (f *freshness) behind() bool { return f.tree < f.newest }

// freshness reads the tree's checkpoint and the newest one known. An
// error is the tree's: its checkpoint could not be read or is not signed
// by the peer's log key.
func (s *Syncer) freshness(ctx context.Context, m *mirror.Mirror, cl *client.Client, tree *client.Static, p *peers.Peer, log *slog.Logger) (*freshness, error) {
	st, err := m.State()
	if err != nil {
		return nil, err
	}
	f := &freshness{trusted: st.CheckpointSize}
	see := func(size int64, from string) {
		if size > f.newest {
			f.newest, f.newestFrom = size, from
		}
	}
	if raw, err := cl.Checkpoint(ctx); err == nil {
		f.nodeUp = true
		if size, err := m.SignedSize(raw); err == nil {
			see(size, peers.SourceNode)
		} else {
			log.Warn("peer sync: the peer's checkpoint is refused", slog.Any("err", err))
		}
	} else {
		f.nodeUp = answered(err)
	}
	if s.Witnessed != nil {
		if raw, ok := s.Witnessed("hashhub/" + p.ID); ok {
			if size, err := m.SignedSize(raw); err == nil {
				see(size, "witness")
			}
		}
	}
	// What is trusted here counts last: an equal size is named after
	// whoever showed it most recently.
	see(st.CheckpointSize, "trusted")
	raw, err := tree.Checkpoint(ctx)
	if err != nil {
		return f, fmt.Errorf("fetch checkpoint: %w", err)
	}
	if f.tree, err = m.SignedSize(raw); err != nil {
		return f, fmt.Errorf("refused checkpoint: %w", err)
	}
	return f, nil
}

// pullVia is one round of a loop whose peer has a mirror: the owed
// records first, then the tree unless it is behind, else the peer.
func (s *Syncer) pullVia(ctx context.Context, k loopKey, m *mirror.Mirror, cl *client.Client, tree *client.Static, p *peers.Peer, list string, log *slog.Logger) (*mirror.Result, error) {
	if err := s.settleOwed(ctx, k, m, cl, p, list); err != nil && !unreachable(err) {
		return nil, err
	}
	f, ferr := s.freshness(ctx, m, cl, tree, p, log)
	if f == nil {
		return nil, ferr
	}
	cursor, err := s.Hub.PeerCursor(p.ID, list)
	if err != nil {
		return nil, err
	}
	st, err := m.State()
	if err != nil {
		return nil, err
	}
	owed := cursor < st.Version
	treeErr := ferr
	s.setHealth(k, func(h *peers.SyncStatus) {
		if h.Mirror != nil {
			h.Mirror.CheckpointSize, h.Mirror.NewestSize, h.Mirror.NewestFrom = f.tree, f.newest, f.newestFrom
			h.Mirror.Behind = ferr == nil && f.behind()
		}
	})
	if ferr == nil && f.behind() {
		treeErr = fmt.Errorf("the mirror is behind: its checkpoint has log size %d, the %s's %d", f.tree, f.newestFrom, f.newest)
		log.Warn("peer sync: the mirror is behind", slog.String("mirror", p.MirrorURL),
			slog.Int64("mirror_size", f.tree), slog.Int64("newest_size", f.newest), slog.String("newest_from", f.newestFrom))
	}
	// A tree behind the peer is still worth reading when the peer is down,
	// as long as it is not behind what is held here (a pull would refuse
	// its older checkpoint as a rollback).
	if ferr == nil && (!f.behind() || !f.nodeUp) && f.tree >= f.trusted {
		res, err := s.pullFrom(ctx, m, tree, s.importer(ctx, cl, p, list, &owed, nil), log)
		if err == nil {
			s.setHealth(k, func(h *peers.SyncStatus) {
				if h.Mirror != nil {
					h.Mirror.Source, h.Mirror.LastError, h.Mirror.RecordsOwed = peers.SourceMirror, "", owed
				}
				h.Version = res.Version
			})
			return res, nil
		}
		if res != nil && res.Version > 0 {
			// The steps before the refused one are verified and kept.
			st.Version = res.Version
			s.setHealth(k, func(h *peers.SyncStatus) { h.Version = res.Version })
		}
		if ctx.Err() != nil {
			return res, err
		}
		treeErr = err
		log.Warn("peer sync: the mirror is refused or unreadable; reading the peer", slog.String("mirror", p.MirrorURL), slog.Any("err", err))
	}
	s.setHealth(k, func(h *peers.SyncStatus) {
		if h.Mirror != nil {
			h.Mirror.RecordsOwed = owed
			h.Mirror.Fallbacks++
			if treeErr != nil && !(ferr == nil && f.behind()) {
				h.Mirror.LastError = treeErr.Error()
			}
		}
	})
	if owed {
		// The peer must answer for the records owed before anything newer
		// is imported from it: settleOwed could not reach it just now.
		return nil, fmt.Errorf("%v; the peer, for the records of versions %d to %d: not reachable", treeErr, cursor+1, st.Version)
	}
	res, err := s.pullFrom(ctx, m, cl, s.importer(ctx, cl, p, list, nil, nil), log)
	if err != nil {
		if treeErr != nil {
			return res, fmt.Errorf("%v; the peer: %w", treeErr, err)
		}
		return res, err
	}
	s.setHealth(k, func(h *peers.SyncStatus) {
		if h.Mirror != nil {
			h.Mirror.Source, h.Mirror.RecordsOwed = peers.SourceNode, false
		}
	})
	return res, nil
}

// settleOwed imports the steps verified from a peer's mirror while the
// peer could not be reached for their records: every entry the local
// mirror holds, as one snapshot step, with the records of the versions
// after the store's cursor. Importing is idempotent, so a step imported
// twice (a crash in between) changes nothing the second time.
func (s *Syncer) settleOwed(ctx context.Context, k loopKey, m *mirror.Mirror, cl *client.Client, p *peers.Peer, list string) error {
	st, err := m.State()
	if err != nil {
		return err
	}
	cursor, err := s.Hub.PeerCursor(p.ID, list)
	if err != nil || cursor >= st.Version {
		return err
	}
	recs, err := s.fetchRecords(ctx, cl, p, list, cursor, st.Version)
	if err != nil {
		return err
	}
	defer recs.close()
	res, err := s.Hub.ApplyPeerStep(&hub.PeerStep{Peer: p.ID, List: list, Version: st.Version, Snapshot: true,
		Range: m.Entries, RangeRecords: recs.each})
	if err != nil {
		if errors.Is(err, hub.ErrForgedRecord) {
			return err
		}
		return fmt.Errorf("import the steps owed: %w", err)
	}
	s.setHealth(k, func(h *peers.SyncStatus) {
		h.Records += uint64(res.Records)
		h.UnknownOrigins += uint64(res.Unknown + recs.unknown)
		h.Applied = st.Version
		if h.Mirror != nil {
			h.Mirror.RecordsOwed = false
		}
	})
	s.Log.Info("peer sync: imported the steps read from the mirror while the peer was down",
		slog.String("peer", p.ID), slog.String("list", list), slog.Uint64("from", cursor+1), slog.Uint64("to", st.Version))
	if res.Applied && res.Created+res.Updated > 0 && s.OnApplied != nil {
		s.OnApplied()
	}
	return nil
}
