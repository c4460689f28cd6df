package metrics

import (
	"context"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func newWorker(t *testing.T, rank int) (*prometheus.Registry, *WorkerMetrics) {
	t.Helper()
	reg := prometheus.NewRegistry()
	wm, err := NewWorkerMetrics(reg, rank)
	must(t, err)
	wm.SetEpoch(2)
	for i := range 5 {
		wm.Step(0.5-float64(i)*0.1, 1234.5, time.Unix(1_764_400_000, 250e6))
	}
	wm.AddAllReduce(1500*time.Millisecond, 64<<20)
	wm.AddAllReduce(500*time.Millisecond, 64<<20)
	wm.AddAllReduce(-time.Second, -5) // ignored
	wm.AddWait(250 * time.Millisecond)
	wm.AddWait(-time.Second) // ignored
	return reg, wm
}

func TestWorkerMetricsGolden(t *testing.T) {
	reg, _ := newWorker(t, 3)
	golden := filepath.Join("testdata", "worker_metrics.golden")
	got, err := Exposition(reg)
	must(t, err)
	if *update {
		must(t, os.WriteFile(golden, got, 0o644))
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(goldenText(t))); err != nil {
		t.Fatal(err)
	}
	problems, err := testutil.GatherAndLint(reg)
	must(t, err)
	if len(problems) != 0 {
		t.Fatalf("promlint: %+v", problems)
	}
	if n := testutil.CollectAndCount(reg); n != 8 {
		t.Fatalf("%d series", n)
	}
}

func TestWorkerMetricsNoAllocs(t *testing.T) {
	_, wm := newWorker(t, 0)
	now := time.Now()
	allocs := testing.AllocsPerRun(1000, func() {
		wm.Step(0.1, 100, now)
		wm.AddAllReduce(time.Millisecond, 4096)
		wm.AddWait(time.Microsecond)
		wm.SetEpoch(3)
	})
	if allocs != 0 {
		t.Fatalf("%v allocs per step", allocs)
	}
}

func TestWorkerMetricsErrors(t *testing.T) {
	reg := prometheus.NewRegistry()
	_, err := NewWorkerMetrics(reg, 0)
	must(t, err)
	if _, err := NewWorkerMetrics(reg, 0); !errors.Is(err, ErrPrometheus) || !strings.Contains(err.Error(), "rank 0") {
		t.Fatalf("duplicate: %v", err)
	}
	if _, err := NewWorkerMetrics(nil, 1); !errors.Is(err, ErrPrometheus) {
		t.Fatalf("nil: %v", err)
	}
	var nilWM *WorkerMetrics
	nilWM.Step(1, 1, time.Now())
	nilWM.SetEpoch(1)
	nilWM.AddAllReduce(1, 1)
	nilWM.AddWait(1)
}

func TestWriteProm(t *testing.T) {
	reg, _ := newWorker(t, 1)
	path := filepath.Join(t.TempDir(), "metrics.prom")
	must(t, WriteProm(path, reg))
	f, err := os.Open(path)
	must(t, err)
	defer f.Close()
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(f)
	must(t, err)
	if len(mfs) != 8 || mfs["scibench_step_total"].Metric[0].GetCounter().GetValue() != 5 {
		t.Fatalf("parsed %v", mfs)
	}
	bad := prometheus.GathererFunc(func() ([]*dtoMF, error) { return nil, errors.New("boom") })
	if err := WriteProm(path, bad); !errors.Is(err, ErrPrometheus) {
		t.Fatalf("gather error: %v", err)
	}
}

func TestServe(t *testing.T) {
	reg, _ := newWorker(t, 0)
	if err := Serve(context.Background(), "", reg); err != nil {
		t.Fatalf("disabled: %v", err)
	}
	if err := Serve(context.Background(), "256.0.0.1:0", reg); !errors.Is(err, ErrPrometheus) {
		t.Fatalf("bad addr: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, reg) }()
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + ln.Addr().String() + "/metrics")
	must(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	must(t, err)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `scibench_step_total{rank="0"} 5`) {
		t.Fatalf("status %d body:\n%s", resp.StatusCode, body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
}

func TestPush(t *testing.T) {
	reg, _ := newWorker(t, 3)
	type req struct {
		method, path string
		names        map[string]bool
		rankLabel    bool
	}
	reqs := make(chan req, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := req{method: r.Method, path: r.URL.Path, names: map[string]bool{}}
		dec := expfmt.NewDecoder(r.Body, expfmt.ResponseFormat(r.Header))
		for {
			var mf dtoMF
			if err := dec.Decode(&mf); err != nil {
				break
			}
			got.names[mf.GetName()] = true
			for _, m := range mf.Metric {
				for _, l := range m.Label {
					got.rankLabel = got.rankLabel || l.GetName() == "rank"
				}
			}
		}
		reqs <- got
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	must(t, Push(context.Background(), srv.URL, "scibench", map[string]string{"job_id": "42", "rank": "3"}, reg))
	got := <-reqs
	if got.method != http.MethodPut || (got.path != "/metrics/job/scibench/job_id/42/rank/3" && got.path != "/metrics/job/scibench/rank/3/job_id/42") ||
		len(got.names) != 8 || !got.names["scibench_allreduce_bytes_total"] || got.rankLabel {
		t.Fatalf("request %+v", got)
	}
	// Metrics keep their rank label when it is not a grouping label.
	must(t, Push(context.Background(), srv.URL, "scibench", map[string]string{"job_id": "42"}, reg))
	if got := <-reqs; !got.rankLabel {
		t.Fatal("rank label stripped without grouping")
	}
	// Pushing must not have modified the registry's metrics.
	if err := testutil.GatherAndCompare(reg, strings.NewReader(goldenText(t))); err != nil {
		t.Fatal(err)
	}
}

func TestPushErrors(t *testing.T) {
	reg, _ := newWorker(t, 0)
	fail := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "nope", http.StatusInternalServerError)
	}))
	defer fail.Close()
	if err := Push(context.Background(), fail.URL, "scibench", nil, reg); !errors.Is(err, ErrPrometheus) || !strings.Contains(err.Error(), fail.URL) {
		t.Fatalf("500: %v", err)
	}
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hang.Close()
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := Push(ctx, hang.URL, "scibench", nil, reg); !errors.Is(err, ErrPrometheus) {
		t.Fatalf("hang: %v", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("push ignored its deadline: %v", el)
	}
}

type dtoMF = dto.MetricFamily

func goldenText(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "worker_metrics.golden"))
	must(t, err)
	return string(b) // the metrics of newWorker(t, 3)
}

func BenchmarkWorkerMetricsStep(b *testing.B) {
	wm, err := NewWorkerMetrics(prometheus.NewRegistry(), 0)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		wm.Step(0.1, 100, now)
		wm.AddAllReduce(time.Millisecond, 4096)
		wm.AddWait(time.Microsecond)
	}
}
