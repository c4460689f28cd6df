package earthquake

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestSaveLoadRoundTrip(t *testing.T) {
	ds := smallDataset(30, 4, 7)
	dir := filepath.Join(t.TempDir(), "eq")
	if err := ds.Save(dir); err != nil {
		t.Fatal(err)
	}
	// Saving again replaces the directory atomically.
	ds.Dynamic[0] = 0.125
	if err := ds.Save(dir); err != nil {
		t.Fatal(err)
	}
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Meta, ds.Meta) {
		t.Errorf("meta\n got %+v\nwant %+v", got.Meta, ds.Meta)
	}
	if !slices.Equal(got.Locations, ds.Locations) || got.NormMin != ds.NormMin || got.NormMax != ds.NormMax {
		t.Error("locations or normalisation differ")
	}
	for name, pair := range map[string][2][]float32{"dynamic": {got.Dynamic, ds.Dynamic}, "targets": {got.Targets, ds.Targets}, "encodings": {got.Encodings, ds.Encodings}} {
		if !slices.Equal(bitsOf(pair[0]), bitsOf(pair[1])) {
			t.Errorf("%s differs after round trip", name)
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(dir))
	if len(entries) != 1 {
		t.Errorf("temporary directories left behind: %v", entries)
	}
	// The header is valid NumPy: magic, version 1.0, 64-byte aligned, shape tuple.
	b, _ := os.ReadFile(filepath.Join(dir, fileDynamic))
	hl := int(binary.LittleEndian.Uint16(b[8:10]))
	if string(b[:8]) != "\x93NUMPY\x01\x00" || (10+hl)%64 != 0 || !strings.Contains(string(b[10:10+hl]), "'shape': (30, 4, 9)") ||
		len(b) != 10+hl+30*4*9*4 {
		t.Errorf("bad npy header %q (file %d bytes)", b[:10+hl], len(b))
	}
}

func TestLoadRejectsBadFiles(t *testing.T) {
	ds := smallDataset(12, 3, 8)
	fresh := func(t *testing.T) string {
		dir := filepath.Join(t.TempDir(), "eq")
		if err := ds.Save(dir); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	cases := []struct {
		name     string
		mutate   func(dir string) error
		sentinel error
		file     string
	}{
		{"truncated dynamic", func(dir string) error {
			p := filepath.Join(dir, fileDynamic)
			b, _ := os.ReadFile(p)
			return os.WriteFile(p, b[:len(b)-3], 0o644)
		}, ErrMalformed, fileDynamic},
		{"NaN in dynamic", func(dir string) error {
			p := filepath.Join(dir, fileDynamic)
			b, _ := os.ReadFile(p)
			binary.LittleEndian.PutUint32(b[len(b)-4:], math.Float32bits(float32(math.NaN())))
			return os.WriteFile(p, b, 0o644)
		}, ErrNaN, fileDynamic},
		{"wrong shape", func(dir string) error {
			return writeNPY(filepath.Join(dir, fileTargets), "<f4", []int{12, 3, 9}, make([]float32, 12*3*9))
		}, ErrShape, fileTargets},
		{"not npy", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, fileLocations), []byte("hello"), 0o644)
		}, ErrMalformed, fileLocations},
		{"unknown meta key", func(dir string) error {
			p := filepath.Join(dir, fileMeta)
			b, _ := os.ReadFile(p)
			return os.WriteFile(p, []byte(strings.Replace(string(b), "{", `{"extra": 1,`, 1)), 0o644)
		}, ErrMalformed, fileMeta},
		{"huge T", func(dir string) error {
			p := filepath.Join(dir, fileMeta)
			b, _ := os.ReadFile(p)
			return os.WriteFile(p, []byte(strings.Replace(string(b), `"T": 12`, `"T": 999999999`, 1)), 0o644)
		}, ErrShape, fileMeta},
		{"unsorted locations", func(dir string) error {
			return writeNPY(filepath.Join(dir, fileLocations), "<i4", []int{3}, []int32{5, 2, 9})
		}, ErrShape, "eq"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := fresh(t)
			if err := c.mutate(dir); err != nil {
				t.Fatal(err)
			}
			_, err := Load(dir)
			var de *DataError
			if !errors.As(err, &de) || !errors.Is(err, c.sentinel) || !strings.Contains(de.File, c.file) {
				t.Errorf("err = %v, want *DataError on %s wrapping %v", err, c.file, c.sentinel)
			}
		})
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing dir: %v", err)
	}
	bad := smallDataset(5, 2, 1)
	bad.Dynamic = bad.Dynamic[:3]
	if err := bad.Save(filepath.Join(t.TempDir(), "x")); !errors.Is(err, ErrShape) {
		t.Errorf("Save of inconsistent dataset: %v", err)
	}
}
