/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Layouts shared by colo_steer.bpf.c and the loader: interface roles, the
 * per-interface configuration map, and the per-CPU steering counters.
 */
#ifndef COLO_XDP_H
#define COLO_XDP_H

#ifndef __bpf__
#include <linux/types.h>
#endif

#include "colo_stats.h"
#include "colo_dp.h"

enum colo_role {
	COLO_ROLE_PRIMARY = 0,
	COLO_ROLE_SECONDARY = 1,
	COLO_ROLE_OUT = 2,
	COLO_NR_ROLES = 3,
};

/* Per-CPU, per role: what the XDP program did with each frame. */
struct colo_steer_stats {
	__u64 to_socket; /* redirected to the role's AF_XDP socket */
	__u64 bypassed; /* not compared: primary sent to the outdev */
	__u64 dropped; /* not compared: secondary dropped */
	__u64 malformed; /* of bypassed/dropped: headers did not fit */
	__u64 no_socket; /* no AF_XDP socket bound for (ifindex, queue) */
};

/* What the running loader publishes for `colo-xdp stat` and bpftool. */
struct colo_loader_stats {
	struct colo_engine_stats engine;
	struct colo_dp_stats dp;
};

#endif /* COLO_XDP_H */
