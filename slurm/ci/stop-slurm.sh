#!/usr/bin/env bash
# stop-slurm.sh - stop what start-slurm.sh started in SLURM_CI_DIR: cancel our
# jobs, ask slurmctld to shut down, then SIGTERM and at last SIGKILL the
# daemons by the PIDs in our own pid files, and only while /proc/PID/comm
# still names the expected daemon (a recycled PID is left alone). Never kills
# by name. Exits 0 when nothing runs.
set -uo pipefail
DIR=${SLURM_CI_DIR:-/tmp/scibench-slurm}
export SLURM_CONF=$DIR/etc/slurm.conf
say() { echo "[stop-slurm] $*" >&2; }
running() { [ -n "${1:-}" ] && [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
is() { running "$1" && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ]; }

# pids NAME FILE...: live PIDs of daemon NAME listed in the files
pids() {
  local name=$1 f p; shift
  for f in "$@"; do
    [ -s "$f" ] || continue
    p=$(cat "$f")
    if is "$p" "$name"; then echo "$p"; fi
  done | sort -u
}
# halt NAME PID...: SIGTERM, wait up to 5 s, then SIGKILL
halt() {
  local name=$1 p i alive; shift
  [ $# -gt 0 ] || return 0
  for p in "$@"; do kill -TERM "$p" 2>/dev/null || true; done
  for ((i = 0; i < 50; i++)); do
    alive=0
    for p in "$@"; do if is "$p" "$name"; then alive=1; fi; done
    if [ $alive = 0 ]; then say "$name stopped ($*)"; return 0; fi
    sleep 0.1
  done
  for p in "$@"; do
    if is "$p" "$name"; then say "$name $p did not stop: SIGKILL"; kill -KILL "$p" 2>/dev/null || true; fi
  done
}

shopt -s nullglob
CTLD=$(pids slurmctld "$DIR"/run/slurmctld.pid "$DIR"/run/slurmctld.pid0)
SLURMD=$(pids slurmd "$DIR"/run/slurmd-*.pid "$DIR"/run/slurmd-*.pid0)
MUNGED=$(pids munged "$DIR"/munge/munged.pid)
if [ -n "$CTLD" ] && [ -f "$SLURM_CONF" ]; then
  timeout 5 scancel --quiet -u "$(id -un)" 2>/dev/null || true   # jobs would outlive the daemons
  sleep 0.5
  timeout 5 scontrol shutdown 2>/dev/null || true
fi
# shellcheck disable=SC2086
halt slurmd $SLURMD
# shellcheck disable=SC2086
halt slurmctld $CTLD
# shellcheck disable=SC2086
halt munged $MUNGED
rm -f "$DIR"/run/*.pid "$DIR"/run/*.pid0 "$DIR"/munge/munged.pid "$DIR"/munge/munge.socket "$DIR"/munge/munge.socket.lock
say "done ($DIR)"
