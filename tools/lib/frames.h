/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Frame builder for tests and traffic tools: Ethernet, one optional 802.1Q
 * tag, IPv4 or IPv6 (with optional Destination Options headers), TCP, UDP,
 * ICMP, ICMPv6 or any other IP protocol, or an ARP request. Checksums are
 * filled in, so captures of these frames read clean in tcpdump.
 */
#ifndef COLO_FRAMES_H
#define COLO_FRAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum frame_l3 {
	FRAME_IPV4 = 0, /* the default */
	FRAME_IPV6,
	FRAME_ARP,
};

/* spec.vlan: this bit and the id for one 802.1Q tag; 0 for none */
#define FRAME_VLAN 0x8000

struct frame_spec {
	enum frame_l3 l3;
	/* NULL: 52:54:00:12:34:56 -> 52:54:00:65:43:21 */
	const uint8_t *smac, *dmac;
	uint16_t vlan; /* FRAME_VLAN | id, or 0 untagged */
	/* textual addresses; NULL: 10.0.0.1 -> 10.0.0.2, fd00::1 -> fd00::2 */
	const char *saddr;
	const char *daddr;
	uint8_t proto; /* IPPROTO_*: TCP, UDP, ICMP, ICMPV6 or any other */
	uint8_t ttl; /* 0: 64; IPv6 hop limit */
	uint16_t ip_id; /* IPv4 identification */
	uint8_t tos; /* IPv4 TOS, IPv6 traffic class */
	uint8_t exthdrs; /* IPv6: Destination Options headers before L4 */
	uint16_t sport, dport; /* TCP, UDP */
	uint32_t seq, ack; /* TCP */
	uint8_t tcp_flags; /* COLO_TCP_*, plus PSH 0x08 and the others */
	/* TCP options as they go on the wire: a multiple of 4, at most 40 */
	const void *tcp_opts;
	uint8_t tcp_opts_len;
	uint8_t icmp_type; /* ICMP, ICMPv6 */
	const void *payload; /* after the L4 header (the IP header if none) */
	uint32_t payload_len;
	uint32_t pad; /* Ethernet padding after the IP packet */
};

/*
 * Build the frame into buf. Returns its length, or -ENOSPC when it does not
 * fit in size bytes, -EINVAL for an address that does not parse or TCP
 * options that do not fill whole 32-bit words.
 */
int frame_build(const struct frame_spec *spec, uint8_t *buf, size_t size);

/*
 * The benchmarks' template: one IPv4 UDP frame of frame_len bytes, or a
 * TCP segment (ACK, PSH) carrying segment zero bytes; ports 10000 > 20000,
 * sequence 1. Prints why it failed, as frame_build() returns.
 */
int frame_build_bench(bool tcp, uint32_t frame_len, uint32_t segment,
		      uint8_t *buf, size_t size);

/*
 * Make an untagged IPv4 TCP or UDP frame from frame_build() belong to flow
 * number flow: written into the low 24 bits of the source address and the
 * source port, checksums left as they were. Cheap enough to give each of
 * many pre-built frames its own connection in a benchmark loop.
 */
void frame_stamp_flow(uint8_t *frame, uint32_t flow);

/*
 * Turn a frame_build_bench() template into pair number pair of the
 * benchmarks' stream: connection pair mod conns (frame_stamp_flow()), and
 * for TCP the sequence number that connection has reached, each segment
 * carrying segment bytes. Every benchmark feeds its comparator this stream.
 */
void frame_bench_pair(uint8_t *frame, bool tcp, uint32_t conns,
		      uint32_t segment, uint64_t pair);

#endif /* COLO_FRAMES_H */
