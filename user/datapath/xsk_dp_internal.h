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
	uint32_t queue; /* the device queue it is bound to */
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
	uint32_t out_queue; /* O's socket's */
	uint64_t queues[2]; /* P's and S's sockets', in order: bit q, queue q */
	struct xsk_dp_ledger_frame frame[];
};

/*
 * A one-way ring of UMEM addresses between two workers: one producer, one
 * consumer, no lock. Each index has a cache line of its own, so neither
 * side's stores bounce the other's.
 */
struct xsk_dp_spsc {
	uint64_t *slot;
	uint32_t mask;
	uint32_t head __attribute__((aligned(64))); /* the consumer's */
	uint32_t tail __attribute__((aligned(64))); /* the producer's */
};

/* Hand-off rings, by side (enum colo_role P and S), then the return ring. */
#define XSK_DP_RING_RETURN 2
#define XSK_DP_NR_RINGS 3

/*
 * A worker's share of the datapath, touched by its thread only: the P and
 * S sockets of its queues (their RX and fill rings), its own socket on O
 * (TX and completion rings), and its pool, which holds only the frames of
 * its home range: those its fill rings hand the kernel. A frame it frees
 * from another's range goes back on a return ring to that one.
 */
struct xsk_dp_wk {
	struct xsk_dp *dp;
	uint32_t id;
	uint32_t lo, hi; /* home range: frame indexes lo to hi - 1 */
	/* its sockets of P and S (indexes in dp->xs), and of O */
	uint32_t sock[2][COLO_XSK_QUEUES];
	uint32_t nr_sock[2];
	uint32_t out;
	/* By side: the socket xsk_dp_rx() starts at, so each gets its turn. */
	uint32_t next_rx[2];

	/* Free frame addresses of the home range: a stack. */
	uint64_t *pool;
	uint32_t pool_len;
	/* arrival order of the next frame taken: steps of the worker count */
	uint64_t next_seq;

	/*
	 * Released frames waiting for room on O's TX ring, oldest first: a
	 * ring over the whole UMEM, so a release is never dropped.
	 */
	struct xdp_desc *pending;
	uint32_t pending_head;
	uint32_t pending_len;

	/* wakes the worker asleep in poll(): a hand-off or the control */
	int wake_fd;
	int sleeping;
	uint32_t handed_to; /* workers handed frames since the last wake */

	struct colo_dp_stats stats;
};

struct xsk_dp {
	struct hostmem mem; /* the UMEM's memory */
	uint64_t frame_mask;
	unsigned int frame_shift; /* log2 of the frame size */
	struct xsk_umem *umem; /* NULL when adopted */
	/*
	 * P's sockets, then S's, one per RX queue served, lowest queue
	 * first, then O's, one per worker: role r's are xs[first[r]] up to
	 * xs[first[r + 1]]. Bound (and handed to a keeper) in this order:
	 * the first one gives the shared UMEM its mode.
	 */
	struct xsk_dp_sock xs[XSK_DP_MAX_SOCKS];
	uint32_t first[COLO_NR_ROLES + 1];
	uint32_t nr_xs;
	/*
	 * By side: frames each socket's fill ring is topped up to. The rings
	 * are XSK_DP_RING_SIZE each, but idle queues must not sit on the
	 * UMEM: a side's sockets share one ring's worth (xsk_dp_fill_target).
	 */
	uint32_t fill_target[2];
	bool busy_poll;
	char mode_why[160]; /* why the sockets are copy or zero-copy */

	uint32_t nr_frames;

	int ledger_fd;
	size_t ledger_size;
	struct xsk_dp_ledger *ledger;

	/* one per O socket; wk[0] alone unless --workers */
	struct xsk_dp_wk wk[XSK_DP_MAX_WORKERS];
	uint32_t nr_wk;
	/* ring[kind][from][to]: NULL with one worker */
	struct xsk_dp_spsc
		*ring[XSK_DP_NR_RINGS][XSK_DP_MAX_WORKERS][XSK_DP_MAX_WORKERS];

	/* What an adoption found the dead loader's engine holding. */
	struct xsk_dp_held *adopted;
	uint32_t nr_adopted;
};

/* The worker whose home range has frame index f. */
static inline uint32_t xsk_dp_home(const struct xsk_dp *dp, uint32_t f)
{
	uint32_t k = 0;

	while (f >= dp->wk[k].hi)
		k++;
	return k;
}

/* A worker's socket on O, which transmits. */
static inline struct xsk_dp_sock *xsk_dp_out(struct xsk_dp_wk *w)
{
	return &w->dp->xs[w->out];
}

/* The role of socket xs[i]. */
static inline enum colo_role xsk_dp_role_of(const struct xsk_dp *dp, uint32_t i)
{
	return i < dp->first[COLO_ROLE_SECONDARY] ? COLO_ROLE_PRIMARY :
	       i < dp->first[COLO_ROLE_OUT]	  ? COLO_ROLE_SECONDARY :
						    COLO_ROLE_OUT;
}

/* Role's sockets from xs[first[role]], and how many. */
static inline uint32_t xsk_dp_nr(const struct xsk_dp *dp, enum colo_role role)
{
	return dp->first[role + 1] - dp->first[role];
}

/*
 * Lay out dp->xs for the queues (bit q: queue q) of P and S and O's, one
 * per worker; give P's and S's to the workers in turn, each side its fill
 * target: -E2BIG when they are too many.
 */
int xsk_dp_layout(struct xsk_dp *dp, const uint64_t queues[COLO_NR_ROLES]);

static inline size_t xsk_dp_ledger_size(uint32_t nr_frames)
{
	return sizeof(struct xsk_dp_ledger) +
	       nr_frames * sizeof(struct xsk_dp_ledger_frame);
}

/*
 * Give each worker its home range (a share of dp->nr_frames by its
 * sockets of P and S), allocate pools, pending rings and the rings
 * between workers, map the ledger. After xsk_dp_layout().
 */
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
