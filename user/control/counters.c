// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "counters.h"

#define ENG_KIND(name, f, k)                                          \
	{                                                             \
		name, offsetof(struct colo_loader_stats, engine.f), k \
	}
#define DP_KIND(name, f, k)                                       \
	{                                                         \
		name, offsetof(struct colo_loader_stats, dp.f), k \
	}
#define ENG(name, f) ENG_KIND(name, f, COLO_TOTAL)
#define ENG_GAUGE(name, f) ENG_KIND(name, f, COLO_GAUGE)
#define DP(name, f) DP_KIND(name, f, COLO_TOTAL)
#define DP_GAUGE(name, f) DP_KIND(name, f, COLO_GAUGE)

/* clang-format off */
const struct colo_counter colo_counters[] = {
	ENG("frames_in_primary", frames_in[0]),
	ENG("frames_in_secondary", frames_in[1]),
	ENG("passed", passed),
	ENG("not_compared_dropped", not_compared_dropped),
	ENG("malformed_primary", malformed[0]),
	ENG("malformed_secondary", malformed[1]),
	ENG("compared", compared),
	ENG("released", released),
	ENG("released_flush", released_flush),
	ENG("failover_passed", failover_passed),
	ENG("retransmissions", retransmissions),
	ENG("mismatches", mismatches),
	ENG("refused_queue_full", refused[COLO_FULL_QUEUE]),
	ENG("refused_table_full", refused[COLO_FULL_TABLE]),
	ENG("refused_no_buffers", refused[COLO_FULL_POOL]),
	ENG("ckpt_mismatch", ckpt_requests[COLO_CKPT_MISMATCH]),
	ENG("ckpt_timeout", ckpt_requests[COLO_CKPT_TIMEOUT]),
	ENG("ckpt_queue_full", ckpt_requests[COLO_CKPT_QUEUE_FULL]),
	ENG("ckpt_no_buffers", ckpt_requests[COLO_CKPT_NO_BUFFERS]),
	ENG("ckpt_table_full", ckpt_requests[COLO_CKPT_TABLE_FULL]),
	ENG("ckpt_coalesced", ckpt_coalesced),
	ENG("ckpt_repeats", ckpt_repeats),
	ENG("checkpoints", checkpoints),
	ENG("conns_created", conns_created),
	ENG("conns_expired_idle", conns_expired_idle),
	ENG("conns_expired_closed", conns_expired_closed),
	ENG_GAUGE("conns_active", conns_active),
	ENG_GAUGE("queued_primary", queued[0]),
	ENG_GAUGE("queued_secondary", queued[1]),
	ENG_GAUGE("pool_in_use", pool_in_use),
	DP("rx_primary", rx[0]),
	DP("rx_secondary", rx[1]),
	DP_GAUGE("rx_waiting_primary", rx_waiting[0]),
	DP_GAUGE("rx_waiting_secondary", rx_waiting[1]),
	DP_GAUGE("rx_on_ring_primary", rx_on_ring[0]),
	DP_GAUGE("rx_on_ring_secondary", rx_on_ring[1]),
	DP("tx", tx),
	DP("tx_completed", tx_completed),
	DP("tx_kicks", tx_kicks),
	DP_GAUGE("tx_pending", tx_pending),
	DP_GAUGE("pool_free", pool_free),
	DP_GAUGE("pool_size", pool_size),
	DP("rx_dropped_primary", rx_dropped[0]),
	DP("rx_dropped_secondary", rx_dropped[1]),
	DP("rx_ring_full_primary", rx_ring_full[0]),
	DP("rx_ring_full_secondary", rx_ring_full[1]),
	DP("fill_ring_empty_primary", fill_ring_empty[0]),
	DP("fill_ring_empty_secondary", fill_ring_empty[1]),
	DP("ckpt_logged", ckpt_logged),
	DP("failovers", failovers),
	DP("resumes", resumes),
	DP_GAUGE("switch_ns", switch_ns),
	DP("loader_gaps", loader_gaps),
	DP("mismatch_dumped", mismatch_dumped),
	DP("adopted_primary", adopted[0]),
	DP("adopted_secondary", adopted[1]),
	DP("adopted_sent", adopted_sent),
	DP_GAUGE("degraded_seen_passed", degraded_seen_passed),
	DP_GAUGE("degraded_seen_dropped", degraded_seen_dropped),
	DP("qmp_connects", qmp_connects),
	DP("qmp_reconnects", qmp_reconnects),
	DP("qmp_requests", qmp_requests),
	DP("qmp_requests_lost", qmp_requests_lost),
	DP("qmp_requests_coalesced", qmp_requests_coalesced),
	DP("qmp_checkpoints", qmp_checkpoints),
	DP("qmp_errors", qmp_errors),
	DP_GAUGE("qmp_checkpoint_ns", qmp_checkpoint_ns),
	DP("pair_checkpoints", pair_checkpoints),
	DP("pair_send_failed", pair_send_failed),
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
