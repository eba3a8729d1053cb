# housing-flow: `make run` and `make test` work on a fresh machine; `deps` installs
# what the build needs, only when it is missing.

SHELL := /bin/bash
# A failed command anywhere in a recipe line, pipelines included, stops make.
.SHELLFLAGS := -euo pipefail -c
CARGO ?= cargo
# Honour CARGO_TARGET_DIR so several clones can share one build.
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
BIN := $(TARGET_DIR)/release/housing-flow
PIPELINE ?= pipelines/main.hf
# `make run EVENTS=100000` stops after that many events; by default it runs until Ctrl-C.
EVENTS ?=
# pip installs console scripts (cmake) here; put it on PATH for the build.
PY_SCRIPTS := $(shell python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))' 2>/dev/null)
export PATH := $(PY_SCRIPTS):$(HOME)/.local/bin:$(PATH)

.PHONY: all deps build run test scenarios bench bench-peers fuzz fmt lint clean

all: build

## deps: cmake >= 3.28 (LightGBM 4.7 refuses older), clang and libclang (bindgen), promtool, the tansu
## Kafka broker (cargo install, ~15 min once) and the tests' Python virtualenv (tests/python/requirements.txt).
## Installs each one that is missing or too old, then checks them all; stops naming any still missing.
deps:
	@.ci/deps install

build: deps
	$(CARGO) build --release --locked

## run: check the default pipeline, print its dataflow plan, train its model if the registry has none.
run: build
	$(BIN) check $(PIPELINE)
	$(BIN) explain $(PIPELINE)
	$(BIN) train $(PIPELINE) --if-missing
	$(BIN) run $(PIPELINE) --workers 2 $(if $(EVENTS),--events $(EVENTS))

## test: every unit, golden, property and end-to-end test.
test: build
	tests/deps.sh
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --release --locked --all-targets -- -D warnings
	$(CARGO) test --release --locked
	@for f in pipelines/*.hf scenarios/*.hf; do $(BIN) check $$f >/dev/null 2>&1 || { $(BIN) check $$f; exit 1; }; done
	@echo "all tests passed"

## scenarios: run every shipped scenario (about 12 minutes) and stop at the first that fails.
## broker_outage.hf runs when KAFKA_BROKERS names a local broker with the topics of pipelines/kafka.hf.
## rollback_on_drift.hf gets an earlier production version to roll back to: a newly trained one is promoted first.
scenarios: build
	$(BIN) train $(PIPELINE) --if-missing
	@for f in scenarios/*.hf; do \
	  grep -q '^scenario ' $$f || continue; \
	  if [ $$f = scenarios/broker_outage.hf ] && [ -z "$${KAFKA_BROKERS:-}" ]; then \
	    echo "== $$f skipped: set KAFKA_BROKERS to a broker on this machine with the topics of pipelines/kafka.hf"; continue; \
	  fi; \
	  if [ $$f = scenarios/rollback_on_drift.hf ]; then \
	    $(BIN) train $(PIPELINE) >/dev/null; \
	    $(BIN) models promote price $$($(BIN) models list | awk '$$1 == "price" { print $$3 }'); \
	  fi; \
	  echo "== $$f"; $(BIN) scenario $$f; \
	done

bench: deps
	$(CARGO) bench --locked --bench frontend

## bench-peers: a virtualenv with the tree compilers the inference benchmark compares with
## (lleaves on LLVM, tl2cgen on treelite), then that benchmark.
PEERS_VENV := $(HOME)/.cache/housing-flow/peers-venv
bench-peers: deps
	[ -x $(PEERS_VENV)/bin/python ] || python3 -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/pip install -q "lleaves==1.3.*" "llvmlite==0.44.*" "tl2cgen==1.0.*" "treelite==4.1.2"
	$(CARGO) bench --locked --bench inference -- --warm-up-time 1 --measurement-time 3

## fuzz: five minutes of cargo-fuzz on the front end (needs nightly and cargo-fuzz).
fuzz:
	mkdir -p fuzz/corpus/parse
	CARGO_TARGET_DIR=fuzz/target $(CARGO) +nightly fuzz run parse fuzz/corpus/parse fuzz/seeds -- -dict=fuzz/hf.dict -max_total_time=300

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --release --all-targets -- -D warnings

clean:
	$(CARGO) clean
