package earthquake

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// On-disk layout written by Save (one directory, NumPy .npy v1.0 files,
// little-endian, C order):
//
//	meta.json       Meta (span, D, S, F, T, Nloc, counts, catalog sha256, stats, names)
//	dynamic.npy     <f4 [T, Nloc, 9]
//	targets.npy     <f4 [T, Nloc, 10]
//	encodings.npy   <f4 [T, 14]   (column 0 stored as 0; LinearSpace = loc/Nloc)
//	locations.npy   <i4 [Nloc]    iloc = x + 60y, ascending
//	norm_min.npy    <f8 [18]
//	norm_max.npy    <f8 [18]
const (
	fileMeta      = "meta.json"
	fileDynamic   = "dynamic.npy"
	fileTargets   = "targets.npy"
	fileEncodings = "encodings.npy"
	fileLocations = "locations.npy"
	fileNormMin   = "norm_min.npy"
	fileNormMax   = "norm_max.npy"
)

// Save writes the dataset to dir atomically: everything goes to a temporary
// sibling directory that is renamed over dir at the end (a previous dir is
// replaced only after the new one is complete).
func (ds *Dataset) Save(dir string) (err error) {
	if err := ds.check(dir); err != nil {
		return err
	}
	dir = filepath.Clean(dir)
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("earthquake: save %s: %w", dir, err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return fmt.Errorf("earthquake: save %s: %w", dir, err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("earthquake: save %s: %w", dir, err)
	}
	m := ds.Meta
	t, n := m.T, m.Nloc
	locs := make([]int32, len(ds.Locations))
	copy(locs, ds.Locations)
	writes := []struct {
		name  string
		descr string
		shape []int
		data  any
	}{
		{fileDynamic, "<f4", []int{t, n, NumDynamic}, ds.Dynamic},
		{fileTargets, "<f4", []int{t, n, NumTargets}, ds.Targets},
		{fileEncodings, "<f4", []int{t, NumEncodings}, ds.Encodings},
		{fileLocations, "<i4", []int{n}, locs},
		{fileNormMin, "<f8", []int{NumProps}, ds.NormMin[:]},
		{fileNormMax, "<f8", []int{NumProps}, ds.NormMax[:]},
	}
	for _, w := range writes {
		if err := writeNPY(filepath.Join(tmp, w.name), w.descr, w.shape, w.data); err != nil {
			return fmt.Errorf("earthquake: save %s: %w", dir, err)
		}
	}
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("earthquake: save %s: %w", dir, err)
	}
	if err := writeFileSync(filepath.Join(tmp, fileMeta), append(mb, '\n')); err != nil {
		return fmt.Errorf("earthquake: save %s: %w", dir, err)
	}
	old := ""
	if _, statErr := os.Stat(dir); statErr == nil {
		old = tmp + ".old"
		if err := os.Rename(dir, old); err != nil {
			return fmt.Errorf("earthquake: save %s: %w", dir, err)
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		if old != "" {
			_ = os.Rename(old, dir)
		}
		return fmt.Errorf("earthquake: save %s: %w", dir, err)
	}
	if old != "" {
		_ = os.RemoveAll(old)
	}
	return nil
}

// check verifies that the tensor lengths match Meta.
func (ds *Dataset) check(where string) error {
	m := ds.Meta
	bad := func(what string, got, want int) error {
		return &DataError{File: where, Msg: fmt.Sprintf("%s has %d values, want %d", what, got, want), Err: ErrShape}
	}
	switch {
	case m.T <= 0 || m.Nloc <= 0:
		return &DataError{File: where, Msg: fmt.Sprintf("T=%d Nloc=%d must be positive", m.T, m.Nloc), Err: ErrShape}
	case len(ds.Locations) != m.Nloc:
		return bad("locations", len(ds.Locations), m.Nloc)
	case len(ds.Dynamic) != m.T*m.Nloc*NumDynamic:
		return bad("dynamic", len(ds.Dynamic), m.T*m.Nloc*NumDynamic)
	case len(ds.Targets) != m.T*m.Nloc*NumTargets:
		return bad("targets", len(ds.Targets), m.T*m.Nloc*NumTargets)
	case len(ds.Encodings) != m.T*NumEncodings:
		return bad("encodings", len(ds.Encodings), m.T*NumEncodings)
	}
	for i, p := range ds.Locations {
		if p < 0 || p >= NPix || (i > 0 && p <= ds.Locations[i-1]) {
			return &DataError{File: where, Msg: fmt.Sprintf("location %d: iloc %d out of range or not ascending", i, p), Err: ErrShape}
		}
	}
	return nil
}

func writeFileSync(name string, b []byte) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func npyHeader(descr string, shape []int) []byte {
	dims := make([]string, len(shape))
	for i, s := range shape {
		dims[i] = strconv.Itoa(s)
	}
	tuple := strings.Join(dims, ", ")
	if len(shape) == 1 {
		tuple += ","
	}
	h := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, tuple)
	total := 10 + len(h) + 1
	pad := (64 - total%64) % 64
	h += strings.Repeat(" ", pad) + "\n"
	out := append([]byte("\x93NUMPY\x01\x00"), 0, 0)
	binary.LittleEndian.PutUint16(out[8:], uint16(len(h)))
	return append(out, h...)
}

func writeNPY(name, descr string, shape []int, data any) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if _, err := w.Write(npyHeader(descr, shape)); err != nil {
		f.Close()
		return err
	}
	if err := binary.Write(w, binary.LittleEndian, data); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// readNPY reads a .npy file whose dtype and shape must equal descr and shape
// into dst (a slice of matching element type and length).
func readNPY(name, descr string, shape []int, dst any) error {
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("earthquake: load: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	var pre [10]byte
	if _, err := io.ReadFull(br, pre[:]); err != nil || string(pre[:6]) != "\x93NUMPY" || pre[6] != 1 {
		return &DataError{File: name, Msg: "not a NumPy v1 .npy file", Err: ErrMalformed}
	}
	hl := int(binary.LittleEndian.Uint16(pre[8:]))
	hdr := make([]byte, hl)
	if _, err := io.ReadFull(br, hdr); err != nil {
		return &DataError{File: name, Msg: "truncated .npy header", Err: ErrMalformed}
	}
	want := npyHeader(descr, shape)[10:]
	if !bytes.Equal(bytes.TrimSpace(hdr), bytes.TrimSpace(want)) {
		return &DataError{File: name, Msg: fmt.Sprintf("header %q, want dtype %s shape %v", bytes.TrimSpace(hdr), descr, shape), Err: ErrShape}
	}
	if err := binary.Read(br, binary.LittleEndian, dst); err != nil {
		return &DataError{File: name, Msg: "truncated data: " + err.Error(), Err: ErrMalformed}
	}
	if _, err := br.ReadByte(); err != io.EOF {
		return &DataError{File: name, Msg: "trailing bytes after data", Err: ErrMalformed}
	}
	return nil
}

// maxLoadValues bounds T·Nloc so a corrupt meta.json cannot trigger a huge allocation.
const maxLoadValues = 1 << 28

// Load reads a dataset written by Save. Inputs are checked: shapes against
// meta.json, NaN only where a forward window is incomplete.
func Load(dir string) (*Dataset, error) {
	mp := filepath.Join(dir, fileMeta)
	mb, err := os.ReadFile(mp)
	if err != nil {
		return nil, fmt.Errorf("earthquake: load: %w", err)
	}
	var m Meta
	dec := json.NewDecoder(bytes.NewReader(mb))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, &DataError{File: mp, Msg: err.Error(), Err: ErrMalformed}
	}
	if m.Format != FormatVersion {
		return nil, &DataError{File: mp, Msg: fmt.Sprintf("format %q, want %q", m.Format, FormatVersion), Err: ErrMalformed}
	}
	if m.T <= 0 || m.Nloc <= 0 || m.Nloc > NPix || m.T > maxLoadValues/NPix {
		return nil, &DataError{File: mp, Msg: fmt.Sprintf("T=%d Nloc=%d out of range", m.T, m.Nloc), Err: ErrShape}
	}
	ds := &Dataset{
		Meta:      m,
		Locations: make([]int32, m.Nloc),
		Dynamic:   make([]float32, m.T*m.Nloc*NumDynamic),
		Targets:   make([]float32, m.T*m.Nloc*NumTargets),
		Encodings: make([]float32, m.T*NumEncodings),
	}
	reads := []struct {
		name  string
		descr string
		shape []int
		data  any
	}{
		{fileDynamic, "<f4", []int{m.T, m.Nloc, NumDynamic}, ds.Dynamic},
		{fileTargets, "<f4", []int{m.T, m.Nloc, NumTargets}, ds.Targets},
		{fileEncodings, "<f4", []int{m.T, NumEncodings}, ds.Encodings},
		{fileLocations, "<i4", []int{m.Nloc}, ds.Locations},
		{fileNormMin, "<f8", []int{NumProps}, ds.NormMin[:]},
		{fileNormMax, "<f8", []int{NumProps}, ds.NormMax[:]},
	}
	for _, r := range reads {
		if err := readNPY(filepath.Join(dir, r.name), r.descr, r.shape, r.data); err != nil {
			return nil, err
		}
	}
	if err := ds.check(dir); err != nil {
		return nil, err
	}
	for i, v := range ds.Dynamic {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t, rest := i/(m.Nloc*NumDynamic), i%(m.Nloc*NumDynamic)
			return nil, &DataError{File: filepath.Join(dir, fileDynamic), Msg: fmt.Sprintf("NaN/Inf at step %d location %d column %d", t, rest/NumDynamic, rest%NumDynamic), Err: ErrNaN}
		}
	}
	for i, v := range ds.Encodings {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, &DataError{File: filepath.Join(dir, fileEncodings), Msg: fmt.Sprintf("NaN/Inf at step %d column %d", i/NumEncodings, i%NumEncodings), Err: ErrNaN}
		}
	}
	return ds, nil
}
