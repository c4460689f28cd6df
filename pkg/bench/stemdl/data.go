package stemdl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Roles of the data folders.
const (
	RoleTraining   = "training"
	RoleValidation = "validation"
	RoleTesting    = "testing"
	RoleInference  = "inference"
)

// folderNames lists, per format and role, the folder names accepted
// under the data root, in order of preference.
var folderNames = map[string]map[string][]string{
	FormatNPZ: {
		RoleTraining:   {"training", "train"},
		RoleValidation: {"validation", "val", "dev"},
		RoleTesting:    {"testing", "test"},
		RoleInference:  {"inference"},
	},
	FormatHDF5: {
		RoleTraining:   {"train"},
		RoleValidation: {"dev"},
		RoleTesting:    {"test"},
		RoleInference:  {"test"},
	},
}

// Split is one data folder held in memory at the model's input size.
type Split struct {
	Role  string
	Dir   string
	Size  int       // side of the stored images
	X     []float32 // Len() × 3 × Size × Size
	Y     []int
	Files []string // source of each sample: file, or file:group for raw HDF5
}

// Len is the number of samples.
func (s *Split) Len() int { return len(s.Y) }

// Sample returns sample i's pixels (3 × Size × Size).
func (s *Split) Sample(i int) []float32 {
	n := Channels * s.Size * s.Size
	return s.X[i*n : (i+1)*n]
}

// FindSplit returns the folder of role under root for the format, or a
// *DataError (ErrMissing) naming the folders tried.
func FindSplit(root, format, role string) (string, error) {
	names := folderNames[format][role]
	for _, n := range names {
		p := filepath.Join(root, n)
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return p, nil
		}
	}
	return "", dataErr(root, "", ErrMissing, "no %s folder (tried %s); generate data with `scibench data generate stemdl --out DIR` or set data_dir", role, strings.Join(names, ", "))
}

// LoadSplit reads every sample of dir (non-recursive, files sorted by
// name: *.npz, or *.h5 raw files for FormatHDF5), checks shapes and labels
// (1 ≤ label < classes) and block-averages the 128² images to size (a
// divisor of 128). Bad input gives a *DataError naming the file.
func LoadSplit(ctx context.Context, dir, role, format string, size, classes int) (*Split, error) {
	if size < 1 || SampleSize%size != 0 {
		return nil, fmt.Errorf("%w: image size %d does not divide %d", ErrConfig, size, SampleSize)
	}
	ext := ".npz"
	if format == FormatHDF5 {
		ext = ".h5"
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, dataErr(dir, "", ErrMissing, "%v", err)
	}
	var files []string
	for _, e := range ents {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ext) {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(files)
	if len(files) == 0 {
		return nil, dataErr(dir, "", ErrMissing, "no *%s files", ext)
	}
	s := &Split{Role: role, Dir: dir, Size: size}
	per := Channels * size * size
	f := SampleSize / size
	add := func(src string, data []float32, label int) error {
		n := len(s.Y)
		s.X = append(s.X, make([]float32, per)...)
		if f == 1 {
			copy(s.X[n*per:], data)
		} else if err := BlockMean(s.X[n*per:(n+1)*per], data, Channels, SampleSize, SampleSize, f); err != nil {
			return err
		}
		s.Y = append(s.Y, label)
		s.Files = append(s.Files, src)
		return nil
	}
	if format == FormatNPZ {
		s.X = make([]float32, 0, len(files)*per)
	}
	for _, p := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if format == FormatHDF5 {
			rs, err := ReadRawFile(p, classes)
			if err != nil {
				return nil, err
			}
			for _, r := range rs {
				if err := add(p+":"+r.Group, r.Data, r.Label); err != nil {
					return nil, err
				}
			}
			continue
		}
		data, lab, err := ReadSample(p, [3]int{Channels, SampleSize, SampleSize}, classes)
		if err != nil {
			return nil, err
		}
		if err := add(p, data, lab); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Data is the loaded dataset of a run.
type Data struct {
	Root                        string
	Train, Val, Test, Inference *Split // Test and Inference may be nil
}

// LoadData loads the training and validation folders (required) and, when
// present, testing and inference, from root.
func LoadData(ctx context.Context, root string, cfg Config, log *slog.Logger) (*Data, error) {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	d := &Data{Root: root}
	t0 := time.Now()
	for _, role := range []string{RoleTraining, RoleValidation, RoleTesting, RoleInference} {
		dir, err := FindSplit(root, cfg.DataFormat, role)
		if err != nil {
			if role == RoleTesting || role == RoleInference {
				continue
			}
			return nil, err
		}
		if role == RoleTesting {
			continue // not used by the training run
		}
		if role == RoleInference && !cfg.Inference {
			continue
		}
		s, err := LoadSplit(ctx, dir, role, cfg.DataFormat, cfg.ImageSize, NumClasses)
		if err != nil {
			return nil, err
		}
		switch role {
		case RoleTraining:
			d.Train = s
		case RoleValidation:
			d.Val = s
		case RoleInference:
			d.Inference = s
		}
	}
	log.Info("stemdl data loaded", "root", root, "train", d.Train.Len(), "validation", d.Val.Len(),
		"inference", lenOf(d.Inference), "image_size", cfg.ImageSize, "seconds", time.Since(t0).Seconds())
	return d, nil
}

func lenOf(s *Split) int {
	if s == nil {
		return 0
	}
	return s.Len()
}

// DataRoot returns the data folder of cfg: dataDir itself for real data,
// or, with cfg.Synthetic, dataDir/stemdl-synth-v<SynthVersion>-<scale>-seed<seed>, generated
// there first when missing (into a temporary sibling renamed into place, so
// concurrent ranks never see a partial copy).
func DataRoot(ctx context.Context, cfg Config, dataDir string, log *slog.Logger) (string, error) {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Synthetic == "" {
		if dataDir == "" {
			return "", dataErr("data_dir", "", ErrMissing, "no data directory; set data_dir or --data, or use synthetic: tiny")
		}
		return dataDir, nil
	}
	if dataDir == "" {
		dataDir = "."
	}
	root := filepath.Join(dataDir, "stemdl-synth-v"+strconv.Itoa(SynthVersion)+"-"+cfg.Synthetic+"-seed"+strconv.FormatInt(cfg.Seed, 10))
	if st, err := os.Stat(root); err == nil && st.IsDir() {
		return root, nil
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return "", dataErr(dataDir, "", ErrMissing, "%v", err)
	}
	tmp, err := os.MkdirTemp(dataDir, ".stemdl-synth-*")
	if err != nil {
		return "", dataErr(dataDir, "", ErrMissing, "%v", err)
	}
	defer os.RemoveAll(tmp)
	t0 := time.Now()
	rep, err := Generate(ctx, tmp, GenConfig{Scale: cfg.Synthetic, Seed: uint64(cfg.Seed)})
	if err != nil {
		return "", err
	}
	if err := os.Rename(tmp, root); err != nil {
		if st, serr := os.Stat(root); serr == nil && st.IsDir() {
			return root, nil // another rank won
		}
		return "", err
	}
	log.Info("synthetic stemdl data generated", "dir", root, "files", rep.Files, "seconds", time.Since(t0).Seconds())
	return root, nil
}

// isDataError reports whether err is bad input (a *DataError).
func isDataError(err error) bool {
	var de *DataError
	return errors.As(err, &de)
}
