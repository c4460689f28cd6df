package nn

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
)

// Arena file errors.
var (
	// ErrArenaFormat reports a file that is not an arena file, is truncated
	// or has an unsupported version.
	ErrArenaFormat = errors.New("nn: bad arena file")
	// ErrArenaMismatch reports a file whose parameters (count, names or
	// shapes) differ from the arena's.
	ErrArenaMismatch = errors.New("nn: arena file does not match the model")
	// ErrArenaChecksum reports a CRC mismatch.
	ErrArenaChecksum = errors.New("nn: arena file checksum mismatch")
)

// Arena file format (little endian), version 1:
//
//	magic   [8]byte "SCIBNNAR"
//	version uint32  1
//	count   uint32  number of parameters
//	count × { nameLen uint16; name; ndim uint8; dims [ndim]uint32 }
//	size    uint64  total elements
//	data    [size]float32
//	crc     uint32  CRC-32 (IEEE) of every preceding byte
const (
	arenaMagic   = "SCIBNNAR"
	arenaVersion = 1
	maxNameLen   = 1 << 12
	maxDims      = 8
)

// crcWriter forwards writes and updates a CRC.
type crcWriter struct {
	w   io.Writer
	crc uint32
}

func (c *crcWriter) Write(p []byte) (int, error) {
	c.crc = crc32.Update(c.crc, crc32.IEEETable, p)
	return c.w.Write(p)
}

// Save writes every parameter's name, shape and values to w. It does not
// write gradients; optimizer state is saved by the optimizer.
func (a *Arena) Save(w io.Writer) error {
	bw := bufio.NewWriter(w)
	cw := &crcWriter{w: bw}
	var b [8]byte
	put32 := func(v uint32) error {
		binary.LittleEndian.PutUint32(b[:4], v)
		_, err := cw.Write(b[:4])
		return err
	}
	if _, err := cw.Write([]byte(arenaMagic)); err != nil {
		return fmt.Errorf("nn: save arena: %w", err)
	}
	if err := put32(arenaVersion); err != nil {
		return fmt.Errorf("nn: save arena: %w", err)
	}
	if err := put32(uint32(len(a.params))); err != nil {
		return fmt.Errorf("nn: save arena: %w", err)
	}
	for _, p := range a.params {
		if len(p.Name) > maxNameLen || len(p.Shape) > maxDims {
			return fmt.Errorf("%w: parameter %q: name or rank too long to save", ErrArenaFormat, p.Name)
		}
		binary.LittleEndian.PutUint16(b[:2], uint16(len(p.Name)))
		b[2] = byte(len(p.Shape))
		if _, err := cw.Write(b[:3]); err != nil {
			return fmt.Errorf("nn: save arena: %w", err)
		}
		if _, err := io.WriteString(cw, p.Name); err != nil {
			return fmt.Errorf("nn: save arena: %w", err)
		}
		for _, d := range p.Shape {
			if err := put32(uint32(d)); err != nil {
				return fmt.Errorf("nn: save arena: %w", err)
			}
		}
	}
	binary.LittleEndian.PutUint64(b[:], uint64(a.size))
	if _, err := cw.Write(b[:]); err != nil {
		return fmt.Errorf("nn: save arena: %w", err)
	}
	buf := make([]byte, 4096)
	data := a.values()
	for i := 0; i < len(data); {
		k := 0
		for ; k+4 <= len(buf) && i < len(data); i, k = i+1, k+4 {
			binary.LittleEndian.PutUint32(buf[k:], math.Float32bits(data[i]))
		}
		if _, err := cw.Write(buf[:k]); err != nil {
			return fmt.Errorf("nn: save arena: %w", err)
		}
	}
	binary.LittleEndian.PutUint32(b[:4], cw.crc)
	if _, err := bw.Write(b[:4]); err != nil {
		return fmt.Errorf("nn: save arena: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("nn: save arena: %w", err)
	}
	return nil
}

// values returns the parameter values in layout order, before or after
// Build.
func (a *Arena) values() []float32 {
	if a.built {
		return a.Data
	}
	v := make([]float32, 0, a.size)
	for _, p := range a.params {
		v = append(v, p.W...)
	}
	return v
}

// crcReader forwards reads and updates a CRC.
type crcReader struct {
	r   io.Reader
	crc uint32
}

func (c *crcReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.crc = crc32.Update(c.crc, crc32.IEEETable, p[:n])
	return n, err
}

// Load reads a file written by Save into the arena's parameters. The
// file's parameter count, names and shapes must equal the arena's. The
// arena is changed only when the whole file, checksum included, is valid;
// a truncated, corrupt or mismatched file returns an error naming the
// parameter or field and leaves the values as they were.
func (a *Arena) Load(r io.Reader) error {
	cr := &crcReader{r: bufio.NewReader(r)}
	var b [8]byte
	read := func(n int, what string) error {
		if _, err := io.ReadFull(cr, b[:n]); err != nil {
			return fmt.Errorf("%w: reading %s: %w", ErrArenaFormat, what, err)
		}
		return nil
	}
	if err := read(8, "magic"); err != nil {
		return err
	}
	if string(b[:8]) != arenaMagic {
		return fmt.Errorf("%w: magic %q, want %q", ErrArenaFormat, b[:8], arenaMagic)
	}
	if err := read(4, "version"); err != nil {
		return err
	}
	if v := binary.LittleEndian.Uint32(b[:4]); v != arenaVersion {
		return fmt.Errorf("%w: version %d, want %d", ErrArenaFormat, v, arenaVersion)
	}
	if err := read(4, "parameter count"); err != nil {
		return err
	}
	if c := binary.LittleEndian.Uint32(b[:4]); int64(c) != int64(len(a.params)) {
		return fmt.Errorf("%w: file has %d parameters, model %d", ErrArenaMismatch, c, len(a.params))
	}
	name := make([]byte, 0, 64)
	for i, p := range a.params {
		if err := read(3, fmt.Sprintf("parameter %d header", i)); err != nil {
			return err
		}
		nl, nd := int(binary.LittleEndian.Uint16(b[:2])), int(b[2])
		if nl > maxNameLen || nd > maxDims {
			return fmt.Errorf("%w: parameter %d: name length %d, rank %d", ErrArenaFormat, i, nl, nd)
		}
		name = append(name[:0], make([]byte, nl)...)
		if _, err := io.ReadFull(cr, name); err != nil {
			return fmt.Errorf("%w: reading parameter %d name: %w", ErrArenaFormat, i, err)
		}
		if string(name) != p.Name {
			return fmt.Errorf("%w: parameter %d is %q in the file, %q in the model", ErrArenaMismatch, i, name, p.Name)
		}
		if nd != len(p.Shape) {
			return fmt.Errorf("%w: parameter %q has rank %d in the file, shape %v in the model", ErrArenaMismatch, p.Name, nd, p.Shape)
		}
		for k := 0; k < nd; k++ {
			if err := read(4, fmt.Sprintf("parameter %q shape", p.Name)); err != nil {
				return err
			}
			if d := binary.LittleEndian.Uint32(b[:4]); int64(d) != int64(p.Shape[k]) {
				return fmt.Errorf("%w: parameter %q dimension %d is %d in the file, shape %v in the model", ErrArenaMismatch, p.Name, k, d, p.Shape)
			}
		}
	}
	if err := read(8, "size"); err != nil {
		return err
	}
	if s := binary.LittleEndian.Uint64(b[:]); s != uint64(a.size) {
		return fmt.Errorf("%w: file has %d values, model %d", ErrArenaMismatch, s, a.size)
	}
	vals := make([]float32, a.size)
	buf := make([]byte, 4096)
	for i := 0; i < len(vals); {
		k := min(len(buf), 4*(len(vals)-i))
		if _, err := io.ReadFull(cr, buf[:k]); err != nil {
			return fmt.Errorf("%w: reading values at element %d of %d: %w", ErrArenaFormat, i, len(vals), err)
		}
		for j := 0; j < k; j, i = j+4, i+1 {
			vals[i] = math.Float32frombits(binary.LittleEndian.Uint32(buf[j:]))
		}
	}
	want := cr.crc
	if _, err := io.ReadFull(cr.r, b[:4]); err != nil {
		return fmt.Errorf("%w: reading checksum: %w", ErrArenaFormat, err)
	}
	if got := binary.LittleEndian.Uint32(b[:4]); got != want {
		return fmt.Errorf("%w: stored %08x, computed %08x", ErrArenaChecksum, got, want)
	}
	if a.built {
		copy(a.Data, vals)
		return nil
	}
	for _, p := range a.params {
		copy(p.W, vals[p.Offset:p.Offset+len(p.W)])
	}
	return nil
}
