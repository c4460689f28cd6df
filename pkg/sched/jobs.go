package sched

import (
	"fmt"
	"path/filepath"
	"time"
)

// JobOptions are the parts of the job specs that come from the command line
// rather than the profile.
type JobOptions struct {
	Bench    string // benchmark name, part of job names
	SweepDir string // absolute sweep directory; run directories go inside
	WorkDir  string // absolute working directory of the jobs
	// Walltime, Queue and Account override the profile when set.
	Walltime time.Duration
	Queue    string
	Account  string
	// OneAllocation puts every point into one job (one step per point)
	// sized for the largest point, instead of one job per point.
	OneAllocation bool
	// Command returns the worker argv of a point whose run directory is
	// runDir.
	Command func(pt Point, runDir string) []string
	Version string
}

// RunDirName is the name of a point's run directory inside the sweep
// directory, e.g. "w004".
func RunDirName(workers int) string { return fmt.Sprintf("w%03d", workers) }

// Jobs turns sweep points into job specs: one job per point, or one job
// with a step per point when o.OneAllocation is set.
func (p *Profile) Jobs(points []Point, o JobOptions) ([]JobSpec, error) {
	if len(points) == 0 {
		return nil, fmt.Errorf("%w: empty sweep", ErrRequest)
	}
	if o.Command == nil {
		return nil, fmt.Errorf("%w: no worker command", ErrRequest)
	}
	if err := CheckDirective("benchmark name", o.Bench); err != nil {
		return nil, err
	}
	wt := o.Walltime
	if wt == 0 {
		var err error
		if wt, err = p.WalltimeDuration(); err != nil {
			return nil, p.keyErr("walltime", "%v", err)
		}
	}
	base := JobSpec{
		Walltime: wt, Queue: firstSet(o.Queue, p.Queue), Account: firstSet(o.Account, p.Account),
		Directives: p.Directives, Modules: p.Modules, Launcher: p.Launcher, LauncherArgs: p.LauncherArgs,
		WorkDir: o.WorkDir, OutputDir: o.SweepDir, Version: o.Version,
	}
	for _, k := range sortedKeys(p.Env) {
		base.Env = append(base.Env, EnvVar{Name: k, Value: p.Env[k]})
	}
	step := func(pt Point) Step {
		dir := filepath.Join(o.SweepDir, RunDirName(pt.Workers))
		return Step{Workers: pt.Workers, Nodes: pt.Nodes, TasksPerNode: pt.TasksPerNode, CPUsPerTask: pt.CPUsPerTask,
			RunDir: dir, Command: o.Command(pt, dir)}
	}
	var jobs []JobSpec
	if o.OneAllocation {
		j := base
		j.Name = fmt.Sprintf("scibench-%s-sweep", o.Bench)
		for _, pt := range points {
			j.Nodes = max(j.Nodes, pt.Nodes)
			j.TasksPerNode = max(j.TasksPerNode, pt.TasksPerNode)
			j.GPUsPerNode = max(j.GPUsPerNode, pt.GPUsPerNode)
			if j.CPUsPerTask == 0 || pt.CPUsPerTask < j.CPUsPerTask {
				j.CPUsPerTask = pt.CPUsPerTask
			}
			j.Steps = append(j.Steps, step(pt))
		}
		jobs = append(jobs, j)
	} else {
		for _, pt := range points {
			j := base
			j.Name = fmt.Sprintf("scibench-%s-w%d", o.Bench, pt.Workers)
			j.Nodes, j.TasksPerNode, j.GPUsPerNode, j.CPUsPerTask = pt.Nodes, pt.TasksPerNode, pt.GPUsPerNode, pt.CPUsPerTask
			j.Steps = []Step{step(pt)}
			jobs = append(jobs, j)
		}
	}
	for i := range jobs {
		if err := jobs[i].Validate(); err != nil {
			return nil, err
		}
	}
	return jobs, nil
}

func firstSet(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
