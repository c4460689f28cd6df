package launch

import (
	"bufio"
	"io"
	"sync"
)

// maxLine bounds how much of one line is held before it is written anyway
// (as several prefixed lines), so a worker printing without newlines cannot
// exhaust the launcher's memory.
const maxLine = 1 << 20

// sink serialises writes of whole lines from every worker: one mutex for
// stdout and stderr, which are often the same terminal or file.
type sink struct {
	mu sync.Mutex
}

func (s *sink) write(w io.Writer, line []byte) {
	s.mu.Lock()
	// A failed write (closed terminal) must not stop the draining, or the
	// worker would block on a full pipe; the line is dropped.
	_, _ = w.Write(line)
	s.mu.Unlock()
}

// copyLines reads r until EOF or error and writes each line to w as
// prefix+line+"\n" in one Write. A last line without newline gets one.
// In steady state it allocates nothing: the line buffer is reused.
func copyLines(s *sink, w io.Writer, r io.Reader, prefix string) {
	br := bufio.NewReaderSize(r, 64<<10)
	buf := make([]byte, 0, 64<<10+len(prefix)+1)
	buf = append(buf, prefix...)
	for {
		chunk, err := br.ReadSlice('\n')
		buf = append(buf, chunk...)
		switch {
		case err == nil:
			s.write(w, buf)
			buf = buf[:len(prefix)]
		case err == bufio.ErrBufferFull:
			if len(buf) >= maxLine {
				s.write(w, append(buf, '\n'))
				buf = buf[:len(prefix)]
			}
		default: // io.EOF or a read error (pipe closed)
			if len(buf) > len(prefix) {
				s.write(w, append(buf, '\n'))
			}
			return
		}
	}
}
