package metrics

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// fakeClock returns a clock starting at a fixed time that advances by step
// on every call.
func fakeClock(step time.Duration) func() time.Time {
	t := time.Date(2026, 3, 11, 18, 11, 1, 595e6, time.UTC)
	return func() time.Time {
		t = t.Add(step)
		return t
	}
}

func TestMLLogLineFormat(t *testing.T) {
	var buf bytes.Buffer
	clock := func() time.Time { return time.UnixMilli(1647024661595) }
	m := NewMLLog(&buf, clock)
	_, _, line, _ := runtime.Caller(0)
	err := m.End("epoch_stop", nil, Meta{"epoch_num": 1})
	if err != nil {
		t.Fatal(err)
	}
	want := `:::MLLOG {"namespace": "", "time_ms": 1647024661595, "event_type": "INTERVAL_END", "key": "epoch_stop", "value": null, "metadata": {"file": "mllog_test.go", "lineno": ` +
		strconv.Itoa(line+1) + `, "epoch_num": 1}}` + "\n"
	if got := buf.String(); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	buf.Reset()
	_ = m.Start("run_start", nil, nil)
	_ = m.Event("result", map[string]any{"b": []any{1, 2.5, "x"}, "a": true, "c": map[string]float64{"z": 1, "y": 0.5}}, Meta{"z": "last", "a": 1})
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if !strings.Contains(lines[0], `"event_type": "INTERVAL_START", "key": "run_start", "value": null, "metadata": {"file": "mllog_test.go", "lineno": `) {
		t.Errorf("start line: %s", lines[0])
	}
	if !strings.Contains(lines[1], `"event_type": "POINT_IN_TIME", "key": "result", "value": {"a": true, "b": [1, 2.5, "x"], "c": {"y": 0.5, "z": 1.0}}, "metadata": {"file": "mllog_test.go", "lineno": `) ||
		!strings.HasSuffix(lines[1], `, "a": 1, "z": "last"}}`) {
		t.Errorf("event line: %s", lines[1])
	}
}

func TestMLLogStructValueRespaced(t *testing.T) {
	var buf bytes.Buffer
	m := NewMLLog(&buf, fakeClock(time.Millisecond))
	v := struct {
		A string `json:"a"`
		B []int  `json:"b"`
		C Num    `json:"c"`
	}{"x, y: z \"q\"", []int{1, 2}, Num(math.NaN())}
	if err := m.Event("k", v, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"value": {"a": "x, y: z \"q\"", "b": [1, 2], "c": null}, "metadata"`) {
		t.Fatalf("got %s", buf.String())
	}
	if err := m.Event("k", make(chan int), nil); !errors.Is(err, ErrMLLog) {
		t.Fatalf("unencodable value: %v", err)
	}
	if err := m.Event("k", nil, Meta{"x": func() {}}); !errors.Is(err, ErrMLLog) {
		t.Fatalf("unencodable meta: %v", err)
	}
}

func TestPyFloat(t *testing.T) {
	// Expected strings are Python 3's repr / json.dumps output.
	cases := map[float64]string{
		1: "1.0", 0: "0.0", math.Copysign(0, -1): "-0.0", 0.001: "0.001", 1e-4: "0.0001", 1e-5: "1e-05",
		1.5e-7: "1.5e-07", 123.456: "123.456", 1e15: "1000000000000000.0", 1e16: "1e+16",
		1.2345678901234568e+17: "1.2345678901234568e+17", -2.5: "-2.5", 0.30000000000000004: "0.30000000000000004",
		math.NaN(): "NaN", math.Inf(1): "Infinity", math.Inf(-1): "-Infinity", 5e-324: "5e-324",
		1.7976931348623157e308: "1.7976931348623157e+308", 9999999999999998: "9999999999999998.0",
	}
	for f, want := range cases {
		if got := string(appendPyFloat(nil, f)); got != want {
			t.Errorf("%v: got %s want %s", f, got, want)
		}
	}
	// Random values: the output must round-trip and use the notation
	// Python picks for its magnitude.
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		f := math.Float64frombits(r.Uint64())
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		s := string(appendPyFloat(nil, f))
		back, err := strconv.ParseFloat(s, 64)
		if err != nil || back != f {
			t.Fatalf("%v -> %s -> %v, %v", f, s, back, err)
		}
		a := math.Abs(f)
		exp := strings.Contains(s, "e")
		if wantExp := a != 0 && (a < 1e-4 || a >= 1e16); exp != wantExp || (!exp && !strings.Contains(s, ".")) {
			t.Fatalf("%v -> %s: wrong notation", f, s)
		}
	}
}

func TestPyString(t *testing.T) {
	cases := map[string]string{
		`a"b\`: `"a\"b\\"`, "é": `"\u00e9"`, "😀": `"\ud83d\ude00"`, "\x01\x7f": `"\u0001\u007f"`,
		"\n\r\t\b\f": `"\n\r\t\b\f"`, "<&>": `"<&>"`,
	}
	for in, want := range cases {
		if got := string(appendPyString(nil, in)); got != want {
			t.Errorf("%q: got %s want %s", in, got, want)
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 5000 {
		rs := make([]rune, r.IntN(12))
		for i := range rs {
			switch r.IntN(3) {
			case 0:
				rs[i] = rune(r.IntN(128))
			case 1:
				rs[i] = rune(r.IntN(0xd000))
			default:
				rs[i] = rune(0x10000 + r.IntN(0x100000-0x10000))
			}
		}
		in := string(rs)
		out := appendPyString(nil, in)
		for _, c := range out {
			if c >= utf8.RuneSelf {
				t.Fatalf("%q: non-ASCII output %s", in, out)
			}
		}
		var back string
		if err := json.Unmarshal(out, &back); err != nil || back != in {
			t.Fatalf("%q -> %s -> %q, %v", in, out, back, err)
		}
	}
}

func TestMLLogNilAndWriteError(t *testing.T) {
	var m *MLLog
	if err := m.Event("k", 1, nil); err != nil {
		t.Fatal(err)
	}
	if err := m.RunStop("bogus"); err != nil {
		t.Fatal(err)
	}
	w := NewMLLog(failWriter{}, nil)
	if err := w.Event("seed", 1, nil); !errors.Is(err, ErrMLLog) || !strings.Contains(err.Error(), `"seed"`) {
		t.Fatalf("got %v", err)
	}
	if err := NewMLLog(&bytes.Buffer{}, nil).RunStop("done"); !errors.Is(err, ErrMLLog) {
		t.Fatalf("bad status: %v", err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// goodSequence writes a compliant sequence of epochs epochs.
func goodSequence(t *testing.T, epochs int, trailing bool) string {
	t.Helper()
	var buf bytes.Buffer
	m := NewMLLog(&buf, fakeClock(0)) // constant time: lines can be reordered
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(m.LogSubmission(Submission{Benchmark: "uno", Org: "scibench", Division: "closed",
		Version: SubmissionVersion("uno", "0.1.0"), GitCommit: "abc123", Status: "research",
		Platform: "2-core dev box", POCName: "A", POCEmail: "a@example.org", TrailingSuccess: trailing}))
	must(m.LogInit(RunInit{Ranks: 2, Nodes: 1, AcceleratorsPerNode: 0, Seed: 42, GlobalBatchSize: 64,
		TrainSamples: 1000, EvalSamples: 200, OptName: "sgd", OptBaseLearningRate: 0.001}))
	must(m.RunStart())
	must(m.BlockStart("data_load"))
	must(m.BlockStop("data_load"))
	res := &Result{Benchmark: "uno", Status: StatusSuccess, Metrics: map[string]Num{}}
	for e := 1; e <= epochs; e++ {
		must(m.EpochStart(e))
		must(m.EpochStop(e))
		must(m.EvalStart(e))
		must(m.EvalMetric(e, "eval_loss", 0.5/float64(e)))
		must(m.EvalMetric(e, "eval_mae", math.NaN()))
		must(m.EvalStop(e))
		res.Epochs = append(res.Epochs, EpochResult{Epoch: e, TrainTimeS: 1, SamplesPerS: Num(100 * e), TrainLoss: 0.1})
	}
	res.Finalize()
	must(m.LogResult(res.Summary()))
	must(m.RunStop(StatusSuccess))
	return buf.String()
}

func TestGoodSequence(t *testing.T) {
	for _, trailing := range []bool{false, true} {
		s := goodSequence(t, 3, trailing)
		if err := CheckMLLogSequence(strings.NewReader(s)); err != nil {
			t.Fatalf("trailing=%v: %v\n%s", trailing, err, s)
		}
		if got := strings.HasSuffix(s, `"key": "submission_status", "value": "success", "metadata": {"file": "mllog_test.go", "lineno": `+lineOf(s, -1)+"}}\n"); got != trailing {
			t.Fatalf("trailing=%v but output ends %q", trailing, s[len(s)-120:])
		}
		// Every record names this test file as its caller.
		for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
			if !strings.Contains(l, `"file": "mllog_test.go"`) {
				t.Fatalf("caller not recorded: %s", l)
			}
		}
	}
	// Interleaved non-mllog output and line prefixes are ignored.
	s := goodSequence(t, 2, false)
	var b strings.Builder
	for _, l := range strings.SplitAfter(s, "\n") {
		b.WriteString("[rank0] " + l + "some other output\n")
	}
	if err := CheckMLLogSequence(strings.NewReader(b.String())); err != nil {
		t.Fatal(err)
	}
}

// lineOf returns the lineno of line i (negative: from the end) of s.
func lineOf(s string, i int) string {
	ls := strings.Split(strings.TrimSpace(s), "\n")
	if i < 0 {
		i += len(ls)
	}
	l := ls[i]
	j := strings.Index(l, `"lineno": `) + len(`"lineno": `)
	k := j
	for k < len(l) && l[k] >= '0' && l[k] <= '9' {
		k++
	}
	return l[j:k]
}

func TestBadSequences(t *testing.T) {
	good := goodSequence(t, 3, false)
	lines := strings.Split(strings.TrimSpace(good), "\n")
	find := func(substr string, nth int) int {
		for i, l := range lines {
			if strings.Contains(l, substr) {
				if nth == 0 {
					return i
				}
				nth--
			}
		}
		t.Fatalf("no line with %q", substr)
		return -1
	}
	without := func(idx ...int) string {
		var out []string
		for i, l := range lines {
			skip := false
			for _, j := range idx {
				skip = skip || i == j
			}
			if !skip {
				out = append(out, l)
			}
		}
		return strings.Join(out, "\n") + "\n"
	}
	replace := func(i int, old, new string) string {
		cp := append([]string(nil), lines...)
		if !strings.Contains(cp[i], old) {
			t.Fatalf("line %d lacks %q: %s", i, old, cp[i])
		}
		cp[i] = strings.Replace(cp[i], old, new, 1)
		return strings.Join(cp, "\n") + "\n"
	}
	swap := func(i, j int) string {
		cp := append([]string(nil), lines...)
		cp[i], cp[j] = cp[j], cp[i]
		return strings.Join(cp, "\n") + "\n"
	}
	epoch2 := find(`"key": "epoch_start"`, 1)
	cases := []struct {
		name, input, want string
	}{
		{"empty", "", "no \":::MLLOG\" records"},
		{"missing division", without(find("submission_division", 0)), "missing submission_division"},
		{"missing cache_clear", without(find("cache_clear", 0)), "missing cache_clear"},
		{"bad division", replace(find("submission_division", 0), `"value": "closed"`, `"value": "premier"`), "division"},
		{"unknown benchmark", replace(0, `"value": "uno"`, `"value": "bert"`), "unknown benchmark"},
		{"ranks not integer", replace(find("number_of_ranks", 0), `"value": 2,`, `"value": 2.0,`), "positive integer"},
		{"ranks string", replace(find("number_of_ranks", 0), `"value": 2,`, `"value": "2",`), "positive integer"},
		{"missing seed", without(find(`"key": "seed"`, 0)), "missing seed before init_stop"},
		{"launch after hyper", swap(find("accelerators_per_node", 0), find(`"key": "seed"`, 0)), "must come before seed"},
		{"skipped epoch", replace(epoch2, `"epoch_num": 2`, `"epoch_num": 3`), "epoch_num 3, want 2"},
		{"epoch starts at 0", replace(find(`"key": "epoch_start"`, 0), `"epoch_num": 1`, `"epoch_num": 0`), "epoch_num 0, want 1"},
		{"missing epoch_stop", without(find(`"key": "epoch_stop"`, 1)), "eval_start must follow epoch_stop"},
		{"metric wrong epoch", replace(find(`"key": "eval_loss"`, 2), `"epoch_num": 3`, `"epoch_num": 2`), "epoch_num 2, current epoch is 3"},
		{"metric without epoch", replace(find(`"key": "eval_loss"`, 0), `, "epoch_num": 1`, ``), "without metadata.epoch_num"},
		{"missing result", without(find(`"key": "result"`, 0)), "no result before run_stop"},
		{"missing run_stop", without(len(lines) - 1), "sequence ends before run_stop"},
		{"bad status", replace(len(lines)-1, `"status": "success"`, `"status": "done"`), "want success or aborted"},
		{"record after run_stop", strings.Join(append(append([]string(nil), lines...), lines[epoch2]), "\n"), "after run_stop"},
		{"key order", replace(3, `"namespace": "", "time_ms": `, `"time_ms": `), "Python json spacing"},
		{"compact json", replace(3, `"namespace": "", "time_ms": `, `"namespace":"", "time_ms": `), "Python json spacing"},
		{"keys swapped", replace(3, `"event_type": "POINT_IN_TIME", "key": "submission_version"`, `"key": "submission_version", "event_type": "POINT_IN_TIME"`), "in that order"},
		{"metadata order", replace(3, `"metadata": {"file": "mllog_test.go", "lineno": `, `"metadata": {"lineno": `), "metadata must start with file, lineno"},
		{"time goes back", replace(5, `"time_ms": 1773252661`, `"time_ms": 1673252661`), "goes back"},
		{"wrong event type", replace(find(`"key": "run_start"`, 0), "INTERVAL_START", "POINT_IN_TIME"), "wrong event_type"},
		{"point key as interval", replace(find(`"key": "seed"`, 0), "POINT_IN_TIME", "INTERVAL_START"), "wrong event_type"},
		{"block not closed", without(find(`"key": "block_stop"`, 0)), `block "data_load" still open`},
		{"result not dict", strings.Replace(replace(find(`"key": "result"`, 0), `"value": {"name"`, `"value": [{"name"`), `]}, "metadata"`, `]}], "metadata"`, 1), "value must be a dict"},
		{"run_start before init", swap(find("init_stop", 0), find("run_start", 0)), "inside init"},
		{"duplicate run_start", strings.Replace(good, lines[find("run_start", 0)], lines[find("run_start", 0)]+"\n"+lines[find("run_start", 0)], 1), "logged twice"},
		{"not json", replace(3, `"metadata": {`, `"metadata": {{`), "line 4"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckMLLogSequence(strings.NewReader(tc.input))
			if !errors.Is(err, ErrMLLogSequence) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want error containing %q", err, tc.want)
			}
		})
	}
}

func TestSequenceAbortedWithoutEpochs(t *testing.T) {
	var buf bytes.Buffer
	m := NewMLLog(&buf, fakeClock(time.Millisecond))
	_ = m.LogSubmission(Submission{Benchmark: "earthquake", Division: "open", TrailingSuccess: true})
	_ = m.LogInit(RunInit{Ranks: 1, Nodes: 1, GlobalBatchSize: 1})
	_ = m.RunStart()
	_ = m.LogResult(map[string]any{"name": "earthquake"})
	if err := m.RunStop(StatusAborted); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), `"value": "success"`) {
		t.Fatal("trailing success after an aborted run")
	}
	if err := CheckMLLogSequence(&buf); err != nil {
		t.Fatal(err)
	}
	// The same run claiming success without an epoch is rejected.
	s := strings.Replace(goodSequence(t, 0, false), `"status": "success"`, `"status": "success"`, 1)
	if err := CheckMLLogSequence(strings.NewReader(s)); err == nil || !strings.Contains(err.Error(), "without any epoch") {
		t.Fatalf("got %v", err)
	}
}

func TestSubmissionVersion(t *testing.T) {
	if got := SubmissionVersion("cloudmask", "0.2"); got != "mlcommons-cloudmask-v1.1+scibench-0.2" {
		t.Fatal(got)
	}
	if got := SubmissionVersion("x", "0.2"); got != "scibench-0.2" {
		t.Fatal(got)
	}
}

func ExampleMLLog() {
	clock := func() time.Time { return time.UnixMilli(1647024661595) }
	m := NewMLLog(&lineTrimmer{}, clock)
	_ = m.EvalMetric(1, "eval_loss", 0.25)
	// Output:
	// :::MLLOG {"namespace": "", "time_ms": 1647024661595, "event_type": "POINT_IN_TIME", "key": "eval_loss", "value": 0.25, "metadata": {"file": "mllog_test.go", "lineno": LINE, "epoch_num": 1}}
}

// lineTrimmer prints mllog lines with the lineno replaced by LINE so the
// example output does not depend on line numbers.
type lineTrimmer struct{}

func (lineTrimmer) Write(b []byte) (int, error) {
	s := string(b)
	i := strings.Index(s, `"lineno": `) + len(`"lineno": `)
	j := i + strings.IndexByte(s[i:], ',')
	fmt.Print(s[:i] + "LINE" + s[j:])
	return len(b), nil
}

func BenchmarkMLLogEvent(b *testing.B) {
	m := NewMLLog(io.Discard, nil)
	b.ReportAllocs()
	for b.Loop() {
		_ = m.EvalMetric(3, "eval_loss", 0.125)
	}
}
