# breakwater's front door. `make demo` runs the main demo; `make test` runs every test suite.
# Both do their own set-up on a fresh machine (toolchains, venv, npm packages, Debian packages).
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
CARGO := scripts/cargo-locked

.PHONY: demo test test-rust test-loom test-python test-node test-c lint fmt bench bench-quick

demo:
	$(CARGO) run -q --release -p breakwater-examples --bin outage-demo

test: lint test-rust test-loom test-python test-node test-c

lint:
	cargo fmt --all --check
	$(CARGO) clippy -q -p breakwater-core -p breakwater-examples -p breakwater-benches \
		-p breakwater-python -p breakwater-c --all-targets -- -D warnings
	# The addon's lib only: in a test build napi's exports look unused.
	$(CARGO) clippy -q -p breakwater-node -- -D warnings

test-rust:
	$(CARGO) test -q -p breakwater-core -p breakwater-examples
	$(CARGO) run -q -p breakwater-examples --bin outage-demo > /dev/null

# The Python package: a venv at .venv (maturin, pytest, mypy), maturin develop --release,
# pytest (conformance included), mypy --strict over the examples and stubtest.
test-python:
	bindings-python/test.sh

# The Node package: npm install, napi release build, drift check of the generated loader,
# node --test (conformance included), tsc --strict over the types and examples.
test-node:
	bindings-node/test.sh

# The C library: apt-installs libcjson-dev/valgrind/pkg-config when missing, header drift check,
# C tests and the conformance runner under valgrind, examples/c.
test-c:
	bindings-c/test.sh

# loom explores every interleaving of the permit protocol; it needs its own target dir.
test-loom:
	RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom $(CARGO) test -q -p breakwater-core --release --lib loom

fmt:
	cargo fmt --all

# Full criterion run (minutes) and a quick one (seconds); see benches/README.md.
bench:
	$(CARGO) bench -p breakwater-benches
bench-quick:
	$(CARGO) bench -p breakwater-benches -- --quick
