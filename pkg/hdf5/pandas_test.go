//go:build hdf5 && cgo

package hdf5

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

const pandasWriter = `
import sys, json, warnings
import numpy as np
import pandas as pd

warnings.simplefilter("ignore")
d = sys.argv[1]
p = d + "/uno.h5"
rng = np.random.default_rng(2018)
K, N = 13, 75
xs, auc, samples, drugs = [], [], [], []
for lo, hi in ((0, 40), (40, N)):
    x = pd.DataFrame(rng.standard_normal((hi - lo, K)).astype("f4"))
    x.to_hdf(p, "x_train_0", format="table", append=True, mode="a")
    a = rng.random(hi - lo).astype("f4")
    s = ["CCLE.%d" % i for i in range(lo, hi)]
    s[0] = "NCI60." + "y" * 24
    g = ["NSC.%d" % (7 * i) for i in range(lo, hi)]
    y = pd.DataFrame({"AUC": a, "Sample": s, "Drug1": g})
    y.to_hdf(p, "y_train", format="table", append=True, mode="a", data_columns=["Sample", "Drug1"],
             min_itemsize={"Sample": 30, "Drug1": 10})
    xs.append(x.values)
    auc.append(a)
    samples += s
    drugs += g
np.concatenate(xs).astype("<f4").tofile(d + "/x.bin")
np.concatenate(auc).astype("<f4").tofile(d + "/auc.bin")
fx = rng.standard_normal((5, 3))
pd.DataFrame(fx).to_hdf(p, "fixed", format="fixed", mode="a")
fx.astype("<f4").tofile(d + "/fixed.bin")
with open(d + "/manifest.json", "w") as fp:
    json.dump({"samples": samples, "drugs": drugs}, fp)
`

// TestPandasTable reads a real pandas HDFStore written with
// DataFrame.to_hdf(format="table"), appended in two chunks (the layout of
// the candle-uno data file), and a format="fixed" frame. It needs pandas and
// PyTables (Debian python3-pandas, python3-tables) next to h5py and skips,
// saying so, when they are missing.
func TestPandasTable(t *testing.T) {
	py := python(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	out, err := exec.CommandContext(ctx, py, "-c", "import pandas, tables").CombinedOutput()
	cancel()
	if err != nil {
		t.Skipf("pandas/PyTables not importable by %s (apt-get install python3-pandas python3-tables): %s", py, lastLine(string(out)))
	}
	dir := t.TempDir()
	runPy(t, pandasWriter, dir)
	var man struct{ Samples, Drugs []string }
	readJSON(t, filepath.Join(dir, "manifest.json"), &man)
	defer checkAllClosed(t)
	f, err := Open(filepath.Join(dir, "uno.h5"))
	must(t, err)
	defer f.Close()

	keys, err := f.List("/")
	must(t, err)
	sameStrings(t, "keys", keys, []string{"fixed", "x_train_0", "y_train"})
	const K, N = 13, 75
	xi, err := f.Info("/x_train_0/table")
	must(t, err)
	if !sameInts(xi.Shape, []int{N}) || xi.Type != Compound || len(xi.Fields) != 2 {
		t.Fatalf("Info(x_train_0/table) = %+v", xi)
	}
	if vb, ok := xi.Field("values_block_0"); !ok || vb.Type != Float32 || !sameInts(vb.Dims, []int{K}) {
		t.Fatalf("values_block_0 = %+v", vb)
	}
	x := readF32(t, filepath.Join(dir, "x.bin"))
	all := make([]float32, N*K)
	must(t, f.ReadFieldFloat32("/x_train_0/table", "values_block_0", all))
	sameBits(t, "pandas x", all, x)
	rows := make([]float32, 32*K)
	must(t, f.ReadFieldFloat32Rows("/x_train_0/table", "values_block_0", 30, 32, rows)) // crosses the append boundary
	sameBits(t, "pandas x rows 30..62", rows, x[30*K:62*K])
	idx := make([]int64, N)
	must(t, f.ReadFieldInt64("/x_train_0/table", "index", idx))
	for i, v := range idx {
		want := int64(i)
		if i >= 40 {
			want = int64(i - 40) // the index restarts with every appended chunk
		}
		if v != want {
			t.Fatalf("index[%d] = %d, want %d", i, v, want)
		}
	}

	auc := make([]float32, N)
	must(t, f.ReadFieldFloat32("/y_train/table", "values_block_0", auc))
	sameBits(t, "pandas AUC", auc, readF32(t, filepath.Join(dir, "auc.bin")))
	s, err := f.ReadFieldStringRows("/y_train/table", "Sample", 0, N)
	must(t, err)
	sameStrings(t, "pandas Sample", s, man.Samples)
	g, err := f.ReadFieldStringRows("/y_train/table", "Drug1", 35, 10)
	must(t, err)
	sameStrings(t, "pandas Drug1 rows", g, man.Drugs[35:45])
	if v, err := f.Attr("/y_train/table", "CLASS"); err != nil || v != "TABLE" {
		t.Errorf("PyTables CLASS attribute = %q, %v", v, err)
	}

	fi, err := f.Info("/fixed/block0_values")
	must(t, err)
	if !sameInts(fi.Shape, []int{5, 3}) || fi.Type != Float64 {
		t.Fatalf("Info(fixed/block0_values) = %+v", fi)
	}
	fx := make([]float32, 15)
	must(t, f.ReadFloat32("/fixed/block0_values", fx))
	sameBits(t, "pandas fixed", fx, readF32(t, filepath.Join(dir, "fixed.bin")))
	checkNoLeak(t, f)
	must(t, f.Close())
}
