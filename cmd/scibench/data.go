package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/scibench/scibench/pkg/bench/earthquake"
)

// cmdData dispatches `scibench data prepare|generate ...`.
func cmdData(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: scibench data prepare earthquake --catalog FILE|DIR --out DIR [--span default|reference] [--locations computed|reference500]")
		fmt.Fprintln(stderr, "       scibench data generate BENCH --out DIR [--scale tiny|small|full-shape] [--seed S]")
		fmt.Fprintln(stderr, "       scibench data fetch BENCH --to DIR [--list] [--only P,...] [--mirror URL]")
		return exitUsage
	}
	switch args[0] {
	case "prepare":
		return cmdDataPrepare(ctx, args[1:], stdout, stderr)
	case "fetch":
		return cmdDataFetch(ctx, args[1:], stdout, stderr)
	case "generate":
		bench := ""
		if len(args) > 1 {
			bench = args[1]
		}
		switch bench {
		case "stemdl":
			return cmdDataGenerateStemdl(ctx, args[2:], stdout, stderr)
		case "cloudmask":
			return cmdDataGenerateCloudmask(ctx, args[2:], stdout, stderr)
		case "uno":
			return cmdDataGenerateUno(ctx, args[2:], stdout, stderr)
		}
		fmt.Fprintf(stderr, "scibench data generate: benchmark %q has no generator\n", bench)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "scibench data: unknown action %q (want prepare or generate)\n", args[0])
		return exitUsage
	}
}

func cmdDataPrepare(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "earthquake" {
		fmt.Fprintln(stderr, "usage: scibench data prepare earthquake --catalog FILE|DIR --out DIR [--span default|reference] [--locations computed|reference500]")
		return exitUsage
	}
	fs := flag.NewFlagSet("data prepare earthquake", flag.ContinueOnError)
	fs.SetOutput(stderr)
	catalog := fs.String("catalog", "", "raw SCSN catalog: a CSV (.csv or .csv.gz) or a folder of SCEDC yearly *.catalog files (as `data fetch earthquake` writes)")
	out := fs.String("out", "", "output directory")
	span := fs.String("span", string(earthquake.SpanDefault), "default (to 2019-10-14) or reference (to 2019-12-31)")
	locs := fs.String("locations", string(earthquake.LocationsComputed), "computed or reference500")
	if err := fs.Parse(args[1:]); err != nil {
		return exitUsage
	}
	if *catalog == "" || *out == "" || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "scibench data prepare earthquake: --catalog and --out are required (no positional arguments)")
		return exitUsage
	}
	opts := earthquake.Options{File: *catalog, Span: earthquake.Span(*span), Locations: earthquake.LocationSet(*locs)}
	if err := opts.Validate(); err != nil {
		fmt.Fprintf(stderr, "scibench data prepare earthquake: %v\n", err)
		return exitUsage
	}
	start := time.Now()
	src, code := openCatalog(ctx, *catalog, stdout, stderr)
	if src == nil {
		return code
	}
	defer src.Close()
	ds, err := earthquake.PrepareContext(ctx, src, opts)
	if err != nil {
		fmt.Fprintf(stderr, "scibench data prepare earthquake: %v\n", err)
		var de *earthquake.DataError
		if errors.As(err, &de) || errors.Is(err, earthquake.ErrBadOption) {
			return exitUsage
		}
		return exitFailed
	}
	prep := time.Since(start)
	if err := ds.Save(*out); err != nil {
		fmt.Fprintf(stderr, "scibench data prepare earthquake: %v\n", err)
		return exitFailed
	}
	printPrepareReport(stdout, ds, prep, *out)
	return exitOK
}

// openCatalog opens --catalog: a CSV file, or a folder of SCEDC yearly files
// read as one merged CSV (earthquake.OpenSCEDC). On failure it prints the
// error and returns nil and the exit code.
func openCatalog(ctx context.Context, path string, stdout, stderr io.Writer) (io.ReadCloser, int) {
	st, err := os.Stat(path)
	if err != nil {
		fmt.Fprintf(stderr, "scibench data prepare earthquake: %v\n", err)
		return nil, exitUsage
	}
	if !st.IsDir() {
		f, err := os.Open(path)
		if err != nil {
			fmt.Fprintf(stderr, "scibench data prepare earthquake: %v\n", err)
			return nil, exitUsage
		}
		return f, exitOK
	}
	cat, err := earthquake.OpenSCEDC(ctx, path)
	if err != nil {
		fmt.Fprintf(stderr, "scibench data prepare earthquake: %v\n", err)
		if ctx.Err() != nil {
			return nil, exitFailed
		}
		return nil, exitUsage
	}
	var first, last *earthquake.SCEDCFile
	noTrailer := 0
	for i := range cat.Files {
		f := &cat.Files[i]
		if f.Events > 0 {
			if first == nil {
				first = f
			}
			last = f
		}
		if !f.Trailer {
			noTrailer++
		}
	}
	fmt.Fprintf(stdout, "catalog %s: %d SCEDC files (%s … %s), %d events from %s to %s\n", path, len(cat.Files),
		first.Name, last.Name, cat.Events, first.First.Format(time.DateOnly), last.Last.Format(time.DateOnly))
	if miss := cat.MissingYears(); len(miss) > 0 {
		fmt.Fprintf(stderr, "scibench data prepare earthquake: warning: no events in year(s) %v: the prepared data is empty there\n", miss)
	}
	if noTrailer > 0 {
		fmt.Fprintf(stderr, "scibench data prepare earthquake: warning: %d file(s) lack the closing \"### Number of rows returned\" line (cut short?)\n", noTrailer)
	}
	return cat, exitOK
}

// refStats are the reference values of BENCHMARKS.md §5.2 step 9 (min, max, mean, std).
var refStats = [4][4]string{
	{"0.764", "7.501", "0.804", "0.241"},
	{"-2.11", "81.8", "0.269", "1.61"},
	{"0", "3038", "0.141", "4.66"},
	{"0", "86", "0.002", "0.151"},
}

func printPrepareReport(w io.Writer, ds *earthquake.Dataset, took time.Duration, out string) {
	m := ds.Meta
	st := m.Stats
	c := m.Counts
	fmt.Fprintf(w, "earthquake data: span %s (D=%d, S=%d, F=%d fortnights from %s, T=%d steps from %s), locations %s (Nloc=%d)\n",
		m.Span, m.D, m.S, m.F, m.FirstFortnight, m.T, m.FirstStep, m.Locations, m.Nloc)
	fmt.Fprintf(w, "rows %d: kept %d; dropped quarry blasts %d, other etype %d, outside box %d, before 1950 %d, alignment days %d, after span %d\n",
		c.Rows, c.Kept, c.DroppedQuarry, c.DroppedOtherType, c.DroppedOutsideBox, c.DroppedBeforeSpan, c.DroppedAlignment, c.DroppedAfterSpan)
	fmt.Fprintf(w, "active pixels (computed): %d (single cut %d, 3x3 cut %d); reference: 500 (249/488)\n", st.Computed, st.SingleCut, st.BlockCut)
	if m.Span == earthquake.SpanReference {
		fmt.Fprintf(w, "validation (BENCHMARKS.md §5.2 step 9), raw values over %d x 2400, reference in brackets:\n", m.T)
	} else {
		fmt.Fprintf(w, "validation (BENCHMARKS.md §5.2 step 9), raw values over %d x 2400; the bracketed reference column is for the reference span (1801 steps):\n", m.T)
	}
	fmt.Fprintf(w, "  %-20s %-18s %-18s %-18s %-18s\n", "property", "min", "max", "mean", "std")
	for i, p := range st.Props {
		r := refStats[i]
		fmt.Fprintf(w, "  %-20s %-18s %-18s %-18s %-18s\n", earthquake.DynamicNames[i],
			fmt.Sprintf("%.4g (%s)", p.Min, r[0]), fmt.Sprintf("%.4g (%s)", p.Max, r[1]),
			fmt.Sprintf("%.4g (%s)", p.Mean, r[2]), fmt.Sprintf("%.4g (%s)", p.Std, r[3]))
	}
	fmt.Fprintf(w, "  max space-summed M>3.29 count over %d fortnights: %g (581)\n", m.F, st.MaxSpaceSumM3)
	fmt.Fprintf(w, "  back-window minima (4 weeks … year): %.3f %.3f %.3f %.3f %.3f (0.965 1.165 1.327 1.507 1.707)\n",
		st.BackWindowMins[0], st.BackWindowMins[1], st.BackWindowMins[2], st.BackWindowMins[3], st.BackWindowMins[4])
	fmt.Fprintf(w, "prepared in %.2fs; wrote %s (catalog sha256 %s)\n", took.Seconds(), out, m.CatalogSHA256)
}
