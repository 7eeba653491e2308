// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "colo_rewrite.h"
#include "secondary_fields.h"

/* with one line of help each: HELP in the metrics */
#define FIELD(type, f, h)                            \
	{                                            \
#f, offsetof(type, f), COLO_TOTAL, h \
	}
#define RW_F(f, h) FIELD(struct colo_rw_stats, f, h)
/* clang-format off */
/* What the secondary's rewriter counts, by its field names. */
const struct colo_counter secondary_rw_fields[] = {
	RW_F(to_vm, "Frames from the link redirected to the VM"),
	RW_F(to_host, "Frames from the link addressed to the host itself"),
	RW_F(foreign, "Frames from the link addressed to neither"),
	RW_F(acks_mapped, "Segments to the VM whose ACK, SACK edges and TSecr were mapped"),
	RW_F(to_link, "Frames from the VM sent out of the link"),
	RW_F(seqs_mapped, "Segments from the VM whose seq and TSval were mapped"),
	RW_F(learned_accepted, "Connections whose offsets were learned: the VM accepted them"),
	RW_F(learned_opened, "Connections whose offsets were learned: the VM opened them"),
	RW_F(learn_refused, "Handshake ACKs that did not answer the handshake"),
	RW_F(not_learned, "Segments before the offsets were known"),
	RW_F(untracked, "Segments of no connection, passed as they are"),
	RW_F(unknown_rst_fin, "RST or FIN of no connection"),
	RW_F(table_full, "New connections not tracked: the table was full"),
	RW_F(closed, "Connections closed: FIN both ways, or RST"),
	RW_F(malformed, "Segments whose TCP/IP headers did not fit"),
	RW_F(bad_options, "Segments with TCP options past the header"),
	RW_F(sack_wrapped, "SACK blocks whose left edge is not before the right"),
	RW_F(sack_outside, "SACK blocks past what the VM sent, or windows below the ACK"),
	RW_F(pair_checkpoints, "Checkpoint-done messages from the primary: the epoch bumped"),
	RW_F(pair_duplicates, "Copies of a checkpoint-done message already taken"),
	RW_F(pair_refused, "Pair messages refused: wrong magic, version, length, type or token"),
	RW_F(to_failover, "The VM's frames sent out of --failover-out"),
	RW_F(failover_untracked, "Connections opened since the failover: not tracked"),
};

#define SWEEP_F(f, h) FIELD(struct colo_rw_sweep_stats, f, h)
const struct colo_counter secondary_sweep_fields[] = {
	SWEEP_F(sweeps, "Sweeps of the connection table"),
	SWEEP_F(expired_idle, "Connections forgotten after --idle-timeout"),
	SWEEP_F(expired_handshake, "Half-open connections forgotten after --syn-timeout"),
	SWEEP_F(expired_closed, "Closed connections forgotten after --close-timeout"),
	SWEEP_F(expired_stale, "Connections made before the last checkpoint, forgotten"),
	/* a gauge: the connections in the table now */
	{ "conns", offsetof(struct colo_rw_sweep_stats, conns), COLO_GAUGE,
	  "Connections in the table after the last sweep" },
};
/* clang-format on */

#define NFIELDS(a) (sizeof(a) / sizeof(a[0]))

_Static_assert(NFIELDS(secondary_rw_fields) * sizeof(__u64) ==
		       sizeof(struct colo_rw_stats),
	       "a counter of struct colo_rw_stats has no name");
_Static_assert(NFIELDS(secondary_sweep_fields) * sizeof(__u64) ==
		       sizeof(struct colo_rw_sweep_stats),
	       "a counter of struct colo_rw_sweep_stats has no name");

const unsigned int secondary_rw_fields_n = NFIELDS(secondary_rw_fields);
const unsigned int secondary_sweep_fields_n = NFIELDS(secondary_sweep_fields);
