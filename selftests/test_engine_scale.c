// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The engine at scale and under random input: 1,000,000 connections
 * tracked at once, TCP streams cut into random segments on each side, and
 * mutated frames in random order, where every frame must still be answered
 * exactly once and the pools must drain.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>

#include "engine.h"
#include "frames.h"
#include "test.h"

#define MS 1000000ULL

static struct {
	uint64_t releases, frees, requests;
	uint64_t next_release; /* the handle the next release must carry */
	bool in_order;
	bool check_order;
	uint8_t *answered; /* per handle, when tracked */
	uint64_t nhandles;
	bool twice;
} rec;

static void answer(uint64_t h)
{
	if (!rec.answered)
		return;
	if (h >= rec.nhandles || rec.answered[h])
		rec.twice = true;
	else
		rec.answered[h] = 1;
}

static void on_release(void *ctx, uint64_t h, uint32_t len)
{
	if (rec.check_order && h != rec.next_release)
		rec.in_order = false;
	rec.next_release = h + 1;
	rec.releases++;
	answer(h);
}

static void on_free(void *ctx, uint64_t h)
{
	rec.frees++;
	answer(h);
}

static void on_checkpoint(void *ctx, enum colo_ckpt_reason r)
{
	rec.requests++;
}

static const struct colo_engine_ops ops = {
	.release = on_release,
	.free = on_free,
	.checkpoint = on_checkpoint,
};

static void rec_reset(bool check_order)
{
	free(rec.answered);
	memset(&rec, 0, sizeof(rec));
	rec.in_order = true;
	rec.check_order = check_order;
}

static uint32_t rnd_state = 1;

static uint32_t rnd(uint32_t n)
{
	rnd_state = rnd_state * 1103515245 + 12345;
	return (rnd_state >> 8) % n;
}

#define NCONN 1000000u
#define SLOT 64

TEST(million_connections)
{
	struct frame_spec s = {
		.proto = IPPROTO_UDP,
		.dport = 53,
		.payload = "query",
		.payload_len = 5,
	};
	struct colo_engine_config cfg;
	const struct colo_engine_stats *st;
	uint8_t *frames, sec[SLOT];
	struct colo_engine *e;
	int len;
	uint32_t i;

	rec_reset(true);
	colo_engine_config_default(&cfg);
	cfg.max_connections = NCONN;
	/* one side may fill seven eighths: room for every primary first */
	cfg.max_frames = NCONN + NCONN / 7 + 8;
	CHECK_EQ(colo_engine_create(&cfg, &ops, NULL, &e), 0);
	if (!e)
		return;
	st = colo_engine_stats(e);
	frames = malloc((size_t)NCONN * SLOT);
	len = frame_build(&s, sec, sizeof(sec));
	for (i = 0; i < NCONN; i++) {
		memcpy(frames + (size_t)i * SLOT, sec, len);
		frame_stamp_flow(frames + (size_t)i * SLOT, i);
		colo_engine_input(e, COLO_PRIMARY, i, frames + (size_t)i * SLOT,
				  len, 0);
	}
	/* every flow tracked at once, nothing released yet */
	CHECK_EQ(st->conns_active, NCONN);
	CHECK_EQ(st->conns_created, NCONN);
	CHECK_EQ(st->queued[COLO_PRIMARY], NCONN);
	CHECK_EQ(rec.releases, 0);
	CHECK_EQ(rec.requests, 0);
	for (i = 0; i < NCONN; i++) {
		frame_stamp_flow(sec, i);
		colo_engine_input(e, COLO_SECONDARY, NCONN + i, sec, len, 0);
	}
	CHECK_EQ(rec.releases, NCONN);
	CHECK_EQ(rec.frees, NCONN);
	CHECK(rec.in_order);
	CHECK_EQ(st->compared, NCONN);
	CHECK_EQ(st->pool_in_use, 0);
	CHECK_EQ(st->queued[COLO_PRIMARY], 0);
	CHECK_EQ(rec.requests, 0);
	/* the table is full of empty connections: a new one reclaims one */
	frame_stamp_flow(sec, NCONN);
	colo_engine_input(e, COLO_PRIMARY, NCONN, sec, len, 0);
	CHECK_EQ(st->conns_expired_idle, 1);
	CHECK_EQ(st->conns_active, NCONN);
	CHECK_EQ(rec.requests, 0);
	colo_engine_checkpoint_done(e);
	/* and all of them expire when idle, in one scan */
	colo_engine_tick(e, 0);
	colo_engine_tick(e, (uint64_t)cfg.idle_timeout_ms * MS);
	CHECK_EQ(st->conns_active, 0);
	CHECK_EQ(st->conns_expired_idle, NCONN + 1);
	colo_engine_destroy(e);
	free(frames);
}

#define STREAM 20000
#define MAXSEG 128

struct seg {
	uint8_t buf[1600];
	int len;
};

/* Cut [0, STREAM) into segments of 1..1400 bytes, ending with a FIN. */
static int segment(struct seg *segs, const uint8_t *stream, uint8_t *flip)
{
	struct frame_spec s = {
		.proto = IPPROTO_TCP,
		.sport = 443,
		.dport = 50000,
		.ack = 1,
		.tcp_flags = COLO_TCP_ACK,
	};
	uint32_t off = 0, n;
	int k = 0;

	while (off < STREAM && k < MAXSEG - 1) {
		n = 1 + rnd(1400);
		if (n > STREAM - off)
			n = STREAM - off;
		s.seq = 0xfffff000u + off; /* wraps the sequence space */
		s.payload = stream + off;
		s.payload_len = n;
		if (off + n == STREAM)
			s.tcp_flags |= COLO_TCP_FIN;
		segs[k].len = frame_build(&s, segs[k].buf, sizeof(segs[k].buf));
		if (flip && off <= *flip && *flip < off + n)
			segs[k].buf[segs[k].len - n + (*flip - off)] ^= 1;
		off += n;
		k++;
	}
	return k;
}

/* Feed both sides in a random interleaving, each side in its own order. */
static void interleave(struct colo_engine *e, struct seg *p, int np,
		       struct seg *s, int ns)
{
	int i = 0, j = 0;

	while (i < np || j < ns) {
		if (j >= ns || (i < np && rnd(2))) {
			colo_engine_input(e, COLO_PRIMARY, i, p[i].buf,
					  p[i].len, 0);
			i++;
		} else {
			colo_engine_input(e, COLO_SECONDARY, MAXSEG + j,
					  s[j].buf, s[j].len, 0);
			j++;
		}
	}
}

TEST(tcp_random_resegmentation)
{
	static struct seg p[MAXSEG], s[MAXSEG];
	static uint8_t stream[STREAM];
	struct colo_engine_config cfg;
	const struct colo_engine_stats *st;
	struct colo_engine *e;
	int round, np, ns, i;

	for (i = 0; i < STREAM; i++)
		stream[i] = rnd(256);
	colo_engine_config_default(&cfg);
	for (round = 0; round < 300; round++) {
		rec_reset(true);
		rec.next_release = 0;
		if (colo_engine_create(&cfg, &ops, NULL, &e))
			abort();
		st = colo_engine_stats(e);
		np = segment(p, stream, NULL);
		ns = segment(s, stream, NULL);
		interleave(e, p, np, s, ns);
		CHECK_EQ(rec.releases, np);
		CHECK_EQ(rec.frees, ns);
		CHECK(rec.in_order);
		CHECK_EQ(rec.requests, 0);
		CHECK_EQ(st->compared, np);
		CHECK_EQ(st->pool_in_use, 0);
		CHECK_EQ(st->conns_expired_closed, 1);
		colo_engine_destroy(e);
		if (test_case_failed)
			break;
	}
}

TEST(tcp_random_resegmentation_one_byte_differs)
{
	static struct seg p[MAXSEG], s[MAXSEG];
	static uint8_t stream[STREAM];
	struct colo_engine_config cfg;
	const struct colo_engine_stats *st;
	struct colo_engine *e;
	int round, np, ns, i;
	uint8_t flip;

	for (i = 0; i < STREAM; i++)
		stream[i] = rnd(256);
	colo_engine_config_default(&cfg);
	for (round = 0; round < 100; round++) {
		rec_reset(true);
		if (colo_engine_create(&cfg, &ops, NULL, &e))
			abort();
		st = colo_engine_stats(e);
		flip = rnd(256);
		np = segment(p, stream, NULL);
		ns = segment(s, stream, &flip);
		interleave(e, p, np, s, ns);
		CHECK_EQ(st->mismatches, 1);
		CHECK_EQ(rec.requests, 1);
		/* nothing from the differing segment on is released */
		CHECK(rec.releases < (uint64_t)np);
		colo_engine_checkpoint_done(e);
		CHECK_EQ(rec.releases, np);
		CHECK(rec.in_order);
		CHECK_EQ(st->pool_in_use, 0);
		colo_engine_destroy(e);
		if (test_case_failed)
			break;
	}
}

/*
 * Valid frames of every protocol, with random bytes changed, on random
 * sides with random checkpoints, timers and failovers, through a small
 * engine that fills up: every frame is answered exactly once.
 */
TEST(random_frames_all_answered)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP,
					  IPPROTO_ICMP, IPPROTO_GRE };
	enum { N = 200000, FSZ = 128 };
	struct colo_engine_config cfg;
	struct frame_spec s;
	struct colo_engine *e;
	uint8_t *bufs = malloc((size_t)N * FSZ);
	uint64_t now = 0, refused = 0;
	int i, len, k;

	rec_reset(false);
	rec.answered = calloc(N, 1);
	rec.nhandles = N;
	colo_engine_config_default(&cfg);
	cfg.max_connections = 64;
	cfg.max_frames = 512;
	cfg.max_queue_size = 16;
	cfg.idle_timeout_ms = 50;
	if (colo_engine_create(&cfg, &ops, NULL, &e))
		abort();
	for (i = 0; i < N; i++) {
		uint8_t *b = bufs + (size_t)i * FSZ;

		memset(&s, 0, sizeof(s));
		s.proto = protos[rnd(sizeof(protos))];
		s.l3 = rnd(3) ? FRAME_IPV4 : FRAME_IPV6;
		if (s.l3 == FRAME_IPV6 && s.proto == IPPROTO_ICMP)
			s.proto = IPPROTO_ICMPV6;
		s.vlan = rnd(4) ? 0 : FRAME_VLAN | rnd(3);
		s.sport = rnd(80);
		s.dport = 80;
		s.seq = rnd(4) * 16;
		s.ack = rnd(3);
		s.tcp_flags = rnd(4) ? COLO_TCP_ACK : rnd(32);
		s.payload = "0123456789abcdef";
		s.payload_len = rnd(4) * 16 / 4 * 4 % 17;
		s.pad = rnd(8);
		len = frame_build(&s, b, FSZ);
		if (len < 0)
			abort();
		for (k = rnd(3); k > 0; k--)
			b[rnd(len)] ^= 1 << rnd(8);
		len -= rnd(8) ? 0 : rnd(len + 1);
		now += rnd(3) * MS;
		/* a refused frame stays ours: answered by nobody, ever */
		if (colo_engine_input(e, rnd(2) ? COLO_PRIMARY : COLO_SECONDARY,
				      i, b, len, now) == -EAGAIN) {
			rec.answered[i] = 1;
			refused++;
		}
		switch (rnd(200)) {
		case 0:
			colo_engine_checkpoint_done(e);
			break;
		case 1:
			colo_engine_tick(e, now);
			break;
		case 2:
			if (colo_engine_in_failover(e))
				colo_engine_resume(e);
			else if (!rnd(10))
				colo_engine_failover(e);
			break;
		}
	}
	colo_engine_checkpoint_done(e);
	CHECK(!rec.twice);
	CHECK_EQ(rec.releases + rec.frees + refused, N);
	CHECK(!memchr(rec.answered, 0, N));
	CHECK_EQ(colo_engine_stats(e)->pool_in_use, 0);
	CHECK_EQ(colo_engine_stats(e)->queued[0], 0);
	CHECK_EQ(colo_engine_stats(e)->queued[1], 0);
	colo_engine_destroy(e);
	free(bufs);
	free(rec.answered);
	rec.answered = NULL;
}
