package collective

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Stats are cumulative counters of a communicator.
type Stats struct {
	Ops             int64   // collectives completed or failed
	Bytes           int64   // payload bytes sent to the ring successor
	Seconds         float64 // wall time spent inside collectives
	WaitSeconds     float64 // time blocked waiting for the predecessor's first bytes
	LastWaitSeconds float64 // WaitSeconds of the most recent collective
}

// Collective kinds carried in op headers.
const (
	kindAllReduce uint8 = 1 + iota
	kindAllGather
	kindBroadcast
	kindStream
)

func kindName(k uint8) string {
	switch k {
	case kindAllReduce:
		return "allreduce"
	case kindAllGather:
		return "allgather"
	case kindBroadcast:
		return "broadcast"
	case kindStream:
		return "stream"
	}
	return "op"
}

// plan describes one collective for the driver. It is passed by value to
// the writer goroutine so that dispatching it allocates nothing.
type plan struct {
	kind     uint8
	op       Op
	elem     int
	count    int // elements: all-reduce/broadcast/stream length, all-gather block
	root     int
	send     []byte // chunk base for sends
	recv     []byte // chunk base for receives (== send except stream)
	steps    int
	nseg     int
	segElems int
}

func (p *plan) step(rank, size, s int) Step {
	switch p.kind {
	case kindAllReduce:
		return AllReduceStep(rank, size, s)
	case kindAllGather:
		return AllGatherStep(rank, size, s)
	case kindBroadcast:
		return BroadcastStep(rank, size, p.root)
	}
	return Step{Send: 0, Recv: 0, Action: ActCopy, Dep: -1}
}

// chunk is chunk c's element range.
func (p *plan) chunk(size, c int) (lo, hi int) {
	switch p.kind {
	case kindAllReduce:
		return ChunkRange(p.count, size, c)
	case kindAllGather:
		return c * p.count, (c + 1) * p.count
	}
	return 0, p.count
}

// seg is segment k of chunk c as a byte range.
func (p *plan) seg(size, c, k int) (lo, hi int) {
	clo, chi := p.chunk(size, c)
	lo = min(clo+k*p.segElems, chi)
	hi = min(lo+p.segElems, chi)
	return lo * p.elem, hi * p.elem
}

func (p *plan) sends(rank, size int) bool {
	return p.kind != kindBroadcast || mod(rank+1, size) != p.root
}

func (p *plan) recvs(rank int) bool {
	return p.kind != kindBroadcast || rank != p.root
}

func (p *plan) header(seq uint64) opHeader {
	return opHeader{Kind: p.kind, Red: uint8(p.op), Elem: uint8(p.elem), Root: uint32(p.root), Count: uint64(p.count), Seq: seq}
}

// failure is the first cause of a failed operation.
type failure struct {
	peer  int // rank held responsible (-1: none, e.g. context)
	step  int
	err   error
	local bool // caused here (context, Close, mismatch): not a peer loss
}

// Comm is a communicator: one process's end of a ring of WorldSize ranks.
// Collectives must be called by every rank in the same order with matching
// arguments, one at a time per Comm. After any failed collective the Comm
// is broken: further calls return the same error; Close it.
type Comm struct {
	rank, size int
	hosts      []string
	timeout    time.Duration
	log        *slog.Logger

	prev, next net.Conn // ring links; nil when size == 1
	rawPrev    syscall.RawConn
	readFn     func(fd uintptr) bool
	rbuf       []byte
	roff       int
	rerr       error
	spins      int
	curSpins   int
	ctrl       []net.Conn // rank 0: ctrl[k] to rank k; others: ctrl[0] to rank 0
	ctrlMu     []sync.Mutex
	bye        []atomic.Bool

	opMu    sync.Mutex
	seq     uint64
	jobs    chan plan
	wdone   chan error
	watchCh chan watchReq
	// watchedDone and watchID are owned by the operation goroutine.
	watchedDone <-chan struct{}
	watchID     uint64
	curWatch    atomic.Uint64
	stage       []byte
	seqMax      int  // largest chunk for the sequential path (tests lower it)
	buffered    bool // links are kernel-buffered (TCP), not synchronous pipes
	segBytes    int
	notify      chan struct{}
	scratch     []byte
	whdr        [hdrLen + opLen]byte
	rhdr        [hdrLen + opLen]byte
	barrier     []float32

	recvDone atomic.Int64
	sentDone atomic.Int64
	wnotify  chan struct{}
	rstep    atomic.Int32
	inOp     atomic.Bool
	aborted  atomic.Bool

	failMu  sync.Mutex
	fail    *failure
	broken  error
	verdict atomic.Int64 // -1: none
	vOnce   sync.Once
	vReady  chan struct{}

	// rank 0's failure collector
	collMu    sync.Mutex
	reports   []report
	collTimer *time.Timer
	decided   bool
	window    time.Duration

	statMu sync.Mutex
	stats  Stats

	closing   chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// newComm assembles a communicator over already-established links and
// starts its goroutines. ctrl follows the Comm.ctrl convention.
func newComm(cfg Config, hosts []string, prev, next net.Conn, ctrl []net.Conn) *Comm {
	c := &Comm{
		rank: cfg.Rank, size: cfg.WorldSize, hosts: hosts, timeout: cfg.Timeout,
		log:  cfg.Logger.With("rank", cfg.Rank, "world_size", cfg.WorldSize),
		prev: prev, next: next, ctrl: ctrl,
		ctrlMu:   make([]sync.Mutex, len(ctrl)),
		bye:      make([]atomic.Bool, len(ctrl)),
		jobs:     make(chan plan, 1),
		wdone:    make(chan error, 1),
		watchCh:  make(chan watchReq, 1),
		stage:    make([]byte, hdrLen+opLen+coalesceMax),
		notify:   make(chan struct{}, 1),
		wnotify:  make(chan struct{}, 1),
		scratch:  make([]byte, max(cfg.SegmentBytes, seqMaxChunk)),
		segBytes: cfg.SegmentBytes,
		seqMax:   seqMaxChunk,
		barrier:  make([]float32, cfg.WorldSize),
		vReady:   make(chan struct{}),
		closing:  make(chan struct{}),
	}
	c.verdict.Store(-1)
	c.window = min(max(cfg.Timeout/8, 50*time.Millisecond), 500*time.Millisecond)
	if c.size == 1 {
		return c
	}
	_, c.buffered = prev.(*net.TCPConn)
	if tc, ok := next.(*net.TCPConn); ok {
		// The sequential path relies on a whole chunk fitting in the
		// socket buffers; the kernel may cap what tune asked for
		// (net.core.wmem_max), so bound the chunk by what we got.
		if sb := sendBuffer(tc); sb > 0 {
			c.seqMax = min(c.seqMax, sb/8)
		}
	}
	c.setupPoll(cfg.BusyPoll)
	c.wg.Add(2)
	go c.writerLoop()
	go c.watchLoop()
	for k, cc := range ctrl {
		if cc == nil {
			continue
		}
		c.wg.Add(1)
		go c.ctrlLoop(k)
	}
	return c
}

// Rank is this process's rank.
func (c *Comm) Rank() int { return c.rank }

// Size is the world size.
func (c *Comm) Size() int { return c.size }

// Host is the host of rank r as seen at rendezvous.
func (c *Comm) Host(r int) string {
	if r < 0 || r >= len(c.hosts) {
		return "?"
	}
	return c.hosts[r]
}

// Stats returns a snapshot of the cumulative counters.
func (c *Comm) Stats() Stats {
	c.statMu.Lock()
	defer c.statMu.Unlock()
	return c.stats
}

// AllReduce replaces buf on every rank by the element-wise reduction over
// ranks. Every rank ends with bitwise-identical contents.
func (c *Comm) AllReduce(ctx context.Context, buf []float32, op Op) error {
	return c.allReduce(ctx, f32Bytes(buf), len(buf), 4, op)
}

// AllReduceFloat64 is AllReduce for float64 buffers (metric reduction).
func (c *Comm) AllReduceFloat64(ctx context.Context, buf []float64, op Op) error {
	return c.allReduce(ctx, f64Bytes(buf), len(buf), 8, op)
}

func (c *Comm) allReduce(ctx context.Context, b []byte, n, elem int, op Op) error {
	if !op.valid() {
		return fmt.Errorf("%w: allreduce on rank %d: unknown op %d", ErrArg, c.rank, int(op))
	}
	p := plan{kind: kindAllReduce, op: op, elem: elem, count: n, send: b, recv: b, steps: AllReduceSteps(c.size)}
	p.nseg = c.nseg(elem, (n+c.size-1)/c.size, &p)
	return c.run(ctx, &p)
}

// Broadcast copies root's buf into buf on every rank.
func (c *Comm) Broadcast(ctx context.Context, buf []float32, root int) error {
	if root < 0 || root >= c.size {
		return fmt.Errorf("%w: broadcast on rank %d: root %d not in [0, %d)", ErrArg, c.rank, root, c.size)
	}
	b := f32Bytes(buf)
	p := plan{kind: kindBroadcast, elem: 4, count: len(buf), root: root, send: b, recv: b, steps: 1}
	if c.size == 1 {
		p.steps = 0
	}
	p.nseg = c.nseg(4, len(buf), &p)
	return c.run(ctx, &p)
}

// AllGather concatenates every rank's send into recv in rank order;
// len(recv) must be WorldSize*len(send).
func (c *Comm) AllGather(ctx context.Context, send, recv []float32) error {
	m := len(send)
	if len(recv) != c.size*m {
		return fmt.Errorf("%w: allgather on rank %d: len(recv)=%d, want %d*%d", ErrArg, c.rank, len(recv), c.size, m)
	}
	copy(recv[c.rank*m:(c.rank+1)*m], send)
	b := f32Bytes(recv)
	p := plan{kind: kindAllGather, elem: 4, count: m, send: b, recv: b, steps: AllGatherSteps(c.size)}
	p.nseg = c.nseg(4, m, &p)
	return c.run(ctx, &p)
}

// Barrier returns once every rank has entered it.
func (c *Comm) Barrier(ctx context.Context) error {
	return c.AllReduce(ctx, c.barrier, OpSum)
}

// Stream measures the link ceiling: every rank sends buf to its successor
// while receiving the same number of bytes from its predecessor into recv,
// in SegmentBytes writes, with no reduction. It returns the elapsed time.
func (c *Comm) Stream(ctx context.Context, buf, recv []float32) (time.Duration, error) {
	if len(recv) != len(buf) {
		return 0, fmt.Errorf("%w: stream on rank %d: len(recv)=%d, want %d", ErrArg, c.rank, len(recv), len(buf))
	}
	p := plan{kind: kindStream, elem: 4, count: len(buf), send: f32Bytes(buf), recv: f32Bytes(recv), steps: 1}
	if c.size == 1 {
		p.steps = 0
	}
	p.nseg = c.nseg(4, len(buf), &p)
	start := time.Now()
	err := c.run(ctx, &p)
	return time.Since(start), err
}

func (c *Comm) nseg(elem, maxChunk int, p *plan) int {
	p.segElems = max(1, c.segBytes/elem)
	return (maxChunk + p.segElems - 1) / p.segElems
}

// brokenErr returns the error that broke the communicator, if any.
func (c *Comm) brokenErr() error {
	c.failMu.Lock()
	defer c.failMu.Unlock()
	return c.broken
}

// run executes one collective following the pure schedule. Large ones are
// pipelined: this goroutine receives and reduces segment by segment while
// the writer goroutine sends; small ones run in this goroutine (seqOp).
func (c *Comm) run(ctx context.Context, p *plan) error {
	c.opMu.Lock()
	defer c.opMu.Unlock()
	if err := c.brokenErr(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("collective: %s on rank %d: %w", kindName(p.kind), c.rank, err)
	}
	start := time.Now()
	c.seq++
	if c.size == 1 {
		c.account(start, 0, 0)
		return nil
	}
	deadline := start.Add(c.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	c.failMu.Lock()
	c.fail = nil
	c.failMu.Unlock()
	if err := c.prev.SetReadDeadline(deadline); err != nil {
		return c.failed(ctx, p, &failure{peer: c.prevRank(), err: err})
	}
	if err := c.next.SetWriteDeadline(deadline); err != nil {
		return c.failed(ctx, p, &failure{peer: c.nextRank(), err: err})
	}
	c.recvDone.Store(0)
	c.sentDone.Store(0)
	c.rstep.Store(0)
	c.aborted.Store(false)
	c.inOp.Store(true)
	if v := c.verdict.Load(); v >= 0 {
		// A rank was declared lost between collectives.
		c.inOp.Store(false)
		return c.failed(ctx, p, &failure{peer: int(v), err: errVerdict})
	}
	c.watch(ctx)
	if ctx.Err() != nil { // cancelled while the watcher was not yet looking
		c.abort(c.ctxFailure(ctx))
		c.inOp.Store(false)
		return c.failed(ctx, p, nil)
	}
	var (
		wait       time.Duration
		rerr, werr error
	)
	if c.buffered && c.maxChunkBytes(p) <= c.seqMax {
		// Small messages: the calling goroutine sends then receives each
		// step; the chunk fits in the socket buffers, so nothing blocks on
		// a peer that is itself writing, and no goroutine hand-off (a
		// cross-core wake-up) is paid.
		wait, rerr = c.seqOp(p, start)
		if rerr != nil {
			c.abort(rerr)
		}
	} else {
		c.jobs <- *p
		wait, rerr = c.readOp(p, start)
		if rerr != nil {
			c.abort(rerr)
		}
		werr = <-c.wdone
	}
	c.inOp.Store(false)
	var sent int64
	if werr == nil && rerr == nil {
		sent = c.sentBytes(p)
	}
	c.account(start, wait, sent)
	if rerr == nil && werr == nil {
		return nil
	}
	return c.failed(ctx, p, nil)
}

// seqMaxChunk is the largest chunk (bytes per step) sent by the sequential
// small-message path. Not swept yet; it must stay well below the socket
// buffers (socketBuffer) so that a send never waits for a peer that is
// itself sending. coalesceMax is the largest first chunk copied behind the
// op header so that both go out in one write.
const (
	seqMaxChunk = 256 << 10
	coalesceMax = 16 << 10
)

func (c *Comm) maxChunkBytes(p *plan) int {
	switch p.kind {
	case kindAllReduce:
		return (p.count + c.size - 1) / c.size * p.elem
	}
	return p.count * p.elem
}

// seqOp executes the schedule in the calling goroutine: per step it sends
// the whole Send chunk (the op header coalesced with the first one), then
// receives the Recv chunk; a step whose send depends on its own receive
// (broadcast forwarding) receives first.
func (c *Comm) seqOp(p *plan, start time.Time) (wait time.Duration, err error) {
	prev, next := c.prevRank(), c.nextRank()
	sends, recvs := p.sends(c.rank, c.size), p.recvs(c.rank)
	hdrPending := sends
	if sends {
		h := p.header(c.seq)
		h.put(c.stage[:])
	}
	needHdr := recvs
	for s := 0; s < p.steps; s++ {
		c.rstep.Store(int32(s))
		st := p.step(c.rank, c.size, s)
		send := func() error {
			if !sends || st.Send < 0 {
				return nil
			}
			lo, hi := p.chunk(c.size, st.Send)
			b := p.send[lo*p.elem : hi*p.elem]
			var err error
			if hdrPending && len(b) <= coalesceMax {
				n := copy(c.stage[hdrLen+opLen:], b)
				_, err = c.next.Write(c.stage[:hdrLen+opLen+n])
				hdrPending = false
			} else if hdrPending {
				if _, err = c.next.Write(c.stage[:hdrLen+opLen]); err == nil {
					_, err = c.next.Write(b)
				}
				hdrPending = false
			} else if len(b) > 0 {
				_, err = c.next.Write(b)
			}
			if err != nil {
				return &failure{peer: next, step: s, err: err}
			}
			return nil
		}
		recv := func() error {
			if needHdr {
				if err := c.readFull(c.rhdr[:]); err != nil {
					return &failure{peer: prev, step: s, err: err}
				}
				wait = time.Since(start)
				if err := c.checkHeader(p, prev); err != nil {
					return err
				}
				needHdr = false
			}
			if st.Recv < 0 {
				return nil
			}
			lo, hi := p.chunk(c.size, st.Recv)
			dst := p.recv[lo*p.elem : hi*p.elem]
			if len(dst) == 0 {
				return nil
			}
			if st.Action == ActReduce {
				sc := c.scratch[:len(dst)]
				if err := c.readFull(sc); err != nil {
					return &failure{peer: prev, step: s, err: err}
				}
				reduceBytes(dst, sc, p.elem, p.op)
				if st.Final && p.op == OpAvg {
					scaleBytes(dst, p.elem, c.size)
				}
				return nil
			}
			if err := c.readFull(dst); err != nil {
				return &failure{peer: prev, step: s, err: err}
			}
			return nil
		}
		if st.Dep == s {
			if err := recv(); err != nil {
				return wait, err
			}
			if err := send(); err != nil {
				return wait, err
			}
			continue
		}
		if err := send(); err != nil {
			return wait, err
		}
		if err := recv(); err != nil {
			return wait, err
		}
	}
	if hdrPending { // nothing was sent (zero steps): still announce the op
		if _, err := c.next.Write(c.stage[:hdrLen+opLen]); err != nil {
			return wait, &failure{peer: next, err: err}
		}
	}
	if needHdr {
		if err := c.readFull(c.rhdr[:]); err != nil {
			return wait, &failure{peer: prev, err: err}
		}
		wait = time.Since(start)
		if err := c.checkHeader(p, prev); err != nil {
			return wait, err
		}
	}
	return wait, nil
}

func (c *Comm) account(start time.Time, wait time.Duration, sent int64) {
	c.statMu.Lock()
	c.stats.Ops++
	c.stats.Bytes += sent
	c.stats.Seconds += time.Since(start).Seconds()
	c.stats.WaitSeconds += wait.Seconds()
	c.stats.LastWaitSeconds = wait.Seconds()
	c.statMu.Unlock()
}

func (c *Comm) sentBytes(p *plan) int64 {
	if !p.sends(c.rank, c.size) {
		return 0
	}
	var n int64
	for s := 0; s < p.steps; s++ {
		st := p.step(c.rank, c.size, s)
		if st.Send >= 0 {
			lo, hi := p.chunk(c.size, st.Send)
			n += int64((hi - lo) * p.elem)
		}
	}
	return n
}

func (c *Comm) prevRank() int { return mod(c.rank-1, c.size) }
func (c *Comm) nextRank() int { return mod(c.rank+1, c.size) }

// readOp is the receiving half of the driver.
func (c *Comm) readOp(p *plan, start time.Time) (wait time.Duration, err error) {
	prev := c.prevRank()
	if p.recvs(c.rank) {
		if err := c.readFull(c.rhdr[:]); err != nil {
			return 0, &failure{peer: prev, err: err}
		}
		wait = time.Since(start)
		if err := c.checkHeader(p, prev); err != nil {
			return wait, err
		}
	}
	for s := 0; s < p.steps; s++ {
		c.rstep.Store(int32(s))
		st := p.step(c.rank, c.size, s)
		for k := 0; k < p.nseg; k++ {
			if st.Recv >= 0 {
				lo, hi := p.seg(c.size, st.Recv, k)
				if lo < hi {
					dst := p.recv[lo:hi]
					if st.Action == ActReduce {
						sc := c.scratch[:hi-lo]
						if err := c.readFull(sc); err != nil {
							return wait, &failure{peer: prev, step: s, err: err}
						}
						reduceBytes(dst, sc, p.elem, p.op)
						if st.Final && p.op == OpAvg {
							scaleBytes(dst, p.elem, c.size)
						}
					} else if p.kind == kindAllReduce && !c.waitSent(int64((s-(c.size-1))*p.nseg+k+1)) {
						return wait, &failure{peer: -1, step: s, err: errAborted}
					} else if err := c.readFull(dst); err != nil {
						return wait, &failure{peer: prev, step: s, err: err}
					}
				}
			}
			c.recvDone.Store(int64(s*p.nseg + k + 1))
			select {
			case c.notify <- struct{}{}:
			default:
			}
		}
	}
	return wait, nil
}

func (c *Comm) checkHeader(p *plan, prev int) error {
	kind, n, err := parseHeader(c.rhdr[:hdrLen])
	if err == nil && (kind != frameOp || n != opLen) {
		err = fmt.Errorf("%w: kind %d length %d where an op header was expected", ErrFrame, kind, n)
	}
	if err != nil {
		return &failure{peer: prev, err: err, local: true}
	}
	var got opHeader
	got.parse(c.rhdr[hdrLen:])
	if want := p.header(c.seq); got != want {
		return &failure{peer: prev, local: true, err: fmt.Errorf("%w: rank %d sent %s #%d (count %d, op %d, root %d), rank %d is in %s #%d (count %d, op %d, root %d)",
			ErrMismatch, prev, kindName(got.Kind), got.Seq, got.Count, got.Red, got.Root,
			c.rank, kindName(want.Kind), want.Seq, want.Count, want.Red, want.Root)}
	}
	return nil
}

func (f *failure) Error() string { return f.err.Error() }

// writerLoop is the sending half of the driver; it owns c.next's writes.
func (c *Comm) writerLoop() {
	defer c.wg.Done()
	for {
		select {
		case p := <-c.jobs:
			err := c.writeOp(&p)
			if err != nil {
				c.abort(err)
			}
			c.wdone <- err
		case <-c.closing:
			return
		}
	}
}

func (c *Comm) writeOp(p *plan) error {
	if !p.sends(c.rank, c.size) {
		return nil
	}
	next := c.nextRank()
	h := p.header(c.seq)
	h.put(c.whdr[:])
	if _, err := c.next.Write(c.whdr[:]); err != nil {
		return &failure{peer: next, err: err}
	}
	for s := 0; s < p.steps; s++ {
		st := p.step(c.rank, c.size, s)
		for k := 0; k < p.nseg; k++ {
			if st.Dep >= 0 && !c.waitRecv(int64(st.Dep*p.nseg+k+1)) {
				return &failure{peer: -1, step: s, err: errAborted}
			}
			if st.Send < 0 {
				continue
			}
			lo, hi := p.seg(c.size, st.Send, k)
			if lo >= hi {
				continue
			}
			if _, err := c.next.Write(p.send[lo:hi]); err != nil {
				return &failure{peer: next, step: s, err: err}
			}
			if p.kind == kindAllReduce {
				c.sentDone.Store(int64(s*p.nseg + k + 1))
				select {
				case c.wnotify <- struct{}{}:
				default:
				}
			}
		}
	}
	return nil
}

// waitSent waits until the writer has sent target segments. In the
// all-gather phase of an all-reduce the reader overwrites a chunk segment
// that this rank sent during reduce-scatter; causality (the final value
// includes what was sent) guarantees the send is complete, and this wait
// makes that ordering explicit to the memory model and the race detector.
func (c *Comm) waitSent(target int64) bool {
	for i := 0; ; i++ {
		if c.sentDone.Load() >= target {
			return true
		}
		if c.aborted.Load() {
			return false
		}
		if i < spinWait {
			continue
		}
		<-c.wnotify
	}
}

var errAborted = errors.New("collective: operation aborted")

// spinWait is how many times the writer polls the receive counter before
// blocking on the notification channel.
const spinWait = 64

// waitRecv waits until the reader has processed target segments; false if
// the operation was aborted.
func (c *Comm) waitRecv(target int64) bool {
	for i := 0; ; i++ {
		if c.recvDone.Load() >= target {
			return true
		}
		if c.aborted.Load() {
			return false
		}
		if i < spinWait {
			continue
		}
		<-c.notify
	}
}

// watch makes the watcher goroutine look at ctx during this operation.
// Contexts are identified by their Done channel; re-using the same context
// for every collective (the common case) costs no channel operation.
func (c *Comm) watch(ctx context.Context) {
	d := ctx.Done()
	if d == nil {
		c.curWatch.Store(0)
		return
	}
	if d != c.watchedDone {
		c.watchID++
		c.watchCh <- watchReq{ctx: ctx, id: c.watchID}
		c.watchedDone = d
	}
	c.curWatch.Store(c.watchID)
}

type watchReq struct {
	ctx context.Context
	id  uint64
}

func (c *Comm) ctxFailure(ctx context.Context) *failure {
	// An expired deadline means a peer did not answer in time (blame the
	// predecessor, then ask rank 0); a cancellation is this rank's own
	// decision.
	f := &failure{peer: -1, step: int(c.rstep.Load()), err: ctx.Err(), local: true}
	if errors.Is(f.err, context.DeadlineExceeded) {
		f.peer, f.local = c.prevRank(), false
	}
	return f
}

// watchLoop turns context cancellation into aborted I/O. It watches the
// most recently registered context; when that context ends during an
// operation that uses it, the operation is aborted.
func (c *Comm) watchLoop() {
	defer c.wg.Done()
	var cur watchReq
	var done <-chan struct{}
	for {
		select {
		case cur = <-c.watchCh:
			done = cur.ctx.Done()
		case <-done:
			done = nil
			if c.inOp.Load() && c.curWatch.Load() == cur.id {
				c.abort(c.ctxFailure(cur.ctx))
			}
		case <-c.closing:
			return
		}
	}
}

// abort records the first failure of the running operation and unblocks
// both halves of the driver.
func (c *Comm) abort(err error) {
	f, ok := err.(*failure)
	if !ok {
		f = &failure{peer: -1, err: err, local: true}
	}
	c.failMu.Lock()
	if c.fail == nil && !errors.Is(f.err, errAborted) {
		c.fail = f
	}
	c.failMu.Unlock()
	c.aborted.Store(true)
	past := time.Unix(1, 0)
	if c.prev != nil {
		_ = c.prev.SetDeadline(past)
	}
	if c.next != nil {
		_ = c.next.SetDeadline(past)
	}
	select {
	case c.notify <- struct{}{}:
	default:
	}
	select {
	case c.wnotify <- struct{}{}:
	default:
	}
}

// failed turns the first failure into the operation's error, learns from
// rank 0 which rank is to blame, closes both ring links so the failure
// propagates, and marks the communicator broken.
func (c *Comm) failed(ctx context.Context, p *plan, f *failure) error {
	c.failMu.Lock()
	if f == nil {
		f = c.fail
	}
	c.failMu.Unlock()
	if f == nil {
		f = &failure{peer: -1, err: errAborted, local: true}
	}
	opName := kindName(p.kind)
	var err error
	switch {
	case errors.Is(f.err, ErrClosed):
		err = fmt.Errorf("collective: %s step %d on rank %d: %w", opName, f.step, c.rank, ErrClosed)
	case f.local:
		c.report(c.rank, f.step)
		err = fmt.Errorf("collective: %s step %d on rank %d: %w", opName, f.step, c.rank, f.err)
	default:
		culprit := c.awaitVerdict(f.peer, f.step)
		err = &PeerError{Rank: culprit, Host: c.Host(culprit), Op: opName, Step: f.step,
			Err: fmt.Errorf("%w: %w", ErrPeerLost, f.err)}
	}
	c.closeRing()
	c.failMu.Lock()
	if c.broken == nil {
		c.broken = err
	}
	c.failMu.Unlock()
	c.log.Warn("collective failed", "op", opName, "step", f.step, "err", err)
	return err
}

func (c *Comm) closeRing() {
	if c.prev != nil {
		_ = c.prev.Close()
	}
	if c.next != nil {
		_ = c.next.Close()
	}
}

// Close ends the communicator: it aborts a running collective, says
// goodbye to rank 0 (or, on rank 0, to every rank), closes every link and
// waits for its goroutines. It is idempotent.
func (c *Comm) Close() error {
	c.closeOnce.Do(func() {
		if c.inOp.Load() {
			c.abort(&failure{peer: -1, err: ErrClosed, local: true})
		}
		c.opMu.Lock()
		defer c.opMu.Unlock()
		c.failMu.Lock()
		if c.broken == nil {
			c.broken = fmt.Errorf("collective: rank %d: %w", c.rank, ErrClosed)
		}
		c.failMu.Unlock()
		for k, cc := range c.ctrl {
			if cc != nil && c.verdict.Load() < 0 {
				_ = c.sendCtrl(k, frameBye, nil)
			}
		}
		close(c.closing)
		c.closeRing()
		for _, cc := range c.ctrl {
			if cc != nil {
				_ = cc.Close()
			}
		}
		c.collMu.Lock()
		if c.collTimer != nil {
			c.collTimer.Stop()
		}
		c.decided = true // no verdict goroutines are started after this
		c.collMu.Unlock()
		c.wg.Wait()
	})
	return nil
}
