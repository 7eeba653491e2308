// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The benchmark's two ends (tools/bench-traffic.c loads both from one
 * object so that they share the latency slots):
 *
 * bench_src is run by BPF_PROG_RUN with BPF_F_TEST_XDP_LIVE_FRAMES. Each
 * repetition turns the template frame into the next frame of a pair
 * stream: even repetitions go to the primary, odd ones to the secondary,
 * both carrying the same connection (ports), the same TCP sequence number
 * and, when stamping, the same pair number in the payload. Live frames are
 * not re-initialised between repetitions, so every field is rewritten and
 * the TCP checksum updated incrementally from what the page held.
 *
 * bench_count sits on the interface whose frames are counted (O's peer, or
 * P and S themselves when the source is measured alone) and drops them.
 * When stamping, it also records how long after the later frame of its
 * pair (the secondary one) was sent into S the frame arrived.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define BENCH_LAT_SLOTS (1 << 16) /* a power of 2: slot = pair & mask */
#define ETH_P_IP 0x0800

/* Set before loading: the template's layout. */
const volatile __u32 tcp; /* TCP segments, else UDP datagrams */
const volatile __u32 l4_off; /* offset of the TCP or UDP header */
const volatile __u32 payload_off; /* of the payload; 8 bytes at least */
const volatile __u32 payload_len; /* TCP: sequence advance per segment */

/* Set by the loader while running. */
__u32 target[2]; /* ifindex: veth whose peer is P, S */
__u32 conns; /* 0 counts as 1 */
__u32 stamp; /* latency mode: pair number in the payload */
__u32 window; /* at most this many pairs made and not counted; 0: no limit */
__u32 per_pair; /* frames counted per pair: 1 at O's peer, 2 at P and S */
__u64 lost; /* pairs the loader wrote off: they will never be counted */
__u64 limit; /* make this many pairs, then nothing; 0: no limit */
__u64 gap_ns; /* pace: a pair every gap_ns; 0: as fast as allowed */
__u64 next_ns; /* pace: when the next pair is due */

__u64 made; /* bench_src: frames made so far */
__u64 counted; /* bench_count: frames seen */
__u64 sent_ns[BENCH_LAT_SLOTS]; /* by pair: when its later frame left */
__u64 lat_ns[BENCH_LAT_SLOTS]; /* by pair: its arrival minus sent_ns */

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), on 16-bit words in wire order. */
static __always_inline void csum_replace(__u16 *sum, __u16 old, __u16 new)
{
	__u32 s = (__u16) ~*sum + (__u16)~old + new;

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	*sum = ~s;
}

/* Store a 16-bit word of the TCP segment, keeping its checksum right. */
static __always_inline void put16(__u16 *p, __u16 v, __u16 *sum)
{
	if (tcp)
		csum_replace(sum, *p, v);
	*p = v;
}

SEC("xdp")
int bench_src(struct xdp_md *ctx)
{
	__u8 *data = (__u8 *)(long)ctx->data;
	__u8 *end = (__u8 *)(long)ctx->data_end;
	__u64 n = made, pair = n >> 1, round;
	__u32 side = n & 1, conn, c = conns ?: 1, i;
	__u16 *l4, *sum, *pl, dummy = 0;
	__u32 seq;
	__u64 t;

	/*
	 * Flow control and pacing without leaving the kernel: a repetition
	 * that may not make a pair yet makes nothing. Decided between pairs
	 * only, so that a pair is never cut in two.
	 */
	if (!side) {
		/* signed: written-off pairs may still arrive, late */
		if (window && (__s64)(pair - counted / (per_pair ?: 1) -
				      lost) >= (__s64)window)
			return XDP_DROP;
		if (limit && pair >= limit)
			return XDP_DROP;
		if (gap_ns) {
			t = bpf_ktime_get_ns();
			if (t < next_ns)
				return XDP_DROP;
			next_ns = t + gap_ns;
		}
	}
	made = n + 1;
	if (data + l4_off + 20 > end || data + payload_off + 8 > end)
		return XDP_ABORTED;
	l4 = (__u16 *)(data + l4_off);
	pl = (__u16 *)(data + payload_off);
	sum = tcp ? &l4[8] : &dummy;
	conn = pair % c;
	round = pair / c;
	/* 1,000,000 connections: 1024 source ports times 977 destination ports */
	put16(&l4[0], bpf_htons(10000 + (conn & 1023)), sum);
	put16(&l4[1], bpf_htons(20000 + (conn >> 10)), sum);
	if (tcp) {
		seq = bpf_htonl(1 + (__u32)round * payload_len);
		put16(&l4[2], seq & 0xffff, sum);
		put16(&l4[3], seq >> 16, sum);
	}
	if (stamp) {
		for (i = 0; i < 4; i++)
			put16(&pl[i], ((__u16 *)&pair)[i], sum);
		/*
		 * The later frame's time: the secondary's overwrites the
		 * primary's, which stands only if the primary arrives first
		 * (forward-only does not wait for its pair).
		 */
		sent_ns[pair & (BENCH_LAT_SLOTS - 1)] = bpf_ktime_get_ns();
	}
	return bpf_redirect(target[side], 0);
}

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

char LICENSE[] SEC("license") = "Dual BSD/GPL";
