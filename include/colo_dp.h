/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Counters of the AF_XDP datapath of `colo-xdp run`. */
#ifndef COLO_DP_H
#define COLO_DP_H

#ifndef __bpf__
#include <linux/types.h>
#endif

struct colo_dp_stats {
	__u64 rx[2]; /* frames taken off the primary and secondary sockets */
	/* gauge: taken, refused by a full engine, to be offered again */
	__u64 rx_waiting[2];
	/* gauge: delivered to the RX ring, not taken yet */
	__u64 rx_on_ring[2];
	__u64 tx; /* primary frames put on the outdev's TX ring */
	__u64 tx_completed; /* returned by the outdev's completion ring */
	__u64 tx_kicks; /* sendto() calls that pushed the TX ring */
	__u64 tx_pending; /* gauge: released, waiting for room on the TX ring */
	__u64 pool_free; /* gauge: UMEM frames free in the pool */
	__u64 pool_size; /* gauge: UMEM frames */
	/* From the kernel (XDP_STATISTICS), by side: frames lost before us. */
	__u64 rx_dropped[2]; /* no room in the UMEM or an invalid descriptor */
	__u64 rx_ring_full[2]; /* the RX ring was full */
	__u64 fill_ring_empty[2]; /* the fill ring had no free frame */
	__u64 ckpt_logged; /* checkpoint requests sent to the controllers */
	/* `colo-xdp run` itself, around the datapath: */
	__u64 failovers; /* failover commands carried out */
	__u64 resumes; /* resume commands carried out */
	__u64 switch_ns; /* gauge: command to XDP switch, last failover/resume */
	/* restarts and stalls past --watchdog-ms: each asks a checkpoint */
	__u64 loader_gaps;
	__u64 mismatch_dumped; /* frame pairs written to --mismatch-dump */
	/*
	 * Frames a killed loader's engine held, taken over at the restart:
	 * by side, to compare again, and those it had released, sent.
	 */
	__u64 adopted[2];
	__u64 adopted_sent;
	/*
	 * Gauges: colo_steer's degraded counters (both roles) as of the last
	 * loader gap this loader reported; a successor reports only what came
	 * after
	 */
	__u64 degraded_seen_passed;
	__u64 degraded_seen_dropped;
	/* QEMU's monitor, --notify qmp:... (see user/control/qmp.h) */
	__u64 qmp_connects; /* sessions set up */
	__u64 qmp_reconnects; /* of those, after one was lost */
	__u64 qmp_requests; /* checkpoint requests QEMU accepted */
	__u64 qmp_requests_lost; /* no session, or COLO not running */
	__u64 qmp_requests_coalesced; /* answered by one on its way */
	__u64 qmp_checkpoints; /* checkpoints QEMU completed */
	__u64 qmp_errors; /* not QMP, error replies, timeouts */
	__u64 qmp_checkpoint_ns; /* gauge: last request to its checkpoint */
	/* the secondary agent told of checkpoints done (colo_pair.h) */
	__u64 pair_checkpoints; /* messages sent out of S */
	__u64 pair_send_failed; /* copies the kernel refused */
	/* --workers: frames one took off its RX rings for another's flows */
	__u64 handed;
};

#endif /* COLO_DP_H */
