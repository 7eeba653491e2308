// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fuzz_parse: colo_parse() (include/colo_parse.h) on arbitrary frames.
 *
 * The input is the whole frame. It is parsed twice: once with all of it
 * linear, and once as an XDP multi-buffer frame would be, with only a
 * prefix linear (its length from the first byte) in a buffer of exactly
 * that size, so ASan catches any read past the linear part. Checked on
 * every input, as the XDP program and the engine rely on it:
 * - the class matches the ethertype: COMPARE only for IPv4/IPv6 (after one
 *   802.1Q tag), PASS only for other ethertypes, MALFORMED otherwise;
 * - for COMPARE, offsets lie inside the frame in order
 *   l3_off <= l4_off <= data_off <= ip_end <= len, the IP header fits
 *   before ip_end, and the comparison mode agrees with protocol and
 *   fragment flag;
 * - the key and the TCP fields are the bytes at those offsets;
 * - a shorter linear part never changes a COMPARE result, it can only make
 *   the frame MALFORMED.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "colo_parse.h"
#include "fuzz.h"

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)rd16(p) << 16 | rd16(p + 2);
}

/* The ethertype after at most one tag, or -1 if the frame is too short. */
static int inner_ethertype(const uint8_t *d, size_t len, bool *tagged)
{
	uint16_t type;

	*tagged = false;
	if (len < COLO_ETH_HLEN)
		return -1;
	type = rd16(d + 12);
	if (type != COLO_ETH_P_8021Q)
		return type;
	*tagged = true;
	if (len < COLO_ETH_HLEN + COLO_VLAN_HLEN)
		return -1;
	return rd16(d + 16);
}

/* Where the ports of this protocol sit in its L4 header, or -1: none. */
static int port_offset(uint8_t proto)
{
	switch (proto) {
	case 6:
	case 17:
	case 33:
	case 132:
	case 136:
	case 50:
		return 0;
	case 51:
		return 4;
	default:
		return -1;
	}
}

static void check_compare(const uint8_t *d, size_t len, bool tagged, int type,
			  const struct colo_pkt *pkt)
{
	const struct colo_flow_key *k = &pkt->key;
	static const uint8_t zero[16];
	uint32_t hdr = k->ipver == 4 ? 20 : 40;
	int ports;

	REQUIRE(type == COLO_ETH_P_IP || type == COLO_ETH_P_IPV6);
	REQUIRE(k->ipver == (type == COLO_ETH_P_IP ? 4 : 6));
	REQUIRE(pkt->l3_off == COLO_ETH_HLEN + (tagged ? COLO_VLAN_HLEN : 0));
	REQUIRE(!!(k->vlan & COLO_VLAN_PRESENT) == tagged);
	if (tagged)
		REQUIRE(k->vlan ==
			(COLO_VLAN_PRESENT | (rd16(d + 14) & 0xfff)));
	REQUIRE(pkt->ip_end <= len);
	REQUIRE(pkt->l3_off + hdr <= pkt->ip_end);
	REQUIRE(pkt->data_off >= pkt->l3_off);
	REQUIRE(pkt->data_off <= pkt->ip_end);
	REQUIRE(pkt->cmp <= COLO_CMP_IP);
	REQUIRE(d[pkt->l3_off] >> 4 == k->ipver);
	if (k->ipver == 4) {
		REQUIRE(!memcmp(k->saddr, d + pkt->l3_off + 12, 4));
		REQUIRE(!memcmp(k->daddr, d + pkt->l3_off + 16, 4));
		REQUIRE(!memcmp(k->saddr + 4, zero, 12));
		REQUIRE(!memcmp(k->daddr + 4, zero, 12));
		REQUIRE(k->proto == d[pkt->l3_off + 9]);
		REQUIRE(pkt->ip_end == pkt->l3_off + rd16(d + pkt->l3_off + 2));
	} else {
		REQUIRE(!memcmp(k->saddr, d + pkt->l3_off + 8, 16));
		REQUIRE(!memcmp(k->daddr, d + pkt->l3_off + 24, 16));
		REQUIRE(pkt->ip_end ==
			pkt->l3_off + 40 + rd16(d + pkt->l3_off + 4));
	}
	if (pkt->frag) {
		REQUIRE(pkt->cmp == COLO_CMP_IP);
		REQUIRE(pkt->l4_off == 0);
		REQUIRE(pkt->data_off == pkt->l3_off);
		REQUIRE(!k->sport && !k->dport && !pkt->tcp_flags);
		return;
	}
	REQUIRE(pkt->l4_off >= pkt->l3_off + hdr);
	REQUIRE(pkt->l4_off <= pkt->ip_end);
	switch (pkt->cmp) {
	case COLO_CMP_TCP:
		REQUIRE(k->proto == 6);
		REQUIRE(pkt->data_off >= pkt->l4_off + 20);
		REQUIRE(pkt->data_off ==
			pkt->l4_off + (d[pkt->l4_off + 12] >> 4) * 4);
		REQUIRE(pkt->seq == rd32(d + pkt->l4_off + 4));
		REQUIRE(pkt->ack == rd32(d + pkt->l4_off + 8));
		REQUIRE(pkt->tcp_flags == d[pkt->l4_off + 13]);
		break;
	case COLO_CMP_L4:
		REQUIRE(k->proto == 17 || k->proto == 1 || k->proto == 58);
		REQUIRE(pkt->data_off == pkt->l4_off);
		break;
	default:
		REQUIRE(k->proto != 6 && k->proto != 17 && k->proto != 1 &&
			k->proto != 58);
		REQUIRE(pkt->data_off == pkt->l3_off);
		break;
	}
	if (pkt->cmp != COLO_CMP_TCP)
		REQUIRE(!pkt->seq && !pkt->ack && !pkt->tcp_flags);
	ports = port_offset(k->proto);
	if (ports < 0) {
		REQUIRE(!k->sport && !k->dport);
	} else {
		REQUIRE(pkt->l4_off + ports + 4 <= pkt->ip_end);
		REQUIRE(k->sport == rd16(d + pkt->l4_off + ports));
		REQUIRE(k->dport == rd16(d + pkt->l4_off + ports + 2));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct colo_pkt full, part;
	size_t linear;
	uint8_t *copy;
	bool tagged;
	int type, cls;

	cls = colo_parse(data, data + size, size, &full);
	REQUIRE(cls == full.cls);
	type = inner_ethertype(data, size, &tagged);
	switch (cls) {
	case COLO_CLASS_COMPARE:
		check_compare(data, size, tagged, type, &full);
		break;
	case COLO_CLASS_PASS:
		REQUIRE(type >= 0 && type != COLO_ETH_P_IP &&
			type != COLO_ETH_P_IPV6);
		break;
	case COLO_CLASS_MALFORMED:
		REQUIRE(type < 0 || type == COLO_ETH_P_IP ||
			type == COLO_ETH_P_IPV6);
		break;
	default:
		REQUIRE(!"class out of range");
	}

	if (!size)
		return 0;
	linear = data[0] % (size + 1);
	copy = malloc(linear ? linear : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, linear);
	colo_parse(copy, copy + linear, size, &part);
	if (part.cls == COLO_CLASS_COMPARE) {
		/* the tail is not readable here: compare what was parsed */
		REQUIRE(cls == COLO_CLASS_COMPARE);
		REQUIRE(!memcmp(&part, &full, sizeof(part)));
	} else if (part.cls == COLO_CLASS_PASS) {
		REQUIRE(cls == COLO_CLASS_PASS);
	}
	free(copy);
	return 0;
}
