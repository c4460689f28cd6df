package collective

import (
	"fmt"
	"log/slog"
	"net"
	"time"
)

// Defaults. DefaultSegmentBytes was chosen from allreduce-bench runs on the
// 2-core development machine (see docs/results-allreduce.md).
const (
	DefaultTimeout      = 60 * time.Second
	DefaultSegmentBytes = 1 << 20
	// socketBuffer is the SO_SNDBUF/SO_RCVBUF requested on ring links.
	socketBuffer = 4 << 20
)

// Config configures a communicator. Zero values mean "default".
type Config struct {
	// Rank and WorldSize identify this process in the job.
	Rank, WorldSize int
	// MasterAddr and MasterPort are rank 0's rendezvous address.
	MasterAddr string
	MasterPort int
	// ListenHost is the interface ring links bind to. Default: MasterAddr's
	// host when it is a loopback address, else the local address that
	// routes to MasterAddr. Never 0.0.0.0 unless asked for.
	ListenHost string
	// Token is the job token; connections that do not present it are refused.
	// Required when WorldSize > 1.
	Token string
	// Timeout bounds every operation and the set-up (default 60s).
	Timeout time.Duration
	// SegmentBytes is the pipeline segment size (default 1 MiB).
	SegmentBytes int
	// BusyPoll is how many non-blocking read attempts are made before the
	// receiver parks (default DefaultBusyPoll; negative disables).
	BusyPoll int
	// Logger receives set-up and failure events (default: discard).
	Logger *slog.Logger
	// Listener, when set on rank 0, is used as the rendezvous listener
	// instead of listening on MasterAddr:MasterPort (for port 0 in tests and
	// launchers that pre-open the port). New takes ownership and closes it.
	Listener net.Listener
}

// DefaultConfig returns a Config with every default filled in.
func DefaultConfig() Config {
	return Config{WorldSize: 1, Timeout: DefaultTimeout, SegmentBytes: DefaultSegmentBytes}
}

func (c Config) withDefaults() Config {
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.SegmentBytes == 0 {
		c.SegmentBytes = DefaultSegmentBytes
	}
	c.SegmentBytes &^= 7
	if c.BusyPoll == 0 {
		c.BusyPoll = DefaultBusyPoll
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate reports the first invalid field, wrapping ErrConfig.
func (c Config) Validate() error {
	switch {
	case c.WorldSize < 1 || c.WorldSize > maxWorld:
		return fmt.Errorf("%w: WorldSize %d not in [1, %d]", ErrConfig, c.WorldSize, maxWorld)
	case c.Rank < 0 || c.Rank >= c.WorldSize:
		return fmt.Errorf("%w: Rank %d not in [0, %d)", ErrConfig, c.Rank, c.WorldSize)
	case c.Timeout < 0:
		return fmt.Errorf("%w: Timeout %v is negative", ErrConfig, c.Timeout)
	case c.SegmentBytes < 0 || (c.SegmentBytes > 0 && c.SegmentBytes < 8):
		return fmt.Errorf("%w: SegmentBytes %d (want 0 or >= 8)", ErrConfig, c.SegmentBytes)
	case len(c.Token) > maxToken:
		return fmt.Errorf("%w: Token longer than %d bytes", ErrConfig, maxToken)
	}
	if c.WorldSize == 1 {
		return nil
	}
	switch {
	case c.Token == "":
		return fmt.Errorf("%w: Token is required when WorldSize is %d", ErrConfig, c.WorldSize)
	case c.MasterAddr == "" && !(c.Rank == 0 && c.Listener != nil):
		return fmt.Errorf("%w: MasterAddr is empty", ErrConfig)
	case c.MasterPort < 0 || c.MasterPort > 65535:
		return fmt.Errorf("%w: MasterPort %d not in [0, 65535]", ErrConfig, c.MasterPort)
	case c.MasterPort == 0 && !(c.Rank == 0 && c.Listener != nil):
		return fmt.Errorf("%w: MasterPort is 0 on rank %d", ErrConfig, c.Rank)
	}
	return nil
}
