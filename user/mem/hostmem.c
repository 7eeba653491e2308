// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * NUMA-bound UMEM memory with the semantics of QEMU's host memory backends
 * (policy and host-nodes rules, mbind() before the first touch,
 * multi-threaded preallocation, excluded from core dumps), plus a "local"
 * policy that follows the NICs and the comparing CPU.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <numa.h>
#include <numaif.h>

#include "caps.h"
#include "cli.h"
#include "hostmem.h"

#ifndef MPOL_PREFERRED_MANY
#define MPOL_PREFERRED_MANY 5
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MFD_HUGE_SHIFT
#define MFD_HUGE_SHIFT 26
#endif

/*
 * libnuma gained numa_has_preferred_many() in 2.0.15: a weak reference
 * builds and runs against older ones too, which then report "absent".
 */
extern int numa_has_preferred_many(void) __attribute__((weak));

#define LONG_BITS (8 * sizeof(unsigned long))
#define HUGEPAGES_SYSFS "/sys/kernel/mm/hugepages"
#define NODE_SYSFS "/sys/devices/system/node"
/* Pages per move_pages() call: a bounded stack buffer, no allocation. */
#define REPORT_BATCH 256

static const char *const policy_names[] = {
	[HOSTMEM_POLICY_DEFAULT] = "default",
	[HOSTMEM_POLICY_PREFERRED] = "preferred",
	[HOSTMEM_POLICY_BIND] = "bind",
	[HOSTMEM_POLICY_INTERLEAVE] = "interleave",
	[HOSTMEM_POLICY_LOCAL] = "local",
};

const char *hostmem_policy_name(enum hostmem_policy p)
{
	if ((unsigned int)p >= sizeof(policy_names) / sizeof(policy_names[0]))
		return NULL;
	return policy_names[p];
}

/* The kernel's MPOL_* modes as get_mempolicy() returns them. */
static const char *mode_name(int mode)
{
	static const char *const names[] = {
		[MPOL_DEFAULT] = "default",
		[MPOL_PREFERRED] = "preferred",
		[MPOL_BIND] = "bind",
		[MPOL_INTERLEAVE] = "interleave",
		[MPOL_LOCAL] = "local",
		[MPOL_PREFERRED_MANY] = "preferred-many",
		[6] = "weighted-interleave",
	};

	if (mode < 0 || (unsigned int)mode >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[mode];
}

static bool node_isset(const unsigned long *nodes, unsigned int n)
{
	return nodes[n / LONG_BITS] & (1UL << (n % LONG_BITS));
}

static void node_set(unsigned long *nodes, unsigned int n)
{
	nodes[n / LONG_BITS] |= 1UL << (n % LONG_BITS);
}

/* Highest node in the mask, or -1 when it is empty. */
static int nodes_last(const unsigned long *nodes)
{
	int n;

	for (n = HOSTMEM_MAX_NODES - 1; n >= 0; n--)
		if (node_isset(nodes, n))
			return n;
	return -1;
}

int hostmem_nodes_format(const unsigned long *nodes, char *buf, size_t len)
{
	int n = 0, first, last, total = 0, w;
	size_t room;

	if (len)
		buf[0] = 0;
	while (n < HOSTMEM_MAX_NODES) {
		if (!node_isset(nodes, n)) {
			n++;
			continue;
		}
		first = n;
		while (n + 1 < HOSTMEM_MAX_NODES && node_isset(nodes, n + 1))
			n++;
		last = n++;
		room = (size_t)total < len ? len - total : 0;
		/* printf ignores the last node for a lone one */
		w = snprintf(room ? buf + total : NULL, room,
			     first == last ? "%s%d" : "%s%d-%d",
			     total ? "," : "", first, last);
		total += w;
	}
	return total;
}

/*
 * "0-1,3" into a mask. Returns 0, -EINVAL for a malformed list, or -ERANGE
 * with *bad set to the first node past HOSTMEM_MAX_NODES.
 */
static int nodes_parse(const char *s, unsigned long *nodes, unsigned long *bad)
{
	unsigned long first, last, n;
	char *end;

	memset(nodes, 0, HOSTMEM_MASK_LONGS * sizeof(*nodes));
	do {
		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		errno = 0;
		first = strtoul(s, &end, 10);
		last = first;
		if (*end == '-') {
			s = end + 1;
			if (!isdigit((unsigned char)*s))
				return -EINVAL;
			last = strtoul(s, &end, 10);
		}
		if (errno || last < first)
			return -EINVAL;
		if (last >= HOSTMEM_MAX_NODES) {
			*bad = first >= HOSTMEM_MAX_NODES ? first :
							    HOSTMEM_MAX_NODES;
			return -ERANGE;
		}
		for (n = first; n <= last; n++)
			node_set(nodes, n);
		s = end;
	} while (*s++ == ',');
	return s[-1] ? -EINVAL : 0;
}

/* Read a node list from sysfs ("0-1\n"); -errno when it cannot. */
static int nodes_read(const char *path, unsigned long *nodes)
{
	char buf[256];
	unsigned long bad;
	FILE *f;
	int err = 0;

	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (!fgets(buf, sizeof(buf), f)) {
		err = -EIO;
		goto out;
	}
	buf[strcspn(buf, "\n")] = 0;
	/* a node list may be empty: has_memory on a machine with none */
	if (!buf[0])
		memset(nodes, 0, HOSTMEM_MASK_LONGS * sizeof(*nodes));
	else
		err = nodes_parse(buf, nodes, &bad);
out:
	fclose(f);
	return err;
}

static int read_u64(const char *path, uint64_t *out)
{
	unsigned long long v;
	FILE *f;
	int err = 0;

	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (fscanf(f, "%llu", &v) != 1)
		err = -EIO;
	else
		*out = v;
	fclose(f);
	return err;
}

/* "64 MiB" when exact in a binary unit, else bytes. */
static const char *size_str(uint64_t v, char *buf, size_t len)
{
	static const char *const units[] = { "bytes", "KiB", "MiB", "GiB",
					     "TiB" };
	unsigned int u = 0;

	while (u + 1 < sizeof(units) / sizeof(units[0]) && v >= 1024 &&
	       !(v % 1024)) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, "%llu %s", (unsigned long long)v, units[u]);
	return buf;
}

int hostmem_parse_size(const char *subcmd, const char *flag, const char *arg,
		       uint64_t *out)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (errno || end == arg || !isdigit((unsigned char)arg[0]))
		goto bad;
	switch (toupper((unsigned char)*end)) {
	case 'K':
		shift = 10;
		break;
	case 'M':
		shift = 20;
		break;
	case 'G':
		shift = 30;
		break;
	case 'T':
		shift = 40;
		break;
	case 0:
		break;
	default:
		goto bad;
	}
	if (shift && end[1])
		goto bad;
	if (v > (ULLONG_MAX >> shift)) {
		cli_err(subcmd, "%s: '%s' is too large", flag, arg);
		return -ERANGE;
	}
	*out = (uint64_t)v << shift;
	return 0;
bad:
	cli_err(subcmd,
		"%s: '%s' is not a size: bytes, or a number with a K, M, G or T suffix",
		flag, arg);
	return -EINVAL;
}

void hostmem_opts_init(struct hostmem_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->policy = HOSTMEM_POLICY_DEFAULT;
}

int hostmem_parse_flag(struct hostmem_opts *o, const char *subcmd,
		       const char *flag, const char *value)
{
	unsigned long bad;
	uint64_t size;
	unsigned int i;
	int err;

	while (*flag == '-')
		flag++;
	if (!strcmp(flag, "numa-policy")) {
		for (i = 0; i < sizeof(policy_names) / sizeof(policy_names[0]);
		     i++) {
			if (!strcmp(value, policy_names[i])) {
				o->policy = i;
				return 0;
			}
		}
		cli_err(subcmd,
			"--numa-policy: '%s' is not one of default, preferred, bind, interleave, local",
			value);
		return -EINVAL;
	}
	if (!strcmp(flag, "host-nodes")) {
		err = nodes_parse(value, o->nodes, &bad);
		if (err == -ERANGE)
			cli_err(subcmd,
				"--host-nodes: node %lu is out of range (at most %d)",
				bad, HOSTMEM_MAX_NODES - 1);
		else if (err)
			cli_err(subcmd,
				"--host-nodes: '%s' is not a node list like 0-1,3",
				value);
		return err ? -EINVAL : 0;
	}
	if (!strcmp(flag, "umem-size")) {
		if (hostmem_parse_size(subcmd, "--umem-size", value, &size))
			return -EINVAL;
		if (!size) {
			cli_err(subcmd, "--umem-size: must be more than 0");
			return -EINVAL;
		}
		o->size = size;
		return 0;
	}
	if (!strcmp(flag, "hugepages")) {
		o->hugepages = true;
		o->hugepage_size = 0;
		if (!value)
			return 0;
		if (hostmem_parse_size(subcmd, "--hugepages", value, &size))
			return -EINVAL;
		if (size < 4096 || (size & (size - 1))) {
			cli_err(subcmd,
				"--hugepages: '%s' is not a huge page size such as 2M or 1G",
				value);
			return -EINVAL;
		}
		o->hugepage_size = size;
		return 0;
	}
	if (!strcmp(flag, "prealloc")) {
		o->prealloc = true;
		return 0;
	}
	if (!strcmp(flag, "prealloc-threads"))
		return cli_parse_u32(subcmd, "--prealloc-threads", value, 1,
				     HOSTMEM_MAX_THREADS, &o->prealloc_threads);
	if (!strcmp(flag, "dump")) {
		o->dump = true;
		return 0;
	}
	cli_err(subcmd, "--%s is not a memory flag", flag);
	return -EINVAL;
}

int hostmem_cli_parse(const char *cmd, const struct cli_opt *opt, void *field,
		      const char *arg)
{
	return hostmem_parse_flag(field, cmd, opt->name, arg);
}

/* The kernel's default huge page size, from /proc/meminfo. */
static uint64_t default_hugepage_size(void)
{
	unsigned long long kb = 0;
	char line[128];
	FILE *f;

	f = fopen("/proc/meminfo", "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Hugepagesize: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return kb * 1024;
}

/*
 * Check that huge pages of this size exist and that enough are free for
 * the whole area, on the policy's nodes when it names some: a fault that
 * finds none later is a SIGBUS, not an error.
 */
static int hugepages_check(const char *subcmd, uint64_t hsize, uint64_t size,
			   const unsigned long *nodes)
{
	uint64_t need = size / hsize, free_pages = 0, resv = 0, nr = 0, v;
	unsigned long long kb = hsize / 1024;
	char dir[96], path[160], sbuf[32], list[64];
	int n, err;

	snprintf(dir, sizeof(dir), HUGEPAGES_SYSFS "/hugepages-%llukB", kb);
	if (access(dir, F_OK)) {
		cli_err(subcmd,
			"--hugepages: this machine has no %s huge pages (see %s)",
			size_str(hsize, sbuf, sizeof(sbuf)), HUGEPAGES_SYSFS);
		return -EINVAL;
	}
	if (nodes) {
		for (n = 0; n <= nodes_last(nodes); n++) {
			snprintf(
				path, sizeof(path),
				NODE_SYSFS
				"/node%d/hugepages/hugepages-%llukB/free_hugepages",
				n, kb);
			if (node_isset(nodes, n) && !read_u64(path, &v))
				free_pages += v;
		}
		if (free_pages >= need)
			return 0;
		hostmem_nodes_format(nodes, list, sizeof(list));
		cli_err(subcmd,
			"--hugepages: the UMEM needs %llu huge pages of %s on the bound nodes (%s), %llu are free there: reserve them on those nodes in " NODE_SYSFS
			"/node<N>/hugepages/hugepages-%llukB/nr_hugepages (vm.nr_hugepages spreads them over every node)",
			(unsigned long long)need,
			size_str(hsize, sbuf, sizeof(sbuf)), list,
			(unsigned long long)free_pages, kb);
		return -ENOMEM;
	}

	snprintf(path, sizeof(path), "%s/free_hugepages", dir);
	err = read_u64(path, &free_pages);
	snprintf(path, sizeof(path), "%s/resv_hugepages", dir);
	err = err ?: read_u64(path, &resv);
	snprintf(path, sizeof(path), "%s/nr_hugepages", dir);
	err = err ?: read_u64(path, &nr);
	if (err) {
		cli_err(subcmd, "--hugepages: cannot read %s: %s", path,
			strerror(-err));
		return err;
	}
	/* reserved pages are free but promised to other mappings */
	free_pages -= resv < free_pages ? resv : free_pages;
	if (free_pages >= need)
		return 0;
	if (hsize == default_hugepage_size())
		cli_err(subcmd,
			"--hugepages: the UMEM needs %llu huge pages of %s, %llu are free: reserve more with vm.nr_hugepages ('sysctl vm.nr_hugepages=%llu')",
			(unsigned long long)need,
			size_str(hsize, sbuf, sizeof(sbuf)),
			(unsigned long long)free_pages,
			(unsigned long long)(nr + need - free_pages));
	else
		cli_err(subcmd,
			"--hugepages: the UMEM needs %llu huge pages of %s, %llu are free: reserve more in %s (not the default size, so not vm.nr_hugepages): 'echo %llu > %s'",
			(unsigned long long)need,
			size_str(hsize, sbuf, sizeof(sbuf)),
			(unsigned long long)free_pages, path,
			(unsigned long long)(nr + need - free_pages), path);
	return -ENOMEM;
}

/* Registering the UMEM charges it to RLIMIT_MEMLOCK without CAP_IPC_LOCK. */
static int memlock_check(const char *subcmd, uint64_t size)
{
	char sbuf[32], lbuf[32];
	struct rlimit rl;

	uint64_t caps = 0;

	caps_effective(&caps);
	if (caps_has(caps, CAP_IPC_LOCK) || getrlimit(RLIMIT_MEMLOCK, &rl) ||
	    rl.rlim_cur == RLIM_INFINITY || size <= rl.rlim_cur)
		return 0;
	cli_err(subcmd,
		"--umem-size: %s is more than RLIMIT_MEMLOCK (%s) and the process lacks CAP_IPC_LOCK: raise the limit ('ulimit -l %llu', LimitMEMLOCK= for a service) or lower --umem-size",
		size_str(size, sbuf, sizeof(sbuf)),
		size_str(rl.rlim_cur, lbuf, sizeof(lbuf)),
		(unsigned long long)((size + 1023) / 1024));
	return -EPERM;
}

/* Node of an interface's device, -1 for virtual ones (veth, tap). */
static int ifname_node(const char *ifname)
{
	char path[128];
	FILE *f;
	int node = -1;

	snprintf(path, sizeof(path), "/sys/class/net/%s/device/numa_node",
		 ifname);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fscanf(f, "%d", &node) != 1)
		node = -1;
	fclose(f);
	return node;
}

/*
 * --numa-policy local: the nodes of the interfaces, else the node of the
 * comparing CPU. Says in m->note which one it took and why.
 */
static int local_nodes(const char *subcmd, const char *const *ifnames,
		       unsigned int n, int cpu, struct hostmem *m)
{
	int i, node, found = 0;
	char list[64];
	size_t off;

	for (i = 0; i < (int)n; i++) {
		node = ifname_node(ifnames[i]);
		if (node >= 0 && node < HOSTMEM_MAX_NODES) {
			node_set(m->nodes, node);
			found++;
		}
	}
	if (found) {
		hostmem_nodes_format(m->nodes, list, sizeof(list));
		snprintf(m->note, sizeof(m->note),
			 "local: node %s of the interfaces", list);
		return 0;
	}
	off = snprintf(m->note, sizeof(m->note), "local: %s",
		       n ? "" : "no interface given");
	for (i = 0; i < (int)n && off < sizeof(m->note); i++)
		off += snprintf(m->note + off, sizeof(m->note) - off, "%s%s",
				i ? ", " : "", ifnames[i]);
	if (n && off < sizeof(m->note))
		off += snprintf(m->note + off, sizeof(m->note) - off,
				" %s no NUMA node (virtual devices)",
				n > 1 ? "have" : "has");
	if (off >= sizeof(m->note))
		off = sizeof(m->note) - 1;
	if (cpu < 0) {
		/* not pinned: the CPU doing the setup is the best guess */
		cpu = sched_getcpu();
		node = cpu < 0 ? -1 : numa_node_of_cpu(cpu);
		snprintf(
			m->note + off, sizeof(m->note) - off,
			": node %d of CPU %d, where setup ran; the comparator is not pinned (--cpu)",
			node, cpu);
	} else {
		node = numa_node_of_cpu(cpu);
		snprintf(m->note + off, sizeof(m->note) - off,
			 ": node %d of the comparing CPU %d", node, cpu);
	}
	if (node < 0 || node >= HOSTMEM_MAX_NODES) {
		cli_err(subcmd,
			"--numa-policy local: no node for CPU %d: pass --cpu with an online CPU or name --host-nodes with another policy",
			cpu);
		return -EINVAL;
	}
	node_set(m->nodes, node);
	return 0;
}

/* QEMU's rules for policy and host-nodes. */
static int policy_check(const struct hostmem_opts *o, const char *subcmd)
{
	int last = nodes_last(o->nodes);

	if (o->policy == HOSTMEM_POLICY_DEFAULT && last >= 0) {
		cli_err(subcmd,
			"--host-nodes must be empty for --numa-policy default: name another policy (preferred, bind, interleave)");
		return -EINVAL;
	}
	if (o->policy == HOSTMEM_POLICY_LOCAL && last >= 0) {
		cli_err(subcmd,
			"--host-nodes must be empty for --numa-policy local, which takes the node of the interfaces or of --cpu");
		return -EINVAL;
	}
	if (o->policy != HOSTMEM_POLICY_DEFAULT &&
	    o->policy != HOSTMEM_POLICY_LOCAL && last < 0) {
		cli_err(subcmd, "--host-nodes must be set for --numa-policy %s",
			policy_names[o->policy]);
		return -EINVAL;
	}
	if (o->policy != HOSTMEM_POLICY_DEFAULT && numa_available() < 0) {
		cli_err(subcmd,
			"--numa-policy %s: this kernel has no NUMA support (get_mempolicy failed): use --numa-policy default",
			policy_names[o->policy]);
		return -EOPNOTSUPP;
	}
	return 0;
}

/* Every node of the mask is online and has memory; what names the source. */
static int nodes_check(const char *subcmd, const char *what,
		       const unsigned long *nodes)
{
	unsigned long online[HOSTMEM_MASK_LONGS], mem[HOSTMEM_MASK_LONGS];
	int n, last = nodes_last(nodes), err;
	char list[64];

	err = nodes_read(NODE_SYSFS "/online", online);
	err = err ?: nodes_read(NODE_SYSFS "/has_memory", mem);
	if (err) {
		cli_err(subcmd, "cannot read the NUMA nodes from %s: %s",
			NODE_SYSFS, strerror(-err));
		return err;
	}
	for (n = 0; n <= last; n++) {
		if (!node_isset(nodes, n))
			continue;
		if (!node_isset(online, n)) {
			hostmem_nodes_format(online, list, sizeof(list));
			cli_err(subcmd,
				"%s: node %d is out of range: this machine has nodes %s",
				what, n, list);
			return -EINVAL;
		}
		if (!node_isset(mem, n)) {
			hostmem_nodes_format(mem, list, sizeof(list));
			cli_err(subcmd,
				"%s: node %d has no memory: nodes with memory are %s",
				what, n, list);
			return -EINVAL;
		}
	}
	return 0;
}

struct prealloc_job {
	char *start;
	size_t len;
	int err;
};

static void *prealloc_thread(void *arg)
{
	struct prealloc_job *job = arg;

	/*
	 * Write-faults every page under the VMA's policy, and reports a
	 * shortage (hugetlb, bind) as an error where a store would SIGBUS.
	 */
	if (madvise(job->start, job->len, MADV_POPULATE_WRITE))
		job->err = -errno;
	return NULL;
}

static int prealloc(const char *subcmd, struct hostmem *m, uint32_t threads)
{
	struct prealloc_job jobs[HOSTMEM_MAX_THREADS] = {};
	pthread_t tids[HOSTMEM_MAX_THREADS];
	uint64_t pages = m->size / m->page_size, per, off = 0;
	uint32_t i, started = 0;
	int err = 0;

	if (threads > pages)
		threads = pages;
	per = pages / threads;
	for (i = 0; i < threads; i++) {
		jobs[i].start = (char *)m->area + off;
		jobs[i].len = (per + (i < pages % threads)) * m->page_size;
		off += jobs[i].len;
		/* the last job runs here, and so does a lone one */
		if (i + 1 == threads)
			break;
		err = -pthread_create(&tids[i], NULL, prealloc_thread,
				      &jobs[i]);
		if (err) {
			cli_err(subcmd,
				"--prealloc-threads: cannot start thread %u: %s",
				i + 1, strerror(-err));
			break;
		}
		started++;
	}
	if (!err)
		prealloc_thread(&jobs[threads - 1]);
	for (i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	if (err)
		return err;
	for (i = 0; i < threads; i++) {
		if (!jobs[i].err)
			continue;
		err = jobs[i].err;
		cli_err(subcmd,
			"--prealloc: cannot allocate the UMEM pages: %s%s",
			strerror(-err),
			m->mode == MPOL_BIND ?
				": the bound nodes are out of memory; widen --host-nodes or use --numa-policy preferred" :
				"");
		return err;
	}
	return 0;
}

static int policy_apply(const struct hostmem_opts *o, const char *subcmd,
			struct hostmem *m)
{
	int first = 0, n, last = nodes_last(m->nodes);
	char list[64];

	switch (m->policy) {
	case HOSTMEM_POLICY_DEFAULT:
		return 0;
	case HOSTMEM_POLICY_PREFERRED:
		m->mode = MPOL_PREFERRED;
		while (!node_isset(m->nodes, first))
			first++;
		if (first == last)
			break;
		/* the kernel takes only the first node of MPOL_PREFERRED */
		if (numa_has_preferred_many && numa_has_preferred_many() > 0) {
			m->mode = MPOL_PREFERRED_MANY;
			break;
		}
		hostmem_nodes_format(m->nodes, list, sizeof(list));
		snprintf(
			m->note, sizeof(m->note),
			"preferred: no MPOL_PREFERRED_MANY in this kernel or libnuma: only node %d of --host-nodes %s is honoured",
			first, list);
		break;
	case HOSTMEM_POLICY_BIND:
	case HOSTMEM_POLICY_LOCAL:
		m->mode = MPOL_BIND;
		break;
	case HOSTMEM_POLICY_INTERLEAVE:
		m->mode = MPOL_INTERLEAVE;
		break;
	}
	/*
	 * STRICT|MOVE: pages somebody touched already move or fail; mbind()
	 * reads maxnode - 1 bits, hence the + 1.
	 */
	if (mbind(m->area, m->size, m->mode, m->nodes, last + 2,
		  MPOL_MF_STRICT | MPOL_MF_MOVE)) {
		n = -errno;
		hostmem_nodes_format(m->nodes, list, sizeof(list));
		cli_err(subcmd,
			"--numa-policy %s: cannot bind the UMEM to nodes %s: %s (are they in this process's cpuset, Mems_allowed in /proc/self/status?)",
			policy_names[o->policy], list, strerror(-n));
		return n;
	}
	return 0;
}

static void hostmem_init(struct hostmem *m, const struct hostmem_opts *o)
{
	memset(m, 0, sizeof(*m));
	m->fd = -1;
	m->mode = -1;
	m->policy = o->policy;
	m->dump = o->dump;
}

/* The guests' traffic stays out of core dumps unless --dump. */
static int dump_policy(const char *subcmd, const struct hostmem *m)
{
	int err;

	if (m->dump || !madvise(m->area, m->size, MADV_DONTDUMP))
		return 0;
	err = -errno;
	cli_err(subcmd,
		"cannot exclude the UMEM from core dumps: %s; pass --dump to keep it in them",
		strerror(-err));
	return err;
}

int hostmem_alloc(const struct hostmem_opts *o, const char *subcmd,
		  const char *const *ifnames, unsigned int n, int cpu,
		  struct hostmem *m)
{
	unsigned int mfd_flags = MFD_CLOEXEC;
	int flags = MAP_SHARED | MAP_NORESERVE;
	char sbuf[32], pbuf[32];
	bool bound;
	void *area;
	int err;

	hostmem_init(m, o);
	m->size = o->size;
	memcpy(m->nodes, o->nodes, sizeof(m->nodes));

	err = policy_check(o, subcmd);
	if (err)
		goto out;
	if (o->prealloc_threads && !o->prealloc) {
		cli_err(subcmd, "--prealloc-threads needs --prealloc");
		err = -EINVAL;
		goto out;
	}
	if (!m->size) {
		cli_err(subcmd, "--umem-size: must be more than 0");
		err = -EINVAL;
		goto out;
	}
	m->page_size = sysconf(_SC_PAGESIZE);
	if (o->hugepages) {
		m->page_size = o->hugepage_size ?: default_hugepage_size();
		if (!m->page_size) {
			cli_err(subcmd,
				"--hugepages: this kernel has no huge pages (no Hugepagesize in /proc/meminfo)");
			err = -EOPNOTSUPP;
			goto out;
		}
	}
	if (m->size % m->page_size) {
		cli_err(subcmd,
			"--umem-size: %s is not a multiple of the %s%s page size",
			size_str(m->size, sbuf, sizeof(sbuf)),
			size_str(m->page_size, pbuf, sizeof(pbuf)),
			o->hugepages ? " huge (--hugepages)" : "");
		err = -EINVAL;
		goto out;
	}
	err = memlock_check(subcmd, m->size);
	if (err)
		goto out;
	if (m->policy == HOSTMEM_POLICY_LOCAL) {
		err = local_nodes(subcmd, ifnames, n, cpu, m);
		if (err)
			goto out;
		err = nodes_check(subcmd, "--numa-policy local", m->nodes);
		if (err) {
			cli_err(subcmd, "%s", m->note);
			goto out;
		}
	} else if (m->policy != HOSTMEM_POLICY_DEFAULT) {
		err = nodes_check(subcmd, "--host-nodes", m->nodes);
		if (err)
			goto out;
	}
	if (o->hugepages) {
		/* only bind keeps the pages off the other nodes' pools */
		bound = m->policy == HOSTMEM_POLICY_BIND ||
			m->policy == HOSTMEM_POLICY_LOCAL;
		err = hugepages_check(subcmd, m->page_size, m->size,
				      bound ? m->nodes : NULL);
		if (err)
			goto out;
		/* hugetlb reserves at mmap(): no MAP_NORESERVE */
		flags = MAP_SHARED;
		mfd_flags |= MFD_HUGETLB |
			     (__builtin_ctzll(m->page_size) << MFD_HUGE_SHIFT);
	}

	/*
	 * QEMU's memory-backend-memfd: the same binding rules, but the pages
	 * have a file, so they can outlive this process (see keeper.h).
	 */
	m->fd = memfd_create("colo-xdp-umem", mfd_flags);
	if (m->fd < 0 || ftruncate(m->fd, m->size)) {
		err = -errno;
		cli_err(subcmd,
			"--umem-size: cannot create a memfd of %s%s: %s",
			size_str(m->size, sbuf, sizeof(sbuf)),
			o->hugepages ? " of huge pages (vm.nr_hugepages)" : "",
			strerror(-err));
		goto out;
	}
	area = mmap(NULL, m->size, PROT_READ | PROT_WRITE, flags, m->fd, 0);
	if (area == MAP_FAILED) {
		err = -errno;
		cli_err(subcmd, "--umem-size: cannot map %s%s: %s",
			size_str(m->size, sbuf, sizeof(sbuf)),
			o->hugepages ? " of huge pages (vm.nr_hugepages)" : "",
			strerror(-err));
		goto out;
	}
	m->area = area;
	err = policy_apply(o, subcmd, m);
	if (err)
		goto out;
	err = dump_policy(subcmd, m);
	if (err)
		goto out;
	if (o->prealloc)
		err = prealloc(subcmd, m, o->prealloc_threads ?: 1);
out:
	if (err)
		hostmem_free(m);
	return err;
}

int hostmem_adopt(int fd, const struct hostmem_opts *o, const char *subcmd,
		  struct hostmem *m)
{
	struct stat st;
	int err;

	hostmem_init(m, o);
	if (fstat(fd, &st)) {
		err = -errno;
		cli_err(subcmd, "the previous UMEM's memfd: %s",
			strerror(-err));
		goto out;
	}
	m->size = st.st_size;
	/* a hugetlb memfd reports its huge page size as the block size */
	m->page_size = st.st_blksize;
	m->area =
		mmap(NULL, m->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m->area == MAP_FAILED) {
		m->area = NULL;
		err = -errno;
		cli_err(subcmd,
			"cannot map the previous UMEM of %llu bytes: %s",
			(unsigned long long)m->size, strerror(-err));
		goto out;
	}
	m->fd = fd;
	snprintf(
		m->note, sizeof(m->note),
		"kept from the previous loader: its pages stay where they are");
	err = dump_policy(subcmd, m);
out:
	if (err) {
		m->fd = -1; /* still the caller's */
		hostmem_free(m);
	}
	return err;
}

void hostmem_free(struct hostmem *m)
{
	if (m->area)
		munmap(m->area, m->size);
	m->area = NULL;
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
}

int hostmem_report(const struct hostmem *m, struct colo_umem_report *r)
{
	unsigned long nodes[HOSTMEM_MASK_LONGS] = {};
	void *pages[REPORT_BATCH];
	int status[REPORT_BATCH];
	uint64_t done = 0;
	int mode, max = -1;
	unsigned int k, cnt;

	memset(r, 0, sizeof(*r));
	snprintf(r->policy, sizeof(r->policy), "%s",
		 hostmem_policy_name(m->policy));
	snprintf(r->note, sizeof(r->note), "%s", m->note);
	r->size = m->size;
	r->page_size = m->page_size;
	r->pages = m->size / m->page_size;
	r->dump = m->dump;
	if (get_mempolicy(&mode, nodes, HOSTMEM_MAX_NODES + 1, m->area,
			  MPOL_F_ADDR))
		return -errno;
	snprintf(r->mode, sizeof(r->mode), "%s", mode_name(mode));
	hostmem_nodes_format(nodes, r->nodes, sizeof(r->nodes));

	while (done < r->pages) {
		cnt = r->pages - done < REPORT_BATCH ? r->pages - done :
						       REPORT_BATCH;
		for (k = 0; k < cnt; k++)
			pages[k] = (char *)m->area + (done + k) * m->page_size;
		if (move_pages(0, cnt, pages, NULL, status, 0))
			return -errno;
		for (k = 0; k < cnt; k++) {
			if (status[k] >= 0 && status[k] < HOSTMEM_MAX_NODES) {
				r->pages_on_node[status[k]]++;
				if (status[k] > max)
					max = status[k];
			} else {
				r->pages_absent++;
			}
		}
		done += cnt;
	}
	r->max_node = (uint32_t)max;
	return 0;
}

void hostmem_report_print(const struct colo_umem_report *r, FILE *f)
{
	char sbuf[32], pbuf[32];
	uint32_t n;

	fprintf(f, "umem: %s in %s pages, --numa-policy %s, in force: %s%s%s;",
		size_str(r->size, sbuf, sizeof(sbuf)),
		size_str(r->page_size, pbuf, sizeof(pbuf)), r->policy, r->mode,
		r->nodes[0] ? " " : "", r->nodes);
	for (n = 0; r->max_node != UINT32_MAX && n <= r->max_node; n++)
		if (r->pages_on_node[n])
			fprintf(f, " N%u=%llu", n,
				(unsigned long long)r->pages_on_node[n]);
	fprintf(f, " not-faulted=%llu; %s core dumps\n",
		(unsigned long long)r->pages_absent,
		r->dump ? "in" : "excluded from");
	if (r->note[0])
		fprintf(f, "umem: %s\n", r->note);
}
