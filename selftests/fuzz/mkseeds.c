// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * mkseeds DIR: write the seed corpora of the fuzz targets under
 * DIR/<target>/ (`make fuzz-seeds` writes selftests/fuzz/corpus/). Seeds
 * are valid inputs of each kind the targets take, so fuzzing starts deep:
 * frames of every protocol the parser knows (tools/lib/frames.h), pcap
 * files as pcap_io writes them plus the damaged ones it must refuse, and
 * engine programs (fuzz_engine.h) for each rule of docs/semantics.md: pairs,
 * TCP across segmentation, mismatch, timeout, full queue, full table, empty
 * pool, failover and resume; control socket requests (user/control/ctl_server.h)
 * Xen COLO proxy protocol streams (user/control/xen_proto.h), and QEMU
 * frame channel streams (user/chardev/qframe.h, fuzz_qframe.c's layout).
 */
#include <errno.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "colo_parse.h"
#include "frames.h"
#include "fuzz_engine.h"
#include "pcap_io.h"
#include "qframe.h"
#include "xen_proto.h"

#define MAX_SEED 4096

static const char *root;

static void die(const char *what, const char *path)
{
	fprintf(stderr, "mkseeds: %s: %s: %s\n", what, path, strerror(errno));
	exit(1);
}

static void make_dir(const char *target, char *path, size_t size)
{
	snprintf(path, size, "%s/%s", root, target);
	if (mkdir(path, 0755) && errno != EEXIST)
		die("cannot create the directory", path);
}

static void write_seed(const char *target, const char *name, const void *data,
		       size_t len)
{
	char path[512];
	FILE *f;

	make_dir(target, path, sizeof(path));
	snprintf(path, sizeof(path), "%s/%s/%s", root, target, name);
	f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f))
		die("cannot write", path);
}

static const uint8_t payload[] = "colo-xdp fuzz seed payload: 0123456789";

static int build(const struct frame_spec *s, uint8_t *buf)
{
	int len = frame_build(s, buf, MAX_SEED);

	if (len < 0) {
		fprintf(stderr, "mkseeds: frame_build: %s\n", strerror(-len));
		exit(1);
	}
	return len;
}

static void parse_seeds(void)
{
	static const uint8_t protos[] = { IPPROTO_TCP,	IPPROTO_UDP,
					  IPPROTO_ICMP, IPPROTO_SCTP,
					  IPPROTO_GRE,	IPPROTO_AH,
					  IPPROTO_ESP };
	uint8_t buf[MAX_SEED];
	char name[64];
	size_t i;
	int l3, vlan, len;

	for (l3 = FRAME_IPV4; l3 <= FRAME_IPV6; l3++)
		for (vlan = 0; vlan < 2; vlan++)
			for (i = 0; i < sizeof(protos); i++) {
				struct frame_spec s = {
					.l3 = l3,
					.vlan = vlan ? FRAME_VLAN | 42 : 0,
					.proto = protos[i],
					.sport = 4000,
					.dport = 80,
					.seq = 1000,
					.tcp_flags = 0x18,
					.payload = payload,
					.payload_len = sizeof(payload),
					.exthdrs = l3 == FRAME_IPV6 ? vlan : 0,
					.pad = 6,
				};

				if (l3 == FRAME_IPV6 && s.proto == IPPROTO_ICMP)
					s.proto = IPPROTO_ICMPV6;
				len = build(&s, buf);
				snprintf(name, sizeof(name), "ipv%d-%s-proto%u",
					 l3 == FRAME_IPV4 ? 4 : 6,
					 vlan ? "vlan" : "untagged", s.proto);
				write_seed("fuzz_parse", name, buf, len);
			}
	len = build(&(struct frame_spec){ .l3 = FRAME_ARP }, buf);
	write_seed("fuzz_parse", "arp", buf, len);
	len = build(&(struct frame_spec){ .proto = IPPROTO_UDP,
					  .payload = payload,
					  .payload_len = sizeof(payload) },
		    buf);
	buf[14 + 6] = 0x20; /* more fragments */
	write_seed("fuzz_parse", "ipv4-fragment", buf, len);
}

/* A capture of a few frames as pcap_io writes it, then read back whole. */
static size_t capture(bool nano, uint8_t *out)
{
	char path[512];
	char err[PCAP_IO_ERRLEN];
	struct pcap_io_writer *w;
	uint8_t frame[MAX_SEED];
	size_t n;
	FILE *f;
	int i, len;

	snprintf(path, sizeof(path), "%s/.mkseeds.pcap", root);
	if (pcap_io_create(path, nano, &w, err, sizeof(err))) {
		fprintf(stderr, "mkseeds: %s\n", err);
		exit(1);
	}
	for (i = 0; i < 3; i++) {
		len = build(&(struct frame_spec){ .proto = i ? IPPROTO_UDP :
							       IPPROTO_TCP,
						  .l3 = i == 2 ? FRAME_IPV6 :
								 FRAME_IPV4,
						  .payload = payload,
						  .payload_len = 8 * i },
			    frame);
		pcap_io_write(w, frame, len, 1700000000123456789ull + i);
	}
	if (pcap_io_close(w, err, sizeof(err))) {
		fprintf(stderr, "mkseeds: %s\n", err);
		exit(1);
	}
	f = fopen(path, "rb");
	if (!f)
		die("cannot read", path);
	n = fread(out, 1, MAX_SEED, f);
	fclose(f);
	remove(path);
	return n;
}

static void swap(uint8_t *p, size_t n)
{
	uint8_t t;
	size_t i;

	for (i = 0; i < n / 2; i++) {
		t = p[i];
		p[i] = p[n - 1 - i];
		p[n - 1 - i] = t;
	}
}

/* The same capture as written by a host of the other byte order. */
static void swap_capture(uint8_t *b, size_t n)
{
	static const size_t fields[] = { 0, 8, 12, 16, 20 };
	size_t i, at, caplen;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		swap(b + fields[i], 4);
	swap(b + 4, 2); /* version major and minor: 16 bits each */
	swap(b + 6, 2);
	for (at = 24; at + 16 <= n; at += 16 + caplen) {
		caplen = b[at + 8] | b[at + 9] << 8 | b[at + 10] << 16 |
			 (size_t)b[at + 11] << 24;
		for (i = 0; i < 16; i += 4)
			swap(b + at + i, 4);
	}
}

static void pcap_seeds(void)
{
	/* pcapng: section header, Ethernet interface, one 60-byte packet */
	static const uint8_t ng[] = {
		/* section header, little-endian, version 1.0 */
		0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1,
		0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 28, 0,
		0, 0,
		/* interface description: EN10MB, no snap length */
		1, 0, 0, 0, 20, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0,
		/* enhanced packet: 60 bytes of zeros at offset 76 */
		6, 0, 0, 0, 92, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 60,
		0, 0, 0, 60, 0, 0, 0, [136] = 92, 0, 0, 0
	};
	uint8_t buf[MAX_SEED];
	size_t n;

	n = capture(true, buf);
	write_seed("fuzz_pcap", "nano", buf, n);
	write_seed("fuzz_pcap", "header-only", buf, 24);
	write_seed("fuzz_pcap", "cut-in-record", buf, n - 5);
	n = capture(false, buf);
	write_seed("fuzz_pcap", "micro", buf, n);
	buf[20] = 113; /* link type: Linux cooked capture */
	write_seed("fuzz_pcap", "not-ethernet", buf, n);
	buf[20] = 1;
	buf[24 + 12] -= 1; /* first record: caplen one short of len */
	write_seed("fuzz_pcap", "snapped", buf, n);
	buf[24 + 12] += 1;
	swap_capture(buf, n);
	write_seed("fuzz_pcap", "other-byte-order", buf, n);
	write_seed("fuzz_pcap", "pcapng", ng, sizeof(ng));
}

/* An engine program under construction. */
struct prog {
	uint8_t b[MAX_SEED];
	size_t n;
};

static void put(struct prog *p, const uint8_t *bytes, size_t n)
{
	memcpy(p->b + p->n, bytes, n);
	p->n += n;
}

static void op(struct prog *p, int code, int arg)
{
	uint8_t b = FZ_OP(code, arg);

	put(p, &b, 1);
}

/* A template frame: t0 = protocol and flags, see fuzz_engine.h. */
static void frame(struct prog *p, int side, int ms, uint8_t t0,
		  uint8_t tcp_flags, uint16_t off, uint8_t len, uint8_t ack16,
		  uint8_t t6)
{
	uint8_t t[FZ_TMPL_LEN] = {
		t0, tcp_flags, off >> 8, off, len, ack16, t6
	};

	op(p, side ? FZ_OP_S_TMPL : FZ_OP_P_TMPL, ms);
	put(p, t, sizeof(t));
}

static void tcp(struct prog *p, int side, uint8_t t0, uint16_t off, uint8_t len,
		uint8_t flags)
{
	frame(p, side, 1, FZ_T_TCP | t0, flags, off, len, 4, 0);
}

static struct prog *prog_new(uint8_t queue, uint8_t conns, uint8_t frames)
{
	static struct prog p;
	uint8_t cfg[FZ_CFG_LEN] = { (queue - 1) | (conns - 1) << 3, frames - 1,
				    25, 0x31 };

	p.n = 0;
	put(&p, cfg, sizeof(cfg));
	return &p;
}

static void prog_write(struct prog *p, const char *name)
{
	write_seed("fuzz_engine", name, p->b, p->n);
}

static void engine_seeds(void)
{
	const uint8_t ack = COLO_TCP_ACK, psh = 0x08;
	uint8_t arp[64];
	struct prog *p;
	int i, len;

	p = prog_new(8, 8, 32);
	frame(p, 0, 1, FZ_T_UDP, 0, 100, 20, 0, 0);
	frame(p, 1, 1, FZ_T_UDP, 0, 100, 20, 0, FZ_T_OTHER_ID | 3);
	frame(p, 0, 1, FZ_T_ICMP | FZ_T_IPV6 | FZ_T_VLAN, 0, 7, 16, 0, 0x10);
	frame(p, 1, 1, FZ_T_ICMP | FZ_T_IPV6 | FZ_T_VLAN, 0, 7, 16, 0, 0x10);
	frame(p, 0, 1, FZ_T_GRE, 0, 9, 30, 0, FZ_T_FRAG);
	frame(p, 1, 1, FZ_T_GRE, 0, 9, 30, 0, FZ_T_FRAG | FZ_T_OTHER_ID);
	prog_write(p, "pairs");

	/* one primary segment against two secondary ones, then FIN */
	p = prog_new(8, 8, 32);
	tcp(p, 0, 0, 0x3f00, 0, COLO_TCP_SYN);
	tcp(p, 1, 0, 0x3f00, 0, COLO_TCP_SYN);
	tcp(p, 0, 0, 0x3f01, 200, ack | psh);
	tcp(p, 1, 0, 0x3f01, 100, ack);
	tcp(p, 1, 0, 0x3f01 + 100, 100, ack | psh);
	tcp(p, 0, 0, 0x3f01 + 200, 0, ack | COLO_TCP_FIN);
	tcp(p, 1, 0, 0x3f01 + 200, 0, ack | COLO_TCP_FIN);
	prog_write(p, "tcp-segmentation-wraps");

	p = prog_new(8, 8, 32);
	tcp(p, 0, FZ_T_IPV6 | FZ_T_VLAN, 10, 50, ack);
	tcp(p, 1, FZ_T_IPV6 | FZ_T_VLAN, 10, 50, ack);
	tcp(p, 0, FZ_T_IPV6 | FZ_T_VLAN, 10, 50, ack); /* retransmission */
	tcp(p, 0, FZ_T_IPV6 | FZ_T_VLAN, 60, 0, COLO_TCP_RST);
	tcp(p, 1, FZ_T_IPV6 | FZ_T_VLAN, 60, 0, COLO_TCP_FIN);
	op(p, FZ_OP_TICK, 3);
	op(p, FZ_OP_CKPT, 0);
	prog_write(p, "tcp-ipv6-rst-against-fin");

	p = prog_new(8, 8, 32);
	frame(p, 0, 1, FZ_T_UDP, 0, 0, 20, 0, 0);
	frame(p, 1, 1, FZ_T_UDP | FZ_T_FLIP, 0, 0, 20, 0, 0);
	frame(p, 0, 1, FZ_T_UDP, 0, 20, 20, 0, 0);
	op(p, FZ_OP_TICK, 2);
	op(p, FZ_OP_TICK, 2);
	op(p, FZ_OP_CKPT, 0);
	frame(p, 0, 1, FZ_T_UDP, 0, 0, 20, 0, 0);
	frame(p, 1, 1, FZ_T_UDP, 0, 0, 20, 0, 0);
	prog_write(p, "mismatch-checkpoint");

	p = prog_new(8, 8, 32);
	tcp(p, 0, 0, 0, 10, ack);
	for (i = 0; i < 6; i++)
		op(p, FZ_OP_TICK, 4);
	prog_write(p, "timeout-and-idle");

	p = prog_new(1, 2, 32);
	for (i = 0; i < 3; i++)
		frame(p, 0, 0, FZ_T_UDP, 0, 10 * i, 10, 0, 0);
	for (i = 0; i < 3; i++)
		tcp(p, 1, FZ_T_FLOW(1), 10 * i, 10, ack);
	op(p, FZ_OP_CKPT, 0);
	prog_write(p, "queue-full");

	p = prog_new(8, 1, 32);
	frame(p, 0, 0, FZ_T_UDP, 0, 0, 10, 0, 0);
	frame(p, 0, 0, FZ_T_UDP | FZ_T_FLOW(1), 0, 0, 10, 0, 0);
	frame(p, 1, 0, FZ_T_UDP | FZ_T_FLOW(1), 0, 0, 10, 0, 0);
	frame(p, 0, 0, FZ_T_UDP | FZ_T_FLOW(1), 0, 0, 10, 0, 0);
	op(p, FZ_OP_TICK, 5);
	op(p, FZ_OP_CKPT, 0);
	prog_write(p, "table-full");

	p = prog_new(8, 8, 2);
	frame(p, 0, 0, FZ_T_SCTP, 0, 0, 10, 0, 0);
	frame(p, 0, 0, FZ_T_AH, 0, 0, 10, 0, 0);
	frame(p, 1, 0, FZ_T_ESP, 0, 0, 10, 0, 0);
	frame(p, 0, 0, FZ_T_ESP, 0, 0, 10, 0, 0);
	prog_write(p, "pool-empty");

	p = prog_new(8, 8, 32);
	frame(p, 0, 0, FZ_T_UDP, 0, 0, 10, 0, 0);
	op(p, FZ_OP_FAILOVER, 0);
	frame(p, 0, 0, FZ_T_UDP, 0, 0, 10, 0, 0);
	frame(p, 1, 0, FZ_T_UDP, 0, 0, 10, 0, 0);
	op(p, FZ_OP_FAILOVER, 1);
	frame(p, 0, 0, FZ_T_UDP, 0, 0, 10, 0, 0);
	op(p, FZ_OP_MIRROR, 0);
	prog_write(p, "failover-resume");

	p = prog_new(8, 8, 32);
	len = frame_build(&(struct frame_spec){ .l3 = FRAME_ARP }, arp,
			  sizeof(arp));
	op(p, FZ_OP_P_RAW, 0);
	put(p, (uint8_t[]){ 0, len }, 2);
	put(p, arp, len);
	op(p, FZ_OP_S_RAW, 0);
	put(p, (uint8_t[]){ 0, len }, 2);
	put(p, arp, len);
	frame(p, 1, 0, FZ_T_TCP, ack, 0, 10, 0, 0);
	op(p, FZ_OP_MIRROR, 0);
	prog_write(p, "raw-arp-and-mirror");
}

static void json_seeds(void)
{
	static const char *const lines[] = {
		"{\"command\":\"checkpoint-done\"}",
		"{\"command\":\"failover\"}",
		"{\"command\":\"resume\"}",
		"{\"command\":\"stats\"}",
		"{\"command\":\"status\"}",
		"{\"command\":\"subscribe\"}",
		" { \"command\" : \"stats\", \"id\": 18446744073709551615,"
		" \"verbose\": true, \"x\": null, \"f\": -1.5e+3,"
		" \"nested\": [1, {\"a\": [\"b\"]}, false] } ",
		"{\"s\":\"tab\\t quote\\\" \\u00e9 \\ud83d\\ude00 \u00e9\"}",
		"{}",
	};
	char name[32];
	size_t i;

	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		snprintf(name, sizeof(name), "request-%zu", i);
		write_seed("fuzz_json", name, lines[i], strlen(lines[i]));
	}
}

/* Append a Xen protocol length: 32 bits, big-endian. */
static size_t xen_len(uint8_t *b, size_t n, uint32_t len)
{
	b[n] = len >> 24;
	b[n + 1] = len >> 16;
	b[n + 2] = len >> 8;
	b[n + 3] = len;
	return n + 4;
}

/* Append one frame: its length, then the text. */
static size_t xen_frame(uint8_t *b, size_t n, const char *msg, uint32_t len)
{
	n = xen_len(b, n, len);
	memcpy(b + n, msg, len);
	return n + len;
}

static void xen_seeds(void)
{
	static const char pad[100];
	uint8_t b[MAX_SEED];
	size_t n = 0;

	n = xen_frame(b, n, XEN_MSG_INIT, strlen(XEN_MSG_INIT));
	n = xen_frame(b, n, XEN_MSG_CHECKPOINT, strlen(XEN_MSG_CHECKPOINT));
	write_seed("fuzz_xen", "init-checkpoint", b, n);
	n = xen_frame(b, n, "HELLO", 5);
	n = xen_frame(b, n, pad, 100); /* oversized: skipped */
	n = xen_frame(b, n, "", 0);
	write_seed("fuzz_xen", "unknown-oversized-empty", b, n);
	write_seed("fuzz_xen", "cut-inside-frame", b, n - 50);
	n = xen_frame(b, 0, XEN_MSG_INIT, strlen(XEN_MSG_INIT));
	n = xen_len(b, n, XEN_SKIP_MAX + 1);
	write_seed("fuzz_xen", "length-over-skip-max", b, n);
}

/* Append one frame as a filter-redirector sends it. */
static size_t qf_frame(uint8_t *b, size_t n, bool vnet, uint32_t vnet_len,
		       const struct frame_spec *s)
{
	uint32_t hdr = vnet ? 8 : 4;
	int len;

	memset(b + n + hdr, 0, vnet_len);
	len = frame_build(s, b + n + hdr + vnet_len, MAX_SEED - n - 64);
	if (len < 0) {
		fprintf(stderr, "mkseeds: frame_build: %s\n", strerror(-len));
		exit(1);
	}
	qframe_prefix(b + n, vnet_len + len, vnet_len, vnet);
	return n + hdr + vnet_len + len;
}

/*
 * fuzz_qframe's input: flags (bit 0 vnet), how far before the ring's end
 * the stream starts (16 bits, little-endian), the largest read, the stream.
 */
static size_t qf_head(uint8_t *b, bool vnet, uint16_t before_end,
		      uint8_t max_read)
{
	b[0] = vnet;
	b[1] = before_end;
	b[2] = before_end >> 8;
	b[3] = max_read;
	return 4;
}

static void qframe_seeds(void)
{
	const struct frame_spec udp = { .proto = IPPROTO_UDP,
					.sport = 5000,
					.dport = 6000,
					.payload = payload,
					.payload_len = sizeof(payload) };
	const struct frame_spec tcp6 = { .l3 = FRAME_IPV6,
					 .vlan = FRAME_VLAN | 7,
					 .proto = IPPROTO_TCP,
					 .sport = 4000,
					 .dport = 80,
					 .tcp_flags = 0x18,
					 .payload = payload,
					 .payload_len = sizeof(payload) };
	const struct frame_spec arp = { .l3 = FRAME_ARP };
	static const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	uint8_t b[MAX_SEED];
	size_t n;

	n = qf_head(b, false, 0, 0);
	n = qf_frame(b, n, false, 0, &udp);
	n = qf_frame(b, n, false, 0, &tcp6);
	n = qf_frame(b, n, false, 0, &arp);
	write_seed("fuzz_qframe", "plain-udp-tcp6-arp", b, n);
	write_seed("fuzz_qframe", "plain-cut-inside-frame", b, n - 20);
	/* read a few bytes at a time, across the ring's end */
	n = qf_head(b, true, 100, 7);
	n = qf_frame(b, n, true, 12, &udp);
	n = qf_frame(b, n, true, 0, &tcp6);
	n = qf_frame(b, n, true, 10, &arp);
	write_seed("fuzz_qframe", "vnet-12-0-10-wraps", b, n);
	/* counts past 2^32 */
	b[0] |= 0x7e;
	write_seed("fuzz_qframe", "vnet-high-counts", b, n);
	/* what the bridge refuses: each after a good frame */
	n = qf_frame(b, qf_head(b, false, 30, 3), false, 0, &udp);
	memcpy(b + n, http, sizeof(http) - 1);
	write_seed("fuzz_qframe", "bad-http-request", b, n + sizeof(http) - 1);
	memcpy(b + n, "\0\0\0\0", 4);
	write_seed("fuzz_qframe", "bad-length-zero", b, n + 4);
	qframe_prefix(b + n, QFRAME_MAX + 1, 0, false);
	write_seed("fuzz_qframe", "bad-length-over-max", b, n + 4);
	qframe_prefix(b + n, ETH_HLEN - 1, 0, false);
	write_seed("fuzz_qframe", "bad-shorter-than-ethernet", b, n + 4);
	n = qf_frame(b, qf_head(b, true, 0, 0), true, 12, &udp);
	qframe_prefix(b + n, 100, QFRAME_VNET_MAX + 1, true);
	write_seed("fuzz_qframe", "bad-vnet-length", b, n + 8);
	qframe_prefix(b + n, 20, 12, true);
	write_seed("fuzz_qframe", "bad-vnet-leaves-no-ethernet", b, n + 8);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: mkseeds DIR\n");
		return 2;
	}
	root = argv[1];
	if (mkdir(root, 0755) && errno != EEXIST)
		die("cannot create the directory", root);
	parse_seeds();
	pcap_seeds();
	engine_seeds();
	json_seeds();
	xen_seeds();
	qframe_seeds();
	return 0;
}
