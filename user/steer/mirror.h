/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The inbound mirror of `colo-xdp run`: colo_mirror.bpf.o on the outdev's
 * tc ingress (a clsact qdisc, made if there is none), its settings and
 * counters pinned in the instance's directory beside colo_steer's maps,
 * and all of it removed again. colo_steer learns the VM's MAC it reads.
 */
#ifndef COLO_MIRROR_LOADER_H
#define COLO_MIRROR_LOADER_H

#include <stdbool.h>

#include "steer.h"

/*
 * Where the filter sits on the outdev's ingress: priority 1 (before the
 * filters tc numbers itself), and the primary's ifindex as its handle, so
 * that instances sharing an outdev each have their own.
 */
#define COLO_MIRROR_TC_PRIO 1

struct colo_mirror;

/*
 * After colo_steer_open() of the instance s: attach colo_mirror, for the
 * VM whose MAC is vm_mac, or the one colo_steer learns if 0. A mirror
 * already in its place on the outdev, that of a dead instance taken over
 * or one a killed loader left, is replaced in one step: no client frame
 * misses both. With on false (--mirror off), such a mirror is removed
 * instead, and *out is NULL. On error: a message naming the outdev and
 * the fix, a negative errno, and the outdev as it was.
 */
int colo_mirror_open(struct colo_steer *s, bool on, __u64 vm_mac,
		     struct colo_mirror **out);

/*
 * Detach colo_mirror if it is still this instance's, remove the clsact
 * qdisc if the instance made it and no filter is left in it, unpin the
 * mirror's maps. Before colo_steer_close(), which removes the directory.
 */
void colo_mirror_close(struct colo_mirror *m);

#endif /* COLO_MIRROR_LOADER_H */
