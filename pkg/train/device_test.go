package train

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// recDevice records the loop's calls to its Device.
type recDevice struct {
	mu    sync.Mutex
	calls []string
	fail  string // a call that fails
}

func (d *recDevice) call(name string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = append(d.calls, name)
	if name == d.fail {
		return fmt.Errorf("device lost during %s", name)
	}
	return nil
}
func (d *recDevice) ZeroGrad() error                   { return d.call("zero") }
func (d *recDevice) PullWeights(context.Context) error { return d.call("pull") }
func (d *recDevice) PushWeights(context.Context) error { return d.call("push") }

// compact turns runs of "zero" into "zero×n".
func compact(calls []string) string {
	var out []string
	for i := 0; i < len(calls); {
		j := i
		for j < len(calls) && calls[j] == calls[i] {
			j++
		}
		if calls[i] == "zero" {
			out = append(out, fmt.Sprintf("zero×%d", j-i))
		} else {
			for k := i; k < j; k++ {
				out = append(out, calls[k])
			}
		}
		i = j
	}
	return strings.Join(out, " ")
}

// TestDeviceCalls checks when the loop moves weights to and from a
// Device: pushed at the start (after a resume) and after the best-fit
// restore, pulled after every epoch's steps; gradients zeroed on the
// device every step. With one worker the host gradient is neither zeroed
// nor reduced (it stays on the device).
func TestDeviceCalls(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const n, batch = 40, 10 // 4 steps per epoch
	dir := t.TempDir()
	run := func(epochs int, resume, restore bool, dev *recDevice, world int) {
		t.Helper()
		comms := newMemGroup(world)
		var wg sync.WaitGroup
		errs := make([]error, world)
		for r := range world {
			tk := newMLPTask(3, n)
			cfg := Config{Seed: 5, Epochs: epochs, GlobalBatch: batch, CheckpointDir: dir, Resume: resume}
			if restore {
				// the "best" epoch is the one with the highest validation
				// error, the first: the loop restores it at the end
				cfg.BestFit, cfg.BestMetric, cfg.BestMax = true, "val_mse", true
			}
			if r == 0 {
				cfg.Device = dev
				// a host gradient the loop must not touch with one worker
				tk.arena.Grad[0] = 42
				cfg.AfterStep = func(StepReport) {
					if world == 1 && tk.arena.Grad[0] == 0 {
						t.Error("one worker: the loop zeroed the host gradient of a device")
					}
				}
			}
			tr, err := New(cfg, tk, &momentum{lr: 0.05, v: make([]float32, tk.arena.Size())}, comms[r])
			if err != nil {
				t.Fatal(err)
			}
			wg.Add(1)
			go func() { defer wg.Done(); _, errs[r] = tr.Run(ctx) }()
		}
		wg.Wait()
		for r, err := range errs {
			if err != nil && !strings.Contains(err.Error(), dev.fail+"") {
				t.Fatalf("rank %d: %v", r, err)
			}
		}
	}
	for _, world := range []int{1, 2} {
		dir = filepath.Join(t.TempDir(), fmt.Sprint(world))
		dev := &recDevice{}
		run(2, false, false, dev, world)
		if got, want := compact(dev.calls), "push zero×4 pull zero×4 pull"; got != want {
			t.Errorf("world %d: calls %q, want %q", world, got, want)
		}
		dev = &recDevice{}
		run(3, true, false, dev, world)
		if got, want := compact(dev.calls), "push zero×4 pull"; got != want {
			t.Errorf("world %d resumed: calls %q, want %q", world, got, want)
		}
	}
	dir = t.TempDir()
	dev := &recDevice{}
	run(2, false, true, dev, 2)
	if got, want := compact(dev.calls), "push zero×4 pull zero×4 pull push"; got != want {
		t.Errorf("best-fit restore: calls %q, want %q", got, want)
	}
	// a failing device ends the run with an error naming it
	dir = t.TempDir()
	dev = &recDevice{fail: "pull"}
	comms := newMemGroup(1)
	tk := newMLPTask(3, n)
	tr, err := New(Config{Seed: 5, Epochs: 1, GlobalBatch: batch, Device: dev}, tk, &momentum{lr: 0.05, v: make([]float32, tk.arena.Size())}, comms[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Run(ctx); err == nil || !strings.Contains(err.Error(), "device lost during pull") || !strings.Contains(err.Error(), "epoch 1") {
		t.Errorf("failing device: %v", err)
	}
}
