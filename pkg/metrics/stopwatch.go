package metrics

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"os/user"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// Timer statuses.
const (
	TimerOK     = "ok"
	TimerFailed = "failed"
)

// StopWatchCSVHeader is the header of the StopWatch CSV (BENCHMARKS.md §1.3).
const StopWatchCSVHeader = "timer,status,time,sum,start,tag,msg,uname.node,user,uname.system,platform.version"

// SystemInfo is the host description repeated on every StopWatch CSV line.
type SystemInfo struct {
	Node    string // uname.node: the host name
	User    string
	System  string // uname.system, e.g. "Linux"
	Version string // platform.version, e.g. "#1 SMP PREEMPT_DYNAMIC Debian 6.1.0-18"
}

// HostSystemInfo describes the running host; unknown fields are empty.
func HostSystemInfo() SystemInfo {
	var si SystemInfo
	si.Node, _ = os.Hostname()
	if u, err := user.Current(); err == nil {
		si.User = u.Username
	} else {
		si.User = os.Getenv("USER")
	}
	switch runtime.GOOS {
	case "linux":
		si.System = "Linux"
	case "darwin":
		si.System = "Darwin"
	case "windows":
		si.System = "Windows"
	default:
		si.System = runtime.GOOS
	}
	if b, err := os.ReadFile("/proc/sys/kernel/version"); err == nil {
		si.Version = strings.TrimSpace(string(b))
	}
	return si
}

type timer struct {
	name    string
	status  string
	start   time.Time // first start
	begin   time.Time // current start, zero when stopped
	last    time.Duration
	sum     time.Duration
	msg     string
	running bool
}

// StopWatch keeps named timers in the Science WG StopWatch format
// (BENCHMARKS.md §1.3): Start and Stop measure a phase, repeatedly if
// needed (time is the last interval, sum the total); Event records a
// zero-length timer with a message; Status marks a timer ok or failed.
// With an MLLog attached, Start and Stop also write INTERVAL_START and
// INTERVAL_END records with the timer name as key, and Event a
// POINT_IN_TIME record. Timer names must not be standard mllog keys.
//
// A StopWatch is safe for concurrent use.
type StopWatch struct {
	mu     sync.Mutex
	clock  func() time.Time
	log    *MLLog
	tag    string
	sys    SystemInfo
	timers map[string]*timer
	order  []*timer
}

// NewStopWatch returns a StopWatch using clock (nil: time.Now) and
// bridging to log when it is not nil. System info defaults to
// HostSystemInfo.
func NewStopWatch(clock func() time.Time, log *MLLog) *StopWatch {
	if clock == nil {
		clock = time.Now
	}
	return &StopWatch{clock: clock, log: log, sys: HostSystemInfo(), timers: map[string]*timer{}}
}

// SetTag sets the tag column of every line (e.g. the benchmark and run id).
func (s *StopWatch) SetTag(tag string) { s.mu.Lock(); s.tag = tag; s.mu.Unlock() }

// SetSystemInfo replaces the host description.
func (s *StopWatch) SetSystemInfo(si SystemInfo) { s.mu.Lock(); s.sys = si; s.mu.Unlock() }

func (s *StopWatch) get(name string) *timer {
	t := s.timers[name]
	if t == nil {
		t = &timer{name: name, status: TimerOK}
		s.timers[name] = t
		s.order = append(s.order, t)
	}
	return t
}

// Start starts (or restarts after Stop) the timer name. Starting a running
// timer is an error.
func (s *StopWatch) Start(name string) error {
	s.mu.Lock()
	now := s.clock()
	t := s.get(name)
	if t.running {
		s.mu.Unlock()
		return fmt.Errorf("%w: timer %q started twice", ErrTimer, name)
	}
	if t.start.IsZero() {
		t.start = now
	}
	t.begin, t.running = now, true
	log := s.log
	s.mu.Unlock()
	return log.log(2, IntervalStart, name, nil, nil)
}

// Stop stops the running timer name, adding the interval to its sum.
func (s *StopWatch) Stop(name string) error {
	s.mu.Lock()
	now := s.clock()
	t := s.timers[name]
	if t == nil || !t.running {
		s.mu.Unlock()
		return fmt.Errorf("%w: timer %q stopped but not running", ErrTimer, name)
	}
	t.last = now.Sub(t.begin)
	t.sum += t.last
	t.running = false
	status, log := t.status, s.log
	s.mu.Unlock()
	return log.log(2, IntervalEnd, name, nil, Meta{"status": status})
}

// Status marks the timer name ok (true) or failed (false), creating it if
// needed.
func (s *StopWatch) Status(name string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ok {
		s.get(name).status = TimerOK
	} else {
		s.get(name).status = TimerFailed
	}
}

// Event records the zero-length timer name with msg.
func (s *StopWatch) Event(name, msg string) error {
	s.mu.Lock()
	t := s.get(name)
	now := s.clock()
	if t.start.IsZero() {
		t.start = now
	}
	t.msg = msg
	log := s.log
	s.mu.Unlock()
	return log.log(2, PointInTime, name, msg, nil)
}

// Seconds returns the total seconds of timer name (0 if unknown); a running
// timer counts up to now.
func (s *StopWatch) Seconds(name string) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.timers[name]
	if t == nil {
		return 0
	}
	_, sum := t.times(s.clock())
	return sum.Seconds()
}

// Timers returns every timer's total seconds, for Result.Timers.
func (s *StopWatch) Timers() map[string]Num {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock()
	out := make(map[string]Num, len(s.order))
	for _, t := range s.order {
		_, sum := t.times(now)
		out[t.name] = Num(sum.Seconds())
	}
	return out
}

func (t *timer) times(now time.Time) (last, sum time.Duration) {
	if t.running {
		cur := now.Sub(t.begin)
		return cur, t.sum + cur
	}
	return t.last, t.sum
}

// rows returns the CSV records in first-use order.
func (s *StopWatch) rows() [][]string {
	now := s.clock()
	rows := make([][]string, 0, len(s.order))
	for _, t := range s.order {
		last, sum := t.times(now)
		start := ""
		if !t.start.IsZero() {
			start = t.start.UTC().Format(time.DateTime)
		}
		rows = append(rows, []string{
			t.name, t.status, strconv.FormatFloat(last.Seconds(), 'f', 3, 64),
			strconv.FormatFloat(sum.Seconds(), 'f', 3, 64), start, s.tag, t.msg,
			s.sys.Node, s.sys.User, s.sys.System, s.sys.Version,
		})
	}
	return rows
}

func csvLine(row []string) string {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write(row) // bytes.Buffer cannot fail
	w.Flush()
	return strings.TrimRight(b.String(), "\n")
}

// Summary writes the timer table followed by the "# csv," lines (header
// first) that Science WG tooling greps from job output.
func (s *StopWatch) Summary(w io.Writer) error {
	s.mu.Lock()
	rows := s.rows()
	s.mu.Unlock()
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 0, 1, ' ', tabwriter.Debug)
	fmt.Fprintln(tw, " Name\t Status\t Time\t Sum\t Start\t tag\t msg\t Node\t User\t OS\t Version\t")
	for _, r := range rows {
		fmt.Fprintln(tw, " "+strings.Join(r, "\t ")+"\t")
	}
	_ = tw.Flush()
	b.WriteString("\n# csv," + StopWatchCSVHeader + "\n")
	for _, r := range rows {
		b.WriteString("# csv," + csvLine(r) + "\n")
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("%w: summary: %w", ErrTimer, err)
	}
	return nil
}

// CSV returns the content of stopwatch.csv: the header and one line per
// timer, without the "# csv," prefix.
func (s *StopWatch) CSV() []byte {
	s.mu.Lock()
	rows := s.rows()
	s.mu.Unlock()
	var b bytes.Buffer
	b.WriteString(StopWatchCSVHeader + "\n")
	w := csv.NewWriter(&b)
	_ = w.WriteAll(rows) // bytes.Buffer cannot fail
	return b.Bytes()
}

// WriteCSV writes stopwatch.csv to path atomically.
func (s *StopWatch) WriteCSV(path string) error { return WriteFileAtomic(path, s.CSV()) }
