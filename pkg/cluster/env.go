package cluster

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// env wraps the injected lookup. Values are trimmed; a variable set to the
// empty string counts as unset (job scripts often `export X=`).
type env func(string) (string, bool)

func (e env) str(key string) (string, bool) {
	v, ok := e(key)
	if !ok {
		return "", false
	}
	v = strings.TrimSpace(v)
	return v, v != ""
}

func (e env) has(key string) bool { _, ok := e.str(key); return ok }

// first returns the first set key of keys, its value, and whether any is set.
func (e env) first(keys ...string) (key, val string, ok bool) {
	for _, k := range keys {
		if v, ok := e.str(k); ok {
			return k, v, true
		}
	}
	return "", "", false
}

// int parses key as a non-negative decimal integer.
func (e env) int(key string) (n int, set bool, err error) {
	v, ok := e.str(key)
	if !ok {
		return 0, false, nil
	}
	n, err = strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, true, fmt.Errorf("%w: %s=%q is not a non-negative integer", ErrBadValue, key, v)
	}
	return n, true, nil
}

// firstInt is int over the first set key of keys; when two or more keys are
// set they must agree.
func (e env) firstInt(keys ...string) (n int, key string, set bool, err error) {
	for _, k := range keys {
		v, ok, err := e.int(k)
		if err != nil {
			return 0, "", false, err
		}
		if !ok {
			continue
		}
		if !set {
			n, key, set = v, k, true
		} else if v != n {
			return 0, "", false, fmt.Errorf("%w: %s=%d but %s=%d", ErrInconsistent, key, n, k, v)
		}
	}
	return n, key, set, nil
}

// ranks is what one launcher says about this process.
type ranks struct {
	source                string
	rank, world           int
	localRank, localWorld int
	haveLocal             bool
	vars                  string // e.g. "SLURM_PROCID/SLURM_NTASKS", for messages
	masterAddr            string // given by the launcher (torchrun), or ""
	masterPort            int    // given by the launcher (torchrun), or 0
	jobID                 string // launcher's own job id, or ""
	hosts                 []string
	hostsVar              string
	hostsAreStep          bool // hosts are exactly the nodes running this step
	localFromHostsAllowed bool
	nodeID                int // index of this node in hosts, or -1
}

// allocation is what the batch scheduler says about the job: id and nodes.
type allocation struct {
	source   string
	jobID    string
	hosts    []string
	hostsVar string
}

// FromEnv resolves Info from environment variables read through lookup
// (os.LookupEnv in production, a map in tests). It returns ok=false and a
// nil error when no launcher or scheduler started this process as one of
// several ranks: the caller is a single local process (see [Local]).
//
// See the package documentation for the order in which launchers are
// recognised and for every variable read.
func FromEnv(lookup func(string) (string, bool)) (info Info, ok bool, err error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	e := env(lookup)
	if e.has(EnvRank) || e.has(EnvWorldSize) {
		info, err = fromScibench(e)
		if err != nil {
			return Info{}, false, err
		}
		return info, true, nil
	}
	alloc, err := findAllocation(e)
	if err != nil {
		return Info{}, false, err
	}
	r, found, err := findRanks(e, alloc)
	if err != nil || !found {
		return Info{}, false, err
	}
	info, err = resolve(e, r, alloc)
	if err != nil {
		return Info{}, false, err
	}
	return info, true, nil
}

// fromScibench parses the launcher's own contract.
func fromScibench(e env) (Info, error) {
	rank, rankSet, err := e.int(EnvRank)
	if err != nil {
		return Info{}, err
	}
	world, worldSet, err := e.int(EnvWorldSize)
	if err != nil {
		return Info{}, err
	}
	if !rankSet || !worldSet {
		return Info{}, fmt.Errorf("%w: %s and %s must be set together", ErrIncomplete, EnvRank, EnvWorldSize)
	}
	lr, lrSet, err := e.int(EnvLocalRank)
	if err != nil {
		return Info{}, err
	}
	lw, lwSet, err := e.int(EnvLocalWorldSize)
	if err != nil {
		return Info{}, err
	}
	if lrSet != lwSet {
		return Info{}, fmt.Errorf("%w: %s and %s must be set together", ErrIncomplete, EnvLocalRank, EnvLocalWorldSize)
	}
	if !lrSet {
		lr, lw = rank, world // one node
	}
	info := Info{Rank: rank, WorldSize: world, LocalRank: lr, LocalWorldSize: lw, Source: "scibench", MasterAddr: "-", MasterPort: 1, Token: "-"}
	if err := info.Validate(); err != nil { // ranks first: the most telling error
		return Info{}, fmt.Errorf("%s/%s/%s/%s: %w", EnvRank, EnvWorldSize, EnvLocalRank, EnvLocalWorldSize, err)
	}
	info.MasterAddr, info.MasterPort, info.Token = "", 0, ""
	info.JobID, _ = e.str(EnvJobID)
	info.Token, _ = e.str(EnvToken)
	addr, addrSet := e.str(EnvMasterAddr)
	port, portSet, err := e.int(EnvMasterPort)
	if err != nil {
		return Info{}, err
	}
	if world > 1 && (!addrSet || !portSet) {
		return Info{}, fmt.Errorf("%w: %s=%d needs %s and %s", ErrIncomplete, EnvWorldSize, world, EnvMasterAddr, EnvMasterPort)
	}
	if !addrSet {
		addr = "127.0.0.1"
	}
	info.MasterAddr, info.MasterPort = addr, port
	if hl, set := e.str(EnvHosts); set {
		if info.Hosts, err = ExpandHostList(hl); err != nil {
			return Info{}, fmt.Errorf("%s: %w", EnvHosts, err)
		}
		info.Hosts = dedup(info.Hosts)
	} else {
		info.Hosts = []string{addr}
	}
	if world > 1 && info.Token == "" {
		return Info{}, fmt.Errorf("%w: %s=%d but %s is not set", ErrNoToken, EnvWorldSize, world, EnvToken)
	}
	if err := info.Validate(); err != nil {
		return Info{}, fmt.Errorf("%s/%s/%s/%s: %w", EnvRank, EnvWorldSize, EnvLocalRank, EnvLocalWorldSize, err)
	}
	return info, nil
}

// findAllocation reads the batch scheduler's job id and node list, in the
// order Slurm, LSF, PBS, Cobalt. It returns a zero allocation when none is
// set.
func findAllocation(e env) (allocation, error) {
	if id, ok := e.str("SLURM_JOB_ID"); ok || e.has("SLURM_JOBID") || e.has("SLURM_PROCID") {
		if !ok {
			id, _ = e.str("SLURM_JOBID")
		}
		a := allocation{source: "slurm", jobID: id}
		if k, v, ok := e.first("SLURM_STEP_NODELIST", "SLURM_JOB_NODELIST", "SLURM_NODELIST"); ok {
			hosts, err := ExpandHostList(v)
			if err != nil {
				return a, fmt.Errorf("%s: %w", k, err)
			}
			a.hosts, a.hostsVar = dedup(hosts), k
		}
		return a, nil
	}
	if id, ok := e.str("LSB_JOBID"); ok || e.has("JSM_NAMESPACE_RANK") {
		a := allocation{source: "lsf", jobID: id}
		hosts, key, err := lsfHosts(e)
		if err != nil {
			return a, err
		}
		a.hosts, a.hostsVar = hosts, key
		return a, nil
	}
	if id, ok := e.str("PBS_JOBID"); ok || e.has("PBS_NODEFILE") {
		a := allocation{source: "pbs", jobID: id}
		if path, ok := e.str("PBS_NODEFILE"); ok {
			hosts, _, err := readHostFile("PBS_NODEFILE", path)
			if err != nil {
				return a, err
			}
			a.hosts, a.hostsVar = dedup(hosts), "PBS_NODEFILE"
		}
		return a, nil
	}
	if id, ok := e.str("COBALT_JOBID"); ok || e.has("COBALT_NODEFILE") {
		a := allocation{source: "cobalt", jobID: id}
		if path, ok := e.str("COBALT_NODEFILE"); ok {
			hosts, _, err := readHostFile("COBALT_NODEFILE", path)
			if err != nil {
				return a, err
			}
			a.hosts, a.hostsVar = dedup(hosts), "COBALT_NODEFILE"
		}
		return a, nil
	}
	return allocation{}, nil
}

// findRanks returns the launcher of this process: the first of Slurm,
// LSF/jsrun, Open MPI/PMIx, PBS (PMI/PALS), Cobalt (PMI), torchrun that set
// rank variables — except that an inner launcher (torchrun, then Open MPI)
// whose rank or world size differs from the scheduler's wins, because then
// the scheduler's variables describe the launcher's own daemons (mpirun or
// torchrun started once per node by srun/jsrun).
func findRanks(e env, alloc allocation) (ranks, bool, error) {
	var cands []ranks
	add := func(r ranks, ok bool, err error) error {
		if err != nil {
			return err
		}
		if ok {
			cands = append(cands, r)
		}
		return nil
	}
	if err := add(slurmRanks(e, alloc)); err != nil {
		return ranks{}, false, err
	}
	if err := add(jsmRanks(e, alloc)); err != nil {
		return ranks{}, false, err
	}
	if err := add(ompiRanks(e)); err != nil {
		return ranks{}, false, err
	}
	if alloc.source == "pbs" || alloc.source == "cobalt" {
		if err := add(pmiRanks(e, alloc)); err != nil {
			return ranks{}, false, err
		}
	}
	if err := add(torchRanks(e)); err != nil {
		return ranks{}, false, err
	}
	if len(cands) == 0 {
		return ranks{}, false, nil
	}
	chosen := cands[0]
	for _, inner := range []string{"torchrun", "openmpi"} {
		for _, c := range cands[1:] {
			if c.source == inner && (c.rank != chosen.rank || c.world != chosen.world) {
				return c, true, nil
			}
		}
	}
	return chosen, true, nil
}

// needPair reports an error when exactly one of a (rank, size) pair is set.
func needPair(e env, rankKey, sizeKey string) (rank, size int, set bool, err error) {
	rank, rs, err := e.int(rankKey)
	if err != nil {
		return 0, 0, false, err
	}
	size, ss, err := e.int(sizeKey)
	if err != nil {
		return 0, 0, false, err
	}
	if rs != ss {
		return 0, 0, false, fmt.Errorf("%w: %s and %s must be set together", ErrIncomplete, rankKey, sizeKey)
	}
	return rank, size, rs, nil
}

func slurmRanks(e env, alloc allocation) (ranks, bool, error) {
	if !e.has("SLURM_PROCID") {
		return ranks{}, false, nil
	}
	r := ranks{source: "slurm", nodeID: -1, jobID: alloc.jobID, hosts: alloc.hosts, hostsVar: alloc.hostsVar}
	var err error
	var rankSet, worldSet bool
	if r.rank, rankSet, err = e.int("SLURM_PROCID"); err != nil {
		return r, false, err
	}
	var wkey string
	if r.world, wkey, worldSet, err = e.firstInt("SLURM_STEP_NUM_TASKS", "SLURM_NTASKS", "SLURM_NPROCS"); err != nil {
		return r, false, err
	}
	if !rankSet || !worldSet {
		return r, false, fmt.Errorf("%w: SLURM_PROCID is set but SLURM_NTASKS is not", ErrIncomplete)
	}
	r.vars = "SLURM_PROCID/" + wkey
	lr, lrSet, err := e.int("SLURM_LOCALID")
	if err != nil {
		return r, false, err
	}
	if !lrSet {
		return r, false, fmt.Errorf("%w: SLURM_PROCID is set but SLURM_LOCALID is not", ErrIncomplete)
	}
	r.localRank = lr
	r.hostsAreStep = alloc.hostsVar == "SLURM_STEP_NODELIST"
	// Node counts must match the node list they describe.
	for _, pair := range [...][2]string{{"SLURM_STEP_NUM_NODES", "SLURM_STEP_NODELIST"}, {"SLURM_JOB_NUM_NODES", "SLURM_JOB_NODELIST"}} {
		nn, set, err := e.int(pair[0])
		if err != nil {
			return r, false, err
		}
		if set && r.hostsVar == pair[1] && nn != len(r.hosts) {
			return r, false, fmt.Errorf("%w: %s=%d but %s lists %d nodes", ErrInconsistent, pair[0], nn, pair[1], len(r.hosts))
		}
	}
	if nodeID, set, err := e.int("SLURM_NODEID"); err != nil {
		return r, false, err
	} else if set {
		r.nodeID = nodeID
	}
	if k, v, ok := e.first("SLURM_STEP_TASKS_PER_NODE", "SLURM_TASKS_PER_NODE"); ok {
		tpn, err := expandTasksPerNode(k, v)
		if err != nil {
			return r, false, err
		}
		sum := 0
		for _, n := range tpn {
			sum += n
		}
		stepLevel := k == "SLURM_STEP_TASKS_PER_NODE"
		if stepLevel && sum != r.world {
			return r, false, fmt.Errorf("%w: %s=%d but %s=%q sums to %d", ErrInconsistent, wkey, r.world, k, v, sum)
		}
		if stepLevel && r.hostsAreStep && len(tpn) != len(r.hosts) {
			return r, false, fmt.Errorf("%w: %s=%q covers %d nodes but SLURM_STEP_NODELIST lists %d",
				ErrInconsistent, k, v, len(tpn), len(r.hosts))
		}
		switch {
		case r.nodeID >= 0 && r.nodeID < len(tpn) && stepLevel:
			r.localWorld, r.haveLocal = tpn[r.nodeID], true
		case r.nodeID >= len(tpn) && stepLevel:
			return r, false, fmt.Errorf("%w: SLURM_NODEID=%d but %s=%q covers %d nodes", ErrInconsistent, r.nodeID, k, v, len(tpn))
		case allEqual(tpn):
			r.localWorld, r.haveLocal = tpn[0], true
		}
	}
	if !r.haveLocal {
		if n, set, err := e.int("SLURM_NTASKS_PER_NODE"); err != nil {
			return r, false, err
		} else if set {
			r.localWorld, r.haveLocal = n, true
		}
	}
	r.localFromHostsAllowed = true
	return r, true, nil
}

func jsmRanks(e env, alloc allocation) (ranks, bool, error) {
	rank, world, set, err := needPair(e, "JSM_NAMESPACE_RANK", "JSM_NAMESPACE_SIZE")
	if err != nil || !set {
		return ranks{}, false, err
	}
	r := ranks{source: "lsf", rank: rank, world: world, vars: "JSM_NAMESPACE_RANK/JSM_NAMESPACE_SIZE",
		nodeID: -1, jobID: alloc.jobID, hosts: alloc.hosts, hostsVar: alloc.hostsVar}
	lr, lrSet, err := e.int("JSM_NAMESPACE_LOCAL_RANK")
	if err != nil {
		return r, false, err
	}
	if !lrSet {
		return r, false, fmt.Errorf("%w: JSM_NAMESPACE_RANK is set but JSM_NAMESPACE_LOCAL_RANK is not", ErrIncomplete)
	}
	r.localRank = lr
	if lw, _, lwSet, err := e.firstInt("JSM_NAMESPACE_LOCAL_SIZE", "OMPI_COMM_WORLD_LOCAL_SIZE"); err != nil {
		return r, false, err
	} else if lwSet {
		r.localWorld, r.haveLocal = lw, true
	}
	r.localFromHostsAllowed = true
	return r, true, nil
}

func ompiRanks(e env) (ranks, bool, error) {
	rank, rkey, rankSet, err := e.firstInt("OMPI_COMM_WORLD_RANK", "PMIX_RANK")
	if err != nil {
		return ranks{}, false, err
	}
	world, worldSet, err := e.int("OMPI_COMM_WORLD_SIZE")
	if err != nil {
		return ranks{}, false, err
	}
	if !rankSet && !worldSet {
		return ranks{}, false, nil
	}
	if !rankSet || !worldSet {
		return ranks{}, false, fmt.Errorf("%w: %s and OMPI_COMM_WORLD_SIZE must be set together",
			ErrIncomplete, firstNonEmpty(rkey, "OMPI_COMM_WORLD_RANK"))
	}
	r := ranks{source: "openmpi", rank: rank, world: world, vars: rkey + "/OMPI_COMM_WORLD_SIZE", nodeID: -1}
	lr, lw, lset, err := needPair(e, "OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_SIZE")
	if err != nil {
		return r, false, err
	}
	r.localRank, r.localWorld, r.haveLocal = lr, lw, lset
	if id, ok := e.str("PMIX_NAMESPACE"); ok {
		r.jobID = id
	} else if id, ok := e.str("OMPI_MCA_ess_base_jobid"); ok {
		r.jobID = id
	}
	return r, true, nil
}

// pmiRanks reads Cray PMI / PALS variables, as set by mpiexec under PBS or
// Cobalt.
func pmiRanks(e env, alloc allocation) (ranks, bool, error) {
	rank, rkey, rankSet, err := e.firstInt("PMI_RANK", "PALS_RANKID")
	if err != nil || !rankSet {
		return ranks{}, false, err
	}
	r := ranks{source: alloc.source, rank: rank, nodeID: -1, jobID: alloc.jobID, hosts: alloc.hosts, hostsVar: alloc.hostsVar}
	lr, _, lrSet, err := e.firstInt("PMI_LOCAL_RANK", "PALS_LOCAL_RANKID")
	if err != nil {
		return r, false, err
	}
	lw, _, lwSet, err := e.firstInt("PMI_LOCAL_SIZE", "PALS_LOCAL_SIZE")
	if err != nil {
		return r, false, err
	}
	if lrSet != lwSet {
		return r, false, fmt.Errorf("%w: %s is set but the local rank/size pair (PMI_LOCAL_RANK/PMI_LOCAL_SIZE or PALS_LOCAL_RANKID/PALS_LOCAL_SIZE) is incomplete", ErrIncomplete, rkey)
	}
	r.localRank, r.localWorld, r.haveLocal = lr, lw, lrSet
	world, wkey, worldSet, err := e.firstInt("PMI_SIZE", "PALS_SIZE")
	if err != nil {
		return r, false, err
	}
	switch {
	case worldSet:
		r.vars = rkey + "/" + wkey
	case r.haveLocal && len(r.hosts) > 0:
		// Uniform placement: mpiexec -ppn N over every node of the job.
		world, r.vars = r.localWorld*len(r.hosts), rkey+"/PALS_LOCAL_SIZE×"+alloc.hostsVar
	default:
		return r, false, fmt.Errorf("%w: %s is set but PMI_SIZE is not", ErrIncomplete, rkey)
	}
	r.world = world
	r.localFromHostsAllowed = true
	return r, true, nil
}

func torchRanks(e env) (ranks, bool, error) {
	rank, world, set, err := needPair(e, "RANK", "WORLD_SIZE")
	if err != nil || !set {
		return ranks{}, false, err
	}
	r := ranks{source: "torchrun", rank: rank, world: world, vars: "RANK/WORLD_SIZE", nodeID: -1}
	lr, lw, lset, err := needPair(e, "LOCAL_RANK", "LOCAL_WORLD_SIZE")
	if err != nil {
		return r, false, err
	}
	r.localRank, r.localWorld, r.haveLocal = lr, lw, lset
	r.masterAddr, _ = e.str("MASTER_ADDR")
	port, portSet, err := e.int("MASTER_PORT")
	if err != nil {
		return r, false, err
	}
	if portSet {
		// torchrun's agent may already serve its TCPStore on MASTER_PORT.
		if v, _ := e.str("TORCHELASTIC_USE_AGENT_STORE"); strings.EqualFold(v, "true") && port < 65535 {
			port++
		}
		r.masterPort = port
	}
	r.jobID, _ = e.str("TORCHELASTIC_RUN_ID")
	return r, true, nil
}

// resolve combines the launcher, the allocation and the SCIBENCH_* overrides.
func resolve(e env, r ranks, alloc allocation) (Info, error) {
	info := Info{Rank: r.rank, WorldSize: r.world, LocalRank: r.localRank, LocalWorldSize: r.localWorld, Source: r.source}
	hosts, hostsVar := r.hosts, r.hostsVar
	if len(hosts) == 0 && len(alloc.hosts) > 0 {
		hosts, hostsVar = alloc.hosts, alloc.hostsVar
	}
	if r.world < 1 {
		return Info{}, fmt.Errorf("%w: %s: world size %d", ErrBadValue, r.vars, r.world)
	}
	if r.rank >= r.world {
		return Info{}, fmt.Errorf("%w: %s: rank %d >= world size %d", ErrInconsistent, r.vars, r.rank, r.world)
	}
	if r.hostsAreStep && len(hosts) > r.world {
		return Info{}, fmt.Errorf("%w: %s: %d tasks cannot cover the %d nodes of %s", ErrInconsistent, r.vars, r.world, len(hosts), hostsVar)
	}
	if !r.haveLocal {
		switch {
		case r.localFromHostsAllowed && len(hosts) == 1:
			info.LocalWorldSize = r.world
		default:
			return Info{}, fmt.Errorf("%w: %s: cannot tell how many ranks run on this node (%s)", ErrIncomplete, r.vars, localVars(r.source))
		}
	}
	// Job id: SCIBENCH_JOB_ID, else the launcher's, else the allocation's.
	info.JobID = firstNonEmpty(r.jobID, alloc.jobID)
	if id, ok := e.str(EnvJobID); ok {
		info.JobID = id
	}
	// Master address: SCIBENCH_MASTER_ADDR, else the launcher's, else the
	// first node, else loopback when every rank is on this node.
	info.MasterAddr = r.masterAddr
	if info.MasterAddr == "" && len(hosts) > 0 {
		info.MasterAddr = hosts[0]
	}
	if a, ok := e.str(EnvMasterAddr); ok {
		info.MasterAddr = a
	}
	if info.MasterAddr == "" {
		if info.LocalWorldSize != info.WorldSize {
			return Info{}, fmt.Errorf("%w: %s: %d ranks on several nodes but no node list; set %s",
				ErrIncomplete, r.vars, r.world, EnvMasterAddr)
		}
		info.MasterAddr = "127.0.0.1"
	}
	info.Hosts = hosts
	if len(info.Hosts) == 0 && info.LocalWorldSize == info.WorldSize {
		info.Hosts = []string{info.MasterAddr}
	}
	// Port: SCIBENCH_MASTER_PORT, else the launcher's, else from the job id
	// (and the Slurm step, so that concurrent steps of one job differ).
	port, portSet, err := e.int(EnvMasterPort)
	if err != nil {
		return Info{}, err
	}
	switch {
	case portSet:
		info.MasterPort = port
	case r.masterPort != 0:
		info.MasterPort = r.masterPort
	case info.JobID != "":
		seed := info.JobID
		if step, ok := e.str("SLURM_STEP_ID"); ok && r.source == "slurm" {
			seed += "." + step
		}
		info.MasterPort = PortFromJobID(seed)
	case info.WorldSize == 1:
	default:
		return Info{}, fmt.Errorf("%w: %s: no job id to derive a port from; set %s or %s",
			ErrIncomplete, r.vars, EnvMasterPort, EnvJobID)
	}
	if t, ok := e.str(EnvToken); ok {
		info.Token = t
	} else if info.JobID != "" {
		info.Token, info.TokenDerived = derivedToken(info.JobID), true
	} else if info.WorldSize > 1 {
		return Info{}, fmt.Errorf("%w: %s: %d ranks, no %s and no job id", ErrNoToken, r.vars, r.world, EnvToken)
	}
	if err := info.Validate(); err != nil {
		return Info{}, fmt.Errorf("%s (source %s): %w", r.vars, r.source, err)
	}
	return info, nil
}

func localVars(source string) string {
	switch source {
	case "slurm":
		return "SLURM_STEP_TASKS_PER_NODE with SLURM_NODEID, or SLURM_NTASKS_PER_NODE"
	case "lsf":
		return "JSM_NAMESPACE_LOCAL_SIZE"
	case "openmpi":
		return "OMPI_COMM_WORLD_LOCAL_RANK/OMPI_COMM_WORLD_LOCAL_SIZE"
	case "torchrun":
		return "LOCAL_RANK/LOCAL_WORLD_SIZE"
	default:
		return "PMI_LOCAL_RANK/PMI_LOCAL_SIZE"
	}
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func allEqual(v []int) bool {
	if len(v) == 0 {
		return false
	}
	for _, x := range v[1:] {
		if x != v[0] {
			return false
		}
	}
	return true
}

func dedup(hosts []string) []string {
	if len(hosts) == 0 {
		return hosts
	}
	seen := make(map[string]struct{}, len(hosts))
	out := hosts[:0:0]
	for _, h := range hosts {
		if _, dup := seen[h]; !dup {
			seen[h] = struct{}{}
			out = append(out, h)
		}
	}
	return out
}
