package gpu

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
	"unsafe"
)

// Stream is a CUDA stream created with CU_STREAM_NON_BLOCKING: work on it
// runs in order, and does not serialise with the legacy default stream.
type Stream struct {
	c     *Context
	h     uintptr // CUstream
	freed atomic.Bool
}

// Event is a CUDA event with timing enabled, for ordering and for timing
// work on a stream.
type Event struct {
	c     *Context
	h     uintptr // CUevent
	freed atomic.Bool
}

// NewStream creates a non-blocking stream (cuStreamCreate).
func (c *Context) NewStream() (*Stream, error) {
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.exit()
	s := &Stream{c: c}
	if r := c.api.streamCreate(&s.h, streamNonBlocking); r != cudaSuccess {
		return nil, c.fail("cuStreamCreate", r, "")
	}
	c.track(s)
	return s, nil
}

// Destroy destroys the stream (cuStreamDestroy_v2; work already queued
// still completes). Idempotent, and a no-op after Context.Close.
func (s *Stream) Destroy() error { return s.c.free(s) }

func (s *Stream) markFreed() bool { return s.freed.CompareAndSwap(false, true) }

func (s *Stream) release(c *Context) error {
	if r := c.api.streamDestroy(s.h); r != cudaSuccess {
		return c.fail("cuStreamDestroy_v2", r, "destroy stream")
	}
	return nil
}

func (s *Stream) check() error {
	return s.c.own("stream", s)
}

// CopyHtoDAsync queues a copy of the first n bytes of src to the start of
// dst on s (cuMemcpyHtoDAsync_v2). src must not change until the copy is
// done (Synchronize, or an Event recorded after it).
func (s *Stream) CopyHtoDAsync(dst *Buffer, src *HostBuffer, n int) error {
	if err := s.c.own("destination buffer", dst); err != nil {
		return err
	}
	return s.CopyHtoDAsyncAt(dst.At(0), src, 0, n)
}

// CopyDtoHAsync queues a copy of the first n bytes of src to the start of
// dst on s (cuMemcpyDtoHAsync_v2). dst holds the data only once the copy
// is done (Synchronize, or an Event recorded after it).
func (s *Stream) CopyDtoHAsync(dst *HostBuffer, src *Buffer, n int) error {
	if err := s.c.own("source buffer", src); err != nil {
		return err
	}
	return s.CopyDtoHAsyncAt(dst, 0, src.At(0), n)
}

// CopyHtoDAsyncAt queues a copy of n bytes from byte srcOff of src to the
// device address dst on s; both ranges must lie inside their buffers.
func (s *Stream) CopyHtoDAsyncAt(dst Ptr, src *HostBuffer, srcOff, n int) error {
	return s.copyAsync(true, dst, src, srcOff, n)
}

// CopyDtoHAsyncAt queues a copy of n bytes from the device address src to
// byte dstOff of dst on s; both ranges must lie inside their buffers.
func (s *Stream) CopyDtoHAsyncAt(dst *HostBuffer, dstOff int, src Ptr, n int) error {
	return s.copyAsync(false, src, dst, dstOff, n)
}

// copyAsync queues one asynchronous copy between device address d and
// bytes [off, off+n) of pinned buffer h, to the device when toDevice.
func (s *Stream) copyAsync(toDevice bool, d Ptr, h *HostBuffer, off, n int) error {
	c := s.c
	if err := s.check(); err != nil {
		return err
	}
	op, dname, hname := "async copy to host", "source buffer", "pinned destination buffer"
	if toDevice {
		op, dname, hname = "async copy to device", "destination buffer", "pinned source buffer"
	}
	if err := c.own(dname, d.b); err != nil {
		return err
	}
	if err := c.own(hname, h); err != nil {
		return err
	}
	if d.off < 0 || off < 0 {
		return fmt.Errorf("gpu: %s: %s of %d bytes: negative offset (device %d, host %d)", c.where(), op, n, d.off, off)
	}
	if err := c.checkCopy(op, n, d.b.size-d.off, h.size-off); err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	if err := c.enter(); err != nil {
		return err
	}
	defer c.exit()
	hp := unsafe.Add(h.p, off)
	dp := d.b.ptr + uint64(d.off)
	if toDevice {
		if r := c.api.memcpyHtoDAsync(dp, hp, uintptr(n), s.h); r != cudaSuccess {
			return c.fail("cuMemcpyHtoDAsync_v2", r, fmt.Sprintf("async copy of %d bytes to device", n))
		}
		return nil
	}
	if r := c.api.memcpyDtoHAsync(hp, dp, uintptr(n), s.h); r != cudaSuccess {
		return c.fail("cuMemcpyDtoHAsync_v2", r, fmt.Sprintf("async copy of %d bytes to host", n))
	}
	return nil
}

// WaitEvent makes the work queued on s after this call wait until e has
// completed (cuStreamWaitEvent); the host does not wait.
func (s *Stream) WaitEvent(e *Event) error {
	c := s.c
	if err := s.check(); err != nil {
		return err
	}
	if err := c.own("event", e); err != nil {
		return err
	}
	if err := c.enter(); err != nil {
		return err
	}
	defer c.exit()
	if r := c.api.streamWaitEvent(s.h, e.h, 0); r != cudaSuccess {
		return c.fail("cuStreamWaitEvent", r, "stream wait on event")
	}
	return nil
}

// Synchronize waits until the work queued on s is done.
//
// It never calls the blocking cuStreamSynchronize, which would wait
// forever on a hung kernel. It polls cuStreamQuery instead, sleeping
// between polls (1 µs doubling up to Config.MaxPoll), until the stream is
// idle, the driver reports an error (a lost device wraps ErrDeviceLost),
// or ctx ends. A ctx without a deadline gets Config.SyncTimeout. Running
// out of time returns an error wrapping ctx's error
// (context.DeadlineExceeded) that names the device; the work may still be
// running and its buffers must not be reused or freed until Close.
func (s *Stream) Synchronize(ctx context.Context) error {
	if err := s.check(); err != nil {
		return err
	}
	return s.c.poll(ctx, "cuStreamQuery", "synchronize stream", func() int32 { return s.c.api.streamQuery(s.h) })
}

// poll runs query until it returns CUDA_SUCCESS, another error, or ctx
// (bounded by Config.SyncTimeout) ends.
func (c *Context) poll(ctx context.Context, call, doing string, query func() int32) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cfg.SyncTimeout)
		defer cancel()
	}
	start := time.Now()
	wait := time.Microsecond
	var timer *time.Timer
	for {
		if err := c.enter(); err != nil {
			return err
		}
		r := query()
		c.exit()
		switch r {
		case cudaSuccess:
			return nil
		case cudaNotReady:
		default:
			return c.fail(call, r, doing)
		}
		if timer == nil {
			timer = time.NewTimer(wait)
			defer timer.Stop()
		} else {
			timer.Reset(wait)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("gpu: %s: %s: not done after %v: %w", c.where(), doing,
				time.Since(start).Round(time.Millisecond), context.Cause(ctx))
		case <-timer.C:
		}
		wait = min(2*wait, c.cfg.MaxPoll)
	}
}

// NewEvent creates an event with timing enabled (cuEventCreate).
func (c *Context) NewEvent() (*Event, error) {
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.exit()
	e := &Event{c: c}
	if r := c.api.eventCreate(&e.h, eventDefault); r != cudaSuccess {
		return nil, c.fail("cuEventCreate", r, "")
	}
	c.track(e)
	return e, nil
}

// Destroy destroys the event (cuEventDestroy_v2). Idempotent, and a no-op
// after Context.Close.
func (e *Event) Destroy() error { return e.c.free(e) }

func (e *Event) markFreed() bool { return e.freed.CompareAndSwap(false, true) }

func (e *Event) release(c *Context) error {
	if r := c.api.eventDestroy(e.h); r != cudaSuccess {
		return c.fail("cuEventDestroy_v2", r, "destroy event")
	}
	return nil
}

// Record queues the event on s (cuEventRecord): it completes when the work
// queued on s before it is done.
func (e *Event) Record(s *Stream) error {
	c := e.c
	if err := c.own("event", e); err != nil {
		return err
	}
	if err := c.own("stream", s); err != nil {
		return err
	}
	if err := c.enter(); err != nil {
		return err
	}
	defer c.exit()
	if r := c.api.eventRecord(e.h, s.h); r != cudaSuccess {
		return c.fail("cuEventRecord", r, "record event")
	}
	return nil
}

// Synchronize waits until the event has completed, polling cuEventQuery
// under the same bounds as Stream.Synchronize.
func (e *Event) Synchronize(ctx context.Context) error {
	if err := e.c.own("event", e); err != nil {
		return err
	}
	return e.c.poll(ctx, "cuEventQuery", "synchronize event", func() int32 { return e.c.api.eventQuery(e.h) })
}

// Elapsed returns the time between two completed events of one context
// (cuEventElapsedTime, about 0.5 µs resolution). An event not yet complete
// is an error wrapping ErrDriver with CUDA_ERROR_NOT_READY: synchronise
// end first.
func Elapsed(start, end *Event) (time.Duration, error) {
	c := start.c
	if err := c.own("start event", start); err != nil {
		return 0, err
	}
	if err := c.own("end event", end); err != nil {
		return 0, err
	}
	if err := c.enter(); err != nil {
		return 0, err
	}
	defer c.exit()
	var ms float32
	if r := c.api.eventElapsed(&ms, start.h, end.h); r != cudaSuccess {
		return 0, c.fail("cuEventElapsedTime", r, "elapsed time between events")
	}
	return time.Duration(float64(ms) * float64(time.Millisecond)), nil
}
