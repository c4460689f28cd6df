// Command scibench runs the MLCommons Science benchmarks as HPC jobs with
// data-parallel workers. See docs/user-guide.md.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// Exit codes (DESIGN.md "Command line").
const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2
	exitInterrupted = 130
)

// command is one subcommand: it parses its own flags from args and returns
// the process exit code.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

// commands is the subcommand table; one line per subcommand.
var commands = map[string]command{
	"allreduce-bench": {"measure ring all-reduce bandwidth and latency", cmdAllreduceBench},
	"data":            {"prepare or generate benchmark data", cmdData},
	"devices":         {"list the GPUs found at run time", cmdDevices},
	"report":          {"scaling tables and plots from run and sweep directories", cmdReport},
	"run":             {"run a benchmark with data-parallel workers", cmdRun},
	"submit":          {"render and submit Slurm/LSF jobs for a scaling sweep", cmdSubmit},
	"version":         {"print the version", cmdVersion},
	"train-bench":     {"engine throughput on synthetic batches", cmdTrainBench},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "scibench: unknown command %q\n", args[0])
		usage(stderr)
		return exitUsage
	}
	code := c.run(ctx, args[1:], stdout, stderr)
	if code != exitOK && ctx.Err() != nil {
		return exitInterrupted
	}
	return code
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: scibench COMMAND [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-16s %s\n", n, commands[n].summary)
	}
}
