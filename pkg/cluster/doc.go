// Package cluster answers "who am I" for a scibench worker: rank, world
// size, local rank, node list, master address and port, job id and token.
//
// It is pure: it reads environment variables through an injected lookup
// function and, where a scheduler names one, a host file. It never opens a
// socket, never exits and never panics on bad input; every error wraps one
// of the package's sentinels (ErrBadValue, ErrIncomplete, ErrInconsistent,
// ErrHostList, ErrHostFile, ErrNoToken) and names the variables involved.
//
// # Resolution order
//
//  1. SCIBENCH_RANK/SCIBENCH_WORLD_SIZE (set by scibench's own launcher,
//     see [Info.Environ]). SCIBENCH_LOCAL_RANK/SCIBENCH_LOCAL_WORLD_SIZE
//     default to rank/world (one node); with more than one rank
//     SCIBENCH_MASTER_ADDR, SCIBENCH_MASTER_PORT and SCIBENCH_TOKEN are
//     required. SCIBENCH_HOSTS (optional) is the node list.
//  2. Slurm: SLURM_PROCID, SLURM_NTASKS (or SLURM_STEP_NUM_TASKS,
//     SLURM_NPROCS, which must agree), SLURM_LOCALID; local world size from
//     SLURM_STEP_TASKS_PER_NODE ("2(x3),1") at index SLURM_NODEID, else
//     SLURM_NTASKS_PER_NODE; nodes from SLURM_STEP_NODELIST, else
//     SLURM_JOB_NODELIST; job id SLURM_JOB_ID.
//  3. LSF/jsrun: JSM_NAMESPACE_RANK, _SIZE, _LOCAL_RANK, _LOCAL_SIZE; job id
//     LSB_JOBID; nodes from LSB_DJOB_HOSTFILE, else LSB_MCPU_HOSTS
//     ("hostA 2 hostB 4"). The launch node is dropped from the node list:
//     the first host when its name starts with "batch" or "launch"
//     (Summit: "batch3 1 a01n01 42 ..."), or when it holds one slot while
//     every other host holds several.
//  4. Open MPI/PMIx: OMPI_COMM_WORLD_RANK (or PMIX_RANK),
//     OMPI_COMM_WORLD_SIZE, OMPI_COMM_WORLD_LOCAL_RANK/_LOCAL_SIZE; job id
//     PMIX_NAMESPACE; nodes from the surrounding allocation, if any.
//  5. PBS: ranks from PMI_RANK/PMI_SIZE/PMI_LOCAL_RANK/PMI_LOCAL_SIZE or
//     PALS_RANKID/PALS_LOCAL_RANKID/PALS_LOCAL_SIZE (world = local size ×
//     nodes when PMI_SIZE is absent); nodes PBS_NODEFILE; job id PBS_JOBID.
//  6. Cobalt: as PBS with COBALT_NODEFILE and COBALT_JOBID.
//  7. torchrun: RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR,
//     MASTER_PORT (plus one when TORCHELASTIC_USE_AGENT_STORE=True, because
//     the agent's store already listens there); job id TORCHELASTIC_RUN_ID.
//
// A scheduler's job id or node list alone (a batch script before srun,
// jsrun or mpiexec) is not a launch: FromEnv returns ok=false. When an inner
// launcher (torchrun, then Open MPI) reports a rank or world size that
// differs from the scheduler's, the inner one wins: srun or jsrun started
// mpirun's daemons or torchrun's agents, once per node, and those inherited
// the scheduler's variables. The node list then still comes from the
// scheduler.
//
// SCIBENCH_MASTER_ADDR, SCIBENCH_MASTER_PORT, SCIBENCH_JOB_ID and
// SCIBENCH_TOKEN override what any scheduler says. Otherwise the master
// address is the launcher's (torchrun), else the first node, else
// 127.0.0.1 when every rank is on this node; the port is the launcher's,
// else [PortFromJobID] of the job id (with ".<SLURM_STEP_ID>" appended
// under Slurm, so concurrent steps of one job differ).
//
// Contradictions are errors: rank >= world size, local rank >= local world
// size, half of a rank/size pair, non-numeric values, SLURM_NTASKS not
// equal to the sum of SLURM_STEP_TASKS_PER_NODE, node counts that differ
// from the node list, more nodes in a step than tasks.
//
// # Token
//
// The rendezvous accepts only peers presenting the job's token. scibench's
// launcher makes a fresh random one per job ([NewToken]); job scripts
// rendered by scibench export SCIBENCH_TOKEN. When a scheduler launched the
// ranks and SCIBENCH_TOKEN is not set, the token is derived from the job id
// (a hash, Info.TokenDerived is true). Anyone who knows the job id can
// compute it: it keeps other jobs from joining by accident, not an attacker
// on the same network. Export SCIBENCH_TOKEN for the latter.
//
// # Usage
//
//	info, ok, err := cluster.FromEnv(os.LookupEnv)
//	if err != nil {
//		return err // names the variables, e.g. "SLURM_PROCID/SLURM_NTASKS: rank 4 >= world size 4"
//	}
//	if !ok {
//		info = cluster.Local()
//	}
//	logger = logger.With("rank", info.Rank, "host", info.MasterAddr)
//
// A launcher passes an Info to its children with cmd.Env = append(env,
// info.Environ()...).
package cluster
