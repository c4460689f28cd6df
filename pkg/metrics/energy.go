package metrics

import (
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// EpochEnergy is the energy of one epoch in result.json ("epochs[].energy"):
// the training phase of the epoch, summed over the measuring ranks.
type EpochEnergy struct {
	Joules          Num `json:"joules"`
	JoulesPerSample Num `json:"joules_per_sample"`
}

// EnergyResult is result.json's "energy": Source is what was measured
// ("rapl", "nvml+rapl") or "not available: <reason>", and then the
// numbers are null. Joules covers the whole run, TrainJoules the epochs'
// training phases, JoulesPerSample is TrainJoules per trained sample.
type EnergyResult struct {
	Source          string `json:"source"`
	Ranks           int    `json:"ranks"`
	Joules          Num    `json:"joules"`
	TrainJoules     Num    `json:"train_joules"`
	JoulesPerSample Num    `json:"joules_per_sample"`
}

// EnergyReading is one source's energy since the meter started.
type EnergyReading struct {
	Source string
	Joules float64
}

// energyCollector exposes a meter at scrape time.
type energyCollector struct {
	read   func() ([]EnergyReading, error)
	joules *prometheus.Desc
	errs   *prometheus.Desc

	mu     sync.Mutex
	failed float64
}

// NewEnergyCollector returns a collector that calls read at every scrape
// (and every WriteProm or Push) and exposes
// scibench_energy_joules_total{rank,source} for each reading, plus
// scibench_energy_read_errors_total{rank}. A failed read still exposes the
// readings it returned (a meter keeps its last totals) and counts the
// error, so one bad sensor never breaks the exposition. Register it on the
// worker's registry: reg.MustRegister(metrics.NewEnergyCollector(rank, f)).
func NewEnergyCollector(rank int, read func() ([]EnergyReading, error)) prometheus.Collector {
	labels := prometheus.Labels{"rank": strconv.Itoa(rank)}
	return &energyCollector{
		read: read,
		joules: prometheus.NewDesc("scibench_energy_joules_total",
			"Energy used since the worker started measuring, by source (RAPL zone or NVML GPU).", []string{"source"}, labels),
		errs: prometheus.NewDesc("scibench_energy_read_errors_total",
			"Failed reads of the energy meter.", nil, labels),
	}
}

func (c *energyCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.joules
	ch <- c.errs
}

func (c *energyCollector) Collect(ch chan<- prometheus.Metric) {
	rs, err := c.read()
	c.mu.Lock()
	if err != nil {
		c.failed++
	}
	failed := c.failed
	c.mu.Unlock()
	seen := make(map[string]bool, len(rs))
	for _, r := range rs {
		// a duplicate or non-UTF-8 source would fail the whole gather:
		// skip it rather than lose metrics.prom
		if seen[r.Source] {
			continue
		}
		seen[r.Source] = true
		if m, err := prometheus.NewConstMetric(c.joules, prometheus.CounterValue, r.Joules, r.Source); err == nil {
			ch <- m
		}
	}
	ch <- prometheus.MustNewConstMetric(c.errs, prometheus.CounterValue, failed)
}
