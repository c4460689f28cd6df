// Package train is the generic data-parallel training loop every benchmark
// uses: deterministic sharding, forward/backward, gradient all-reduce in
// fixed-order buckets overlapped with the backward pass, the optimizer step,
// evaluation reduced as sums and counts, best-fit restore, per-epoch atomic
// checkpoints with resume, an optional science target, and the per-rank
// communication account and trace that the run directory reports.
//
// # Sharding
//
// Every epoch e draws one seeded global permutation of the NumTrain samples
// (Permutation(seed, e)), identical on every rank and for every world size.
// Step s takes the global batch perm[s·B:(s+1)·B]; rank r of W gets the
// contiguous sub-block RankBlock(B, W, r) (sizes differ by at most one and
// may be zero). The remainder of an epoch is dropped, so every rank runs the
// same number of steps. Tasks return loss SUMS and accumulate the gradient
// of the sum; the loop all-reduces and divides by B, so the update equals
// the single-process update on the same global batch up to float summation
// order, whatever W is (the scaling check: 1 and 2 workers agree).
//
// # Overlap
//
// The arena's grad hook reports the lowest offset from which gradients are
// final. A background goroutine owned by the Trainer all-reduces the
// gradient in fixed buckets from the end of the arena towards the start,
// starting bucket k as soon as the hook passes its lower edge, while the
// backward pass continues on earlier layers. The loop waits for all buckets
// ("wait" in the trace: the rank's exposed communication time) before the
// optimizer step. Every rank issues the same sequence of collectives, and a
// ring all-reduce leaves bitwise-identical sums on every rank, so all ranks
// hold identical weights; the loop verifies this by hash after every epoch
// (ErrDiverged).
//
// # Checkpoints
//
// After every epoch rank 0 writes CheckpointDir/epoch-NNNN.ckpt (temp file,
// fsync, rename): weights, optimizer state, best-fit weights, epoch, seed and
// history, with a CRC-32; a truncated or corrupted file is an ErrCheckpoint
// naming the file. Resume loads the latest one on every rank. Because the
// sample order depends only on (seed, epoch), a resumed run equals the
// uninterrupted one bit for bit (tasks with their own random streams, such
// as dropout, implement StatefulTask or derive them from StepInfo).
//
// # Communicators
//
// Comm needs only AllReduceSum and Barrier; Collective adapts the TCP ring
// of package collective and Local is world size 1. GatherBytes and
// SumFloat64 build an exact all-gather on top of AllReduceSum (16-bit chunks
// are exact in float32 and each rank fills only its own slot), used for the
// float64 evaluation sums, the per-rank communication account and the
// trace events that rank 0 writes.
//
// # Energy
//
// Config.Energy (an *energy.Meter, one per node) is read around every
// epoch's training phase and around the whole Run; the differences ride on
// the epoch's loss all-reduce and one gather at the end, summed over the
// ranks that measure, into EpochRecord.Energy and Result.Energy. A failed
// read never fails training: the energy is then reported as not available,
// naming the rank and the reason.
//
// # Usage
//
//	tr, err := train.New(train.Config{
//		Seed: 1234, Epochs: 50, GlobalBatch: 396, BestFit: true,
//		CheckpointDir: filepath.Join(out, "checkpoint"), Resume: resume,
//		Observe: func(ev train.Event) { ... }, // mllog, progress
//	}, task, optimizer, train.Collective{C: comm})
//	if err != nil {
//		return err
//	}
//	res, err := tr.Run(ctx) // res.Epochs, res.Metrics, res.Comm, res.Trace
package train
