package energy

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// zone is one directory of a fake powercap tree.
type zone struct {
	dir, name, energy, max string
}

// fakeSysfs writes zones under a new temporary root.
func fakeSysfs(t *testing.T, zones ...zone) string {
	t.Helper()
	root := t.TempDir()
	for _, z := range zones {
		d := filepath.Join(root, z.dir)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		for file, v := range map[string]string{"name": z.name, "energy_uj": z.energy, "max_energy_range_uj": z.max} {
			if v == "-" {
				continue
			}
			if err := os.WriteFile(filepath.Join(d, file), []byte(v+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return root
}

func setEnergy(t *testing.T, root, dir string, uj uint64) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(root, dir, "energy_uj"), fmt.Appendf(nil, "%d\n", uj), 0o644); err != nil {
		t.Fatal(err)
	}
}

// twoSockets is a server tree: two packages, core and DRAM subzones, a
// psys zone, the control-type directory and an MMIO duplicate.
func twoSockets(t *testing.T) string {
	return fakeSysfs(t,
		zone{"intel-rapl:0", "package-0", "1000000", "262143328850"},
		zone{"intel-rapl:0:0", "core", "500000", "262143328850"},
		zone{"intel-rapl:0:1", "dram", "200000", "65712999613"},
		zone{"intel-rapl:1", "package-1", "3000000", "262143328850"},
		zone{"intel-rapl:2", "psys", "9000000", "262143328850"},
		zone{"intel-rapl", "-", "-", "-"},
		zone{"intel-rapl-mmio:0", "package-0", "1", "262143328850"},
	)
}

func openRAPLOnly(t *testing.T, root string) *Meter {
	t.Helper()
	m, err := Open(context.Background(), Config{PowercapRoot: root, NoNVML: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

func TestRAPLZonesChosen(t *testing.T) {
	m := openRAPLOnly(t, twoSockets(t))
	want := []string{"rapl:package-0 (counter)", "rapl:dram (counter)", "rapl:package-1 (counter)"}
	if got := m.Sources(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("sources %v, want %v", got, want)
	}
	if m.Source() != "rapl" {
		t.Fatalf("source %q", m.Source())
	}
	rs, err := m.Read()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.Joules != 0 || r.Kind != Counter {
			t.Fatalf("fresh meter: %+v", r)
		}
	}
}

func TestRAPLCountsAndWraps(t *testing.T) {
	const max = 1_000_000 // 1 J range
	cases := []struct {
		name  string
		start uint64
		steps []uint64 // successive energy_uj values, one Read each
		want  []float64
	}{
		{"rising", 100, []uint64{600_100, 900_100}, []float64{0.6, 0.9}},
		{"wrap", 900_000, []uint64{100_000, 300_000}, []float64{0.2, 0.4}},
		{"wrap to zero", 999_000, []uint64{0}, []float64{0.001}},
		{"no change", 5, []uint64{5, 5}, []float64{0, 0}},
		{"two packages", 0, []uint64{250_000}, []float64{0.5}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			zones := []zone{{"intel-rapl:0", "package-0", fmt.Sprint(tc.start), fmt.Sprint(max)}}
			if tc.name == "two packages" {
				zones = append(zones, zone{"intel-rapl:1", "package-1", fmt.Sprint(tc.start), fmt.Sprint(max)})
			}
			root := fakeSysfs(t, zones...)
			m := openRAPLOnly(t, root)
			for i, v := range tc.steps {
				for _, z := range zones {
					setEnergy(t, root, z.dir, v)
				}
				j, err := m.Joules()
				if err != nil {
					t.Fatal(err)
				}
				if math.Abs(j-tc.want[i]) > 1e-9 {
					t.Fatalf("step %d: %v J, want %v", i, j, tc.want[i])
				}
			}
		})
	}
}

func TestCounterDelta(t *testing.T) {
	cases := []struct{ prev, cur, wrap, want uint64 }{
		{0, 10, 100, 10},
		{90, 10, 100, 20},
		{90, 90, 100, 0},
		{90, 10, 0, 0},    // no wrap value: a reset counts nothing
		{200, 10, 100, 0}, // prev beyond the range: nonsense, counts nothing
		{0, math.MaxUint64, 0, math.MaxUint64},
	}
	for _, c := range cases {
		if got := counterDelta(c.prev, c.cur, c.wrap); got != c.want {
			t.Errorf("counterDelta(%d, %d, %d) = %d, want %d", c.prev, c.cur, c.wrap, got, c.want)
		}
	}
}

func TestRAPLUnavailable(t *testing.T) {
	cases := []struct {
		name  string
		root  func(t *testing.T) string
		wants []string
	}{
		{"missing dir", func(t *testing.T) string { return filepath.Join(t.TempDir(), "powercap") }, []string{"powercap does not exist"}},
		{"no zones", func(t *testing.T) string {
			return fakeSysfs(t, zone{"intel-rapl:0", "psys", "1", "10"}, zone{"intel-rapl", "-", "-", "-"})
		}, []string{"has no intel-rapl package zones"}},
		{"unreadable energy", func(t *testing.T) string {
			root := fakeSysfs(t, zone{"intel-rapl:0", "package-0", "-", "10"})
			// a directory cannot be read as a file, even by root
			if err := os.Mkdir(filepath.Join(root, "intel-rapl:0", "energy_uj"), 0o755); err != nil {
				t.Fatal(err)
			}
			return root
		}, []string{"intel-rapl:0/energy_uj", "is a directory"}},
		{"garbage", func(t *testing.T) string {
			return fakeSysfs(t, zone{"intel-rapl:0", "package-0", "12a", "10"})
		}, []string{"intel-rapl:0/energy_uj: not a counter: \"12a\""}},
		{"no max range", func(t *testing.T) string {
			return fakeSysfs(t, zone{"intel-rapl:0", "package-0", "12", "-"})
		}, []string{"intel-rapl:0/max_energy_range_uj"}},
		{"zero max range", func(t *testing.T) string {
			return fakeSysfs(t, zone{"intel-rapl:0", "package-0", "12", "0"})
		}, []string{"max_energy_range_uj is 0"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := tc.root(t)
			_, err := Open(context.Background(), Config{PowercapRoot: root, NoNVML: true})
			if !errors.Is(err, ErrUnavailable) {
				t.Fatalf("got %v, want ErrUnavailable", err)
			}
			if !strings.HasPrefix(Reason(err), "not available: rapl: ") {
				t.Fatalf("reason %q", Reason(err))
			}
			for _, w := range tc.wants {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("%q lacks %q", err, w)
				}
			}
		})
	}
	t.Run("permission", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root reads files whatever their mode")
		}
		root := fakeSysfs(t, zone{"intel-rapl:0", "package-0", "5", "10"})
		if err := os.Chmod(filepath.Join(root, "intel-rapl:0", "energy_uj"), 0); err != nil {
			t.Fatal(err)
		}
		_, err := Open(context.Background(), Config{PowercapRoot: root, NoNVML: true})
		if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "root only") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("all disabled", func(t *testing.T) {
		_, err := Open(context.Background(), Config{NoNVML: true, NoRAPL: true})
		if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "disabled") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("bad config", func(t *testing.T) {
		if _, err := Open(context.Background(), Config{Period: -1}); err == nil || errors.Is(err, ErrUnavailable) {
			t.Fatalf("negative period: %v", err)
		}
		if _, err := Open(context.Background(), Config{GPUs: []int{-2}}); err == nil || !strings.Contains(err.Error(), "-2") {
			t.Fatalf("negative GPU: %v", err)
		}
		if _, err := Open(context.Background(), Config{GPUs: []int{1, 1}}); err == nil || !strings.Contains(err.Error(), "twice") {
			t.Fatalf("duplicate GPU: %v", err)
		}
	})
}

// TestRAPLReadFailsThenRecovers: a file that turns bad after Open is an
// error naming the source and file; the total resumes when it is fixed.
func TestRAPLReadFailsThenRecovers(t *testing.T) {
	root := fakeSysfs(t, zone{"intel-rapl:0", "package-0", "0", "1000000000"})
	m := openRAPLOnly(t, root)
	setEnergy(t, root, "intel-rapl:0", 2_000_000)
	if j, err := m.Joules(); err != nil || j != 2 {
		t.Fatalf("%v %v", j, err)
	}
	if err := os.WriteFile(filepath.Join(root, "intel-rapl:0", "energy_uj"), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := m.Joules()
	if !errors.Is(err, ErrRead) || !strings.Contains(err.Error(), "rapl:package-0") || !strings.Contains(err.Error(), "energy_uj") {
		t.Fatalf("got %v", err)
	}
	setEnergy(t, root, "intel-rapl:0", 5_000_000)
	if j, err := m.Joules(); err != nil || j != 5 {
		t.Fatalf("after recovery: %v %v", j, err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// TestOpenThisMachine: with the real paths Open either works or says why.
func TestOpenThisMachine(t *testing.T) {
	t.Setenv(NVMLLibEnv, "")
	m, err := Open(context.Background(), Config{})
	if err != nil {
		if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "nvml: ") || !strings.Contains(err.Error(), "rapl: ") {
			t.Fatalf("got %v", err)
		}
		t.Logf("as expected without GPU or RAPL: %v", err)
		return
	}
	defer m.Close()
	t.Logf("sources %v, skipped %v", m.Sources(), m.Skipped())
}
