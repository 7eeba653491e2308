// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Where the UMEM pages land on a machine with several NUMA nodes: run as
 * the init of a VM that selftests/numa/run.sh boots with
 *   node 0: CPU 0, 512 MiB      node 2: CPU 2, no memory
 *   node 1: CPU 1, 256 MiB      node 3: no CPU, 256 MiB, the NIC
 * Pages are counted with move_pages() (hostmem_report) and numa_maps.
 */
#include <dirent.h>
#include <errno.h>
#include <numaif.h>
#include <sched.h>
#include <stdlib.h>

#include "hostmem.h"
#include "numa/hostmem_check.h"
#include "test.h"

#define MIB (1024ULL * 1024)
#define NODE_HUGEPAGES \
	"/sys/devices/system/node/node%d/hugepages/hugepages-2048kB/nr_hugepages"

/* The calling thread (and the prealloc threads it starts) on one CPU. */
static void pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	CHECK_EQ(sched_setaffinity(0, sizeof(set), &set), 0);
}

static void unpin(void)
{
	cpu_set_t set;
	int i;

	CPU_ZERO(&set);
	for (i = 0; i < CPU_SETSIZE; i++)
		CPU_SET(i, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/*
 * Allocate with flags (name, value pairs, value NULL for none, then NULL)
 * and fill the report; ifname (besides lo) and cpu are for local. Returns
 * hostmem_alloc()'s result; err gets what it printed.
 */
static int alloc(struct hostmem *m, struct colo_umem_report *r,
		 const char *ifname, int cpu, char *err, size_t len,
		 const char *const *flags)
{
	const char *ifnames[2] = { "lo", ifname };
	struct hostmem_opts o;
	int ret;

	hostmem_opts_init(&o);
	for (; flags[0]; flags += 2)
		CHECK_EQ(hostmem_parse_flag(&o, "test", flags[0], flags[1]), 0);
	hm_capture_begin();
	ret = hostmem_alloc(&o, "test", ifnames, ifname ? 2 : 1, cpu, m);
	hm_capture_end(err, len);
	if (ret)
		return ret;
	CHECK_EQ(hostmem_report(m, r), 0);
	hostmem_report_print(r, stdout);
	return 0;
}

#define FLAGS(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void want_maps(const struct hostmem *m, const char *want)
{
	char line[512];

	CHECK_EQ(hm_numa_maps(m->area, line, sizeof(line)), 0);
	if (!strstr(line, want)) {
		fprintf(stderr, "  want '%s' in: %s\n", want, line);
		test_case_failed = 1;
	}
}

static void want_err(const char *err, const char *want)
{
	if (!strstr(err, want)) {
		fprintf(stderr, "  want '%s' in: %s\n", want, err);
		test_case_failed = 1;
	}
}

static long read_file_str(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -1;
	n = fread(buf, 1, len - 1, f);
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	fclose(f);
	return n;
}

TEST(topology)
{
	char buf[64];

	CHECK(read_file_str("/sys/devices/system/node/online", buf,
			    sizeof(buf)) > 0);
	CHECK(!strcmp(buf, "0-3"));
	CHECK(read_file_str("/sys/devices/system/node/has_memory", buf,
			    sizeof(buf)) > 0);
	CHECK(!strcmp(buf, "0-1,3"));
}

/* Pinned to CPU 0 (node 0): bind moves every page to the named node. */
TEST(bind_each_node)
{
	static const int nodes[] = { 0, 1, 3 };
	struct colo_umem_report r;
	struct hostmem m;
	char err[512], maps[32], node[8];
	unsigned int i;

	pin_cpu(0);
	for (i = 0; i < 3; i++) {
		snprintf(node, sizeof(node), "%d", nodes[i]);
		if (alloc(&m, &r, NULL, -1, err, sizeof(err),
			  FLAGS("numa-policy", "bind", "host-nodes", node,
				"umem-size", "32M", "prealloc", NULL))) {
			fprintf(stderr, "  %s", err);
			test_case_failed = 1;
			continue;
		}
		CHECK(!strcmp(r.mode, "bind"));
		CHECK(!strcmp(r.nodes, node));
		CHECK_EQ(r.pages_on_node[nodes[i]], r.pages);
		snprintf(maps, sizeof(maps), " bind:%s ", node);
		want_maps(&m, maps);
		hostmem_free(&m);
	}
	unpin();
}

/* The prealloc threads run on CPUs of nodes 0-2: the VMA policy rules. */
TEST(bind_threads)
{
	struct colo_umem_report r;
	struct hostmem m;
	char err[512];

	if (alloc(&m, &r, NULL, -1, err, sizeof(err),
		  FLAGS("numa-policy", "bind", "host-nodes", "1,3", "umem-size",
			"64M", "prealloc", NULL, "prealloc-threads", "3"))) {
		fprintf(stderr, "  %s", err);
		test_case_failed = 1;
		return;
	}
	CHECK_EQ(r.pages_on_node[1] + r.pages_on_node[3], r.pages);
	want_maps(&m, " bind:1,3 ");
	hostmem_free(&m);
}

TEST(interleave)
{
	struct colo_umem_report r;
	struct hostmem m;
	char err[512];

	pin_cpu(0);
	if (alloc(&m, &r, NULL, -1, err, sizeof(err),
		  FLAGS("numa-policy", "interleave", "host-nodes", "0-1",
			"umem-size", "32M", "prealloc", NULL))) {
		fprintf(stderr, "  %s", err);
		test_case_failed = 1;
		goto out;
	}
	CHECK(!strcmp(r.mode, "interleave"));
	CHECK(!strcmp(r.nodes, "0-1"));
	CHECK_EQ(r.pages_on_node[0] + r.pages_on_node[1], r.pages);
	/* page by page (or huge page by huge page) round robin */
	CHECK(r.pages_on_node[0] >= r.pages / 4);
	CHECK(r.pages_on_node[1] >= r.pages / 4);
	want_maps(&m, " interleave:0-1 ");
	hostmem_free(&m);
out:
	unpin();
}

/* From CPU 0: default lands on node 0, preferred 1 on node 1. */
TEST(preferred_one)
{
	struct colo_umem_report r;
	struct hostmem m;
	char err[512];

	pin_cpu(0);
	if (!alloc(&m, &r, NULL, -1, err, sizeof(err),
		   FLAGS("umem-size", "32M", "prealloc", NULL))) {
		CHECK(!strcmp(r.mode, "default"));
		CHECK_EQ(r.pages_on_node[0], r.pages);
		want_maps(&m, " default ");
		hostmem_free(&m);
	}
	if (alloc(&m, &r, NULL, -1, err, sizeof(err),
		  FLAGS("numa-policy", "preferred", "host-nodes", "1",
			"umem-size", "32M", "prealloc", NULL))) {
		fprintf(stderr, "  %s", err);
		test_case_failed = 1;
		goto out;
	}
	CHECK(!strcmp(r.mode, "preferred"));
	CHECK_EQ(r.pages_on_node[1], r.pages);
	want_maps(&m, " prefer:1 ");
	hostmem_free(&m);
out:
	unpin();
}

/* MemFree of a node, in MiB. */
static long node_free_mib(int node)
{
	char path[64], line[128];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/meminfo",
		 node);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Node %*d MemFree: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb / 1024;
}

/*
 * preferred 1,3 becomes MPOL_PREFERRED_MANY: a UMEM larger than what
 * either node has free, yet smaller than both together, lands on both,
 * and none of it on node 0 where the CPU is and most of the memory.
 */
TEST(preferred_many)
{
	unsigned long mask[HOSTMEM_MASK_LONGS] = {};
	long free1 = node_free_mib(1), free3 = node_free_mib(3);
	struct colo_umem_report r;
	struct hostmem m;
	char err[512], size[32];
	int mode;

	/* the larger one plus half the smaller: room left on both */
	snprintf(size, sizeof(size), "%ldM",
		 (free1 > free3 ? free1 + free3 / 2 : free3 + free1 / 2) & ~1L);
	printf("node 1: %ld MiB free, node 3: %ld MiB free, UMEM %s\n", free1,
	       free3, size);
	pin_cpu(0);
	if (alloc(&m, &r, NULL, -1, err, sizeof(err),
		  FLAGS("numa-policy", "preferred", "host-nodes", "1,3",
			"umem-size", size, "prealloc", NULL))) {
		fprintf(stderr, "  %s", err);
		test_case_failed = 1;
		goto out;
	}
	CHECK_EQ(get_mempolicy(&mode, mask, HOSTMEM_MAX_NODES + 1, m.area,
			       MPOL_F_ADDR),
		 0);
	CHECK_EQ(mode, MPOL_PREFERRED_MANY);
	CHECK_EQ(mask[0], 0xa);
	CHECK(!strcmp(r.mode, "preferred-many"));
	CHECK(!m.note[0]);
	CHECK_EQ(r.pages_on_node[0], 0);
	CHECK(r.pages_on_node[1] > 0);
	CHECK(r.pages_on_node[3] > 0);
	CHECK_EQ(r.pages_on_node[1] + r.pages_on_node[3], r.pages);
	want_maps(&m, " prefer (many):1,3 ");
	hostmem_free(&m);
out:
	unpin();
}

TEST(host_nodes_errors)
{
	struct colo_umem_report r;
	struct hostmem m;
	char err[512];

	CHECK(alloc(&m, &r, NULL, -1, err, sizeof(err),
		    FLAGS("numa-policy", "bind", "host-nodes", "1-2",
			  "umem-size", "1M")) == -EINVAL);
	want_err(
		err,
		"--host-nodes: node 2 has no memory: nodes with memory are 0-1,3");
	CHECK(alloc(&m, &r, NULL, -1, err, sizeof(err),
		    FLAGS("numa-policy", "interleave", "host-nodes", "0,5",
			  "umem-size", "1M")) == -EINVAL);
	want_err(
		err,
		"--host-nodes: node 5 is out of range: this machine has nodes 0-3");
}

/* The name of the interface whose device sits on node, or NULL. */
static const char *nic_on_node(int node, char *name, size_t len)
{
	char path[300], buf[16];
	struct dirent *e;
	DIR *d;

	d = opendir("/sys/class/net");
	if (!d)
		return NULL;
	while ((e = readdir(d))) {
		snprintf(path, sizeof(path),
			 "/sys/class/net/%s/device/numa_node", e->d_name);
		if (read_file_str(path, buf, sizeof(buf)) > 0 &&
		    atoi(buf) == node) {
			snprintf(name, len, "%s", e->d_name);
			closedir(d);
			return name;
		}
	}
	closedir(d);
	return NULL;
}

/* The NIC on node 3 draws the UMEM there, whatever CPU compares. */
TEST(local_nic)
{
	struct colo_umem_report r;
	struct hostmem m;
	char err[512], nic[256];

	if (!nic_on_node(3, nic, sizeof(nic))) {
		fprintf(stderr, "  no interface on node 3 (e1000e loaded?)\n");
		test_case_failed = 1;
		return;
	}
	if (alloc(&m, &r, nic, 1, err, sizeof(err),
		  FLAGS("numa-policy", "local", "umem-size", "32M", "prealloc",
			NULL))) {
		fprintf(stderr, "  %s", err);
		test_case_failed = 1;
		return;
	}
	CHECK(strstr(m.note, "node 3 of the interfaces"));
	CHECK(!strcmp(r.mode, "bind"));
	CHECK(!strcmp(r.nodes, "3"));
	CHECK_EQ(r.pages_on_node[3], r.pages);
	want_maps(&m, " bind:3 ");
	hostmem_free(&m);
}

/* lo has no node: the comparing CPU's node, which must have memory. */
TEST(local_cpu)
{
	struct colo_umem_report r;
	struct hostmem m;
	char err[1024];

	pin_cpu(0);
	if (alloc(&m, &r, NULL, 1, err, sizeof(err),
		  FLAGS("numa-policy", "local", "umem-size", "32M", "prealloc",
			NULL))) {
		fprintf(stderr, "  %s", err);
		test_case_failed = 1;
		goto out;
	}
	CHECK(strstr(m.note, "node 1 of the comparing CPU 1"));
	CHECK_EQ(r.pages_on_node[1], r.pages);
	want_maps(&m, " bind:1 ");
	hostmem_free(&m);

	CHECK(alloc(&m, &r, NULL, 2, err, sizeof(err),
		    FLAGS("numa-policy", "local", "umem-size", "1M")) ==
	      -EINVAL);
	want_err(
		err,
		"--numa-policy local: node 2 has no memory: nodes with memory are 0-1,3");
	want_err(err, "node 2 of the comparing CPU 2");
out:
	unpin();
}

static int node_hugepages_set(int node, long n)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), NODE_HUGEPAGES, node);
	f = fopen(path, "we");
	if (!f)
		return -1;
	fprintf(f, "%ld\n", n);
	if (fclose(f))
		return -1;
	return hm_read_long(path) == n ? 0 : -1;
}

/* Huge pages reserved on node 1 only: bind 1 takes them, bind 3 cannot. */
TEST(hugepages_node)
{
	struct colo_umem_report r;
	struct hostmem m;
	char err[512];

	if (node_hugepages_set(1, 4)) {
		fprintf(stderr, "  cannot reserve 4 huge pages on node 1\n");
		test_case_failed = 1;
		goto out;
	}
	if (alloc(&m, &r, NULL, -1, err, sizeof(err),
		  FLAGS("numa-policy", "bind", "host-nodes", "1", "umem-size",
			"8M", "hugepages", "2M", "prealloc", NULL))) {
		fprintf(stderr, "  %s", err);
		test_case_failed = 1;
	} else {
		CHECK_EQ(r.page_size, 2 * MIB);
		CHECK_EQ(r.pages, 4);
		CHECK_EQ(r.pages_on_node[1], 4);
		want_maps(&m, " huge ");
		want_maps(&m, " N1=4 ");
		hostmem_free(&m);
	}
	CHECK(alloc(&m, &r, NULL, -1, err, sizeof(err),
		    FLAGS("numa-policy", "bind", "host-nodes", "3", "umem-size",
			  "8M", "hugepages", "2M")) == -ENOMEM);
	want_err(
		err,
		"needs 4 huge pages of 2 MiB on the bound nodes (3), 0 are free there");
out:
	CHECK_EQ(node_hugepages_set(1, 0), 0);
}
