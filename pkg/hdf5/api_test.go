package hdf5

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// The API surface both builds must provide; a method missing from either
// file.go/table.go or stub.go fails to compile here.
var (
	_ func(string) (*File, error)                                = Open
	_ func(string) (*File, error)                                = OpenRW
	_ func(string) (*File, error)                                = Create
	_ func(*File) error                                          = (*File).Close
	_ func(*File) string                                         = (*File).Name
	_ func(*File, string) ([]string, error)                      = (*File).List
	_ func(*File, string) (bool, error)                          = (*File).IsGroup
	_ func(*File, string) (bool, error)                          = (*File).Exists
	_ func(*File, string) error                                  = (*File).CreateGroup
	_ func(*File, string) (DatasetInfo, error)                   = (*File).Info
	_ func(*File, string, []float32) error                       = (*File).ReadFloat32
	_ func(*File, string, int, int, []float32) error             = (*File).ReadFloat32Rows
	_ func(*File, string, []int64) error                         = (*File).ReadInt64
	_ func(*File, string, int, int, []int64) error               = (*File).ReadInt64Rows
	_ func(*File, string, string, int, int, []float32) error     = (*File).ReadFieldFloat32Rows
	_ func(*File, string, string, []float32) error               = (*File).ReadFieldFloat32
	_ func(*File, string, string, int, int, []int64) error       = (*File).ReadFieldInt64Rows
	_ func(*File, string, string, []int64) error                 = (*File).ReadFieldInt64
	_ func(*File, string, string, int, int) ([]string, error)    = (*File).ReadFieldStringRows
	_ func(*File, string) ([]string, error)                      = (*File).ReadStrings
	_ func(*File, string, []int, []float32, WriteOptions) error  = (*File).WriteFloat32
	_ func(*File, string, []int, []int64, WriteOptions) error    = (*File).WriteInt64
	_ func(*File, string, []int, []string, WriteOptions) error   = (*File).WriteStrings
	_ func(*File, string, string) (string, error)                = (*File).Attr
	_ func(*File, string, string, string) error                  = (*File).SetAttr
	_ func(*File, string, []Field, TableOptions) (*Table, error) = (*File).CreateTable
	_ func(*Table, int, ...any) error                            = (*Table).Append
	_ func(*Table) error                                         = (*Table).Close
	_ func(*Table) int                                           = (*Table).Rows
	_ func(*Table) string                                        = (*Table).Path
)

func TestTypeString(t *testing.T) {
	for typ, want := range map[Type]string{Float32: "float32", Uint64: "uint64", String: "string", Compound: "compound", Type(99): "Type(99)"} {
		if got := typ.String(); got != want {
			t.Errorf("Type(%d).String() = %q, want %q", int(typ), got, want)
		}
	}
	if !Int8.IsInteger() || Float64.IsInteger() || !Float64.IsNumeric() || String.IsNumeric() {
		t.Error("IsInteger/IsNumeric wrong")
	}
}

func TestChunkFor(t *testing.T) {
	cases := []struct {
		opt   WriteOptions
		shape []int
		size  int
		want  []int
	}{
		{WriteOptions{}, []int{10, 10}, 4, nil},
		{WriteOptions{Gzip: 4}, []int{10, 10}, 4, []int{10, 10}},
		{WriteOptions{Gzip: 4}, []int{100000, 5270}, 4, []int{49, 5270}},
		{WriteOptions{Gzip: 1}, []int{1 << 20}, 4, []int{1 << 18}},
		{WriteOptions{Gzip: 1, Chunk: []int{3}}, []int{10}, 4, []int{3}},
	}
	for _, c := range cases {
		got := c.opt.chunkFor(c.shape, c.size)
		if len(got) != len(c.want) {
			t.Fatalf("chunkFor(%+v, %v) = %v, want %v", c.opt, c.shape, got, c.want)
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Fatalf("chunkFor(%+v, %v) = %v, want %v", c.opt, c.shape, got, c.want)
			}
		}
	}
	if err := (WriteOptions{Chunk: []int{0, 1}}).check("f", "d", []int{2, 2}); !errors.Is(err, ErrArg) {
		t.Errorf("chunk 0: err = %v, want ErrArg", err)
	}
	if err := (WriteOptions{Gzip: 10}).check("f", "d", []int{2}); !errors.Is(err, ErrArg) {
		t.Errorf("gzip 10: err = %v, want ErrArg", err)
	}
	if err := checkShape("f", "d", []int{2, 3}, 5); !errors.Is(err, ErrShape) || !strings.Contains(err.Error(), `"d"`) {
		t.Errorf("checkShape: err = %v, want ErrShape naming the dataset", err)
	}
}

// TestNoHDF5 checks the build without libhdf5 answers every call with
// ErrNoHDF5 and a message that says how to rebuild.
func TestNoHDF5(t *testing.T) {
	if Available() {
		t.Log("built with HDF5; the stub is covered by `go test ./pkg/hdf5/` without the tag")
		return
	}
	path := filepath.Join(t.TempDir(), "x.h5")
	for name, err := range map[string]error{
		"Open":   func() error { _, err := Open(path); return err }(),
		"OpenRW": func() error { _, err := OpenRW(path); return err }(),
		"Create": func() error { _, err := Create(path); return err }(),
		"Read":   (&File{}).ReadFloat32Rows("/x", 0, 1, nil),
		"Write":  (&File{}).WriteFloat32("/x", nil, nil, WriteOptions{}),
		"Attr":   func() error { _, err := (&File{}).Attr("/", "a"); return err }(),
		"Table":  func() error { _, err := (&File{}).CreateTable("/t", nil, TableOptions{}); return err }(),
	} {
		if !errors.Is(err, ErrNoHDF5) {
			t.Errorf("%s: err = %v, want ErrNoHDF5", name, err)
			continue
		}
		if !strings.Contains(err.Error(), "-tags hdf5") || !strings.Contains(err.Error(), "libhdf5-dev") {
			t.Errorf("%s: message %q does not say how to rebuild", name, err)
		}
	}
}
