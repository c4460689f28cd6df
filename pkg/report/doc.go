// Package report turns run directories into scaling tables and plots
// (`scibench report`).
//
// Load reads run directories (result.json, written by `scibench run`),
// sweep directories (sweep.json, written by `scibench submit`, whose jobs
// name their run directories) and directories of run directories. Each
// directory argument is one series, a line in the plots: a sweep is
// labelled by its cluster profile, anything else by its base name. A run
// directory whose result.json is missing, truncated or corrupt is listed
// with status "incomplete" and the cause, never dropped silently.
//
// Per run: time per epoch and samples/s (medians over epochs ≥ 2, as in
// BENCHMARKS.md §1.4), speedup and parallel efficiency against the run
// of the fewest workers of the same series (throughput ratio, so strong
// and weak scaling read the same way), the communication share
// ((allreduce_s + wait_s) / training time, mean over ranks), the
// straggler rank (the rank the others waited for, see CommStats) and the
// science metric (result.json's target metric, else a known one).
// JoinSacct adds queue wait and elapsed time from Slurm accounting when
// sacct is there; it never fails the report.
//
// Write prints table, csv, json or markdown; PlotSVG draws time per epoch
// and efficiency against workers (the paper's Figure 2b) and throughput
// against global batch size (Figure 5), one line per series; PlotPNG
// draws the same lines without text.
//
// # Usage
//
//	runs, err := report.Load([]string{"runs/pearl-sweep", "runs/summit-sweep"})
//	note := report.JoinSacct(ctx, runs, slurm.ExecRunner, "sacct")
//	err = report.Write(os.Stdout, runs, report.FormatTable)
//	err = report.WritePlot("scaling.svg", runs)
package report
