// Package collective is scibench's communicator: rendezvous through rank
// 0, a TCP ring between neighbouring ranks, and the collectives the
// training loop needs (all-reduce, broadcast, all-gather, barrier), each
// with a deadline and an error that names the rank, host and step that
// failed.
//
// # Design
//
// The ring schedule is pure: AllReduceStep, AllGatherStep and BroadcastStep
// are functions of (rank, size, step) that say which chunk to send, which to
// receive and what to do with it, and touch no sockets. A driver executes
// the schedule over two net.Conn links (predecessor and successor): the
// calling goroutine receives and reduces, a writer goroutine sends, and the
// buffer is cut into SegmentBytes segments so that sending, receiving and
// reducing overlap. All-reduce is reduce-scatter then all-gather, 2(n-1)
// steps; every element is reduced once, at one rank, in ring order, then
// copied, so every rank ends bitwise identical. Small collectives over TCP
// (chunks of at most 256 KiB) skip the hand-off to the writer goroutine: the
// caller sends then receives each step, which the socket buffers make
// deadlock-free. Reads busy-poll briefly before parking (Config.BusyPoll).
// Buffers are sent as unsafe byte views of the float slices and reduced with
// gonum's assembly AXPY; steady-state collectives allocate nothing.
//
// Every rank keeps its rendezvous connection to rank 0 as a control link.
// When a collective fails (EOF, reset, deadline), the rank reports the
// neighbour it blames; rank 0 decides which rank is lost (at once when a
// control link drops without goodbye, else after a short window, choosing a
// blamed rank that did not report) and tells every rank, which aborts its
// collective and returns a *PeerError wrapping ErrPeerLost. Both ring links
// are then closed so the failure also propagates around the ring.
//
// Security: every connection starts with a hello frame carrying the job
// token, checked in constant time; frames are length-checked against a
// per-kind limit before any allocation.
//
// # Usage
//
//	c, err := collective.New(ctx, collective.Config{
//		Rank: info.Rank, WorldSize: info.WorldSize,
//		MasterAddr: info.MasterAddr, MasterPort: info.MasterPort,
//		Token: info.Token, Timeout: 30 * time.Second,
//	})
//	if err != nil {
//		return err
//	}
//	defer c.Close()
//	if err := c.AllReduce(ctx, grads, collective.OpAvg); err != nil {
//		var pe *collective.PeerError
//		if errors.As(err, &pe) {
//			log.Printf("rank %d on %s lost at step %d", pe.Rank, pe.Host, pe.Step)
//		}
//		return err
//	}
package collective
