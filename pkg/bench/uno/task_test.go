package uno

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/scibench/scibench/pkg/train"
)

// memComm is an in-process communicator: every all-reduce sums the ranks'
// buffers in rank order and gives all of them the same bits.
type memComm struct {
	g    *memGroup
	rank int
}

type memGroup struct {
	mu      sync.Mutex
	cond    *sync.Cond
	n, in   int
	gen     int
	bufs    [][]float32
	aborted bool
}

func newGroup(n int) []*memComm {
	g := &memGroup{n: n, bufs: make([][]float32, n)}
	g.cond = sync.NewCond(&g.mu)
	cs := make([]*memComm, n)
	for i := range cs {
		cs[i] = &memComm{g: g, rank: i}
	}
	return cs
}

func (c *memComm) Rank() int { return c.rank }
func (c *memComm) Size() int { return c.g.n }
func (c *memComm) Barrier(ctx context.Context) error {
	return c.AllReduceSum(ctx, []float32{0})
}

func (c *memComm) AllReduceSum(ctx context.Context, buf []float32) error {
	g := c.g
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.aborted {
		return fmt.Errorf("memComm: group aborted")
	}
	gen := g.gen
	g.bufs[c.rank] = buf
	g.in++
	if g.in == g.n {
		for i := range buf {
			var s float32
			for _, b := range g.bufs {
				s += b[i]
			}
			for _, b := range g.bufs {
				b[i] = s
			}
		}
		g.in = 0
		g.gen++
		g.cond.Broadcast()
		return nil
	}
	for g.gen == gen && !g.aborted {
		g.cond.Wait()
	}
	if g.aborted {
		return fmt.Errorf("memComm: group aborted")
	}
	return nil
}

func (g *memGroup) abort() {
	g.mu.Lock()
	g.aborted = true
	g.cond.Broadcast()
	g.mu.Unlock()
}

// smallConfig is a fast open-division setting for tests.
func smallConfig(file string) Config {
	c := DefaultConfig()
	c.Division = "open"
	c.File = file
	c.CellFeatures, c.DrugFeatures = 24, 40
	c.Hidden, c.TowerLayers, c.HeadLayers = 64, 2, 2
	c.Epochs = 4
	c.BatchSize = 32
	c.BatchScope = "global"
	c.LearningRate = 1e-3
	c.WarmupStart = 3e-3
	c.WarmupEpochs = 3
	return c
}

func genSmall(t *testing.T, dir string) (string, *GenStats) {
	t.Helper()
	path := filepath.Join(dir, "uno-small.h5")
	st, err := Generate(context.Background(), path, GenOptions{Train: 3200, Val: 400, Test: 400, CellFeatures: 24, DrugFeatures: 40,
		Cells: 50, Drugs: 100, Seed: 11, ChunkRows: 500})
	if err != nil {
		t.Fatal(err)
	}
	return path, st
}

// runWorld trains cfg on world in-process ranks and returns rank 0's result
// (every rank's final weights hash must agree).
func runWorld(t *testing.T, cfg Config, world int) *train.Result {
	t.Helper()
	return runRanks(t, cfg, world, false, "")
}

// runRanks is runWorld; with infer the task includes the inference phase
// (Run.TrainTask) and rank 0 writes the predictions to pred.
func runRanks(t *testing.T, cfg Config, world int, infer bool, pred string) *train.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	comms := newGroup(world)
	res := make([]*train.Result, world)
	hashes := make([]uint64, world)
	errs := make([]error, world)
	var wg sync.WaitGroup
	for r := range world {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if errs[r] != nil {
					comms[0].g.abort()
				}
			}()
			run, err := Setup(ctx, cfg, "", r, world, nil)
			if err != nil {
				errs[r] = err
				return
			}
			defer run.Task.Close()
			var task train.Task = run.Task
			if infer {
				task = run.TrainTask()
				if r == 0 {
					run.Task.SetPredictionsPath(pred)
				}
			}
			tr, err := train.New(run.Train, task, run.Optimizer, comms[r])
			if err != nil {
				errs[r] = err
				return
			}
			res[r], errs[r] = tr.Run(ctx)
			hashes[r] = train.WeightsHash(run.Task.Arena().Data)
		}()
	}
	wg.Wait()
	for r, err := range errs {
		if err != nil {
			t.Fatalf("rank %d: %v", r, err)
		}
	}
	for r := range world {
		if hashes[r] != hashes[0] {
			t.Fatalf("rank %d weights differ from rank 0", r)
		}
	}
	return res[0]
}

func metric(t *testing.T, res *train.Result, name string) float64 {
	t.Helper()
	for _, m := range res.Metrics {
		if m.Name == name {
			return m.Value
		}
	}
	t.Fatalf("no metric %q in %v", name, res.Metrics)
	return 0
}

// TestConvergenceWorlds trains on generated data with 1 and 2 workers (the
// same seed and global batch): both end well below the mean predictor's
// validation MSE and agree on it within 2%. Dropout is off here (at these
// widths its inference noise needs many more epochs); TestDropoutWorlds
// covers the keyed masks.
func TestConvergenceWorlds(t *testing.T) {
	needHDF5(t)
	path, st := genSmall(t, t.TempDir())
	cfg := smallConfig(path)
	cfg.Dropout = 0
	r1 := runWorld(t, cfg, 1)
	cfg.Load = LoadStream // the 2-worker run streams from the file
	r2 := runWorld(t, cfg, 2)
	m1, m2 := metric(t, r1, "val_loss"), metric(t, r2, "val_loss")
	base := metric(t, r1, "val_mean_mse")
	t.Logf("val MSE 1 worker %.5f, 2 workers %.5f, mean predictor %.5f (generator: train-mean predictor %.5f)", m1, m2, base, st.ValMeanMSE)
	compareWorlds(t, r1, r2)
	if !(m1 < 0.7*base) {
		t.Errorf("1 worker: val MSE %.5f not 30%% below the mean predictor's %.5f", m1, base)
	}
}

// TestDropoutWorlds: with permanent dropout, 1 and 2 workers draw the same
// per-sample masks, so they train and evaluate alike.
func TestDropoutWorlds(t *testing.T) {
	needHDF5(t)
	path, _ := genSmall(t, t.TempDir())
	cfg := smallConfig(path)
	cfg.Hidden, cfg.Epochs = 32, 2
	r1 := runWorld(t, cfg, 1)
	r2 := runWorld(t, cfg, 2)
	compareWorlds(t, r1, r2)
}

func compareWorlds(t *testing.T, r1, r2 *train.Result) {
	t.Helper()
	if len(r1.Epochs) != len(r2.Epochs) {
		t.Fatalf("%d vs %d epochs", len(r1.Epochs), len(r2.Epochs))
	}
	for i, e := range r1.Epochs {
		e2 := r2.Epochs[i]
		t.Logf("epoch %d: train loss %.5f / %.5f, val %.5f / %.5f", e.Epoch, e.TrainLoss, e2.TrainLoss, e.Eval["val_loss"], e2.Eval["val_loss"])
		if d := math.Abs(e.TrainLoss-e2.TrainLoss) / e.TrainLoss; !(d <= 0.02) {
			t.Errorf("epoch %d train loss 1 worker %.6f vs 2 workers %.6f", e.Epoch, e.TrainLoss, e2.TrainLoss)
		}
		if d := math.Abs(e.Eval["val_loss"]-e2.Eval["val_loss"]) / e.Eval["val_loss"]; !(d <= 0.02) {
			t.Errorf("epoch %d val MSE 1 worker %.6f vs 2 workers %.6f differ by %.2f%%", e.Epoch, e.Eval["val_loss"], e2.Eval["val_loss"], 100*d)
		}
	}
}

// TestStepAllocs checks that a training step (Load, Forward with the file
// read, Backward) allocates nothing in steady state, in memory and stream
// mode.
func TestStepAllocs(t *testing.T) {
	needHDF5(t)
	path, _ := genSmall(t, t.TempDir())
	for _, mode := range []string{LoadMemory, LoadStream} {
		cfg := smallConfig(path)
		cfg.Load = mode
		run, err := Setup(context.Background(), cfg, "", 1, 2, nil)
		if err != nil {
			t.Fatal(err)
		}
		task := run.Task
		ctx := context.Background()
		idx := []int{16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31}
		step := 0
		one := func() {
			if err := task.Load(ctx, idx); err != nil {
				t.Fatal(err)
			}
			info := train.StepInfo{Epoch: 1, Step: step % 10, Rank: 1, Seed: 7, First: 16}
			step++
			if _, err := task.Forward(ctx, info); err != nil {
				t.Fatal(err)
			}
			task.Arena().ZeroGrad()
			if err := task.Backward(ctx); err != nil {
				t.Fatal(err)
			}
		}
		one()
		if a := testing.AllocsPerRun(20, one); a != 0 {
			t.Errorf("%s: %.1f allocations per step, want 0", mode, a)
		}
		task.Close()
	}
}
