package collective

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// lockstep drives ranks 1..n-1 from helper goroutines so that one call of
// the returned function is one collective on every rank.
func lockstep(t testing.TB, comms []*Comm, f func(r int, c *Comm) error) func() error {
	n := len(comms)
	start := make([]chan struct{}, n)
	done := make(chan error, n)
	stop := make(chan struct{})
	for r := 1; r < n; r++ {
		start[r] = make(chan struct{})
		go func() {
			for {
				select {
				case <-start[r]:
					done <- f(r, comms[r])
				case <-stop:
					return
				}
			}
		}()
	}
	t.Cleanup(func() { close(stop) })
	return func() error {
		for r := 1; r < n; r++ {
			start[r] <- struct{}{}
		}
		err := f(0, comms[0])
		for r := 1; r < n; r++ {
			if e := <-done; e != nil && err == nil {
				err = e
			}
		}
		return err
	}
}

// TestSteadyStateAllocs proves that all-reduce and barrier allocate nothing
// in steady state over TCP, with and without a cancelable context. (The
// in-memory net.Pipe transport is not included: its SetDeadline allocates a
// timer per call.)
func TestSteadyStateAllocs(t *testing.T) {
	for _, tr := range transports[1:] { // tcp and tcp-pipelined
		for _, n := range []int{2, 3} {
			t.Run(fmt.Sprintf("%s/n=%d", tr.name, n), func(t *testing.T) {
				comms := tr.make(t, n, Config{SegmentBytes: 4096, Timeout: 10 * time.Second})
				bufs := make([][]float32, n)
				for r := range bufs {
					bufs[r] = make([]float32, 10007)
				}
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				for _, c := range []struct {
					name string
					ctx  context.Context
				}{{"background", context.Background()}, {"cancelable", ctx}} {
					step := lockstep(t, comms, func(r int, cm *Comm) error {
						if err := cm.AllReduce(c.ctx, bufs[r], OpAvg); err != nil {
							return err
						}
						return cm.Barrier(c.ctx)
					})
					if err := step(); err != nil { // warm up
						t.Fatal(err)
					}
					var err error
					allocs := testing.AllocsPerRun(50, func() {
						if e := step(); e != nil {
							err = e
						}
					})
					if err != nil {
						t.Fatal(err)
					}
					if allocs != 0 {
						t.Fatalf("%s: %v allocations per all-reduce", c.name, allocs)
					}
				}
			})
		}
	}
}

func BenchmarkAllReduce(b *testing.B) {
	for _, size := range []int{4 << 10, 64 << 10, 1 << 20, 16 << 20, 64 << 20} {
		b.Run(fmt.Sprintf("n=2/bytes=%d", size), func(b *testing.B) {
			comms := tcpWorld(b, 2, Config{})
			bufs := [][]float32{make([]float32, size/4), make([]float32, size/4)}
			step := lockstep(b, comms, func(r int, c *Comm) error {
				return c.AllReduce(context.Background(), bufs[r], OpSum)
			})
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if err := step(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
