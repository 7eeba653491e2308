/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The names of the loader's counters, once: `colo-xdp stat`, the control
 * socket's `stats` reply and `colo-xdp replay` all print them under these
 * names, so a counter is called the same wherever a user reads it.
 */
#ifndef COLO_COUNTERS_H
#define COLO_COUNTERS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "colo_xdp.h"

/*
 * A total counts events and only goes up, from the start of the process
 * that publishes it (a restarted loader starts again at zero, as any
 * process's counters do; colo_steer's, in BPF maps, count from the
 * attach). A gauge is a level now: what is queued, waiting, free.
 */
enum colo_counter_kind {
	COLO_TOTAL = 0,
	COLO_GAUGE,
};

struct colo_counter {
	const char *name;
	size_t off; /* into the struct of counters it names */
	enum colo_counter_kind kind;
	/* one line for a reader who has not read the code: HELP in metrics */
	const char *help;
};

/*
 * Every __u64 of struct colo_loader_stats, the engine's first
 * (colo_counters_engine of them), then the datapath's.
 */
extern const struct colo_counter colo_counters[];
extern const unsigned int colo_counters_n;
extern const unsigned int colo_counters_engine;

/*
 * What each passthrough rule counts (struct colo_pass_count, summed over
 * the CPUs): `colo-xdp stat` and `ctl passthrough-list` print them under
 * these names. Totals since the rule was added (a takeover keeps them).
 */
extern const struct colo_counter colo_pass_counters[];
extern const unsigned int colo_pass_counters_n;

/*
 * The counter at c->off of base, a struct of __u64 counters (this table's
 * struct colo_loader_stats, or another table's struct). memcpy: the
 * fields are __u64, which uint64_t may not alias.
 */
static inline uint64_t colo_counter_get(const void *base,
					const struct colo_counter *c)
{
	__u64 v;

	memcpy(&v, (const char *)base + c->off, sizeof(v));
	return v;
}

/* {"name":value,...} for the n counters at c, read from base, on f. */
void colo_counters_print_json(FILE *f, const void *base,
			      const struct colo_counter *c, unsigned int n);

#endif /* COLO_COUNTERS_H */
