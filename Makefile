# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# make            the loader (build/colo-xdp), colo_steer.bpf.o and the tools
# make tests      also the test programs and the benchmark's
# make deps       install the Debian packages the project needs (idempotent)
# make check      deps + build + the whole test suite (root for netns tests)
# make demo       the main job on network namespaces
# make bench-engine   frames per second through the engine alone
# make format     reformat; make format-check fails on a difference
# make vmlinux    regenerate vmlinux.h from the running kernel's BTF
# make install    colo-xdp, colo_steer.bpf.o, manual pages, systemd units
#                 and bash completion under PREFIX (/usr/local), staged
#                 in DESTDIR; make uninstall removes exactly those

# the components' rules come before 'all': name it the goal of a bare make
.DEFAULT_GOAL := all
# no built-in rules: none is used, and each widens every implicit search
MAKEFLAGS += --no-builtin-rules
.SUFFIXES:

BUILD ?= build
CC ?= gcc
CLANG ?= clang
BPFTOOL ?= bpftool

# Debian 12 packages: libraries and the tools the tests and the demo drive.
DEB_PKGS := libbpf-dev libxdp-dev libelf-dev zlib1g-dev libnuma-dev \
	    libpcap-dev clang llvm bpftool iproute2 tcpdump iputils-ping \
	    clang-format libclang-rt-14-dev python3 ethtool \
	    qemu-system-x86 linux-image-amd64 cpio gnuplot-nox procps \
	    liburing-dev man-db systemd libcap2-bin

CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Wno-unused-parameter -D_GNU_SOURCE \
	  -Iinclude -I$(BUILD) $(COMP_INC)
# Each binary keeps the libraries it calls and no others.
LDLIBS := -Wl,--as-needed -lxdp -lbpf -lelf -lz -lnuma -lpcap -lpthread
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
	     -fno-sanitize-recover=undefined
BPF_CFLAGS := -O2 -g -target bpf -D__TARGET_ARCH_x86 -Wall -I. -Iinclude

OBJ := $(BUILD)/obj
AOBJ := $(BUILD)/asan/obj

# The loader's components, a folder each under user/, lowest first. A
# component sees its own headers, those of the components it is built on
# (DEPS_x) and include/, nothing else: the engine cannot reach the
# datapath or the control plane, the datapath cannot reach the engine.
# Each is an archive, so a program links the objects it calls and no
# others.
COMPONENTS := util engine mem io datapath steer control secondary chardev
DEPS_util :=
DEPS_engine :=
DEPS_mem := util
DEPS_io := util
DEPS_datapath := util mem
DEPS_steer := util
DEPS_control := util engine
DEPS_secondary := util steer
# QEMU's frame channels on a tap: the control plane's sockets, pin_dir's
# record
DEPS_chardev := util control steer
# The commands (user/cmd/) sit on top of them all, and so do the tools,
# the benchmark and the tests.
ALL_INC := $(foreach c,$(COMPONENTS) cmd,-Iuser/$(c))
comp_objs = $(patsubst %.c,$(2)/%.o,$(wildcard user/$(1)/*.c))
lib_of = $(1)/lib/libcolo-$(2).a

define component
$(call lib_of,$(BUILD),$(1)): $(call comp_objs,$(1),$(OBJ))
$(call lib_of,$(BUILD)/asan,$(1)): $(call comp_objs,$(1),$(AOBJ))
$(OBJ)/user/$(1)/%.o $(AOBJ)/user/$(1)/%.o: \
	COMP_INC := $(foreach d,$(1) $(DEPS_$(1)),-Iuser/$(d))
endef
$(foreach c,$(COMPONENTS),$(eval $(call component,$(c))))
$(OBJ)/user/cmd/%.o $(AOBJ)/user/cmd/%.o: COMP_INC := $(ALL_INC)

# Frame builders, the tap and the offered load that the tools, the
# benchmark and the tests share: tools/lib/, an archive too.
TOOLLIB_SRCS := $(wildcard tools/lib/*.c)
$(BUILD)/lib/libcolo-tools.a: $(patsubst %.c,$(OBJ)/%.o,$(TOOLLIB_SRCS))
$(BUILD)/asan/lib/libcolo-tools.a: $(patsubst %.c,$(AOBJ)/%.o,$(TOOLLIB_SRCS))
$(OBJ)/tools/%.o $(OBJ)/bench/%.o: COMP_INC := -Itools/lib $(ALL_INC)
$(OBJ)/selftests/%.o $(AOBJ)/selftests/%.o $(AOBJ)/tools/%.o: \
	COMP_INC := -Iselftests -Itools/lib $(ALL_INC)

# In link order: every archive after those that call into it.
LIBS := $(foreach c,tools chardev control secondary steer datapath io mem engine \
	  util,$(call lib_of,$(BUILD),$(c)))
ALIBS := $(foreach c,tools chardev control secondary steer datapath io mem engine \
	   util,$(call lib_of,$(BUILD)/asan,$(c)))

# Objects that include a BPF skeleton wait for it; no other object does.
$(OBJ)/user/steer/steer.o $(AOBJ)/user/steer/steer.o: \
	$(BUILD)/colo_steer.skel.h
$(OBJ)/user/steer/mirror.o $(AOBJ)/user/steer/mirror.o: \
	$(BUILD)/colo_mirror.skel.h
$(OBJ)/user/steer/out_stack.o $(AOBJ)/user/steer/out_stack.o: \
	$(BUILD)/colo_out.skel.h
$(OBJ)/user/secondary/rewrite.o $(AOBJ)/user/secondary/rewrite.o: \
	$(BUILD)/colo_rewrite.skel.h
$(OBJ)/bench/bench-traffic.o: $(BUILD)/bench_xdp.skel.h

LOADER := $(BUILD)/colo-xdp
# What users run, beside the loader: tools/*.c
TOOLS := $(patsubst tools/%.c,$(BUILD)/%,$(wildcard tools/*.c))
# make bench's programs: bench/*.c, and its BPF object
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/%,\
		$(filter-out %.bpf.c,$(wildcard bench/*.c)))
TEST_SRCS := $(wildcard selftests/test_*.c)
TESTS := $(patsubst selftests/%.c,$(BUILD)/selftests/%,$(TEST_SRCS))
ATESTS := $(patsubst selftests/%.c,$(BUILD)/asan/selftests/%,$(TEST_SRCS))
# programs the shell suites run: selftests/*.c but the tests and harness
TEST_PROGS := $(patsubst selftests/%.c,$(BUILD)/%,$(filter-out \
		$(TEST_SRCS) selftests/test.c,$(wildcard selftests/*.c)))

FORMAT_SRCS = $(filter-out vmlinux.h,$(wildcard include/*.h bpf/*.c \
	      user/*/*.[ch] tools/*.[ch] tools/lib/*.[ch] bench/*.[ch] \
	      selftests/*.[ch]))

# Suites run by selftests/run: C test binaries, plain and sanitized, and
# the shell suites (replay, end-to-end on namespaces).
SUITES = $(TESTS) $(ATESTS) \
	 $(sort $(filter-out selftests/lib%.sh,$(wildcard selftests/*.sh)))

.PHONY: all deps check tests demo demo-pair bench-engine format format-check vmlinux \
	clean install uninstall
.DELETE_ON_ERROR:
# Objects and skeletons are intermediate to make; keep them for rebuilds.
.SECONDARY:

all: $(BUILD)/colo_steer.bpf.o $(LOADER) $(TOOLS)

tests: all $(TESTS) $(ATESTS) $(TEST_PROGS) $(BENCH_BINS)

deps:
	@missing=$$(for p in $(DEB_PKGS); do \
		dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "make deps: installing" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq $$missing >/dev/null || exit 1; \
	fi

check: deps
	$(MAKE) tests
	$(MAKE) format-check
	BUILD=$(abspath $(BUILD)) selftests/run $(SUITES)

demo: deps
	$(MAKE) all
	tools/demo.sh
	tools/demo-pair.sh

# The whole proxy: curl through run and the secondary agent, a
# checkpoint reaching the agent, a failover of the primary host.
demo-pair: deps
	$(MAKE) all
	tools/demo-pair.sh

bench-engine: $(BUILD)/bench-engine
	$(BUILD)/bench-engine

$(BUILD)/%.bpf.o: bpf/%.bpf.c vmlinux.h $(wildcard include/*.h)
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bench_xdp.bpf.o: bench/bench_xdp.bpf.c vmlinux.h
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@

$(OBJ)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(AOBJ)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN_FLAGS) -MMD -MP -c $< -o $@

# One rule each: a pattern rule with two targets makes both at once.
$(BUILD)/lib/%.a:
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/asan/lib/%.a:
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

$(LOADER): $(patsubst %.c,$(OBJ)/%.o,$(wildcard user/cmd/*.c)) $(LIBS)
	$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/%: $(OBJ)/tools/%.o $(LIBS)
	$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/%: $(OBJ)/bench/%.o $(LIBS)
	$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

# The benchmark's source batches its tap writes with io_uring.
$(BUILD)/bench-traffic: LDLIBS += -luring

$(BUILD)/%: $(OBJ)/selftests/%.o
	$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/selftests/%: $(OBJ)/selftests/%.o $(OBJ)/selftests/test.o $(LIBS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/asan/selftests/%: $(AOBJ)/selftests/%.o $(AOBJ)/selftests/test.o \
			   $(ALIBS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN_FLAGS) $^ $(LDLIBS) -o $@

format:
	clang-format -i $(FORMAT_SRCS)

format-check:
	@clang-format --dry-run --Werror $(FORMAT_SRCS) || \
		{ echo "make format-check: run 'make format'"; exit 1; }

vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux.h

clean:
	rm -rf $(BUILD)

# A .d file is the compiler's, never remade: without the empty rule make
# looks for one through the match-anything $(BUILD)/% rules, for minutes.
DEP_FILES := $(shell find $(BUILD) -name '*.d' 2>/dev/null)
$(DEP_FILES): ;
-include $(DEP_FILES)

# --- install: what an operator runs, where Debian packaging puts it ------
# Give the same PREFIX (and LIBDIR) to the build and to the install: the
# loader's messages name where colo_steer.bpf.o is installed.
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
# colo_steer.bpf.o, for 'ip link set dev IF xdp obj ...' (--attach none);
# colo-xdp run carries the same object built in, and needs no file
LIBDIR ?= $(PREFIX)/lib/colo-xdp
MANDIR ?= $(PREFIX)/share/man
UNITDIR ?= $(PREFIX)/lib/systemd/system
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
INSTALL ?= install

$(OBJ)/user/steer/steer.o $(AOBJ)/user/steer/steer.o: \
	CFLAGS += -DCOLO_BPF_DIR='"$(LIBDIR)"'

# colo-xdp(8) and one page per command, from the flag tables (--man)
MAN_CMDS := run secondary replay stat ctl
MAN8 := $(BUILD)/man/colo-xdp.8 \
	$(patsubst %,$(BUILD)/man/colo-xdp-%.8,$(MAN_CMDS))
# the units name SBINDIR: made at install time, for the PREFIX given then
UNITS := $(patsubst dist/systemd/%.in,%,$(wildcard dist/systemd/*.in))
all: $(MAN8)

$(BUILD)/man/colo-xdp.8: $(LOADER)
	@mkdir -p $(@D)
	$(LOADER) --man > $@

$(BUILD)/man/colo-xdp-%.8: $(LOADER)
	@mkdir -p $(@D)
	$(LOADER) $* --man > $@

# Each installed file, once: install copies them, uninstall removes them.
INSTALLED := $(SBINDIR)/colo-xdp $(LIBDIR)/colo_steer.bpf.o \
	     $(patsubst $(BUILD)/man/%,$(MANDIR)/man8/%,$(MAN8)) \
	     $(MANDIR)/man5/colo-xdp.conf.5 \
	     $(addprefix $(UNITDIR)/,$(UNITS)) \
	     $(BASHCOMPDIR)/colo-xdp

install: all
	$(INSTALL) -D -m 0755 $(LOADER) $(DESTDIR)$(SBINDIR)/colo-xdp
	$(INSTALL) -D -m 0644 $(BUILD)/colo_steer.bpf.o \
		$(DESTDIR)$(LIBDIR)/colo_steer.bpf.o
	$(INSTALL) -d $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR)
	$(INSTALL) -m 0644 $(MAN8) $(DESTDIR)$(MANDIR)/man8/
	$(INSTALL) -D -m 0644 docs/man/colo-xdp.conf.5 \
		$(DESTDIR)$(MANDIR)/man5/colo-xdp.conf.5
	for u in $(UNITS); do \
		sed 's|@SBINDIR@|$(SBINDIR)|g' dist/systemd/$$u.in \
			> $(DESTDIR)$(UNITDIR)/$$u && \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$$u || exit 1; \
	done
	$(INSTALL) -D -m 0644 dist/bash-completion/colo-xdp \
		$(DESTDIR)$(BASHCOMPDIR)/colo-xdp

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	-rmdir $(DESTDIR)$(LIBDIR) 2>/dev/null

# --- fuzz: libFuzzer targets (selftests/fuzz/) --------------------------
# make fuzz          each target for FUZZ_SECONDS (default 60), one after
#                    the other, from its seed corpus; fails on any crash
# make fuzz-build    only build the targets into $(BUILD)/fuzz/
# make fuzz-seeds    regenerate the seed corpora from selftests/fuzz/mkseeds.c
# The code under test is compiled again here with coverage and sanitizers:
# the loader's sources but what includes a BPF skeleton, so the fuzz build
# needs no BPF object.
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	    -fno-omit-frame-pointer
FUZZ_CFLAGS := -O1 -g -std=gnu11 -Wall -Wextra -Wno-unused-parameter \
	       -D_GNU_SOURCE -Iinclude $(ALL_INC) -Itools/lib -Iselftests/fuzz
FUZZ_DIR := $(BUILD)/fuzz
FUZZ_TARGETS := $(patsubst selftests/fuzz/%.c,$(FUZZ_DIR)/%,\
		$(wildcard selftests/fuzz/fuzz_*.c))
# An archive: each target links only the objects it uses.
USER_SRCS := $(filter-out user/cmd/main.c,$(wildcard user/*/*.c))
FUZZ_LIB_SRCS := $(filter-out $(shell grep -l 'skel\.h' $(USER_SRCS)),\
		 $(USER_SRCS)) tools/lib/frames.c
FUZZ_LIB_OBJS := $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(FUZZ_LIB_SRCS))
FUZZ_LIB := $(FUZZ_DIR)/libcolo-fuzz.a
# make format and format-check cover them too
FORMAT_SRCS += $(wildcard selftests/fuzz/*.[ch])

.PHONY: fuzz fuzz-build fuzz-seeds fuzz-force

fuzz: deps
	$(MAKE) fuzz-build
	selftests/fuzz/run $(FUZZ_SECONDS) $(FUZZ_DIR) $(FUZZ_TARGETS)

fuzz-build: $(FUZZ_TARGETS)

$(FUZZ_LIB_OBJS): $(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link \
		-MMD -MP -c $< -o $@

# Rebuilt when a source comes or goes too: with .SECONDARY, the object of
# a new file older than the archive would not be built.
$(FUZZ_DIR)/libcolo-fuzz.srcs: fuzz-force
	@mkdir -p $(@D)
	@echo '$(FUZZ_LIB_SRCS)' | cmp -s - $@ || echo '$(FUZZ_LIB_SRCS)' > $@

$(FUZZ_LIB): $(FUZZ_LIB_OBJS) $(FUZZ_DIR)/libcolo-fuzz.srcs
	rm -f $@
	ar rcs $@ $(FUZZ_LIB_OBJS)

$(FUZZ_TARGETS): $(FUZZ_DIR)/%: selftests/fuzz/%.c $(FUZZ_LIB)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer -MMD -MP $< \
		$(FUZZ_LIB) $(LDLIBS) -o $@

$(FUZZ_DIR)/mkseeds: selftests/fuzz/mkseeds.c tools/lib/frames.c \
		     user/io/pcap_io.c user/chardev/qframe.c \
		     $(wildcard selftests/fuzz/*.h) user/control/xen_proto.h \
		     user/chardev/qframe.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iselftests/fuzz -Itools/lib -Iuser/io -Iuser/control \
		-Iuser/chardev $(filter %.c,$^) -lpcap -o $@

fuzz-seeds: $(FUZZ_DIR)/mkseeds
	$(FUZZ_DIR)/mkseeds selftests/fuzz/corpus

# --- hostmem: UMEM placement on a machine with four NUMA nodes ---------
# make check-numa    boot Debian's kernel (linux-image-amd64) under QEMU TCG
#                    with four NUMA nodes, selftests/numa/test_numa as its
#                    init (selftests/numa/run.sh); about 15 s, and
#                    part of make check
# make bench-prealloc   --prealloc time of a 1 GiB UMEM for 1, 2, 4 threads
NUMA_BUILD := $(BUILD)/numa
NUMA_DEPS := user/mem/hostmem.c user/util/cli.c user/util/caps.c \
	     user/util/log.c user/mem/hostmem.h user/util/cli.h \
	     user/util/caps.h user/util/log.h user/util/cli_opts.h \
	     selftests/numa/hostmem_check.h
$(NUMA_BUILD)/%: COMP_INC := -Iuser/mem -Iuser/util -Iselftests
FORMAT_SRCS += $(wildcard selftests/numa/*.[ch])

.PHONY: check-numa bench-prealloc

# Static: the VM's initramfs holds nothing else. The linker warns that
# libnuma's affinity.o uses getaddrinfo; nothing here calls it.
$(NUMA_BUILD)/test_numa: selftests/numa/test_numa.c selftests/test.c \
			 $(NUMA_DEPS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -static $(filter %.c,$^) -lnuma -lpthread -o $@

$(NUMA_BUILD)/init: selftests/numa/init.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -static $< -o $@

$(NUMA_BUILD)/bench_prealloc: selftests/numa/bench_prealloc.c $(NUMA_DEPS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(filter %.c,$^) -lnuma -lpthread -o $@

# Part of make check too: it takes seconds.
tests: $(NUMA_BUILD)/test_numa $(NUMA_BUILD)/init
SUITES += selftests/numa/run.sh

check-numa: deps
	$(MAKE) $(NUMA_BUILD)/test_numa $(NUMA_BUILD)/init
	BUILD=$(abspath $(BUILD)) selftests/run selftests/numa/run.sh

bench-prealloc: $(NUMA_BUILD)/bench_prealloc
	$(NUMA_BUILD)/bench_prealloc

# --- bench: colo-xdp against QEMU's colo-compare and the bare datapath --
# make bench        the whole benchmark (root, about 20 minutes): the table
#                   on stdout; bench/results/ bench.json, table.md and
#                   bench.png; the results section of bench/README.md
# make bench-smoke  every measurement once and briefly, into
#                   $(BUILD)/bench-smoke (selftests/bench-smoke.sh runs it)
# make bench-secondary-path  the secondary path alone (about 5 minutes):
#                   colo-xdp with the agent on the way, with tc's redirect
#                   in its place, and without a link, into
#                   $(BUILD)/bench-secondary; the README untouched
#                   (bench/run.sh --only SECTION: any one section)
.PHONY: bench bench-smoke bench-secondary-path

bench: deps
	$(MAKE) $(LOADER) $(BENCH_BINS)
	BUILD=$(abspath $(BUILD)) bench/run.sh

bench-smoke: $(LOADER) $(BENCH_BINS)
	BUILD=$(abspath $(BUILD)) bench/run.sh --smoke \
		--out $(abspath $(BUILD))/bench-smoke

bench-secondary-path: $(LOADER) $(BENCH_BINS)
	BUILD=$(abspath $(BUILD)) bench/run.sh --only secondary

# --- soak: colo-xdp run under mixed traffic for minutes (not in check) --
# make soak   SOAK_SECONDS (180) of matching, mismatching and timing-out
#             streams with a controller answering checkpoints; prints
#             VmRSS and the frame pool every 5 s, fails unless both stay
#             flat (tools/soak.sh says how flat)
SOAK_SECONDS ?= 180
.PHONY: soak
soak: all
	SOAK_SECONDS=$(SOAK_SECONDS) BUILD=$(abspath $(BUILD)) bash tools/soak.sh
