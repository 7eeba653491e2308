/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The program fuzz_engine interprets, shared with mkseeds.c which writes
 * its seeds. All fields are bytes; 16-bit values are big-endian.
 *
 * Four configuration bytes, then operations until the input ends:
 *   cfg[0]  bits 0-2: max_queue_size - 1, bits 3-5: max_connections - 1
 *   cfg[1]  bits 0-4: max_frames - 1
 *   cfg[2]  compare_timeout_ms = 1 + 4 * cfg[2]
 *   cfg[3]  bits 0-3: expired_scan_cycle_ms = 8 * (n + 1),
 *           bits 4-7: idle_timeout_ms = 64 * (n + 1)
 * An operation is one byte, FZ_OP_* in bits 0-2 and an argument in bits
 * 3-7, followed by its operands:
 *   FZ_OP_P_TMPL, FZ_OP_S_TMPL: the clock moves arg ms, then a frame built
 *       from a template of FZ_TMPL_LEN bytes (below) goes in.
 *   FZ_OP_P_RAW, FZ_OP_S_RAW: the clock moves arg ms, then a 16-bit length
 *       and that many bytes of frame (cut to what the input holds).
 *   FZ_OP_TICK: the clock moves 40 * arg ms, then the timers run.
 *   FZ_OP_MIRROR: the clock moves arg ms, then the previous frame goes in
 *       again, on the other side.
 *   FZ_OP_CKPT: checkpoint done.
 *   FZ_OP_FAILOVER: failover, or resume when bit 0 of arg is set.
 * A template:
 *   t[0]  bits 0-2: FZ_T_* protocol, bit 3: IPv6, bit 4: 802.1Q tag,
 *         bits 5-6: flow number, bit 7: flip the last byte of the packet
 *   t[1]  TCP flags
 *   t[2..3] TCP: sequence number - FZ_ISN; others: payload offset into the
 *         shared byte stream (TCP payload comes from its stream position,
 *         so equal positions carry equal bytes on both sides)
 *   t[4]  payload length
 *   t[5]  TCP: (ack number - FZ_ISN_ACK) / 16
 *   t[6]  bits 0-3: 2 * n bytes of Ethernet padding, bits 4-5: IPv6
 *         Destination Options headers, bit 6: an IPv4 fragment (MF),
 *         bit 7: other IPv4 ID and TTL / IPv6 hop limit (never compared)
 */
#ifndef COLO_FUZZ_ENGINE_H
#define COLO_FUZZ_ENGINE_H

enum fz_op {
	FZ_OP_P_TMPL = 0,
	FZ_OP_S_TMPL,
	FZ_OP_P_RAW,
	FZ_OP_S_RAW,
	FZ_OP_TICK,
	FZ_OP_MIRROR,
	FZ_OP_CKPT,
	FZ_OP_FAILOVER,
};

#define FZ_OP(op, arg) ((op) | (arg) << 3)

enum fz_tmpl_proto {
	FZ_T_TCP = 0,
	FZ_T_UDP,
	FZ_T_ICMP, /* ICMPv6 over IPv6 */
	FZ_T_SCTP,
	FZ_T_GRE,
	FZ_T_AH,
	FZ_T_ESP,
	FZ_T_ARP,
};

#define FZ_T_IPV6 0x08
#define FZ_T_VLAN 0x10
#define FZ_T_FLOW(n) ((n) << 5)
#define FZ_T_FLIP 0x80
#define FZ_T_FRAG 0x40
#define FZ_T_OTHER_ID 0x80

#define FZ_TMPL_LEN 7
#define FZ_CFG_LEN 4
/* sequence numbers wrap past 2^32 within a 16-bit offset */
#define FZ_ISN 0xffffc000u
#define FZ_ISN_ACK 0x7ffff000u

#endif /* COLO_FUZZ_ENGINE_H */
