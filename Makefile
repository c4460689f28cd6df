# scibench — two commands matter: `make run` and `make test` (see README.md).
SHELL := /bin/bash
GO    ?= go
BIN   := bin/scibench

# Debian packages the full build uses. Without them scibench still builds and
# runs in pure-Go mode (gonum BLAS, no HDF5); g++ builds the GPU kernel emulator in the tests and
# clang-16 checks the CUDA kernels with its CUDA front end (no CUDA toolkit needed).
DEB_PACKAGES := pkg-config g++ clang-16 libopenblas-dev libhdf5-dev python3-h5py python3-numpy python3-pandas python3-tables

# Build tags, evaluated when a recipe runs (after `deps` installed packages).
TAGS = $(strip $(shell pkg-config --exists openblas 2>/dev/null && echo openblas) \
                   $(shell pkg-config --exists hdf5 2>/dev/null && echo hdf5))
VERSION = $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS = -X main.version=$(VERSION)

STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: all build run test test-go test-nocgo bench lint deps clean

all: build

## deps: install missing Debian packages when root, else print the apt-get line.
deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "deps: installing$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || \
	    { echo "deps: apt-get install failed"; exit 1; }; \
	else \
	  echo "deps: missing packages; for the full (OpenBLAS + HDF5) build run:"; \
	  echo "  sudo apt-get install -y$$missing"; \
	  echo "deps: continuing in pure-Go mode"; \
	fi

## build: write bin/scibench (OpenBLAS and HDF5 when pkg-config finds them).
build: deps
	@echo "build: tags=[$(TAGS)]"
	$(GO) build -tags '$(TAGS)' -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/scibench

## run: the embedded default: earthquake on the shipped real catalog, 2 local workers.
run: build
	$(BIN) run earthquake --nproc 2 --config configs/earthquake-default.yaml

## test: vet + the whole suite under the race detector + the pure-Go build.
test: deps test-go test-nocgo test-slurm

test-go:
	@echo "test: tags=[$(TAGS)]"
	$(GO) vet -tags '$(TAGS)' ./...
	$(GO) test -race -tags '$(TAGS)' -timeout 25m ./...

## test-nocgo: CGO_ENABLED=0 must build and pass the engine tests (gonum fallback).
test-nocgo:
	CGO_ENABLED=0 $(GO) build -o /dev/null ./cmd/scibench
	CGO_ENABLED=0 $(GO) test -timeout 10m ./pkg/blas/... ./pkg/tensor/... ./pkg/optim/...

## bench: engine and all-reduce benchmarks (numbers go to docs/results.md).
bench: build
	$(GO) test -tags '$(TAGS)' -run '^$$' -bench . -benchmem ./pkg/blas/ ./pkg/optim/ ./pkg/nn/...
	$(BIN) allreduce-bench --nproc 2 --sizes 4K,64K,1M,16M,64M,256M --check --ceiling

## lint: go vet and pinned staticcheck.
lint:
	$(GO) vet -tags '$(TAGS)' ./...
	$(GO) run $(STATICCHECK) -tags '$(TAGS)' ./...

clean:
	rm -rf bin

## test-slurm: real one-host Slurm (2 simulated nodes, fake GPUs) + LSF emulation:
## submits scibench sweeps and checks them; stops the cluster by PID (slurm/ci/).
.PHONY: test-slurm
test-slurm:
	GO=$(GO) bash slurm/ci/run-tests.sh
