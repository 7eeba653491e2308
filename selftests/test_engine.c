// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The comparison engine, rule by rule (docs/semantics.md). A recording driver
 * logs every answer as text ("R1" release of handle 1, "F101" free of
 * handle 101, "C:timeout" a checkpoint request), so each case asserts the
 * exact order of releases, frees and requests, and then the counters.
 * Primary handles are below 100, secondary handles 100 and up.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>

#include "engine.h"
#include "frames.h"
#include "test.h"

#define MS 1000000ULL
#define NBUF 512
#define BUFSZ 2100
#define ISN 1000u

static struct {
	char log[4096];
	size_t n;
	uint64_t releases, frees, requests;
	struct colo_mismatch mm;
	struct colo_flow_key mm_key;
	int mismatches;
	uint32_t last_len; /* of the last release */
} rec;

static uint8_t bufs[NBUF][BUFSZ];
static uint8_t stream[65536]; /* the TCP byte stream both replicas send */

static void logevent(const char *fmt, ...)
{
	va_list ap;

	if (rec.n >= sizeof(rec.log) - 32)
		return;
	if (rec.n)
		rec.log[rec.n++] = ' ';
	va_start(ap, fmt);
	rec.n += vsnprintf(rec.log + rec.n, sizeof(rec.log) - rec.n, fmt, ap);
	va_end(ap);
}

static void on_release(void *ctx, uint64_t h, uint32_t len)
{
	rec.releases++;
	rec.last_len = len;
	logevent("R%llu", (unsigned long long)h);
}

static void on_free(void *ctx, uint64_t h)
{
	rec.frees++;
	logevent("F%llu", (unsigned long long)h);
}

static void on_checkpoint(void *ctx, enum colo_ckpt_reason r)
{
	rec.requests++;
	logevent("C:%s", colo_ckpt_reason_name(r));
}

static void on_mismatch(void *ctx, const struct colo_mismatch *m)
{
	rec.mm = *m;
	rec.mm_key = *m->key;
	rec.mismatches++;
}

static const struct colo_engine_ops ops = {
	.release = on_release,
	.free = on_free,
	.checkpoint = on_checkpoint,
	.mismatch = on_mismatch,
};

static struct colo_engine *eng;

/* A fresh engine with the default configuration changed by cfg, if any. */
static void start_cfg(const struct colo_engine_config *cfg)
{
	struct colo_engine_config def;

	memset(&rec, 0, sizeof(rec));
	colo_engine_destroy(eng);
	eng = NULL;
	colo_engine_config_default(&def);
	if (colo_engine_create(cfg ? cfg : &def, &ops, NULL, &eng))
		abort();
}

static void start(void)
{
	start_cfg(NULL);
}

static const struct colo_engine_stats *st(void)
{
	return colo_engine_stats(eng);
}

/* Log since the last check must read exactly want; then it is cleared. */
#define CHECK_LOG(want)                                                       \
	do {                                                                  \
		if (strcmp(rec.log, want)) {                                  \
			fprintf(stderr, "  %s:%d: log \"%s\", want \"%s\"\n", \
				__FILE__, __LINE__, rec.log, want);           \
			test_case_failed = 1;                                 \
		}                                                             \
		rec.n = 0;                                                    \
		rec.log[0] = 0;                                               \
	} while (0)

static void in_at(uint64_t h, const struct frame_spec *s, uint64_t t_ms)
{
	int len = frame_build(s, bufs[h], BUFSZ);

	if (len < 0 || h >= NBUF)
		abort();
	/* a refusal leaves the frame ours, unanswered: logged as X<h> */
	if (colo_engine_input(eng, h < 100 ? COLO_PRIMARY : COLO_SECONDARY, h,
			      bufs[h], len, t_ms * MS) == -EAGAIN)
		logevent("X%llu", (unsigned long long)h);
}

static void in(uint64_t h, const struct frame_spec *s)
{
	in_at(h, s, 0);
}

static struct frame_spec udp(const char *payload)
{
	return (struct frame_spec){
		.proto = IPPROTO_UDP,
		.sport = 5000,
		.dport = 53,
		.payload = payload,
		.payload_len = strlen(payload),
	};
}

/* A TCP segment carrying stream bytes [seq, seq + len) with ACK. */
static struct frame_spec tcp(uint32_t seq, uint32_t len, uint32_t ack,
			     uint8_t flags)
{
	return (struct frame_spec){
		.proto = IPPROTO_TCP,
		.sport = 80,
		.dport = 40000,
		.seq = seq,
		.ack = ack,
		.tcp_flags = flags,
		.payload = stream + (seq - ISN) % 32768,
		.payload_len = len,
	};
}

static struct frame_spec data(uint32_t seq, uint32_t len)
{
	return tcp(seq, len, 7000, COLO_TCP_ACK);
}

__attribute__((constructor)) static void fill_stream(void)
{
	size_t i;

	for (i = 0; i < sizeof(stream); i++)
		stream[i] = (uint8_t)(i * 131 + (i >> 8));
}

TEST(udp_pair_released_and_freed)
{
	struct frame_spec f = udp("hello");

	start();
	in(1, &f);
	CHECK_LOG("");
	CHECK_EQ(st()->queued[COLO_PRIMARY], 1);
	in(101, &f);
	CHECK_LOG("R1 F101");
	CHECK_EQ(st()->compared, 1);
	CHECK_EQ(st()->released, 1);
	CHECK_EQ(st()->queued[COLO_PRIMARY], 0);
	CHECK_EQ(st()->pool_in_use, 0);
	CHECK_EQ(st()->conns_active, 1);
}

TEST(udp_secondary_first)
{
	struct frame_spec f = udp("hello");

	start();
	in(101, &f);
	in(1, &f);
	CHECK_LOG("R1 F101");
}

TEST(udp_arrival_order_kept)
{
	struct frame_spec a = udp("one"), b = udp("two"), c = udp("three");

	start();
	in(1, &a);
	in(2, &b);
	in(3, &c);
	CHECK_LOG("");
	in(101, &a);
	in(102, &b);
	in(103, &c);
	CHECK_LOG("R1 F101 R2 F102 R3 F103");
	CHECK_EQ(st()->compared, 3);
	CHECK_EQ(st()->ckpt_requests[COLO_CKPT_MISMATCH], 0);
}

TEST(udp_mismatch_holds_connection)
{
	struct frame_spec a = udp("aaaa"), b = udp("aaba"), c = udp("next");
	struct frame_spec other = udp("x");

	start();
	other.sport = 5001;
	in(1, &a);
	in(101, &b);
	CHECK_LOG("C:mismatch");
	CHECK_EQ(rec.mismatches, 1);
	CHECK_EQ(rec.mm.primary_handle, 1);
	CHECK_EQ(rec.mm.secondary_handle, 101);
	CHECK_EQ(rec.mm.offset, 6); /* the UDP checksum differs first */
	CHECK_EQ(rec.mm_key.sport, 5000);
	/* nothing more on that connection until the flush */
	in(2, &c);
	in(102, &c);
	CHECK_LOG("");
	/* other connections go on */
	in(3, &other);
	in(103, &other);
	CHECK_LOG("R3 F103");
	colo_engine_checkpoint_done(eng);
	CHECK_LOG("R1 R2 F101 F102");
	CHECK_EQ(st()->mismatches, 1);
	CHECK_EQ(st()->ckpt_requests[COLO_CKPT_MISMATCH], 1);
	CHECK_EQ(st()->released_flush, 2);
	CHECK_EQ(st()->checkpoints, 1);
	/* compared again after the checkpoint */
	in(4, &c);
	in(104, &c);
	CHECK_LOG("R4 F104");
}

TEST(udp_length_differs)
{
	struct frame_spec a = udp("abc"), b = udp("abcd");

	start();
	in(1, &a);
	in(101, &b);
	CHECK_LOG("C:mismatch");
	CHECK_EQ(rec.mm.offset, 5); /* UDP length, low byte */
}

TEST(udp_padding_on_one_side_only)
{
	struct frame_spec a = udp("hi"), b = udp("hi");

	start();
	a.pad = 30; /* an e1000 guest pads to 60 bytes, virtio does not */
	b.pad = 0;
	in(1, &a);
	in(101, &b);
	CHECK_LOG("R1 F101");
	b.pad = 20;
	b.payload = "ho";
	in(2, &b);
	a.payload = "ho";
	a.pad = 0;
	in(102, &a);
	CHECK_LOG("R2 F102");
}

TEST(ip_header_fields_ignored_for_udp)
{
	struct frame_spec a = udp("same"), b = udp("same");

	start();
	a.ip_id = 1;
	a.ttl = 64;
	b.ip_id = 999;
	b.ttl = 63;
	in(1, &a);
	in(101, &b);
	CHECK_LOG("R1 F101");
}

TEST(icmp_echo)
{
	struct frame_spec a = udp("ping"), b;

	start();
	a.proto = IPPROTO_ICMP;
	a.sport = 7; /* echo id */
	a.dport = 1;
	b = a;
	b.ip_id = 1234;
	in(1, &a);
	in(101, &b);
	CHECK_LOG("R1 F101");
	b.dport = 2; /* another echo sequence: the ICMP header differs */
	a.dport = 3;
	in(2, &a);
	in(102, &b);
	CHECK_LOG("C:mismatch");
	CHECK_EQ(st()->compared, 1);
	CHECK_EQ(rec.mm_key.proto, IPPROTO_ICMP);
}

TEST(icmpv6_echo)
{
	struct frame_spec a = udp("ping6"), b;

	start();
	a.l3 = FRAME_IPV6;
	a.proto = IPPROTO_ICMPV6;
	b = a;
	b.ttl = 1; /* hop limit is not compared */
	in(1, &a);
	in(101, &b);
	CHECK_LOG("R1 F101");
	b.payload = "pong6";
	in(2, &a);
	in(102, &b);
	CHECK_LOG("C:mismatch");
	CHECK_EQ(rec.mm_key.ipver, 6);
	CHECK_EQ(rec.mm_key.proto, IPPROTO_ICMPV6);
}

TEST(other_protocol_whole_ip_packet)
{
	struct frame_spec a = udp("gre payload"), b;

	start();
	a.proto = IPPROTO_GRE;
	b = a;
	b.ip_id = 4321; /* a random IP ID is no false mismatch */
	b.ttl = 12;
	in(1, &a);
	in(101, &b);
	CHECK_LOG("R1 F101");
	b.tos = 0x10; /* any other IP header byte is compared */
	in(2, &a);
	in(102, &b);
	CHECK_LOG("C:mismatch");
	CHECK_EQ(rec.mm.offset, 1);
	CHECK_EQ(st()->compared, 1);
}

TEST(other_protocol_ipv6)
{
	struct frame_spec a = udp("esp?"), b;

	start();
	a.l3 = FRAME_IPV6;
	a.proto = IPPROTO_GRE;
	b = a;
	b.ttl = 3;
	in(1, &a);
	in(101, &b);
	CHECK_LOG("R1 F101");
	b.tos = 0x20; /* traffic class is compared */
	in(2, &a);
	in(102, &b);
	CHECK_LOG("C:mismatch");
}

TEST(ipv6_udp_and_addresses_in_key)
{
	struct frame_spec a = udp("v6"), b;

	start();
	a.l3 = FRAME_IPV6;
	b = a;
	b.saddr = "fd00::99";
	in(1, &a);
	in(101, &b); /* another source: another connection */
	CHECK_LOG("");
	CHECK_EQ(st()->conns_active, 2);
	in(102, &a);
	CHECK_LOG("R1 F102");
	CHECK_EQ(rec.mismatches, 0);
}

TEST(ipv6_extension_headers)
{
	struct frame_spec a = udp("ext"), b;

	start();
	a.l3 = FRAME_IPV6;
	a.exthdrs = 2;
	b = a;
	in(1, &a);
	in(101, &b);
	CHECK_LOG("R1 F101");
	CHECK_EQ(st()->compared, 1);
}

TEST(vlan_id_in_key)
{
	struct frame_spec a = udp("tagged"), b;

	start();
	a.vlan = FRAME_VLAN | 10;
	b = a;
	b.vlan = FRAME_VLAN | 20;
	in(1, &a);
	in(101, &b);
	CHECK_LOG("");
	b.vlan = 0; /* untagged is not VLAN 0 either */
	in(102, &b);
	CHECK_LOG("");
	CHECK_EQ(st()->conns_active, 3);
	b.vlan = FRAME_VLAN | 10;
	in(103, &b);
	CHECK_LOG("R1 F103");
}

TEST(arp_passes_uncompared)
{
	struct frame_spec arp = { .l3 = FRAME_ARP, .pad = 18 };

	start();
	in(1, &arp);
	in(101, &arp);
	CHECK_LOG("R1 F101");
	CHECK_EQ(st()->passed, 1);
	CHECK_EQ(st()->not_compared_dropped, 1);
	CHECK_EQ(st()->compared, 0);
	CHECK_EQ(st()->conns_active, 0);
	CHECK_EQ(st()->pool_in_use, 0);
}

TEST(malformed_passes_uncompared)
{
	struct frame_spec a = udp("cut");
	int len;

	start();
	len = frame_build(&a, bufs[1], BUFSZ);
	colo_engine_input(eng, COLO_PRIMARY, 1, bufs[1], len - 5, 0);
	colo_engine_input(eng, COLO_SECONDARY, 101, bufs[1], 20, 0);
	CHECK_LOG("R1 F101");
	CHECK_EQ(st()->malformed[COLO_PRIMARY], 1);
	CHECK_EQ(st()->malformed[COLO_SECONDARY], 1);
	CHECK_EQ(st()->passed, 1);
	CHECK_EQ(st()->not_compared_dropped, 1);
}

/* A frame's connection hash, as colo-xdp run --workers shares them out. */
static uint32_t hash_of(const struct frame_spec *s)
{
	uint8_t buf[BUFSZ];
	int len = frame_build(s, buf, sizeof(buf));

	if (len < 0)
		abort();
	return colo_engine_flow_hash(buf, len, len);
}

TEST(flow_hash_is_the_connections)
{
	struct frame_spec p = data(ISN, 100), s = data(ISN + 5000, 10);
	struct frame_spec u = udp("one"), v = udp("another"),
			  arp = {
				  .l3 = FRAME_ARP,
				  .pad = 18,
			  };

	/* both sides of a connection: whatever they carry, one hash */
	s.ack = 9999;
	s.ip_id = 4242;
	CHECK_EQ(hash_of(&p), hash_of(&s));
	CHECK_EQ(hash_of(&u), hash_of(&v));
	/* another port, another protocol, another VLAN: another key */
	v.sport = 5001;
	CHECK(hash_of(&u) != hash_of(&v));
	CHECK(hash_of(&u) != hash_of(&p));
	v = u;
	v.vlan = FRAME_VLAN | 10;
	CHECK(hash_of(&u) != hash_of(&v));
	/* uncompared frames go to worker 0 */
	CHECK_EQ(hash_of(&arp), 0);
}

TEST(jumbo_9000_byte_frames)
{
	static uint8_t pb[9100], sb[9100];
	struct frame_spec a = udp("");
	int len;

	start();
	a.payload = stream;
	a.payload_len = 9000 - 14 - 20 - 8;
	len = frame_build(&a, pb, sizeof(pb));
	CHECK_EQ(len, 9000);
	CHECK_EQ(frame_build(&a, sb, sizeof(sb)), 9000);
	colo_engine_input(eng, COLO_PRIMARY, 1, pb, len, 0);
	colo_engine_input(eng, COLO_SECONDARY, 101, sb, len, 0);
	CHECK_LOG("R1 F101");
	sb[8999] ^= 1;
	colo_engine_input(eng, COLO_PRIMARY, 2, pb, len, 0);
	colo_engine_input(eng, COLO_SECONDARY, 102, sb, len, 0);
	CHECK_LOG("C:mismatch");
	CHECK_EQ(rec.mm.offset, 9000 - 14 - 20 - 1);
}

/* --- frames in several segments (jumbo frames in UMEM chunks) --- */

/*
 * Offer buf in segments of cut bytes each, the last one shorter, as
 * AF_XDP multi-buffer hands a frame in UMEM chunks; -EAGAIN logs X<h>.
 */
static int in_cut(uint64_t h, const uint8_t *buf, uint32_t len, uint32_t cut)
{
	struct iovec iov[64];
	unsigned int n = 0;
	uint32_t off;
	int err;

	for (off = 0; off < len && n < 64; off += cut, n++) {
		iov[n].iov_base = (void *)(buf + off);
		iov[n].iov_len = len - off < cut ? len - off : cut;
	}
	err = colo_engine_input_iov(
		eng, h < 100 ? COLO_PRIMARY : COLO_SECONDARY, h, iov, n, 0);
	if (err == -EAGAIN)
		logevent("X%llu", (unsigned long long)h);
	return err;
}

/* A 9000-byte UDP frame in pb and a copy in sb. */
static uint32_t jumbo_udp(uint8_t *pb, uint8_t *sb, uint32_t size)
{
	struct frame_spec a = udp("");
	int len;

	a.payload = stream;
	a.payload_len = 9000 - 14 - 20 - 8;
	len = frame_build(&a, pb, size);
	if (len != 9000 || frame_build(&a, sb, size) != len)
		abort();
	return len;
}

TEST(segmented_udp_compared_whole)
{
	static uint8_t pb[9100], sb[9100];
	uint32_t len = jumbo_udp(pb, sb, sizeof(pb));

	start();
	/* 1792: a 2048-byte UMEM frame after XDP's headroom; edges differ */
	in_cut(1, pb, len, 1792);
	CHECK_EQ(st()->queued[COLO_PRIMARY], 1);
	in_cut(101, sb, len, 1000);
	CHECK_LOG("R1 F101");
	CHECK_EQ(rec.last_len, 9000);
	CHECK_EQ(st()->compared, 1);
	/* one side whole, the other in pieces */
	colo_engine_input(eng, COLO_PRIMARY, 2, pb, len, 0);
	in_cut(102, sb, len, 1792);
	CHECK_LOG("R2 F102");
	CHECK_EQ(st()->pool_in_use, 0);
}

TEST(segmented_mismatch_in_a_later_segment)
{
	static uint8_t pb[9100], sb[9100];
	uint32_t len = jumbo_udp(pb, sb, sizeof(pb));

	start();
	sb[5000] ^= 0x40;
	in_cut(1, pb, len, 1792);
	in_cut(101, sb, len, 1792);
	CHECK_LOG("C:mismatch");
	/* from the UDP header, as for a frame in one piece */
	CHECK_EQ(rec.mm.offset, 5000 - 14 - 20);
	CHECK_EQ(rec.mm.primary_handle, 1);
	CHECK_EQ(rec.mm.secondary_handle, 101);
	sb[5000] ^= 0x40;
	/* the last byte of the last segment */
	start();
	sb[len - 1] ^= 1;
	in_cut(1, pb, len, 1792);
	in_cut(101, sb, len, 4000);
	CHECK_LOG("C:mismatch");
	CHECK_EQ(rec.mm.offset, len - 1 - 14 - 20);
	/* released whole at the checkpoint */
	colo_engine_checkpoint_done(eng);
	CHECK_LOG("R1 F101");
	CHECK_EQ(rec.last_len, 9000);
}

TEST(segmented_ip_compare_skips_id_and_ttl)
{
	static uint8_t pb[9100], sb[9100];
	struct frame_spec a = udp("");
	int len;

	start();
	a.proto = 47; /* GRE: the whole IP packet is compared */
	a.payload = stream;
	a.payload_len = 8000;
	len = frame_build(&a, pb, sizeof(pb));
	a.ip_id = 4321;
	a.ttl = 9;
	CHECK_EQ(frame_build(&a, sb, sizeof(sb)), len);
	in_cut(1, pb, len, 1792);
	in_cut(101, sb, len, 1792);
	CHECK_LOG("R1 F101");
	sb[7000] ^= 1;
	in_cut(2, pb, len, 1792);
	in_cut(102, sb, len, 1792);
	CHECK_LOG("C:mismatch");
	CHECK_EQ(rec.mm.offset, 7000 - 14);
}

TEST(segmented_tcp_stream)
{
	static uint8_t pb[2][9100], sb[9100], s2[9100];
	struct frame_spec p1 = data(ISN, 8948), p2 = data(ISN + 8948, 8948);
	struct frame_spec s = data(ISN, 8948), t = data(ISN + 8948, 8948);
	int l1, l2, ls, lt;

	start();
	l1 = frame_build(&p1, pb[0], sizeof(pb[0]));
	l2 = frame_build(&p2, pb[1], sizeof(pb[1]));
	ls = frame_build(&s, sb, sizeof(sb));
	lt = frame_build(&t, s2, sizeof(s2));
	CHECK_EQ(l1, 9002);
	in_cut(1, pb[0], l1, 1792);
	in_cut(2, pb[1], l2, 1792);
	in_cut(101, sb, ls, 3000);
	CHECK_LOG("F101 R1");
	/* a difference 6000 bytes into the second segment's payload */
	s2[14 + 20 + 20 + 6000] ^= 2;
	in_cut(102, s2, lt, 1792);
	CHECK_LOG("C:mismatch");
	CHECK_EQ(rec.mm.offset, 6000);
	CHECK_EQ(rec.mm.seq, ISN + 8948 + 6000);
}

TEST(segment_pool_refuses_then_recovers)
{
	static uint8_t pb[9100], sb[9100];
	uint32_t len = jumbo_udp(pb, sb, sizeof(pb));
	struct colo_engine_config cfg;

	colo_engine_config_default(&cfg);
	cfg.max_frames = 12; /* twelve segments: two frames of six */
	start_cfg(&cfg);
	CHECK_EQ(in_cut(1, pb, len, 1792), 0);
	CHECK_EQ(in_cut(2, pb, len, 1792), 0);
	CHECK_EQ(in_cut(3, pb, len, 1792), -EAGAIN);
	CHECK_LOG("C:no-buffers X3");
	CHECK_EQ(st()->refused[COLO_FULL_POOL], 1);
	colo_engine_checkpoint_done(eng);
	CHECK_LOG("R1 R2");
	CHECK_EQ(in_cut(3, pb, len, 1792), 0);
	CHECK_EQ(in_cut(103, sb, len, 1792), 0);
	CHECK_LOG("R3 F103");
	CHECK_EQ(colo_engine_input_iov(eng, COLO_PRIMARY, 4, NULL, 0, 0),
		 -EINVAL);
}

/* --- TCP --- */

TEST(tcp_same_segmentation)
{
	struct frame_spec s1 = data(ISN, 100), s2 = data(ISN + 100, 100);

	start();
	in(1, &s1);
	in(2, &s2);
	in(101, &s1);
	CHECK_LOG("F101 R1");
	in(102, &s2);
	CHECK_LOG("F102 R2");
	CHECK_EQ(st()->compared, 2);
	CHECK_EQ(st()->pool_in_use, 0);
}

TEST(tcp_two_1000_vs_one_2000)
{
	struct frame_spec p1 = data(ISN, 1000), p2 = data(ISN + 1000, 1000);
	struct frame_spec s = data(ISN, 2000);

	start();
	in(1, &p1);
	in(2, &p2);
	in(101, &s);
	CHECK_LOG("R1 F101 R2");
	CHECK_EQ(st()->compared, 2);
	CHECK_EQ(st()->queued[COLO_SECONDARY], 0);
}

TEST(tcp_one_2000_vs_two_1000)
{
	struct frame_spec p = data(ISN, 2000);
	struct frame_spec s1 = data(ISN, 1000), s2 = data(ISN + 1000, 1000);

	start();
	in(1, &p);
	in(101, &s1);
	/* a compared secondary segment is freed at once */
	CHECK_LOG("F101");
	in(102, &s2);
	CHECK_LOG("F102 R1");
	CHECK_EQ(st()->compared, 1);
}

TEST(tcp_three_1000_vs_two_1500)
{
	struct frame_spec p1 = data(ISN, 1000), p2 = data(ISN + 1000, 1000),
			  p3 = data(ISN + 2000, 1000);
	struct frame_spec s1 = data(ISN, 1500), s2 = data(ISN + 1500, 1500);

	start();
	in(101, &s1);
	in(1, &p1);
	CHECK_LOG("R1");
	in(2, &p2);
	CHECK_LOG("F101");
	in(102, &s2);
	CHECK_LOG("R2");
	in(3, &p3);
	CHECK_LOG("F102 R3");
	CHECK_EQ(st()->compared, 3);
	CHECK_EQ(st()->pool_in_use, 0);
}

TEST(tcp_out_of_order_primary)
{
	struct frame_spec p1 = data(ISN, 500), p2 = data(ISN + 500, 500);
	struct frame_spec s = data(ISN, 1000);

	start();
	in(2, &p2);
	in(1, &p1);
	in(101, &s);
	CHECK_LOG("R1 F101 R2");
}

TEST(tcp_payload_mismatch_position)
{
	struct frame_spec p = data(ISN, 1000), s = data(ISN, 1000);
	static uint8_t other[1000];

	start();
	memcpy(other, stream, sizeof(other));
	other[700] ^= 0xff;
	s.payload = other;
	in(1, &p);
	in(101, &s);
	CHECK_LOG("C:mismatch");
	CHECK_EQ(rec.mm.offset, 700);
	CHECK_EQ(rec.mm.seq, ISN + 700);
	CHECK_EQ(st()->mismatches, 1);
	colo_engine_checkpoint_done(eng);
	CHECK_LOG("R1 F101");
}

TEST(tcp_headers_not_compared)
{
	struct frame_spec p = data(ISN, 100), s = data(ISN, 100);

	start();
	s.ip_id = 77;
	s.ttl = 5;
	s.tcp_flags |= 0x08; /* PSH on one side only */
	in(1, &p);
	in(101, &s);
	CHECK_LOG("F101 R1");
}

TEST(tcp_ack_rule)
{
	struct frame_spec p = tcp(ISN, 100, 5000, COLO_TCP_ACK);
	struct frame_spec s = tcp(ISN, 100, 4000, COLO_TCP_ACK);
	struct frame_spec sack = tcp(ISN + 100, 0, 5000, COLO_TCP_ACK);

	start();
	in(1, &p);
	in(101, &s);
	/* data matched, but the secondary has not acknowledged 5000 yet */
	CHECK_LOG("F101");
	CHECK_EQ(st()->queued[COLO_PRIMARY], 1);
	in(102, &sack);
	CHECK_LOG("F102 R1");
}

TEST(tcp_ack_rule_keeps_queue_order)
{
	struct frame_spec p1 = tcp(ISN, 100, 5000, COLO_TCP_ACK);
	struct frame_spec p2 = tcp(ISN + 100, 100, 4000, COLO_TCP_ACK);
	struct frame_spec s = tcp(ISN, 200, 4500, COLO_TCP_ACK);
	struct frame_spec sack = tcp(ISN + 200, 0, 5000, COLO_TCP_ACK);

	start();
	in(1, &p1);
	in(2, &p2);
	in(101, &s);
	/* p2 is releasable alone but must not overtake p1 */
	CHECK_LOG("F101");
	in(102, &sack);
	CHECK_LOG("F102 R1 R2");
}

TEST(tcp_ack_wraps_mod_2_32)
{
	struct frame_spec p = tcp(0xfffffff0u, 32, 0x10, COLO_TCP_ACK);
	struct frame_spec s = tcp(0xfffffff0u, 32, 0xfffffff0u, COLO_TCP_ACK);
	struct frame_spec sack = tcp(0x10, 0, 0x10, COLO_TCP_ACK);

	start();
	in(1, &p);
	in(101, &s); /* bytes across the wrap of the sequence space */
	CHECK_LOG("F101");
	in(102, &sack);
	CHECK_LOG("F102 R1");
	CHECK_EQ(rec.mismatches, 0);
}

TEST(tcp_handshake_zero_payload)
{
	struct frame_spec syn = tcp(ISN - 1, 0, 0, COLO_TCP_SYN);
	struct frame_spec synack =
		tcp(ISN - 1, 0, 501, COLO_TCP_SYN | COLO_TCP_ACK);
	struct frame_spec ack = tcp(ISN, 0, 601, COLO_TCP_ACK);

	start();
	/* a guest connecting out: its SYN waits for the secondary's */
	in(1, &syn);
	CHECK_LOG("");
	in(101, &syn);
	CHECK_LOG("F101 R1");
	/* and a guest accepting: its SYN-ACK waits for the secondary's */
	synack.sport = 81;
	ack.sport = 81;
	in(2, &synack);
	CHECK_LOG("");
	in(102, &synack);
	CHECK_LOG("F102 R2");
	in(103, &ack);
	in(3, &ack);
	CHECK_LOG("F103 R3");
	CHECK_EQ(st()->pool_in_use, 0);
	CHECK_EQ(rec.mismatches, 0);
}

/* A SYN without ACK, from the same ports, with initial sequence number isn. */
static struct frame_spec syn(uint32_t isn)
{
	return tcp(isn, 0, 0, COLO_TCP_SYN);
}

TEST(tcp_syn_held_until_the_secondary_syn)
{
	/* the ISNs differ: each replica picks its own */
	struct frame_spec p = syn(ISN - 1), s = syn(5000);

	start();
	in(1, &p);
	CHECK_LOG("");
	CHECK_EQ(st()->queued[COLO_PRIMARY], 1);
	CHECK_EQ(st()->syn_held, 1);
	in(101, &s);
	CHECK_LOG("F101 R1");
	CHECK_EQ(st()->pool_in_use, 0);
	CHECK_EQ(rec.mismatches, 0);
}

TEST(tcp_syn_secondary_first)
{
	struct frame_spec p = syn(ISN - 1), s = syn(5000);

	start();
	in(101, &s);
	CHECK_LOG("F101");
	/* its retransmission is the same attempt, not a second one */
	in(102, &s);
	CHECK_LOG("F102");
	in(1, &p);
	CHECK_LOG("R1");
	CHECK_EQ(st()->syn_held, 0);
	/* the same ports again, a new ISN on each side: one SYN each */
	p = syn(ISN + 9000);
	in(2, &p);
	CHECK_LOG("");
	CHECK_EQ(st()->syn_held, 1);
	s = syn(8000);
	in(103, &s);
	CHECK_LOG("F103 R2");
}

TEST(tcp_syn_retransmitted)
{
	struct frame_spec p = syn(ISN - 1), s = syn(5000);

	start();
	in(1, &p);
	in(2, &p); /* retransmitted while held: held too, behind the first */
	CHECK_LOG("");
	CHECK_EQ(st()->syn_held, 2);
	in(101, &s);
	CHECK_LOG("F101 R1 R2");
	/* met once, the attempt's later copies leave at once */
	in(3, &p);
	CHECK_LOG("R3");
	in(102, &s);
	CHECK_LOG("F102");
	CHECK_EQ(st()->syn_held, 2);
	CHECK_EQ(st()->retransmissions, 0);
}

TEST(tcp_syn_port_reuse_waits_for_a_new_secondary_syn)
{
	struct frame_spec p = syn(ISN - 1), s = syn(5000);

	start();
	in(101, &s);
	in(1, &p);
	CHECK_LOG("F101 R1");
	/* refused, say: the primary opens the same ports again */
	p = syn(ISN + 70000);
	in(2, &p);
	CHECK_LOG("");
	/* the secondary's old attempt again does not meet the new one */
	in(102, &s);
	CHECK_LOG("F102");
	s = syn(90000);
	in(103, &s);
	CHECK_LOG("F103 R2");
	CHECK_EQ(st()->syn_held, 1);
}

TEST(tcp_syn_times_out_and_the_checkpoint_releases_it)
{
	struct frame_spec p = syn(ISN - 1);

	start();
	colo_engine_tick(eng, 0);
	in_at(1, &p, 10);
	colo_engine_tick(eng, 3000 * MS);
	CHECK_LOG("");
	colo_engine_tick(eng, 4000 * MS);
	CHECK_LOG("C:timeout");
	colo_engine_checkpoint_done(eng);
	CHECK_LOG("R1");
	/*
	 * The secondary is a copy now, its SYN not sent yet: the primary's
	 * next copy of the same SYN waits for the secondary's again.
	 */
	in_at(2, &p, 4100);
	CHECK_LOG("");
	in_at(101, &p, 4200);
	CHECK_LOG("F101 R2");
	CHECK_EQ(st()->syn_held, 2);
}

TEST(tcp_simultaneous_open)
{
	struct frame_spec p = syn(ISN - 1), s = syn(5000);
	/* both ends sent a SYN: each replica answers the peer's with SYN-ACK */
	struct frame_spec psa =
		tcp(ISN - 1, 0, 601, COLO_TCP_SYN | COLO_TCP_ACK);
	struct frame_spec ssa = tcp(5000, 0, 601, COLO_TCP_SYN | COLO_TCP_ACK);

	start();
	in(1, &p);
	in(2, &psa);
	/* the SYN-ACK keeps its place behind the held SYN */
	CHECK_LOG("");
	in(101, &s);
	CHECK_LOG("F101 R1");
	in(102, &ssa);
	CHECK_LOG("F102 R2");
	CHECK_EQ(st()->syn_held, 1);
	CHECK_EQ(st()->pool_in_use, 0);
}

TEST(tcp_pure_ack_waits_for_data_before_it)
{
	struct frame_spec d = data(ISN, 100);
	struct frame_spec ack = tcp(ISN + 100, 0, 7000, COLO_TCP_ACK);
	struct frame_spec ack2 = tcp(ISN + 100, 0, 7100, COLO_TCP_ACK);

	start();
	in(1, &d);
	in(2, &ack2);
	in(101, &ack);
	/* the ACK is from the secondary, but its data is not compared yet */
	CHECK_LOG("F101");
	in(102, &d);
	CHECK_LOG("F102 R1");
	in(103, &ack2);
	CHECK_LOG("F103 R2");
}

TEST(tcp_retransmission_below_cursor)
{
	struct frame_spec d = data(ISN, 100), rd = data(ISN, 100);
	static uint8_t junk[100];

	start();
	in(1, &d);
	in(101, &d);
	CHECK_LOG("F101 R1");
	/* retransmitted by both: released / freed, never compared */
	in(2, &d);
	CHECK_LOG("R2");
	rd.payload = junk;
	in(102, &rd);
	CHECK_LOG("F102");
	CHECK_EQ(st()->retransmissions, 2);
	CHECK_EQ(st()->mismatches, 0);
	CHECK_EQ(st()->compared, 1);
}

TEST(tcp_retransmission_before_compare)
{
	struct frame_spec d = data(ISN, 100);

	start();
	in(1, &d);
	in(2, &d); /* retransmitted before the secondary caught up */
	in(101, &d);
	CHECK_LOG("F101 R1 R2");
	in(102, &d);
	CHECK_LOG("F102");
	CHECK_EQ(st()->pool_in_use, 0);
}

TEST(tcp_fin_matches_fin_and_expires)
{
	struct frame_spec d = data(ISN, 10);
	struct frame_spec fin =
		tcp(ISN + 10, 0, 7000, COLO_TCP_FIN | COLO_TCP_ACK);

	start();
	in(1, &d);
	in(101, &d);
	in(2, &fin);
	in(102, &fin);
	CHECK_LOG("F101 R1 F102 R2");
	CHECK_EQ(st()->compared, 2);
	CHECK_EQ(st()->conns_expired_closed, 1);
	CHECK_EQ(st()->conns_active, 0);
}

TEST(tcp_data_with_fin)
{
	struct frame_spec p = tcp(ISN, 50, 7000, COLO_TCP_FIN | COLO_TCP_ACK);
	struct frame_spec s1 = data(ISN, 50);
	struct frame_spec s2 =
		tcp(ISN + 50, 0, 7000, COLO_TCP_FIN | COLO_TCP_ACK);

	start();
	in(1, &p);
	in(101, &s1);
	CHECK_LOG("F101");
	in(102, &s2);
	CHECK_LOG("F102 R1");
	CHECK_EQ(rec.mismatches, 0);
}

TEST(tcp_fin_vs_rst_mismatch)
{
	struct frame_spec fin = tcp(ISN, 0, 7000, COLO_TCP_FIN | COLO_TCP_ACK);
	struct frame_spec rst = tcp(ISN, 0, 7000, COLO_TCP_RST | COLO_TCP_ACK);

	start();
	in(1, &fin);
	in(101, &rst);
	CHECK_LOG("C:mismatch");
	CHECK_EQ(rec.mm.seq, ISN);
	colo_engine_checkpoint_done(eng);
	CHECK_LOG("R1 F101");
	/* RST seen: the emptied connection expires */
	CHECK_EQ(st()->conns_active, 0);
	CHECK_EQ(st()->conns_expired_closed, 1);
}

TEST(tcp_rst_matches_rst)
{
	struct frame_spec rst = tcp(ISN, 0, 0, COLO_TCP_RST);

	start();
	in(1, &rst);
	in(101, &rst);
	CHECK_LOG("F101 R1");
	CHECK_EQ(st()->conns_expired_closed, 1);
}

TEST(tcp_data_vs_fin_mismatch)
{
	struct frame_spec d = data(ISN, 10);
	struct frame_spec fin = tcp(ISN, 0, 7000, COLO_TCP_FIN | COLO_TCP_ACK);

	start();
	in(1, &d);
	in(101, &fin);
	CHECK_LOG("C:mismatch");
	CHECK_EQ(rec.mm.offset, 0);
}

TEST(tcp_ipv6_vlan)
{
	struct frame_spec p1 = data(ISN, 700), p2 = data(ISN + 700, 700);
	struct frame_spec s = data(ISN, 1400);

	start();
	p1.l3 = p2.l3 = s.l3 = FRAME_IPV6;
	p1.vlan = p2.vlan = s.vlan = FRAME_VLAN | 42;
	in(1, &p1);
	in(2, &p2);
	in(101, &s);
	CHECK_LOG("R1 F101 R2");
	CHECK_EQ(st()->conns_created, 1);
}

TEST(tcp_missing_secondary_segment_times_out)
{
	struct frame_spec p1 = data(ISN, 100), p2 = data(ISN + 100, 100);

	start();
	colo_engine_tick(eng, 0);
	in_at(1, &p1, 10);
	in_at(2, &p2, 10);
	in_at(102, &p2, 20); /* the secondary lost [ISN, ISN + 100) */
	CHECK_LOG("");
	colo_engine_tick(eng, 3000 * MS);
	CHECK_LOG("");
	colo_engine_tick(eng, 4000 * MS);
	CHECK_LOG("C:timeout");
	colo_engine_checkpoint_done(eng);
	CHECK_LOG("R1 R2 F102");
}

/* --- time, requests, flush, failover --- */

TEST(timeout_missing_secondary_and_repeats)
{
	struct frame_spec a = udp("lonely");

	start();
	colo_engine_tick(eng, 0);
	in_at(1, &a, 500);
	colo_engine_tick(eng, 1000 * MS);
	colo_engine_tick(eng, 2000 * MS);
	colo_engine_tick(eng, 3000 * MS);
	CHECK_LOG("");
	/* not a scan cycle yet */
	colo_engine_tick(eng, 3900 * MS);
	CHECK_LOG("");
	colo_engine_tick(eng, 4000 * MS);
	CHECK_LOG("C:timeout");
	/* repeated every scan cycle while unanswered */
	colo_engine_tick(eng, 4500 * MS);
	CHECK_LOG("");
	colo_engine_tick(eng, 5000 * MS);
	CHECK_LOG("C:timeout");
	CHECK_EQ(st()->ckpt_requests[COLO_CKPT_TIMEOUT], 1);
	CHECK_EQ(st()->ckpt_repeats, 1);
	colo_engine_checkpoint_done(eng);
	CHECK_LOG("R1");
	colo_engine_tick(eng, 6000 * MS);
	colo_engine_tick(eng, 7000 * MS);
	CHECK_LOG("");
}

TEST(timeout_extra_secondary)
{
	struct frame_spec a = udp("extra");

	start();
	colo_engine_tick(eng, 0);
	in_at(101, &a, 0);
	colo_engine_tick(eng, 4000 * MS);
	CHECK_LOG("C:timeout");
	colo_engine_checkpoint_done(eng);
	CHECK_LOG("F101");
	CHECK_EQ(st()->queued[COLO_SECONDARY], 0);
}

TEST(no_timeout_when_all_matched)
{
	struct frame_spec a = udp("fine");
	int i;

	start();
	colo_engine_tick(eng, 0);
	for (i = 0; i < 10; i++) {
		in_at(1, &a, i * 1000);
		in_at(101, &a, i * 1000 + 1);
		colo_engine_tick(eng, (uint64_t)(i + 1) * 1000 * MS);
	}
	CHECK_EQ(rec.requests, 0);
	CHECK_EQ(st()->compared, 10);
}

TEST(requests_coalesced)
{
	struct frame_spec a = udp("a"), b = udp("b");

	start();
	in(1, &a);
	in(101, &b);
	a.sport = b.sport = 6000;
	in(2, &a);
	in(102, &b);
	CHECK_LOG("C:mismatch");
	CHECK_EQ(st()->mismatches, 2);
	CHECK_EQ(st()->ckpt_requests[COLO_CKPT_MISMATCH], 1);
	CHECK_EQ(st()->ckpt_coalesced, 1);
	colo_engine_checkpoint_done(eng);
	CHECK_LOG("R1 R2 F101 F102");
	/* a new epoch: the next mismatch is a new request */
	in(3, &a);
	in(103, &b);
	CHECK_LOG("C:mismatch");
	CHECK_EQ(st()->ckpt_requests[COLO_CKPT_MISMATCH], 2);
}

TEST(flush_order_per_connection)
{
	struct frame_spec a = udp("a"), b = udp("b"), c = udp("c");
	struct frame_spec t1 = data(ISN, 10), t2 = data(ISN + 10, 10);

	start();
	b.sport = 7000;
	c.sport = 9000;
	in(1, &a);
	in(2, &b);
	in(3, &t2); /* TCP out of order: flushed in sequence order */
	in(4, &a);
	in(5, &t1);
	in(6, &b);
	in(101, &a);
	CHECK_LOG("R1 F101");
	in(102, &a);
	in(103, &c);
	CHECK_LOG("R4 F102");
	colo_engine_checkpoint_done(eng);
	/* connections by their oldest primary: b, tcp; each in its order */
	CHECK_LOG("R2 R6 R5 R3 F103");
	CHECK_EQ(st()->released_flush, 4);
	CHECK_EQ(st()->pool_in_use, 0);
}

TEST(flush_resets_tcp_cursor)
{
	struct frame_spec d1 = data(ISN, 10), d2 = data(ISN + 10, 10);
	struct frame_spec d3 = data(ISN + 20, 10);

	start();
	in(1, &d1);
	in(101, &d1);
	in(2, &d2);
	CHECK_LOG("F101 R1");
	colo_engine_checkpoint_done(eng);
	CHECK_LOG("R2");
	/* the secondary now resumes from the primary's state */
	in(3, &d3);
	in(103, &d3);
	CHECK_LOG("F103 R3");
	CHECK_EQ(st()->retransmissions, 0);
}

TEST(failover_flushes_then_passes)
{
	struct frame_spec a = udp("a");

	start();
	in(1, &a);
	in(2, &a);
	in(101, &a);
	CHECK_LOG("R1 F101");
	colo_engine_failover(eng);
	CHECK_LOG("R2");
	CHECK(colo_engine_in_failover(eng));
	in(3, &a);
	in(103, &a);
	in(4, &a);
	CHECK_LOG("R3 F103 R4");
	CHECK_EQ(st()->failover_passed, 2);
	CHECK_EQ(st()->released_flush, 1);
	CHECK_EQ(st()->queued[COLO_PRIMARY], 0);
	colo_engine_resume(eng);
	CHECK(!colo_engine_in_failover(eng));
	in(5, &a);
	CHECK_LOG("");
	in(105, &a);
	CHECK_LOG("R5 F105");
}

TEST(idle_connection_expires)
{
	struct frame_spec a = udp("a");
	struct colo_engine_config cfg;

	colo_engine_config_default(&cfg);
	cfg.idle_timeout_ms = 5000;
	start_cfg(&cfg);
	colo_engine_tick(eng, 0);
	in_at(1, &a, 100);
	in_at(101, &a, 100);
	CHECK_EQ(st()->conns_active, 1);
	colo_engine_tick(eng, 5000 * MS);
	CHECK_EQ(st()->conns_active, 1);
	colo_engine_tick(eng, 6000 * MS);
	CHECK_EQ(st()->conns_active, 0);
	CHECK_EQ(st()->conns_expired_idle, 1);
	/* a connection with frames queued never expires */
	in_at(2, &a, 6000);
	colo_engine_tick(eng, 20000 * MS);
	CHECK_EQ(st()->conns_active, 1);
	CHECK_EQ(st()->conns_expired_idle, 1);
}

TEST(queue_full_requests_checkpoint_either_side)
{
	struct frame_spec a = udp("a");
	struct colo_engine_config cfg;

	colo_engine_config_default(&cfg);
	cfg.max_queue_size = 2;
	start_cfg(&cfg);
	in(1, &a);
	in(2, &a);
	CHECK_LOG("");
	/* past the limit: a checkpoint is asked for, the frame still taken */
	in(3, &a);
	CHECK_LOG("C:queue-full");
	in(4, &a);
	CHECK_LOG("");
	CHECK_EQ(st()->frames_in[COLO_PRIMARY], 4);
	CHECK_EQ(st()->refused[COLO_FULL_QUEUE], 0);
	in(101, &a);
	in(102, &a);
	in(103, &a);
	in(104, &a);
	CHECK_LOG("R1 F101 R2 F102 R3 F103 R4 F104");
	/* the secondary ahead: its own queue asks the same way */
	in(105, &a);
	in(106, &a);
	in(107, &a);
	CHECK_LOG("");
	CHECK_EQ(st()->ckpt_requests[COLO_CKPT_QUEUE_FULL], 1);
	CHECK_EQ(st()->ckpt_coalesced, 2);
	/* a checkpoint empties the queues as well */
	colo_engine_checkpoint_done(eng);
	CHECK_LOG("F105 F106 F107");
	in(5, &a);
	in(108, &a);
	CHECK_LOG("R5 F108");
	CHECK_EQ(st()->pool_in_use, 0);
	CHECK_EQ(st()->released, 5);
	CHECK_EQ(st()->frames_in[COLO_SECONDARY], 8);
}

/* The 16-bit queue length is the one queue limit that refuses a frame. */
TEST(queue_at_hard_limit_refuses)
{
	struct frame_spec a = udp("h");
	struct colo_engine_config cfg;
	int len = frame_build(&a, bufs[0], BUFSZ);
	uint32_t i;

	colo_engine_config_default(&cfg);
	cfg.max_frames = 2 * COLO_ENGINE_MAX_QUEUE_SIZE;
	start_cfg(&cfg);
	/* one buffer for all: the engine compares, it never copies */
	for (i = 0; i < COLO_ENGINE_MAX_QUEUE_SIZE; i++)
		if (colo_engine_input(eng, COLO_PRIMARY, i, bufs[0], len, 0))
			break;
	CHECK_EQ(i, COLO_ENGINE_MAX_QUEUE_SIZE);
	CHECK_EQ(colo_engine_input(eng, COLO_PRIMARY, i, bufs[0], len, 0),
		 -EAGAIN);
	CHECK_EQ(st()->refused[COLO_FULL_QUEUE], 1);
	CHECK_EQ(st()->queued[COLO_PRIMARY], COLO_ENGINE_MAX_QUEUE_SIZE);
	CHECK_EQ(st()->ckpt_requests[COLO_CKPT_QUEUE_FULL], 1);
	colo_engine_checkpoint_done(eng);
	CHECK_EQ(st()->released, COLO_ENGINE_MAX_QUEUE_SIZE);
}

TEST(table_full_refuses)
{
	struct frame_spec f[3];
	struct colo_engine_config cfg;
	int i;

	colo_engine_config_default(&cfg);
	cfg.max_connections = 2;
	start_cfg(&cfg);
	for (i = 0; i < 3; i++) {
		f[i] = udp("t");
		f[i].sport = 100 + i;
	}
	in(1, &f[0]);
	in(2, &f[1]);
	in(3, &f[2]);
	CHECK_LOG("C:table-full X3");
	in(103, &f[2]);
	CHECK_LOG("X103");
	CHECK_EQ(st()->refused[COLO_FULL_TABLE], 2);
	/* A empties: its slot is reclaimed for C */
	in(101, &f[0]);
	CHECK_LOG("R1 F101");
	in(3, &f[2]);
	in(103, &f[2]);
	CHECK_LOG("R3 F103");
	CHECK_EQ(st()->conns_expired_idle, 1);
	in(102, &f[1]);
	CHECK_LOG("R2 F102");
	CHECK_EQ(st()->ckpt_requests[COLO_CKPT_TABLE_FULL], 1);
}

TEST(tcp_queue_full)
{
	struct frame_spec d[4];
	struct colo_engine_config cfg;
	int i;

	colo_engine_config_default(&cfg);
	cfg.max_queue_size = 2;
	start_cfg(&cfg);
	for (i = 0; i < 4; i++)
		d[i] = data(ISN + i * 10, 10);
	in(1, &d[0]);
	in(2, &d[1]);
	in(3, &d[2]);
	CHECK_LOG("C:queue-full");
	/* the stream queue past its limit still compares in order */
	in(4, &d[3]);
	in(101, &d[0]);
	in(102, &d[1]);
	in(103, &d[2]);
	in(104, &d[3]);
	CHECK_LOG("F101 R1 F102 R2 F103 R3 F104 R4");
	CHECK_EQ(st()->released_flush, 0);
	CHECK_EQ(st()->refused[COLO_FULL_QUEUE], 0);
}

TEST(pool_share_refuses)
{
	struct frame_spec f[9];
	struct colo_engine_config cfg;
	int i;

	colo_engine_config_default(&cfg);
	cfg.max_frames = 8;
	start_cfg(&cfg);
	for (i = 0; i < 9; i++) {
		f[i] = udp("p");
		f[i].sport = 100 + i;
	}
	/* one side may fill 7 of 8: the last is the other side's */
	CHECK_EQ(colo_engine_room(eng, COLO_PRIMARY), 7);
	for (i = 1; i <= 7; i++)
		in(i, &f[i]);
	CHECK_LOG("");
	CHECK_EQ(colo_engine_room(eng, COLO_PRIMARY), 0);
	CHECK_EQ(colo_engine_room(eng, COLO_SECONDARY), 1);
	in(8, &f[8]);
	CHECK_LOG("C:no-buffers X8");
	/* the reserved frame lets the secondary match, which frees two */
	in(101, &f[1]);
	CHECK_LOG("R1 F101");
	CHECK_EQ(colo_engine_room(eng, COLO_PRIMARY), 1);
	in(8, &f[8]);
	CHECK_LOG("");
	CHECK_EQ(st()->refused[COLO_FULL_POOL], 1);
	CHECK_EQ(st()->ckpt_requests[COLO_CKPT_NO_BUFFERS], 1);
	colo_engine_checkpoint_done(eng);
	CHECK_LOG("R2 R3 R4 R5 R6 R7 R8");
	CHECK_EQ(st()->pool_in_use, 0);
}

/* A passthrough match for the tests: the flows to this port. */
static bool to_port(const void *arg, const struct colo_flow_key *k)
{
	return k->dport == *(const uint16_t *)arg;
}

TEST(passthrough_releases_queued_frames_in_order)
{
	struct frame_spec a = udp("a"), x = udp("x"), b = udp("b");
	struct frame_spec t1 = data(ISN, 10), t2 = data(ISN + 10, 10);
	uint16_t port = 53;

	start();
	b.dport = 54;
	in(1, &a);
	in(2, &b);
	in(3, &a);
	in(4, &t2); /* out of order: released in sequence order */
	in(5, &t1);
	in(101, &x); /* the flow to port 53 differs */
	CHECK_LOG("C:mismatch");
	/* its held frames leave in order, its secondary is freed */
	colo_engine_passthrough(eng, to_port, &port);
	CHECK_LOG("R1 R3 F101");
	CHECK_EQ(st()->passthrough_released, 2);
	CHECK_EQ(st()->passthrough_freed, 1);
	CHECK_EQ(st()->queued[COLO_PRIMARY], 3);
	/* frames of the flow still on their way: answered as they come */
	in(6, &x);
	in(106, &a);
	CHECK_LOG("R6 F106");
	/* the others are still compared */
	in(102, &b);
	CHECK_LOG("R2 F102");
	CHECK_EQ(st()->passthrough_released, 3);
	CHECK_EQ(st()->passthrough_freed, 2);
	CHECK_EQ(st()->released, 4);
	CHECK_EQ(st()->mismatches, 1);
	/* a TCP flow: the whole queue, by sequence, once */
	port = 40000;
	colo_engine_passthrough(eng, to_port, &port);
	CHECK_LOG("R5 R4");
	CHECK_EQ(st()->pool_in_use, 0);
	CHECK_EQ(st()->conns_active, 1);
	/* none: the flow is compared again */
	colo_engine_passthrough(eng, NULL, NULL);
	in(7, &a);
	in(107, &a);
	CHECK_LOG("R7 F107");
}

TEST(passthrough_in_connection_order)
{
	struct frame_spec a = udp("a"), b = udp("b"), c = udp("c");
	struct frame_spec d = udp("d");
	uint16_t port = 53;

	start();
	b.sport = 6000;
	c.dport = 99;
	d.sport = 7000;
	in(1, &a);
	in(2, &b);
	in(3, &c);
	in(4, &b);
	in(5, &a);
	in(101, &d); /* a connection with secondaries only */
	CHECK_LOG("");
	/* by each connection's oldest frame: a, b, then d */
	colo_engine_passthrough(eng, to_port, &port);
	CHECK_LOG("R1 R5 R2 R4 F101");
	CHECK_EQ(st()->queued[COLO_PRIMARY], 1);
	CHECK_EQ(st()->queued[COLO_SECONDARY], 0);
	CHECK_EQ(st()->conns_active, 1);
}

TEST(passthrough_forgets_the_connection)
{
	struct frame_spec d1 = data(ISN, 10), far = data(ISN + 20000, 10);
	uint16_t port = 40000;

	start();
	in(1, &d1);
	in(101, &d1);
	CHECK_LOG("F101 R1");
	CHECK_EQ(st()->conns_active, 1);
	/* empty, its cursor at ISN + 10: gone with the rule */
	colo_engine_passthrough(eng, to_port, &port);
	CHECK_LOG("");
	CHECK_EQ(st()->conns_active, 0);
	colo_engine_passthrough(eng, NULL, NULL);
	/* compared again from where both sides are, not from the old cursor */
	in(2, &far);
	in(102, &far);
	CHECK_LOG("F102 R2");
	CHECK_EQ(st()->compared, 2);
}

TEST(passthrough_frames_need_no_room)
{
	struct frame_spec f[9], a = udp("a");
	struct colo_engine_config cfg;
	uint16_t port = 53;
	int i;

	colo_engine_config_default(&cfg);
	cfg.max_frames = 8;
	start_cfg(&cfg);
	for (i = 1; i <= 8; i++) {
		f[i] = udp("p");
		f[i].dport = 100 + i;
	}
	for (i = 1; i <= 8; i++)
		in(i, &f[i]);
	CHECK_LOG("C:no-buffers X8");
	colo_engine_passthrough(eng, to_port, &port);
	in(9, &a);
	in(109, &a);
	CHECK_LOG("R9 F109");
	CHECK_EQ(st()->refused[COLO_FULL_POOL], 1);
}

TEST(config_rejected)
{
	struct colo_engine_config cfg;
	struct colo_engine *e = (void *)1;

	colo_engine_config_default(&cfg);
	cfg.max_queue_size = 0;
	CHECK_EQ(colo_engine_create(&cfg, &ops, NULL, &e), -EINVAL);
	CHECK(!e);
	colo_engine_config_default(&cfg);
	cfg.max_queue_size = 70000;
	CHECK_EQ(colo_engine_create(&cfg, &ops, NULL, &e), -EINVAL);
	colo_engine_config_default(&cfg);
	cfg.max_connections = 0;
	CHECK_EQ(colo_engine_create(&cfg, &ops, NULL, &e), -EINVAL);
	CHECK(colo_engine_memory(&cfg) > 0);
	CHECK(!strcmp(colo_ckpt_reason_name(COLO_CKPT_TABLE_FULL),
		      "table-full"));
	CHECK(!strcmp(colo_full_name(COLO_FULL_POOL), "no-buffers"));
}

__attribute__((destructor)) static void cleanup(void)
{
	colo_engine_destroy(eng);
}
