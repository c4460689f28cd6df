//go:build linux && (amd64 || arm64)

package energy

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ebitengine/purego"
)

// fakeNVML controls testdata/fakenvml.c.
type fakeNVML struct {
	lib   string
	set   func(i int32, mj uint64, mw uint32)
	fail  func(call string, rc int32)
	inits func() int32
}

// buildNVML compiles the fake NVML with cc into a fresh library.
func buildNVML(t *testing.T, defs ...string) *fakeNVML {
	t.Helper()
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler (cc) to build the fake NVML")
	}
	lib := filepath.Join(t.TempDir(), "libfakenvml.so")
	args := append([]string{"-shared", "-fPIC", "-O1", "-o", lib, "testdata/fakenvml.c"}, defs...)
	if b, err := exec.Command(cc, args...).CombinedOutput(); err != nil {
		t.Fatalf("cc %v: %v\n%s", args, err, b)
	}
	h, err := purego.Dlopen(lib, purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeNVML{lib: lib}
	purego.RegisterLibFunc(&f.set, h, "fake_nvml_set")
	purego.RegisterLibFunc(&f.fail, h, "fake_nvml_fail")
	purego.RegisterLibFunc(&f.inits, h, "fake_nvml_inits")
	return f
}

func noRAPL(t *testing.T) string { return filepath.Join(t.TempDir(), "no-powercap") }

func TestNVMLEnergyCounters(t *testing.T) {
	f := buildNVML(t)
	f.set(0, 1_000_000, 0)
	f.set(1, 5_000_000, 0)
	m, err := Open(context.Background(), Config{NVMLLibrary: f.lib, PowercapRoot: noRAPL(t)})
	if err != nil {
		t.Fatal(err)
	}
	if m.Source() != "nvml" || strings.Join(m.Sources(), ",") != "nvml:0 (counter),nvml:1 (counter)" {
		t.Fatalf("%q %v", m.Source(), m.Sources())
	}
	if len(m.Skipped()) != 1 || !strings.HasPrefix(m.Skipped()[0], "rapl: ") {
		t.Fatalf("skipped %v", m.Skipped())
	}
	f.set(0, 3_500_000, 0) // +2500 J
	f.set(1, 6_000_250, 0) // +1000.25 J
	rs, err := m.Read()
	if err != nil {
		t.Fatal(err)
	}
	if rs[0].Joules != 2500 || math.Abs(rs[1].Joules-1000.25) > 1e-9 || rs[0].Source != "nvml:0" {
		t.Fatalf("%+v", rs)
	}
	f.fail("nvmlDeviceGetTotalEnergyConsumption", 15)
	_, err = m.Read()
	if !errors.Is(err, ErrRead) || !strings.Contains(err.Error(), "nvml:0: GPU 0: nvmlDeviceGetTotalEnergyConsumption: NVML_ERROR_GPU_IS_LOST (15)") {
		t.Fatalf("lost GPU: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if n := f.inits(); n != 0 {
		t.Fatalf("NVML left initialised %d times", n)
	}
}

// TestNVMLPowerIntegrated: without energy counters the meter integrates
// power over (fake) time: constant power P for t seconds is P·t joules.
func TestNVMLPowerIntegrated(t *testing.T) {
	f := buildNVML(t, "-DNO_ENERGY")
	f.set(0, 0, 250_000) // 250 W
	f.set(1, 0, 100_000)
	synctest.Test(t, func(t *testing.T) {
		m, err := Open(t.Context(), Config{NVMLLibrary: f.lib, NoRAPL: true, Period: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		if strings.Join(m.Sources(), ",") != "nvml:0 (power),nvml:1 (power)" {
			t.Fatalf("%v", m.Sources())
		}
		time.Sleep(10500 * time.Millisecond)
		synctest.Wait()
		rs, err := m.Read()
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(rs[0].Joules-2625) > 1e-6 || math.Abs(rs[1].Joules-1050) > 1e-6 {
			t.Fatalf("after 10.5 s: %+v", rs)
		}
		f.set(0, 0, 50_000) // 50 W from now on
		time.Sleep(10 * time.Second)
		synctest.Wait()
		// the 0.5 s to the next tick is a trapezoid from 250 to 50 W
		want := 2625 + 0.5*(250+50)/2 + 9.5*50
		if j, err := m.Read(); err != nil || math.Abs(j[0].Joules-want) > 1e-6 {
			t.Fatalf("after the change: %+v %v, want %v", j, err, want)
		}
	})
}

func TestNVMLSampleFailureLoggedOnce(t *testing.T) {
	f := buildNVML(t, "-DNO_ENERGY")
	f.set(0, 0, 1000)
	synctest.Test(t, func(t *testing.T) {
		var logs bytes.Buffer
		m, err := Open(t.Context(), Config{NVMLLibrary: f.lib, NoRAPL: true, GPUs: []int{0},
			Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		f.fail("nvmlDeviceGetPowerUsage", 999)
		time.Sleep(5500 * time.Millisecond)
		synctest.Wait()
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(logs.String(), "energy sample failed"); n != 1 || !strings.Contains(logs.String(), "NVML_ERROR_UNKNOWN") {
			t.Fatalf("%d warnings: %s", n, logs.String())
		}
	})
}

func TestNVMLUnavailable(t *testing.T) {
	cases := []struct {
		name  string
		defs  []string
		cfg   func(f *fakeNVML) Config
		wants []string
	}{
		{"driver not loaded", []string{"-DINIT_RC=9"}, nil, []string{"nvmlInit_v2: NVML_ERROR_DRIVER_NOT_LOADED (9)"}},
		{"no GPUs", []string{"-DNDEV=0"}, nil, []string{"0 GPUs"}},
		{"GPU out of range", nil, func(f *fakeNVML) Config { return Config{NVMLLibrary: f.lib, GPUs: []int{0, 2}} },
			[]string{"GPU 2 requested, NVML sees 2"}},
		{"no counter and no power", []string{"-DNO_ENERGY"}, func(f *fakeNVML) Config {
			f.fail("nvmlDeviceGetPowerUsage", 3)
			return Config{NVMLLibrary: f.lib}
		}, []string{"GPU 0 has no energy counter and no power reading", "NVML_ERROR_NOT_SUPPORTED"}},
		{"missing library", nil, func(f *fakeNVML) Config { return Config{NVMLLibrary: f.lib + ".missing"} },
			[]string{".missing cannot be loaded"}},
		{"not NVML", nil, func(f *fakeNVML) Config { return Config{NVMLLibrary: "libm.so.6"} },
			[]string{"libm.so.6: symbol nvmlInit_v2"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := buildNVML(t, tc.defs...)
			cfg := Config{NVMLLibrary: f.lib}
			if tc.cfg != nil {
				cfg = tc.cfg(f)
			}
			cfg.PowercapRoot = noRAPL(t)
			_, err := Open(context.Background(), cfg)
			if !errors.Is(err, ErrUnavailable) {
				t.Fatalf("got %v", err)
			}
			for _, w := range append(tc.wants, "nvml: ", "; rapl: ") {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("%q lacks %q", err, w)
				}
			}
			if n := f.inits(); n != 0 {
				t.Fatalf("NVML left initialised %d times", n)
			}
		})
	}
}

func TestNVMLAndRAPLTogether(t *testing.T) {
	f := buildNVML(t)
	root := fakeSysfs(t, zone{"intel-rapl:0", "package-0", "0", "1000000000"})
	t.Setenv(NVMLLibEnv, f.lib)
	m, err := Open(context.Background(), Config{PowercapRoot: root, GPUs: []int{1}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.Source() != "nvml+rapl" || len(m.Sources()) != 2 || len(m.Skipped()) != 0 {
		t.Fatalf("%q %v %v", m.Source(), m.Sources(), m.Skipped())
	}
	f.set(1, 7000, 0)
	setEnergy(t, root, "intel-rapl:0", 3_000_000)
	if j, err := m.Joules(); err != nil || math.Abs(j-10) > 1e-9 {
		t.Fatalf("%v %v", j, err)
	}
}
