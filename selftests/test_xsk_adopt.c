// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * What a restart makes of a dead loader's datapath (xsk_dp_recover()),
 * from rings and a ledger laid out by hand: the states a loader can die
 * in, including those between its store into the ledger and the ring's,
 * and a fill buffer the kernel keeps after a full RX ring. e2e-watchdog.sh
 * does the same on real sockets, where these moments cannot be chosen.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "test.h"
#include "xsk_dp_internal.h"

#define FRAMES 64
#define SHIFT 11 /* 2048-byte frames */
#define RING 16
/* where copy mode puts a frame's data in its chunk */
#define HEADROOM 256

struct rings {
	__u32 prod[6], cons[6];
	__u64 addrs[4][RING]; /* P fill, S fill, O comp, spare */
	struct xdp_desc descs[3][RING]; /* P rx, S rx, O tx */
};

static void ring_init(void *r, __u32 *prod, __u32 *cons, void *entries)
{
	struct xsk_ring_cons *c = r; /* prod and cons share one layout */

	c->producer = prod;
	c->consumer = cons;
	c->ring = entries;
	c->mask = RING - 1;
	c->size = RING;
}

static struct xsk_dp *dp_new(struct rings *rg)
{
	static const uint64_t queues[COLO_NR_ROLES] = { 1, 1, 1 };
	struct xsk_dp *dp = calloc(1, sizeof(*dp));
	int r;

	dp->nr_frames = FRAMES;
	dp->frame_shift = SHIFT;
	dp->frame_mask = ~((1ull << SHIFT) - 1);
	dp->mem.fd = -1;
	dp->mem.size = (uint64_t)FRAMES << SHIFT;
	dp->mem.area = mmap(NULL, dp->mem.size, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	dp->ledger_fd = memfd_create("test-ledger", MFD_CLOEXEC);
	/* one queue each: P's socket, S's, O's */
	if (xsk_dp_layout(dp, queues))
		abort();
	if (ftruncate(dp->ledger_fd, xsk_dp_ledger_size(FRAMES)) ||
	    xsk_dp_alloc(dp, dp->ledger_fd))
		abort();
	for (r = 0; r < COLO_NR_ROLES; r++)
		dp->xs[r].fd = -1;
	ring_init(&dp->xs[0].fill, &rg->prod[0], &rg->cons[0], rg->addrs[0]);
	ring_init(&dp->xs[1].fill, &rg->prod[1], &rg->cons[1], rg->addrs[1]);
	ring_init(&dp->xs[2].comp, &rg->prod[2], &rg->cons[2], rg->addrs[2]);
	ring_init(&dp->xs[0].rx, &rg->prod[3], &rg->cons[3], rg->descs[0]);
	ring_init(&dp->xs[1].rx, &rg->prod[4], &rg->cons[4], rg->descs[1]);
	ring_init(&dp->xs[2].tx, &rg->prod[5], &rg->cons[5], rg->descs[2]);
	return dp;
}

/* Put frames first..last on ring i, after what is there. */
static void on_addrs(struct rings *rg, int i, int first, int last)
{
	for (; first <= last; first++)
		rg->addrs[i][rg->prod[i]++ % RING] = (__u64)first << SHIFT;
}

static void on_descs(struct rings *rg, int i, int first, int last)
{
	for (; first <= last; first++)
		rg->descs[i][rg->prod[3 + i]++ % RING].addr =
			((__u64)first << SHIFT) + HEADROOM;
}

static void held(struct xsk_dp *dp, int f, uint64_t seq, uint64_t flags,
		 uint32_t len)
{
	dp->ledger->frame[f].state = seq << XSK_DP_SHIFT | flags;
	dp->ledger->frame[f].len = len;
	dp->ledger->frame[f].offset = HEADROOM;
}

static bool in_pool(const struct xsk_dp *dp, int f)
{
	uint32_t i;

	for (i = 0; i < dp->wk[0].pool_len; i++)
		if (dp->wk[0].pool[i] == (uint64_t)f << SHIFT)
			return true;
	return false;
}

TEST(every_frame_where_the_rings_and_the_ledger_say)
{
	struct rings rg = {};
	struct xsk_dp *dp = dp_new(&rg);
	int f;

	/* the kernel's: on fill rings, unread on RX, unsent on TX, unreaped */
	on_addrs(&rg, 0, 0, 9);
	rg.cons[0] = 4; /* 0-3 taken by the kernel: its cache, like 40-41 */
	on_addrs(&rg, 1, 14, 19);
	on_descs(&rg, 0, 10, 13);
	on_descs(&rg, 1, 20, 20);
	on_descs(&rg, 2, 21, 23);
	on_addrs(&rg, 2, 24, 26);
	/* died between its store and the ring's: the ring wins */
	held(dp, 13, 12, 0, 60); /* taken off RX, RX not released */
	held(dp, 23, 13, XSK_DP_RELEASED, 60); /* on TX, not cleared */
	dp->ledger->frame[26].state = XSK_DP_POOL; /* reaped, not released */
	dp->ledger->frame[14].state = XSK_DP_POOL; /* filled, not cleared */
	/* the dead loader's pool */
	for (f = 30; f <= 39; f++)
		dp->ledger->frame[f].state = XSK_DP_POOL;
	/* 40 and 41: the kernel's, on no ring (its cache of fill buffers) */
	/* its engine's, arrived in the order 51, 52, 50, 53 */
	held(dp, 50, 7, 0, 100);
	held(dp, 51, 3, XSK_DP_SECONDARY, 101);
	held(dp, 52, 5, XSK_DP_RELEASED, 102);
	held(dp, 53, 9, 0, 103);

	CHECK_EQ(xsk_dp_recover(dp), 0);
	CHECK_EQ(dp->wk[0].pool_len, 10);
	for (f = 30; f <= 39; f++)
		CHECK(in_pool(dp, f));
	CHECK(!in_pool(dp, 14) && !in_pool(dp, 26) && !in_pool(dp, 40));
	CHECK_EQ(dp->ledger->frame[13].state, XSK_DP_KERNEL);
	CHECK_EQ(dp->ledger->frame[23].state, XSK_DP_KERNEL);
	CHECK_EQ(dp->ledger->frame[26].state, XSK_DP_KERNEL);

	CHECK_EQ(dp->nr_adopted, 3);
	CHECK_EQ(dp->wk[0].stats.adopted[COLO_ROLE_PRIMARY], 2);
	CHECK_EQ(dp->wk[0].stats.adopted[COLO_ROLE_SECONDARY], 1);
	CHECK_EQ(dp->wk[0].stats.adopted_sent, 1);
	CHECK_EQ(dp->adopted[0].f.addr, (51ull << SHIFT) + HEADROOM);
	CHECK_EQ(dp->adopted[0].role, COLO_ROLE_SECONDARY);
	CHECK_EQ(dp->adopted[0].f.len, 101);
	CHECK(dp->adopted[0].f.data ==
	      (char *)dp->mem.area + (51 << SHIFT) + HEADROOM);
	CHECK_EQ(dp->adopted[1].f.addr, (50ull << SHIFT) + HEADROOM);
	CHECK_EQ(dp->adopted[1].role, COLO_ROLE_PRIMARY);
	CHECK_EQ(dp->adopted[2].f.addr, (53ull << SHIFT) + HEADROOM);
	/* compared before the crash: straight to TX, not compared again */
	CHECK_EQ(dp->wk[0].pending_len, 1);
	CHECK_EQ(dp->wk[0].pending[dp->wk[0].pending_head].addr,
		 (52ull << SHIFT) + HEADROOM);
	CHECK_EQ(dp->wk[0].pending[dp->wk[0].pending_head].len, 102);
	/* what arrives next comes after all of it */
	CHECK_EQ(dp->wk[0].next_seq, 10);
	xsk_dp_destroy(dp);
}

/* Chunk f continues in chunk next, of the same frame. */
static void chained(struct xsk_dp *dp, int f, int next)
{
	dp->ledger->frame[f].next = next + 1;
	dp->ledger->frame[next].cont = 1;
}

TEST(a_multi_buffer_frame_is_held_whole)
{
	struct rings rg = {};
	struct xsk_dp *dp = dp_new(&rg);

	/* a primary frame in chunks 40, 45, 42; a released one in 50, 51 */
	held(dp, 40, 2, 0, 1792);
	held(dp, 45, 2, 0, 1792);
	held(dp, 42, 2, 0, 100);
	chained(dp, 40, 45);
	chained(dp, 45, 42);
	held(dp, 50, 1, XSK_DP_RELEASED, 1792);
	held(dp, 51, 1, XSK_DP_RELEASED, 10);
	chained(dp, 50, 51);
	/* a later chunk whose first was freed when the loader died */
	held(dp, 60, 3, 0, 500);
	dp->ledger->frame[60].cont = 1;
	CHECK_EQ(xsk_dp_recover(dp), 0);
	CHECK_EQ(dp->nr_adopted, 1);
	CHECK_EQ(dp->adopted[0].f.addr, (40ull << SHIFT) + HEADROOM);
	CHECK_EQ(dp->adopted[0].f.len, 1792 + 1792 + 100);
	CHECK_EQ(dp->adopted[0].f.nseg, 3);
	/* both chunks of the released one go out, chained */
	CHECK_EQ(dp->wk[0].pending_len, 2);
	CHECK_EQ(dp->wk[0].pending[0].addr, (50ull << SHIFT) + HEADROOM);
	CHECK_EQ(dp->wk[0].pending[0].options, 1); /* XDP_PKT_CONTD */
	CHECK_EQ(dp->wk[0].pending[1].addr, (51ull << SHIFT) + HEADROOM);
	CHECK_EQ(dp->wk[0].pending[1].options, 0);
	CHECK(in_pool(dp, 60));
	CHECK(!in_pool(dp, 45) && !in_pool(dp, 42));
	xsk_dp_destroy(dp);
}

TEST(a_frame_on_two_rings_is_refused)
{
	struct rings rg = {};
	struct xsk_dp *dp = dp_new(&rg);

	on_addrs(&rg, 0, 0, 5);
	on_descs(&rg, 1, 5, 5);
	CHECK_EQ(xsk_dp_recover(dp), -EUCLEAN);
	xsk_dp_destroy(dp);
}

TEST(an_address_outside_the_umem_is_refused)
{
	struct rings rg = {};
	struct xsk_dp *dp = dp_new(&rg);

	on_addrs(&rg, 2, FRAMES, FRAMES);
	CHECK_EQ(xsk_dp_recover(dp), -EUCLEAN);
	xsk_dp_destroy(dp);
}

TEST(a_length_past_the_frame_is_refused)
{
	struct rings rg = {};
	struct xsk_dp *dp = dp_new(&rg);

	held(dp, 7, 1, 0, (1 << SHIFT) - HEADROOM);
	CHECK_EQ(xsk_dp_recover(dp), 0);
	xsk_dp_destroy(dp);
	dp = dp_new(&rg);
	held(dp, 7, 1, 0, (1 << SHIFT) - HEADROOM + 1);
	CHECK_EQ(xsk_dp_recover(dp), -EUCLEAN);
	xsk_dp_destroy(dp);
}

TEST(a_ring_fuller_than_it_can_be_is_refused)
{
	struct rings rg = {};
	struct xsk_dp *dp = dp_new(&rg);

	rg.prod[3] = RING + 1; /* P's RX ring */
	CHECK_EQ(xsk_dp_recover(dp), -EUCLEAN);
	xsk_dp_destroy(dp);
}
