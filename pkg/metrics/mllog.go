package metrics

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// MLLogPrefix starts every mllog line.
const MLLogPrefix = ":::MLLOG "

// Event types of mllog records.
const (
	IntervalStart = "INTERVAL_START"
	IntervalEnd   = "INTERVAL_END"
	PointInTime   = "POINT_IN_TIME"
)

// Meta holds the extra metadata of an mllog record, written after "file"
// and "lineno" in key order.
type Meta map[string]any

// MLLog writes MLCommons mllog records (BENCHMARKS.md §1.1):
//
//	:::MLLOG {"namespace": "", "time_ms": 1647024661595, "event_type": "INTERVAL_END", "key": "epoch_stop", "value": null, "metadata": {"file": "loop.go", "lineno": 95, "epoch_num": 1}}
//
// Keys are in that order with Python json spacing; metadata.file and
// metadata.lineno name the caller. Values are encoded like Python's
// json.dumps: floats in repr form (1.0, 1e-05), NaN as NaN, non-ASCII
// escaped, map keys sorted, time.Duration as float seconds; other Go
// values (structs) go through encoding/json and are re-spaced.
//
// An MLLog is safe for concurrent use; each record is one Write call. All
// methods of a nil *MLLog do nothing and return nil, so ranks other than 0
// can hold a nil logger.
type MLLog struct {
	mu              sync.Mutex
	w               io.Writer
	clock           func() time.Time
	buf             []byte
	trailingSuccess bool
}

// NewMLLog returns an MLLog writing to w; clock nil means time.Now.
func NewMLLog(w io.Writer, clock func() time.Time) *MLLog {
	if clock == nil {
		clock = time.Now
	}
	return &MLLog{w: w, clock: clock, buf: make([]byte, 0, 256)}
}

// Start writes an INTERVAL_START record.
func (m *MLLog) Start(key string, value any, meta Meta) error {
	return m.log(2, IntervalStart, key, value, meta)
}

// End writes an INTERVAL_END record.
func (m *MLLog) End(key string, value any, meta Meta) error {
	return m.log(2, IntervalEnd, key, value, meta)
}

// Event writes a POINT_IN_TIME record.
func (m *MLLog) Event(key string, value any, meta Meta) error {
	return m.log(2, PointInTime, key, value, meta)
}

// log writes one record; skip is the runtime.Caller depth of the user's
// call site relative to log.
func (m *MLLog) log(skip int, typ, key string, value any, meta Meta) error {
	if m == nil {
		return nil
	}
	file, line := "unknown", 0
	if _, f, l, ok := runtime.Caller(skip); ok {
		file, line = filepath.Base(f), l
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	b := append(m.buf[:0], MLLogPrefix...)
	b = append(b, `{"namespace": "", "time_ms": `...)
	b = strconv.AppendInt(b, m.clock().UnixMilli(), 10)
	b = append(b, `, "event_type": `...)
	b = appendPyString(b, typ)
	b = append(b, `, "key": `...)
	b = appendPyString(b, key)
	b = append(b, `, "value": `...)
	var err error
	if b, err = appendPy(b, value); err != nil {
		return fmt.Errorf("%w: key %q value: %w", ErrMLLog, key, err)
	}
	b = append(b, `, "metadata": {"file": `...)
	b = appendPyString(b, file)
	b = append(b, `, "lineno": `...)
	b = strconv.AppendInt(b, int64(line), 10)
	if len(meta) > 0 {
		keys := make([]string, 0, len(meta))
		for k := range meta {
			if k != "file" && k != "lineno" {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			b = append(b, ", "...)
			b = appendPyString(b, k)
			b = append(b, ": "...)
			if b, err = appendPy(b, meta[k]); err != nil {
				return fmt.Errorf("%w: key %q metadata %q: %w", ErrMLLog, key, k, err)
			}
		}
	}
	b = append(b, "}}\n"...)
	m.buf = b
	if _, err := m.w.Write(b); err != nil {
		return fmt.Errorf("%w: write key %q: %w", ErrMLLog, key, err)
	}
	return nil
}

// appendPy appends v encoded as Python's json.dumps would.
func appendPy(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case string:
		return appendPyString(b, x), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int32:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case uint64:
		return strconv.AppendUint(b, x, 10), nil
	case float64:
		return appendPyFloat(b, x), nil
	case float32:
		f, _ := strconv.ParseFloat(strconv.FormatFloat(float64(x), 'g', -1, 32), 64)
		return appendPyFloat(b, f), nil
	case Num:
		return appendPyFloat(b, float64(x)), nil
	case time.Duration:
		return appendPyFloat(b, x.Seconds()), nil
	case []any:
		return appendPySlice(b, reflect.ValueOf(x))
	case json.Marshaler:
		return appendViaJSON(b, v)
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.AppendInt(b, rv.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.AppendUint(b, rv.Uint(), 10), nil
	case reflect.Float32, reflect.Float64:
		return appendPy(b, rv.Float())
	case reflect.String:
		return appendPyString(b, rv.String()), nil
	case reflect.Bool:
		return strconv.AppendBool(b, rv.Bool()), nil
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			return append(b, "null"...), nil
		}
		return appendPySlice(b, rv)
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return appendViaJSON(b, v)
		}
		if rv.IsNil() {
			return append(b, "null"...), nil
		}
		keys := make([]string, 0, rv.Len())
		for _, k := range rv.MapKeys() {
			keys = append(keys, k.String())
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = appendPyString(b, k)
			b = append(b, ": "...)
			var err error
			kv := reflect.ValueOf(k).Convert(rv.Type().Key())
			if b, err = appendPy(b, rv.MapIndex(kv).Interface()); err != nil {
				return b, err
			}
		}
		return append(b, '}'), nil
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return append(b, "null"...), nil
		}
		return appendPy(b, rv.Elem().Interface())
	}
	return appendViaJSON(b, v)
}

func appendPySlice(b []byte, rv reflect.Value) ([]byte, error) {
	b = append(b, '[')
	for i := range rv.Len() {
		if i > 0 {
			b = append(b, ", "...)
		}
		var err error
		if b, err = appendPy(b, rv.Index(i).Interface()); err != nil {
			return b, err
		}
	}
	return append(b, ']'), nil
}

// appendViaJSON encodes v with encoding/json and re-spaces the compact
// output the way Python separates items (", " and ": ").
func appendViaJSON(b []byte, v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return b, err
	}
	inStr, esc := false, false
	for _, c := range raw {
		b = append(b, c)
		switch {
		case inStr && esc:
			esc = false
		case inStr && c == '\\':
			esc = true
		case c == '"':
			inStr = !inStr
		case !inStr && (c == ',' || c == ':'):
			b = append(b, ' ')
		}
	}
	return b, nil
}

// appendPyFloat appends f as Python's float repr: shortest round-trip
// digits, fixed notation with a ".0" for 1e-4 <= |f| < 1e16, exponent
// notation otherwise, and NaN/Infinity/-Infinity.
func appendPyFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, 1):
		return append(b, "Infinity"...)
	case math.IsInf(f, -1):
		return append(b, "-Infinity"...)
	}
	abs := math.Abs(f)
	if abs == 0 || (abs >= 1e-4 && abs < 1e16) {
		start := len(b)
		b = strconv.AppendFloat(b, f, 'f', -1, 64)
		for _, c := range b[start:] {
			if c == '.' {
				return b
			}
		}
		return append(b, ".0"...)
	}
	return strconv.AppendFloat(b, f, 'e', -1, 64) // 1e-05, 1.5e+16 as Python
}

// appendPyString appends s as a JSON string with Python's default
// ensure_ascii escaping.
func appendPyString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\b':
				b = append(b, '\\', 'b')
			case c == '\f':
				b = append(b, '\\', 'f')
			case c < 0x20 || c == 0x7f:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		units := []rune{r}
		if r >= 0x10000 {
			r1, r2 := utf16.EncodeRune(r)
			units = []rune{r1, r2}
		}
		for _, u := range units {
			b = append(b, '\\', 'u', hex[u>>12&0xf], hex[u>>8&0xf], hex[u>>4&0xf], hex[u&0xf])
		}
	}
	return append(b, '"')
}
