package collective

import (
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
)

// DefaultBusyPoll is the most non-blocking read attempts the receiver makes
// before parking on the network poller. Waking a parked goroutine when data
// arrives from another process costs tens of microseconds in a VM; a short
// busy poll hides that for small messages. The budget adapts: it halves
// each time spinning fails (so a loaded or oversubscribed host parks at
// once) and doubles back when data arrives while spinning. Chosen with
// allreduce-bench (see docs/results-allreduce.md).
const DefaultBusyPoll = 200

// setupPoll prepares busy-poll reads on the predecessor link when it is a
// TCP connection (other transports use io.ReadFull).
func (c *Comm) setupPoll(spins int) {
	c.spins, c.curSpins = spins, spins
	if spins <= 0 {
		return
	}
	tc, ok := c.prev.(*net.TCPConn)
	if !ok {
		return
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return
	}
	c.rawPrev = raw
	c.readFn = c.pollRead
}

// readFull fills dst from the predecessor, busy-polling briefly before
// blocking. It honours the link's deadline. It allocates nothing.
func (c *Comm) readFull(dst []byte) error {
	if c.rawPrev == nil {
		_, err := io.ReadFull(c.prev, dst)
		return err
	}
	c.rbuf, c.roff, c.rerr = dst, 0, nil
	for c.roff < len(c.rbuf) && c.rerr == nil {
		if err := c.rawPrev.Read(c.readFn); err != nil {
			c.rbuf = nil
			return err
		}
	}
	c.rbuf = nil
	return c.rerr
}

// pollRead is the RawConn read callback: it reads until c.rbuf is full,
// retrying EAGAIN up to c.spins times before asking to be parked.
func (c *Comm) pollRead(fd uintptr) bool {
	spins := 0
	for {
		n, err := syscall.Read(int(fd), c.rbuf[c.roff:])
		if n > 0 {
			if spins > 0 {
				// Data arrived while spinning: grow the budget back.
				c.curSpins = min(c.spins, 2*c.curSpins+1)
			}
			c.roff += n
			if c.roff == len(c.rbuf) {
				return true
			}
			spins = 0
			continue
		}
		switch {
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EAGAIN):
			if spins < c.curSpins {
				spins++
				continue
			}
			// Spinning did not pay off: halve the budget (a loaded or
			// oversubscribed host should park at once).
			c.curSpins /= 2
			return false
		case err == nil:
			c.rerr = io.ErrUnexpectedEOF
			if c.roff == 0 {
				c.rerr = io.EOF
			}
		default:
			c.rerr = fmt.Errorf("read: %w", err)
		}
		return true
	}
}

// sendBuffer returns the kernel's SO_SNDBUF for tc (0 if unknown).
func sendBuffer(tc *net.TCPConn) int {
	raw, err := tc.SyscallConn()
	if err != nil {
		return 0
	}
	v := 0
	_ = raw.Control(func(fd uintptr) {
		if n, err := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF); err == nil {
			v = n
		}
	})
	return v
}
