// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Pools and lists of the engine: frame descriptors, the connection table
 * (a chained hash over preallocated slots), the per-side arrival lists the
 * timeout scan reads and the LRU of empty connections.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"

static uint64_t mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static uint32_t key_hash(const struct colo_flow_key *key, bool tcp)
{
	uint64_t w[sizeof(*key) / 8], h = tcp;
	size_t i;

	_Static_assert(sizeof(*key) % 8 == 0, "flow key is whole words");
	memcpy(w, key, sizeof(w));
	for (i = 0; i < sizeof(w) / 8; i++)
		h = (h ^ w[i]) * 0x9e3779b97f4a7c15ULL;
	return (uint32_t)mix64(h);
}

/* Chains average at most two connections when the table is full. */
static uint32_t buckets_for(uint32_t max_connections)
{
	uint32_t n = 16;

	while (n < max_connections / 2)
		n <<= 1;
	return n;
}

uint64_t eng_table_memory(const struct colo_engine_config *cfg)
{
	return (uint64_t)cfg->max_frames *
		       (sizeof(struct eng_frame) + sizeof(struct eng_seg)) +
	       (uint64_t)cfg->max_connections * sizeof(struct eng_conn) +
	       (uint64_t)buckets_for(cfg->max_connections) * sizeof(uint32_t);
}

int eng_table_init(struct colo_engine *e)
{
	uint32_t i, nb = buckets_for(e->cfg.max_connections);

	e->frames = calloc(e->cfg.max_frames, sizeof(*e->frames));
	/*
	 * As many segments as frames: a driver whose segments are buffers
	 * of a pool the size of max_frames (AF_XDP's UMEM) never runs out.
	 */
	e->segs = calloc(e->cfg.max_frames, sizeof(*e->segs));
	e->conns = calloc(e->cfg.max_connections, sizeof(*e->conns));
	e->buckets = malloc((size_t)nb * sizeof(*e->buckets));
	if (!e->frames || !e->segs || !e->conns || !e->buckets) {
		eng_table_fini(e);
		return -ENOMEM;
	}
	e->bucket_mask = nb - 1;
	memset(e->buckets, 0xff, (size_t)nb * sizeof(*e->buckets));
	for (i = 0; i < e->cfg.max_frames; i++)
		e->frames[i].next = i + 1 < e->cfg.max_frames ? i + 1 : ENG_NIL;
	for (i = 0; i < e->cfg.max_frames; i++)
		e->segs[i].next = i + 1 < e->cfg.max_frames ? i + 1 : ENG_NIL;
	e->free_seg = 0;
	e->segs_free = e->cfg.max_frames;
	for (i = 0; i < e->cfg.max_connections; i++)
		e->conns[i].hnext = i + 1 < e->cfg.max_connections ? i + 1 :
								     ENG_NIL;
	e->free_frame = 0;
	e->free_conn = 0;
	/*
	 * An eighth of the pool is always the other side's: a side that runs
	 * ahead (a primary whose secondary lags) cannot take the frames its
	 * own matches would need.
	 */
	e->side_max = e->cfg.max_frames - e->cfg.max_frames / 8;
	e->ghead[0] = e->ghead[1] = e->gtail[0] = e->gtail[1] = ENG_NIL;
	e->lru_head = e->lru_tail = ENG_NIL;
	return 0;
}

void eng_table_fini(struct colo_engine *e)
{
	free(e->frames);
	free(e->segs);
	free(e->conns);
	free(e->buckets);
	e->frames = NULL;
	e->segs = NULL;
	e->conns = NULL;
	e->buckets = NULL;
}

struct eng_frame *eng_frame_get(struct colo_engine *e)
{
	struct eng_frame *f = eng_frame(e, e->free_frame);

	if (!f)
		return NULL;
	e->free_frame = f->next;
	f->next = ENG_NIL;
	f->conn = ENG_NIL;
	f->queued = 0;
	f->segmented = 0;
	e->st.pool_in_use++;
	return f;
}

/*
 * Keep a frame's segments, in order; the caller checked segs_free. Empty
 * ones are left out: the comparison walks bytes, not segments.
 */
void eng_frame_segs(struct colo_engine *e, struct eng_frame *f,
		    const struct iovec *iov, unsigned int iovcnt)
{
	uint32_t *link = &f->seg;
	struct eng_seg *s = NULL;
	unsigned int i;

	for (i = 0; i < iovcnt; i++) {
		if (!iov[i].iov_len)
			continue;
		*link = e->free_seg;
		s = &e->segs[e->free_seg];
		e->free_seg = s->next;
		e->segs_free--;
		s->data = iov[i].iov_base;
		s->len = (uint32_t)iov[i].iov_len;
		link = &s->next;
	}
	*link = ENG_NIL;
	f->segmented = 1;
}

static void frame_put(struct colo_engine *e, struct eng_frame *f)
{
	uint32_t i, last;

	if (f->segmented) {
		/* the whole chain back onto the free list at once */
		for (i = f->seg, last = ENG_NIL; i != ENG_NIL;
		     i = e->segs[i].next) {
			last = i;
			e->segs_free++;
		}
		if (last != ENG_NIL) {
			e->segs[last].next = e->free_seg;
			e->free_seg = f->seg;
		}
	}
	f->next = e->free_frame;
	e->free_frame = eng_frame_idx(e, f);
	e->st.pool_in_use--;
}

static void lru_unlink(struct colo_engine *e, struct eng_conn *c)
{
	if (c->lprev != ENG_NIL)
		e->conns[c->lprev].lnext = c->lnext;
	else
		e->lru_head = c->lnext;
	if (c->lnext != ENG_NIL)
		e->conns[c->lnext].lprev = c->lprev;
	else
		e->lru_tail = c->lprev;
	c->flags &= ~ENG_C_IN_LRU;
}

static void lru_append(struct colo_engine *e, struct eng_conn *c)
{
	uint32_t i = eng_conn_idx(e, c);

	c->lprev = e->lru_tail;
	c->lnext = ENG_NIL;
	if (e->lru_tail != ENG_NIL)
		e->conns[e->lru_tail].lnext = i;
	else
		e->lru_head = i;
	e->lru_tail = i;
	c->flags |= ENG_C_IN_LRU;
	c->idle_ms = (uint32_t)(e->now_ns / 1000000);
}

/* Take an empty connection out of the table; its slot is free again. */
void eng_conn_remove(struct colo_engine *e, struct eng_conn *c)
{
	uint32_t i = eng_conn_idx(e, c);
	uint32_t *p = &e->buckets[key_hash(&c->key, c->flags & ENG_C_TCP) &
				  e->bucket_mask];

	while (*p != i)
		p = &e->conns[*p].hnext;
	*p = c->hnext;
	if (c->flags & ENG_C_IN_LRU)
		lru_unlink(e, c);
	c->hnext = e->free_conn;
	e->free_conn = i;
	e->st.conns_active--;
}

void eng_conn_sync(struct colo_engine *e, struct eng_conn *c)
{
	if (c->epoch == e->epoch)
		return;
	c->epoch = e->epoch;
	c->flags &= ~ENG_C_EPOCH_FLAGS;
}

struct eng_conn *eng_conn_get(struct colo_engine *e,
			      const struct colo_flow_key *key, bool tcp)
{
	uint32_t b = key_hash(key, tcp) & e->bucket_mask, i;
	uint16_t mode = tcp ? ENG_C_TCP : 0;
	struct eng_conn *c;

	for (i = e->buckets[b]; i != ENG_NIL; i = c->hnext) {
		c = &e->conns[i];
		if ((c->flags & ENG_C_TCP) == mode &&
		    !memcmp(&c->key, key, sizeof(*key))) {
			eng_conn_sync(e, c);
			return c;
		}
	}
	if (e->free_conn == ENG_NIL) {
		/* reclaim the connection that has been empty the longest */
		if (e->lru_head == ENG_NIL)
			return NULL;
		eng_conn_remove(e, &e->conns[e->lru_head]);
		e->st.conns_expired_idle++;
	}
	i = e->free_conn;
	c = &e->conns[i];
	e->free_conn = c->hnext;
	memset(c, 0, sizeof(*c));
	c->key = *key;
	c->flags = mode;
	c->epoch = e->epoch;
	c->qhead[0] = c->qhead[1] = c->qtail[0] = c->qtail[1] = ENG_NIL;
	c->hnext = e->buckets[b];
	e->buckets[b] = i;
	e->st.conns_created++;
	e->st.conns_active++;
	return c;
}

/*
 * After a connection's queues changed: an empty one expires if it is
 * closed, otherwise waits on the LRU for idle expiry or reclaim; one that
 * holds frames leaves the LRU.
 */
void eng_conn_settle(struct colo_engine *e, struct eng_conn *c)
{
	if (c->qlen[0] || c->qlen[1]) {
		if (c->flags & ENG_C_IN_LRU)
			lru_unlink(e, c);
		return;
	}
	if ((c->flags & ENG_C_RST) ||
	    (c->flags & (ENG_C_FIN_P | ENG_C_FIN_S)) ==
		    (ENG_C_FIN_P | ENG_C_FIN_S)) {
		eng_conn_remove(e, c);
		e->st.conns_expired_closed++;
		return;
	}
	if (c->flags & ENG_C_IN_LRU)
		lru_unlink(e, c);
	lru_append(e, c);
}

void eng_conn_expire_idle(struct colo_engine *e)
{
	uint32_t now_ms = (uint32_t)(e->now_ns / 1000000);
	struct eng_conn *c;

	while (e->lru_head != ENG_NIL) {
		c = &e->conns[e->lru_head];
		if (now_ms - c->idle_ms < e->cfg.idle_timeout_ms)
			break;
		eng_conn_remove(e, c);
		e->st.conns_expired_idle++;
	}
}

static void arrival_append(struct colo_engine *e, struct eng_frame *f)
{
	uint32_t i = eng_frame_idx(e, f);

	f->gprev = e->gtail[f->side];
	f->gnext = ENG_NIL;
	if (f->gprev != ENG_NIL)
		e->frames[f->gprev].gnext = i;
	else
		e->ghead[f->side] = i;
	e->gtail[f->side] = i;
	f->queued = 1;
	e->st.queued[f->side]++;
}

static void arrival_unlink(struct colo_engine *e, struct eng_frame *f)
{
	if (f->gprev != ENG_NIL)
		e->frames[f->gprev].gnext = f->gnext;
	else
		e->ghead[f->side] = f->gnext;
	if (f->gnext != ENG_NIL)
		e->frames[f->gnext].gprev = f->gprev;
	else
		e->gtail[f->side] = f->gprev;
	f->queued = 0;
	e->st.queued[f->side]--;
}

void eng_queue_append(struct colo_engine *e, struct eng_conn *c,
		      struct eng_frame *f)
{
	uint32_t i = eng_frame_idx(e, f);

	f->conn = eng_conn_idx(e, c);
	f->next = ENG_NIL;
	if (c->qtail[f->side] != ENG_NIL)
		e->frames[c->qtail[f->side]].next = i;
	else
		c->qhead[f->side] = i;
	c->qtail[f->side] = i;
	c->qlen[f->side]++;
	arrival_append(e, f);
}

/*
 * Keep a TCP queue in stream order, stable for equal starts. Segments
 * nearly always arrive in order, so the tail is checked first; otherwise
 * the walk is bounded by the queue's length (a queue past max_queue_size
 * has asked for the checkpoint that empties it).
 */
void eng_queue_insert_seq(struct colo_engine *e, struct eng_conn *c,
			  struct eng_frame *f)
{
	uint32_t *p = &c->qhead[f->side];
	struct eng_frame *t = eng_frame(e, c->qtail[f->side]);

	if (!t || eng_seq_le(t->start, f->start)) {
		eng_queue_append(e, c, f);
		return;
	}
	while (eng_seq_le(e->frames[*p].start, f->start))
		p = &e->frames[*p].next;
	f->conn = eng_conn_idx(e, c);
	f->next = *p;
	*p = eng_frame_idx(e, f);
	c->qlen[f->side]++;
	arrival_append(e, f);
}

/* Answer a frame, release or free, and return its descriptor. */
void eng_answer(struct colo_engine *e, struct eng_frame *f, bool flush)
{
	if (f->queued)
		arrival_unlink(e, f);
	if (f->side == COLO_PRIMARY) {
		e->st.released++;
		if (flush)
			e->st.released_flush++;
		e->ops.release(e->ctx, f->handle, f->len);
	} else {
		e->ops.free(e->ctx, f->handle);
	}
	frame_put(e, f);
}

void eng_answer_head(struct colo_engine *e, struct eng_conn *c, int side,
		     bool flush)
{
	struct eng_frame *f = &e->frames[c->qhead[side]];

	c->qhead[side] = f->next;
	if (f->next == ENG_NIL)
		c->qtail[side] = ENG_NIL;
	c->qlen[side]--;
	eng_answer(e, f, flush);
}
