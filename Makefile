# websocket 1.6 for Tcl, in Rust.
#   make            build the package into build/lib (use with TCLLIBPATH)
#   make demo       build, then run a server of ours and a client on loopback
#   make test       build and run every test (installs what it needs)
#   make install    install into the Tcl package path (PREFIX, DESTDIR), and
#                   the man page; make uninstall removes what it installed
#   make install9   the same for Tcl 9 (make uninstall9)
#   make doc        regenerate docs/websocket.n and docs/websocket.html
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
# The Tcl major version built for (build9/install9 say 9; else read from
# TCL_CONFIG, else the system's 8): pkgIndex.tcl only registers the library
# in a Tcl it can load into.
TCL_MAJOR  ?= $(or $(if $(TCL_CONFIG),$(shell (. $(TCL_CONFIG) && echo $$TCL_MAJOR_VERSION) 2>/dev/null)),8)
TCLREQ      = $(if $(filter 9,$(TCL_MAJOR)),9.0-10,8.6-9)
# Installed into a folder of Debian's auto_path (Tcl 8.6 and Tcl 9 both scan
# $(PREFIX)/lib/tcltk); the Tcl 9 build in a folder of its own.
INSTALL_LIBDIR ?= $(PREFIX)/lib/tcltk
INSTALL_NAME ?= $(if $(filter 9,$(TCL_MAJOR)),tcl9websocket,websocket)$(VERSION)
MANDIR     ?= $(PREFIX)/share/man
VENV        = .venv
PY          = $(VENV)/bin/python
TCL9       := $(HOME)/.cache/tcl9
SHARED     ?= ../shared

export CARGO_TARGET_DIR := $(TARGET_DIR)

.PHONY: all build build-fault build9-fault deps venv demo test test-rust fuzz test-tcl test-tcl9 test-diff test-autobahn \
        lint install install9 uninstall uninstall9 doc clean

all: build

# ---------------------------------------------------------------- setup
# System packages a fresh machine lacks: libclang for bindgen, Tcl headers,
# the openssl command line (the TLS tests make their certificates with it),
# nginx (tests/nginx.test: a reverse proxy in front of our server and of
# echoserver.py) and chromium (tests/browser.test: a headless browser as
# client).  Without recommends: chromium then needs 125 MB, not 155 MB.
# tcl-tls: Tcl 8.6's tls package (tests/tls_server.test serves wss:// with
# tls::socket -server, as tcllib users do).  tcl-thread: the Thread package
# for Tcl 8.6 (tests/threads.test; Tcl 9's comes with ../shared/tools/tcl9.sh).
# man-db: tests/install-check.sh renders the man page and finds it with man -w.
# tk8.6 and xvfb: tests/tkwait.test runs handlers that tkwait, in a tclsh
# child with Tk on a private Xvfb.
deps:
	@missing=""; \
	for p in libclang-dev tcl-dev tcl8.6-dev openssl nginx chromium tcl-tls tcl-thread man-db tk8.6 xvfb; do \
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
	cargo build $(CARGO_FLAGS) $(if $(FEATURES),--features $(FEATURES)) -p tcl-websocket
	mkdir -p $(PKGDIR)
	@# A new file, not an overwrite: processes using the old one keep it.
	install -m 755 $(TARGET_DIR)/$(PROFILE)/$(LIBFILE) $(PKGDIR)/$(LIBFILE)
	sed -e 's/@VERSION@/$(VERSION)/g' -e 's/@LIBFILE@/$(LIBFILE)/g' -e 's/@TCLREQ@/$(TCLREQ)/g' \
	    pkgIndex.tcl.in > $(PKGDIR)/pkgIndex.tcl

# The same package built against Tcl 9 headers, in its own folders.
build9: deps
	bash $(SHARED)/tools/tcl9.sh >/dev/null
	$(MAKE) build TCL_CONFIG=$(TCL9)/usr/lib/tcl9.0/tclConfig.sh TCL_MAJOR=9 TARGET_DIR=target/tcl9 BUILD=build/tcl9

# Test-only builds with faults the tests can inject into the I/O thread
# (src/engine/fault.rs, tests/engine_fault.test), in their own folders:
# never install these.
build-fault:
	$(MAKE) build FEATURES=fault-injection TARGET_DIR=target/fault BUILD=build/fault

build9-fault:
	bash $(SHARED)/tools/tcl9.sh >/dev/null
	$(MAKE) build FEATURES=fault-injection TCL_CONFIG=$(TCL9)/usr/lib/tcl9.0/tclConfig.sh TCL_MAJOR=9 \
	  TARGET_DIR=target/tcl9-fault BUILD=build/tcl9-fault

# tools/install.sh records what it creates (files and folders) in a
# manifest beside the library; uninstall removes exactly that.  After a real
# install (no DESTDIR) it checks that `package require websocket` in $(TCLSH)
# loads the library just installed, and says what to do when it does not.
INSTALL_ENV = DESTDIR="$(DESTDIR)" LIBDIR="$(INSTALL_LIBDIR)/$(INSTALL_NAME)" MANDIR="$(MANDIR)" \
              PKGDIR="$(PKGDIR)" LIBFILE="$(LIBFILE)" TCLSH="$(TCLSH)" VERSION="$(VERSION)"
install: build
	$(INSTALL_ENV) bash tools/install.sh install

uninstall:
	$(INSTALL_ENV) bash tools/install.sh uninstall

install9 uninstall9:
	bash $(SHARED)/tools/tcl9.sh >/dev/null
	$(MAKE) $(@:9=) TCL_CONFIG=$(TCL9)/usr/lib/tcl9.0/tclConfig.sh TCL_MAJOR=9 TARGET_DIR=target/tcl9 BUILD=build/tcl9 \
	    TCLSH=$(TCL9)/tclsh9.0

# ---------------------------------------------------------------- doc
# The man page, in tcllib's doctools format, turned into nroff and HTML by
# the reference tcllib's dtplite (generated files are committed).
doc:
	bash tools/mkdoc.sh

# ---------------------------------------------------------------- demo
demo: build venv
	TCLLIBPATH=$(CURDIR)/$(BUILD)/lib PYTHON=$(CURDIR)/$(PY) $(TCLSH) examples/demo.tcl

# ---------------------------------------------------------------- tests
test: build build9 build-fault build9-fault venv
	@$(MAKE) --no-print-directory test-all

test-all:
	@bash tests/run-all.sh

test-rust:
	cargo test -p tcl-websocket --lib

# Fuzz the protocol core for FUZZ_SECONDS (a short pass runs in make test).
FUZZ_SECONDS ?= 60
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) cargo test --release -p tcl-websocket --lib fuzz_for_duration -- --nocapture

# cargo fmt --check and clippy -D warnings over the workspace, all targets
# and features (the first stage of make test); src imports one way.
lint:
	bash tests/lint.sh

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
