package collective

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"
)

// crash simulates a process death: every link closes without a goodbye.
func crash(c *Comm) {
	c.closeOnce.Do(func() {
		close(c.closing)
		c.closeRing()
		for _, cc := range c.ctrl {
			if cc != nil {
				_ = cc.Close()
			}
		}
	})
}

// runWithout runs a large all-reduce on every rank except skip and returns
// each participant's error and how long it took.
func runWithout(comms []*Comm, skip int, during func()) ([]error, []time.Duration) {
	errs := make([]error, len(comms))
	took := make([]time.Duration, len(comms))
	var wg sync.WaitGroup
	for r, c := range comms {
		if r == skip {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			errs[r] = c.AllReduce(context.Background(), make([]float32, 1<<18), OpSum)
			took[r] = time.Since(start)
		}()
	}
	if during != nil {
		during()
	}
	wg.Wait()
	return errs, took
}

func checkBlamed(t *testing.T, comms []*Comm, skip, want int, errs []error, took []time.Duration, limit time.Duration) {
	t.Helper()
	for r, err := range errs {
		if r == skip {
			continue
		}
		var pe *PeerError
		if !errors.As(err, &pe) || !errors.Is(err, ErrPeerLost) {
			t.Fatalf("rank %d: want *PeerError wrapping ErrPeerLost, got %v", r, err)
		}
		if pe.Rank != want || pe.Host != comms[r].Host(want) || pe.Op != "allreduce" || pe.Host == "" {
			t.Fatalf("rank %d: error names rank %d host %q op %q, want rank %d: %v", r, pe.Rank, pe.Host, pe.Op, want, err)
		}
		if took[r] > limit {
			t.Fatalf("rank %d returned after %v, limit %v", r, took[r], limit)
		}
		// The communicator is broken: the next call fails at once.
		if err := comms[r].Barrier(context.Background()); err == nil {
			t.Fatalf("rank %d: barrier after failure succeeded", r)
		}
	}
}

func TestStuckRankTimesOut(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			const timeout = time.Second
			comms := tr.make(t, 4, Config{Timeout: timeout})
			errs, took := runWithout(comms, 2, nil)
			checkBlamed(t, comms, 2, 2, errs, took, timeout+3*time.Second)
		})
	}
}

func TestKilledRank(t *testing.T) {
	for _, tr := range transports {
		for _, victim := range []int{0, 2} {
			t.Run(tr.name, func(t *testing.T) {
				comms := tr.make(t, 4, Config{Timeout: 20 * time.Second, SegmentBytes: 4096})
				errs, took := runWithout(comms, victim, func() {
					time.Sleep(100 * time.Millisecond)
					crash(comms[victim])
				})
				// Far below the 20 s deadline: the death is detected, not timed out.
				checkBlamed(t, comms, victim, victim, errs, took, 5*time.Second)
			})
		}
	}
}

func TestContextCancelAndDeadline(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			comms := tr.make(t, 2, Config{Timeout: 30 * time.Second})
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(100*time.Millisecond, cancel)
			start := time.Now()
			err := comms[0].AllReduce(ctx, make([]float32, 1000), OpSum)
			if !errors.Is(err, context.Canceled) || time.Since(start) > 5*time.Second {
				t.Fatalf("cancel: %v after %v", err, time.Since(start))
			}
			comms = tr.make(t, 2, Config{Timeout: 30 * time.Second})
			dctx, dcancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer dcancel()
			start = time.Now()
			err = comms[1].AllReduce(dctx, make([]float32, 1000), OpSum)
			var pe *PeerError
			if !errors.As(err, &pe) || pe.Rank != 0 || time.Since(start) > 5*time.Second {
				t.Fatalf("deadline: %v after %v", err, time.Since(start))
			}
		})
	}
}

func TestWrongTokenRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	base := Config{WorldSize: 2, MasterAddr: "127.0.0.1", MasterPort: port, Token: "good", Timeout: 10 * time.Second}
	var c0 *Comm
	var err0 error
	done := make(chan struct{})
	go func() {
		defer close(done)
		cfg := base
		cfg.Listener = ln
		c0, err0 = New(ctx, cfg)
	}()
	// An impostor with the wrong token is refused.
	bad := base
	bad.Rank, bad.Token = 1, "bad"
	start := time.Now()
	if c, err := New(ctx, bad); !errors.Is(err, ErrAuth) {
		if c != nil {
			_ = c.Close()
		}
		t.Fatalf("wrong token: %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("wrong token refused only after %v", time.Since(start))
	}
	// Garbage and an oversized frame are refused without allocation or hang.
	for _, junk := range [][]byte{[]byte("GET / HTTP/1.0\r\n\r\n"), {'S', 'B', 1, frameHello, 0xff, 0xff, 0xff, 0x7f}} {
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		_, _ = conn.Write(junk)
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		kind, _, err := readFrame(conn)
		if err == nil && kind != frameReject {
			t.Fatalf("junk answered with kind %d", kind)
		}
		_ = conn.Close()
	}
	good := base
	good.Rank = 1
	c1, err := New(ctx, good)
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	<-done
	if err0 != nil {
		t.Fatal(err0)
	}
	defer c0.Close()
	mustAll(t, each([]*Comm{c0, c1}, func(r int, c *Comm) error { return c.Barrier(ctx) }))
}

func TestSetupTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close() // nobody listens: rank 0 never comes
	start := time.Now()
	_, err = New(context.Background(), Config{Rank: 1, WorldSize: 2, MasterAddr: "127.0.0.1", MasterPort: port, Token: "t", Timeout: 500 * time.Millisecond})
	if !errors.Is(err, ErrPeerLost) || time.Since(start) > 3*time.Second {
		t.Fatalf("got %v after %v", err, time.Since(start))
	}
	// Rank 0 alone waits for the missing ranks only until its deadline.
	start = time.Now()
	_, err = New(context.Background(), Config{Rank: 0, WorldSize: 3, MasterAddr: "127.0.0.1", MasterPort: port, Token: "t", Timeout: 500 * time.Millisecond})
	if !errors.Is(err, ErrPeerLost) || time.Since(start) > 3*time.Second {
		t.Fatalf("rank 0: got %v after %v", err, time.Since(start))
	}
}

func TestCloseIdempotent(t *testing.T) {
	comms := tcpWorld(t, 3, Config{})
	for _, c := range comms {
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if err := c.Barrier(context.Background()); !errors.Is(err, ErrClosed) {
			t.Fatalf("after close: %v", err)
		}
	}
}
