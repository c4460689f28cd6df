package metrics

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Progress reports the progress of a loop of total items. On a terminal it
// redraws a bar in place; otherwise (batch job output, files, pipes) it
// prints a log line every EveryPercent percent or every EveryInterval,
// whichever comes first, and at completion. It is safe for concurrent use.
type Progress struct {
	// EveryPercent and EveryInterval set how often the log line appears
	// when not on a terminal; NewProgress sets 10 and 10 s.
	EveryPercent  int
	EveryInterval time.Duration

	mu       sync.Mutex
	w        io.Writer
	total    int
	label    string
	tty      bool
	clock    func() time.Time
	start    time.Time
	lastTime time.Time
	lastPct  int
	done     int
	finished bool
	buf      []byte
}

// NewProgress returns a Progress for total items written to w. It draws a
// bar when w is a terminal (an *os.File on a character device).
func NewProgress(w io.Writer, total int, label string) *Progress {
	p := &Progress{
		EveryPercent: 10, EveryInterval: 10 * time.Second,
		w: w, total: max(total, 0), label: label, tty: isTerminal(w), clock: time.Now,
	}
	p.start = p.clock()
	p.lastTime = p.start
	return p
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Add advances the count by n.
func (p *Progress) Add(n int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.setLocked(p.done + n)
}

// Set sets the count of finished items (clamped to [0, total]) and prints
// when due.
func (p *Progress) Set(done int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.setLocked(done)
}

func (p *Progress) setLocked(done int) error {
	if p.finished {
		return nil
	}
	p.done = min(max(done, 0), p.total)
	now := p.clock()
	pct := 100
	if p.total > 0 {
		pct = p.done * 100 / p.total
	}
	complete := p.done == p.total
	if p.tty {
		p.buf = p.appendBar(p.buf[:0], now, pct)
		if complete {
			p.buf = append(p.buf, '\n')
			p.finished = true
		}
		return p.write()
	}
	every := max(p.EveryPercent, 1)
	due := complete || pct/every > p.lastPct/every ||
		(p.EveryInterval > 0 && now.Sub(p.lastTime) >= p.EveryInterval)
	if !due {
		return nil
	}
	p.lastPct, p.lastTime = pct, now
	p.finished = complete
	p.buf = p.appendLine(p.buf[:0], now, pct)
	return p.write()
}

func (p *Progress) write() error {
	if _, err := p.w.Write(p.buf); err != nil {
		return fmt.Errorf("metrics: progress %q: %w", p.label, err)
	}
	return nil
}

func (p *Progress) appendLine(b []byte, now time.Time, pct int) []byte {
	b = append(b, p.label...)
	b = append(b, ": "...)
	b = strconv.AppendInt(b, int64(p.done), 10)
	b = append(b, '/')
	b = strconv.AppendInt(b, int64(p.total), 10)
	b = append(b, " ("...)
	b = strconv.AppendInt(b, int64(pct), 10)
	b = append(b, "%) elapsed "...)
	b = append(b, now.Sub(p.start).Round(time.Second).String()...)
	if eta, ok := p.eta(now); ok {
		b = append(b, " eta "...)
		b = append(b, eta.Round(time.Second).String()...)
	}
	return append(b, '\n')
}

func (p *Progress) appendBar(b []byte, now time.Time, pct int) []byte {
	const width = 30
	fill := pct * width / 100
	b = append(b, '\r')
	b = append(b, p.label...)
	b = append(b, " ["...)
	b = append(b, strings.Repeat("=", fill)...)
	b = append(b, strings.Repeat(" ", width-fill)...)
	b = append(b, "] "...)
	b = strconv.AppendInt(b, int64(p.done), 10)
	b = append(b, '/')
	b = strconv.AppendInt(b, int64(p.total), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(pct), 10)
	b = append(b, '%')
	if eta, ok := p.eta(now); ok {
		b = append(b, " eta "...)
		b = append(b, eta.Round(time.Second).String()...)
	}
	return append(b, "\x1b[K"...) // clear the rest of the line
}

func (p *Progress) eta(now time.Time) (time.Duration, bool) {
	if p.done == 0 || p.done >= p.total {
		return 0, false
	}
	el := now.Sub(p.start)
	return time.Duration(float64(el) * float64(p.total-p.done) / float64(p.done)), true
}
