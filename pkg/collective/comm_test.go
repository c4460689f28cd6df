package collective

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// refAllReduce is the naive reference: element i is reduced in ring order
// starting at the rank after... exactly as a sequential loop would, so the
// result must match bitwise: acc = x[c]; acc = x[c+1] + acc; ... where c is
// the chunk index of element i (the rank that starts the chunk's ring).
func refAllReduce(in [][]float32, op Op) []float32 {
	n := len(in)
	m := len(in[0])
	out := make([]float32, m)
	for c := 0; c < n; c++ {
		lo, hi := ChunkRange(m, n, c)
		for i := lo; i < hi; i++ {
			acc := in[c][i]
			for j := 1; j < n; j++ {
				v := in[(c+j)%n][i]
				switch op {
				case OpMax:
					if v > acc {
						acc = v
					}
				default:
					acc = v + acc
				}
			}
			if op == OpAvg {
				acc /= float32(n)
			}
			out[i] = acc
		}
	}
	return out
}

// naiveSum is the plain float64 sum, for a tolerance check independent of
// the ring order.
func naiveSum(in [][]float32, i int) float64 {
	s := 0.0
	for r := range in {
		s += float64(in[r][i])
	}
	return s
}

func randBufs(rng *rand.Rand, n, m int) [][]float32 {
	in := make([][]float32, n)
	for r := range in {
		in[r] = make([]float32, m)
		for i := range in[r] {
			in[r][i] = float32(rng.NormFloat64())
		}
	}
	return in
}

func TestAllReduce(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			for n := 1; n <= 8; n++ {
				comms := tr.make(t, n, Config{SegmentBytes: 64, Timeout: 20 * time.Second})
				rng := rand.New(rand.NewPCG(uint64(n), 7))
				lengths := []int{0, 1, n - 1, n + 1, 2*n + 3, 37, 1001, 4099 + rng.IntN(100), 40000 + rng.IntN(100)}
				for _, m := range lengths {
					if m < 0 {
						continue
					}
					for _, op := range []Op{OpSum, OpAvg, OpMax} {
						in := randBufs(rng, n, m)
						bufs := make([][]float32, n)
						for r := range bufs {
							bufs[r] = append([]float32(nil), in[r]...)
						}
						mustAll(t, each(comms, func(r int, c *Comm) error {
							return c.AllReduce(context.Background(), bufs[r], op)
						}))
						want := refAllReduce(in, op)
						for r := 0; r < n; r++ {
							for i := range want {
								if math.Float32bits(bufs[r][i]) != math.Float32bits(want[i]) {
									t.Fatalf("n=%d m=%d op=%v rank %d elem %d: got %v want %v", n, m, op, r, i, bufs[r][i], want[i])
								}
							}
						}
						if op == OpSum {
							for i := range want {
								ref := naiveSum(in, i)
								if math.Abs(float64(want[i])-ref) > 1e-5*(1+math.Abs(ref))*float64(n) {
									t.Fatalf("n=%d m=%d elem %d: %v vs naive %v", n, m, i, want[i], ref)
								}
							}
						}
					}
				}
			}
		})
	}
}

func TestAllReduceDefaultSegmentLarge(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			const n = 3
			comms := tr.make(t, n, Config{})
			rng := rand.New(rand.NewPCG(3, 3))
			m := 3<<20/4*n + 5 // several 1 MiB segments per chunk, not divisible
			in := randBufs(rng, n, m)
			mustAll(t, each(comms, func(r int, c *Comm) error {
				return c.AllReduce(context.Background(), in[r], OpSum)
			}))
			for r := 1; r < n; r++ {
				for i := range in[0] {
					if math.Float32bits(in[r][i]) != math.Float32bits(in[0][i]) {
						t.Fatalf("rank %d differs from rank 0 at %d", r, i)
					}
				}
			}
		})
	}
}

func TestAllReduceFloat64(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			for _, n := range []int{1, 2, 5} {
				comms := tr.make(t, n, Config{SegmentBytes: 16})
				for _, m := range []int{0, 1, 3, 17} {
					bufs := make([][]float64, n)
					for r := range bufs {
						bufs[r] = make([]float64, m)
						for i := range bufs[r] {
							bufs[r][i] = float64(r*1000 + i)
						}
					}
					mustAll(t, each(comms, func(r int, c *Comm) error {
						return c.AllReduceFloat64(context.Background(), bufs[r], OpSum)
					}))
					for r := range bufs {
						for i, v := range bufs[r] {
							want := float64(1000*n*(n-1)/2 + n*i)
							if v != want {
								t.Fatalf("n=%d m=%d rank %d [%d] = %v want %v", n, m, r, i, v, want)
							}
						}
					}
				}
			}
		})
	}
}

func TestBroadcastAllGatherBarrier(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			for n := 1; n <= 6; n++ {
				comms := tr.make(t, n, Config{SegmentBytes: 32})
				rng := rand.New(rand.NewPCG(uint64(n), 11))
				for _, m := range []int{0, 1, 5, 300} {
					for root := 0; root < n; root++ {
						in := randBufs(rng, n, m)
						want := append([]float32(nil), in[root]...)
						mustAll(t, each(comms, func(r int, c *Comm) error {
							return c.Broadcast(context.Background(), in[r], root)
						}))
						for r := range in {
							for i := range want {
								if in[r][i] != want[i] {
									t.Fatalf("broadcast n=%d m=%d root=%d rank %d [%d]", n, m, root, r, i)
								}
							}
						}
					}
					in := randBufs(rng, n, m)
					out := make([][]float32, n)
					for r := range out {
						out[r] = make([]float32, n*m)
					}
					mustAll(t, each(comms, func(r int, c *Comm) error {
						return c.AllGather(context.Background(), in[r], out[r])
					}))
					for r := range out {
						for j := 0; j < n; j++ {
							for i := 0; i < m; i++ {
								if out[r][j*m+i] != in[j][i] {
									t.Fatalf("allgather n=%d m=%d rank %d block %d [%d]", n, m, r, j, i)
								}
							}
						}
					}
				}
				mustAll(t, each(comms, func(r int, c *Comm) error { return c.Barrier(context.Background()) }))
				for r, c := range comms {
					if s := c.Stats(); s.Ops == 0 || (n > 1 && s.Bytes == 0) {
						t.Fatalf("n=%d rank %d stats %+v", n, r, s)
					}
				}
			}
		})
	}
}

func TestBadArguments(t *testing.T) {
	comms := pipeWorld(t, 2, Config{})
	ctx := context.Background()
	if err := comms[0].AllGather(ctx, make([]float32, 2), make([]float32, 3)); !errors.Is(err, ErrArg) {
		t.Fatalf("allgather: %v", err)
	}
	if err := comms[0].Broadcast(ctx, nil, 2); !errors.Is(err, ErrArg) {
		t.Fatalf("broadcast: %v", err)
	}
	if err := comms[0].AllReduce(ctx, nil, Op(9)); !errors.Is(err, ErrArg) {
		t.Fatalf("op: %v", err)
	}
	// The communicator still works after argument errors.
	mustAll(t, each(comms, func(r int, c *Comm) error { return c.Barrier(ctx) }))
}

func TestConfigValidate(t *testing.T) {
	bad := []Config{
		{WorldSize: 0},
		{WorldSize: 2, Rank: 2, Token: "t", MasterAddr: "h", MasterPort: 1},
		{WorldSize: 2, Rank: 1, MasterAddr: "h", MasterPort: 1},
		{WorldSize: 2, Rank: 1, Token: "t", MasterPort: 1},
		{WorldSize: 2, Rank: 1, Token: "t", MasterAddr: "h"},
		{WorldSize: 2, Rank: 1, Token: "t", MasterAddr: "h", MasterPort: 70000},
		{WorldSize: 1, Timeout: -1},
		{WorldSize: 1, SegmentBytes: 3},
	}
	for i, c := range bad {
		if err := c.Validate(); !errors.Is(err, ErrConfig) {
			t.Errorf("case %d %+v: %v", i, c, err)
		}
		if _, err := New(context.Background(), c); !errors.Is(err, ErrConfig) {
			t.Errorf("New case %d: %v", i, err)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestMismatch(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			comms := tr.make(t, 3, Config{Timeout: 3 * time.Second})
			errs := each(comms, func(r int, c *Comm) error {
				return c.AllReduce(context.Background(), make([]float32, 10+r), OpSum)
			})
			mism := 0
			for r, err := range errs {
				if err == nil {
					t.Fatalf("rank %d: no error", r)
				}
				if errors.Is(err, ErrMismatch) {
					mism++
				}
			}
			if mism == 0 {
				t.Fatalf("no ErrMismatch in %v", errs)
			}
		})
	}
}

func TestReduceMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for _, m := range []int{0, 1, 3, 7, 8, 9, 31, 1000} {
		for _, op := range []Op{OpSum, OpMax} {
			src := make([]float32, m)
			dst := make([]float32, m+2) // guard band at the end
			for i := range src {
				src[i] = float32(rng.NormFloat64())
				dst[i] = float32(rng.NormFloat64())
			}
			if m > 2 {
				src[0], src[1] = float32(math.Inf(1)), float32(math.Inf(-1))
			}
			dst[m], dst[m+1] = 42, 43
			want := append([]float32(nil), dst...)
			for i := 0; i < m; i++ {
				if op == OpMax {
					want[i] = max(want[i], src[i])
				} else {
					want[i] = src[i] + want[i]
				}
			}
			reduceBytes(f32Bytes(dst[:m]), f32Bytes(src), 4, op)
			for i := range want {
				if math.Float32bits(dst[i]) != math.Float32bits(want[i]) {
					t.Fatalf("m=%d op=%v [%d]: %v want %v", m, op, i, dst[i], want[i])
				}
			}
			d64 := make([]float64, m)
			s64 := make([]float64, m)
			for i := range d64 {
				d64[i], s64[i] = float64(dst[i]), float64(src[i])
			}
			w64 := append([]float64(nil), d64...)
			for i := range w64 {
				if op == OpMax {
					w64[i] = max(w64[i], s64[i])
				} else {
					w64[i] = s64[i] + w64[i]
				}
			}
			reduceBytes(f64Bytes(d64), f64Bytes(s64), 8, op)
			for i := range w64 {
				if math.Float64bits(d64[i]) != math.Float64bits(w64[i]) {
					t.Fatalf("f64 m=%d op=%v [%d]", m, op, i)
				}
			}
		}
	}
}

func TestAllReduceWorld16(t *testing.T) {
	const n = 16
	comms := tcpWorld(t, n, Config{SegmentBytes: 64})
	rng := rand.New(rand.NewPCG(16, 16))
	for _, m := range []int{0, 1, 15, 17, 333} {
		in := randBufs(rng, n, m)
		bufs := make([][]float32, n)
		for r := range bufs {
			bufs[r] = append([]float32(nil), in[r]...)
		}
		mustAll(t, each(comms, func(r int, c *Comm) error {
			return c.AllReduce(context.Background(), bufs[r], OpSum)
		}))
		want := refAllReduce(in, OpSum)
		for r := range bufs {
			for i := range want {
				if math.Float32bits(bufs[r][i]) != math.Float32bits(want[i]) {
					t.Fatalf("m=%d rank %d [%d]: %v want %v", m, r, i, bufs[r][i], want[i])
				}
			}
		}
	}
}

// TestStatsWaitShowsStraggler checks that the time blocked waiting for the
// predecessor's first bytes is attributed to WaitSeconds.
func TestStatsWaitShowsStraggler(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			comms := tr.make(t, 2, Config{})
			const delay = 200 * time.Millisecond
			mustAll(t, each(comms, func(r int, c *Comm) error {
				if r == 1 {
					time.Sleep(delay)
				}
				return c.AllReduce(context.Background(), make([]float32, 1000), OpSum)
			}))
			s0, s1 := comms[0].Stats(), comms[1].Stats()
			if s0.LastWaitSeconds < 0.8*delay.Seconds() || s0.WaitSeconds < s0.LastWaitSeconds {
				t.Fatalf("rank 0 waited for the straggler but stats say %+v", s0)
			}
			if s1.LastWaitSeconds > s0.LastWaitSeconds/2 {
				t.Fatalf("straggler rank 1 should barely wait: %+v vs %+v", s1, s0)
			}
			if s0.Ops != 1 || s0.Bytes != 4000 || // 2(n-1)/n of 4000 bytes
				s0.Seconds < s0.LastWaitSeconds {
				t.Fatalf("rank 0 stats %+v", s0)
			}
		})
	}
}
