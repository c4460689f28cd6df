package optim

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// Optimizer updates a flat parameter vector in place from its gradient.
//
// Step(w, g) performs one update; w and g must both have the length the
// optimizer was built for (a mismatch is a programmer error and panics with
// the lengths in the message). Step does not allocate. SaveState and
// LoadState write and read everything a resumed run needs to continue
// bit-for-bit: the step count, the current learning rate and the moment
// buffers.
type Optimizer interface {
	Step(w, g []float32)
	SetLR(lr float64)
	LR() float64
	Name() string
	SaveState(w io.Writer) error
	LoadState(r io.Reader) error
}

// Errors returned by the package, wrapped with detail; test with errors.Is.
var (
	// ErrConfig reports an invalid optimizer or schedule configuration.
	ErrConfig = errors.New("optim: invalid config")
	// ErrState reports a saved state that does not belong to this optimizer
	// (other name or size) or is malformed.
	ErrState = errors.New("optim: bad saved state")
)

// stateMagic opens every saved optimizer state (format version 1).
const stateMagic = "SCIBOPT1"

// chunkFloats is how many float32 values SaveState and LoadState move
// through their fixed buffer at a time.
const chunkFloats = 16 << 10

// header is the fixed part of a saved state after the magic and name.
type header struct {
	N, T  uint64
	LR    float64
	Slots uint32
}

// saveState writes magic, name, header and each slot as little-endian
// float32.
func saveState(w io.Writer, name string, t int64, lr float64, n int, slots ...[]float32) error {
	var buf [4 * chunkFloats]byte
	b := append(buf[:0], stateMagic...)
	b = append(b, byte(len(name)))
	b = append(b, name...)
	b = binary.LittleEndian.AppendUint64(b, uint64(n))
	b = binary.LittleEndian.AppendUint64(b, uint64(t))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(lr))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(slots)))
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("optim: %s SaveState: %w", name, err)
	}
	for _, s := range slots {
		for off := 0; off < len(s); off += chunkFloats {
			part := s[off:min(off+chunkFloats, len(s))]
			for i, v := range part {
				binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
			}
			if _, err := w.Write(buf[:4*len(part)]); err != nil {
				return fmt.Errorf("optim: %s SaveState: %w", name, err)
			}
		}
	}
	return nil
}

// loadState reads what saveState wrote, checking that the name, size and
// slot count match, and fills slots in place. It returns t and lr.
func loadState(r io.Reader, name string, n int, slots ...[]float32) (int64, float64, error) {
	var buf [4 * chunkFloats]byte
	fail := func(format string, args ...any) (int64, float64, error) {
		return 0, 0, fmt.Errorf("%w: %s LoadState: %s", ErrState, name, fmt.Sprintf(format, args...))
	}
	if _, err := io.ReadFull(r, buf[:len(stateMagic)+1]); err != nil {
		return fail("reading header: %v", err)
	}
	if string(buf[:len(stateMagic)]) != stateMagic {
		return fail("not an optimizer state (magic %q)", buf[:len(stateMagic)])
	}
	nameLen := int(buf[len(stateMagic)])
	if _, err := io.ReadFull(r, buf[:nameLen]); err != nil {
		return fail("reading name: %v", err)
	}
	if got := string(buf[:nameLen]); got != name {
		return fail("state was saved by %q", got)
	}
	if _, err := io.ReadFull(r, buf[:28]); err != nil {
		return fail("reading header: %v", err)
	}
	h := header{
		N:     binary.LittleEndian.Uint64(buf[0:]),
		T:     binary.LittleEndian.Uint64(buf[8:]),
		LR:    math.Float64frombits(binary.LittleEndian.Uint64(buf[16:])),
		Slots: binary.LittleEndian.Uint32(buf[24:]),
	}
	if h.N != uint64(n) {
		return fail("state has %d parameters, optimizer has %d", h.N, n)
	}
	if h.Slots != uint32(len(slots)) {
		return fail("state has %d buffers, want %d", h.Slots, len(slots))
	}
	if h.T > math.MaxInt64 || math.IsNaN(h.LR) || h.LR < 0 {
		return fail("step %d, learning rate %v out of range", h.T, h.LR)
	}
	for si, s := range slots {
		for off := 0; off < len(s); off += chunkFloats {
			part := s[off:min(off+chunkFloats, len(s))]
			if _, err := io.ReadFull(r, buf[:4*len(part)]); err != nil {
				return fail("buffer %d at element %d: %v", si, off, err)
			}
			for i := range part {
				part[i] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:]))
			}
		}
	}
	return int64(h.T), h.LR, nil
}

// checkLens panics when a Step gets slices of the wrong length.
func checkLens(name string, n int, w, g []float32) {
	if len(w) != n || len(g) != n {
		panic(fmt.Sprintf("optim: %s.Step: len(w)=%d len(g)=%d, optimizer built for %d", name, len(w), len(g), n))
	}
}

// checkRange panics unless w and g hold the n elements the optimizer was
// built for and 0 <= lo <= hi <= n.
func checkRange(name string, n int, w, g []float32, lo, hi int) {
	if len(w) != n || len(g) != n || lo < 0 || lo > hi || hi > n {
		panic(fmt.Sprintf("optim: %s.StepRange: len(w)=%d len(g)=%d range [%d,%d), optimizer built for %d", name, len(w), len(g), lo, hi, n))
	}
}

// RangeStepper is an optional capability of an Optimizer: a step applied
// range by range, so that a data-parallel loop can update each gradient
// bucket as soon as it is all-reduced, while it is still in cache.
// BeginStep is called once per step, then StepRange for disjoint ranges
// that together cover the arena; the result is bitwise that of Step.
type RangeStepper interface {
	BeginStep()
	StepRange(w, g []float32, lo, hi int)
}

// sqrt32 is a single-precision square root (compiles to one instruction).
func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }

var (
	_ Optimizer = (*Adam)(nil)
	_ Optimizer = (*Adamax)(nil)
	_ Optimizer = (*SGD)(nil)

	_ RangeStepper = (*Adam)(nil)
	_ RangeStepper = (*Adamax)(nil)
	_ Schedule     = (*Plateau)(nil)
)
