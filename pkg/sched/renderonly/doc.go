// Package renderonly renders job scripts for batch systems scibench cannot
// submit to from here: PBS Pro (qsub + mpiexec, e.g. ALCF Polaris) and
// Cobalt (qsub + Open MPI mpirun with COBALT_NODEFILE, e.g. ALCF ThetaGPU).
// Submit, Status and Cancel return sched.ErrRenderOnly; `scibench submit
// --dry-run` writes the scripts for the user to qsub.
//
// # Usage
//
//	b := renderonly.PBS()
//	script, err := b.Render(spec) // spec from sched.Profile.Jobs
package renderonly
