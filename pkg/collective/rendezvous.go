package collective

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
	"time"
)

// New joins the job: it rendezvouses through rank 0's address, connects
// this rank to its ring neighbours (predecessor and successor only, not a
// full mesh) and keeps a control link to rank 0. It fails within
// cfg.Timeout (or ctx) with an error naming what is missing.
func New(ctx context.Context, cfg Config) (*Comm, error) {
	if err := cfg.Validate(); err != nil {
		if cfg.Listener != nil {
			_ = cfg.Listener.Close()
		}
		return nil, err
	}
	cfg = cfg.withDefaults()
	if cfg.WorldSize == 1 {
		if cfg.Listener != nil {
			_ = cfg.Listener.Close()
		}
		return newComm(cfg, []string{hostOf(cfg.MasterAddr)}, nil, nil, nil), nil
	}
	sctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	var (
		c   *Comm
		err error
	)
	if cfg.Rank == 0 {
		c, err = setupRoot(sctx, cfg)
	} else {
		c, err = setupPeer(sctx, cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("collective: set-up of rank %d/%d via %s: %w", cfg.Rank, cfg.WorldSize,
			net.JoinHostPort(cfg.MasterAddr, strconv.Itoa(cfg.MasterPort)), err)
	}
	c.log.Debug("collective ready", "prev", c.prevRank(), "next", c.nextRank())
	return c, nil
}

func hostOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	if addr == "" {
		return "localhost"
	}
	return addr
}

// tune sets socket options for ring links.
func tune(conn net.Conn) {
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
		_ = tc.SetReadBuffer(socketBuffer)
		_ = tc.SetWriteBuffer(socketBuffer)
	}
}

type accepted struct {
	conn net.Conn
	h    hello
}

// acceptLoop accepts connections on ln, authenticates their hello and
// hands valid ones to out until ctx ends. Connections with a wrong token or
// a malformed hello are refused and closed.
func acceptLoop(ctx context.Context, ln net.Listener, cfg Config, purpose uint8, out chan<- accepted) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			dl := time.Now().Add(5 * time.Second)
			if d, ok := ctx.Deadline(); ok && d.Before(dl) {
				dl = d
			}
			_ = conn.SetDeadline(dl)
			h, err := readHello(conn, cfg, purpose)
			if err != nil {
				cfg.Logger.Warn("refused connection", "rank", cfg.Rank, "remote", conn.RemoteAddr().String(), "err", err)
				_ = writeFrame(conn, frameReject, []byte(err.Error()))
				_ = conn.Close()
				return
			}
			select {
			case out <- accepted{conn, h}:
			case <-ctx.Done():
				_ = conn.Close()
			}
		}()
	}
}

func readHello(conn net.Conn, cfg Config, purpose uint8) (hello, error) {
	kind, p, err := readFrame(conn)
	if err != nil {
		return hello{}, err
	}
	if kind != frameHello {
		return hello{}, fmt.Errorf("%w: kind %d where a hello was expected", ErrFrame, kind)
	}
	h, err := decodeHello(p)
	if err != nil {
		return hello{}, err
	}
	if subtle.ConstantTimeCompare([]byte(h.Token), []byte(cfg.Token)) != 1 {
		return hello{}, fmt.Errorf("%w: wrong job token from rank %d", ErrAuth, h.Rank)
	}
	if h.Size != cfg.WorldSize {
		return hello{}, fmt.Errorf("%w: rank %d says world size %d, want %d", ErrConfig, h.Rank, h.Size, cfg.WorldSize)
	}
	switch {
	case purpose == helloRing && h.Purpose == helloRing && h.Rank == mod(cfg.Rank-1, cfg.WorldSize):
	case cfg.Rank == 0 && h.Purpose == helloJoin && h.Rank != 0:
	case cfg.Rank == 0 && h.Purpose == helloRing && h.Rank == cfg.WorldSize-1:
	default:
		return hello{}, fmt.Errorf("%w: unexpected hello (purpose %d) from rank %d at rank %d", ErrAuth, h.Purpose, h.Rank, cfg.Rank)
	}
	return h, nil
}

// dialRetry dials addr until it answers or ctx ends (rank 0 may start late).
func dialRetry(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	for {
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			return conn, nil
		}
		if !errors.Is(err, syscall.ECONNREFUSED) || ctx.Err() != nil {
			return nil, fmt.Errorf("dial %s: %w", addr, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("dial %s: %w", addr, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// handshake sends h on conn and reads the reply frame.
func handshake(ctx context.Context, conn net.Conn, h hello) (kind uint8, p []byte, err error) {
	if d, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	b, err := h.encode()
	if err != nil {
		return 0, nil, err
	}
	if err := writeFrame(conn, frameHello, b); err != nil {
		return 0, nil, err
	}
	kind, p, err = readFrame(conn)
	if err != nil {
		return 0, nil, err
	}
	if kind == frameReject {
		return 0, nil, fmt.Errorf("%w: refused by peer: %s", ErrAuth, p)
	}
	return kind, p, nil
}

// dialNext connects to the ring successor at addr.
func dialNext(ctx context.Context, cfg Config, addr string) (net.Conn, error) {
	next := mod(cfg.Rank+1, cfg.WorldSize)
	conn, err := dialRetry(ctx, addr)
	if err != nil {
		return nil, fmt.Errorf("ring link to rank %d: %w", next, err)
	}
	kind, _, err := handshake(ctx, conn, hello{Purpose: helloRing, Rank: cfg.Rank, Size: cfg.WorldSize, Token: cfg.Token})
	if err == nil && kind != frameAck {
		err = fmt.Errorf("%w: kind %d where an ack was expected", ErrFrame, kind)
	}
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("ring link to rank %d at %s: %w", next, addr, err)
	}
	_ = conn.SetDeadline(time.Time{})
	tune(conn)
	return conn, nil
}

func ackRing(a accepted) (net.Conn, error) {
	if err := writeFrame(a.conn, frameAck, nil); err != nil {
		_ = a.conn.Close()
		return nil, fmt.Errorf("ring link from rank %d: %w", a.h.Rank, err)
	}
	_ = a.conn.SetDeadline(time.Time{})
	tune(a.conn)
	return a.conn, nil
}

func closeAll(conns []net.Conn) {
	for _, c := range conns {
		if c != nil {
			_ = c.Close()
		}
	}
}

func setupRoot(ctx context.Context, cfg Config) (c *Comm, err error) {
	n := cfg.WorldSize
	ln := cfg.Listener
	if ln == nil {
		ln, err = net.Listen("tcp", net.JoinHostPort(cfg.MasterAddr, strconv.Itoa(cfg.MasterPort)))
		if err != nil {
			return nil, fmt.Errorf("rendezvous listen: %w", err)
		}
	}
	defer ln.Close()
	stop := context.AfterFunc(ctx, func() { _ = ln.Close() })
	defer stop()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	masterHost := cfg.MasterAddr
	if masterHost == "" {
		masterHost = ln.Addr().(*net.TCPAddr).IP.String()
	}
	lctx, lcancel := context.WithCancel(ctx)
	defer lcancel()
	in := make(chan accepted)
	go acceptLoop(lctx, ln, cfg, helloJoin, in)

	ctrl := make([]net.Conn, n)
	addrs := make([]string, n)
	addrs[0] = net.JoinHostPort(masterHost, port)
	var prev net.Conn
	defer func() {
		if err != nil {
			closeAll(ctrl)
			if prev != nil {
				_ = prev.Close()
			}
		}
	}()
	joined := 1
	for joined < n {
		select {
		case a := <-in:
			if a.h.Purpose != helloJoin || ctrl[a.h.Rank] != nil {
				_ = writeFrame(a.conn, frameReject, []byte("duplicate or early hello"))
				_ = a.conn.Close()
				continue
			}
			ctrl[a.h.Rank], addrs[a.h.Rank] = a.conn, a.h.Addr
			joined++
		case <-ctx.Done():
			var missing []int
			for r := 1; r < n; r++ {
				if ctrl[r] == nil {
					missing = append(missing, r)
				}
			}
			return nil, fmt.Errorf("%w: ranks %v did not join: %w", ErrPeerLost, missing, ctx.Err())
		}
	}
	table := encodeTable(addrs)
	for r := 1; r < n; r++ {
		_ = ctrl[r].SetWriteDeadline(time.Now().Add(ctrlWriteTimeout))
		if err := writeFrame(ctrl[r], frameTable, table); err != nil {
			return nil, fmt.Errorf("%w: send table to rank %d: %w", ErrPeerLost, r, err)
		}
		_ = ctrl[r].SetDeadline(time.Time{})
	}
	nextCh := make(chan error, 1)
	var next net.Conn
	go func() {
		var err error
		next, err = dialNext(ctx, cfg, addrs[1])
		nextCh <- err
	}()
	for prev == nil {
		select {
		case a := <-in:
			if a.h.Purpose != helloRing {
				_ = writeFrame(a.conn, frameReject, []byte("set-up already complete"))
				_ = a.conn.Close()
				continue
			}
			if prev, err = ackRing(a); err != nil {
				<-nextCh
				if next != nil {
					_ = next.Close()
				}
				return nil, err
			}
		case <-ctx.Done():
			<-nextCh
			if next != nil {
				_ = next.Close()
			}
			return nil, fmt.Errorf("%w: ring link from rank %d: %w", ErrPeerLost, n-1, ctx.Err())
		}
	}
	if err := <-nextCh; err != nil {
		return nil, err
	}
	return newComm(cfg, hostsOf(addrs), prev, next, ctrl), nil
}

func hostsOf(addrs []string) []string {
	h := make([]string, len(addrs))
	for i, a := range addrs {
		h[i] = hostOf(a)
	}
	return h
}

// listenHost picks the interface for ring links (see Config.ListenHost).
func listenHost(ctx context.Context, cfg Config) string {
	if cfg.ListenHost != "" {
		return cfg.ListenHost
	}
	h := cfg.MasterAddr
	if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() {
		return h
	}
	if ips, err := net.DefaultResolver.LookupIPAddr(ctx, h); err == nil && len(ips) > 0 {
		loop := true
		for _, ip := range ips {
			loop = loop && ip.IP.IsLoopback()
		}
		if loop {
			return ips[0].IP.String()
		}
	}
	// The local address that routes to the master (UDP connect sends nothing).
	if conn, err := net.Dial("udp", net.JoinHostPort(h, strconv.Itoa(cfg.MasterPort))); err == nil {
		defer conn.Close()
		if ua, ok := conn.LocalAddr().(*net.UDPAddr); ok {
			return ua.IP.String()
		}
	}
	return h
}

func setupPeer(ctx context.Context, cfg Config) (c *Comm, err error) {
	n := cfg.WorldSize
	ln, err := net.Listen("tcp", net.JoinHostPort(listenHost(ctx, cfg), "0"))
	if err != nil {
		return nil, fmt.Errorf("ring listen: %w", err)
	}
	defer ln.Close()
	stop := context.AfterFunc(ctx, func() { _ = ln.Close() })
	defer stop()
	lctx, lcancel := context.WithCancel(ctx)
	defer lcancel()
	in := make(chan accepted)
	go acceptLoop(lctx, ln, cfg, helloRing, in)

	master := net.JoinHostPort(cfg.MasterAddr, strconv.Itoa(cfg.MasterPort))
	ctrl, err := dialRetry(ctx, master)
	if err != nil {
		return nil, fmt.Errorf("%w: rank 0 at %s: %w", ErrPeerLost, master, err)
	}
	var prev, next net.Conn
	defer func() {
		if err != nil {
			closeAll([]net.Conn{ctrl, prev, next})
		}
	}()
	kind, p, err := handshake(ctx, ctrl, hello{Purpose: helloJoin, Rank: cfg.Rank, Size: n, Token: cfg.Token, Addr: ln.Addr().String()})
	if err != nil {
		return nil, fmt.Errorf("join rank 0 at %s: %w", master, err)
	}
	if kind != frameTable {
		return nil, fmt.Errorf("%w: kind %d from rank 0 where the table was expected", ErrFrame, kind)
	}
	addrs, err := decodeTable(p)
	if err != nil {
		return nil, fmt.Errorf("table from rank 0: %w", err)
	}
	if len(addrs) != n {
		return nil, fmt.Errorf("%w: table from rank 0 has %d ranks, want %d", ErrFrame, len(addrs), n)
	}
	_ = ctrl.SetDeadline(time.Time{})
	nextCh := make(chan error, 1)
	go func() {
		var err error
		next, err = dialNext(ctx, cfg, addrs[mod(cfg.Rank+1, n)])
		nextCh <- err
	}()
	select {
	case a := <-in:
		prev, err = ackRing(a)
	case <-ctx.Done():
		err = fmt.Errorf("%w: ring link from rank %d (host %s): %w", ErrPeerLost, cfg.Rank-1, hostOf(addrs[cfg.Rank-1]), ctx.Err())
	}
	if nerr := <-nextCh; err == nil {
		err = nerr
	}
	if err != nil {
		return nil, err
	}
	return newComm(cfg, hostsOf(addrs), prev, next, []net.Conn{ctrl}), nil
}
