package cloudmask

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"

	"github.com/scibench/scibench/pkg/hdf5"
)

// Data is the scene set of a run: the checked training scenes split into
// training and validation files, the inference scenes, and the training
// and validation patches (BENCHMARKS.md §2.2).
type Data struct {
	Root         string      // folder holding train_dir and inference_dir
	Train        []SceneInfo // training files, sorted
	Val          []SceneInfo // validation files, sorted
	Infer        []SceneInfo // inference files, sorted
	Skipped      []string    // bad files skipped (bad_files: skip), with the reason
	Patch        int
	TrainPatches []Patch // training patches: Train files, row-major per file
	ValPatches   []Patch // validation patches

	files     []SceneInfo // Train ++ Val: Patch.File indexes it
	bandStart []int       // first band slot of each file
	nBands    int
}

// Patch is one patch-size tile of the central crop of a file: File indexes
// Train ++ Val, (Row, Col) the tile (k = Row·cols + Col).
type Patch struct {
	File, Row, Col int32
}

// Grid returns the non-overlapping patch grid of an h×w scene: the tile
// counts and the offsets of the centred crop, oh = (h mod p) div 2 and
// ow = (w mod p) div 2 (1200×1500, 256: 4×5 tiles at (88, 110)).
func Grid(h, w, p int) (rows, cols, oh, ow int) {
	return h / p, w / p, (h % p) / 2, (w % p) / 2
}

// SplitFiles shuffles the sorted file list with a PCG seeded by seed and
// puts the first round(frac·n) (at least 1, at most n−1) in training; both
// parts are returned sorted.
func SplitFiles(files []string, frac float64, seed int64) (train, val []string, err error) {
	n := len(files)
	if n < 2 {
		return nil, nil, fmt.Errorf("%w: %d training scene(s); the train/validation split needs at least 2", ErrNoScenes, n)
	}
	s := slices.Clone(files)
	slices.Sort(s)
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5b117))
	rng.Shuffle(n, func(i, j int) { s[i], s[j] = s[j], s[i] })
	k := min(n-1, max(1, int(math.Round(frac*float64(n)))))
	train, val = slices.Clone(s[:k]), slices.Clone(s[k:])
	slices.Sort(train)
	slices.Sort(val)
	return train, val, nil
}

// SceneRoot returns the folder the scenes of cfg are read from: dataDir,
// or its cloudmask-synthetic-<scale>-seed<seed> folder for synthetic data.
func SceneRoot(cfg Config, dataDir string) string {
	if cfg.Synthetic != "" {
		return filepath.Join(dataDir, fmt.Sprintf("cloudmask-synthetic-%s-seed%d", cfg.Synthetic, cfg.Seed))
	}
	return dataDir
}

// EnsureSynthetic generates the synthetic scenes of cfg under root when
// they are not there yet (into a temporary folder renamed into place, so
// concurrent callers are safe).
func EnsureSynthetic(ctx context.Context, cfg Config, root string, log *slog.Logger) error {
	if cfg.Synthetic == "" {
		return nil
	}
	if _, err := os.Stat(root); err == nil {
		return nil
	}
	sc, err := ParseScale(cfg.Synthetic)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(root), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(root), ".tmp-cloudmask-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	log.Info("generating synthetic scenes", "scale", sc.Name, "dir", root)
	if _, err := Generate(ctx, tmp, sc, uint64(cfg.Seed)); err != nil {
		return err
	}
	if err := os.Rename(tmp, root); err != nil {
		if _, serr := os.Stat(root); serr == nil {
			return nil // another process won the race with identical data
		}
		return err
	}
	return nil
}

// LoadData finds, checks and splits the scenes of cfg under dataDir.
// Bad files stop it (bad_files: error) or are skipped and listed.
func LoadData(ctx context.Context, cfg Config, dataDir string, log *slog.Logger) (*Data, error) {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if !hdf5.Available() {
		return nil, ErrNoHDF5
	}
	root := SceneRoot(cfg, dataDir)
	if err := EnsureSynthetic(ctx, cfg, root, log); err != nil {
		return nil, err
	}
	d := &Data{Root: root, Patch: cfg.PatchSize}
	check := func(paths []string) ([]SceneInfo, error) {
		var out []SceneInfo
		for _, p := range paths {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			si, err := Inspect(p, cfg.PatchSize)
			if err != nil {
				var de *DataError
				if cfg.BadFiles == BadFilesSkip && errors.As(err, &de) {
					log.Warn("skipping bad scene", "file", p, "err", err)
					d.Skipped = append(d.Skipped, err.Error())
					continue
				}
				return nil, err
			}
			out = append(out, si)
		}
		return out, nil
	}
	trainPaths, err := FindScenes(filepath.Join(root, cfg.TrainDir))
	if err != nil {
		return nil, err
	}
	good, err := check(trainPaths)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(good))
	byPath := make(map[string]SceneInfo, len(good))
	for i, si := range good {
		names[i] = si.Path
		byPath[si.Path] = si
	}
	tr, va, err := SplitFiles(names, cfg.TrainFraction, cfg.SplitSeed)
	if err != nil {
		return nil, &DataError{File: filepath.Join(root, cfg.TrainDir), Msg: err.Error(), Err: ErrNoScenes}
	}
	for _, p := range tr {
		d.Train = append(d.Train, byPath[p])
	}
	for _, p := range va {
		d.Val = append(d.Val, byPath[p])
	}
	if cfg.Inference {
		ip, err := FindScenes(filepath.Join(root, cfg.InferenceDir))
		if err != nil {
			return nil, err
		}
		if d.Infer, err = check(ip); err != nil {
			return nil, err
		}
		if len(d.Infer) == 0 {
			return nil, &DataError{File: filepath.Join(root, cfg.InferenceDir), Msg: "every inference scene was skipped", Err: ErrNoScenes}
		}
		if cfg.InferenceFiles > 0 && len(d.Infer) > cfg.InferenceFiles {
			d.Infer = d.Infer[:cfg.InferenceFiles]
		}
	}
	d.index()
	return d, nil
}

// index numbers the patches and band slots.
func (d *Data) index() {
	d.files = append(append([]SceneInfo{}, d.Train...), d.Val...)
	d.bandStart = make([]int, len(d.files))
	d.TrainPatches, d.ValPatches, d.nBands = nil, nil, 0
	for f, si := range d.files {
		rows, cols, _, _ := Grid(si.H, si.W, d.Patch)
		d.bandStart[f] = d.nBands
		d.nBands += rows
		for r := range rows {
			for c := range cols {
				p := Patch{File: int32(f), Row: int32(r), Col: int32(c)}
				if f < len(d.Train) {
					d.TrainPatches = append(d.TrainPatches, p)
				} else {
					d.ValPatches = append(d.ValPatches, p)
				}
			}
		}
	}
}

// SplitRecord returns the split for the run record.
func (d *Data) SplitRecord(seed int64) SplitRecord {
	r := SplitRecord{Seed: seed, Skipped: d.Skipped}
	for _, s := range d.Train {
		r.Train = append(r.Train, s.Name)
	}
	for _, s := range d.Val {
		r.Validation = append(r.Validation, s.Name)
	}
	for _, s := range d.Infer {
		r.Inference = append(r.Inference, s.Name)
	}
	return r
}

// band is one decoded row of patches of a file: rows [oh+Row·p, +p) and
// the crop's columns.
type band struct {
	slot int
	Block
}

// bandCache keeps decoded bands in memory, least recently used first out,
// within a byte budget. Not safe for concurrent use.
type bandCache struct {
	d     *Data
	norm  string
	rd    Reader
	max   int
	items map[int]*list.Element
	lru   list.List
	free  []*band
	norms map[int]Norm
	// nonFinite[slot] and loaded[slot]: counts of the bands this rank
	// decoded at least once (for the exact non-finite total over ranks).
	nonFinite, loaded []float64
	warned            map[int]bool
	log               *slog.Logger
}

func newBandCache(d *Data, cfg Config, log *slog.Logger) *bandCache {
	maxW := 0
	for _, s := range d.files {
		maxW = max(maxW, s.W)
	}
	bytes := max(1, (InputChannels+1)*4*d.Patch*maxW)
	return &bandCache{d: d, norm: cfg.Normalisation, max: max(2, cfg.CacheMB<<20/bytes), items: map[int]*list.Element{},
		norms: map[int]Norm{}, nonFinite: make([]float64, d.nBands), loaded: make([]float64, d.nBands),
		warned: map[int]bool{}, log: log}
}

// normFor returns the normalisation of file f, computing per-image
// statistics on first use.
func (c *bandCache) normFor(f int, h *hdf5.File) (Norm, error) {
	if c.norm == NormFixed {
		return FixedNorm, nil
	}
	if n, ok := c.norms[f]; ok {
		return n, nil
	}
	n, err := PerImageNorm(h, c.d.files[f])
	if err != nil {
		return n, err
	}
	c.norms[f] = n
	return n, nil
}

// get returns the band of patch p, decoding it on a miss.
func (c *bandCache) get(p Patch) (*band, error) {
	slot := c.d.bandStart[p.File] + int(p.Row)
	if e, ok := c.items[slot]; ok {
		c.lru.MoveToFront(e)
		return e.Value.(*band), nil
	}
	var b *band
	if c.lru.Len() >= c.max {
		e := c.lru.Back()
		b = c.lru.Remove(e).(*band)
		delete(c.items, b.slot)
	} else if n := len(c.free); n > 0 {
		b, c.free = c.free[n-1], c.free[:n-1]
	} else {
		b = &band{}
	}
	si := c.d.files[p.File]
	f, err := openScene(si.Path)
	if err != nil {
		c.free = append(c.free, b)
		return nil, err
	}
	defer f.Close()
	n, err := c.normFor(int(p.File), f)
	if err == nil {
		_, cols, oh, ow := Grid(si.H, si.W, c.d.Patch)
		err = c.rd.ReadBlock(f, si, n, oh+int(p.Row)*c.d.Patch, c.d.Patch, ow, cols*c.d.Patch, &b.Block)
	}
	if err != nil {
		c.free = append(c.free, b)
		return nil, err
	}
	b.slot = slot
	if c.loaded[slot] == 0 {
		c.loaded[slot] = 1
		c.nonFinite[slot] = float64(b.NonFinite)
		if b.NonFinite > 0 {
			c.log.Warn("non-finite values replaced by 0", "file", si.Path, "band", p.Row, "count", b.NonFinite)
		}
	}
	if b.RefsMax > 1.5 && !c.warned[int(p.File)] {
		c.warned[int(p.File)] = true
		c.log.Warn("refs above 1.5: the file may hold radiances, not reflectances", "file", si.Path, "max", b.RefsMax)
	}
	c.items[slot] = c.lru.PushFront(b)
	return b, nil
}

// copyPatch copies patch p of band b into x (9·P·P, planar) and y (P·P).
func copyPatch(x, y []float32, b *band, col, p int) {
	cols := b.Cols
	plane := b.Rows * cols
	for ch := range InputChannels {
		for r := range p {
			src := b.X[ch*plane+r*cols+col*p:]
			copy(x[(ch*p+r)*p:(ch*p+r+1)*p], src[:p])
		}
	}
	for r := range p {
		copy(y[r*p:(r+1)*p], b.Y[r*cols+col*p:r*cols+col*p+p])
	}
}
