// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * colo-capgen: write the primary's and the secondary's captures of a named
 * scenario, for `colo-xdp replay` tests and its demo. Each scenario builds
 * the frames each side sent; the order decides their timestamps:
 * alternate (P0, S0, P1, S1, ...) or primary-first (every primary frame
 * before every secondary one), 1 ms apart, so both are replayed well within
 * the default compare timeout unless the scenario delays a side on purpose.
 * Each scenario's `answer` says what replay must answer (without flags
 * unless it names them); selftests/replay.sh checks exactly that.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cli_opts.h"
#include "colo_parse.h"
#include "engine.h"
#include "frames.h"
#include "log.h"
#include "pcap_io.h"

#define CMD "colo-capgen"

#define GEN_FRAME_MAX 9100 /* a 9000-byte MTU's frames */
#define GEN_BASE_NS (1700000000ull * 1000000000ull)
#define GEN_STEP_NS 1000000ull /* 1 ms between frames */
#define GEN_ISN 1000000u
#define GEN_CLIENT_ACK 5000u
#define TCP_WINDOW_OFF 14

struct gen_frame {
	uint32_t len;
	uint8_t data[GEN_FRAME_MAX];
};

struct gen {
	struct gen_frame *frames[2]; /* by enum colo_side */
	uint32_t count[2], size[2];
	uint32_t late_ms; /* every secondary frame comes this much later */
	int err;
};

/* One byte stream per TCP direction: same bytes whatever the segmentation. */
static uint8_t stream[4096];

static struct gen_frame *gen_add(struct gen *g, enum colo_side side,
				 const struct frame_spec *spec)
{
	struct gen_frame *f;
	int len;

	if (g->err)
		return NULL;
	if (g->count[side] == g->size[side]) {
		uint32_t n = g->size[side] ? g->size[side] * 2 : 64;

		f = reallocarray(g->frames[side], n, sizeof(*f));
		if (!f) {
			g->err = -ENOMEM;
			return NULL;
		}
		g->frames[side] = f;
		g->size[side] = n;
	}
	f = &g->frames[side][g->count[side]];
	len = frame_build(spec, f->data, sizeof(f->data));
	if (len < 0) {
		g->err = len;
		return NULL;
	}
	f->len = len;
	g->count[side]++;
	return f;
}

static void both(struct gen *g, const struct frame_spec *spec)
{
	gen_add(g, COLO_PRIMARY, spec);
	gen_add(g, COLO_SECONDARY, spec);
}

/* A UDP datagram of flow `port` whose payload is `text`. */
static struct frame_spec udp(uint16_t port, const char *text)
{
	return (struct frame_spec){
		.proto = IPPROTO_UDP,
		.sport = port,
		.dport = 40000,
		.payload = text,
		.payload_len = strlen(text),
	};
}

/*
 * A TCP segment of the guest's stream on port 80: `len` bytes from stream
 * offset `off` (after the SYN), acknowledging `ack` bytes of the client's.
 */
static struct frame_spec tcp(uint32_t off, uint32_t len, uint8_t flags,
			     uint32_t ack)
{
	return (struct frame_spec){
		.proto = IPPROTO_TCP,
		.sport = 80,
		.dport = 40000,
		.seq = GEN_ISN + 1 + off,
		.ack = GEN_CLIENT_ACK + ack,
		.tcp_flags = flags,
		.payload = stream + off,
		.payload_len = len,
	};
}

#define TCP_ACK_PSH (COLO_TCP_ACK | 0x08)

static void sc_udp(struct gen *g)
{
	struct frame_spec s = udp(53, "query answer one");

	both(g, &s);
	s = udp(53, "query answer two");
	both(g, &s);
	s = udp(53, "query answer three");
	both(g, &s);
}

static void sc_icmp(struct gen *g)
{
	struct frame_spec s = {
		.proto = IPPROTO_ICMP,
		.sport = 77,
		.payload = "ping payload",
		.payload_len = 12,
	};

	for (s.dport = 1; s.dport <= 2; s.dport++)
		both(g, &s);
}

static void sc_icmp6(struct gen *g)
{
	struct frame_spec s = {
		.l3 = FRAME_IPV6,
		.proto = IPPROTO_ICMPV6,
		.icmp_type = 129, /* echo reply */
		.sport = 77,
		.payload = "ping6 payload",
		.payload_len = 13,
	};

	for (s.dport = 1; s.dport <= 2; s.dport++)
		both(g, &s);
}

static void sc_ip_proto(struct gen *g)
{
	struct frame_spec s = {
		.proto = 47, /* GRE */
		.payload = "\x00\x00\x08\x00 tunnelled bytes",
		.payload_len = 20,
	};
	int i;

	for (i = 0; i < 2; i++) {
		s.ip_id = 100 + i;
		s.ttl = 64;
		gen_add(g, COLO_PRIMARY, &s);
		s.ip_id =
			900 + i; /* a random ID and another TTL: not compared */
		s.ttl = 63;
		gen_add(g, COLO_SECONDARY, &s);
	}
}

/* SYN-ACK, three segments, FIN: the same on both sides. */
static void sc_tcp(struct gen *g)
{
	struct frame_spec s = tcp(0, 0, COLO_TCP_SYN | COLO_TCP_ACK, 0);

	s.seq = GEN_ISN;
	both(g, &s);
	s = tcp(0, 300, TCP_ACK_PSH, 10);
	both(g, &s);
	s = tcp(300, 300, TCP_ACK_PSH, 10);
	both(g, &s);
	s = tcp(600, 300, TCP_ACK_PSH, 20);
	both(g, &s);
	s = tcp(900, 0, COLO_TCP_FIN | COLO_TCP_ACK, 20);
	both(g, &s);
}

/* Each side sends `total` bytes in segments of its own size. */
static void tcp_segmented(struct gen *g, uint32_t total, uint32_t pseg,
			  uint32_t sseg)
{
	struct frame_spec s;
	uint32_t off;

	for (off = 0; off < total; off += pseg) {
		s = tcp(off, pseg, TCP_ACK_PSH, 10);
		gen_add(g, COLO_PRIMARY, &s);
	}
	for (off = 0; off < total; off += sseg) {
		s = tcp(off, sseg, TCP_ACK_PSH, 10);
		gen_add(g, COLO_SECONDARY, &s);
	}
}

static void sc_tcp_2x1000_1x2000(struct gen *g)
{
	tcp_segmented(g, 2000, 1000, 2000);
}

static void sc_tcp_1x2000_2x1000(struct gen *g)
{
	tcp_segmented(g, 2000, 2000, 1000);
}

static void sc_tcp_3x1000_2x1500(struct gen *g)
{
	tcp_segmented(g, 3000, 1000, 1500);
}

/* The secondary acknowledges less with its data, then the rest alone. */
static void sc_tcp_ack(struct gen *g)
{
	struct frame_spec s = tcp(0, 100, TCP_ACK_PSH, 100);

	gen_add(g, COLO_PRIMARY, &s);
	s = tcp(0, 100, TCP_ACK_PSH, 0);
	gen_add(g, COLO_SECONDARY, &s);
	s = tcp(100, 0, COLO_TCP_ACK, 100);
	gen_add(g, COLO_SECONDARY, &s);
}

/* The secondary never acknowledges what the primary does. */
static void sc_tcp_ack_missing(struct gen *g)
{
	struct frame_spec s = tcp(0, 100, TCP_ACK_PSH, 100);

	gen_add(g, COLO_PRIMARY, &s);
	s = tcp(0, 100, TCP_ACK_PSH, 0);
	gen_add(g, COLO_SECONDARY, &s);
}

/* Primary resends its second segment, the secondary its first. */
static void sc_tcp_retrans(struct gen *g)
{
	struct frame_spec a = tcp(0, 100, TCP_ACK_PSH, 0);
	struct frame_spec b = tcp(100, 100, TCP_ACK_PSH, 0);

	gen_add(g, COLO_PRIMARY, &a);
	gen_add(g, COLO_PRIMARY, &b);
	gen_add(g, COLO_PRIMARY, &b);
	gen_add(g, COLO_SECONDARY, &a);
	gen_add(g, COLO_SECONDARY, &a);
	gen_add(g, COLO_SECONDARY, &b);
}

/* SYN-ACK, pure ACK, window update: nothing to compare but the ACK rule. */
static void sc_tcp_zero_payload(struct gen *g)
{
	struct frame_spec s = tcp(0, 0, COLO_TCP_SYN | COLO_TCP_ACK, 0);
	struct gen_frame *f;

	s.seq = GEN_ISN;
	both(g, &s);
	s = tcp(0, 0, COLO_TCP_ACK, 50);
	both(g, &s);
	gen_add(g, COLO_PRIMARY, &s);
	f = gen_add(g, COLO_SECONDARY, &s);
	/* a window of its own: TCP headers are not compared */
	if (f)
		f->data[COLO_ETH_HLEN + 20 + TCP_WINDOW_OFF] = 0x20;
}

/*
 * The guest opens: each replica's SYN with its own ISN, then the first
 * data in the primary's sequence space (the rewriter mapped the
 * secondary's). The primary's SYN waits for the secondary's.
 */
static void sc_tcp_syn(struct gen *g)
{
	struct frame_spec s = tcp(0, 0, COLO_TCP_SYN, 0);

	s.seq = GEN_ISN;
	gen_add(g, COLO_PRIMARY, &s);
	s.seq = GEN_ISN + 777777;
	gen_add(g, COLO_SECONDARY, &s);
	s = tcp(0, 100, TCP_ACK_PSH, 1);
	both(g, &s);
}

/* The primary's SYN, and none from the secondary. */
static void sc_tcp_syn_missing(struct gen *g)
{
	struct frame_spec s = tcp(0, 0, COLO_TCP_SYN, 0);

	s.seq = GEN_ISN;
	gen_add(g, COLO_PRIMARY, &s);
}

static void sc_tcp_fin_rst(struct gen *g)
{
	struct frame_spec s = tcp(0, 100, TCP_ACK_PSH, 0);

	both(g, &s);
	s = tcp(100, 0, COLO_TCP_FIN | COLO_TCP_ACK, 0);
	gen_add(g, COLO_PRIMARY, &s);
	s.tcp_flags = COLO_TCP_RST | COLO_TCP_ACK;
	gen_add(g, COLO_SECONDARY, &s);
}

/* Padding to the 60-byte minimum on one side only, each way round. */
static void sc_padding(struct gen *g)
{
	struct frame_spec s = udp(123, "tiny");

	s.pad = 60 - (COLO_ETH_HLEN + 20 + 8 + 4);
	gen_add(g, COLO_PRIMARY, &s);
	s.pad = 0;
	gen_add(g, COLO_SECONDARY, &s);
	s = udp(123, "tiny2");
	gen_add(g, COLO_PRIMARY, &s);
	s.pad = 60 - (COLO_ETH_HLEN + 20 + 8 + 5);
	gen_add(g, COLO_SECONDARY, &s);
}

static void sc_mismatch(struct gen *g)
{
	struct frame_spec s = udp(5000, "reading 0001");

	both(g, &s);
	s = udp(5000, "reading 0002");
	gen_add(g, COLO_PRIMARY, &s);
	s = udp(5000, "reading 0003");
	gen_add(g, COLO_SECONDARY, &s);
	s = udp(5000, "reading 0004");
	both(g, &s);
}

/*
 * A jumbo MTU's 9014-byte frames, as AF_XDP multi-buffer takes them in
 * several UMEM frames: the secondary's second differs only at payload
 * bytes 5000 and 5002, swapped (its checksum stays the same).
 */
static void sc_jumbo(struct gen *g)
{
	static uint8_t payload[9000 - 20 - 8];
	struct frame_spec s = udp(5000, "");
	struct gen_frame *f;
	uint8_t *p;
	size_t i;

	for (i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7 + (i >> 8));
	s.payload = payload;
	s.payload_len = sizeof(payload);
	both(g, &s);
	gen_add(g, COLO_PRIMARY, &s);
	f = gen_add(g, COLO_SECONDARY, &s);
	if (f) {
		p = f->data + COLO_ETH_HLEN + 20 + 8 + 5000;
		i = p[0];
		p[0] = p[2];
		p[2] = (uint8_t)i;
	}
	both(g, &s);
}

static void sc_missing(struct gen *g)
{
	struct frame_spec s = udp(5000, "one");

	both(g, &s);
	s = udp(5000, "two");
	both(g, &s);
	s = udp(5000, "three");
	gen_add(g, COLO_PRIMARY, &s);
}

static void sc_extra(struct gen *g)
{
	struct frame_spec s = udp(5000, "one");

	both(g, &s);
	s = udp(5000, "two");
	both(g, &s);
	s = udp(5000, "three");
	gen_add(g, COLO_SECONDARY, &s);
}

static void sc_timeout(struct gen *g)
{
	sc_udp(g);
	g->late_ms = 5000;
}

/* Two UDP flows interleaved and a TCP flow out of order; no secondary. */
static void sc_flush_order(struct gen *g)
{
	struct frame_spec s = udp(1000, "a0");

	gen_add(g, COLO_PRIMARY, &s);
	s = udp(2000, "b0");
	gen_add(g, COLO_PRIMARY, &s);
	s = udp(1000, "a1");
	gen_add(g, COLO_PRIMARY, &s);
	s = udp(2000, "b1");
	gen_add(g, COLO_PRIMARY, &s);
	s = tcp(100, 100, TCP_ACK_PSH, 0);
	gen_add(g, COLO_PRIMARY, &s);
	s = tcp(0, 100, TCP_ACK_PSH, 0);
	gen_add(g, COLO_PRIMARY, &s);
}

static void sc_failover(struct gen *g)
{
	static const char *const text[] = { "f0", "f1", "f2", "f3", "f4", "f5" };
	struct frame_spec s;
	int i;

	for (i = 0; i < 6; i++) {
		s = udp(5000, text[i]);
		gen_add(g, COLO_PRIMARY, &s);
		if (i < 2)
			gen_add(g, COLO_SECONDARY, &s);
	}
}

static void sc_queue_full(struct gen *g)
{
	static const char *const text[] = { "q0", "q1", "q2", "q3", "q4", "q5" };
	struct frame_spec s;
	int i;

	for (i = 0; i < 6; i++) {
		s = udp(5000, text[i]);
		gen_add(g, COLO_PRIMARY, &s);
	}
}

/* Three flows, none answered: empty connections would be reclaimed. */
static void sc_table_full(struct gen *g)
{
	struct frame_spec s = udp(1000, "flow a");

	gen_add(g, COLO_PRIMARY, &s);
	s = udp(2000, "flow b");
	gen_add(g, COLO_PRIMARY, &s);
	s = udp(3000, "flow c");
	gen_add(g, COLO_PRIMARY, &s);
}

static void sc_ipv6(struct gen *g)
{
	struct frame_spec s = udp(53, "v6 answer");

	s.l3 = FRAME_IPV6;
	both(g, &s);
	s.exthdrs = 1;
	both(g, &s);
	s = tcp(0, 200, TCP_ACK_PSH, 0);
	s.l3 = FRAME_IPV6;
	both(g, &s);
}

static void sc_vlan(struct gen *g)
{
	struct frame_spec s = udp(53, "tagged answer");

	s.vlan = FRAME_VLAN | 100;
	both(g, &s);
	s.payload = "tagged answer 2";
	s.payload_len = 15;
	both(g, &s);
	s = tcp(0, 200, TCP_ACK_PSH, 0);
	s.vlan = FRAME_VLAN | 100;
	both(g, &s);
}

static void sc_vlan_differs(struct gen *g)
{
	struct frame_spec s = udp(53, "tagged answer");

	s.vlan = FRAME_VLAN | 100;
	gen_add(g, COLO_PRIMARY, &s);
	s.vlan = FRAME_VLAN | 200;
	gen_add(g, COLO_SECONDARY, &s);
}

static void sc_arp(struct gen *g)
{
	struct frame_spec s = { .l3 = FRAME_ARP };

	both(g, &s);
	gen_add(g, COLO_PRIMARY, &s);
}

/* Add every proper prefix of a frame to both sides, then the frame. */
static void truncations(struct gen *g, const struct frame_spec *spec)
{
	struct gen_frame *f;
	uint32_t full, len;

	f = gen_add(g, COLO_PRIMARY, spec);
	if (!f)
		return;
	full = f->len;
	g->count[COLO_PRIMARY]--;
	for (len = 0; len < full; len++) {
		f = gen_add(g, COLO_PRIMARY, spec);
		if (f)
			f->len = len;
		f = gen_add(g, COLO_SECONDARY, spec);
		if (f)
			f->len = len;
	}
}

/* Both sides send the same frame with one header byte broken. */
static void broken(struct gen *g, const struct frame_spec *spec, uint32_t at,
		   uint8_t value)
{
	struct gen_frame *f;
	int side;

	for (side = COLO_PRIMARY; side <= COLO_SECONDARY; side++) {
		f = gen_add(g, side, spec);
		if (f)
			f->data[at] = value;
	}
}

/*
 * Every truncation of an IPv4/TCP, an IPv6/UDP with an extension header and
 * a VLAN/IPv4/UDP frame, and headers whose fields do not add up.
 */
static void sc_malformed(struct gen *g)
{
	struct frame_spec t = tcp(0, 10, TCP_ACK_PSH, 0);
	struct frame_spec u6 = udp(53, "ten bytes!");
	struct frame_spec uv = udp(53, "ten bytes!");
	struct frame_spec deep = udp(53, "deep");

	u6.l3 = FRAME_IPV6;
	u6.exthdrs = 1;
	uv.vlan = FRAME_VLAN | 7;
	truncations(g, &t);
	truncations(g, &u6);
	truncations(g, &uv);
	broken(g, &t, COLO_ETH_HLEN, 0x44); /* IPv4 header length 16 */
	broken(g, &t, COLO_ETH_HLEN + 3, 10); /* total length < header */
	broken(g, &t, COLO_ETH_HLEN + 20 + 12, 0x40); /* TCP offset 16 */
	broken(g, &t, COLO_ETH_HLEN, 0x65); /* IPv4 type, version 6 */
	broken(g, &u6, COLO_ETH_HLEN + 5, 0); /* IPv6 payload length 0 */
	deep.l3 = FRAME_IPV6;
	deep.exthdrs = COLO_MAX_EXTHDR + 1; /* a chain longer than followed */
	both(g, &deep);
}

/* What a small guest sends: ARP, pings, a UDP answer, a TCP response. */
static void demo_common(struct gen *g, int side, bool resegment)
{
	struct frame_spec s = { .l3 = FRAME_ARP };
	struct frame_spec ping = {
		.proto = IPPROTO_ICMP,
		.sport = 77,
		.dport = 1,
		.payload = "ping payload",
		.payload_len = 12,
	};
	uint32_t seg = resegment ? 1500 : 1000, off;

	gen_add(g, side, &s);
	gen_add(g, side, &ping);
	s = udp(12345, "www.example.org is 192.0.2.7");
	gen_add(g, side, &s);
	s = tcp(0, 0, COLO_TCP_SYN | COLO_TCP_ACK, 0);
	s.seq = GEN_ISN;
	gen_add(g, side, &s);
	ping.dport = 2;
	gen_add(g, side, &ping);
	for (off = 0; off < 3000; off += seg) {
		s = tcp(off, seg, TCP_ACK_PSH, 120);
		gen_add(g, side, &s);
	}
}

static void sc_demo(struct gen *g)
{
	struct frame_spec s;

	demo_common(g, COLO_PRIMARY, false);
	demo_common(g, COLO_SECONDARY, true);
	s = udp(9000, "clock 1700000000.000123");
	gen_add(g, COLO_PRIMARY, &s);
	s = udp(9000, "clock 1700000000.000456");
	gen_add(g, COLO_SECONDARY, &s);
	s = udp(9000, "clock 1700000001.000000");
	both(g, &s);
}

static void sc_identical(struct gen *g)
{
	struct frame_spec s = udp(9000, "clock 1700000000.000123");

	demo_common(g, COLO_PRIMARY, false);
	demo_common(g, COLO_SECONDARY, false);
	both(g, &s);
}

static const struct scenario {
	const char *name;
	void (*build)(struct gen *g);
	const char *answer;
} scenarios[] = {
	{ "udp", sc_udp, "released [0,1,2], no checkpoint" },
	{ "icmp", sc_icmp, "released [0,1], no checkpoint" },
	{ "icmp6", sc_icmp6, "released [0,1], no checkpoint" },
	{ "ip-proto", sc_ip_proto,
	  "GRE, IP ID and TTL differ: released [0,1], no checkpoint" },
	{ "tcp", sc_tcp, "released [0,1,2,3,4], no checkpoint" },
	{ "tcp-2x1000-1x2000", sc_tcp_2x1000_1x2000,
	  "released [0,1], no checkpoint" },
	{ "tcp-1x2000-2x1000", sc_tcp_1x2000_2x1000,
	  "released [0], no checkpoint" },
	{ "tcp-3x1000-2x1500", sc_tcp_3x1000_2x1500,
	  "released [0,1,2], no checkpoint" },
	{ "tcp-ack", sc_tcp_ack,
	  "released [0] once the secondary's ACK arrives, no checkpoint" },
	{ "tcp-ack-missing", sc_tcp_ack_missing,
	  "released [], timeout, queued primary [0]" },
	{ "tcp-retrans", sc_tcp_retrans,
	  "released [0,1,2], no checkpoint, nothing queued" },
	{ "tcp-zero-payload", sc_tcp_zero_payload,
	  "released [0,1,2], no checkpoint" },
	{ "tcp-syn", sc_tcp_syn,
	  "SYNs with different ISNs: the primary's held until the "
	  "secondary's, released [0,1], no checkpoint" },
	{ "tcp-syn-missing", sc_tcp_syn_missing,
	  "no secondary SYN: released [], timeout, queued primary [0]" },
	{ "tcp-fin-rst", sc_tcp_fin_rst,
	  "released [0], mismatch, queued primary [1] secondary [1]" },
	{ "padding", sc_padding, "released [0,1], no checkpoint" },
	{ "jumbo", sc_jumbo,
	  "9014-byte frames, mismatch at payload byte 5000 of secondary 1: released [0], queued primary [1,2] secondary [1,2]; -a: released [0,1,2]" },
	{ "mismatch", sc_mismatch,
	  "released [0], mismatch at secondary 1, queued primary [1,2] "
	  "secondary [1,2]; -a: released [0,1,2]" },
	{ "missing", sc_missing,
	  "released [0,1], timeout, queued primary [2]" },
	{ "extra", sc_extra, "released [0,1], timeout, queued secondary [2]" },
	{ "timeout", sc_timeout,
	  "secondary 5 s late: timeout, then released [0,1,2]" },
	{ "flush-order", sc_flush_order,
	  "-a: timeout; flush releases 0 before 2, 1 before 3, 5 before 4" },
	{ "failover", sc_failover,
	  "--failover-at 5: released [0..5], no checkpoint" },
	{ "queue-full", sc_queue_full,
	  "--max-queue-size 4 -a: queue-full at primary 4, released [0..5]" },
	{ "table-full", sc_table_full,
	  "--max-connections 2 -a: table-full at primary 2, which waits "
	  "for a slot, then timeout; released [0,1,2]" },
	{ "ipv6", sc_ipv6, "released [0,1,2], 3 compared, no checkpoint" },
	{ "vlan", sc_vlan, "released [0,1,2], 3 compared, no checkpoint" },
	{ "vlan-differs", sc_vlan_differs,
	  "released [], timeout, queued primary [0] secondary [0]" },
	{ "arp", sc_arp,
	  "released [0,1] uncompared, secondary dropped, no checkpoint" },
	{ "malformed", sc_malformed,
	  "every frame malformed: primaries released, no checkpoint" },
	{ "identical", sc_identical,
	  "released [0..8] in order, no checkpoint" },
	{ "demo", sc_demo,
	  "released [0..7], mismatch (clock), queued primary [8,9] secondary "
	  "[7,8]" },
};

#define NR_SCENARIOS (sizeof(scenarios) / sizeof(scenarios[0]))

struct capgen_opts {
	bool alternate;
	bool list;
};

static const char *const orders[] = { "alternate", "primary-first", NULL };

static const struct cli_opt capgen_opts[] = {
	{ .type = CLI_OPT_BOOL,
	  .name = "order",
	  .short_name = 'o',
	  .arg = "alternate|primary-first",
	  .off = offsetof(struct capgen_opts, alternate),
	  .choices = orders,
	  .true_first = true,
	  .help = "alternate: P0, S0, P1, S1, ...;\n"
		  "primary-first: every primary frame first" },
	{ .type = CLI_OPT_FLAG,
	  .name = "list",
	  .short_name = 'l',
	  .off = offsetof(struct capgen_opts, list),
	  .help = "list the scenarios, each with what replay must\n"
		  "answer" },
	{ .type = CLI_OPT_END },
};

static const struct cli_cmd capgen_cmd = {
	.name = CMD,
	.usage = "SCENARIO DIR [--order alternate|primary-first]\n"
		 "       " CMD " --list",
	.about =
		"Write DIR/primary.pcap and DIR/secondary.pcap for a scenario, for\n"
		"'colo-xdp replay', the frames 1 ms apart in the order --order says.\n",
	.opts = capgen_opts,
	.max_args = 2,
};

/* Timestamps by order, then both files. */
static int gen_write(const struct gen *g, const char *dir, bool alternate)
{
	static const char *const file[2] = { "primary.pcap", "secondary.pcap" };
	struct pcap_io_writer *w[2] = {};
	char path[2][4096], err[PCAP_IO_ERRLEN];
	uint32_t next[2] = {}, k = 0;
	uint64_t ts;
	int side, ret = 0;

	for (side = COLO_PRIMARY; side <= COLO_SECONDARY; side++) {
		snprintf(path[side], sizeof(path[side]), "%s/%s", dir,
			 file[side]);
		ret = pcap_io_create(path[side], false, &w[side], err,
				     sizeof(err));
		if (ret) {
			fprintf(stderr, "colo-capgen: %s\n", err);
			goto out;
		}
	}
	while (next[0] < g->count[0] || next[1] < g->count[1]) {
		if (next[0] == g->count[0])
			side = COLO_SECONDARY;
		else if (next[1] == g->count[1])
			side = COLO_PRIMARY;
		else if (alternate)
			side = next[0] > next[1];
		else
			side = COLO_PRIMARY;
		ts = GEN_BASE_NS + k++ * GEN_STEP_NS;
		if (side == COLO_SECONDARY)
			ts += g->late_ms * GEN_STEP_NS;
		pcap_io_write(w[side], g->frames[side][next[side]].data,
			      g->frames[side][next[side]].len, ts);
		next[side]++;
	}
out:
	for (side = COLO_PRIMARY; side <= COLO_SECONDARY; side++) {
		if (w[side] && pcap_io_close(w[side], err, sizeof(err))) {
			fprintf(stderr, "colo-capgen: %s\n", err);
			ret = -EIO;
		}
	}
	return ret;
}

int main(int argc, char **argv)
{
	struct capgen_opts o = { .alternate = true };
	const struct scenario *sc = NULL;
	struct gen g = {};
	const char *dir;
	size_t i;
	int first, ret;

	log_init(CMD);
	ret = cli_opts_parse(&capgen_cmd, argc, argv, &o, sizeof(o), &first);
	if (ret >= 0)
		return ret;
	if (o.list) {
		for (i = 0; i < NR_SCENARIOS; i++)
			printf("%s\t%s\n", scenarios[i].name,
			       scenarios[i].answer);
		return 0;
	}
	if (argc - first != 2) {
		cli_err(CMD, "which scenario, into which DIR? (see '" CMD
			     " --help')");
		return CLI_EXIT_USAGE;
	}
	dir = argv[first + 1];
	for (i = 0; i < NR_SCENARIOS; i++)
		if (!strcmp(argv[first], scenarios[i].name))
			sc = &scenarios[i];
	if (!sc) {
		fprintf(stderr,
			"colo-capgen: no scenario '%s' (see colo-capgen "
			"--list)\n",
			argv[first]);
		return 2;
	}
	if (mkdir(dir, 0755) && errno != EEXIST) {
		fprintf(stderr, "colo-capgen: %s: %s\n", dir, strerror(errno));
		return 2;
	}
	for (i = 0; i < sizeof(stream); i++)
		stream[i] = (uint8_t)(i * 7 + i / 251);
	sc->build(&g);
	if (g.err) {
		fprintf(stderr, "colo-capgen: %s: building frames: %s\n",
			sc->name, strerror(-g.err));
		ret = 1;
		goto out;
	}
	ret = gen_write(&g, dir, o.alternate) ? 1 : 0;
out:
	free(g.frames[COLO_PRIMARY]);
	free(g.frames[COLO_SECONDARY]);
	return ret;
}
