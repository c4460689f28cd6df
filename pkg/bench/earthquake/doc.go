// Package earthquake prepares the data of the MLCommons earthquake (tevelop)
// benchmark from the raw SCSN/SCEDC catalog, cuts it into LSTM sequence
// windows and computes the NNSE metric (BENCHMARKS.md §5).
//
// # Pipeline (BENCHMARKS.md §5.2)
//
// Prepare streams the catalog CSV (gzip detected by magic bytes) and keeps
// events of etype "eq" or blank from 1950-01-01 to the end of the span
// (SpanDefault: 2019-10-14, D = 25,489 days; SpanReference: 2019-12-31,
// D = 25,567). Coordinates are parsed as exact decimals in integer
// 1e-5-degree units (never through float64), so events on 0.1° grid lines
// land in the right pixel (lat 34.1 → row 19). Rows outside the
// 32..36 N / 120..114 W box are counted and skipped; a row that cannot be
// parsed is an error naming the file and line. Per pixel-day the magnitudes
// are energy-summed, per fortnight (the first S = D mod 14 days dropped) the
// days are energy-summed again, both with max-subtracted log-sum-exp in
// float64, empty days counting as magnitude 0. Back windows (2…26
// fortnights) and the forward targets Calc_0..8 (jumps J, delays Δ) follow;
// 25 fortnights are dropped so every back window is full (T = F − 25 steps).
// Active pixels pass R1 ≥ 7.1 or R2 ≥ 34.1 (M > 3.29 counts over all F
// fortnights), or are the reference's 500 (§5.9) with LocationsReference500.
// Every property is min-max normalised over all T × 2400 pixels before the
// active pixels are selected (a constant property normalises to 0). The validation statistics of §5.2 step 9 are in
// Dataset.Meta.Stats.
//
// # Files written by Save (documented layout, NumPy .npy v1.0, little-endian)
//
//	meta.json       Meta: format, span, D, S, F, T, Nloc, dates, row counts, catalog sha256, stats, column names
//	dynamic.npy     float32 [T, Nloc, 9]   normalised dynamic inputs (DynamicNames)
//	targets.npy     float32 [T, Nloc, 10]  Magnitude 2 weeks then Calc_0..8 (TargetNames), NaN past the data
//	encodings.npy   float32 [T, 14]        EncodingNames; column 0 (LinearSpace) stored as 0
//	locations.npy   int32   [Nloc]         active pixels, iloc = x + 60y ascending
//	norm_min.npy    float64 [18]           per property: 9 dynamic, then Calc_0..8
//	norm_max.npy    float64 [18]
//
// Save writes a temporary sibling directory and renames it into place.
//
// # Windows and metric
//
// FillBatch fills caller-owned buffers [B, Tseq, 23] (9 dynamic + 14
// encodings) and [B, 24] (Magnitude 2 weeks, Calc_0..8, 14 encodings at
// T* = s+Tseq) without allocating; TargetWeights gives the loss weights.
// SplitLocations draws ceil(0.8·Nloc) training locations from a seed. The 4
// static fault inputs of the reference are omitted (TODO: optional 40×60
// fault-label CSV → 27 inputs).
//
// NNSE accumulates plain sums (per target and location: n, Σo, Σo²,
// Σ(o−p)²; per target and sequence position: location-summed o and p for
// training and validation locations). Ranks holding a shard of the
// predictions all-reduce NNSE.Sums() and then call Report, which gives the
// six aggregates A, AT, AV, S, ST, SV per target and the weighted MSE.
//
// # Errors
//
// Bad input gives a *DataError{File, Line, Msg, Err} wrapping ErrMalformed,
// ErrNaN, ErrNoEvents or ErrShape; the command line maps it to exit code 2.
//
// # Usage
//
//	f, err := os.Open("socal_box_32-36N_120-114W_1932-2026_all_events.csv.gz")
//	if err != nil { ... }
//	defer f.Close()
//	ds, err := earthquake.Prepare(f, earthquake.Options{File: f.Name()})
//	if err != nil { ... } // *DataError for bad rows
//	if err := ds.Save("data/earthquake"); err != nil { ... }
//
//	ds, err = earthquake.Load("data/earthquake")
//	train, val, err := earthquake.SplitLocations(ds.Meta.Nloc, seed)
//	pairs, err := ds.Pairs(train, earthquake.DefaultTseq)
//	x := make([]float32, len(pairs[:b])*earthquake.DefaultTseq*earthquake.NumInputs)
//	y := make([]float32, b*earthquake.NumOutputs)
//	err = ds.FillBatch(x, y, pairs[:b], earthquake.DefaultTseq)
//
// From the command line:
//
//	scibench data prepare earthquake --catalog FILE --out DIR [--span default|reference] [--locations computed|reference500]
package earthquake
