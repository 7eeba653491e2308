// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * colo_out: on the primary interface's tc ingress, send the frames
 * colo_steer marked (colo_out.h) out of the outdev the mark names. The
 * mark is in the metadata XDP left in front of the frame, which only an
 * XDP program on this interface can write, and which the skb keeps until
 * this hook. Unmarked frames go on to the next filter (TC_ACT_UNSPEC).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "colo_out.h"

/* linux/pkt_cls.h's, which vmlinux.h does not carry (they are macros) */
#define TC_ACT_UNSPEC (-1)

SEC("tc")
int colo_out(struct __sk_buff *skb)
{
	const struct colo_out_meta *m = (void *)(long)skb->data_meta;

	if ((void *)(m + 1) > (void *)(long)skb->data ||
	    m->magic != COLO_OUT_MAGIC)
		return TC_ACT_UNSPEC;
	/* to the outdev's egress: its xmit, which needs nothing of a peer */
	return bpf_redirect(m->ifindex, 0);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
