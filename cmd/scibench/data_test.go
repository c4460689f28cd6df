package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeCatalog writes a small catalog: 8 M3.5 events in one pixel (active),
// plus extra rows.
func writeCatalog(t *testing.T, extra string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("time,latitude,longitude,depth_km,mag,magtype,etype,gtype,quality,evid,nph,source\n")
	for i := range 8 {
		fmt.Fprintf(&b, "%d-06-01T12:00:00.00Z,34.05,-117.05,5.0,3.50,l,eq,l,A,%d,10,test\n", 1960+5*i, i)
	}
	b.WriteString(extra)
	p := filepath.Join(t.TempDir(), "cat.csv")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDataPrepareEarthquake(t *testing.T) {
	cat := writeCatalog(t, "")
	out := filepath.Join(t.TempDir(), "eq")
	var so, se bytes.Buffer
	code := run(context.Background(), []string{"data", "prepare", "earthquake", "--catalog", cat, "--out", out, "--span", "reference"}, &so, &se)
	if code != exitOK {
		t.Fatalf("exit %d, stderr %s", code, se.String())
	}
	for _, want := range []string{"span reference", "Nloc=1", "Magnitude 2 weeks", "reference in brackets", "back-window minima"} {
		if !strings.Contains(so.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, so.String())
		}
	}
	for _, f := range []string{"meta.json", "dynamic.npy", "targets.npy", "encodings.npy", "locations.npy", "norm_min.npy", "norm_max.npy"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
}

func TestDataPrepareErrors(t *testing.T) {
	bad := writeCatalog(t, "2001-01-01T00:00:00.00Z,34.05,-117.05,5.0,abc,l,eq,l,A,99,10,test\n")
	nan := writeCatalog(t, "2001-01-01T00:00:00.00Z,34.05,-117.05,5.0,NaN,l,eq,l,A,99,10,test\n")
	empty := filepath.Join(t.TempDir(), "empty.csv")
	if err := os.WriteFile(empty, []byte("time,latitude,longitude,depth_km,mag,magtype,etype,gtype,quality,evid,nph,source\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "o")
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"data"}, exitUsage, "usage"},
		{[]string{"data", "frobnicate"}, exitUsage, "unknown action"},
		{[]string{"data", "prepare", "cloudmask"}, exitUsage, "usage"},
		{[]string{"data", "prepare", "earthquake", "--out", out}, exitUsage, "--catalog and --out are required"},
		{[]string{"data", "prepare", "earthquake", "--catalog", bad, "--out", out, "--span", "long"}, exitUsage, "span"},
		{[]string{"data", "prepare", "earthquake", "--catalog", bad, "--out", out, "--locations", "all"}, exitUsage, "locations"},
		{[]string{"data", "prepare", "earthquake", "--catalog", bad, "--out", out}, exitUsage, bad + ":10: bad mag"},
		{[]string{"data", "prepare", "earthquake", "--catalog", nan, "--out", out}, exitUsage, nan + ":10: mag is"},
		{[]string{"data", "prepare", "earthquake", "--catalog", empty, "--out", out}, exitUsage, "no events"},
		{[]string{"data", "prepare", "earthquake", "--catalog", empty + ".missing", "--out", out}, exitUsage, "no such file"},
	}
	for _, c := range cases {
		var so, se bytes.Buffer
		code := run(context.Background(), c.args, &so, &se)
		if code != c.code || !strings.Contains(se.String(), c.msg) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", c.args, code, se.String(), c.code, c.msg)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("failed runs created %s", out)
	}
}

// writeSCEDC writes the events of writeCatalog as SCEDC yearly files under
// DIR/SCEC_DC (the layout `data fetch earthquake` writes) and returns DIR.
// extra lines go into the last file.
func writeSCEDC(t *testing.T, extra ...string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "SCEC_DC"), 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range 8 {
		lines := []string{fmt.Sprintf("%d/06/01 12:00:00.00 eq  l 3.50 l    34.050 -117.050   5.0 A %8d   10    0", 1960+5*i, i)}
		if i == 7 {
			lines = append(lines, extra...)
		}
		text := "#YYY/MM/DD HH:mm:SS.ss ET GT MAG  M    LAT     LON     DEPTH Q  EVID     NPH NGRM\n" +
			strings.Join(lines, "\n") + fmt.Sprintf("\n\n### Number of rows returned:%d \n", len(lines))
		if err := os.WriteFile(filepath.Join(dir, "SCEC_DC", fmt.Sprintf("%d.catalog", 1960+5*i)), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestDataPrepareEarthquakeSCEDC(t *testing.T) {
	outs := map[string]string{}
	for name, cat := range map[string]string{"csv": writeCatalog(t, ""), "scedc": writeSCEDC(t)} {
		out := filepath.Join(t.TempDir(), name)
		var so, se bytes.Buffer
		code := run(context.Background(), []string{"data", "prepare", "earthquake", "--catalog", cat, "--out", out, "--span", "reference"}, &so, &se)
		if code != exitOK {
			t.Fatalf("%s: exit %d, stderr %s", name, code, se.String())
		}
		if name == "scedc" {
			for _, want := range []string{"8 SCEDC files (SCEC_DC/1960.catalog … SCEC_DC/1995.catalog), 8 events from 1960-06-01 to 1995-06-01", "Nloc=1"} {
				if !strings.Contains(so.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, so.String())
				}
			}
			if !strings.Contains(se.String(), "no events in year(s) [1961 1962 1963 1964 1966") {
				t.Errorf("no warning about the missing years: %q", se.String())
			}
		}
		outs[name] = out
	}
	ents, err := os.ReadDir(outs["csv"])
	if err != nil || len(ents) < 7 {
		t.Fatalf("outputs %v, %v", ents, err)
	}
	for _, e := range ents {
		a, err1 := os.ReadFile(filepath.Join(outs["csv"], e.Name()))
		b, err2 := os.ReadFile(filepath.Join(outs["scedc"], e.Name()))
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: %v %v", e.Name(), err1, err2)
		}
		if e.Name() == "meta.json" { // the same but for the catalog's sha256
			strip := func(b []byte) string {
				var m map[string]any
				if err := json.Unmarshal(b, &m); err != nil {
					t.Fatal(err)
				}
				delete(m, "catalog_sha256")
				s, _ := json.Marshal(m)
				return string(s)
			}
			a, b = []byte(strip(a)), []byte(strip(b))
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between the CSV and the SCEDC folder", e.Name())
		}
	}
}

func TestDataPrepareEarthquakeSCEDCErrors(t *testing.T) {
	bad := writeSCEDC(t, "1995/07/01 12:00:00.00 eq  l 3.50 l    34.O50 -117.050   5.0 A       99   10    0")
	dup := writeSCEDC(t)
	if err := os.WriteFile(filepath.Join(dup, "SCEC_DC", "1995 (1).catalog"), []byte("1995/06/01 12:00:00.00 eq  l 3.50 l    34.050 -117.050   5.0 A        7   10    0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	out := filepath.Join(t.TempDir(), "o")
	cases := []struct {
		cat, msg string
	}{
		{bad, filepath.Join(bad, "SCEC_DC", "1995.catalog") + ":3: bad latitude \"34.O50\""},
		{dup, "overlap"},
		{empty, "no *.catalog files"},
	}
	for _, c := range cases {
		var so, se bytes.Buffer
		code := run(context.Background(), []string{"data", "prepare", "earthquake", "--catalog", c.cat, "--out", out}, &so, &se)
		if code != exitUsage || !strings.Contains(se.String(), c.msg) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d and %q", c.cat, code, se.String(), exitUsage, c.msg)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("failed runs created %s", out)
	}
}
