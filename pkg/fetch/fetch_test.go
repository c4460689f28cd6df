package fetch

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// s3Server is a loopback S3 look-alike: ListObjectsV2 (pageSize keys per
// page) and object GETs with Range support, plus fault injection.
type s3Server struct {
	t        *testing.T
	bucket   string
	pageSize int
	mu       sync.Mutex
	objects  map[string][]byte
	etags    map[string]string // override of the ETag (default: MD5)
	cutOnce  map[string]int64  // key → cut the next full transfer after this many bytes
	stall    map[string]bool   // key → send half, then hang until the client gives up
	noRange  bool              // ignore Range headers (always 200)
	ranges   []string          // Range headers seen, "key:range"
	gets     map[string]int
	release  chan struct{}
}

func newS3(t *testing.T, bucket string) (*s3Server, *httptest.Server) {
	s := &s3Server{t: t, bucket: bucket, pageSize: 2, objects: map[string][]byte{}, etags: map[string]string{},
		cutOnce: map[string]int64{}, stall: map[string]bool{}, gets: map[string]int{}, release: make(chan struct{})}
	ts := httptest.NewServer(s)
	t.Cleanup(func() {
		close(s.release)
		ts.Close()
	})
	return s, ts
}

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	return b
}

func (s *s3Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, "/")
	if p == s.bucket && r.URL.Query().Get("list-type") == "2" {
		s.list(w, r)
		return
	}
	key, ok := strings.CutPrefix(p, s.bucket+"/")
	s.mu.Lock()
	data, found := s.objects[key]
	cut, doCut := s.cutOnce[key]
	stall := s.stall[key]
	if doCut && r.Header.Get("Range") == "" {
		delete(s.cutOnce, key)
	} else {
		doCut = false
	}
	if rg := r.Header.Get("Range"); rg != "" {
		s.ranges = append(s.ranges, key+":"+rg)
	}
	s.gets[key]++
	noRange := s.noRange
	s.mu.Unlock()
	if !ok || !found {
		http.Error(w, "NoSuchKey", http.StatusNotFound)
		return
	}
	switch {
	case doCut:
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(data[:cut])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // drop the connection mid-body
	case stall:
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(data[:len(data)/2])
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-s.release:
		}
		return
	case noRange:
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		_, _ = w.Write(data)
		return
	}
	http.ServeContent(w, r, key, time.Unix(0, 0), bytes.NewReader(data))
}

func (s *s3Server) list(w http.ResponseWriter, r *http.Request) {
	prefix := r.URL.Query().Get("prefix")
	start := 0
	if tok := r.URL.Query().Get("continuation-token"); tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil {
			http.Error(w, "bad token", http.StatusBadRequest)
			return
		}
		start = n
	}
	s.mu.Lock()
	var keys []string
	for k := range s.objects {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	type content struct {
		Key  string `xml:"Key"`
		Size int    `xml:"Size"`
		ETag string `xml:"ETag"`
	}
	type result struct {
		XMLName     xml.Name  `xml:"ListBucketResult"`
		Name        string    `xml:"Name"`
		Prefix      string    `xml:"Prefix"`
		KeyCount    int       `xml:"KeyCount"`
		IsTruncated bool      `xml:"IsTruncated"`
		Contents    []content `xml:"Contents"`
		Next        string    `xml:"NextContinuationToken,omitempty"`
	}
	res := result{Name: s.bucket, Prefix: prefix}
	end := min(start+s.pageSize, len(keys))
	for _, k := range keys[start:end] {
		tag, ok := s.etags[k]
		if !ok {
			sum := md5.Sum(s.objects[k])
			tag = hex.EncodeToString(sum[:])
		}
		res.Contents = append(res.Contents, content{Key: k, Size: len(s.objects[k]), ETag: `"` + tag + `"`})
	}
	s.mu.Unlock()
	res.KeyCount = len(res.Contents)
	if end < len(keys) {
		res.IsTruncated, res.Next = true, strconv.Itoa(end)
	}
	w.Header().Set("Content-Type", "application/xml")
	_, _ = w.Write([]byte(xml.Header))
	if err := xml.NewEncoder(w).Encode(res); err != nil {
		s.t.Errorf("encode listing: %v", err)
	}
}

func testFetcher(t *testing.T, ts *httptest.Server, cfg Config) *Fetcher {
	t.Helper()
	cfg.Mirror = ts.URL
	if cfg.RetryWait == 0 {
		cfg.RetryWait = time.Millisecond
	}
	if cfg.Client == nil {
		cfg.Client = ts.Client()
	}
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// checkTree asserts that dir holds exactly want (path → content) and no
// .part files.
func checkTree(t *testing.T, dir string, want map[string][]byte) {
	t.Helper()
	got := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		b, err := os.ReadFile(p)
		got[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		var names []string
		for k := range got {
			names = append(names, k)
		}
		slices.Sort(names)
		t.Fatalf("dir has %d files %v, want %d", len(got), names, len(want))
	}
	for k, w := range want {
		if !bytes.Equal(got[k], w) {
			t.Errorf("%s: %d bytes differ from the served %d bytes", k, len(got[k]), len(w))
		}
	}
}

func TestFetchS3ListingAndFiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	s, ts := newS3(t, "sciml-datasets")
	want := map[string][]byte{}
	for i := range 7 {
		key := fmt.Sprintf("es/cloud_slstr_ds1/training/day/S3A_%02d.hdf", i)
		data := randBytes(rng, 1+rng.IntN(300_000))
		s.objects[key] = data
		want["training/day/"+strings.TrimPrefix(key, "es/cloud_slstr_ds1/training/day/")] = data
	}
	s.objects["es/cloud_slstr_ds1/other/x.hdf"] = []byte("not listed") // another prefix
	src := Source{Name: "training", Endpoint: STFCEndpoint, Bucket: "sciml-datasets", Prefix: "es/cloud_slstr_ds1/training/", Dest: "training", ExpectFiles: 9}
	var prog bytes.Buffer
	f := testFetcher(t, ts, Config{Progress: &prog})
	files, notes, err := f.Plan(ctxT(t), []Source{src})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 7 {
		t.Fatalf("plan has %d files over 4 listing pages, want 7", len(files))
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "7 objects") || !strings.Contains(notes[0], "9") {
		t.Errorf("notes %q: want one about 7 objects instead of 9", notes)
	}
	for _, fl := range files {
		if fl.MD5 == "" || fl.Size != int64(len(want[fl.Path])) || !strings.HasPrefix(fl.URL, ts.URL+"/sciml-datasets/es/") {
			t.Errorf("file %+v: want MD5, size %d and a URL on the mirror", fl, len(want[fl.Path]))
		}
	}
	dir := t.TempDir()
	st, err := f.Fetch(ctxT(t), files, dir, "fetch cloudmask")
	if err != nil {
		t.Fatal(err)
	}
	checkTree(t, dir, want)
	if st.Downloaded != 7 || st.Skipped != 0 || st.Resumed != 0 {
		t.Errorf("stats %+v: want 7 downloaded", st)
	}
	var total int64
	for _, d := range want {
		total += int64(len(d))
	}
	if st.Bytes != total {
		t.Errorf("received %d bytes, want %d", st.Bytes, total)
	}
	if out := prog.String(); !strings.Contains(out, "fetch cloudmask (bytes)") || !strings.Contains(out, "(100%)") {
		t.Errorf("progress output %q: want the label and 100%%", out)
	}
	// a second run finds everything complete and downloads nothing
	gets := s.gets["es/cloud_slstr_ds1/training/day/S3A_00.hdf"]
	st, err = f.Fetch(ctxT(t), files, dir, "again")
	if err != nil || st.Skipped != 7 || st.Downloaded != 0 || st.Bytes != 0 {
		t.Fatalf("second fetch: %+v, %v: want 7 skipped", st, err)
	}
	if g := s.gets["es/cloud_slstr_ds1/training/day/S3A_00.hdf"]; g != gets {
		t.Errorf("second fetch made %d more GETs", g-gets)
	}
}

// TestFetchResumesInterruptedTransfer cuts the connection in the middle of
// a file: with no retries the fetch fails and keeps the .part file; the
// next fetch continues it with a Range request and the result is intact.
func TestFetchResumesInterruptedTransfer(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	s, ts := newS3(t, "b")
	data := randBytes(rng, 1<<20+12345)
	key := "ms/stemdl_ds1a/training/sample-1.npz"
	s.objects[key] = data
	const cut = 400_000
	s.cutOnce[key] = cut
	src := Source{Name: "training", Endpoint: STFCEndpoint, Bucket: "b", Prefix: "ms/stemdl_ds1a/training/", Dest: "training"}
	f := testFetcher(t, ts, Config{Retries: -1})
	files, _, err := f.Plan(ctxT(t), []Source{src})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	_, err = f.Fetch(ctxT(t), files, dir, "fetch")
	if err == nil || !strings.Contains(err.Error(), "run again to resume") {
		t.Fatalf("fetch over a cut connection: err %v, want a failure that keeps the partial file", err)
	}
	part := filepath.Join(dir, "training", "sample-1.npz.part")
	st, err := os.Stat(part)
	if err != nil || st.Size() == 0 || st.Size() > cut {
		t.Fatalf("partial file %s: %v, size %v: want 1..%d bytes", part, err, st, cut)
	}
	have := st.Size()
	stats, err := f.Fetch(ctxT(t), files, dir, "fetch")
	if err != nil {
		t.Fatal(err)
	}
	checkTree(t, dir, map[string][]byte{"training/sample-1.npz": data})
	if stats.Resumed != 1 || stats.Bytes != int64(len(data))-have {
		t.Errorf("stats %+v: want 1 resumed transfer of %d bytes", stats, int64(len(data))-have)
	}
	if want := key + ":bytes=" + strconv.FormatInt(have, 10) + "-"; !slices.Contains(s.ranges, want) {
		t.Errorf("Range requests %q: want %q", s.ranges, want)
	}
}

// TestFetchRetriesInOneRun: the same cut, but the fetcher retries by
// itself and resumes within one Fetch call.
func TestFetchRetriesInOneRun(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	s, ts := newS3(t, "b")
	data := randBytes(rng, 700_001)
	s.objects["p/a.bin"] = data
	s.cutOnce["p/a.bin"] = 123_457
	f := testFetcher(t, ts, Config{Retries: 2})
	files, _, err := f.Plan(ctxT(t), []Source{{Name: "p", Endpoint: "https://example.invalid", Bucket: "b", Prefix: "p/"}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	st, err := f.Fetch(ctxT(t), files, dir, "fetch")
	if err != nil {
		t.Fatal(err)
	}
	checkTree(t, dir, map[string][]byte{"a.bin": data})
	if st.Resumed != 1 || s.gets["p/a.bin"] != 2 || len(s.ranges) != 1 {
		t.Errorf("stats %+v, %d GETs, ranges %q: want one resumed retry", st, s.gets["p/a.bin"], s.ranges)
	}
}

func TestFetchServerIgnoringRange(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	s, ts := newS3(t, "b")
	data := randBytes(rng, 300_000)
	s.objects["p/a.bin"] = data
	s.noRange = true
	dir := t.TempDir()
	// a stale partial file with wrong bytes: the 200 answer replaces it
	if err := os.WriteFile(filepath.Join(dir, "a.bin.part"), bytes.Repeat([]byte{0xEE}, 1000), 0o644); err != nil {
		t.Fatal(err)
	}
	f := testFetcher(t, ts, Config{})
	files, _, err := f.Plan(ctxT(t), []Source{{Name: "p", Endpoint: "https://x.invalid", Bucket: "b", Prefix: "p/"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Fetch(ctxT(t), files, dir, "fetch"); err != nil {
		t.Fatal(err)
	}
	checkTree(t, dir, map[string][]byte{"a.bin": data})
}

func TestFetchChecksumMismatch(t *testing.T) {
	s, ts := newS3(t, "b")
	s.objects["p/a.bin"] = []byte("hello world")
	s.etags["p/a.bin"] = strings.Repeat("0", 32)
	f := testFetcher(t, ts, Config{})
	files, _, err := f.Plan(ctxT(t), []Source{{Name: "p", Endpoint: "https://x.invalid", Bucket: "b", Prefix: "p/"}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	_, err = f.Fetch(ctxT(t), files, dir, "fetch")
	if !errors.Is(err, ErrVerify) || !strings.Contains(err.Error(), "a.bin") || !strings.Contains(err.Error(), "md5") {
		t.Fatalf("err %v: want ErrVerify naming the file and md5", err)
	}
	checkTree(t, dir, map[string][]byte{}) // neither the file nor its .part
	// a SHA-256 mismatch on a single-URL source
	fl := File{URL: ts.URL + "/b/p/a.bin", Path: "a.bin", Size: 11, SHA256: hex.EncodeToString(make([]byte, 32))}
	if _, err := f.Download(ctxT(t), fl, dir, nil); !errors.Is(err, ErrVerify) || !strings.Contains(err.Error(), "sha256") {
		t.Fatalf("err %v: want ErrVerify sha256", err)
	}
	sum := sha256.Sum256([]byte("hello world"))
	fl.SHA256 = hex.EncodeToString(sum[:])
	if _, err := f.Download(ctxT(t), fl, dir, nil); err != nil {
		t.Fatal(err)
	}
	checkTree(t, dir, map[string][]byte{"a.bin": []byte("hello world")})
}

func TestFetchUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: connection refused
	f, err := New(Config{Mirror: "http://" + addr, Retries: 3, RetryWait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srcs, err := Sources("uno", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	files, _, err := f.Plan(ctxT(t), srcs)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Fetch(ctxT(t), files, t.TempDir(), "fetch uno")
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "no network") {
		t.Fatalf("err %v: want ErrUnreachable naming %s with advice", err, addr)
	}
	srcs, _ = Sources("stemdl", time.Now())
	if _, _, err := f.Plan(ctxT(t), srcs); !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "training") {
		t.Fatalf("listing err %v: want ErrUnreachable naming the source", err)
	}
}

func TestFetchStalledTransfer(t *testing.T) {
	s, ts := newS3(t, "b")
	s.objects["p/a.bin"] = make([]byte, 100_000)
	s.stall["p/a.bin"] = true
	f := testFetcher(t, ts, Config{Retries: -1, StallTimeout: 150 * time.Millisecond})
	files, _, err := f.Plan(ctxT(t), []Source{{Name: "p", Endpoint: "https://x.invalid", Bucket: "b", Prefix: "p/"}})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = f.Fetch(ctxT(t), files, t.TempDir(), "fetch")
	if !errors.Is(err, ErrStalled) {
		t.Fatalf("err %v: want ErrStalled", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("stall detected after %v", d)
	}
}

func TestFetchMissingFiles(t *testing.T) {
	s, ts := newS3(t, "b")
	s.objects["cat/1933.catalog"] = []byte("1933 events\n")
	f := testFetcher(t, ts, Config{})
	dir := t.TempDir()
	files := []File{
		{URL: ts.URL + "/b/cat/1932.catalog", Path: "SCEC_DC/1932.catalog", Size: -1, Optional: true},
		{URL: ts.URL + "/b/cat/1933.catalog", Path: "SCEC_DC/1933.catalog", Size: -1, Optional: true},
	}
	st, err := f.Fetch(ctxT(t), files, dir, "fetch")
	if err != nil || st.Missing != 1 || st.Downloaded != 1 {
		t.Fatalf("stats %+v, err %v: want 1 missing, 1 downloaded", st, err)
	}
	checkTree(t, dir, map[string][]byte{"SCEC_DC/1933.catalog": []byte("1933 events\n")})
	files[0].Optional = false
	if _, err := f.Fetch(ctxT(t), files, dir, "fetch"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "1932.catalog") {
		t.Fatalf("err %v: want ErrNotFound naming the file", err)
	}
}

func TestListRefusesUnsafeKeys(t *testing.T) {
	for _, key := range []string{"p/../../etc/passwd", "p/a/../../../x"} {
		s, ts := newS3(t, "b")
		s.objects[key] = []byte("x")
		f := testFetcher(t, ts, Config{})
		_, _, err := f.Plan(ctxT(t), []Source{{Name: "p", Endpoint: "https://x.invalid", Bucket: "b", Prefix: "p/"}})
		if !errors.Is(err, ErrPath) {
			t.Errorf("key %q: err %v, want ErrPath", key, err)
		}
	}
}

func TestListHTTPErrors(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`))
	}))
	defer ts.Close()
	f := testFetcher(t, ts, Config{})
	_, _, err := f.Plan(ctxT(t), []Source{{Name: "training", Endpoint: "https://x.invalid", Bucket: "b", Prefix: "p/"}})
	if !errors.Is(err, ErrHTTP) || !strings.Contains(err.Error(), "AccessDenied") || !strings.Contains(err.Error(), "training") {
		t.Fatalf("err %v: want ErrHTTP with the S3 code and the source name", err)
	}
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>`))
	}))
	defer bad.Close()
	f = testFetcher(t, bad, Config{})
	if _, _, err := f.Plan(ctxT(t), []Source{{Name: "p", Endpoint: "https://x.invalid", Bucket: "b", Prefix: "p/"}}); !errors.Is(err, ErrListing) {
		t.Fatalf("truncated listing without token: err %v, want ErrListing", err)
	}
}

func TestLocalPath(t *testing.T) {
	for _, tc := range []struct {
		rel string
		ok  bool
	}{
		{"a/b.h5", true}, {"training/day/x.hdf", true}, {"", false}, {"../x", false}, {"a/../../x", false},
		{"/etc/passwd", false}, {`a\..\x`, false}, {"a/./b", true},
	} {
		p, err := LocalPath("/d", tc.rel)
		if (err == nil) != tc.ok {
			t.Errorf("LocalPath(%q) = %q, %v; want ok=%v", tc.rel, p, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrPath) {
			t.Errorf("LocalPath(%q): %v does not wrap ErrPath", tc.rel, err)
		}
		if err == nil && !strings.HasPrefix(p, "/d/") {
			t.Errorf("LocalPath(%q) = %q, outside /d", tc.rel, p)
		}
	}
}

func TestSources(t *testing.T) {
	now := time.Date(2026, 8, 7, 0, 0, 0, 0, time.UTC)
	counts := map[string]int{}
	for _, b := range Benchmarks() {
		srcs, err := Sources(b, now)
		if err != nil || len(srcs) == 0 {
			t.Fatalf("Sources(%q): %v, %d sources", b, err, len(srcs))
		}
		for _, s := range srcs {
			if (s.URL == "") == (s.Bucket == "") {
				t.Errorf("%s/%s: want exactly one of URL and an S3 bucket", b, s.Name)
			}
			if _, err := LocalPath("/d", s.Dest); err != nil {
				t.Errorf("%s/%s: dest %q: %v", b, s.Name, s.Dest, err)
			}
			counts[b] += s.ExpectFiles
		}
	}
	if counts["cloudmask"] != 1070 || counts["stemdl"] != 187156 {
		t.Errorf("expected file counts %v: want cloudmask 970+100, stemdl 148006+20401+9374+9375", counts)
	}
	eq, _ := Sources("earthquake", now)
	if len(eq) != 2026-1932+1 || eq[0].Dest != "SCEC_DC/1932.catalog" || !eq[0].Optional || !strings.HasSuffix(eq[len(eq)-1].URL, "/2026.catalog") {
		t.Errorf("earthquake sources: %d, first %+v", len(eq), eq[0])
	}
	if _, err := Sources("mnist", now); !errors.Is(err, ErrUnknownBench) {
		t.Errorf("unknown bench: %v", err)
	}
	if _, err := New(Config{Mirror: "ftp://x"}); err == nil {
		t.Error("New accepted an ftp mirror")
	}
}

func TestFetchParallel(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	s, ts := newS3(t, "b")
	want := map[string][]byte{}
	for i := range 30 {
		key := fmt.Sprintf("p/d%d/f%02d.bin", i%3, i)
		data := randBytes(rng, rng.IntN(200_000))
		s.objects[key] = data
		want[strings.TrimPrefix(key, "p/")] = data
		if i%7 == 3 && len(data) > 10 {
			s.cutOnce[key] = int64(len(data) / 3)
		}
	}
	s.pageSize = 7
	var prog bytes.Buffer
	f := testFetcher(t, ts, Config{Parallel: 5, Retries: 3, Progress: &prog})
	files, _, err := f.Plan(ctxT(t), []Source{{Name: "p", Endpoint: "https://x.invalid", Bucket: "b", Prefix: "p/"}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	st, err := f.Fetch(ctxT(t), files, dir, "par")
	if err != nil {
		t.Fatal(err)
	}
	checkTree(t, dir, want)
	if st.Downloaded != 30 || st.Resumed != len(s.ranges) || st.Resumed == 0 {
		t.Errorf("stats %+v, %d ranges: want 30 downloaded, the cut ones resumed", st, len(s.ranges))
	}
	if !strings.Contains(prog.String(), "(100%)") {
		t.Errorf("progress %q", prog.String())
	}
	// one bad object among many: the error wins, the others are cancelled
	s.mu.Lock()
	s.etags["p/d0/f00.bin"] = strings.Repeat("1", 32)
	s.mu.Unlock()
	files, _, err = f.Plan(ctxT(t), []Source{{Name: "p", Endpoint: "https://x.invalid", Bucket: "b", Prefix: "p/"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Fetch(ctxT(t), files, t.TempDir(), "par"); !errors.Is(err, ErrVerify) || !strings.Contains(err.Error(), "d0/f00.bin") {
		t.Fatalf("err %v: want ErrVerify for d0/f00.bin", err)
	}
}

// BenchmarkFetchLoopback downloads one 64 MiB object from a loopback
// server (resume bookkeeping, stall timer, MD5 verification included).
func BenchmarkFetchLoopback(b *testing.B) {
	data := randBytes(rand.New(rand.NewPCG(1, 1)), 64<<20)
	sum := md5.Sum(data)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "x", time.Unix(0, 0), bytes.NewReader(data))
	}))
	defer ts.Close()
	f, err := New(Config{Client: ts.Client()})
	if err != nil {
		b.Fatal(err)
	}
	fl := File{URL: ts.URL + "/x", Path: "x.bin", Size: int64(len(data)), MD5: hex.EncodeToString(sum[:])}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		dir := b.TempDir()
		if _, err := f.Fetch(context.Background(), []File{fl}, dir, "bench"); err != nil {
			b.Fatal(err)
		}
		_ = os.RemoveAll(dir)
	}
}
