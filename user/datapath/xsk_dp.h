/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The AF_XDP datapath of `colo-xdp run`: one UMEM shared by the sockets on
 * the primary, secondary and outdev interfaces, a pool of free frame
 * addresses, and the rings around it. A frame is named by its UMEM address
 * from the moment it leaves an RX ring until it goes back to the pool
 * (xsk_dp_free) or onto the outdev's TX ring (xsk_dp_tx); nothing is copied
 * and nothing is allocated after xsk_dp_create(). The UMEM and a ledger of
 * the frames the engine holds live in memfds, so that another loader can
 * take all of it over if this one dies (xsk_dp_adopt()).
 */
#ifndef COLO_XSK_DP_H
#define COLO_XSK_DP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "colo_dp.h"
#include "colo_xdp.h"
#include "hostmem.h"

/* Every ring (RX, TX, fill, completion) holds this many descriptors. */
#define XSK_DP_RING_SIZE 2048
/*
 * The fill rings of P and S and the TX ring of O, all full at once, with
 * one queue each; xsk_dp_min_frames() for more.
 */
#define XSK_DP_MIN_FRAMES (3 * XSK_DP_RING_SIZE)
/*
 * The UMEM's size and frame size unless told: eight times the minimum,
 * room for bursts queued on every ring while the engine holds frames.
 */
#define XSK_DP_DEFAULT_FRAMES 16384
#define XSK_DP_DEFAULT_FRAME_SIZE 2048
/* Frames taken off one RX ring per call. */
#define XSK_DP_BATCH 64
/*
 * The most UMEM frames one multi-buffer frame spans: the kernel's XDP
 * frame is at most a page and 17 fragments (MAX_SKB_FRAGS) of one, 72 KiB
 * with 4 KiB pages, hence 41 chunks of 1792 bytes (a 2048-byte UMEM frame
 * after XDP's headroom).
 */
#define XSK_DP_MAX_SEGS 48

/*
 * The least a socket's fill ring is topped up to, however many queues
 * share a side's ring's worth of frames: two batches, so the kernel has
 * buffers while the loop takes a batch elsewhere.
 */
#define XSK_DP_FILL_MIN (2 * XSK_DP_BATCH)
/* Threads that compare, each with its own socket on O (--workers). */
#define XSK_DP_MAX_WORKERS 16
/* P's and S's sockets, one per RX queue, and O's, one per worker. */
#define XSK_DP_MAX_SOCKS (2 * COLO_XSK_QUEUES + XSK_DP_MAX_WORKERS)

/*
 * AF_XDP mode of the sockets. One UMEM takes the mode of its first socket
 * for all: prefer binds them all zero-copy, and all in copy mode if any
 * interface refuses; require stops there; off binds copy.
 */
enum xsk_dp_zc {
	XSK_DP_ZC_PREFER = 0,
	XSK_DP_ZC_REQUIRE,
	XSK_DP_ZC_OFF,
};

/* "prefer", "require", "off", NULL: by enum xsk_dp_zc */
extern const char *const xsk_dp_zc_names[];

struct xsk_dp_config {
	const char *ifname[COLO_NR_ROLES]; /* indexed by enum colo_role */
	/*
	 * By role, bit q: a socket on queue q (P and S: RX queues, below
	 * COLO_XSK_QUEUES; O: its TX queues, one per worker, the lowest
	 * worker 0's). The i-th queue of P and of S goes to worker i modulo
	 * their number.
	 */
	uint64_t queues[COLO_NR_ROLES];
	uint32_t umem_frames; /* at least XSK_DP_MIN_FRAMES */
	uint32_t frame_size; /* 2048 or 4096 */
	/* Where the UMEM lives; mem->size is umem_frames * frame_size. */
	const struct hostmem_opts *mem;
	int cpu; /* the comparing CPU, for --numa-policy local; -1: any */
	enum xsk_dp_zc zero_copy;
	/*
	 * Nonzero: bind with XDP_USE_SG (AF_XDP multi-buffer), because P or
	 * S has this MTU, whose frames span several UMEM frames.
	 */
	uint32_t sg_mtu;
	bool busy_poll;
	/*
	 * The kernel frees a previous loader's sockets a moment after it
	 * stopped or died: retry a busy queue this long.
	 */
	uint32_t busy_wait_ms;
};

/*
 * A frame taken off an RX ring, named by its first UMEM frame (chunk). A
 * multi-buffer frame continues in more chunks, chained in the ledger:
 * xsk_dp_frame_iov() lists them; xsk_dp_tx() and xsk_dp_free() take them
 * all, by the first one's address.
 */
struct xsk_dp_frame {
	uint64_t addr; /* the first chunk's UMEM address, as the ring gave it */
	const void *data; /* the first chunk's bytes */
	uint32_t len; /* the whole frame's, over all its chunks */
	uint32_t nseg; /* chunks: 1 unless multi-buffer */
};

/* A frame an adoption found held by the dead loader's engine. */
struct xsk_dp_held {
	struct xsk_dp_frame f;
	enum colo_role role; /* primary or secondary */
};

/*
 * The file descriptors that hold a datapath, all of them: the UMEM's
 * memfd, the ledger's, then its sockets (P's by queue, S's, O's). Whoever
 * keeps them open keeps every frame in the datapath, whatever happens to
 * this process.
 */
enum {
	XSK_DP_FD_UMEM,
	XSK_DP_FD_LEDGER,
	XSK_DP_FD_SOCKS,
	XSK_DP_MAX_FDS = XSK_DP_FD_SOCKS + XSK_DP_MAX_SOCKS,
};

struct xsk_dp;

/*
 * The UMEM frames the rings take when all are full: the fill rings of
 * the sockets of P and S (as far as they are topped up) and O's TX rings.
 */
uint32_t xsk_dp_min_frames(const uint64_t queues[COLO_NR_ROLES]);

/*
 * Map the UMEM and create the sockets (not yet bound into any XSKMAP).
 * On error: a message on stderr naming the interface and the fix, a
 * negative errno, nothing left open.
 */
int xsk_dp_create(const struct xsk_dp_config *cfg, struct xsk_dp **out);

/*
 * Take over the datapath of a loader that died, from its file descriptors
 * (xsk_dp_fds() of that loader, kept open by its keeper): the same UMEM,
 * sockets and rings, with every frame where the dead loader left it.
 * Frames on the rings go on as they would have (RX ones are taken next,
 * TX ones sent); the frames its engine held are in xsk_dp_adopted(). The
 * caller makes sure that colo_steer sends nothing to the sockets while
 * this looks at the rings. cfg must give the dead loader's geometry (queues,
 * frames and their size): else -EINVAL, with a message naming the flags.
 * Takes the n fds: on error they are closed.
 */
int xsk_dp_adopt(const struct xsk_dp_config *cfg, int *fds, unsigned int n,
		 struct xsk_dp **out);

/*
 * The frames the dead loader's engine held when it died, in the order
 * they arrived: still held, for the caller's engine to take.
 */
unsigned int xsk_dp_adopted(const struct xsk_dp *dp,
			    const struct xsk_dp_held **held);

void xsk_dp_destroy(struct xsk_dp *dp);

/*
 * The descriptors to keep open across a crash (keeper.h), up to
 * XSK_DP_MAX_FDS: returns how many.
 */
unsigned int xsk_dp_fds(const struct xsk_dp *dp, int *fds);

/*
 * A worker's share of the datapath: the sockets of its queues, its socket
 * on O, its frames. All calls below that take one are for its thread
 * only; the rings between workers need no lock.
 */
struct xsk_dp_wk;

/* The workers: one per socket on O. */
unsigned int xsk_dp_nr_workers(const struct xsk_dp *dp);
struct xsk_dp_wk *xsk_dp_worker(struct xsk_dp *dp, unsigned int k);
/* A worker's sockets of P or S, to poll(). */
unsigned int xsk_dp_wk_nr_socks(const struct xsk_dp_wk *w, enum colo_role role);
int xsk_dp_wk_sock_fd(const struct xsk_dp_wk *w, enum colo_role role,
		      unsigned int i);
uint32_t xsk_dp_wk_sock_queue(const struct xsk_dp_wk *w, enum colo_role role,
			      unsigned int i);
/* Its TX queue on O. */
uint32_t xsk_dp_wk_out_queue(const struct xsk_dp_wk *w);
/*
 * Sleeping in poll() on the worker's sockets and its wake fd, an eventfd:
 * xsk_dp_wk_sleep() first (false: frames of roles, bit r for role r,
 * were handed to it already, do not sleep), xsk_dp_wk_awake() after.
 * Meanwhile a hand-off, or xsk_dp_wk_wake() from any thread, makes the fd
 * readable.
 */
int xsk_dp_wk_wake_fd(const struct xsk_dp_wk *w);
bool xsk_dp_wk_sleep(struct xsk_dp_wk *w, unsigned int roles);
void xsk_dp_wk_awake(struct xsk_dp_wk *w);
void xsk_dp_wk_wake(struct xsk_dp_wk *w);

/* A role's sockets: how many (P and S: one per RX queue). */
unsigned int xsk_dp_nr_socks(const struct xsk_dp *dp, enum colo_role role);
/* The i-th socket of a role, and its queue, for colo_steer_add_xsk(), poll(). */
int xsk_dp_sock_fd(const struct xsk_dp *dp, enum colo_role role,
		   unsigned int i);
uint32_t xsk_dp_sock_queue(const struct xsk_dp *dp, enum colo_role role,
			   unsigned int i);
/* A role's first socket (O's only one). */
int xsk_dp_fd(const struct xsk_dp *dp, enum colo_role role);
/*
 * The longest frame a UMEM frame of frame_size bytes takes off an RX
 * ring; the kernel drops a longer one (rx_dropped).
 */
uint32_t xsk_dp_max_frame(uint32_t frame_size);
/* Whether role's socket is bound zero-copy, as the kernel reports it. */
bool xsk_dp_zero_copy(const struct xsk_dp *dp, enum colo_role role);
/* Why the sockets got their mode, for the start output. */
const char *xsk_dp_mode_why(const struct xsk_dp *dp);

/*
 * Take up to max (at most XSK_DP_BATCH) frames off the RX rings of P or S,
 * each socket's in turn, starting after where the last call stopped; what
 * is left stays on the rings, the kernel's buffer.
 */
unsigned int xsk_dp_rx(struct xsk_dp_wk *w, enum colo_role role,
		       struct xsk_dp_frame *frames, unsigned int max);

/*
 * Hand a frame taken off one of w's RX rings to worker `to`, by its UMEM
 * address alone: its side, length and chunks are in the ledger. Never
 * fails: a ring holds every frame of w's home range, and only those reach
 * w's RX rings.
 */
void xsk_dp_hand(struct xsk_dp_wk *w, unsigned int to, enum colo_role role,
		 uint64_t addr);
/* After a batch of xsk_dp_hand(): wake the workers handed to that sleep. */
void xsk_dp_hand_done(struct xsk_dp_wk *w);
/*
 * Take up to max frames of role (P or S) the other workers handed w, each
 * ring's in order, in turn.
 */
unsigned int xsk_dp_rx_handed(struct xsk_dp_wk *w, enum colo_role role,
			      struct xsk_dp_frame *frames, unsigned int max);

/*
 * The chunks of a frame taken off an RX ring and not yet given back
 * (xsk_dp_tx or xsk_dp_free), by its first chunk's address, in order: at
 * most max, returns how many. For the engine's segments, and what
 * --mismatch-dump writes of the two frames the engine names.
 */
unsigned int xsk_dp_frame_iov(const struct xsk_dp *dp, uint64_t addr,
			      struct iovec *iov, unsigned int max);

/*
 * Queue a frame for the outdev, in call order, every chunk of it with the
 * length its RX descriptor gave. Never drops it.
 */
void xsk_dp_tx(struct xsk_dp_wk *w, uint64_t addr);
/* Give a frame back to its home worker's pool, every chunk of it. */
void xsk_dp_free(struct xsk_dp_wk *w, uint64_t addr);

/*
 * Move queued frames onto w's TX ring on O and kick it, reap its
 * completion ring, take back the frames other workers returned, top up
 * the fill rings of w's sockets of P and S. One call per loop.
 */
void xsk_dp_service(struct xsk_dp_wk *w);

/* Frames queued for TX or on the TX ring and not yet sent by the kernel. */
bool xsk_dp_tx_busy(struct xsk_dp_wk *w);

/* Busy-poll the RX queues (--busy-poll) when the rings are empty. */
void xsk_dp_busy_poll(struct xsk_dp_wk *w);

/* Where the UMEM pages are, for the report at start. */
int xsk_dp_umem_report(const struct xsk_dp *dp, struct colo_umem_report *r);

/*
 * A worker's counters, with the kernel's per-socket drop statistics of
 * its sockets folded in; the datapath's are the sum over the workers.
 */
void xsk_dp_stats(struct xsk_dp_wk *w, struct colo_dp_stats *out);

#endif /* COLO_XSK_DP_H */
