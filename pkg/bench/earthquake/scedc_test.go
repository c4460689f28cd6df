package earthquake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// scedcHead is the comment block the SCEDC writes above the events.
const scedcHead = `###############################################################################
# The following is an SCEDC-format listing of catalog data from the Southern  #
# California Earthquake Data Center (SCEDC) holdings for a test year.         #
###############################################################################
#YYY/MM/DD HH:mm:SS.ss ET GT MAG  M    LAT     LON     DEPTH Q  EVID     NPH NGRM
`

// scedcText is a complete yearly file: header, lines, blank line, trailer.
func scedcText(lines ...string) string {
	return scedcHead + strings.Join(lines, "\n") + fmt.Sprintf("\n\n### Number of rows returned:%d \n", len(lines))
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestParseSCEDCLine(t *testing.T) {
	good := []struct{ line, csv string }{
		{"1932/01/03 17:58:10.01 eq  l 3.00 h    32.000 -116.000   6.0 D  3358388    7    0",
			"1932-01-03T17:58:10.01Z,32.000,-116.000,6.0,3.00,h,eq,l,D,3358388,7,s"},
		{"2020/04/04 01:54:22.57 eq  l 3.76 lr   33.493 -116.505  10.3 A 39126087  228 3231", // two-letter magnitude type
			"2020-04-04T01:54:22.57Z,33.493,-116.505,10.3,3.76,lr,eq,l,A,39126087,228,s"},
		{"1977/08/04 17:10:42.49 eq  r 0.00 un   33.915 -117.000  18.0 A  3334117    1  132",
			"1977-08-04T17:10:42.49Z,33.915,-117.000,18.0,0.00,un,eq,r,A,3334117,1,s"},
		{"2025/11/29 13:58:00.58 eq  l 1.96 l    32.553 -115.237  12.9 0.75 10208406   24 1735", // numeric quality
			"2025-11-29T13:58:00.58Z,32.553,-115.237,12.9,1.96,l,eq,l,0.75,10208406,24,s"},
		{"2020/04/05 03:37:10.45 eq  l 0.30 l    33.489 -116.500   9.9 A 105309165   38 10140", // wide id and NGRM
			"2020-04-05T03:37:10.45Z,33.489,-116.500,9.9,0.30,l,eq,l,A,105309165,38,s"},
		{"1981/12/09 20:07:11.62 qb  l 2.57 c    35.030 -117.680  -1.0 C  1063595   17   75",
			"1981-12-09T20:07:11.62Z,35.030,-117.680,-1.0,2.57,c,qb,l,C,1063595,17,s"},
		{"1976/09/04 02:42:60.99 eq  l 2.34 h    34.230 -116.584   2.9 A   145251   44  100", // 60 s carries
			"1976-09-04T02:43:00.99Z,34.230,-116.584,2.9,2.34,h,eq,l,A,145251,44,s"},
		{"1999/12/31 23:59:60.50 eq  l 1.00 h    34.100 -117.000   2.9 A   145251   44  100",
			"2000-01-01T00:00:00.50Z,34.100,-117.000,2.9,1.00,h,eq,l,A,145251,44,s"},
		{"2019/07/06 03:19:53.04     l 7.10 w    35.770 -117.599   8.0 A 38457511  100 3000", // blank event type
			"2019-07-06T03:19:53.04Z,35.770,-117.599,8.0,7.10,w,,l,A,38457511,100,s"},
		{"2019/07/06 03:19:53.04 eq    7.10 w    35.770 -117.599   8.0 A 38457511  100 3000", // blank geographic type
			"2019-07-06T03:19:53.04Z,35.770,-117.599,8.0,7.10,w,eq,,A,38457511,100,s"},
		{"2019/07/06 03:19:53.04 sn  l 1.10      35.770 -117.599   0.0 C 38457512    5", // no magtype, no NGRM
			"2019-07-06T03:19:53.04Z,35.770,-117.599,0.0,1.10,,sn,l,C,38457512,5,s"},
		{"1992/01/01 00:40:07.47 le 0.80 h    36.181 -118.044   2.3 B  2038429   16    0", // layout before 2015-09
			"1992-01-01T00:40:07.47Z,36.181,-118.044,2.3,0.80,h,eq,l,B,2038429,16,s"},
		{"1992/01/01 00:40:07.47 re 0.80 h    36.181 -118.044   2.3 B  2038429   16    0",
			"1992-01-01T00:40:07.47Z,36.181,-118.044,2.3,0.80,h,eq,r,B,2038429,16,s"},
		{"1992/01/01 00:40:07.47 qb 0.80 h    36.181 -118.044   2.3 B  2038429",
			"1992-01-01T00:40:07.47Z,36.181,-118.044,2.3,0.80,h,qb,,B,2038429,,s"},
	}
	var ev scedcEvent
	for _, c := range good {
		kind, _, err := parseSCEDCLine([]byte(c.line), &ev)
		if err != nil || kind != scedcEventLine {
			t.Errorf("%q: kind %d, error %v", c.line, kind, err)
			continue
		}
		if got := string(ev.appendCSV(nil, "s")); got != c.csv {
			t.Errorf("%q:\n got %s\nwant %s", c.line, got, c.csv)
		}
	}
	for _, c := range []struct {
		line string
		kind scedcLineKind
		n    int
	}{
		{"#YYY/MM/DD HH:mm:SS.ss ET GT MAG  M    LAT     LON     DEPTH Q  EVID     NPH NGRM", scedcComment, 0},
		{"", scedcComment, 0},
		{"   \t", scedcComment, 0},
		{"### Number of rows returned:10684 ", scedcTrailer, 10684},
	} {
		if kind, n, err := parseSCEDCLine([]byte(c.line), &ev); err != nil || kind != c.kind || n != c.n {
			t.Errorf("%q: kind %d n %d err %v; want kind %d n %d", c.line, kind, n, err, c.kind, c.n)
		}
	}
	bad := []struct {
		line, msg string
		nan       bool
	}{
		{"1975 01 01  03 16 29.38  35 15.96-118 31.68 B 2.3      4.36 13     0.19  3037299", "SCSN-format", false},
		{"2", "want YYYY/MM/DD HH:mm:SS.ss", false},
		{"1999-02-03 00:00:00.00 eq  l 1.00 h    34.100 -117.000   2.9 A   145251   44  100", "want YYYY/MM/DD", false},
		{"1999/02/30 00:00:00.00 eq  l 1.00 h    34.100 -117.000   2.9 A   145251   44  100", "bad date or time", false},
		{"1999/02/03 24:00:00.00 eq  l 1.00 h    34.100 -117.000   2.9 A   145251   44  100", "bad date or time", false},
		{"1999/02/03 23:00:61.00 eq  l 1.00 h    34.100 -117.000   2.9 A   145251   44  100", "bad date or time", false},
		{"2019/08/23 06:31:04.12 eq  l 1.44 l    36.175", "want LAT LON DEPTH", false},
		{"2019/08/23 06:31:04.12 eq  l 1.44 l    3x.175 -117.000   2.9 A   145251   44  100", "bad latitude", false},
		{"2019/08/23 06:31:04.12 eq  l 1.44 l    36.175 -117,000   2.9 A   145251   44  100", "bad longitude", false},
		{"2019/08/23 06:31:04.12 eq  l 1.44 l    36.175 -117.000   NaN A   145251   44  100", "bad depth", true},
		{"2019/08/23 06:31:04.12 eq  l 1e3 l    36.175 -117.000   2.9 A   145251   44  100", "bad magnitude", false},
		{"2019/08/23 06:31:04.12 eq  l 1.44 l    36.175 -117.000   2.9 A   14x251   44  100", "bad event id", false},
		{"2019/08/23 06:31:04.12 eq  l 1.44 l    36.175 -117.000   2.9 A   145251   44  1,0", "bad NGRM", false},
		{"2019/08/23 06:31:04.12 eq  l x 1.44 l    36.175 -117.000   2.9 A   145251   44  100", "more than two type codes", false},
		{"2019/08/23 06:31:04.12 e l  1.44 l    36.175 -117.000   2.9 A   145251   44  100", "columns 24 (event type) and 28", false},
		{"2019/08/23 06:31:04.12 eq  l", "no magnitude", false},
		{"### Number of rows returned:many", "bad row count", false},
	}
	for _, c := range bad {
		_, _, err := parseSCEDCLine([]byte(c.line), &ev)
		if err == nil || !strings.Contains(err.msg, c.msg) || err.nan != c.nan {
			t.Errorf("%q: error %+v, want %q (nan %v)", c.line, err, c.msg, c.nan)
		}
	}
}

func TestOpenSCEDC(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, SCEDCSubdir)
	// Names do not sort in time order; files come out ordered by first event.
	writeFile(t, filepath.Join(sub, "b.catalog"), scedcText(
		"1950/01/02 00:00:01.00 eq  l 3.00 h    34.100 -117.000   6.0 C        1    7    0",
		"1950/12/31 23:59:59.99 qb  l 2.00 h    34.000 -117.000   0.0 C        2    7    0"))
	writeFile(t, filepath.Join(sub, "a.catalog"), strings.ReplaceAll(scedcText(
		"1953/03/01 10:00:00.00 eq  l 3.50 l    33.000 -116.000   6.0 C        4    7    0"), "\n", "\r\n"))
	writeFile(t, filepath.Join(sub, "c.catalog"), scedcHead+ // no trailer, no line end at the end
		"1951/05/05 05:05:05.05 eq  l 3.00 h    34.100 -117.000   6.0 C        3    7    0")
	writeFile(t, filepath.Join(sub, "empty.catalog"), scedcText())
	writeFile(t, filepath.Join(sub, "README"), "not a catalog\n")
	writeFile(t, filepath.Join(sub, "1954.catalog.part"), "half a download")
	if err := os.Mkdir(filepath.Join(sub, "dir.catalog"), 0o755); err != nil {
		t.Fatal(err)
	}

	c, err := OpenSCEDC(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var names []string
	for _, f := range c.Files {
		names = append(names, fmt.Sprintf("%s:%d:%v", f.Name, f.Events, f.Trailer))
	}
	if want := []string{"SCEC_DC/b.catalog:2:true", "SCEC_DC/c.catalog:1:false", "SCEC_DC/a.catalog:1:true", "SCEC_DC/empty.catalog:0:true"}; !slices.Equal(names, want) {
		t.Errorf("files %v, want %v", names, want)
	}
	if c.Events != 4 {
		t.Errorf("events %d, want 4", c.Events)
	}
	if f := c.Files[0]; f.First != time.Date(1950, 1, 2, 0, 0, 1, 0, time.UTC) || f.Last != time.Date(1950, 12, 31, 23, 59, 59, 990_000_000, time.UTC) {
		t.Errorf("first file spans %v … %v", f.First, f.Last)
	}
	if m := c.MissingYears(); !slices.Equal(m, []int{1952}) {
		t.Errorf("missing years %v, want [1952]", m)
	}
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	want := catalogHeader +
		"1950-01-02T00:00:01.00Z,34.100,-117.000,6.0,3.00,h,eq,l,C,1,7,SCEC_DC/b.catalog\n" +
		"1950-12-31T23:59:59.99Z,34.000,-117.000,0.0,2.00,h,qb,l,C,2,7,SCEC_DC/b.catalog\n" +
		"1951-05-05T05:05:05.05Z,34.100,-117.000,6.0,3.00,h,eq,l,C,3,7,SCEC_DC/c.catalog\n" +
		"1953-03-01T10:00:00.00Z,33.000,-116.000,6.0,3.50,l,eq,l,C,4,7,SCEC_DC/a.catalog\n"
	if string(got) != want {
		t.Errorf("merged CSV:\n%s\nwant:\n%s", got, want)
	}
	if n, err := c.Read(make([]byte, 10)); n != 0 || err != io.EOF {
		t.Errorf("Read after the end: %d, %v", n, err)
	}

	// The files may also sit in DIR itself.
	c2, err := OpenSCEDC(context.Background(), sub)
	if err != nil {
		t.Fatal(err)
	}
	if c2.Files[0].Name != "b.catalog" || c2.Events != 4 {
		t.Errorf("files in DIR: first %q, %d events", c2.Files[0].Name, c2.Events)
	}
	c2.Close()
	c2.Close()
	if _, err := c2.Read(make([]byte, 10)); err == nil {
		t.Error("Read after Close succeeded")
	}
}

func TestOpenSCEDCErrors(t *testing.T) {
	line := func(y int, id int) string {
		return fmt.Sprintf("%d/06/01 12:00:00.00 eq  l 3.00 h    34.100 -117.000   6.0 C %8d    7    0", y, id)
	}
	type file struct{ name, text string }
	cases := []struct {
		name  string
		files []file
		sent  error
		file  string // the file the error must name ("" = the directory)
		line  int
		msg   string
	}{
		{"empty dir", nil, ErrNoEvents, "", 0, "no *.catalog files"},
		{"no events", []file{{"1950.catalog", scedcText()}}, ErrNoEvents, "", 0, "no events in the 1 SCEDC catalog files"},
		{"same year twice", []file{{"1950.catalog", scedcText(line(1950, 1))}, {"1951.catalog", scedcText(line(1951, 2))},
			{"SCEC_DC_1950.catalog", scedcText(line(1950, 1))}}, ErrOverlap, "SCEC_DC_1950.catalog", 0, "overlap those of"},
		{"overlapping", []file{{"1950.catalog", scedcText(line(1950, 1), line(1952, 2))}, {"1951.catalog", scedcText(line(1951, 3))}},
			ErrOverlap, "1951.catalog", 0, "1950.catalog"},
		{"both places", []file{{"1950.catalog", scedcText(line(1950, 1))}, {"SCEC_DC/1951.catalog", scedcText(line(1951, 2))}},
			ErrOverlap, "", 0, "both in itself"},
		{"bad line", []file{{"1950.catalog", scedcText(line(1950, 1), strings.Replace(line(1950, 2), "34.100", "34.1O0", 1))}},
			ErrMalformed, "1950.catalog", 7, "bad latitude \"34.1O0\""},
		{"NaN", []file{{"1950.catalog", scedcText(strings.Replace(line(1950, 2), "  6.0", "  NaN", 1))}},
			ErrNaN, "1950.catalog", 6, "bad depth"},
		{"trailer count", []file{{"1950.catalog", strings.Replace(scedcText(line(1950, 1), line(1950, 2)), "returned:2", "returned:3", 1)}},
			ErrMalformed, "1950.catalog", 0, "says 3 rows but it has 2"},
		{"cut short", []file{{"1950.catalog", scedcHead + line(1950, 1) + "\n" + line(1950, 2)[:40]}},
			ErrMalformed, "1950.catalog", 7, "ends inside this line"},
		{"event after trailer", []file{{"1950.catalog", scedcText(line(1950, 1)) + line(1950, 2) + "\n"}},
			ErrMalformed, "1950.catalog", 9, "after the"},
		{"SCSN format", []file{{"1975.catalog", "#YYY MM DD\n1975 01 01  03 16 29.38  35 15.96-118 31.68 B 2.3      4.36 13     0.19  3037299\n"}},
			ErrMalformed, "1975.catalog", 2, "SCSN-format"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range c.files {
				writeFile(t, filepath.Join(dir, f.name), f.text)
			}
			_, err := OpenSCEDC(context.Background(), dir)
			var de *DataError
			if !errors.As(err, &de) || !errors.Is(err, c.sent) {
				t.Fatalf("error %v, want a *DataError wrapping %v", err, c.sent)
			}
			wantFile := dir
			if c.file != "" {
				wantFile = filepath.Join(dir, c.file)
			}
			if de.File != wantFile || de.Line != c.line || !strings.Contains(de.Msg, c.msg) {
				t.Errorf("got %s:%d %q, want %s:%d containing %q", de.File, de.Line, de.Msg, wantFile, c.line, c.msg)
			}
		})
	}
	if _, err := OpenSCEDC(context.Background(), filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing dir: %v", err)
	}
}

// TestSCEDCPrepareMatchesCSV prepares the same random catalog once from a CSV
// and once from SCEDC yearly files (coordinates on the 0.1° grid lines,
// quarry blasts, blank and other event types, events outside the box, before
// 1950 and after the span, the format's variations) and wants the same dataset.
func TestSCEDCPrepareMatchesCSV(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	type ev struct {
		t                  time.Time
		lat, lon, dep, mag int // thousandths of a degree; tenths of a km; hundredths
		etype, magtype, q  string
	}
	hot := [][2]int{{34100, -117000}, {33550, -116250}, {32000, -114000}, {36000, -120000}, {35310, -118640}}
	var evs []ev
	start := time.Date(1949, 6, 1, 0, 0, 0, 0, time.UTC)
	for i := range 4000 {
		e := ev{
			t:   start.Add(time.Duration(rng.Int64N(int64(71 * 365 * 24 * time.Hour)))).Truncate(10 * time.Millisecond),
			dep: rng.IntN(300) - 20, mag: rng.IntN(500), etype: "eq", magtype: "l", q: "A",
		}
		if i%3 == 0 { // repeated places: active pixels and pixel-days with several events
			h := hot[rng.IntN(len(hot))]
			e.lat, e.lon = h[0], h[1]
		} else {
			e.lat, e.lon = 31900+rng.IntN(4300), -120100+rng.IntN(6300) // a few outside the box
		}
		if rng.IntN(10) == 0 {
			e.lat = e.lat - e.lat%100 // on a grid line
		}
		switch rng.IntN(20) {
		case 0:
			e.etype = "qb"
		case 1:
			e.etype = ""
		case 2:
			e.etype = "sn"
		}
		switch rng.IntN(10) {
		case 0:
			e.magtype = "lr"
		case 1:
			e.q = "0.75"
		}
		evs = append(evs, e)
	}
	slices.SortStableFunc(evs, func(a, b ev) int { return a.t.Compare(b.t) })
	evs = slices.CompactFunc(evs, func(a, b ev) bool { return a.t.Equal(b.t) })

	// fmtCSV writes thousandths with trailing zeros cut, as in the shared CSV (34.1, 32).
	fmtCSV := func(v int) string {
		s := fmt.Sprintf("%.3f", float64(v)/1000)
		s = strings.TrimRight(s, "0")
		return strings.TrimSuffix(s, ".")
	}
	var csv strings.Builder
	csv.WriteString(catalogHeader)
	years := map[int][]string{}
	for i, e := range evs {
		fmt.Fprintf(&csv, "%s,%s,%s,%.2f,%.2f,%s,%s,l,%s,%d,10,x\n", e.t.Format("2006-01-02T15:04:05.00Z"),
			fmtCSV(e.lat), fmtCSV(e.lon), float64(e.dep)/10, float64(e.mag)/100, e.magtype, e.etype, e.q, i+1)
		years[e.t.Year()] = append(years[e.t.Year()], fmt.Sprintf("%s %-2s  l %4.2f %-2s  %7.3f %8.3f %5.1f %s %8d %4d %4d",
			e.t.Format("2006/01/02 15:04:05.00"), e.etype, float64(e.mag)/100, e.magtype,
			float64(e.lat)/1000, float64(e.lon)/1000, float64(e.dep)/10, e.q, i+1, 10, 0))
	}
	dir := t.TempDir()
	for y, lines := range years {
		writeFile(t, filepath.Join(dir, SCEDCSubdir, fmt.Sprintf("%d.catalog", y)), scedcText(lines...))
	}

	for _, sp := range []Span{SpanDefault, SpanReference} {
		opts := Options{File: "synth", Span: sp, Workers: 2}
		want, err := Prepare(strings.NewReader(csv.String()), opts)
		if err != nil {
			t.Fatal(err)
		}
		cat, err := OpenSCEDC(context.Background(), dir)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Prepare(cat, opts)
		cat.Close()
		if err != nil {
			t.Fatal(err)
		}
		c := want.Meta.Counts
		if c.Kept < 1000 || c.DroppedQuarry == 0 || c.DroppedOtherType == 0 || c.DroppedOutsideBox == 0 ||
			c.DroppedBeforeSpan == 0 || c.DroppedAfterSpan == 0 || want.Meta.Nloc == 0 {
			t.Fatalf("the test catalog does not exercise the filters: %+v, Nloc %d", c, want.Meta.Nloc)
		}
		if got.Meta.CatalogSHA256 == "" || got.Meta.CatalogSHA256 == want.Meta.CatalogSHA256 {
			t.Errorf("sha256 %q", got.Meta.CatalogSHA256)
		}
		got.Meta.CatalogSHA256 = want.Meta.CatalogSHA256
		if !reflect.DeepEqual(got.Meta, want.Meta) {
			t.Errorf("span %s: meta differs:\n got %+v\nwant %+v", sp, got.Meta, want.Meta)
		}
		if !slices.Equal(got.Locations, want.Locations) || !slices.Equal(bitsOf(got.Dynamic), bitsOf(want.Dynamic)) ||
			!slices.Equal(bitsOf(got.Targets), bitsOf(want.Targets)) || !slices.Equal(bitsOf(got.Encodings), bitsOf(want.Encodings)) ||
			got.NormMin != want.NormMin || got.NormMax != want.NormMax {
			t.Errorf("span %s: tensors differ", sp)
		}
	}

	// `scibench run` with `catalog: DIR` (LoadData) reads the same folder.
	csvPath := filepath.Join(t.TempDir(), "synth.csv")
	writeFile(t, csvPath, csv.String())
	load := func(cat string) *Dataset {
		cfg := DefaultConfig()
		cfg.Catalog, cfg.Cache = cat, false
		ds, _, err := LoadData(context.Background(), cfg, t.TempDir(), false, nil)
		if err != nil {
			t.Fatalf("LoadData(%s): %v", cat, err)
		}
		return ds
	}
	fromDir, fromCSV := load(dir), load(csvPath)
	if !slices.Equal(bitsOf(fromDir.Dynamic), bitsOf(fromCSV.Dynamic)) || !slices.Equal(bitsOf(fromDir.Targets), bitsOf(fromCSV.Targets)) ||
		!slices.Equal(fromDir.Locations, fromCSV.Locations) {
		t.Error("LoadData: a catalog folder and the equivalent CSV give different datasets")
	}
	if fromDir.Meta.CatalogSHA256 == "" || fromDir.Meta.CatalogSHA256 == fromCSV.Meta.CatalogSHA256 {
		t.Errorf("LoadData(folder): catalog sha256 %q (want the merged stream's own)", fromDir.Meta.CatalogSHA256)
	}
}
