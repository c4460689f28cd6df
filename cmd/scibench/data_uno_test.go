package main

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scibench/scibench/pkg/bench/uno"
	"github.com/scibench/scibench/pkg/hdf5"
	"github.com/scibench/scibench/pkg/metrics"
)

func TestDataGenerateUno(t *testing.T) {
	if !hdf5.Available() {
		t.Skip("built without the hdf5 tag")
	}
	out := filepath.Join(t.TempDir(), "uno")
	var so, se bytes.Buffer
	args := []string{"data", "generate", "uno", "--out", out, "--scale", "tiny", "--cell-features", "9", "--drug-features", "11"}
	if code := run(context.Background(), args, &so, &se); code != exitOK {
		t.Fatalf("exit %d: %s", code, se.String())
	}
	if !strings.Contains(so.String(), "rows train/val/test 1600/200/200") {
		t.Errorf("output %q", so.String())
	}
	f, err := uno.OpenFile(filepath.Join(out, "uno-synthetic-tiny.h5"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.Partition("val", 9, 11)
	f.Close()
	if err != nil || p.Rows != 200 {
		t.Fatalf("val partition %+v, %v", p, err)
	}
	for _, bad := range [][]string{
		{"data", "generate", "uno"},
		{"data", "generate", "uno", "--out", out, "--scale", "huge"},
		{"data", "generate", "uno", "--out", out, "extra"},
		{"data", "generate", "uno", "--out", out, "--scale", "tiny"},                // exists
		{"data", "generate", "uno", "--out", out, "--name", "g.h5", "--gzip", "12"}, // bad level
		{"data", "generate", "uno", "--out", out, "--name", "g.h5", "--rows", "10,x"},
		{"data", "generate", "uno", "--out", out, "--name", "g.h5", "--rows", "10,0,0"}, // no val rows
	} {
		so.Reset()
		se.Reset()
		if code := run(context.Background(), bad, &so, &se); code != exitUsage {
			t.Errorf("%v: exit %d, want %d (stderr %s)", bad, code, exitUsage, se.String())
		}
	}
	if _, err := os.Stat(filepath.Join(out, "g.h5")); err == nil {
		t.Error("a failed generate left its file behind")
	}
}

// writeNaNFile writes a minimal uno file (3 cell, 4 drug features) with a
// NaN in training row 5 of the drug features.
func writeNaNFile(t *testing.T, path string) {
	t.Helper()
	f, err := hdf5.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, s := range []struct {
		split string
		n     int
	}{{"train", 40}, {"val", 10}} {
		idx := make([]int64, s.n)
		for k, w := range []int{3, 4, 1} {
			key := []string{"/x_" + s.split + "_0", "/x_" + s.split + "_1", "/y_" + s.split}[k]
			v := make([]float32, s.n*w)
			for i := range v {
				v[i] = float32(i%7) / 7
			}
			if k == 1 && s.split == "train" {
				v[5*w+2] = float32(math.NaN())
			}
			tb, err := f.CreateTable(key, []hdf5.Field{{Name: "index", Type: hdf5.Int64}, {Name: "values_block_0", Type: hdf5.Float32, Dims: []int{w}}}, hdf5.TableOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if err := tb.Append(s.n, idx, v); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestRunUnoEndToEnd generates tiny data, runs the smoke config on 2
// workers (it must end at least 20% below the mean predictor's validation
// MSE), then bad data files: exit code 2 naming the file and the key.
func TestRunUnoEndToEnd(t *testing.T) {
	bin := hdf5Binary(t, "the candle-uno data file is HDF5")
	tmp := t.TempDir()
	data := filepath.Join(tmp, "data")
	var so, se bytes.Buffer
	if code := run(context.Background(), []string{"data", "generate", "uno", "--out", data, "--scale", "tiny"}, &so, &se); code != exitOK {
		t.Fatalf("generate: exit %d: %s", code, se.String())
	}
	smoke := filepath.Join("configs", "uno-smoke.yaml")
	outDir := filepath.Join(tmp, "run")
	code, out := runBinary(t, bin, 4*time.Minute, "run", "uno", "--nproc", "2", "--config", smoke, "--out", outDir, "--data", data)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	for _, want := range []string{"candle-uno val: MSE", "epoch times", "run directory: " + outDir, "# csv,"} {
		if !strings.Contains(out, want) {
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
	}
	f, err := os.Open(filepath.Join(outDir, "mllog.log"))
	if err != nil {
		t.Fatal(err)
	}
	err = metrics.CheckMLLogSequence(f)
	f.Close()
	if err != nil {
		t.Fatalf("mllog sequence: %v", err)
	}
	r := readResult(t, outDir)
	if r.Benchmark != "uno" || r.Status != "success" || r.WorldSize != 2 || len(r.Epochs) != 8 || !(float64(r.SamplesPerS) > 0) {
		t.Fatalf("result.json: %+v", r)
	}
	mse, base := float64(r.Metrics["val_loss"]), float64(r.Metrics["val_mean_mse"])
	t.Logf("smoke: val MSE %.5f, mean predictor %.5f, %.0f samples/s", mse, base, float64(r.SamplesPerS))
	if !(mse <= 0.8*base) {
		t.Fatalf("smoke run: val MSE %.5f not 20%% below the mean predictor's %.5f", mse, base)
	}
	// the MC-dropout inference phase (mc_passes: 3 in the smoke config)
	if _, ok := r.Metrics["mc_val_mse_mean"]; !ok || !strings.Contains(out, "MC dropout inference (3 passes)") {
		t.Fatalf("no MC inference metrics in result.json or report:\n%s", out)
	}
	pred, err := os.ReadFile(filepath.Join(outDir, "uno.predicted.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(pred)), "\n")
	if len(lines) != 201 || !strings.HasPrefix(lines[0], "AUC\tSample\tDrug1\tPredictedAUC\tAUCError") || !strings.Contains(lines[1], "\tSYN.C") {
		t.Fatalf("uno.predicted.tsv: %d lines, header %q, first row %q", len(lines), lines[0], lines[min(1, len(lines)-1)])
	}
	if ml, err := os.ReadFile(filepath.Join(outDir, "mllog.log")); err != nil || !strings.Contains(string(ml), `"phase": "inference"`) {
		t.Fatalf("mllog.log has no inference block (err %v)", err)
	}

	// bad input: each must exit 2 naming the file and the key
	so.Reset()
	if code := run(context.Background(), []string{"data", "generate", "uno", "--out", data, "--scale", "tiny", "--name", "narrow.h5", "--cell-features", "10"}, &so, &se); code != exitOK {
		t.Fatalf("generate narrow: exit %d: %s", code, se.String())
	}
	nanFile := filepath.Join(data, "nan.h5")
	writeNaNFile(t, nanFile)
	b, err := os.ReadFile(filepath.Join(data, "uno-synthetic-tiny.h5"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "trunc.h5"), b[:len(b)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		sets []string
		want []string
	}{
		{"wrong width", []string{"file=narrow.h5"}, []string{"narrow.h5", "/x_train_0", "wrong feature width 10, want 942"}},
		{"missing key", []string{"eval_split=test", "file=" + nanFile, "cell_features=3", "drug_features=4"}, []string{"nan.h5", "/x_test_0"}},
		{"NaN feature", []string{"file=" + nanFile, "cell_features=3", "drug_features=4", "batch_size=4"}, []string{"nan.h5", "/x_train_1", "row 5"}},
		{"truncated", []string{"file=trunc.h5"}, []string{"trunc.h5"}},
	} {
		args := []string{"run", "uno", "--nproc", "2", "--config", smoke, "--out", filepath.Join(tmp, "bad"), "--data", data}
		for _, s := range c.sets {
			args = append(args, "--set", s)
		}
		code, out := runBinary(t, bin, 2*time.Minute, args...)
		if code != exitUsage {
			t.Errorf("%s: exit %d, want %d\n%s", c.name, code, exitUsage, out)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: output lacks %q:\n%s", c.name, w, out)
			}
		}
	}
}
