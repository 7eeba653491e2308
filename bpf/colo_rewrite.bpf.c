// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * colo_rewrite: the secondary host's forwarding and TCP rewriter, as
 * QEMU's filter-redirectors and filter-rewriter are on the secondary, in
 * the kernel with no userspace on the path.
 *
 * - colo_rw_in (XDP on the link towards the primary host): the mirrored
 *   client frames go to the VM, with every tracked connection's ack, SACK
 *   edges and TSecr moved into the secondary's spaces. Frames addressed to
 *   the link itself go to the host's stack; unicast frames to neither are
 *   not the primary's mirror's, and are dropped.
 * - colo_rw_out (tc ingress of the VM's interface): the VM's frames go out
 *   of the link, with seq and TSval moved into the primary's spaces. tc,
 *   not XDP: a VM's frames come as GSO skbs with partial checksums, which
 *   native XDP on a tap never sees and which bpf_l4_csum_replace() keeps
 *   right, and tc redirects to any link with no condition on its peer.
 *
 * Offsets are learned at the handshake, in both directions of opening:
 * the VM accepts (its SYN-ACK, then the peer's first ACK, which carries
 * the primary's ISN + 1 and echoes the primary's TSval) or the VM opens
 * (its SYN, then the SYN-ACK answering the primary's, whose ack is the
 * primary's ISN + 1 and whose TSecr is the primary's SYN's TSval).
 *
 * Nothing but those fields changes, and checksums are updated by the
 * change alone. A frame the rewriter cannot read soundly (headers that do
 * not fit, options past the header) is passed as it is, or mapped as far
 * as Linux would read it, and counted; a connection it has no room or no
 * offsets for is not rewritten at all: never rewritten wrongly.
 */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "colo_pair.h"
#include "colo_parse.h"
#include "colo_rewrite.h"

#define TC_ACT_OK 0
#define COLO_TCP_PROTO 6
#define COLO_TCP_OPTS_MAX 40
#define COLO_SACK_BLOCKS_MAX 4
/*
 * The largest window (65535 << 14): a SACK block further below the
 * acknowledgement than that is not even a duplicate report (D-SACK).
 */
#define COLO_RW_MAX_WINDOW (1u << 30)
/* last_ns is rewritten at most this often: one store, not one a frame */
#define COLO_RW_TOUCH_NS 100000000ull

/* Room set by the agent (--max-connections) before loading. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, COLO_RW_CONNS_DEFAULT);
	__type(key, struct colo_rw_key);
	__type(value, struct colo_rw_conn);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} colo_rw_conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct colo_rw_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} colo_rw_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct colo_rw_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} colo_rw_stats SEC(".maps");

/* The VM's MAC addresses, learned from its frames: key in the low 48 bits. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, COLO_RW_MAX_MACS);
	__type(key, __u64);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} colo_rw_macs SEC(".maps");

/* Written by the agent only; declared here for its BTF type. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct colo_secondary);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} colo_secondary SEC(".maps");

/* Where a frame from the link goes. */
enum rw_dest {
	RW_TO_VM,
	RW_TO_HOST,
	RW_FOREIGN,
};

/* What the TCP options hold, as Linux reads them: the last of each kind. */
struct rw_opts {
	__u32 ts; /* offset of the timestamp option's TSval; 0: none */
	__u32 sack; /* offset of the SACK option's first block; 0: none */
	__u32 nsack;
	bool bad; /* an option runs past the header: the walk stopped */
};

/*
 * The checksum change, RFC 1624: the sum of each replaced 16-bit word's
 * complement and its new value. A field at an odd offset from the TCP
 * header straddles words: its sum counts byte-swapped.
 */
struct rw_csum {
	__u32 even;
	__u32 odd;
	bool changed;
};

static __always_inline __u64 rw_mac(const __u8 *p)
{
	return (__u64)p[0] << 40 | (__u64)p[1] << 32 | (__u64)p[2] << 24 |
	       (__u64)p[3] << 16 | (__u64)p[4] << 8 | p[5];
}

static __always_inline __u32 rw_fold(__u32 s)
{
	s = (s & 0xffff) + (s >> 16);
	return (s & 0xffff) + (s >> 16);
}

static __always_inline __u32 rw_csum_diff(const struct rw_csum *cs)
{
	__u32 odd = rw_fold(cs->odd);

	return rw_fold(rw_fold(cs->even) + ((odd >> 8 | odd << 8) & 0xffff));
}

/* Replace the 32-bit field at off by v and note the checksum's change. */
static __always_inline void rw_set32(__u8 *data, __u8 *end, __u32 off,
				     __u32 l4_off, __u32 v, struct rw_csum *cs)
{
	__u8 *p = (__u8 *)colo_ptr(data, end, off, 4);
	__u32 old, d;

	if (!p)
		return; /* cannot be: the header was checked to fit */
	old = colo_rd32(p);
	d = (~old >> 16) + (~old & 0xffff) + (v >> 16) + (v & 0xffff);
	if ((off - l4_off) & 1)
		cs->odd += d;
	else
		cs->even += d;
	cs->changed = true;
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static __always_inline __u32 rw_get32(const __u8 *data, const __u8 *end,
				      __u32 off)
{
	const __u8 *p = colo_ptr(data, end, off, 4);

	return p ? colo_rd32(p) : 0;
}

/*
 * A TCP segment, unfragmented, whose whole header lies in the linear
 * data; a frame that claims IP but does not fit is counted.
 */
static __always_inline bool rw_tcp(const __u8 *data, const __u8 *end, __u32 len,
				   struct colo_pkt *pkt,
				   struct colo_rw_stats *st)
{
	int cls = colo_parse(data, end, len, pkt);

	if (cls == COLO_CLASS_MALFORMED) {
		st->malformed++;
		return false;
	}
	if (cls != COLO_CLASS_COMPARE || pkt->key.proto != COLO_TCP_PROTO ||
	    pkt->cmp != COLO_CMP_TCP)
		return false;
	/* the options are read where colo_ptr() reaches */
	if (!colo_ptr(data, end, pkt->data_off - 1, 1)) {
		st->malformed++;
		return false;
	}
	return true;
}

/* A segment's TCP options, copied out of the frame. */
struct rw_optbuf {
	__u8 b[COLO_TCP_OPTS_MAX];
	__u32 n;
};

/*
 * Walk the options as Linux's tcp_parse_options() does: EOL ends them,
 * NOP is one byte, any other option has a length of at least 2 that must
 * not run past the header, else the walk stops there. One byte a step,
 * skipping the inside of an option, in a function of its own on a copy:
 * the verifier follows it once, and where the options were found is not
 * a path of its own for every caller. Offsets in *o are from the options'
 * start.
 */
__noinline int rw_walk_opts(const struct rw_optbuf *ob, struct rw_opts *o)
{
	__u32 len, skip = 0;
	int i;

	if (!ob || !o)
		return 0;
	__builtin_memset(o, 0, sizeof(*o));
	for (i = 0; i < COLO_TCP_OPTS_MAX; i++) {
		if (i >= ob->n)
			return 0;
		if (skip) {
			skip--;
			continue;
		}
		if (ob->b[i] == 0)
			return 0;
		if (ob->b[i] == 1)
			continue;
		len = i + 1 < COLO_TCP_OPTS_MAX ? ob->b[i + 1] : 0;
		if (i + 1 >= ob->n || len < 2 || i + len > ob->n) {
			o->bad = true;
			return 0;
		}
		if (ob->b[i] == 8 && len == 10) {
			o->ts = i + 2;
		} else if (ob->b[i] == 5 && len >= 10 && !((len - 2) % 8)) {
			o->sack = i + 2;
			o->nsack = (len - 2) / 8;
		}
		skip = len - 1;
	}
	return 0;
}

/* The options of the segment, walked; offsets in *o from the frame's start. */
static __always_inline void rw_opts(const __u8 *data, const __u8 *end,
				    const struct colo_pkt *pkt,
				    struct rw_opts *o)
{
	__u32 base = pkt->l4_off + 20;
	struct rw_optbuf ob = {};
	const __u8 *p;
	int i;

	ob.n = pkt->data_off - base;
	for (i = 0; i < COLO_TCP_OPTS_MAX; i++) {
		p = colo_ptr(data, end, base + i, 1);
		if (i >= ob.n || !p)
			break;
		ob.b[i] = *p;
	}
	rw_walk_opts(&ob, o);
	if (o->ts)
		o->ts += base;
	if (o->sack)
		o->sack += base;
}

static __always_inline void rw_key(const struct colo_pkt *pkt, bool from_vm,
				   struct colo_rw_key *k)
{
	const struct colo_flow_key *f = &pkt->key;

	__builtin_memset(k, 0, sizeof(*k));
	if (from_vm) {
		__builtin_memcpy(k->vaddr, f->saddr, 16);
		__builtin_memcpy(k->paddr, f->daddr, 16);
		k->vport = f->sport;
		k->pport = f->dport;
	} else {
		__builtin_memcpy(k->vaddr, f->daddr, 16);
		__builtin_memcpy(k->paddr, f->saddr, 16);
		k->vport = f->dport;
		k->pport = f->sport;
	}
	k->vlan = f->vlan;
	k->ipver = f->ipver;
}

/* The connection's entry, unless it is older than the last checkpoint. */
static __always_inline struct colo_rw_conn *
rw_conn(const struct colo_rw_key *k, const struct colo_rw_config *cfg)
{
	struct colo_rw_conn *c = bpf_map_lookup_elem(&colo_rw_conns, k);

	return c && c->epoch == cfg->epoch ? c : NULL;
}

static __always_inline void rw_touch(struct colo_rw_conn *c, __u64 now)
{
	if (now - c->last_ns > COLO_RW_TOUCH_NS)
		c->last_ns = now;
}

/*
 * FIN from both sides, or a RST, closes a connection; it stays and is
 * rewritten for the retransmissions of its last segments until the
 * sweep removes it. Each direction writes its own FIN byte.
 */
static __always_inline void rw_track_close(struct colo_rw_conn *c, __u8 fl,
					   bool from_vm,
					   struct colo_rw_stats *st, __u64 now)
{
	if (c->state == COLO_RW_CLOSED) {
		rw_touch(c, now);
		return;
	}
	if (fl & COLO_TCP_FIN) {
		if (from_vm)
			c->fin_vm = 1;
		else
			c->fin_peer = 1;
	}
	if (!(fl & COLO_TCP_RST) && !(c->fin_vm && c->fin_peer)) {
		rw_touch(c, now);
		return;
	}
	c->state = COLO_RW_CLOSED;
	c->last_ns = now;
	st->closed++;
}

static __always_inline void rw_untracked(__u8 fl, struct colo_rw_stats *st)
{
	if (fl & (COLO_TCP_RST | COLO_TCP_FIN))
		st->unknown_rst_fin++;
	else
		st->untracked++;
}

/*
 * The segment from the peer that teaches a handshaking connection its
 * offsets; false while it is not that one.
 */
static __always_inline bool
rw_learn(struct colo_rw_conn *c, const struct colo_pkt *pkt, const __u8 *data,
	 const __u8 *end, const struct rw_opts *o, struct colo_rw_stats *st)
{
	__u8 fl = pkt->tcp_flags;

	if (c->state == COLO_RW_SYN_SENT) {
		/* the answer to the VM's SYN: a SYN-ACK, or a RST refusing it */
		if (!(fl & COLO_TCP_ACK) ||
		    !(fl & (COLO_TCP_SYN | COLO_TCP_RST))) {
			st->not_learned++;
			return false;
		}
		st->learned_opened++;
	} else {
		if ((fl & (COLO_TCP_SYN | COLO_TCP_ACK)) != COLO_TCP_ACK) {
			st->not_learned++;
			return false;
		}
		/* not the answer to the VM's SYN-ACK (stale, or forged) */
		if (pkt->seq != c->peer_nxt) {
			st->learn_refused++;
			return false;
		}
		st->learned_accepted++;
	}
	c->seq_off = c->isn + 1 - pkt->ack;
	c->snd_nxt = pkt->ack;
	if (o->ts && (c->flags & COLO_RW_TS)) {
		c->ts_off = c->tsval - rw_get32(data, end, o->ts + 4);
		c->flags |= COLO_RW_TS_MAPPED;
	}
	/*
	 * The other direction reads the state, then the offsets: they are
	 * stored first (x86 keeps stores in order; the compiler is told).
	 */
	asm volatile("" ::: "memory");
	c->state = COLO_RW_LEARNED;
	return true;
}

/* Every SACK edge into the secondary's space; odd blocks are counted. */
static __always_inline void
rw_sack(__u8 *data, __u8 *end, const struct colo_pkt *pkt,
	const struct rw_opts *o, const struct colo_rw_conn *c,
	struct colo_rw_stats *st, struct rw_csum *cs)
{
	__u32 off, left, right;
	int b;

	for (b = 0; b < COLO_SACK_BLOCKS_MAX; b++) {
		if (b >= o->nsack)
			return;
		off = o->sack + b * 8;
		left = rw_get32(data, end, off);
		right = rw_get32(data, end, off + 4);
		if ((__s32)(right - left) <= 0)
			st->sack_wrapped++;
		else if ((__s32)(right - c->snd_nxt) > 0 ||
			 (__s32)(pkt->ack - left) > (__s32)COLO_RW_MAX_WINDOW)
			st->sack_outside++;
		/* mapped all the same: the secondary then judges it as the primary does */
		rw_set32(data, end, off, pkt->l4_off, left + c->seq_off, cs);
		rw_set32(data, end, off + 4, pkt->l4_off, right + c->seq_off,
			 cs);
	}
}

/* A segment to the VM: ack, SACK edges and TSecr into its spaces. */
static __always_inline void rw_in(__u8 *data, __u8 *end, __u32 len,
				  const struct colo_rw_config *cfg,
				  struct colo_rw_stats *st,
				  struct colo_pkt *pkt, struct rw_csum *cs)
{
	struct colo_rw_key key;
	struct colo_rw_conn *c;
	struct rw_opts o;
	__u64 now;
	__u8 fl;

	if (!rw_tcp(data, end, len, pkt, st))
		return;
	rw_key(pkt, false, &key);
	fl = pkt->tcp_flags;
	c = rw_conn(&key, cfg);
	if (!c) {
		rw_untracked(fl, st);
		return;
	}
	rw_opts(data, end, pkt, &o);
	if (o.bad)
		st->bad_options++;
	if ((c->state == COLO_RW_SYN_SENT || c->state == COLO_RW_SYN_RCVD) &&
	    !rw_learn(c, pkt, data, end, &o, st))
		return;
	now = bpf_ktime_get_ns();
	/* without ACK, ack and TSecr mean nothing, and SACK needs ACK */
	if (fl & COLO_TCP_ACK) {
		rw_set32(data, end, pkt->l4_off + 8, pkt->l4_off,
			 pkt->ack + c->seq_off, cs);
		rw_sack(data, end, pkt, &o, c, st, cs);
		if (o.ts && (c->flags & COLO_RW_TS_MAPPED))
			rw_set32(data, end, o.ts + 4, pkt->l4_off,
				 rw_get32(data, end, o.ts + 4) + c->ts_off, cs);
		st->acks_mapped++;
	}
	rw_track_close(c, fl, false, st, now);
}

/*
 * The VM's SYN (it opens) or SYN-ACK (it accepts): a new entry, unless it
 * is a retransmission of the one that made the entry. Returns the entry
 * to rewrite the segment with: a learned one whose SYN-ACK this repeats.
 */
static __always_inline struct colo_rw_conn *
rw_handshake(struct colo_rw_conn *c, const struct colo_rw_key *key,
	     const struct colo_pkt *pkt, const __u8 *data, const __u8 *end,
	     const struct colo_rw_config *cfg, struct colo_rw_stats *st)
{
	__u8 state = pkt->tcp_flags & COLO_TCP_ACK ? COLO_RW_SYN_RCVD :
						     COLO_RW_SYN_SENT;
	struct colo_rw_conn n = {};
	struct rw_opts o;

	if (c && c->isn == pkt->seq) {
		if (c->state == state)
			rw_touch(c, bpf_ktime_get_ns());
		return c->state == COLO_RW_LEARNED ? c : NULL;
	}
	/*
	 * No primary's sequence space to learn any more: the clients talk
	 * to the VM itself from the first byte.
	 */
	if (cfg->failover) {
		st->failover_untracked++;
		return NULL;
	}
	rw_opts(data, end, pkt, &o);
	if (o.bad)
		st->bad_options++;
	n.last_ns = bpf_ktime_get_ns();
	n.epoch = cfg->epoch;
	n.isn = pkt->seq;
	n.state = state;
	if (state == COLO_RW_SYN_RCVD)
		n.peer_nxt = pkt->ack;
	if (o.ts) {
		n.tsval = rw_get32(data, end, o.ts);
		n.flags = COLO_RW_TS;
	}
	if (bpf_map_update_elem(&colo_rw_conns, key, &n, BPF_ANY))
		st->table_full++;
	return NULL;
}

/* A segment from the VM: seq and TSval into the primary's spaces. */
static __always_inline void rw_out(__u8 *data, __u8 *end, __u32 len,
				   const struct colo_rw_config *cfg,
				   struct colo_rw_stats *st,
				   struct colo_pkt *pkt, struct rw_csum *cs)
{
	__u32 seq, next, n;
	struct colo_rw_key key;
	struct colo_rw_conn *c;
	struct rw_opts o;
	__u8 fl;

	if (!rw_tcp(data, end, len, pkt, st))
		return;
	rw_key(pkt, true, &key);
	fl = pkt->tcp_flags;
	c = rw_conn(&key, cfg);
	if (fl & COLO_TCP_SYN) {
		c = rw_handshake(c, &key, pkt, data, end, cfg, st);
		if (!c)
			return;
	} else if (!c) {
		rw_untracked(fl, st);
		return;
	} else if (c->state != COLO_RW_LEARNED && c->state != COLO_RW_CLOSED) {
		st->not_learned++;
		return;
	}
	rw_opts(data, end, pkt, &o);
	if (o.bad)
		st->bad_options++;
	seq = pkt->seq - c->seq_off;
	rw_set32(data, end, pkt->l4_off + 4, pkt->l4_off, seq, cs);
	if (o.ts && (c->flags & COLO_RW_TS_MAPPED))
		rw_set32(data, end, o.ts, pkt->l4_off,
			 rw_get32(data, end, o.ts) - c->ts_off, cs);
	n = pkt->ip_end - pkt->data_off;
	next = seq + n + !!(fl & COLO_TCP_SYN) + !!(fl & COLO_TCP_FIN);
	if ((__s32)(next - c->snd_nxt) > 0)
		c->snd_nxt = next;
	st->seqs_mapped++;
	rw_track_close(c, fl, true, st, bpf_ktime_get_ns());
}

/* Frames to the link's own address are the host's; others the VM's. */
static __always_inline int rw_dest(const __u8 *data, const __u8 *end,
				   const struct colo_rw_config *cfg)
{
	const __u8 *p = colo_ptr(data, end, 0, 6);
	__u64 mac;

	if (!p || p[0] & 1) /* a group address: the VM's too */
		return RW_TO_VM;
	mac = rw_mac(p);
	if (mac == rw_mac(cfg->link_mac))
		return RW_TO_HOST;
	/* nothing learned yet, or no room to learn: cannot tell */
	if (!cfg->vm_macs || cfg->macs_full)
		return RW_TO_VM;
	return bpf_map_lookup_elem(&colo_rw_macs, &mac) ? RW_TO_VM : RW_FOREIGN;
}

/*
 * The pair's frame from the primary host (colo_pair.h), taken here and
 * never the VM's. A checkpoint done makes the secondary a copy of the
 * primary: every entry made before is stale at once, one store. Two
 * copies of one message racing on two CPUs could both bump the epoch,
 * which clears nothing more than the first did unless a connection was
 * learned in between; a compare-and-swap would need BPF v3 atomics for
 * this one store.
 */
static __always_inline void rw_pair(const __u8 *data, const __u8 *end,
				    struct colo_rw_config *cfg,
				    struct colo_rw_stats *st)
{
	const __u8 *p = colo_ptr(data, end, 14, sizeof(struct colo_pair_msg));
	struct colo_pair_msg m;

	if (!p) {
		st->pair_refused++;
		return;
	}
	__builtin_memcpy(&m, p, sizeof(m));
	if (m.magic != bpf_htonl(COLO_PAIR_MAGIC) ||
	    m.version != COLO_PAIR_VERSION || m.len != bpf_htons(sizeof(m)) ||
	    m.type != COLO_PAIR_CHECKPOINT_DONE || m.token != cfg->pair_token) {
		st->pair_refused++;
		return;
	}
	if (m.seq == cfg->pair_seq) {
		st->pair_duplicates++;
		return;
	}
	cfg->pair_seq = m.seq;
	__sync_fetch_and_add(&cfg->epoch, 1);
	st->pair_checkpoints++;
}

/* The VM's source addresses are its own: the link delivers them. */
static __always_inline void rw_learn_mac(const __u8 *data, const __u8 *end,
					 struct colo_rw_config *cfg)
{
	const __u8 *p = colo_ptr(data, end, 6, 6);
	__u8 one = 1;
	__u64 mac;
	int err;

	if (!p || p[0] & 1)
		return;
	mac = rw_mac(p);
	if (bpf_map_lookup_elem(&colo_rw_macs, &mac))
		return;
	err = bpf_map_update_elem(&colo_rw_macs, &mac, &one, BPF_NOEXIST);
	if (!err)
		__sync_fetch_and_add(&cfg->vm_macs, 1);
	else if (err != -17) /* EEXIST: another CPU learned it */
		cfg->macs_full = 1;
}

/*
 * xdp.frags: at a jumbo MTU a frame comes as a multi-buffer XDP frame
 * (without the flag veth refuses the program when its peer's MTU is
 * jumbo, and drivers drop such frames). Only the headers, in the first
 * buffer (data to data_end), are read and rewritten; IP lengths are
 * checked against the whole frame's, and it is redirected whole.
 */
SEC("xdp.frags")
int colo_rw_in(struct xdp_md *ctx)
{
	__u8 *data = (__u8 *)(long)ctx->data;
	__u8 *end = (__u8 *)(long)ctx->data_end;
	struct colo_rw_config *cfg;
	struct colo_rw_stats *st;
	struct rw_csum cs = {};
	const __u8 *p;
	struct colo_pkt pkt;
	__u32 zero = 0, s;
	__u8 *check;

	cfg = bpf_map_lookup_elem(&colo_rw_config, &zero);
	st = bpf_map_lookup_elem(&colo_rw_stats, &zero);
	if (!cfg || !st)
		return XDP_PASS;
	p = colo_ptr(data, end, 12, 2);
	if (p && colo_rd16(p) == COLO_PAIR_ETHERTYPE) {
		/* from the link only: elsewhere anyone could send one */
		if (ctx->ingress_ifindex == cfg->link_ifindex)
			rw_pair(data, end, cfg, st);
		else
			st->pair_refused++;
		return XDP_DROP;
	}
	if (ctx->ingress_ifindex != cfg->link_ifindex) {
		/*
		 * --failover-out: the clients reach the VM here once the
		 * primary host is gone; until then, and for anything but
		 * the VM's frames, the host's interface as if we were not.
		 */
		if (!cfg->failover || rw_dest(data, end, cfg) != RW_TO_VM)
			return XDP_PASS;
	} else {
		switch (rw_dest(data, end, cfg)) {
		case RW_TO_HOST:
			st->to_host++;
			return XDP_PASS;
		case RW_FOREIGN:
			st->foreign++;
			return XDP_DROP;
		}
	}
	rw_in(data, end, bpf_xdp_get_buff_len(ctx), cfg, st, &pkt, &cs);
	check = (__u8 *)colo_ptr(data, end, pkt.l4_off + 16, 2);
	if (cs.changed && check) {
		/* the frame came whole from the wire: its checksum is full */
		s = ~rw_fold(rw_csum_diff(&cs) + (~colo_rd16(check) & 0xffff));
		check[0] = s >> 8;
		check[1] = s;
	}
	st->to_vm++;
	return bpf_redirect(cfg->vm_ifindex, 0);
}

SEC("tc")
int colo_rw_out(struct __sk_buff *skb)
{
	__u32 zero = 0, need;
	struct colo_rw_config *cfg;
	struct colo_rw_stats *st;
	struct rw_csum cs = {};
	struct colo_pkt pkt;
	__u8 *data, *end;

	cfg = bpf_map_lookup_elem(&colo_rw_config, &zero);
	st = bpf_map_lookup_elem(&colo_rw_stats, &zero);
	if (!cfg || !st)
		return TC_ACT_OK;
	/* the headers, where the parser reads them; a no-op when linear */
	need = skb->len < COLO_PARSE_MAX_OFF ? skb->len : COLO_PARSE_MAX_OFF;
	data = (__u8 *)(long)skb->data;
	end = (__u8 *)(long)skb->data_end;
	if (data + need > end) {
		bpf_skb_pull_data(skb, need);
		data = (__u8 *)(long)skb->data;
		end = (__u8 *)(long)skb->data_end;
	}
	rw_learn_mac(data, end, cfg);
	rw_out(data, end, skb->len, cfg, st, &pkt, &cs);
	/*
	 * Leaves a partial checksum (GSO, offload) alone, as it must. The
	 * kernel sums in memory order: the change goes in network order.
	 */
	if (cs.changed)
		bpf_l4_csum_replace(skb, pkt.l4_off + 16, 0,
				    bpf_htons(rw_csum_diff(&cs)), 0);
	if (cfg->failover && cfg->failover_ifindex) {
		st->to_failover++;
		return bpf_redirect(cfg->failover_ifindex, 0);
	}
	st->to_link++;
	return bpf_redirect(cfg->link_ifindex, 0);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
