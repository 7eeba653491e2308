// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The comparison engine's API: frames in, checkpoint requests out, timers,
 * flush on checkpoint-done and failover. The table and pools are in
 * engine_table.c, the comparison rules in engine_cmp.c.
 */
#include <errno.h>
#include <stdlib.h>

#include "engine_internal.h"

#define NS_PER_MS 1000000ULL

void colo_engine_config_default(struct colo_engine_config *cfg)
{
	cfg->compare_timeout_ms = 3000;
	cfg->expired_scan_cycle_ms = 1000;
	cfg->max_queue_size = 1024;
	cfg->max_connections = 65536;
	cfg->max_frames = 65536;
	cfg->idle_timeout_ms = 60000;
}

static bool config_valid(const struct colo_engine_config *cfg)
{
	return cfg->compare_timeout_ms && cfg->expired_scan_cycle_ms &&
	       cfg->idle_timeout_ms && cfg->max_queue_size &&
	       cfg->max_queue_size <= COLO_ENGINE_MAX_QUEUE_SIZE &&
	       cfg->max_connections &&
	       cfg->max_connections <= COLO_ENGINE_MAX_CONNECTIONS &&
	       cfg->max_frames && cfg->max_frames <= COLO_ENGINE_MAX_FRAMES;
}

uint64_t colo_engine_memory(const struct colo_engine_config *cfg)
{
	return sizeof(struct colo_engine) + eng_table_memory(cfg);
}

int colo_engine_create(const struct colo_engine_config *cfg,
		       const struct colo_engine_ops *ops, void *ctx,
		       struct colo_engine **out)
{
	struct colo_engine *e = NULL;
	int err = -EINVAL;

	*out = NULL;
	if (!cfg || !config_valid(cfg) || !ops || !ops->release || !ops->free ||
	    !ops->checkpoint)
		goto out;
	err = -ENOMEM;
	e = calloc(1, sizeof(*e));
	if (!e)
		goto out;
	e->cfg = *cfg;
	e->ops = *ops;
	e->ctx = ctx;
	err = eng_table_init(e);
	if (err)
		goto out;
	*out = e;
	return 0;
out:
	free(e);
	return err;
}

void colo_engine_destroy(struct colo_engine *e)
{
	if (!e)
		return;
	eng_table_fini(e);
	free(e);
}

void eng_request(struct colo_engine *e, enum colo_ckpt_reason reason)
{
	if (e->outstanding) {
		e->st.ckpt_coalesced++;
		return;
	}
	e->outstanding = true;
	e->reason = reason;
	e->st.ckpt_requests[reason]++;
	e->ops.checkpoint(e->ctx, reason);
}

/*
 * No room for a frame: it stays its driver's, who offers it again once
 * matches of the other side made room, or the checkpoint asked for here
 * emptied the queues.
 */
static int refuse(struct colo_engine *e, enum colo_full why)
{
	static const enum colo_ckpt_reason ckpt[COLO_FULL_MAX] = {
		[COLO_FULL_QUEUE] = COLO_CKPT_QUEUE_FULL,
		[COLO_FULL_TABLE] = COLO_CKPT_TABLE_FULL,
		[COLO_FULL_POOL] = COLO_CKPT_NO_BUFFERS,
	};

	e->st.refused[why]++;
	eng_request(e, ckpt[why]);
	return -EAGAIN;
}

uint32_t colo_engine_room(const struct colo_engine *e, enum colo_side side)
{
	uint32_t free = e->cfg.max_frames - (uint32_t)e->st.pool_in_use;
	/* between calls, every frame in the pool is queued on its side */
	uint32_t share = e->side_max - (uint32_t)e->st.queued[side];

	return free < share ? free : share;
}

/*
 * Answer a frame that is not compared: release a primary, free the other;
 * the caller counts why.
 */
static void answer_uncompared(struct colo_engine *e, enum colo_side side,
			      uint64_t handle, uint32_t len)
{
	e->st.frames_in[side]++;
	if (side == COLO_PRIMARY) {
		e->st.released++;
		e->ops.release(e->ctx, handle, len);
	} else {
		e->ops.free(e->ctx, handle);
	}
}

static void frame_fill(struct eng_frame *f, enum colo_side side,
		       uint64_t handle, const void *data, uint32_t len,
		       uint64_t now_ns, const struct colo_pkt *pkt)
{
	uint32_t payload = pkt->ip_end - pkt->data_off;

	f->handle = handle;
	f->data = data;
	f->t_ns = now_ns;
	f->len = len;
	f->side = side;
	f->cmp = pkt->cmp;
	f->l3_off = pkt->l3_off;
	f->data_off = pkt->data_off;
	f->ip_end = pkt->ip_end;
	f->tcp_flags = pkt->tcp_flags;
	f->ack = pkt->ack;
	f->start = pkt->seq + !!(pkt->tcp_flags & COLO_TCP_SYN);
	f->span = payload + !!(pkt->tcp_flags & (COLO_TCP_FIN | COLO_TCP_RST));
}

/*
 * One frame, whole (iov NULL: data and len) or in iovcnt segments whose
 * first is data and first_len and whose lengths add up to len. Headers are
 * parsed from the first segment only, as colo_steer parses them from an
 * XDP frame's first buffer.
 */
static int input(struct colo_engine *e, enum colo_side side, uint64_t handle,
		 const void *data, uint32_t first_len, uint32_t len,
		 const struct iovec *iov, unsigned int iovcnt, uint64_t now_ns)
{
	struct eng_frame *f;
	struct eng_conn *c;
	struct colo_pkt pkt;
	bool over;

	e->now_ns = now_ns;
	if (e->failover) {
		if (side == COLO_PRIMARY)
			e->st.failover_passed++;
		else
			e->st.not_compared_dropped++;
		answer_uncompared(e, side, handle, len);
		return 0;
	}
	colo_parse(data, (const uint8_t *)data + first_len, len, &pkt);
	/* the parser's 16-bit offsets cannot describe a frame over 64 KiB */
	if (pkt.cls == COLO_CLASS_COMPARE &&
	    (len > UINT16_MAX || pkt.ip_end < pkt.data_off))
		pkt.cls = COLO_CLASS_MALFORMED;
	if (pkt.cls != COLO_CLASS_COMPARE) {
		if (pkt.cls == COLO_CLASS_MALFORMED)
			e->st.malformed[side]++;
		if (side == COLO_PRIMARY)
			e->st.passed++;
		else
			e->st.not_compared_dropped++;
		answer_uncompared(e, side, handle, len);
		return 0;
	}
	/* it reached the driver before colo_steer had the rule */
	if (e->pass && e->pass(e->pass_arg, &pkt.key)) {
		if (side == COLO_PRIMARY)
			e->st.passthrough_released++;
		else
			e->st.passthrough_freed++;
		answer_uncompared(e, side, handle, len);
		return 0;
	}
	/* every refusal before the frame touches any state: none to undo */
	if (!colo_engine_room(e, side) || (iov && e->segs_free < iovcnt))
		return refuse(e, COLO_FULL_POOL);
	c = eng_conn_get(e, &pkt.key, pkt.cmp == COLO_CMP_TCP);
	if (!c)
		return refuse(e, COLO_FULL_TABLE);
	if (c->qlen[side] >= COLO_ENGINE_MAX_QUEUE_SIZE) {
		/* a slot just taken for it must not stay off the LRU */
		eng_conn_settle(e, c);
		return refuse(e, COLO_FULL_QUEUE);
	}
	/*
	 * A long queue means the replicas diverged or one lags: that asks
	 * for a checkpoint, but the frame is still taken. Refusing it would
	 * stop the whole side (the driver cannot skip past a frame), so
	 * every other connection would wait for this one's checkpoint and
	 * the kernel's ring would overflow sooner.
	 */
	over = c->qlen[side] >= e->cfg.max_queue_size;
	e->st.frames_in[side]++;
	f = eng_frame_get(e);
	frame_fill(f, side, handle, data, len, now_ns, &pkt);
	if (iov)
		eng_frame_segs(e, f, iov, iovcnt);
	eng_cmp_input(e, c, f);
	if (over)
		eng_request(e, COLO_CKPT_QUEUE_FULL);
	eng_conn_settle(e, c);
	return 0;
}

uint32_t colo_engine_flow_hash(const void *data, uint32_t first_len,
			       uint32_t len)
{
	const uint8_t *k;
	struct colo_pkt pkt;
	uint64_t h = 0xcbf29ce484222325ull;
	size_t i;

	if (colo_parse(data, (const uint8_t *)data + first_len, len, &pkt) !=
	    COLO_CLASS_COMPARE)
		return 0;
	/* FNV-1a over the key, which the parser zeroes whole first */
	for (k = (const uint8_t *)&pkt.key, i = 0; i < sizeof(pkt.key); i++)
		h = (h ^ k[i]) * 0x100000001b3ull;
	return (uint32_t)(h ^ h >> 32);
}

int colo_engine_input(struct colo_engine *e, enum colo_side side,
		      uint64_t handle, const void *data, uint32_t len,
		      uint64_t now_ns)
{
	return input(e, side, handle, data, len, len, NULL, 0, now_ns);
}

int colo_engine_input_iov(struct colo_engine *e, enum colo_side side,
			  uint64_t handle, const struct iovec *iov,
			  unsigned int iovcnt, uint64_t now_ns)
{
	uint64_t len = 0;
	unsigned int i;

	for (i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	/* a frame the 32-bit length cannot carry is not one to compare */
	if (!iovcnt || len > UINT32_MAX)
		return -EINVAL;
	if (iovcnt == 1)
		return input(e, side, handle, iov[0].iov_base, (uint32_t)len,
			     (uint32_t)len, NULL, 0, now_ns);
	return input(e, side, handle, iov[0].iov_base, (uint32_t)iov[0].iov_len,
		     (uint32_t)len, iov, iovcnt, now_ns);
}

void colo_engine_tick(struct colo_engine *e, uint64_t now_ns)
{
	uint64_t oldest = UINT64_MAX;
	int side;

	e->now_ns = now_ns;
	if (now_ns - e->last_scan_ns < e->cfg.expired_scan_cycle_ms * NS_PER_MS)
		return;
	e->last_scan_ns = now_ns;
	if (e->outstanding) {
		e->st.ckpt_repeats++;
		e->ops.checkpoint(e->ctx, e->reason);
	} else {
		for (side = 0; side < 2; side++)
			if (e->ghead[side] != ENG_NIL &&
			    e->frames[e->ghead[side]].t_ns < oldest)
				oldest = e->frames[e->ghead[side]].t_ns;
		if (oldest != UINT64_MAX &&
		    now_ns - oldest > e->cfg.compare_timeout_ms * NS_PER_MS)
			eng_request(e, COLO_CKPT_TIMEOUT);
	}
	eng_conn_expire_idle(e);
}

/*
 * Answer every queued frame of one side, connection by connection in the
 * order of each connection's oldest frame, each connection in queue order.
 */
static void flush_side(struct colo_engine *e, int side)
{
	struct eng_conn *c;

	while (e->ghead[side] != ENG_NIL) {
		c = &e->conns[e->frames[e->ghead[side]].conn];
		while (c->qhead[side] != ENG_NIL)
			eng_answer_head(e, c, side, true);
		eng_conn_sync(e, c);
		eng_conn_settle(e, c);
	}
}

static void flush(struct colo_engine *e)
{
	/* a new epoch: cursors, ACK marks and mismatch marks reset */
	e->epoch++;
	e->outstanding = false;
	flush_side(e, COLO_PRIMARY);
	flush_side(e, COLO_SECONDARY);
}

/* Answer every queued frame of connection c, then forget it. */
static void pass_conn(struct colo_engine *e, struct eng_conn *c)
{
	int side;

	for (side = COLO_PRIMARY; side <= COLO_SECONDARY; side++)
		while (c->qhead[side] != ENG_NIL) {
			if (side == COLO_PRIMARY)
				e->st.passthrough_released++;
			else
				e->st.passthrough_freed++;
			eng_answer_head(e, c, side, false);
		}
	eng_conn_remove(e, c);
}

/*
 * The connections of side's queued frames that match, in the order of
 * their oldest frame. Answering one takes all its frames off the arrival
 * list; the last frame kept tells where to go on.
 */
static void pass_side(struct colo_engine *e, int side)
{
	uint32_t kept = ENG_NIL, i = e->ghead[side];
	struct eng_conn *c;

	while (i != ENG_NIL) {
		c = &e->conns[e->frames[i].conn];
		if (e->pass(e->pass_arg, &c->key)) {
			pass_conn(e, c);
			i = kept == ENG_NIL ? e->ghead[side] :
					      e->frames[kept].gnext;
		} else {
			kept = i;
			i = e->frames[i].gnext;
		}
	}
}

void colo_engine_passthrough(struct colo_engine *e, colo_engine_match_fn match,
			     const void *arg)
{
	uint32_t i, next;

	e->pass = match;
	e->pass_arg = arg;
	if (!match)
		return;
	pass_side(e, COLO_PRIMARY);
	pass_side(e, COLO_SECONDARY);
	/* empty ones too: their TCP cursor must not outlive the rule */
	for (i = e->lru_head; i != ENG_NIL; i = next) {
		next = e->conns[i].lnext;
		if (e->pass(e->pass_arg, &e->conns[i].key))
			eng_conn_remove(e, &e->conns[i]);
	}
}

void colo_engine_checkpoint_done(struct colo_engine *e)
{
	e->st.checkpoints++;
	flush(e);
}

void colo_engine_failover(struct colo_engine *e)
{
	flush(e);
	e->failover = true;
}

void colo_engine_resume(struct colo_engine *e)
{
	e->failover = false;
}

bool colo_engine_in_failover(const struct colo_engine *e)
{
	return e->failover;
}

const struct colo_engine_stats *colo_engine_stats(const struct colo_engine *e)
{
	return &e->st;
}

const char *colo_ckpt_reason_name(enum colo_ckpt_reason reason)
{
	static const char *const names[] = {
		[COLO_CKPT_MISMATCH] = "mismatch",
		[COLO_CKPT_TIMEOUT] = "timeout",
		[COLO_CKPT_QUEUE_FULL] = "queue-full",
		[COLO_CKPT_NO_BUFFERS] = "no-buffers",
		[COLO_CKPT_TABLE_FULL] = "table-full",
	};

	if ((unsigned int)reason >= COLO_CKPT_REASON_MAX)
		return "unknown";
	return names[reason];
}

const char *colo_full_name(enum colo_full reason)
{
	static const char *const names[] = {
		[COLO_FULL_QUEUE] = "queue-full",
		[COLO_FULL_TABLE] = "table-full",
		[COLO_FULL_POOL] = "no-buffers",
	};

	if ((unsigned int)reason >= COLO_FULL_MAX)
		return "unknown";
	return names[reason];
}
