// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The shared L2-L4 parser (include/colo_parse.h): classification and key of
 * each protocol, and every malformed shape: frames truncated at every byte,
 * broken IP and TCP lengths, IPv6 extension chains, zero and jumbo length.
 * Each frame is parsed from a heap copy of exactly its length, so ASan
 * reports any read past the end, and then fed to the engine on both sides.
 */
#include <netinet/in.h>
#include <stdlib.h>

#include "engine.h"
#include "frames.h"
#include "test.h"

static uint64_t answered;

static void on_release(void *ctx, uint64_t h, uint32_t len)
{
	answered++;
}

static void on_free(void *ctx, uint64_t h)
{
	answered++;
}

static void on_checkpoint(void *ctx, enum colo_ckpt_reason r)
{
}

static const struct colo_engine_ops ops = {
	.release = on_release,
	.free = on_free,
	.checkpoint = on_checkpoint,
};

/* Parse exactly len bytes from a heap copy. */
static int parse(const uint8_t *frame, uint32_t len, struct colo_pkt *pkt)
{
	uint8_t *copy = malloc(len ? len : 1);
	int cls;

	memcpy(copy, frame, len);
	cls = colo_parse(copy, copy + len, len, pkt);
	free(copy);
	return cls;
}

static int build(const struct frame_spec *s, uint8_t *buf)
{
	int len = frame_build(s, buf, 9100);

	if (len < 0)
		abort();
	return len;
}

static struct frame_spec spec(uint8_t proto, const char *payload)
{
	return (struct frame_spec){
		.proto = proto,
		.sport = 1234,
		.dport = 80,
		.seq = 0x01020304,
		.ack = 0x0a0b0c0d,
		.tcp_flags = COLO_TCP_ACK | COLO_TCP_FIN,
		.payload = payload,
		.payload_len = strlen(payload),
	};
}

TEST(tcp_ipv4)
{
	struct frame_spec s = spec(IPPROTO_TCP, "abc");
	static const uint8_t sa[4] = { 10, 0, 0, 1 }, da[4] = { 10, 0, 0, 2 };
	struct colo_pkt pkt;
	uint8_t buf[9100];
	int len = build(&s, buf);

	CHECK_EQ(parse(buf, len, &pkt), COLO_CLASS_COMPARE);
	CHECK_EQ(pkt.cls, COLO_CLASS_COMPARE);
	CHECK_EQ(pkt.cmp, COLO_CMP_TCP);
	CHECK_EQ(pkt.key.ipver, 4);
	CHECK_EQ(pkt.key.proto, IPPROTO_TCP);
	CHECK(!memcmp(pkt.key.saddr, sa, 4));
	CHECK(!memcmp(pkt.key.daddr, da, 4));
	CHECK_EQ(pkt.key.sport, 1234);
	CHECK_EQ(pkt.key.dport, 80);
	CHECK_EQ(pkt.key.vlan, 0);
	CHECK_EQ(pkt.seq, 0x01020304);
	CHECK_EQ(pkt.ack, 0x0a0b0c0d);
	CHECK_EQ(pkt.tcp_flags, COLO_TCP_ACK | COLO_TCP_FIN);
	CHECK_EQ(pkt.l3_off, 14);
	CHECK_EQ(pkt.l4_off, 34);
	CHECK_EQ(pkt.data_off, 54);
	CHECK_EQ(pkt.ip_end, 57);
	CHECK_EQ(pkt.frag, 0);
}

TEST(tcp_ipv6_vlan)
{
	struct frame_spec s = spec(IPPROTO_TCP, "abcd");
	struct colo_pkt pkt;
	uint8_t buf[9100];
	int len;

	s.l3 = FRAME_IPV6;
	s.vlan = FRAME_VLAN | 4095;
	s.saddr = "2001:db8::1";
	len = build(&s, buf);
	CHECK_EQ(parse(buf, len, &pkt), COLO_CLASS_COMPARE);
	CHECK_EQ(pkt.key.ipver, 6);
	CHECK_EQ(pkt.key.vlan, COLO_VLAN_PRESENT | 4095);
	CHECK_EQ(pkt.key.saddr[0], 0x20);
	CHECK_EQ(pkt.key.saddr[15], 1);
	CHECK_EQ(pkt.key.daddr[0], 0xfd);
	CHECK_EQ(pkt.l3_off, 18);
	CHECK_EQ(pkt.data_off, 18 + 40 + 20);
	CHECK_EQ(pkt.ip_end, len);
}

TEST(udp_with_padding)
{
	struct frame_spec s = spec(IPPROTO_UDP, "x");
	struct colo_pkt pkt;
	uint8_t buf[9100];
	int len;

	s.pad = 17;
	len = build(&s, buf);
	CHECK_EQ(len, 14 + 20 + 8 + 1 + 17);
	CHECK_EQ(parse(buf, len, &pkt), COLO_CLASS_COMPARE);
	CHECK_EQ(pkt.cmp, COLO_CMP_L4);
	CHECK_EQ(pkt.key.sport, 1234);
	CHECK_EQ(pkt.data_off, 34);
	CHECK_EQ(pkt.ip_end, 14 + 20 + 8 + 1); /* padding excluded */
}

TEST(icmp_and_icmpv6_have_no_ports)
{
	struct frame_spec s = spec(IPPROTO_ICMP, "ping");
	struct colo_pkt pkt;
	uint8_t buf[9100];
	int len = build(&s, buf);

	CHECK_EQ(parse(buf, len, &pkt), COLO_CLASS_COMPARE);
	CHECK_EQ(pkt.cmp, COLO_CMP_L4);
	CHECK_EQ(pkt.key.sport, 0);
	CHECK_EQ(pkt.key.dport, 0);
	CHECK_EQ(pkt.data_off, 34);
	s.l3 = FRAME_IPV6;
	s.proto = IPPROTO_ICMPV6;
	len = build(&s, buf);
	CHECK_EQ(parse(buf, len, &pkt), COLO_CLASS_COMPARE);
	CHECK_EQ(pkt.cmp, COLO_CMP_L4);
	CHECK_EQ(pkt.key.proto, IPPROTO_ICMPV6);
	CHECK_EQ(pkt.data_off, 54);
}

TEST(port_protocols_and_ipsec)
{
	/* payload right after the IP header stands in for the L4 header */
	static const struct {
		uint8_t proto;
		uint16_t sport, dport;
	} want[] = {
		{ IPPROTO_SCTP, 0x0102, 0x0304 },
		{ IPPROTO_DCCP, 0x0102, 0x0304 },
		{ IPPROTO_UDPLITE, 0x0102, 0x0304 },
		{ IPPROTO_ESP, 0x0102, 0x0304 }, /* SPI halves */
		{ IPPROTO_AH, 0x0506, 0x0708 }, /* SPI after 4 bytes */
		{ IPPROTO_GRE, 0, 0 },
	};
	struct frame_spec s = spec(0, "\1\2\3\4\5\6\7\x08");
	struct colo_pkt pkt;
	uint8_t buf[9100];
	size_t i;
	int len;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		s.proto = want[i].proto;
		len = build(&s, buf);
		CHECK_EQ(parse(buf, len, &pkt), COLO_CLASS_COMPARE);
		CHECK_EQ(pkt.key.proto, want[i].proto);
		CHECK_EQ(pkt.key.sport, want[i].sport);
		CHECK_EQ(pkt.key.dport, want[i].dport);
		CHECK_EQ(pkt.cmp, COLO_CMP_IP);
		CHECK_EQ(pkt.data_off, pkt.l3_off);
		/* too short for its ports */
		if (want[i].sport) {
			s.payload_len = 3;
			len = build(&s, buf);
			CHECK_EQ(parse(buf, len, &pkt), COLO_CLASS_MALFORMED);
			s.payload_len = 8;
		}
	}
}

TEST(arp_and_other_ethertypes_pass)
{
	struct frame_spec s = { .l3 = FRAME_ARP };
	struct colo_pkt pkt;
	uint8_t buf[9100];
	int len = build(&s, buf);

	CHECK_EQ(parse(buf, len, &pkt), COLO_CLASS_PASS);
	s.vlan = FRAME_VLAN | 5;
	len = build(&s, buf);
	CHECK_EQ(parse(buf, len, &pkt), COLO_CLASS_PASS);
	/* a second tag (QinQ) is not followed */
	s = spec(IPPROTO_UDP, "q");
	s.vlan = FRAME_VLAN | 5;
	len = build(&s, buf);
	buf[16] = 0x81;
	buf[17] = 0x00;
	CHECK_EQ(parse(buf, len, &pkt), COLO_CLASS_PASS);
}

TEST(ipv4_fragments_compare_whole_packet)
{
	struct frame_spec s = spec(IPPROTO_UDP, "fragment");
	struct colo_pkt pkt;
	uint8_t buf[9100];
	int len = build(&s, buf);

	buf[20] = 0x20; /* more fragments */
	CHECK_EQ(parse(buf, len, &pkt), COLO_CLASS_COMPARE);
	CHECK_EQ(pkt.frag, 1);
	CHECK_EQ(pkt.cmp, COLO_CMP_IP);
	CHECK_EQ(pkt.key.sport, 0);
	CHECK_EQ(pkt.data_off, 14);
	buf[20] = 0;
	buf[21] = 0x10; /* a later fragment */
	CHECK_EQ(parse(buf, len, &pkt), COLO_CLASS_COMPARE);
	CHECK_EQ(pkt.frag, 1);
}

TEST(ipv6_extension_chains)
{
	struct frame_spec s = spec(IPPROTO_UDP, "ext");
	struct colo_pkt pkt;
	uint8_t buf[9100];
	int len;

	s.l3 = FRAME_IPV6;
	s.exthdrs = 8; /* the longest chain followed */
	len = build(&s, buf);
	CHECK_EQ(parse(buf, len, &pkt), COLO_CLASS_COMPARE);
	CHECK_EQ(pkt.key.proto, IPPROTO_UDP);
	CHECK_EQ(pkt.key.sport, 1234);
	CHECK_EQ(pkt.l4_off, 14 + 40 + 64);
	s.exthdrs = 9;
	len = build(&s, buf);
	CHECK_EQ(parse(buf, len, &pkt), COLO_CLASS_MALFORMED);
	/* an extension header longer than the packet */
	s.exthdrs = 1;
	len = build(&s, buf);
	buf[14 + 40 + 1] = 200;
	CHECK_EQ(parse(buf, len, &pkt), COLO_CLASS_MALFORMED);
	/* a fragment header ends the chain: compared as an IP packet */
	len = build(&s, buf);
	buf[14 + 6] = 44;
	CHECK_EQ(parse(buf, len, &pkt), COLO_CLASS_COMPARE);
	CHECK_EQ(pkt.frag, 1);
	CHECK_EQ(pkt.cmp, COLO_CMP_IP);
	CHECK_EQ(pkt.key.proto, IPPROTO_UDP);
}

TEST(ipv4_header_lengths)
{
	struct frame_spec s = spec(IPPROTO_UDP, "len");
	struct colo_pkt pkt;
	uint8_t buf[9100];
	int len = build(&s, buf), ihl;

	for (ihl = 0; ihl < 5; ihl++) {
		buf[14] = 0x40 | ihl;
		CHECK_EQ(parse(buf, len, &pkt), COLO_CLASS_MALFORMED);
	}
	buf[14] = 0x4f; /* 60-byte header, longer than the packet */
	CHECK_EQ(parse(buf, len, &pkt), COLO_CLASS_MALFORMED);
	buf[14] = 0x45;
	buf[14 + 3] = len - 14 + 1; /* total length beyond the frame */
	CHECK_EQ(parse(buf, len, &pkt), COLO_CLASS_MALFORMED);
	buf[14 + 3] = 19; /* below the header */
	CHECK_EQ(parse(buf, len, &pkt), COLO_CLASS_MALFORMED);
	buf[14 + 3] = 27; /* within the frame but cuts the UDP header */
	CHECK_EQ(parse(buf, len, &pkt), COLO_CLASS_MALFORMED);
	buf[14 + 3] = 28; /* the rest is padding */
	CHECK_EQ(parse(buf, len, &pkt), COLO_CLASS_COMPARE);
	CHECK_EQ(pkt.ip_end, 14 + 28);
	buf[14] = 0x65; /* version 6 in an IPv4 ethertype */
	CHECK_EQ(parse(buf, len, &pkt), COLO_CLASS_MALFORMED);
}

TEST(ipv6_payload_lengths)
{
	struct frame_spec s = spec(IPPROTO_UDP, "len6");
	struct colo_pkt pkt;
	uint8_t buf[9100];
	int len;

	s.l3 = FRAME_IPV6;
	len = build(&s, buf);
	buf[18] = 0;
	buf[19] = 0; /* a jumbogram */
	CHECK_EQ(parse(buf, len, &pkt), COLO_CLASS_MALFORMED);
	buf[19] = len - 54 + 1;
	CHECK_EQ(parse(buf, len, &pkt), COLO_CLASS_MALFORMED);
	buf[19] = 7; /* cuts the UDP header */
	CHECK_EQ(parse(buf, len, &pkt), COLO_CLASS_MALFORMED);
}

TEST(tcp_data_offset)
{
	struct frame_spec s = spec(IPPROTO_TCP, "0123456789abcdef");
	struct colo_pkt pkt;
	uint8_t buf[9100];
	int len = build(&s, buf);

	buf[14 + 20 + 12] = 4 << 4; /* below the TCP header */
	CHECK_EQ(parse(buf, len, &pkt), COLO_CLASS_MALFORMED);
	buf[14 + 20 + 12] = 8 << 4; /* 32 bytes: options over the payload */
	CHECK_EQ(parse(buf, len, &pkt), COLO_CLASS_COMPARE);
	CHECK_EQ(pkt.data_off, 14 + 20 + 32);
	buf[14 + 20 + 12] = 10 << 4; /* 40 bytes: past the end */
	CHECK_EQ(parse(buf, len, &pkt), COLO_CLASS_MALFORMED);
}

TEST(zero_and_jumbo_length)
{
	struct frame_spec s = spec(IPPROTO_UDP, "");
	static uint8_t payload[9000];
	struct colo_pkt pkt;
	static uint8_t buf[9100];
	int len;

	CHECK_EQ(parse(buf, 0, &pkt), COLO_CLASS_MALFORMED);
	s.payload = payload;
	s.payload_len = 9000 - 14 - 20 - 8;
	len = build(&s, buf);
	CHECK_EQ(len, 9000);
	CHECK_EQ(parse(buf, len, &pkt), COLO_CLASS_COMPARE);
	CHECK_EQ(pkt.ip_end, 9000);
	s.l3 = FRAME_IPV6;
	s.payload_len = 9000 - 14 - 40 - 8;
	len = build(&s, buf);
	CHECK_EQ(parse(buf, len, &pkt), COLO_CLASS_COMPARE);
	CHECK_EQ(pkt.ip_end, 9000);
}

/*
 * Every valid frame cut at every length: a cut inside the IP packet is
 * malformed, a cut in the padding is not, nothing reads past the end, and
 * the engine answers every cut frame on both sides.
 */
TEST(truncated_at_every_offset)
{
	static const uint8_t protos[] = { IPPROTO_TCP,	IPPROTO_UDP,
					  IPPROTO_ICMP, IPPROTO_GRE,
					  IPPROTO_AH,	IPPROTO_SCTP };
	struct colo_engine_config cfg;
	struct frame_spec s;
	struct colo_engine *e;
	struct colo_pkt pkt, full;
	uint8_t buf[9100];
	uint64_t inputs = 0;
	int l3, v, p, len, cut, cls;

	colo_engine_config_default(&cfg);
	if (colo_engine_create(&cfg, &ops, NULL, &e))
		abort();
	answered = 0;
	for (l3 = FRAME_IPV4; l3 <= FRAME_ARP; l3++)
		for (v = 0; v < 2; v++)
			for (p = 0; p < (int)sizeof(protos); p++) {
				s = spec(protos[p], "payload!");
				s.l3 = l3;
				s.vlan = v ? FRAME_VLAN | 7 : 0;
				s.exthdrs = l3 == FRAME_IPV6 ? 2 : 0;
				if (s.l3 == FRAME_IPV6 &&
				    s.proto == IPPROTO_ICMP)
					s.proto = IPPROTO_ICMPV6;
				s.pad = 6;
				len = build(&s, buf);
				cls = parse(buf, len, &full);
				CHECK_EQ(cls, l3 == FRAME_ARP ?
						      COLO_CLASS_PASS :
						      COLO_CLASS_COMPARE);
				for (cut = 0; cut <= len; cut++) {
					uint8_t *copy = malloc(cut ? cut : 1);

					memcpy(copy, buf, cut);
					cls = colo_parse(copy, copy + cut, cut,
							 &pkt);
					if (cut < 14 + (v ? 4 : 0))
						CHECK_EQ(cls,
							 COLO_CLASS_MALFORMED);
					else if (l3 == FRAME_ARP)
						CHECK_EQ(cls, COLO_CLASS_PASS);
					else if (cut < full.ip_end)
						CHECK_EQ(cls,
							 COLO_CLASS_MALFORMED);
					else
						CHECK_EQ(cls,
							 COLO_CLASS_COMPARE);
					colo_engine_input(e, COLO_PRIMARY, 1,
							  copy, cut, 0);
					colo_engine_input(e, COLO_SECONDARY, 2,
							  copy, cut, 0);
					inputs += 2;
					/* answered before the bytes go */
					colo_engine_checkpoint_done(e);
					free(copy);
				}
			}
	CHECK_EQ(answered, inputs);
	CHECK_EQ(colo_engine_stats(e)->pool_in_use, 0);
	colo_engine_destroy(e);
}

/* Random bytes behind IP ethertypes: no crash, offsets inside the frame. */
TEST(random_headers)
{
	uint8_t buf[256];
	struct colo_pkt pkt;
	uint32_t x = 12345;
	int i, j, len, cls;

	for (i = 0; i < 200000; i++) {
		len = 0;
		for (j = 0; j < (int)sizeof(buf); j++) {
			x = x * 1103515245 + 12345;
			buf[j] = x >> 16;
		}
		len = buf[0] % sizeof(buf);
		buf[12] = 0x86;
		buf[13] = (i & 1) ? 0xdd : 0x00;
		if (!(i & 1))
			buf[12] = 0x08;
		if (i % 7 == 0) {
			buf[14] = (i & 1) ? 0x60 : 0x45;
			buf[16] = 0;
			buf[17] = len > 34 ? len - 34 : 0;
			buf[18] = 0;
			buf[19] = len > 54 ? len - 54 : 0;
		}
		cls = parse(buf, len, &pkt);
		CHECK(cls == COLO_CLASS_COMPARE || cls == COLO_CLASS_PASS ||
		      cls == COLO_CLASS_MALFORMED);
		if (cls == COLO_CLASS_COMPARE) {
			CHECK(pkt.ip_end <= len);
			CHECK(pkt.data_off <= pkt.ip_end);
			CHECK(pkt.l3_off <= pkt.data_off);
		}
	}
}
