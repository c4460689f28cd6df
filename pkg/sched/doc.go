// Package sched is the scheduler-neutral core of `scibench submit`: cluster
// profiles, sweep planning, job specs, shell quoting for job scripts, and the
// Backend interface that the slurm and lsf packages (and the render-only PBS
// and Cobalt backends of sched/renderonly) implement. It runs no commands.
//
// A Profile (configs/clusters/<site>.yaml) says what a node has (GPUs,
// cores), the limits (max_nodes), defaults (walltime, queue, account) and
// what the job script adds (modules, env, launcher arguments, directives).
// Decoding is strict: unknown keys and impossible values are errors that
// name the file, line and key. Plan lays a list of worker counts onto
// nodes, one worker per GPU; Jobs turns the points into JobSpecs, one job
// per point or one job with a step per point (OneAllocation).
//
// Every user value that reaches a job script goes through Quote (one shell
// word) or CheckDirective (scheduler directive lines, which no shell
// parses, accept only a conservative character set). Rendered scripts run
// TaskRecord in front of each worker, so that the job output shows the rank,
// host and CUDA_VISIBLE_DEVICES of every task.
//
// # Usage
//
//	p, err := sched.LoadProfile("configs/clusters", "summit") // errors wrap ErrProfile/ErrNoProfile
//	pts, err := p.Plan(sched.Request{Scale: []int{6, 12, 24}}) // ErrRequest when it cannot fit
//	jobs, err := p.Jobs(pts, sched.JobOptions{Bench: "earthquake", SweepDir: dir, WorkDir: wd,
//		Command: func(pt sched.Point, runDir string) []string { return []string{bin, "run", "earthquake", "--out", runDir} }})
//	var b sched.Backend = lsf.New(lsf.Config{})
//	script, err := b.Render(jobs[0])
//	id, err := b.Submit(ctx, path) // ErrUnreachable, ErrRejected
//	states, err := sched.Wait(ctx, b, []string{id}, 2*time.Second) // ErrTimeout when ctx ends first
package sched
