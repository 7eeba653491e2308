// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fuzz_engine: the comparison engine (user/engine/engine.h) driven by a program:
 * primary and secondary frames (raw bytes, or built by tools/lib/frames.h
 * from a per-protocol template so that both sides can send equal TCP
 * streams and UDP pairs), clock ticks, checkpoint-done, failover and
 * resume. The encoding is in fuzz_engine.h. The configuration is tiny
 * (queues of 1-8, 1-8 connections, 1-32 frame descriptors), so full
 * queue, full table and empty pool are reached in a few operations.
 *
 * Each frame is handed in from its own heap buffer of exactly its length,
 * freed when the engine answers it: ASan reports a read past a frame or
 * after its answer. Checked on every callback and after every operation:
 * - every frame is answered once, release only for primary frames and
 *   with the length handed in; a primary is freed only when the pool was
 *   empty (counted as a no-buffers drop);
 * - frames not compared (not IP, malformed) and every frame in failover
 *   are answered within their own input call;
 * - outside a flush, a non-TCP primary is released only together with the
 *   free of a secondary of its connection whose compared bytes are equal;
 *   a TCP primary only if a secondary segment reached as far in the stream
 *   and, with ACK, the secondary acknowledged as far;
 * - non-TCP primaries of one connection leave in arrival order, flushes
 *   included;
 * - a scan that finds a frame older than compare_timeout requests (or
 *   repeats) a checkpoint;
 * - counters agree with what the driver saw: frames in, releases, pool in
 *   use = frames unanswered, queued <= unanswered, connections <= table,
 *   checkpoint callbacks = new requests + repeats;
 * - after checkpoint-done or failover nothing is left unanswered and the
 *   gauges queued and pool_in_use are zero; every program ends with one.
 * With FUZZ_TRACE=1 in the environment, each operation and answer is
 * printed, to read what a crashing input does.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "frames.h"
#include "fuzz.h"
#include "fuzz_engine.h"

#define MS 1000000ULL
#define MAX_FRAMES_IN 256
#define MAX_FRAME 9000
#define HANDLE_BASE 1000

struct rec {
	uint8_t *buf; /* what the engine reads; freed at its answer */
	uint8_t *copy; /* the driver's own copy, for the checks */
	uint32_t len;
	uint32_t epoch; /* checkpoint epoch it arrived in */
	uint64_t t_ns;
	struct colo_pkt pkt;
	bool compared; /* the engine's classification: compare it */
	uint8_t side;
	bool answered;
};

static struct {
	struct colo_engine *eng;
	struct colo_engine_config cfg;
	struct rec recs[MAX_FRAMES_IN];
	uint32_t n;
	uint32_t epoch;
	uint64_t now_ns, last_scan_ns;
	uint64_t n_in[2], outstanding[2];
	uint64_t releases, primary_frees, callbacks, ckpt_done;
	bool flushing; /* inside checkpoint-done or failover */
	bool failover;
	int32_t pending; /* a non-TCP primary released, its pair not freed */
	uint8_t last[MAX_FRAME];
	uint32_t last_len;
	int last_side;
} d;

static bool trace;
static uint8_t stream[65536 + 512];

#define TRACE(...)                                    \
	do {                                          \
		if (trace)                            \
			fprintf(stderr, __VA_ARGS__); \
	} while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	size_t i;

	trace = getenv("FUZZ_TRACE");
	for (i = 0; i < sizeof(stream); i++)
		stream[i] = (uint8_t)(i * 131 + (i >> 8));
	return 0;
}

static struct rec *rec_of(uint64_t handle)
{
	REQUIRE(handle >= HANDLE_BASE && handle < HANDLE_BASE + d.n);
	return &d.recs[handle - HANDLE_BASE];
}

static bool is_tcp(const struct rec *r)
{
	return r->pkt.cmp == COLO_CMP_TCP;
}

/* The engine's connection of a frame: the flow key and the TCP mode. */
static bool same_conn(const struct rec *a, const struct rec *b)
{
	return is_tcp(a) == is_tcp(b) &&
	       !memcmp(&a->pkt.key, &b->pkt.key, sizeof(a->pkt.key));
}

static uint32_t tcp_start(const struct rec *r)
{
	return r->pkt.seq + !!(r->pkt.tcp_flags & COLO_TCP_SYN);
}

static uint32_t payload_len(const struct rec *r)
{
	return r->pkt.ip_end - r->pkt.data_off;
}

/* One stream position past the payload and the FIN or RST, if any. */
static uint32_t tcp_end(const struct rec *r)
{
	return tcp_start(r) + payload_len(r) +
	       !!(r->pkt.tcp_flags & (COLO_TCP_FIN | COLO_TCP_RST));
}

static void answer(struct rec *r)
{
	REQUIRE(!r->answered);
	r->answered = true;
	d.outstanding[r->side]--;
	free(r->buf);
	r->buf = NULL;
}

/*
 * A TCP primary leaves outside a flush. Which of its bytes were compared
 * depends on the engine's cursor (segments wholly below it are released
 * as retransmissions), but the cursor only passes positions a secondary
 * segment reached: the primary may not end beyond every secondary of its
 * connection in this epoch, with ACK one of them acknowledged as far, and
 * a SYN without ACK only after one of them was a SYN without ACK too.
 */
static void check_tcp_release(const struct rec *p)
{
	const uint8_t syn = COLO_TCP_SYN | COLO_TCP_ACK;
	uint32_t end = tcp_end(p);
	bool acked = !(p->pkt.tcp_flags & COLO_TCP_ACK);
	bool reached = end == tcp_start(p);
	bool opened = (p->pkt.tcp_flags & syn) != COLO_TCP_SYN;
	const struct rec *s;

	for (s = d.recs; s < d.recs + d.n; s++) {
		if (s->side != COLO_SECONDARY || s->epoch != d.epoch ||
		    !s->compared || !same_conn(s, p))
			continue;
		if ((int32_t)(tcp_end(s) - end) >= 0)
			reached = true;
		if ((s->pkt.tcp_flags & COLO_TCP_ACK) &&
		    (int32_t)(s->pkt.ack - p->pkt.ack) >= 0)
			acked = true;
		if ((s->pkt.tcp_flags & syn) == COLO_TCP_SYN)
			opened = true;
	}
	REQUIRE(reached);
	REQUIRE(acked);
	REQUIRE(opened);
}

/* Non-TCP pairs: equal from the compared start to the end of IP. */
static void check_pair(const struct rec *p, const struct rec *s)
{
	uint32_t from = p->pkt.cmp == COLO_CMP_IP ? p->pkt.l3_off + 12 :
						    p->pkt.data_off;
	uint32_t sfrom = s->pkt.cmp == COLO_CMP_IP ? s->pkt.l3_off + 12 :
						     s->pkt.data_off;

	REQUIRE(s->side == COLO_SECONDARY);
	REQUIRE(same_conn(p, s));
	REQUIRE(p->pkt.cmp == s->pkt.cmp);
	REQUIRE(p->pkt.ip_end - from == s->pkt.ip_end - sfrom);
	REQUIRE(!memcmp(p->copy + from, s->copy + sfrom, p->pkt.ip_end - from));
}

/* Non-TCP primaries of one connection leave in arrival order. */
static void check_order(const struct rec *p)
{
	const struct rec *o;

	for (o = d.recs; o < p; o++)
		if (o->side == COLO_PRIMARY && o->compared && !is_tcp(o) &&
		    same_conn(o, p))
			REQUIRE(o->answered);
}

static void on_release(void *ctx, uint64_t handle, uint32_t len)
{
	struct rec *r = rec_of(handle);

	TRACE("  release %llu\n", (unsigned long long)handle);
	REQUIRE(r->side == COLO_PRIMARY);
	REQUIRE(len == r->len);
	REQUIRE(d.pending < 0);
	if (r->compared && !is_tcp(r))
		check_order(r);
	if (r->compared && !d.flushing && !d.failover) {
		if (is_tcp(r))
			check_tcp_release(r);
		else
			d.pending = (int32_t)(r - d.recs);
	}
	answer(r);
	d.releases++;
}

static void on_free(void *ctx, uint64_t handle)
{
	struct rec *r = rec_of(handle);

	TRACE("  free %llu\n", (unsigned long long)handle);
	if (d.pending >= 0) {
		check_pair(&d.recs[d.pending], r);
		d.pending = -1;
	}
	if (r->side == COLO_PRIMARY)
		d.primary_frees++;
	answer(r);
}

static void on_checkpoint(void *ctx, enum colo_ckpt_reason reason)
{
	TRACE("  checkpoint %s\n", colo_ckpt_reason_name(reason));
	REQUIRE((unsigned int)reason < COLO_CKPT_REASON_MAX);
	d.callbacks++;
}

static void on_mismatch(void *ctx, const struct colo_mismatch *m)
{
	struct rec *p = rec_of(m->primary_handle);
	struct rec *s = rec_of(m->secondary_handle);

	TRACE("  mismatch %llu %llu offset %u seq %u\n",
	      (unsigned long long)m->primary_handle,
	      (unsigned long long)m->secondary_handle, m->offset, m->seq);
	REQUIRE(p->side == COLO_PRIMARY && !p->answered);
	REQUIRE(s->side == COLO_SECONDARY && !s->answered);
	REQUIRE(same_conn(p, s));
	REQUIRE(!memcmp(m->key, &p->pkt.key, sizeof(*m->key)));
}

static const struct colo_engine_ops ops = {
	.release = on_release,
	.free = on_free,
	.checkpoint = on_checkpoint,
	.mismatch = on_mismatch,
};

static void check_stats(void)
{
	const struct colo_engine_stats *st = colo_engine_stats(d.eng);
	uint64_t requests = 0;
	int i;

	REQUIRE(d.pending < 0);
	for (i = 0; i < 2; i++) {
		REQUIRE(st->frames_in[i] == d.n_in[i]);
		REQUIRE(st->queued[i] <= d.outstanding[i]);
	}
	REQUIRE(st->released == d.releases);
	REQUIRE(st->pool_in_use == d.outstanding[0] + d.outstanding[1]);
	REQUIRE(st->pool_in_use <= d.cfg.max_frames);
	REQUIRE(st->conns_active <= d.cfg.max_connections);
	/* a full engine refuses, it never drops: no primary is freed */
	REQUIRE(!d.primary_frees);
	for (i = 0; i < COLO_CKPT_REASON_MAX; i++)
		requests += st->ckpt_requests[i];
	REQUIRE(d.callbacks == requests + st->ckpt_repeats);
	REQUIRE(st->checkpoints == d.ckpt_done);
	REQUIRE(colo_engine_in_failover(d.eng) == d.failover);
}

static void check_flushed(void)
{
	const struct colo_engine_stats *st = colo_engine_stats(d.eng);

	REQUIRE(!d.outstanding[0] && !d.outstanding[1]);
	REQUIRE(!st->queued[0] && !st->queued[1]);
	REQUIRE(!st->pool_in_use);
}

static void input(int side, const uint8_t *frame, uint32_t len)
{
	struct rec *r;

	if (d.n == MAX_FRAMES_IN)
		return;
	r = &d.recs[d.n];
	memset(r, 0, sizeof(*r));
	r->buf = malloc(len);
	r->copy = malloc(len);
	if ((!r->buf || !r->copy) && len) {
		free(r->buf);
		free(r->copy);
		return;
	}
	memcpy(r->buf, frame, len);
	memcpy(r->copy, frame, len);
	r->len = len;
	r->side = side;
	r->epoch = d.epoch;
	r->t_ns = d.now_ns;
	colo_parse(frame, frame + len, len, &r->pkt);
	r->compared = r->pkt.cls == COLO_CLASS_COMPARE;
	d.n++;
	d.n_in[side]++;
	d.outstanding[side]++;
	memcpy(d.last, frame, len);
	d.last_len = len;
	d.last_side = side;

	TRACE("%s %u at %llu ms: len %u class %u cmp %u proto %u sport %u "
	      "seq %u+%u flags 0x%x ack %u\n",
	      side == COLO_PRIMARY ? "primary" : "secondary",
	      HANDLE_BASE + d.n - 1, (unsigned long long)(d.now_ns / MS), len,
	      r->pkt.cls, r->pkt.cmp, r->pkt.key.proto, r->pkt.key.sport,
	      tcp_start(r), payload_len(r), r->pkt.tcp_flags, r->pkt.ack);
	if (colo_engine_input(d.eng, side, HANDLE_BASE + d.n - 1, r->buf, len,
			      d.now_ns) == -EAGAIN) {
		/* still ours, untouched: as if never offered */
		REQUIRE(r->compared && !d.failover && !r->answered);
		d.n--;
		d.n_in[side]--;
		d.outstanding[side]--;
		free(r->buf);
		free(r->copy);
		return;
	}
	if (!r->compared || d.failover)
		REQUIRE(r->answered);
}

/* A frame from a template (fuzz_engine.h); returns its length or 0. */
static uint32_t build(const uint8_t *t, uint8_t *buf)
{
	static const uint8_t protos[8] = {
		[FZ_T_TCP] = IPPROTO_TCP,   [FZ_T_UDP] = IPPROTO_UDP,
		[FZ_T_ICMP] = IPPROTO_ICMP, [FZ_T_SCTP] = IPPROTO_SCTP,
		[FZ_T_GRE] = IPPROTO_GRE,   [FZ_T_AH] = IPPROTO_AH,
		[FZ_T_ESP] = IPPROTO_ESP,
	};
	uint32_t off = (uint32_t)t[2] << 8 | t[3];
	uint8_t kind = t[0] & 7, flags = t[1];
	struct frame_spec s = {
		.l3 = kind == FZ_T_ARP ? FRAME_ARP :
		      t[0] & FZ_T_IPV6 ? FRAME_IPV6 :
					 FRAME_IPV4,
		.vlan = t[0] & FZ_T_VLAN ? FRAME_VLAN | 7 : 0,
		.proto = protos[kind],
		.sport = 1000 + (t[0] >> 5 & 3),
		.dport = 80,
		.payload = stream + off,
		.payload_len = t[4],
		.pad = (t[6] & 0xf) * 2,
		.exthdrs = t[6] >> 4 & 3,
		.ip_id = t[6] & FZ_T_OTHER_ID ? 0x1234 : 1,
		.ttl = t[6] & FZ_T_OTHER_ID ? 17 : 64,
	};
	struct colo_pkt pkt;
	int len;

	if (kind == FZ_T_ICMP && s.l3 == FRAME_IPV6)
		s.proto = IPPROTO_ICMPV6;
	if (kind == FZ_T_TCP) {
		s.seq = FZ_ISN + off;
		s.ack = FZ_ISN_ACK + t[5] * 16u;
		s.tcp_flags = flags;
		/* a SYN takes one position: its payload starts after it */
		s.payload = stream + off + !!(flags & COLO_TCP_SYN);
	}
	len = frame_build(&s, buf, MAX_FRAME);
	if (len <= 0)
		return 0;
	if (s.l3 == FRAME_IPV4 && (t[6] & FZ_T_FRAG))
		buf[(s.vlan ? 18 : 14) + 6] |= 0x20; /* more fragments */
	if (t[0] & FZ_T_FLIP &&
	    colo_parse(buf, buf + len, len, &pkt) == COLO_CLASS_COMPARE)
		buf[pkt.ip_end - 1] ^= 0x01;
	return len;
}

static void run(const uint8_t *p, size_t size)
{
	uint8_t frame[MAX_FRAME];
	uint32_t len, scanned;
	uint8_t op, arg;
	uint64_t before;
	const struct rec *r;

	while (size) {
		op = *p & 7;
		arg = *p >> 3;
		p++;
		size--;
		switch (op) {
		case FZ_OP_P_TMPL:
		case FZ_OP_S_TMPL:
			if (size < FZ_TMPL_LEN)
				return;
			d.now_ns += arg * MS;
			len = build(p, frame);
			p += FZ_TMPL_LEN;
			size -= FZ_TMPL_LEN;
			if (len)
				input(op == FZ_OP_P_TMPL ? COLO_PRIMARY :
							   COLO_SECONDARY,
				      frame, len);
			break;
		case FZ_OP_P_RAW:
		case FZ_OP_S_RAW:
			if (size < 2)
				return;
			len = (uint32_t)p[0] << 8 | p[1];
			p += 2;
			size -= 2;
			if (len > size)
				len = size;
			if (len > MAX_FRAME)
				len = MAX_FRAME;
			d.now_ns += arg * MS;
			input(op == FZ_OP_P_RAW ? COLO_PRIMARY : COLO_SECONDARY,
			      p, len);
			p += len;
			size -= len;
			break;
		case FZ_OP_MIRROR:
			d.now_ns += arg * MS;
			memcpy(frame, d.last, d.last_len);
			input(!d.last_side, frame, d.last_len);
			break;
		case FZ_OP_TICK:
			d.now_ns += arg * 40 * MS;
			scanned = d.now_ns - d.last_scan_ns >=
				  d.cfg.expired_scan_cycle_ms * MS;
			before = d.callbacks;
			TRACE("tick at %llu ms\n",
			      (unsigned long long)(d.now_ns / MS));
			colo_engine_tick(d.eng, d.now_ns);
			if (!scanned)
				break;
			d.last_scan_ns = d.now_ns;
			for (r = d.recs; r < d.recs + d.n; r++)
				if (!r->answered &&
				    d.now_ns - r->t_ns >
					    d.cfg.compare_timeout_ms * MS)
					REQUIRE(d.callbacks > before);
			break;
		case FZ_OP_CKPT:
			TRACE("checkpoint done\n");
			d.flushing = true;
			colo_engine_checkpoint_done(d.eng);
			d.flushing = false;
			d.ckpt_done++;
			d.epoch++;
			check_flushed();
			break;
		case FZ_OP_FAILOVER:
			TRACE("%s\n", arg & 1 ? "resume" : "failover");
			if (arg & 1) {
				colo_engine_resume(d.eng);
				d.failover = false;
				break;
			}
			d.flushing = true;
			colo_engine_failover(d.eng);
			d.flushing = false;
			d.failover = true;
			d.epoch++;
			check_flushed();
			break;
		}
		check_stats();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t i;

	if (size < FZ_CFG_LEN)
		return 0;
	memset(&d, 0, offsetof(typeof(d), last));
	d.last_len = 0;
	d.last_side = COLO_PRIMARY;
	d.pending = -1;
	d.cfg = (struct colo_engine_config){
		.max_queue_size = 1 + (data[0] & 7),
		.max_connections = 1 + (data[0] >> 3 & 7),
		.max_frames = 1 + (data[1] & 31),
		.compare_timeout_ms = 1 + 4 * data[2],
		.expired_scan_cycle_ms = 8 * (1 + (data[3] & 15)),
		.idle_timeout_ms = 64 * (1 + (data[3] >> 4)),
	};
	REQUIRE(!colo_engine_create(&d.cfg, &ops, NULL, &d.eng));
	run(data + FZ_CFG_LEN, size - FZ_CFG_LEN);

	d.flushing = true;
	colo_engine_checkpoint_done(d.eng);
	d.flushing = false;
	d.ckpt_done++;
	check_flushed();
	check_stats();
	colo_engine_destroy(d.eng);
	for (i = 0; i < d.n; i++)
		free(d.recs[i].copy);
	return 0;
}
