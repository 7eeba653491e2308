# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# make            build everything into build/ (loader: build/colo-xdp)
# make deps       install the Debian packages the project needs (idempotent)
# make check      deps + build + the whole test suite (root for netns tests)
# make demo       the main job on network namespaces
# make bench-engine   frames per second through the engine alone
# make format     reformat; make format-check fails on a difference
# make vmlinux    regenerate vmlinux.h from the running kernel's BTF

BUILD ?= build
CC ?= gcc
CLANG ?= clang
BPFTOOL ?= bpftool

# Debian 12 packages: libraries and the tools the tests and the demo drive.
DEB_PKGS := libbpf-dev libxdp-dev libelf-dev zlib1g-dev libnuma-dev \
	    libpcap-dev clang llvm bpftool iproute2 tcpdump iputils-ping \
	    clang-format libclang-rt-14-dev python3 ethtool \
	    qemu-system-x86 linux-image-amd64 cpio gnuplot-nox procps \
	    liburing-dev

CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Wno-unused-parameter -D_GNU_SOURCE \
	  -Iinclude -Iuser -Iselftests -I$(BUILD)
LDLIBS := -lxdp -lbpf -lelf -lz -lnuma -lpcap -lpthread
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
	     -fno-sanitize-recover=undefined
BPF_CFLAGS := -O2 -g -target bpf -D__TARGET_ARCH_x86 -Wall -I. -Iinclude

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))

LIB_SRCS := $(filter-out user/main.c,$(wildcard user/*.c))
TEST_SRCS := $(wildcard selftests/test_*.c)
# Frame builders and the harness: linked into the tests and into tools/,
# whose capture and traffic generators craft the same frames.
SUPPORT_SRCS := $(filter-out $(TEST_SRCS),$(wildcard selftests/*.c))
TOOL_SRCS := $(wildcard tools/*.c)

OBJ := $(BUILD)/obj
AOBJ := $(BUILD)/asan/obj
LIB_OBJS := $(patsubst %.c,$(OBJ)/%.o,$(LIB_SRCS))
ALIB_OBJS := $(patsubst %.c,$(AOBJ)/%.o,$(LIB_SRCS))
SUPPORT_OBJS := $(patsubst %.c,$(OBJ)/%.o,$(filter-out selftests/test.c,$(SUPPORT_SRCS)))
ASUPPORT_OBJS := $(patsubst %.c,$(AOBJ)/%.o,$(SUPPORT_SRCS))
TESTS := $(patsubst selftests/%.c,$(BUILD)/selftests/%,$(TEST_SRCS))
ATESTS := $(patsubst selftests/%.c,$(BUILD)/asan/selftests/%,$(TEST_SRCS))
TOOLS := $(patsubst tools/%.c,$(BUILD)/%,$(TOOL_SRCS))
LOADER := $(BUILD)/colo-xdp

FORMAT_SRCS = $(filter-out vmlinux.h,$(wildcard include/*.h bpf/*.c \
	      user/*.[ch] tools/*.[ch] selftests/*.[ch]))

# Suites run by selftests/run: C test binaries, plain and sanitized, and
# the shell suites (replay, end-to-end on namespaces).
SUITES = $(TESTS) $(ATESTS) \
	 $(sort $(filter-out selftests/lib.sh,$(wildcard selftests/*.sh)))

.PHONY: all deps check tests demo bench-engine format format-check vmlinux \
	clean
.DELETE_ON_ERROR:
# Objects and skeletons are intermediate to make; keep them for rebuilds.
.SECONDARY:

all: $(BPF_OBJS) $(LOADER) $(TOOLS)

tests: all $(TESTS) $(ATESTS)

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

bench-engine: $(BUILD)/bench-engine
	$(BUILD)/bench-engine

$(BUILD)/%.bpf.o: bpf/%.bpf.c vmlinux.h $(wildcard include/*.h)
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@

$(OBJ)/%.o: %.c $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(AOBJ)/%.o: %.c $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN_FLAGS) -MMD -MP -c $< -o $@

$(LOADER): $(OBJ)/user/main.o $(LIB_OBJS)
	$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/%: $(OBJ)/tools/%.o $(SUPPORT_OBJS) $(LIB_OBJS)
	$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

# The benchmark's source batches its tap writes with io_uring.
$(BUILD)/bench-traffic: LDLIBS += -luring

$(BUILD)/selftests/%: $(OBJ)/selftests/%.o $(OBJ)/selftests/test.o \
		      $(SUPPORT_OBJS) $(LIB_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/asan/selftests/%: $(AOBJ)/selftests/%.o $(ASUPPORT_OBJS) \
			   $(ALIB_OBJS)
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

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

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
	       -D_GNU_SOURCE -Iinclude -Iuser -Iselftests -Iselftests/fuzz
FUZZ_DIR := $(BUILD)/fuzz
FUZZ_TARGETS := $(patsubst selftests/fuzz/%.c,$(FUZZ_DIR)/%,\
		$(wildcard selftests/fuzz/fuzz_*.c))
# An archive: each target links only the objects it uses.
FUZZ_LIB_SRCS := $(filter-out $(shell grep -l 'skel\.h' user/*.c),$(LIB_SRCS)) \
		 selftests/frames.c
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

$(FUZZ_DIR)/mkseeds: selftests/fuzz/mkseeds.c selftests/frames.c \
		     user/pcap_io.c $(wildcard selftests/fuzz/*.h) \
		     user/xen_proto.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iselftests/fuzz $(filter %.c,$^) -lpcap -o $@

fuzz-seeds: $(FUZZ_DIR)/mkseeds
	$(FUZZ_DIR)/mkseeds selftests/fuzz/corpus

# --- hostmem: UMEM placement on a machine with four NUMA nodes ---------
# make check-numa    boot Debian's kernel (linux-image-amd64) under QEMU TCG
#                    with four NUMA nodes, selftests/numa/test_numa as its
#                    init (selftests/numa/run.sh); about 15 s, and
#                    part of make check
# make bench-prealloc   --prealloc time of a 1 GiB UMEM for 1, 2, 4 threads
NUMA_BUILD := $(BUILD)/numa
NUMA_DEPS := user/hostmem.c user/cli.c user/hostmem.h user/cli.h \
	     selftests/numa/hostmem_check.h
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
# make bench        the whole benchmark (root, about 5 minutes): the table
#                   on stdout; bench/results/ bench.json, table.md and
#                   bench.png; the results section of bench/README.md
# make bench-smoke  every measurement once and briefly, into
#                   $(BUILD)/bench-smoke (selftests/bench-smoke.sh runs it)
BENCH_BINS = $(LOADER) $(BUILD)/bench-traffic $(BUILD)/bench-forward \
	     $(BUILD)/bench-qemu

.PHONY: bench bench-smoke

bench: deps
	$(MAKE) $(BENCH_BINS)
	BUILD=$(abspath $(BUILD)) bench/run.sh

bench-smoke: $(BENCH_BINS)
	BUILD=$(abspath $(BUILD)) bench/run.sh --smoke \
		--out $(abspath $(BUILD))/bench-smoke

# --- soak: colo-xdp run under mixed traffic for minutes (not in check) --
# make soak   SOAK_SECONDS (180) of matching, mismatching and timing-out
#             streams with a controller answering checkpoints; prints
#             VmRSS and the frame pool every 5 s, fails unless both stay
#             flat (tools/soak.sh says how flat)
SOAK_SECONDS ?= 180
.PHONY: soak
soak: all
	SOAK_SECONDS=$(SOAK_SECONDS) BUILD=$(abspath $(BUILD)) bash tools/soak.sh
