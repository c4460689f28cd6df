package metrics

import (
	"bytes"
	"encoding/csv"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var testSys = SystemInfo{Node: "node01", User: "alice", System: "Linux", Version: "#1 SMP, Debian"}

func TestStopWatchSummaryAndCSV(t *testing.T) {
	sw := NewStopWatch(fakeClock(500*time.Millisecond), nil)
	sw.SetSystemInfo(testSys)
	sw.SetTag("uno-np2")
	// clock: each call advances 0.5 s
	must(t, sw.Start("train")) // t=0.5
	must(t, sw.Stop("train"))  // t=1.0 -> 0.5
	must(t, sw.Start("train")) // t=1.5
	must(t, sw.Stop("train"))  // t=2.0 -> 0.5, sum 1.0
	must(t, sw.Event("data", "files=12"))
	sw.Status("eval", false)
	must(t, sw.Start("eval"))
	must(t, sw.Stop("eval"))
	var out bytes.Buffer
	must(t, sw.Summary(&out))
	s := out.String()
	for _, want := range []string{
		"# csv,timer,status,time,sum,start,tag,msg,uname.node,user,uname.system,platform.version\n",
		"# csv,train,ok,0.500,1.000,2026-03-11 18:11:02,uno-np2,,node01,alice,Linux,\"#1 SMP, Debian\"\n",
		"# csv,data,ok,0.000,0.000,2026-03-11 18:11:04,uno-np2,files=12,node01,alice,Linux,\"#1 SMP, Debian\"\n",
		"# csv,eval,failed,0.500,0.500,",
		"| Status",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
	if got := sw.Seconds("train"); got != 1 {
		t.Errorf("Seconds(train) = %v", got)
	}
	if got := sw.Timers(); len(got) != 3 || got["train"] != 1 || got["eval"] != 0.5 || got["data"] != 0 {
		t.Errorf("Timers = %v", got)
	}
	path := filepath.Join(t.TempDir(), "stopwatch.csv")
	must(t, sw.WriteCSV(path))
	f, err := os.Open(path)
	must(t, err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	must(t, err)
	if len(recs) != 4 || strings.Join(recs[0], ",") != StopWatchCSVHeader || recs[1][0] != "train" ||
		recs[3][1] != TimerFailed || recs[1][10] != testSys.Version {
		t.Fatalf("csv: %q", recs)
	}
}

func TestStopWatchErrorsAndRunning(t *testing.T) {
	sw := NewStopWatch(fakeClock(time.Second), nil)
	if err := sw.Stop("x"); !errors.Is(err, ErrTimer) || !strings.Contains(err.Error(), `"x"`) {
		t.Fatalf("stop unknown: %v", err)
	}
	must(t, sw.Start("x"))
	if err := sw.Start("x"); !errors.Is(err, ErrTimer) {
		t.Fatalf("start twice: %v", err)
	}
	// A running timer counts up to now.
	if got := sw.Seconds("x"); got < 1 {
		t.Fatalf("running Seconds = %v", got)
	}
	if sw.Seconds("nope") != 0 {
		t.Fatal("unknown timer")
	}
	if err := sw.Summary(failWriter{}); !errors.Is(err, ErrTimer) {
		t.Fatalf("summary write: %v", err)
	}
	if si := HostSystemInfo(); si.System == "" {
		t.Fatal("no system")
	}
}

// TestStopWatchRandomSums compares the timer sums with a naive reference
// over random start/stop sequences.
func TestStopWatchRandomSums(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	now := time.Unix(0, 0)
	sw := NewStopWatch(func() time.Time { return now }, nil)
	names := []string{"a", "b", "c"}
	ref := map[string]time.Duration{}
	began := map[string]time.Time{}
	for range 2000 {
		now = now.Add(time.Duration(r.IntN(1000)) * time.Millisecond)
		n := names[r.IntN(len(names))]
		if _, running := began[n]; running {
			must(t, sw.Stop(n))
			ref[n] += now.Sub(began[n])
			delete(began, n)
		} else {
			must(t, sw.Start(n))
			began[n] = now
		}
	}
	for n, b := range began {
		ref[n] += now.Sub(b)
	}
	got := sw.Timers()
	for _, n := range names {
		if math.Abs(float64(got[n])-ref[n].Seconds()) > 1e-9 {
			t.Errorf("%s: %v, want %v", n, got[n], ref[n].Seconds())
		}
	}
}

func TestStopWatchMLLogBridge(t *testing.T) {
	var buf bytes.Buffer
	ml := NewMLLog(&buf, fakeClock(time.Millisecond))
	sw := NewStopWatch(fakeClock(time.Millisecond), ml)
	must(t, sw.Start("total"))
	must(t, sw.Event("cache", "cleared"))
	must(t, sw.Stop("total"))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines:\n%s", len(lines), buf.String())
	}
	for i, want := range []string{
		`"event_type": "INTERVAL_START", "key": "total", "value": null, "metadata": {"file": "stopwatch_test.go"`,
		`"event_type": "POINT_IN_TIME", "key": "cache", "value": "cleared", "metadata": {"file": "stopwatch_test.go"`,
		`"event_type": "INTERVAL_END", "key": "total", "value": null, "metadata": {"file": "stopwatch_test.go"`,
	} {
		if !strings.Contains(lines[i], want) {
			t.Errorf("line %d: %s\nwant %s", i, lines[i], want)
		}
	}
	if !strings.HasSuffix(lines[2], `"status": "ok"}}`) {
		t.Errorf("stop line lacks status: %s", lines[2])
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
