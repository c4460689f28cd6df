// Package uno is the candle-uno benchmark (BENCHMARKS.md §4): regression of
// drug-response AUC from cell-line expression (942 features) and drug
// descriptors (5270 features) with the reference two-tower MLP
// (models.NewUno, 16,224,001 parameters), MSE loss, Adamax with the CANDLE
// learning-rate schedule, reduce-on-plateau and early stopping.
//
// The data file is the reference pandas HDFStore (top_21_auc_1fold.uno.h5)
// or a synthetic file of the same layout written by Generate. It is read
// through pkg/hdf5: OpenFile and Partition check keys, widths and row
// counts; Partition.ReadRows streams row ranges (each rank reads its
// contiguous sub-block of every global batch, in file order); Load keeps a
// partition in memory when it fits. Bad input is a *DataError naming the
// file, key and row (ErrData, ErrNaN).
//
// # Usage
//
//	st, err := uno.Generate(ctx, "uno-tiny.h5", uno.Scales["tiny"])
//	cfg, err := uno.LoadConfig("configs/uno-smoke.yaml", []string{"file=uno-tiny.h5"})
//	run, err := uno.Setup(ctx, cfg, dataDir, rank, world, logger)
//	tr, err := train.New(run.Train, run.Task, run.Optimizer, comm)
//	res, err := tr.Run(ctx)
package uno
