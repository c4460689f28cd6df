package train

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"
)

// stepMeter is a fake EnergyMeter: every optimizer step of its rank adds
// perStep joules; read number failAt (1-based) fails.
type stepMeter struct {
	mu      sync.Mutex
	joules  float64
	perStep float64
	reads   int
	failAt  int
}

func (m *stepMeter) step() {
	m.mu.Lock()
	m.joules += m.perStep
	m.mu.Unlock()
}

func (m *stepMeter) Joules() (float64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reads++
	if m.reads == m.failAt {
		return 0, errors.New("energy: read failed: rapl:package-0: energy_uj: is a directory")
	}
	return m.joules, nil
}

func (m *stepMeter) Source() string { return "rapl" }

func TestEnergyAccounting(t *testing.T) {
	const (
		n, batch, epochs = 40, 8, 3
		steps            = n / batch
		perStep          = 1.5
	)
	cases := []struct {
		name        string
		world       int
		meter       []bool // rank has a meter
		failAt      []int  // meter read that fails (0: none)
		unavailable string
		wantRanks   int
		wantSource  string // "" : Result.Energy nil
		noEpoch     []bool // epoch (1-based index-1) without energy
	}{
		{"two ranks measure", 2, []bool{true, true}, []int{0, 0}, "", 2, "rapl", nil},
		{"one meter per node", 2, []bool{true, false}, []int{0, 0}, "", 1, "rapl", nil},
		// reads: run start, then 2 per epoch: read 3 ends epoch 1
		{"meter fails mid-run", 2, []bool{true, true}, []int{0, 3}, "", 0,
			"not available: rank 1: energy: read failed: rapl:package-0: energy_uj: is a directory", []bool{true, false, false}},
		{"no meter, reason given", 1, []bool{false}, []int{0}, "not available: rapl: /sys/class/powercap does not exist", 0,
			"not available: rank 0: rapl: /sys/class/powercap does not exist", []bool{true, true, true}},
		{"no meter at all", 1, []bool{false}, []int{0}, "", 0, "", []bool{true, true, true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			comms := newMemGroup(tc.world)
			res := make([]*Result, tc.world)
			errs := make([]error, tc.world)
			var wg sync.WaitGroup
			for r := range tc.world {
				tk := newMLPTask(7, n)
				cfg := Config{Seed: 3, Epochs: epochs, GlobalBatch: batch, EnergyUnavailable: tc.unavailable}
				if tc.meter[r] {
					m := &stepMeter{perStep: perStep, failAt: tc.failAt[r]}
					cfg.Energy = m
					cfg.AfterStep = func(StepReport) { m.step() }
				}
				tr, err := New(cfg, tk, &momentum{lr: 0.05, v: make([]float32, tk.arena.Size())}, comms[r])
				if err != nil {
					t.Fatal(err)
				}
				wg.Go(func() { res[r], errs[r] = tr.Run(ctx) })
			}
			wg.Wait()
			for r, err := range errs {
				if err != nil {
					t.Fatalf("rank %d: %v (a meter failure must not fail the run)", r, err)
				}
			}
			measuring := 0
			for _, m := range tc.meter {
				if m {
					measuring++
				}
			}
			for r := range tc.world {
				got := res[r]
				for i, e := range got.Epochs {
					if tc.noEpoch != nil && tc.noEpoch[i] {
						if e.Energy != nil {
							t.Fatalf("rank %d epoch %d: energy %+v, want none", r, e.Epoch, e.Energy)
						}
						continue
					}
					want := float64(steps*measuring) * perStep
					if e.Energy == nil || e.Energy.Joules != want || math.Abs(e.Energy.JoulesPerSample-want/float64(steps*batch)) > 1e-12 {
						t.Fatalf("rank %d epoch %d: energy %+v, want %v J", r, e.Epoch, e.Energy, want)
					}
				}
				if tc.wantSource == "" {
					if got.Energy != nil {
						t.Fatalf("rank %d: energy %+v, want none", r, got.Energy)
					}
					b, _ := json.Marshal(got.Epochs[0])
					if strings.Contains(string(b), "energy") {
						t.Fatalf("epoch JSON %s", b)
					}
					continue
				}
				if got.Energy == nil || got.Energy.Source != tc.wantSource || got.Energy.Ranks != tc.wantRanks {
					t.Fatalf("rank %d: energy %+v, want source %q, %d ranks", r, got.Energy, tc.wantSource, tc.wantRanks)
				}
				if *got.Energy != *res[0].Energy {
					t.Fatalf("rank %d energy %+v differs from rank 0's %+v", r, got.Energy, res[0].Energy)
				}
				if tc.wantRanks > 0 {
					total := float64(epochs*steps*measuring) * perStep
					if got.Energy.Joules != total || got.Energy.TrainJoules != total ||
						math.Abs(got.Energy.JoulesPerSample-total/float64(epochs*steps*batch)) > 1e-12 {
						t.Fatalf("rank %d: %+v, want %v J", r, got.Energy, total)
					}
				} else if got.Energy.Joules != 0 || got.Energy.TrainJoules != 0 {
					t.Fatalf("unavailable energy has numbers: %+v", got.Energy)
				}
			}
		})
	}
}
