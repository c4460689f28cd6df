package main

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// unoServer serves the uno file at its official path on loopback; the
// first full GET is cut after cut bytes when cut > 0.
func unoServer(t *testing.T, data []byte, cut int) (*httptest.Server, *[]string) {
	t.Helper()
	var mu sync.Mutex
	var ranges []string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/pub/candle/public/benchmarks/Pilot1/uno/top_21_auc_1fold.uno.h5" {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		if rg := r.Header.Get("Range"); rg != "" {
			ranges = append(ranges, rg)
		}
		doCut := cut > 0 && r.Header.Get("Range") == ""
		if doCut {
			cut = -cut
		}
		mu.Unlock()
		if doCut {
			w.Header().Set("Content-Length", strconv.Itoa(len(data)))
			_, _ = w.Write(data[:-cut])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}
		http.ServeContent(w, r, "uno.h5", time.Unix(0, 0), bytes.NewReader(data))
	}))
	t.Cleanup(ts.Close)
	return ts, &ranges
}

func TestDataFetchResumes(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	data := make([]byte, 900_000)
	for i := range data {
		data[i] = byte(rng.UintN(256))
	}
	ts, ranges := unoServer(t, data, 300_000)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var so, se bytes.Buffer
	code := run(ctx, []string{"data", "fetch", "uno", "--to", dir, "--mirror", ts.URL, "--retries", "0"}, &so, &se)
	if code != exitFailed || !strings.Contains(se.String(), "run again to resume") {
		t.Fatalf("cut transfer: exit %d, stderr %s", code, se.String())
	}
	so.Reset()
	se.Reset()
	code = run(ctx, []string{"data", "fetch", "uno", "--to", dir, "--mirror", ts.URL}, &so, &se)
	if code != exitOK {
		t.Fatalf("resume: exit %d, stderr %s", code, se.String())
	}
	got, err := os.ReadFile(filepath.Join(dir, "top_21_auc_1fold.uno.h5"))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("fetched file: %v, %d bytes, equal %v", err, len(got), bytes.Equal(got, data))
	}
	if len(*ranges) != 1 || !strings.HasPrefix((*ranges)[0], "bytes=") || !strings.Contains(so.String(), "(1 resumed)") {
		t.Errorf("ranges %q, stdout %q: want one resumed Range request", *ranges, so.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "top_21_auc_1fold.uno.h5.part")); !os.IsNotExist(err) {
		t.Errorf(".part file left behind: %v", err)
	}
	so.Reset()
	if code := run(ctx, []string{"data", "fetch", "uno", "--to", dir, "--mirror", ts.URL}, &so, &se); code != exitOK || !strings.Contains(so.String(), "1 already complete") {
		t.Errorf("third run: exit %d, %q", code, so.String())
	}
}

func TestDataFetchErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"data", "fetch"}, exitUsage, "usage: scibench data fetch"},
		{[]string{"data", "fetch", "mnist", "--to", t.TempDir()}, exitUsage, "unknown benchmark"},
		{[]string{"data", "fetch", "uno"}, exitUsage, "--to DIR"},
		{[]string{"data", "fetch", "uno", "--to", t.TempDir(), "--mirror", "ftp://x"}, exitUsage, "mirror"},
		{[]string{"data", "fetch", "uno", "--to", t.TempDir(), "--mirror", closed}, exitFailed, "network unreachable: cannot reach " + strings.TrimPrefix(closed, "http://")},
		{[]string{"data", "fetch", "cloudmask", "--to", t.TempDir(), "--mirror", closed}, exitFailed, "network unreachable"},
	} {
		var so, se bytes.Buffer
		code := run(ctx, tc.args, &so, &se)
		if code != tc.code || !strings.Contains(se.String(), tc.msg) {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", tc.args, code, se.String(), tc.code, tc.msg)
		}
	}
}

func TestDataFetchListOnly(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/sciml-datasets" || r.URL.Query().Get("list-type") != "2" {
			http.NotFound(w, r)
			return
		}
		p := r.URL.Query().Get("prefix")
		name := strings.TrimSuffix(strings.TrimPrefix(p, "ms/stemdl_ds1a/"), "/")
		_, _ = w.Write([]byte(`<ListBucketResult><IsTruncated>false</IsTruncated>` +
			`<Contents><Key>` + p + `sample-1.npz</Key><Size>197000</Size><ETag>"` + strings.Repeat("a", 32) + `"</ETag></Contents>` +
			`<Contents><Key>` + p + `sample-2.npz</Key><Size>` + strconv.Itoa(len(name)) + `</Size></Contents></ListBucketResult>`))
	}))
	defer ts.Close()
	var so, se bytes.Buffer
	code := run(context.Background(), []string{"data", "fetch", "stemdl", "--to", t.TempDir(), "--mirror", ts.URL, "--list", "--only", "validation,inference"}, &so, &se)
	if code != exitOK {
		t.Fatalf("exit %d, stderr %s", code, se.String())
	}
	lines := strings.Split(strings.TrimSpace(so.String()), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "197000\tvalidation/sample-1.npz\t"+ts.URL+"/sciml-datasets/ms/stemdl_ds1a/validation/sample-1.npz") ||
		lines[4] != "4 files, 384.8 KiB" {
		t.Errorf("list output:\n%s", so.String())
	}
	if !strings.Contains(se.String(), "the published dataset has 148006") {
		t.Errorf("no note about the file count: %s", se.String())
	}
}
