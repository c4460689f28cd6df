package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/scibench/scibench/pkg/metrics"
)

// Output formats of Write.
const (
	FormatTable    = "table"
	FormatCSV      = "csv"
	FormatJSON     = "json"
	FormatMarkdown = "markdown"
)

// columns are the table columns, in order (the CSV header).
var columns = []string{"benchmark", "series", "workers", "nodes", "batch", "status", "epoch_s", "samples_per_s",
	"speedup", "efficiency", "comm_pct", "wait_pct", "straggler", "metric", "value", "job", "job_state",
	"queue_wait_s", "elapsed_s", "cause"}

// Write prints runs in format: "table" (one aligned table per benchmark),
// "markdown" (one table per benchmark), "csv" (one table, a header line)
// or "json" (an array of runs; unknown numbers are null).
func Write(w io.Writer, runs []Run, format string) error {
	var err error
	switch format {
	case FormatTable, "":
		err = writeText(w, runs, false)
	case FormatMarkdown:
		err = writeText(w, runs, true)
	case FormatCSV:
		cw := csv.NewWriter(w)
		if err = cw.Write(columns); err == nil {
			for _, r := range runs {
				if err = cw.Write(cells(r)); err != nil {
					break
				}
			}
		}
		cw.Flush()
		if err == nil {
			err = cw.Error()
		}
	case FormatJSON:
		js := make([]jsonRun, len(runs))
		for i, r := range runs {
			js[i] = toJSON(r)
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		err = enc.Encode(js)
	default:
		return fmt.Errorf("%w: --format %q: want table, csv, json or markdown", ErrFormat, format)
	}
	if err != nil {
		return fmt.Errorf("report: write %s: %w", format, err)
	}
	return nil
}

func writeText(w io.Writer, runs []Run, markdown bool) error {
	var first = true
	for start := 0; start < len(runs); {
		end := start
		for end < len(runs) && runs[end].Benchmark == runs[start].Benchmark {
			end++
		}
		group := runs[start:end]
		start = end
		name := group[0].Benchmark
		if name == "" {
			name = "(unknown benchmark)"
		}
		if !first {
			if _, err := fmt.Fprintln(w); err != nil {
				return err
			}
		}
		first = false
		hdr := columns[1:] // the benchmark is the heading
		if markdown {
			var b strings.Builder
			fmt.Fprintf(&b, "### %s\n\n| %s |\n|", name, strings.Join(hdr, " | "))
			for range hdr {
				b.WriteString("---|")
			}
			b.WriteByte('\n')
			for _, r := range group {
				c := cells(r)[1:]
				for i := range c {
					c[i] = strings.ReplaceAll(c[i], "|", `\|`)
				}
				fmt.Fprintf(&b, "| %s |\n", strings.Join(c, " | "))
			}
			if _, err := io.WriteString(w, b.String()); err != nil {
				return err
			}
			continue
		}
		if _, err := fmt.Fprintf(w, "benchmark %s\n", name); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, strings.Join(hdr, "\t"))
		for _, r := range group {
			fmt.Fprintln(tw, strings.Join(cells(r)[1:], "\t"))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// num formats x with prec decimals, "-" when unknown.
func num(x float64, prec int) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "-"
	}
	return strconv.FormatFloat(x, 'f', prec, 64)
}

func pct(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "-"
	}
	return strconv.FormatFloat(100*x, 'f', 1, 64)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func cells(r Run) []string {
	straggler, batch := "-", "-"
	if r.Straggler >= 0 {
		straggler = strconv.Itoa(r.Straggler)
	}
	if r.GlobalBatch > 0 {
		batch = strconv.Itoa(r.GlobalBatch)
	}
	return []string{r.Benchmark, r.Series, strconv.Itoa(r.Workers), strconv.Itoa(r.Nodes), batch, r.Status,
		num(r.EpochTimeS, 3), num(r.SamplesPerS, 1), num(r.Speedup, 2), num(r.Efficiency, 2),
		pct(r.CommShare), pct(r.WaitShare), straggler, orDash(r.Metric), num(r.MetricValue, 4),
		orDash(r.JobID), orDash(r.JobState), num(r.QueueWaitS, 0), num(r.ElapsedS, 0), orDash(r.Cause)}
}

// jsonRun is Run with NaN-safe numbers (null when unknown).
type jsonRun struct {
	Dir         string      `json:"dir"`
	Series      string      `json:"series"`
	Benchmark   string      `json:"benchmark"`
	Workers     int         `json:"workers"`
	Nodes       int         `json:"nodes"`
	GlobalBatch int         `json:"global_batch"`
	Status      string      `json:"status"`
	Cause       string      `json:"cause,omitempty"`
	Scaling     string      `json:"scaling,omitempty"`
	Epochs      int         `json:"epochs"`
	EpochTimeS  metrics.Num `json:"epoch_time_s"`
	SamplesPerS metrics.Num `json:"samples_per_s"`
	Speedup     metrics.Num `json:"speedup"`
	Efficiency  metrics.Num `json:"efficiency"`
	CommShare   metrics.Num `json:"comm_share"`
	WaitShare   metrics.Num `json:"wait_share"`
	Straggler   int         `json:"straggler"`
	Metric      string      `json:"metric,omitempty"`
	MetricValue metrics.Num `json:"metric_value"`
	WallS       metrics.Num `json:"wall_s"`
	JobID       string      `json:"job_id,omitempty"`
	JobState    string      `json:"job_state,omitempty"`
	QueueWaitS  metrics.Num `json:"queue_wait_s"`
	ElapsedS    metrics.Num `json:"elapsed_s"`
}

func toJSON(r Run) jsonRun {
	return jsonRun{
		Dir: r.Dir, Series: r.Series, Benchmark: r.Benchmark, Workers: r.Workers, Nodes: r.Nodes,
		GlobalBatch: r.GlobalBatch, Status: r.Status, Cause: r.Cause, Scaling: r.Scaling, Epochs: r.Epochs,
		EpochTimeS: metrics.Num(r.EpochTimeS), SamplesPerS: metrics.Num(r.SamplesPerS),
		Speedup: metrics.Num(r.Speedup), Efficiency: metrics.Num(r.Efficiency),
		CommShare: metrics.Num(r.CommShare), WaitShare: metrics.Num(r.WaitShare), Straggler: r.Straggler,
		Metric: r.Metric, MetricValue: metrics.Num(r.MetricValue), WallS: metrics.Num(r.WallS),
		JobID: r.JobID, JobState: r.JobState, QueueWaitS: metrics.Num(r.QueueWaitS), ElapsedS: metrics.Num(r.ElapsedS),
	}
}
