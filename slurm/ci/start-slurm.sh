#!/usr/bin/env bash
# start-slurm.sh - a throw-away Slurm cluster on this one host for scibench's
# CI: a private munged, one slurmctld and SLURM_CI_NODES slurmd daemons (the
# simulated nodes n1..nN), no systemd, nothing outside SLURM_CI_DIR touched
# except the packages it may install. Prints "export SLURM_CONF=..." on stdout.
# Stop it with stop-slurm.sh (same SLURM_CI_DIR); it stops only our PIDs.
#
# Settings (environment):
#   SLURM_CI_DIR      state, config, logs, sockets (default /tmp/scibench-slurm)
#   SLURM_CI_NODES    simulated nodes (default 2). With N>1 every slurmd runs in
#                     its own UTS+mount namespace named nI, with an /etc/hosts
#                     that maps n1..nN to 127.0.0.1 (traffic stays on loopback)
#   SLURM_CI_GPUS     fake GPUs per node (default 2; 0 = none): gres files are
#                     symlinks to /dev/null named nvidia0..G-1
#   SLURM_CI_CPUS     CPUs advertised per node (default 8, may exceed the host)
#   SLURM_CI_PORT     slurmctld port (default 6817); slurmd i uses 17000+i
#   SLURM_CI_TIMEOUT  seconds to wait for idle nodes (default 60)
#   SLURM_CI_INSTALL  1 = apt-get install munge slurmctld slurmd slurm-client
#                     when missing (root only)
#
# Known on Debian 12 (Slurm 22.05, munge 0.5.15). What matters and why:
#   EnforcePartLimits=ALL   impossible jobs are refused at submit instead of
#                           pending forever
#   MinJobAge=4             sbatch --wait / squeue see a job end within seconds
#   SlurmdParameters=config_overrides  advertise more CPUs than the host has
#   TmpFS per node          simulated nodes must not share a tmp directory
#   JobCompType=jobcomp/filetxt  'sacct -c' knows finished jobs (no slurmdbd)
set -euo pipefail

DIR=${SLURM_CI_DIR:-/tmp/scibench-slurm}
NNODES=${SLURM_CI_NODES:-2}
GPUS=${SLURM_CI_GPUS:-2}
CPUS=${SLURM_CI_CPUS:-8}
PORT=${SLURM_CI_PORT:-6817}
TIMEOUT=${SLURM_CI_TIMEOUT:-60}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CONF=$DIR/etc/slurm.conf
export SLURM_CONF=$CONF

say() { echo "[start-slurm] $*" >&2; }
fail() {
  say "ERROR: $*"
  local f
  for f in "$DIR"/log/slurmctld.log "$DIR"/log/slurmd-*.log "$DIR"/log/*.stdout; do
    if [ -f "$f" ]; then echo "--- last lines of $f" >&2; tail -n 20 "$f" >&2; fi
  done
  exit 1
}
# running = the process exists and is not a zombie
running() { [ -n "${1:-}" ] && [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
pidfile() { if [ -s "$1" ]; then cat "$1"; fi; }

if [ "$NNODES" -eq 1 ]; then NODES=("$(hostname -s)"); else NODES=(); for ((i = 1; i <= NNODES; i++)); do NODES+=("n$i"); done; fi
nodes_idle() {
  local n
  for n in "${NODES[@]}"; do [ "$(sinfo -h -n "$n" -o %T 2>/dev/null || true)" = idle ] || return 1; done
}

# 1. packages
missing=()
for b in munged mungekey slurmctld slurmd sbatch srun squeue sacct sinfo scontrol unshare; do
  command -v "$b" >/dev/null || missing+=("$b")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "${SLURM_CI_INSTALL:-0}" = 1 ] && [ "$(id -u)" = 0 ]; then
    say "installing munge slurmctld slurmd slurm-client (missing: ${missing[*]})"
    export DEBIAN_FRONTEND=noninteractive
    timeout 600 apt-get -o DPkg::Lock::Timeout=300 update -qq
    timeout 900 apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends munge slurmctld slurmd slurm-client >/dev/null
  else
    fail "missing ${missing[*]}: apt-get install -y --no-install-recommends munge slurmctld slurmd slurm-client"
  fi
fi

# 2. already up with this shape? then reuse it
SHAPE="$NNODES/$GPUS/$CPUS/$PORT/$(md5sum < "${BASH_SOURCE[0]}" | cut -c1-10)"
if [ -f "$CONF" ] && [ "$(cat "$DIR/shape" 2>/dev/null)" = "$SHAPE" ] \
   && running "$(pidfile "$DIR/run/slurmctld.pid0")" && running "$(pidfile "$DIR/munge/munged.pid")"; then
  up=1
  for n in "${NODES[@]}"; do running "$(pidfile "$DIR/run/slurmd-$n.pid0")" || up=0; done
  if [ $up = 1 ] && nodes_idle; then
    say "already running in $DIR (nodes ${NODES[*]})"
    echo "export SLURM_CONF=$CONF"
    exit 0
  fi
fi
SLURM_CI_DIR=$DIR "$HERE/stop-slurm.sh" >/dev/null 2>&1 || true

rm -rf "${DIR:?}"/state "${DIR:?}"/spool "${DIR:?}"/tmp "${DIR:?}"/log "${DIR:?}"/dev
mkdir -p "$DIR"/{etc,state,spool,log,run,munge,key,dev}
chmod 755 "$DIR/munge"   # munge clients need to reach the socket
chmod 700 "$DIR/key"     # munged refuses a key others can read
for n in "${NODES[@]}"; do mkdir -p "$DIR/spool/$n" "$DIR/tmp/$n"; done

# 3. munge with a private key and socket (the system's munge is left alone)
SOCK=$DIR/munge/munge.socket
[ -s "$DIR/key/munge.key" ] || mungekey -c -k "$DIR/key/munge.key"
chmod 600 "$DIR/key/munge.key"
rm -f "$SOCK" "$SOCK.lock"
munged --socket="$SOCK" --key-file="$DIR/key/munge.key" --pid-file="$DIR/munge/munged.pid" \
  --log-file="$DIR/log/munged.log" --seed-file="$DIR/key/munged.seed" || fail "munged did not start"
munge -n -S "$SOCK" | unmunge -S "$SOCK" >/dev/null || fail "munge round trip failed"

# 4. configuration
GRES=""
if [ "$GPUS" -gt 0 ]; then
  # slurmd wants a character device per GPU; a symlink to /dev/null passes,
  # and the digits of its name become the index in CUDA_VISIBLE_DEVICES
  GRES="Gres=gpu:$GPUS"
  {
    echo "AutoDetect=off"
    for n in "${NODES[@]}"; do
      mkdir -p "$DIR/dev/$n"
      for ((g = 0; g < GPUS; g++)); do ln -sfn /dev/null "$DIR/dev/$n/nvidia$g"; done
      echo "NodeName=$n Name=gpu File=$DIR/dev/$n/nvidia[0-$((GPUS - 1))]"
    done
  } > "$DIR/etc/gres.conf"
else
  rm -f "$DIR/etc/gres.conf"
fi
{
  cat <<CONF
# written by scibench slurm/ci/start-slurm.sh: $NNODES simulated node(s) on $(hostname -s)
ClusterName=scibenchci
SlurmctldHost=localhost
SlurmctldPort=$PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCK
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool/%n
TmpFS=$DIR/tmp/%n
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd-%n.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd-%n.log
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/log/jobcomp.txt
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
ReturnToService=2
EnforcePartLimits=ALL
MpiDefault=none
MinJobAge=4
KillWait=5
InactiveLimit=0
SlurmctldTimeout=30
SlurmdTimeout=30
SchedulerType=sched/backfill
CONF
  [ "$GPUS" -gt 0 ] && echo "GresTypes=gpu"
  for i in "${!NODES[@]}"; do
    n=${NODES[$i]}
    if [ "$NNODES" -eq 1 ]; then where="Port=6818"; else where="NodeHostname=$n Port=$((17001 + i))"; fi
    echo "NodeName=$n NodeAddr=127.0.0.1 $where CPUs=$CPUS RealMemory=4096 $GRES State=UNKNOWN"
  done
  echo "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP"
} > "$CONF"
echo "$SHAPE" > "$DIR/shape"

# 5. daemons, in the foreground (-D) of their own session; $! is the daemon
setsid slurmctld -D -i -f "$CONF" >"$DIR/log/slurmctld.stdout" 2>&1 </dev/null &
echo $! > "$DIR/run/slurmctld.pid0"
if [ "$NNODES" -gt 1 ]; then
  { cat /etc/hosts; echo "127.0.0.1 ${NODES[*]}"; } > "$DIR/etc/hosts"
fi
for n in "${NODES[@]}"; do
  if [ "$NNODES" -eq 1 ]; then
    setsid slurmd -D -f "$CONF" >"$DIR/log/slurmd-$n.stdout" 2>&1 </dev/null &
  else
    # unshare without --fork and sh's exec keep one PID: $! is slurmd
    setsid unshare -u -m --propagation private sh -c \
      'mount --bind "$1" /etc/hosts && hostname "$2" && exec slurmd -D -f "$3" -N "$2"' \
      sh "$DIR/etc/hosts" "$n" "$CONF" >"$DIR/log/slurmd-$n.stdout" 2>&1 </dev/null &
  fi
  echo $! > "$DIR/run/slurmd-$n.pid0"
done

# 6. wait until every node is idle
deadline=$(( $(date +%s) + TIMEOUT ))
until nodes_idle; do
  running "$(pidfile "$DIR/run/slurmctld.pid0")" || fail "slurmctld exited"
  for n in "${NODES[@]}"; do running "$(pidfile "$DIR/run/slurmd-$n.pid0")" || fail "slurmd $n exited"; done
  [ "$(date +%s)" -lt "$deadline" ] || fail "nodes not idle after ${TIMEOUT}s: $(sinfo -h -N -o '%N=%T' 2>&1 | tr '\n' ' ')"
  sleep 0.2
done
say "nodes ${NODES[*]} idle ($GPUS fake GPU(s) and $CPUS CPUs each); stop with: SLURM_CI_DIR=$DIR $HERE/stop-slurm.sh"
echo "export SLURM_CONF=$CONF"
