package fetch

import (
	"fmt"
	"slices"
	"strconv"
	"time"
)

// Source is one place a benchmark's data comes from: an S3 prefix to list
// (Endpoint, Bucket, Prefix) or one file (URL).
type Source struct {
	// Name says what the source is, for messages ("training", ...).
	Name string
	// S3 (path-style, anonymous): every object under Prefix is fetched to
	// Dest/<key without Prefix>.
	Endpoint, Bucket, Prefix string
	// URL of a single file, fetched to Dest (a file path then).
	URL string
	// Dest is the slash-separated path inside the destination directory.
	Dest string
	// Size and SHA256 of a single file when known (-1 / "" otherwise).
	Size   int64
	SHA256 string
	// Optional files may be missing on the server (HTTP 404): skipped
	// with a note instead of failing.
	Optional bool
	// ExpectFiles is the number of objects the published dataset has
	// under Prefix (BENCHMARKS.md); a listing with another count is
	// reported, not refused. 0: unknown.
	ExpectFiles int
}

// Hosts of the official datasets (BENCHMARKS.md §2.1, §3.1, §4.1, §5.1).
const (
	STFCEndpoint = "https://s3.echo.stfc.ac.uk"
	STFCBucket   = "sciml-datasets"
	UnoURL       = "http://ftp.mcs.anl.gov/pub/candle/public/benchmarks/Pilot1/uno/top_21_auc_1fold.uno.h5"
	// SCEDCCatalogURL is the directory of the SCEDC's yearly catalog
	// files (SCEDC format, YYYY.catalog).
	SCEDCCatalogURL = "https://service.scedc.caltech.edu/ftp/catalogs/SCEC_DC/"
	// SCEDCFirstYear is the first year of the SCSN catalog.
	SCEDCFirstYear = 1932
)

// Benchmarks lists the benchmarks Sources knows, sorted.
func Benchmarks() []string {
	return []string{"cloudmask", "earthquake", "stemdl", "uno"}
}

// Sources returns the official data sources of bench. now sets the last
// year of the earthquake catalog (its files are yearly, to the present).
func Sources(bench string, now time.Time) ([]Source, error) {
	switch bench {
	case "cloudmask", "cloud-mask":
		return []Source{
			{Name: "training", Endpoint: STFCEndpoint, Bucket: STFCBucket, Prefix: "es/cloud_slstr_ds1/training/", Dest: "training", Size: -1, ExpectFiles: 970},
			{Name: "inference", Endpoint: STFCEndpoint, Bucket: STFCBucket, Prefix: "es/cloud_slstr_ds1/inference/", Dest: "inference", Size: -1, ExpectFiles: 100},
		}, nil
	case "stemdl":
		return []Source{
			{Name: "training", Endpoint: STFCEndpoint, Bucket: STFCBucket, Prefix: "ms/stemdl_ds1a/training/", Dest: "training", Size: -1, ExpectFiles: 148006},
			{Name: "validation", Endpoint: STFCEndpoint, Bucket: STFCBucket, Prefix: "ms/stemdl_ds1a/validation/", Dest: "validation", Size: -1, ExpectFiles: 20401},
			{Name: "testing", Endpoint: STFCEndpoint, Bucket: STFCBucket, Prefix: "ms/stemdl_ds1a/testing/", Dest: "testing", Size: -1, ExpectFiles: 9374},
			{Name: "inference", Endpoint: STFCEndpoint, Bucket: STFCBucket, Prefix: "ms/stemdl_ds1a/inference/", Dest: "inference", Size: -1, ExpectFiles: 9375},
		}, nil
	case "uno", "candle-uno":
		return []Source{{Name: "top_21_auc_1fold.uno.h5", URL: UnoURL, Dest: "top_21_auc_1fold.uno.h5", Size: -1}}, nil
	case "earthquake":
		last := now.UTC().Year()
		if last < SCEDCFirstYear {
			last = SCEDCFirstYear
		}
		srcs := make([]Source, 0, last-SCEDCFirstYear+1)
		for y := SCEDCFirstYear; y <= last; y++ {
			name := strconv.Itoa(y) + ".catalog"
			srcs = append(srcs, Source{Name: name, URL: SCEDCCatalogURL + name, Dest: "SCEC_DC/" + name, Size: -1, Optional: true})
		}
		return srcs, nil
	}
	return nil, fmt.Errorf("%w: %q (want one of %v)", ErrUnknownBench, bench, slices.Clone(Benchmarks()))
}
