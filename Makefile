# e2e — Eep2Eep mail.  `make` builds bin/, `make check` runs the suite,
# `make deps` installs the Debian packages, `make demo` runs the demo.

CC       ?= cc
PREFIX   ?= /usr/local
DESTDIR  ?=
OPT      ?= -O2
WARN      = -Wall -Wextra -Werror
HARDEN    = -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
CFLAGS   ?= $(OPT)
ALLCFLAGS = -std=gnu11 $(WARN) $(HARDEN) $(CFLAGS) -Isrc/lib
# Static PIE: programs spawned per message start about 25-60% faster.
LDHARDEN  = -static-pie -Wl,-z,relro,-z,now
LIBS      = -lskarnet -lbearssl -lcrypt

# STATIC=0: dynamic PIE (valgrind's memcheck needs a dynamic libc).
STATIC   ?= 1
ifeq ($(STATIC),0)
LDHARDEN  = -pie -Wl,-z,relro,-z,now
endif

ifeq ($(SANITIZE),1)
OPT       = -O1 -g
ALLCFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
LDHARDEN  = -pie -Wl,-z,relro,-z,now -fsanitize=address,undefined
HARDEN    = -fstack-protector-strong -fPIE
endif

PROGSRC   = $(wildcard src/e2e-*.c)
PROGS     = $(patsubst src/%.c,bin/%,$(PROGSRC))
SCRIPTSRC = $(wildcard src/e2e-*.sh)
SCRIPTS   = $(patsubst src/%.sh,bin/%,$(SCRIPTSRC))
LIBSRC    = $(wildcard src/lib/*.c)
LIBOBJ    = $(patsubst src/lib/%.c,build/lib/%.o,$(LIBSRC))
LIBHDR    = $(wildcard src/lib/*.h)
UNITSRC   = $(wildcard tests/unit/*.c)
UNITS     = $(patsubst tests/unit/%.c,build/unit/%,$(UNITSRC))

all: $(PROGS) $(SCRIPTS)

# Rebuild everything when the flags change (e.g. SANITIZE=1 after a plain build).
build/flags: FORCE
	@mkdir -p build/lib build/unit bin
	@echo '$(CC) $(ALLCFLAGS) $(LDHARDEN)' | cmp -s - $@ || echo '$(CC) $(ALLCFLAGS) $(LDHARDEN)' > $@

build/lib/%.o: src/lib/%.c $(LIBHDR) build/flags
	$(CC) $(ALLCFLAGS) -c -o $@ $<

build/libe2e.a: $(LIBOBJ)
	rm -f $@ && ar rcs $@ $(LIBOBJ)

bin/%: src/%.c build/libe2e.a $(LIBHDR) build/flags
	$(CC) $(ALLCFLAGS) $(LDHARDEN) -o $@ $< build/libe2e.a $(LIBS)

bin/%: src/%.sh
	@mkdir -p bin
	cp $< $@ && chmod 755 $@

build/unit/%: tests/unit/%.c build/libe2e.a $(LIBHDR) tests/unit/tap.h build/flags
	$(CC) $(ALLCFLAGS) -Itests/unit $(LDHARDEN) -o $@ $< build/libe2e.a $(LIBS)

units: $(UNITS)

# The whole suite: TAP scripts and unit-test programs, run by prove.
check: deps all units
	prove -e '' $(UNITS) $(wildcard tests/*.t)

deps:
	sh tests/deps.sh

# Two mail servers on a private I2P network of i2pd routers; a message
# sent with swaks, fetched with POP3, its hops shown (demo/demo.sh).
demo: deps all
	bash demo/demo.sh

# --- issue 5: hardening (each block belongs to its script) ---
# Coverage-guided fuzzing of every parser, bounded time per harness
# (tests/fuzz/run.sh; FUZZTIME=seconds per harness).
fuzz: deps
	sh tests/fuzz/run.sh

# The scripted conversations under valgrind's memcheck (dynamic build).
valgrind: deps
	sh tests/valgrind.sh

# SIGKILLs over every program while mail flows; injected I/O faults.
torture: deps all
	bash tests/torture.sh

# --- issue 6: benchmarks against Postfix, Dovecot, smtp-sink ---
bench: deps all
	bash tests/bench/bench.sh

# make install [PREFIX=/usr/local] [DESTDIR=]: programs into $(PREFIX)/bin,
# man pages into $(PREFIX)/share/man/man8, the s6 service templates into
# $(PREFIX)/share/e2e/run (where e2e-setup looks, beside its bin/).
BINDIR    = $(PREFIX)/bin
MAN8DIR   = $(PREFIX)/share/man/man8
TMPLDIR   = $(PREFIX)/share/e2e/run
install: all
	install -d -m 755 $(DESTDIR)$(BINDIR) $(DESTDIR)$(MAN8DIR) $(DESTDIR)$(TMPLDIR)
	install -m 755 $(PROGS) $(SCRIPTS) $(DESTDIR)$(BINDIR)
	install -m 644 $(wildcard src/e2e-*.8) $(DESTDIR)$(MAN8DIR)
	rm -rf $(DESTDIR)$(TMPLDIR) && install -d -m 755 $(DESTDIR)$(TMPLDIR)
	cd run && for f in $$(find . -type f); do \
	  m=644; [ ! -x "$$f" ] || m=755; \
	  install -D -m $$m "$$f" "$(abspath $(DESTDIR)$(TMPLDIR))/$$f" || exit 1; \
	done

clean:
	rm -rf build bin/e2e-*

FORCE:
.PHONY: all check demo deps clean install units fuzz valgrind torture bench FORCE
.SECONDARY:
