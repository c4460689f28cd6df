package metrics

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

func newTestProgress(w *bytes.Buffer, total int, step time.Duration) *Progress {
	p := NewProgress(w, total, "epoch 1")
	now := time.Unix(1000, 0)
	p.start, p.lastTime = now, now
	p.clock = func() time.Time {
		now = now.Add(step)
		return now
	}
	return p
}

func TestProgressLogLines(t *testing.T) {
	var buf bytes.Buffer
	p := newTestProgress(&buf, 200, 100*time.Millisecond)
	if p.tty {
		t.Fatal("buffer detected as terminal")
	}
	for range 200 {
		must(t, p.Add(1))
	}
	must(t, p.Add(5)) // after completion: nothing more
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 10 {
		t.Fatalf("%d lines:\n%s", len(lines), buf.String())
	}
	if lines[0] != "epoch 1: 20/200 (10%) elapsed 2s eta 18s" || lines[9] != "epoch 1: 200/200 (100%) elapsed 20s" {
		t.Fatalf("lines:\n%s", buf.String())
	}
}

// TestProgressRandomCadence checks, against a naive reference, that a line
// is printed exactly when a 10% boundary is crossed, 10 s have passed since
// the last line, or the loop completes.
func TestProgressRandomCadence(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	for range 200 {
		total := 1 + r.IntN(500)
		var buf bytes.Buffer
		p := NewProgress(&buf, total, "x")
		now := time.Unix(0, 0)
		p.start, p.lastTime = now, now
		p.clock = func() time.Time { return now }
		want, lastPct, lastT, done := 0, 0, now, 0
		for done < total {
			done = min(total, done+1+r.IntN(total/10+1))
			now = now.Add(time.Duration(r.IntN(4000)) * time.Millisecond)
			pct := done * 100 / total
			if done == total || pct/10 > lastPct/10 || now.Sub(lastT) >= 10*time.Second {
				want++
				lastPct, lastT = pct, now
			}
			must(t, p.Set(done))
		}
		if got := strings.Count(buf.String(), "\n"); got != want {
			t.Fatalf("total %d: %d lines, want %d:\n%s", total, got, want, buf.String())
		}
	}
}

func TestProgressBar(t *testing.T) {
	var buf bytes.Buffer
	p := newTestProgress(&buf, 4, time.Second)
	p.tty = true
	for range 4 {
		must(t, p.Add(1))
	}
	s := buf.String()
	if strings.Count(s, "\r") != 4 || !strings.HasSuffix(s, "\repoch 1 [==============================] 4/4 100%\x1b[K\n") ||
		!strings.Contains(s, "\repoch 1 [=======                       ] 1/4 25% eta 3s\x1b[K") {
		t.Fatalf("bar output %q", s)
	}
}

func TestProgressEdgeCases(t *testing.T) {
	var buf bytes.Buffer
	p := NewProgress(&buf, 0, "empty")
	must(t, p.Set(0))
	if !strings.Contains(buf.String(), "empty: 0/0 (100%)") {
		t.Fatalf("zero total: %q", buf.String())
	}
	p = NewProgress(failWriterBuf{}, 10, "fail")
	if err := p.Set(10); err == nil || !strings.Contains(err.Error(), `"fail"`) {
		t.Fatalf("write error: %v", err)
	}
	// Concurrent Add does not lose counts.
	buf.Reset()
	p = NewProgress(&syncBuf{b: &buf}, 1000, "c")
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 250 {
				_ = p.Add(1)
			}
		})
	}
	wg.Wait()
	if !strings.Contains(buf.String(), "c: 1000/1000 (100%)") {
		t.Fatalf("concurrent: %s", buf.String())
	}
	if isTerminal(os.Stdout) && isTerminal(&buf) {
		t.Fatal("buffer is not a terminal")
	}
}

type failWriterBuf struct{}

func (failWriterBuf) Write([]byte) (int, error) { return 0, errors.New("closed") }

type syncBuf struct {
	mu sync.Mutex
	b  *bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
