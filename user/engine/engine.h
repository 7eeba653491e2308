/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The comparison engine: decides, frame by frame, which primary frames may
 * leave the host. It knows nothing of AF_XDP, pcap or sockets: a driver
 * hands it frame references and a monotonic clock, and it answers through
 * callbacks. It never copies frame bytes and never allocates after
 * colo_engine_create(): every pool is sized from the configuration.
 *
 * Ownership: every frame colo_engine_input() takes is answered exactly
 * once, by ops->release (primary frames only) or ops->free, either from
 * inside that call or from a later call into the engine. The bytes must
 * stay valid and unchanged until then.
 *
 * Callbacks run inside engine calls and must not call back into the engine;
 * a driver that answers a checkpoint request at once (replay's
 * --auto-checkpoint) records it and calls colo_engine_checkpoint_done()
 * after the engine call returns.
 */
#ifndef COLO_ENGINE_H
#define COLO_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "colo_parse.h"
#include "colo_stats.h"

enum colo_side {
	COLO_PRIMARY = 0,
	COLO_SECONDARY = 1,
};

/*
 * Defaults are colo_engine_config_default()'s; the largest values taken.
 * A connection's queue on one side never holds more than
 * COLO_ENGINE_MAX_QUEUE_SIZE frames; max_queue_size is where a queue asks
 * for a checkpoint.
 */
#define COLO_ENGINE_MAX_QUEUE_SIZE 65535
#define COLO_ENGINE_MAX_CONNECTIONS (1u << 30)
#define COLO_ENGINE_MAX_FRAMES (1u << 30)

struct colo_engine_config {
	uint32_t compare_timeout_ms;
	uint32_t expired_scan_cycle_ms;
	uint32_t max_queue_size; /* per connection and side: checkpoint */
	uint32_t max_connections;
	uint32_t max_frames; /* frame pool: all queued frames */
	uint32_t idle_timeout_ms; /* empty connection expiry */
};

/* Where a mismatch was found, for logs and control-plane events. */
struct colo_mismatch {
	const struct colo_flow_key *key;
	uint64_t primary_handle;
	uint64_t secondary_handle;
	uint32_t offset; /* first differing byte, from the compared start */
	uint32_t seq; /* TCP: stream position of the difference */
};

struct colo_engine_ops {
	/* A primary frame may leave the host now, in this order. */
	void (*release)(void *ctx, uint64_t handle, uint32_t len);
	/* A frame is no longer needed (secondary, or dropped primary). */
	void (*free)(void *ctx, uint64_t handle);
	/* A checkpoint is requested: new, or repeated while unanswered. */
	void (*checkpoint)(void *ctx, enum colo_ckpt_reason reason);
	/* Optional: details of a mismatch, before its checkpoint request. */
	void (*mismatch)(void *ctx, const struct colo_mismatch *m);
};

struct colo_engine;

void colo_engine_config_default(struct colo_engine_config *cfg);

/* Bytes colo_engine_create() allocates for this configuration. */
uint64_t colo_engine_memory(const struct colo_engine_config *cfg);

/* Returns 0, or -EINVAL / -ENOMEM with *out left NULL. */
int colo_engine_create(const struct colo_engine_config *cfg,
		       const struct colo_engine_ops *ops, void *ctx,
		       struct colo_engine **out);
/* Frees the engine; frames still queued are not answered. */
void colo_engine_destroy(struct colo_engine *e);

/*
 * Take one frame: 0, or -EAGAIN when there is no room for it (its side's
 * share of the frame pool, the connection table, or its connection's
 * queue at COLO_ENGINE_MAX_QUEUE_SIZE is full). A queue past
 * max_queue_size requests a checkpoint and still takes the frame. A
 * refused frame is still the driver's, unanswered; a checkpoint is
 * requested (or the request coalesced). The driver then stops taking frames
 * of that side, keeps feeding the other one, whose matches make room,
 * and offers the refused frame again, first. now_ns is the arrival time
 * on the driver's monotonic clock; it never goes backwards between calls.
 */
int colo_engine_input(struct colo_engine *e, enum colo_side side,
		      uint64_t handle, const void *data, uint32_t len,
		      uint64_t now_ns);

/*
 * The same for a frame in iovcnt segments (a jumbo frame in several
 * buffers), in frame order: compared and answered whole, by its one
 * handle, with the segments' total length. Its headers must be in the
 * first segment (a frame whose are not is malformed: passed uncompared).
 * The engine keeps the segments' addresses, never their bytes, in a
 * preallocated pool as large as the frame pool (one slot per segment);
 * the bytes stay the driver's as for colo_engine_input(). -EINVAL for no
 * segment or over 4 GiB; -EAGAIN as above, also when the segment pool
 * cannot take them.
 */
int colo_engine_input_iov(struct colo_engine *e, enum colo_side side,
			  uint64_t handle, const struct iovec *iov,
			  unsigned int iovcnt, uint64_t now_ns);

/*
 * Frames of side the pool has room for now: a driver that takes frames
 * in batches takes no more, so that a refusal can only come from the
 * connection table or a queue at its hard limit.
 */
uint32_t colo_engine_room(const struct colo_engine *e, enum colo_side side);

/*
 * Run timers: timeout scan, repeated requests, idle expiry. They run when
 * expired_scan_cycle_ms have passed since they last ran (since time 0 on
 * the driver's clock at first), so call this at least that often.
 */
void colo_engine_tick(struct colo_engine *e, uint64_t now_ns);

/*
 * Whether the connection of key belongs to a passthrough flow, whose
 * frames are not compared. Called for every frame while it is set: it
 * must be cheap and bounded.
 */
typedef bool (*colo_engine_match_fn)(const void *arg,
				     const struct colo_flow_key *key);

/*
 * Stop comparing the flows match(arg, key) says yes to; NULL compares
 * every flow again. The frames queued for such connections are answered
 * at once, connection by connection in the order of their oldest frame:
 * the primaries released in their queue's order (TCP by sequence, the rest
 * by arrival), the secondaries freed. Those connections are forgotten, so
 * that a flow compared again later starts afresh. From then on a frame
 * that match says yes to is answered as it comes in, uncompared, and
 * never refused for want of room.
 */
void colo_engine_passthrough(struct colo_engine *e, colo_engine_match_fn match,
			     const void *arg);

/*
 * A hash of the connection a frame belongs to, as this engine keys it
 * (data and first_len its first segment, len the whole frame): the same
 * for a connection's primary and secondary frames, so engines that share
 * the connections out by it (colo-xdp run --workers) see both sides of
 * each in one. Frames the engine does not compare hash to 0.
 */
uint32_t colo_engine_flow_hash(const void *data, uint32_t first_len,
			       uint32_t len);

/* The checkpoint happened: release every primary, free every secondary. */
void colo_engine_checkpoint_done(struct colo_engine *e);

/* The secondary is gone: flush, then pass primaries and free secondaries. */
void colo_engine_failover(struct colo_engine *e);
/* Compare again (after the checkpoint that re-created the secondary). */
void colo_engine_resume(struct colo_engine *e);
bool colo_engine_in_failover(const struct colo_engine *e);

const struct colo_engine_stats *colo_engine_stats(const struct colo_engine *e);

const char *colo_ckpt_reason_name(enum colo_ckpt_reason reason);
const char *colo_full_name(enum colo_full reason);

#endif /* COLO_ENGINE_H */
