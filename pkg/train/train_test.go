package train

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// runGroup trains one mlpTask per rank of an in-process group and returns
// each rank's result, task and per-step weight hashes.
func runGroup(t *testing.T, world int, cfg Config, n int) ([]*Result, []*mlpTask, [][]uint64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	comms := newMemGroup(world)
	res := make([]*Result, world)
	tasks := make([]*mlpTask, world)
	hashes := make([][]uint64, world)
	errs := make([]error, world)
	var wg sync.WaitGroup
	for r := 0; r < world; r++ {
		tasks[r] = newMLPTask(7, n)
		c := cfg
		tk := tasks[r]
		rr := r
		c.AfterStep = func(StepReport) { hashes[rr] = append(hashes[rr], WeightsHash(tk.arena.Data)) }
		opt := &momentum{lr: 0.05, v: make([]float32, tk.arena.Size())}
		tr, err := New(c, tk, opt, comms[r])
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[rr], errs[rr] = tr.Run(ctx)
		}()
	}
	wg.Wait()
	for r, err := range errs {
		if err != nil {
			t.Fatalf("rank %d: %v", r, err)
		}
	}
	return res, tasks, hashes
}

// naiveTrain is the reference: one process, full global batch gradient in
// float64, same sample order, same momentum update.
func naiveTrain(seed uint64, n, batch, epochs int) []float32 {
	tk := newMLPTask(7, n)
	a := tk.arena
	v := make([]float32, a.Size())
	perm := make([]int, n)
	g64 := make([]float64, a.Size())
	for e := 1; e <= epochs; e++ {
		Permutation(perm, seed, e)
		for s := 0; s < n/batch; s++ {
			clear(g64)
			for _, smp := range perm[s*batch : (s+1)*batch] {
				a.ZeroGrad()
				tk.idx = append(tk.idx[:0], smp)
				tk.forward(tk.idx)
				tk.Backward(context.Background())
				for i, g := range a.Grad {
					g64[i] += float64(g)
				}
			}
			for i := range a.Data {
				g := float32(g64[i] / float64(batch))
				v[i] = 0.9*v[i] + g
				a.Data[i] -= 0.05 * v[i]
			}
		}
	}
	return a.Data
}

func TestIdenticalWeightsAcrossRanksAndNaiveReference(t *testing.T) {
	const n, batch, epochs = 61, 10, 3
	want := naiveTrain(11, n, batch, epochs)
	for _, world := range []int{1, 2, 3, 4} {
		for _, bucket := range []int{5, 1 << 18} {
			cfg := Config{Seed: 11, Epochs: epochs, GlobalBatch: batch, BucketElems: bucket}
			res, tasks, hashes := runGroup(t, world, cfg, n)
			if got := len(hashes[0]); got != epochs*(n/batch) {
				t.Fatalf("world %d: %d steps, want %d", world, got, epochs*(n/batch))
			}
			for r := 1; r < world; r++ {
				for s := range hashes[0] {
					if hashes[r][s] != hashes[0][s] {
						t.Fatalf("world %d bucket %d: rank %d weights differ from rank 0 after step %d", world, bucket, r, s)
					}
				}
				if res[r].Metrics[0].Value != res[0].Metrics[0].Value {
					t.Fatalf("world %d: metrics differ between ranks", world)
				}
			}
			for i, w := range tasks[0].arena.Data {
				if d := math.Abs(float64(w - want[i])); d > 1e-4*(1+math.Abs(float64(want[i]))) {
					t.Fatalf("world %d bucket %d: weight %d = %v, naive reference %v", world, bucket, i, w, want[i])
				}
			}
		}
	}
}

func TestUnevenAndEmptyShards(t *testing.T) {
	// batch 2 on 3 ranks: one rank has an empty sub-block every step.
	cfg := Config{Seed: 3, Epochs: 2, GlobalBatch: 2, BucketElems: 4}
	want := naiveTrain(3, 9, 2, 2)
	_, tasks, hashes := runGroup(t, 3, cfg, 9)
	for s := range hashes[0] {
		if hashes[1][s] != hashes[0][s] || hashes[2][s] != hashes[0][s] {
			t.Fatalf("weights differ across ranks after step %d", s)
		}
	}
	for i, w := range tasks[2].arena.Data {
		if math.Abs(float64(w-want[i])) > 1e-4 {
			t.Fatalf("weight %d = %v, naive %v", i, w, want[i])
		}
	}
}

func TestRankBlockAndPermutation(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		b, w := 1+rng.IntN(50), 1+rng.IntN(9)
		next := 0
		for r := 0; r < w; r++ {
			lo, hi := RankBlock(b, w, r)
			if lo != next || hi < lo || hi-lo > b/w+1 {
				t.Fatalf("RankBlock(%d,%d,%d) = [%d,%d), want start %d", b, w, r, lo, hi, next)
			}
			next = hi
		}
		if next != b {
			t.Fatalf("blocks of %d on %d ranks end at %d", b, w, next)
		}
		perm := make([]int, 1+rng.IntN(100))
		Permutation(perm, 5, 3)
		c := append([]int(nil), perm...)
		sort.Ints(c)
		for i, v := range c {
			if v != i {
				t.Fatalf("not a permutation: %v", perm)
			}
		}
	}
	a, b := make([]int, 50), make([]int, 50)
	Permutation(a, 5, 1)
	Permutation(b, 5, 2)
	if equalInts(a, b) {
		t.Fatal("epochs 1 and 2 have the same order")
	}
}

func equalInts(a, b []int) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestGatherAndSumAgainstNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for _, world := range []int{1, 2, 3, 5} {
		comms := newMemGroup(world)
		payload := make([][]byte, world)
		vecs := make([][]float64, world)
		for r := range payload {
			payload[r] = make([]byte, rng.IntN(40))
			for i := range payload[r] {
				payload[r][i] = byte(rng.IntN(256))
			}
			vecs[r] = []float64{rng.NormFloat64() * 1e10, rng.NormFloat64() * 1e-9, math.Pi}
		}
		var wg sync.WaitGroup
		gots := make([][][]byte, world)
		sums := make([][]float64, world)
		errs := make([]error, world)
		for r := 0; r < world; r++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx := context.Background()
				gots[r], errs[r] = GatherBytes(ctx, comms[r], payload[r])
				if errs[r] == nil {
					sums[r], errs[r] = SumFloat64(ctx, comms[r], vecs[r])
				}
			}()
		}
		wg.Wait()
		want := make([]float64, 3)
		for _, v := range vecs {
			for i, x := range v {
				want[i] += x
			}
		}
		for r := 0; r < world; r++ {
			if errs[r] != nil {
				t.Fatal(errs[r])
			}
			for q := 0; q < world; q++ {
				if string(gots[r][q]) != string(payload[q]) {
					t.Fatalf("world %d: rank %d got %v from rank %d, want %v", world, r, gots[r][q], q, payload[q])
				}
			}
			for i := range want {
				if sums[r][i] != want[i] {
					t.Fatalf("world %d: sum[%d] = %v, want %v", world, i, sums[r][i], want[i])
				}
			}
		}
	}
}

func TestResumeEqualsUninterrupted(t *testing.T) {
	const n, batch = 40, 8
	dir := t.TempDir()
	full, fullTasks, _ := runGroup(t, 2, Config{Seed: 5, Epochs: 4, GlobalBatch: batch, BucketElems: 6, BestFit: true}, n)

	ck := filepath.Join(dir, "ck")
	runGroup(t, 2, Config{Seed: 5, Epochs: 2, GlobalBatch: batch, BucketElems: 6, BestFit: true, CheckpointDir: ck, EvalEvery: -1}, n)
	if p, _ := LatestCheckpoint(ck); filepath.Base(p) != "epoch-0002.ckpt" {
		t.Fatalf("latest checkpoint %q", p)
	}
	res, tasks, _ := runGroup(t, 2, Config{Seed: 5, Epochs: 4, GlobalBatch: batch, BucketElems: 6, BestFit: true, CheckpointDir: ck, Resume: true}, n)
	if res[0].ResumedFrom != 2 || len(res[0].Epochs) != 4 {
		t.Fatalf("resumed from %d with %d epochs of history", res[0].ResumedFrom, len(res[0].Epochs))
	}
	if WeightsHash(tasks[0].arena.Data) != WeightsHash(fullTasks[0].arena.Data) {
		t.Fatal("resumed run's weights differ from the uninterrupted run")
	}
	if res[0].Metrics[0].Value != full[0].Metrics[0].Value {
		t.Fatalf("metric %v after resume, %v uninterrupted", res[0].Metrics[0].Value, full[0].Metrics[0].Value)
	}
	for e := range full[0].Epochs {
		if res[0].Epochs[e].TrainLoss != full[0].Epochs[e].TrainLoss {
			t.Fatalf("epoch %d loss %v vs %v", e+1, res[0].Epochs[e].TrainLoss, full[0].Epochs[e].TrainLoss)
		}
	}
}

func TestTruncatedCheckpoint(t *testing.T) {
	dir := t.TempDir()
	runGroup(t, 1, Config{Seed: 1, Epochs: 1, GlobalBatch: 4, CheckpointDir: dir}, 12)
	path := CheckpointPath(dir, 1)
	p, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := UnmarshalCheckpoint(path, p); err != nil {
		t.Fatalf("intact checkpoint: %v", err)
	}
	for _, cut := range []int{0, 5, 12, 40, len(p) / 2, len(p) - 1} {
		_, err := UnmarshalCheckpoint(path, p[:cut])
		if !errors.Is(err, ErrCheckpoint) || !strings.Contains(err.Error(), path) {
			t.Fatalf("cut at %d: err %v", cut, err)
		}
	}
	bad := append([]byte(nil), p...)
	bad[len(bad)/2] ^= 1
	if _, err := UnmarshalCheckpoint(path, bad); !errors.Is(err, ErrCheckpoint) {
		t.Fatalf("flipped bit: %v", err)
	}
	// a resume from a truncated file fails and leaves it as it was
	if err := os.WriteFile(path, p[:len(p)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	tk := newMLPTask(7, 12)
	tr, err := New(Config{Seed: 1, Epochs: 2, GlobalBatch: 4, CheckpointDir: dir, Resume: true}, tk, &momentum{lr: 0.1, v: make([]float32, tk.arena.Size())}, Local{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Run(context.Background()); !errors.Is(err, ErrCheckpoint) {
		t.Fatalf("resume from truncated checkpoint: %v", err)
	}
	if q, _ := os.ReadFile(path); len(q) != len(p)/2 {
		t.Fatal("the truncated checkpoint was modified")
	}
}

func TestTargetStopsEarly(t *testing.T) {
	res, _, _ := runGroup(t, 2, Config{Seed: 2, Epochs: 50, GlobalBatch: 6, Target: &Target{Metric: "val_mse", Value: 10}}, 30)
	if !res[0].TargetReached || len(res[0].Epochs) != 1 || res[0].TimeToSolutionS <= 0 {
		t.Fatalf("reached %v after %d epochs, tts %v", res[0].TargetReached, len(res[0].Epochs), res[0].TimeToSolutionS)
	}
	tk := newMLPTask(7, 30)
	tr, _ := New(Config{Epochs: 1, GlobalBatch: 6, Target: &Target{Metric: "nope", Value: 1}}, tk, &momentum{v: make([]float32, tk.arena.Size())}, Local{})
	if _, err := tr.Run(context.Background()); !errors.Is(err, ErrConfig) {
		t.Fatalf("unknown target metric: %v", err)
	}
}

func TestBestFitRestoresLowestLoss(t *testing.T) {
	// the learning rate jumps in epoch 4 so the last epochs are worse
	var snaps []uint64
	var losses []float64
	tk := newMLPTask(7, 30)
	cfg := Config{Seed: 9, Epochs: 5, GlobalBatch: 5, BestFit: true, EvalEvery: -1,
		LR: func(e int) float64 {
			if e >= 4 {
				return 0.5
			}
			return 0.05
		},
		Observe: func(ev Event) {
			if ev.Kind == "epoch_stop" {
				snaps = append(snaps, WeightsHash(tk.arena.Data))
				losses = append(losses, ev.Record.TrainLoss)
			}
		}}
	tr, _ := New(cfg, tk, &momentum{v: make([]float32, tk.arena.Size())}, Local{})
	if _, err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	bi := 0
	for i, l := range losses {
		if l < losses[bi] {
			bi = i
		}
	}
	if bi == len(losses)-1 {
		t.Fatalf("test set-up: the last epoch is the best (%v)", losses)
	}
	if WeightsHash(tk.arena.Data) != snaps[bi] {
		t.Fatalf("final weights are not those of the best epoch %d (losses %v)", bi+1, losses)
	}
}

func TestStepAllocatesNothing(t *testing.T) {
	tk := newMLPTask(7, 20)
	opt := &momentum{lr: 0.01, v: make([]float32, tk.arena.Size())}
	tr, _ := New(Config{GlobalBatch: 5, BucketElems: 4}, tk, opt, Local{})
	tr.t0 = time.Now()
	tr.events = make([]rawEvent, 0, 10)
	red := newReducer(Local{}, tk.arena.Grad, 4, tr.t0)
	defer red.close()
	tk.arena.SetGradHook(red.hook)
	idx := []int{1, 2, 3, 4, 5}
	ctx := context.Background()
	allocs := testing.AllocsPerRun(50, func() {
		if _, err := tr.step(ctx, red, idx, StepInfo{}, 0.2); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("step allocates %v times", allocs)
	}
}

func TestCheckDivision(t *testing.T) {
	if err := CheckDivision("closed", nil); err != nil {
		t.Fatal(err)
	}
	if err := CheckDivision("open", []string{"model"}); err != nil {
		t.Fatal(err)
	}
	if err := CheckDivision("closed", []string{"model.preset"}); !errors.Is(err, ErrDivision) || !strings.Contains(err.Error(), "model.preset") {
		t.Fatal(err)
	}
	if err := CheckDivision("half", nil); !errors.Is(err, ErrConfig) {
		t.Fatal(err)
	}
}
