/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Where the UMEM's pages are: read back by the loader at start (policy in
 * force, pages per NUMA node) and published in the colo_loader map, so
 * that `colo-xdp stat` and `bpftool map dump` show it. Plain data, no
 * pointers.
 */
#ifndef COLO_UMEM_H
#define COLO_UMEM_H

#ifndef __bpf__
#include <linux/types.h>
#endif

/* Host nodes a policy can name, as QEMU's MAX_NODES. */
#define COLO_UMEM_MAX_NODES 128

struct colo_umem_report {
	char policy[32]; /* requested: "bind", "preferred", "local", ... */
	char mode[32]; /* in force (get_mempolicy): "bind", "preferred-many" */
	char nodes[64]; /* in force, as a list: "0-1,3" */
	char note[256]; /* how local chose its node, or what was not honoured */
	__u64 size; /* 0: no report */
	__u64 page_size;
	__u64 pages; /* size / page_size */
	__u64 pages_absent; /* not faulted in yet */
	__u64 pages_on_node[COLO_UMEM_MAX_NODES];
	__u32 max_node; /* highest node with pages; 0xffffffff: none */
	__u32 dump; /* kept in core dumps (--dump) */
};

#endif /* COLO_UMEM_H */
