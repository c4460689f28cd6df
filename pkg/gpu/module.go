package gpu

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sort"
	"strings"
	"sync/atomic"
	"unsafe"

	"github.com/scibench/scibench/kernels"
)

// cuModuleGetFunction's answer for a name the module does not define.
const cudaNotFound = 500

// KernelConfig configures LoadKernels. Zero values mean defaults.
type KernelConfig struct {
	// Arch overrides the architecture NVRTC compiles for ("sm_90",
	// "compute_80"); default: chosen from the device's compute capability
	// (see LoadKernels).
	Arch string
	// Options are extra NVRTC options, e.g. "--use_fast_math" (off by
	// default: the kernels are meant to match their CPU twins).
	Options []string
}

// Source is one CUDA C file to compile, and the kernels it defines.
type Source struct {
	File    string
	Text    string
	Kernels []kernels.Kernel
}

// Module is compiled kernels loaded into a Context: one CUmodule per
// source file, and every kernel looked up once.
type Module struct {
	c     *Context
	arch  string
	mods  []uintptr
	funcs map[string]*Function
	freed atomic.Bool
}

// Function is one kernel of a Module, with the parameter kinds its launch
// arguments are checked against.
type Function struct {
	m    *Module
	h    uintptr // CUfunction
	k    kernels.Kernel
	file string
}

// Name returns the kernel's name.
func (f *Function) Name() string { return f.k.Name }

// Kernel returns the kernel's description from kernels.Table.
func (f *Function) Kernel() kernels.Kernel { return f.k }

// LoadKernels compiles every file of package kernels with NVRTC for this
// device, loads the images and looks up every kernel of kernels.Table.
//
// The architecture is sm_XY for the device's compute capability X.Y when
// NVRTC supports it (a CUBIN: nothing left for the driver to compile), or
// else compute_XY for the newest virtual architecture NVRTC supports not
// newer than the device (PTX, compiled by the driver when loaded). Errors:
// ErrNoNVRTC when libnvrtc cannot be loaded ($SCIBENCH_LIBNVRTC, else
// libnvrtc.so.12, .so.11.2, ...); a *CompileError (ErrCompile) naming the
// file, its kernels and carrying the NVRTC log; an error naming a kernel
// of the table that the image lacks; driver errors naming the call.
func (c *Context) LoadKernels(cfg KernelConfig) (*Module, error) {
	var srcs []Source
	for _, f := range kernels.Files() {
		text, err := kernels.Source(f)
		if err != nil {
			return nil, err
		}
		srcs = append(srcs, Source{File: f, Text: text, Kernels: kernels.InFile(f)})
	}
	return c.LoadModule(srcs, cfg)
}

// LoadModule compiles and loads the given sources (see LoadKernels).
func (c *Context) LoadModule(srcs []Source, cfg KernelConfig) (*Module, error) {
	if len(srcs) == 0 {
		return nil, fmt.Errorf("gpu: %s: load module: no sources", c.where())
	}
	if len(c.api.kernelMissing) > 0 {
		return nil, fmt.Errorf("%w: %s: the driver lacks %s (too old to launch kernels)", ErrDriver, c.where(),
			strings.Join(c.api.kernelMissing, ", "))
	}
	nv, err := loadNVRTC()
	if err != nil {
		return nil, fmt.Errorf("gpu: %s: compile kernels: %w", c.where(), err)
	}
	arch, cubin := cfg.Arch, strings.HasPrefix(cfg.Arch, "sm_")
	if arch == "" {
		if arch, cubin, err = nv.chooseArch(c.dev.Major, c.dev.Minor); err != nil {
			return nil, fmt.Errorf("gpu: %s: %w", c.where(), err)
		}
	} else if !cubin && !strings.HasPrefix(arch, "compute_") {
		return nil, fmt.Errorf("gpu: %s: architecture %q: want sm_XY or compute_XY", c.where(), arch)
	}
	if cubin && !nv.hasCUBIN {
		return nil, fmt.Errorf("gpu: %s: architecture %s needs nvrtcGetCUBIN, which %s lacks (NVRTC %s)",
			c.where(), arch, nv.lib, nv.versionString())
	}
	images := make([][]byte, len(srcs))
	for i, s := range srcs {
		names := make([]string, len(s.Kernels))
		for j, k := range s.Kernels {
			names[j] = k.Name
		}
		img, err := nv.compile(s.File, s.Text, arch, cubin, cfg.Options, names)
		if err != nil {
			return nil, fmt.Errorf("gpu: %s: %w", c.where(), err)
		}
		images[i] = img
	}
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.exit()
	m := &Module{c: c, arch: arch, funcs: map[string]*Function{}}
	unload := func() {
		for _, h := range m.mods {
			c.api.moduleUnload(h)
		}
	}
	for i, s := range srcs {
		var h uintptr
		if r := c.api.moduleLoadData(&h, unsafe.Pointer(&images[i][0]), 0, nil, nil); r != cudaSuccess {
			unload()
			return nil, c.fail("cuModuleLoadDataEx", r, fmt.Sprintf("load %s compiled for %s", s.File, arch))
		}
		m.mods = append(m.mods, h)
		for _, k := range s.Kernels {
			if _, dup := m.funcs[k.Name]; dup {
				unload()
				return nil, fmt.Errorf("gpu: %s: kernel %q is listed twice (again in %s)", c.where(), k.Name, s.File)
			}
			name := cBytes(k.Name)
			var f uintptr
			if r := c.api.moduleGetFunction(&f, h, &name[0]); r != cudaSuccess {
				unload()
				if r == cudaNotFound {
					return nil, fmt.Errorf("gpu: %s: kernel %q not found in %s (compiled for %s): is it extern \"C\" __global__?",
						c.where(), k.Name, s.File, arch)
				}
				return nil, c.fail("cuModuleGetFunction", r, fmt.Sprintf("kernel %q of %s", k.Name, s.File))
			}
			m.funcs[k.Name] = &Function{m: m, h: f, k: k, file: s.File}
		}
	}
	c.track(m)
	return m, nil
}

// Arch returns the architecture the module was compiled for.
func (m *Module) Arch() string { return m.arch }

// Function returns the kernel called name, or an error naming it.
func (m *Module) Function(name string) (*Function, error) {
	if m == nil {
		return nil, fmt.Errorf("gpu: kernel %q: module is nil", name)
	}
	if m.freed.Load() {
		return nil, fmt.Errorf("gpu: %s: kernel %q: module was unloaded", m.c.where(), name)
	}
	f, ok := m.funcs[name]
	if !ok {
		return nil, fmt.Errorf("gpu: %s: kernel %q is not in the module (it has %d kernels: %s)", m.c.where(), name,
			len(m.funcs), strings.Join(m.Names(), ", "))
	}
	return f, nil
}

// Names returns the kernel names of the module, sorted.
func (m *Module) Names() []string {
	names := make([]string, 0, len(m.funcs))
	for n := range m.funcs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Unload unloads the module (cuModuleUnload). Idempotent, and a no-op
// after Context.Close.
func (m *Module) Unload() error { return m.c.free(m) }

func (m *Module) markFreed() bool { return m.freed.CompareAndSwap(false, true) }

func (m *Module) release(c *Context) error {
	var errs []error
	for _, h := range m.mods {
		if r := c.api.moduleUnload(h); r != cudaSuccess {
			errs = append(errs, c.fail("cuModuleUnload", r, "unload module"))
		}
	}
	return errors.Join(errs...)
}

// Dim3 is a grid or block size; zero fields mean 1.
type Dim3 struct{ X, Y, Z int }

func (d Dim3) norm() Dim3 {
	if d.Y == 0 {
		d.Y = 1
	}
	if d.Z == 0 {
		d.Z = 1
	}
	return d
}

// LaunchConfig is the geometry of one launch. Shared is dynamic shared
// memory in bytes; 0 means what the kernel's table entry needs
// (SharedDoubles·8 per thread of the block).
type LaunchConfig struct {
	Grid, Block Dim3
	Shared      int
}

// MaxGridX caps Linear's grid: kernels loop over their range (grid-stride),
// so more blocks than this add nothing.
const MaxGridX = 1 << 16

// Linear returns a one-dimensional launch of block threads per block and
// enough blocks to cover n elements (at least 1, at most MaxGridX).
func Linear(n, block int) LaunchConfig {
	if block <= 0 {
		block = 256
	}
	g := (n + block - 1) / block
	g = max(1, min(g, MaxGridX))
	return LaunchConfig{Grid: Dim3{X: g}, Block: Dim3{X: block}}
}

// Ptr is a device address inside a Buffer (At) or NULL (the zero value),
// for kernel arguments.
type Ptr struct {
	b   *Buffer
	off int
}

// At returns the address off bytes into b, for kernel arguments.
func (b *Buffer) At(off int) Ptr { return Ptr{b: b, off: off} }

// Null is the NULL device pointer.
var Null = Ptr{}

// Add returns the address n bytes further into the same buffer.
func (p Ptr) Add(n int) Ptr { return Ptr{b: p.b, off: p.off + n} }

// Buffer is the buffer p points into (nil for Null).
func (p Ptr) Buffer() *Buffer { return p.b }

// Offset is p's byte offset into its buffer.
func (p Ptr) Offset() int { return p.off }

// IsNull reports whether p is the NULL device pointer.
func (p Ptr) IsNull() bool { return p.b == nil }

// argSlot is the storage of one packed argument: 8 bytes, 8-aligned, the
// value in its low bytes (little endian), as cuLaunchKernel reads
// sizeof(parameter) bytes from each kernelParams pointer.
type argSlot = uint64

// packArgs checks args against the kernel's parameter kinds and writes
// each into its slot: *Buffer and Ptr as 8-byte device addresses, int and
// int32 as 4-byte ints, float32 as 4 bytes, float64 as 8.
func (c *Context) packArgs(f *Function, args []any, slots []argSlot) error {
	kinds := f.k.Params
	if kinds != "" && len(args) != len(kinds) {
		return fmt.Errorf("gpu: %s: kernel %s: %d arguments, want %d (%s)", c.where(), f.k.Name, len(args), len(kinds), kindNames(kinds))
	}
	for i, a := range args {
		want := byte(0)
		if kinds != "" {
			want = kinds[i]
		}
		bad := func(why string) error {
			return fmt.Errorf("gpu: %s: kernel %s: argument %d (%T): %s", c.where(), f.k.Name, i, a, why)
		}
		var got byte
		switch v := a.(type) {
		case *Buffer:
			if why := c.ownReason(v); why != "" {
				return bad(why)
			}
			got, slots[i] = kernels.Ptr, v.ptr
		case Ptr:
			got = kernels.Ptr
			if v.b != nil {
				if why := c.ownReason(v.b); why != "" {
					return bad(why)
				}
				if v.off < 0 || v.off >= v.b.size {
					return bad(fmt.Sprintf("offset %d outside the buffer of %d bytes", v.off, v.b.size))
				}
				slots[i] = v.b.ptr + uint64(v.off)
			} else {
				slots[i] = 0
			}
		case int:
			if v < math.MinInt32 || v > math.MaxInt32 {
				return bad(fmt.Sprintf("value %d does not fit the kernel's 32-bit int", v))
			}
			got, slots[i] = kernels.Int, uint64(uint32(int32(v)))
		case int32:
			got, slots[i] = kernels.Int, uint64(uint32(v))
		case float32:
			got, slots[i] = kernels.Float, uint64(math.Float32bits(v))
		case float64:
			got, slots[i] = kernels.Double, math.Float64bits(v)
		default:
			return bad("unsupported type (want *gpu.Buffer, gpu.Ptr, int, int32, float32 or float64)")
		}
		if want != 0 && got != want {
			return bad(fmt.Sprintf("is a %s, the kernel wants a %s", kindName(got), kindName(want)))
		}
	}
	return nil
}

// ownReason is own without allocating: "" when b is a live buffer of c,
// else why not.
func (c *Context) ownReason(b *Buffer) string {
	switch {
	case b == nil:
		return "buffer is nil"
	case b.c != c:
		return "buffer belongs to another context"
	case b.freed.Load():
		return "buffer was freed"
	}
	return ""
}

func kindName(k byte) string {
	switch k {
	case kernels.Ptr:
		return "pointer"
	case kernels.Int:
		return "int (int or int32)"
	case kernels.Float:
		return "float (float32)"
	case kernels.Double:
		return "double (float64)"
	}
	return fmt.Sprintf("kind %q", k)
}

func kindNames(kinds string) string {
	s := make([]string, len(kinds))
	for i := range kinds {
		s[i] = kindName(kinds[i])
	}
	return strings.Join(s, ", ")
}

// checkLaunch validates the geometry (CUDA's limits for compute
// capability 3.0 and later) and fills the default shared memory.
func (c *Context) checkLaunch(f *Function, lc LaunchConfig) (LaunchConfig, error) {
	g, b := lc.Grid.norm(), lc.Block.norm()
	lc.Grid, lc.Block = g, b
	bad := func(why string) error {
		return fmt.Errorf("gpu: %s: kernel %s: grid %v block %v shared %d: %s", c.where(), f.k.Name, g, b, lc.Shared, why)
	}
	switch {
	case g.X < 1 || g.Y < 1 || g.Z < 1 || b.X < 1 || b.Y < 1 || b.Z < 1:
		return lc, bad("every dimension must be at least 1")
	case g.X > math.MaxInt32 || g.Y > 65535 || g.Z > 65535:
		return lc, bad("grid too large (x ≤ 2³¹−1, y, z ≤ 65535)")
	case b.X > 1024 || b.Y > 1024 || b.Z > 64 || b.X*b.Y*b.Z > 1024:
		return lc, bad("block too large (x, y ≤ 1024, z ≤ 64, at most 1024 threads)")
	case lc.Shared < 0:
		return lc, bad("negative shared memory")
	}
	if d := f.k.SharedDoubles; d > 0 {
		if b.Y != 1 || b.Z != 1 || b.X&(b.X-1) != 0 {
			return lc, bad("this kernel needs a one-dimensional block whose size is a power of two")
		}
		need := 8 * d * b.X
		if lc.Shared == 0 {
			lc.Shared = need
		} else if lc.Shared < need {
			return lc, bad(fmt.Sprintf("this kernel needs %d bytes of shared memory", need))
		}
	}
	return lc, nil
}

// Launch queues kernel f on s (cuLaunchKernel) with the given geometry
// and arguments. Arguments are checked against the kernel's parameter
// kinds (kernels.Table): a device pointer is a *Buffer of this context, a
// Ptr (Buffer.At, or Null), an int parameter an int or int32, float a
// float32, double a float64. Launch returns once the launch is queued; a
// fault inside the kernel shows up at the next Synchronize (or any later
// call) as an error wrapping ErrDeviceLost, after which the context is
// unusable.
func (s *Stream) Launch(f *Function, lc LaunchConfig, args ...any) error {
	if err := s.check(); err != nil {
		return err
	}
	c := s.c
	if f == nil || f.m == nil {
		return fmt.Errorf("gpu: %s: launch: kernel is nil", c.where())
	}
	if f.m.c != c {
		return fmt.Errorf("gpu: %s: launch kernel %s: its module belongs to another context", c.where(), f.k.Name)
	}
	if f.m.freed.Load() {
		return fmt.Errorf("gpu: %s: launch kernel %s: its module was unloaded", c.where(), f.k.Name)
	}
	lc, err := c.checkLaunch(f, lc)
	if err != nil {
		return err
	}
	slots := make([]argSlot, len(args)+1)
	params := make([]unsafe.Pointer, len(args)+1)
	if err := c.packArgs(f, args, slots); err != nil {
		return err
	}
	var pin runtime.Pinner
	defer pin.Unpin()
	pin.Pin(&slots[0])
	pin.Pin(&params[0])
	for i := range args {
		params[i] = unsafe.Pointer(&slots[i])
	}
	if err := c.enter(); err != nil {
		return err
	}
	defer c.exit()
	g, b := lc.Grid, lc.Block
	if r := c.api.launchKernel(f.h, uint32(g.X), uint32(g.Y), uint32(g.Z), uint32(b.X), uint32(b.Y), uint32(b.Z),
		uint32(lc.Shared), s.h, &params[0], nil); r != cudaSuccess {
		return c.fail("cuLaunchKernel", r, fmt.Sprintf("kernel %s (%s) grid %v block %v shared %d", f.k.Name, f.file, g, b, lc.Shared))
	}
	return nil
}
