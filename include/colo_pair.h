/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The pair's own frame: what `colo-xdp run` on the primary host tells
 * `colo-xdp secondary` on the secondary host, in band, out of its
 * --secondary-in interface, whose far end is the agent's --link.
 *
 * In band because the link is the one path both hosts already share:
 * no address, port or connection to configure, and the frame travels in
 * order with the mirrored client frames, so the agent clears its offsets
 * before any client frame sent after the checkpoint reaches the VM.
 * colo_rw_in (XDP on the link) takes it and bumps the rewriter's epoch
 * itself: no userspace on the way, a dead or busy agent process delays
 * nothing.
 *
 * It is accepted only on the link, with the right magic, version, length
 * and the pair's token (--pair-token on both sides); colo_mirror never
 * copies a client's frame of this EtherType out of S, so on a
 * point-to-point link only the primary host can send one. Each message
 * carries a sequence number: the copies sent against loss are counted
 * once.
 */
#ifndef COLO_PAIR_H
#define COLO_PAIR_H

#ifndef __bpf__
#include <linux/types.h>
#endif

/* IEEE 802 Local Experimental EtherType 1: no protocol of the host's */
#define COLO_PAIR_ETHERTYPE 0x88b5
#define COLO_PAIR_MAGIC 0x434f4c4fu /* "COLO" */
#define COLO_PAIR_VERSION 1
/* Copies of each message, back to back, against a frame lost on the link */
#define COLO_PAIR_COPIES 3

enum colo_pair_type {
	/* a checkpoint completed: the secondary is a copy of the primary */
	COLO_PAIR_CHECKPOINT_DONE = 1,
};

/* After the Ethernet header; every field in network order. */
struct colo_pair_msg {
	__u32 magic;
	__u8 version;
	__u8 type; /* enum colo_pair_type */
	__u16 len; /* sizeof(struct colo_pair_msg) */
	__u64 token; /* --pair-token, 0 when not given */
	__u64 seq; /* per message; its copies repeat it */
};

#define COLO_PAIR_FRAME_LEN (14 + sizeof(struct colo_pair_msg))

#endif /* COLO_PAIR_H */
