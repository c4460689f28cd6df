package collective

import (
	"math/rand/v2"
	"testing"
)

// TestAllReduceScheduleSimulated executes the pure schedule symbolically:
// each chunk copy is the set of ranks whose contribution it holds. Every
// rank must end with every chunk holding all contributions, each chunk must
// be reduced exactly once per contribution, what rank r sends at step s must
// be what rank r+1 receives, and every send's dependency must be the step
// that received that chunk.
func TestAllReduceScheduleSimulated(t *testing.T) {
	for n := 1; n <= 16; n++ {
		have := make([][]uint32, n) // have[rank][chunk] = bitmask of contributions
		for r := range have {
			have[r] = make([]uint32, n)
			for c := range have[r] {
				have[r][c] = 1 << r
			}
		}
		steps := AllReduceSteps(n)
		for s := 0; s < steps; s++ {
			msgs := make([]uint32, n)
			for r := 0; r < n; r++ {
				st := AllReduceStep(r, n, s)
				if st.Send < 0 || st.Send >= n || st.Recv < 0 || st.Recv >= n {
					t.Fatalf("n=%d r=%d s=%d: bad chunks %+v", n, r, s, st)
				}
				if st.Dep >= 0 {
					if d := AllReduceStep(r, n, st.Dep); d.Recv != st.Send {
						t.Fatalf("n=%d r=%d s=%d: sends chunk %d but dep step %d received %d", n, r, s, st.Send, st.Dep, d.Recv)
					}
				} else if s != 0 {
					t.Fatalf("n=%d r=%d s=%d: no dependency", n, r, s)
				}
				msgs[r] = have[r][st.Send]
				nx := AllReduceStep((r+1)%n, n, s)
				if nx.Recv != st.Send {
					t.Fatalf("n=%d s=%d: rank %d sends %d, rank %d receives %d", n, s, r, st.Send, (r+1)%n, nx.Recv)
				}
			}
			for r := 0; r < n; r++ {
				st := AllReduceStep(r, n, s)
				in := msgs[(r-1+n)%n]
				switch st.Action {
				case ActReduce:
					if have[r][st.Recv]&in != 0 {
						t.Fatalf("n=%d r=%d s=%d: contribution reduced twice", n, r, s)
					}
					have[r][st.Recv] |= in
				case ActCopy:
					have[r][st.Recv] = in
				default:
					t.Fatalf("n=%d r=%d s=%d: action %d", n, r, s, st.Action)
				}
				if st.Final && have[r][st.Recv] != 1<<n-1 {
					t.Fatalf("n=%d r=%d s=%d: final chunk %d incomplete %b", n, r, s, st.Recv, have[r][st.Recv])
				}
			}
		}
		for r := 0; r < n; r++ {
			for c := 0; c < n; c++ {
				if have[r][c] != 1<<n-1 {
					t.Fatalf("n=%d: rank %d chunk %d = %b", n, r, c, have[r][c])
				}
			}
		}
	}
}

func TestAllGatherScheduleSimulated(t *testing.T) {
	for n := 2; n <= 16; n++ {
		have := make([][]bool, n)
		for r := range have {
			have[r] = make([]bool, n)
			have[r][r] = true
		}
		for s := 0; s < AllGatherSteps(n); s++ {
			sent := make([]int, n)
			for r := 0; r < n; r++ {
				st := AllGatherStep(r, n, s)
				if !have[r][st.Send] {
					t.Fatalf("n=%d r=%d s=%d: sends chunk %d it does not have", n, r, s, st.Send)
				}
				sent[r] = st.Send
			}
			for r := 0; r < n; r++ {
				st := AllGatherStep(r, n, s)
				if sent[(r-1+n)%n] != st.Recv {
					t.Fatalf("n=%d r=%d s=%d: receives %d, predecessor sent %d", n, r, s, st.Recv, sent[(r-1+n)%n])
				}
				have[r][st.Recv] = true
			}
		}
		for r := 0; r < n; r++ {
			for c := 0; c < n; c++ {
				if !have[r][c] {
					t.Fatalf("n=%d: rank %d lacks %d", n, r, c)
				}
			}
		}
	}
}

func TestBroadcastSchedule(t *testing.T) {
	for n := 1; n <= 16; n++ {
		for root := 0; root < n; root++ {
			senders, receivers := 0, 0
			for r := 0; r < n; r++ {
				st := BroadcastStep(r, n, root)
				if st.Send >= 0 {
					senders++
					if nx := BroadcastStep((r+1)%n, n, root); nx.Recv != 0 {
						t.Fatalf("n=%d root=%d: rank %d sends to a non-receiver", n, root, r)
					}
				}
				if st.Recv >= 0 {
					receivers++
				}
			}
			if n > 1 && (senders != n-1 || receivers != n-1) {
				t.Fatalf("n=%d root=%d: %d senders %d receivers", n, root, senders, receivers)
			}
		}
	}
}

func TestChunkRange(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 2000; i++ {
		size := 1 + rng.IntN(16)
		n := rng.IntN(100)
		if i%3 == 0 {
			n = rng.IntN(size + 2)
		}
		next := 0
		for c := 0; c < size; c++ {
			lo, hi := ChunkRange(n, size, c)
			if lo != next || hi < lo || hi-lo > n/size+1 || hi-lo < n/size {
				t.Fatalf("n=%d size=%d chunk %d = [%d,%d), want lo %d", n, size, c, lo, hi, next)
			}
			next = hi
		}
		if next != n {
			t.Fatalf("n=%d size=%d: chunks cover %d", n, size, next)
		}
	}
}
