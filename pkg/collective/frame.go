package collective

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Wire format: every control message and every per-operation header is a
// frame: an 8-byte header (magic "SB", version, kind, little-endian uint32
// payload length) followed by the payload. Lengths are checked against a
// per-kind limit before anything is allocated. Collective payload data
// (segments) follows an op frame as raw bytes whose length both sides
// derive from the op header.
const (
	frameMagic0  = 'S'
	frameMagic1  = 'B'
	frameVersion = 1
	hdrLen       = 8
)

// Frame kinds.
const (
	frameHello   uint8 = 1 // rank → rank 0 (join) or rank → successor (ring)
	frameTable   uint8 = 2 // rank 0 → joiners: ring addresses of all ranks
	frameReject  uint8 = 3 // refusal with a reason
	frameAck     uint8 = 4 // ring hello accepted
	frameOp      uint8 = 5 // per-operation header on a ring link
	frameReport  uint8 = 6 // rank → rank 0: "I failed, I blame rank X"
	frameVerdict uint8 = 7 // rank 0 → ranks: "rank X is lost"
	frameBye     uint8 = 8 // orderly close
)

const (
	maxWorld     = 4096
	maxToken     = 256
	maxAddr      = 256
	maxHelloLen  = 1 + 4 + 4 + 2 + maxToken + 2 + maxAddr
	maxTableLen  = 4 + maxWorld*(2+maxAddr)
	maxRejectLen = 256
	opLen        = 24
	reportLen    = 13
	verdictLen   = 4
)

// maxPayload returns the largest payload accepted for kind, or -1 for an
// unknown kind.
func maxPayload(kind uint8) int {
	switch kind {
	case frameHello:
		return maxHelloLen
	case frameTable:
		return maxTableLen
	case frameReject:
		return maxRejectLen
	case frameAck, frameBye:
		return 0
	case frameOp:
		return opLen
	case frameReport:
		return reportLen
	case frameVerdict:
		return verdictLen
	}
	return -1
}

// fixedLen reports whether kind's payload length is exactly its limit.
func fixedLen(kind uint8) bool {
	switch kind {
	case frameAck, frameBye, frameOp, frameReport, frameVerdict:
		return true
	}
	return false
}

// putHeader writes a frame header into h.
func putHeader(h []byte, kind uint8, n int) {
	h[0], h[1], h[2], h[3] = frameMagic0, frameMagic1, frameVersion, kind
	binary.LittleEndian.PutUint32(h[4:8], uint32(n))
}

// parseHeader validates a frame header and returns its kind and length.
func parseHeader(h []byte) (kind uint8, n int, err error) {
	if h[0] != frameMagic0 || h[1] != frameMagic1 {
		return 0, 0, fmt.Errorf("%w: bad magic %#x%02x", ErrFrame, h[0], h[1])
	}
	if h[2] != frameVersion {
		return 0, 0, fmt.Errorf("%w: unsupported version %d", ErrFrame, h[2])
	}
	kind = h[3]
	limit := maxPayload(kind)
	if limit < 0 {
		return 0, 0, fmt.Errorf("%w: unknown kind %d", ErrFrame, kind)
	}
	l := binary.LittleEndian.Uint32(h[4:8])
	if uint64(l) > uint64(limit) {
		return 0, 0, fmt.Errorf("%w: kind %d length %d exceeds %d", ErrFrame, kind, l, limit)
	}
	if fixedLen(kind) && int(l) != limit {
		return 0, 0, fmt.Errorf("%w: kind %d length %d, want %d", ErrFrame, kind, l, limit)
	}
	return kind, int(l), nil
}

// readFrame reads one frame. The payload is allocated only after its length
// has been checked against the kind's limit.
func readFrame(r io.Reader) (kind uint8, payload []byte, err error) {
	var h [hdrLen]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	kind, n, err := parseHeader(h[:])
	if err != nil {
		return 0, nil, err
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		return 0, nil, fmt.Errorf("%w: truncated kind %d payload: %w", ErrFrame, kind, err)
	}
	return kind, payload, nil
}

// writeFrame writes one frame in a single Write.
func writeFrame(w io.Writer, kind uint8, payload []byte) error {
	b := make([]byte, hdrLen+len(payload))
	putHeader(b, kind, len(payload))
	copy(b[hdrLen:], payload)
	_, err := w.Write(b)
	return err
}

// dec is a bounds-checked little-endian reader over a payload.
type dec struct {
	b   []byte
	err error
}

func (d *dec) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n > len(d.b) {
		d.err = fmt.Errorf("%w: payload truncated", ErrFrame)
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *dec) u8() uint8 {
	if v := d.take(1); v != nil {
		return v[0]
	}
	return 0
}

func (d *dec) u32() uint32 {
	if v := d.take(4); v != nil {
		return binary.LittleEndian.Uint32(v)
	}
	return 0
}

func (d *dec) str(limit int) string {
	v := d.take(2)
	if v == nil {
		return ""
	}
	n := int(binary.LittleEndian.Uint16(v))
	if n > limit {
		d.err = fmt.Errorf("%w: string length %d exceeds %d", ErrFrame, n, limit)
		return ""
	}
	return string(d.take(n))
}

func (d *dec) done() error {
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%w: %d trailing bytes", ErrFrame, len(d.b))
	}
	return d.err
}

func appendStr(b []byte, s string) []byte {
	b = binary.LittleEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

// Hello purposes.
const (
	helloJoin uint8 = 1
	helloRing uint8 = 2
)

// hello is the first frame on every connection.
type hello struct {
	Purpose    uint8
	Rank, Size int
	Token      string
	Addr       string // join: the sender's ring listen address
}

func (h hello) encode() ([]byte, error) {
	if len(h.Token) > maxToken || len(h.Addr) > maxAddr {
		return nil, fmt.Errorf("%w: token or address too long", ErrConfig)
	}
	b := []byte{h.Purpose}
	b = binary.LittleEndian.AppendUint32(b, uint32(h.Rank))
	b = binary.LittleEndian.AppendUint32(b, uint32(h.Size))
	b = appendStr(b, h.Token)
	return appendStr(b, h.Addr), nil
}

func decodeHello(p []byte) (hello, error) {
	d := dec{b: p}
	h := hello{Purpose: d.u8(), Rank: int(d.u32()), Size: int(d.u32()), Token: d.str(maxToken), Addr: d.str(maxAddr)}
	if err := d.done(); err != nil {
		return hello{}, err
	}
	if h.Purpose != helloJoin && h.Purpose != helloRing {
		return hello{}, fmt.Errorf("%w: hello purpose %d", ErrFrame, h.Purpose)
	}
	if h.Size < 1 || h.Size > maxWorld || h.Rank < 0 || h.Rank >= h.Size {
		return hello{}, fmt.Errorf("%w: hello rank %d size %d", ErrFrame, h.Rank, h.Size)
	}
	return h, nil
}

func encodeTable(addrs []string) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(addrs)))
	for _, a := range addrs {
		b = appendStr(b, a)
	}
	return b
}

func decodeTable(p []byte) ([]string, error) {
	d := dec{b: p}
	n := d.u32()
	if n > maxWorld {
		return nil, fmt.Errorf("%w: table of %d ranks exceeds %d", ErrFrame, n, maxWorld)
	}
	// Each entry needs at least 2 bytes: bound n by the payload before allocating.
	if int(n)*2 > len(d.b) {
		return nil, fmt.Errorf("%w: table of %d ranks truncated", ErrFrame, n)
	}
	addrs := make([]string, n)
	for i := range addrs {
		addrs[i] = d.str(maxAddr)
	}
	if err := d.done(); err != nil {
		return nil, err
	}
	return addrs, nil
}

// report is sent by a failing rank to rank 0.
type report struct {
	From, Blamed, Step int
	Op                 uint8
}

func (r report) encode() []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(r.From))
	b = binary.LittleEndian.AppendUint32(b, uint32(r.Blamed))
	b = binary.LittleEndian.AppendUint32(b, uint32(r.Step))
	return append(b, r.Op)
}

func decodeReport(p []byte) (report, error) {
	d := dec{b: p}
	r := report{From: int(d.u32()), Blamed: int(d.u32()), Step: int(d.u32()), Op: d.u8()}
	return r, d.done()
}

func decodeVerdict(p []byte) (int, error) {
	d := dec{b: p}
	v := int(d.u32())
	return v, d.done()
}

// opHeader precedes the data of every collective on every ring link.
type opHeader struct {
	Kind  uint8 // opKind*
	Red   uint8 // Op
	Elem  uint8 // element size in bytes
	Root  uint32
	Count uint64
	Seq   uint64
}

func (o *opHeader) put(b []byte) {
	putHeader(b, frameOp, opLen)
	p := b[hdrLen:]
	p[0], p[1], p[2], p[3] = o.Kind, o.Red, o.Elem, 0
	binary.LittleEndian.PutUint32(p[4:8], o.Root)
	binary.LittleEndian.PutUint64(p[8:16], o.Count)
	binary.LittleEndian.PutUint64(p[16:24], o.Seq)
}

func (o *opHeader) parse(p []byte) {
	o.Kind, o.Red, o.Elem = p[0], p[1], p[2]
	o.Root = binary.LittleEndian.Uint32(p[4:8])
	o.Count = binary.LittleEndian.Uint64(p[8:16])
	o.Seq = binary.LittleEndian.Uint64(p[16:24])
}
