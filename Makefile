# websocket 1.6 for Tcl, in Rust.
#   make            build the package into build/lib (use with TCLLIBPATH)
#   make demo       build, then run a server of ours and a client on loopback
#   make test       build and run every test (installs what it needs)
#   make install    install into the Tcl package path (PREFIX, DESTDIR)
#   TCL_CONFIG=/path/to/tclConfig.sh picks another Tcl (e.g. Tcl 9).

SHELL      := /bin/bash
VERSION    := 1.6
TCLSH      ?= tclsh
PROFILE    ?= release
CARGO_FLAGS = $(if $(filter release,$(PROFILE)),--release,)
TARGET_DIR ?= target
BUILD      ?= build
PKGDIR      = $(BUILD)/lib/websocket$(VERSION)
LIBFILE     = libtclwebsocket.so
PREFIX     ?= /usr/local
DESTDIR    ?=
TCL_PKGPATH ?= $(shell echo 'puts [lindex [tcl::pkgconfig get scriptdir,runtime] 0]' | $(TCLSH) 2>/dev/null)
INSTALLDIR  = $(DESTDIR)$(or $(INSTALL_LIBDIR),$(PREFIX)/lib/tcltk)/websocket$(VERSION)
VENV        = .venv
PY          = $(VENV)/bin/python
TCL9       := $(HOME)/.cache/tcl9
SHARED     ?= ../shared

export CARGO_TARGET_DIR := $(TARGET_DIR)

.PHONY: all build deps venv demo test test-rust fuzz test-tcl test-tcl9 test-diff test-autobahn \
        lint install clean

all: build

# ---------------------------------------------------------------- setup
# System packages a fresh machine lacks: libclang for bindgen, Tcl headers,
# the openssl command line (the TLS tests make their certificates with it),
# nginx (tests/nginx.test: a reverse proxy in front of our server and of
# echoserver.py) and chromium (tests/browser.test: a headless browser as
# client).  Without recommends: chromium then needs 125 MB, not 155 MB.
# tcl-tls: Tcl 8.6's tls package (tests/tls_server.test serves wss:// with
# tls::socket -server, as tcllib users do).
deps:
	@missing=""; \
	for p in libclang-dev tcl-dev tcl8.6-dev openssl nginx chromium tcl-tls; do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

$(PY): tests/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q -r tests/requirements.txt
	touch $(PY)

venv: $(PY)

# ---------------------------------------------------------------- build
build: deps
	cargo build $(CARGO_FLAGS) -p tcl-websocket
	mkdir -p $(PKGDIR)
	@# A new file, not an overwrite: processes using the old one keep it.
	install -m 755 $(TARGET_DIR)/$(PROFILE)/$(LIBFILE) $(PKGDIR)/$(LIBFILE)
	sed -e 's/@VERSION@/$(VERSION)/g' -e 's/@LIBFILE@/$(LIBFILE)/g' pkgIndex.tcl.in > $(PKGDIR)/pkgIndex.tcl

# The same package built against Tcl 9 headers, in its own folders.
build9: deps
	bash $(SHARED)/tools/tcl9.sh >/dev/null
	$(MAKE) build TCL_CONFIG=$(TCL9)/usr/lib/tcl9.0/tclConfig.sh TARGET_DIR=target/tcl9 BUILD=build/tcl9

install: build
	mkdir -p $(INSTALLDIR)
	install -m 755 $(PKGDIR)/$(LIBFILE) $(INSTALLDIR)/
	install -m 644 $(PKGDIR)/pkgIndex.tcl $(INSTALLDIR)/

# ---------------------------------------------------------------- demo
demo: build venv
	TCLLIBPATH=$(CURDIR)/$(BUILD)/lib PYTHON=$(CURDIR)/$(PY) $(TCLSH) examples/demo.tcl

# ---------------------------------------------------------------- tests
test: build build9 venv
	@$(MAKE) --no-print-directory test-all

test-all:
	@bash tests/run-all.sh

test-rust:
	cargo test -p tcl-websocket --lib

# Fuzz the protocol core for FUZZ_SECONDS (a short pass runs in make test).
FUZZ_SECONDS ?= 60
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) cargo test --release -p tcl-websocket --lib fuzz_for_duration -- --nocapture

lint:
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings

clean:
	rm -rf $(BUILD) target

# ---------------------------------------------------------------- bench
# Throughput, latency, idle memory and isolation against tcllib's package
# and a native Rust server (bench/run.sh; loopback only, bounded runs).
.PHONY: bench bench-quick
bench: build
	bash bench/run.sh full
	PYTHON=python3 bash bench/deflate.sh

bench-quick: build
	bash bench/run.sh quick
