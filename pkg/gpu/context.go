package gpu

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of Config.
const (
	// DefaultSyncTimeout bounds Stream.Synchronize and Event.Synchronize
	// when their context.Context has no deadline.
	DefaultSyncTimeout = 2 * time.Minute
	// DefaultMaxPoll is the longest sleep between two polls of
	// cuStreamQuery/cuEventQuery while synchronising.
	DefaultMaxPoll = 200 * time.Microsecond
)

// CUDA flags used by Open and friends.
const (
	streamNonBlocking = 1 // CU_STREAM_NON_BLOCKING
	eventDefault      = 0 // CU_EVENT_DEFAULT: timing enabled
	hostAllocDefault  = 0 // cuMemHostAlloc flags: page-locked, this context only
)

// Config configures Open. Zero values mean defaults.
type Config struct {
	// LocalRank selects the device as Select does: device LocalRank mod
	// the number of devices visible to this process (after
	// CUDA_VISIBLE_DEVICES).
	LocalRank int
	// SyncTimeout bounds a Synchronize whose context.Context has no
	// deadline; default DefaultSyncTimeout.
	SyncTimeout time.Duration
	// MaxPoll caps the sleep between two queries while synchronising;
	// default DefaultMaxPoll.
	MaxPoll time.Duration
	// Logger receives one line when Open finds no GPU (the CPU engine is
	// used) and one when it opens a device; default: discard.
	Logger *slog.Logger
}

// Validate reports a negative rank or duration.
func (c Config) Validate() error {
	switch {
	case c.LocalRank < 0:
		return fmt.Errorf("gpu: open: local rank %d is negative", c.LocalRank)
	case c.SyncTimeout < 0:
		return fmt.Errorf("gpu: open: sync timeout %v is negative", c.SyncTimeout)
	case c.MaxPoll < 0:
		return fmt.Errorf("gpu: open: max poll %v is negative", c.MaxPoll)
	}
	return nil
}

// OutOfMemoryError is a failed cuMemAlloc_v2 (device memory) or
// cuMemHostAlloc (pinned host memory, Host set). Free and Total are the
// device's free and total bytes from cuMemGetInfo_v2 when known (0
// otherwise). It wraps ErrOutOfMemory and the *CUDAError.
type OutOfMemoryError struct {
	Device    int
	Name      string
	Host      bool
	Requested uint64
	Free      uint64
	Total     uint64
	Err       *CUDAError
}

func (e *OutOfMemoryError) Error() string {
	what := "device memory"
	if e.Host {
		what = "pinned host memory"
	}
	s := fmt.Sprintf("%v: device %d (%s): %d bytes of %s requested", ErrOutOfMemory, e.Device, e.Name, e.Requested, what)
	if e.Total > 0 {
		s += fmt.Sprintf(", %d of %d bytes free", e.Free, e.Total)
	}
	return s + ": " + e.Err.Error()
}

// Unwrap returns ErrOutOfMemory and the driver error.
func (e *OutOfMemoryError) Unwrap() []error { return []error{ErrOutOfMemory, e.Err} }

// lostCodes are the CUresults after which a context is unusable.
var lostCodes = map[int32]bool{
	46:  true, // CUDA_ERROR_DEVICE_UNAVAILABLE
	214: true, // CUDA_ERROR_ECC_UNCORRECTABLE
	700: true, // CUDA_ERROR_ILLEGAL_ADDRESS
	702: true, // CUDA_ERROR_LAUNCH_TIMEOUT
	709: true, // CUDA_ERROR_CONTEXT_IS_DESTROYED
	714: true, // CUDA_ERROR_HARDWARE_STACK_ERROR
	715: true, // CUDA_ERROR_ILLEGAL_INSTRUCTION
	716: true, // CUDA_ERROR_MISALIGNED_ADDRESS
	717: true, // CUDA_ERROR_INVALID_ADDRESS_SPACE
	718: true, // CUDA_ERROR_INVALID_PC
	719: true, // CUDA_ERROR_LAUNCH_FAILED
}

// Context is this worker's CUDA context: the primary context of the
// device chosen by local rank. Its methods are safe for concurrent use;
// each driver call locks the goroutine to its OS thread and makes the
// context current there first (CUDA contexts are per thread).
type Context struct {
	api    *driverAPI
	dev    Device
	cuDev  int32
	h      uintptr // CUcontext
	cfg    Config
	closed bool

	// mu: calls hold it shared; Close holds it exclusively, so Close
	// waits for calls in flight (each is bounded, see Synchronize).
	mu   sync.RWMutex
	lost atomic.Pointer[error] // first sticky error

	resMu sync.Mutex
	res   map[resource]struct{} // live buffers, streams and events
}

// resource is a live allocation owned by a Context; release frees it with
// the context current on the calling thread, once.
type resource interface {
	release(c *Context) error
	markFreed() bool // false when already freed
}

// Open loads the driver, picks the device for cfg.LocalRank and retains
// its primary context. With no usable GPU it logs one line ("no GPU: using
// the CPU engine" with the reason) and returns an error wrapping ErrNoGPU:
// the caller uses the CPU engine and needs to log nothing more.
func Open(cfg Config) (*Context, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.SyncTimeout == 0 {
		cfg.SyncTimeout = DefaultSyncTimeout
	}
	if cfg.MaxPoll == 0 {
		cfg.MaxPoll = DefaultMaxPoll
	}
	lg := cfg.Logger
	if lg == nil {
		lg = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	c, err := open(cfg)
	if err != nil {
		if errors.Is(err, ErrNoGPU) {
			lg.Info("no GPU: using the CPU engine", "local_rank", cfg.LocalRank, "reason", err.Error())
		}
		return nil, err
	}
	lg.Info("using GPU", "local_rank", cfg.LocalRank, "device", c.dev.Index, "name", c.dev.Name,
		"memory_bytes", c.dev.MemoryBytes)
	return c, nil
}

func open(cfg Config) (*Context, error) {
	api, lib, err := load()
	if err != nil {
		return nil, fmt.Errorf("gpu: open for local rank %d: %w", cfg.LocalRank, err)
	}
	info, err := probeAPI(api, lib)
	if err != nil {
		return nil, fmt.Errorf("gpu: open for local rank %d: %w", cfg.LocalRank, err)
	}
	if len(api.missing) > 0 {
		return nil, fmt.Errorf("%w: %s lacks %s (driver too old for scibench's GPU engine; CUDA 11 or later needed)",
			ErrNoGPU, lib, strings.Join(api.missing, ", "))
	}
	dev, err := selectFrom(info.Devices, cfg.LocalRank)
	if err != nil {
		return nil, err
	}
	c := &Context{api: api, dev: dev, cfg: cfg, res: map[resource]struct{}{}}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if r := api.deviceGet(&c.cuDev, int32(dev.Index)); r != cudaSuccess {
		return nil, c.fail("cuDeviceGet", r, "")
	}
	if r := api.primaryCtxRetain(&c.h, c.cuDev); r != cudaSuccess {
		return nil, c.fail("cuDevicePrimaryCtxRetain", r, "")
	}
	if r := api.ctxSetCurrent(c.h); r != cudaSuccess {
		err := c.fail("cuCtxSetCurrent", r, "")
		if r2 := api.primaryCtxRelease(c.cuDev); r2 != cudaSuccess {
			err = errors.Join(err, c.fail("cuDevicePrimaryCtxRelease_v2", r2, ""))
		}
		return nil, err
	}
	return c, nil
}

// Device returns the device this context runs on.
func (c *Context) Device() Device { return c.dev }

// where names the device in errors: "device 0 (NVIDIA H200)".
func (c *Context) where() string { return fmt.Sprintf("device %d (%s)", c.dev.Index, c.dev.Name) }

// fail turns a failed CUresult into an error naming the call, the device
// and what was being done; a sticky code marks the context lost.
func (c *Context) fail(call string, r int32, doing string) error {
	ce := &CUDAError{Call: call, Code: int(r)}
	where := c.where()
	if doing != "" {
		where += ": " + doing
	}
	if lostCodes[r] {
		err := fmt.Errorf("%w: %s: %w", ErrDeviceLost, where, ce)
		c.lost.CompareAndSwap(nil, &err)
		return err
	}
	return fmt.Errorf("%w: %s: %w", ErrDriver, where, ce)
}

// usable reports ErrClosed or the sticky error that lost the device.
func (c *Context) usable() error {
	if c.closed {
		return fmt.Errorf("%w: %s", ErrClosed, c.where())
	}
	if p := c.lost.Load(); p != nil {
		return fmt.Errorf("%w: %s is unusable after an earlier error: %w", ErrDeviceLost, c.where(), *p)
	}
	return nil
}

// enter prepares a driver call: shared lock, thread locked, context
// current. Every successful enter is paired with exit.
func (c *Context) enter() error {
	c.mu.RLock()
	if err := c.usable(); err != nil {
		c.mu.RUnlock()
		return err
	}
	runtime.LockOSThread()
	if r := c.api.ctxSetCurrent(c.h); r != cudaSuccess {
		runtime.UnlockOSThread()
		c.mu.RUnlock()
		return c.fail("cuCtxSetCurrent", r, "")
	}
	return nil
}

func (c *Context) exit() {
	runtime.UnlockOSThread()
	c.mu.RUnlock()
}

func (c *Context) track(r resource) {
	c.resMu.Lock()
	c.res[r] = struct{}{}
	c.resMu.Unlock()
}

func (c *Context) untrack(r resource) {
	c.resMu.Lock()
	delete(c.res, r)
	c.resMu.Unlock()
}

// free is the common Free of buffers, streams and events: once only; a
// no-op after Close (Close released it).
func (c *Context) free(r resource) error {
	if !r.markFreed() {
		return nil
	}
	c.untrack(r)
	if err := c.enter(); err != nil {
		if errors.Is(err, ErrClosed) {
			return nil
		}
		return err
	}
	defer c.exit()
	return r.release(c)
}

// MemInfo returns the free and total device memory in bytes
// (cuMemGetInfo_v2).
func (c *Context) MemInfo() (free, total uint64, err error) {
	if err := c.enter(); err != nil {
		return 0, 0, err
	}
	defer c.exit()
	var f, t uintptr
	if r := c.api.memGetInfo(&f, &t); r != cudaSuccess {
		return 0, 0, c.fail("cuMemGetInfo_v2", r, "")
	}
	return uint64(f), uint64(t), nil
}

// Close frees every buffer, stream and event still alive, then releases
// the primary context. It waits for calls in flight, is idempotent and
// returns the failures joined (after a lost device they are expected).
func (c *Context) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	c.resMu.Lock()
	live := make([]resource, 0, len(c.res))
	for r := range c.res {
		live = append(live, r)
	}
	clear(c.res)
	c.resMu.Unlock()
	// events, then streams, then memory: queued work may use the memory
	order := func(r resource) int {
		switch r.(type) {
		case *Event, *Blas:
			return 0
		case *Stream:
			return 1
		}
		return 2
	}
	var errs []error
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if c.lost.Load() == nil {
		if r := c.api.ctxSetCurrent(c.h); r != cudaSuccess {
			errs = append(errs, c.fail("cuCtxSetCurrent", r, "close"))
		} else {
			for pass := range 3 {
				for _, r := range live {
					if order(r) == pass && r.markFreed() {
						if err := r.release(c); err != nil {
							errs = append(errs, err)
						}
					}
				}
			}
		}
	}
	if r := c.api.primaryCtxRelease(c.cuDev); r != cudaSuccess {
		errs = append(errs, c.fail("cuDevicePrimaryCtxRelease_v2", r, "close"))
	}
	return errors.Join(errs...)
}
