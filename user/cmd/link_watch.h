/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Watches a run's interfaces for deletion (or a move to another network
 * namespace) over RTNETLINK: the AF_XDP sockets bound to a deleted
 * interface go deaf and the kernel says nothing on them, so without this
 * a loader would poll dead rings for ever.
 */
#ifndef COLO_LINK_WATCH_H
#define COLO_LINK_WATCH_H

#include <stdbool.h>

#include "colo_xdp.h"

struct link_watch {
	int fd; /* -1: not open */
	int ifindex[COLO_NR_ROLES];
	bool gone[COLO_NR_ROLES];
};

/* On error: a message naming RTNETLINK, a negative errno, fd -1. */
int link_watch_open(struct link_watch *w, const int *ifindex);

/*
 * Read every pending event; returns the roles (1 << role) whose interface
 * is gone since the last call.
 */
unsigned int link_watch_handle(struct link_watch *w);

void link_watch_close(struct link_watch *w);

#endif /* COLO_LINK_WATCH_H */
