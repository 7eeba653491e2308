/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * NUMA-bound memory for the UMEM, allocated the way QEMU's host memory
 * backends allocate guest RAM (memory-backend-memfd): map without
 * populating, bind with mbind() (MPOL_MF_STRICT | MPOL_MF_MOVE),
 * preallocate from N threads, and leave the pinning to the UMEM
 * registration that follows. Every frame lives in
 * this area, so it also sits on the NUMA node of the NICs and of the CPU
 * that compares them when asked (--numa-policy local).
 *
 * Wiring into a command:
 *   flags, --help: HOSTMEM_CLI_OPTS(struct opts, mem) in the option table
 *   setup:         hostmem_alloc(&o, CMD, ifnames, n, cpu, &mem), then
 *                  register mem.area / mem.size as the UMEM
 *   report:        hostmem_report() + hostmem_report_print()
 *   teardown:      hostmem_free(&mem) after the UMEM is unregistered
 */
#ifndef COLO_HOSTMEM_H
#define COLO_HOSTMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cli_opts.h"
#include "colo_umem.h"

#define HOSTMEM_MAX_NODES COLO_UMEM_MAX_NODES
/* mbind() reads one bit less than it is told: room for that extra bit. */
#define HOSTMEM_MASK_LONGS ((HOSTMEM_MAX_NODES + 1 + 63) / 64)
/* Most threads --prealloc-threads accepts. */
#define HOSTMEM_MAX_THREADS 64

enum hostmem_policy {
	HOSTMEM_POLICY_DEFAULT,
	HOSTMEM_POLICY_PREFERRED,
	HOSTMEM_POLICY_BIND,
	HOSTMEM_POLICY_INTERLEAVE,
	/* bind to the node of the interfaces, else of the comparing CPU */
	HOSTMEM_POLICY_LOCAL,
};

struct hostmem_opts {
	enum hostmem_policy policy; /* --numa-policy */
	unsigned long nodes[HOSTMEM_MASK_LONGS]; /* --host-nodes */
	uint64_t size; /* --umem-size; 0: the caller's default */
	bool hugepages; /* --hugepages[=SIZE] */
	uint64_t hugepage_size; /* 0: the kernel's default huge page size */
	bool prealloc; /* --prealloc */
	uint32_t prealloc_threads; /* --prealloc-threads; 0: not given (1) */
	bool dump; /* --dump: keep the area in core dumps */
};

/* CLI_OPT_FUNC's parse for HOSTMEM_CLI_OPTS: field is a hostmem_opts. */
int hostmem_cli_parse(const char *cmd, const struct cli_opt *opt, void *field,
		      const char *arg);

/* The entries of a command's option table, for its member of otype. */
#define HOSTMEM_OPT(otype, member, flag, value, text, ...)                  \
	{                                                                   \
		.type = CLI_OPT_FUNC, .name = (flag), .arg = (value),       \
		.off = offsetof(otype, member), .parse = hostmem_cli_parse, \
		.help = (text), __VA_ARGS__                                 \
	}
/* clang-format off */
#define HOSTMEM_CLI_OPTS(otype, member)					\
	HOSTMEM_OPT(otype, member, "numa-policy", "POLICY",		\
		    "where the UMEM pages go: default (the kernel's\n"	\
		    "policy, when not told), preferred, bind,\n"	\
		    "interleave (on --host-nodes), or local (the\n"	\
		    "node of the interfaces, else of --cpu)"),		\
	HOSTMEM_OPT(otype, member, "host-nodes", "LIST",		\
		    "NUMA nodes for the policy, e.g. 0-1,3"),		\
	HOSTMEM_OPT(otype, member, "umem-size", "SIZE",			\
		    "UMEM size in bytes, or with a K, M, G suffix"),	\
	HOSTMEM_OPT(otype, member, "hugepages", "2M|1G",		\
		    "back the UMEM with reserved huge pages (the\n"	\
		    "default size; see vm.nr_hugepages)",		\
		    .arg_optional = true),				\
	HOSTMEM_OPT(otype, member, "prealloc", NULL,			\
		    "allocate every UMEM page before registering"),	\
	HOSTMEM_OPT(otype, member, "prealloc-threads", "N",		\
		    "threads that preallocate", .def = "1"),		\
	HOSTMEM_OPT(otype, member, "dump", NULL,			\
		    "keep the UMEM (the guests' traffic) in core\n"	\
		    "dumps (excluded by default)")
/* clang-format on */

/* Defaults: policy default, no nodes, normal pages, no dump. */
void hostmem_opts_init(struct hostmem_opts *o);

/*
 * Parse one flag, named without its dashes ("numa-policy") or with them;
 * value is NULL for flags without one. Errors name the flag and go to
 * stderr as "colo-xdp SUBCMD: ..."; returns 0 or -EINVAL.
 */
int hostmem_parse_flag(struct hostmem_opts *o, const char *subcmd,
		       const char *flag, const char *value);

/* "64M", "1G", "4096" into bytes; errors name the flag. */
int hostmem_parse_size(const char *subcmd, const char *flag, const char *arg,
		       uint64_t *out);

struct hostmem {
	void *area;
	int fd; /* the memfd behind area; -1 when none */
	uint64_t size;
	uint64_t page_size; /* of the mapping: base or huge page */
	int mode; /* MPOL_* given to mbind(), -1 when mbind() was not called */
	unsigned long nodes[HOSTMEM_MASK_LONGS]; /* nodes given to mbind() */
	enum hostmem_policy policy;
	bool dump;
	char note[256]; /* how local chose its node, or what was not honoured */
};

/*
 * Validate o against this machine, map o->size bytes (a caller with a
 * default size sets it before parsing flags), bind and preallocate them. ifnames[n] and cpu
 * (-1: not pinned) are the interfaces and CPU of the comparator, for
 * --numa-policy local. On error: a message naming the flag, limit or
 * sysctl and the fix, a negative errno, nothing left mapped.
 */
int hostmem_alloc(const struct hostmem_opts *o, const char *subcmd,
		  const char *const *ifnames, unsigned int n, int cpu,
		  struct hostmem *m);
/*
 * Map a UMEM memfd that hostmem_alloc() made in another process (a loader
 * that died, see keeper.h): its size, pages and NUMA placement stay as they
 * are; o gives only --dump and the policy name reported. Takes fd on
 * success (hostmem_free() closes it); on error it stays the caller's.
 */
int hostmem_adopt(int fd, const struct hostmem_opts *o, const char *subcmd,
		  struct hostmem *m);
void hostmem_free(struct hostmem *m);

/*
 * Read back the policy of the area (get_mempolicy(MPOL_F_ADDR)) and where
 * each page is (move_pages()). Allocation-free; returns 0 or -errno.
 */
int hostmem_report(const struct hostmem *m, struct colo_umem_report *r);

/*
 * "umem: 64 MiB in 4 KiB pages, --numa-policy bind, in force: bind 0;
 * N0=16384 not-faulted=0; excluded from core dumps", and the note if any.
 */
void hostmem_report_print(const struct colo_umem_report *r, FILE *f);

/* Policy names as the flag takes them; NULL when out of range. */
const char *hostmem_policy_name(enum hostmem_policy p);

/* "0-1,3" for a node mask; returns the length snprintf() would. */
int hostmem_nodes_format(const unsigned long *nodes, char *buf, size_t len);

#endif /* COLO_HOSTMEM_H */
