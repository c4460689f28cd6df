package train

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/scibench/scibench/pkg/collective"
)

// TestRealCollectiveRing trains on 2 and 3 ranks over real TCP ring
// communicators on loopback and checks identical weights on every rank and
// agreement with the naive single-process reference.
func TestRealCollectiveRing(t *testing.T) {
	const n, batch, epochs = 45, 9, 2
	want := naiveTrain(21, n, batch, epochs)
	for _, world := range []int{2, 3} {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		comms := make([]*collective.Comm, world)
		errs := make([]error, world)
		var wg sync.WaitGroup
		for r := 0; r < world; r++ {
			cfg := collective.Config{Rank: r, WorldSize: world, MasterAddr: "127.0.0.1", MasterPort: port,
				Token: "test-token", Timeout: 20 * time.Second}
			if r == 0 {
				cfg.Listener = ln
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				comms[r], errs[r] = collective.New(ctx, cfg)
			}()
		}
		wg.Wait()
		for r, err := range errs {
			if err != nil {
				t.Fatalf("world %d rank %d: %v", world, r, err)
			}
		}
		tasks := make([]*mlpTask, world)
		hashes := make([][]uint64, world)
		res := make([]*Result, world)
		for r := 0; r < world; r++ {
			tasks[r] = newMLPTask(7, n)
			tk := tasks[r]
			cfg := Config{Seed: 21, Epochs: epochs, GlobalBatch: batch, BucketElems: 5,
				AfterStep: func(StepReport) { hashes[r] = append(hashes[r], WeightsHash(tk.arena.Data)) }}
			tr, err := New(cfg, tk, &momentum{lr: 0.05, v: make([]float32, tk.arena.Size())}, Collective{comms[r]})
			if err != nil {
				t.Fatal(err)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				res[r], errs[r] = tr.Run(ctx)
			}()
		}
		wg.Wait()
		for _, c := range comms {
			c.Close()
		}
		cancel()
		for r, err := range errs {
			if err != nil {
				t.Fatalf("world %d rank %d: %v", world, r, err)
			}
		}
		for r := 1; r < world; r++ {
			for s := range hashes[0] {
				if hashes[r][s] != hashes[0][s] {
					t.Fatalf("world %d: rank %d weights differ after step %d", world, r, s)
				}
			}
		}
		for i, w := range tasks[0].arena.Data {
			if d := float64(w - want[i]); d > 1e-4 || d < -1e-4 {
				t.Fatalf("world %d: weight %d = %v, naive %v", world, i, w, want[i])
			}
		}
		if len(res[0].Comm) != world || len(res[0].Trace) == 0 {
			t.Fatalf("world %d: %d comm records, %d trace events", world, len(res[0].Comm), len(res[0].Trace))
		}
	}
}
