package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/scibench/scibench/pkg/bench"
	"github.com/scibench/scibench/pkg/energy"
	"github.com/scibench/scibench/pkg/gpu"
)

// devicesLine is one --json output object; the keys are part of the CLI
// contract. A run without a GPU prints one object with "error" set.
type devicesLine struct {
	Index         int     `json:"index"`
	Name          string  `json:"name"`
	MemoryBytes   uint64  `json:"memory_bytes"`
	MemoryGiB     float64 `json:"memory_gib"`
	Compute       string  `json:"compute_capability"`
	DriverVersion string  `json:"driver_version"`
}

// cmdDevices lists the GPUs found at run time, or says why there is none,
// and (in text mode) whether the GPU engine opens and the energy sources
// found. It exits 0 either way: no
// GPU means the CPU engine is used.
func cmdDevices(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("devices", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "one JSON object per line")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "scibench devices: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	info, err := gpu.Probe()
	if err != nil {
		// "gpu: no GPU: reason" reads better as "no GPU: reason".
		reason := strings.TrimPrefix(err.Error(), gpu.ErrNoGPU.Error()+": ")
		if *asJSON {
			b, _ := json.Marshal(map[string]string{"error": "no GPU: " + reason, "engine": "cpu"})
			fmt.Fprintf(stdout, "%s\n", b)
			return exitOK
		}
		fmt.Fprintf(stdout, "no GPU: %s\n", reason)
		fmt.Fprintln(stdout, "scibench uses the CPU engine")
		printEnergy(ctx, stdout)
		return exitOK
	}
	for _, d := range info.Devices {
		gib := float64(d.MemoryBytes) / (1 << 30)
		cc := fmt.Sprintf("%d.%d", d.Major, d.Minor)
		if *asJSON {
			b, err := json.Marshal(devicesLine{Index: d.Index, Name: d.Name, MemoryBytes: d.MemoryBytes,
				MemoryGiB: gib, Compute: cc, DriverVersion: info.DriverVersionString()})
			if err != nil {
				fmt.Fprintf(stderr, "scibench devices: %v\n", err)
				return exitFailed
			}
			fmt.Fprintf(stdout, "%s\n", b)
			continue
		}
		fmt.Fprintf(stdout, "gpu %d: %s, %.1f GiB, compute capability %s\n", d.Index, d.Name, gib, cc)
	}
	if !*asJSON {
		fmt.Fprintf(stdout, "CUDA driver %s (%s)\n", info.DriverVersionString(), info.Library)
		printEngine(stdout)
		printEnergy(ctx, stdout)
	}
	return exitOK
}

// printEngine says whether training can use the GPU engine here: it opens
// it on the first GPU (context, NVRTC compile of the kernels, cuBLAS), as
// a run with --device gpu would, or says why not.
func printEngine(stdout io.Writer) {
	_, name, closeEngine, err := bench.OpenEngine(bench.DeviceGPU, 0, nil)
	if err != nil {
		reason := strings.TrimPrefix(err.Error(), bench.ErrDevice.Error()+": --device gpu: ")
		fmt.Fprintf(stdout, "GPU engine: not usable: %s (runs use the CPU engine)\n", reason)
		return
	}
	if err := closeEngine(); err != nil {
		fmt.Fprintf(stdout, "GPU engine: closing: %v\n", err)
	}
	fmt.Fprintf(stdout, "GPU engine: ready on %s (kernels compiled with NVRTC, cuBLAS loaded)\n", name)
}

// printEnergy prints the energy sources a run would measure, or why there
// are none ("energy: not available: nvml: ...; rapl: ...").
func printEnergy(ctx context.Context, stdout io.Writer) {
	m, err := energy.Open(ctx, energy.Config{})
	if err != nil {
		fmt.Fprintf(stdout, "energy: %s\n", energy.Reason(err))
		return
	}
	defer m.Close()
	fmt.Fprintf(stdout, "energy: %s\n", strings.Join(m.Sources(), ", "))
	for _, s := range m.Skipped() {
		fmt.Fprintf(stdout, "energy: not used: %s\n", s)
	}
}
