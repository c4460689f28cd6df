package uno

import (
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// readPredictions parses the predictions table into rows of strings.
func readPredictions(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comma = '\t'
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows
}

// TestMCInferenceWorlds runs the Monte Carlo dropout phase with 1 and 2
// workers: the per-pass metrics and the table agree (masks keyed by pass
// and row), the table has one row per validation row with the names of the
// file, AUCError = PredictedAUC − AUC, min ≤ mean ≤ max, a non-zero spread
// (dropout is active at inference) and metrics that match a recomputation
// from the table.
func TestMCInferenceWorlds(t *testing.T) {
	needHDF5(t)
	dir := t.TempDir()
	path, _ := genSmall(t, dir)
	cfg := smallConfig(path)
	cfg.Epochs = 2
	cfg.MCPasses = 4
	cfg.Dropout = 0.1
	p1, p2 := filepath.Join(dir, "p1.tsv"), filepath.Join(dir, "p2.tsv")
	r1 := runRanks(t, cfg, 1, true, p1)
	r2 := runRanks(t, cfg, 2, true, p2)
	for _, name := range []string{"mc_val_mse_mean", "mc_val_mse_std", "mc_val_mae_min", "mc_val_r2_max", "mc_val_pearson_mean", "mc_val_mse_of_mean"} {
		a, b := metric(t, r1, name), metric(t, r2, name)
		if math.Abs(a-b) > 1e-5*math.Max(1, math.Abs(a)) {
			t.Errorf("%s: 1 worker %v, 2 workers %v", name, a, b)
		}
	}
	if s := metric(t, r1, "mc_val_mse_std"); !(s > 0) {
		t.Errorf("mc_val_mse_std %v: the passes did not differ although dropout is on", s)
	}
	if lo, m, hi := metric(t, r1, "mc_val_mse_min"), metric(t, r1, "mc_val_mse_mean"), metric(t, r1, "mc_val_mse_max"); !(lo <= m && m <= hi) {
		t.Errorf("mse min %v, mean %v, max %v out of order", lo, m, hi)
	}
	if _, ok := r1.Timers["inference"]; !ok {
		t.Error("no inference timer")
	}

	f, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	part, err := f.Partition("val", cfg.CellFeatures, cfg.DrugFeatures)
	if err != nil {
		t.Fatal(err)
	}
	samples, drugs, err := part.Names(0, part.Rows)
	if err != nil {
		t.Fatal(err)
	}
	rows1, rows2 := readPredictions(t, p1), readPredictions(t, p2)
	want := []string{"AUC", "Sample", "Drug1", "PredictedAUC", "AUCError", "PredictedAUCStd", "PredictedAUCMin", "PredictedAUCMax"}
	if len(rows1) != part.Rows+1 || len(rows2) != len(rows1) {
		t.Fatalf("tables have %d and %d lines, want %d", len(rows1), len(rows2), part.Rows+1)
	}
	for i, h := range want {
		if rows1[0][i] != h {
			t.Fatalf("header %v, want %v", rows1[0], want)
		}
	}
	num := func(s string) float64 {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	var se float64
	spread := 0
	for i, row := range rows1[1:] {
		if row[1] != samples[i] || row[2] != drugs[i] {
			t.Fatalf("row %d: names %s/%s, file %s/%s", i, row[1], row[2], samples[i], drugs[i])
		}
		auc, p, e, sd, lo, hi := num(row[0]), num(row[3]), num(row[4]), num(row[5]), num(row[6]), num(row[7])
		if math.Abs(e-(p-auc)) > 2e-5 {
			t.Fatalf("row %d: AUCError %v, PredictedAUC − AUC = %v", i, e, p-auc)
		}
		if !(lo <= p+1e-5 && p <= hi+1e-5 && sd >= 0) {
			t.Fatalf("row %d: min %v, mean %v, max %v, std %v", i, lo, p, hi, sd)
		}
		if sd > 0 {
			spread++
		}
		if q := num(rows2[i+1][3]); math.Abs(q-p) > 1e-5 {
			t.Fatalf("row %d: 1 worker predicts %v, 2 workers %v", i, p, q)
		}
		se += (p - auc) * (p - auc)
	}
	if spread < part.Rows/2 {
		t.Errorf("only %d of %d rows vary over the passes", spread, part.Rows)
	}
	if got, want := se/float64(part.Rows), metric(t, r1, "mc_val_mse_of_mean"); math.Abs(got-want) > 1e-4*want+1e-9 {
		t.Errorf("MSE recomputed from the table %v, metric %v", got, want)
	}
}

func TestStatsPopulation(t *testing.T) {
	for _, c := range []struct {
		in                  []float64
		mean, std, min, max float64
	}{
		{[]float64{1, 2, 3, 4}, 2.5, math.Sqrt(1.25), 1, 4},
		{[]float64{7}, 7, 0, 7, 7},
		{[]float64{-1, 1}, 0, 1, -1, 1},
	} {
		m, s, lo, hi := stats(c.in)
		if math.Abs(m-c.mean) > 1e-12 || math.Abs(s-c.std) > 1e-12 || lo != c.min || hi != c.max {
			t.Errorf("stats(%v) = %v %v %v %v, want %v %v %v %v", c.in, m, s, lo, hi, c.mean, c.std, c.min, c.max)
		}
	}
	if m, _, _, _ := stats(nil); !math.IsNaN(m) {
		t.Errorf("stats(nil) mean %v, want NaN", m)
	}
}
