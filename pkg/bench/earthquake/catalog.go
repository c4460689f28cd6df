package earthquake

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"
	"unsafe"
)

// Grid geometry (BENCHMARKS.md §5.2 step 2), in integer 1e-5-degree units.
const (
	NX   = 60      // pixels west→east, x = ⌊(lon+120)·10⌋
	NY   = 40      // pixels north→south, y = ⌊(36−lat)·10⌋
	NPix = NX * NY // iloc = x + 60·y

	unitsPerDeg  = 100000
	unitsPerPix  = unitsPerDeg / 10
	latMinUnits  = 32 * unitsPerDeg
	latMaxUnits  = 36 * unitsPerDeg
	lonMinUnits  = -120 * unitsPerDeg
	lonMaxUnits  = -114 * unitsPerDeg
	catalogBufSz = 1 << 20
)

// Counts tallies what happened to the catalog rows.
type Counts struct {
	Rows              int `json:"rows"`
	Kept              int `json:"kept"`
	DroppedQuarry     int `json:"dropped_quarry_blast"`
	DroppedOtherType  int `json:"dropped_other_etype"`
	DroppedOutsideBox int `json:"dropped_outside_box"`
	DroppedBeforeSpan int `json:"dropped_before_span"`
	DroppedAlignment  int `json:"dropped_alignment_days"`
	DroppedAfterSpan  int `json:"dropped_after_span"`
}

// event is one kept catalog row: pixel, day index from D0, magnitude, depth.
type event struct {
	pix int32
	day int32
	m   float64
	z   float64
}

// fixed5 is a decimal number in 1e-5 units truncated toward zero; rest is
// the sign (−1, 0, +1) of the discarded digits beyond the fifth decimal, so
// comparisons and floors stay exact for any number of decimals.
type fixed5 struct {
	u    int64
	rest int8
}

// parseFixed5 parses [+-]digits[.digits] without going through float.
func parseFixed5(b []byte) (fixed5, bool) {
	var v fixed5
	if len(b) == 0 {
		return v, false
	}
	neg := false
	switch b[0] {
	case '-':
		neg = true
		b = b[1:]
	case '+':
		b = b[1:]
	}
	digits, frac, dot := 0, 0, false
	var u int64
	nonzeroRest := false
	for _, c := range b {
		switch {
		case c == '.' && !dot:
			dot = true
		case c >= '0' && c <= '9':
			digits++
			if dot {
				if frac == 5 {
					if c != '0' {
						nonzeroRest = true
					}
					continue
				}
				frac++
			} else if u > 1e12 {
				return v, false // absurdly large; never a coordinate
			}
			u = u*10 + int64(c-'0')
		default:
			return v, false
		}
	}
	if digits == 0 {
		return v, false
	}
	for ; frac < 5; frac++ {
		u *= 10
	}
	v.u = u
	if nonzeroRest {
		v.rest = 1
	}
	if neg {
		v.u, v.rest = -v.u, -v.rest
	}
	return v, true
}

// cmpUnits compares the exact value v with the integer bound (1e-5 units).
func (v fixed5) cmpUnits(bound int64) int {
	switch {
	case v.u < bound, v.u == bound && v.rest < 0:
		return -1
	case v.u > bound, v.u == bound && v.rest > 0:
		return 1
	}
	return 0
}

// floorDivRest returns ⌊(a + rest·δ)/b⌋ for some 0 < δ < 1 (δ = 0 when rest = 0), b > 0.
func floorDivRest(a int64, rest int8, b int64) int64 {
	if rest < 0 {
		a--
	}
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// pixelOf maps exact coordinates to (x, y) per §5.2 step 2, clamped to the grid.
func pixelOf(lat, lon fixed5) (x, y int) {
	xi := floorDivRest(lon.u-lonMinUnits, lon.rest, unitsPerPix)
	yi := floorDivRest(latMaxUnits-lat.u, -lat.rest, unitsPerPix)
	return int(min(max(xi, 0), NX-1)), int(min(max(yi, 0), NY-1))
}

// d0Unix is 1950-01-01T00:00:00Z, the benchmark's day 0.
var d0Unix = time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC).Unix()

func num(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, len(b) > 0
}

// parseDay parses YYYY-MM-DDTHH:MM:SS[.f…]Z and returns the UTC day index
// relative to 1950-01-01.
func parseDay(b []byte) (int, bool) {
	if len(b) < 20 || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' || b[len(b)-1] != 'Z' {
		return 0, false
	}
	y, ok1 := num(b[0:4])
	mo, ok2 := num(b[5:7])
	d, ok3 := num(b[8:10])
	hh, ok4 := num(b[11:13])
	mm, ok5 := num(b[14:16])
	ss, ok6 := num(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mo < 1 || mo > 12 || d < 1 || hh > 23 || mm > 59 || ss > 60 {
		return 0, false
	}
	if rest := b[19 : len(b)-1]; len(rest) > 0 {
		if rest[0] != '.' {
			return 0, false
		}
		if _, ok := num(rest[1:]); !ok {
			return 0, false
		}
	}
	t := time.Date(y, time.Month(mo), d, 0, 0, 0, 0, time.UTC)
	if t.Day() != d { // 2019-02-30 normalises to March
		return 0, false
	}
	sec := t.Unix() - d0Unix
	return int(math.Floor(float64(sec) / 86400)), true
}

// catalogColumns are the header names the pipeline needs.
var catalogColumns = [...]string{"time", "latitude", "longitude", "depth_km", "mag", "etype"}

const (
	colTime = iota
	colLat
	colLon
	colDepth
	colMag
	colEtype
)

// readCatalog streams the CSV (optionally gzip-compressed) catalog and returns
// the kept events with day in [s, d), plus row counts and the sha256 of the raw
// input bytes.
func readCatalog(ctx context.Context, r io.Reader, file string, d, s int) ([]event, Counts, string, error) {
	var cnt Counts
	h := sha256.New()
	raw := bufio.NewReaderSize(io.TeeReader(r, h), 64<<10)
	var src io.Reader = raw
	if magic, err := raw.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(raw)
		if err != nil {
			return nil, cnt, "", &DataError{File: file, Msg: "bad gzip header: " + err.Error(), Err: ErrMalformed}
		}
		defer gz.Close()
		src = gz
	}
	br := bufio.NewReaderSize(src, catalogBufSz)

	line := 0
	readLine := func() ([]byte, error) {
		b, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, &DataError{File: file, Line: line + 1, Msg: "line longer than 1 MiB", Err: ErrMalformed}
		}
		if err != nil && err != io.EOF {
			return nil, &DataError{File: file, Line: line + 1, Msg: "read: " + err.Error(), Err: ErrMalformed}
		}
		if len(b) == 0 && err == io.EOF {
			return nil, io.EOF
		}
		line++
		b = bytes.TrimSuffix(b, []byte("\n"))
		b = bytes.TrimSuffix(b, []byte("\r"))
		return b, nil
	}

	hdr, err := readLine()
	if err == io.EOF {
		return nil, cnt, "", &DataError{File: file, Msg: "empty catalog (no header)", Err: ErrNoEvents}
	}
	if err != nil {
		return nil, cnt, "", err
	}
	names := bytes.Split(hdr, []byte(","))
	var idx [len(catalogColumns)]int
	for i, want := range catalogColumns {
		idx[i] = -1
		for j, n := range names {
			if string(bytes.TrimSpace(n)) == want {
				idx[i] = j
				break
			}
		}
		if idx[i] < 0 {
			return nil, cnt, "", &DataError{File: file, Line: 1, Msg: fmt.Sprintf("header lacks column %q", want), Err: ErrMalformed}
		}
	}
	fields := make([][]byte, len(names))
	events := make([]event, 0, 1<<16)

	for {
		if cnt.Rows%65536 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, cnt, "", fmt.Errorf("earthquake: reading %s at line %d: %w", file, line, err)
			}
		}
		b, err := readLine()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, cnt, "", err
		}
		bad := func(msg string, e error) error {
			return &DataError{File: file, Line: line, Msg: msg, Err: e}
		}
		n := 0
		for {
			i := bytes.IndexByte(b, ',')
			if n < len(fields) {
				if i < 0 {
					fields[n] = b
				} else {
					fields[n] = b[:i]
				}
			}
			n++
			if i < 0 {
				break
			}
			b = b[i+1:]
		}
		if n != len(fields) {
			return nil, cnt, "", bad(fmt.Sprintf("want %d comma-separated fields, got %d", len(fields), n), ErrMalformed)
		}
		cnt.Rows++
		day, ok := parseDay(fields[idx[colTime]])
		if !ok {
			return nil, cnt, "", bad(fmt.Sprintf("bad time %q", fields[idx[colTime]]), ErrMalformed)
		}
		lat, ok := parseFixed5(fields[idx[colLat]])
		if !ok {
			return nil, cnt, "", bad(fmt.Sprintf("bad latitude %q", fields[idx[colLat]]), ErrMalformed)
		}
		lon, ok := parseFixed5(fields[idx[colLon]])
		if !ok {
			return nil, cnt, "", bad(fmt.Sprintf("bad longitude %q", fields[idx[colLon]]), ErrMalformed)
		}
		m, err1 := parseFloat(fields[idx[colMag]])
		z, err2 := parseFloat(fields[idx[colDepth]])
		if err1 != nil {
			return nil, cnt, "", bad(fmt.Sprintf("bad mag %q", fields[idx[colMag]]), ErrMalformed)
		}
		if err2 != nil {
			return nil, cnt, "", bad(fmt.Sprintf("bad depth_km %q", fields[idx[colDepth]]), ErrMalformed)
		}
		if math.IsNaN(m) || math.IsInf(m, 0) {
			return nil, cnt, "", bad(fmt.Sprintf("mag is %q", fields[idx[colMag]]), ErrNaN)
		}
		if math.IsNaN(z) || math.IsInf(z, 0) {
			return nil, cnt, "", bad(fmt.Sprintf("depth_km is %q", fields[idx[colDepth]]), ErrNaN)
		}
		switch et := bytes.TrimSpace(fields[idx[colEtype]]); {
		case string(et) == "qb":
			cnt.DroppedQuarry++
			continue
		case len(et) != 0 && string(et) != "eq":
			cnt.DroppedOtherType++
			continue
		}
		if lat.cmpUnits(latMinUnits) < 0 || lat.cmpUnits(latMaxUnits) > 0 ||
			lon.cmpUnits(lonMinUnits) < 0 || lon.cmpUnits(lonMaxUnits) > 0 {
			cnt.DroppedOutsideBox++
			continue
		}
		switch {
		case day < 0:
			cnt.DroppedBeforeSpan++
			continue
		case day < s:
			cnt.DroppedAlignment++
			continue
		case day >= d:
			cnt.DroppedAfterSpan++
			continue
		}
		x, y := pixelOf(lat, lon)
		events = append(events, event{pix: int32(x + NX*y), day: int32(day), m: m, z: z})
		cnt.Kept++
	}
	if _, err := io.Copy(io.Discard, raw); err != nil { // hash the whole file
		return nil, cnt, "", &DataError{File: file, Msg: "read: " + err.Error(), Err: ErrMalformed}
	}
	return events, cnt, hex.EncodeToString(h.Sum(nil)), nil
}

// parseFloat parses b without allocating a string.
func parseFloat(b []byte) (float64, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return 0, strconv.ErrSyntax
	}
	return strconv.ParseFloat(unsafe.String(&b[0], len(b)), 64)
}
