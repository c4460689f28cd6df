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
	"time"

	"github.com/scibench/scibench/pkg/hdf5"
)

// Scale is a synthetic data profile (BENCHMARKS.md §2.6).
type Scale struct {
	Name         string
	H, W         int
	Train, Infer int // files under training/ and inference/
	// Spacing is the grid spacing of the coarsest noise octave, px.
	Spacing int
}

// Scales are the synthetic profiles: tiny for tests (80×112 scenes, made
// for 32-pixel patches), small for the learning check (512×768, 40 + 8
// files), full-shape for the reference geometry (1200×1500, 4 + 2 files).
var Scales = map[string]Scale{
	"tiny":       {Name: "tiny", H: 80, W: 112, Train: 8, Infer: 2, Spacing: 32},
	"small":      {Name: "small", H: 512, W: 768, Train: 40, Infer: 8, Spacing: 64},
	"full-shape": {Name: "full-shape", H: 1200, W: 1500, Train: 4, Infer: 2, Spacing: 64},
}

// ParseScale returns the named profile.
func ParseScale(name string) (Scale, error) {
	s, ok := Scales[name]
	if !ok {
		return Scale{}, fmt.Errorf("%w: unknown synthetic scale %q (want tiny, small or full-shape)", ErrConfig, name)
	}
	return s, nil
}

// SynthName is the file name of synthetic scene n, in the SEN3 style
// S3A_SL_1_RBT____2019MMDDTHHMMSS_SYN_<n>.hdf.
func SynthName(n int) string {
	t := time.Date(2019, 10, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(n) * (24*time.Hour + 37*time.Minute + 11*time.Second))
	return fmt.Sprintf("S3A_SL_1_RBT____%s_SYN_%04d.hdf", t.Format("20060102T150405"), n)
}

// radsGain converts reflectance to the (unused) radiance dataset.
var radsGain = [RefsChannels]float32{180, 150, 110, 40, 25, 10}

// Synthetic scene constants of §2.6.
var (
	landRefl  = [RefsChannels]float64{0.08, 0.10, 0.25, 0.01, 0.30, 0.20}
	cloudGain = [RefsChannels]float64{1, 0.95, 0.9, 0.35, 0.6, 0.45}
	bayesWord = []int64{1, 2, 3, 8, 16, 24, 256}
)

// Scene is one synthetic scene in the file layout: refs (H,W,6), bts
// (H,W,3), bayes (H,W,1) interleaved row-major, as the files store them.
type Scene struct {
	H, W  int
	Day   bool
	Refs  []float32
	Bts   []float32
	Bayes []int64
}

// noiseField returns a H×W field in [0,1]: three octaves of bilinearly
// upsampled uniform noise (spacing, spacing/2, spacing/4; amplitudes 1,
// ½, ¼), rescaled to [0,1].
func noiseField(rng *rand.Rand, h, w, spacing int) []float64 {
	f := make([]float64, h*w)
	amp := 1.0
	for o := 0; o < 3; o++ {
		s := max(1, spacing>>o)
		gh, gw := h/s+2, w/s+2
		g := make([]float64, gh*gw)
		for i := range g {
			g[i] = rng.Float64()
		}
		for y := range h {
			fy := float64(y) / float64(s)
			y0 := int(fy)
			ty := fy - float64(y0)
			for x := range w {
				fx := float64(x) / float64(s)
				x0 := int(fx)
				tx := fx - float64(x0)
				a := g[y0*gw+x0]*(1-tx) + g[y0*gw+x0+1]*tx
				b := g[(y0+1)*gw+x0]*(1-tx) + g[(y0+1)*gw+x0+1]*tx
				f[y*w+x] += amp * (a*(1-ty) + b*ty)
			}
		}
		amp /= 2
	}
	lo, hi := slices.Min(f), slices.Max(f)
	if hi > lo {
		for i := range f {
			f[i] = (f[i] - lo) / (hi - lo)
		}
	}
	return f
}

// GenerateScene draws synthetic scene n of the profile (BENCHMARKS.md
// §2.6) from seed; equal arguments give equal scenes.
func GenerateScene(sc Scale, seed uint64, n int, day bool) *Scene {
	rng := rand.New(rand.NewPCG(seed, 0xc10d0000+uint64(n)))
	h, w := sc.H, sc.W
	s := &Scene{H: h, W: w, Day: day, Refs: make([]float32, h*w*RefsChannels),
		Bts: make([]float32, h*w*BtsChannels), Bayes: make([]int64, h*w)}
	tau := noiseField(rng, h, w, sc.Spacing)
	frac := 0.2 + 0.6*rng.Float64()
	sorted := slices.Clone(tau)
	slices.Sort(sorted)
	theta := sorted[min(len(sorted)-1, int((1-frac)*float64(len(sorted))))]
	land := noiseField(rng, h, w, sc.Spacing)
	sea := 288 + 12*rng.Float64()
	for i := range h * w {
		t := tau[i]
		c := 1 / (1 + math.Exp(-(t-theta)/0.03))
		isLand := land[i] > 0.6
		ts := sea
		if isLand && day {
			ts += 5
		}
		rc := 0.4 + 0.45*t
		for ch := range RefsChannels {
			var v float64
			if day {
				surf := 0.04
				if isLand {
					surf = landRefl[ch]
				}
				v = (1-c)*surf + c*rc*cloudGain[ch] + rng.NormFloat64()*0.01
			} else {
				v = math.Abs(rng.NormFloat64() * 0.002)
			}
			s.Refs[i*RefsChannels+ch] = float32(min(1, max(0, v)))
		}
		tc := 260 - 45*t
		s8 := (1-c)*ts + c*tc + rng.NormFloat64()*0.3
		s9 := s8 - 0.5 - 1.5*(1-c)
		s7 := s8 - 1 - 3*c
		if day {
			s7 = s8 + 2 + 15*c
		}
		s.Bts[i*3], s.Bts[i*3+1], s.Bts[i*3+2] = float32(s7), float32(s8), float32(s9)
		cloud := t > theta
		p := 0.005
		if math.Abs(t-theta) < 0.05 {
			p = 0.02
		}
		if rng.Float64() < p {
			cloud = !cloud
		}
		if cloud {
			s.Bayes[i] = bayesWord[rng.IntN(len(bayesWord))]
		}
	}
	return s
}

// WriteScene writes s to path in the scene layout (plus the unused rads
// and summary datasets). bayes and summary are stored as int64 (the
// binding writes float32, int64 and strings).
func WriteScene(path string, s *Scene) (err error) {
	f, err := hdf5.Create(path)
	if err != nil {
		if errors.Is(err, hdf5.ErrNoHDF5) {
			return fmt.Errorf("%w: %s", ErrNoHDF5, path)
		}
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	h, w := s.H, s.W
	fo := hdf5.WriteOptions{Gzip: 1, Shuffle: true}
	rads := make([]float32, len(s.Refs))
	for i, v := range s.Refs {
		rads[i] = v * radsGain[i%RefsChannels]
	}
	summary := make([]int64, len(s.Bayes))
	for i, v := range s.Bayes {
		if v > 0 {
			summary[i] = 1
		}
	}
	return errors.Join(
		f.WriteFloat32("/refs", []int{h, w, RefsChannels}, s.Refs, fo),
		f.WriteFloat32("/bts", []int{h, w, BtsChannels}, s.Bts, fo),
		f.WriteInt64("/bayes", []int{h, w, 1}, s.Bayes, fo),
		f.WriteInt64("/summary", []int{h, w, 1}, summary, fo),
		f.WriteFloat32("/rads", []int{h, w, RefsChannels}, rads, fo),
	)
}

// Generate writes the profile's scenes under out: training/{day,night}
// and inference/{day,night} (even n by day, odd n by night), and returns
// the paths written. The files are written to temporary names and renamed.
func Generate(ctx context.Context, out string, sc Scale, seed uint64) ([]string, error) {
	var paths []string
	for i := range sc.Train + sc.Infer {
		if err := ctx.Err(); err != nil {
			return paths, err
		}
		set := "training"
		if i >= sc.Train {
			set = "inference"
		}
		day := i%2 == 0
		tod := "day"
		if !day {
			tod = "night"
		}
		dir := filepath.Join(out, set, tod)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return paths, err
		}
		p := filepath.Join(dir, SynthName(i))
		tmp := filepath.Join(dir, ".tmp-"+SynthName(i))
		if err := WriteScene(tmp, GenerateScene(sc, seed, i, day)); err != nil {
			os.Remove(tmp)
			return paths, err
		}
		if err := os.Rename(tmp, p); err != nil {
			return paths, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}
