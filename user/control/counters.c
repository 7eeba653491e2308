// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "counters.h"

#define ENG_KIND(name, f, k, h)                                          \
	{                                                                \
		name, offsetof(struct colo_loader_stats, engine.f), k, h \
	}
#define DP_KIND(name, f, k, h)                                       \
	{                                                            \
		name, offsetof(struct colo_loader_stats, dp.f), k, h \
	}
#define ENG(name, f, h) ENG_KIND(name, f, COLO_TOTAL, h)
#define ENG_GAUGE(name, f, h) ENG_KIND(name, f, COLO_GAUGE, h)
#define DP(name, f, h) DP_KIND(name, f, COLO_TOTAL, h)
#define DP_GAUGE(name, f, h) DP_KIND(name, f, COLO_GAUGE, h)

/* clang-format off */
const struct colo_counter colo_counters[] = {
	ENG("frames_in_primary", frames_in[0],
	    "Frames the engine took from the primary"),
	ENG("frames_in_secondary", frames_in[1],
	    "Frames the engine took from the secondary"),
	ENG("passed", passed,
	    "Primary frames sent out uncompared (not IP, malformed)"),
	ENG("not_compared_dropped", not_compared_dropped,
	    "Secondary frames dropped uncompared (not IP, malformed)"),
	ENG("malformed_primary", malformed[0],
	    "Primary frames whose headers did not fit (of passed)"),
	ENG("malformed_secondary", malformed[1],
	    "Secondary frames whose headers did not fit (of not_compared_dropped)"),
	ENG("compared", compared,
	    "Frame pairs (non-TCP) or TCP segments that matched"),
	ENG("released", released,
	    "Primary frames released to the outdev, all causes"),
	ENG("released_flush", released_flush,
	    "Primary frames released by a checkpoint or a failover (of released)"),
	ENG("failover_passed", failover_passed,
	    "Primary frames passed while failed over"),
	ENG("passthrough_released", passthrough_released,
	    "Primary frames of a passthrough flow released uncompared"),
	ENG("passthrough_freed", passthrough_freed,
	    "Secondary frames of a passthrough flow freed uncompared"),
	ENG("retransmissions", retransmissions,
	    "TCP segments wholly below the compared cursor"),
	ENG("syn_held", syn_held,
	    "Primary SYNs held until the secondary's SYN for the connection came"),
	ENG("mismatches", mismatches,
	    "Primary and secondary frames that differed"),
	ENG("refused_queue_full", refused[COLO_FULL_QUEUE],
	    "Frames refused for a full connection queue, offered again"),
	ENG("refused_table_full", refused[COLO_FULL_TABLE],
	    "Frames refused for want of a connection slot, offered again"),
	ENG("refused_no_buffers", refused[COLO_FULL_POOL],
	    "Frames refused for a side's full share of the pool, offered again"),
	ENG("ckpt_mismatch", ckpt_requests[COLO_CKPT_MISMATCH],
	    "Checkpoint requests for a mismatch"),
	ENG("ckpt_timeout", ckpt_requests[COLO_CKPT_TIMEOUT],
	    "Checkpoint requests for a frame that waited too long (or a loader gap)"),
	ENG("ckpt_queue_full", ckpt_requests[COLO_CKPT_QUEUE_FULL],
	    "Checkpoint requests for a full connection queue"),
	ENG("ckpt_no_buffers", ckpt_requests[COLO_CKPT_NO_BUFFERS],
	    "Checkpoint requests for a full frame pool"),
	ENG("ckpt_table_full", ckpt_requests[COLO_CKPT_TABLE_FULL],
	    "Checkpoint requests for a full connection table"),
	ENG("ckpt_coalesced", ckpt_coalesced,
	    "Checkpoint requests folded into an outstanding one"),
	ENG("ckpt_repeats", ckpt_repeats,
	    "Checkpoint requests sent again while unanswered"),
	ENG("checkpoints", checkpoints,
	    "Checkpoints done (the controller's checkpoint-done)"),
	ENG("conns_created", conns_created,
	    "Connections the engine started tracking"),
	ENG("conns_expired_idle", conns_expired_idle,
	    "Connections forgotten when idle"),
	ENG("conns_expired_closed", conns_expired_closed,
	    "Connections forgotten after FIN both ways or RST"),
	ENG_GAUGE("conns_active", conns_active,
	    "Connections tracked now"),
	ENG_GAUGE("queued_primary", queued[0],
	    "Primary frames queued now"),
	ENG_GAUGE("queued_secondary", queued[1],
	    "Secondary frames queued now"),
	ENG_GAUGE("pool_in_use", pool_in_use,
	    "Engine frame descriptors in use now"),
	DP("rx_primary", rx[0],
	    "Frames taken off the primary's AF_XDP socket"),
	DP("rx_secondary", rx[1],
	    "Frames taken off the secondary's AF_XDP socket"),
	DP_GAUGE("rx_waiting_primary", rx_waiting[0],
	    "Primary frames taken but refused by a full engine, waiting now"),
	DP_GAUGE("rx_waiting_secondary", rx_waiting[1],
	    "Secondary frames taken but refused by a full engine, waiting now"),
	DP_GAUGE("rx_on_ring_primary", rx_on_ring[0],
	    "Primary frames on the RX ring, not taken yet"),
	DP_GAUGE("rx_on_ring_secondary", rx_on_ring[1],
	    "Secondary frames on the RX ring, not taken yet"),
	DP("tx", tx,
	    "Primary frames put on the outdev's TX ring"),
	DP("tx_completed", tx_completed,
	    "Frames the outdev's completion ring returned"),
	DP("tx_kicks", tx_kicks,
	    "sendto() calls that pushed the TX ring"),
	DP("handed", handed,
	    "Frames a worker took off its RX rings and handed to the worker of their flow (--workers)"),
	DP_GAUGE("tx_pending", tx_pending,
	    "Released frames waiting for room on the TX ring now"),
	DP_GAUGE("pool_free", pool_free,
	    "UMEM frames free now"),
	DP_GAUGE("pool_size", pool_size,
	    "UMEM frames"),
	DP("rx_dropped_primary", rx_dropped[0],
	    "Primary frames the kernel dropped: no UMEM room or a bad descriptor"),
	DP("rx_dropped_secondary", rx_dropped[1],
	    "Secondary frames the kernel dropped: no UMEM room or a bad descriptor"),
	DP("rx_ring_full_primary", rx_ring_full[0],
	    "Primary frames the kernel dropped on a full RX ring"),
	DP("rx_ring_full_secondary", rx_ring_full[1],
	    "Secondary frames the kernel dropped on a full RX ring"),
	DP("fill_ring_empty_primary", fill_ring_empty[0],
	    "Times the primary's fill ring had no free frame"),
	DP("fill_ring_empty_secondary", fill_ring_empty[1],
	    "Times the secondary's fill ring had no free frame"),
	DP("ckpt_logged", ckpt_logged,
	    "Checkpoint requests sent to the controllers"),
	DP("failovers", failovers,
	    "Failover commands carried out"),
	DP("resumes", resumes,
	    "Resume commands carried out"),
	DP_GAUGE("switch_ns", switch_ns,
	    "Nanoseconds from the last failover or resume command to the XDP switch"),
	DP("loader_gaps", loader_gaps,
	    "Restarts and stalls past --watchdog-ms, each asking a checkpoint"),
	DP("mismatch_dumped", mismatch_dumped,
	    "Frame pairs written to --mismatch-dump"),
	DP("adopted_primary", adopted[0],
	    "Primary frames a killed loader held, taken over at the restart"),
	DP("adopted_secondary", adopted[1],
	    "Secondary frames a killed loader held, taken over at the restart"),
	DP("adopted_sent", adopted_sent,
	    "Frames a killed loader had released, sent at the restart"),
	DP_GAUGE("degraded_seen_passed", degraded_seen_passed,
	    "colo_steer's frames passed uncompared, as of the last loader gap"),
	DP_GAUGE("degraded_seen_dropped", degraded_seen_dropped,
	    "colo_steer's frames dropped uncompared, as of the last loader gap"),
	DP("qmp_connects", qmp_connects,
	    "QMP sessions set up"),
	DP("qmp_reconnects", qmp_reconnects,
	    "QMP sessions set up after one was lost"),
	DP("qmp_requests", qmp_requests,
	    "Checkpoint requests QEMU accepted"),
	DP("qmp_requests_lost", qmp_requests_lost,
	    "Checkpoint requests lost: no QMP session, or COLO not running"),
	DP("qmp_requests_coalesced", qmp_requests_coalesced,
	    "Checkpoint requests answered by one on its way"),
	DP("qmp_checkpoints", qmp_checkpoints,
	    "Checkpoints QEMU completed"),
	DP("qmp_errors", qmp_errors,
	    "QMP replies that were not QMP, errors or timeouts"),
	DP_GAUGE("qmp_checkpoint_ns", qmp_checkpoint_ns,
	    "Nanoseconds from the last QMP request to its checkpoint"),
	DP("pair_checkpoints", pair_checkpoints,
	    "Checkpoint-done messages sent to the secondary agent out of S"),
	DP("pair_send_failed", pair_send_failed,
	    "Checkpoint-done copies to the secondary agent the kernel refused"),
};
/* clang-format on */

#define NR(a) (sizeof(a) / sizeof((a)[0]))
#define NR_ENGINE (sizeof(struct colo_engine_stats) / sizeof(__u64))

/* A counter added to either struct without a name here fails the build. */
_Static_assert(NR(colo_counters) * sizeof(__u64) ==
		       sizeof(struct colo_loader_stats),
	       "a counter of struct colo_loader_stats has no name");

const unsigned int colo_counters_n = NR(colo_counters);
const unsigned int colo_counters_engine = NR_ENGINE;

/* A rule's frames since it was added: totals, as colo_steer's are. */
#define PASS(f, h)                                                     \
	{                                                              \
#f, offsetof(struct colo_pass_count, f), COLO_TOTAL, h \
	}
const struct colo_counter colo_pass_counters[] = {
	PASS(primary, "Primary frames of the rule's flows sent to the outdev"),
	PASS(secondary, "Secondary frames of the rule's flows dropped"),
};
_Static_assert(NR(colo_pass_counters) * sizeof(__u64) ==
		       sizeof(struct colo_pass_count),
	       "a counter of struct colo_pass_count has no name");
const unsigned int colo_pass_counters_n = NR(colo_pass_counters);

void colo_counters_print_json(FILE *f, const void *base,
			      const struct colo_counter *c, unsigned int n)
{
	unsigned int i;

	fputc('{', f);
	for (i = 0; i < n; i++)
		fprintf(f, "%s\"%s\":%llu", i ? "," : "", c[i].name,
			(unsigned long long)colo_counter_get(base, &c[i]));
	fputc('}', f);
}
