package cloudmask

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/scibench/scibench/pkg/hdf5"
	"github.com/scibench/scibench/pkg/train"
)

// TestGeneratedSceneReadByH5py writes one synthetic scene and reads it
// back with h5py: keys, shapes and checksums must match the Go arrays.
func TestGeneratedSceneReadByH5py(t *testing.T) {
	needHDF5(t)
	sc := Scales["tiny"]
	s := GenerateScene(sc, 5, 3, true)
	p := filepath.Join(t.TempDir(), SynthName(3))
	if err := WriteScene(p, s); err != nil {
		t.Fatal(err)
	}
	out := runPy(t, `
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
print(" ".join(sorted(f.keys())))
for k in ("refs", "bts", "bayes"):
    d = f[k][...]
    print(k, "x".join(map(str, d.shape)), repr(float(np.sum(d.astype(np.float64)))))
print("cloud", int(np.sum(f["bayes"][...] > 0)))
`, p)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if lines[0] != "bayes bts rads refs summary" {
		t.Fatalf("keys %q", lines[0])
	}
	sum := func(v []float32) float64 {
		var s float64
		for _, x := range v {
			s += float64(x)
		}
		return s
	}
	var bsum float64
	cloud := 0
	for _, v := range s.Bayes {
		bsum += float64(v)
		if v > 0 {
			cloud++
		}
	}
	want := []struct {
		key, shape string
		sum        float64
	}{{"refs", "80x112x6", sum(s.Refs)}, {"bts", "80x112x3", sum(s.Bts)}, {"bayes", "80x112x1", bsum}}
	for i, w := range want {
		f := strings.Fields(lines[1+i])
		got, _ := strconv.ParseFloat(f[2], 64)
		if f[0] != w.key || f[1] != w.shape || math.Abs(got-w.sum) > 1e-9*math.Max(1, math.Abs(w.sum)) {
			t.Errorf("h5py %q, want %s %s %v", lines[1+i], w.key, w.shape, w.sum)
		}
	}
	if lines[4] != fmt.Sprintf("cloud %d", cloud) {
		t.Errorf("h5py %q, want cloud %d", lines[4], cloud)
	}
}

// TestSyntheticScenesAreLearnable checks the §2.6 statistics: cloud
// fractions in range, label noise small, and a single 10.8 µm brightness
// temperature threshold separating most pixels (≈0.9).
func TestSyntheticScenesAreLearnable(t *testing.T) {
	sc := Scales["tiny"]
	sc.H, sc.W = 256, 256
	sc.Spacing = 64
	for n := range 6 {
		s := GenerateScene(sc, 9, n, n%2 == 0)
		cloud := 0
		for _, v := range s.Bayes {
			if v > 0 {
				cloud++
			}
		}
		frac := float64(cloud) / float64(len(s.Bayes))
		if frac < 0.15 || frac > 0.85 {
			t.Errorf("scene %d: cloud fraction %.3f", n, frac)
		}
		best := 0.0
		for th := 240.0; th < 300; th += 0.5 {
			ok := 0
			for i, v := range s.Bayes {
				if (float64(s.Bts[i*3+1]) < th) == (v > 0) {
					ok++
				}
			}
			best = max(best, float64(ok)/float64(len(s.Bayes)))
		}
		if best < 0.85 {
			t.Errorf("scene %d: best BT threshold accuracy %.3f, want >= 0.85", n, best)
		}
		for _, v := range s.Refs {
			if v < 0 || v > 1 {
				t.Fatalf("scene %d: refs %v outside [0,1]", n, v)
			}
		}
	}
}

// TestReadBlockMatchesNaive reads random windows of a written scene and
// compares them with the normalisation computed directly from the arrays.
func TestReadBlockMatchesNaive(t *testing.T) {
	needHDF5(t)
	sc := Scales["tiny"]
	s := GenerateScene(sc, 3, 1, true)
	s.Refs[5*sc.W*6+7*6+2] = float32(math.NaN()) // one non-finite input
	p := filepath.Join(t.TempDir(), SynthName(1))
	if err := WriteScene(p, s); err != nil {
		t.Fatal(err)
	}
	f, err := hdf5.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	si, err := inspectOpen(f, p, 32)
	if err != nil || si.H != 80 || si.W != 112 {
		t.Fatalf("inspect %+v %v", si, err)
	}
	// per-image statistics, naively
	stats := func(v []float32) (m, sd float64) {
		var s1, s2, n float64
		for _, x := range v {
			if x == x {
				s1 += float64(x)
				s2 += float64(x) * float64(x)
				n++
			}
		}
		m = s1 / n
		return m, math.Sqrt(s2/n - m*m)
	}
	rm, rs := stats(s.Refs)
	bm, bs := stats(s.Bts)
	pin, err := PerImageNorm(f, si)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(pin.RefSub-rm) > 1e-9 || math.Abs(pin.RefDiv-rs) > 1e-9 || math.Abs(pin.BtSub-bm) > 1e-6 || math.Abs(pin.BtDiv-bs) > 1e-6 {
		t.Fatalf("per-image norm %+v, want %v %v %v %v", pin, rm, rs, bm, bs)
	}
	rng := rand.New(rand.NewPCG(4, 4))
	var rd Reader
	var b Block
	for it := range 20 {
		n := FixedNorm
		if it%2 == 1 {
			n = pin
		}
		rows, cols := 1+rng.IntN(si.H), 1+rng.IntN(si.W)
		r0, c0 := rng.IntN(si.H-rows+1), rng.IntN(si.W-cols+1)
		if it == 0 {
			r0, c0, rows, cols = 0, 0, si.H, si.W
		}
		if err := rd.ReadBlock(f, si, n, r0, rows, c0, cols, &b); err != nil {
			t.Fatal(err)
		}
		nan := 0
		for r := range rows {
			for c := range cols {
				i := (r0+r)*si.W + c0 + c
				for ch := range InputChannels {
					var want float64
					if ch < 6 {
						v := s.Refs[i*6+ch]
						if v != v {
							nan++
							want = 0
						} else {
							want = (float64(v) - n.RefSub) / n.RefDiv
						}
					} else {
						want = (float64(s.Bts[i*3+ch-6]) - n.BtSub) / n.BtDiv
					}
					got := float64(b.X[ch*rows*cols+r*cols+c])
					if math.Abs(got-want) > 1e-5*math.Max(1, math.Abs(want)) {
						t.Fatalf("window %d (%d,%d %dx%d) pixel (%d,%d) ch %d: %v, want %v", it, r0, c0, rows, cols, r, c, ch, got, want)
					}
				}
				if want := s.Bayes[i] > 0; (b.Y[r*cols+c] == 1) != want {
					t.Fatalf("label (%d,%d): %v", r, c, b.Y[r*cols+c])
				}
			}
		}
		if b.NonFinite != nan {
			t.Fatalf("window %d: %d non-finite counted, want %d", it, b.NonFinite, nan)
		}
	}
	if err := rd.ReadBlock(f, si, FixedNorm, 70, 20, 0, 10, &b); !errors.Is(err, ErrShape) {
		t.Fatalf("window outside the scene: %v", err)
	}
}

// TestLoadMatchesScene checks that training and validation patches, served
// through a one-band cache (evicting on every miss), equal the crop tiles
// of the whole decoded scene, and that Load allocates nothing once warm.
func TestLoadMatchesScene(t *testing.T) {
	dir := tinyDir(t)
	cfg := tinyConfig(t)
	d, err := LoadData(context.Background(), cfg, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Train) != 6 || len(d.Val) != 2 || len(d.Infer) != 2 || len(d.TrainPatches) != 36 || len(d.ValPatches) != 12 {
		t.Fatalf("data %d/%d/%d files, %d/%d patches", len(d.Train), len(d.Val), len(d.Infer), len(d.TrainPatches), len(d.ValPatches))
	}
	task, err := NewTask(d, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	task.cache.max = 1
	full := map[int]*Block{}
	var rd Reader
	whole := func(fi int) *Block {
		if b, ok := full[fi]; ok {
			return b
		}
		si := d.files[fi]
		f, err := hdf5.Open(si.Path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		b := &Block{}
		if err := rd.ReadBlock(f, si, FixedNorm, 0, si.H, 0, si.W, b); err != nil {
			t.Fatal(err)
		}
		full[fi] = b
		return b
	}
	rng := rand.New(rand.NewPCG(7, 7))
	P := cfg.PatchSize
	for range 10 {
		idx := rng.Perm(len(d.TrainPatches))[:5]
		if err := task.Load(context.Background(), idx); err != nil {
			t.Fatal(err)
		}
		for j, i := range idx {
			q := d.TrainPatches[i]
			b := whole(int(q.File))
			_, _, oh, ow := Grid(b.Rows, b.Cols, P)
			for ch := range InputChannels {
				for r := range P {
					for c := range P {
						sr, sc := oh+int(q.Row)*P+r, ow+int(q.Col)*P+c
						got := task.x.Data[((j*InputChannels+ch)*P+r)*P+c]
						if want := b.X[ch*b.Rows*b.Cols+sr*b.Cols+sc]; got != want {
							t.Fatalf("patch %d (%+v) ch %d (%d,%d): %v, want %v", i, q, ch, r, c, got, want)
						}
						if ch == 0 && task.y.Data[(j*P+r)*P+c] != b.Y[sr*b.Cols+sc] {
							t.Fatalf("patch %d label (%d,%d)", i, r, c)
						}
					}
				}
			}
		}
	}
	if err := task.Load(context.Background(), []int{len(d.TrainPatches)}); !errors.Is(err, ErrShape) {
		t.Fatalf("out-of-range sample: %v", err)
	}
	// warm cache: Load allocates nothing
	task.cache.max = 1000
	idx := []int{0, 1, 2, 3, 4, 5, 6, 7}
	if err := task.Load(context.Background(), idx); err != nil {
		t.Fatal(err)
	}
	if a := testing.AllocsPerRun(20, func() { _ = task.Load(context.Background(), idx) }); a != 0 {
		t.Fatalf("Load allocates %v times per call", a)
	}
}

// writeBad writes a scene file broken by mutate.
func writeBad(t *testing.T, path string, mutate func(f *hdf5.File, s *Scene) error) {
	t.Helper()
	s := GenerateScene(Scales["tiny"], 1, 0, true)
	f, err := hdf5.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := mutate(f, s); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestBadInput: missing keys, wrong shapes, a too-small scene, an
// unreadable file and empty folders are errors naming the file and key;
// with bad_files: skip they are skipped and counted.
func TestBadInput(t *testing.T) {
	needHDF5(t)
	fo := hdf5.WriteOptions{}
	cases := []struct {
		name   string
		key    string
		err    error
		mutate func(f *hdf5.File, s *Scene) error
	}{
		{"missing bts", "bts", ErrMissingKey, func(f *hdf5.File, s *Scene) error {
			return errors.Join(f.WriteFloat32("/refs", []int{80, 112, 6}, s.Refs, fo), f.WriteInt64("/bayes", []int{80, 112, 1}, s.Bayes, fo))
		}},
		{"refs 5 channels", "refs", ErrShape, func(f *hdf5.File, s *Scene) error {
			return errors.Join(f.WriteFloat32("/refs", []int{80, 112, 5}, s.Refs[:80*112*5], fo),
				f.WriteFloat32("/bts", []int{80, 112, 3}, s.Bts, fo), f.WriteInt64("/bayes", []int{80, 112, 1}, s.Bayes, fo))
		}},
		{"bayes other size", "bayes", ErrShape, func(f *hdf5.File, s *Scene) error {
			return errors.Join(f.WriteFloat32("/refs", []int{80, 112, 6}, s.Refs, fo),
				f.WriteFloat32("/bts", []int{80, 112, 3}, s.Bts, fo), f.WriteInt64("/bayes", []int{40, 112, 1}, s.Bayes[:40*112], fo))
		}},
		{"too small", "refs", ErrShape, func(f *hdf5.File, s *Scene) error {
			return errors.Join(f.WriteFloat32("/refs", []int{16, 112, 6}, s.Refs[:16*112*6], fo),
				f.WriteFloat32("/bts", []int{16, 112, 3}, s.Bts[:16*112*3], fo), f.WriteInt64("/bayes", []int{16, 112, 1}, s.Bayes[:16*112], fo))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := tinyDir(t)
			bad := filepath.Join(dir, "training", "day", "S3A_bad.hdf")
			writeBad(t, bad, tc.mutate)
			cfg := tinyConfig(t)
			_, err := LoadData(context.Background(), cfg, dir, nil)
			var de *DataError
			if !errors.Is(err, tc.err) || !errors.As(err, &de) || de.File != bad || de.Key != tc.key ||
				!strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), tc.key) {
				t.Fatalf("got %v, want %v naming %s and %s", err, tc.err, bad, tc.key)
			}
			cfg.BadFiles = BadFilesSkip
			d, err := LoadData(context.Background(), cfg, dir, nil)
			if err != nil || len(d.Skipped) != 1 || len(d.Train)+len(d.Val) != 8 {
				t.Fatalf("skip: %v %+v", err, d)
			}
		})
	}
	t.Run("unreadable", func(t *testing.T) {
		dir := tinyDir(t)
		bad := filepath.Join(dir, "inference", "S3A_garbage.hdf")
		if err := os.WriteFile(bad, []byte("not an HDF5 file\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := LoadData(context.Background(), tinyConfig(t), dir, nil)
		if !errors.Is(err, ErrUnreadable) || !strings.Contains(err.Error(), bad) {
			t.Fatalf("garbage file: %v", err)
		}
	})
	t.Run("empty folders", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.MkdirAll(filepath.Join(dir, "training", "day"), 0o755); err != nil {
			t.Fatal(err)
		}
		_, err := LoadData(context.Background(), tinyConfig(t), dir, nil)
		if !errors.Is(err, ErrNoScenes) || !strings.Contains(err.Error(), filepath.Join(dir, "training")) {
			t.Fatalf("empty training folder: %v", err)
		}
		_, err = LoadData(context.Background(), tinyConfig(t), filepath.Join(dir, "nope"), nil)
		if !errors.Is(err, ErrNoScenes) {
			t.Fatalf("missing folder: %v", err)
		}
		// Prepare reports it as bad input (exit code 2)
		var bi interface{ BadInput() bool }
		if err := Prepare(context.Background(), tinyConfig(t), dir, nil); !errors.As(err, &bi) || !errors.Is(err, ErrNoScenes) {
			t.Fatalf("Prepare: %v", err)
		}
	})
}

// TestNonFiniteCounted puts NaN and Inf into every scene and checks that
// they are replaced, counted exactly once over two ranks, and reported.
func TestNonFiniteCounted(t *testing.T) {
	needHDF5(t)
	dir := t.TempDir()
	sc := Scales["tiny"]
	paths, err := Generate(context.Background(), dir, sc, 1)
	if err != nil {
		t.Fatal(err)
	}
	// 3 bad values per file inside the 32-pixel crop (rows 8..71, cols 8..103)
	for i, p := range paths {
		s := GenerateScene(sc, 1, i, i%2 == 0)
		s.Refs[(10*sc.W+10)*6] = float32(math.NaN())
		s.Bts[(40*sc.W+50)*3+1] = float32(math.Inf(1))
		s.Refs[(70*sc.W+100)*6+5] = float32(math.NaN())
		if err := WriteScene(p, s); err != nil {
			t.Fatal(err)
		}
	}
	cfg := tinyConfig(t)
	cfg.Epochs = 1
	sums := make([]float64, 0)
	var tasks []*Task
	for r := range 2 {
		d, err := LoadData(context.Background(), cfg, dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		task, err := NewTask(d, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		tasks = append(tasks, task)
		// each rank trains on half of the patches (the loop's RankBlock)
		for i := r; i < len(d.TrainPatches); i += 2 {
			if err := task.Load(context.Background(), []int{i}); err != nil {
				t.Fatal(err)
			}
		}
		task.lastEpoch = cfg.Epochs
		s, err := task.EvalSums(context.Background(), r, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(sums) == 0 {
			sums = make([]float64, len(s))
		}
		for i, v := range s {
			sums[i] += v
		}
	}
	ms, err := tasks[0].Metrics(sums)
	if err != nil {
		t.Fatal(err)
	}
	got := metric(t, ms, "nonfinite_values")
	if want := 3.0 * float64(len(paths)); got != want {
		t.Fatalf("nonfinite_values %v, want %v", got, want)
	}
	for _, v := range tasks[0].x.Data {
		if v != v || math.IsInf(float64(v), 0) {
			t.Fatal("non-finite value reached the model input")
		}
	}
}

func metric(t *testing.T, ms []train.Metric, name string) float64 {
	t.Helper()
	i := slices.IndexFunc(ms, func(m train.Metric) bool { return m.Name == name })
	if i < 0 {
		t.Fatalf("no metric %s in %v", name, ms)
	}
	return ms[i].Value
}
