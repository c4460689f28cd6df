package uno

import (
	"bytes"
	"context"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scibench/scibench/pkg/config"
	"github.com/scibench/scibench/pkg/tensor"
	"github.com/scibench/scibench/pkg/train"
)

func TestConfigs(t *testing.T) {
	d, err := LoadConfig("", nil)
	if err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if d.Hidden != 1000 || d.Dropout != 0.1 || d.GlobalBatch(2) != 64 || d.Epochs != 50 || d.Division != "closed" {
		t.Fatalf("defaults %+v", d)
	}
	for _, name := range []string{"uno.yaml", "uno-smoke.yaml"} {
		if _, err := LoadConfig(filepath.Join("..", "..", "..", "configs", name), nil); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	ref, _ := LoadConfig(filepath.Join("..", "..", "..", "configs", "uno.yaml"), nil)
	if len(ref.Changed()) != 0 || ref.Target.Value != 0.0054 {
		t.Fatalf("configs/uno.yaml is not the reference: changed %v, target %+v", ref.Changed(), ref.Target)
	}
	// the closed division refuses model changes but not batch size or lr
	if _, err := LoadConfig("", []string{"batch_size=64", "learning_rate=0.001", "load=stream"}); err != nil {
		t.Fatalf("closed division refused allowed keys: %v", err)
	}
	if _, err := LoadConfig("", []string{"hidden=10"}); !errors.Is(err, train.ErrDivision) || !strings.Contains(err.Error(), "hidden") {
		t.Fatalf("hidden=10 in closed division: %v", err)
	}
	for _, c := range []struct{ set, key string }{
		{"load=disk", "load"}, {"dropout=1", "dropout"}, {"eval_split=train", "eval_split"},
		{"optimizer=sgd", "optimizer"}, {"plateau_factor=2", "plateau_factor"}, {"hidden=0", "hidden"},
		{"check_data=some", "check_data"}, {"eval_batch=0", "eval_batch"},
	} {
		_, err := LoadConfig("", []string{"division=open", c.set})
		var ce *config.Error
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), `"`+c.key+`"`) {
			t.Errorf("%s: %v, want a config error naming %s", c.set, err, c.key)
		}
	}
	if _, err := LoadConfig("", []string{"nope=1"}); !errors.Is(err, config.ErrUnknownKey) {
		t.Errorf("unknown key: %v", err)
	}
}

// TestSchedule checks the warm-down (reference formula with base 0.001 and
// lr 1e-4), then the plateau: halving after 5 epochs without improvement,
// not below min_lr, and early stopping after 10.
func TestSchedule(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Hidden = 8 // the schedule does not depend on the model's size
	task, err := newTask(cfg, 3, 4, nil, nil, 10, 10, 2)
	if err != nil {
		t.Fatal(err)
	}
	for e := 1; e <= 6; e++ {
		e0 := float64(e - 1)
		want := (0.001*(5-e0) + 1e-4*e0) / 5
		if got := task.LR(e); math.Abs(got-want) > 1e-15 {
			t.Fatalf("LR(epoch %d) = %g, want %g", e, got, want)
		}
		if _, err := task.Metrics(evalSums(task, 0.05-0.001*float64(e))); err != nil { // improving
			t.Fatal(err)
		}
	}
	// epochs 7..: no improvement
	var lrs []float64
	for e := 7; e <= 30 && task.StopEpoch() == 0; e++ {
		lrs = append(lrs, task.LR(e))
		ms, err := task.Metrics(evalSums(task, 0.5))
		if err != nil {
			t.Fatal(err)
		}
		if got := byName(ms)["val_loss"]; math.Abs(got-0.5) > 1e-12 {
			t.Fatalf("val_loss %v, want 0.5", got)
		}
	}
	// rates of epochs 7.. : 1e-4 for 5 epochs, then 5e-5 ...; stop after 10 bad epochs (epoch 16)
	if task.StopEpoch() != 16 {
		t.Fatalf("early stop at evaluation %d, want 16 (lrs %v)", task.StopEpoch(), lrs)
	}
	if lrs[0] != 1e-4 || lrs[5] != 5e-5 || lrs[9] != 5e-5 {
		t.Fatalf("plateau rates %v", lrs)
	}
}

func evalSums(task *Task, mse float64) []float64 {
	s := make([]float64, task.evalLen())
	// two rows: y = 0.5 ± d, predictions 0.5 → MSE d²
	d := math.Sqrt(mse)
	s[sumSE], s[sumAE] = 2*mse, 2*d
	s[sumY], s[sumY2] = 1, 2*(0.25+mse)
	s[sumP], s[sumP2], s[sumYP] = 1, 0.5, 0.5
	s[sumN] = 2
	return s
}

func byName(ms []train.Metric) map[string]float64 {
	m := map[string]float64{}
	for _, x := range ms {
		m[x.Name] = x.Value
	}
	return m
}

// TestMetricsNaive compares EvalSums+Metrics with a direct computation on
// the same predictions (dropout off so that they are repeatable).
func TestMetricsNaive(t *testing.T) {
	needHDF5(t)
	path, _ := genSmall(t, t.TempDir())
	cfg := smallConfig(path)
	cfg.Dropout = 0
	run, err := Setup(context.Background(), cfg, "", 0, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	task := run.Task
	sums, err := task.EvalSums(context.Background(), 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	// two ranks' sums add up to the same
	s0, _ := task.EvalSums(context.Background(), 0, 2)
	s1, _ := task.EvalSums(context.Background(), 1, 2)
	for i := range sums {
		if d := math.Abs(s0[i] + s1[i] - sums[i]); d > 1e-9*math.Max(1, math.Abs(sums[i])) {
			t.Fatalf("sum %d: ranks %v + %v != %v", i, s0[i], s1[i], sums[i])
		}
	}
	ms, err := task.Metrics(sums)
	if err != nil {
		t.Fatal(err)
	}
	got := byName(ms)
	n := task.NumEval()
	c, d, y := make([]float32, n*24), make([]float32, n*40), make([]float32, n)
	if err := task.eval.ReadRows(0, n, c, d, y); err != nil {
		t.Fatal(err)
	}
	var x1, x2 tensor.Tensor
	x1.Ensure(n, 24)
	copy(x1.Data, c)
	x2.Ensure(n, 40)
	copy(x2.Data, d)
	out, err := task.model.Forward([]*tensor.Tensor{&x1, &x2}, false)
	if err != nil {
		t.Fatal(err)
	}
	var se, ae, my float64
	for i := range n {
		e := float64(y[i]) - float64(out.Data[i])
		se += e * e
		ae += math.Abs(e)
		my += float64(y[i])
	}
	my /= float64(n)
	var sst float64
	for i := range n {
		sst += (float64(y[i]) - my) * (float64(y[i]) - my)
	}
	// Keras r2_batch: batches of 32 rows, 1 − SS_res/(SS_tot+1e-7), mean weighted by rows
	var r2b float64
	for b0 := 0; b0 < n; b0 += 32 {
		b1 := min(b0+32, n)
		var m, res, tot float64
		for i := b0; i < b1; i++ {
			m += float64(y[i])
		}
		m /= float64(b1 - b0)
		for i := b0; i < b1; i++ {
			e := float64(y[i]) - float64(out.Data[i])
			res += e * e
			tot += (float64(y[i]) - m) * (float64(y[i]) - m)
		}
		r2b += float64(b1-b0) * (1 - res/(tot+1e-7))
	}
	want := map[string]float64{"val_loss": se / float64(n), "val_mae": ae / float64(n), "val_r2": 1 - se/sst, "val_mean_mse": sst / float64(n),
		"val_r2_batch": r2b / float64(n)}
	for k, w := range want {
		if math.Abs(got[k]-w) > 1e-6*math.Max(1, math.Abs(w)) {
			t.Errorf("%s = %.9g, naive %.9g", k, got[k], w)
		}
	}

}

// TestStateResume: a task restored from SaveState after any epoch takes
// the same plateau and early-stopping decisions as the uninterrupted one.
func TestStateResume(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Hidden = 8
	losses := []float64{0.05, 0.04, 0.045, 0.039, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.038, 0.06, 0.06, 0.06, 0.06, 0.06, 0.06, 0.06, 0.06, 0.06, 0.06, 0.06}
	ref, err := newTask(cfg, 3, 4, nil, nil, 10, 10, 2)
	if err != nil {
		t.Fatal(err)
	}
	var want []float64
	for e, l := range losses {
		want = append(want, ref.LR(e+1))
		if _, err := ref.Metrics(evalSums(ref, l)); err != nil {
			t.Fatal(err)
		}
	}
	for cut := 1; cut < len(losses); cut += 3 {
		a, _ := newTask(cfg, 3, 4, nil, nil, 10, 10, 2)
		for e := range cut {
			a.LR(e + 1)
			a.Metrics(evalSums(a, losses[e]))
		}
		a.evals = 7
		var buf bytes.Buffer
		if err := a.SaveState(&buf); err != nil {
			t.Fatal(err)
		}
		b, _ := newTask(cfg, 3, 4, nil, nil, 10, 10, 2)
		if err := b.LoadState(&buf); err != nil {
			t.Fatal(err)
		}
		if b.evals != 7 {
			t.Fatalf("evals %d after restore", b.evals)
		}
		for e := cut; e < len(losses); e++ {
			if got := b.LR(e + 1); got != want[e] {
				t.Fatalf("cut %d: LR(epoch %d) = %g, want %g", cut, e+1, got, want[e])
			}
			b.Metrics(evalSums(b, losses[e]))
		}
		if b.StopEpoch() != ref.StopEpoch() || ref.StopEpoch() == 0 {
			t.Fatalf("cut %d: stop %d, want %d (non-zero)", cut, b.StopEpoch(), ref.StopEpoch())
		}
	}
	if err := new(Task).LoadState(bytes.NewReader([]byte("XXXX"))); !errors.Is(err, ErrConfig) {
		t.Fatalf("bad state: %v", err)
	}
}
