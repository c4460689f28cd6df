package earthquake

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

const csvHeader = "time,latitude,longitude,depth_km,mag,magtype,etype,gtype,quality,evid,nph,source\n"

// dayStr returns the catalog time of noon on day d after 1950-01-01.
func dayStr(d int) string {
	return time.Date(1950, 1, 1+d, 12, 0, 0, 0, time.UTC).Format("2006-01-02") + "T12:00:00.00Z"
}

func row(day int, lat, lon, depth, mag, etype string) string {
	return fmt.Sprintf("%s,%s,%s,%s,%s,l,%s,l,A,1,10,test\n", dayStr(day), lat, lon, depth, mag, etype)
}

func TestPixelOfExactDecimal(t *testing.T) {
	cases := []struct {
		lat, lon string
		x, y     int
	}{
		{"32", "-114", 59, 39},   // south-east corner: clamped
		{"36", "-120", 0, 0},     // north-west corner
		{"34.1", "-117", 30, 19}, // float64 gives row 18
		{"34.10001", "-117.00001", 29, 18},
		{"34.099999", "-116.999999", 30, 19}, // digits past 1e-5
		{"34.1000001", "-119.9", 1, 18},
		{"35.95", "-119.95", 0, 0},
		{"33.55", "-117.25", 27, 24},
		{"+33.3", "-114.7", 53, 27},
	}
	for _, c := range cases {
		lat, ok1 := parseFixed5([]byte(c.lat))
		lon, ok2 := parseFixed5([]byte(c.lon))
		if !ok1 || !ok2 {
			t.Fatalf("parse %s,%s failed", c.lat, c.lon)
		}
		if x, y := pixelOf(lat, lon); x != c.x || y != c.y {
			t.Errorf("pixelOf(%s, %s) = (%d, %d), want (%d, %d)", c.lat, c.lon, x, y, c.x, c.y)
		}
	}
	for _, bad := range []string{"", "-", ".", "1.2.3", "NaN", "1e3", "3,2", " 3"} {
		if _, ok := parseFixed5([]byte(bad)); ok {
			t.Errorf("parseFixed5(%q) accepted", bad)
		}
	}
}

func TestParseDay(t *testing.T) {
	cases := map[string]int{
		"1950-01-01T00:00:00.00Z": 0,
		"1950-01-01T23:59:59.99Z": 0,
		"1949-12-31T23:59:59.99Z": -1,
		"1950-03-01T00:00:00Z":    59,
		"2019-10-14T07:07:00.00Z": 25488, // last day of the default span (D = 25,489)
		"2019-12-31T12:00:00.00Z": 25566,
	}
	for s, want := range cases {
		if got, ok := parseDay([]byte(s)); !ok || got != want {
			t.Errorf("parseDay(%s) = %d, %v; want %d", s, got, ok, want)
		}
	}
	for _, bad := range []string{"2019-02-30T00:00:00.00Z", "2019-13-01T00:00:00.00Z", "2019-01-01 00:00:00.00Z",
		"2019-01-01T25:00:00.00Z", "2019-01-01T00:00:00.00", "19-01-01T00:00:00.00Z", "2019-01-01T00:00:00.x0Z"} {
		if _, ok := parseDay([]byte(bad)); ok {
			t.Errorf("parseDay(%q) accepted", bad)
		}
	}
}

// TestHandCases checks the daily grid and fortnights (§5.6) against values
// worked out by hand. Default span: D = 25,489, S = 9, F = 1820; fortnight k
// covers days 9+14k … 22+14k.
func TestHandCases(t *testing.T) {
	const d, s, f = 25489, 9, 1820
	var b strings.Builder
	b.WriteString(csvHeader)
	// One M3.0 event, depth 7, fortnight 3, pixel (27, 24).
	b.WriteString(row(9+14*3+2, "33.55", "-117.25", "7.0", "3.00", "eq"))
	// Two events in one pixel-day, fortnight 5, pixel (0, 9).
	b.WriteString(row(9+14*5+7, "35.05", "-119.95", "5", "2.00", "eq"))
	b.WriteString(row(9+14*5+7, "35.05", "-119.95", "10", "2.50", "eq"))
	// Grid lines and corners, fortnight 10, M1.0.
	b.WriteString(row(9+14*10, "32", "-114", "0", "1.00", "eq"))     // (59, 39)
	b.WriteString(row(9+14*10, "34.1", "-117", "0", "1.00", "eq"))   // (30, 19)
	b.WriteString(row(9+14*10, "34.10001", "-117", "0", "1.00", "")) // (30, 18), blank etype kept
	b.WriteString(row(9+14*10, "36", "-120", "0", "1.00", "eq"))     // (0, 0)
	// Outside the box (counted, skipped).
	b.WriteString(row(9+14*10, "36.00001", "-117", "0", "1.00", "eq"))
	b.WriteString(row(9+14*10, "34", "-120.000001", "0", "1.00", "eq"))
	// Quarry blast dropped; 3.29 vs 3.30 in pixel (44, 25), fortnight 20.
	b.WriteString(row(9+14*20, "33.45", "-115.55", "0", "5.00", "qb"))
	b.WriteString(row(9+14*20, "33.45", "-115.55", "0", "3.29", "eq"))
	b.WriteString(row(9+14*20+1, "33.45", "-115.55", "0", "3.30", "eq"))
	// Alignment: day 8 dropped (S = 9), days 9 and 22 in fortnight 0, day 23 in fortnight 1; pixel (15, 14).
	b.WriteString(row(8, "34.55", "-118.45", "0", "2.00", "eq"))
	b.WriteString(row(9, "34.55", "-118.45", "0", "2.00", "eq"))
	b.WriteString(row(22, "34.55", "-118.45", "0", "2.00", "eq"))
	b.WriteString(row(23, "34.55", "-118.45", "0", "2.00", "eq"))
	// Span ends: 1949-12-31 dropped, 2019-10-14 kept (last fortnight), 2019-10-15 dropped.
	b.WriteString(row(-1, "34.55", "-118.45", "0", "2.00", "eq"))
	b.WriteString(row(25488, "34.55", "-118.45", "0", "2.00", "eq"))
	b.WriteString(row(25489, "34.55", "-118.45", "0", "2.00", "eq"))

	ev, cnt, _, err := readCatalog(context.Background(), strings.NewReader(b.String()), "hand.csv", d, s)
	if err != nil {
		t.Fatal(err)
	}
	want := Counts{Rows: 19, Kept: 13, DroppedQuarry: 1, DroppedOutsideBox: 2, DroppedBeforeSpan: 1, DroppedAlignment: 1, DroppedAfterSpan: 1}
	if cnt != want {
		t.Fatalf("counts %+v, want %+v", cnt, want)
	}
	ch := fortnightGrid(ev, s, f)
	at := func(x, y, k int) (float64, float64, float64, float64) {
		i := (x+60*y)*f + k
		return ch.mag[i], ch.depth[i], ch.n[i], ch.n3[i]
	}
	check := func(name string, x, y, k int, mag, depth, n, n3 float64) {
		t.Helper()
		gm, gd, gn, gn3 := at(x, y, k)
		if math.Abs(gm-mag) > 1e-12 || math.Abs(gd-depth) > 1e-12 || gn != n || gn3 != n3 {
			t.Errorf("%s: pixel (%d,%d) fortnight %d = (%.15g, %.15g, %g, %g), want (%.15g, %.15g, %g, %g)",
				name, x, y, k, gm, gd, gn, gn3, mag, depth, n, n3)
		}
	}
	quiet := math.Log10(14) / 1.5
	check("one M3.0", 27, 24, 3, math.Log10(math.Pow(10, 4.5)+13)/1.5, 7*math.Pow(10, 4.5)/(math.Pow(10, 4.5)+13), 1, 0)
	check("quiet neighbour fortnight", 27, 24, 4, quiet, 0, 0, 0)
	e1, e2 := math.Pow(10, 3), math.Pow(10, 3.75)
	check("two in a pixel-day", 0, 9, 5, math.Log10(e1+e2+13)/1.5, (5*e1+10*e2)/(e1+e2+13), 2, 0)
	m1 := math.Log10(math.Pow(10, 1.5)+13) / 1.5
	check("lat 32, lon -114", 59, 39, 10, m1, 0, 1, 0)
	check("lat 34.1 row 19", 30, 19, 10, m1, 0, 1, 0)
	check("lat 34.10001 row 18 blank etype", 30, 18, 10, m1, 0, 1, 0)
	check("lat 36, lon -120", 0, 0, 10, m1, 0, 1, 0)
	check("3.29 vs 3.30", 44, 25, 20, math.Log10(math.Pow(10, 4.935)+math.Pow(10, 4.95)+12)/1.5, 0, 2, 1)
	check("alignment k=0", 15, 14, 0, math.Log10(2000+12)/1.5, 0, 2, 0)
	check("alignment k=1", 15, 14, 1, math.Log10(1000+13)/1.5, 0, 1, 0)
	check("last fortnight", 15, 14, f-1, math.Log10(1000+13)/1.5, 0, 1, 0)
}

func TestBadInput(t *testing.T) {
	good := row(100, "34", "-117", "5", "2.0", "eq")
	cases := []struct {
		name, body string
		line       int
		sentinel   error
	}{
		{"bad time", good + "2019-13-01T00:00:00.00Z,34,-117,5,2.0,l,eq,l,A,1,10,x\n", 3, ErrMalformed},
		{"bad lat", good + strings.Replace(good, "34,", "3x4,", 1), 3, ErrMalformed},
		{"missing field", good + "2019-01-01T00:00:00.00Z,34,-117,5,2.0\n", 3, ErrMalformed},
		{"extra field", good + strings.TrimSuffix(good, "\n") + ",extra\n", 3, ErrMalformed},
		{"empty mag", good + good + strings.Replace(good, ",2.0,", ",,", 1), 4, ErrMalformed},
		{"NaN mag", good + strings.Replace(good, ",2.0,", ",NaN,", 1), 3, ErrNaN},
		{"NaN depth", good + strings.Replace(good, ",5,", ",nan,", 1), 3, ErrNaN},
		{"blank line", good + "\n" + good, 3, ErrMalformed},
		{"no events in box", row(100, "31", "-117", "5", "2.0", "eq"), 0, ErrNoEvents},
		{"only quarry blasts", row(100, "34", "-117", "5", "2.0", "qb"), 0, ErrNoEvents},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Prepare(strings.NewReader(csvHeader+c.body), Options{File: "cat.csv"})
			var de *DataError
			if !errors.As(err, &de) {
				t.Fatalf("err = %v, want *DataError", err)
			}
			if de.File != "cat.csv" || de.Line != c.line || !errors.Is(err, c.sentinel) {
				t.Errorf("err = %v (file %q line %d), want file cat.csv line %d wrapping %v", err, de.File, de.Line, c.line, c.sentinel)
			}
			if !strings.Contains(err.Error(), "cat.csv") {
				t.Errorf("message %q does not name the file", err)
			}
		})
	}
	t.Run("missing column", func(t *testing.T) {
		_, err := Prepare(strings.NewReader("time,latitude,longitude,mag,etype\n"), Options{File: "h.csv"})
		var de *DataError
		if !errors.As(err, &de) || de.Line != 1 || !strings.Contains(err.Error(), "depth_km") {
			t.Errorf("err = %v, want header error naming depth_km", err)
		}
	})
	t.Run("empty file", func(t *testing.T) {
		if _, err := Prepare(strings.NewReader(""), Options{}); !errors.Is(err, ErrNoEvents) {
			t.Errorf("err = %v, want ErrNoEvents", err)
		}
	})
	t.Run("bad options", func(t *testing.T) {
		for _, o := range []Options{{Span: "long"}, {Locations: "all"}, {Workers: -1}} {
			if _, err := Prepare(strings.NewReader(csvHeader+good), o); !errors.Is(err, ErrBadOption) {
				t.Errorf("%+v: err = %v, want ErrBadOption", o, err)
			}
		}
	})
	t.Run("truncated gzip", func(t *testing.T) {
		gz := gzipBytes(t, csvHeader+strings.Repeat(good, 1000))
		_, err := Prepare(strings.NewReader(string(gz[:len(gz)/2])), Options{File: "cut.csv.gz"})
		var de *DataError
		if !errors.As(err, &de) || !errors.Is(err, ErrMalformed) {
			t.Errorf("err = %v, want a malformed *DataError", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := PrepareContext(ctx, strings.NewReader(csvHeader+good), Options{}); !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	})
}

func gzipBytes(t *testing.T, s string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestReadCatalogAllocsPerRow: streaming allocates per buffer and per slice
// growth, not per row.
func TestReadCatalogAllocsPerRow(t *testing.T) {
	var b strings.Builder
	b.WriteString(csvHeader)
	const rows = 20000
	for i := range rows {
		b.WriteString(row(1000+i%5000, "34.123", "-117.5", "5.5", "2.31", "eq"))
	}
	text := b.String()
	allocs := testing.AllocsPerRun(3, func() {
		if _, _, _, err := readCatalog(context.Background(), strings.NewReader(text), "a.csv", 25489, 9); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 60 {
		t.Errorf("readCatalog of %d rows made %g allocations, want ≤ 60 (no per-row allocation)", rows, allocs)
	}
}

func TestNoActivePixels(t *testing.T) {
	_, err := Prepare(strings.NewReader(csvHeader+row(100, "34", "-117", "5", "5.0", "eq")), Options{File: "few.csv"})
	var de *DataError
	if !errors.As(err, &de) || !errors.Is(err, ErrNoEvents) || !strings.Contains(err.Error(), "no active pixels") {
		t.Errorf("err = %v, want no-active-pixels *DataError", err)
	}
}
