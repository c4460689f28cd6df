#!/usr/bin/env bash
# run-tests.sh - what `make test-slurm` runs: start the one-host CI Slurm
# (start-slurm.sh: 2 simulated nodes, 2 fake GPUs each; installs the Debian
# packages when root and missing), run the integration tests that submit
# real jobs (build tag slurmci: slurm/ and lsf/, the latter through the LSF
# emulation), and stop the cluster by PID whatever happened.
#
# Without Slurm and without root it cannot install anything: it prints the
# apt-get line and skips (exit 0), unless SCIBENCH_REQUIRE_SLURM=1.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
GO=${GO:-go}
export SLURM_CI_DIR=${SLURM_CI_DIR:-/tmp/scibench-slurm-ci}
export SLURM_CI_NODES=2 SLURM_CI_GPUS=2 SLURM_CI_CPUS=8

if ! command -v slurmctld >/dev/null || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    export SLURM_CI_INSTALL=1
  elif [ "${SCIBENCH_REQUIRE_SLURM:-0}" = 1 ]; then
    echo "test-slurm: FAILED: Slurm is not installed; run: sudo apt-get install -y --no-install-recommends munge slurmctld slurmd slurm-client" >&2
    exit 1
  else
    echo "test-slurm: SKIPPED (not root, Slurm not installed); to run it: sudo apt-get install -y --no-install-recommends munge slurmctld slurmd slurm-client" >&2
    exit 0
  fi
fi

stop() { "$HERE/stop-slurm.sh" || true; }
trap stop EXIT
trap 'exit 130' INT TERM
env_line=$(timeout 1200 "$HERE/start-slurm.sh")
eval "$env_line"   # export SLURM_CONF=...
echo "test-slurm: cluster up ($SLURM_CONF)"
cd "$ROOT"
timeout 1500 "$GO" test -race -tags slurmci -count=1 -timeout 20m -run 'TestSlurm|TestLSFEmulation' ./slurm/ ./lsf/
echo "test-slurm: ok"
