package metrics

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestTraceRecordAndRing(t *testing.T) {
	base := time.UnixMicro(1_700_000_000_000_000)
	tr := NewTrace(3, 0)
	for i := range 10 {
		tr.Record(Phase(i%int(numPhases)), 1, base.Add(time.Duration(i)*time.Millisecond), 250*time.Microsecond)
	}
	tr.RecordNamed("step", "train", 0, base, time.Second)
	tr.Record(Phase(200), 0, base, 0) // unknown phase: ignored
	evs := tr.Events()
	if len(evs) != 11 {
		t.Fatalf("%d events", len(evs))
	}
	want0 := Event{Name: "forward", Cat: "compute", TS: base.UnixMicro(), Dur: 250, PID: 3, TID: 1}
	if evs[0] != want0 || evs[2].Name != "allreduce" || evs[6].Name != "checkpoint" || evs[10].Name != "step" {
		t.Fatalf("events %+v", evs)
	}

	ring := NewTrace(0, 4)
	for i := range 10 {
		ring.Record(PhaseData, 0, time.UnixMicro(int64(i)), 0)
	}
	got := ring.Events()
	if len(got) != 4 || got[0].TS != 6 || got[3].TS != 9 || ring.Dropped() != 6 {
		t.Fatalf("ring %+v dropped %d", got, ring.Dropped())
	}
	var nilTrace *Trace
	nilTrace.Record(PhaseForward, 0, base, 0)
	nilTrace.RecordNamed("x", "y", 0, base, 0)
	if PhaseWait.String() != "wait" || Phase(99).String() != "phase(99)" {
		t.Fatal("phase names")
	}
}

func TestTraceRecordAllocs(t *testing.T) {
	start := time.Now()
	for _, limit := range []int{0, 64} {
		tr := NewTrace(0, limit)
		allocs := testing.AllocsPerRun(1000, func() {
			tr.Record(PhaseBackward, 0, start, time.Millisecond)
		})
		if allocs != 0 {
			t.Errorf("limit %d: %v allocs per Record", limit, allocs)
		}
	}
}

func TestTraceConcurrent(t *testing.T) {
	tr := NewTrace(0, 0)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for range 1000 {
				tr.Record(PhaseForward, g, time.Now(), time.Microsecond)
			}
		})
	}
	wg.Wait()
	if n := len(tr.Events()); n != 4000 {
		t.Fatalf("%d events", n)
	}
}

func randomEvents(r *rand.Rand, n, rank int) []Event {
	names := []string{"forward", "backward", "allreduce", "wait", "data", "eval", "checkpoint", "custom \"q\" é", ""}
	evs := make([]Event, n)
	for i := range evs {
		evs[i] = Event{
			Name: names[r.IntN(len(names))], Cat: names[r.IntN(len(names))],
			TS: r.Int64N(1 << 52), Dur: r.Int64N(1 << 30), PID: rank, TID: r.IntN(8) - 1,
		}
	}
	return evs
}

func TestMarshalRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for n := range 50 {
		evs := randomEvents(r, n, r.IntN(64))
		got, err := Unmarshal(Marshal(evs))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(evs) || (n > 0 && !reflect.DeepEqual(got, evs)) {
			t.Fatalf("n=%d: round trip differs", n)
		}
	}
}

func TestUnmarshalCorrupt(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	b := Marshal(randomEvents(r, 20, 1))
	for i := range len(b) { // every truncation fails cleanly
		if _, err := Unmarshal(b[:i]); !errors.Is(err, ErrTrace) {
			t.Fatalf("truncated at %d: %v", i, err)
		}
	}
	if _, err := Unmarshal(append(slices.Clone(b), 0)); !errors.Is(err, ErrTrace) {
		t.Fatal("trailing byte accepted")
	}
	// A huge count is rejected before allocating.
	huge := slices.Clone(b[:12])
	binary.LittleEndian.PutUint32(huge[8:], 1<<31)
	if _, err := Unmarshal(huge); !errors.Is(err, ErrTrace) {
		t.Fatalf("huge count: %v", err)
	}
	bad := slices.Clone(b)
	binary.LittleEndian.PutUint32(bad[4:], 9)
	if _, err := Unmarshal(bad); !errors.Is(err, ErrTrace) {
		t.Fatalf("bad version: %v", err)
	}
	// Random bytes never panic.
	for range 2000 {
		junk := make([]byte, r.IntN(200))
		for i := range junk {
			junk[i] = byte(r.Uint32())
		}
		if r.IntN(2) == 0 && len(junk) >= 12 {
			copy(junk, traceMagic)
			binary.LittleEndian.PutUint32(junk[4:], traceVersion)
		}
		_, _ = Unmarshal(junk)
	}
}

type chromeEvent struct {
	Name string            `json:"name"`
	Cat  string            `json:"cat"`
	Ph   string            `json:"ph"`
	TS   int64             `json:"ts"`
	Dur  int64             `json:"dur"`
	PID  int               `json:"pid"`
	TID  int               `json:"tid"`
	Args map[string]string `json:"args"`
}

func TestWriteMerged(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	perRank := [][]Event{randomEvents(r, 30, 0), randomEvents(r, 0, 1), randomEvents(r, 17, 2)}
	path := filepath.Join(t.TempDir(), "trace.json")
	must(t, WriteTraceFile(path, perRank))
	data, err := os.ReadFile(path)
	must(t, err)
	var doc struct {
		TraceEvents []chromeEvent `json:"traceEvents"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, data)
	}
	var meta, xs []chromeEvent
	for _, e := range doc.TraceEvents {
		switch e.Ph {
		case "M":
			meta = append(meta, e)
		case "X":
			xs = append(xs, e)
		default:
			t.Fatalf("phase %q", e.Ph)
		}
	}
	if len(meta) != 3 || meta[2].PID != 2 || meta[2].Args["name"] != "rank 2" {
		t.Fatalf("metadata %+v", meta)
	}
	// Naive reference: all events as a multiset, sorted by ts.
	var want []Event
	for _, evs := range perRank {
		want = append(want, evs...)
	}
	if len(xs) != len(want) {
		t.Fatalf("%d X events, want %d", len(xs), len(want))
	}
	got := make([]Event, len(xs))
	for i, e := range xs {
		got[i] = Event{Name: e.Name, Cat: e.Cat, TS: e.TS, Dur: e.Dur, PID: e.PID, TID: e.TID}
		if i > 0 && got[i].TS < got[i-1].TS {
			t.Fatalf("not sorted at %d", i)
		}
	}
	key := func(a, b Event) int {
		if a.TS != b.TS {
			return cmp.Compare(a.TS, b.TS)
		}
		if a.PID != b.PID {
			return a.PID - b.PID
		}
		if a.TID != b.TID {
			return a.TID - b.TID
		}
		return bytes.Compare([]byte(a.Name+"\x00"+a.Cat), []byte(b.Name+"\x00"+b.Cat))
	}
	slices.SortFunc(got, key)
	slices.SortFunc(want, key)
	if !reflect.DeepEqual(got, want) {
		t.Fatal("merged events differ from input")
	}
	if err := WriteMerged(failWriter{}, perRank); !errors.Is(err, ErrWrite) {
		t.Fatalf("write error: %v", err)
	}
}

func BenchmarkTraceRecord(b *testing.B) {
	tr := NewTrace(0, 1<<16)
	start := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		tr.Record(PhaseForward, 0, start, time.Millisecond)
	}
}
