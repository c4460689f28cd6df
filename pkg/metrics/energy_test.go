package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// fakeMeter returns fixed readings; fail makes its next reads fail.
type fakeMeter struct {
	rs   []EnergyReading
	fail bool
}

func (f *fakeMeter) read() ([]EnergyReading, error) {
	if f.fail {
		return f.rs, errors.New("energy: read failed: rapl:package-0: is a directory")
	}
	return f.rs, nil
}

func TestEnergyCollectorGolden(t *testing.T) {
	f := &fakeMeter{rs: []EnergyReading{{"nvml:0", 2500.5}, {"rapl:package-0", 1200}}}
	reg := prometheus.NewRegistry()
	must(t, reg.Register(NewEnergyCollector(2, f.read)))
	golden := filepath.Join("testdata", "energy_metrics.golden")
	if *update {
		b, err := Exposition(reg)
		must(t, err)
		must(t, os.WriteFile(golden, b, 0o644))
	}
	want, err := os.ReadFile(golden)
	must(t, err)
	if err := testutil.GatherAndCompare(reg, strings.NewReader(string(want))); err != nil {
		t.Fatal(err)
	}
	problems, err := testutil.GatherAndLint(reg)
	must(t, err)
	if len(problems) != 0 {
		t.Fatalf("promlint: %+v", problems)
	}
	// bad sources are skipped, not fatal to the exposition
	f.rs = append(f.rs, EnergyReading{"nvml:0", 1}, EnergyReading{"bad\xff", 3})
	if n := testutil.CollectAndCount(reg, "scibench_energy_joules_total"); n != 2 {
		t.Fatalf("%d energy series, want 2", n)
	}
	f.rs = f.rs[:2]
	// a failing meter keeps its totals and counts the failures; the
	// exposition (metrics.prom) is still written
	f.fail = true
	path := filepath.Join(t.TempDir(), "metrics.prom")
	must(t, WriteProm(path, reg))
	must(t, WriteProm(path, reg))
	b, err := os.ReadFile(path)
	must(t, err)
	for _, w := range []string{`scibench_energy_read_errors_total{rank="2"} 2`, `scibench_energy_joules_total{rank="2",source="nvml:0"} 2500.5`} {
		if !strings.Contains(string(b), w) {
			t.Fatalf("metrics.prom lacks %q:\n%s", w, b)
		}
	}
}

// TestEnergyServed: the worker's /metrics carries the energy counter next
// to the training metrics.
func TestEnergyServed(t *testing.T) {
	reg, _ := newWorker(t, 0)
	f := &fakeMeter{rs: []EnergyReading{{"rapl:package-0", 42}}}
	must(t, reg.Register(NewEnergyCollector(0, f.read)))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, reg) }()
	client := &http.Client{Timeout: 5 * time.Second}
	get := func() string {
		resp, err := client.Get("http://" + ln.Addr().String() + "/metrics")
		must(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		must(t, err)
		return string(body)
	}
	if body := get(); !strings.Contains(body, `scibench_energy_joules_total{rank="0",source="rapl:package-0"} 42`) ||
		!strings.Contains(body, `scibench_step_total{rank="0"} 5`) {
		t.Fatalf("body:\n%s", body)
	}
	f.rs[0].Joules = 50 // read at every scrape
	if body := get(); !strings.Contains(body, `source="rapl:package-0"} 50`) {
		t.Fatalf("second scrape:\n%s", body)
	}
	cancel()
	select {
	case err := <-done:
		must(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
}

func TestResultEnergyJSON(t *testing.T) {
	cases := []struct {
		name   string
		energy *EnergyResult
		epoch  *EpochEnergy
		want   map[string]any // result.json "energy"; nil: absent
	}{
		{"measured", &EnergyResult{Source: "nvml+rapl", Ranks: 2, Joules: 5000, TrainJoules: 4000, JoulesPerSample: 0.25},
			&EpochEnergy{Joules: 2000, JoulesPerSample: 0.25},
			map[string]any{"source": "nvml+rapl", "ranks": 2.0, "joules": 5000.0, "train_joules": 4000.0, "joules_per_sample": 0.25}},
		{"not available", &EnergyResult{Source: "not available: rank 0: rapl: no powercap", Joules: Num(math.NaN()),
			TrainJoules: Num(math.NaN()), JoulesPerSample: Num(math.NaN())}, nil,
			map[string]any{"source": "not available: rank 0: rapl: no powercap", "ranks": 0.0, "joules": nil, "train_joules": nil, "joules_per_sample": nil}},
		{"not asked for", nil, nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := sampleResult()
			res.Energy = tc.energy
			res.Epochs[0].Energy = tc.epoch
			path := filepath.Join(t.TempDir(), "result.json")
			must(t, res.WriteFile(path))
			data, err := os.ReadFile(path)
			must(t, err)
			var raw map[string]any
			must(t, json.Unmarshal(data, &raw))
			got, ok := raw["energy"]
			if tc.want == nil {
				if ok {
					t.Fatalf("energy present: %v", got)
				}
			} else {
				gm, _ := got.(map[string]any)
				if len(gm) != len(tc.want) {
					t.Fatalf("energy %v, want %v", got, tc.want)
				}
				for k, v := range tc.want {
					if gm[k] != v {
						t.Fatalf("energy[%s] = %v, want %v", k, gm[k], v)
					}
				}
			}
			ep := raw["epochs"].([]any)[0].(map[string]any)
			if _, ok := ep["energy"]; ok != (tc.epoch != nil) {
				t.Fatalf("epoch energy present %v, want %v", ok, tc.epoch != nil)
			}
			back, err := ReadResult(path)
			must(t, err)
			if tc.epoch != nil && *back.Epochs[0].Energy != *tc.epoch {
				t.Fatalf("epoch energy read back %+v", back.Epochs[0].Energy)
			}
			if tc.energy != nil && (back.Energy.Source != tc.energy.Source ||
				math.IsNaN(float64(back.Energy.Joules)) != math.IsNaN(float64(tc.energy.Joules))) {
				t.Fatalf("energy read back %+v", back.Energy)
			}
		})
	}
}
