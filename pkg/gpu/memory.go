package gpu

import (
	"fmt"
	"sync/atomic"
	"unsafe"
)

// Buffer is device memory from cuMemAlloc_v2, owned by one Context.
type Buffer struct {
	c     *Context
	ptr   uint64 // CUdeviceptr
	size  int
	freed atomic.Bool
}

// HostBuffer is page-locked ("pinned") host memory from cuMemHostAlloc.
// Only pinned memory may take part in asynchronous copies: the driver
// reads or writes it after the call returns, which Go memory does not
// allow.
type HostBuffer struct {
	c     *Context
	p     unsafe.Pointer
	size  int
	freed atomic.Bool
}

// Alloc allocates n bytes of device memory. Out of memory returns an
// *OutOfMemoryError (wrapping ErrOutOfMemory) naming the bytes requested,
// the device and its free memory.
func (c *Context) Alloc(n int) (*Buffer, error) {
	if n <= 0 {
		return nil, fmt.Errorf("gpu: %s: alloc of %d bytes: size must be positive", c.where(), n)
	}
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.exit()
	b := &Buffer{c: c, size: n}
	if r := c.api.memAlloc(&b.ptr, uintptr(n)); r != cudaSuccess {
		if r == cudaOutOfMemory {
			return nil, c.oom(false, n, "cuMemAlloc_v2")
		}
		return nil, c.fail("cuMemAlloc_v2", r, fmt.Sprintf("alloc of %d bytes", n))
	}
	c.track(b)
	return b, nil
}

// oom builds the out-of-memory error; the context is current.
func (c *Context) oom(host bool, n int, call string) error {
	e := &OutOfMemoryError{Device: c.dev.Index, Name: c.dev.Name, Host: host, Requested: uint64(n),
		Err: &CUDAError{Call: call, Code: cudaOutOfMemory}}
	var f, t uintptr
	if c.api.memGetInfo(&f, &t) == cudaSuccess {
		e.Free, e.Total = uint64(f), uint64(t)
	}
	return e
}

// Size returns the buffer's length in bytes.
func (b *Buffer) Size() int { return b.size }

// Free returns the memory to the driver. It is idempotent, and a no-op
// after the Context is closed (Close freed it).
func (b *Buffer) Free() error { return b.c.free(b) }

func (b *Buffer) markFreed() bool { return b.freed.CompareAndSwap(false, true) }

func (b *Buffer) release(c *Context) error {
	if r := c.api.memFree(b.ptr); r != cudaSuccess {
		return c.fail("cuMemFree_v2", r, fmt.Sprintf("free of %d bytes", b.size))
	}
	return nil
}

// HostAlloc allocates n bytes of pinned host memory for asynchronous
// copies.
func (c *Context) HostAlloc(n int) (*HostBuffer, error) {
	if n <= 0 {
		return nil, fmt.Errorf("gpu: %s: pinned host alloc of %d bytes: size must be positive", c.where(), n)
	}
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.exit()
	h := &HostBuffer{c: c, size: n}
	if r := c.api.memHostAlloc(&h.p, uintptr(n), hostAllocDefault); r != cudaSuccess {
		if r == cudaOutOfMemory {
			return nil, c.oom(true, n, "cuMemHostAlloc")
		}
		return nil, c.fail("cuMemHostAlloc", r, fmt.Sprintf("pinned host alloc of %d bytes", n))
	}
	c.track(h)
	return h, nil
}

// Size returns the buffer's length in bytes.
func (h *HostBuffer) Size() int { return h.size }

// Bytes returns the pinned memory as a byte slice, or nil once freed. The
// slice must not be used after Free or Context.Close.
func (h *HostBuffer) Bytes() []byte {
	if h.freed.Load() {
		return nil
	}
	return unsafe.Slice((*byte)(h.p), h.size)
}

// Float32s returns the pinned memory as Size()/4 float32s (cuMemHostAlloc
// returns page-aligned memory), or nil once freed; the same lifetime rule
// as Bytes applies.
func (h *HostBuffer) Float32s() []float32 {
	if h.freed.Load() || h.size < 4 {
		return nil
	}
	return unsafe.Slice((*float32)(h.p), h.size/4)
}

// Free returns the memory to the driver; idempotent, and a no-op after
// Context.Close.
func (h *HostBuffer) Free() error { return h.c.free(h) }

func (h *HostBuffer) markFreed() bool { return h.freed.CompareAndSwap(false, true) }

func (h *HostBuffer) release(c *Context) error {
	if r := c.api.memFreeHost(h.p); r != cudaSuccess {
		return c.fail("cuMemFreeHost", r, fmt.Sprintf("free of %d pinned bytes", h.size))
	}
	return nil
}

// Float32Bytes returns the bytes of x without copying (for CopyHtoD and
// CopyDtoH of float32 tensors).
func Float32Bytes(x []float32) []byte {
	if len(x) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&x[0])), 4*len(x))
}

// owner is what own checks: a buffer, stream or event of some Context.
type owner interface {
	context() *Context
	isFreed() bool
}

func (b *Buffer) context() *Context     { return b.c }
func (b *Buffer) isFreed() bool         { return b.freed.Load() }
func (h *HostBuffer) context() *Context { return h.c }
func (h *HostBuffer) isFreed() bool     { return h.freed.Load() }
func (s *Stream) context() *Context     { return s.c }
func (s *Stream) isFreed() bool         { return s.freed.Load() }
func (e *Event) context() *Context      { return e.c }
func (e *Event) isFreed() bool          { return e.freed.Load() }

// own checks that x is not nil, belongs to c and is still allocated.
func (c *Context) own(what string, x owner) error {
	if x == nil || reflectNil(x) {
		return fmt.Errorf("gpu: %s: %s is nil", c.where(), what)
	}
	if x.context() != c {
		return fmt.Errorf("gpu: %s: %s belongs to another context", c.where(), what)
	}
	if x.isFreed() {
		return fmt.Errorf("gpu: %s: %s was freed", c.where(), what)
	}
	return nil
}

// reflectNil reports a typed nil pointer inside x.
func reflectNil(x owner) bool {
	switch v := x.(type) {
	case *Buffer:
		return v == nil
	case *HostBuffer:
		return v == nil
	case *Stream:
		return v == nil
	case *Event:
		return v == nil
	case *Blas:
		return v == nil
	}
	return false
}

// checkCopy validates a copy of n bytes between buffers of the given sizes.
func (c *Context) checkCopy(op string, n, dst, src int) error {
	if n < 0 || n > dst || n > src {
		return fmt.Errorf("gpu: %s: %s of %d bytes from %d into %d bytes: out of range", c.where(), op, n, src, dst)
	}
	return nil
}

// CopyHtoD copies src to the start of dst (cuMemcpyHtoD_v2) and returns
// when the copy is done. The copy goes on the legacy default stream; the
// streams of this package are non-blocking, so it does not wait for work
// queued on them, only for its own transfer.
func (c *Context) CopyHtoD(dst *Buffer, src []byte) error {
	if err := c.own("destination buffer", dst); err != nil {
		return err
	}
	if err := c.checkCopy("copy to device", len(src), dst.size, len(src)); err != nil {
		return err
	}
	if len(src) == 0 {
		return nil
	}
	if err := c.enter(); err != nil {
		return err
	}
	defer c.exit()
	if r := c.api.memcpyHtoD(dst.ptr, unsafe.Pointer(&src[0]), uintptr(len(src))); r != cudaSuccess {
		return c.fail("cuMemcpyHtoD_v2", r, fmt.Sprintf("copy of %d bytes to device", len(src)))
	}
	return nil
}

// CopyDtoH copies the first len(dst) bytes of src into dst
// (cuMemcpyDtoH_v2); see CopyHtoD for what it waits for.
func (c *Context) CopyDtoH(dst []byte, src *Buffer) error {
	if err := c.own("source buffer", src); err != nil {
		return err
	}
	if err := c.checkCopy("copy to host", len(dst), len(dst), src.size); err != nil {
		return err
	}
	if len(dst) == 0 {
		return nil
	}
	if err := c.enter(); err != nil {
		return err
	}
	defer c.exit()
	if r := c.api.memcpyDtoH(unsafe.Pointer(&dst[0]), src.ptr, uintptr(len(dst))); r != cudaSuccess {
		return c.fail("cuMemcpyDtoH_v2", r, fmt.Sprintf("copy of %d bytes to host", len(dst)))
	}
	return nil
}
