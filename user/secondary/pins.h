/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A secondary agent's pin directory: its default path, claiming it, and
 * reading what is pinned there (the agent's record and the rewriter's
 * counters) for `colo-xdp stat`. The maps inside are rewrite.c's.
 */
#ifndef COLO_SECONDARY_PINS_H
#define COLO_SECONDARY_PINS_H

#include "colo_rewrite.h"
#include "pin_dir.h"

/* The default directory: COLO_PIN_ROOT/secondary-<vm>. */
#define SECONDARY_PIN_PREFIX "secondary-"

/* Where colo_rw_out sits on the VM's ingress: first, and recognisable. */
#define SECONDARY_TC_HANDLE 0xc01
#define SECONDARY_TC_PRIO 1

/*
 * Claim path (NULL: the default for ifname[0], the vm) for an agent on
 * the vm and link ifname and ifindex. Returns PIN_DIR_FREE, or
 * PIN_DIR_TAKEOVER with the record of the dead agent of the same
 * interfaces whose pins are there in *dead, or a negative errno with a
 * message naming the directory and the fix (-EBUSY: a live agent's, a
 * dead one's of other interfaces, or someone else's pins). The claim lock
 * is held until pin_dir_unlock() in any case.
 */
int secondary_pins_claim(struct pin_dir *d, const char *path,
			 const char *const ifname[2], const int ifindex[2],
			 struct colo_secondary *dead);

/* What `colo-xdp stat` shows of an agent. */
struct secondary_view {
	struct colo_secondary rec;
	struct colo_rw_stats st; /* summed over the CPUs */
	bool have_stats;
	bool running; /* the agent's process */
};

/* The agent pinned in path: 0, -ENOENT if none is there, or a negative errno. */
int secondary_pins_read(const char *path, struct secondary_view *v);

#endif /* COLO_SECONDARY_PINS_H */
