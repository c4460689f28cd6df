package collective

import (
	"errors"
	"time"
)

// The control plane: every rank keeps its rendezvous connection to rank 0
// open. A rank whose collective fails reports the neighbour it blames; rank
// 0 collects reports for a short window (or learns of a death at once from
// an EOF without goodbye) and broadcasts a verdict naming the lost rank, so
// that every rank, not only the dead rank's neighbours, returns promptly an
// error that names it.

const ctrlWriteTimeout = time.Second

var errVerdict = errors.New("reported lost by rank 0")

// sendCtrl writes one frame on control link k.
func (c *Comm) sendCtrl(k int, kind uint8, payload []byte) error {
	c.ctrlMu[k].Lock()
	defer c.ctrlMu[k].Unlock()
	cc := c.ctrl[k]
	_ = cc.SetWriteDeadline(time.Now().Add(ctrlWriteTimeout))
	return writeFrame(cc, kind, payload)
}

// ctrlLoop reads control link k until it closes.
func (c *Comm) ctrlLoop(k int) {
	defer c.wg.Done()
	for {
		kind, p, err := readFrame(c.ctrl[k])
		if err != nil {
			select {
			case <-c.closing:
				return
			default:
			}
			if c.bye[k].Load() {
				return
			}
			lost := 0
			if c.rank == 0 {
				lost = k
			}
			c.log.Warn("control link lost", "peer", lost, "err", err)
			if c.rank == 0 {
				c.collect(report{From: 0, Blamed: lost}, true)
			} else {
				c.setVerdict(lost)
			}
			return
		}
		switch kind {
		case frameBye:
			c.bye[k].Store(true)
		case frameReport:
			if c.rank != 0 {
				continue
			}
			r, err := decodeReport(p)
			if err != nil || r.Blamed < 0 || r.Blamed >= c.size {
				c.log.Warn("bad report", "peer", k, "err", err)
				continue
			}
			r.From = k
			c.collect(r, false)
		case frameVerdict:
			if v, err := decodeVerdict(p); err == nil && v >= 0 && v < c.size {
				c.setVerdict(v)
			}
		}
	}
}

// report tells rank 0 that this rank failed blaming rank blamed.
func (c *Comm) report(blamed, step int) {
	if c.size < 2 {
		return
	}
	r := report{From: c.rank, Blamed: blamed, Step: step}
	if c.rank == 0 {
		c.collect(r, blamed == 0)
		return
	}
	if err := c.sendCtrl(0, frameReport, r.encode()); err != nil {
		c.setVerdict(0)
	}
}

// collect is rank 0's failure collector. A definitive loss (EOF without
// goodbye) decides at once; reports are gathered for c.window, then the
// verdict is a blamed rank that did not report itself (a rank that is
// stuck does not report), else the first blamed rank.
func (c *Comm) collect(r report, definitive bool) {
	c.collMu.Lock()
	defer c.collMu.Unlock()
	if c.decided {
		return
	}
	if definitive {
		c.decideLocked(r.Blamed)
		return
	}
	c.reports = append(c.reports, r)
	if c.collTimer == nil {
		c.collTimer = time.AfterFunc(c.window, c.decideFromReports)
	}
}

func (c *Comm) decideFromReports() {
	c.collMu.Lock()
	defer c.collMu.Unlock()
	if c.decided || len(c.reports) == 0 {
		return
	}
	reported := make(map[int]bool, len(c.reports))
	for _, r := range c.reports {
		reported[r.From] = true
	}
	culprit := c.reports[0].Blamed
	for _, r := range c.reports {
		if !reported[r.Blamed] {
			culprit = r.Blamed
			break
		}
	}
	c.decideLocked(culprit)
}

func (c *Comm) decideLocked(culprit int) {
	c.decided = true
	select {
	case <-c.closing:
	default:
		p := []byte{byte(culprit), byte(culprit >> 8), byte(culprit >> 16), byte(culprit >> 24)}
		for k, cc := range c.ctrl {
			if cc == nil || k == culprit {
				continue
			}
			c.wg.Add(1)
			go func() {
				defer c.wg.Done()
				_ = c.sendCtrl(k, frameVerdict, p)
			}()
		}
	}
	c.setVerdict(culprit)
}

// setVerdict records the lost rank once and aborts a running collective.
func (c *Comm) setVerdict(culprit int) {
	c.vOnce.Do(func() {
		c.verdict.Store(int64(culprit))
		close(c.vReady)
		if c.inOp.Load() {
			c.abort(&failure{peer: culprit, step: int(c.rstep.Load()), err: errVerdict})
		}
	})
}

// awaitVerdict reports and waits (bounded) for rank 0's verdict; without
// one it blames rank 0 (which should always answer) or, on rank 0, the
// locally blamed neighbour.
func (c *Comm) awaitVerdict(blamed, step int) int {
	if v := c.verdict.Load(); v >= 0 {
		return int(v)
	}
	if blamed < 0 {
		blamed = c.prevRank()
	}
	c.report(blamed, step)
	t := time.NewTimer(c.window + time.Second)
	defer t.Stop()
	select {
	case <-c.vReady:
		return int(c.verdict.Load())
	case <-t.C:
		if c.rank == 0 {
			return blamed
		}
		return 0
	}
}
