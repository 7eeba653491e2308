/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The host path to the outdev, for an outdev that drops what XDP redirects
 * to it: a veth, whose ndo_xdp_xmit hands frames to its peer's NAPI, which
 * runs only when the peer has an XDP program or GRO on, neither of which
 * colo-xdp may set (the peer may be another namespace's or container's).
 *
 * colo_steer marks a primary frame that leaves uncompared (not compared,
 * failed over, or the loader lost) in the XDP metadata area and passes it
 * (XDP_PASS); colo_out, on P's tc ingress, sends each marked frame out of
 * the outdev the mark names (bpf_redirect to its egress), as the stack
 * does for any skb: a veth's xmit needs nothing of its peer. Frames
 * without the mark are left to the next filter and the stack, as if
 * colo_out were not there. It keeps no state: the mark says it all, so a
 * loader's death changes nothing for it.
 */
#ifndef COLO_OUT_H
#define COLO_OUT_H

#ifndef __bpf__
#include <linux/types.h>
#endif

#define COLO_OUT_PROG_NAME "colo_out"
/* Its tc filter on P's ingress (the mirror's is on O's). */
#define COLO_OUT_TC_PRIO 1
#define COLO_OUT_TC_HANDLE 0xc010

/* "COLO" then "OUT!": what no other program leaves in front of a frame */
#define COLO_OUT_MAGIC 0x434f4c4f4f555421ull

/* In front of the frame (XDP metadata, then skb->data_meta). */
struct colo_out_meta {
	__u64 magic;
	__u32 ifindex; /* the outdev's */
	__u32 pad; /* metadata is a multiple of 4 bytes; keep it 8 */
};

#endif /* COLO_OUT_H */
