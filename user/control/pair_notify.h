/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * colo-xdp run's side of the pair's frame (include/colo_pair.h): tells
 * the secondary host's agent that a checkpoint completed, out of the
 * --secondary-in interface, whose far end is the agent's --link. A raw
 * packet socket bound to that interface; sending never blocks.
 */
#ifndef COLO_PAIR_NOTIFY_H
#define COLO_PAIR_NOTIFY_H

#include <stdint.h>

struct pair_notify_stats {
	uint64_t checkpoints; /* messages sent (each in COLO_PAIR_COPIES) */
	uint64_t send_failed; /* copies the kernel refused */
};

struct pair_notify;

/*
 * Bind to ifname; the frames carry token. On error: a message naming the
 * interface and the fix, a negative errno.
 */
int pair_notify_open(const char *ifname, uint64_t token,
		     struct pair_notify **out);

/* A checkpoint completed: every offset the agent learned is void. */
void pair_notify_checkpoint(struct pair_notify *p);

void pair_notify_stats(const struct pair_notify *p,
		       struct pair_notify_stats *out);

void pair_notify_close(struct pair_notify *p);

#endif /* COLO_PAIR_NOTIFY_H */
