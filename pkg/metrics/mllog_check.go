package metrics

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// mllogRecord is one parsed mllog line.
type mllogRecord struct {
	timeMS    int64
	eventType string
	key       string
	value     json.RawMessage
	meta      map[string]json.RawMessage
}

var (
	recordKeys = []string{"namespace", "time_ms", "event_type", "key", "value", "metadata"}

	submissionKeys = []string{
		KeySubmissionBenchmark, KeySubmissionOrg, KeySubmissionDivision, KeySubmissionVersion,
		KeySubmissionCommit, KeySubmissionStatus, KeySubmissionPlatform, KeySubmissionPOCName,
		KeySubmissionPOCEmail,
	}
	launchKeys = []string{KeyNumberOfRanks, KeyNumberOfNodes, KeyAccelPerNode}
	hyperKeys  = []string{KeySeed, KeyGlobalBatchSize, KeyTrainSamples, KeyEvalSamples, KeyOptName, KeyOptBaseLR}
)

func isOneOf(k string, set []string) bool {
	for _, s := range set {
		if s == k {
			return true
		}
	}
	return false
}

// standardKey reports whether k is a key whose place in the sequence is
// fixed; other keys (metric events, StopWatch timers) may appear freely
// before run_stop.
func standardKey(k string) bool {
	switch k {
	case KeyCacheClear, KeyInitStart, KeyInitStop, KeyRunStart, KeyRunStop, KeyEpochStart, KeyEpochStop,
		KeyEvalStart, KeyEvalStop, KeyBlockStart, KeyBlockStop, KeyResult:
		return true
	}
	return isOneOf(k, submissionKeys) || isOneOf(k, launchKeys) || isOneOf(k, hyperKeys)
}

// pyJSONToJSON replaces Python's NaN, Infinity and -Infinity tokens outside
// strings with null so encoding/json can parse the line.
func pyJSONToJSON(b []byte) []byte {
	if !bytes.Contains(b, []byte("NaN")) && !bytes.Contains(b, []byte("Infinity")) {
		return b
	}
	out := make([]byte, 0, len(b))
	inStr, esc := false, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inStr {
			out = append(out, c)
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
			continue
		}
		switch {
		case c == '"':
			inStr = true
		case bytes.HasPrefix(b[i:], []byte("NaN")):
			out, i = append(out, "null"...), i+2
			continue
		case bytes.HasPrefix(b[i:], []byte("Infinity")):
			out, i = append(out, "null"...), i+7
			continue
		case bytes.HasPrefix(b[i:], []byte("-Infinity")):
			out, i = append(out, "null"...), i+8
			continue
		}
		out = append(out, c)
	}
	return out
}

// orderedObject decodes a JSON object keeping its key order.
func orderedObject(raw []byte) ([]string, map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	t, err := dec.Token()
	if err != nil {
		return nil, nil, err
	}
	if d, ok := t.(json.Delim); !ok || d != '{' {
		return nil, nil, errors.New("not a JSON object")
	}
	var keys []string
	vals := map[string]json.RawMessage{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		k, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, nil, fmt.Errorf("key %q: %w", k, err)
		}
		if _, dup := vals[k]; dup {
			return nil, nil, fmt.Errorf("duplicate key %q", k)
		}
		keys = append(keys, k)
		vals[k] = v
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, err
	}
	if dec.More() {
		return nil, nil, errors.New("trailing data")
	}
	return keys, vals, nil
}

func parseMLLogRecord(text string) (*mllogRecord, error) {
	if !strings.HasPrefix(text, `{"namespace": `) {
		return nil, errors.New(`record must start with {"namespace": (Python json spacing)`)
	}
	keys, vals, err := orderedObject(pyJSONToJSON([]byte(text)))
	if err != nil {
		return nil, err
	}
	if strings.Join(keys, ",") != strings.Join(recordKeys, ",") {
		return nil, fmt.Errorf("keys %v, want %v in that order", keys, recordKeys)
	}
	rec := &mllogRecord{value: vals["value"]}
	if err := json.Unmarshal(vals["time_ms"], &rec.timeMS); err != nil {
		return nil, fmt.Errorf("time_ms %s: not an integer", vals["time_ms"])
	}
	if err := json.Unmarshal(vals["event_type"], &rec.eventType); err != nil {
		return nil, fmt.Errorf("event_type: %w", err)
	}
	if err := json.Unmarshal(vals["key"], &rec.key); err != nil {
		return nil, fmt.Errorf("key: %w", err)
	}
	mkeys, meta, err := orderedObject(vals["metadata"])
	if err != nil {
		return nil, fmt.Errorf("key %q: metadata: %w", rec.key, err)
	}
	if len(mkeys) < 2 || mkeys[0] != "file" || mkeys[1] != "lineno" {
		return nil, fmt.Errorf("key %q: metadata must start with file, lineno; got %v", rec.key, mkeys)
	}
	var line int
	if err := json.Unmarshal(meta["lineno"], &line); err != nil {
		return nil, fmt.Errorf("key %q: metadata.lineno %s: not an integer", rec.key, meta["lineno"])
	}
	rec.meta = meta
	switch rec.eventType {
	case IntervalStart, IntervalEnd, PointInTime:
	default:
		return nil, fmt.Errorf("key %q: event_type %q", rec.key, rec.eventType)
	}
	return rec, nil
}

// jsonInt decodes an integer (no fraction or exponent).
func jsonInt(raw json.RawMessage) (int64, bool) {
	s := strings.TrimSpace(string(raw))
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

func jsonString(raw json.RawMessage) (string, bool) {
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err == nil
}

// CheckMLLogSequence reads mllog output (other lines are ignored; a line
// may carry a prefix before ":::MLLOG ") and checks that it is one
// compliant sequence as BENCHMARKS.md §1.2 defines: record format and key
// order, event types, non-decreasing time_ms, all submission records and
// cache_clear before init_start, the integer launch records and the
// hyper-parameters inside init, run_start, epochs numbered 1, 2, ... with
// eval blocks and metric events tagged with the current epoch_num, balanced
// block_start/block_stop, exactly one result dict, and run_stop with status
// success or aborted last (optionally followed by submission_status
// "success"). The error wraps ErrMLLogSequence and names the line and key.
func CheckMLLogSequence(r io.Reader) error {
	c := &seqChecker{seen: map[string]bool{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 64<<20)
	lineNo := 0
	for sc.Scan() {
		lineNo++
		text := sc.Text()
		i := strings.Index(text, MLLogPrefix)
		if i < 0 {
			continue
		}
		c.records++
		rec, err := parseMLLogRecord(text[i+len(MLLogPrefix):])
		if err != nil {
			return fmt.Errorf("%w: line %d: %w", ErrMLLogSequence, lineNo, err)
		}
		if msg := c.step(rec); msg != "" {
			return fmt.Errorf("%w: line %d: key %q: %s", ErrMLLogSequence, lineNo, rec.key, msg)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%w: line %d: %w", ErrMLLogSequence, lineNo+1, err)
	}
	if c.records == 0 {
		return fmt.Errorf("%w: no %q records", ErrMLLogSequence, strings.TrimSpace(MLLogPrefix))
	}
	if c.phase != phaseStopped {
		return fmt.Errorf("%w: line %d: sequence ends before %s", ErrMLLogSequence, lineNo, phaseNext[c.phase])
	}
	return nil
}

const (
	phaseSubmission = iota
	phaseInit
	phaseInitDone
	phaseRun
	phaseStopped
)

var phaseNext = []string{KeyInitStart, KeyInitStop, KeyRunStart, KeyRunStop, ""}

type seqChecker struct {
	records   int
	phase     int
	lastTime  int64
	seen      map[string]bool
	epoch     int // last epoch started
	inEpoch   bool
	inEval    bool
	evaluated int // last epoch that had an eval block
	blocks    []string
	results   int
	trailing  bool
}

// step checks one record and returns what is wrong, or "".
func (c *seqChecker) step(r *mllogRecord) string {
	if r.timeMS < c.lastTime {
		return fmt.Sprintf("time_ms %d goes back from %d", r.timeMS, c.lastTime)
	}
	c.lastTime = r.timeMS
	switch {
	case strings.HasSuffix(r.key, "_start") && r.eventType != IntervalStart,
		strings.HasSuffix(r.key, "_stop") && r.eventType != IntervalEnd:
		return "wrong event_type " + r.eventType
	case standardKey(r.key) && !strings.HasSuffix(r.key, "_start") && !strings.HasSuffix(r.key, "_stop") &&
		r.eventType != PointInTime:
		return "wrong event_type " + r.eventType + ", want " + PointInTime
	}
	epochNum, hasEpoch := int64(0), false
	if raw, ok := r.meta["epoch_num"]; ok {
		n, isInt := jsonInt(raw)
		if !isInt {
			return "metadata.epoch_num is not an integer"
		}
		epochNum, hasEpoch = n, true
	}
	if c.phase == phaseStopped {
		if r.key == KeySubmissionStatus && !c.trailing {
			if s, _ := jsonString(r.value); s == StatusSuccess {
				c.trailing = true
				return ""
			}
		}
		if standardKey(r.key) {
			return "after " + KeyRunStop
		}
		return ""
	}
	if !standardKey(r.key) {
		if c.inEval && r.eventType == PointInTime && !hasEpoch {
			return "metric event inside eval without metadata.epoch_num"
		}
		if hasEpoch && c.phase == phaseRun && epochNum != int64(c.epoch) {
			return fmt.Sprintf("epoch_num %d, current epoch is %d", epochNum, c.epoch)
		}
		return ""
	}
	if c.seen[r.key] && !isOneOf(r.key, []string{KeyEpochStart, KeyEpochStop, KeyEvalStart, KeyEvalStop, KeyBlockStart, KeyBlockStop}) {
		return "logged twice"
	}
	c.seen[r.key] = true
	switch c.phase {
	case phaseSubmission:
		switch {
		case isOneOf(r.key, submissionKeys):
			s, ok := jsonString(r.value)
			if !ok {
				return "value must be a string"
			}
			if r.key == KeySubmissionBenchmark && referenceVersions[s] == "" {
				return fmt.Sprintf("unknown benchmark %q", s)
			}
			if r.key == KeySubmissionDivision && s != "closed" && s != "open" {
				return fmt.Sprintf("division %q, want closed or open", s)
			}
		case r.key == KeyCacheClear:
			if v := string(r.value); v != "true" && v != "false" {
				return "value must be a boolean"
			}
		case r.key == KeyInitStart:
			for _, k := range append(append([]string{}, submissionKeys...), KeyCacheClear) {
				if !c.seen[k] {
					return "missing " + k + " before " + KeyInitStart
				}
			}
			c.phase = phaseInit
		default:
			return "before " + KeyInitStart
		}
	case phaseInit:
		switch {
		case isOneOf(r.key, launchKeys):
			n, ok := jsonInt(r.value)
			if !ok || n < 0 || (n == 0 && r.key != KeyAccelPerNode) {
				return "value must be a positive integer, got " + string(r.value)
			}
			for _, k := range hyperKeys {
				if c.seen[k] {
					return "must come before " + k
				}
			}
		case isOneOf(r.key, hyperKeys):
			switch r.key {
			case KeyOptName:
				if _, ok := jsonString(r.value); !ok {
					return "value must be a string"
				}
			case KeyOptBaseLR:
				var f float64
				if err := json.Unmarshal(r.value, &f); err != nil {
					return "value must be a number"
				}
			default:
				n, ok := jsonInt(r.value)
				if !ok || (n < 1 && r.key == KeyGlobalBatchSize) || n < 0 {
					return "value must be a non-negative integer, got " + string(r.value)
				}
			}
		case r.key == KeyInitStop:
			for _, k := range append(append([]string{}, launchKeys...), hyperKeys...) {
				if !c.seen[k] {
					return "missing " + k + " before " + KeyInitStop
				}
			}
			c.phase = phaseInitDone
		default:
			return "inside init"
		}
	case phaseInitDone:
		if r.key != KeyRunStart {
			return "after " + KeyInitStop + ", want " + KeyRunStart
		}
		c.phase = phaseRun
	case phaseRun:
		return c.stepRun(r, epochNum, hasEpoch)
	}
	return ""
}

func (c *seqChecker) stepRun(r *mllogRecord, epochNum int64, hasEpoch bool) string {
	needEpoch := func(want int) string {
		if !hasEpoch {
			return "missing metadata.epoch_num"
		}
		if epochNum != int64(want) {
			return fmt.Sprintf("epoch_num %d, want %d", epochNum, want)
		}
		return ""
	}
	switch r.key {
	case KeyEpochStart:
		if c.inEpoch || c.inEval {
			return "previous epoch or eval still open"
		}
		if msg := needEpoch(c.epoch + 1); msg != "" {
			return msg
		}
		c.epoch++
		c.inEpoch = true
	case KeyEpochStop:
		if !c.inEpoch {
			return "no epoch open"
		}
		if msg := needEpoch(c.epoch); msg != "" {
			return msg
		}
		c.inEpoch = false
	case KeyEvalStart:
		if c.inEpoch || c.inEval || c.epoch == 0 || c.evaluated == c.epoch {
			return "eval_start must follow epoch_stop, once per epoch"
		}
		if msg := needEpoch(c.epoch); msg != "" {
			return msg
		}
		c.inEval = true
		c.evaluated = c.epoch
	case KeyEvalStop:
		if !c.inEval {
			return "no eval open"
		}
		if msg := needEpoch(c.epoch); msg != "" {
			return msg
		}
		c.inEval = false
	case KeyBlockStart, KeyBlockStop:
		p, ok := jsonString(r.meta["phase"])
		if !ok || p == "" {
			return "missing metadata.phase"
		}
		if r.key == KeyBlockStart {
			c.blocks = append(c.blocks, p)
			break
		}
		if len(c.blocks) == 0 || c.blocks[len(c.blocks)-1] != p {
			return fmt.Sprintf("block %q is not the open block", p)
		}
		c.blocks = c.blocks[:len(c.blocks)-1]
	case KeyResult:
		if c.inEpoch || c.inEval {
			return "inside an epoch or eval"
		}
		if _, _, err := orderedObject(r.value); err != nil {
			return "value must be a dict: " + err.Error()
		}
		c.results++
	case KeyRunStop:
		switch {
		case c.inEpoch || c.inEval:
			return "epoch or eval still open"
		case len(c.blocks) > 0:
			return fmt.Sprintf("block %q still open", c.blocks[len(c.blocks)-1])
		case c.results == 0:
			return "no " + KeyResult + " before " + KeyRunStop
		}
		status, _ := jsonString(r.meta["status"])
		switch status {
		case StatusSuccess:
			if c.epoch == 0 {
				return "status success without any epoch"
			}
		case StatusAborted:
		default:
			return fmt.Sprintf("metadata.status %q, want success or aborted", status)
		}
		c.phase = phaseStopped
	default:
		return "after " + KeyRunStart
	}
	return ""
}
