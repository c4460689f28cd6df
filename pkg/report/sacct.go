package report

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Acct is one job as Slurm accounting reports it.
type Acct struct {
	JobID   string
	State   string
	Submit  time.Time // zero when unknown (sacct -c has no Submit field)
	Start   time.Time
	End     time.Time
	Elapsed time.Duration
	// HasElapsed is false when the Elapsed field was absent or empty.
	HasElapsed bool
}

// QueueWait is Start - Submit, or NaN when either is unknown.
func (a Acct) QueueWait() float64 {
	if a.Submit.IsZero() || a.Start.IsZero() || a.Start.Before(a.Submit) {
		return math.NaN()
	}
	return a.Start.Sub(a.Submit).Seconds()
}

// Runner runs one command and returns its standard output
// (slurm.ExecRunner has this signature).
type Runner func(ctx context.Context, name string, args ...string) ([]byte, error)

// SacctTimeout bounds each sacct call of JoinSacct.
const SacctTimeout = 30 * time.Second

// SacctFields are the fields JoinSacct asks sacct for.
const SacctFields = "JobID,Submit,Start,End,Elapsed,State"

// JoinSacct asks Slurm accounting about the jobs of runs (those with a
// JobID): first `sacct -X -P -j IDS -o SacctFields`, then the job
// completion log, `sacct -c -P -j IDS -o JobID,Start,End,Elapsed,State`,
// and fills JobState, QueueWaitS and ElapsedS. It never fails the report:
// when sacct is missing, fails or knows none of the jobs it returns a note
// saying so, and the runs are left as they were. run nil means no
// accounting.
func JoinSacct(ctx context.Context, runs []Run, run Runner, sacct string) (note string) {
	var ids []string
	for _, r := range runs {
		if r.JobID != "" && !slices.Contains(ids, r.JobID) {
			ids = append(ids, r.JobID)
		}
	}
	if len(ids) == 0 || run == nil {
		return ""
	}
	if sacct == "" {
		sacct = "sacct"
	}
	list := strings.Join(ids, ",")
	var errs []string
	for _, args := range [][]string{
		{"-X", "-P", "-j", list, "-o", SacctFields},
		{"-c", "-P", "-j", list, "-o", "JobID,Start,End,Elapsed,State"},
	} {
		cctx, cancel := context.WithTimeout(ctx, SacctTimeout)
		out, err := run(cctx, sacct, args...)
		cancel()
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s %s: %v", sacct, strings.Join(args, " "), err))
			continue
		}
		acct, err := ParseSacct(out)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		n := 0
		for i := range runs {
			a, ok := acct[runs[i].JobID]
			if !ok {
				continue
			}
			n++
			if a.State != "" {
				runs[i].JobState = a.State
			}
			runs[i].QueueWaitS = a.QueueWait()
			if a.HasElapsed {
				runs[i].ElapsedS = a.Elapsed.Seconds()
			}
		}
		if n > 0 {
			return ""
		}
		errs = append(errs, fmt.Sprintf("%s %s: none of the jobs %s", sacct, args[0], list))
	}
	return "no Slurm accounting (queue wait and elapsed not shown): " + strings.Join(errs, "; ")
}

// ParseSacct parses `sacct -P` output with its header line (fields in any
// order; JobID required, Submit, Start, End, Elapsed and State optional).
// Job steps (IDs with a dot, e.g. 42.batch, 42.0) are skipped; "Unknown",
// "None" and empty times are left zero. Times are read as UTC: only their
// differences are used.
func ParseSacct(out []byte) (map[string]Acct, error) {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) == 0 || strings.TrimSpace(lines[0]) == "" {
		return map[string]Acct{}, nil
	}
	header := strings.Split(strings.TrimSpace(lines[0]), "|")
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	if _, ok := col["jobid"]; !ok {
		return nil, fmt.Errorf("%w: line 1: header %q has no JobID field", ErrSacct, lines[0])
	}
	field := func(f []string, name string) string {
		if i, ok := col[name]; ok && i < len(f) {
			return strings.TrimSpace(f[i])
		}
		return ""
	}
	res := map[string]Acct{}
	for n, line := range lines[1:] {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		f := strings.Split(line, "|")
		if len(f) != len(header) {
			return nil, fmt.Errorf("%w: line %d: %d fields, header has %d: %q", ErrSacct, n+2, len(f), len(header), line)
		}
		a := Acct{JobID: field(f, "jobid")}
		if a.JobID == "" || strings.Contains(a.JobID, ".") {
			continue
		}
		a.State, _, _ = strings.Cut(field(f, "state"), " ") // "CANCELLED by 1000"
		var err error
		for _, t := range []struct {
			name string
			dst  *time.Time
		}{{"submit", &a.Submit}, {"start", &a.Start}, {"end", &a.End}} {
			if *t.dst, err = parseSacctTime(field(f, t.name)); err != nil {
				return nil, fmt.Errorf("%w: line %d: %s: %w", ErrSacct, n+2, t.name, err)
			}
		}
		if e := field(f, "elapsed"); e != "" {
			if a.Elapsed, err = ParseElapsed(e); err != nil {
				return nil, fmt.Errorf("%w: line %d: elapsed: %w", ErrSacct, n+2, err)
			}
			a.HasElapsed = true
		}
		res[a.JobID] = a
	}
	return res, nil
}

func parseSacctTime(s string) (time.Time, error) {
	switch s {
	case "", "Unknown", "None", "N/A":
		return time.Time{}, nil
	}
	return time.ParseInLocation("2006-01-02T15:04:05", s, time.UTC)
}

// ParseElapsed parses a Slurm duration: [DD-][HH:]MM:SS (sacct's Elapsed).
func ParseElapsed(s string) (time.Duration, error) {
	var days int
	rest := s
	if d, r, ok := strings.Cut(s, "-"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("duration %q: bad day count", s)
		}
		days, rest = n, r
	}
	parts := strings.Split(rest, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, fmt.Errorf("duration %q: want [DD-][HH:]MM:SS", s)
	}
	var v [3]int
	off := 3 - len(parts)
	for i, p := range parts {
		sec, _, _ := strings.Cut(p, ".") // fractional seconds of sacct -c
		n, err := strconv.Atoi(sec)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("duration %q: bad field %q", s, p)
		}
		v[off+i] = n
	}
	return time.Duration(days)*24*time.Hour + time.Duration(v[0])*time.Hour +
		time.Duration(v[1])*time.Minute + time.Duration(v[2])*time.Second, nil
}
