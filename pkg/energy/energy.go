package energy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"
)

// ErrUnavailable is wrapped by Open when no source can be read; the error
// text gives the reason of every source tried.
var ErrUnavailable = errors.New("energy: not available")

// ErrRead is wrapped when a source that worked at Open fails later.
var ErrRead = errors.New("energy: read failed")

// Defaults of Config.
const (
	DefaultPowercapRoot = "/sys/class/powercap"
	DefaultNVMLLibrary  = "libnvidia-ml.so.1"
	// DefaultPeriod is the background sampling period. It must be well
	// below the time a RAPL counter takes to wrap (max_energy_range_uj,
	// about 262 kJ: over 8 minutes at 500 W).
	DefaultPeriod = time.Second
)

// NVMLLibEnv names the environment variable that, when set, replaces
// DefaultNVMLLibrary (tests point it at a fake).
const NVMLLibEnv = "SCIBENCH_LIBNVML"

// Kind says how a source measures.
type Kind string

// Source kinds.
const (
	// Counter sources are cumulative hardware energy counters (RAPL
	// energy_uj, nvmlDeviceGetTotalEnergyConsumption); the meter adds up
	// their differences, handling wrap-around.
	Counter Kind = "counter"
	// Power sources report instantaneous power (nvmlDeviceGetPowerUsage);
	// the meter integrates power × time between samples (trapezoids).
	Power Kind = "power"
)

// Config configures Open. Zero values mean defaults.
type Config struct {
	// PowercapRoot is the sysfs powercap directory; default
	// DefaultPowercapRoot. Tests use a fake tree.
	PowercapRoot string
	// NVMLLibrary is the NVML library to load; default $SCIBENCH_LIBNVML,
	// else DefaultNVMLLibrary.
	NVMLLibrary string
	// GPUs are the NVML device indices to measure; nil: every GPU of the
	// node. NVML numbers devices by PCI bus, ignoring
	// CUDA_VISIBLE_DEVICES.
	GPUs []int
	// NoNVML and NoRAPL skip a source.
	NoNVML, NoRAPL bool
	// Period is the background sampling period; default DefaultPeriod.
	Period time.Duration
	// Logger receives one warning per source whose background sample
	// fails; default: discard.
	Logger *slog.Logger
}

// Validate reports negative values.
func (c Config) Validate() error {
	if c.Period < 0 {
		return fmt.Errorf("energy: period %v is negative", c.Period)
	}
	seen := map[int]bool{}
	for _, g := range c.GPUs {
		if g < 0 {
			return fmt.Errorf("energy: GPU index %d is negative", g)
		}
		if seen[g] {
			return fmt.Errorf("energy: GPU index %d is listed twice", g)
		}
		seen[g] = true
	}
	return nil
}

// Reading is the energy one source has used since Open.
type Reading struct {
	Source string  `json:"source"` // e.g. "nvml:0", "rapl:package-0"
	Kind   Kind    `json:"kind"`
	Joules float64 `json:"joules"`
}

// source is one thing the meter reads. A counter source returns its raw
// value, the value at which it wraps (0: never) and joules per unit; a
// power source returns watts in raw (scaled by unit).
type source interface {
	name() string
	kind() Kind
	read() (raw, wrap uint64, unit float64, err error)
}

// tracked accumulates one source.
type tracked struct {
	src    source
	joules float64
	last   uint64    // counter: last raw value
	lastW  float64   // power: last watts
	lastT  time.Time // power: time of last sample
	warned bool
}

// sample reads the source once and adds the energy since the last sample.
func (t *tracked) sample(now time.Time) error {
	raw, wrap, unit, err := t.src.read()
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrRead, t.src.name(), err)
	}
	switch t.src.kind() {
	case Counter:
		t.joules += float64(counterDelta(t.last, raw, wrap)) * unit
		t.last = raw
	case Power:
		w := float64(raw) * unit
		if dt := now.Sub(t.lastT).Seconds(); dt > 0 {
			t.joules += (t.lastW + w) / 2 * dt
		}
		t.lastW, t.lastT = w, now
	}
	return nil
}

// counterDelta is the increase from prev to cur of a counter that wraps
// to 0 after reaching wrap (RAPL's max_energy_range_uj). With wrap 0 a
// decrease means the counter was reset (driver reload): 0 is counted.
// Only one wrap between two samples can be seen; sampling every Period
// keeps that true.
func counterDelta(prev, cur, wrap uint64) uint64 {
	switch {
	case cur >= prev:
		return cur - prev
	case wrap == 0 || prev > wrap:
		return 0
	default:
		return wrap - prev + cur
	}
}

// Meter measures energy from every available source from Open on. A
// background goroutine samples every Config.Period (counter sources must
// not wrap twice unseen; power sources are integrated); Read samples once
// more. Its methods are safe for concurrent use.
type Meter struct {
	mu      sync.Mutex
	srcs    []*tracked
	skipped []string
	closers []func() error
	log     *slog.Logger

	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// Open finds the energy sources of this node: NVML for the GPUs
// (cfg.GPUs, or all), then RAPL in cfg.PowercapRoot. With none it returns
// an error wrapping ErrUnavailable that gives each reason. The sampler runs
// until ctx ends or Close is called.
func Open(ctx context.Context, cfg Config) (*Meter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Period == 0 {
		cfg.Period = DefaultPeriod
	}
	if cfg.PowercapRoot == "" {
		cfg.PowercapRoot = DefaultPowercapRoot
	}
	m := &Meter{log: cfg.Logger, done: make(chan struct{})}
	if m.log == nil {
		m.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	var reasons []string
	var srcs []source
	if !cfg.NoNVML {
		s, closer, err := openNVML(nvmlPath(cfg.NVMLLibrary), cfg.GPUs)
		if err != nil {
			reasons = append(reasons, "nvml: "+err.Error())
		} else {
			srcs = append(srcs, s...)
			m.closers = append(m.closers, closer)
		}
	}
	if !cfg.NoRAPL {
		s, err := openRAPL(cfg.PowercapRoot)
		if err != nil {
			reasons = append(reasons, "rapl: "+err.Error())
		} else {
			srcs = append(srcs, s...)
		}
	}
	if len(srcs) == 0 {
		if len(reasons) == 0 {
			reasons = append(reasons, "every source is disabled")
		}
		return nil, fmt.Errorf("%w: %s", ErrUnavailable, strings.Join(reasons, "; "))
	}
	m.skipped = reasons
	now := time.Now()
	for _, s := range srcs {
		t := &tracked{src: s, lastT: now}
		// the first sample is the baseline: joules count from here
		if err := t.sample(now); err != nil {
			m.closeSources()
			return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		t.joules = 0
		m.srcs = append(m.srcs, t)
	}
	ctx, m.cancel = context.WithCancel(ctx)
	go m.run(ctx, cfg.Period)
	return m, nil
}

func nvmlPath(p string) string {
	if p != "" {
		return p
	}
	if p := os.Getenv(NVMLLibEnv); p != "" {
		return p
	}
	return DefaultNVMLLibrary
}

// run samples every period until ctx ends.
func (m *Meter) run(ctx context.Context, period time.Duration) {
	defer close(m.done)
	tk := time.NewTicker(period)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tk.C:
			m.mu.Lock()
			for _, t := range m.srcs {
				if err := t.sample(now); err != nil && !t.warned {
					t.warned = true
					m.log.Warn("energy sample failed", "source", t.src.name(), "err", err.Error())
				}
			}
			m.mu.Unlock()
		}
	}
}

// Read samples every source and returns the joules each has used since
// Open. A source that fails is reported in the error (wrapping ErrRead and
// naming the source and file or call) and keeps its last total.
func (m *Meter) Read() ([]Reading, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	out := make([]Reading, len(m.srcs))
	var errs []error
	for i, t := range m.srcs {
		if err := t.sample(now); err != nil {
			errs = append(errs, err)
		}
		out[i] = Reading{Source: t.src.name(), Kind: t.src.kind(), Joules: t.joules}
	}
	return out, errors.Join(errs...)
}

// Joules returns the sum of Read over all sources.
func (m *Meter) Joules() (float64, error) {
	rs, err := m.Read()
	if err != nil {
		return 0, err
	}
	sum := 0.0
	for _, r := range rs {
		sum += r.Joules
	}
	return sum, nil
}

// Source names the kinds of source measured, joined by "+": "nvml",
// "rapl" or "nvml+rapl".
func (m *Meter) Source() string {
	var names []string
	for _, t := range m.srcs {
		n, _, _ := strings.Cut(t.src.name(), ":")
		if len(names) == 0 || names[len(names)-1] != n {
			names = append(names, n)
		}
	}
	return strings.Join(names, "+")
}

// Sources lists the sources measured ("nvml:0 (counter)", ...).
func (m *Meter) Sources() []string {
	out := make([]string, len(m.srcs))
	for i, t := range m.srcs {
		out[i] = fmt.Sprintf("%s (%s)", t.src.name(), t.src.kind())
	}
	return out
}

// Skipped gives the reason for each source that Open could not use while
// another one worked.
func (m *Meter) Skipped() []string { return m.skipped }

// Close stops the sampler, waits for it and releases NVML. Idempotent.
func (m *Meter) Close() error {
	var err error
	m.once.Do(func() {
		m.cancel()
		<-m.done
		err = m.closeSources()
	})
	return err
}

func (m *Meter) closeSources() error {
	var errs []error
	for _, c := range m.closers {
		errs = append(errs, c())
	}
	m.closers = nil
	return errors.Join(errs...)
}

// Reason returns err's text without the "energy: " prefix, for reports:
// "not available: nvml: ...; rapl: ...".
func Reason(err error) string {
	return strings.TrimPrefix(err.Error(), "energy: ")
}
