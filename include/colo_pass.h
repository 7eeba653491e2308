/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Passthrough rules: flows that are not compared (a guest's management
 * traffic, a flow known to differ). colo_steer decides their frames in the
 * kernel, the primary's to the outdev and the secondary's dropped, and
 * counts them per rule; the loader matches with the same function the
 * frames of such a flow that reached its sockets before the rule did.
 */
#ifndef COLO_PASS_H
#define COLO_PASS_H

#ifndef __bpf__
#include <linux/types.h>
#include <stdbool.h>
#endif
#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#include "colo_parse.h"

/*
 * Rules per instance: colo_steer scans them in a bounded loop, so a frame
 * of a flow no rule matches costs at most this many comparisons.
 */
#define COLO_PASS_MAX 16

/* Which keys a rule has; a key left out matches everything. */
enum colo_pass_has {
	COLO_PASS_PROTO = 1 << 0,
	COLO_PASS_SRC = 1 << 1,
	COLO_PASS_SPORT = 1 << 2,
	COLO_PASS_DST = 1 << 3,
	COLO_PASS_DPORT = 1 << 4,
	/* with PROTO: ICMP on IPv4 and ICMPv6 on IPv6, as a user means it */
	COLO_PASS_ICMP = 1 << 5,
};

/* 8-byte aligned: colo_pass_match() reads its addresses in words */
struct colo_pass_rule {
	/* network order, the bits past the prefix zero; IPv4: first 4 bytes */
	__u8 saddr[16];
	__u8 smask[16];
	__u8 daddr[16];
	__u8 dmask[16];
	__u16 sport; /* host order */
	__u16 dport;
	__u8 has; /* enum colo_pass_has */
	__u8 proto; /* the IP protocol; 1 with COLO_PASS_ICMP */
	__u8 ipver; /* 4 or 6 when an address is given, else 0: both */
	__u8 src_plen;
	__u8 dst_plen;
	/* its colo_pass_stats entry: kept for the rule's life */
	__u8 slot;
	__u8 pad[6]; /* to the alignment: no hidden bytes in a comparison */
} __attribute__((aligned(8)));

/*
 * colo_pass value, keyed by the instance's colo_heartbeat slot (unique in
 * maps that instances share): rule[0] to rule[n - 1], in the order they
 * were added; a frame counts for the first rule it matches.
 */
struct colo_pass_set {
	__u32 n;
	__u32 pad;
	struct colo_pass_rule rule[COLO_PASS_MAX];
};

/*
 * colo_pass_stats value, per CPU, keyed by slot * COLO_PASS_MAX + the
 * rule's slot: frames since the rule was added.
 */
struct colo_pass_count {
	__u64 primary; /* sent to the outdev */
	__u64 secondary; /* dropped */
};

/* Protocols whose key carries ports (colo_parse.h); no rule port fits others. */
static __always_inline bool colo_proto_has_ports(__u8 proto)
{
	return proto == 6 || proto == 17 || proto == 33 || proto == 132 ||
	       proto == 136;
}

/*
 * 8 bytes of an address of k against a rule's: whole words, not a byte
 * loop, since the loader runs this for every frame it takes while a rule
 * exists.
 */
static __always_inline bool colo_pass_8(const __u8 *key, const __u8 *net,
					const __u8 *mask)
{
	__u64 k, n, m;

	__builtin_memcpy(&k, key, 8);
	__builtin_memcpy(&n, net, 8);
	__builtin_memcpy(&m, mask, 8);
	return (k & m) == n;
}

static __always_inline bool colo_pass_match(const struct colo_pass_rule *r,
					    const struct colo_flow_key *k)
{
	__u8 proto = r->proto;

	if (r->ipver && r->ipver != k->ipver)
		return false;
	if (r->has & COLO_PASS_ICMP)
		proto = k->ipver == 6 ? 58 : 1;
	if ((r->has & COLO_PASS_PROTO) && k->proto != proto)
		return false;
	/* ESP and AH keys hold an SPI there; fragments 0, which no rule has */
	if ((r->has & (COLO_PASS_SPORT | COLO_PASS_DPORT)) &&
	    !colo_proto_has_ports(k->proto))
		return false;
	if ((r->has & COLO_PASS_SPORT) && k->sport != r->sport)
		return false;
	if ((r->has & COLO_PASS_DPORT) && k->dport != r->dport)
		return false;
	if (!(r->has & (COLO_PASS_SRC | COLO_PASS_DST)))
		return true;
	/* a key left out has a zero mask; IPv4 is all in the first 8 bytes */
	if (!colo_pass_8(k->saddr, r->saddr, r->smask) ||
	    !colo_pass_8(k->daddr, r->daddr, r->dmask))
		return false;
	return r->ipver == 4 ||
	       (colo_pass_8(k->saddr + 8, r->saddr + 8, r->smask + 8) &&
		colo_pass_8(k->daddr + 8, r->daddr + 8, r->dmask + 8));
}

#endif /* COLO_PASS_H */
