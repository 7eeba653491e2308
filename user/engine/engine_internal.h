/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Internals of the comparison engine, shared by its three parts:
 * engine.c (the API, checkpoint requests, timers, flush), engine_table.c
 * (pools, connection table, frame lists) and engine_cmp.c (the per-protocol
 * comparison rules).
 *
 * Everything is preallocated in colo_engine_create(): frame descriptors and
 * connection slots live in two arrays and are linked by 32-bit index, so a
 * frame costs no allocation and a connection fits in 100 bytes.
 */
#ifndef COLO_ENGINE_INTERNAL_H
#define COLO_ENGINE_INTERNAL_H

#include <sys/uio.h>

#include "engine.h"

#define ENG_NIL UINT32_MAX

/* qlen is 16 bits to keep a connection small */
_Static_assert(COLO_ENGINE_MAX_QUEUE_SIZE <= UINT16_MAX,
	       "a connection's queue length does not fit its counter");

/*
 * A queued frame: what the comparison needs from its parse, and links.
 * One cache line: a frame in several segments keeps them in the segment
 * pool, so the common one-segment frame pays nothing for them.
 */
struct eng_frame {
	uint64_t handle;
	union {
		const uint8_t *data; /* one segment: the whole frame */
		uint32_t seg; /* segmented: its first in the segment pool */
	};
	uint64_t t_ns; /* arrival */
	uint32_t len;
	uint32_t conn; /* its connection; ENG_NIL until queued */
	uint32_t next; /* connection queue or free list */
	uint32_t gprev, gnext; /* per-side arrival list of queued frames */
	uint32_t start; /* TCP: first stream position (seq + SYN) */
	uint32_t ack; /* TCP */
	uint16_t span; /* TCP: payload bytes + one position for FIN/RST */
	uint16_t l3_off;
	uint16_t data_off;
	uint16_t ip_end;
	uint8_t tcp_flags;
	uint8_t cmp; /* enum colo_cmp */
	uint8_t side;
	uint8_t queued : 1; /* on a connection queue and its arrival list */
	uint8_t segmented : 1; /* seg, not data */
};

_Static_assert(sizeof(struct eng_frame) == 64, "a frame is one cache line");

/* A piece of a segmented frame, in frame order; linked by index. */
struct eng_seg {
	const uint8_t *data;
	uint32_t len;
	uint32_t next; /* next piece of its frame, or free list */
};

enum eng_conn_flag {
	ENG_C_TCP = 1 << 0, /* part of the lookup key: TCP stream mode */
	ENG_C_IN_LRU = 1 << 1,
	ENG_C_FIN_P = 1 << 2,
	ENG_C_FIN_S = 1 << 3,
	ENG_C_RST = 1 << 4,
	/* reset at each checkpoint, through the epoch: */
	ENG_C_CURSOR = 1 << 5, /* cursor is set */
	ENG_C_SEC_ACK = 1 << 6, /* sec_ack is set */
	ENG_C_MISMATCH = 1 << 7, /* nothing compared until the flush */
	ENG_C_SYN_P = 1 << 8, /* syn_isn[COLO_PRIMARY] is set */
	ENG_C_SYN_S = 1 << 9, /* syn_isn[COLO_SECONDARY] is set */
	/* the primary's latest SYN met one of the secondary: it may leave */
	ENG_C_SYN_MET = 1 << 10,
	/* the secondary sent a SYN no primary SYN met yet: it came first */
	ENG_C_SYN_SPARE = 1 << 11,
};

#define ENG_C_EPOCH_FLAGS                                              \
	(ENG_C_CURSOR | ENG_C_SEC_ACK | ENG_C_MISMATCH | ENG_C_SYN_P | \
	 ENG_C_SYN_S | ENG_C_SYN_MET | ENG_C_SYN_SPARE)

struct eng_conn {
	struct colo_flow_key key;
	uint32_t hnext; /* hash chain, or free list */
	uint32_t lprev, lnext; /* LRU of empty connections */
	uint32_t qhead[2], qtail[2];
	uint32_t cursor; /* TCP: stream compared up to here */
	uint32_t sec_ack; /* TCP: highest ACK the secondary sent */
	uint32_t syn_isn[2]; /* TCP: ISN of each side's latest SYN */
	uint32_t epoch; /* checkpoint epoch the flags above belong to */
	uint32_t idle_ms; /* when it became empty, for idle expiry */
	uint16_t qlen[2];
	uint16_t flags; /* enum eng_conn_flag */
};

struct colo_engine {
	struct colo_engine_config cfg;
	struct colo_engine_ops ops;
	void *ctx;
	struct eng_frame *frames;
	struct eng_seg *segs; /* as many as frames: see eng_table_init() */
	struct eng_conn *conns;
	uint32_t *buckets;
	uint32_t bucket_mask;
	uint32_t free_frame, free_conn;
	uint32_t free_seg, segs_free;
	uint32_t ghead[2], gtail[2]; /* queued frames by arrival, per side */
	uint32_t lru_head, lru_tail;
	uint32_t epoch;
	uint64_t now_ns;
	uint64_t last_scan_ns;
	bool failover;
	bool outstanding; /* a checkpoint request is unanswered */
	colo_engine_match_fn pass; /* passthrough flows; NULL: none */
	const void *pass_arg;
	/*
	 * The most frames one side may have in the pool: the rest is the
	 * other side's, whose matches make room again.
	 */
	uint32_t side_max;
	enum colo_ckpt_reason reason;
	struct colo_engine_stats st;
};

static inline bool eng_seq_lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

static inline bool eng_seq_le(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) <= 0;
}

static inline struct eng_frame *eng_frame(struct colo_engine *e, uint32_t i)
{
	return i == ENG_NIL ? NULL : &e->frames[i];
}

static inline uint32_t eng_frame_idx(struct colo_engine *e,
				     const struct eng_frame *f)
{
	return (uint32_t)(f - e->frames);
}

static inline uint32_t eng_conn_idx(struct colo_engine *e,
				    const struct eng_conn *c)
{
	return (uint32_t)(c - e->conns);
}

/* engine_table.c */
int eng_table_init(struct colo_engine *e);
void eng_table_fini(struct colo_engine *e);
uint64_t eng_table_memory(const struct colo_engine_config *cfg);
struct eng_frame *eng_frame_get(struct colo_engine *e);
void eng_frame_segs(struct colo_engine *e, struct eng_frame *f,
		    const struct iovec *iov, unsigned int iovcnt);
struct eng_conn *eng_conn_get(struct colo_engine *e,
			      const struct colo_flow_key *key, bool tcp);
void eng_conn_sync(struct colo_engine *e, struct eng_conn *c);
void eng_conn_settle(struct colo_engine *e, struct eng_conn *c);
void eng_conn_expire_idle(struct colo_engine *e);
void eng_conn_remove(struct colo_engine *e, struct eng_conn *c);
void eng_queue_append(struct colo_engine *e, struct eng_conn *c,
		      struct eng_frame *f);
void eng_queue_insert_seq(struct colo_engine *e, struct eng_conn *c,
			  struct eng_frame *f);
void eng_answer(struct colo_engine *e, struct eng_frame *f, bool flush);
void eng_answer_head(struct colo_engine *e, struct eng_conn *c, int side,
		     bool flush);

/* engine_cmp.c */
void eng_cmp_input(struct colo_engine *e, struct eng_conn *c,
		   struct eng_frame *f);

/* engine.c */
void eng_request(struct colo_engine *e, enum colo_ckpt_reason reason);

#endif /* COLO_ENGINE_INTERNAL_H */
