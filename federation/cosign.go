// Package federation is what a node does with its peers: pulling their
// lists and importing the origin-signed records behind them (sync.go), and
// asking them to witness its transparency log (this file). Reports are
// forwarded to peers by the node's outbox (package outbox).
package federation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/hashhub/hashhub/hub"
	"github.com/hashhub/hashhub/translog"
	"github.com/hashhub/hashhub/witness"
)

// DefaultCosignInterval is how often the node asks peers to cosign its
// latest checkpoint when nothing prompts it sooner.
const DefaultCosignInterval = time.Minute

// Cosigner asks every active peer that witnesses this node's log to
// cosign its latest checkpoint, and stores the cosignatures, which the
// node then serves with the checkpoint.
type Cosigner struct {
	Hub  *hub.Service
	HTTP *http.Client
	Log  *slog.Logger
	// LogKey verifies this node's own checkpoints (they are parsed to
	// build requests).
	LogKey string

	mu      sync.Mutex
	clients map[string]*witness.Client // by peer id
}

// Run collects cosignatures every interval and whenever kick fires (after
// a release), until ctx ends.
func (c *Cosigner) Run(ctx context.Context, interval time.Duration, kick <-chan struct{}) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := c.CollectOnce(ctx); err != nil {
			c.Log.Warn("cosignatures", slog.Any("err", err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-kick:
		}
	}
}

// CollectOnce asks each witnessing peer, in turn, for a cosignature of the
// current checkpoint it has not cosigned yet. A peer that refuses or is
// unreachable is reported and does not stop the others.
func (c *Cosigner) CollectOnce(ctx context.Context) error {
	signed, size, err := c.Hub.SignedCheckpoint()
	if err != nil || size == 0 {
		return err
	}
	cp, err := translog.OpenCheckpoint(signed, c.LogKey)
	if err != nil {
		return fmt.Errorf("own checkpoint: %w", err)
	}
	ps, err := c.Hub.Peers()
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range ps {
		if p.Paused || p.WitnessKey == "" {
			continue
		}
		done, err := c.Hub.HasCosignature(size, p.ID)
		if err != nil || done {
			errs = append(errs, err)
			continue
		}
		cl, err := c.client(p.ID, p.BaseURL, p.WitnessKey)
		if err != nil {
			errs = append(errs, fmt.Errorf("peer %s: %w", p.ID, err))
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		line, err := cl.Cosign(rctx, cp, func(old int64) (tlog.TreeProof, error) { return c.Hub.ConsistencyProof(old, size) })
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("peer %s: %w", p.ID, err))
			continue
		}
		if err := c.Hub.PutCosignature(size, p.ID, line); err != nil {
			errs = append(errs, err)
			continue
		}
		c.Log.Info("cosigned", slog.String("witness", p.ID), slog.Int64("size", size))
	}
	return errors.Join(errs...)
}

func (c *Cosigner) client(id, base, key string) (*witness.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.clients == nil {
		c.clients = map[string]*witness.Client{}
	}
	if cl, ok := c.clients[id+" "+key]; ok {
		return cl, nil
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	cl, err := witness.NewClient(base+"/v1/witness", key, hc)
	if err != nil {
		return nil, err
	}
	c.clients[id+" "+key] = cl
	return cl, nil
}
