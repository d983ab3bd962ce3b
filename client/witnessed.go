package client

import (
	"context"

	"github.com/hashhub/hashhub/witness"
)

// WitnessedCheckpoint reads the last checkpoint of the log named origin
// (e.g. "hashhub/hub-nl") that the node at c cosigned as a witness (C2SP
// tlog-witness's monitoring endpoint, public): the log's signed note with
// the witness's cosignature. Nothing in it is trusted until the log's
// key verifies it.
func (c *Client) WitnessedCheckpoint(ctx context.Context, origin string) ([]byte, error) {
	return c.getBytes(ctx, "/v1/witness/"+witness.OriginHash(origin)+"/checkpoint", nil, "text/plain", MaxCheckpoint)
}
