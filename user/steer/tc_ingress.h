/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What an interface's tc ingress holds, read over rtnetlink: its clsact
 * (or ingress) qdisc, whether any filter is on that qdisc, and the BPF
 * program of the filter at one priority and handle. libbpf's
 * bpf_tc_query() and bpf_tc_hook_create() tell some of this too, but by
 * failing, with the kernel's message printed as a warning each time.
 */
#ifndef COLO_TC_INGRESS_H
#define COLO_TC_INGRESS_H

#include <stdbool.h>
#include <linux/types.h>

struct tc_ingress {
	bool qdisc; /* clsact or ingress (handle ffff:) */
	bool empty; /* no filter on it, ingress or egress, anyone's */
	__u32 prog_id; /* of the BPF filter looked for; 0: none there */
	/*
	 * The kind of a filter other than BPF at the priority looked for,
	 * "" if none: tc keeps one kind per priority, so no BPF filter can
	 * join it there.
	 */
	char other_kind[16];
};

/* Read ifindex's, looking for the BPF filter at prio and handle. */
int tc_ingress_read(int ifindex, __u32 prio, __u32 handle,
		    struct tc_ingress *t);

#endif /* COLO_TC_INGRESS_H */
