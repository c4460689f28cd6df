#!/usr/bin/env bash
# GPU check for a machine lent with a GPU (issue 8 point 5), in two halves:
#
#   bash scripts/gpu-check.sh build      # here (no GPU, no CUDA toolkit): binaries into gpu-check/
#   bash scripts/gpu-check.sh run        # on the GPU machine: tests and short runs, results into $OUT
#
# "build" makes a pure-Go scibench (CGO_ENABLED=0: no OpenBLAS or HDF5 needed there) and the test
# binaries of the GPU packages. "run" runs every GPU test (the ones that skip without a GPU), train-bench
# on the GPU and the CPU for every model, then the earthquake smoke run (it needs no HDF5) on the GPU and
# on the CPU with 1 worker and on the GPU with 2, and
# copies result.json, the logs and nvidia-smi's view into $OUT (default ./gpu-check-out). Each step has
# its own timeout; a failed step is recorded and the next one runs.
set -uo pipefail
cd "$(dirname "$0")/.."
dir=gpu-check
case "${1:-}" in
build)
	rm -rf "$dir" && mkdir -p "$dir"
	export CGO_ENABLED=0
	go build -o "$dir/scibench" ./cmd/scibench || exit 1
	for p in pkg/gpu pkg/gpu/gpunn pkg/nn/models; do
		go test -c -o "$dir/$(echo "$p" | tr / _).test" "./$p" || exit 1
	done
	ls -l "$dir"
	;;
run)
	out=${OUT:-gpu-check-out}
	mkdir -p "$out"
	out=$(cd "$out" && pwd)
	root=$(pwd)
	step() { # name timeout command...
		local name=$1 t=$2
		shift 2
		echo "== $name" | tee -a "$out/summary.txt"
		local s=$SECONDS
		timeout "$t" "$@" >"$out/$name.log" 2>&1
		local rc=$?
		echo "   rc=$rc ($((SECONDS - s)) s)" | tee -a "$out/summary.txt"
		tail -n 5 "$out/$name.log" | sed 's/^/   /' >>"$out/summary.txt"
	}
	step nvidia-smi 30 nvidia-smi
	step devices 60 "$dir/scibench" devices
	# every test with GPU in its name runs on the device (the emulated ones need g++; skip them)
	# (each in its package directory, as go test runs it)
	for t in "$dir"/*.test; do
		pkg=$(basename "$t" .test)
		(cd "$(echo "$pkg" | tr _ /)" && step "test-$pkg" 300 "$root/$t" -test.run 'GPU' -test.v -test.count=1)
	done
	# model throughput on synthetic batches, GPU then CPU (all cores)
	step train-bench-gpu 400 "$dir/scibench" train-bench --device gpu --model uno,lstm,lstm-small,unet,resnet50,resnet18 --steps 20 --json
	step train-bench-cpu 400 "$dir/scibench" train-bench --device cpu --threads "$(nproc)" --model uno,lstm,unet,resnet50 --steps 3 --json
	for dev in gpu cpu; do
		step "earthquake-$dev" 300 "$dir/scibench" run earthquake --device "$dev" --nproc 1 \
			--config configs/earthquake-smoke.yaml --out "$out/earthquake-$dev" --data "$out/cache"
	done
	step "earthquake-gpu-2workers" 300 "$dir/scibench" run earthquake --device gpu --nproc 2 \
		--config configs/earthquake-smoke.yaml --out "$out/earthquake-gpu2" --data "$out/cache"
	find "$out" -name '*.ckpt' -delete
	cat "$out/summary.txt"
	;;
*)
	echo "usage: bash scripts/gpu-check.sh build|run" >&2
	exit 2
	;;
esac
