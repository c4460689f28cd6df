package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/scibench/scibench/pkg/cluster"
	"github.com/scibench/scibench/pkg/collective"
	"github.com/scibench/scibench/pkg/launch"
)

// benchOpts are the allreduce-bench flags.
type benchOpts struct {
	nproc   int
	sizes   []int
	iters   int
	warmup  int
	check   bool
	json    bool
	ceiling bool
	segment int
	poll    int
	timeout time.Duration
}

const defaultBenchSizes = "4K,64K,1M,16M,64M,256M"

// parseSizes parses "4K,64K,1M,16M" (K=2^10, M=2^20, G=2^30; plain numbers
// are bytes). Every size must be a positive multiple of 4 bytes.
func parseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		mult := 1
		switch strings.ToUpper(f[len(f)-1:]) {
		case "K":
			mult = 1 << 10
		case "M":
			mult = 1 << 20
		case "G":
			mult = 1 << 30
		}
		if mult != 1 {
			f = f[:len(f)-1]
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 || n > (1<<34)/mult {
			return nil, fmt.Errorf("--sizes: bad size %q", f)
		}
		n *= mult
		if n%4 != 0 {
			return nil, fmt.Errorf("--sizes: %d bytes is not a multiple of 4 (float32)", n)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("--sizes: no sizes")
	}
	return out, nil
}

func cmdAllreduceBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("allreduce-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o benchOpts
	var sizes string
	fs.IntVar(&o.nproc, "nproc", 2, "number of local worker processes (launcher mode)")
	fs.StringVar(&sizes, "sizes", defaultBenchSizes, "comma-separated message sizes in bytes (K, M, G suffixes)")
	fs.IntVar(&o.iters, "iters", 20, "timed iterations per size")
	fs.IntVar(&o.warmup, "warmup", 5, "untimed iterations per size")
	fs.BoolVar(&o.check, "check", false, "fill buffers with known values and count wrong results against a naive sum")
	fs.BoolVar(&o.json, "json", false, "print one JSON object per size instead of the table")
	fs.BoolVar(&o.ceiling, "ceiling", false, "also measure the link ceiling (simultaneous streams, same write size) and print busbw as a fraction of it")
	fs.IntVar(&o.segment, "segment", 0, "pipeline segment bytes (0: collective.DefaultSegmentBytes)")
	fs.IntVar(&o.poll, "busy-poll", 0, "non-blocking read attempts before parking (0: collective.DefaultBusyPoll, -1: off)")
	fs.DurationVar(&o.timeout, "timeout", 60*time.Second, "deadline per collective operation")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: scibench allreduce-bench [--nproc N] [--sizes 4K,64K,1M,16M,64M,256M] [--iters K] [--warmup W] [--check] [--json] [--ceiling]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	var err error
	if o.sizes, err = parseSizes(sizes); err != nil {
		fmt.Fprintf(stderr, "scibench allreduce-bench: %v\n", err)
		return exitUsage
	}
	if o.iters < 1 || o.warmup < 0 || o.nproc < 1 || o.segment < 0 || o.timeout <= 0 {
		fmt.Fprintln(stderr, "scibench allreduce-bench: --iters, --nproc must be >= 1; --warmup, --segment >= 0; --timeout > 0")
		return exitUsage
	}
	info, launched, err := cluster.FromEnv(os.LookupEnv)
	if err != nil {
		fmt.Fprintf(stderr, "scibench allreduce-bench: %v\n", err)
		return exitUsage
	}
	if !launched {
		// Launcher mode: run nproc copies of this binary with the same args.
		err := launch.Run(ctx, launch.Config{
			NProc: o.nproc, Args: append([]string{"allreduce-bench"}, args...),
			Stdout: &stripRank0{w: stdout}, Stderr: stderr,
		})
		if err != nil {
			fmt.Fprintf(stderr, "scibench allreduce-bench: %v\n", err)
			return exitFailed
		}
		return exitOK
	}
	comm, err := collective.New(ctx, collective.Config{
		Rank: info.Rank, WorldSize: info.WorldSize,
		MasterAddr: info.MasterAddr, MasterPort: info.MasterPort,
		Token: info.Token, Timeout: o.timeout, SegmentBytes: o.segment, BusyPoll: o.poll,
	})
	if err != nil {
		fmt.Fprintf(stderr, "scibench allreduce-bench: rank %d: %v\n", info.Rank, err)
		return exitFailed
	}
	defer comm.Close()
	if err := benchWorker(ctx, comm, o, stdout); err != nil {
		fmt.Fprintf(stderr, "scibench allreduce-bench: rank %d: %v\n", info.Rank, err)
		return exitFailed
	}
	return exitOK
}

// stripRank0 removes the launcher's "[rank 0] " prefix so that rank 0's
// table or JSON lines reach stdout unchanged (only rank 0 prints).
type stripRank0 struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *stripRank0) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.w.Write(bytes.TrimPrefix(p, []byte("[rank 0] ")))
	return len(p), err
}

// benchResult is one row of the table (and one JSON line).
type benchResult struct {
	WorldSize int     `json:"world_size"`
	Bytes     int     `json:"bytes"`
	Count     int     `json:"count"`
	TimeUS    float64 `json:"time_us"`
	AlgBW     float64 `json:"algbw_gbps"`
	BusBW     float64 `json:"busbw_gbps"`
	Wrong     int     `json:"wrong"`
	Ceiling   float64 `json:"ceiling_gbps,omitempty"`
	Fraction  float64 `json:"fraction,omitempty"`
}

// checkValue is the value rank r puts at element i with --check: a small
// integer, so every summation order gives the exact same float32 result.
func checkValue(r, i int) float32 { return float32((r*7+i)%13) - 6 }

// benchWorker runs the sizes on one rank; rank 0 prints. Every rank must
// call it with the same options.
func benchWorker(ctx context.Context, c *collective.Comm, o benchOpts, stdout io.Writer) error {
	n := c.Size()
	if c.Rank() == 0 && !o.json {
		fmt.Fprintf(stdout, "# scibench allreduce-bench: world_size %d, iters %d, warmup %d, op sum, time = median over iterations of max over ranks\n", n, o.iters, o.warmup)
		hdr := fmt.Sprintf("# %12s %12s %10s %10s %10s %6s", "bytes", "count", "time_us", "algbw_GB/s", "busbw_GB/s", "wrong")
		if o.ceiling {
			hdr += fmt.Sprintf(" %10s %6s", "ceil_GB/s", "frac")
		}
		fmt.Fprintln(stdout, hdr)
	}
	maxCount := 0
	for _, s := range o.sizes {
		maxCount = max(maxCount, s/4)
	}
	buf := make([]float32, maxCount)
	var recv []float32
	if o.ceiling {
		recv = make([]float32, maxCount)
	}
	times := make([]float64, o.iters)
	red := make([]float64, 2)
	for _, size := range o.sizes {
		count := size / 4
		b := buf[:count]
		clear(b)
		wrong := 0
		for it := -o.warmup; it < o.iters; it++ {
			if o.check {
				for i := range b {
					b[i] = checkValue(c.Rank(), i)
				}
			}
			if err := c.Barrier(ctx); err != nil {
				return fmt.Errorf("barrier before %d bytes: %w", size, err)
			}
			t0 := time.Now()
			if err := c.AllReduce(ctx, b, collective.OpSum); err != nil {
				return fmt.Errorf("allreduce of %d bytes: %w", size, err)
			}
			dt := time.Since(t0).Seconds()
			if it >= 0 {
				times[it] = dt
			}
			if o.check {
				for i, v := range b {
					var want float32
					for r := 0; r < n; r++ {
						want += checkValue(r, i)
					}
					if v != want {
						wrong++
					}
				}
			}
		}
		slices.Sort(times)
		red[0], red[1] = times[len(times)/2], float64(wrong)
		if err := c.AllReduceFloat64(ctx, red[:1], collective.OpMax); err != nil {
			return fmt.Errorf("reduce times: %w", err)
		}
		if err := c.AllReduceFloat64(ctx, red[1:], collective.OpSum); err != nil {
			return fmt.Errorf("reduce wrong counts: %w", err)
		}
		res := benchResult{WorldSize: n, Bytes: size, Count: count, TimeUS: red[0] * 1e6, Wrong: int(red[1])}
		if red[0] > 0 {
			res.AlgBW = float64(size) / red[0] / 1e9
			res.BusBW = res.AlgBW * 2 * float64(n-1) / float64(n)
		}
		if o.ceiling && n > 1 && count > 0 {
			ceil, err := streamCeiling(ctx, c, b, recv[:count], o)
			if err != nil {
				return err
			}
			res.Ceiling = ceil
			if ceil > 0 {
				res.Fraction = res.BusBW / ceil
			}
		}
		if c.Rank() == 0 {
			if err := printResult(stdout, res, o); err != nil {
				return err
			}
		}
	}
	return nil
}

// streamCeiling measures the link bound: every rank streams the same
// number of bytes to its successor while receiving from its predecessor,
// in the same segment writes, with no reduction. It returns GB/s per link
// (median over iterations of the slowest rank), directly comparable with
// busbw.
func streamCeiling(ctx context.Context, c *collective.Comm, b, recv []float32, o benchOpts) (float64, error) {
	times := make([]float64, o.iters)
	for it := -o.warmup; it < o.iters; it++ {
		if err := c.Barrier(ctx); err != nil {
			return 0, fmt.Errorf("barrier before stream: %w", err)
		}
		d, err := c.Stream(ctx, b, recv)
		if err != nil {
			return 0, fmt.Errorf("stream of %d bytes: %w", 4*len(b), err)
		}
		if it >= 0 {
			times[it] = d.Seconds()
		}
	}
	slices.Sort(times)
	t := []float64{times[len(times)/2]}
	if err := c.AllReduceFloat64(ctx, t, collective.OpMax); err != nil {
		return 0, fmt.Errorf("reduce stream times: %w", err)
	}
	if t[0] <= 0 {
		return 0, nil
	}
	return float64(4*len(b)) / t[0] / 1e9, nil
}

func printResult(w io.Writer, r benchResult, o benchOpts) error {
	if o.json {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	line := fmt.Sprintf("  %12d %12d %10.1f %10.3f %10.3f %6d", r.Bytes, r.Count, r.TimeUS, r.AlgBW, r.BusBW, r.Wrong)
	if o.ceiling {
		line += fmt.Sprintf(" %10.3f %6.2f", r.Ceiling, r.Fraction)
	}
	_, err := fmt.Fprintln(w, line)
	return err
}
