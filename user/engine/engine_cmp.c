// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The comparison rules of docs/semantics.md, per connection: TCP as a byte
 * stream by sequence number behind a compare cursor, every other protocol
 * as pairs of oldest frames. Only bytes inside the IP packet are compared;
 * Ethernet padding never is.
 */
#include <string.h>

#include "engine_internal.h"

/* Index of the first differing byte, or n. */
static uint32_t diff_at(const uint8_t *a, const uint8_t *b, uint32_t n)
{
	uint32_t i;

	if (!memcmp(a, b, n))
		return n;
	for (i = 0; a[i] == b[i]; i++)
		;
	return i;
}

/* Where a walk over a frame's bytes is: in a segment, and the next one. */
struct eng_cursor {
	const uint8_t *p;
	uint32_t left; /* bytes from p to the end of its segment */
	uint32_t seg; /* the next segment, ENG_NIL after the last */
};

static void cursor_at(const struct colo_engine *e, const struct eng_frame *f,
		      uint32_t off, struct eng_cursor *c)
{
	const struct eng_seg *s;
	uint32_t i = f->seg;

	if (!f->segmented) {
		c->p = f->data + off;
		c->left = f->len - off;
		c->seg = ENG_NIL;
		return;
	}
	/* off < f->len: the parser bounds every compared range by it */
	for (s = &e->segs[i]; off >= s->len && s->next != ENG_NIL;
	     s = &e->segs[s->next])
		off -= s->len;
	c->p = s->data + off;
	c->left = s->len - off;
	c->seg = s->next;
}

static void cursor_fill(const struct colo_engine *e, struct eng_cursor *c)
{
	const struct eng_seg *s;

	while (!c->left && c->seg != ENG_NIL) {
		s = &e->segs[c->seg];
		c->p = s->data;
		c->left = s->len;
		c->seg = s->next;
	}
}

/*
 * diff_at() over frames in segments: the two frames' segment edges need
 * not line up, so compare the run both have in one piece, then step.
 */
static uint32_t segs_diff_at(const struct colo_engine *e,
			     const struct eng_frame *a, uint32_t aoff,
			     const struct eng_frame *b, uint32_t boff,
			     uint32_t n)
{
	struct eng_cursor x, y;
	uint32_t done = 0, k, d;

	cursor_at(e, a, aoff, &x);
	cursor_at(e, b, boff, &y);
	while (done < n) {
		cursor_fill(e, &x);
		cursor_fill(e, &y);
		k = n - done;
		k = x.left < k ? x.left : k;
		k = y.left < k ? y.left : k;
		if (!k) /* a frame shorter than its parse: cannot be equal */
			return done;
		d = diff_at(x.p, y.p, k);
		if (d < k)
			return done + d;
		x.p += k;
		x.left -= k;
		y.p += k;
		y.left -= k;
		done += k;
	}
	return n;
}

/* First differing byte of n from a's aoff and b's boff, or n. */
static inline uint32_t frame_diff_at(const struct colo_engine *e,
				     const struct eng_frame *a, uint32_t aoff,
				     const struct eng_frame *b, uint32_t boff,
				     uint32_t n)
{
	if (!(a->segmented | b->segmented))
		return diff_at(a->data + aoff, b->data + boff, n);
	return segs_diff_at(e, a, aoff, b, boff, n);
}

/* The first segment: where the parser found every header. */
static inline const uint8_t *frame_head(const struct colo_engine *e,
					const struct eng_frame *f)
{
	return f->segmented ? e->segs[f->seg].data : f->data;
}

/* Whole IP packet but the IPv4 ID, TTL and checksum or IPv6 hop limit. */
static uint32_t ip_diff_at(const struct colo_engine *e,
			   const struct eng_frame *p, uint32_t off,
			   const struct eng_frame *s, uint32_t soff, uint32_t n,
			   int ipver)
{
	uint32_t skip = ipver == 4 ? 0x0d30 : 0x0080, i;
	const uint8_t *a = frame_head(e, p) + off, *b = frame_head(e, s) + soff;

	/* n >= 20: the parser never classifies a shorter IP packet COMPARE */
	for (i = 0; i < 12; i++)
		if (!(skip >> i & 1) && a[i] != b[i])
			return i;
	return 12 + frame_diff_at(e, p, off + 12, s, soff + 12, n - 12);
}

static void mismatch(struct colo_engine *e, struct eng_conn *c,
		     const struct eng_frame *p, const struct eng_frame *s,
		     uint32_t offset, uint32_t seq)
{
	struct colo_mismatch m = {
		.key = &c->key,
		.primary_handle = p->handle,
		.secondary_handle = s->handle,
		.offset = offset,
		.seq = seq,
	};

	c->flags |= ENG_C_MISMATCH;
	e->st.mismatches++;
	if (e->ops.mismatch)
		e->ops.mismatch(e->ctx, &m);
	eng_request(e, COLO_CKPT_MISMATCH);
}

/* Returns true when the oldest primary and secondary frames are equal. */
static bool pair_equal(struct colo_engine *e, struct eng_conn *c,
		       const struct eng_frame *p, const struct eng_frame *s)
{
	uint32_t off = p->cmp == COLO_CMP_IP ? p->l3_off : p->data_off;
	uint32_t soff = s->cmp == COLO_CMP_IP ? s->l3_off : s->data_off;
	uint32_t pn = p->ip_end - off, sn = s->ip_end - soff;
	uint32_t n = pn < sn ? pn : sn, d;

	if (p->cmp != s->cmp) {
		mismatch(e, c, p, s, 0, 0);
		return false;
	}
	if (p->cmp == COLO_CMP_IP)
		d = ip_diff_at(e, p, off, s, soff, n, c->key.ipver);
	else
		d = frame_diff_at(e, p, off, s, soff, n);
	if (d < n || pn != sn) {
		mismatch(e, c, p, s, d, 0);
		return false;
	}
	return true;
}

static void pairs_input(struct colo_engine *e, struct eng_conn *c,
			struct eng_frame *f)
{
	eng_queue_append(e, c, f);
	if (c->flags & ENG_C_MISMATCH)
		return;
	while (c->qhead[COLO_PRIMARY] != ENG_NIL &&
	       c->qhead[COLO_SECONDARY] != ENG_NIL) {
		if (!pair_equal(e, c, &e->frames[c->qhead[COLO_PRIMARY]],
				&e->frames[c->qhead[COLO_SECONDARY]]))
			return;
		e->st.compared++;
		eng_answer_head(e, c, COLO_PRIMARY, false);
		eng_answer_head(e, c, COLO_SECONDARY, false);
	}
}

static uint32_t tcp_end(const struct eng_frame *f)
{
	return f->start + f->span;
}

static uint8_t tcp_marker(const struct eng_frame *f)
{
	return f->tcp_flags & COLO_TCP_RST ? COLO_TCP_RST : COLO_TCP_FIN;
}

/* A SYN without ACK: a replica opening the connection. */
static bool tcp_opening(const struct eng_frame *f)
{
	return (f->tcp_flags & (COLO_TCP_SYN | COLO_TCP_ACK)) == COLO_TCP_SYN;
}

/*
 * Everything the segment carries is compared and, with ACK, the secondary
 * acknowledged at least as far. A segment that carries nothing waits for
 * the cursor to reach it, so it keeps its place in the stream. A primary
 * SYN waits for the secondary's (tcp_syn()).
 */
static bool tcp_releasable(const struct eng_conn *c, const struct eng_frame *p)
{
	bool cursor = c->flags & ENG_C_CURSOR;

	if (tcp_opening(p) && !(c->flags & ENG_C_SYN_MET))
		return false;
	if (p->span ? !cursor || !eng_seq_le(tcp_end(p), c->cursor) :
		      cursor && !eng_seq_le(p->start, c->cursor))
		return false;
	if (!(p->tcp_flags & COLO_TCP_ACK))
		return true;
	return (c->flags & ENG_C_SEC_ACK) && eng_seq_le(p->ack, c->sec_ack);
}

/*
 * Compare the two segments from the cursor up to the nearer end; a FIN or
 * RST position must meet the same marker. Returns false on a mismatch.
 */
static bool tcp_compare(struct colo_engine *e, struct eng_conn *c,
			const struct eng_frame *p, const struct eng_frame *s)
{
	uint32_t cur = c->cursor;
	uint32_t pe = tcp_end(p) - cur, se = tcp_end(s) - cur;
	uint32_t pdl = p->start + (p->ip_end - p->data_off) - cur;
	uint32_t sdl = s->start + (s->ip_end - s->data_off) - cur;
	uint32_t n = pe < se ? pe : se;
	/* at most n: each side's data ends at or before its segment */
	uint32_t d = pdl < sdl ? pdl : sdl, i;

	i = frame_diff_at(e, p, p->data_off + (cur - p->start), s,
			  s->data_off + (cur - s->start), d);
	if (i < d)
		goto differ;
	if (d < n) {
		/* one side is at its FIN/RST position: both must be */
		if (pdl != d || sdl != d || tcp_marker(p) != tcp_marker(s))
			goto differ;
		n = d + 1;
	}
	c->cursor = cur + n;
	if (eng_seq_le(tcp_end(p), c->cursor))
		e->st.compared++;
	return true;
differ:
	mismatch(e, c, p, s, cur + i - p->start, cur + i);
	return false;
}

/* First primary segment with something left to compare at the cursor. */
static struct eng_frame *tcp_primary_at_cursor(struct colo_engine *e,
					       struct eng_conn *c)
{
	struct eng_frame *p;

	for (p = eng_frame(e, c->qhead[COLO_PRIMARY]); p;
	     p = eng_frame(e, p->next))
		if (p->span && eng_seq_lt(c->cursor, tcp_end(p)))
			return p;
	return NULL;
}

static void tcp_run(struct colo_engine *e, struct eng_conn *c)
{
	struct eng_frame *p, *s;

	if (c->flags & ENG_C_MISMATCH)
		return;
	p = eng_frame(e, c->qhead[COLO_PRIMARY]);
	s = eng_frame(e, c->qhead[COLO_SECONDARY]);
	if (!(c->flags & ENG_C_CURSOR) && p && s) {
		c->cursor = eng_seq_lt(p->start, s->start) ? p->start :
							     s->start;
		c->flags |= ENG_C_CURSOR;
	}
	for (;;) {
		while ((s = eng_frame(e, c->qhead[COLO_SECONDARY])) &&
		       (c->flags & ENG_C_CURSOR) &&
		       eng_seq_le(tcp_end(s), c->cursor))
			eng_answer_head(e, c, COLO_SECONDARY, false);
		while ((p = eng_frame(e, c->qhead[COLO_PRIMARY])) &&
		       tcp_releasable(c, p))
			eng_answer_head(e, c, COLO_PRIMARY, false);
		if (!(c->flags & ENG_C_CURSOR) || !s ||
		    eng_seq_lt(c->cursor, s->start))
			return;
		p = tcp_primary_at_cursor(e, c);
		if (!p || eng_seq_lt(c->cursor, p->start))
			return;
		if (!tcp_compare(e, c, p, s))
			return;
	}
}

/*
 * A SYN without ACK: the primary's leaves only once the secondary has sent
 * its own SYN for the connection. The server's SYN-ACK answers the
 * primary's SYN and is mirrored to the secondary host, whose rewriter can
 * learn from it only if the secondary's SYN went out first (section 16 of
 * docs/semantics.md). The SYNs are not compared: each replica picks its own
 * ISN. An ISN tells attempts apart: the same again is a retransmission of
 * the same attempt; another on the same ports (port reuse) is a new one,
 * whose primary SYN needs a new secondary SYN. Each side may be one attempt
 * ahead of the other; a checkpoint (a new epoch) forgets them all, since
 * the secondary is then a copy of the primary and sends its SYN again.
 */
static void tcp_syn(struct colo_engine *e, struct eng_conn *c,
		    const struct eng_frame *f)
{
	bool sec = f->side == COLO_SECONDARY;
	uint16_t have = sec ? ENG_C_SYN_S : ENG_C_SYN_P;
	uint32_t isn = f->start - 1;

	if (!(c->flags & have) || c->syn_isn[f->side] != isn) {
		c->syn_isn[f->side] = isn;
		c->flags |= have;
		/* a secondary SYN meets the primary's waiting one, if any */
		if (sec &&
		    (c->flags & (ENG_C_SYN_P | ENG_C_SYN_MET)) == ENG_C_SYN_P)
			c->flags |= ENG_C_SYN_MET;
		else if (sec)
			c->flags |= ENG_C_SYN_SPARE;
		else if (c->flags & ENG_C_SYN_SPARE)
			c->flags = (c->flags & ~ENG_C_SYN_SPARE) |
				   ENG_C_SYN_MET;
		else
			c->flags &= ~ENG_C_SYN_MET;
	}
	if (!sec && !(c->flags & ENG_C_SYN_MET))
		e->st.syn_held++;
}

static void tcp_input(struct colo_engine *e, struct eng_conn *c,
		      struct eng_frame *f)
{
	bool sec = f->side == COLO_SECONDARY;

	if (tcp_opening(f))
		tcp_syn(e, c, f);
	if (f->tcp_flags & COLO_TCP_RST)
		c->flags |= ENG_C_RST;
	if (f->tcp_flags & COLO_TCP_FIN)
		c->flags |= sec ? ENG_C_FIN_S : ENG_C_FIN_P;
	if (sec && (f->tcp_flags & COLO_TCP_ACK) &&
	    (!(c->flags & ENG_C_SEC_ACK) || eng_seq_lt(c->sec_ack, f->ack))) {
		c->sec_ack = f->ack;
		c->flags |= ENG_C_SEC_ACK;
	}
	if (sec && (!f->span || ((c->flags & ENG_C_CURSOR) &&
				 eng_seq_le(tcp_end(f), c->cursor)))) {
		/*
		 * Nothing to compare: its ACK, recorded above, is all it
		 * gives. Queued, a pure ACK would wait for a primary segment
		 * that need not come and end in a false timeout.
		 */
		if (f->span)
			e->st.retransmissions++;
		eng_answer(e, f, false);
	} else {
		if (f->span && (c->flags & ENG_C_CURSOR) &&
		    eng_seq_le(tcp_end(f), c->cursor))
			e->st.retransmissions++;
		eng_queue_insert_seq(e, c, f);
	}
	tcp_run(e, c);
}

void eng_cmp_input(struct colo_engine *e, struct eng_conn *c,
		   struct eng_frame *f)
{
	if (c->flags & ENG_C_TCP)
		tcp_input(e, c, f);
	else
		pairs_input(e, c, f);
}
