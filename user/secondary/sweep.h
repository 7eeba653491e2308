/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The secondary agent's sweep of the rewriter's connection table: the
 * program makes entries and marks them closed, and this removes them
 * when their time is up, off the datapath. A table kept clean is what
 * lets it recover from a SYN flood that filled it.
 */
#ifndef COLO_SWEEP_H
#define COLO_SWEEP_H

#include <stdint.h>

#include "colo_rewrite.h"

struct sweep_timeouts {
	uint32_t idle_ms; /* a learned connection with no frame */
	uint32_t syn_ms; /* a handshake that did not complete */
	uint32_t close_ms; /* a closed connection, for its last segments */
};

/* Defaults, in ms: flags that are not given. */
#define SWEEP_IDLE_MS 300000
#define SWEEP_SYN_MS 30000
#define SWEEP_CLOSE_MS 10000

struct sweep;

/* On error, a negative errno with a message; nothing to free. */
int sweep_create(int conns_fd, const struct sweep_timeouts *t,
		 struct sweep **out);

/*
 * Remove every entry whose time is up at now_ns (CLOCK_MONOTONIC, the
 * program's clock), or that was made before checkpoint epoch, and count
 * them into *st with the entries left. Returns 0 or a negative errno.
 */
int sweep_run(struct sweep *sw, uint32_t epoch, uint64_t now_ns,
	      struct colo_rw_sweep_stats *st);

void sweep_destroy(struct sweep *sw);

#endif /* COLO_SWEEP_H */
