/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The one L2-L4 frame parser of colo-xdp.
 *
 * The XDP program and the userspace engine both include this file, so a
 * frame is classified the same way in the kernel and in userspace: a frame
 * the XDP program passes or drops uncompared is one the engine would also
 * have passed, and the other way round.
 *
 * Headers are read byte by byte at offsets checked by colo_ptr() against the
 * end of the linear data, in the form the BPF verifier follows: an offset is
 * first bounded by COLO_PARSE_MAX_OFF, then the access is checked against
 * the end pointer. Lengths from the IP header are checked against the whole
 * frame length, which for an XDP multi-buffer frame is longer than the
 * linear part.
 */
#ifndef COLO_PARSE_H
#define COLO_PARSE_H

#ifndef __bpf__
#include <linux/types.h>
#endif

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#define COLO_ETH_HLEN 14
#define COLO_VLAN_HLEN 4
#define COLO_ETH_P_IP 0x0800
#define COLO_ETH_P_IPV6 0x86dd
#define COLO_ETH_P_8021Q 0x8100

/*
 * Headers must start within this many bytes of the frame; a longer IPv6
 * extension chain is malformed. It also bounds offsets for the verifier.
 */
#define COLO_PARSE_MAX_OFF 1024
#define COLO_MAX_EXTHDR 8

/* key.vlan: the VLAN id, with this bit set when the frame carried a tag */
#define COLO_VLAN_PRESENT 0x8000

enum colo_class {
	COLO_CLASS_COMPARE = 0, /* IPv4/IPv6: compared */
	COLO_CLASS_PASS, /* not IP (ARP, LLDP, stacked VLAN, ...) */
	COLO_CLASS_MALFORMED, /* claims IP but its headers do not fit */
};

enum colo_cmp {
	COLO_CMP_TCP = 0, /* byte stream by sequence number */
	COLO_CMP_L4, /* UDP, ICMP, ICMPv6: L4 header to end of IP payload */
	COLO_CMP_IP, /* others and fragments: whole IP packet but ID/TTL/csum */
};

/* Only guest output is seen, so the key is never folded by direction. */
struct colo_flow_key {
	__u8 saddr[16]; /* IPv4 in the first 4 bytes, network order */
	__u8 daddr[16];
	__u16 sport; /* host order; SPI halves for AH/ESP */
	__u16 dport;
	__u16 vlan; /* COLO_VLAN_PRESENT | id, or 0 untagged */
	__u8 proto; /* final L4 protocol after IPv6 extension headers */
	__u8 ipver; /* 4 or 6 */
};

#define COLO_TCP_FIN 0x01
#define COLO_TCP_SYN 0x02
#define COLO_TCP_RST 0x04
#define COLO_TCP_ACK 0x10

struct colo_pkt {
	struct colo_flow_key key;
	__u32 seq; /* TCP, host order */
	__u32 ack;
	__u16 l3_off;
	__u16 l4_off; /* 0 for fragments: no L4 header */
	__u16 data_off; /* first compared byte: TCP payload, L4 or L3 header */
	__u16 ip_end; /* end of the IP packet: Ethernet padding excluded */
	__u8 cls; /* enum colo_class */
	__u8 cmp; /* enum colo_cmp */
	__u8 tcp_flags;
	__u8 frag; /* an IP fragment: compared as a whole IP packet */
};

static __always_inline const __u8 *colo_ptr(const __u8 *data, const __u8 *end,
					    __u32 off, __u32 n)
{
	const __u8 *p;

	if (off > COLO_PARSE_MAX_OFF)
		return 0;
	p = data + off;
	if (p + n > end)
		return 0;
	return p;
}

static __always_inline __u16 colo_rd16(const __u8 *p)
{
	return (__u16)(p[0] << 8 | p[1]);
}

static __always_inline __u32 colo_rd32(const __u8 *p)
{
	return (__u32)p[0] << 24 | (__u32)p[1] << 16 | (__u32)p[2] << 8 | p[3];
}

static __always_inline int colo_parse_l4(const __u8 *data, const __u8 *end,
					 __u32 l4, struct colo_pkt *pkt)
{
	__u32 ip_end = pkt->ip_end;
	const __u8 *p;
	__u32 doff;
	__u32 need = 0, port_at = 0;

	pkt->l4_off = l4;
	pkt->data_off = l4;
	switch (pkt->key.proto) {
	case 6: /* TCP */
		p = colo_ptr(data, end, l4, 20);
		if (!p || l4 + 20 > ip_end)
			return COLO_CLASS_MALFORMED;
		doff = (p[12] >> 4) * 4;
		if (doff < 20 || l4 + doff > ip_end)
			return COLO_CLASS_MALFORMED;
		pkt->key.sport = colo_rd16(p);
		pkt->key.dport = colo_rd16(p + 2);
		pkt->seq = colo_rd32(p + 4);
		pkt->ack = colo_rd32(p + 8);
		pkt->tcp_flags = p[13];
		pkt->data_off = l4 + doff;
		pkt->cmp = COLO_CMP_TCP;
		return COLO_CLASS_COMPARE;
	case 17: /* UDP */
		need = 8;
		pkt->cmp = COLO_CMP_L4;
		break;
	case 1: /* ICMP */
	case 58: /* ICMPv6 */
		pkt->cmp = COLO_CMP_L4;
		return COLO_CLASS_COMPARE;
	case 33: /* DCCP */
	case 132: /* SCTP */
	case 136: /* UDP-Lite */
	case 50: /* ESP: SPI */
		need = 4;
		break;
	case 51: /* AH: SPI after next header, length and reserved */
		need = 8;
		port_at = 4;
		break;
	default:
		break;
	}
	if (need) {
		p = colo_ptr(data, end, l4, need);
		if (!p || l4 + need > ip_end)
			return COLO_CLASS_MALFORMED;
		pkt->key.sport = colo_rd16(p + port_at);
		pkt->key.dport = colo_rd16(p + port_at + 2);
	}
	if (pkt->cmp == COLO_CMP_IP)
		pkt->data_off = pkt->l3_off;
	return COLO_CLASS_COMPARE;
}

static __always_inline int colo_parse_ip4(const __u8 *data, const __u8 *end,
					  __u32 len, struct colo_pkt *pkt)
{
	__u32 off = pkt->l3_off, hlen, tot;
	const __u8 *p;

	p = colo_ptr(data, end, off, 20);
	if (!p || (p[0] >> 4) != 4)
		return COLO_CLASS_MALFORMED;
	hlen = (p[0] & 0xf) * 4;
	tot = colo_rd16(p + 2);
	if (hlen < 20 || tot < hlen || off + tot > len)
		return COLO_CLASS_MALFORMED;
	pkt->key.ipver = 4;
	pkt->key.proto = p[9];
	__builtin_memcpy(pkt->key.saddr, p + 12, 4);
	__builtin_memcpy(pkt->key.daddr, p + 16, 4);
	pkt->ip_end = off + tot;
	if (colo_rd16(p + 6) & 0x3fff) { /* MF or fragment offset */
		pkt->frag = 1;
		pkt->cmp = COLO_CMP_IP;
		pkt->data_off = off;
		return COLO_CLASS_COMPARE;
	}
	return colo_parse_l4(data, end, off + hlen, pkt);
}

static __always_inline int colo_parse_ip6(const __u8 *data, const __u8 *end,
					  __u32 len, struct colo_pkt *pkt)
{
	__u32 off = pkt->l3_off, plen, l4;
	const __u8 *p;
	__u8 nh;
	int i;

	p = colo_ptr(data, end, off, 40);
	if (!p || (p[0] >> 4) != 6)
		return COLO_CLASS_MALFORMED;
	plen = colo_rd16(p + 4);
	/* payload length 0 is a jumbogram, which no Ethernet frame carries */
	if (!plen || off + 40 + plen > len)
		return COLO_CLASS_MALFORMED;
	pkt->key.ipver = 6;
	__builtin_memcpy(pkt->key.saddr, p + 8, 16);
	__builtin_memcpy(pkt->key.daddr, p + 24, 16);
	pkt->ip_end = off + 40 + plen;
	nh = p[6];
	l4 = off + 40;
	for (i = 0; i < COLO_MAX_EXTHDR; i++) {
		if (nh != 0 && nh != 43 && nh != 60 && nh != 44)
			break;
		p = colo_ptr(data, end, l4, 8);
		if (!p || l4 + 8 > pkt->ip_end)
			return COLO_CLASS_MALFORMED;
		if (nh == 44) { /* fragment header */
			pkt->key.proto = p[0];
			pkt->frag = 1;
			pkt->cmp = COLO_CMP_IP;
			pkt->data_off = off;
			return COLO_CLASS_COMPARE;
		}
		nh = p[0];
		l4 += (p[1] + 1) * 8;
		if (l4 > pkt->ip_end)
			return COLO_CLASS_MALFORMED;
	}
	if (nh == 0 || nh == 43 || nh == 60 || nh == 44)
		return COLO_CLASS_MALFORMED; /* chain longer than we follow */
	pkt->key.proto = nh;
	return colo_parse_l4(data, end, l4, pkt);
}

/*
 * Classify a frame: data..end is the linear part, len the whole frame.
 * Returns enum colo_class, also stored in pkt->cls.
 */
static __always_inline int colo_parse(const __u8 *data, const __u8 *end,
				      __u32 len, struct colo_pkt *pkt)
{
	const __u8 *p;
	__u16 proto;
	int cls;

	__builtin_memset(pkt, 0, sizeof(*pkt));
	pkt->cmp = COLO_CMP_IP;
	p = colo_ptr(data, end, 0, COLO_ETH_HLEN);
	if (!p) {
		pkt->cls = COLO_CLASS_MALFORMED;
		return pkt->cls;
	}
	proto = colo_rd16(p + 12);
	pkt->l3_off = COLO_ETH_HLEN;
	if (proto == COLO_ETH_P_8021Q) {
		p = colo_ptr(data, end, COLO_ETH_HLEN, COLO_VLAN_HLEN);
		if (!p) {
			pkt->cls = COLO_CLASS_MALFORMED;
			return pkt->cls;
		}
		pkt->key.vlan = COLO_VLAN_PRESENT | (colo_rd16(p) & 0xfff);
		proto = colo_rd16(p + 2);
		pkt->l3_off += COLO_VLAN_HLEN;
	}
	if (proto == COLO_ETH_P_IP)
		cls = colo_parse_ip4(data, end, len, pkt);
	else if (proto == COLO_ETH_P_IPV6)
		cls = colo_parse_ip6(data, end, len, pkt);
	else
		cls = COLO_CLASS_PASS;
	pkt->cls = cls;
	return cls;
}

#endif /* COLO_PARSE_H */
