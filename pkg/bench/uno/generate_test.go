package uno

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// pandasReader reads every frame of a generated file with pd.read_hdf, as
// the reference loader does, and dumps values, index and names.
const pandasReader = `
import sys, json, warnings
import numpy as np, pandas as pd
warnings.simplefilter("ignore")
path, out = sys.argv[1], sys.argv[2]
man = {}
for s in ("train", "val", "test"):
    c = pd.read_hdf(path, "x_%s_0" % s)
    d = pd.read_hdf(path, "x_%s_1" % s)
    y = pd.read_hdf(path, "y_%s" % s)
    c.values.astype("<f4").tofile("%s/%s_c.bin" % (out, s))
    d.values.astype("<f4").tofile("%s/%s_d.bin" % (out, s))
    y["AUC"].values.astype("<f4").tofile("%s/%s_y.bin" % (out, s))
    man[s] = {"cols": [list(map(str, c.columns))[:3], list(map(str, y.columns))], "index": list(map(int, c.index[:5])) + [int(c.index[-1])],
              "sample": list(y["Sample"])[:3], "drug": list(y["Drug1"])[:3], "rows": len(c)}
json.dump(man, open(out + "/man.json", "w"))
`

func readBin(t *testing.T, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

func sameBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s[%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}

// TestGeneratePandas writes a small file in several chunks and checks that
// pandas reads every frame back exactly as our reader does.
func TestGeneratePandas(t *testing.T) {
	needHDF5(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "uno.h5")
	o := GenOptions{Train: 150, Val: 30, Test: 20, CellFeatures: 7, DrugFeatures: 11, Cells: 20, Drugs: 30, ChunkRows: 64, Seed: 5, Gzip: 1}
	st, err := Generate(context.Background(), path, o)
	if err != nil {
		t.Fatal(err)
	}
	if st.Rows != [3]int{150, 30, 20} {
		t.Fatalf("rows %v", st.Rows)
	}
	out := t.TempDir()
	runPy(t, pandasReader, path, out)
	var man map[string]struct {
		Cols   [2][]string
		Index  []int
		Sample []string
		Drug   []string
		Rows   int
	}
	b, err := os.ReadFile(filepath.Join(out, "man.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &man); err != nil {
		t.Fatal(err)
	}
	f, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for k, s := range Splits {
		p, err := f.Partition(s, 7, 11)
		if err != nil {
			t.Fatal(err)
		}
		m := man[s]
		if p.Rows != st.Rows[k] || m.Rows != p.Rows {
			t.Fatalf("%s: rows ours %d pandas %d, want %d", s, p.Rows, m.Rows, st.Rows[k])
		}
		if got := m.Cols[1]; len(got) != 3 || got[0] != "AUC" || got[1] != "Sample" || got[2] != "Drug1" {
			t.Fatalf("%s: y columns %v", s, got)
		}
		if got := m.Cols[0]; got[0] != "0" || got[2] != "2" {
			t.Fatalf("%s: x columns %v", s, got)
		}
		if s == "train" && (m.Index[0] != 0 || m.Index[4] != 4 || m.Index[5] != 150-128-1) {
			t.Fatalf("train index %v: want 0.. restarting every 64 rows", m.Index)
		}
		c, d, y := make([]float32, p.Rows*7), make([]float32, p.Rows*11), make([]float32, p.Rows)
		if err := p.ReadRows(0, p.Rows, c, d, y); err != nil {
			t.Fatal(err)
		}
		sameBits(t, s+" cell", c, readBin(t, filepath.Join(out, s+"_c.bin")))
		sameBits(t, s+" drug", d, readBin(t, filepath.Join(out, s+"_d.bin")))
		sameBits(t, s+" auc", y, readBin(t, filepath.Join(out, s+"_y.bin")))
		sn, dn, err := p.Names(0, 3)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			if sn[i] != m.Sample[i] || dn[i] != m.Drug[i] || len(sn[i]) != 9 || sn[i][:5] != "SYN.C" || dn[i][:5] != "SYN.D" {
				t.Fatalf("%s names %q %q, pandas %q %q", s, sn, dn, m.Sample, m.Drug)
			}
		}
	}
}
