package train

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
)

// Comm is what the training loop needs from a communicator. A
// *collective.Comm satisfies it through the small adapter in cmd/scibench
// (or any type with these methods); tests run several in-process
// communicators. AllReduceSum must leave bitwise-identical results on every
// rank, which a ring all-reduce does (each chunk is reduced by one owner and
// then copied to the others).
type Comm interface {
	Rank() int
	Size() int
	// AllReduceSum replaces buf on every rank by the element-wise sum over
	// ranks. Only one collective operation runs at a time per Comm.
	AllReduceSum(ctx context.Context, buf []float32) error
	// Barrier returns once every rank has entered it.
	Barrier(ctx context.Context) error
}

// Local is the communicator of a single process (world size 1).
type Local struct{}

// Rank is 0.
func (Local) Rank() int { return 0 }

// Size is 1.
func (Local) Size() int { return 1 }

// AllReduceSum leaves buf unchanged.
func (Local) AllReduceSum(ctx context.Context, buf []float32) error { return ctx.Err() }

// Barrier returns at once.
func (Local) Barrier(ctx context.Context) error { return ctx.Err() }

// maxGatherChunks bounds the payload of GatherBytes: each 16-bit chunk is
// carried exactly by one float32 and lengths must stay below 2^24.
const maxGatherChunks = 1 << 23

// GatherBytes gives every rank the byte slices of all ranks, in rank order.
// It needs only AllReduceSum: each rank writes its payload as 16-bit chunks
// (exact in float32) into its own slot of a zeroed buffer, and the sum of
// one value and zeros is exact. It costs two all-reduces.
func GatherBytes(ctx context.Context, c Comm, b []byte) ([][]byte, error) {
	n, r := c.Size(), c.Rank()
	if len(b) > 2*maxGatherChunks {
		return nil, fmt.Errorf("%w: gather of %d bytes on rank %d exceeds %d", ErrComm, len(b), r, 2*maxGatherChunks)
	}
	lens := make([]float32, n)
	lens[r] = float32(len(b))
	if err := c.AllReduceSum(ctx, lens); err != nil {
		return nil, fmt.Errorf("%w: gather lengths on rank %d: %w", ErrComm, r, err)
	}
	offs := make([]int, n+1)
	for i, l := range lens {
		if l < 0 || l != float32(math.Trunc(float64(l))) || l > 2*maxGatherChunks {
			return nil, fmt.Errorf("%w: gather: bad length %v from rank %d", ErrComm, l, i)
		}
		offs[i+1] = offs[i] + (int(l)+1)/2
	}
	if offs[n] > maxGatherChunks*2 {
		return nil, fmt.Errorf("%w: gather of %d chunks exceeds limit", ErrComm, offs[n])
	}
	buf := make([]float32, offs[n])
	mine := buf[offs[r]:offs[r+1]]
	for i := range mine {
		v := uint16(b[2*i])
		if 2*i+1 < len(b) {
			v |= uint16(b[2*i+1]) << 8
		}
		mine[i] = float32(v)
	}
	if err := c.AllReduceSum(ctx, buf); err != nil {
		return nil, fmt.Errorf("%w: gather payload on rank %d: %w", ErrComm, r, err)
	}
	out := make([][]byte, n)
	for i := range out {
		l := int(lens[i])
		p := make([]byte, l)
		for j, f := range buf[offs[i]:offs[i+1]] {
			if f < 0 || f > 65535 {
				return nil, fmt.Errorf("%w: gather: chunk %v from rank %d out of range", ErrComm, f, i)
			}
			v := uint16(f)
			p[2*j] = byte(v)
			if 2*j+1 < l {
				p[2*j+1] = byte(v >> 8)
			}
		}
		out[i] = p
	}
	return out, nil
}

// GatherFloat64 gives every rank the float64 vectors of all ranks, exactly,
// in rank order.
func GatherFloat64(ctx context.Context, c Comm, v []float64) ([][]float64, error) {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(x))
	}
	all, err := GatherBytes(ctx, c, b)
	if err != nil {
		return nil, err
	}
	out := make([][]float64, len(all))
	for i, p := range all {
		if len(p)%8 != 0 {
			return nil, fmt.Errorf("%w: gather: %d bytes from rank %d is not float64s", ErrComm, len(p), i)
		}
		out[i] = make([]float64, len(p)/8)
		for j := range out[i] {
			out[i][j] = math.Float64frombits(binary.LittleEndian.Uint64(p[8*j:]))
		}
	}
	return out, nil
}

// SumFloat64 returns the element-wise sum over ranks of v, added in rank
// order in float64, so every rank gets the same bits. All ranks must pass
// vectors of the same length.
func SumFloat64(ctx context.Context, c Comm, v []float64) ([]float64, error) {
	all, err := GatherFloat64(ctx, c, v)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(v))
	for r, a := range all {
		if len(a) != len(v) {
			return nil, fmt.Errorf("%w: sum: rank %d sent %d values, rank %d has %d", ErrComm, r, len(a), c.Rank(), len(v))
		}
		for i, x := range a {
			out[i] += x
		}
	}
	return out, nil
}
