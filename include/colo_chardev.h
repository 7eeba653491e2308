/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The record `colo-xdp chardev` publishes in its pin directory for
 * `colo-xdp stat`: which tap and channels it bridges, its process, and
 * its counters. A one-entry array map, written by the bridge a few times
 * a second; no BPF program reads it.
 */
#ifndef COLO_CHARDEV_H
#define COLO_CHARDEV_H

#include <linux/types.h>

/* The pin name, and the default directory COLO_PIN_ROOT/chardev-<tap>. */
#define COLO_CHARDEV_MAP "colo_chardev"
#define COLO_CHARDEV_PREFIX "chardev-"
#define COLO_CHARDEV_IFNAMSIZ 16
#define COLO_CHARDEV_SPEC 112

/* The two directions of a bridge. */
enum colo_chardev_dir {
	COLO_CHARDEV_IN, /* --in: from QEMU's socket into the tap */
	COLO_CHARDEV_OUT, /* --out: out of the tap to QEMU's socket */
	COLO_CHARDEV_NR_DIRS,
};

/* Totals since the bridge started, per direction; all __u64. */
struct colo_chardev_stats {
	__u64 frames; /* moved whole, into the tap or onto the socket */
	__u64 bytes; /* of those frames, the vnet header included */
	__u64 connects; /* peers taken or connected to */
	__u64 disconnects; /* peers lost, or dropped for bad_prefix */
	__u64 refused; /* a second peer while one is served: closed */
	/* in: a prefix that cannot be QEMU's: the channel closed */
	__u64 bad_prefix;
	/* in: frames the tap refused (write error): dropped */
	__u64 tap_errors;
	/* out: the socket was full; the tap is not read until it drains */
	__u64 stalls;
	__u64 stall_us; /* how long, in all */
	/* out: frames read from the tap while no peer was there: dropped */
	__u64 no_peer;
	/*
	 * out: frames the tap dropped itself since the bridge started (its
	 * tx_dropped): its queue overflowed while the bridge stalled
	 */
	__u64 tap_dropped;
};

struct colo_chardev {
	char tap[COLO_CHARDEV_IFNAMSIZ];
	__u32 ifindex;
	__u32 pid;
	/* --vnet-hdr: 0 off; else 1 + the vnet header length */
	__u32 vnet;
	__u32 connected; /* bit per direction: a peer is there */
	char spec[COLO_CHARDEV_NR_DIRS][COLO_CHARDEV_SPEC]; /* "": not given */
	struct colo_chardev_stats st[COLO_CHARDEV_NR_DIRS];
};

#endif /* COLO_CHARDEV_H */
