// Package cloudmask is the MLCommons Science cloud-mask benchmark
// (BENCHMARKS.md §2): per-pixel cloud segmentation of Sentinel-3 SLSTR
// scenes with the reference U-Net (1,948,609 parameters), pixel accuracy
// on validation patches each epoch, and tiled inference over whole scenes
// with per-file accuracy and time per inference.
//
// # Data
//
// A scene is an HDF5 file named S3A*.hdf with root datasets refs (H,W,6),
// bts (H,W,3) and bayes (H,W,1) of any numeric type. FindScenes globs a
// folder recursively and sorts the paths; Inspect checks keys and shapes
// without reading pixels. The training folder is split at file level
// (SplitFiles: sorted list, seeded shuffle, round(0.8·n) training files);
// the split is recorded in result.json (config.split) and split.json. Each
// training or validation file contributes the non-overlapping patch-size
// tiles of its centred crop (Grid: 1200×1500 at 256 gives 4×5 tiles at
// offsets (88, 110)). Inputs are concat(refs', bts') with the fixed v1.1
// normalisation (refs − 0.5, (bts − 270)/22) or v1.2's per-image
// standardisation; the label is bayes > 0. Non-finite values become 0
// after normalisation and are counted (nonfinite_values).
//
// Training patches are served from decoded bands (one row of tiles of a
// file) kept in an LRU cache bounded by cache_mb, so real data larger than
// memory works; every rank can serve any patch, which is what the training
// loop's world-size-independent sharding (train.RankBlock of one global
// permutation) needs. Validation patches and inference files are split
// across ranks with RankBlock in EvalSums and reduced as sums.
//
// # Inference
//
// After the last epoch, EvalSums also predicts every inference scene with
// the reference tiling (NewTiling: 256² tiles at stride 176 over the
// SAME-padded scene, the central 176² of each kept, exactly one tile per
// pixel), writes <mask_dir>/<name>.h5 (dataset mask, float32 (1,H,W,1)
// probabilities) and PNG previews (false colour | truth | prediction) for
// the first `previews` scenes, and reports inference_accuracy (mean of the
// per-file pixel accuracies), inference_accuracy_NNN per file,
// inference_f1_cloud and time_per_inference (inference wall time of the
// slowest rank divided by the number of files).
//
// # Bad input
//
// Missing keys, wrong shapes, scenes smaller than a patch, unreadable
// files and empty folders are *DataError values naming the file and key
// (sentinels ErrMissingKey, ErrShape, ErrUnreadable, ErrNoScenes); their
// BadInput method makes the command line exit with code 2. With
// bad_files: skip, bad files are skipped with a warning and counted
// (skipped_files).
//
// # Synthetic data
//
// Generate writes the §2.6 synthetic scenes (smooth cloud fields, bright
// reflectance, cold brightness temperature, small label noise) in the
// same layout under training/{day,night} and inference/{day,night};
// profiles tiny (tests), small (learning check) and full-shape. A config
// with synthetic: <scale> generates them once under the data directory.
//
// # Usage
//
//	cfg, err := cloudmask.LoadConfig("configs/cloudmask-smoke.yaml", nil)
//	if err != nil {
//		return err // *config.Error naming file, line and key: exit 2
//	}
//	run, err := cloudmask.Setup(ctx, cfg, dataDir, rank, world, logger)
//	if err != nil {
//		return err
//	}
//	tr, err := train.New(run.Train, run.Task, run.Optimizer, comm)
//	res, err := tr.Run(ctx) // res.Metrics: val_accuracy, inference_accuracy, time_per_inference, ...
//
// From the command line:
//
//	scibench data generate cloudmask --out DIR --scale small
//	scibench run cloudmask --nproc 2 --config configs/cloudmask.yaml --data DIR
package cloudmask
