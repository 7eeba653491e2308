// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "pass_spec.h"

#define KEYS "proto, src, sport, dst or dport"
#define PORT_PROTOS "tcp, udp, dccp (33), sctp (132) or udp-lite (136)"

enum key { K_PROTO, K_SRC, K_SPORT, K_DST, K_DPORT, K_NR };

static const char *const key_name[K_NR] = {
	[K_PROTO] = "proto", [K_SRC] = "src",	  [K_SPORT] = "sport",
	[K_DST] = "dst",     [K_DPORT] = "dport",
};

static const __u8 key_has[K_NR] = {
	[K_PROTO] = COLO_PASS_PROTO, [K_SRC] = COLO_PASS_SRC,
	[K_SPORT] = COLO_PASS_SPORT, [K_DST] = COLO_PASS_DST,
	[K_DPORT] = COLO_PASS_DPORT,
};

static int bad(char *err, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int bad(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* A decimal number up to max, digits only: no sign, space or hex. */
static bool number(const char *s, uint32_t max, uint32_t *out)
{
	uint32_t v = 0;

	if (!*s || strlen(s) > 10)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (uint32_t)(*s - '0');
		if (v > max)
			return false;
	}
	*out = v;
	return true;
}

/* How a rule's protocol is written: icmp, tcp, udp or its number. */
static const char *proto_name(const struct colo_pass_rule *r, char *num,
			      size_t len)
{
	if (r->has & COLO_PASS_ICMP)
		return "icmp";
	if (r->proto == 6)
		return "tcp";
	if (r->proto == 17)
		return "udp";
	snprintf(num, len, "%u", r->proto);
	return num;
}

static int parse_proto(const char *v, struct colo_pass_rule *r, char *err,
		       size_t len)
{
	uint32_t n;

	if (!strcmp(v, "tcp"))
		n = 6;
	else if (!strcmp(v, "udp"))
		n = 17;
	else if (!strcmp(v, "icmp"))
		n = 1;
	else if (!number(v, 255, &n))
		return bad(
			err, len,
			"proto: '%s' is not tcp, udp, icmp or a protocol number 0-255",
			v);
	/* ICMP is one protocol to a user, whichever IP version carries it */
	if (n == 1 || n == 58) {
		r->has |= COLO_PASS_ICMP;
		n = 1;
	}
	r->proto = (__u8)n;
	return 0;
}

static int parse_port(const char *k, const char *v, __u16 *port, char *err,
		      size_t len)
{
	uint32_t n;

	if (!number(v, 65535, &n) || !n)
		return bad(err, len, "%s: '%s' is not a port 1-65535", k, v);
	*port = (__u16)n;
	return 0;
}

/* ADDR[/PREFIX] into addr and mask; the IP version into *ipver. */
static int parse_addr(const char *k, char *v, __u8 *addr, __u8 *mask,
		      __u8 *plen, __u8 *ipver, char *err, size_t len)
{
	char *slash = strchr(v, '/'), net[INET6_ADDRSTRLEN];
	uint32_t bits, max, i;
	bool host_bits = false;

	if (slash)
		*slash = 0;
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, v, addr) == 1) {
		*ipver = 4;
		max = 32;
	} else if (inet_pton(AF_INET6, v, addr) == 1) {
		*ipver = 6;
		max = 128;
	} else {
		return bad(
			err, len,
			"%s: '%s' is not an IPv4 or IPv6 address (ADDR or ADDR/PREFIX)",
			k, v);
	}
	bits = max;
	if (slash && !number(slash + 1, max, &bits))
		return bad(err, len,
			   "%s: prefix '/%s' is not 0-%u for an IPv%u address",
			   k, slash + 1, max, *ipver);
	*plen = (__u8)bits;
	for (i = 0; i < 16; i++) {
		mask[i] = bits >= 8 ? 0xff : (__u8)(0xff00 >> bits);
		bits = bits >= 8 ? bits - 8 : 0;
		host_bits |= addr[i] & ~mask[i];
		addr[i] &= mask[i];
	}
	if (host_bits) {
		inet_ntop(*ipver == 4 ? AF_INET : AF_INET6, addr, net,
			  sizeof(net));
		return bad(
			err, len,
			"%s: %s/%s has bits set past the prefix: write %s/%s",
			k, v, slash + 1, net, slash + 1);
	}
	return 0;
}

static int parse_value(enum key k, char *v, struct colo_pass_rule *r, char *err,
		       size_t len)
{
	__u8 ipver = 0;
	int ret;

	switch (k) {
	case K_PROTO:
		return parse_proto(v, r, err, len);
	case K_SPORT:
		return parse_port("sport", v, &r->sport, err, len);
	case K_DPORT:
		return parse_port("dport", v, &r->dport, err, len);
	case K_SRC:
		ret = parse_addr("src", v, r->saddr, r->smask, &r->src_plen,
				 &ipver, err, len);
		break;
	default:
		ret = parse_addr("dst", v, r->daddr, r->dmask, &r->dst_plen,
				 &ipver, err, len);
		break;
	}
	if (ret)
		return ret;
	if (r->ipver && r->ipver != ipver)
		return bad(
			err, len,
			"%s: an IPv%u address, but %s is IPv%u: a rule matches one IP version",
			key_name[k], ipver, k == K_SRC ? "dst" : "src",
			r->ipver);
	r->ipver = ipver;
	return 0;
}

static int parse_item(char *item, struct colo_pass_rule *r, char *err,
		      size_t len)
{
	char *eq = strchr(item, '=');
	enum key k;

	if (eq)
		*eq = 0;
	for (k = 0; k < K_NR && strcmp(item, key_name[k]); k++)
		;
	if (k == K_NR)
		return bad(err, len, "'%s' is not a key: use " KEYS, item);
	if (!eq || !eq[1])
		return bad(err, len, "%s: no value: write %s=VALUE", item,
			   item);
	if (r->has & key_has[k])
		return bad(err, len, "%s: given twice", item);
	r->has |= key_has[k];
	return parse_value(k, eq + 1, r, err, len);
}

int pass_spec_parse(const char *spec, struct colo_pass_rule *rule, char *err,
		    size_t errlen)
{
	char buf[PASS_SPEC_MAX], *rest = buf, *item, num[4];
	int ret;

	memset(rule, 0, sizeof(*rule));
	if (strlen(spec) >= sizeof(buf))
		return bad(err, errlen, "spec longer than %zu bytes",
			   sizeof(buf) - 1);
	if (!*spec)
		return bad(err, errlen,
			   "empty spec: give one or more of " KEYS
			   " (to compare nothing at all, fail over)");
	strcpy(buf, spec);
	while ((item = strsep(&rest, ","))) {
		if (!*item)
			return bad(
				err, errlen,
				"an empty item in '%s': give KEY=VALUE pairs separated by commas",
				spec);
		ret = parse_item(item, rule, err, errlen);
		if (ret)
			return ret;
	}
	if ((rule->has & COLO_PASS_PROTO) &&
	    (rule->has & (COLO_PASS_SPORT | COLO_PASS_DPORT)) &&
	    ((rule->has & COLO_PASS_ICMP) ||
	     !colo_proto_has_ports(rule->proto)))
		return bad(
			err, errlen,
			"%s: protocol %s has no ports; ports go with " PORT_PROTOS,
			rule->has & COLO_PASS_SPORT ? "sport" : "dport",
			proto_name(rule, num, sizeof(num)));
	return 0;
}

static int put(char *buf, size_t len, size_t *n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int put(char *buf, size_t len, size_t *n, const char *fmt, ...)
{
	va_list ap;
	int w;

	va_start(ap, fmt);
	w = vsnprintf(buf + *n, len - *n, fmt, ap);
	va_end(ap);
	if (w < 0 || (size_t)w >= len - *n)
		return -ENOSPC;
	*n += (size_t)w;
	return 0;
}

static int put_addr(char *buf, size_t len, size_t *n, const char *k,
		    const __u8 *addr, __u8 plen, __u8 ipver)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(ipver == 4 ? AF_INET : AF_INET6, addr, a, sizeof(a));
	if (plen == (ipver == 4 ? 32 : 128))
		return put(buf, len, n, "%s%s=%s", *n ? "," : "", k, a);
	return put(buf, len, n, "%s%s=%s/%u", *n ? "," : "", k, a, plen);
}

int pass_spec_format(const struct colo_pass_rule *r, char *buf, size_t len)
{
	char num[4];
	size_t n = 0;
	int err = 0;

	if (!len)
		return -ENOSPC;
	buf[0] = 0;
	if (r->has & COLO_PASS_PROTO)
		err = put(buf, len, &n, "proto=%s",
			  proto_name(r, num, sizeof(num)));
	if (!err && (r->has & COLO_PASS_SRC))
		err = put_addr(buf, len, &n, "src", r->saddr, r->src_plen,
			       r->ipver);
	if (!err && (r->has & COLO_PASS_SPORT))
		err = put(buf, len, &n, "%ssport=%u", n ? "," : "", r->sport);
	if (!err && (r->has & COLO_PASS_DST))
		err = put_addr(buf, len, &n, "dst", r->daddr, r->dst_plen,
			       r->ipver);
	if (!err && (r->has & COLO_PASS_DPORT))
		err = put(buf, len, &n, "%sdport=%u", n ? "," : "", r->dport);
	return err ? err : (int)n;
}

bool pass_rule_same(const struct colo_pass_rule *a,
		    const struct colo_pass_rule *b)
{
	struct colo_pass_rule x = *a, y = *b;

	x.slot = y.slot = 0;
	return !memcmp(&x, &y, sizeof(x));
}

static int find(const struct colo_pass_set *set,
		const struct colo_pass_rule *rule)
{
	__u32 i;

	for (i = 0; i < set->n; i++)
		if (pass_rule_same(&set->rule[i], rule))
			return (int)i;
	return -1;
}

int pass_set_add(struct colo_pass_set *set, const struct colo_pass_rule *rule,
		 char *err, size_t errlen)
{
	char spec[PASS_SPEC_MAX];
	bool used[COLO_PASS_MAX] = {};
	__u32 i, slot = 0;

	pass_spec_format(rule, spec, sizeof(spec));
	if (find(set, rule) >= 0) {
		snprintf(err, errlen, "%s is a passthrough rule already", spec);
		return -EEXIST;
	}
	if (set->n >= COLO_PASS_MAX) {
		snprintf(
			err, errlen,
			"%s: %d passthrough rules already, the most colo_steer holds per instance; delete one with 'colo-xdp ctl passthrough-del SPEC'",
			spec, COLO_PASS_MAX);
		return -ENOSPC;
	}
	for (i = 0; i < set->n; i++)
		if (set->rule[i].slot < COLO_PASS_MAX)
			used[set->rule[i].slot] = true;
	while (slot < COLO_PASS_MAX - 1 && used[slot])
		slot++;
	set->rule[set->n] = *rule;
	set->rule[set->n].slot = (__u8)slot;
	set->n++;
	return 0;
}

int pass_set_change(struct colo_pass_set *set, const char *spec, bool del,
		    struct colo_pass_rule *rule, char *err, size_t errlen)
{
	int ret = pass_spec_parse(spec, rule, err, errlen);

	if (ret)
		return ret;
	return del ? pass_set_del(set, rule, err, errlen) :
		     pass_set_add(set, rule, err, errlen);
}

int pass_set_del(struct colo_pass_set *set, const struct colo_pass_rule *rule,
		 char *err, size_t errlen)
{
	char spec[PASS_SPEC_MAX];
	int i = find(set, rule);

	if (i < 0) {
		pass_spec_format(rule, spec, sizeof(spec));
		snprintf(
			err, errlen,
			"no passthrough rule %s: 'colo-xdp ctl passthrough-list' shows them",
			spec);
		return -ENOENT;
	}
	memmove(&set->rule[i], &set->rule[i + 1],
		(set->n - i - 1) * sizeof(set->rule[0]));
	set->n--;
	memset(&set->rule[set->n], 0, sizeof(set->rule[0]));
	return 0;
}
