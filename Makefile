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

# LIBC=musl (the default of a static build): the programs are linked
# statically against musl (Debian's musl-tools), whose static start costs
# about a quarter of glibc's (docs/bench.md): e2e starts processes per
# message.  Debian's libskarnet.a and libbearssl.a are linked in as they
# are (plain C, the kernel's structures; src/lib/libc.c supplies the
# checked mem* functions of glibc that BearSSL's fortified build calls).
# e2e-checkpw and e2e-passwd always use glibc:
# yescrypt comes from libxcrypt.  LIBC=glibc: everything against glibc,
# as with SANITIZE=1 and STATIC=0.
LIBC     ?= musl
ifneq ($(STATIC)$(SANITIZE),1)
LIBC      = glibc
endif
GLIBCPROGS = bin/e2e-checkpw bin/e2e-passwd
MUSLDIR   = /usr/lib/x86_64-linux-musl
MUSLLINK  = $(CC) -static-pie -Wl,-z,relro,-z,now -nostdlib -nostartfiles \
  $(MUSLDIR)/rcrt1.o $(MUSLDIR)/crti.o $$($(CC) -print-file-name=crtbeginS.o)
MUSLEND   = -Wl,--start-group build/musl/libe2e.a \
  /usr/lib/$(ARCH)/libskarnet.a /usr/lib/$(ARCH)/libbearssl.a -Wl,--end-group \
  -L$(MUSLDIR) -lc $$($(CC) -print-libgcc-file-name) \
  $$($(CC) -print-file-name=crtendS.o) $(MUSLDIR)/crtn.o
ARCH      = x86_64-linux-gnu
# musl's memcpy (x86_64) is `rep movsq`, which costs some 45 ns here
# however short the copy (docs/bench.md): e2e's own copies, of any length,
# are compiled inline as a loop of 16-octet moves instead (musl's own, in
# stdio, still call its memcpy).
MUSLCOPY  = -minline-all-stringops -mmemcpy-strategy=vector_loop:-1:noalign

PROGSRC   = $(wildcard src/e2e-*.c)
PROGS     = $(patsubst src/%.c,bin/%,$(PROGSRC))
SCRIPTSRC = $(wildcard src/e2e-*.sh)
SCRIPTS   = $(patsubst src/%.sh,bin/%,$(SCRIPTSRC))
LIBSRC    = $(wildcard src/lib/*.c)
LIBOBJ    = $(patsubst src/lib/%.c,build/lib/%.o,$(LIBSRC))
MUSLOBJ   = $(patsubst src/lib/%.c,build/musl/%.o,$(LIBSRC))
LIBHDR    = $(wildcard src/lib/*.h)
UNITSRC   = $(wildcard tests/unit/*.c)
UNITS     = $(patsubst tests/unit/%.c,build/unit/%,$(UNITSRC))

all: $(PROGS) $(SCRIPTS)

# Rebuild everything when the flags change (e.g. SANITIZE=1 after a plain build);
# the first line is the compiler's command (tests/fuzz.t builds with it).
build/flags: FORCE
	@mkdir -p build/lib build/musl/include build/unit bin
	@printf '%s\nLIBC=%s\n' '$(CC) $(ALLCFLAGS) $(LDHARDEN)' '$(LIBC) $(MUSLCOPY)' | cmp -s - $@ || \
	  printf '%s\nLIBC=%s\n' '$(CC) $(ALLCFLAGS) $(LDHARDEN)' '$(LIBC) $(MUSLCOPY)' > $@

build/lib/%.o: src/lib/%.c $(LIBHDR) build/flags
	$(CC) $(ALLCFLAGS) -c -o $@ $<

build/libe2e.a: $(LIBOBJ)
	rm -f $@ && ar rcs $@ $(LIBOBJ)

# musl's headers, plus skalibs' and BearSSL's from Debian (not the rest of
# /usr/include, which is glibc's).
build/musl/include/.done: build/flags
	ln -sfn /usr/include/$(ARCH)/skalibs build/musl/include/skalibs
	for h in /usr/include/bearssl*.h; do ln -sf $$h build/musl/include/; done
	ln -sfn /usr/include/bearssl build/musl/include/bearssl
	# the kernel's headers (linux/, asm/), which musl-gcc leaves out: the unit tests' seccomp filter
	ln -sfn /usr/include/linux build/musl/include/linux
	ln -sfn /usr/include/$(ARCH)/asm build/musl/include/asm
	ln -sfn /usr/include/asm-generic build/musl/include/asm-generic
	touch $@

build/musl/%.o: src/lib/%.c $(LIBHDR) build/musl/include/.done
	musl-gcc $(ALLCFLAGS) $(MUSLCOPY) -Ibuild/musl/include -c -o $@ $<

build/musl/libe2e.a: $(MUSLOBJ)
	rm -f $@ && ar rcs $@ $(MUSLOBJ)

ifeq ($(LIBC),musl)
bin/%: src/%.c build/musl/libe2e.a $(LIBHDR) build/flags
	musl-gcc $(ALLCFLAGS) $(MUSLCOPY) -Ibuild/musl/include -c -o build/musl/$*.prog.o $<
	$(MUSLLINK) build/musl/$*.prog.o $(MUSLEND) -o $@

$(GLIBCPROGS): bin/%: src/%.c build/libe2e.a $(LIBHDR) build/flags
	$(CC) $(ALLCFLAGS) $(LDHARDEN) -o $@ $< build/libe2e.a $(LIBS)

build/unit/%: tests/unit/%.c build/musl/libe2e.a $(LIBHDR) tests/unit/tap.h build/flags
	musl-gcc $(ALLCFLAGS) $(MUSLCOPY) -Ibuild/musl/include -Itests/unit -c -o build/unit/$*.o $<
	$(MUSLLINK) build/unit/$*.o $(MUSLEND) -o $@

# the benchmarks' durable responder, compiled and linked as e2e's programs are
build/bench/durable: tests/bench/durable.c build/musl/libe2e.a build/flags
	@mkdir -p build/bench
	musl-gcc $(ALLCFLAGS) $(MUSLCOPY) -c -o build/bench/durable.o $<
	$(MUSLLINK) build/bench/durable.o $(MUSLEND) -o $@
else
bin/%: src/%.c build/libe2e.a $(LIBHDR) build/flags
	$(CC) $(ALLCFLAGS) $(LDHARDEN) -o $@ $< build/libe2e.a $(LIBS)

build/unit/%: tests/unit/%.c build/libe2e.a $(LIBHDR) tests/unit/tap.h build/flags
	$(CC) $(ALLCFLAGS) -Itests/unit $(LDHARDEN) -o $@ $< build/libe2e.a $(LIBS)

build/bench/durable: tests/bench/durable.c build/flags
	@mkdir -p build/bench
	$(CC) $(ALLCFLAGS) $(LDHARDEN) -o $@ $<
endif

bin/%: src/%.sh
	@mkdir -p bin
	cp $< $@ && chmod 755 $@

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
bench: deps all build/bench/durable
	bash tests/bench/bench.sh

# make install [PREFIX=/usr/local] [DESTDIR=]: programs into $(PREFIX)/bin,
# man pages into $(PREFIX)/share/man/man8, the s6 service templates into
# $(PREFIX)/share/e2e/run and the default settings (env/) into
# $(PREFIX)/share/e2e/env (where e2e-setup looks, beside its bin/).
BINDIR    = $(PREFIX)/bin
MAN8DIR   = $(PREFIX)/share/man/man8
TMPLDIR   = $(PREFIX)/share/e2e/run
ENVDIR    = $(PREFIX)/share/e2e/env
install: all
	install -d -m 755 $(DESTDIR)$(BINDIR) $(DESTDIR)$(MAN8DIR) $(DESTDIR)$(TMPLDIR)
	install -m 755 $(PROGS) $(SCRIPTS) $(DESTDIR)$(BINDIR)
	install -m 644 $(wildcard src/e2e-*.8) $(DESTDIR)$(MAN8DIR)
	rm -rf $(DESTDIR)$(ENVDIR) && install -d -m 755 $(DESTDIR)$(ENVDIR)
	install -m 644 env/* $(DESTDIR)$(ENVDIR)
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
