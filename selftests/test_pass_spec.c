// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Passthrough specs (user/steer/pass_spec.c) and the rule matcher colo_steer
 * and the loader share (include/colo_pass.h): what a spec means, the
 * canonical form passthrough-list prints, every refusal naming its key,
 * an instance's set (duplicates, the limit, deletion, counter slots), and
 * which flow keys a rule matches.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>

#include "pass_spec.h"
#include "test.h"

static const char *canonical(const char *spec)
{
	static char out[PASS_SPEC_MAX];
	struct colo_pass_rule r, again;
	char err[256] = "";

	if (pass_spec_parse(spec, &r, err, sizeof(err))) {
		fprintf(stderr, "  '%s' refused: %s\n", spec, err);
		return "(refused)";
	}
	if (pass_spec_format(&r, out, sizeof(out)) < 0)
		return "(too long)";
	/* the canonical form means the same rule */
	CHECK_EQ(pass_spec_parse(out, &again, err, sizeof(err)), 0);
	CHECK(pass_rule_same(&r, &again));
	return out;
}

#define CHECK_CANON(spec, want)                                            \
	do {                                                               \
		const char *_got = canonical(spec);                        \
		if (strcmp(_got, want)) {                                  \
			fprintf(stderr,                                    \
				"  %s:%d: '%s' printed '%s', want '%s'\n", \
				__FILE__, __LINE__, spec, _got, want);     \
			test_case_failed = 1;                              \
		}                                                          \
	} while (0)

TEST(canonical_form)
{
	CHECK_CANON("proto=udp,dport=53", "proto=udp,dport=53");
	CHECK_CANON("dport=53,proto=17", "proto=udp,dport=53");
	CHECK_CANON("sport=22,proto=6", "proto=tcp,sport=22");
	CHECK_CANON("dport=9,dst=10.1.2.3,sport=7,src=10.0.0.0/8,proto=udp",
		    "proto=udp,src=10.0.0.0/8,sport=7,dst=10.1.2.3,dport=9");
	CHECK_CANON("src=10.1.2.3/32", "src=10.1.2.3");
	CHECK_CANON("src=0.0.0.0/0", "src=0.0.0.0/0");
	CHECK_CANON("proto=47", "proto=47");
	CHECK_CANON("proto=132,sport=1,dport=65535",
		    "proto=132,sport=1,dport=65535");
	CHECK_CANON("sport=4000", "sport=4000");
}

TEST(ipv6_and_icmp)
{
	CHECK_CANON("dst=FD00:0:0:0::1", "dst=fd00::1");
	CHECK_CANON("src=fd00::/64,dst=fd00::2/128",
		    "src=fd00::/64,dst=fd00::2");
	CHECK_CANON("src=::/0", "src=::/0");
	CHECK_CANON("src=FD00:1:2:3:4:5:6:6/127", "src=fd00:1:2:3:4:5:6:6/127");
	/* icmp, 1 and 58: ICMP on IPv4, ICMPv6 on IPv6 */
	CHECK_CANON("proto=icmp", "proto=icmp");
	CHECK_CANON("proto=1", "proto=icmp");
	CHECK_CANON("proto=58,src=fd00::/16", "proto=icmp,src=fd00::/16");
}

/* spec is refused, and the message holds want (the key and what it takes) */
static void refused(const char *spec, const char *want)
{
	struct colo_pass_rule r;
	char err[256] = "";

	if (pass_spec_parse(spec, &r, err, sizeof(err)) != -EINVAL ||
	    !strstr(err, want)) {
		fprintf(stderr, "  '%s': '%s' lacks '%s'\n", spec, err, want);
		test_case_failed = 1;
	}
}

TEST(bad_keys)
{
	refused("",
		"empty spec: give one or more of proto, src, sport, dst or dport");
	refused("foo=1",
		"'foo' is not a key: use proto, src, sport, dst or dport");
	refused("Proto=udp", "'Proto' is not a key");
	refused("proto", "proto: no value: write proto=VALUE");
	refused("dport=", "dport: no value");
	refused("proto=udp,proto=tcp", "proto: given twice");
	refused("src=10.0.0.1,src=10.0.0.2", "src: given twice");
	refused("proto=udp,,dport=53", "an empty item in");
	refused("proto=udp,", "an empty item in");
	refused("proto=udp,dport=5353,src=10.0.0.0/8,dst=10.0.0.1,sport=1111111111111111111111111111111111111111111111111111111111111111111111111111111",
		"spec longer than 127 bytes");
}

TEST(bad_values)
{
	refused("proto=xyz",
		"proto: 'xyz' is not tcp, udp, icmp or a protocol number 0-255");
	refused("proto=256", "proto: '256' is not");
	refused("proto=-1", "proto: '-1' is not");
	refused("proto=UDP", "proto: 'UDP' is not");
	refused("sport=0", "sport: '0' is not a port 1-65535");
	refused("dport=65536", "dport: '65536' is not a port 1-65535");
	refused("dport=0x35", "dport: '0x35' is not a port");
	refused("dport= 53", "dport: ' 53' is not a port");
	refused("src=10.0.0", "src: '10.0.0' is not an IPv4 or IPv6 address");
	refused("dst=host.example",
		"dst: 'host.example' is not an IPv4 or IPv6");
	refused("proto=icmp,dport=5",
		"dport: protocol icmp has no ports; ports go with tcp, udp");
	refused("proto=47,sport=1", "sport: protocol 47 has no ports");
}

TEST(bad_prefixes)
{
	refused("src=10.0.0.0/33",
		"src: prefix '/33' is not 0-32 for an IPv4 address");
	refused("dst=fd00::/129",
		"dst: prefix '/129' is not 0-128 for an IPv6 address");
	refused("src=10.0.0.0/", "src: prefix '/' is not 0-32");
	refused("src=10.0.0.0/x", "src: prefix '/x' is not");
	refused("src=10.0.0.1/8",
		"src: 10.0.0.1/8 has bits set past the prefix: write 10.0.0.0/8");
	refused("dst=fd00::1/64",
		"dst: fd00::1/64 has bits set past the prefix: write fd00::/64");
	refused("src=10.0.0.1,dst=fd00::1",
		"dst: an IPv6 address, but src is IPv4: a rule matches one IP version");
}

static struct colo_pass_rule rule(const char *spec)
{
	struct colo_pass_rule r;
	char err[256];

	if (pass_spec_parse(spec, &r, err, sizeof(err)))
		abort();
	return r;
}

TEST(set_add_duplicates_and_limit)
{
	struct colo_pass_set set = {};
	struct colo_pass_rule r = rule("proto=udp,dport=53");
	char err[256], spec[32];
	int i;

	CHECK_EQ(pass_set_add(&set, &r, err, sizeof(err)), 0);
	CHECK_EQ(set.n, 1);
	/* the same flows, however written */
	r = rule("dport=53,proto=17");
	CHECK_EQ(pass_set_add(&set, &r, err, sizeof(err)), -EEXIST);
	CHECK(strstr(err, "proto=udp,dport=53 is a passthrough rule already"));
	CHECK_EQ(set.n, 1);
	for (i = 1; i < COLO_PASS_MAX; i++) {
		snprintf(spec, sizeof(spec), "proto=tcp,dport=%d", i);
		r = rule(spec);
		CHECK_EQ(pass_set_add(&set, &r, err, sizeof(err)), 0);
		CHECK_EQ(set.rule[i].slot, i);
	}
	r = rule("proto=tcp,dport=999");
	CHECK_EQ(pass_set_add(&set, &r, err, sizeof(err)), -ENOSPC);
	CHECK(strstr(err, "proto=tcp,dport=999: 16 passthrough rules already"));
	CHECK(strstr(err, "passthrough-del"));
	CHECK_EQ(set.n, COLO_PASS_MAX);
}

TEST(set_del_keeps_order_and_slots)
{
	struct colo_pass_set set = {};
	struct colo_pass_rule r;
	char err[256], spec[32];
	int i;

	for (i = 0; i < 4; i++) {
		snprintf(spec, sizeof(spec), "dport=%d", 100 + i);
		r = rule(spec);
		CHECK_EQ(pass_set_add(&set, &r, err, sizeof(err)), 0);
	}
	r = rule("dport=101");
	CHECK_EQ(pass_set_del(&set, &r, err, sizeof(err)), 0);
	CHECK_EQ(set.n, 3);
	CHECK_EQ(set.rule[0].dport, 100);
	CHECK_EQ(set.rule[1].dport, 102);
	CHECK_EQ(set.rule[1].slot, 2);
	CHECK_EQ(set.rule[2].dport, 103);
	CHECK_EQ(set.rule[2].slot, 3);
	CHECK_EQ(set.rule[3].dport, 0);
	CHECK_EQ(pass_set_del(&set, &r, err, sizeof(err)), -ENOENT);
	CHECK(strstr(
		err,
		"no passthrough rule dport=101: 'colo-xdp ctl passthrough-list' shows them"));
	/* the freed counters' slot is the next rule's */
	r = rule("proto=udp");
	CHECK_EQ(pass_set_add(&set, &r, err, sizeof(err)), 0);
	CHECK_EQ(set.rule[3].slot, 1);
}

static struct colo_flow_key key(int ipver, __u8 proto, const char *src,
				__u16 sport, const char *dst, __u16 dport)
{
	struct colo_flow_key k = {
		.ipver = ipver, .proto = proto, .sport = sport, .dport = dport
	};
	int af = ipver == 6 ? AF_INET6 : AF_INET;

	if (inet_pton(af, src, k.saddr) != 1 ||
	    inet_pton(af, dst, k.daddr) != 1)
		abort();
	return k;
}

static bool match(const char *spec, const struct colo_flow_key *k)
{
	struct colo_pass_rule r = rule(spec);

	return colo_pass_match(&r, k);
}

TEST(match_protocols_and_ports)
{
	struct colo_flow_key dns = key(4, 17, "10.0.0.1", 4000, "10.0.0.2", 53);
	struct colo_flow_key sctp =
		key(4, 132, "10.0.0.1", 4000, "10.0.0.2", 53);
	/* ESP's SPI halves sit where ports do */
	struct colo_flow_key esp = key(4, 50, "10.0.0.1", 4000, "10.0.0.2", 53);
	/* an IP fragment has no ports */
	struct colo_flow_key frag = key(4, 17, "10.0.0.1", 0, "10.0.0.2", 0);
	struct colo_flow_key ping = key(4, 1, "10.0.0.1", 0, "10.0.0.2", 0);
	struct colo_flow_key ping6 = key(6, 58, "fd00::1", 0, "fd00::2", 0);

	CHECK(match("proto=udp,dport=53", &dns));
	CHECK(!match("proto=udp,dport=54", &dns));
	CHECK(!match("proto=tcp,dport=53", &dns));
	CHECK(match("sport=4000", &dns));
	CHECK(match("dport=53", &sctp));
	CHECK(!match("dport=53", &esp));
	CHECK(match("proto=50", &esp));
	CHECK(!match("proto=udp,dport=53", &frag));
	CHECK(match("proto=udp", &frag));
	CHECK(match("proto=icmp", &ping));
	CHECK(match("proto=icmp", &ping6));
	CHECK(match("proto=58", &ping));
	CHECK(!match("proto=icmp", &dns));
	CHECK(!match("proto=icmp,src=10.0.0.0/8", &ping6));
	CHECK(match("proto=icmp,src=fd00::/8", &ping6));
}

TEST(match_addresses_and_prefixes)
{
	struct colo_flow_key v4 = key(4, 6, "10.1.2.3", 22, "192.168.7.9", 80);
	struct colo_flow_key v6 = key(6, 6, "fd00::1", 22, "fd00:0:0:1::9", 80);

	CHECK(match("src=10.1.2.3", &v4));
	CHECK(!match("src=10.1.2.4", &v4));
	CHECK(match("src=10.1.2.0/24", &v4));
	CHECK(match("src=10.1.2.2/31", &v4));
	CHECK(!match("src=10.1.2.0/31", &v4));
	CHECK(match("dst=192.168.0.0/17", &v4));
	CHECK(!match("dst=192.168.128.0/17", &v4));
	CHECK(match("src=0.0.0.0/0", &v4));
	CHECK(!match("src=0.0.0.0/0", &v6));
	CHECK(!match("src=::/0", &v4));
	CHECK(match("src=::/0", &v6));
	CHECK(match("src=fd00::/64,dst=fd00:0:0:1::/64", &v6));
	CHECK(!match("dst=fd00::/64", &v6));
	CHECK(match("dst=fd00:0:0:1::8/127", &v6));
	CHECK(!match("dst=fd00:0:0:1::a/127", &v6));
	/* every key given must hold */
	CHECK(match("proto=tcp,src=10.1.2.3,sport=22,dst=192.168.7.9,dport=80",
		    &v4));
	CHECK(!match("proto=tcp,src=10.1.2.3,sport=22,dst=192.168.7.9,dport=81",
		     &v4));
}
