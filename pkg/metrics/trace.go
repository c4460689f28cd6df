package metrics

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Phase is a traced phase of a training step.
type Phase uint8

// The traced phases; their names are the trace event names.
const (
	PhaseForward Phase = iota
	PhaseBackward
	PhaseAllReduce
	PhaseWait
	PhaseData
	PhaseEval
	PhaseCheckpoint
	numPhases
)

var phaseNames = [numPhases]string{"forward", "backward", "allreduce", "wait", "data", "eval", "checkpoint"}

// phaseCats groups phases into trace categories.
var phaseCats = [numPhases]string{"compute", "compute", "comm", "comm", "io", "compute", "io"}

// String returns the phase name ("forward", ...).
func (p Phase) String() string {
	if p < numPhases {
		return phaseNames[p]
	}
	return "phase(" + strconv.Itoa(int(p)) + ")"
}

// Event is one Chrome trace "X" (complete) event.
type Event struct {
	Name string // e.g. "forward"
	Cat  string // e.g. "compute"
	TS   int64  // start, µs since the Unix epoch
	Dur  int64  // duration, µs
	PID  int    // rank
	TID  int    // thread or stream within the rank
}

// Trace records one rank's phase events for trace.json. Record is cheap
// enough for the hot loop: a mutex and a store into a preallocated buffer,
// no allocation (beyond amortized growth of an unbounded trace).
type Trace struct {
	mu      sync.Mutex
	rank    int
	limit   int // 0: unbounded
	events  []Event
	next    int // ring write position when full
	full    bool
	dropped int64
}

// NewTrace returns a Trace for rank. With limit > 0 it keeps only the
// most recent limit events in a preallocated ring and never allocates;
// with limit <= 0 it keeps all events in a slice that grows as needed.
func NewTrace(rank, limit int) *Trace {
	t := &Trace{rank: rank}
	if limit > 0 {
		t.limit = limit
		t.events = make([]Event, 0, limit)
	} else {
		t.events = make([]Event, 0, 4096)
	}
	return t
}

// Record adds a phase event on thread tid that started at start and ended
// now-ish (dur). Call it as
//
//	t0 := time.Now()
//	model.Forward(batch)
//	tr.Record(metrics.PhaseForward, 0, t0, time.Since(t0))
//
// A nil *Trace does nothing.
func (t *Trace) Record(p Phase, tid int, start time.Time, dur time.Duration) {
	if t == nil || p >= numPhases {
		return
	}
	t.add(Event{Name: phaseNames[p], Cat: phaseCats[p], TS: start.UnixMicro(), Dur: dur.Microseconds(), PID: t.rank, TID: tid})
}

// RecordNamed adds an event with a caller-chosen name and category.
func (t *Trace) RecordNamed(name, cat string, tid int, start time.Time, dur time.Duration) {
	if t == nil {
		return
	}
	t.add(Event{Name: name, Cat: cat, TS: start.UnixMicro(), Dur: dur.Microseconds(), PID: t.rank, TID: tid})
}

func (t *Trace) add(e Event) {
	t.mu.Lock()
	switch {
	case t.limit == 0 || len(t.events) < t.limit:
		t.events = append(t.events, e)
	default:
		t.events[t.next] = e
		t.next++
		if t.next == t.limit {
			t.next = 0
		}
		t.full = true
		t.dropped++
	}
	t.mu.Unlock()
}

// Events returns a copy of the recorded events, oldest first.
func (t *Trace) Events() []Event {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Event, 0, len(t.events))
	if t.full {
		out = append(out, t.events[t.next:]...)
		return append(out, t.events[:t.next]...)
	}
	return append(out, t.events...)
}

// Dropped returns how many events a bounded trace overwrote.
func (t *Trace) Dropped() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.dropped
}

// Serialized trace layout: magic, version, count, then per event
// u16 name length, name, u16 cat length, cat, i64 ts, i64 dur, i32 pid, i32 tid.
const (
	traceMagic    = "SBTR"
	traceVersion  = 1
	traceFixed    = 8 + 8 + 4 + 4
	traceMinEvent = 2 + 2 + traceFixed
	maxNameLen    = 1<<16 - 1
)

// Marshal encodes a rank's events so they can be sent to rank 0 as bytes.
// Names and categories longer than 65535 bytes are truncated.
func Marshal(events []Event) []byte {
	n := 12
	for i := range events {
		n += traceMinEvent + min(len(events[i].Name), maxNameLen) + min(len(events[i].Cat), maxNameLen)
	}
	b := make([]byte, 0, n)
	b = append(b, traceMagic...)
	b = binary.LittleEndian.AppendUint32(b, traceVersion)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(events)))
	for i := range events {
		e := &events[i]
		name, cat := e.Name[:min(len(e.Name), maxNameLen)], e.Cat[:min(len(e.Cat), maxNameLen)]
		b = binary.LittleEndian.AppendUint16(b, uint16(len(name)))
		b = append(b, name...)
		b = binary.LittleEndian.AppendUint16(b, uint16(len(cat)))
		b = append(b, cat...)
		b = binary.LittleEndian.AppendUint64(b, uint64(e.TS))
		b = binary.LittleEndian.AppendUint64(b, uint64(e.Dur))
		b = binary.LittleEndian.AppendUint32(b, uint32(int32(e.PID)))
		b = binary.LittleEndian.AppendUint32(b, uint32(int32(e.TID)))
	}
	return b
}

// Unmarshal decodes Marshal's output. Counts and lengths are checked
// against the input size before anything is allocated; truncated or
// corrupt input returns an error wrapping ErrTrace.
func Unmarshal(b []byte) ([]Event, error) {
	if len(b) < 12 || string(b[:4]) != traceMagic {
		return nil, fmt.Errorf("%w: bad header (%d bytes)", ErrTrace, len(b))
	}
	if v := binary.LittleEndian.Uint32(b[4:]); v != traceVersion {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrTrace, v, traceVersion)
	}
	count := binary.LittleEndian.Uint32(b[8:])
	rest := b[12:]
	if uint64(count)*traceMinEvent > uint64(len(rest)) {
		return nil, fmt.Errorf("%w: %d events cannot fit in %d bytes", ErrTrace, count, len(rest))
	}
	events := make([]Event, count)
	str := func(i uint32) (string, error) {
		if len(rest) < 2 {
			return "", fmt.Errorf("%w: event %d truncated", ErrTrace, i)
		}
		n := int(binary.LittleEndian.Uint16(rest))
		if len(rest) < 2+n {
			return "", fmt.Errorf("%w: event %d: string of %d bytes truncated", ErrTrace, i, n)
		}
		s := internPhase(rest[2 : 2+n])
		rest = rest[2+n:]
		return s, nil
	}
	for i := range count {
		e := &events[i]
		var err error
		if e.Name, err = str(i); err != nil {
			return nil, err
		}
		if e.Cat, err = str(i); err != nil {
			return nil, err
		}
		if len(rest) < traceFixed {
			return nil, fmt.Errorf("%w: event %d truncated", ErrTrace, i)
		}
		e.TS = int64(binary.LittleEndian.Uint64(rest))
		e.Dur = int64(binary.LittleEndian.Uint64(rest[8:]))
		e.PID = int(int32(binary.LittleEndian.Uint32(rest[16:])))
		e.TID = int(int32(binary.LittleEndian.Uint32(rest[20:])))
		rest = rest[traceFixed:]
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrTrace, len(rest))
	}
	return events, nil
}

// internPhase returns the shared string for phase names and categories, so
// decoding a large trace does not allocate one string per event.
func internPhase(b []byte) string {
	for _, s := range phaseNames {
		if string(b) == s {
			return s
		}
	}
	for _, s := range phaseCats {
		if string(b) == s {
			return s
		}
	}
	return string(b)
}

// WriteMerged writes the events of all ranks as one Chrome/Perfetto trace
// ({"traceEvents": [...]}), with a process_name metadata event "rank N" per
// rank and the "X" events sorted by start time. perRank[r] holds rank r's
// events (their PID is kept as recorded).
func WriteMerged(w io.Writer, perRank [][]Event) error {
	bw := bufio.NewWriter(w)
	bw.WriteString(`{"displayTimeUnit":"ms","traceEvents":[`)
	first := true
	sep := func() {
		if !first {
			bw.WriteString(",\n")
		} else {
			bw.WriteString("\n")
		}
		first = false
	}
	var all []Event
	var b []byte
	for r, evs := range perRank {
		sep()
		b = append(b[:0], `{"name":"process_name","ph":"M","pid":`...)
		b = strconv.AppendInt(b, int64(r), 10)
		b = append(b, `,"tid":0,"args":{"name":"rank `...)
		b = strconv.AppendInt(b, int64(r), 10)
		b = append(b, `"}}`...)
		bw.Write(b)
		all = append(all, evs...)
	}
	slices.SortStableFunc(all, func(a, b Event) int {
		if a.TS != b.TS {
			if a.TS < b.TS {
				return -1
			}
			return 1
		}
		return a.PID - b.PID
	})
	for i := range all {
		e := &all[i]
		sep()
		b = append(b[:0], `{"name":`...)
		b = appendJSONString(b, e.Name)
		b = append(b, `,"cat":`...)
		b = appendJSONString(b, e.Cat)
		b = append(b, `,"ph":"X","ts":`...)
		b = strconv.AppendInt(b, e.TS, 10)
		b = append(b, `,"dur":`...)
		b = strconv.AppendInt(b, e.Dur, 10)
		b = append(b, `,"pid":`...)
		b = strconv.AppendInt(b, int64(e.PID), 10)
		b = append(b, `,"tid":`...)
		b = strconv.AppendInt(b, int64(e.TID), 10)
		b = append(b, '}')
		bw.Write(b)
	}
	bw.WriteString("\n]}\n")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("%w: write trace: %w", ErrWrite, err)
	}
	return nil
}

func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// WriteTraceFile writes the merged trace (see WriteMerged) to path
// atomically; rank 0 calls it with every rank's Unmarshal'ed events.
func WriteTraceFile(path string, perRank [][]Event) error {
	var buf bytes.Buffer
	if err := WriteMerged(&buf, perRank); err != nil {
		return err
	}
	return WriteFileAtomic(path, buf.Bytes())
}
