//go:build linux && (amd64 || arm64)

package gpu

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ebitengine/purego"
)

// fakeCtl drives the fake libcuda's test controls (testdata/fakecuda.c).
type fakeCtl struct {
	setMemLimit    func(n uint64)
	setStreamPolls func(n int32)
	fail           func(call string, rc int32, after int64, sticky int32)
	stats          func(out *[7]int64)
}

// fakeStats mirrors fake_stats.
type fakeStats struct {
	dev, host, streams, events, ctxRefs, memUsed, badGuards int64
}

func (f *fakeCtl) read() fakeStats {
	var s [7]int64
	f.stats(&s)
	return fakeStats{s[0], s[1], s[2], s[3], s[4], s[5], s[6]}
}

// openFake builds a fresh fake libcuda (fresh state), points LibEnv at it
// and returns its controls.
func openFake(t *testing.T, defs ...string) *fakeCtl {
	t.Helper()
	lib := buildFake(t, defs...)
	t.Setenv(LibEnv, lib)
	h, err := purego.Dlopen(lib, purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeCtl{}
	purego.RegisterLibFunc(&f.setMemLimit, h, "fake_set_mem_limit")
	purego.RegisterLibFunc(&f.setStreamPolls, h, "fake_set_stream_polls")
	purego.RegisterLibFunc(&f.fail, h, "fake_fail")
	purego.RegisterLibFunc(&f.stats, h, "fake_stats")
	return f
}

func mustOpen(t *testing.T, cfg Config) *Context {
	t.Helper()
	c, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestOpenPicksDeviceByLocalRank(t *testing.T) {
	f := openFake(t)
	for rank, want := range []string{"Fake H200", "Fake A100-SXM4-40GB", "Fake H200", "Fake A100-SXM4-40GB"} {
		c, err := Open(Config{LocalRank: rank})
		if err != nil {
			t.Fatal(err)
		}
		if d := c.Device(); d.Name != want || d.Index != rank%2 {
			t.Fatalf("rank %d: device %+v, want %s", rank, d, want)
		}
		if f.read().ctxRefs != 1 {
			t.Fatalf("rank %d: %d context references, want 1", rank, f.read().ctxRefs)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if err := c.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if f.read().ctxRefs != 0 {
			t.Fatalf("rank %d: context not released", rank)
		}
	}
	if _, err := Open(Config{LocalRank: -1}); err == nil || !strings.Contains(err.Error(), "-1") {
		t.Fatalf("negative rank: %v", err)
	}
}

// TestMemoryRoundTrip copies host → device → host with guard bands on
// both host sides; the fake also checks its own guard bands on free.
func TestMemoryRoundTrip(t *testing.T) {
	f := openFake(t)
	c := mustOpen(t, Config{})
	const guard = 32
	for _, n := range []int{1, 7, 4096, 1<<20 + 3} {
		src := make([]byte, n+2*guard)
		for i := range src {
			src[i] = byte(i*31 + 7)
		}
		dst := bytes.Repeat([]byte{0x5A}, n+2*guard)
		buf, err := c.Alloc(n)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.CopyHtoD(buf, src[guard:guard+n]); err != nil {
			t.Fatal(err)
		}
		if err := c.CopyDtoH(dst[guard:guard+n], buf); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(dst[guard:guard+n], src[guard:guard+n]) {
			t.Fatalf("n=%d: data differs after the round trip", n)
		}
		for i := range guard {
			if dst[i] != 0x5A || dst[guard+n+i] != 0x5A {
				t.Fatalf("n=%d: host guard byte %d overwritten", n, i)
			}
		}
		if err := buf.Free(); err != nil {
			t.Fatal(err)
		}
		if err := buf.Free(); err != nil {
			t.Fatalf("second Free: %v", err)
		}
	}
	// float32 through Float32Bytes, and a short copy into a larger buffer
	x := []float32{1, -2.5, 3e-8, 4e30}
	buf, err := c.Alloc(64)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CopyHtoD(buf, Float32Bytes(x)); err != nil {
		t.Fatal(err)
	}
	y := make([]float32, 4)
	if err := c.CopyDtoH(Float32Bytes(y), buf); err != nil {
		t.Fatal(err)
	}
	for i := range x {
		if x[i] != y[i] {
			t.Fatalf("float32 %d: %v != %v", i, y[i], x[i])
		}
	}
	if err := buf.Free(); err != nil {
		t.Fatal(err)
	}
	if s := f.read(); s.dev != 0 || s.memUsed != 0 || s.badGuards != 0 {
		t.Fatalf("after freeing: %+v", s)
	}
}

func TestCopyMisuse(t *testing.T) {
	openFake(t)
	c := mustOpen(t, Config{})
	other := mustOpen(t, Config{LocalRank: 1})
	buf, err := c.Alloc(16)
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := other.Alloc(16)
	if err != nil {
		t.Fatal(err)
	}
	freed, err := c.Alloc(16)
	if err != nil {
		t.Fatal(err)
	}
	if err := freed.Free(); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, want string
		err        error
	}{
		{"too long to device", "copy to device of 17 bytes from 17 into 16 bytes: out of range", c.CopyHtoD(buf, make([]byte, 17))},
		{"too long to host", "copy to host of 17 bytes from 16 into 17 bytes", c.CopyDtoH(make([]byte, 17), buf)},
		{"other context", "belongs to another context", c.CopyHtoD(foreign, make([]byte, 4))},
		{"freed", "was freed", c.CopyDtoH(make([]byte, 4), freed)},
		{"zero alloc", "size must be positive", func() error { _, err := c.Alloc(0); return err }()},
		{"negative host alloc", "size must be positive", func() error { _, err := c.HostAlloc(-1); return err }()},
		{"nil buffer", "destination buffer is nil", c.CopyHtoD(nil, []byte{1})},
		{"nil async source", "pinned source buffer is nil", func() error {
			s, err := c.NewStream()
			if err != nil {
				return err
			}
			defer s.Destroy()
			return s.CopyHtoDAsync(buf, nil, 1)
		}()},
		{"nil stream", "stream is nil", func() error {
			e, err := c.NewEvent()
			if err != nil {
				return err
			}
			defer e.Destroy()
			return e.Record(nil)
		}()},
	}
	for _, tc := range cases {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) || !strings.Contains(tc.err.Error(), "device 0 (Fake H200)") {
			t.Errorf("%s: got %v, want %q naming the device", tc.name, tc.err, tc.want)
		}
	}
	if err := c.CopyHtoD(buf, nil); err != nil {
		t.Fatalf("empty copy: %v", err)
	}
}

// TestAsyncCopiesAndEvents: the fake runs queued copies only when a query
// finds the stream idle, so reading before Synchronize sees old bytes.
func TestAsyncCopiesAndEvents(t *testing.T) {
	for _, polls := range []int32{0, 3, 40} {
		f := openFake(t)
		f.setStreamPolls(polls)
		c := mustOpen(t, Config{})
		const n = 1000
		src, err := c.HostAlloc(n)
		if err != nil {
			t.Fatal(err)
		}
		dst, err := c.HostAlloc(n + 8)
		if err != nil {
			t.Fatal(err)
		}
		for i := range src.Bytes() {
			src.Bytes()[i] = byte(i ^ 0x3C)
		}
		clear(dst.Bytes())
		dev, err := c.Alloc(n)
		if err != nil {
			t.Fatal(err)
		}
		s, err := c.NewStream()
		if err != nil {
			t.Fatal(err)
		}
		start, err := c.NewEvent()
		if err != nil {
			t.Fatal(err)
		}
		end, err := c.NewEvent()
		if err != nil {
			t.Fatal(err)
		}
		if err := start.Record(s); err != nil {
			t.Fatal(err)
		}
		if err := s.CopyHtoDAsync(dev, src, n); err != nil {
			t.Fatal(err)
		}
		if err := s.CopyDtoHAsync(dst, dev, n); err != nil {
			t.Fatal(err)
		}
		if err := end.Record(s); err != nil {
			t.Fatal(err)
		}
		if polls > 0 {
			if !bytes.Equal(dst.Bytes(), make([]byte, n+8)) {
				t.Fatalf("polls %d: data arrived before synchronising", polls)
			}
			if _, err := Elapsed(start, end); !errors.Is(err, ErrDriver) || !strings.Contains(err.Error(), "CUDA_ERROR_NOT_READY") {
				t.Fatalf("polls %d: Elapsed before completion: %v", polls, err)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := end.Synchronize(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.Synchronize(ctx); err != nil {
			t.Fatal(err)
		}
		cancel()
		if !bytes.Equal(dst.Bytes()[:n], src.Bytes()) || !bytes.Equal(dst.Bytes()[n:], make([]byte, 8)) {
			t.Fatalf("polls %d: async round trip differs or overran", polls)
		}
		d, err := Elapsed(start, end)
		if err != nil || d < 0 || d > 10*time.Second {
			t.Fatalf("polls %d: elapsed %v, %v", polls, d, err)
		}
		if err := s.CopyHtoDAsync(dev, src, n+1); err == nil || !strings.Contains(err.Error(), "out of range") {
			t.Fatalf("oversized async copy: %v", err)
		}
		for _, free := range []func() error{start.Destroy, end.Destroy, s.Destroy, src.Free, dst.Free, dev.Free} {
			if err := free(); err != nil {
				t.Fatal(err)
			}
		}
		if st := f.read(); st != (fakeStats{ctxRefs: 1}) {
			t.Fatalf("polls %d: leaks %+v", polls, st)
		}
		if src.Bytes() != nil || src.Float32s() != nil {
			t.Fatal("Bytes after Free is not nil")
		}
	}
}

func TestOutOfMemory(t *testing.T) {
	f := openFake(t)
	f.setMemLimit(1 << 20)
	c := mustOpen(t, Config{})
	keep, err := c.Alloc(1 << 19)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Alloc(1 << 20)
	var oom *OutOfMemoryError
	var ce *CUDAError
	if !errors.Is(err, ErrOutOfMemory) || !errors.As(err, &oom) || !errors.As(err, &ce) || ce.Code != 2 {
		t.Fatalf("got %v", err)
	}
	if oom.Requested != 1<<20 || oom.Free != 1<<19 || oom.Total != 1<<20 || oom.Device != 0 || oom.Host {
		t.Fatalf("oom %+v", oom)
	}
	for _, want := range []string{"device 0 (Fake H200)", "1048576 bytes of device memory requested", "524288 of 1048576 bytes free", "cuMemAlloc_v2: CUDA_ERROR_OUT_OF_MEMORY (2)"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("%q lacks %q", err, want)
		}
	}
	if errors.Is(err, ErrDeviceLost) {
		t.Fatal("out of memory marked the device lost")
	}
	// the context stays usable
	small, err := c.Alloc(1000)
	if err != nil {
		t.Fatalf("alloc after OOM: %v", err)
	}
	f.fail("cuMemHostAlloc", 2, 0, 0)
	_, err = c.HostAlloc(4096)
	if !errors.As(err, &oom) || !oom.Host || !strings.Contains(err.Error(), "4096 bytes of pinned host memory") {
		t.Fatalf("host OOM: %v", err)
	}
	for _, b := range []*Buffer{keep, small} {
		if err := b.Free(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDriverErrors(t *testing.T) {
	cases := []struct {
		name  string
		call  string
		rc    int32
		op    func(c *Context, s *Stream, b *Buffer, h *HostBuffer) error
		lost  bool
		wants string
	}{
		{"lost at alloc", "cuMemAlloc_v2", 46, func(c *Context, _ *Stream, _ *Buffer, _ *HostBuffer) error {
			_, err := c.Alloc(8)
			return err
		}, true, "cuMemAlloc_v2: CUDA_ERROR_DEVICE_UNAVAILABLE (46)"},
		{"launch failure seen by sync", "cuStreamQuery", 719, func(_ *Context, s *Stream, b *Buffer, h *HostBuffer) error {
			if err := s.CopyHtoDAsync(b, h, 8); err != nil {
				return err
			}
			return s.Synchronize(context.Background())
		}, true, "synchronize stream: cuStreamQuery: CUDA_ERROR_LAUNCH_FAILED (719)"},
		{"illegal address at copy", "cuMemcpyDtoH_v2", 700, func(c *Context, _ *Stream, b *Buffer, _ *HostBuffer) error {
			return c.CopyDtoH(make([]byte, 8), b)
		}, true, "copy of 8 bytes to host: cuMemcpyDtoH_v2: CUDA_ERROR_ILLEGAL_ADDRESS (700)"},
		{"ECC at event", "cuEventRecord", 214, func(c *Context, s *Stream, _ *Buffer, _ *HostBuffer) error {
			e, err := c.NewEvent()
			if err != nil {
				return err
			}
			return e.Record(s)
		}, true, "CUDA_ERROR_ECC_UNCORRECTABLE"},
		{"invalid value is not lost", "cuMemcpyHtoD_v2", 1, func(c *Context, _ *Stream, b *Buffer, _ *HostBuffer) error {
			return c.CopyHtoD(b, make([]byte, 8))
		}, false, "cuMemcpyHtoD_v2: CUDA_ERROR_INVALID_VALUE (1)"},
		{"unknown code", "cuStreamCreate", 12345, func(c *Context, _ *Stream, _ *Buffer, _ *HostBuffer) error {
			_, err := c.NewStream()
			return err
		}, false, "cuStreamCreate: CUDA_ERROR_12345 (12345)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := openFake(t)
			c, err := Open(Config{})
			if err != nil {
				t.Fatal(err)
			}
			s, err := c.NewStream()
			if err != nil {
				t.Fatal(err)
			}
			b, err := c.Alloc(8)
			if err != nil {
				t.Fatal(err)
			}
			h, err := c.HostAlloc(8)
			if err != nil {
				t.Fatal(err)
			}
			f.fail(tc.call, tc.rc, 0, map[bool]int32{true: 1}[tc.lost])
			err = tc.op(c, s, b, h)
			if err == nil || !strings.Contains(err.Error(), tc.wants) || !strings.Contains(err.Error(), "device 0 (Fake H200)") {
				t.Fatalf("got %v, want %q naming the device", err, tc.wants)
			}
			if errors.Is(err, ErrDeviceLost) != tc.lost || errors.Is(err, ErrDriver) == tc.lost {
				t.Fatalf("lost=%v driver=%v, want lost %v: %v", errors.Is(err, ErrDeviceLost), errors.Is(err, ErrDriver), tc.lost, err)
			}
			_, err = c.Alloc(8)
			if tc.lost {
				if !errors.Is(err, ErrDeviceLost) || !strings.Contains(err.Error(), "unusable after an earlier error") || !strings.Contains(err.Error(), tc.wants) {
					t.Fatalf("alloc after loss: %v", err)
				}
				_ = c.Close() // the fake fails every call now; Close must still return
			} else {
				if err != nil {
					t.Fatalf("alloc after a non-sticky error: %v", err)
				}
				if err := c.Close(); err != nil {
					t.Fatalf("close: %v", err)
				}
				if st := f.read(); st != (fakeStats{}) {
					t.Fatalf("Close left %+v", st)
				}
			}
			if _, err := c.Alloc(8); !errors.Is(err, ErrClosed) {
				t.Fatalf("alloc after close: %v", err)
			}
		})
	}
}

func TestSynchronizeIsBounded(t *testing.T) {
	f := openFake(t)
	f.setStreamPolls(-1) // the stream never becomes idle: a hung kernel
	cases := []struct {
		name string
		cfg  Config
		ctx  func() (context.Context, context.CancelFunc)
	}{
		{"ctx deadline", Config{}, func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 50*time.Millisecond)
		}},
		{"sync timeout without deadline", Config{SyncTimeout: 50 * time.Millisecond, MaxPoll: time.Millisecond}, func() (context.Context, context.CancelFunc) {
			return context.WithCancel(context.Background())
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := mustOpen(t, tc.cfg)
			s, err := c.NewStream()
			if err != nil {
				t.Fatal(err)
			}
			b, _ := c.Alloc(8)
			h, _ := c.HostAlloc(8)
			if err := s.CopyHtoDAsync(b, h, 8); err != nil {
				t.Fatal(err)
			}
			e, _ := c.NewEvent()
			if err := e.Record(s); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := tc.ctx()
			defer cancel()
			t0 := time.Now()
			err = s.Synchronize(ctx)
			if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "device 0 (Fake H200): synchronize stream: not done after") {
				t.Fatalf("got %v", err)
			}
			if d := time.Since(t0); d > 5*time.Second {
				t.Fatalf("took %v", d)
			}
			ctx2, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel2()
			if err := e.Synchronize(ctx2); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "synchronize event") {
				t.Fatalf("event: %v", err)
			}
			// Close frees what is left even with work outstanding
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
	if st := f.read(); st != (fakeStats{}) {
		t.Fatalf("leaks %+v", st)
	}
}

func TestCloseFreesEverything(t *testing.T) {
	f := openFake(t)
	c := mustOpen(t, Config{})
	b, _ := c.Alloc(100)
	h, _ := c.HostAlloc(100)
	s, _ := c.NewStream()
	e, _ := c.NewEvent()
	if err := e.Record(s); err != nil {
		t.Fatal(err)
	}
	if st := f.read(); st != (fakeStats{dev: 1, host: 1, streams: 1, events: 1, ctxRefs: 1, memUsed: 100}) {
		t.Fatalf("before close %+v", st)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if st := f.read(); st != (fakeStats{}) {
		t.Fatalf("after close %+v", st)
	}
	for _, free := range []func() error{b.Free, h.Free, s.Destroy, e.Destroy} {
		if err := free(); err != nil {
			t.Fatalf("free after close: %v", err)
		}
	}
	if err := c.CopyHtoD(b, []byte{1}); err == nil {
		t.Fatal("copy into a buffer freed by Close")
	}
	if _, err := c.NewStream(); !errors.Is(err, ErrClosed) {
		t.Fatalf("NewStream after close: %v", err)
	}
}

// TestConcurrentUse runs allocations and copies from many goroutines: each
// driver call must find the context current on whatever thread it runs.
func TestConcurrentUse(t *testing.T) {
	f := openFake(t)
	c := mustOpen(t, Config{})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 40 {
				n := 1 + (g*131+i*17)%3000
				b, err := c.Alloc(n)
				if err != nil {
					errs <- err
					return
				}
				src := bytes.Repeat([]byte{byte(g), byte(i)}, n)[:n]
				dst := make([]byte, n)
				if err := c.CopyHtoD(b, src); err != nil {
					errs <- err
					return
				}
				if err := c.CopyDtoH(dst, b); err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(src, dst) {
					errs <- errors.New("data differs")
					return
				}
				if err := b.Free(); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if st := f.read(); st.dev != 0 || st.badGuards != 0 {
		t.Fatalf("%+v", st)
	}
}

func TestOpenNoGPULogsOnce(t *testing.T) {
	cases := []struct {
		name, want string
		lib        func(t *testing.T) string
	}{
		{"no library", "cannot be loaded", func(t *testing.T) string { return filepath.Join(t.TempDir(), "libcuda.so.1") }},
		{"zero devices", "0 devices", func(t *testing.T) string { return buildFake(t, "-DNDEV=0") }},
		{"old driver", "lacks cuDevicePrimaryCtxRetain", func(t *testing.T) string { return buildFake(t, "-DDISCOVERY_ONLY") }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(LibEnv, tc.lib(t))
			var logs bytes.Buffer
			_, err := Open(Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			if !errors.Is(err, ErrNoGPU) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrNoGPU with %q", err, tc.want)
			}
			lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], "no GPU: using the CPU engine") || !strings.Contains(lines[0], tc.want) {
				t.Fatalf("log %q", logs.String())
			}
		})
	}
	t.Run("probe still works on an old driver", func(t *testing.T) {
		t.Setenv(LibEnv, buildFake(t, "-DDISCOVERY_ONLY"))
		if info, err := Probe(); err != nil || len(info.Devices) != 2 {
			t.Fatalf("%+v %v", info, err)
		}
	})
}

// TestAsyncCopiesAtOffsetsAcrossStreams copies a device range into the
// middle of a pinned buffer on a second stream that waits for an event
// of the first, as the GPU engine streams gradients to the host.
func TestAsyncCopiesAtOffsetsAcrossStreams(t *testing.T) {
	for _, polls := range []int32{0, 5} {
		f := openFake(t)
		f.setStreamPolls(polls)
		c := mustOpen(t, Config{})
		const n = 64
		src, err := c.HostAlloc(n)
		if err != nil {
			t.Fatal(err)
		}
		dst, err := c.HostAlloc(3 * n)
		if err != nil {
			t.Fatal(err)
		}
		for i := range src.Bytes() {
			src.Bytes()[i] = byte(i*7 + 1)
		}
		clear(dst.Bytes())
		dev, err := c.Alloc(2 * n)
		if err != nil {
			t.Fatal(err)
		}
		compute, err := c.NewStream()
		if err != nil {
			t.Fatal(err)
		}
		copier, err := c.NewStream()
		if err != nil {
			t.Fatal(err)
		}
		ev, err := c.NewEvent()
		if err != nil {
			t.Fatal(err)
		}
		// device bytes [n/2, n/2+n) ← src; then host bytes [n, 2n) ← those
		if err := compute.CopyHtoDAsyncAt(dev.At(n/2), src, 0, n); err != nil {
			t.Fatal(err)
		}
		if err := ev.Record(compute); err != nil {
			t.Fatal(err)
		}
		if err := copier.WaitEvent(ev); err != nil {
			t.Fatal(err)
		}
		if err := copier.CopyDtoHAsyncAt(dst, n, dev.At(n/2), n); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := copier.Synchronize(ctx); err != nil {
			t.Fatal(err)
		}
		cancel()
		want := append(append(make([]byte, n), src.Bytes()...), make([]byte, n)...)
		if !bytes.Equal(dst.Bytes(), want) {
			t.Fatalf("polls %d: offset copy through two streams differs", polls)
		}
		for _, bad := range []struct {
			what string
			err  error
		}{
			{"device range past the end", copier.CopyDtoHAsyncAt(dst, 0, dev.At(n+n/2+1), n)},
			{"host range past the end", copier.CopyDtoHAsyncAt(dst, 2*n+1, dev.At(0), n)},
			{"negative offset", copier.CopyHtoDAsyncAt(dev.At(0), src, -1, n)},
		} {
			if bad.err == nil {
				t.Errorf("polls %d: %s accepted", polls, bad.what)
			}
		}
		for _, free := range []func() error{ev.Destroy, compute.Destroy, copier.Destroy, src.Free, dst.Free, dev.Free} {
			if err := free(); err != nil {
				t.Fatal(err)
			}
		}
	}
}
