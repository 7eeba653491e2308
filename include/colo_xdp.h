/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Layouts shared by colo_steer.bpf.c and the loader: interface roles, the
 * per-interface configuration map, and the per-CPU steering counters.
 */
#ifndef COLO_XDP_H
#define COLO_XDP_H

#ifndef __bpf__
#include <linux/types.h>
#include <stdbool.h>
#endif
#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#include "colo_stats.h"
#include "colo_dp.h"
#include "colo_pass.h"
#include "colo_umem.h"

enum colo_role {
	COLO_ROLE_PRIMARY = 0,
	COLO_ROLE_SECONDARY = 1,
	COLO_ROLE_OUT = 2,
	COLO_NR_ROLES = 3,
};

/* What colo_steer does with the frames of a primary or secondary. */
enum colo_state {
	COLO_STATE_COMPARE = 0, /* compared frames go to the AF_XDP socket */
	/* failover: every primary frame to the outdev, every secondary dropped */
	COLO_STATE_PASSTHROUGH = 1,
};

/*
 * What colo_steer does with the frames to compare (state COMPARE) once the
 * loader is lost: its heartbeat is older than watchdog_ms, or the socket of
 * its queue is gone while the heartbeat is armed (the process died).
 */
enum colo_on_loss {
	COLO_LOSS_PASS = 0, /* primary frames to the outdev, uncompared */
	COLO_LOSS_HOLD = 1, /* primary frames dropped */
};

/*
 * Map names (at most 15 characters, the kernel's limit), which are also the
 * pin names under /sys/fs/bpf/xdp/globals/ (ip link) or an instance's pin
 * directory; colo_devmap alone is not pinned (see colo_steer.bpf.c).
 */
#define COLO_MAP_CONFIG "colo_config"
#define COLO_MAP_XSKS "colo_xsks"
#define COLO_MAP_DEVMAP "colo_devmap"
#define COLO_MAP_STATS "colo_stats"
#define COLO_MAP_LOADER "colo_loader"
#define COLO_MAP_HEARTBEAT "colo_heartbeat"
#define COLO_MAP_PASS "colo_pass"
#define COLO_MAP_PASS_STATS "colo_pass_stats"
#define COLO_PROG_NAME "colo_steer"

/* Interfaces colo_steer can serve: config, stats and DEVMAP entries. */
#define COLO_MAX_IFACES 64
/*
 * Each interface owns COLO_XSK_QUEUES consecutive XSKMAP slots from its
 * xsk_base, one per RX queue: a frame from queue q goes to xsk_base + q.
 * Interfaces of instances sharing the ip-link maps get disjoint ranges.
 */
#define COLO_XSK_QUEUES 64
#define COLO_XSK_SLOTS (COLO_MAX_IFACES * COLO_XSK_QUEUES)

/* colo_config value, keyed by the ifindex the program runs on. */
struct colo_if_config {
	__u32 role; /* enum colo_role: primary or secondary */
	__u32 state; /* enum colo_state */
	__u32 outdev; /* primary: ifindex of the outdev, its colo_devmap key */
	__u32 xsk_base; /* first colo_xsks slot of this interface */
	/*
	 * Primary: frames that leave uncompared go out through P's host
	 * path (XDP_PASS, marked, then colo_out on P's tc ingress) instead
	 * of colo_devmap; see colo_out.h.
	 */
	__u32 out_stack;
	__u32 hb_slot; /* the instance's colo_heartbeat entry */
	__u32 watchdog_ms; /* heartbeat age at which the loader is lost */
	__u32 on_loss; /* enum colo_on_loss */
	/*
	 * Nonzero: colo_pass holds rules for hb_slot. Frames are checked
	 * against them only then, so that without a rule a frame costs
	 * nothing more.
	 */
	__u32 passthrough;
	/* bit q: the loader has a socket on RX queue q (below COLO_XSK_QUEUES) */
	__u64 queues;
};

/*
 * colo_heartbeat: a __u64 per instance (an instance's slot is its
 * primary's xsk_base / COLO_XSK_QUEUES, unique even in shared maps): the
 * CLOCK_MONOTONIC time in ns of the loader's last loop, which it stores
 * through an mmap of the map. 0 means the loader has not started (or
 * stopped cleanly): the watchdog is disarmed, nothing fails open.
 */
#define COLO_HB_SLOTS COLO_MAX_IFACES

/*
 * The watchdog's rule, one copy for colo_steer and for every tool that
 * reports it: a loader whose heartbeat was last stored at last (ns) is
 * lost at now once that is older than watchdog_ms; 0 is disarmed.
 */
static __always_inline bool colo_heartbeat_lost(__u64 last, __u64 now,
						__u32 watchdog_ms)
{
	return last && (__s64)(now - last) > (__s64)watchdog_ms * 1000000;
}

/* Per-CPU, per role: what the XDP program did with each frame. */
struct colo_steer_stats {
	__u64 to_socket; /* redirected to the role's AF_XDP socket */
	__u64 bypassed; /* not compared: primary sent to the outdev */
	__u64 dropped; /* not compared: secondary dropped */
	__u64 malformed; /* of bypassed/dropped: headers did not fit */
	__u64 no_socket; /* no AF_XDP socket bound for (ifindex, queue) */
	/* loader lost: sent to the outdev uncompared (primary, pass mode) */
	__u64 degraded_passed;
	/* loader lost: dropped (every secondary frame; primary in hold) */
	__u64 degraded_dropped;
	/* of a passthrough rule: primary to the outdev, secondary dropped */
	__u64 passthrough;
};

/* What the running loader publishes for `colo-xdp stat` and bpftool. */
struct colo_loader_stats {
	struct colo_engine_stats engine;
	struct colo_dp_stats dp;
};

/*
 * colo_loader value (one entry, one map per instance): which interfaces the
 * instance serves, so that `colo-xdp stat` finds their colo_stats entries
 * even in maps shared by several instances, and which process runs it.
 */
struct colo_loader {
	__u32 ifindex[COLO_NR_ROLES];
	__u32 pid;
	/*
	 * The instance attached colo_steer (rather than adopting what
	 * `ip link` attached): whoever takes the instance over after a crash
	 * detaches it at the end, as the instance would have.
	 */
	__u32 attached;
	/*
	 * `colo-xdp keep`, holding the loader's sockets and UMEM open so that
	 * its frames outlive a crash; 0: none.
	 */
	__u32 keeper_pid;
	/* bit per enum colo_role: that socket is bound zero-copy */
	__u32 zero_copy;
	/*
	 * The instance made the clsact qdisc on P for colo_out: whoever
	 * stops it removes the qdisc once nothing is left in it.
	 */
	__u32 out_qdisc;
	/*
	 * By role, bit q: a socket is bound to queue q (P and S: RX, one
	 * per queue served, as they are bound; O: its one TX queue).
	 */
	__u64 queues[COLO_NR_ROLES];
	struct colo_loader_stats stats;
	struct colo_umem_report umem; /* where the UMEM pages are, at start */
};

#endif /* COLO_XDP_H */
