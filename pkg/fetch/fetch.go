package fetch

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scibench/scibench/pkg/metrics"
)

// File is one file to download.
type File struct {
	URL  string // absolute http(s) URL
	Path string // slash-separated path inside the destination directory
	Size int64  // bytes; -1 when unknown
	// SHA256 and MD5 (hex) are checked after the download when set; MD5
	// comes from the S3 ETag of objects uploaded in one part.
	SHA256, MD5 string
	Optional    bool // a 404 skips the file instead of failing
}

// Config configures a Fetcher. Zero values mean defaults.
type Config struct {
	// Client makes the requests (default: an http.Client with dial,
	// TLS-handshake and response-header timeouts, proxies from the
	// environment, no overall timeout: large files take hours).
	Client *http.Client
	// Mirror, when set (e.g. "http://127.0.0.1:8080"), replaces the
	// scheme and host of every source URL: a site mirror, or a test
	// server.
	Mirror string
	// Progress receives the progress bar or lines (nil: none).
	Progress io.Writer
	// Retries is how often one file is retried after a failed or cut
	// transfer, resuming where it stopped (default 5; -1: never).
	Retries int
	// RetryWait is the first back-off wait, doubled per retry up to 30 s
	// (default 1 s).
	RetryWait time.Duration
	// StallTimeout aborts (and retries) a transfer that receives no byte
	// for this long (default 60 s).
	StallTimeout time.Duration
	// Parallel is the number of files transferred at once (default 4).
	Parallel int
	// Logger gets one line per file (default: discard).
	Logger *slog.Logger
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{Retries: 5, RetryWait: time.Second, StallTimeout: time.Minute, Parallel: 4}
}

// Validate checks the config.
func (c Config) Validate() error {
	if c.Mirror != "" {
		u, err := url.Parse(c.Mirror)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%w: mirror %q: want http(s)://host[:port]", ErrPath, c.Mirror)
		}
	}
	if c.RetryWait < 0 || c.StallTimeout < 0 {
		return fmt.Errorf("fetch: negative RetryWait %v or StallTimeout %v", c.RetryWait, c.StallTimeout)
	}
	return nil
}

// Fetcher downloads files with resume and verification. It is safe for
// concurrent use.
type Fetcher struct {
	cfg  Config
	bufs sync.Pool // *[]byte transfer buffers
}

// New returns a Fetcher.
func New(cfg Config) (*Fetcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d := DefaultConfig()
	if cfg.Retries == 0 {
		cfg.Retries = d.Retries
	} else if cfg.Retries < 0 {
		cfg.Retries = 0
	}
	if cfg.RetryWait == 0 {
		cfg.RetryWait = d.RetryWait
	}
	if cfg.StallTimeout == 0 {
		cfg.StallTimeout = d.StallTimeout
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = d.Parallel
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 15 * time.Second}).DialContext,
			TLSHandshakeTimeout:   15 * time.Second,
			ResponseHeaderTimeout: 60 * time.Second,
			IdleConnTimeout:       90 * time.Second,
			ForceAttemptHTTP2:     true,
		}}
	}
	f := &Fetcher{cfg: cfg}
	f.bufs.New = func() any { b := make([]byte, 256<<10); return &b }
	return f, nil
}

// rebase applies Config.Mirror to a URL.
func (f *Fetcher) rebase(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%w: url %q: %w", ErrPath, raw, err)
	}
	if f.cfg.Mirror != "" {
		m, _ := url.Parse(f.cfg.Mirror) // checked by Validate
		u.Scheme, u.Host = m.Scheme, m.Host
	}
	return u.String(), nil
}

// LocalPath returns dir joined with the slash-separated rel, refusing
// names that are absolute, empty, or climb out of dir.
func LocalPath(dir, rel string) (string, error) {
	if rel == "" || strings.ContainsRune(rel, '\\') || strings.ContainsRune(rel, 0) {
		return "", fmt.Errorf("%w: %q", ErrPath, rel)
	}
	p := filepath.FromSlash(rel)
	if !filepath.IsLocal(p) {
		return "", fmt.Errorf("%w: %q leaves the destination directory", ErrPath, rel)
	}
	return filepath.Join(dir, p), nil
}

// Plan expands srcs into files: it lists S3 prefixes (sizes and MD5s
// from the listing); single files keep the Source's Size and SHA256 (the
// size is then checked against Content-Length). notes says what is
// unusual (file counts that differ from the published ones).
func (f *Fetcher) Plan(ctx context.Context, srcs []Source) (files []File, notes []string, err error) {
	for _, s := range srcs {
		if s.URL != "" {
			u, err := f.rebase(s.URL)
			if err != nil {
				return nil, nil, err
			}
			file := File{URL: u, Path: s.Dest, Size: s.Size, SHA256: s.SHA256, Optional: s.Optional}
			if _, err := LocalPath(".", file.Path); err != nil {
				return nil, nil, err
			}
			files = append(files, file)
			continue
		}
		got, err := f.List(ctx, s)
		if err != nil {
			return nil, nil, err
		}
		if s.ExpectFiles > 0 && len(got) != s.ExpectFiles {
			notes = append(notes, fmt.Sprintf("%s: %d objects under s3://%s/%s, the published dataset has %d", s.Name, len(got), s.Bucket, s.Prefix, s.ExpectFiles))
		}
		files = append(files, got...)
	}
	return files, notes, nil
}

// Stats sums up a Fetch.
type Stats struct {
	Files      int   // files in the plan
	Downloaded int   // files transferred (fully or resumed)
	Skipped    int   // files already complete
	Missing    int   // optional files the server does not have
	Bytes      int64 // bytes received
	Resumed    int   // transfers that continued a .part file
}

// Fetch downloads files into dir, Config.Parallel at a time: each goes
// to PATH.part, resumes from an existing .part with an HTTP Range request,
// is retried (resuming) after a cut or failed transfer, verified (size,
// SHA-256, MD5 when known) and renamed to PATH. A file that is already
// there with the right size is skipped. The first error cancels the
// transfers in flight (their .part files stay for a resume) and is
// returned.
func (f *Fetcher) Fetch(ctx context.Context, files []File, dir, label string) (Stats, error) {
	var total int64
	bySize := true
	for _, fl := range files {
		if fl.Size < 0 {
			bySize = false
		}
		total += max(fl.Size, 0)
	}
	var prog *metrics.Progress
	if f.cfg.Progress != nil {
		if bySize {
			prog = metrics.NewProgress(f.cfg.Progress, int(total), label+" (bytes)")
		} else {
			prog = metrics.NewProgress(f.cfg.Progress, len(files), label+" (files)")
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		st       = Stats{Files: len(files)}
		firstErr error
		present  atomic.Int64 // bytes present of the files, for the progress bar
		nfiles   atomic.Int64
		wg       sync.WaitGroup
	)
	sem := make(chan struct{}, f.cfg.Parallel)
	for _, fl := range files {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			var last int64
			n, res, err := f.download(ctx, fl, dir, func(got int64) {
				if prog != nil && bySize {
					_ = prog.Set(int(present.Add(got - last)))
				}
				last = got
			})
			mu.Lock()
			defer mu.Unlock()
			st.Bytes += n
			if err != nil {
				if firstErr == nil {
					firstErr = err
					cancel()
				}
				return
			}
			switch res {
			case resultSkipped:
				st.Skipped++
			case resultMissing:
				st.Missing++
				f.cfg.Logger.Warn("not on the server, skipped", "file", fl.Path, "url", fl.URL)
			case resultResumed:
				st.Resumed++
				st.Downloaded++
			default:
				st.Downloaded++
			}
			k := nfiles.Add(1)
			if prog != nil {
				if bySize {
					_ = prog.Set(int(present.Add(max(fl.Size, 0) - last)))
				} else {
					_ = prog.Set(int(k))
				}
			}
		}()
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = fmt.Errorf("fetch: %w", ctx.Err())
	}
	return st, firstErr
}

type result int

const (
	resultDownloaded result = iota
	resultResumed
	resultSkipped
	resultMissing
)

// Download fetches one file into dir (see Fetch). progress, when not nil,
// is called with the bytes of the file present so far. It returns the
// bytes received.
func (f *Fetcher) Download(ctx context.Context, fl File, dir string, progress func(int64)) (int64, error) {
	n, _, err := f.download(ctx, fl, dir, progress)
	return n, err
}

func (f *Fetcher) download(ctx context.Context, fl File, dir string, progress func(int64)) (int64, result, error) {
	dst, err := LocalPath(dir, fl.Path)
	if err != nil {
		return 0, 0, err
	}
	if st, err := os.Stat(dst); err == nil && st.Mode().IsRegular() && (fl.Size < 0 || st.Size() == fl.Size) {
		if progress != nil {
			progress(st.Size())
		}
		return 0, resultSkipped, nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return 0, 0, fmt.Errorf("fetch: %s: %w", fl.Path, err)
	}
	part := dst + ".part"
	var received int64
	resumed := false
	wait := f.cfg.RetryWait
	for attempt := 0; ; attempt++ {
		n, res, err := f.attempt(ctx, fl, part, progress)
		received += n
		if res == resultResumed {
			resumed = true
		}
		if err == nil {
			if res == resultMissing {
				return received, resultMissing, nil
			}
			break
		}
		if ctx.Err() != nil {
			return received, 0, fmt.Errorf("fetch: %s: %w (the partial file %s is kept for a resume)", fl.Path, ctx.Err(), part)
		}
		if !retryable(err) || attempt >= f.cfg.Retries {
			if retryable(err) {
				return received, 0, fmt.Errorf("%w (after %d retries; the partial file %s is kept: run again to resume)", err, attempt, part)
			}
			return received, 0, err
		}
		f.cfg.Logger.Warn("transfer failed, retrying", "file", fl.Path, "attempt", attempt+1, "wait", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return received, 0, fmt.Errorf("fetch: %s: %w", fl.Path, ctx.Err())
		case <-t.C:
		}
		wait = min(2*wait, 30*time.Second)
	}
	if err := verify(part, fl); err != nil {
		_ = os.Remove(part) // a wrong file is not worth resuming
		return received, 0, err
	}
	if err := os.Rename(part, dst); err != nil {
		return received, 0, fmt.Errorf("fetch: %s: %w", fl.Path, err)
	}
	f.cfg.Logger.Info("fetched", "file", fl.Path, "bytes", received, "resumed", resumed)
	if resumed {
		return received, resultResumed, nil
	}
	return received, resultDownloaded, nil
}

// retryErr marks errors worth another attempt (cut transfers, 5xx, stalls).
type retryErr struct{ err error }

func (e retryErr) Error() string { return e.err.Error() }
func (e retryErr) Unwrap() error { return e.err }

func retryable(err error) bool {
	var r retryErr
	return errors.As(err, &r)
}

// netErr classifies a request error: dial and DNS failures are
// ErrUnreachable with advice; the rest are retryable.
func netErr(rawURL string, err error) error {
	host := rawURL
	if u, perr := url.Parse(rawURL); perr == nil {
		host = u.Host
	}
	var dns *net.DNSError
	var op *net.OpError
	if errors.As(err, &dns) || (errors.As(err, &op) && op.Op == "dial") {
		return fmt.Errorf("%w: cannot reach %s: %w (no network from this machine? download elsewhere and copy the files into the destination, or point --mirror at a reachable copy)", ErrUnreachable, host, err)
	}
	return retryErr{fmt.Errorf("fetch: %s: %w", rawURL, err)}
}

// attempt makes one request for fl, appending to part.
func (f *Fetcher) attempt(ctx context.Context, fl File, part string, progress func(int64)) (int64, result, error) {
	pf, err := os.OpenFile(part, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return 0, 0, fmt.Errorf("fetch: %w", err)
	}
	defer pf.Close()
	off, err := pf.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, 0, fmt.Errorf("fetch: %s: %w", part, err)
	}
	if fl.Size >= 0 && off > fl.Size {
		if err := restart(pf); err != nil {
			return 0, 0, err
		}
		off = 0
	}
	if fl.Size >= 0 && off == fl.Size && off > 0 {
		return 0, resultResumed, nil
	}
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	req, err := http.NewRequestWithContext(actx, http.MethodGet, fl.URL, nil)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %s: %w", ErrPath, fl.URL, err)
	}
	if off > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(off, 10)+"-")
	}
	resp, err := f.cfg.Client.Do(req)
	if err != nil {
		return 0, 0, netErr(fl.URL, err)
	}
	defer resp.Body.Close()
	res := resultDownloaded
	switch resp.StatusCode {
	case http.StatusPartialContent:
		start, err := contentRangeStart(resp.Header.Get("Content-Range"))
		if err != nil || start != off {
			// not what we asked for: start over
			if err := restart(pf); err != nil {
				return 0, 0, err
			}
			return 0, 0, retryErr{fmt.Errorf("%w: %s: Content-Range %q for a request from byte %d", ErrHTTP, fl.URL, resp.Header.Get("Content-Range"), off)}
		}
		res = resultResumed
	case http.StatusOK:
		if off > 0 { // the server ignores Range: whole file again
			if err := restart(pf); err != nil {
				return 0, 0, err
			}
			off = 0
		}
	case http.StatusRequestedRangeNotSatisfiable:
		if off > 0 && fl.Size < 0 {
			return 0, resultResumed, nil // the part file already holds everything
		}
		if err := restart(pf); err != nil {
			return 0, 0, err
		}
		return 0, 0, retryErr{fmt.Errorf("%w: %s: 416 for a request from byte %d of %d", ErrHTTP, fl.URL, off, fl.Size)}
	case http.StatusNotFound:
		if fl.Optional {
			_ = pf.Close()
			_ = os.Remove(part)
			return 0, resultMissing, nil
		}
		return 0, 0, fmt.Errorf("%w: %s (HTTP 404)", ErrNotFound, fl.URL)
	default:
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		err := fmt.Errorf("%w: %s: %s: %s", ErrHTTP, fl.URL, resp.Status, strings.TrimSpace(string(snippet)))
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			return 0, 0, retryErr{err}
		}
		return 0, 0, err
	}
	want := int64(-1)
	if resp.ContentLength >= 0 {
		want = resp.ContentLength
		if fl.Size >= 0 && off+want != fl.Size {
			return 0, 0, fmt.Errorf("%w: %s: server sends %d bytes from byte %d, the listing says the file has %d", ErrVerify, fl.Path, want, off, fl.Size)
		}
	}
	stall := time.AfterFunc(f.cfg.StallTimeout, func() { cancel(ErrStalled) })
	defer stall.Stop()
	bp := f.bufs.Get().(*[]byte)
	defer f.bufs.Put(bp)
	buf := *bp
	var n int64
	for {
		k, rerr := resp.Body.Read(buf)
		if k > 0 {
			stall.Reset(f.cfg.StallTimeout)
			if _, werr := pf.Write(buf[:k]); werr != nil {
				return n, res, fmt.Errorf("fetch: %s: %w", part, werr)
			}
			n += int64(k)
			if progress != nil {
				progress(off + n)
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			if c := context.Cause(actx); errors.Is(c, ErrStalled) {
				rerr = fmt.Errorf("%w: no data for %v", ErrStalled, f.cfg.StallTimeout)
			}
			return n, res, retryErr{fmt.Errorf("fetch: %s: transfer cut at byte %d: %w", fl.Path, off+n, rerr)}
		}
	}
	if want >= 0 && n != want {
		return n, res, retryErr{fmt.Errorf("fetch: %s: got %d of %d bytes", fl.Path, n, want)}
	}
	if err := pf.Sync(); err != nil {
		return n, res, fmt.Errorf("fetch: %s: %w", part, err)
	}
	return n, res, nil
}

func restart(pf *os.File) error {
	if err := pf.Truncate(0); err != nil {
		return fmt.Errorf("fetch: %s: %w", pf.Name(), err)
	}
	if _, err := pf.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("fetch: %s: %w", pf.Name(), err)
	}
	return nil
}

// contentRangeStart parses the first byte of "bytes START-END/TOTAL".
func contentRangeStart(s string) (int64, error) {
	rest, ok := strings.CutPrefix(s, "bytes ")
	if !ok {
		return 0, fmt.Errorf("Content-Range %q", s)
	}
	a, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, fmt.Errorf("Content-Range %q", s)
	}
	return strconv.ParseInt(a, 10, 64)
}

// verify checks the size and the checksums of a complete file.
func verify(p string, fl File) error {
	st, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("fetch: %w", err)
	}
	if fl.Size >= 0 && st.Size() != fl.Size {
		return fmt.Errorf("%w: %s: %d bytes, want %d", ErrVerify, fl.Path, st.Size(), fl.Size)
	}
	if fl.SHA256 == "" && fl.MD5 == "" {
		return nil
	}
	fh, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("fetch: %w", err)
	}
	defer fh.Close()
	var ws []io.Writer
	sh, mh := sha256.New(), md5.New()
	if fl.SHA256 != "" {
		ws = append(ws, sh)
	}
	if fl.MD5 != "" {
		ws = append(ws, mh)
	}
	if _, err := io.Copy(io.MultiWriter(ws...), fh); err != nil {
		return fmt.Errorf("fetch: %s: %w", p, err)
	}
	if fl.SHA256 != "" {
		if got := hex.EncodeToString(sh.Sum(nil)); !strings.EqualFold(got, fl.SHA256) {
			return fmt.Errorf("%w: %s: sha256 %s, want %s", ErrVerify, fl.Path, got, fl.SHA256)
		}
	}
	if fl.MD5 != "" {
		if got := hex.EncodeToString(mh.Sum(nil)); !strings.EqualFold(got, fl.MD5) {
			return fmt.Errorf("%w: %s: md5 %s, want %s (S3 ETag)", ErrVerify, fl.Path, got, fl.MD5)
		}
	}
	return nil
}

// objectURL is endpoint/bucket/key with every key segment escaped.
func objectURL(endpoint, bucket, key string) string {
	segs := strings.Split(key, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.TrimRight(endpoint, "/") + "/" + url.PathEscape(bucket) + "/" + strings.Join(segs, "/")
}
