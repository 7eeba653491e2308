// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The UMEM's host memory on this one-node machine: every policy read back
 * from the kernel (get_mempolicy, /proc/self/numa_maps, move_pages), every
 * validation error's message, huge pages, the core dump flag and
 * multi-threaded preallocation. Needs root (huge page reservation,
 * CAP_IPC_LOCK for UMEMs over RLIMIT_MEMLOCK): without it, or without huge
 * pages of a size, the cases that need them are skipped, saying why.
 */
#include <errno.h>
#include <numaif.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/capability.h>

#include "cli.h"
#include "cli_opts.h"
#include "hostmem.h"
#include "numa/hostmem_check.h"
#include "test.h"

#define MIB (1024ULL * 1024)
#define HM_1G_HUGEPAGES "/sys/kernel/mm/hugepages/hugepages-1048576kB"

/* Parse "--flag value" pairs into o; value "" stands for none. */
static int parse(struct hostmem_opts *o, const char *flag, const char *value)
{
	return hostmem_parse_flag(o, "test", flag, value[0] ? value : NULL);
}

/* Run hostmem_alloc() with stderr captured into err. */
static int alloc_capture(const struct hostmem_opts *o, const char *ifname,
			 int cpu, struct hostmem *m, char *err, size_t len)
{
	const char *ifnames[1] = { ifname };
	int ret;

	hm_capture_begin();
	ret = hostmem_alloc(o, "test", ifnames, ifname ? 1 : 0, cpu, m);
	hm_capture_end(err, len);
	return ret;
}

static bool has_cap_ipc_lock(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct caps[_LINUX_CAPABILITY_U32S_3] = {};

	if (syscall(SYS_capget, &hdr, caps))
		return false;
	return caps[CAP_IPC_LOCK / 32].effective & (1U << (CAP_IPC_LOCK % 32));
}

/*
 * Whether hostmem_alloc() refuses a UMEM of size here, before anything a
 * case checks: over RLIMIT_MEMLOCK without CAP_IPC_LOCK (memlock_limit
 * checks that refusal). why gets the reason to skip with.
 */
static bool cannot_lock(uint64_t size, char *why, size_t len)
{
	struct rlimit rl;

	if (has_cap_ipc_lock() || getrlimit(RLIMIT_MEMLOCK, &rl) ||
	    rl.rlim_cur == RLIM_INFINITY || size <= rl.rlim_cur)
		return false;
	snprintf(
		why, len,
		"a UMEM of %llu KiB is over RLIMIT_MEMLOCK (%llu KiB) and this process lacks CAP_IPC_LOCK: run as root",
		(unsigned long long)(size / 1024),
		(unsigned long long)(rl.rlim_cur / 1024));
	return true;
}

/* Why this process cannot set the 2 MiB huge page reserve, or NULL. */
static const char *no_hugepage_reserve(void)
{
	if (access(HM_FREE_HUGEPAGES, F_OK))
		return "this kernel has no 2 MiB huge pages (no " HM_FREE_HUGEPAGES
		       ")";
	if (access(HM_NR_HUGEPAGES, W_OK))
		return "cannot write " HM_NR_HUGEPAGES
		       " to reserve huge pages: run as root";
	return NULL;
}

/* An option set from flags, then the error it makes hostmem_alloc() give. */
static void expect_alloc_error(struct hostmem_opts *o, const char *want1,
			       const char *want2)
{
	struct hostmem m;
	char err[1024];

	CHECK(alloc_capture(o, NULL, -1, &m, err, sizeof(err)) < 0);
	CHECK(!m.area);
	if (!strstr(err, want1) || (want2 && !strstr(err, want2))) {
		fprintf(stderr, "  want '%s' / '%s' in: %s\n", want1,
			want2 ? want2 : "", err);
		test_case_failed = 1;
	}
}

TEST(parse_flags)
{
	struct hostmem_opts o;
	char err[512];

	hostmem_opts_init(&o);
	CHECK_EQ(parse(&o, "--umem-size", "64M"), 0);
	CHECK_EQ(o.size, 64 * MIB);
	CHECK_EQ(parse(&o, "umem-size", "1G"), 0);
	CHECK_EQ(o.size, 1024 * MIB);
	CHECK_EQ(parse(&o, "umem-size", "4096"), 0);
	CHECK_EQ(o.size, 4096);
	CHECK_EQ(parse(&o, "numa-policy", "interleave"), 0);
	CHECK_EQ(o.policy, HOSTMEM_POLICY_INTERLEAVE);
	CHECK_EQ(parse(&o, "host-nodes", "0-1,3"), 0);
	CHECK_EQ(o.nodes[0], 0xb);
	CHECK_EQ(parse(&o, "host-nodes", "127"), 0);
	CHECK_EQ(o.nodes[0], 0);
	CHECK_EQ(o.nodes[1], 1ULL << 63);
	CHECK_EQ(parse(&o, "hugepages", ""), 0);
	CHECK(o.hugepages);
	CHECK_EQ(o.hugepage_size, 0);
	CHECK_EQ(parse(&o, "hugepages", "1G"), 0);
	CHECK_EQ(o.hugepage_size, 1024 * MIB);
	CHECK_EQ(parse(&o, "prealloc", ""), 0);
	CHECK(o.prealloc);
	CHECK_EQ(parse(&o, "prealloc-threads", "4"), 0);
	CHECK_EQ(o.prealloc_threads, 4);
	CHECK(!o.dump);
	CHECK_EQ(parse(&o, "dump", ""), 0);
	CHECK(o.dump);

	static const struct {
		const char *flag, *value, *want;
	} bad[] = {
		{ "umem-size", "12X", "--umem-size: '12X' is not a size" },
		{ "umem-size", "64MB", "--umem-size: '64MB' is not a size" },
		{ "umem-size", "-1", "--umem-size: '-1' is not a size" },
		{ "umem-size", "0", "--umem-size: must be more than 0" },
		{ "umem-size", "99999999999T",
		  "--umem-size: '99999999999T' is too large" },
		{ "numa-policy", "near",
		  "--numa-policy: 'near' is not one of" },
		{ "host-nodes", "1-0",
		  "--host-nodes: '1-0' is not a node list" },
		{ "host-nodes", "0,", "--host-nodes: '0,' is not a node list" },
		{ "host-nodes", "", "--host-nodes: '' is not a node list" },
		{ "host-nodes", "0-200",
		  "--host-nodes: node 128 is out of range" },
		{ "host-nodes", "300",
		  "--host-nodes: node 300 is out of range" },
		{ "hugepages", "3M",
		  "--hugepages: '3M' is not a huge page size" },
		{ "prealloc-threads", "0",
		  "--prealloc-threads: '0' is not a number" },
		{ "prealloc-threads", "65",
		  "--prealloc-threads: '65' is not a number" },
	};
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		hm_capture_begin();
		/* "" is a value here: only hugepages may go without one */
		CHECK_EQ(hostmem_parse_flag(&o, "test", bad[i].flag,
					    bad[i].value),
			 -EINVAL);
		hm_capture_end(err, sizeof(err));
		if (!strstr(err, bad[i].want)) {
			fprintf(stderr, "  want '%s' in: %s\n", bad[i].want,
				err);
			test_case_failed = 1;
		}
	}
}

/* The wiring a command does: HOSTMEM_CLI_OPTS in its option table. */
struct wiring_opts {
	uint32_t cpu;
	struct hostmem_opts mem;
};

TEST(option_table_wiring)
{
	static const struct cli_opt opts[] = {
		{ .type = CLI_OPT_U32,
		  .name = "cpu",
		  .arg = "N",
		  .off = offsetof(struct wiring_opts, cpu),
		  .max = 63,
		  .help = "a CPU" },
		HOSTMEM_CLI_OPTS(struct wiring_opts, mem),
		{ .type = CLI_OPT_END },
	};
	static const struct cli_cmd cmd = {
		.name = "run",
		.usage = "[FLAGS]",
		.about = "a test\n",
		.opts = opts,
	};
	char *argv[] = { "run",	       "--numa-policy",
			 "bind",       "--host-nodes",
			 "0",	       "--umem-size",
			 "64M",	       "--hugepages",
			 "--prealloc", "--prealloc-threads=2",
			 "--dump",     "--hugepages=1G",
			 "--cpu",      "1",
			 NULL };
	char *bad[] = { "run", "--numa-policy", "nearest", NULL };
	int argc = sizeof(argv) / sizeof(argv[0]) - 1;
	struct wiring_opts o = {};

	hostmem_opts_init(&o.mem);
	CHECK_EQ(cli_opts_parse(&cmd, argc, argv, &o, sizeof(o), NULL), -1);
	CHECK_EQ(o.cpu, 1);
	CHECK_EQ(o.mem.policy, HOSTMEM_POLICY_BIND);
	CHECK_EQ(o.mem.nodes[0], 1);
	CHECK_EQ(o.mem.size, 64 * MIB);
	CHECK(o.mem.hugepages);
	CHECK_EQ(o.mem.hugepage_size, 1024 * MIB);
	CHECK(o.mem.prealloc);
	CHECK_EQ(o.mem.prealloc_threads, 2);
	CHECK(o.mem.dump);
	/* a bad value is a usage error, named by the flag */
	CHECK_EQ(cli_opts_parse(&cmd, 3, bad, &o, sizeof(o), NULL),
		 CLI_EXIT_USAGE);
}

TEST(nodes_format)
{
	unsigned long nodes[HOSTMEM_MASK_LONGS] = { 0xb, 0, 0 };
	char buf[64];

	CHECK_EQ(hostmem_nodes_format(nodes, buf, sizeof(buf)), 5);
	CHECK(!strcmp(buf, "0-1,3"));
	nodes[0] = 0;
	nodes[1] = 3ULL << 62;
	hostmem_nodes_format(nodes, buf, sizeof(buf));
	CHECK(!strcmp(buf, "126-127"));
	/* truncated, still terminated, length as snprintf() tells it */
	nodes[0] = 0x55;
	CHECK_EQ(hostmem_nodes_format(nodes, buf, 4), 15);
	CHECK(!strcmp(buf, "0,2"));
}

/*
 * Allocate 16 MiB with a policy on node 0, preallocated, and check what
 * the kernel says: the VMA's policy, its numa_maps line, where the pages
 * are.
 */
static void check_policy(const char *policy, const char *nodes, int mode,
			 const char *maps_policy, const char *report_mode)
{
	unsigned long mask[HOSTMEM_MASK_LONGS] = {};
	struct hostmem_opts o;
	struct colo_umem_report r;
	struct hostmem m;
	char line[512], err[512];
	int got;

	/* its case returns next: policy_local looks at test_case_skipped */
	if (cannot_lock(16 * MIB, err, sizeof(err))) {
		test_skip("%s", err);
		return;
	}
	hostmem_opts_init(&o);
	CHECK_EQ(parse(&o, "numa-policy", policy), 0);
	if (nodes)
		CHECK_EQ(parse(&o, "host-nodes", nodes), 0);
	CHECK_EQ(parse(&o, "umem-size", "16M"), 0);
	CHECK_EQ(parse(&o, "prealloc", ""), 0);
	if (alloc_capture(&o, "lo", 1, &m, err, sizeof(err))) {
		fprintf(stderr, "  %s", err);
		test_case_failed = 1;
		return;
	}
	CHECK_EQ(get_mempolicy(&got, mask, HOSTMEM_MAX_NODES + 1, m.area,
			       MPOL_F_ADDR),
		 0);
	CHECK_EQ(got, mode);
	CHECK_EQ(mask[0], mode == MPOL_DEFAULT ? 0 : 1);
	CHECK_EQ(hm_numa_maps(m.area, line, sizeof(line)), 0);
	if (!strstr(line, maps_policy) || !strstr(line, " N0=4096")) {
		fprintf(stderr, "  want '%s' and N0=4096 in: %s\n", maps_policy,
			line);
		test_case_failed = 1;
	}
	CHECK_EQ(hostmem_report(&m, &r), 0);
	CHECK(!strcmp(r.policy, policy));
	CHECK(!strcmp(r.mode, report_mode));
	CHECK(!strcmp(r.nodes, mode == MPOL_DEFAULT ? "" : "0"));
	CHECK_EQ(r.pages, 4096);
	CHECK_EQ(r.pages_on_node[0], 4096);
	CHECK_EQ(r.pages_absent, 0);
	CHECK_EQ(r.max_node, 0);
	hostmem_free(&m);
	CHECK(!m.area);
}

TEST(policy_default)
{
	check_policy("default", NULL, MPOL_DEFAULT, " default ", "default");
}

TEST(policy_bind)
{
	check_policy("bind", "0", MPOL_BIND, " bind:0 ", "bind");
}

TEST(policy_preferred)
{
	check_policy("preferred", "0", MPOL_PREFERRED, " prefer:0 ",
		     "preferred");
}

TEST(policy_interleave)
{
	check_policy("interleave", "0", MPOL_INTERLEAVE, " interleave:0 ",
		     "interleave");
}

/* lo has no device, so no node: local takes the comparing CPU's node. */
TEST(policy_local)
{
	struct colo_umem_report r;
	struct hostmem_opts o;
	struct hostmem m;
	char err[512], out[1024];
	FILE *f;

	check_policy("local", NULL, MPOL_BIND, " bind:0 ", "bind");
	if (test_case_skipped)
		return;

	hostmem_opts_init(&o);
	CHECK_EQ(parse(&o, "numa-policy", "local"), 0);
	CHECK_EQ(parse(&o, "umem-size", "1M"), 0);
	CHECK_EQ(alloc_capture(&o, "lo", 1, &m, err, sizeof(err)), 0);
	CHECK(!strcmp(
		m.note,
		"local: lo has no NUMA node (virtual devices): node 0 of the comparing CPU 1"));
	CHECK_EQ(hostmem_report(&m, &r), 0);
	/* nothing touched yet: every page is still to be faulted */
	CHECK_EQ(r.pages_absent, 256);
	f = fmemopen(out, sizeof(out), "w");
	hostmem_report_print(&r, f);
	fclose(f);
	CHECK(strstr(
		out,
		"umem: 1 MiB in 4 KiB pages, --numa-policy local, in force: bind 0; not-faulted=256; excluded from core dumps\n"));
	CHECK(strstr(out, "umem: local: lo has no NUMA node"));
	hostmem_free(&m);

	CHECK_EQ(alloc_capture(&o, "lo", -1, &m, err, sizeof(err)), 0);
	CHECK(strstr(m.note,
		     "where setup ran; the comparator is not pinned (--cpu)"));
	hostmem_free(&m);

	CHECK_EQ(alloc_capture(&o, NULL, 0, &m, err, sizeof(err)), 0);
	CHECK(!strcmp(
		m.note,
		"local: no interface given: node 0 of the comparing CPU 0"));
	hostmem_free(&m);
}

TEST(validation_errors)
{
	struct hostmem_opts o;

	hostmem_opts_init(&o);
	parse(&o, "umem-size", "1M");
	parse(&o, "host-nodes", "0");
	expect_alloc_error(
		&o, "--host-nodes must be empty for --numa-policy default",
		NULL);
	parse(&o, "numa-policy", "local");
	expect_alloc_error(
		&o, "--host-nodes must be empty for --numa-policy local", NULL);

	hostmem_opts_init(&o);
	parse(&o, "umem-size", "1M");
	parse(&o, "numa-policy", "bind");
	expect_alloc_error(
		&o, "--host-nodes must be set for --numa-policy bind", NULL);
	parse(&o, "numa-policy", "interleave");
	parse(&o, "host-nodes", "0-1");
	expect_alloc_error(
		&o,
		"--host-nodes: node 1 is out of range: this machine has nodes 0",
		NULL);

	hostmem_opts_init(&o);
	parse(&o, "umem-size", "1000000");
	expect_alloc_error(
		&o,
		"--umem-size: 1000000 bytes is not a multiple of the 4 KiB page size",
		NULL);
	parse(&o, "umem-size", "3M");
	parse(&o, "hugepages", "2M");
	expect_alloc_error(
		&o,
		"--umem-size: 3 MiB is not a multiple of the 2 MiB huge (--hugepages) page size",
		NULL);
	parse(&o, "hugepages", "4M");
	parse(&o, "umem-size", "4M");
	expect_alloc_error(
		&o, "--hugepages: this machine has no 4 MiB huge pages", NULL);

	hostmem_opts_init(&o);
	parse(&o, "umem-size", "1M");
	parse(&o, "prealloc-threads", "2");
	expect_alloc_error(&o, "--prealloc-threads needs --prealloc", NULL);

	/* the caller forgot its default size */
	hostmem_opts_init(&o);
	expect_alloc_error(&o, "--umem-size: must be more than 0", NULL);
}

/* Without CAP_IPC_LOCK, a UMEM over RLIMIT_MEMLOCK cannot be registered. */
TEST(memlock_limit)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct caps[_LINUX_CAPABILITY_U32S_3];
	struct rlimit rl = { 64 * 1024, 64 * 1024 };
	struct hostmem_opts o;
	struct hostmem m;
	int status = -1;
	char err[1024];
	pid_t pid;

	hostmem_opts_init(&o);
	parse(&o, "umem-size", "4M");
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		/* drop CAP_IPC_LOCK in this child only */
		if (syscall(SYS_capget, &hdr, caps))
			_exit(10);
		caps[0].effective &= ~(1U << CAP_IPC_LOCK);
		if (syscall(SYS_capset, &hdr, caps) ||
		    setrlimit(RLIMIT_MEMLOCK, &rl))
			_exit(11);
		if (alloc_capture(&o, NULL, -1, &m, err, sizeof(err)) != -EPERM)
			_exit(12);
		if (strstr(err, "4 MiB is more than RLIMIT_MEMLOCK (64 KiB)") &&
		    strstr(err, "lacks CAP_IPC_LOCK") &&
		    strstr(err, "'ulimit -l 4096'"))
			_exit(0);
		fprintf(stderr, "  child: %s", err);
		_exit(13);
	}
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
}

/* With CAP_IPC_LOCK (root), the same limit does not matter. */
TEST(memlock_limit_with_cap_ipc_lock)
{
	struct rlimit rl = { 64 * 1024, 64 * 1024 };
	struct hostmem_opts o;
	struct hostmem m;
	int status = -1;
	char err[1024];
	pid_t pid;

	if (!has_cap_ipc_lock())
		SKIP("this process lacks CAP_IPC_LOCK: run as root");
	hostmem_opts_init(&o);
	parse(&o, "umem-size", "4M");
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		if (setrlimit(RLIMIT_MEMLOCK, &rl))
			_exit(11);
		if (alloc_capture(&o, NULL, -1, &m, err, sizeof(err)))
			_exit(12);
		hostmem_free(&m);
		_exit(0);
	}
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 0);
}

TEST(hugepages_none_reserved)
{
	long old = hm_hugepages();
	struct hostmem_opts o;
	const char *why = no_hugepage_reserve();

	if (why)
		SKIP("%s", why);
	/* one reserved: the fix asks for three more */
	CHECK_EQ(hm_hugepages_set(1), 0);
	hostmem_opts_init(&o);
	parse(&o, "umem-size", "8M");
	parse(&o, "hugepages", "");
	expect_alloc_error(
		&o,
		"--hugepages: the UMEM needs 4 huge pages of 2 MiB, 1 are free: reserve more with vm.nr_hugepages",
		"'sysctl vm.nr_hugepages=4'");
	parse(&o, "numa-policy", "bind");
	parse(&o, "host-nodes", "0");
	expect_alloc_error(
		&o,
		"needs 4 huge pages of 2 MiB on the bound nodes (0), 1 are free there",
		"/sys/devices/system/node/node<N>/hugepages/hugepages-2048kB/nr_hugepages (vm.nr_hugepages");
	CHECK_EQ(hm_hugepages_set(old), 0);
}

/* 1G pages are not the default size: the knob is in sysfs. */
TEST(hugepages_1g_none_reserved)
{
	struct hostmem_opts o;
	char why[256];

	if (access(HM_1G_HUGEPAGES, F_OK))
		SKIP("this machine has no 1 GiB huge pages (no %s)",
		     HM_1G_HUGEPAGES);
	if (cannot_lock(1024 * MIB, why, sizeof(why)))
		SKIP("%s", why);
	hostmem_opts_init(&o);
	parse(&o, "umem-size", "1G");
	parse(&o, "hugepages", "1G");
	expect_alloc_error(
		&o, "needs 1 huge pages of 1 GiB, 0 are free",
		"'echo 1 > /sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages'");
}

TEST(hugepages_bind)
{
	unsigned long mask[HOSTMEM_MASK_LONGS] = {};
	struct colo_umem_report r;
	struct hostmem_opts o;
	struct hostmem m;
	long old = hm_hugepages(), free_before, got;
	char line[512], err[512];
	const char *why = no_hugepage_reserve();
	int mode;

	if (why)
		SKIP("%s", why);
	/* on top of what others reserved: theirs stay theirs */
	if (hm_hugepages_set(old + 4)) {
		got = hm_hugepages();
		CHECK_EQ(hm_hugepages_set(old), 0);
		SKIP("the kernel reserved %ld of the %ld 2 MiB huge pages asked for in " HM_NR_HUGEPAGES
		     " (memory too fragmented?)",
		     got, old + 4);
	}
	free_before = hm_hugepages_free();
	hostmem_opts_init(&o);
	parse(&o, "umem-size", "8M");
	parse(&o, "hugepages", "2M");
	parse(&o, "numa-policy", "bind");
	parse(&o, "host-nodes", "0");
	parse(&o, "prealloc", "");
	parse(&o, "prealloc-threads", "2");
	if (alloc_capture(&o, NULL, -1, &m, err, sizeof(err))) {
		fprintf(stderr, "  %s", err);
		test_case_failed = 1;
		goto out;
	}
	CHECK_EQ(m.page_size, 2 * MIB);
	CHECK_EQ(get_mempolicy(&mode, mask, HOSTMEM_MAX_NODES + 1, m.area,
			       MPOL_F_ADDR),
		 0);
	CHECK_EQ(mode, MPOL_BIND);
	CHECK_EQ(hm_numa_maps(m.area, line, sizeof(line)), 0);
	if (!strstr(line, " bind:0 ") || !strstr(line, " huge ") ||
	    !strstr(line, " N0=4 ") ||
	    !strstr(line, "kernelpagesize_kB=2048")) {
		fprintf(stderr, "  numa_maps: %s\n", line);
		test_case_failed = 1;
	}
	CHECK_EQ(hostmem_report(&m, &r), 0);
	CHECK_EQ(r.pages, 4);
	CHECK_EQ(r.pages_on_node[0], 4);
	CHECK_EQ(r.page_size, 2 * MIB);
	/* the UMEM took four out of the pool */
	CHECK_EQ(hm_hugepages_free(), free_before - 4);
	hostmem_free(&m);
out:
	CHECK_EQ(hm_hugepages_set(old), 0);
}

TEST(dump_flag)
{
	struct hostmem_opts o;
	struct hostmem m;
	char flags[256], err[512];

	hostmem_opts_init(&o);
	parse(&o, "umem-size", "1M");
	CHECK_EQ(alloc_capture(&o, NULL, -1, &m, err, sizeof(err)), 0);
	CHECK_EQ(hm_vmflags(m.area, flags, sizeof(flags)), 0);
	CHECK(strstr(flags, " dd "));
	hostmem_free(&m);

	parse(&o, "dump", "");
	CHECK_EQ(alloc_capture(&o, NULL, -1, &m, err, sizeof(err)), 0);
	CHECK_EQ(hm_vmflags(m.area, flags, sizeof(flags)), 0);
	CHECK(!strstr(flags, " dd "));
	CHECK(strstr(flags, " rd wr"));
	hostmem_free(&m);
}

/* Every page resident after --prealloc, whatever the thread count. */
TEST(prealloc_threads)
{
	static const char *const threads[] = { "1", "3", "64" };
	struct hostmem_opts o;
	struct hostmem m;
	char err[512];
	unsigned int i;

	if (cannot_lock(8 * MIB + 3 * 4096, err, sizeof(err)))
		SKIP("%s", err);
	hostmem_opts_init(&o);
	parse(&o, "umem-size", "8M");
	CHECK_EQ(alloc_capture(&o, NULL, -1, &m, err, sizeof(err)), 0);
	CHECK_EQ(hm_resident_pages(m.area, m.size), 0);
	hostmem_free(&m);

	parse(&o, "prealloc", "");
	for (i = 0; i < sizeof(threads) / sizeof(threads[0]); i++) {
		parse(&o, "prealloc-threads", threads[i]);
		/* 8M + 12K: an uneven split among the threads */
		o.size = 8 * MIB + 3 * 4096;
		CHECK_EQ(alloc_capture(&o, NULL, -1, &m, err, sizeof(err)), 0);
		CHECK_EQ(hm_resident_pages(m.area, m.size), 2048 + 3);
		hostmem_free(&m);
	}
	/* more threads than pages */
	o.size = 2 * 4096;
	CHECK_EQ(alloc_capture(&o, NULL, -1, &m, err, sizeof(err)), 0);
	CHECK_EQ(hm_resident_pages(m.area, m.size), 2);
	hostmem_free(&m);
}
