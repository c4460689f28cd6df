package launch

import (
	"bytes"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

// chunkReader returns its data in random-sized pieces.
type chunkReader struct {
	data []byte
	r    *rand.Rand
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), len(c.data), 1+c.r.IntN(300))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

// writeRecorder records each Write separately.
type writeRecorder struct{ writes []string }

func (w *writeRecorder) Write(p []byte) (int, error) {
	w.writes = append(w.writes, string(p))
	return len(p), nil
}

// naiveLines is the reference: split at newlines, prefix each line, end the
// last one with a newline.
func naiveLines(in, prefix string) []string {
	var out []string
	for len(in) > 0 {
		i := strings.IndexByte(in, '\n')
		if i < 0 {
			out = append(out, prefix+in+"\n")
			break
		}
		out = append(out, prefix+in[:i+1])
		in = in[i+1:]
	}
	return out
}

func TestCopyLinesRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	alphabet := "ab\n\n\x00é"
	for iter := 0; iter < 300; iter++ {
		var sb strings.Builder
		n := r.IntN(3000)
		if iter%50 == 0 {
			n = 200 << 10 // lines longer than the 64 KiB buffer
			alphabet = "abc"
		} else {
			alphabet = "ab\n\n\x00é"
		}
		for i := 0; i < n; i++ {
			sb.WriteByte(alphabet[r.IntN(len(alphabet))])
		}
		in := sb.String()
		var w writeRecorder
		copyLines(&sink{}, &w, &chunkReader{data: []byte(in), r: r}, "[rank 7] ")
		want := naiveLines(in, "[rank 7] ")
		if len(w.writes) != len(want) {
			t.Fatalf("iter %d: %d writes, want %d", iter, len(w.writes), len(want))
		}
		for i := range want {
			if w.writes[i] != want[i] {
				t.Fatalf("iter %d write %d = %.60q, want %.60q", iter, i, w.writes[i], want[i])
			}
		}
	}
}

func TestCopyLinesVeryLongLineIsCut(t *testing.T) {
	in := strings.Repeat("x", 3*maxLine) + "\nend"
	var w writeRecorder
	copyLines(&sink{}, &w, strings.NewReader(in), "P ")
	var total int
	for i, s := range w.writes {
		if !strings.HasPrefix(s, "P ") || !strings.HasSuffix(s, "\n") || len(s) > maxLine+64<<10+4 {
			t.Fatalf("write %d: %d bytes, %.20q", i, len(s), s)
		}
		total += len(s) - 3
	}
	if total != 3*maxLine+3 || w.writes[len(w.writes)-1] != "P end\n" {
		t.Errorf("total %d, last %q", total, w.writes[len(w.writes)-1])
	}
}

// TestCopyLinesAllocs: the number of allocations does not grow with the
// number of lines (the buffers are allocated once per stream).
func TestCopyLinesAllocs(t *testing.T) {
	measure := func(lines int) float64 {
		data := bytes.Repeat([]byte("a line of worker output, loss=0.123\n"), lines)
		rd := bytes.NewReader(data)
		s := &sink{}
		return testing.AllocsPerRun(20, func() {
			rd.Reset(data)
			copyLines(s, io.Discard, rd, "[rank 3] ")
		})
	}
	few, many := measure(10), measure(10000)
	if many > few {
		t.Errorf("allocations grow with lines: %v for 10 lines, %v for 10000", few, many)
	}
	if few > 2 {
		t.Errorf("%v allocations per stream, want at most 2 (reader, line buffer)", few)
	}
}

func BenchmarkCopyLines(b *testing.B) {
	data := bytes.Repeat([]byte("epoch 3 step 120 loss=0.1234 samples_per_s=812.5\n"), 20000)
	rd := bytes.NewReader(data)
	s := &sink{}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(data)
		copyLines(s, io.Discard, rd, "[rank 3] ")
	}
}
