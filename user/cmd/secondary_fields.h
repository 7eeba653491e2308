/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The names of the secondary agent's counters, once: `colo-xdp stat` and
 * the agent's control socket (`ctl stats`) print them under these names.
 */
#ifndef COLO_SECONDARY_FIELDS_H
#define COLO_SECONDARY_FIELDS_H

#include "counters.h"

/* Every __u64 of struct colo_rw_stats: the rewriter's, per-CPU, summed. */
extern const struct colo_counter secondary_rw_fields[];
extern const unsigned int secondary_rw_fields_n;
/* Every __u64 of struct colo_rw_sweep_stats: the agent's sweep. */
extern const struct colo_counter secondary_sweep_fields[];
extern const unsigned int secondary_sweep_fields_n;

#endif /* COLO_SECONDARY_FIELDS_H */
