/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The kernel side of `colo-xdp secondary`: load colo_rewrite.bpf.o,
 * attach colo_rw_in (XDP) to the link towards the primary host and
 * colo_rw_out (tc ingress) to the VM's interface, pin the maps in the
 * agent's directory, and undo all of it. From then on the frames go both
 * ways without this process; it only sweeps the connection table and
 * publishes its record.
 */
#ifndef COLO_SECONDARY_REWRITE_H
#define COLO_SECONDARY_REWRITE_H

#include <stdbool.h>
#include <stdint.h>

#include "colo_rewrite.h"

struct rewrite_opts {
	const char *vm; /* the secondary VM's tap (or veth) */
	const char *link; /* towards the primary host's secondary interface */
	/* where the VM's frames go after a failover; NULL: the link */
	const char *failover_out;
	uint64_t pair_token; /* the pair's frames must carry it (colo_pair.h) */
	const char *pin_path; /* NULL: COLO_PIN_ROOT/secondary-<vm> */
	uint32_t max_conns; /* the connection table's size */
	bool skb_mode; /* XDP generic (skb) mode on the link */
};

struct rewrite;

/*
 * Check the interfaces, claim the pin directory, load, pin, configure and
 * attach. Pins of a dead agent of the same interfaces are taken over: its
 * maps kept (the connections, their offsets, the counters), its programs
 * replaced by this one's atomically. On error: a message naming the
 * interface or object and the fix, a negative errno, nothing left
 * attached or pinned, or a dead agent's instance left running as found.
 */
int rewrite_open(const struct rewrite_opts *o, struct rewrite **out);

/* The pid of the dead agent this one took over; 0: a new instance. */
uint32_t rewrite_took_over(const struct rewrite *rw);

/* The sweep's counters as last published: on a takeover, the dead agent's. */
const struct colo_rw_sweep_stats *rewrite_sweep_stats(const struct rewrite *rw);

const char *rewrite_pin_path(const struct rewrite *rw);

/* The VM's, the link's and --failover-out's (0: none) ifindex, in order. */
void rewrite_ifindex(const struct rewrite *rw, int ifindex[3]);

/* The connection table, for the sweep. */
int rewrite_conns_fd(const struct rewrite *rw);

/* The checkpoint epoch entries must belong to. */
uint32_t rewrite_epoch(const struct rewrite *rw);

/*
 * A checkpoint completed, told by the control socket rather than by the
 * pair's frame: every offset cleared at once (the epoch bumped).
 */
void rewrite_checkpoint_done(struct rewrite *rw);

/*
 * The primary host is gone: tracked connections keep their offsets until
 * they close, new ones are not tracked, the VM's frames go out of
 * --failover-out. -EALREADY if it was. Returns the time the switch took.
 */
int rewrite_failover(struct rewrite *rw, uint64_t *switch_ns);

bool rewrite_in_failover(const struct rewrite *rw);

/* The sweep's counters out to the pinned record `colo-xdp stat` reads. */
int rewrite_publish(struct rewrite *rw, const struct colo_rw_sweep_stats *st);

/* Detach what was attached, remove the pins and the directory. */
void rewrite_close(struct rewrite *rw);

#endif /* COLO_SECONDARY_REWRITE_H */
