// Package metrics writes the outputs of a scibench run and exposes live
// worker metrics (DESIGN.md "Output of a run", BENCHMARKS.md §1).
//
//   - MLLog writes MLCommons ":::MLLOG" records; its LogSubmission, LogInit,
//     RunStart, EpochStart ... RunStop methods write the one compliant
//     sequence of BENCHMARKS.md §1.2, and CheckMLLogSequence validates it.
//   - StopWatch keeps the Science WG named timers and prints the summary
//     table and "# csv," lines; WriteCSV writes stopwatch.csv.
//   - Trace records per-rank phase events (forward, backward, allreduce,
//     wait, data, eval, checkpoint) cheaply; Marshal/Unmarshal carry them to
//     rank 0, which writes trace.json with WriteMerged or WriteTraceFile.
//   - Result is result.json; WriteFileAtomic (temp file, fsync, rename)
//     writes every output file.
//   - WorkerMetrics are the Prometheus metrics of one worker on a
//     caller-owned registry; Serve exposes /metrics, WriteProm writes
//     metrics.prom and Push sends them to a Pushgateway.
//   - Progress draws a bar on a terminal and logs periodic lines otherwise.
//   - NewEnergyCollector exposes an energy meter (package energy) at scrape
//     time as scibench_energy_joules_total{rank,source}; EpochEnergy and
//     EnergyResult are result.json's per-epoch and run energy.
//
// Nil *MLLog, *Trace and *WorkerMetrics are valid and do nothing, so ranks
// other than 0 can pass nil instead of branching.
//
// # Usage
//
// On rank 0 of a run (errors elided):
//
//	mf, _ := os.Create(filepath.Join(out, "mllog.log"))
//	ml := metrics.NewMLLog(mf, nil)
//	sw := metrics.NewStopWatch(nil, ml)
//	ml.LogSubmission(metrics.Submission{Benchmark: "uno", Division: "closed",
//		Version: metrics.SubmissionVersion("uno", version), Status: "research"})
//	ml.LogInit(metrics.RunInit{Ranks: world, Nodes: 1, Seed: cfg.Seed,
//		GlobalBatchSize: 64, TrainSamples: n, EvalSamples: m, OptName: "sgd",
//		OptBaseLearningRate: cfg.LearningRate})
//	ml.RunStart()
//	for e := 1; e <= cfg.Epochs; e++ {
//		ml.EpochStart(e)
//		sw.Start("train")
//		// ... steps: tr.Record(metrics.PhaseForward, 0, t0, time.Since(t0)); wm.Step(loss, sps, time.Now())
//		sw.Stop("train")
//		ml.EpochStop(e)
//		ml.EvalStart(e)
//		ml.EvalMetric(e, "eval_mse", mse)
//		ml.EvalStop(e)
//	}
//	res.Timers = sw.Timers()
//	res.Finalize()
//	ml.LogResult(res.Summary())
//	ml.RunStop(metrics.StatusSuccess)
//	res.WriteFile(filepath.Join(out, "result.json"))
//	sw.Summary(os.Stdout)
//	sw.WriteCSV(filepath.Join(out, "stopwatch.csv"))
//
// On every worker:
//
//	reg := prometheus.NewRegistry()
//	wm, err := metrics.NewWorkerMetrics(reg, rank)
//	go metrics.Serve(ctx, cfg.MetricsAddr, reg) // "" = off
//	tr := metrics.NewTrace(rank, 1<<20)
//	// ... at the end:
//	metrics.WriteProm(filepath.Join(out, fmt.Sprintf("metrics-rank%d.prom", rank)), reg)
//	payload := metrics.Marshal(tr.Events()) // gathered to rank 0, which calls
//	// metrics.WriteTraceFile(filepath.Join(out, "trace.json"), perRank)
package metrics
