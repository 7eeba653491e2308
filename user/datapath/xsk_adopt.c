// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Taking over the datapath of a loader that died. Its keeper (keeper.h)
 * kept the sockets, the UMEM and the ledger open, so every frame is still
 * where the dead loader left it: on a ring (fill, RX, O's TX or
 * completion), in the kernel's own cache of fill buffers, in the dead
 * loader's pool, or held by its engine. The ledger says which, the rings
 * correct it where the loader died between its store and the ring's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/if_xdp.h>

#include "cli.h"
#include "log.h"
#include "queue_list.h"
#include "xsk_dp_internal.h"

struct ring_view {
	__u32 *producer;
	__u32 *consumer;
	__u32 *flags;
	void *ring;
};

/* xsk_ring_prod and xsk_ring_cons share one layout (DEFINE_XSK_RING). */
#define RING_SET(r, v, n)                          \
	do {                                       \
		(r)->mask = (n)-1;                 \
		(r)->size = (n);                   \
		(r)->producer = (v)->producer;     \
		(r)->consumer = (v)->consumer;     \
		(r)->flags = (v)->flags;           \
		(r)->ring = (v)->ring;             \
		(r)->cached_prod = *(r)->producer; \
		(r)->cached_cons = *(r)->consumer; \
	} while (0)

static int map_ring(int fd, off_t pgoff, const struct xdp_ring_offset *off,
		    size_t entry, uint32_t size, struct xsk_dp_map *map,
		    struct ring_view *v)
{
	char *addr;

	map->len = off->desc + size * entry;
	addr = mmap(NULL, map->len, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_POPULATE, fd, pgoff);
	if (addr == MAP_FAILED)
		return -errno;
	map->addr = addr;
	v->producer = (__u32 *)(addr + off->producer);
	v->consumer = (__u32 *)(addr + off->consumer);
	v->flags = (__u32 *)(addr + off->flags);
	v->ring = addr + off->desc;
	return 0;
}

/* P and S: RX and fill; O: TX and completion, as xsk_dp_create() uses them. */
static int sock_adopt(struct xsk_dp_sock *s, enum colo_role role, uint32_t size)
{
	struct xdp_mmap_offsets off;
	socklen_t len = sizeof(off);
	struct ring_view v;
	int err;

	if (getsockopt(s->fd, SOL_XDP, XDP_MMAP_OFFSETS, &off, &len))
		return -errno;
	if (role == COLO_ROLE_OUT) {
		err = map_ring(s->fd, XDP_PGOFF_TX_RING, &off.tx,
			       sizeof(struct xdp_desc), size, &s->map[0], &v);
		if (err)
			return err;
		RING_SET(&s->tx, &v, size);
		/* a producer's cached consumer runs a ring ahead */
		s->tx.cached_cons += size;
		err = map_ring(s->fd, XDP_UMEM_PGOFF_COMPLETION_RING, &off.cr,
			       sizeof(__u64), size, &s->map[1], &v);
		if (err)
			return err;
		RING_SET(&s->comp, &v, size);
		return 0;
	}
	err = map_ring(s->fd, XDP_PGOFF_RX_RING, &off.rx,
		       sizeof(struct xdp_desc), size, &s->map[0], &v);
	if (err)
		return err;
	RING_SET(&s->rx, &v, size);
	err = map_ring(s->fd, XDP_UMEM_PGOFF_FILL_RING, &off.fr, sizeof(__u64),
		       size, &s->map[1], &v);
	if (err)
		return err;
	RING_SET(&s->fill, &v, size);
	s->fill.cached_cons += size;
	return 0;
}

struct scan {
	struct xsk_dp *dp;
	uint8_t *on_ring; /* by frame index */
	/* on two rings, outside the UMEM, past a frame's end; overfull rings */
	uint32_t bad;
};

static void on_ring(struct scan *sc, uint64_t addr)
{
	uint64_t f = addr >> sc->dp->frame_shift;

	if (f >= sc->dp->nr_frames || sc->on_ring[f]) {
		sc->bad++;
		return;
	}
	sc->on_ring[f] = 1;
}

/*
 * The entries between a ring's consumer and producer (the kernel's, or
 * ours to read), by index: [*first, *first + n). More than the ring holds
 * is a ring no loader wrote.
 */
static uint32_t ring_span(struct scan *sc, __u32 *prod, __u32 *cons,
			  uint32_t mask, uint32_t *first)
{
	uint32_t n;

	*first = __atomic_load_n(cons, __ATOMIC_ACQUIRE);
	n = __atomic_load_n(prod, __ATOMIC_ACQUIRE) - *first;
	if (n > mask + 1) {
		sc->bad++;
		return 0;
	}
	return n;
}

static void scan_addrs(struct scan *sc, const void *ring, __u32 *prod,
		       __u32 *cons, uint32_t mask)
{
	uint32_t i, first, n = ring_span(sc, prod, cons, mask, &first);

	for (i = 0; i < n; i++)
		on_ring(sc, ((const __u64 *)ring)[(first + i) & mask]);
}

static void scan_descs(struct scan *sc, const void *ring, __u32 *prod,
		       __u32 *cons, uint32_t mask)
{
	uint32_t i, first, n = ring_span(sc, prod, cons, mask, &first);

	for (i = 0; i < n; i++)
		on_ring(sc, ((const struct xdp_desc *)ring)[(first + i) & mask]
				    .addr);
}

/* on_ring[]: reached from a held frame's first chunk */
#define SCAN_CHAINED 2

/*
 * The whole length and chunks of the frame whose first chunk is first:
 * its later ones, chained by next, are held with it as long as they
 * carry its state (the dead loader may have died freeing it).
 */
static uint32_t chain(struct xsk_dp *dp, struct scan *sc, uint32_t first,
		      uint32_t *nseg)
{
	struct xsk_dp_ledger_frame *lf = &dp->ledger->frame[first];
	uint64_t state = lf->state;
	uint32_t len = lf->len, n = 1, next;

	for (next = lf->next; next; next = lf->next) {
		struct xsk_dp_ledger_frame *c = &dp->ledger->frame[next - 1];

		if (c->state != state || !c->cont ||
		    (sc->on_ring[next - 1] & SCAN_CHAINED) ||
		    n == XSK_DP_MAX_SEGS) {
			lf->next = 0; /* cut it here: the rest is not its */
			break;
		}
		sc->on_ring[next - 1] |= SCAN_CHAINED;
		len += c->len;
		n++;
		lf = c;
	}
	*nseg = n;
	return len;
}

struct arrival {
	uint64_t state; /* the ledger's */
	uint32_t frame;
};

static int by_arrival(const void *a, const void *b)
{
	const struct arrival *x = a, *y = b;

	return x->state < y->state ? -1 : x->state > y->state;
}

/* A free frame to its home worker's pool. */
static void pool_put(struct xsk_dp *dp, uint32_t f)
{
	struct xsk_dp_wk *w = &dp->wk[xsk_dp_home(dp, f)];

	w->pool[w->pool_len++] = (uint64_t)f << dp->frame_shift;
}

int xsk_dp_recover(struct xsk_dp *dp)
{
	struct xsk_dp_wk *w0 = &dp->wk[0];
	struct scan sc = { .dp = dp };
	struct arrival *held = NULL;
	uint64_t last = 0;
	uint32_t f, n = 0, r;
	int err = -ENOMEM;

	sc.on_ring = calloc(dp->nr_frames, 1);
	held = calloc(dp->nr_frames, sizeof(*held));
	if (!sc.on_ring || !held)
		goto out;
	/* every socket of P and S: their fill and RX rings */
	for (r = 0; r < dp->first[COLO_ROLE_OUT]; r++) {
		struct xsk_dp_sock *s = &dp->xs[r];

		scan_addrs(&sc, s->fill.ring, s->fill.producer,
			   s->fill.consumer, s->fill.mask);
		scan_descs(&sc, s->rx.ring, s->rx.producer, s->rx.consumer,
			   s->rx.mask);
	}
	/* every socket of O, one per worker: TX and completion rings */
	for (r = dp->first[COLO_ROLE_OUT]; r < dp->nr_xs; r++) {
		struct xsk_dp_sock *o = &dp->xs[r];

		scan_descs(&sc, o->tx.ring, o->tx.producer, o->tx.consumer,
			   o->tx.mask);
		scan_addrs(&sc, o->comp.ring, o->comp.producer,
			   o->comp.consumer, o->comp.mask);
	}
	/*
	 * A length the engine would read past its frame with, or a chunk
	 * chained to one outside the UMEM.
	 */
	for (f = 0; f < dp->nr_frames; f++) {
		const struct xsk_dp_ledger_frame *lf = &dp->ledger->frame[f];

		if (XSK_DP_ENGINE(lf->state) &&
		    ((uint64_t)lf->offset + lf->len > ~dp->frame_mask + 1 ||
		     lf->next > dp->nr_frames))
			sc.bad++;
	}
	if (sc.bad) {
		log_err("the dead loader's rings and ledger disagree on %u frames (on two rings, outside its UMEM, or longer than one): not taking them over",
			sc.bad);
		err = -EUCLEAN;
		goto out;
	}

	for (f = 0; f < dp->nr_frames; f++) {
		struct xsk_dp_ledger_frame *lf = &dp->ledger->frame[f];

		if (sc.on_ring[f])
			lf->state = XSK_DP_KERNEL;
		if (lf->state == XSK_DP_POOL) {
			pool_put(dp, f);
		} else if (XSK_DP_ENGINE(lf->state) && !lf->cont) {
			held[n].state = lf->state;
			held[n++].frame = f;
			if (XSK_DP_ENGINE(lf->state) > last)
				last = XSK_DP_ENGINE(lf->state);
		}
	}
	/* what arrives next comes after all of it, each worker's own steps */
	for (r = 0; r < dp->nr_wk; r++) {
		dp->wk[r].next_seq = last - last % dp->nr_wk + r + 1;
		if (dp->wk[r].next_seq <= last)
			dp->wk[r].next_seq += dp->nr_wk;
	}
	qsort(held, n, sizeof(*held), by_arrival);
	dp->adopted = calloc(n ?: 1, sizeof(*dp->adopted));
	if (!dp->adopted)
		goto out;
	for (r = 0; r < n; r++) {
		const struct xsk_dp_ledger_frame *lf =
			&dp->ledger->frame[held[r].frame];
		struct xsk_dp_held *h = &dp->adopted[dp->nr_adopted];
		uint64_t addr = ((uint64_t)held[r].frame << dp->frame_shift) +
				lf->offset;
		uint32_t len, nseg;

		/* a multi-buffer frame's chunks: held with it, not alone */
		len = chain(dp, &sc, held[r].frame, &nseg);
		/*
		 * Released and waiting for room on the TX ring: send them,
		 * first thing, on worker 0's before any worker runs.
		 */
		if (held[r].state & XSK_DP_RELEASED) {
			xsk_dp_tx(w0, addr);
			w0->stats.adopted_sent++;
			continue;
		}
		h->f.addr = addr;
		h->f.len = len;
		h->f.nseg = nseg;
		h->f.data = xsk_umem__get_data(dp->mem.area, addr);
		h->role = held[r].state & XSK_DP_SECONDARY ?
				  COLO_ROLE_SECONDARY :
				  COLO_ROLE_PRIMARY;
		w0->stats.adopted[h->role]++;
		dp->nr_adopted++;
	}
	/* a frame's later chunks whose first went back already: pool's */
	for (f = 0; f < dp->nr_frames; f++) {
		struct xsk_dp_ledger_frame *lf = &dp->ledger->frame[f];

		if (XSK_DP_ENGINE(lf->state) && lf->cont &&
		    !(sc.on_ring[f] & SCAN_CHAINED)) {
			lf->state = XSK_DP_POOL;
			pool_put(dp, f);
		}
	}
	err = 0;
out:
	free(held);
	free(sc.on_ring);
	return err;
}

/* The dead loader's geometry against what this one was asked for. */
static int check_ledger(const struct xsk_dp_ledger *l,
			const struct xsk_dp_config *cfg)
{
	if (l->magic != XSK_DP_LEDGER_MAGIC ||
	    l->version != XSK_DP_LEDGER_VERSION ||
	    l->ring_size != XSK_DP_RING_SIZE) {
		log_err("the dead loader's frame ledger is not this version's: its frames cannot be taken over");
		return -EPROTO;
	}
	if (l->nr_frames != cfg->umem_frames ||
	    l->frame_size != cfg->frame_size) {
		log_err("the dead loader ran --umem-frames %u --frame-size %u, not %u and %u: restart with its flags to take its frames over",
			l->nr_frames, l->frame_size, cfg->umem_frames,
			cfg->frame_size);
		return -EINVAL;
	}
	if (l->queues[0] != cfg->queues[COLO_ROLE_PRIMARY] ||
	    l->queues[1] != cfg->queues[COLO_ROLE_SECONDARY] ||
	    !(1ull << l->out_queue & cfg->queues[COLO_ROLE_OUT])) {
		char was[2][QUEUE_LIST_LEN], now[2][QUEUE_LIST_LEN];
		int r;

		for (r = 0; r < 2; r++) {
			queue_list_format(l->queues[r], was[r], sizeof(was[r]));
			queue_list_format(cfg->queues[r], now[r],
					  sizeof(now[r]));
		}
		log_err("the dead loader served queues %s of %s and %s of %s, not %s and %s: restart with its --queues (on devices with as many queues) to take its frames over",
			was[0], cfg->ifname[COLO_ROLE_PRIMARY], was[1],
			cfg->ifname[COLO_ROLE_SECONDARY], now[0], now[1]);
		return -EINVAL;
	}
	return 0;
}

int xsk_dp_adopt(const struct xsk_dp_config *cfg, int *fds, unsigned int n,
		 struct xsk_dp **out)
{
	int umem_fd = fds[XSK_DP_FD_UMEM];
	struct xsk_dp_ledger hdr;
	struct xsk_dp *dp;
	uint32_t i;
	int err;

	*out = NULL;
	dp = calloc(1, sizeof(*dp));
	if (!dp || xsk_dp_layout(dp, cfg->queues) ||
	    n != XSK_DP_FD_SOCKS + dp->nr_xs) {
		if (dp)
			log_err("the dead loader's keeper holds %u sockets, not the %u of the queues and workers asked for: restart with its --queues and --workers to take its frames over",
				n - XSK_DP_FD_SOCKS, dp->nr_xs);
		for (i = 0; i < n; i++)
			close(fds[i]);
		free(dp);
		return dp ? -EINVAL : -ENOMEM;
	}
	/* from here on, destroy closes what dp holds, the out path the rest */
	for (i = 0; i < dp->nr_xs; i++)
		dp->xs[i].fd = fds[XSK_DP_FD_SOCKS + i];
	dp->ledger_fd = fds[XSK_DP_FD_LEDGER];
	dp->mem.fd = -1;
	dp->busy_poll = cfg->busy_poll;
	snprintf(dp->mode_why, sizeof(dp->mode_why),
		 "as the dead loader bound them");
	if (pread(dp->ledger_fd, &hdr, sizeof(hdr), 0) != sizeof(hdr)) {
		log_err("the dead loader's frame ledger is cut short");
		err = -EPROTO;
		goto out;
	}
	err = check_ledger(&hdr, cfg);
	if (err)
		goto out;
	dp->nr_frames = hdr.nr_frames;
	dp->frame_mask = ~((uint64_t)hdr.frame_size - 1);
	dp->frame_shift = __builtin_ctz(hdr.frame_size);
	err = xsk_dp_alloc(dp, dp->ledger_fd);
	if (err) {
		log_err("cannot map the dead loader's frame ledger: %s",
			strerror(-err));
		goto out;
	}
	err = hostmem_adopt(umem_fd, cfg->mem, "run", &dp->mem);
	if (err)
		goto out;
	umem_fd = -1; /* dp->mem's now */
	if (dp->mem.size != (uint64_t)dp->nr_frames * hdr.frame_size) {
		log_err("the dead loader's UMEM is %llu bytes, not %u frames of %u: its frames cannot be taken over",
			(unsigned long long)dp->mem.size, dp->nr_frames,
			hdr.frame_size);
		err = -EPROTO;
		goto out;
	}
	for (i = 0; i < dp->nr_xs; i++) {
		enum colo_role r = xsk_dp_role_of(dp, i);

		err = sock_adopt(&dp->xs[i], r, XSK_DP_RING_SIZE);
		if (err) {
			log_err("cannot map the rings of the dead loader's socket on %s %s queue %u: %s",
				cli_role_flag[r], cfg->ifname[r],
				dp->xs[i].queue, strerror(-err));
			goto out;
		}
	}
	err = xsk_dp_recover(dp);
	if (err)
		goto out;
	for (i = 0; i < dp->nr_wk; i++)
		xsk_dp_service(&dp->wk[i]);
	*out = dp;
	return 0;
out:
	if (umem_fd >= 0)
		close(umem_fd);
	xsk_dp_destroy(dp);
	return err;
}

unsigned int xsk_dp_adopted(const struct xsk_dp *dp,
			    const struct xsk_dp_held **held)
{
	*held = dp->adopted;
	return dp->nr_adopted;
}
