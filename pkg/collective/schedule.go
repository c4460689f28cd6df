package collective

// Action says what a rank does with the data it receives in a ring step.
type Action uint8

// Actions of a ring step.
const (
	ActNone   Action = iota // nothing is received
	ActCopy                 // received data overwrites the chunk
	ActReduce               // received data is reduced into the chunk
)

// Step is one step of a ring schedule as seen by one rank. Chunks are
// indices into the collective's chunk partition (see ChunkRange); -1 means
// nothing is sent or received. A segment of Send may be transmitted only
// after the same segment of step Dep has been received and processed
// (Dep = -1: no dependency). Final marks the reduce step after which this
// rank owns the fully reduced Recv chunk (where OpAvg divides).
type Step struct {
	Send, Recv int
	Action     Action
	Dep        int
	Final      bool
}

func mod(a, n int) int {
	a %= n
	if a < 0 {
		a += n
	}
	return a
}

// AllReduceSteps is the number of steps of a ring all-reduce: 2(size-1).
func AllReduceSteps(size int) int {
	if size < 2 {
		return 0
	}
	return 2 * (size - 1)
}

// AllReduceStep is the ring all-reduce schedule: reduce-scatter for steps
// 0..size-2, then all-gather for steps size-1..2(size-1)-1. It is a pure
// function of (rank, size, step).
func AllReduceStep(rank, size, step int) Step {
	if step < size-1 { // reduce-scatter
		dep := step - 1
		return Step{Send: mod(rank-step, size), Recv: mod(rank-step-1, size), Action: ActReduce, Dep: dep, Final: step == size-2}
	}
	t := step - (size - 1)
	return Step{Send: mod(rank+1-t, size), Recv: mod(rank-t, size), Action: ActCopy, Dep: step - 1}
}

// AllGatherSteps is the number of steps of a ring all-gather: size-1.
func AllGatherSteps(size int) int {
	if size < 2 {
		return 0
	}
	return size - 1
}

// AllGatherStep is the ring all-gather schedule; chunk c is rank c's block.
func AllGatherStep(rank, size, step int) Step {
	return Step{Send: mod(rank-step, size), Recv: mod(rank-step-1, size), Action: ActCopy, Dep: step - 1}
}

// BroadcastStep is the single pipelined step of a ring broadcast from root:
// every rank but root receives the (single) chunk, every rank whose
// successor is not root forwards each segment once it has it.
func BroadcastStep(rank, size, root int) Step {
	s := Step{Send: -1, Recv: -1, Dep: -1}
	if size < 2 {
		return s
	}
	if rank != root {
		s.Recv, s.Action, s.Dep = 0, ActCopy, 0
	}
	if mod(rank+1, size) != root {
		s.Send = 0
	}
	return s
}

// ChunkRange is the half-open element range [lo, hi) of chunk c when n
// elements are split into size balanced chunks (the first n%size chunks
// hold one element more).
func ChunkRange(n, size, c int) (lo, hi int) {
	base, rem := n/size, n%size
	lo = c*base + min(c, rem)
	hi = lo + base
	if c < rem {
		hi++
	}
	return lo, hi
}
