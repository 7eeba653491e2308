// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "colo_parse.h"
#include "frames.h"

#define ETH_HLEN 14
#define DSTOPT_LEN 8

static const uint8_t src_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t dst_mac[6] = { 0x52, 0x54, 0x00, 0x65, 0x43, 0x21 };

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v);
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static int parse_addr(int family, const char *text, const char *dflt,
		      uint8_t *out)
{
	return inet_pton(family, text ? text : dflt, out) == 1 ? 0 : -EINVAL;
}

static size_t l4_hlen(const struct frame_spec *s)
{
	switch (s->proto) {
	case IPPROTO_TCP:
		return 20 + s->tcp_opts_len;
	case IPPROTO_UDP:
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return 8;
	default:
		return 0;
	}
}

static void build_l4(const struct frame_spec *s, uint8_t *l4, size_t l4len)
{
	switch (s->proto) {
	case IPPROTO_TCP:
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		put32(l4 + 4, s->seq);
		put32(l4 + 8, s->ack);
		l4[12] = (5 + s->tcp_opts_len / 4) << 4;
		l4[13] = s->tcp_flags;
		put16(l4 + 14, 65535);
		if (s->tcp_opts_len)
			memcpy(l4 + 20, s->tcp_opts, s->tcp_opts_len);
		break;
	case IPPROTO_UDP:
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		put16(l4 + 4, l4len);
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		l4[0] = s->icmp_type		 ? s->icmp_type :
			s->proto == IPPROTO_ICMP ? 8 :
						   128; /* echo request */
		put16(l4 + 4, s->sport); /* echo identifier */
		put16(l4 + 6, s->dport); /* and sequence */
		break;
	}
}

/* Offset of the checksum in the L4 header, or 0 for none. */
static size_t l4_csum_off(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return 16;
	case IPPROTO_UDP:
		return 6;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return 2;
	default:
		return 0;
	}
}

static int build_ip(const struct frame_spec *s, uint8_t *ip, size_t room,
		    size_t *iplen)
{
	size_t hl = s->l3 == FRAME_IPV6 ? 40 + s->exthdrs * DSTOPT_LEN : 20;
	size_t l4len = l4_hlen(s) + s->payload_len;
	size_t csum_at = l4_csum_off(s->proto);
	uint8_t *l4 = ip + hl;
	uint32_t sum = 0;
	int i, err;

	if (hl + l4len > room || hl + l4len > 65535)
		return -ENOSPC;
	memset(ip, 0, hl + l4_hlen(s));
	if (s->l3 == FRAME_IPV6) {
		ip[0] = 0x60 | s->tos >> 4;
		ip[1] = s->tos << 4;
		put16(ip + 4, hl - 40 + l4len);
		ip[6] = s->exthdrs ? 60 : s->proto;
		ip[7] = s->ttl ? s->ttl : 64;
		err = parse_addr(AF_INET6, s->saddr, "fd00::1", ip + 8);
		if (!err)
			err = parse_addr(AF_INET6, s->daddr, "fd00::2",
					 ip + 24);
		for (i = 0; i < s->exthdrs; i++) {
			uint8_t *x = ip + 40 + i * DSTOPT_LEN;

			x[0] = i + 1 < s->exthdrs ? 60 : s->proto;
			x[2] = 1; /* PadN filling the header */
			x[3] = DSTOPT_LEN - 4;
		}
		sum = csum_add(0, ip + 8, 32);
	} else {
		ip[0] = 0x45;
		ip[1] = s->tos;
		put16(ip + 2, hl + l4len);
		put16(ip + 4, s->ip_id);
		ip[8] = s->ttl ? s->ttl : 64;
		ip[9] = s->proto;
		err = parse_addr(AF_INET, s->saddr, "10.0.0.1", ip + 12);
		if (!err)
			err = parse_addr(AF_INET, s->daddr, "10.0.0.2",
					 ip + 16);
		put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
		sum = csum_add(0, ip + 12, 8);
	}
	if (err)
		return err;
	build_l4(s, l4, l4len);
	if (s->payload_len)
		memcpy(l4 + l4_hlen(s), s->payload, s->payload_len);
	if (csum_at) {
		/* ICMPv4 has no pseudo-header */
		if (s->proto == IPPROTO_ICMP)
			sum = 0;
		else
			sum += s->proto + (uint32_t)l4len;
		put16(l4 + csum_at, csum_fold(csum_add(sum, l4, l4len)));
		if (s->proto == IPPROTO_UDP && !l4[6] && !l4[7])
			put16(l4 + 6, 0xffff);
	}
	*iplen = hl + l4len;
	return 0;
}

static int build_arp(uint8_t *p, size_t room, size_t *len)
{
	static const uint8_t spa[4] = { 10, 0, 0, 1 }, tpa[4] = { 10, 0, 0, 2 };

	if (room < 28)
		return -ENOSPC;
	memset(p, 0, 28);
	put16(p, 1); /* Ethernet */
	put16(p + 2, 0x0800);
	p[4] = 6;
	p[5] = 4;
	put16(p + 6, 1); /* request */
	memcpy(p + 8, src_mac, 6);
	memcpy(p + 14, spa, 4);
	memcpy(p + 24, tpa, 4);
	*len = 28;
	return 0;
}

int frame_build(const struct frame_spec *spec, uint8_t *buf, size_t size)
{
	size_t off = ETH_HLEN, l3len;
	uint16_t ethertype;
	int err;

	if (size < ETH_HLEN + 4)
		return -ENOSPC;
	if (spec->tcp_opts_len % 4 || spec->tcp_opts_len > 40)
		return -EINVAL;
	memcpy(buf, spec->dmac ? spec->dmac : dst_mac, 6);
	memcpy(buf + 6, spec->smac ? spec->smac : src_mac, 6);
	ethertype = spec->l3 == FRAME_ARP  ? 0x0806 :
		    spec->l3 == FRAME_IPV6 ? 0x86dd :
					     0x0800;
	if (spec->vlan & FRAME_VLAN) {
		put16(buf + 12, 0x8100);
		put16(buf + 14, spec->vlan & 0xfff);
		off += 4;
	}
	put16(buf + off - 2, ethertype);
	if (spec->l3 == FRAME_ARP)
		err = build_arp(buf + off, size - off, &l3len);
	else
		err = build_ip(spec, buf + off, size - off, &l3len);
	if (err)
		return err;
	off += l3len;
	if (spec->pad > size - off)
		return -ENOSPC;
	memset(buf + off, 0, spec->pad);
	return (int)(off + spec->pad);
}

void frame_stamp_flow(uint8_t *frame, uint32_t flow)
{
	uint8_t *ip = frame + ETH_HLEN;

	ip[13] = flow >> 16;
	ip[14] = flow >> 8;
	ip[15] = flow;
	put16(ip + 20, flow);
}

void frame_bench_pair(uint8_t *frame, bool tcp, uint32_t conns,
		      uint32_t segment, uint64_t pair)
{
	uint32_t seq = 1 + (uint32_t)(pair / conns) * segment;
	uint8_t *th = frame + ETH_HLEN + 20;

	frame_stamp_flow(frame, pair % conns);
	if (!tcp)
		return;
	th[4] = seq >> 24;
	th[5] = seq >> 16;
	th[6] = seq >> 8;
	th[7] = seq;
}

int frame_build_bench(bool tcp, uint32_t frame_len, uint32_t segment,
		      uint8_t *buf, size_t size)
{
	static const uint8_t payload[1500];
	struct frame_spec s = {
		.proto = tcp ? IPPROTO_TCP : IPPROTO_UDP,
		.sport = 10000,
		.dport = 20000,
		.seq = 1,
		.ack = 1,
		.tcp_flags = COLO_TCP_ACK | 0x08, /* PSH */
		.payload = payload,
		.payload_len = tcp ? segment :
				     frame_len - COLO_ETH_HLEN - 20 - 8,
	};
	int len = frame_build(&s, buf, size);

	if (len < 0)
		fprintf(stderr, "cannot build the template frame: %s\n",
			strerror(-len));
	return len;
}
