package metrics

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/push"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// PushTimeout bounds Push when ctx has no earlier deadline.
const PushTimeout = 10 * time.Second

// shutdownTimeout bounds the graceful shutdown of Serve.
const shutdownTimeout = 5 * time.Second

// WorkerMetrics are one worker's training metrics, labelled with its rank.
// The collectors are created once and updated with atomic operations:
// updating them allocates nothing. All methods of a nil *WorkerMetrics do
// nothing.
type WorkerMetrics struct {
	epoch          prometheus.Gauge
	steps          prometheus.Counter
	samplesPerSec  prometheus.Gauge
	loss           prometheus.Gauge
	allreduceSec   prometheus.Counter
	allreduceBytes prometheus.Counter
	waitSec        prometheus.Counter
	lastStep       prometheus.Gauge
}

// NewWorkerMetrics creates the scibench_* metrics of rank and registers
// them with reg (a per-worker registry, never the global one).
func NewWorkerMetrics(reg prometheus.Registerer, rank int) (*WorkerMetrics, error) {
	if reg == nil {
		return nil, fmt.Errorf("%w: nil registerer (rank %d)", ErrPrometheus, rank)
	}
	labels := prometheus.Labels{"rank": strconv.Itoa(rank)}
	gauge := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: labels})
	}
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: labels})
	}
	m := &WorkerMetrics{
		epoch:          gauge("scibench_epoch", "Current training epoch (1-based)."),
		steps:          counter("scibench_step_total", "Training steps completed."),
		samplesPerSec:  gauge("scibench_samples_per_second", "Global training throughput of the last step, in samples per second."),
		loss:           gauge("scibench_loss", "Training loss of the last step."),
		allreduceSec:   counter("scibench_allreduce_seconds_total", "Time spent in gradient all-reduce."),
		allreduceBytes: counter("scibench_allreduce_bytes_total", "Bytes of gradients all-reduced."),
		waitSec:        counter("scibench_wait_seconds_total", "Time spent waiting for peers or data."),
		lastStep:       gauge("scibench_last_step_timestamp_seconds", "Unix time at which the last step completed."),
	}
	for _, c := range []prometheus.Collector{m.epoch, m.steps, m.samplesPerSec, m.loss, m.allreduceSec,
		m.allreduceBytes, m.waitSec, m.lastStep} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("%w: register rank %d metrics: %w", ErrPrometheus, rank, err)
		}
	}
	return m, nil
}

// SetEpoch sets the current epoch.
func (m *WorkerMetrics) SetEpoch(e int) {
	if m != nil {
		m.epoch.Set(float64(e))
	}
}

// Step records a completed step: its loss, the global samples/s and its
// completion time.
func (m *WorkerMetrics) Step(loss, samplesPerSec float64, now time.Time) {
	if m == nil {
		return
	}
	m.steps.Inc()
	m.loss.Set(loss)
	m.samplesPerSec.Set(samplesPerSec)
	m.lastStep.Set(float64(now.Unix()) + float64(now.Nanosecond())/1e9)
}

// AddAllReduce adds one all-reduce of n bytes that took d. Negative values
// are ignored.
func (m *WorkerMetrics) AddAllReduce(d time.Duration, n int64) {
	if m == nil {
		return
	}
	if d > 0 {
		m.allreduceSec.Add(d.Seconds())
	}
	if n > 0 {
		m.allreduceBytes.Add(float64(n))
	}
}

// AddWait adds time spent waiting. Negative values are ignored.
func (m *WorkerMetrics) AddWait(d time.Duration) {
	if m != nil && d > 0 {
		m.waitSec.Add(d.Seconds())
	}
}

// Serve serves g's metrics at http://addr/metrics until ctx is done, then
// shuts the server down and returns nil. An empty addr disables it: Serve
// returns nil at once. Bind addr to the job's interface (for example
// "10.0.0.5:9400"); ":9400" listens on all interfaces.
func Serve(ctx context.Context, addr string, g prometheus.Gatherer) error {
	if addr == "" {
		return nil
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("%w: listen %s: %w", ErrPrometheus, addr, err)
	}
	return serve(ctx, ln, g)
}

func serve(ctx context.Context, ln net.Listener, g prometheus.Gatherer) error {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("%w: serve %s: %w", ErrPrometheus, ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		return fmt.Errorf("%w: shutdown %s: %w", ErrPrometheus, ln.Addr(), err)
	}
	return nil
}

// Exposition returns g's metrics in the Prometheus text format.
func Exposition(g prometheus.Gatherer) ([]byte, error) {
	mfs, err := g.Gather()
	if err != nil {
		return nil, fmt.Errorf("%w: gather: %w", ErrPrometheus, err)
	}
	var b bytes.Buffer
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
			return nil, fmt.Errorf("%w: encode %s: %w", ErrPrometheus, mf.GetName(), err)
		}
	}
	return b.Bytes(), nil
}

// WriteProm writes g's text exposition to path (metrics.prom) atomically.
func WriteProm(path string, g prometheus.Gatherer) error {
	b, err := Exposition(g)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return WriteFileAtomic(path, b)
}

// Push sends g's metrics to the Pushgateway at url, replacing the group
// job/groupingLabels (PUT), e.g. grouping {"job_id": id, "rank": "3"} so
// ranks do not overwrite each other. Labels of the metrics that equal a
// grouping label (the "rank" const label) are left to the Pushgateway to
// add back. It gives up after PushTimeout unless ctx ends earlier.
func Push(ctx context.Context, url, job string, groupingLabels map[string]string, g prometheus.Gatherer) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, PushTimeout)
		defer cancel()
	}
	p := push.New(url, job).
		Gatherer(stripGrouping{g: g, labels: groupingLabels}).
		Client(&http.Client{Timeout: PushTimeout})
	keys := make([]string, 0, len(groupingLabels))
	for k := range groupingLabels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		p = p.Grouping(k, groupingLabels[k])
	}
	if err := p.PushContext(ctx); err != nil {
		return fmt.Errorf("%w: push job %q to %s: %w", ErrPrometheus, job, url, err)
	}
	return nil
}

// stripGrouping removes metric labels equal to a grouping label, which the
// Pushgateway rejects but adds back itself.
type stripGrouping struct {
	g      prometheus.Gatherer
	labels map[string]string
}

func (s stripGrouping) Gather() ([]*dto.MetricFamily, error) {
	mfs, err := s.g.Gather()
	for _, mf := range mfs {
		for _, m := range mf.Metric {
			// m.Label may be shared with the collector: build a new slice.
			kept := make([]*dto.LabelPair, 0, len(m.Label))
			for _, lp := range m.Label {
				if v, ok := s.labels[lp.GetName()]; !ok || v != lp.GetValue() {
					kept = append(kept, lp)
				}
			}
			m.Label = kept
		}
	}
	return mfs, err
}
