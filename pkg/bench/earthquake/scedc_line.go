package earthquake

import (
	"bytes"
	"math"
	"strconv"
	"time"
)

// One line of an SCEDC-format ("SCEC_DC") yearly catalog file, as listed by
// https://scedc.caltech.edu/eq-catalogs/docs/scec_dc.html and as found in
// the files themselves (1932 … 2026):
//
//	#YYY/MM/DD HH:mm:SS.ss ET GT MAG  M    LAT     LON     DEPTH Q  EVID     NPH NGRM
//	1932/01/03 17:58:10.01 eq  l 3.00 h    32.000 -116.000   6.0 D  3358388    7    0
//	2020/04/04 01:54:22.57 eq  l 3.76 lr   33.493 -116.505  10.3 A 39126087  228 3231
//	2025/11/29 13:58:00.58 eq  l 1.96 l    32.553 -115.237  12.9 0.75 10208406   24 1735
//
// Date and time sit in fixed columns 1–22. The event type (eq, qb, sn, nt,
// uk) starts in column 24 and the geographic type (l, r, t) in column 28;
// either may be blank, so they are told apart by column. Files written
// before September 2015 have one combined code instead (le, re, qb) and the
// magnitude starts in column 27 rather than 30. From the magnitude on the
// fields are separated by blanks: their widths vary (two-letter magnitude
// types "lr" and "un", 9-digit event ids, 5-digit NGRM, a quality written as
// "0.75"), so they are read as words, not columns. Lines starting with '#'
// and blank lines are comments; "### Number of rows returned:N" closes a
// complete file.

// scedcEvent is one parsed event line. The byte slices point into the line.
type scedcEvent struct {
	unix    int64 // UTC seconds (a seconds field of 60.xx carries into the next minute)
	hs      int   // hundredths of a second, 0..99
	etype   []byte
	gtype   []byte
	mag     []byte
	magtype []byte
	lat     []byte
	lon     []byte
	depth   []byte
	quality []byte
	evid    []byte
	nph     []byte
	ngrm    []byte
}

// key orders events by time (hundredths of a second).
func (e *scedcEvent) key() int64 { return e.unix*100 + int64(e.hs) }

// time returns the event time.
func (e *scedcEvent) time() time.Time {
	return time.Unix(e.unix, int64(e.hs)*10_000_000).UTC()
}

// appendCSV appends the event as one row of the merged CSV (the columns of
// catalogHeader), source naming the file it came from.
func (e *scedcEvent) appendCSV(b []byte, source string) []byte {
	b = time.Unix(e.unix, 0).UTC().AppendFormat(b, "2006-01-02T15:04:05")
	b = append(b, '.', byte('0'+e.hs/10), byte('0'+e.hs%10), 'Z')
	for _, f := range [...][]byte{e.lat, e.lon, e.depth, e.mag, e.magtype, e.etype, e.gtype, e.quality, e.evid, e.nph} {
		b = append(b, ',')
		b = append(b, f...)
	}
	b = append(b, ',')
	return append(b, source...)
}

// catalogHeader is the header of the merged CSV: the columns of the shared
// catalog CSV (BENCHMARKS.md §5.1).
const catalogHeader = "time,latitude,longitude,depth_km,mag,magtype,etype,gtype,quality,evid,nph,source\n"

// scedcLineKind says what a catalog line is.
type scedcLineKind int

const (
	scedcComment scedcLineKind = iota // '#' line or blank line
	scedcTrailer                      // "### Number of rows returned:N"
	scedcEventLine
)

// scedcLineError is a line that cannot be parsed; nan marks a non-finite number.
type scedcLineError struct {
	msg string
	nan bool
}

var trailerPrefix = []byte("### Number of rows returned:")

// word is a blank-separated token of a line: b[start:end].
type word struct{ start, end int }

func isLetters(b []byte) bool {
	for _, c := range b {
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') {
			return false
		}
	}
	return len(b) > 0
}

func isDigits(b []byte) bool {
	_, ok := num(b)
	return ok
}

// isQuality accepts a location quality: letters (A–D, Z) or a number such as 0.75.
func isQuality(b []byte) bool {
	for _, c := range b {
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '.' {
			return false
		}
	}
	return len(b) > 0
}

// decimal checks a plain decimal number ([+-]digits[.digits]) and returns it.
func decimal(b []byte) (float64, bool) {
	if _, ok := parseFixed5(b); !ok {
		return 0, false
	}
	v, err := parseFloat(b)
	return v, err == nil && !math.IsInf(v, 0)
}

// parseSCEDCLine parses one line (without its line end) into ev. For a
// trailer it returns the row count the trailer states.
func parseSCEDCLine(b []byte, ev *scedcEvent) (scedcLineKind, int, *scedcLineError) {
	if len(b) > 0 && b[0] == '#' {
		if rest, ok := bytes.CutPrefix(b, trailerPrefix); ok {
			n, ok := num(bytes.TrimSpace(rest))
			if !ok {
				return 0, 0, &scedcLineError{msg: "bad row count in " + strconv.Quote(string(b))}
			}
			return scedcTrailer, n, nil
		}
		return scedcComment, 0, nil
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return scedcComment, 0, nil
	}
	if len(b) >= 11 && b[4] == ' ' && b[7] == ' ' && isDigits(b[0:4]) {
		return 0, 0, &scedcLineError{msg: "SCSN-format line (YYYY MM DD …); only SCEDC (SCEC_DC) format files are read: use the SCEC_DC directory"}
	}
	if len(b) < 23 || b[4] != '/' || b[7] != '/' || b[10] != ' ' || b[13] != ':' || b[16] != ':' || b[19] != '.' || b[22] != ' ' {
		return 0, 0, &scedcLineError{msg: "want YYYY/MM/DD HH:mm:SS.ss in columns 1-22, got " + strconv.Quote(string(b))}
	}
	if !parseSCEDCTime(b[:22], ev) {
		return 0, 0, &scedcLineError{msg: "bad date or time " + strconv.Quote(string(b[:22]))}
	}

	var ws [20]word
	n := 0
	for i := 22; i < len(b); {
		for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
			i++
		}
		if i == len(b) {
			break
		}
		j := i
		for j < len(b) && b[j] != ' ' && b[j] != '\t' {
			j++
		}
		if n == len(ws) {
			return 0, 0, &scedcLineError{msg: "too many fields"}
		}
		ws[n] = word{i, j}
		n++
		i = j
	}
	w := func(k int) []byte { return b[ws[k].start:ws[k].end] }

	// Type codes: the letter words before the magnitude.
	k := 0
	for k < n && isLetters(w(k)) {
		k++
	}
	if k == n {
		return 0, 0, &scedcLineError{msg: "no magnitude"}
	}
	if k > 2 {
		return 0, 0, &scedcLineError{msg: "more than two type codes before the magnitude"}
	}
	ev.etype, ev.gtype = nil, nil
	if ws[k].start >= 27 { // current layout: magnitude in columns 30-33 (28-33 if wider)
		for i := range k {
			c := w(i)
			switch {
			case len(c) > 2:
				return 0, 0, &scedcLineError{msg: "bad type code " + strconv.Quote(string(c))}
			case ws[i].start <= 25 && ev.etype == nil && ev.gtype == nil:
				ev.etype = c
			case ws[i].start >= 26 && ev.gtype == nil:
				ev.gtype = c
			default:
				return 0, 0, &scedcLineError{msg: "type codes not in columns 24 (event type) and 28 (geographic type)"}
			}
		}
	} else { // before 2015-09: one combined code in columns 24-25, magnitude from column 27
		if k > 1 {
			return 0, 0, &scedcLineError{msg: "two type codes in the older layout (magnitude in column 27)"}
		}
		if k == 1 {
			c := w(0)
			switch {
			case len(c) == 2 && c[1] == 'e' && (c[0] == 'l' || c[0] == 'r' || c[0] == 't'):
				ev.etype, ev.gtype = []byte("eq"), c[:1] // local/regional/teleseismic earthquake
			case len(c) <= 2:
				ev.etype = c // qb and anything else keep their code
			default:
				return 0, 0, &scedcLineError{msg: "bad type code " + strconv.Quote(string(c))}
			}
		}
	}
	ev.mag = w(k)
	if _, ok := decimal(ev.mag); !ok {
		return 0, 0, &scedcLineError{msg: "bad magnitude " + strconv.Quote(string(ev.mag)), nan: isNaNWord(ev.mag)}
	}
	k++
	ev.magtype = nil
	if k < n && isLetters(w(k)) {
		if len(w(k)) > 3 {
			return 0, 0, &scedcLineError{msg: "bad magnitude type " + strconv.Quote(string(w(k)))}
		}
		ev.magtype = w(k)
		k++
	}
	if n-k < 5 || n-k > 7 {
		return 0, 0, &scedcLineError{msg: "want LAT LON DEPTH Q EVID [NPH [NGRM]] after the magnitude, got " + strconv.Quote(string(b[ws[k-1].end:]))}
	}
	ev.lat, ev.lon, ev.depth, ev.quality, ev.evid = w(k), w(k+1), w(k+2), w(k+3), w(k+4)
	ev.nph, ev.ngrm = nil, nil
	if n-k > 5 {
		ev.nph = w(k + 5)
	}
	if n-k > 6 {
		ev.ngrm = w(k + 6)
	}
	if _, ok := parseFixed5(ev.lat); !ok {
		return 0, 0, &scedcLineError{msg: "bad latitude " + strconv.Quote(string(ev.lat)), nan: isNaNWord(ev.lat)}
	}
	if _, ok := parseFixed5(ev.lon); !ok {
		return 0, 0, &scedcLineError{msg: "bad longitude " + strconv.Quote(string(ev.lon)), nan: isNaNWord(ev.lon)}
	}
	if _, ok := decimal(ev.depth); !ok {
		return 0, 0, &scedcLineError{msg: "bad depth " + strconv.Quote(string(ev.depth)), nan: isNaNWord(ev.depth)}
	}
	if !isQuality(ev.quality) {
		return 0, 0, &scedcLineError{msg: "bad quality " + strconv.Quote(string(ev.quality))}
	}
	for _, f := range [...]struct {
		name string
		v    []byte
	}{{"event id", ev.evid}, {"NPH", ev.nph}, {"NGRM", ev.ngrm}} {
		if f.v != nil && !isDigits(f.v) {
			return 0, 0, &scedcLineError{msg: "bad " + f.name + " " + strconv.Quote(string(f.v))}
		}
	}
	return scedcEventLine, 0, nil
}

func isNaNWord(b []byte) bool {
	v, err := parseFloat(b)
	return err == nil && (math.IsNaN(v) || math.IsInf(v, 0))
}

// parseSCEDCTime parses YYYY/MM/DD HH:mm:SS.ss (UTC). The SCEDC writes some
// times with 60.xx seconds (1976/09/04 02:42:60.99); they carry into the next
// minute, as in the shared CSV (1976-09-04T02:43:00.99Z).
func parseSCEDCTime(b []byte, ev *scedcEvent) bool {
	y, ok1 := num(b[0:4])
	mo, ok2 := num(b[5:7])
	d, ok3 := num(b[8:10])
	hh, ok4 := num(b[11:13])
	mm, ok5 := num(b[14:16])
	ss, ok6 := num(b[17:19])
	hs, ok7 := num(b[20:22])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7) || mo < 1 || mo > 12 || d < 1 || hh > 23 || mm > 59 || ss > 60 {
		return false
	}
	t := time.Date(y, time.Month(mo), d, hh, mm, 0, 0, time.UTC)
	if t.Day() != d {
		return false
	}
	ev.unix, ev.hs = t.Unix()+int64(ss), hs
	return true
}
