// Package energy measures the energy a run uses: GPU energy through NVML
// and CPU package and DRAM energy through the Linux RAPL powercap counters
// (issue 8 point 6). Like pkg/gpu it needs nothing at build time: NVML is
// opened at run time with dlopen through github.com/ebitengine/purego.
//
// # Sources
//
// NVML: libnvidia-ml.so.1 (or $SCIBENCH_LIBNVML, or Config.NVMLLibrary) is
// loaded and nvmlInit_v2, nvmlDeviceGetCount_v2,
// nvmlDeviceGetHandleByIndex_v2 and nvmlDeviceGetPowerUsage resolved;
// nvmlDeviceGetTotalEnergyConsumption is used where present and supported
// (Volta and later): a counter in mJ. Otherwise the power in mW is
// integrated over time (trapezoids between samples). Config.GPUs picks
// NVML indices (PCI bus order, not CUDA_VISIBLE_DEVICES order); nil means
// every GPU of the node. Close calls nvmlShutdown.
//
// RAPL: Config.PowercapRoot (default /sys/class/powercap) is scanned for
// intel-rapl:N package zones and intel-rapl:N:M subzones named "dram".
// Core and uncore subzones are already part of their package, and "psys"
// covers the whole platform, so they are skipped to avoid counting twice.
// energy_uj wraps at max_energy_range_uj; the meter adds the difference
// modulo that range. One wrap between two samples is always seen; the
// background sampler (Config.Period, default 1 s) keeps samples far closer
// than a wrap (minutes at full power). Most kernels since 2020 make
// energy_uj readable by root only (CVE-2020-8694): the reason then says so.
//
// A source that cannot be used at Open is skipped with its reason
// (Meter.Skipped); with none usable Open returns an error wrapping
// ErrUnavailable that gives every reason, e.g. "energy: not available:
// nvml: libnvidia-ml.so.1 cannot be loaded: ...; rapl: /sys/class/powercap
// does not exist (...)". Reason strips the "energy: " prefix for reports.
// A zone or GPU that cannot be read makes its whole source unavailable:
// a partial sum would mislead.
//
// # Bounds
//
// The sampler goroutine belongs to the Meter and stops when the ctx given
// to Open ends or Close is called; Close waits for it. Reading a sysfs
// file or calling NVML is a short synchronous call that cannot be
// cancelled; they are bounded by the kernel and the driver, not by a
// deadline here (nvmlInit_v2 can take about a second on a GPU without
// persistence mode).
//
// # One meter per node
//
// RAPL and NVML measure the whole node (or the GPUs asked for), not one
// process. For a data-parallel run, open the meter on local rank 0 of each
// node (all GPUs, RAPL) and give the others none; train.Config.Energy then
// sums the nodes. Energy of other jobs sharing the node is included.
//
// # Usage
//
//	m, err := energy.Open(ctx, energy.Config{})
//	if err != nil {
//		log.Printf("energy: %s", energy.Reason(err)) // "not available: ..."
//	} else {
//		defer m.Close()
//		j0, _ := m.Joules()
//		// ... work ...
//		j1, _ := m.Joules()
//		fmt.Printf("%.0f J from %s\n", j1-j0, m.Source())
//	}
//
// metrics.NewEnergyCollector exposes Read as
// scibench_energy_joules_total{rank,source}, and `scibench devices` prints
// the sources found.
package energy
