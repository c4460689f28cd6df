package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/scibench/scibench/lsf"
	"github.com/scibench/scibench/pkg/bench"
	"github.com/scibench/scibench/pkg/metrics"
	"github.com/scibench/scibench/pkg/sched"
	"github.com/scibench/scibench/pkg/sched/renderonly"
	"github.com/scibench/scibench/slurm"
)

// submitFlags are the flags of `scibench submit`.
type submitFlags struct {
	bench, cluster, config, profiles string
	nodes, gpusPerNode               int
	scale                            []int
	out, data, binary, scaling       string
	walltime                         time.Duration
	queue, account                   string
	dryRun, wait, oneAlloc           bool
	timeout, poll                    time.Duration
	sets                             []string
}

// newBackend picks the scheduler backend of a profile; tests replace it.
var newBackend = func(p *sched.Profile) (sched.Backend, error) {
	switch p.Scheduler {
	case sched.Slurm:
		return slurm.New(slurm.Config{}), nil
	case sched.LSF:
		return lsf.New(lsf.Config{}), nil
	case sched.PBS:
		return renderonly.PBS(), nil
	case sched.Cobalt:
		return renderonly.Cobalt(), nil
	}
	return nil, fmt.Errorf("%w: %s: scheduler %q", sched.ErrProfile, p.File, p.Scheduler)
}

func parseSubmitFlags(args []string, stderr io.Writer) (*submitFlags, error) {
	fs := flag.NewFlagSet("submit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := &submitFlags{}
	var sets setList
	var scale, walltime string
	fs.StringVar(&f.cluster, "cluster", "", "cluster profile: a name in --profiles or a YAML path (required)")
	fs.StringVar(&f.profiles, "profiles", filepath.Join("configs", "clusters"), "directory of cluster profiles")
	fs.StringVar(&f.config, "config", "", "benchmark config YAML (default: the benchmark's reference settings)")
	fs.Var(&sets, "set", "override a config key, key=value (repeatable)")
	fs.IntVar(&f.nodes, "nodes", 0, "nodes of the job (without --scale), or the most nodes a point may use (with --scale)")
	fs.IntVar(&f.gpusPerNode, "gpus-per-node", 0, "GPUs (workers) per node (default: all of the profile's)")
	fs.StringVar(&scale, "scale", "", "worker counts of the sweep, e.g. 1,2,4,8 (default: one point)")
	fs.StringVar(&f.scaling, "scaling", sched.Strong, "strong (fixed global batch) or weak (fixed per-worker batch)")
	fs.BoolVar(&f.oneAlloc, "one-allocation", false, "run the whole sweep as steps of one job (no queue wait between points)")
	fs.StringVar(&f.out, "out", "", "sweep directory (default runs/sweep-<bench>-<cluster>-<timestamp>)")
	fs.StringVar(&f.data, "data", "", "prepared-data directory of the jobs (default: data_dir, else SWEEPDIR/data)")
	fs.StringVar(&f.binary, "binary", "", "scibench executable on the cluster (default: profile binary, else this executable)")
	fs.StringVar(&walltime, "walltime", "", "job time limit, HH:MM:SS (default: the profile's)")
	fs.StringVar(&f.queue, "queue", "", "partition/queue (default: the profile's)")
	fs.StringVar(&f.account, "account", "", "account/project (default: the profile's)")
	fs.BoolVar(&f.dryRun, "dry-run", false, "render the scripts into the sweep directory, submit nothing")
	fs.BoolVar(&f.wait, "wait", false, "wait until every job has ended and report their states")
	fs.DurationVar(&f.timeout, "timeout", time.Hour, "with --wait: give up (and cancel the jobs still queued or running) after this")
	fs.DurationVar(&f.poll, "poll", 2*time.Second, "with --wait: how often to ask the scheduler")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: scibench submit BENCH --cluster PROFILE [--config FILE] [--nodes N] [--gpus-per-node G] [--scale 1,2,4,8]\n"+
			"                [--scaling strong|weak] [--one-allocation] [--out SWEEPDIR] [--dry-run] [--wait [--timeout D]]")
		fs.PrintDefaults()
	}
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		f.bench, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if f.bench == "" && fs.NArg() > 0 {
		f.bench = fs.Arg(0)
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return nil, err
		}
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if f.bench == "" {
		fs.Usage()
		return nil, errors.New("missing BENCH")
	}
	if f.cluster == "" {
		return nil, fmt.Errorf("--cluster is required (profiles in %s: %s)", f.profiles, strings.Join(sched.ListProfiles(f.profiles), ", "))
	}
	var err error
	if f.scale, err = sched.ParseScale(scale); err != nil {
		return nil, err
	}
	if walltime != "" {
		if f.walltime, err = sched.ParseWalltime(walltime); err != nil {
			return nil, fmt.Errorf("--walltime: %w", err)
		}
	}
	if f.wait && f.timeout <= 0 {
		return nil, fmt.Errorf("--timeout %v must be positive", f.timeout)
	}
	if f.poll <= 0 {
		return nil, fmt.Errorf("--poll %v must be positive", f.poll)
	}
	f.sets = sets
	return f, nil
}

// sweepManifest is SWEEPDIR/sweep.json.
type sweepManifest struct {
	Benchmark     string     `json:"benchmark"`
	Cluster       string     `json:"cluster"`
	ProfileFile   string     `json:"profile_file"`
	Scheduler     string     `json:"scheduler"`
	Scaling       string     `json:"scaling"`
	BatchScope    string     `json:"batch_scope"`
	Config        string     `json:"config"`
	OneAllocation bool       `json:"one_allocation"`
	Created       time.Time  `json:"created"`
	DryRun        bool       `json:"dry_run"`
	Jobs          []sweepJob `json:"jobs"`
}

type sweepJob struct {
	Name   string       `json:"name"`
	Script string       `json:"script"`
	JobID  string       `json:"job_id,omitempty"`
	State  sched.State  `json:"state,omitempty"`
	Points []sweepPoint `json:"points"`
}

type sweepPoint struct {
	sched.Point
	RunDir string `json:"run_dir"`
}

func (m *sweepManifest) write(dir string) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, "sweep.json"), append(b, '\n'), 0o644)
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr, os.Chmod(tmp.Name(), mode)); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}

// submitExit maps an error to the exit code: bad input is 2.
func submitExit(ctx context.Context, err error) int {
	switch {
	case ctx.Err() != nil:
		return exitInterrupted
	case errors.Is(err, sched.ErrProfile), errors.Is(err, sched.ErrNoProfile), errors.Is(err, sched.ErrRequest),
		errors.Is(err, sched.ErrUnsafe), errors.Is(err, sched.ErrUnreachable), errors.Is(err, sched.ErrRejected),
		errors.Is(err, sched.ErrRenderOnly):
		return exitUsage
	}
	return exitFailed
}

// cmdSubmit is `scibench submit`: render one job script per sweep point (or
// one for the whole sweep), submit them, and optionally wait for them.
func cmdSubmit(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f, err := parseSubmitFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintf(stderr, "scibench submit: %v\n", err)
		return exitUsage
	}
	code, err := submit(ctx, f, stdout, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "scibench submit: %v\n", err)
	}
	return code
}

func submit(ctx context.Context, f *submitFlags, stdout, stderr io.Writer) (int, error) {
	b, ok := bench.Benchmarks[f.bench]
	if !ok {
		names := make([]string, 0, len(bench.Benchmarks))
		for n := range bench.Benchmarks {
			names = append(names, n)
		}
		sort.Strings(names)
		return exitUsage, fmt.Errorf("unknown benchmark %q (have %s)", f.bench, strings.Join(names, ", "))
	}
	prof, err := sched.LoadProfile(f.profiles, f.cluster)
	if err != nil {
		return submitExit(ctx, err), err
	}
	scope, err := sched.BatchScope(f.scaling)
	if err != nil {
		return exitUsage, err
	}
	cfg, err := b.LoadConfig(f.config, append(append([]string(nil), f.sets...), "batch_scope="+scope))
	if err != nil {
		return exitUsage, err
	}
	points, err := prof.Plan(sched.Request{Scale: f.scale, Nodes: f.nodes, GPUsPerNode: f.gpusPerNode})
	if err != nil {
		return exitUsage, err
	}
	backend, err := newBackend(prof)
	if err != nil {
		return exitUsage, err
	}
	if !f.dryRun {
		if sched.IsRenderOnly(backend) {
			return exitUsage, fmt.Errorf("profile %s (%s): %w: scibench cannot submit to %s; use --dry-run to write the scripts",
				prof.Name, prof.File, sched.ErrRenderOnly, prof.Scheduler)
		}
	}

	// directories
	out := f.out
	if out == "" {
		out = filepath.Join("runs", fmt.Sprintf("sweep-%s-%s-%s", b.Name, prof.Name, time.Now().UTC().Format("20060102-150405")))
	}
	sweepDir, err := filepath.Abs(out)
	if err != nil {
		return exitUsage, fmt.Errorf("--out %s: %w", out, err)
	}
	if prev, err := os.ReadFile(filepath.Join(sweepDir, "sweep.json")); err == nil {
		var pm sweepManifest
		if json.Unmarshal(prev, &pm) == nil {
			for _, j := range pm.Jobs {
				if j.JobID != "" {
					return exitUsage, fmt.Errorf("--out %s: sweep directory already holds submitted jobs (job %s); choose another --out", out, j.JobID)
				}
			}
		}
	}
	workDir, err := os.Getwd()
	if err != nil {
		return exitFailed, err
	}
	if err := os.MkdirAll(sweepDir, 0o755); err != nil {
		return exitUsage, fmt.Errorf("--out %s: %w", out, err)
	}
	binary := firstNonEmpty(f.binary, prof.Binary)
	if binary == "" {
		if binary, err = os.Executable(); err != nil {
			return exitFailed, fmt.Errorf("cannot find this executable (give --binary): %w", err)
		}
	}
	// the resolved config, which every job reads
	resolved, err := yaml.Marshal(cfg)
	if err != nil {
		return exitFailed, fmt.Errorf("resolved config: %w", err)
	}
	cfgPath := filepath.Join(sweepDir, "config.yaml")
	header := fmt.Sprintf("# resolved %s config for scibench submit (%s scaling, batch_scope %s)\n", b.Name, f.scaling, scope)
	if err := writeFileAtomic(cfgPath, append([]byte(header), resolved...), 0o644); err != nil {
		return exitFailed, fmt.Errorf("resolved config: %w", err)
	}
	data := f.data
	if data == "" && b.Common(cfg).DataDir == "" {
		data = filepath.Join(sweepDir, "data")
	}
	if data != "" {
		if data, err = filepath.Abs(data); err != nil {
			return exitUsage, fmt.Errorf("--data: %w", err)
		}
	}
	command := func(pt sched.Point, runDir string) []string {
		c := []string{binary, "run", b.Name, "--config", cfgPath, "--out", runDir}
		if data != "" {
			c = append(c, "--data", data)
		}
		return c
	}
	jobs, err := prof.Jobs(points, sched.JobOptions{Bench: b.Name, SweepDir: sweepDir, WorkDir: workDir,
		Walltime: f.walltime, Queue: f.queue, Account: f.account, OneAllocation: f.oneAlloc, Command: command, Version: version})
	if err != nil {
		return submitExit(ctx, err), err
	}

	m := &sweepManifest{Benchmark: b.Name, Cluster: prof.Name, ProfileFile: prof.File, Scheduler: backend.Name(),
		Scaling: f.scaling, BatchScope: scope, Config: cfgPath, OneAllocation: f.oneAlloc, Created: time.Now().UTC(), DryRun: f.dryRun}
	for _, j := range jobs {
		script, err := backend.Render(j)
		if err != nil {
			return submitExit(ctx, err), err
		}
		path := filepath.Join(sweepDir, j.Name+backend.ScriptExt())
		if err := writeFileAtomic(path, script, 0o755); err != nil {
			return exitFailed, err
		}
		sj := sweepJob{Name: j.Name, Script: path}
		for i, st := range j.Steps {
			if err := os.MkdirAll(st.RunDir, 0o755); err != nil {
				return exitFailed, err
			}
			pt := points[i]
			if !f.oneAlloc {
				pt = pointOf(j)
			}
			sj.Points = append(sj.Points, sweepPoint{Point: pt, RunDir: st.RunDir})
		}
		m.Jobs = append(m.Jobs, sj)
	}
	if err := m.write(sweepDir); err != nil {
		return exitFailed, err
	}
	if f.dryRun {
		for _, j := range m.Jobs {
			fmt.Fprintf(stdout, "rendered %s\n", j.Script)
		}
		fmt.Fprintf(stdout, "sweep directory: %s (dry run: nothing submitted)\n", sweepDir)
		return exitOK, nil
	}

	// submit
	var ids []string
	for i := range m.Jobs {
		id, err := backend.Submit(ctx, m.Jobs[i].Script)
		if err != nil {
			_ = m.write(sweepDir)
			if len(ids) > 0 {
				fmt.Fprintf(stderr, "scibench submit: %d job(s) already submitted: %s\n", len(ids), strings.Join(ids, " "))
			}
			return submitExit(ctx, err), err
		}
		m.Jobs[i].JobID, m.Jobs[i].State = id, sched.StatePending
		ids = append(ids, id)
		fmt.Fprintf(stdout, "submitted %s as %s job %s\n", filepath.Base(m.Jobs[i].Script), backend.Name(), id)
	}
	if err := m.write(sweepDir); err != nil {
		return exitFailed, err
	}
	fmt.Fprintf(stdout, "sweep directory: %s\n", sweepDir)
	if !f.wait {
		return exitOK, nil
	}

	// wait
	wctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	states, werr := sched.Wait(wctx, backend, ids, f.poll)
	for i := range m.Jobs {
		m.Jobs[i].State = states[m.Jobs[i].JobID]
	}
	if werr != nil && ctx.Err() == nil && !errors.Is(werr, sched.ErrUnreachable) {
		// give up on what is still queued or running
		cctx, ccancel := context.WithTimeout(context.Background(), 30*time.Second)
		for _, j := range m.Jobs {
			if !j.State.Terminal() {
				if err := backend.Cancel(cctx, j.JobID); err != nil {
					fmt.Fprintf(stderr, "scibench submit: cancel job %s: %v\n", j.JobID, err)
				} else {
					fmt.Fprintf(stderr, "scibench submit: cancelled job %s (%s)\n", j.JobID, j.State)
				}
			}
		}
		ccancel()
	}
	_ = m.write(sweepDir)
	ok = printSweep(stdout, m)
	switch {
	case werr != nil:
		return submitExit(ctx, werr), werr
	case !ok:
		return exitFailed, errors.New("not every job completed with a successful result.json (see the table above)")
	}
	return exitOK, nil
}

// pointOf is the point of a one-step job.
func pointOf(j sched.JobSpec) sched.Point {
	s := j.Steps[0]
	return sched.Point{Workers: s.Workers, Nodes: s.Nodes, TasksPerNode: s.TasksPerNode, GPUsPerNode: j.GPUsPerNode, CPUsPerTask: s.CPUsPerTask}
}

// printSweep prints one line per point with its job state and the
// status of its result.json; it reports whether every point succeeded.
func printSweep(w io.Writer, m *sweepManifest) bool {
	ok := true
	fmt.Fprintf(w, "%-8s %-6s %-10s %-10s %-8s %s\n", "workers", "nodes", "job", "state", "result", "run directory")
	for _, j := range m.Jobs {
		for _, p := range j.Points {
			res := resultStatus(p.RunDir, p.Workers)
			if (j.State != sched.StateCompleted && j.State != sched.StateEnded) || res != metrics.StatusSuccess {
				ok = false
			}
			fmt.Fprintf(w, "%-8d %-6d %-10s %-10s %-8s %s\n", p.Workers, p.Nodes, j.JobID, j.State, res, p.RunDir)
		}
	}
	return ok
}

// resultStatus reads the status of dir/result.json: the run's status, or
// "missing"/"truncated"/"wrong-size" when the file is absent, unreadable or
// for another world size.
func resultStatus(dir string, workers int) string {
	data, err := os.ReadFile(filepath.Join(dir, "result.json"))
	if err != nil {
		return "missing"
	}
	var r struct {
		Status    string `json:"status"`
		WorldSize int    `json:"world_size"`
	}
	if err := json.Unmarshal(data, &r); err != nil || r.Status == "" {
		return "truncated"
	}
	if r.WorldSize != workers {
		return "wrong-size"
	}
	return r.Status
}
