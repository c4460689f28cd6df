package train

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// reducer all-reduces the gradient arena in fixed-order buckets from the
// end of the arena towards the start, in a background goroutine that starts
// bucket k as soon as the arena's grad hook reports it final. The bucket
// order and boundaries are fixed, so every rank issues the same sequence of
// collective operations.
type reducer struct {
	comm  Comm
	grad  []float32
	lo    []int // bucket k covers grad[lo[k]:hi[k]], k = 0 is the last bucket of the arena
	hi    []int
	scale float32

	// opt, when set, applies the optimizer step to each bucket right after
	// its all-reduce, while it is still in cache (RangeStepper); w is the
	// parameter arena.
	opt RangeStepper
	w   []float32
	// idle skips every bucket (a device that keeps its gradients).
	idle bool

	ready atomic.Int64 // lowest offset from which grad is final
	kick  chan struct{}
	start chan context.Context
	done  chan error
	quit  chan struct{}

	// written only by the background goroutine while a step runs; read by
	// the owner after done.
	spans   []span
	reduceS float64
	t0      time.Time
}

type span struct {
	start, dur int64 // ns since t0
}

func newReducer(comm Comm, grad []float32, bucketElems int, t0 time.Time) *reducer {
	r := &reducer{comm: comm, grad: grad, kick: make(chan struct{}, 1),
		start: make(chan context.Context), done: make(chan error, 1), quit: make(chan struct{}), t0: t0}
	if bucketElems <= 0 {
		bucketElems = 1 << 18
	}
	for hi := len(grad); hi > 0; hi -= bucketElems {
		r.hi = append(r.hi, hi)
		r.lo = append(r.lo, max(0, hi-bucketElems))
	}
	r.spans = make([]span, 0, 1024)
	go r.loop()
	return r
}

// hook is installed as the arena's grad hook.
func (r *reducer) hook(lo int) {
	r.ready.Store(int64(lo))
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// begin starts a step: nothing is final yet.
func (r *reducer) begin(ctx context.Context, scale float32) error {
	r.scale = scale
	r.ready.Store(int64(len(r.grad)))
	select {
	case r.start <- ctx:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// finish declares the whole gradient final and waits for every bucket.
func (r *reducer) finish(ctx context.Context) error {
	r.hook(0)
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		// the background goroutine returns once its all-reduce honours ctx
		<-r.done
		return ctx.Err()
	}
}

func (r *reducer) close() { close(r.quit) }

func (r *reducer) loop() {
	for {
		var ctx context.Context
		select {
		case ctx = <-r.start:
		case <-r.quit:
			return
		}
		r.done <- r.step(ctx)
	}
}

func (r *reducer) step(ctx context.Context) error {
	if r.idle {
		return nil
	}
	next := 0
	for next < len(r.lo) {
		for next < len(r.lo) && int64(r.lo[next]) >= r.ready.Load() {
			b := r.grad[r.lo[next]:r.hi[next]]
			t := time.Now()
			if r.comm.Size() > 1 {
				if err := r.comm.AllReduceSum(ctx, b); err != nil {
					return fmt.Errorf("%w: all-reduce of bucket %d [%d,%d) on rank %d: %w",
						ErrComm, next, r.lo[next], r.hi[next], r.comm.Rank(), err)
				}
			}
			if r.scale != 1 {
				for i := range b {
					b[i] *= r.scale
				}
			}
			if r.opt != nil {
				// every layer that uses these parameters has finished its
				// backward pass (that is what made the bucket final)
				r.opt.StepRange(r.w, r.grad, r.lo[next], r.hi[next])
			}
			d := time.Since(t)
			r.reduceS += d.Seconds()
			if len(r.spans) < cap(r.spans) {
				r.spans = append(r.spans, span{int64(t.Sub(r.t0)), int64(d)})
			}
			next++
		}
		if next == len(r.lo) {
			break
		}
		select {
		case <-r.kick:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	// drain a stale kick so the next step starts clean
	select {
	case <-r.kick:
	default:
	}
	return nil
}
