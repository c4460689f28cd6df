// Package slurm is the Slurm backend of scibench submit: it renders sbatch
// scripts from the embedded template job.sbatch.tmpl (one srun step per
// sweep point, one task and one GPU per worker, every user value quoted),
// submits them with `sbatch --parsable`, follows them with squeue, then
// sacct, then `sacct -c`, and cancels them with scancel. A scheduler command
// that cannot be run is sched.ErrUnreachable; a job sbatch refuses is
// sched.ErrRejected.
//
// ci/ holds the one-host CI cluster (start-slurm.sh, stop-slurm.sh: munged,
// slurmctld and two slurmd as simulated nodes n1 n2 with fake GPUs, stopped
// by PID), run-tests.sh (what `make test-slurm` runs) and lsf-emulation/,
// bsub/jsrun/bjobs/bkill shims that run LSF scripts on that Slurm. The
// integration tests carry the build tag slurmci.
//
// # Usage
//
//	b := slurm.New(slurm.Config{})          // sbatch, squeue, sacct, scancel from PATH
//	script, err := b.Render(spec)            // spec from sched.Profile.Jobs
//	id, err := b.Submit(ctx, "w004.sbatch")
//	state, err := b.Status(ctx, id)
package slurm
