// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * colo_steer and its loader on real veth interfaces (needs root):
 * - the attached program's verdicts and counters, run on a corpus of frames
 *   with BPF_PROG_RUN, agree with colo_parse() in userspace;
 * - colo_steer_open() refuses bad interfaces, a foreign program, missing
 *   privileges, with a message naming the interface and the fix, and leaves
 *   nothing attached or pinned;
 * - two instances keep separate maps, pins and counters;
 * - --attach none adopts what `ip link` attached and leaves its pins;
 * - the watchdog: frames to compare fail open (or are held) once the
 *   loader's heartbeat is stale or its socket gone, and go back to the
 *   socket at the next heartbeat;
 * - passthrough rules: their flows' frames are decided in the kernel and
 *   counted per rule, from the next frame after each change;
 * - a killed instance is taken over without detaching its program, and
 *   with its passthrough rules and their counters.
 */
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_link.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/xsk.h>

#include "cli.h"
#include "colo_mirror.h"
#include "colo_out.h"
#include "colo_parse.h"
#include "pass_spec.h"
#include "steer.h"
#include "tc_ingress.h"
#include "test.h"

#define MAX_FRAME 256

/*
 * In a case's own function: every case makes veth pairs and attaches XDP
 * programs, which is root's; not root, it is skipped, saying so.
 */
#define SKIP_UNLESS_ROOT()                                           \
	do {                                                         \
		if (geteuid())                                       \
			SKIP("needs root (%s), running as uid %u",   \
			     "veth pairs, XDP programs, bpffs pins", \
			     (unsigned int)geteuid());               \
	} while (0)

/* Three veth pairs (P, S, O) in the root namespace. */
struct ifset {
	char name[COLO_NR_ROLES][IF_NAMESIZE];
	int ifindex[COLO_NR_ROLES];
};

static int ifset_make(struct ifset *set, const char *tag)
{
	int r;

	for (r = 0; r < COLO_NR_ROLES; r++) {
		snprintf(set->name[r], IF_NAMESIZE, "cx%d%s%c",
			 getpid() % 100000, tag, "pso"[r]);
		/*
		 * Peers stay down: no stray frame disturbs the counters. Two
		 * RX queues: frames of a queue no socket serves exist too.
		 */
		if (test_sh("ip link add %s numrxqueues 2 type veth peer name %sx && ip link set %s up",
			    set->name[r], set->name[r], set->name[r]))
			return -1;
		set->ifindex[r] = if_nametoindex(set->name[r]);
	}
	return 0;
}

static void ifset_del(struct ifset *set)
{
	int r;

	for (r = 0; r < COLO_NR_ROLES; r++)
		test_sh("ip link del %s 2>/dev/null", set->name[r]);
}

static void ifset_opts(const struct ifset *set, struct colo_steer_opts *o)
{
	int r;

	memset(o, 0, sizeof(*o));
	for (r = 0; r < COLO_NR_ROLES; r++)
		o->ifname[r] = set->name[r];
	o->attach = true;
	/* queue 0 only: frames of queue 1 are those no socket serves */
	o->queues = 1;
	/* the verdicts below are colo_devmap's; the host path: e2e-mq.sh */
	o->out_path = COLO_OUT_XDP;
}

/* Veth pairs tagged tag, and an instance on them with run's defaults. */
static int instance_open(struct ifset *set, const char *tag,
			 struct colo_steer **s)
{
	struct colo_steer_opts o;

	if (ifset_make(set, tag)) {
		CHECK(!"creating veth pairs");
		return -1;
	}
	ifset_opts(set, &o);
	CHECK_EQ(colo_steer_open(&o, s), 0);
	return *s ? 0 : -1;
}

static __u32 xdp_prog_id(int ifindex)
{
	__u32 id = 0;

	bpf_xdp_query_id(ifindex, 0, &id);
	return id;
}

static bool exists(const char *path)
{
	struct stat st;

	return !stat(path, &st);
}

static void pin_dir(const struct ifset *set, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", COLO_PIN_ROOT,
		 set->name[COLO_ROLE_PRIMARY]);
}

/* colo_steer_open() with its stderr caught in msg. */
static int open_caught(const struct colo_steer_opts *o, struct colo_steer **s,
		       char *msg, size_t len)
{
	FILE *f = tmpfile();
	int saved, err;
	size_t n;

	fflush(stderr);
	saved = dup(2);
	dup2(fileno(f), 2);
	err = colo_steer_open(o, s);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(f);
	n = fread(msg, 1, len - 1, f);
	msg[n] = 0;
	fclose(f);
	return err;
}

/* The colo_steer instance's program, as attached to the primary. */
static int prog_fd_of(int ifindex)
{
	__u32 id = xdp_prog_id(ifindex);

	return id ? bpf_prog_get_fd_by_id(id) : -1;
}

static int run_frame_q(int prog_fd, int ifindex, __u32 queue, const void *frame,
		       __u32 len)
{
	/* data_end must be the frame length, or the program sees none */
	struct xdp_md ctx = { .ingress_ifindex = ifindex,
			      .rx_queue_index = queue,
			      .data_end = len };
	__u8 out[MAX_FRAME + 64];
	LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = frame, .data_size_in = len,
		    .data_out = out, .data_size_out = sizeof(out),
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx));
	int err;

	err = bpf_prog_test_run_opts(prog_fd, &t);
	return err ? err : (int)t.retval;
}

static int run_frame(int prog_fd, int ifindex, const void *frame, __u32 len)
{
	return run_frame_q(prog_fd, ifindex, 0, frame, len);
}

/* Frame corpus ---------------------------------------------------------- */

struct frame {
	const char *name;
	__u8 b[MAX_FRAME];
	__u32 len;
};

static __u32 put_eth(__u8 *b, __u16 proto, int vlans)
{
	__u32 off = 12;
	int i;

	memset(b, 0, 12);
	b[0] = 0x02;
	b[6] = 0x02;
	b[11] = 1;
	for (i = 0; i < vlans; i++) {
		b[off] = 0x81;
		b[off + 1] = 0;
		b[off + 2] = 0;
		b[off + 3] = 10 + i;
		off += 4;
	}
	b[off] = proto >> 8;
	b[off + 1] = proto & 0xff;
	return off + 2;
}

/* IPv4 header and an L4 part of l4len bytes of pattern; fragment if frag */
static __u32 put_ip4(__u8 *b, __u32 off, __u8 proto, __u32 l4len, bool frag)
{
	__u8 *ip = b + off;
	__u32 i, tot = 20 + l4len;

	memset(ip, 0, 20);
	ip[0] = 0x45;
	ip[2] = tot >> 8;
	ip[3] = tot & 0xff;
	ip[6] = frag ? 0x20 : 0x40; /* MF, or DF */
	ip[8] = 64;
	ip[9] = proto;
	ip[12] = 10;
	ip[15] = 1;
	ip[16] = 10;
	ip[19] = 2;
	for (i = 0; i < l4len; i++)
		ip[20 + i] = (__u8)(i * 7 + 1);
	if (proto == 6)
		ip[20 + 12] = 0x50; /* TCP data offset 20 */
	return off + tot;
}

/* IPv6 with the given extension header chain (next header values) */
static __u32 put_ip6(__u8 *b, __u32 off, const __u8 *ext, int next, __u8 proto,
		     __u32 l4len)
{
	__u8 *ip = b + off;
	__u32 i, plen = next * 8 + l4len, p = 40;
	int e;

	memset(ip, 0, 40);
	ip[0] = 0x60;
	ip[4] = plen >> 8;
	ip[5] = plen & 0xff;
	ip[6] = next ? ext[0] : proto;
	ip[7] = 64;
	ip[8] = 0xfd;
	ip[23] = 1;
	ip[24] = 0xfd;
	ip[39] = 2;
	for (e = 0; e < next; e++, p += 8) {
		memset(ip + p, 0, 8);
		ip[p] = e + 1 < next ? ext[e + 1] : proto;
	}
	for (i = 0; i < l4len; i++)
		ip[p + i] = (__u8)(i * 3 + 5);
	if (proto == 6)
		ip[p + 12] = 0x50;
	return off + 40 + plen;
}

/*
 * Random bytes behind the Ethernet header, seeded so that a failure
 * repeats: IPv4 and IPv6 with their version nibble, a VLAN tag, and raw
 * ethertypes, so that the parser is reached past its first checks.
 */
static int random_frames(struct frame *f)
{
	static const __u16 types[] = { 0x0800, 0x86dd, 0x8100, 0x88b5 };
	__u32 seed = 0xc01c0, i;
	int k;

	for (k = 0; k < 8; k++) {
		__u32 o = put_eth(f[k].b, types[k % 4], 0);

		f[k].name = "random";
		f[k].len = 60 + 24 * k;
		for (i = o; i < f[k].len; i++) {
			seed = seed * 1103515245 + 12345;
			f[k].b[i] = seed >> 16;
		}
		if (types[k % 4] == 0x0800)
			f[k].b[o] = 0x40 | (f[k].b[o] & 0xf);
		if (types[k % 4] == 0x86dd)
			f[k].b[o] = 0x60 | (f[k].b[o] & 0xf);
		if (types[k % 4] == 0x8100) { /* IPv4 behind the tag */
			f[k].b[o + 2] = 0x08;
			f[k].b[o + 3] = 0;
		}
	}
	return k;
}

static int corpus(struct frame *f)
{
	static const __u8 hop_rt_dst[] = { 0, 43, 60 };
	static const __u8 frag6[] = { 44 };
	int n = 0;
	__u32 o;

#define ADD(nm, expr)              \
	do {                       \
		f[n].name = nm;    \
		f[n].len = (expr); \
		n++;               \
	} while (0)
	o = put_eth(f[n].b, 0x0806, 0);
	ADD("arp", o + 28);
	o = put_eth(f[n].b, 0x0806, 1);
	ADD("vlan arp", o + 28);
	o = put_eth(f[n].b, 0x88cc, 0);
	ADD("lldp", o + 30);
	o = put_eth(f[n].b, 0x0800, 2);
	ADD("qinq ipv4", put_ip4(f[n].b, o, 17, 12, false));
	o = put_eth(f[n].b, 0x0800, 0);
	ADD("ipv4 tcp", put_ip4(f[n].b, o, 6, 30, false));
	o = put_eth(f[n].b, 0x0800, 0);
	ADD("ipv4 udp", put_ip4(f[n].b, o, 17, 20, false));
	o = put_eth(f[n].b, 0x0800, 0);
	ADD("ipv4 icmp", put_ip4(f[n].b, o, 1, 16, false));
	o = put_eth(f[n].b, 0x0800, 0);
	ADD("ipv4 sctp", put_ip4(f[n].b, o, 132, 16, false));
	o = put_eth(f[n].b, 0x0800, 0);
	ADD("ipv4 esp", put_ip4(f[n].b, o, 50, 16, false));
	o = put_eth(f[n].b, 0x0800, 0);
	ADD("ipv4 ah", put_ip4(f[n].b, o, 51, 16, false));
	o = put_eth(f[n].b, 0x0800, 0);
	ADD("ipv4 gre", put_ip4(f[n].b, o, 47, 8, false));
	o = put_eth(f[n].b, 0x0800, 0);
	ADD("ipv4 fragment", put_ip4(f[n].b, o, 17, 24, true));
	o = put_eth(f[n].b, 0x0800, 1);
	ADD("vlan ipv4 udp", put_ip4(f[n].b, o, 17, 20, false));
	/* Ethernet padding after the IP packet */
	o = put_eth(f[n].b, 0x0800, 0);
	ADD("ipv4 udp padded", put_ip4(f[n].b, o, 17, 8, false) + 18);
	o = put_eth(f[n].b, 0x0800, 0);
	put_ip4(f[n].b, o, 17, 20, false);
	f[n].b[o] = 0x55; /* IP version 5 */
	ADD("ipv4 bad version", o + 40);
	o = put_eth(f[n].b, 0x0800, 0);
	put_ip4(f[n].b, o, 17, 20, false);
	f[n].b[o + 3] += 10; /* total length beyond the frame */
	ADD("ipv4 long total length", o + 40);
	o = put_eth(f[n].b, 0x86dd, 0);
	ADD("ipv6 udp", put_ip6(f[n].b, o, NULL, 0, 17, 20));
	o = put_eth(f[n].b, 0x86dd, 0);
	ADD("ipv6 icmpv6", put_ip6(f[n].b, o, NULL, 0, 58, 16));
	o = put_eth(f[n].b, 0x86dd, 1);
	ADD("vlan ipv6 tcp", put_ip6(f[n].b, o, NULL, 0, 6, 24));
	o = put_eth(f[n].b, 0x86dd, 0);
	ADD("ipv6 hop rt dst tcp", put_ip6(f[n].b, o, hop_rt_dst, 3, 6, 24));
	o = put_eth(f[n].b, 0x86dd, 0);
	ADD("ipv6 fragment", put_ip6(f[n].b, o, frag6, 1, 17, 16));
	/* IHL 7: 8 bytes of options, then TCP */
	o = put_eth(f[n].b, 0x0800, 0);
	put_ip4(f[n].b, o, 6, 8 + 30, false);
	f[n].b[o] = 0x47;
	f[n].b[o + 28 + 12] = 0x50;
	ADD("ipv4 options tcp", o + 20 + 8 + 30);
	/* IHL 15: a 60-byte header inside a 40-byte packet */
	o = put_eth(f[n].b, 0x0800, 0);
	put_ip4(f[n].b, o, 17, 20, false);
	f[n].b[o] = 0x4f;
	ADD("ipv4 ihl past total length", o + 40);
	n += random_frames(f + n);
#undef ADD
	return n;
}

/* What colo_steer must do with a frame of class cls. */
struct verdict {
	int action;
	struct colo_steer_stats delta;
};

static struct verdict expect(int cls, enum colo_role role, bool socket,
			     bool passthrough)
{
	struct verdict v = {};

	if (cls == COLO_CLASS_COMPARE && !passthrough) {
		if (socket) {
			v.action = XDP_REDIRECT;
			v.delta.to_socket = 1;
		} else {
			v.action = XDP_DROP;
			v.delta.no_socket = 1;
		}
		return v;
	}
	v.delta.malformed = cls == COLO_CLASS_MALFORMED;
	if (role == COLO_ROLE_PRIMARY) {
		v.action = XDP_REDIRECT; /* to the outdev via colo_devmap */
		v.delta.bypassed = 1;
	} else {
		v.action = XDP_DROP;
		v.delta.dropped = 1;
	}
	return v;
}

static bool stats_delta_eq(const struct colo_steer_stats *a,
			   const struct colo_steer_stats *b,
			   const struct colo_steer_stats *d)
{
	return b->to_socket - a->to_socket == d->to_socket &&
	       b->bypassed - a->bypassed == d->bypassed &&
	       b->dropped - a->dropped == d->dropped &&
	       b->malformed - a->malformed == d->malformed &&
	       b->no_socket - a->no_socket == d->no_socket &&
	       b->degraded_passed - a->degraded_passed == d->degraded_passed &&
	       b->degraded_dropped - a->degraded_dropped ==
		       d->degraded_dropped &&
	       b->passthrough - a->passthrough == d->passthrough;
}

/*
 * Run every corpus frame, whole and cut at every length down to the
 * Ethernet header (BPF_PROG_RUN's minimum), on role r; returns frames run.
 */
static int check_corpus(struct colo_steer *s, int prog_fd, enum colo_role r,
			bool socket, bool passthrough, int *classes)
{
	static struct frame f[40];
	struct colo_steer_stats before, after;
	struct colo_pkt pkt;
	struct verdict v;
	int i, n, act, runs = 0, bad = 0;
	__u32 len;

	n = corpus(f);
	for (i = 0; i < n; i++)
		for (len = f[i].len; len >= COLO_ETH_HLEN; len--) {
			colo_parse(f[i].b, f[i].b + len, len, &pkt);
			if (len == f[i].len)
				classes[pkt.cls]++;
			v = expect(pkt.cls, r, socket, passthrough);
			colo_steer_read_stats(s, r, &before);
			act = run_frame(prog_fd, colo_steer_ifindex(s, r),
					f[i].b, len);
			colo_steer_read_stats(s, r, &after);
			runs++;
			if (act == v.action &&
			    stats_delta_eq(&before, &after, &v.delta))
				continue;
			if (bad++ < 5)
				fprintf(stderr,
					"  %s (%u of %u bytes), class %d on role %d: action %d, expected %d; counters %s (malformed +%llu dropped +%llu)\n",
					f[i].name, len, f[i].len, pkt.cls, r,
					act, v.action,
					stats_delta_eq(&before, &after,
						       &v.delta) ?
						"agree" :
						"disagree",
					after.malformed - before.malformed,
					after.dropped - before.dropped);
		}
	CHECK_EQ(bad, 0);
	return runs;
}

/* An AF_XDP socket on (ifname, queue 0), copy mode, for the XSKMAP. */
struct test_xsk {
	void *area;
	struct xsk_umem *umem;
	struct xsk_socket *xsk;
	struct xsk_ring_prod fill, tx;
	struct xsk_ring_cons comp, rx;
};

static int xsk_open(struct test_xsk *x, const char *ifname)
{
	struct xsk_socket_config cfg = {
		.rx_size = 64,
		.tx_size = 64,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.bind_flags = XDP_COPY,
	};
	size_t size = 64 * 4096;
	int err;

	memset(x, 0, sizeof(*x));
	x->area = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (x->area == MAP_FAILED)
		return -errno;
	err = xsk_umem__create(&x->umem, x->area, size, &x->fill, &x->comp,
			       NULL);
	if (err)
		return err;
	return xsk_socket__create(&x->xsk, ifname, 0, x->umem, &x->rx, &x->tx,
				  &cfg);
}

static void xsk_close(struct test_xsk *x)
{
	if (x->xsk)
		xsk_socket__delete(x->xsk);
	if (x->umem)
		xsk_umem__delete(x->umem);
	if (x->area && x->area != MAP_FAILED)
		munmap(x->area, 64 * 4096);
}

TEST(verdicts_agree_with_parser)
{
	struct colo_steer *s = NULL;
	int classes[3] = {}, fd = -1, runs = 0, r;
	struct test_xsk x = {};
	struct ifset set;

	SKIP_UNLESS_ROOT();
	if (instance_open(&set, "v", &s))
		goto out;
	fd = prog_fd_of(set.ifindex[COLO_ROLE_PRIMARY]);
	CHECK(fd >= 0);
	CHECK_EQ(xdp_prog_id(set.ifindex[COLO_ROLE_PRIMARY]),
		 xdp_prog_id(set.ifindex[COLO_ROLE_SECONDARY]));
	if (fd < 0)
		goto out;
	/* no socket bound: compared frames are dropped and counted */
	for (r = COLO_ROLE_PRIMARY; r <= COLO_ROLE_SECONDARY; r++)
		runs += check_corpus(s, fd, r, false, false, classes);
	/* the corpus must exercise every class, or the test proves little */
	CHECK(classes[COLO_CLASS_COMPARE] > 0 && classes[COLO_CLASS_PASS] > 0 &&
	      classes[COLO_CLASS_MALFORMED] > 0);
	CHECK(runs > 1000);
	/* a real socket bound into the primary's slot */
	CHECK_EQ(xsk_open(&x, set.name[COLO_ROLE_PRIMARY]), 0);
	CHECK_EQ(colo_steer_add_xsk(s, COLO_ROLE_PRIMARY, 0,
				    xsk_socket__fd(x.xsk)),
		 0);
	check_corpus(s, fd, COLO_ROLE_PRIMARY, true, false, classes);
	/* the secondary's slot is its own: still no socket there */
	check_corpus(s, fd, COLO_ROLE_SECONDARY, false, false, classes);
	/* failover: nothing goes to userspace any more */
	CHECK_EQ(colo_steer_set_state(s, COLO_STATE_PASSTHROUGH), 0);
	for (r = COLO_ROLE_PRIMARY; r <= COLO_ROLE_SECONDARY; r++)
		check_corpus(s, fd, r, r == COLO_ROLE_PRIMARY, true, classes);
	CHECK_EQ(colo_steer_set_state(s, COLO_STATE_COMPARE), 0);
	/* an interface without a config entry is left alone */
	CHECK_EQ(run_frame(fd, set.ifindex[COLO_ROLE_OUT],
			   "\2\0\0\0\0\1\2\0\0\0\0\2\x08\x06", 14),
		 XDP_PASS);
out:
	colo_steer_close(s);
	xsk_close(&x);
	if (fd >= 0)
		close(fd);
	ifset_del(&set);
}

/* Validation ------------------------------------------------------------- */

/*
 * After a refused open: nothing attached to P or S (colo_out's qdisc
 * included), nothing pinned.
 */
static void check_nothing_left(const struct ifset *set)
{
	struct tc_ingress t;
	char dir[PATH_MAX];

	pin_dir(set, dir, sizeof(dir));
	CHECK(!exists(dir));
	CHECK_EQ(xdp_prog_id(set->ifindex[COLO_ROLE_PRIMARY]), 0);
	CHECK_EQ(tc_ingress_read(set->ifindex[COLO_ROLE_PRIMARY],
				 COLO_OUT_TC_PRIO, COLO_OUT_TC_HANDLE, &t),
		 0);
	CHECK(!t.qdisc);
}

static void check_refused(const struct colo_steer_opts *o, int want,
			  const char *needle1, const char *needle2)
{
	struct colo_steer *s = NULL;
	char msg[1024];
	int err;

	err = open_caught(o, &s, msg, sizeof(msg));
	CHECK_EQ(err, want);
	CHECK(!s);
	if (!strstr(msg, needle1) || !strstr(msg, needle2)) {
		fprintf(stderr, "  message '%s' lacks '%s' or '%s'\n", msg,
			needle1, needle2);
		CHECK(!"message names the object and the fix");
	}
	if (s)
		colo_steer_close(s);
}

/* A trivial XDP program that is not colo_steer. */
static int foreign_prog(void)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K,
		  .dst_reg = 0,
		  .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};

	return bpf_prog_load(BPF_PROG_TYPE_XDP, "foreign", "GPL", insns, 2,
			     NULL);
}

TEST(open_refuses_with_a_fix)
{
	struct colo_steer_opts o;
	struct ifset set;
	char fix[128];
	int fd = -1;

	SKIP_UNLESS_ROOT();
	if (ifset_make(&set, "e")) {
		CHECK(!"creating veth pairs");
		goto out;
	}
	ifset_opts(&set, &o);
	o.ifname[COLO_ROLE_SECONDARY] = NULL;
	check_refused(&o, -EINVAL, "secondary", "--help");
	o.ifname[COLO_ROLE_SECONDARY] = "cxnosuch0";
	check_refused(&o, -ENODEV, "cxnosuch0", "ip link");
	o.ifname[COLO_ROLE_SECONDARY] = set.name[COLO_ROLE_OUT];
	check_refused(&o, -EINVAL, set.name[COLO_ROLE_OUT], "distinct");
	check_nothing_left(&set);

	ifset_opts(&set, &o);
	test_sh("ip link set %s down", set.name[COLO_ROLE_OUT]);
	snprintf(fix, sizeof(fix), "ip link set dev %s up",
		 set.name[COLO_ROLE_OUT]);
	check_refused(&o, -ENETDOWN, set.name[COLO_ROLE_OUT], fix);
	test_sh("ip link set %s up", set.name[COLO_ROLE_OUT]);
	check_nothing_left(&set);

	/* someone else's program on the secondary */
	fd = foreign_prog();
	CHECK(fd >= 0);
	CHECK_EQ(bpf_xdp_attach(set.ifindex[COLO_ROLE_SECONDARY], fd,
				XDP_FLAGS_DRV_MODE, NULL),
		 0);
	snprintf(fix, sizeof(fix), "ip link set dev %s xdp off",
		 set.name[COLO_ROLE_SECONDARY]);
	check_refused(&o, -EBUSY, "'foreign'", fix);
	check_nothing_left(&set);
	bpf_xdp_detach(set.ifindex[COLO_ROLE_SECONDARY], XDP_FLAGS_DRV_MODE,
		       NULL);

	/* --attach none with nothing attached */
	o.attach = false;
	check_refused(&o, -ENOENT, set.name[COLO_ROLE_PRIMARY], "ip link set");
	check_nothing_left(&set);

	/* a queue the device lacks: the flag, its count, the fix */
	ifset_opts(&set, &o);
	o.queues = 1ull << 5;
	o.queues_flag = "--queues";
	check_refused(&o, -EINVAL, "has 2 RX queues (0-1), not queue 5",
		      "ethtool -L");
	o.queues_flag = "--queue";
	check_refused(&o, -EINVAL, "--queue:", "--queues all");
	check_nothing_left(&set);

	/* the host path to O: colo_out on P, and gone again at close */
	ifset_opts(&set, &o);
	o.out_path = COLO_OUT_STACK;
	o.queues = 0;
	o.ifname[COLO_ROLE_SECONDARY] = "cxnosuch0";
	check_refused(&o, -ENODEV, "cxnosuch0", "ip link");
	check_nothing_left(&set);
	o.ifname[COLO_ROLE_SECONDARY] = set.name[COLO_ROLE_SECONDARY];
	{
		struct colo_steer *s = NULL;
		struct tc_ingress t;

		CHECK_EQ(colo_steer_open(&o, &s), 0);
		CHECK(colo_steer_out_stack(s));
		CHECK_EQ(colo_steer_queues(s, COLO_ROLE_PRIMARY), 3);
		CHECK_EQ(colo_steer_queues(s, COLO_ROLE_OUT), 1);
		CHECK_EQ(tc_ingress_read(set.ifindex[COLO_ROLE_PRIMARY],
					 COLO_OUT_TC_PRIO, COLO_OUT_TC_HANDLE,
					 &t),
			 0);
		CHECK(t.prog_id != 0);
		colo_steer_close(s);
	}
	check_nothing_left(&set);
out:
	if (fd >= 0)
		close(fd);
	ifset_del(&set);
}

TEST(open_refuses_without_privileges)
{
	struct colo_steer_opts o;
	struct colo_steer *s = NULL;
	struct ifset set;
	int status = -1;
	pid_t pid;

	SKIP_UNLESS_ROOT();
	if (ifset_make(&set, "u")) {
		CHECK(!"creating veth pairs");
		goto out;
	}
	ifset_opts(&set, &o);
	pid = fork();
	if (!pid) {
		/* leaving uid 0 drops every capability */
		if (setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534))
			_exit(3);
		_exit(colo_steer_open(&o, &s) == -EPERM ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	check_nothing_left(&set);
out:
	ifset_del(&set);
}

TEST(two_instances_are_separate)
{
	struct colo_steer *a = NULL, *b = NULL, *c = NULL;
	struct colo_steer_stats st;
	struct colo_steer_opts o;
	struct ifset sa, sb;
	char dir[PATH_MAX], msg[1024];
	__u8 arp[60] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x06 };
	int fd_a = -1, fd_b = -1, i;

	SKIP_UNLESS_ROOT();
	if (ifset_make(&sa, "a") || ifset_make(&sb, "b")) {
		CHECK(!"creating veth pairs");
		goto out;
	}
	ifset_opts(&sa, &o);
	CHECK_EQ(colo_steer_open(&o, &a), 0);
	ifset_opts(&sb, &o);
	CHECK_EQ(colo_steer_open(&o, &b), 0);
	if (!a || !b)
		goto out;
	CHECK(strcmp(colo_steer_pin_path(a), colo_steer_pin_path(b)));
	/* the second instance cannot take an interface of the first */
	ifset_opts(&sa, &o);
	o.ifname[COLO_ROLE_PRIMARY] = sb.name[COLO_ROLE_OUT];
	CHECK_EQ(open_caught(&o, &c, msg, sizeof(msg)), -EBUSY);
	if (!strstr(msg, sa.name[COLO_ROLE_SECONDARY]) ||
	    !strstr(msg, "--attach none")) {
		fprintf(stderr, "  message '%s'\n", msg);
		CHECK(!"message names the interface and --attach none");
	}
	fd_a = prog_fd_of(sa.ifindex[COLO_ROLE_PRIMARY]);
	fd_b = prog_fd_of(sb.ifindex[COLO_ROLE_PRIMARY]);
	CHECK(fd_a >= 0 && fd_b >= 0);
	for (i = 0; i < 3; i++)
		CHECK_EQ(run_frame(fd_a, sa.ifindex[COLO_ROLE_PRIMARY], arp,
				   sizeof(arp)),
			 XDP_REDIRECT);
	CHECK_EQ(run_frame(fd_b, sb.ifindex[COLO_ROLE_PRIMARY], arp,
			   sizeof(arp)),
		 XDP_REDIRECT);
	colo_steer_read_stats(a, COLO_ROLE_PRIMARY, &st);
	CHECK_EQ(st.bypassed, 3);
	colo_steer_read_stats(b, COLO_ROLE_PRIMARY, &st);
	CHECK_EQ(st.bypassed, 1);
	/* A's program does not know B's interfaces: its maps are its own */
	CHECK_EQ(run_frame(fd_a, sb.ifindex[COLO_ROLE_PRIMARY], arp,
			   sizeof(arp)),
		 XDP_PASS);

	snprintf(dir, sizeof(dir), "%s/%s", colo_steer_pin_path(a),
		 COLO_MAP_STATS);
	CHECK(exists(dir));
	colo_steer_close(a);
	a = NULL;
	CHECK(!exists(dir));
	check_nothing_left(&sa);
	CHECK_EQ(xdp_prog_id(sa.ifindex[COLO_ROLE_SECONDARY]), 0);
	/* B carries on */
	CHECK(xdp_prog_id(sb.ifindex[COLO_ROLE_PRIMARY]) != 0);
	CHECK_EQ(run_frame(fd_b, sb.ifindex[COLO_ROLE_PRIMARY], arp,
			   sizeof(arp)),
		 XDP_REDIRECT);
	colo_steer_read_stats(b, COLO_ROLE_PRIMARY, &st);
	CHECK_EQ(st.bypassed, 2);
	colo_steer_close(b);
	b = NULL;
	check_nothing_left(&sb);
out:
	colo_steer_close(a);
	colo_steer_close(b);
	colo_steer_close(c);
	if (fd_a >= 0)
		close(fd_a);
	if (fd_b >= 0)
		close(fd_b);
	ifset_del(&sa);
	ifset_del(&sb);
}

/* The VM MAC colo_steer learned for instance s (colo_vm_mac), or 0. */
static __u64 learned_mac(const struct colo_steer *s)
{
	char path[PATH_MAX];
	__u32 slot = colo_steer_slot(s);
	__u64 mac = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", colo_steer_pin_path(s),
		 COLO_MAP_VM_MAC);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	bpf_map_lookup_elem(fd, &slot, &mac);
	close(fd);
	return mac;
}

/*
 * colo_mirror's VM MAC: the source of what the primary sends, ARP
 * included; not the secondary's, nor a group address; the latest wins.
 */
TEST(vm_mac_learned_from_the_primary)
{
	__u8 f[60] = { 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x06 };
	struct colo_steer *s = NULL;
	struct ifset set;
	int fd = -1, p, sec;

	SKIP_UNLESS_ROOT();
	if (instance_open(&set, "m", &s))
		goto out;
	p = set.ifindex[COLO_ROLE_PRIMARY];
	sec = set.ifindex[COLO_ROLE_SECONDARY];
	fd = prog_fd_of(p);
	CHECK_EQ(learned_mac(s), 0);
	f[11] = 0x11; /* from the secondary: not the primary VM's */
	run_frame(fd, sec, f, sizeof(f));
	CHECK_EQ(learned_mac(s), 0);
	f[11] = 1; /* the primary's ARP */
	CHECK_EQ(run_frame(fd, p, f, sizeof(f)), XDP_REDIRECT);
	CHECK_EQ(learned_mac(s), 0x020000000001ull);
	f[6] = 3; /* multicast source: no station's */
	run_frame(fd, p, f, sizeof(f));
	CHECK_EQ(learned_mac(s), 0x020000000001ull);
	f[6] = 2;
	f[11] = 7; /* the guest changed its MAC */
	run_frame(fd, p, f, sizeof(f));
	CHECK_EQ(learned_mac(s), 0x020000000007ull);
	colo_steer_close(s);
	s = NULL;
	check_nothing_left(&set);
out:
	colo_steer_close(s);
	if (fd >= 0)
		close(fd);
	ifset_del(&set);
}

/* build/colo_steer.bpf.o, next to the selftests/ or asan/ directory. */
static int find_obj(char *buf, size_t len)
{
	static const char *const rel[] = { "/../colo_steer.bpf.o",
					   "/../../colo_steer.bpf.o" };
	char exe[PATH_MAX - 32];
	ssize_t n;
	size_t i;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return -errno;
	exe[n] = 0;
	*strrchr(exe, '/') = 0;
	for (i = 0; i < 2; i++) {
		snprintf(buf, len, "%s%s", exe, rel[i]);
		if (exists(buf))
			return 0;
	}
	return -ENOENT;
}

static const char *const global_pins[] = {
	COLO_MAP_CONFIG, COLO_MAP_XSKS,	      COLO_MAP_STATS,
	COLO_MAP_LOADER, COLO_MAP_HEARTBEAT,  COLO_MAP_VM_MAC,
	COLO_MAP_PASS,	 COLO_MAP_PASS_STATS,
};
#define GLOBALS "/sys/fs/bpf/xdp/globals"

/* xsk_base of ifindex in the colo_config pinned in dir. */
static long xsk_base_in(const char *dir, int ifindex)
{
	struct colo_if_config cfg;
	char path[PATH_MAX];
	__u32 key = ifindex;
	long base = -1;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, COLO_MAP_CONFIG);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -1;
	if (!bpf_map_lookup_elem(fd, &key, &cfg))
		base = cfg.xsk_base;
	close(fd);
	return base;
}

TEST(adopting_instances_share_ip_link_maps)
{
	struct colo_steer *a = NULL, *b = NULL;
	__u8 arp[60] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x06 };
	struct colo_steer_stats st;
	struct colo_steer_opts o;
	char obj[PATH_MAX], path[PATH_MAX];
	bool own_globals, own_bpffs_dirs;
	long base[4];
	struct ifset sa, sb;
	int fd = -1, r;
	size_t i;

	SKIP_UNLESS_ROOT();
	snprintf(path, sizeof(path), "%s/%s", GLOBALS, COLO_MAP_CONFIG);
	own_globals = !exists(path);
	/* ip link makes tc/globals/ and links ip and xdp to tc */
	own_bpffs_dirs = !exists("/sys/fs/bpf/tc");
	if (find_obj(obj, sizeof(obj)) || ifset_make(&sa, "c") ||
	    ifset_make(&sb, "d")) {
		CHECK(!"finding colo_steer.bpf.o, creating veth pairs");
		goto out;
	}
	for (r = 0; r < 2; r++) {
		CHECK_EQ(test_sh("ip link set dev %s xdp obj %s sec xdp.frags",
				 sa.name[r], obj),
			 0);
		CHECK_EQ(test_sh("ip link set dev %s xdp obj %s sec xdp.frags",
				 sb.name[r], obj),
			 0);
	}
	ifset_opts(&sa, &o);
	o.attach = false;
	CHECK_EQ(colo_steer_open(&o, &a), 0);
	ifset_opts(&sb, &o);
	o.attach = false;
	CHECK_EQ(colo_steer_open(&o, &b), 0);
	if (!a || !b)
		goto out;
	/* four interfaces in one colo_config: four disjoint XSKMAP ranges */
	for (r = 0; r < 2; r++) {
		base[r] = xsk_base_in(colo_steer_pin_path(a), sa.ifindex[r]);
		base[2 + r] =
			xsk_base_in(colo_steer_pin_path(b), sb.ifindex[r]);
	}
	for (r = 0; r < 4; r++) {
		CHECK(base[r] >= 0 && base[r] % COLO_XSK_QUEUES == 0);
		for (i = 0; i < (size_t)r; i++)
			CHECK(base[i] != base[r]);
	}
	/* counters are per interface even in shared maps */
	fd = prog_fd_of(sa.ifindex[COLO_ROLE_PRIMARY]);
	CHECK_EQ(run_frame(fd, sa.ifindex[COLO_ROLE_PRIMARY], arp, sizeof(arp)),
		 XDP_REDIRECT);
	colo_steer_read_stats(a, COLO_ROLE_PRIMARY, &st);
	CHECK_EQ(st.bypassed, 1);
	colo_steer_read_stats(b, COLO_ROLE_PRIMARY, &st);
	CHECK_EQ(st.bypassed, 0);
	/* closing A takes its entries and pins, not B's nor the program */
	colo_steer_close(a);
	a = NULL;
	snprintf(path, sizeof(path), "%s/%s", COLO_PIN_ROOT,
		 sa.name[COLO_ROLE_PRIMARY]);
	CHECK(!exists(path));
	CHECK(xdp_prog_id(sa.ifindex[COLO_ROLE_PRIMARY]) != 0);
	CHECK_EQ(xsk_base_in(colo_steer_pin_path(b), sa.ifindex[0]), -1);
	CHECK_EQ(xsk_base_in(colo_steer_pin_path(b), sb.ifindex[0]), base[2]);
	CHECK_EQ(run_frame(fd, sa.ifindex[COLO_ROLE_PRIMARY], arp, sizeof(arp)),
		 XDP_PASS);
out:
	colo_steer_close(a);
	colo_steer_close(b);
	if (fd >= 0)
		close(fd);
	ifset_del(&sa);
	ifset_del(&sb);
	for (i = 0;
	     own_globals && i < sizeof(global_pins) / sizeof(global_pins[0]);
	     i++) {
		snprintf(path, sizeof(path), "%s/%s", GLOBALS, global_pins[i]);
		unlink(path);
	}
	if (own_bpffs_dirs) {
		rmdir("/sys/fs/bpf/tc/globals");
		unlink("/sys/fs/bpf/ip");
		unlink("/sys/fs/bpf/xdp");
		rmdir("/sys/fs/bpf/tc");
		CHECK(!exists("/sys/fs/bpf/tc"));
	}
}

/* Watchdog ----------------------------------------------------------------- */

/* Long enough that "fresh" stays fresh on a loaded machine. */
#define WATCHDOG_MS 10000
#define STALE_NS (2ull * WATCHDOG_MS * 1000000)

/* A UDP frame: what colo_steer sends to the sockets. */
static __u32 udp_frame(__u8 *b)
{
	return put_ip4(b, put_eth(b, 0x0800, 0), 17, 20, false);
}

/*
 * Run one UDP frame from RX queue q on role r: its action must be act and
 * the counters must move by exactly one, in field (an offset in
 * colo_steer_stats).
 */
static void check_udp_q(struct colo_steer *s, int prog_fd, enum colo_role r,
			__u32 q, int act, size_t field, const char *what)
{
	struct colo_steer_stats before, after, delta = {};
	__u8 b[MAX_FRAME];
	__u32 len = udp_frame(b);
	int got;

	*(__u64 *)((char *)&delta + field) = 1;
	colo_steer_read_stats(s, r, &before);
	got = run_frame_q(prog_fd, colo_steer_ifindex(s, r), q, b, len);
	colo_steer_read_stats(s, r, &after);
	if (got != act || !stats_delta_eq(&before, &after, &delta)) {
		fprintf(stderr, "  %s, role %d: action %d (expected %d)%s\n",
			what, r, got, act,
			stats_delta_eq(&before, &after, &delta) ?
				"" :
				", counters moved elsewhere");
		CHECK(!"verdict and counter");
	}
}

static void check_udp(struct colo_steer *s, int prog_fd, enum colo_role r,
		      int act, size_t field, const char *what)
{
	check_udp_q(s, prog_fd, r, 0, act, field, what);
}

#define F(f) offsetof(struct colo_steer_stats, f)

TEST(watchdog_fails_open_and_takes_back)
{
	struct colo_steer *s = NULL, *h = NULL;
	struct test_xsk x[2] = {};
	struct colo_steer_opts o;
	struct ifset set;
	int fd = -1, r;

	SKIP_UNLESS_ROOT();
	if (ifset_make(&set, "w")) {
		CHECK(!"creating veth pairs");
		goto out;
	}
	ifset_opts(&set, &o);
	o.watchdog_ms = WATCHDOG_MS;
	CHECK_EQ(colo_steer_open(&o, &s), 0);
	fd = prog_fd_of(set.ifindex[COLO_ROLE_PRIMARY]);
	if (!s || fd < 0)
		goto out;
	/* no heartbeat yet: the loader is starting, nothing fails open */
	check_udp(s, fd, COLO_ROLE_PRIMARY, XDP_DROP, F(no_socket),
		  "disarmed, no socket");
	check_udp(s, fd, COLO_ROLE_SECONDARY, XDP_DROP, F(no_socket),
		  "disarmed, no socket");
	/* armed, and the loader's socket is not there: it died */
	CHECK_EQ(colo_steer_heartbeat(s, cli_now_ns()), 0);
	check_udp(s, fd, COLO_ROLE_PRIMARY, XDP_REDIRECT, F(degraded_passed),
		  "armed, socket gone");
	check_udp(s, fd, COLO_ROLE_SECONDARY, XDP_DROP, F(degraded_dropped),
		  "armed, socket gone");
	/* a queue the loader does not serve says nothing about the loader */
	check_udp_q(s, fd, COLO_ROLE_PRIMARY, 1, XDP_DROP, F(no_socket),
		    "armed, another queue");
	for (r = COLO_ROLE_PRIMARY; r <= COLO_ROLE_SECONDARY; r++) {
		CHECK_EQ(xsk_open(&x[r], set.name[r]), 0);
		if (x[r].xsk)
			CHECK_EQ(colo_steer_add_xsk(s, r, 0,
						    xsk_socket__fd(x[r].xsk)),
				 0);
	}
	check_udp(s, fd, COLO_ROLE_PRIMARY, XDP_REDIRECT, F(to_socket),
		  "fresh heartbeat");
	check_udp(s, fd, COLO_ROLE_SECONDARY, XDP_REDIRECT, F(to_socket),
		  "fresh heartbeat");
	/* the loader stalls (SIGSTOP): its sockets stay, its beat ages */
	CHECK_EQ(colo_steer_heartbeat(s, cli_now_ns() - STALE_NS), 0);
	check_udp(s, fd, COLO_ROLE_PRIMARY, XDP_REDIRECT, F(degraded_passed),
		  "stale heartbeat");
	check_udp(s, fd, COLO_ROLE_SECONDARY, XDP_DROP, F(degraded_dropped),
		  "stale heartbeat");
	/* it runs again: the next beat says so, and takes over at once */
	CHECK_EQ(colo_steer_heartbeat(s, cli_now_ns()), 1);
	check_udp(s, fd, COLO_ROLE_PRIMARY, XDP_REDIRECT, F(to_socket),
		  "heartbeat back");
	CHECK_EQ(colo_steer_heartbeat(s, cli_now_ns()), 0);
	/* failover is not a loss: passthrough bypasses as before */
	CHECK_EQ(colo_steer_heartbeat(s, cli_now_ns() - STALE_NS), 0);
	CHECK_EQ(colo_steer_set_state(s, COLO_STATE_PASSTHROUGH), 0);
	check_udp(s, fd, COLO_ROLE_PRIMARY, XDP_REDIRECT, F(bypassed),
		  "passthrough, stale heartbeat");
	/* a clean stop disarms: the next instance starts disarmed */
	colo_steer_close(s);
	s = NULL;
	close(fd);
	fd = -1;
	o.loss_hold = true;
	CHECK_EQ(colo_steer_open(&o, &h), 0);
	fd = prog_fd_of(set.ifindex[COLO_ROLE_PRIMARY]);
	if (!h || fd < 0)
		goto out;
	check_udp(h, fd, COLO_ROLE_PRIMARY, XDP_DROP, F(no_socket),
		  "after a clean stop");
	/* hold: a lost loader's primary frames are dropped, not passed */
	CHECK_EQ(colo_steer_heartbeat(h, cli_now_ns() - STALE_NS), 0);
	check_udp(h, fd, COLO_ROLE_PRIMARY, XDP_DROP, F(degraded_dropped),
		  "hold, stale heartbeat");
out:
	colo_steer_close(s);
	colo_steer_close(h);
	for (r = 0; r < 2; r++)
		xsk_close(&x[r]);
	if (fd >= 0)
		close(fd);
	ifset_del(&set);
}

/* Passthrough ------------------------------------------------------------ */

/* A TCP segment from 10.0.0.1 to 10.0.0.2: no rule for UDP matches it. */
static __u32 tcp_frame(__u8 *b)
{
	return put_ip4(b, put_eth(b, 0x0800, 0), 6, 30, false);
}

/* Add (or with del, delete) the rule of spec to the instance's set. */
static int pass_change(struct colo_steer *s, const char *spec, bool del)
{
	struct colo_pass_set set = *colo_steer_pass(s);
	struct colo_pass_rule r;
	char err[256] = "";
	int ret;

	ret = pass_set_change(&set, spec, del, &r, err, sizeof(err));
	if (!ret)
		ret = colo_steer_pass_write(s, &set);
	if (ret)
		fprintf(stderr, "  %s %s: %s\n", del ? "del" : "add", spec,
			err);
	return ret;
}

/* The counters of the instance's rule i, read from its pins. */
static struct colo_pass_count pass_count(struct colo_steer *s, __u32 i)
{
	struct colo_pass_count count[COLO_PASS_MAX];
	struct colo_pass_set set;

	CHECK_EQ(pin_dir_pass(colo_steer_pin_path(s),
			      colo_steer_ifindex(s, COLO_ROLE_PRIMARY), &set,
			      count),
		 0);
	CHECK(i < set.n);
	return i < set.n ? count[i] : (struct colo_pass_count){ 99, 99 };
}

/* colo_config's passthrough flag of the primary, from the pin. */
static __u32 pass_flag(struct colo_steer *s)
{
	struct colo_if_config cfg = {};
	__u32 key = colo_steer_ifindex(s, COLO_ROLE_PRIMARY);
	int fd = pin_dir_open_pin(colo_steer_pin_path(s), COLO_MAP_CONFIG);

	CHECK(fd >= 0 && !bpf_map_lookup_elem(fd, &key, &cfg));
	if (fd >= 0)
		close(fd);
	return cfg.passthrough;
}

/* Run one TCP frame on role r: action act, one more in field. */
static void check_tcp(struct colo_steer *s, int prog_fd, enum colo_role r,
		      int act, size_t field, const char *what)
{
	struct colo_steer_stats before, after, delta = {};
	__u8 b[MAX_FRAME];
	__u32 len = tcp_frame(b);
	int got;

	*(__u64 *)((char *)&delta + field) = 1;
	colo_steer_read_stats(s, r, &before);
	got = run_frame(prog_fd, colo_steer_ifindex(s, r), b, len);
	colo_steer_read_stats(s, r, &after);
	if (got != act || !stats_delta_eq(&before, &after, &delta)) {
		fprintf(stderr, "  %s, role %d: action %d (expected %d)\n",
			what, r, got, act);
		CHECK(!"verdict and counter");
	}
}

TEST(passthrough_rules_in_the_kernel)
{
	struct colo_steer *s = NULL;
	struct colo_pass_count c;
	struct colo_steer_opts o;
	char err[256];
	struct ifset set;
	int fd = -1;

	SKIP_UNLESS_ROOT();
	if (ifset_make(&set, "r")) {
		CHECK(!"creating veth pairs");
		goto out;
	}
	ifset_opts(&set, &o);
	CHECK_EQ(pass_spec_parse("proto=udp,src=10.0.0.0/24", &o.pass.rule[0],
				 err, sizeof(err)),
		 0);
	o.pass.n = 1;
	o.watchdog_ms = WATCHDOG_MS;
	o.loss_hold = true;
	CHECK_EQ(colo_steer_open(&o, &s), 0);
	fd = prog_fd_of(set.ifindex[COLO_ROLE_PRIMARY]);
	if (!s || fd < 0)
		goto out;
	CHECK_EQ(pass_flag(s), 1);
	/* --passthrough: the primary's frame out, the secondary's dropped */
	check_udp(s, fd, COLO_ROLE_PRIMARY, XDP_REDIRECT, F(passthrough),
		  "udp rule, primary");
	check_udp(s, fd, COLO_ROLE_SECONDARY, XDP_DROP, F(passthrough),
		  "udp rule, secondary");
	check_udp(s, fd, COLO_ROLE_SECONDARY, XDP_DROP, F(passthrough),
		  "udp rule, secondary");
	c = pass_count(s, 0);
	CHECK_EQ(c.primary, 1);
	CHECK_EQ(c.secondary, 2);
	/* other flows are compared (no socket here: dropped and counted) */
	check_tcp(s, fd, COLO_ROLE_PRIMARY, XDP_DROP, F(no_socket),
		  "no tcp rule");
	/* a rule added applies from the next frame, counted from zero */
	CHECK_EQ(pass_change(s, "proto=tcp", false), 0);
	check_tcp(s, fd, COLO_ROLE_PRIMARY, XDP_REDIRECT, F(passthrough),
		  "tcp rule added");
	c = pass_count(s, 1);
	CHECK_EQ(c.primary, 1);
	CHECK_EQ(c.secondary, 0);
	/* a rule deleted too; the others keep their counters */
	CHECK_EQ(pass_change(s, "src=10.0.0.0/24,proto=17", true), 0);
	check_udp(s, fd, COLO_ROLE_PRIMARY, XDP_DROP, F(no_socket),
		  "udp rule deleted");
	c = pass_count(s, 0);
	CHECK_EQ(c.primary, 1);
	/* the first rule a frame matches counts it */
	CHECK_EQ(pass_change(s, "src=10.0.0.1", false), 0);
	check_tcp(s, fd, COLO_ROLE_SECONDARY, XDP_DROP, F(passthrough),
		  "two rules match");
	CHECK_EQ(pass_count(s, 0).secondary, 1);
	CHECK_EQ(pass_count(s, 1).secondary, 0);
	/* failover passes every frame: counted as bypassed, not per rule */
	CHECK_EQ(colo_steer_set_state(s, COLO_STATE_PASSTHROUGH), 0);
	check_tcp(s, fd, COLO_ROLE_PRIMARY, XDP_REDIRECT, F(bypassed),
		  "failover");
	CHECK_EQ(colo_steer_set_state(s, COLO_STATE_COMPARE), 0);
	CHECK_EQ(pass_count(s, 0).primary, 1);
	/* a lost loader holds what it would compare, not what it would not */
	CHECK_EQ(pass_change(s, "src=10.0.0.1", true), 0);
	CHECK_EQ(colo_steer_heartbeat(s, cli_now_ns() - STALE_NS), 0);
	check_tcp(s, fd, COLO_ROLE_PRIMARY, XDP_REDIRECT, F(passthrough),
		  "loader lost, hold");
	check_udp(s, fd, COLO_ROLE_PRIMARY, XDP_DROP, F(degraded_dropped),
		  "loader lost, hold, no rule");
	colo_steer_heartbeat(s, 0);
	/* the last rule gone: colo_pass is not even looked up */
	CHECK_EQ(pass_change(s, "proto=tcp", true), 0);
	CHECK_EQ(pass_flag(s), 0);
	check_tcp(s, fd, COLO_ROLE_PRIMARY, XDP_DROP, F(no_socket),
		  "no rule left");
out:
	colo_steer_close(s);
	if (fd >= 0)
		close(fd);
	ifset_del(&set);
}

/*
 * xsk_open() on a queue whose previous socket's process was just killed:
 * the kernel frees the queue in deferred work, EBUSY until then.
 */
static int xsk_reopen(struct test_xsk *x, const char *ifname)
{
	int i, err = -EBUSY;

	for (i = 0; i < 200 && err == -EBUSY; i++) {
		if (i) {
			xsk_close(x);
			usleep(10000);
		}
		err = xsk_open(x, ifname);
	}
	return err;
}

/* A loader in a child: open, bind both sockets, beat, then wait to die. */
static pid_t child_loader(const struct colo_steer_opts *o)
{
	struct colo_steer *s;
	struct test_xsk x[2];
	int p[2], r;
	pid_t pid;
	char c = 1;

	if (pipe(p))
		return -1;
	pid = fork();
	if (!pid) {
		close(p[0]);
		if (colo_steer_open(o, &s))
			_exit(1);
		for (r = COLO_ROLE_PRIMARY; r <= COLO_ROLE_SECONDARY; r++)
			if (xsk_open(&x[r], o->ifname[r]) ||
			    colo_steer_add_xsk(s, r, 0,
					       xsk_socket__fd(x[r].xsk)))
				_exit(1);
		colo_steer_heartbeat(s, cli_now_ns());
		if (write(p[1], &c, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	if (pid > 0 && read(p[0], &c, 1) != 1) {
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	close(p[0]);
	return pid;
}

TEST(takeover_of_a_killed_instance)
{
	struct colo_steer *s = NULL, *t = NULL;
	struct colo_steer_stats st;
	struct colo_steer_opts o;
	char dir[PATH_MAX], msg[1024], want[128];
	__u8 b[MAX_FRAME];
	__u32 prog[2], len;
	struct test_xsk x = {};
	struct ifset set;
	int fd = -1, r;
	pid_t pid = -1;

	SKIP_UNLESS_ROOT();
	if (ifset_make(&set, "k")) {
		CHECK(!"creating veth pairs");
		goto out;
	}
	ifset_opts(&set, &o);
	o.watchdog_ms = WATCHDOG_MS;
	CHECK_EQ(pass_spec_parse("proto=tcp", &o.pass.rule[0], msg,
				 sizeof(msg)),
		 0);
	o.pass.n = 1;
	pin_dir(&set, dir, sizeof(dir));
	pid = child_loader(&o);
	CHECK(pid > 0);
	if (pid <= 0)
		goto out;
	for (r = 0; r < 2; r++)
		prog[r] = xdp_prog_id(set.ifindex[r]);
	fd = prog_fd_of(set.ifindex[COLO_ROLE_PRIMARY]);
	/* its loader runs: a second one is refused */
	snprintf(want, sizeof(want), "running colo-xdp (pid %d)", pid);
	CHECK_EQ(open_caught(&o, &t, msg, sizeof(msg)), -EBUSY);
	if (!strstr(msg, want) || !strstr(msg, dir)) {
		fprintf(stderr, "  message '%s' lacks '%s'\n", msg, want);
		CHECK(!"message names the pin directory and the pid");
	}
	len = udp_frame(b);
	CHECK_EQ(run_frame(fd, set.ifindex[COLO_ROLE_PRIMARY], b, len),
		 XDP_REDIRECT); /* to its socket */
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	pid = -1;
	/* SIGKILL leaves the program attached: it fails open at once */
	CHECK_EQ(xdp_prog_id(set.ifindex[COLO_ROLE_PRIMARY]), prog[0]);
	CHECK_EQ(run_frame(fd, set.ifindex[COLO_ROLE_PRIMARY], b, len),
		 XDP_REDIRECT); /* to the outdev */
	/* its passthrough rules go on without it */
	len = tcp_frame(b);
	CHECK_EQ(run_frame(fd, set.ifindex[COLO_ROLE_SECONDARY], b, len),
		 XDP_DROP);
	len = udp_frame(b);
	CHECK(exists(dir));
	/* another instance's interfaces: refused, the dead one left alone */
	o.ifname[COLO_ROLE_OUT] = "lo";
	CHECK_EQ(open_caught(&o, &t, msg, sizeof(msg)), -EBUSY);
	if (!strstr(msg, "other interfaces"))
		CHECK(!"message says the interfaces differ");
	CHECK(exists(dir));
	CHECK_EQ(xdp_prog_id(set.ifindex[COLO_ROLE_PRIMARY]), prog[0]);
	o.ifname[COLO_ROLE_OUT] = set.name[COLO_ROLE_OUT];

	/* the restart names one rule more */
	CHECK_EQ(pass_spec_parse("dport=9", &o.pass.rule[1], msg, sizeof(msg)),
		 0);
	o.pass.n = 2;
	CHECK_EQ(colo_steer_open(&o, &s), 0);
	if (!s)
		goto out;
	CHECK(colo_steer_adopted_running(s));
	/* the dead loader's rule with its counters, and the new one */
	CHECK_EQ(colo_steer_pass(s)->n, 2);
	CHECK_EQ(pass_count(s, 0).secondary, 1);
	CHECK_EQ(pass_count(s, 1).secondary, 0);
	for (r = 0; r < 2; r++)
		CHECK_EQ(xdp_prog_id(set.ifindex[r]), prog[r]);
	CHECK(!strcmp(colo_steer_pin_path(s), dir));
	/* until this loader beats, the dead one's sockets are gone */
	check_udp(s, fd, COLO_ROLE_PRIMARY, XDP_REDIRECT, F(degraded_passed),
		  "taken over, no socket yet");
	CHECK_EQ(xsk_reopen(&x, set.name[COLO_ROLE_PRIMARY]), 0);
	if (x.xsk)
		CHECK_EQ(colo_steer_add_xsk(s, COLO_ROLE_PRIMARY, 0,
					    xsk_socket__fd(x.xsk)),
			 0);
	CHECK_EQ(colo_steer_heartbeat(s, cli_now_ns()), 0);
	check_udp(s, fd, COLO_ROLE_PRIMARY, XDP_REDIRECT, F(to_socket),
		  "taken over, beating");
	/* the counters of the dead instance's period are kept */
	colo_steer_read_stats(s, COLO_ROLE_PRIMARY, &st);
	CHECK_EQ(st.degraded_passed, 2);
	CHECK_EQ(st.to_socket, 2);
	/* a clean stop removes what the dead instance had attached */
	colo_steer_close(s);
	s = NULL;
	check_nothing_left(&set);
	CHECK_EQ(xdp_prog_id(set.ifindex[COLO_ROLE_SECONDARY]), 0);
out:
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	colo_steer_close(s);
	colo_steer_close(t);
	xsk_close(&x);
	if (fd >= 0)
		close(fd);
	ifset_del(&set);
	test_sh("rm -rf %s", dir);
}
