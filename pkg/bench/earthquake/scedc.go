package earthquake

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// ErrOverlap marks SCEDC catalog files whose time ranges overlap (the same
// year twice, or a file holding another's events).
var ErrOverlap = errors.New("earthquake: overlapping catalog files")

// SCEDCSubdir is the folder `scibench data fetch earthquake` writes the
// yearly files to (fetch.Sources).
const SCEDCSubdir = "SCEC_DC"

// SCEDCFile is one yearly catalog file of an SCEDCCatalog.
type SCEDCFile struct {
	Path    string    // path as opened
	Name    string    // path relative to the catalog directory, slash-separated (the CSV source column)
	Events  int       // event lines
	First   time.Time // earliest event time (zero when Events is 0)
	Last    time.Time // latest event time
	Trailer bool      // the file ends with "### Number of rows returned:N" (N is checked)
}

// SCEDCCatalog is a directory of SCEDC-format ("SCEC_DC") yearly catalog
// files read as one catalog. It is an io.Reader of the merged CSV (the
// columns of the shared catalog CSV, source = file name), which Prepare
// reads like any CSV catalog: the same filters and the same exact decimal
// pixel binning, since latitude and longitude are copied as written.
//
// OpenSCEDC parses every file once, so bad lines are reported (file and line)
// before anything is prepared; Read parses them again as it streams.
type SCEDCCatalog struct {
	Dir    string      // the directory given to OpenSCEDC
	Files  []SCEDCFile // in merge order: by first event time
	Events int         // event lines in all files

	next   int // index in Files of the next file to open
	sc     *scedcScanner
	cur    *SCEDCFile
	out    []byte
	off    int
	err    error
	header bool
}

// OpenSCEDC finds the *.catalog files in dir or, when dir has none, in
// dir/SCEC_DC (the layout `scibench data fetch earthquake --to dir` writes),
// checks every line, and orders the files by their first event. Files must
// not overlap in time: two files for the same year give an error wrapping
// ErrOverlap that names both. Files without events (a header only) are kept
// but contribute nothing. Bad input gives a *DataError naming the file and
// line.
func OpenSCEDC(ctx context.Context, dir string) (*SCEDCCatalog, error) {
	paths, err := scedcPaths(dir)
	if err != nil {
		return nil, err
	}
	c := &SCEDCCatalog{Dir: dir, Files: make([]SCEDCFile, 0, len(paths))}
	for _, p := range paths {
		f, err := scanSCEDCFile(ctx, dir, p)
		if err != nil {
			return nil, err
		}
		c.Files = append(c.Files, f)
		c.Events += f.Events
	}
	if c.Events == 0 {
		return nil, &DataError{File: dir, Msg: fmt.Sprintf("no events in the %d SCEDC catalog files", len(c.Files)), Err: ErrNoEvents}
	}
	slices.SortStableFunc(c.Files, func(a, b SCEDCFile) int {
		if a.Events == 0 || b.Events == 0 {
			return cmp.Compare(b.Events, a.Events) // empty files last
		}
		return a.First.Compare(b.First)
	})
	for i := 1; i < len(c.Files) && c.Files[i].Events > 0; i++ {
		a, b := &c.Files[i-1], &c.Files[i]
		if !b.First.After(a.Last) {
			return nil, &DataError{File: b.Path, Err: ErrOverlap, Msg: fmt.Sprintf(
				"its events (%s … %s) overlap those of %s (%s … %s): keep one file per year",
				fmtTime(b.First), fmtTime(b.Last), a.Path, fmtTime(a.First), fmtTime(a.Last))}
		}
	}
	return c, nil
}

func fmtTime(t time.Time) string { return t.Format("2006-01-02T15:04:05.00Z") }

// scedcPaths lists the *.catalog files of dir, or of dir/SCEC_DC when dir
// has none, sorted by name.
func scedcPaths(dir string) ([]string, error) {
	top, err := catalogFilesIn(dir)
	if err != nil {
		return nil, err
	}
	sub := filepath.Join(dir, SCEDCSubdir)
	inSub, err := catalogFilesIn(sub)
	if err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
		return nil, err
	}
	switch {
	case len(top) > 0 && len(inSub) > 0:
		return nil, &DataError{File: dir, Err: ErrOverlap, Msg: fmt.Sprintf(
			"holds *.catalog files both in itself (%d) and in %s (%d): give the folder that holds the files you mean",
			len(top), SCEDCSubdir, len(inSub))}
	case len(top) > 0:
		return top, nil
	case len(inSub) > 0:
		return inSub, nil
	}
	return nil, &DataError{File: dir, Err: ErrNoEvents, Msg: fmt.Sprintf(
		"no *.catalog files in it or in %s/ (fetch them with `scibench data fetch earthquake --to %s`)", SCEDCSubdir, dir)}
}

// catalogFilesIn returns the regular files (or links to them) named *.catalog in dir.
func catalogFilesIn(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".catalog") || e.IsDir() {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
			continue
		}
		out = append(out, p)
	}
	return out, nil // ReadDir sorts by name
}

// scanSCEDCFile checks every line of one file and records its time range.
func scanSCEDCFile(ctx context.Context, dir, path string) (SCEDCFile, error) {
	name, err := filepath.Rel(dir, path)
	if err != nil {
		name = filepath.Base(path)
	}
	f := SCEDCFile{Path: path, Name: filepath.ToSlash(name)}
	sc, err := openSCEDCScanner(path)
	if err != nil {
		return f, err
	}
	defer sc.close()
	var lo, hi int64
	for {
		if sc.events%65536 == 0 {
			if err := ctx.Err(); err != nil {
				return f, fmt.Errorf("earthquake: reading %s at line %d: %w", path, sc.line, err)
			}
		}
		ok, err := sc.next()
		if err != nil {
			return f, err
		}
		if !ok {
			break
		}
		k := sc.ev.key()
		if sc.events == 1 {
			lo, hi = k, k
			f.First = sc.ev.time()
		}
		if k < lo {
			lo, f.First = k, sc.ev.time()
		}
		if k >= hi {
			hi, f.Last = k, sc.ev.time()
		}
	}
	f.Events, f.Trailer = sc.events, sc.trailer >= 0
	return f, nil
}

// MissingYears lists the calendar years between the first and the last event
// that no file has an event in (a year the server lacked or a file left out:
// the prepared data would be empty there).
func (c *SCEDCCatalog) MissingYears() []int {
	seen := map[int]bool{}
	first, last := 0, 0
	for _, f := range c.Files {
		if f.Events == 0 {
			continue
		}
		for y := f.First.Year(); y <= f.Last.Year(); y++ {
			seen[y] = true
		}
		if first == 0 || f.First.Year() < first {
			first = f.First.Year()
		}
		last = max(last, f.Last.Year())
	}
	var miss []int
	for y := first; y <= last; y++ {
		if !seen[y] {
			miss = append(miss, y)
		}
	}
	return miss
}

// Read implements io.Reader: the header, then every event of every file in
// merge order as CSV rows.
func (c *SCEDCCatalog) Read(p []byte) (int, error) {
	for c.off == len(c.out) {
		if c.err != nil {
			return 0, c.err
		}
		c.out, c.off = c.out[:0], 0
		c.err = c.fill(64 << 10)
	}
	n := copy(p, c.out[c.off:])
	c.off += n
	return n, nil
}

// fill appends rows to c.out until it holds at least want bytes or the
// catalog ends (io.EOF) or fails.
func (c *SCEDCCatalog) fill(want int) error {
	if !c.header {
		c.header = true
		c.out = append(c.out, catalogHeader...)
	}
	for len(c.out) < want {
		if c.sc == nil {
			if c.next == len(c.Files) {
				return io.EOF
			}
			c.cur = &c.Files[c.next]
			c.next++
			sc, err := openSCEDCScanner(c.cur.Path)
			if err != nil {
				return err
			}
			c.sc = sc
		}
		ok, err := c.sc.next()
		if err != nil {
			return err
		}
		if !ok {
			n := c.sc.events
			c.sc.close()
			c.sc = nil
			if n != c.cur.Events {
				return &DataError{File: c.cur.Path, Err: ErrMalformed, Msg: fmt.Sprintf("changed while being read (%d events, then %d)", c.cur.Events, n)}
			}
			continue
		}
		c.out = c.sc.ev.appendCSV(c.out, c.cur.Name)
		c.out = append(c.out, '\n')
	}
	return nil
}

// Close closes the file being read, if any. It is safe to call twice.
func (c *SCEDCCatalog) Close() error {
	if c.sc != nil {
		c.sc.close()
		c.sc = nil
	}
	if c.err == nil {
		c.err = errors.New("earthquake: read after Close")
	}
	return nil
}

// scedcScanner reads the event lines of one file.
type scedcScanner struct {
	path    string
	f       *os.File
	br      *bufio.Reader
	line    int
	events  int
	trailer int // row count of the trailer line, -1 before (or without) one
	ev      scedcEvent
}

const scedcMaxLine = 64 << 10

func openSCEDCScanner(path string) (*scedcScanner, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return &scedcScanner{path: path, f: f, br: bufio.NewReaderSize(f, scedcMaxLine), trailer: -1}, nil
}

func (s *scedcScanner) close() { s.f.Close() }

// next advances to the next event line; false at the end of the file.
func (s *scedcScanner) next() (bool, error) {
	for {
		b, err := s.br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return false, &DataError{File: s.path, Line: s.line + 1, Msg: "line longer than 64 KiB (not a catalog file?)", Err: ErrMalformed}
		}
		if err != nil && err != io.EOF {
			return false, &DataError{File: s.path, Line: s.line + 1, Msg: "read: " + err.Error(), Err: ErrMalformed}
		}
		if len(b) == 0 && err == io.EOF {
			if s.trailer >= 0 && s.trailer != s.events {
				return false, &DataError{File: s.path, Err: ErrMalformed, Msg: fmt.Sprintf(
					"its last line says %d rows but it has %d event lines (cut short or edited?)", s.trailer, s.events)}
			}
			return false, nil
		}
		s.line++
		cut := !bytes.HasSuffix(b, []byte("\n"))
		b = bytes.TrimSuffix(b, []byte("\n"))
		b = bytes.TrimSuffix(b, []byte("\r"))
		kind, n, lerr := parseSCEDCLine(b, &s.ev)
		if lerr != nil {
			e, msg := ErrMalformed, lerr.msg
			if lerr.nan {
				e = ErrNaN
			}
			if cut {
				msg = "the file ends inside this line (cut short?): " + msg
			}
			return false, &DataError{File: s.path, Line: s.line, Msg: msg, Err: e}
		}
		switch kind {
		case scedcTrailer:
			s.trailer = n
			continue
		case scedcComment:
			continue
		}
		if s.trailer >= 0 {
			return false, &DataError{File: s.path, Line: s.line, Msg: "event line after the \"### Number of rows returned\" line", Err: ErrMalformed}
		}
		s.events++
		return true, nil
	}
}
