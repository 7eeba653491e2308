// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The secondary's TCP rewriter (colo_rewrite.bpf.c), attached by the
 * agent's own code (rewrite_open()) to a veth pair, run on crafted frames
 * with BPF_PROG_RUN (needs root): colo_rw_out as the VM's frames meet it,
 * colo_rw_in as the link's do. Each output frame is compared, byte for
 * byte, with the frame built anew with the fields the rewrite must give:
 * frame_build() computes every checksum from scratch, so an equal frame
 * is one whose incremental checksum update is right, and in which nothing
 * else changed. Then the connection table's expiry (the agent's sweep),
 * the checkpoint epoch, and every kind of bad input.
 */
#include <endian.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <linux/if_link.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cli.h"
#include "colo_pair.h"
#include "colo_parse.h"
#include "frames.h"
#include "pins.h"
#include "rewrite.h"
#include "sweep.h"
#include "test.h"

#define MAX_FRAME 2048

#define SKIP_UNLESS_ROOT()                                                  \
	do {                                                                \
		if (geteuid())                                              \
			SKIP("needs root (%s), running as uid %u",          \
			     "veth pairs, XDP and tc programs, bpffs pins", \
			     (unsigned int)geteuid());                      \
	} while (0)

static const uint8_t vm_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t peer_mac[6] = { 0x02, 0, 0, 0, 0, 0x02 };
static const uint8_t other_mac[6] = { 0x02, 0, 0, 0, 0, 0x99 };

/* The veth pairs, the agent's rewriter on them, and what the tests use. */
struct rig {
	char vm[IF_NAMESIZE], link[IF_NAMESIZE];
	int link_ifindex;
	struct rewrite *rw;
	struct sweep *sw;
	struct sweep_timeouts t;
	int in_fd, out_fd; /* colo_rw_in, colo_rw_out */
	int conns_fd, cfg_fd;
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void rig_down(struct rig *r)
{
	sweep_destroy(r->sw);
	rewrite_close(r->rw);
	close_fd(&r->in_fd);
	close_fd(&r->out_fd);
	close_fd(&r->conns_fd);
	close_fd(&r->cfg_fd);
	test_sh("ip link del %s 2>/dev/null; ip link del %s 2>/dev/null", r->vm,
		r->link);
}

static int prog_of_tc(int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, tc, .handle = 0xc01, .priority = 1);

	if (bpf_tc_query(&hook, &tc))
		return -1;
	return bpf_prog_get_fd_by_id(tc.prog_id);
}

static int prog_of_xdp(int ifindex)
{
	__u32 id = 0;

	bpf_xdp_query_id(ifindex, 0, &id);
	return id ? bpf_prog_get_fd_by_id(id) : -1;
}

/* The veth pairs of the VM's interface and of the link. */
static int rig_links(struct rig *r)
{
	memset(r, 0, sizeof(*r));
	r->in_fd = r->out_fd = r->conns_fd = r->cfg_fd = -1;
	snprintf(r->vm, sizeof(r->vm), "cx%drv", getpid() % 100000);
	snprintf(r->link, sizeof(r->link), "cx%drl", getpid() % 100000);
	if (test_sh("ip link add %s type veth peer name %sx && ip link set %s up && ip link add %s type veth peer name %sx && ip link set %s up",
		    r->vm, r->vm, r->vm, r->link, r->link, r->link))
		return -1;
	r->link_ifindex = if_nametoindex(r->link);
	return 0;
}

/* The programs attached now, and the maps pinned in pins. */
static int rig_fds(struct rig *r, const char *pins)
{
	close_fd(&r->in_fd);
	close_fd(&r->out_fd);
	close_fd(&r->conns_fd);
	close_fd(&r->cfg_fd);
	r->conns_fd = pin_dir_open_pin(pins, COLO_RW_MAP_CONNS);
	r->cfg_fd = pin_dir_open_pin(pins, COLO_RW_MAP_CONFIG);
	r->in_fd = prog_of_xdp(r->link_ifindex);
	r->out_fd = prog_of_tc(if_nametoindex(r->vm));
	return r->conns_fd < 0 || r->cfg_fd < 0 || r->in_fd < 0 ||
			       r->out_fd < 0 ?
		       -1 :
		       0;
}

/* The agent's programs and pinned maps, as it leaves them for others. */
static int rig_up(struct rig *r, uint32_t max_conns)
{
	struct rewrite_opts o = { .max_conns = max_conns };

	if (rig_links(r))
		return -1;
	o.vm = r->vm;
	o.link = r->link;
	if (rewrite_open(&o, &r->rw) || rig_fds(r, rewrite_pin_path(r->rw)))
		return -1;
	r->t.idle_ms = 5000;
	r->t.syn_ms = 2000;
	r->t.close_ms = 1000;
	return sweep_create(r->conns_fd, &r->t, &r->sw);
}

/*
 * In a case's own function: the rig up, or the case skips (not root) or
 * fails, and ends.
 */
#define RIG_UP(r, max_conns)                \
	do {                                \
		SKIP_UNLESS_ROOT();         \
		if (rig_up(r, max_conns)) { \
			CHECK(!"rig up");   \
			rig_down(r);        \
			return;             \
		}                           \
	} while (0)

/* Frames ------------------------------------------------------------- */

#define VM_PORT 80
#define PEER_PORT 40000

struct seg {
	bool to_vm; /* from the link, or from the VM */
	uint32_t seq, ack;
	uint8_t flags;
	const uint8_t *opts;
	uint8_t optlen;
	uint32_t len; /* payload bytes */
	bool ipv6_vlan;
	uint16_t port; /* the peer's; 0: PEER_PORT */
	const uint8_t *dmac; /* NULL: the other end's */
};

static int build(const struct seg *s, uint8_t *buf)
{
	static uint8_t payload[1400];
	struct frame_spec f = {
		.l3 = s->ipv6_vlan ? FRAME_IPV6 : FRAME_IPV4,
		.vlan = s->ipv6_vlan ? FRAME_VLAN | 7 : 0,
		.proto = 6,
		.seq = s->seq,
		.ack = s->ack,
		.tcp_flags = s->flags,
		.tcp_opts = s->opts,
		.tcp_opts_len = s->optlen,
		.payload = payload,
		.payload_len = s->len,
	};
	const char *vm = s->ipv6_vlan ? "fd00::1" : "10.0.0.1";
	const char *peer = s->ipv6_vlan ? "fd00::2" : "10.0.0.2";
	uint16_t port = s->port ? s->port : PEER_PORT;

	memset(payload, 0x5a, sizeof(payload));
	if (s->to_vm) {
		f.smac = peer_mac;
		f.dmac = s->dmac ? s->dmac : vm_mac;
		f.saddr = peer;
		f.daddr = vm;
		f.sport = port;
		f.dport = VM_PORT;
	} else {
		f.smac = vm_mac;
		f.dmac = s->dmac ? s->dmac : peer_mac;
		f.saddr = vm;
		f.daddr = peer;
		f.sport = VM_PORT;
		f.dport = port;
	}
	return frame_build(&f, buf, MAX_FRAME);
}

/* Run a raw frame through its direction's program: the verdict. */
static int run_raw(struct rig *r, bool to_vm, const uint8_t *in, uint32_t len,
		   uint8_t *out, uint32_t *out_len)
{
	struct xdp_md ctx = { .data_end = len,
			      .ingress_ifindex = r->link_ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = in, .data_size_in = len,
		    .data_out = out, .data_size_out = MAX_FRAME);
	int err;

	if (to_vm) {
		t.ctx_in = &ctx;
		t.ctx_size_in = sizeof(ctx);
	}
	err = bpf_prog_test_run_opts(to_vm ? r->in_fd : r->out_fd, &t);
	*out_len = t.data_size_out;
	return err ? err : (int)t.retval;
}

static int verdict_of(bool to_vm)
{
	return to_vm ? XDP_REDIRECT : TC_ACT_REDIRECT;
}

/*
 * Send in through its program: the verdict is the direction's redirect
 * and the output is exactly want (NULL: in, unchanged).
 */
static bool pass(struct rig *r, const struct seg *in, const struct seg *want)
{
	uint8_t a[MAX_FRAME], b[MAX_FRAME], out[MAX_FRAME];
	int alen = build(in, a), blen = build(want ? want : in, b), v;
	uint32_t olen, i;

	v = run_raw(r, in->to_vm, a, alen, out, &olen);
	if (v != verdict_of(in->to_vm)) {
		fprintf(stderr, "  verdict %d, not %d\n", v,
			verdict_of(in->to_vm));
		return false;
	}
	if (olen == (uint32_t)blen && !memcmp(out, b, blen))
		return true;
	for (i = 0; i < olen && i < (uint32_t)blen && out[i] == b[i]; i++)
		;
	fprintf(stderr, "  output differs at byte %u of %u (want %d bytes)\n",
		i, olen, blen);
	return false;
}

/* in, that must come out with only its ack (seq) changed to ack (seq). */
static bool pass_ack(struct rig *r, const struct seg *in, uint32_t ack)
{
	struct seg want = *in;

	want.ack = ack;
	return pass(r, in, &want);
}

static bool pass_seq(struct rig *r, const struct seg *in, uint32_t seq)
{
	struct seg want = *in;

	want.seq = seq;
	return pass(r, in, &want);
}

/* NOP NOP TS; with blocks, NOP NOP SACK: the options Linux sends. */
static uint8_t opts(uint8_t *o, uint32_t tsval, uint32_t tsecr,
		    const uint32_t *blocks, int n)
{
	uint8_t k = 0;
	int b;

	o[k++] = 1;
	o[k++] = 1;
	o[k++] = 8;
	o[k++] = 10;
	for (b = 24; b >= 0; b -= 8)
		o[k++] = tsval >> b;
	for (b = 24; b >= 0; b -= 8)
		o[k++] = tsecr >> b;
	if (!n)
		return k;
	o[k++] = 1;
	o[k++] = 1;
	o[k++] = 5;
	o[k++] = 2 + 8 * n;
	for (int i = 0; i < 2 * n; i++)
		for (b = 24; b >= 0; b -= 8)
			o[k++] = blocks[i] >> b;
	return k;
}

static struct colo_rw_stats stats(struct rig *r)
{
	struct secondary_view v;

	secondary_pins_read(rewrite_pin_path(r->rw), &v);
	return v.st;
}

static uint32_t nconns(struct rig *r)
{
	struct colo_rw_key k, next, *prev = NULL;
	uint32_t n = 0;

	while (!bpf_map_get_next_key(r->conns_fd, prev, &next)) {
		k = next;
		prev = &k;
		n++;
	}
	return n;
}

static uint32_t epoch_bump(struct rig *r)
{
	struct colo_rw_config cfg;
	__u32 zero = 0;

	bpf_map_lookup_elem(r->cfg_fd, &zero, &cfg);
	cfg.epoch++;
	bpf_map_update_elem(r->cfg_fd, &zero, &cfg, 0);
	return cfg.epoch;
}

/* Sweep as if ms had passed since now. */
static struct colo_rw_sweep_stats sweep_after(struct rig *r, uint32_t epoch,
					      uint32_t ms)
{
	struct colo_rw_sweep_stats st = {};

	CHECK_EQ(sweep_run(r->sw, epoch, cli_now_ns() + ms * 1000000ull, &st),
		 0);
	return st;
}

/*
 * One connection's numbers: the VM's, the primary's, the peer's initial
 * sequence numbers and handshake timestamps. The primary's wrap mod 2^32
 * during the test, and the VM's are above them, so both signs of the
 * offsets are crossed.
 */
#define VM_ISN 0x10000000u
#define PRI_ISN 0xffffff00u
#define PEER_ISN 5000u
#define VM_TS 700000u
#define PRI_TS 0xfffffff0u
#define PEER_TS 100u
#define SEQ_OFF (VM_ISN - PRI_ISN)
#define TS_OFF (VM_TS - PRI_TS)

/* The VM's SYN-ACK, and the peer's first ACK, answering the primary's. */
static const struct seg vm_synack = { .seq = VM_ISN,
				      .ack = PEER_ISN + 1,
				      .flags = COLO_TCP_SYN | COLO_TCP_ACK };
static const struct seg peer_ack = { .to_vm = true,
				     .seq = PEER_ISN + 1,
				     .ack = PRI_ISN + 1,
				     .flags = COLO_TCP_ACK };

/*
 * The VM accepts: its SYN-ACK out (untouched), the peer's first ACK in,
 * which teaches the offsets and is rewritten itself.
 */
static void accept_conn(struct rig *r, bool v6, uint16_t port)
{
	struct seg synack = vm_synack, ack = peer_ack, want;
	uint8_t o1[40], o2[40], o3[40];

	synack.opts = o1;
	synack.optlen = opts(o1, VM_TS, PEER_TS, NULL, 0);
	ack.opts = o2;
	ack.optlen = opts(o2, PEER_TS + 1, PRI_TS, NULL, 0);
	synack.ipv6_vlan = ack.ipv6_vlan = v6;
	synack.port = ack.port = port;
	want = ack;
	want.ack = VM_ISN + 1;
	want.opts = o3;
	opts(o3, PEER_TS + 1, VM_TS, NULL, 0);
	CHECK(pass(r, &synack, NULL));
	CHECK(pass(r, &ack, &want));
}

TEST(accepted_connection_learns_and_maps_both_ways)
{
	uint8_t o[40], w[40];
	uint32_t sack[2];
	struct colo_rw_stats st;
	struct seg in, want;
	struct rig r;

	RIG_UP(&r, 64);
	accept_conn(&r, false, 0);
	/* the VM's data: seq and TSval into the primary's spaces */
	in = (struct seg){ .seq = VM_ISN + 1,
			   .ack = PEER_ISN + 1,
			   .flags = COLO_TCP_ACK | 0x08,
			   .opts = o,
			   .optlen = opts(o, VM_TS + 10, PEER_TS + 1, NULL, 0),
			   .len = 300 };
	want = in;
	want.seq = PRI_ISN + 1;
	want.opts = w;
	opts(w, PRI_TS + 10, PEER_TS + 1, NULL, 0);
	CHECK(pass(&r, &in, &want));
	/* the peer acknowledges 100 and SACKs 200..300 */
	sack[0] = PRI_ISN + 201;
	sack[1] = PRI_ISN + 301;
	in = (struct seg){ .to_vm = true,
			   .seq = PEER_ISN + 1,
			   .ack = PRI_ISN + 101,
			   .flags = COLO_TCP_ACK,
			   .opts = o,
			   .optlen =
				   opts(o, PEER_TS + 2, PRI_TS + 10, sack, 1) };
	want = in;
	want.ack = VM_ISN + 101;
	sack[0] += SEQ_OFF;
	sack[1] += SEQ_OFF;
	want.opts = w;
	opts(w, PEER_TS + 2, VM_TS + 10, sack, 1);
	CHECK(pass(&r, &in, &want));
	st = stats(&r);
	CHECK_EQ(st.learned_accepted, 1);
	CHECK_EQ(st.seqs_mapped, 1);
	CHECK_EQ(st.acks_mapped, 2);
	CHECK_EQ(st.sack_outside + st.sack_wrapped, 0);
	CHECK_EQ(st.to_vm, 2);
	CHECK_EQ(st.to_link, 2);
	rig_down(&r);
}

/*
 * The VM opens: its SYN out (untouched), the SYN-ACK answering the
 * primary's SYN in: its ack is the primary's ISN + 1 and its TSecr the
 * primary's SYN's TSval, which teach the offsets.
 */
TEST(opened_connection_learns_from_the_syn_ack)
{
	uint8_t o[40], w[40];
	struct colo_rw_stats st;
	struct seg in, want;
	struct rig r;

	RIG_UP(&r, 64);
	in = (struct seg){ .seq = VM_ISN,
			   .flags = COLO_TCP_SYN,
			   .opts = o,
			   .optlen = opts(o, VM_TS, 0, NULL, 0) };
	CHECK(pass(&r, &in, NULL));
	in = (struct seg){ .to_vm = true,
			   .seq = PEER_ISN,
			   .ack = PRI_ISN + 1,
			   .flags = COLO_TCP_SYN | COLO_TCP_ACK,
			   .opts = o,
			   .optlen = opts(o, PEER_TS, PRI_TS, NULL, 0) };
	want = in;
	want.ack = VM_ISN + 1;
	want.opts = w;
	opts(w, PEER_TS, VM_TS, NULL, 0);
	CHECK(pass(&r, &in, &want));
	/* the VM's ACK with its first data, in the primary's spaces */
	in = (struct seg){ .seq = VM_ISN + 1,
			   .ack = PEER_ISN + 1,
			   .flags = COLO_TCP_ACK,
			   .opts = o,
			   .optlen = opts(o, VM_TS + 3, PEER_TS, NULL, 0),
			   .len = 100 };
	want = in;
	want.seq = PRI_ISN + 1;
	want.opts = w;
	opts(w, PRI_TS + 3, PEER_TS, NULL, 0);
	CHECK(pass(&r, &in, &want));
	st = stats(&r);
	CHECK_EQ(st.learned_opened, 1);
	CHECK_EQ(st.learned_accepted, 0);
	CHECK_EQ(st.seqs_mapped, 1);
	CHECK_EQ(st.acks_mapped, 1);
	/* refused: the RST+ACK answering a SYN teaches, maps, closes */
	in = (struct seg){ .seq = VM_ISN,
			   .flags = COLO_TCP_SYN,
			   .port = PEER_PORT + 1 };
	CHECK(pass(&r, &in, NULL));
	in = (struct seg){ .to_vm = true,
			   .ack = PRI_ISN + 1,
			   .flags = COLO_TCP_RST | COLO_TCP_ACK,
			   .port = PEER_PORT + 1 };
	CHECK(pass_ack(&r, &in, VM_ISN + 1));
	st = stats(&r);
	CHECK_EQ(st.learned_opened, 2);
	CHECK_EQ(st.closed, 1);
	rig_down(&r);
}

TEST(ipv6_with_a_vlan_tag)
{
	uint8_t o[40], w[40];
	struct seg in, want;
	struct rig r;

	RIG_UP(&r, 64);
	accept_conn(&r, true, 0);
	in = (struct seg){ .seq = VM_ISN + 1,
			   .ack = PEER_ISN + 1,
			   .flags = COLO_TCP_ACK,
			   .opts = o,
			   .optlen = opts(o, VM_TS + 1, PEER_TS + 1, NULL, 0),
			   .len = 10,
			   .ipv6_vlan = true };
	want = in;
	want.seq = PRI_ISN + 1;
	want.opts = w;
	opts(w, PRI_TS + 1, PEER_TS + 1, NULL, 0);
	CHECK(pass(&r, &in, &want));
	/* the same ports over IPv4, untagged: another connection, unknown */
	in.ipv6_vlan = false;
	CHECK(pass(&r, &in, NULL));
	CHECK_EQ(stats(&r).untracked, 1);
	rig_down(&r);
}

/*
 * Options the wire allows at any alignment: a field at an odd offset
 * from the TCP header straddles checksum words.
 */
TEST(options_at_odd_offsets)
{
	uint8_t o[40] = { 1, 8, 10 }, w[40];
	struct seg in, want;
	uint32_t v[] = { PEER_TS + 5, PRI_TS + 7, PRI_ISN + 1, PRI_ISN + 50 };
	uint32_t m[] = { PEER_TS + 5, VM_TS + 7, VM_ISN + 1, VM_ISN + 50 };
	struct rig r;
	int i, b;

	RIG_UP(&r, 64);
	accept_conn(&r, false, 0);
	/* NOP TS NOP SACK(1) NOP NOP NOP: TSval at 23, the block at 35 */
	for (i = 0; i < 2; i++)
		for (b = 0; b < 4; b++)
			o[3 + 4 * i + b] = v[i] >> (24 - 8 * b);
	o[11] = 1;
	o[12] = 5;
	o[13] = 10;
	for (i = 0; i < 2; i++)
		for (b = 0; b < 4; b++)
			o[14 + 4 * i + b] = v[2 + i] >> (24 - 8 * b);
	o[22] = o[23] = 1;
	memcpy(w, o, 24);
	for (i = 0; i < 2; i++)
		for (b = 0; b < 4; b++) {
			w[3 + 4 * i + b] = m[i] >> (24 - 8 * b);
			w[14 + 4 * i + b] = m[2 + i] >> (24 - 8 * b);
		}
	in = (struct seg){ .to_vm = true,
			   .seq = PEER_ISN + 1,
			   .ack = PRI_ISN + 1,
			   .flags = COLO_TCP_ACK,
			   .opts = o,
			   .optlen = 24,
			   .len = 33 };
	want = in;
	want.ack = VM_ISN + 1;
	want.opts = w;
	CHECK(pass(&r, &in, &want));
	rig_down(&r);
}

/*
 * Options as Linux reads them: mapped up to the one that runs past the
 * header (or is shorter than 2), the rest as it is; a timestamp option
 * of another length is no timestamp; counted.
 */
TEST(options_past_the_header)
{
	static const struct {
		const char *name;
		uint8_t bad[4];
		uint64_t counted;
	} cases[] = {
		{ "length past the header", { 30, 9, 0, 0 }, 1 },
		{ "length 0", { 30, 0, 0, 0 }, 1 },
		{ "length 1", { 30, 1, 0, 0 }, 1 },
		{ "kind alone at the end", { 1, 1, 1, 30 }, 1 },
		{ "timestamp of length 6", { 8, 4, 0, 0 }, 0 },
	};
	uint8_t o[40], w[40];
	struct seg in, want;
	uint64_t before;
	struct rig r;
	size_t c;

	RIG_UP(&r, 64);
	accept_conn(&r, false, 0);
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		fprintf(stderr, "  case: %s\n", cases[c].name);
		opts(o, PEER_TS + 9, PRI_TS + 9, NULL, 0);
		opts(w, PEER_TS + 9, VM_TS + 9, NULL, 0);
		memcpy(o + 12, cases[c].bad, 4);
		memcpy(w + 12, cases[c].bad, 4);
		in = (struct seg){ .to_vm = true,
				   .seq = PEER_ISN + 1,
				   .ack = PRI_ISN + 1,
				   .flags = COLO_TCP_ACK,
				   .opts = o,
				   .optlen = 16 };
		want = in;
		want.ack = VM_ISN + 1;
		want.opts = w;
		before = stats(&r).bad_options;
		CHECK(pass(&r, &in, &want));
		CHECK_EQ(stats(&r).bad_options - before, cases[c].counted);
	}
	/* a bad option first: nothing after it is read */
	o[0] = 30;
	o[1] = 41;
	memcpy(w, o, 16);
	in.opts = o;
	want.opts = w;
	CHECK(pass(&r, &in, &want));
	rig_down(&r);
}

/* SACK blocks that wrap or lie outside: mapped all the same, counted. */
TEST(sack_blocks_that_wrap_or_lie_outside)
{
	uint32_t blocks[6] = {
		PRI_ISN + 50,
		PRI_ISN + 40, /* wraps: left after right */
		PRI_ISN + 50,
		PRI_ISN + 500, /* past what the VM sent */
		PRI_ISN - 0x50000000u,
		PRI_ISN - 0x4fffff00u, /* far below */
	};
	uint32_t mapped[6];
	uint8_t o[40], w[40];
	struct colo_rw_stats st;
	struct seg in, want;
	struct rig r;
	int i;

	RIG_UP(&r, 64);
	accept_conn(&r, false, 0);
	for (i = 0; i < 6; i++)
		mapped[i] = blocks[i] + SEQ_OFF;
	in = (struct seg){ .to_vm = true,
			   .seq = PEER_ISN + 1,
			   .ack = PRI_ISN + 1,
			   .flags = COLO_TCP_ACK,
			   .opts = o,
			   .optlen = opts(o, PEER_TS, PRI_TS, blocks, 3) };
	want = in;
	want.ack = VM_ISN + 1;
	want.opts = w;
	opts(w, PEER_TS, VM_TS, mapped, 3);
	CHECK(pass(&r, &in, &want));
	st = stats(&r);
	CHECK_EQ(st.sack_wrapped, 1);
	CHECK_EQ(st.sack_outside, 2);
	rig_down(&r);
}

/* A connection that is not tracked is never rewritten, nor made. */
TEST(unknown_connections_pass_as_they_are)
{
	static const uint8_t flags[] = { COLO_TCP_RST,
					 COLO_TCP_FIN | COLO_TCP_ACK,
					 COLO_TCP_RST | COLO_TCP_ACK,
					 COLO_TCP_ACK };
	struct colo_rw_stats st;
	struct seg in;
	struct rig r;
	size_t i;

	RIG_UP(&r, 64);
	for (i = 0; i < sizeof(flags); i++) {
		in = (struct seg){
			.to_vm = true, .seq = 1, .ack = 2, .flags = flags[i]
		};
		CHECK(pass(&r, &in, NULL));
		in.to_vm = false;
		CHECK(pass(&r, &in, NULL));
	}
	/* the peer's SYN makes nothing: only the VM's answers do */
	in = (struct seg){ .to_vm = true, .seq = 1, .flags = COLO_TCP_SYN };
	CHECK(pass(&r, &in, NULL));
	st = stats(&r);
	CHECK_EQ(st.unknown_rst_fin, 6);
	CHECK_EQ(st.untracked, 3);
	CHECK_EQ(nconns(&r), 0);
	rig_down(&r);
}

/*
 * The peer's ACK that teaches must answer the VM's SYN-ACK: its sequence
 * number is the peer's ISN + 1. Another is stale, or forged: refused.
 */
TEST(an_ack_that_does_not_answer_is_refused)
{
	struct seg ack = peer_ack, want;
	struct rig r;

	RIG_UP(&r, 64);
	CHECK(pass(&r, &vm_synack, NULL));
	ack.seq = PEER_ISN + 7;
	CHECK(pass(&r, &ack, NULL));
	CHECK_EQ(stats(&r).learn_refused, 1);
	/* until it is learned, the VM's segments go as they are */
	want = vm_synack;
	want.flags = COLO_TCP_ACK;
	want.seq = VM_ISN + 1;
	CHECK(pass(&r, &want, NULL));
	CHECK_EQ(stats(&r).not_learned, 1);
	ack.seq = PEER_ISN + 1;
	CHECK(pass_ack(&r, &ack, VM_ISN + 1));
	CHECK_EQ(stats(&r).learned_accepted, 1);
	rig_down(&r);
}

/*
 * A retransmitted SYN-ACK keeps what was learned; a SYN-ACK with another
 * ISN is a new connection on the same ports: learned anew.
 */
TEST(retransmitted_syn_ack_and_port_reuse)
{
	struct seg synack = vm_synack, ack = peer_ack;
	struct rig r;

	RIG_UP(&r, 64);
	CHECK(pass(&r, &synack, NULL));
	CHECK(pass(&r, &synack, NULL));
	CHECK(pass_ack(&r, &ack, VM_ISN + 1));
	/* after learning, a repeat of the SYN-ACK is the primary's too */
	CHECK(pass_seq(&r, &synack, PRI_ISN));
	/* the ports again, with a new ISN: the old offsets are gone */
	synack.seq = VM_ISN + 0x1000;
	CHECK(pass(&r, &synack, NULL));
	ack.ack = PRI_ISN + 0x2001;
	CHECK(pass_ack(&r, &ack, VM_ISN + 0x1001));
	CHECK_EQ(stats(&r).learned_accepted, 2);
	rig_down(&r);
}

/*
 * A SYN flood fills the table through the VM's answers: a connection
 * beyond its room is counted and never rewritten; the half-open ones
 * expire and the table takes new connections again.
 */
TEST(syn_flood_fills_the_table_and_it_recovers)
{
	struct colo_rw_sweep_stats sw;
	struct seg synack = vm_synack, ack = peer_ack;
	uint32_t epoch = 0;
	struct rig r;
	int i;

	RIG_UP(&r, 8);
	for (i = 0; i < 10; i++) {
		synack.seq = VM_ISN + i;
		synack.port = 1000 + i;
		CHECK(pass(&r, &synack, NULL));
	}
	CHECK_EQ(nconns(&r), 8);
	CHECK_EQ(stats(&r).table_full, 2);
	/* the one that found no room: its ACK goes as it is */
	ack.port = 1009;
	CHECK(pass(&r, &ack, NULL));
	CHECK_EQ(stats(&r).untracked, 1);
	/* a tracked one learns as ever, and outlives the sweep */
	ack.port = 1000;
	CHECK(pass_ack(&r, &ack, VM_ISN + 1));
	sw = sweep_after(&r, epoch, r.t.syn_ms / 2);
	CHECK_EQ(sw.expired_handshake, 0);
	sw = sweep_after(&r, epoch, r.t.syn_ms + 100);
	CHECK_EQ(sw.expired_handshake, 7);
	CHECK_EQ(sw.conns, 1);
	CHECK_EQ(nconns(&r), 1);
	synack.port = 2000;
	CHECK(pass(&r, &synack, NULL));
	CHECK_EQ(nconns(&r), 2);
	CHECK_EQ(stats(&r).table_full, 2);
	rig_down(&r);
}

/*
 * A checkpoint makes the secondary a copy of the primary: every offset
 * 0, as no entry. A bumped epoch does that at once; the sweep removes
 * the stale entries; new handshakes learn anew.
 */
TEST(a_checkpoint_clears_every_offset)
{
	struct colo_rw_sweep_stats sw;
	struct seg in;
	uint32_t epoch;
	struct rig r;

	RIG_UP(&r, 64);
	accept_conn(&r, false, 0);
	epoch = epoch_bump(&r);
	in = (struct seg){ .to_vm = true,
			   .seq = PEER_ISN + 1,
			   .ack = VM_ISN + 1,
			   .flags = COLO_TCP_ACK };
	CHECK(pass(&r, &in, NULL));
	in = (struct seg){ .seq = VM_ISN + 1,
			   .ack = PEER_ISN + 1,
			   .flags = COLO_TCP_ACK,
			   .len = 10 };
	CHECK(pass(&r, &in, NULL));
	CHECK_EQ(stats(&r).untracked, 2);
	sw = sweep_after(&r, epoch, 0);
	CHECK_EQ(sw.expired_stale, 1);
	CHECK_EQ(nconns(&r), 0);
	accept_conn(&r, false, 0);
	CHECK_EQ(stats(&r).learned_accepted, 2);
	rig_down(&r);
}

/* The pair's frame from run (colo_pair.h), spoilt as kind says. */
static int pair_frame(uint8_t *buf, uint64_t token, uint64_t seq,
		      const char *kind)
{
	struct colo_pair_msg m = { .magic = htobe32(COLO_PAIR_MAGIC),
				   .version = COLO_PAIR_VERSION,
				   .type = COLO_PAIR_CHECKPOINT_DONE,
				   .len = htobe16(sizeof(m)),
				   .token = htobe64(token),
				   .seq = htobe64(seq) };

	memset(buf, 0xff, 6);
	memcpy(buf + 6, peer_mac, 6);
	buf[12] = COLO_PAIR_ETHERTYPE >> 8;
	buf[13] = COLO_PAIR_ETHERTYPE & 0xff;
	if (!strcmp(kind, "version"))
		m.version++;
	else if (!strcmp(kind, "type"))
		m.type++;
	else if (!strcmp(kind, "len"))
		m.len = htobe16(sizeof(m) + 1);
	memcpy(buf + 14, &m, sizeof(m));
	return !strcmp(kind, "short") ? 14 + (int)sizeof(m) - 1 :
					14 + (int)sizeof(m);
}

/*
 * run's frame on the link bumps the epoch in the kernel: the connection
 * learned before passes untouched. Its copies, a wrong token, version,
 * type or length, a frame cut short: dropped, counted, nothing cleared.
 */
TEST(pair_frames_clear_every_offset)
{
	static const char *const bad[] = { "version", "type", "len", "short" };
	uint8_t a[MAX_FRAME], out[MAX_FRAME];
	struct colo_rw_config cfg;
	struct colo_rw_stats st;
	struct seg in;
	uint32_t olen, i;
	__u32 zero = 0;
	struct rig r;
	int len;

	RIG_UP(&r, 64);
	bpf_map_lookup_elem(r.cfg_fd, &zero, &cfg);
	cfg.pair_token = htobe64(0xc01d);
	bpf_map_update_elem(r.cfg_fd, &zero, &cfg, 0);
	accept_conn(&r, false, 0);
	len = pair_frame(a, 0xbad, 7, "ok");
	CHECK_EQ(run_raw(&r, true, a, len, out, &olen), XDP_DROP);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		len = pair_frame(a, 0xc01d, 7, bad[i]);
		CHECK_EQ(run_raw(&r, true, a, len, out, &olen), XDP_DROP);
	}
	CHECK_EQ(rewrite_epoch(r.rw), 0);
	CHECK_EQ(stats(&r).pair_refused, 5);
	len = pair_frame(a, 0xc01d, 7, "ok");
	for (i = 0; i < COLO_PAIR_COPIES; i++)
		CHECK_EQ(run_raw(&r, true, a, len, out, &olen), XDP_DROP);
	CHECK_EQ(rewrite_epoch(r.rw), 1);
	st = stats(&r);
	CHECK_EQ(st.pair_checkpoints, 1);
	CHECK_EQ(st.pair_duplicates, COLO_PAIR_COPIES - 1);
	CHECK_EQ(st.to_vm, 1); /* accept_conn's ACK; no pair frame */
	in = (struct seg){ .to_vm = true,
			   .seq = PEER_ISN + 1,
			   .ack = VM_ISN + 1,
			   .flags = COLO_TCP_ACK };
	CHECK(pass(&r, &in, NULL));
	CHECK_EQ(stats(&r).untracked, 1);
	/* the next message clears again; what was learned since goes */
	accept_conn(&r, false, 0);
	len = pair_frame(a, 0xc01d, 8, "ok");
	CHECK_EQ(run_raw(&r, true, a, len, out, &olen), XDP_DROP);
	CHECK_EQ(rewrite_epoch(r.rw), 2);
	rig_down(&r);
}

/*
 * Failover: the tracked connection is still mapped both ways; a new one
 * is not tracked, its segments pass as they are.
 */
TEST(failover_keeps_tracked_and_passes_new)
{
	struct seg in, synack = vm_synack;
	uint64_t ns;
	struct rig r;

	RIG_UP(&r, 64);
	accept_conn(&r, false, 0);
	CHECK_EQ(rewrite_failover(r.rw, &ns), 0);
	CHECK_EQ(rewrite_failover(r.rw, &ns), -EALREADY);
	CHECK(rewrite_in_failover(r.rw));
	in = (struct seg){ .seq = VM_ISN + 1,
			   .ack = PEER_ISN + 1,
			   .flags = COLO_TCP_ACK,
			   .len = 10 };
	CHECK(pass_seq(&r, &in, PRI_ISN + 1));
	in = (struct seg){ .to_vm = true,
			   .seq = PEER_ISN + 1,
			   .ack = PRI_ISN + 11,
			   .flags = COLO_TCP_ACK };
	CHECK(pass_ack(&r, &in, VM_ISN + 11));
	synack.port = 1;
	CHECK(pass(&r, &synack, NULL));
	CHECK_EQ(stats(&r).failover_untracked, 1);
	CHECK_EQ(nconns(&r), 1);
	rig_down(&r);
}

/*
 * FIN from both sides, or a RST, closes a connection; it is still
 * rewritten until the close timeout. A learned one expires when idle.
 */
TEST(closed_and_idle_connections_expire)
{
	struct colo_rw_sweep_stats sw;
	struct seg in;
	struct rig r;

	RIG_UP(&r, 64);
	accept_conn(&r, false, 0);
	accept_conn(&r, false, PEER_PORT + 1);
	accept_conn(&r, false, PEER_PORT + 2);
	/* FINs on the first */
	in = (struct seg){ .seq = VM_ISN + 1,
			   .ack = PEER_ISN + 1,
			   .flags = COLO_TCP_FIN | COLO_TCP_ACK };
	CHECK(pass_seq(&r, &in, PRI_ISN + 1));
	CHECK_EQ(stats(&r).closed, 0);
	in = (struct seg){ .to_vm = true,
			   .seq = PEER_ISN + 1,
			   .ack = PRI_ISN + 2,
			   .flags = COLO_TCP_FIN | COLO_TCP_ACK };
	CHECK(pass_ack(&r, &in, VM_ISN + 2));
	CHECK_EQ(stats(&r).closed, 1);
	/* the last ACK, after the close: still mapped */
	in = (struct seg){ .seq = VM_ISN + 2,
			   .ack = PEER_ISN + 2,
			   .flags = COLO_TCP_ACK };
	CHECK(pass_seq(&r, &in, PRI_ISN + 2));
	/* a RST from the peer closes the second */
	in = (struct seg){ .to_vm = true,
			   .seq = PEER_ISN + 1,
			   .flags = COLO_TCP_RST,
			   .port = PEER_PORT + 1 };
	CHECK(pass(&r, &in, NULL));
	CHECK_EQ(stats(&r).closed, 2);
	sw = sweep_after(&r, 0, r.t.close_ms / 2);
	CHECK_EQ(sw.expired_closed, 0);
	sw = sweep_after(&r, 0, r.t.close_ms + 100);
	CHECK_EQ(sw.expired_closed, 2);
	CHECK_EQ(sw.conns, 1);
	sw = sweep_after(&r, 0, r.t.idle_ms + 100);
	CHECK_EQ(sw.expired_idle, 1);
	CHECK_EQ(nconns(&r), 0);
	rig_down(&r);
}

/*
 * The link's frames by their destination: the link's own address is the
 * host's; a group address and the VM's go to the VM; any other unicast
 * address, once the VM's are known, was not sent by the primary's mirror.
 */
TEST(link_frames_not_from_the_primary)
{
	uint8_t link_mac[6], a[MAX_FRAME], out[MAX_FRAME];
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	struct colo_rw_config cfg;
	struct colo_rw_stats st;
	struct seg in = { .to_vm = true, .seq = 1, .flags = COLO_TCP_ACK };
	uint32_t olen;
	__u32 zero = 0;
	struct rig r;
	int len;

	RIG_UP(&r, 64);
	bpf_map_lookup_elem(r.cfg_fd, &zero, &cfg);
	memcpy(link_mac, cfg.link_mac, 6);
	/* nothing learned yet: it cannot tell */
	in.dmac = other_mac;
	CHECK(pass(&r, &in, NULL));
	in.dmac = link_mac;
	len = build(&in, a);
	CHECK_EQ(run_raw(&r, true, a, len, out, &olen), XDP_PASS);
	/* the VM speaks: its address is known */
	CHECK(pass(&r, &(struct seg){ .seq = 1, .flags = COLO_TCP_ACK }, NULL));
	in.dmac = other_mac;
	len = build(&in, a);
	CHECK_EQ(run_raw(&r, true, a, len, out, &olen), XDP_DROP);
	in.dmac = bcast;
	CHECK(pass(&r, &in, NULL));
	in.dmac = NULL;
	CHECK(pass(&r, &in, NULL));
	st = stats(&r);
	CHECK_EQ(st.to_host, 1);
	CHECK_EQ(st.foreign, 1);
	CHECK_EQ(st.to_vm, 3);
	rig_down(&r);
}

/*
 * Frames that claim IP but whose headers do not fit, or that are not
 * TCP: passed as they are, both ways; the first are counted.
 */
TEST(malformed_and_other_frames_pass_as_they_are)
{
	struct frame_spec udp = {
		.proto = 17, .sport = 1, .dport = 2, .dmac = vm_mac
	};
	struct frame_spec arp = { .l3 = FRAME_ARP, .dmac = vm_mac };
	uint8_t a[MAX_FRAME], out[MAX_FRAME];
	struct seg in = { .seq = 1, .ack = 1, .flags = COLO_TCP_ACK, .len = 20 };
	int len, dir, cut;
	uint32_t olen;
	struct rig r;

	RIG_UP(&r, 64);
	accept_conn(&r, false, 0);
	for (dir = 0; dir < 2; dir++) {
		in.to_vm = dir;
		in.seq = dir ? PEER_ISN + 1 : VM_ISN + 1;
		in.ack = dir ? PRI_ISN + 1 : PEER_ISN + 1;
		/*
		 * Every cut of a tracked segment short of its TCP header;
		 * BPF_PROG_RUN of a tc program wants the IP header whole.
		 */
		for (cut = dir ? 14 : 14 + 20; cut < 14 + 20 + 20; cut++) {
			len = build(&in, a);
			len = cut;
			CHECK_EQ(run_raw(&r, dir, a, len, out, &olen),
				 verdict_of(dir));
			CHECK(olen == (uint32_t)len && !memcmp(a, out, len));
		}
		/* a data offset past the IP packet */
		len = build(&in, a);
		a[14 + 20 + 12] = 0xf0;
		CHECK_EQ(run_raw(&r, dir, a, 14 + 20 + 40, out, &olen),
			 verdict_of(dir));
		CHECK(!memcmp(a, out, 14 + 20 + 40));
		len = frame_build(&udp, a, sizeof(a));
		CHECK_EQ(run_raw(&r, dir, a, len, out, &olen), verdict_of(dir));
		CHECK(!memcmp(a, out, len));
		len = frame_build(&arp, a, sizeof(a));
		CHECK_EQ(run_raw(&r, dir, a, len, out, &olen), verdict_of(dir));
		CHECK(!memcmp(a, out, len));
	}
	CHECK_EQ(stats(&r).malformed, (20 + 20 + 1) + (20 + 1));
	CHECK_EQ(stats(&r).acks_mapped + stats(&r).seqs_mapped, 1);
	rig_down(&r);
}

/* A second agent, and bad interfaces: refused, nothing left behind. */
TEST(open_refuses_with_a_fix)
{
	struct rewrite_opts o = { .max_conns = 16 };
	struct rewrite *rw2 = NULL;
	struct rig r;

	RIG_UP(&r, 64);
	o.vm = r.vm;
	o.link = r.link;
	CHECK_EQ(rewrite_open(&o, &rw2), -EBUSY);
	o.vm = "cxnosuchif";
	CHECK_EQ(rewrite_open(&o, &rw2), -ENODEV);
	o.vm = r.link;
	CHECK_EQ(rewrite_open(&o, &rw2), -EINVAL);
	CHECK(!rw2);
	CHECK(access(rewrite_pin_path(r.rw), F_OK) == 0);
	CHECK(access(COLO_PIN_ROOT "/" SECONDARY_PIN_PREFIX "cxnosuchif",
		     F_OK) != 0);
	rig_down(&r);
}

/* The id of the program behind fd; 0 if none. */
static __u32 prog_id(int fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	return fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len) ? info.id :
								     0;
}

/*
 * An agent in a child process, on o: its pid once it has opened, or -1.
 * The caller SIGKILLs it (kill_agent()), and what it attached and pinned
 * stays.
 */
static pid_t agent_in_child(const struct rewrite_opts *o)
{
	struct rewrite *rw;
	int sync[2];
	pid_t child;
	char c = 0;

	if (pipe(sync))
		return -1;
	child = fork();
	if (!child) {
		c = !rewrite_open(o, &rw);
		if (write(sync[1], &c, 1) == 1 && c)
			pause();
		_exit(1);
	}
	close(sync[1]);
	if (child > 0 && (read(sync[0], &c, 1) != 1 || !c)) {
		waitpid(child, NULL, 0);
		child = -1;
	}
	close(sync[0]);
	return child;
}

static void kill_agent(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/*
 * An agent killed (a child that opened and then got SIGKILL) leaves its
 * programs rewriting; a restart on the same interfaces takes them over,
 * attached as they are, the connection's offsets and the counters kept; one of other
 * interfaces or another table size is refused, the dead agent's instance
 * left as it was; a live one is refused.
 */
TEST(a_restart_takes_over_a_killed_agent)
{
	struct rewrite_opts o = { .max_conns = 64 };
	struct seg ack = peer_ack, data = { .seq = VM_ISN + 1,
					    .ack = PEER_ISN + 1,
					    .flags = COLO_TCP_ACK,
					    .len = 100 };
	char pins[PATH_MAX], other[IF_NAMESIZE];
	struct rewrite *rw2 = NULL;
	__u32 in_id, out_id;
	struct rig r;
	pid_t child;
	int fd;

	SKIP_UNLESS_ROOT();
	if (rig_links(&r)) {
		CHECK(!"rig up");
		rig_down(&r);
		return;
	}
	o.vm = r.vm;
	o.link = r.link;
	child = agent_in_child(&o);
	CHECK(child > 0);
	snprintf(pins, sizeof(pins), "%s/%s%s", COLO_PIN_ROOT,
		 SECONDARY_PIN_PREFIX, r.vm);
	CHECK_EQ(rig_fds(&r, pins), 0);
	accept_conn(&r, false, 0);
	kill_agent(child);
	in_id = prog_id(r.in_fd);
	out_id = prog_id(r.out_fd);

	/* nobody sweeps now, but the programs stay, rewriting as before */
	fd = prog_of_xdp(r.link_ifindex);
	CHECK_EQ(prog_id(fd), in_id);
	close_fd(&fd);
	CHECK(pass_seq(&r, &data, PRI_ISN + 1));

	/* refused, the dead agent's left as it was */
	o.max_conns = 128;
	CHECK_EQ(rewrite_open(&o, &rw2), -EINVAL);
	o.max_conns = 64;
	snprintf(other, sizeof(other), "cx%dro", getpid() % 100000);
	CHECK_EQ(
		test_sh("ip link add %s type veth peer name %sx && ip link set %s up",
			other, other, other),
		0);
	o.vm = other;
	o.pin_path = pins;
	CHECK_EQ(rewrite_open(&o, &rw2), -EBUSY);
	test_sh("ip link del %s", other);
	o.vm = r.vm;
	o.pin_path = NULL;
	CHECK(!rw2);
	CHECK_EQ(rig_fds(&r, pins), 0);
	CHECK_EQ(prog_id(r.in_fd), in_id);
	CHECK_EQ(prog_id(r.out_fd), out_id);

	/* taken over: its programs stay, on the same table and counters */
	CHECK_EQ(rewrite_open(&o, &r.rw), 0);
	CHECK_EQ(rewrite_took_over(r.rw), (uint32_t)child);
	CHECK_EQ(rig_fds(&r, pins), 0);
	CHECK_EQ(prog_id(r.in_fd), in_id);
	CHECK_EQ(prog_id(r.out_fd), out_id);
	CHECK_EQ(nconns(&r), 1);
	CHECK(pass_seq(&r, &data, PRI_ISN + 1));
	ack.seq += 100;
	CHECK(pass_ack(&r, &ack, VM_ISN + 1));
	CHECK_EQ(stats(&r).learned_accepted, 1);
	CHECK_EQ(stats(&r).seqs_mapped, 2);
	CHECK_EQ(stats(&r).acks_mapped, 2);

	/* a live agent's: refused */
	CHECK_EQ(rewrite_open(&o, &rw2), -EBUSY);
	rig_down(&r);
	CHECK(access(pins, F_OK) != 0);
}

/*
 * What a takeover cannot take: the dead agent's programs in the other XDP
 * mode, another --failover-out, its program gone from the link. Each is
 * refused and leaves the pins as they were.
 */
TEST(a_takeover_refuses_what_it_cannot_take)
{
	struct rewrite_opts o = { .max_conns = 64 };
	struct rewrite *rw2 = NULL;
	char pins[PATH_MAX];
	struct rig r;
	pid_t child;

	SKIP_UNLESS_ROOT();
	if (rig_links(&r)) {
		CHECK(!"rig up");
		rig_down(&r);
		return;
	}
	o.vm = r.vm;
	o.link = r.link;
	child = agent_in_child(&o);
	CHECK(child > 0);
	kill_agent(child);
	snprintf(pins, sizeof(pins), "%s/%s%s", COLO_PIN_ROOT,
		 SECONDARY_PIN_PREFIX, r.vm);
	o.skb_mode = true;
	CHECK_EQ(rewrite_open(&o, &rw2), -EINVAL);
	o.skb_mode = false;
	/* the dead agent had none */
	o.failover_out = "lo";
	CHECK_EQ(rewrite_open(&o, &rw2), -EINVAL);
	o.failover_out = NULL;
	CHECK_EQ(test_sh("ip link set dev %s xdp off", r.link), 0);
	CHECK_EQ(rewrite_open(&o, &rw2), -EBUSY);
	CHECK(!rw2);
	CHECK(access(pins, F_OK) == 0);
	test_sh("rm -r %s; rmdir %s 2>/dev/null", pins, COLO_PIN_ROOT);
	rig_down(&r);
}
