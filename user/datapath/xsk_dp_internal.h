/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What xsk_dp.c (the datapath) and xsk_adopt.c (taking a dead loader's
 * datapath over) share: the datapath's state and its frame ledger.
 */
#ifndef COLO_XSK_DP_INTERNAL_H
#define COLO_XSK_DP_INTERNAL_H

#include <stddef.h>

#include <xdp/xsk.h>

#include "xsk_dp.h"

/* A mapped ring of an adopted socket, unmapped at destroy. */
struct xsk_dp_map {
	void *addr;
	size_t len;
};

struct xsk_dp_sock {
	struct xsk_socket *xsk; /* NULL when adopted: maps and fd are ours */
	int fd;
	/* libxdp leaves the cached indexes unset: these start zeroed */
	struct xsk_ring_cons rx;
	struct xsk_ring_prod tx;
	struct xsk_ring_prod fill;
	struct xsk_ring_cons comp;
	struct xsk_dp_map map[2]; /* rx or tx, and fill or comp */
};

#define XSK_DP_LEDGER_MAGIC 0x434f4c58u /* "COLX" */
#define XSK_DP_LEDGER_VERSION 2

/*
 * Where a frame is, by the ledger: the kernel's (on a fill, RX, TX or
 * completion ring, or in the kernel's own cache of fill buffers), in this
 * loader's pool, or the engine's, with the order it arrived in.
 */
#define XSK_DP_KERNEL 0
#define XSK_DP_POOL 1
/* the engine's: arrival order (from 1) << XSK_DP_SHIFT | flags */
#define XSK_DP_SHIFT 2
#define XSK_DP_SECONDARY 1
#define XSK_DP_RELEASED 2 /* compared, waiting for room on the TX ring */
#define XSK_DP_ENGINE(state) ((state) >> XSK_DP_SHIFT)

/* A frame (chunk) in the ledger, by frame index. */
struct xsk_dp_ledger_frame {
	uint64_t state;
	uint32_t len; /* as its RX descriptor gave them */
	uint32_t offset;
	/*
	 * A multi-buffer frame's next chunk, by frame index + 1; 0 at its
	 * last. Its chunks share one state: they change hands together.
	 */
	uint32_t next;
	uint32_t cont; /* 1: not a frame's first chunk */
};

/*
 * The ledger, in a memfd beside the UMEM's: where each frame is, so that
 * a loader that dies loses none. A plain store per frame as it changes
 * hands, no syscall. The kernel's rings have the last word: the loader
 * may die between its store and the ring's.
 */
struct xsk_dp_ledger {
	uint32_t magic;
	uint32_t version;
	/* the geometry the rings and UMEM were made with */
	uint32_t frame_size;
	uint32_t nr_frames;
	uint32_t ring_size;
	uint32_t queue;
	struct xsk_dp_ledger_frame frame[];
};

struct xsk_dp {
	struct hostmem mem; /* the UMEM's memory */
	uint64_t frame_mask;
	unsigned int frame_shift; /* log2 of the frame size */
	struct xsk_umem *umem; /* NULL when adopted */
	struct xsk_dp_sock sock[COLO_NR_ROLES];
	bool busy_poll;
	char mode_why[160]; /* why the sockets are copy or zero-copy */

	/* Free frame addresses: a stack sized for the whole UMEM. */
	uint64_t *pool;
	uint32_t pool_len;
	uint32_t nr_frames;

	int ledger_fd;
	size_t ledger_size;
	struct xsk_dp_ledger *ledger;
	uint64_t next_seq; /* arrival order of the next frame taken */

	/*
	 * Released frames waiting for room on O's TX ring, oldest first: a
	 * ring over the whole UMEM, so a release is never dropped.
	 */
	struct xdp_desc *pending;
	uint32_t pending_head;
	uint32_t pending_len;

	/* What an adoption found the dead loader's engine holding. */
	struct xsk_dp_held *adopted;
	uint32_t nr_adopted;

	struct colo_dp_stats stats;
};

static inline size_t xsk_dp_ledger_size(uint32_t nr_frames)
{
	return sizeof(struct xsk_dp_ledger) +
	       nr_frames * sizeof(struct xsk_dp_ledger_frame);
}

/* Allocate the pool and pending ring, map the ledger: dp->nr_frames. */
int xsk_dp_alloc(struct xsk_dp *dp, int ledger_fd);

/*
 * Of an adopted datapath whose rings and ledger are mapped: rebuild the
 * pool and list what the dead engine held (dp->adopted, by arrival), and
 * queue what it had released for TX. A frame on a ring is where the ring
 * says, whatever the ledger says: the dead loader may have died between
 * the two. A frame the ledger gives the kernel and no ring shows is in the
 * kernel's own cache of fill buffers: it comes back on an RX ring. Rings
 * that name a frame twice or one outside the UMEM, or a ledger whose
 * lengths run past a frame: -EUCLEAN.
 */
int xsk_dp_recover(struct xsk_dp *dp);

#endif /* COLO_XSK_DP_INTERNAL_H */
