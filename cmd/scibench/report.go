package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/scibench/scibench/pkg/report"
	"github.com/scibench/scibench/slurm"
)

// reportUsage is the synopsis of `scibench report`.
const reportUsage = "usage: scibench report DIR... [--format table|csv|json|markdown] [--plot FILE.svg|png] [--sacct PATH|none]"

// cmdReport is `scibench report DIR...`: scaling tables and plots from run
// and sweep directories (docs/user-guide-report.md).
func cmdReport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, reportUsage)
		fs.PrintDefaults()
	}
	format := fs.String("format", report.FormatTable, "output format: table, csv, json or markdown")
	plot := fs.String("plot", "", "write plots (time per epoch and efficiency against workers, throughput against batch) to FILE.svg or FILE.png")
	sacct := fs.String("sacct", "sacct", `sacct command for queue wait and elapsed time of jobs with ids ("none": do not ask)`)
	// flags may come before, between or after the directories
	var dirs []string
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return exitOK
			}
			return exitUsage
		}
		if fs.NArg() == 0 {
			break
		}
		dirs = append(dirs, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(dirs) == 0 {
		fmt.Fprintln(stderr, reportUsage)
		return exitUsage
	}
	switch *format {
	case report.FormatTable, report.FormatCSV, report.FormatJSON, report.FormatMarkdown:
	default:
		fmt.Fprintf(stderr, "scibench report: --format %q: want table, csv, json or markdown\n", *format)
		return exitUsage
	}
	runs, err := report.Load(dirs)
	if err != nil {
		fmt.Fprintf(stderr, "scibench report: %v\n", err)
		return exitUsage
	}
	if *sacct != "none" && *sacct != "" {
		if note := report.JoinSacct(ctx, runs, slurm.ExecRunner, *sacct); note != "" {
			fmt.Fprintf(stderr, "scibench report: %s\n", note)
		}
	}
	if err := report.Write(stdout, runs, *format); err != nil {
		fmt.Fprintf(stderr, "scibench report: %v\n", err)
		return exitFailed
	}
	for _, r := range runs {
		if r.Status == report.StatusIncomplete {
			fmt.Fprintf(stderr, "scibench report: %s: incomplete: %s\n", r.Dir, r.Cause)
		}
	}
	if *plot != "" {
		if err := report.WritePlot(*plot, runs); err != nil {
			fmt.Fprintf(stderr, "scibench report: %v\n", err)
			if errors.Is(err, report.ErrFormat) {
				return exitUsage
			}
			return exitFailed
		}
		fmt.Fprintf(stderr, "scibench report: wrote %s\n", *plot)
	}
	return exitOK
}
