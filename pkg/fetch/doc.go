// Package fetch downloads the official datasets of the benchmarks
// (BENCHMARKS.md §2.1, §3.1, §4.1, §5.1): the STFC object store for
// cloud-mask and stemdl (anonymous S3, listed with the ListObjectsV2 XML
// API), the ANL server for candle-uno, and the SCEDC yearly catalog files
// for earthquake.
//
// Every file is written to PATH.part and renamed to PATH only when it is
// complete and verified: its size (from the listing or Content-Length),
// its MD5 (from an S3 ETag of a single-part upload) and its SHA-256 when
// known. A transfer that is cut resumes with an HTTP Range request from
// the bytes already in PATH.part, in the same run (Config.Retries, with
// back-off) or in the next one; a server that ignores Range sends the
// whole file again. A transfer that stalls is aborted and retried. Files
// already present with the right size are skipped. When the host cannot
// be reached (DNS or dial failure) the error wraps ErrUnreachable and
// says what to do instead.
//
// # Usage
//
//	srcs, err := fetch.Sources("cloudmask", time.Now())
//	f, err := fetch.New(fetch.Config{Progress: os.Stderr})
//	files, notes, err := f.Plan(ctx, srcs) // lists the S3 prefixes
//	stats, err := f.Fetch(ctx, files, "/data/cloudmask", "fetch cloudmask")
//
// Config.Mirror sends every request to another host with the same paths
// (a site mirror; the tests' httptest server).
package fetch
