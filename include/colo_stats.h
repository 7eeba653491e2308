/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Counters of the comparison engine. They live here, not in user/, because
 * the loader publishes them in a BTF-typed BPF map, so that `bpftool map
 * dump` and `colo-xdp stat` show them by name.
 */
#ifndef COLO_STATS_H
#define COLO_STATS_H

#ifndef __bpf__
#include <linux/types.h>
#endif

enum colo_ckpt_reason {
	COLO_CKPT_MISMATCH = 0,
	COLO_CKPT_TIMEOUT,
	COLO_CKPT_QUEUE_FULL,
	COLO_CKPT_NO_BUFFERS,
	COLO_CKPT_TABLE_FULL,
	COLO_CKPT_REASON_MAX,
};

/*
 * Why the engine had no room for a frame: it refused it, and the driver
 * offers it again once matches of the other side made room.
 */
enum colo_full {
	COLO_FULL_QUEUE = 0, /* its connection's queue, at 65535 */
	COLO_FULL_TABLE, /* no connection slot */
	COLO_FULL_POOL, /* its side's share of the frame pool */
	COLO_FULL_MAX,
};

struct colo_engine_stats {
	__u64 frames_in[2]; /* by enum colo_side */
	__u64 passed; /* primary not compared (non-IP, malformed) */
	__u64 not_compared_dropped; /* secondary not compared */
	__u64 malformed[2]; /* by side; included in passed / dropped */
	__u64 compared; /* frame pairs (non-TCP) or segments (TCP) matched */
	__u64 released; /* primary frames released, all causes */
	__u64 released_flush; /* of which by checkpoint-done or failover */
	__u64 failover_passed; /* primary passed while in failover */
	/* of a passthrough flow, uncompared: primary released, secondary */
	__u64 passthrough_released;
	__u64 passthrough_freed;
	__u64 retransmissions; /* TCP segments wholly below the cursor */
	__u64 syn_held; /* primary SYNs held for the secondary's SYN */
	__u64 mismatches;
	__u64 refused[COLO_FULL_MAX]; /* refusals, each offered again */
	__u64 ckpt_requests[COLO_CKPT_REASON_MAX]; /* new requests */
	__u64 ckpt_coalesced; /* requests folded into an outstanding one */
	__u64 ckpt_repeats; /* re-sent each scan cycle while unanswered */
	__u64 checkpoints; /* checkpoint-done calls */
	__u64 conns_created;
	__u64 conns_expired_idle; /* or reclaimed, empty, by a new one */
	__u64 conns_expired_closed; /* FIN on both sides, or RST */
	__u64 conns_active; /* gauge */
	__u64 queued[2]; /* gauge, frames queued by side */
	__u64 pool_in_use; /* gauge, frame descriptors in use */
};

#endif /* COLO_STATS_H */
