// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "colo_rewrite.h"
#include "secondary_fields.h"

#define FIELD(type, f)                            \
	{                                         \
#f, offsetof(type, f), COLO_TOTAL \
	}
#define RW_F(f) FIELD(struct colo_rw_stats, f)
/* What the secondary's rewriter counts, by its field names. */
const struct colo_counter secondary_rw_fields[] = {
	RW_F(to_vm),
	RW_F(to_host),
	RW_F(foreign),
	RW_F(acks_mapped),
	RW_F(to_link),
	RW_F(seqs_mapped),
	RW_F(learned_accepted),
	RW_F(learned_opened),
	RW_F(learn_refused),
	RW_F(not_learned),
	RW_F(untracked),
	RW_F(unknown_rst_fin),
	RW_F(table_full),
	RW_F(closed),
	RW_F(malformed),
	RW_F(bad_options),
	RW_F(sack_wrapped),
	RW_F(sack_outside),
	RW_F(pair_checkpoints),
	RW_F(pair_duplicates),
	RW_F(pair_refused),
	RW_F(to_failover),
	RW_F(failover_untracked),
};

#define SWEEP_F(f) FIELD(struct colo_rw_sweep_stats, f)
const struct colo_counter secondary_sweep_fields[] = {
	SWEEP_F(sweeps),
	SWEEP_F(expired_idle),
	SWEEP_F(expired_handshake),
	SWEEP_F(expired_closed),
	SWEEP_F(expired_stale),
	/* a gauge: the connections in the table now */
	{ "conns", offsetof(struct colo_rw_sweep_stats, conns), COLO_GAUGE },
};

#define NFIELDS(a) (sizeof(a) / sizeof(a[0]))

_Static_assert(NFIELDS(secondary_rw_fields) * sizeof(__u64) ==
		       sizeof(struct colo_rw_stats),
	       "a counter of struct colo_rw_stats has no name");
_Static_assert(NFIELDS(secondary_sweep_fields) * sizeof(__u64) ==
		       sizeof(struct colo_rw_sweep_stats),
	       "a counter of struct colo_rw_sweep_stats has no name");

const unsigned int secondary_rw_fields_n = NFIELDS(secondary_rw_fields);
const unsigned int secondary_sweep_fields_n = NFIELDS(secondary_sweep_fields);
