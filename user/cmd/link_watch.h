/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Watches a command's interfaces for deletion (or a move to another
 * network namespace) over RTNETLINK: the AF_XDP sockets bound to a deleted
 * interface go deaf and the kernel says nothing on them, so without this
 * a loader would poll dead rings for ever; the programs of the secondary's
 * agent go with the interface, silently too.
 */
#ifndef COLO_LINK_WATCH_H
#define COLO_LINK_WATCH_H

#include <stdbool.h>

/* The most interfaces one watch follows: run's three. */
#define LINK_WATCH_MAX 3

struct link_watch {
	int fd; /* -1: not open */
	int n;
	int ifindex[LINK_WATCH_MAX];
	bool gone[LINK_WATCH_MAX];
};

/*
 * Watch the n (up to LINK_WATCH_MAX) interfaces ifindex[]. On error: a
 * message naming RTNETLINK, a negative errno, fd -1.
 */
int link_watch_open(struct link_watch *w, const int *ifindex, int n);

/*
 * Read every pending event; returns the interfaces (1 << i, i indexing
 * the ifindex[] given) that are gone since the last call.
 */
unsigned int link_watch_handle(struct link_watch *w);

void link_watch_close(struct link_watch *w);

#endif /* COLO_LINK_WATCH_H */
