// Package lsf is the IBM LSF backend of scibench submit (Summit-style
// bsub + jsrun): it renders bsub scripts from the embedded template
// job.lsf.tmpl (one jsrun step per sweep point, one resource set of 1 task,
// 1 GPU and cores_per_node/GPUs cores per worker, every user value quoted),
// submits them with `bsub < script`, follows them with bjobs and cancels
// them with bkill.
//
// LSF cannot be installed on the project's machines. The scripts are
// golden-file tested against the Summit profile, and the integration test
// (build tag slurmci, `make test-slurm`) runs them end to end on an LSF
// EMULATION (slurm/ci/lsf-emulation) on top of a real one-host Slurm: it
// checks our scripts and the LSF environment parsing, not that a real LSF
// accepts them.
//
// # Usage
//
//	b := lsf.New(lsf.Config{}) // bsub, bjobs, bkill from PATH
//	script, err := b.Render(spec)
//	id, err := b.Submit(ctx, "w012.lsf")
package lsf
