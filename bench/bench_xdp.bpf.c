// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The kernel half of `make bench` (bench/bench-traffic.c loads it):
 *
 * bench_count sits where frames are counted (the sink: O's veth peer; or P
 * and S themselves when the source is measured alone) and drops them. With
 * stamping on, each frame carries its pair number in the payload, and the
 * sink records how long after the source stored sent_ns[pair] it arrived.
 *
 * bench_fwd is the baseline that the comparators' CPU cost is measured
 * against: on P it redirects every frame to the sink's interface, on S it
 * drops it, so the source and the sink run at the offered rate with no
 * comparator in between.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define BENCH_LAT_SLOTS (1 << 16) /* a power of 2: slot = pair & mask */
#define ETH_P_IP 0x0800

/* Set before loading: where the pair number sits in the payload. */
const volatile __u32 payload_off;

/* Set by the loader while running. */
__u32 stamp; /* the payload carries the pair number: record latency */
__u32 fwd_from; /* bench_fwd: frames in on this ifindex go to fwd_to */
__u32 fwd_to;

__u64 counted; /* bench_count: frames seen */
__u64 sent_ns[BENCH_LAT_SLOTS]; /* by pair, from userspace: when sent */
__u64 lat_ns[BENCH_LAT_SLOTS]; /* by pair: its arrival minus sent_ns */

SEC("xdp")
int bench_count(struct xdp_md *ctx)
{
	__u8 *data = (__u8 *)(long)ctx->data;
	__u8 *end = (__u8 *)(long)ctx->data_end;
	struct ethhdr *eth = (struct ethhdr *)data;
	__u64 pair, t;
	__u32 slot;

	if (data + payload_off + 8 > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_DROP;
	__sync_fetch_and_add(&counted, 1);
	if (!stamp)
		return XDP_DROP;
	__builtin_memcpy(&pair, data + payload_off, sizeof(pair));
	slot = pair & (BENCH_LAT_SLOTS - 1);
	t = sent_ns[slot];
	if (t)
		lat_ns[slot] = bpf_ktime_get_ns() - t;
	return XDP_DROP;
}

SEC("xdp")
int bench_fwd(struct xdp_md *ctx)
{
	if (ctx->ingress_ifindex != fwd_from)
		return XDP_DROP;
	return bpf_redirect(fwd_to, 0);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
