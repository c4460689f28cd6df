package train

import (
	"context"

	"github.com/scibench/scibench/pkg/collective"
)

// Collective adapts a *collective.Comm (TCP ring) to Comm.
type Collective struct {
	C *collective.Comm
}

// Rank is the communicator's rank.
func (c Collective) Rank() int { return c.C.Rank() }

// Size is the world size.
func (c Collective) Size() int { return c.C.Size() }

// AllReduceSum is a ring all-reduce with collective.OpSum.
func (c Collective) AllReduceSum(ctx context.Context, buf []float32) error {
	return c.C.AllReduce(ctx, buf, collective.OpSum)
}

// Barrier waits for every rank.
func (c Collective) Barrier(ctx context.Context) error { return c.C.Barrier(ctx) }

// PeerWaitSeconds reports the time the ring spent waiting for the
// predecessor's first bytes (collective.Stats.WaitSeconds).
func (c Collective) PeerWaitSeconds() float64 { return c.C.Stats().WaitSeconds }
