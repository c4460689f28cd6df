package stemdl

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/scibench/scibench/pkg/hdf5"
)

// SynthVersion numbers the generator's output; it is part of the cache
// folder name, so a changed generator never reuses stale data.
const SynthVersion = 1

// SynthLabels are the 8 space groups of the synthetic data (§3.6); 225/221
// and 194/166 are deliberately confusable pairs.
var SynthLabels = [8]int{2, 14, 62, 139, 166, 194, 221, 225}

// Split folders of the npz layout (§3.1) and of the raw layout.
var (
	SplitDirs    = [4]string{"training", "validation", "testing", "inference"}
	RawSplitDirs = [3]string{"train", "dev", "test"}
)

// GenConfig configures Generate. Zero values take the scale's defaults.
type GenConfig struct {
	// Scale is "tiny" (8 labels × 4 materials × 4 samples = 128 files, plus
	// 32 inference files) or "small" (8 × 25 × 20 = 4,000 files, plus 640
	// inference files).
	Scale     string
	Seed      uint64
	Materials int // per label; at least 3
	Samples   int // per material
	// RawPerSplit, when > 0, also writes that many raw samples of each of
	// train/dev/test as raw HDF5 (raw/<split>/batch_0.h5, groups
	// sample_<i>_<j> with cbed_stack and space_group); their npz twins are
	// the first files of the same split. Each raw sample is 3 MiB.
	RawPerSplit int
}

// GenReport says what Generate wrote.
type GenReport struct {
	Dir       string
	Files     map[string]int // per split folder
	Raw       map[string]int // raw samples per raw split folder
	Labels    []int
	Materials map[string]int // per split: materials (all labels)
}

func (c GenConfig) withDefaults() (GenConfig, error) {
	switch c.Scale {
	case "", "tiny":
		c.Scale = "tiny"
		if c.Materials == 0 {
			c.Materials = 4
		}
		if c.Samples == 0 {
			c.Samples = 4
		}
	case "small":
		if c.Materials == 0 {
			c.Materials = 125
		}
		if c.Samples == 0 {
			c.Samples = 4
		}
	default:
		return c, fmt.Errorf("%w: scale %q: stemdl generates tiny or small (the real sizes are 28 GB: download them, BENCHMARKS.md §3.1)", ErrConfig, c.Scale)
	}
	if c.Materials < 3 || c.Samples < 1 || c.RawPerSplit < 0 {
		return c, fmt.Errorf("%w: materials %d (want >= 3), samples %d (want >= 1), raw %d", ErrConfig, c.Materials, c.Samples, c.RawPerSplit)
	}
	return c, nil
}

// lattice is one projection's 2-D lattice: basis vectors in pixels (at
// 512², before rotation) and whether h+k odd reflections vanish.
type lattice struct {
	a1, a2  [2]float64
	extinct bool
}

// Material fixes a sample's structure: label, lattice spacing a (pixels at
// 512²), c/a, rotation, oblique angle, disc radius and amplitude stream.
type Material struct {
	Label  int
	A      float64 // 40..110
	CA     float64 // c/a, 1.25..1.9
	Rot    float64 // radians
	Gamma  float64 // oblique angle, radians (68..82°)
	Radius float64 // disc radius 6..14 px
	Seed   uint64
}

func newMaterial(label int, rng *rand.Rand) Material {
	return Material{Label: label, A: 40 + 70*rng.Float64(), CA: 1.25 + 0.65*rng.Float64(),
		Rot: math.Pi * rng.Float64(), Gamma: (68 + 14*rng.Float64()) * math.Pi / 180,
		Radius: 6 + 8*rng.Float64(), Seed: rng.Uint64()}
}

func rect(a, b float64) lattice { return lattice{a1: [2]float64{a, 0}, a2: [2]float64{0, b}} }
func hex(a float64) lattice {
	return lattice{a1: [2]float64{a, 0}, a2: [2]float64{a / 2, a * math.Sqrt(3) / 2}}
}
func oblique(a, b, g float64) lattice {
	return lattice{a1: [2]float64{a, 0}, a2: [2]float64{b * math.Cos(g), b * math.Sin(g)}}
}
func extinct(l lattice) lattice { l.extinct = true; return l }

// lattices returns the 3 projections' lattices of m's label (§3.6).
func (m Material) lattices() [3]lattice {
	a, c, g := m.A, m.A*m.CA, m.Gamma
	b := a * (m.CA + 0.35) // a third distinct length
	switch m.Label {
	case 225:
		return [3]lattice{extinct(rect(a, a)), extinct(rect(a, a*math.Sqrt2)), extinct(hex(a))}
	case 221:
		return [3]lattice{rect(a, a), rect(a, a*math.Sqrt2), hex(a)}
	case 194:
		return [3]lattice{hex(a), rect(a, c), rect(a*math.Sqrt(3), c)}
	case 166:
		return [3]lattice{hex(a), rect(a, c), oblique(a, c, g)}
	case 139:
		return [3]lattice{rect(a, a), rect(a, c), extinct(rect(a, c))}
	case 62:
		return [3]lattice{rect(a, b), rect(a, c), rect(b, c)}
	case 14:
		return [3]lattice{rect(a, c), oblique(a, c, g), oblique(a, b, g+10*math.Pi/180)}
	default: // 2 and anything else: triclinic
		return [3]lattice{oblique(a, b, g), oblique(a, c, g+8*math.Pi/180), oblique(b, c, g-6*math.Pi/180)}
	}
}

const (
	synthMaxG     = 240.0 // reflections with |g| < 240 px
	synthEnvelope = 110.0 // s of exp(-|g|²/2s²)
	synthEdge     = 1.5   // soft disc edge, px
	synthFloor    = 1e-7
)

// amplitude is A_g of reflection (h,k) of projection p: 1 at the origin,
// U(0.05, 0.6) otherwise (fixed per material), 0 when extinct.
func (m Material) amplitude(p, h, k int, ext bool) float64 {
	if h == 0 && k == 0 {
		return 1
	}
	if ext && (h+k)%2 != 0 {
		return 0
	}
	r := rand.New(rand.NewPCG(m.Seed, uint64(p)<<40^uint64(h+1000)<<20^uint64(k+1000)))
	return 0.05 + 0.55*r.Float64()
}

// Render writes the raw intensities of one sample of m, (3, 512, 512),
// into dst with the per-sample jitter (rotation ±3°, scale ±3%, centre
// ±2 px) and multiplicative noise drawn from rng.
func (m Material) Render(dst []float32, rng *rand.Rand) error {
	const n = RawSize
	if len(dst) != Channels*n*n {
		return fmt.Errorf("%w: render into %d values, want %d", ErrShape, len(dst), Channels*n*n)
	}
	lats := m.lattices()
	for p, lat := range lats {
		img := dst[p*n*n : (p+1)*n*n]
		clear(img)
		rot := m.Rot + (rng.Float64()*2-1)*3*math.Pi/180
		sc := 1 + (rng.Float64()*2-1)*0.03
		cx := n/2 + (rng.Float64()*2-1)*2
		cy := n/2 + (rng.Float64()*2-1)*2
		cr, sr := math.Cos(rot), math.Sin(rot)
		tr := func(v [2]float64) [2]float64 {
			return [2]float64{sc * (cr*v[0] - sr*v[1]), sc * (sr*v[0] + cr*v[1])}
		}
		a1, a2 := tr(lat.a1), tr(lat.a2)
		minLen := min(math.Hypot(a1[0], a1[1]), math.Hypot(a2[0], a2[1]))
		kmax := int(math.Ceil(synthMaxG/(minLen*0.5))) + 1
		rd := m.Radius
		for h := -kmax; h <= kmax; h++ {
			for k := -kmax; k <= kmax; k++ {
				gx, gy := float64(h)*a1[0]+float64(k)*a2[0], float64(h)*a1[1]+float64(k)*a2[1]
				g2 := gx*gx + gy*gy
				if g2 >= synthMaxG*synthMaxG {
					continue
				}
				amp := m.amplitude(p, h, k, lat.extinct) * math.Exp(-g2/(2*synthEnvelope*synthEnvelope))
				if amp == 0 {
					continue
				}
				px, py := cx+gx, cy+gy
				ext := rd + synthEdge
				x0, x1 := max(0, int(px-ext)), min(n-1, int(px+ext)+1)
				y0, y1 := max(0, int(py-ext)), min(n-1, int(py+ext)+1)
				for y := y0; y <= y1; y++ {
					dy := float64(y) - py
					row := img[y*n : (y+1)*n]
					for x := x0; x <= x1; x++ {
						dx := float64(x) - px
						d := math.Sqrt(dx*dx + dy*dy)
						v := min(max((rd-d)/synthEdge+0.5, 0), 1)
						if v > 0 {
							row[x] += float32(amp * v)
						}
					}
				}
			}
		}
		for i, v := range img {
			img[i] = float32((float64(v) + synthFloor) * (1 + 0.05*rng.NormFloat64()))
		}
	}
	return nil
}

// splitMaterials assigns m materials of one label to training, validation
// and testing: about 70/15/15, at least one each for validation and testing.
func splitMaterials(m int) [3]int {
	v := max(1, int(math.Round(0.15*float64(m))))
	return [3]int{m - 2*v, v, v}
}

// Generate writes synthetic CBED samples under dir: <split>/sample-<n>.npz
// for the 4 split folders (n global, in split order), and, with
// RawPerSplit, raw/<train|dev|test>/batch_0.h5. Materials are split
// disjointly per label (about 70/15/15); inference holds fresh samples of
// the testing materials. Output is a function of the config only.
func Generate(ctx context.Context, dir string, cfg GenConfig) (*GenReport, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if cfg.RawPerSplit > 0 && !hdf5.Available() {
		return nil, fmt.Errorf("%w: raw HDF5 output needs a build with HDF5: %w", ErrConfig, hdf5.ErrNoHDF5)
	}
	rep := &GenReport{Dir: dir, Files: map[string]int{}, Raw: map[string]int{}, Materials: map[string]int{}}
	rep.Labels = append(rep.Labels, SynthLabels[:]...)
	// materials per split, label-major
	var mats [3][]Material
	counts := splitMaterials(cfg.Materials)
	for li, lab := range SynthLabels {
		rng := rand.New(rand.NewPCG(cfg.Seed, uint64(1000+li)))
		for s := 0; s < 3; s++ {
			for j := 0; j < counts[s]; j++ {
				mats[s] = append(mats[s], newMaterial(lab, rng))
			}
		}
	}
	workers := max(1, min(runtime.GOMAXPROCS(0), 8))
	raws := make([][]float32, workers)
	outs := make([][]float32, workers)
	for w := range raws {
		raws[w] = make([]float32, Channels*RawSize*RawSize)
		outs[w] = make([]float32, Channels*SampleSize*SampleSize)
	}
	idx := 0
	for si, name := range SplitDirs {
		ms := mats[min(si, 2)]
		sd := filepath.Join(dir, name)
		if err := os.MkdirAll(sd, 0o755); err != nil {
			return nil, err
		}
		rep.Materials[name] = len(ms)
		// sample j of material mi is file idx0 + j·len(ms) + mi: the
		// first files cover every label
		n := cfg.Samples * len(ms)
		idx0 := idx
		idx += n
		rep.Files[name] = n
		render := func(w, k int) (*Material, error) {
			j, mi := k/len(ms), k%len(ms)
			m := &ms[mi]
			rng := rand.New(rand.NewPCG(cfg.Seed^0x5eed, uint64(si)<<48|uint64(mi)<<24|uint64(j)))
			if err := m.Render(raws[w], rng); err != nil {
				return nil, err
			}
			return m, nil
		}
		finish := func(w, k int, m *Material) error {
			if err := Preprocess(outs[w], raws[w], Channels, RawSize, RawSize, rawDownsample); err != nil {
				return err
			}
			p := filepath.Join(sd, fmt.Sprintf("sample-%d.npz", idx0+k))
			return WriteSample(p, outs[w], [3]int{Channels, SampleSize, SampleSize}, m.Label)
		}
		nraw := 0
		if si < 3 && cfg.RawPerSplit > 0 {
			nraw = min(cfg.RawPerSplit, n)
			if err := writeRaw(ctx, filepath.Join(dir, "raw", RawSplitDirs[si]), nraw, len(ms), func(k int) (*Material, error) { return render(0, k) }, raws[0], func(k int, m *Material) error { return finish(0, k, m) }); err != nil {
				return nil, err
			}
			rep.Raw[RawSplitDirs[si]] = nraw
		}
		if err := parallelDo(ctx, n-nraw, workers, func(w, i int) error {
			m, err := render(w, nraw+i)
			if err != nil {
				return err
			}
			return finish(w, nraw+i, m)
		}); err != nil {
			return nil, err
		}
	}
	sort.Ints(rep.Labels)
	return rep, nil
}

// writeRaw renders the first n samples of a split (render fills raw),
// stores each raw stack in dir/batch_0.h5 as group sample_<mi>_<j>
// (nm materials), then calls finish to write its npz twin.
func writeRaw(ctx context.Context, dir string, n, nm int, render func(k int) (*Material, error), raw []float32, finish func(k int, m *Material) error) (err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := hdf5.Create(filepath.Join(dir, "batch_0.h5"))
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	for k := 0; k < n; k++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		m, err := render(k)
		if err != nil {
			return err
		}
		g := "/" + RawGroupStem + strconv.Itoa(k%nm) + "_" + strconv.Itoa(k/nm)
		if err := f.CreateGroup(g); err != nil {
			return err
		}
		if err := f.WriteFloat32(g+"/"+RawDataset, []int{Channels, RawSize, RawSize}, raw, hdf5.WriteOptions{}); err != nil {
			return err
		}
		if err := f.SetAttr(g, RawLabelAttr, strconv.Itoa(m.Label)); err != nil {
			return err
		}
		if err := finish(k, m); err != nil {
			return err
		}
	}
	return nil
}

// parallelDo calls fn(worker, i) for i in [0, n) on workers goroutines and
// returns the first errors; it stops handing out work after an error or
// when ctx is done.
func parallelDo(ctx context.Context, n, workers int, fn func(w, i int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := ctx.Err(); err != nil {
					errs[w] = err
					return
				}
				if err := fn(w, i); err != nil {
					errs[w] = err
					next.Store(int64(n))
					return
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
