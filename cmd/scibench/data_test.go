package main

import (
	"bytes"
	"context"
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
