// Package catalog embeds the real Southern California earthquake catalog
// (SCSN/SCEDC, 1932 – 2026-08-07, 812,108 events in the benchmark's box) so
// the default earthquake run needs no download. See README.md beside this
// file for its source, caveats and the citation the data provider asks for:
//
//	California Institute of Technology (Caltech) (1926): Southern California
//	Seismic Network. doi:10.7914/SN/CI
//	SCEDC (2013): Southern California Earthquake Center. Caltech. Dataset.
//	doi:10.7909/C3WD3xH1
package catalog

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"io"
)

// Name is the file name of the embedded catalog.
const Name = "socal_box_32-36N_120-114W_1932-2026_all_events.csv.gz"

//go:embed socal_box_32-36N_120-114W_1932-2026_all_events.csv.gz
var gz []byte

// Gzipped returns the embedded catalog as gzip-compressed CSV bytes.
func Gzipped() []byte { return gz }

// Open returns a reader of the decompressed CSV.
func Open() (io.ReadCloser, error) {
	return gzip.NewReader(bytes.NewReader(gz))
}
