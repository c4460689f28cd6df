package uno

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/scibench/scibench/pkg/nn"
	"github.com/scibench/scibench/pkg/tensor"
	"github.com/scibench/scibench/pkg/train"
)

// PredictionsFile is the name of the predictions table in the run
// directory (the reference writes <prefix>.predicted.tsv).
const PredictionsFile = "uno.predicted.tsv"

// mcTask is the Task with the Monte Carlo dropout inference phase
// (train.Inferrer); Run.TrainTask returns it when mc_passes > 0.
type mcTask struct{ *Task }

// TrainTask is the task to hand to train.New: the Task itself, or with
// mc_passes > 0 the Task plus its inference phase.
func (r *Run) TrainTask() train.Task {
	if r.Config.MCPasses > 0 {
		return mcTask{r.Task}
	}
	return r.Task
}

// SetPredictionsPath makes InferMetrics write the per-row predictions to
// path (give it on rank 0 only); empty: no file.
func (t *Task) SetPredictionsPath(path string) { t.predPath = path }

// regression holds the metrics derived from the sums of EvalSums' layout.
type regression struct{ mse, mae, r2, r, meanMSE float64 }

func regressionOf(s []float64) regression {
	n := s[sumN]
	if n == 0 {
		return regression{math.NaN(), math.NaN(), math.NaN(), math.NaN(), math.NaN()}
	}
	mse, mae := s[sumSE]/n, s[sumAE]/n
	my, mp := s[sumY]/n, s[sumP]/n
	vy := s[sumY2]/n - my*my
	vp := s[sumP2]/n - mp*mp
	cov := s[sumYP]/n - my*mp
	r2, r := math.NaN(), math.NaN()
	if vy > 0 {
		r2 = 1 - mse/vy
		if vp > 0 {
			r = cov / math.Sqrt(vy*vp)
		}
	}
	return regression{mse, mae, r2, r, math.Max(vy, 0)}
}

// addPair accumulates one (truth, prediction) pair into sums of EvalSums'
// layout.
func addPair(s []float64, y, p float64) {
	e := y - p
	s[sumSE] += e * e
	s[sumAE] += math.Abs(e)
	s[sumY] += y
	s[sumY2] += y * y
	s[sumP] += p
	s[sumP2] += p * p
	s[sumYP] += y * p
	s[sumN]++
}

// Per-row columns of the inference vector when predictions are written.
const (
	rowMean = iota
	rowStd
	rowMin
	rowMax
	rowAUC
	nRow
)

// inferLen is the length of the inference vector.
func (t mcTask) inferLen() int {
	n := (t.cfg.MCPasses + 1) * nSums
	if t.cfg.Predictions {
		n += nRow * t.nEval
	}
	return n
}

// InferSums predicts this rank's contiguous block of the eval split
// mc_passes times with the permanent dropout active (masks keyed by pass
// and row, so the result does not depend on the number of workers) and
// returns: the sums of each pass, the sums of the per-row mean prediction
// and, with predictions on, each row's mean, std, min, max and AUC at its
// global position (zeros for other ranks' rows).
func (t mcTask) InferSums(ctx context.Context, rank, size int) ([]float64, error) {
	P := t.cfg.MCPasses
	out := make([]float64, t.inferLen())
	lo, hi := train.RankBlock(t.nEval, size, rank)
	cw, dw := t.model.Config().CellFeatures, t.model.Config().DrugFeatures
	in := []*tensor.Tensor{&t.ecell, &t.edrug}
	mean := out[P*nSums : (P+1)*nSums]
	var sum, sum2, mn, mx []float64
	for b0 := lo; b0 < hi; b0 += t.cfg.EvalBatch {
		n := min(t.cfg.EvalBatch, hi-b0)
		t.ecell.Ensure(n, cw)
		t.edrug.Ensure(n, dw)
		t.ey.Ensure(n, 1)
		if err := t.eval.ReadRows(b0, n, t.ecell.Data, t.edrug.Data, t.ey.Data); err != nil {
			return nil, err
		}
		sum, sum2 = resize(sum, n, 0), resize(sum2, n, 0)
		mn, mx = resize(mn, n, math.Inf(1)), resize(mx, n, math.Inf(-1))
		for p := range P {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			t.model.SetMaskKey(nn.MixKey(uint64(t.cfg.Seed), 0x6d63696e66, uint64(p)), b0) // "mcinf"
			o, err := t.model.Forward(in, false)
			if err != nil {
				return nil, err
			}
			ps := out[p*nSums : (p+1)*nSums]
			for i := range n {
				y, v := float64(t.ey.Data[i]), float64(o.Data[i])
				addPair(ps, y, v)
				sum[i] += v
				sum2[i] += v * v
				mn[i] = math.Min(mn[i], v)
				mx[i] = math.Max(mx[i], v)
			}
		}
		for i := range n {
			m := sum[i] / float64(P)
			addPair(mean, float64(t.ey.Data[i]), m)
			if t.cfg.Predictions {
				row := out[(P+1)*nSums+nRow*(b0+i):]
				row[rowMean] = m
				row[rowStd] = math.Sqrt(math.Max(sum2[i]/float64(P)-m*m, 0))
				row[rowMin], row[rowMax] = mn[i], mx[i]
				row[rowAUC] = float64(t.ey.Data[i])
			}
		}
	}
	return out, nil
}

func resize(s []float64, n int, v float64) []float64 {
	if cap(s) < n {
		s = make([]float64, n)
	}
	s = s[:n]
	for i := range s {
		s[i] = v
	}
	return s
}

// InferMetrics derives, over the passes, the mean, std, min and max of
// MSE, MAE, R² and Pearson r (as uno_infer.py prints them), the metrics of
// the per-row mean prediction, and writes the predictions table when a
// path was set.
func (t mcTask) InferMetrics(sums []float64) ([]train.Metric, error) {
	P := t.cfg.MCPasses
	if len(sums) != t.inferLen() {
		return nil, fmt.Errorf("%w: %d inference sums, want %d", ErrConfig, len(sums), t.inferLen())
	}
	split := t.cfg.EvalSplit
	names := [4]string{"mse", "mae", "r2", "pearson"}
	var per [4][]float64
	for p := range P {
		r := regressionOf(sums[p*nSums : (p+1)*nSums])
		for k, v := range [4]float64{r.mse, r.mae, r.r2, r.r} {
			per[k] = append(per[k], v)
		}
	}
	meta := map[string]string{"passes": strconv.Itoa(P), "split": split}
	var ms []train.Metric
	for k, vs := range per {
		mean, std, lo, hi := stats(vs)
		for _, x := range []struct {
			agg string
			v   float64
		}{{"mean", mean}, {"std", std}, {"min", lo}, {"max", hi}} {
			name := fmt.Sprintf("mc_%s_%s_%s", split, names[k], x.agg)
			ms = append(ms, train.Metric{Name: name, Key: name, Value: x.v, Meta: meta})
		}
	}
	m := regressionOf(sums[P*nSums : (P+1)*nSums])
	for k, v := range [4]float64{m.mse, m.mae, m.r2, m.r} {
		name := fmt.Sprintf("mc_%s_%s_of_mean", split, names[k])
		ms = append(ms, train.Metric{Name: name, Key: name, Value: v, Meta: meta})
	}
	if t.predPath != "" && t.cfg.Predictions {
		if err := t.writePredictions(sums[(P+1)*nSums:]); err != nil {
			return nil, err
		}
	}
	return ms, nil
}

// stats is the mean, population standard deviation (numpy's default),
// minimum and maximum of vs.
func stats(vs []float64) (mean, std, lo, hi float64) {
	if len(vs) == 0 {
		return math.NaN(), math.NaN(), math.NaN(), math.NaN()
	}
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, v := range vs {
		mean += v
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	mean /= float64(len(vs))
	for _, v := range vs {
		std += (v - mean) * (v - mean)
	}
	return mean, math.Sqrt(std / float64(len(vs))), lo, hi
}

// writePredictions writes the table atomically (temporary file, then
// rename): the reference's columns AUC, Sample, Drug1, PredictedAUC,
// AUCError (predicted − true, as uno_infer.py) in file order, then the
// spread of the passes.
func (t mcTask) writePredictions(rows []float64) error {
	f, err := OpenFile(t.path)
	if err != nil {
		return err
	}
	defer f.Close()
	p, err := f.Partition(t.cfg.EvalSplit, t.model.Config().CellFeatures, t.model.Config().DrugFeatures)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(t.predPath), ".predicted-*.tsv")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	w := bufio.NewWriter(tmp)
	fmt.Fprintln(w, "AUC\tSample\tDrug1\tPredictedAUC\tAUCError\tPredictedAUCStd\tPredictedAUCMin\tPredictedAUCMax")
	g := func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
	const chunk = 4096
	for lo := 0; lo < t.nEval; lo += chunk {
		n := min(chunk, t.nEval-lo)
		samples, drugs, err := p.Names(lo, n)
		if err != nil {
			tmp.Close()
			return err
		}
		for i := range n {
			r := rows[nRow*(lo+i):]
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", g(r[rowAUC]), samples[i], drugs[i], g(r[rowMean]),
				g(r[rowMean]-r[rowAUC]), g(r[rowStd]), g(r[rowMin]), g(r[rowMax]))
		}
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", t.predPath, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", t.predPath, err)
	}
	return os.Rename(tmp.Name(), t.predPath)
}
