package cluster

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// The launcher→worker environment contract (DESIGN.md "Environment contract").
const (
	EnvRank           = "SCIBENCH_RANK"
	EnvWorldSize      = "SCIBENCH_WORLD_SIZE"
	EnvLocalRank      = "SCIBENCH_LOCAL_RANK"
	EnvLocalWorldSize = "SCIBENCH_LOCAL_WORLD_SIZE"
	EnvMasterAddr     = "SCIBENCH_MASTER_ADDR"
	EnvMasterPort     = "SCIBENCH_MASTER_PORT"
	EnvJobID          = "SCIBENCH_JOB_ID"
	EnvToken          = "SCIBENCH_TOKEN"
	// EnvHosts is the node list in Slurm host-list syntax. Optional: the
	// launcher sets it; without it the node list is the master address.
	EnvHosts = "SCIBENCH_HOSTS"
)

// Port range used by [PortFromJobID]: above the usual service ports and
// below Linux's default ephemeral range (32768-60999 overlaps the top part,
// which is why the listener must still handle EADDRINUSE).
const (
	PortMin = 20000
	PortMax = 59999
)

// Errors. Every error returned by this package wraps one of these and names
// the environment variables (and file, line) involved.
var (
	ErrBadValue     = errors.New("cluster: bad value")
	ErrIncomplete   = errors.New("cluster: incomplete environment")
	ErrInconsistent = errors.New("cluster: inconsistent environment")
	ErrHostList     = errors.New("cluster: bad host list")
	ErrHostFile     = errors.New("cluster: bad host file")
	ErrNoToken      = errors.New("cluster: no job token")
)

// Info says who this worker is and how to reach its peers.
type Info struct {
	Rank, WorldSize, LocalRank, LocalWorldSize int
	Hosts                                      []string // node list, in order, deduplicated
	MasterAddr                                 string
	MasterPort                                 int
	JobID                                      string
	Token                                      string
	Source                                     string // "scibench", "slurm", "lsf", "openmpi", "pbs", "cobalt", "torchrun", "local"
	// TokenDerived is true when Token was derived from the job id because
	// SCIBENCH_TOKEN was not set (see the package documentation, "Token").
	// Such a token keeps other jobs out by accident, not by intent.
	TokenDerived bool
}

// Local returns the Info of a single process launched by nothing.
func Local() Info {
	return Info{WorldSize: 1, LocalWorldSize: 1, Hosts: []string{"127.0.0.1"},
		MasterAddr: "127.0.0.1", Source: "local"}
}

// Environ returns the SCIBENCH_* KEY=VALUE pairs that make [FromEnv] in a
// child process return this Info (Source becomes "scibench").
func (i Info) Environ() []string {
	env := []string{
		EnvRank + "=" + strconv.Itoa(i.Rank),
		EnvWorldSize + "=" + strconv.Itoa(i.WorldSize),
		EnvLocalRank + "=" + strconv.Itoa(i.LocalRank),
		EnvLocalWorldSize + "=" + strconv.Itoa(i.LocalWorldSize),
		EnvMasterAddr + "=" + i.MasterAddr,
		EnvMasterPort + "=" + strconv.Itoa(i.MasterPort),
		EnvJobID + "=" + i.JobID,
		EnvToken + "=" + i.Token,
	}
	if len(i.Hosts) > 0 {
		env = append(env, EnvHosts+"="+strings.Join(i.Hosts, ","))
	}
	return env
}

// Validate checks the invariants every resolved Info satisfies.
func (i Info) Validate() error {
	switch {
	case i.WorldSize < 1:
		return fmt.Errorf("%w: world size %d < 1", ErrInconsistent, i.WorldSize)
	case i.Rank < 0 || i.Rank >= i.WorldSize:
		return fmt.Errorf("%w: rank %d outside [0,%d)", ErrInconsistent, i.Rank, i.WorldSize)
	case i.LocalWorldSize < 1 || i.LocalWorldSize > i.WorldSize:
		return fmt.Errorf("%w: local world size %d outside [1,%d]", ErrInconsistent, i.LocalWorldSize, i.WorldSize)
	case i.LocalRank < 0 || i.LocalRank >= i.LocalWorldSize:
		return fmt.Errorf("%w: local rank %d outside [0,%d)", ErrInconsistent, i.LocalRank, i.LocalWorldSize)
	case i.MasterAddr == "":
		return fmt.Errorf("%w: no master address", ErrIncomplete)
	case i.MasterPort < 0 || i.MasterPort > 65535 || (i.WorldSize > 1 && i.MasterPort == 0):
		return fmt.Errorf("%w: master port %d", ErrBadValue, i.MasterPort)
	case i.WorldSize > 1 && i.Token == "":
		return fmt.Errorf("%w: world size %d needs %s", ErrNoToken, i.WorldSize, EnvToken)
	}
	return nil
}

// PortFromJobID maps a job id to a port in [PortMin, PortMax], the same on
// every node of the job and different (with high probability) for
// concurrent jobs. The empty id maps to PortMin.
func PortFromJobID(jobID string) int {
	if jobID == "" {
		return PortMin
	}
	h := fnv.New64a()
	h.Write([]byte(jobID))
	return PortMin + int(h.Sum64()%uint64(PortMax-PortMin+1))
}

// NewToken returns 128 random bits, hex encoded, from crypto/rand.
func NewToken() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("cluster: new token: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// derivedToken is the fallback token of a job without SCIBENCH_TOKEN. It is
// a function of public data: it separates jobs, it does not authenticate.
func derivedToken(jobID string) string {
	sum := sha256.Sum256([]byte("scibench derived token v1\x00" + jobID))
	return hex.EncodeToString(sum[:16])
}
