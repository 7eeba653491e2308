/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Counters of the AF_XDP datapath of `colo-xdp run`. */
#ifndef COLO_DP_H
#define COLO_DP_H

#ifndef __bpf__
#include <linux/types.h>
#endif

struct colo_dp_stats {
	__u64 rx[2]; /* frames taken off the primary and secondary sockets */
	__u64 tx; /* primary frames put on the outdev's TX ring */
	__u64 tx_completed; /* returned by the outdev's completion ring */
	__u64 pool_free; /* gauge: UMEM frames free in the pool */
	__u64 pool_size;
};

#endif /* COLO_DP_H */
