package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/scibench/scibench/pkg/fetch"
)

const dataFetchUsage = "usage: scibench data fetch BENCH --to DIR [--only PREFIX,...] [--list] [--mirror URL] [--retries N] [--parallel N]"

// cmdDataFetch is `scibench data fetch BENCH --to DIR`: the official
// dataset of BENCH, resumable and verified (docs/user-guide-report.md).
func cmdDataFetch(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(stderr, dataFetchUsage)
		fmt.Fprintf(stderr, "BENCH is one of %s\n", strings.Join(fetch.Benchmarks(), ", "))
		return exitUsage
	}
	bench := args[0]
	fs := flag.NewFlagSet("data fetch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	to := fs.String("to", "", "destination directory (required)")
	only := fs.String("only", "", "comma-separated path prefixes inside the dataset to fetch (e.g. inference,validation)")
	list := fs.Bool("list", false, "list the files and their total size, download nothing")
	mirror := fs.String("mirror", "", "fetch from this http(s)://host[:port] instead of the official hosts (same paths)")
	retries := fs.Int("retries", 5, "retries per file after a cut or failed transfer (each resumes)")
	parallel := fs.Int("parallel", 4, "files transferred at once")
	stall := fs.Duration("stall-timeout", time.Minute, "abort and retry a transfer that receives nothing for this long")
	if err := fs.Parse(args[1:]); err != nil {
		return exitUsage
	}
	if *to == "" || fs.NArg() != 0 {
		fmt.Fprintln(stderr, dataFetchUsage)
		return exitUsage
	}
	srcs, err := fetch.Sources(bench, time.Now())
	if err != nil {
		fmt.Fprintf(stderr, "scibench data fetch: %v\n", err)
		return exitUsage
	}
	if *retries <= 0 {
		*retries = -1 // fetch.Config: 0 means the default, negative none
	}
	f, err := fetch.New(fetch.Config{
		Mirror: *mirror, Progress: stderr, Retries: *retries, StallTimeout: *stall, Parallel: *parallel,
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		fmt.Fprintf(stderr, "scibench data fetch: %v\n", err)
		return exitUsage
	}
	files, notes, err := f.Plan(ctx, srcs)
	if err != nil {
		fmt.Fprintf(stderr, "scibench data fetch %s: %v\n", bench, err)
		return exitFailed
	}
	for _, n := range notes {
		fmt.Fprintf(stderr, "scibench data fetch %s: note: %s\n", bench, n)
	}
	if *only != "" {
		var keep []fetch.File
		for _, fl := range files {
			for p := range strings.SplitSeq(*only, ",") {
				if p = strings.Trim(strings.TrimSpace(p), "/"); p != "" && (fl.Path == p || strings.HasPrefix(fl.Path, p+"/")) {
					keep = append(keep, fl)
					break
				}
			}
		}
		if len(keep) == 0 {
			fmt.Fprintf(stderr, "scibench data fetch %s: --only %q matches none of the %d files\n", bench, *only, len(files))
			return exitUsage
		}
		files = keep
	}
	var total int64
	unknown := 0
	for _, fl := range files {
		if fl.Size < 0 {
			unknown++
		} else {
			total += fl.Size
		}
	}
	sizeNote := ""
	if unknown > 0 {
		sizeNote = fmt.Sprintf(" (+%d of unknown size)", unknown)
	}
	if *list {
		for _, fl := range files {
			fmt.Fprintf(stdout, "%d\t%s\t%s\n", fl.Size, fl.Path, fl.URL)
		}
		fmt.Fprintf(stdout, "%d files, %s%s\n", len(files), humanBytes(total), sizeNote)
		return exitOK
	}
	fmt.Fprintf(stderr, "scibench data fetch %s: %d files, %s%s into %s\n", bench, len(files), humanBytes(total), sizeNote, *to)
	start := time.Now()
	st, err := f.Fetch(ctx, files, *to, "fetch "+bench)
	took := time.Since(start)
	if err != nil {
		fmt.Fprintf(stderr, "scibench data fetch %s: %v\n", bench, err)
		if errors.Is(err, fetch.ErrPath) {
			return exitUsage
		}
		return exitFailed
	}
	fmt.Fprintf(stdout, "fetched %s into %s: %d downloaded (%d resumed), %d already complete, %d not on the server; %s in %s\n",
		bench, *to, st.Downloaded, st.Resumed, st.Skipped, st.Missing, humanBytes(st.Bytes), took.Round(time.Millisecond))
	if bench == "earthquake" {
		fmt.Fprintf(stdout, "note: these are the SCEDC yearly catalogs; prepare them with `scibench data prepare earthquake --catalog %s --out DIR` (see docs/benchmarks/earthquake.md)\n", *to)
	}
	return exitOK
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}
