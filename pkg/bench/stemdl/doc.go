// Package stemdl is the MLCommons Science stemdl benchmark (reference
// v1.0, BENCHMARKS.md §3): classification of crystal space groups from
// convergent-beam electron diffraction (CBED) patterns with a ResNet.
//
// # Data
//
// The benchmark copy (stemdl_ds1a) is a folder per split, training/,
// validation/, testing/ and inference/, of sample-<n>.npz files: an
// uncompressed zip of data.npy (<f4, (3,128,128), C order) and label.npy
// (<i8, (1,)), label = space group 1..230 used directly as the class
// index, so the model has 231 outputs. ReadNPZ/ReadNPY parse the zip and
// the .npy header (versions 1, 2 and 3; '<f4' and '<i8'; fortran_order
// False) with archive/zip and encoding/binary; ReadSample checks shape,
// label range and finiteness. The raw ORNL form (data_format: hdf5:
// folders train/, dev/, test/ of *.h5) holds groups sample_<i>_<j> with a
// cbed_stack (3,512,512) float32 dataset and a space_group string
// attribute; ReadRawFile applies the reference preprocessing (LogScale:
// clip(10·(max(ln I, −17)+17), 0, 255), then a 4×4 BlockMean to 128²).
// Files are listed non-recursively and sorted. LoadSplit holds a whole
// folder in memory, block-averaged to the configured image_size (a divisor
// of 128).
//
// Generate writes synthetic data in the same format (§3.6): 8 space groups
// (SynthLabels), each fixing the 2-D lattices of its 3 projections;
// materials (spacing, c/a, rotation, disc radius, reflection amplitudes)
// split disjointly about 70/15/15 per label; each sample is rendered at
// 512² with jitter and 5% multiplicative noise and preprocessed like the
// raw data. Optionally a few raw HDF5 twins are written to test the
// converter.
//
// # Model, loss, metrics
//
// Task drives models.NewResNet (resnet50 — 23,981,351 parameters — or
// resnet34/resnet18, optional smaller width) with the loss summed over the
// batch: cross-entropy, or with loss: mse_onehot the official STFC code's
// MSE of the logits against one-hot targets (mean over the 231 outputs per
// sample). The optimizer is AdamW (weight decay 5e-5, eps 1e-8) with the
// learning rate × ranks (ORNL) unless lr_scale: none. Evaluation runs on
// each rank's contiguous block of the validation (and inference) folder;
// Counts holds per-class TP/FP/FN that the loop all-reduces, so top-1 and
// the dataset-level macro F1 (mean over classes in y_true ∪ y_pred of
// 2TP/(2TP+FP+FN)) do not depend on the number of ranks. f1_batchavg is
// the ORNL per-batch sklearn-style macro F1 averaged over batches (×100),
// and time_per_inference the mean rank wall time of the inference pass
// per sample.
//
// # Errors
//
// Bad input gives a *DataError{File, Item, Msg, Err} wrapping ErrFormat,
// ErrShape, ErrLabel or ErrMissing; InputError turns it into a
// *config.Error on key data_dir so that the command line exits with 2.
//
// # Usage
//
//	cfg, err := stemdl.LoadConfig("configs/stemdl-smoke.yaml", nil)
//	run, err := stemdl.Setup(ctx, cfg, dataDir, rank, world, logger)
//	tr, err := train.New(run.Train, run.Task, run.Optimizer, comm)
//	res, err := tr.Run(ctx)
//	stemdl.WriteReport(os.Stdout, res.Metrics)
//
//	data, label, err := stemdl.ReadSample("training/sample-0.npz", [3]int{3, 128, 128}, stemdl.NumClasses)
//	rep, err := stemdl.Generate(ctx, "data/stemdl", stemdl.GenConfig{Scale: "tiny"})
//
// From the command line:
//
//	scibench data generate stemdl --out DIR [--scale tiny|small] [--seed S] [--raw N]
//	scibench run stemdl --nproc 2 --config configs/stemdl-smoke.yaml
package stemdl
