package stemdl

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Array is one NumPy array of a .npy file: little-endian float32 ("<f4")
// or int64 ("<i8"), C order. Exactly one of F32 and I64 is set.
type Array struct {
	Name  string // entry name without ".npy" (npz) or the file name
	Descr string // "<f4" or "<i8"
	Shape []int
	F32   []float32
	I64   []int64
}

// Len is the number of elements (the product of Shape; 1 for a scalar).
func (a *Array) Len() int {
	n := 1
	for _, d := range a.Shape {
		n *= d
	}
	return n
}

const npyMagic = "\x93NUMPY"

// maxNPYHeader bounds the header length we accept (NumPy writes < 1 KiB).
const maxNPYHeader = 1 << 16

// ReadNPY parses one .npy stream. name is used in errors; limit bounds the
// data size in bytes (0: 1 GiB), checked before anything is allocated.
// Versions 1.0, 2.0 and 3.0 are accepted; descr must be '<f4' or '<i8'
// ('|' or '=' byte orders are taken as little-endian only for 1-byte
// types, so they are refused here) and fortran_order False.
func ReadNPY(r io.Reader, name string, limit int64) (*Array, error) {
	if limit <= 0 {
		limit = 1 << 30
	}
	var pre [10]byte
	if _, err := io.ReadFull(r, pre[:8]); err != nil {
		return nil, dataErr(name, "", ErrFormat, "npy preamble: %v", err)
	}
	if string(pre[:6]) != npyMagic {
		return nil, dataErr(name, "", ErrFormat, "not a .npy file (magic %q)", pre[:6])
	}
	major := pre[6]
	var hlen int
	switch major {
	case 1:
		if _, err := io.ReadFull(r, pre[8:10]); err != nil {
			return nil, dataErr(name, "", ErrFormat, "npy header length: %v", err)
		}
		hlen = int(binary.LittleEndian.Uint16(pre[8:10]))
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, dataErr(name, "", ErrFormat, "npy header length: %v", err)
		}
		n := binary.LittleEndian.Uint32(b[:])
		if n > maxNPYHeader {
			return nil, dataErr(name, "", ErrFormat, "npy header of %d bytes", n)
		}
		hlen = int(n)
	default:
		return nil, dataErr(name, "", ErrFormat, "npy version %d.%d not supported (want 1, 2 or 3)", major, pre[7])
	}
	hdr := make([]byte, hlen)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, dataErr(name, "", ErrFormat, "npy header: %v", err)
	}
	a, err := parseNPYHeader(string(hdr))
	if err != nil {
		return nil, dataErr(name, "", ErrFormat, "npy header %q: %v", strings.TrimSpace(string(hdr)), err)
	}
	a.Name = name
	n := a.Len()
	size := int64(4)
	if a.Descr == "<i8" {
		size = 8
	}
	if int64(n)*size > limit {
		return nil, dataErr(name, "", ErrFormat, "array %v of %d elements exceeds the %d-byte limit", a.Shape, n, limit)
	}
	switch a.Descr {
	case "<f4":
		buf := make([]byte, 4*n)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, dataErr(name, "", ErrFormat, "truncated data: want %d float32: %v", n, err)
		}
		a.F32 = make([]float32, n)
		for i := range a.F32 {
			a.F32[i] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:]))
		}
	case "<i8":
		buf := make([]byte, 8*n)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, dataErr(name, "", ErrFormat, "truncated data: want %d int64: %v", n, err)
		}
		a.I64 = make([]int64, n)
		for i := range a.I64 {
			a.I64[i] = int64(binary.LittleEndian.Uint64(buf[8*i:]))
		}
	}
	return a, nil
}

// parseNPYHeader parses the Python dict literal of a .npy header:
// {'descr': '<f4', 'fortran_order': False, 'shape': (3, 128, 128), }.
func parseNPYHeader(h string) (*Array, error) {
	s := strings.TrimSpace(h)
	if !strings.HasPrefix(s, "{") || !strings.HasSuffix(s, "}") {
		return nil, errors.New("not a dict")
	}
	s = s[1 : len(s)-1]
	a := &Array{}
	seen := map[string]bool{}
	for {
		s = strings.TrimLeft(s, " ,")
		if s == "" {
			break
		}
		key, rest, err := pyString(s)
		if err != nil {
			return nil, fmt.Errorf("key: %w", err)
		}
		rest = strings.TrimLeft(rest, " ")
		if !strings.HasPrefix(rest, ":") {
			return nil, fmt.Errorf("no ':' after %q", key)
		}
		rest = strings.TrimLeft(rest[1:], " ")
		if seen[key] {
			return nil, fmt.Errorf("duplicate key %q", key)
		}
		seen[key] = true
		switch key {
		case "descr":
			v, r2, err := pyString(rest)
			if err != nil {
				return nil, fmt.Errorf("descr: %w", err)
			}
			if v != "<f4" && v != "<i8" {
				return nil, fmt.Errorf("dtype %q not supported (want '<f4' or '<i8')", v)
			}
			a.Descr, rest = v, r2
		case "fortran_order":
			switch {
			case strings.HasPrefix(rest, "False"):
				rest = rest[5:]
			case strings.HasPrefix(rest, "True"):
				return nil, errors.New("fortran_order True not supported")
			default:
				return nil, errors.New("fortran_order is not a bool")
			}
		case "shape":
			if !strings.HasPrefix(rest, "(") {
				return nil, errors.New("shape is not a tuple")
			}
			end := strings.IndexByte(rest, ')')
			if end < 0 {
				return nil, errors.New("unterminated shape")
			}
			a.Shape = []int{}
			total := int64(1)
			for _, f := range strings.Split(rest[1:end], ",") {
				f = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(f), "L"))
				if f == "" {
					continue
				}
				d, err := strconv.Atoi(f)
				if err != nil || d < 0 {
					return nil, fmt.Errorf("bad dimension %q", f)
				}
				total *= int64(d)
				if total > 1<<40 {
					return nil, errors.New("shape too large")
				}
				a.Shape = append(a.Shape, d)
			}
			rest = rest[end+1:]
		default:
			return nil, fmt.Errorf("unknown key %q", key)
		}
		s = rest
	}
	if !seen["descr"] || !seen["fortran_order"] || !seen["shape"] {
		return nil, errors.New("descr, fortran_order and shape are required")
	}
	return a, nil
}

// pyString reads a quoted Python string literal (no escapes) from s.
func pyString(s string) (val, rest string, err error) {
	if s == "" || (s[0] != '\'' && s[0] != '"') {
		return "", "", errors.New("expected a quoted string")
	}
	end := strings.IndexByte(s[1:], s[0])
	if end < 0 {
		return "", "", errors.New("unterminated string")
	}
	return s[1 : 1+end], s[2+end:], nil
}

// ReadNPZ reads every array of a .npz archive (np.savez or
// np.savez_compressed). Entry names lose their ".npy" suffix. Errors are
// *DataError naming path and entry.
func ReadNPZ(path string) (map[string]*Array, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, dataErr(path, "", ErrMissing, "%v", err)
		}
		return nil, dataErr(path, "", ErrFormat, "not a valid npz (zip) archive: %v", err)
	}
	defer zr.Close()
	out := make(map[string]*Array, len(zr.File))
	for _, f := range zr.File {
		name := strings.TrimSuffix(f.Name, ".npy")
		if f.UncompressedSize64 > 1<<31 {
			return nil, dataErr(path, f.Name, ErrFormat, "entry of %d bytes is too large", f.UncompressedSize64)
		}
		rc, err := f.Open()
		if err != nil {
			return nil, dataErr(path, f.Name, ErrFormat, "%v", err)
		}
		a, err := ReadNPY(rc, f.Name, int64(f.UncompressedSize64))
		if err == nil {
			// a decompressor only verifies the CRC at EOF
			_, err = io.Copy(io.Discard, rc)
			if err != nil {
				err = dataErr(f.Name, "", ErrFormat, "%v", err)
			}
		}
		rc.Close()
		if err != nil {
			var de *DataError
			if errors.As(err, &de) {
				de.File, de.Item = path, f.Name
			}
			return nil, err
		}
		a.Name = name
		out[name] = a
	}
	return out, nil
}

// ReadSample reads a stemdl sample file (sample-<n>.npz: data (C,H,W)
// float32, label (1,) int64) and checks the data shape against want
// (channels, height, width) and the label against [1, classes). NaN or
// infinite pixels are refused.
func ReadSample(path string, want [3]int, classes int) (data []float32, label int, err error) {
	arrs, err := ReadNPZ(path)
	if err != nil {
		return nil, 0, err
	}
	d, ok := arrs["data"]
	if !ok {
		return nil, 0, dataErr(path, "data.npy", ErrMissing, "no data array (entries: %s)", entryNames(arrs))
	}
	l, ok := arrs["label"]
	if !ok {
		return nil, 0, dataErr(path, "label.npy", ErrMissing, "no label array (entries: %s)", entryNames(arrs))
	}
	if d.F32 == nil || len(d.Shape) != 3 || d.Shape[0] != want[0] || d.Shape[1] != want[1] || d.Shape[2] != want[2] {
		return nil, 0, dataErr(path, "data.npy", ErrShape, "%s %v, want <f4 %v", d.Descr, d.Shape, want)
	}
	if l.I64 == nil || l.Len() != 1 || len(l.Shape) > 1 {
		return nil, 0, dataErr(path, "label.npy", ErrShape, "%s %v, want <i8 [1]", l.Descr, l.Shape)
	}
	lab := l.I64[0]
	if lab < 1 || lab >= int64(classes) {
		return nil, 0, dataErr(path, "label.npy", ErrLabel, "label %d outside 1..%d", lab, classes-1)
	}
	for i, v := range d.F32 {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, 0, dataErr(path, "data.npy", ErrFormat, "non-finite value %v at element %d", v, i)
		}
	}
	return d.F32, int(lab), nil
}

func entryNames(m map[string]*Array) string {
	var s []string
	for k := range m {
		s = append(s, k)
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// EncodeNPY returns the .npy (version 1.0) encoding of a: the header
// padded with spaces so that the data starts at a multiple of 64 bytes, as
// NumPy writes it.
func EncodeNPY(a *Array) ([]byte, error) {
	if (a.F32 == nil) == (a.I64 == nil) {
		return nil, fmt.Errorf("%w: array %q: exactly one of F32 and I64 must be set", ErrConfig, a.Name)
	}
	n := a.Len()
	descr := "<f4"
	if a.I64 != nil {
		descr = "<i8"
		if len(a.I64) != n {
			return nil, fmt.Errorf("%w: array %q: %d values for shape %v", ErrShape, a.Name, len(a.I64), a.Shape)
		}
	} else if len(a.F32) != n {
		return nil, fmt.Errorf("%w: array %q: %d values for shape %v", ErrShape, a.Name, len(a.F32), a.Shape)
	}
	var sh strings.Builder
	sh.WriteByte('(')
	for i, d := range a.Shape {
		if i > 0 {
			sh.WriteString(", ")
		}
		sh.WriteString(strconv.Itoa(d))
	}
	if len(a.Shape) == 1 {
		sh.WriteByte(',')
	}
	sh.WriteByte(')')
	h := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, sh.String())
	total := 10 + len(h) + 1
	pad := (64 - total%64) % 64
	h += strings.Repeat(" ", pad) + "\n"
	var b bytes.Buffer
	b.Grow(10 + len(h) + 8*n)
	b.WriteString(npyMagic)
	b.Write([]byte{1, 0})
	var l [2]byte
	binary.LittleEndian.PutUint16(l[:], uint16(len(h)))
	b.Write(l[:])
	b.WriteString(h)
	var w [8]byte
	for _, v := range a.F32 {
		binary.LittleEndian.PutUint32(w[:4], math.Float32bits(v))
		b.Write(w[:4])
	}
	for _, v := range a.I64 {
		binary.LittleEndian.PutUint64(w[:], uint64(v))
		b.Write(w[:])
	}
	return b.Bytes(), nil
}

// WriteNPZ writes arrays as an .npz archive (entries <Name>.npy, stored
// uncompressed like np.savez, or deflated like np.savez_compressed). The
// file is written to a temporary sibling and renamed into place.
func WriteNPZ(path string, arrays []*Array, compress bool) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".npz-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	zw := zip.NewWriter(tmp)
	method := zip.Store
	if compress {
		method = zip.Deflate
	}
	for _, a := range arrays {
		p, err := EncodeNPY(a)
		if err != nil {
			tmp.Close()
			return err
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: a.Name + ".npy", Method: method})
		if err != nil {
			tmp.Close()
			return err
		}
		if _, err := w.Write(p); err != nil {
			tmp.Close()
			return err
		}
	}
	if err := zw.Close(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// WriteSample writes one sample file in the benchmark's format: data
// (C,H,W) float32 and label (1,) int64, uncompressed.
func WriteSample(path string, data []float32, shape [3]int, label int) error {
	return WriteNPZ(path, []*Array{
		{Name: "data", Shape: shape[:], F32: data},
		{Name: "label", Shape: []int{1}, I64: []int64{int64(label)}},
	}, false)
}
