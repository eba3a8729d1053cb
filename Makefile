# housing-flow: `make run` and `make test` work on a fresh machine; `deps` installs
# what the build needs, only when it is missing.

SHELL := /bin/bash
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
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps build run test bench fuzz fmt lint clean

all: build

## deps: cmake >= 3.28 (LightGBM 4.7 refuses older), clang and libclang (bindgen), promtool.
deps:
	@if ! command -v clang >/dev/null 2>&1 || ! ls /usr/lib/llvm-*/lib/libclang*.so* >/dev/null 2>&1; then \
	  echo "deps: installing clang and libclang-dev"; \
	  $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang libclang-dev >/dev/null; \
	fi
	@if ! cmake --version 2>/dev/null | awk 'NR==1 { split($$3, v, "."); exit !((v[1] > 3) || (v[1] == 3 && v[2] >= 28)) }'; then \
	  echo "deps: installing cmake >= 3.28 from PyPI"; \
	  python3 -m pip install -q 'cmake>=3.28'; \
	fi
	@if ! command -v promtool >/dev/null 2>&1; then \
	  echo "deps: installing promtool (Debian prometheus) to check /metrics"; \
	  $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null; \
	fi
	@cmake --version | head -1 && clang --version | head -1 && promtool --version 2>&1 | head -1

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
	$(CARGO) test --release --locked
	@for f in pipelines/*.hf scenarios/*.hf; do $(BIN) check $$f >/dev/null || exit 1; done
	@echo "all tests passed"

bench: deps
	$(CARGO) bench --locked --bench frontend

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
