package collective

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"
)

// transports run the same tests over the in-memory transport and over real
// TCP on 127.0.0.1:0.
var transports = []struct {
	name string
	make func(t testing.TB, n int, cfg Config) []*Comm
}{
	{"pipe", pipeWorld},
	{"tcp", tcpWorld},
	{"tcp-pipelined", func(t testing.TB, n int, cfg Config) []*Comm {
		comms := tcpWorld(t, n, cfg)
		for _, c := range comms {
			c.seqMax = -1 // every size takes the pipelined two-goroutine path
		}
		return comms
	}},
}

// pipeWorld builds n communicators over net.Pipe links (ring and control).
func pipeWorld(t testing.TB, n int, cfg Config) []*Comm {
	t.Helper()
	prev := make([]net.Conn, n)
	next := make([]net.Conn, n)
	if n > 1 {
		for r := 0; r < n; r++ {
			a, b := net.Pipe()
			next[r], prev[(r+1)%n] = a, b
		}
	}
	ctrl := make([][]net.Conn, n)
	ctrl[0] = make([]net.Conn, n)
	for k := 1; k < n; k++ {
		a, b := net.Pipe()
		ctrl[0][k] = a
		ctrl[k] = []net.Conn{b}
	}
	if n == 1 {
		ctrl[0] = nil
	}
	hosts := make([]string, n)
	for r := range hosts {
		hosts[r] = fmt.Sprintf("pipe%d", r)
	}
	comms := make([]*Comm, n)
	for r := 0; r < n; r++ {
		c := cfg
		c.Rank, c.WorldSize = r, n
		comms[r] = newComm(c.withDefaults(), hosts, prev[r], next[r], ctrl[r])
	}
	t.Cleanup(func() { closeWorld(comms) })
	return comms
}

// tcpWorld builds n communicators with New over loopback TCP.
func tcpWorld(t testing.TB, n int, cfg Config) []*Comm {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if cfg.Token == "" {
		cfg.Token = "test-token"
	}
	comms := make([]*Comm, n)
	errs := make([]error, n)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for r := 0; r < n; r++ {
		c := cfg
		c.Rank, c.WorldSize, c.MasterAddr, c.MasterPort = r, n, "127.0.0.1", port
		if r == 0 {
			c.Listener = ln
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			comms[r], errs[r] = New(ctx, c)
		}()
	}
	wg.Wait()
	if n == 1 {
		// New closes the listener it was given; nothing else to do.
		_ = ln.Close()
	}
	for r, err := range errs {
		if err != nil {
			closeWorld(comms)
			t.Fatalf("rank %d: New: %v", r, err)
		}
	}
	t.Cleanup(func() { closeWorld(comms) })
	return comms
}

func closeWorld(comms []*Comm) {
	var wg sync.WaitGroup
	for _, c := range comms {
		if c != nil {
			wg.Add(1)
			go func() { defer wg.Done(); _ = c.Close() }()
		}
	}
	wg.Wait()
}

// each runs f on every rank concurrently and returns the per-rank errors.
func each(comms []*Comm, f func(r int, c *Comm) error) []error {
	errs := make([]error, len(comms))
	var wg sync.WaitGroup
	for r, c := range comms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[r] = f(r, c)
		}()
	}
	wg.Wait()
	return errs
}

func mustAll(t testing.TB, errs []error) {
	t.Helper()
	for r, err := range errs {
		if err != nil {
			t.Fatalf("rank %d: %v", r, err)
		}
	}
}
