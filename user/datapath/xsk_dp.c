// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/bpf.h>
#include <linux/if_xdp.h>

#include "cli.h"
#include "xsk_dp_internal.h"

/* Newer than the 6.1 uapi headers installed here. */
#ifndef SO_PREFER_BUSY_POLL
#define SO_PREFER_BUSY_POLL 69
#endif
#ifndef SO_BUSY_POLL_BUDGET
#define SO_BUSY_POLL_BUDGET 70
#endif
#ifndef XDP_MAX_TX_SKB_BUDGET
#define XDP_MAX_TX_SKB_BUDGET 9
#endif
#ifndef XDP_USE_SG
#define XDP_USE_SG (1 << 4)
#endif
#ifndef XDP_PKT_CONTD
#define XDP_PKT_CONTD (1 << 0)
#endif

/* Microseconds one recvfrom() may spin on the queue: short, the loop spins. */
#define XSK_DP_BUSY_POLL_US 20

/* Step of the wait for a dead loader's queue to be freed. */
#define XSK_DP_BUSY_STEP_MS 10

static void sock_error(const struct xsk_dp_config *cfg, enum colo_role role,
		       uint32_t queue, int err)
{
	const char *ifname = cfg->ifname[role];
	uint32_t max = xsk_dp_max_frame(cfg->frame_size);
	const char *fix;

	/* before 6.6 the flag is unknown; a zero-copy driver may lack it */
	if (cfg->sg_mtu && (err == -EINVAL || err == -EOPNOTSUPP)) {
		cli_err("run",
			"AF_XDP socket for %s %s: %s with XDP_USE_SG: this kernel or driver has no AF_XDP multi-buffer, which MTU %u needs (its frames span several %u-byte UMEM frames of %u bytes each); set the MTUs of %s and %s to %u or less ('ip link set dev NAME mtu %u'), or run Linux 6.6 or later",
			cli_role_flag[role], ifname, strerror(-err),
			cfg->sg_mtu, cfg->frame_size, max,
			cfg->ifname[COLO_ROLE_PRIMARY],
			cfg->ifname[COLO_ROLE_SECONDARY], max - 18, max - 18);
		return;
	}
	switch (-err) {
	case EBUSY:
		fix = "another AF_XDP socket is bound there: stop the other colo-xdp or AF_XDP program";
		break;
	case EINVAL:
		fix = "the queue does not exist there: list those it has with --queues, or give --queues all (see 'ethtool -l')";
		break;
	case EOPNOTSUPP:
	case EPROTONOSUPPORT:
		fix = "the driver has no AF_XDP support: try --xdp-mode skb";
		break;
	default:
		fix = "check that the interface is up and supports XDP";
		break;
	}
	cli_err("run", "AF_XDP socket for %s %s queue %u: %s; %s",
		cli_role_flag[role], ifname, queue, strerror(-err), fix);
}

/*
 * Copy-mode TX sends 32 frames per sendto() unless told otherwise (recent
 * kernels accept 32 up to the TX ring's size): let one call drain the
 * whole ring, saving a syscall and a softirq run per 32 frames. Older
 * kernels (ENOPROTOOPT, or EINVAL) keep their 32, which only costs kicks.
 */
static int tx_budget(struct xsk_dp_sock *s)
{
	unsigned int budget = XSK_DP_RING_SIZE;

	if (!setsockopt(s->fd, SOL_XDP, XDP_MAX_TX_SKB_BUDGET, &budget,
			sizeof(budget)) ||
	    errno == ENOPROTOOPT || errno == EINVAL)
		return 0;
	return -errno;
}

static int sock_busy_poll(struct xsk_dp_sock *s)
{
	int fd = s->fd;
	int one = 1, us = XSK_DP_BUSY_POLL_US, budget = XSK_DP_BATCH;

	if (setsockopt(fd, SOL_SOCKET, SO_PREFER_BUSY_POLL, &one,
		       sizeof(one)) ||
	    setsockopt(fd, SOL_SOCKET, SO_BUSY_POLL, &us, sizeof(us)) ||
	    setsockopt(fd, SOL_SOCKET, SO_BUSY_POLL_BUDGET, &budget,
		       sizeof(budget)))
		return -errno;
	return 0;
}

static uint32_t pow2_at_least(uint32_t n)
{
	return n <= 1 ? 1 : 1u << (32 - __builtin_clz(n - 1));
}

static struct xsk_dp_spsc *spsc_new(uint32_t n)
{
	struct xsk_dp_spsc *r = aligned_alloc(64, sizeof(*r));

	if (!r)
		return NULL;
	memset(r, 0, sizeof(*r));
	r->mask = pow2_at_least(n) - 1;
	r->slot = calloc(r->mask + 1, sizeof(*r->slot));
	if (!r->slot) {
		free(r);
		return NULL;
	}
	return r;
}

/*
 * Worker k's home range: its share of the frames by its sockets of P and
 * S, since only its fill rings take from its pool. A worker with none
 * (more workers than queues) compares what the others hand it and needs
 * no frames of its own.
 */
static void home_ranges(struct xsk_dp *dp)
{
	uint32_t k, socks = 0, before = 0;

	for (k = 0; k < dp->nr_wk; k++)
		socks += dp->wk[k].nr_sock[0] + dp->wk[k].nr_sock[1];
	for (k = 0; k < dp->nr_wk; k++) {
		struct xsk_dp_wk *w = &dp->wk[k];

		w->lo = (uint64_t)dp->nr_frames * before / socks;
		before += w->nr_sock[0] + w->nr_sock[1];
		w->hi = (uint64_t)dp->nr_frames * before / socks;
	}
}

/*
 * Ring from worker i to j: frames of i's home range, the only ones on
 * i's RX rings, are handed; frames of j's are returned. Neither
 * overflows.
 */
static int rings_alloc(struct xsk_dp *dp)
{
	uint32_t i, j, kind, n;

	if (dp->nr_wk == 1)
		return 0;
	for (kind = 0; kind < XSK_DP_NR_RINGS; kind++)
		for (i = 0; i < dp->nr_wk; i++)
			for (j = 0; j < dp->nr_wk; j++) {
				if (i == j)
					continue;
				n = kind == XSK_DP_RING_RETURN ?
					    dp->wk[j].hi - dp->wk[j].lo :
					    dp->wk[i].hi - dp->wk[i].lo;
				dp->ring[kind][i][j] = spsc_new(n);
				if (!dp->ring[kind][i][j])
					return -ENOMEM;
			}
	return 0;
}

int xsk_dp_alloc(struct xsk_dp *dp, int ledger_fd)
{
	uint32_t k;
	void *map;

	home_ranges(dp);
	for (k = 0; k < dp->nr_wk; k++) {
		struct xsk_dp_wk *w = &dp->wk[k];

		w->pool = calloc(w->hi - w->lo ?: 1, sizeof(*w->pool));
		w->pending = calloc(dp->nr_frames, sizeof(*w->pending));
		if (!w->pool || !w->pending)
			return -ENOMEM;
		w->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (w->wake_fd < 0)
			return -errno;
		w->stats.pool_size = w->hi - w->lo;
	}
	if (rings_alloc(dp))
		return -ENOMEM;
	dp->ledger_size = xsk_dp_ledger_size(dp->nr_frames);
	map = mmap(NULL, dp->ledger_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   ledger_fd, 0);
	if (map == MAP_FAILED)
		return -errno;
	dp->ledger = map;
	return 0;
}

static int ledger_create(struct xsk_dp *dp, const struct xsk_dp_config *cfg)
{
	int err;

	dp->ledger_fd = memfd_create("colo-xdp-ledger", MFD_CLOEXEC);
	if (dp->ledger_fd < 0 ||
	    ftruncate(dp->ledger_fd, xsk_dp_ledger_size(dp->nr_frames)))
		return -errno;
	err = xsk_dp_alloc(dp, dp->ledger_fd);
	if (err)
		return err;
	dp->ledger->frame_size = cfg->frame_size;
	dp->ledger->nr_frames = dp->nr_frames;
	dp->ledger->ring_size = XSK_DP_RING_SIZE;
	dp->ledger->out_queue = dp->xs[dp->first[COLO_ROLE_OUT]].queue;
	dp->ledger->queues[0] = cfg->queues[COLO_ROLE_PRIMARY];
	dp->ledger->queues[1] = cfg->queues[COLO_ROLE_SECONDARY];
	dp->ledger->version = XSK_DP_LEDGER_VERSION;
	dp->ledger->magic = XSK_DP_LEDGER_MAGIC;
	return 0;
}

static void unbind_all(struct xsk_dp *dp);

static uint32_t popcount(uint64_t m)
{
	return __builtin_popcountll(m);
}

/* A side's share of one fill ring per socket; see fill_target. */
static uint32_t fill_target(uint64_t queues)
{
	uint32_t n = popcount(queues), t;

	t = n ? XSK_DP_RING_SIZE / n : XSK_DP_RING_SIZE;
	return t < XSK_DP_FILL_MIN ? XSK_DP_FILL_MIN : t;
}

uint32_t xsk_dp_min_frames(const uint64_t queues[COLO_NR_ROLES])
{
	/* O's TX rings */
	uint32_t n = popcount(queues[COLO_ROLE_OUT]) * XSK_DP_RING_SIZE;
	int r;

	for (r = COLO_ROLE_PRIMARY; r <= COLO_ROLE_SECONDARY; r++)
		n += popcount(queues[r]) * fill_target(queues[r]);
	return n;
}

int xsk_dp_layout(struct xsk_dp *dp, const uint64_t queues[COLO_NR_ROLES])
{
	uint32_t q, n = 0, i, k;
	int r;

	dp->nr_wk = popcount(queues[COLO_ROLE_OUT]);
	if (!queues[COLO_ROLE_PRIMARY] || !queues[COLO_ROLE_SECONDARY] ||
	    !dp->nr_wk)
		return -EINVAL;
	if (dp->nr_wk > XSK_DP_MAX_WORKERS)
		return -E2BIG;
	for (k = 0; k < dp->nr_wk; k++) {
		dp->wk[k].dp = dp;
		dp->wk[k].id = k;
		dp->wk[k].next_seq = k + 1;
		dp->wk[k].wake_fd = -1;
	}
	for (r = 0; r < COLO_NR_ROLES; r++) {
		dp->first[r] = n;
		for (q = 0, i = 0; q < 64; q++) {
			if (!(queues[r] >> q & 1))
				continue;
			if (n == XSK_DP_MAX_SOCKS)
				return -E2BIG;
			k = i++ % dp->nr_wk;
			if (r == COLO_ROLE_OUT)
				dp->wk[k].out = n;
			else
				dp->wk[k].sock[r][dp->wk[k].nr_sock[r]++] = n;
			dp->xs[n].fd = -1;
			dp->xs[n++].queue = q;
		}
	}
	dp->first[COLO_NR_ROLES] = n;
	dp->nr_xs = n;
	for (r = COLO_ROLE_PRIMARY; r <= COLO_ROLE_SECONDARY; r++)
		dp->fill_target[r] = fill_target(queues[r]);
	return 0;
}

/*
 * Register the UMEM and bind the sockets of P, S and O to it, the first
 * (P's lowest queue) with bind_flags: every later socket on a shared UMEM
 * takes the first one's mode. On failure, *failed is the index in dp->xs
 * of the socket refused (nr_xs: the UMEM itself) and nothing is left
 * bound.
 */
static int bind_all(struct xsk_dp *dp, const struct xsk_dp_config *cfg,
		    uint32_t bind_flags, int *failed)
{
	struct xsk_umem_config ucfg = {
		.fill_size = XSK_DP_RING_SIZE,
		.comp_size = XSK_DP_RING_SIZE,
		.frame_size = cfg->frame_size,
		.frame_headroom = XSK_UMEM__DEFAULT_FRAME_HEADROOM,
	};
	struct xsk_socket_config scfg = {
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.bind_flags = XDP_USE_NEED_WAKEUP | bind_flags |
			      (cfg->sg_mtu ? XDP_USE_SG : 0),
	};
	uint32_t waited, i;
	int err;

	*failed = dp->nr_xs;
	/* The fill and completion rings made here are the first socket's. */
	err = xsk_umem__create(&dp->umem, dp->mem.area, dp->mem.size,
			       &dp->xs[0].fill, &dp->xs[0].comp, &ucfg);
	if (err) {
		dp->umem = NULL;
		return err;
	}
	for (i = 0; i < dp->nr_xs; i++) {
		struct xsk_dp_sock *s = &dp->xs[i];
		enum colo_role r = xsk_dp_role_of(dp, i);
		bool out_dev = r == COLO_ROLE_OUT;

		/* O only transmits, P and S only receive */
		scfg.rx_size = out_dev ? 0 : XSK_DP_RING_SIZE;
		scfg.tx_size = out_dev ? XSK_DP_RING_SIZE : 0;
		for (waited = 0;; waited += XSK_DP_BUSY_STEP_MS) {
			/*
			 * Each (device, queue) gets its own fill and
			 * completion rings: libxdp makes them for every
			 * socket but the first one's.
			 */
			err = xsk_socket__create_shared(&s->xsk, cfg->ifname[r],
							s->queue, dp->umem,
							out_dev ? NULL : &s->rx,
							out_dev ? &s->tx : NULL,
							&s->fill, &s->comp,
							&scfg);
			if (err != -EBUSY || waited >= cfg->busy_wait_ms)
				break;
			usleep(XSK_DP_BUSY_STEP_MS * 1000);
		}
		if (err) {
			s->xsk = NULL;
			*failed = i;
			goto out;
		}
		s->fd = xsk_socket__fd(s->xsk);
	}
	return 0;
out:
	unbind_all(dp);
	return err;
}

static bool zero_copy_bound(int fd)
{
	struct xdp_options opts;
	socklen_t len = sizeof(opts);

	return !getsockopt(fd, SOL_XDP, XDP_OPTIONS, &opts, &len) &&
	       (opts.flags & XDP_OPTIONS_ZEROCOPY);
}

/*
 * Bind in the mode asked for. A shared UMEM takes the mode of its first
 * socket, so "prefer" binds them all zero-copy first and, if any
 * interface refuses, all again in copy mode.
 */
static int bind_mode(struct xsk_dp *dp, const struct xsk_dp_config *cfg)
{
	static const uint32_t flags[] = {
		[XSK_DP_ZC_PREFER] = XDP_ZEROCOPY,
		[XSK_DP_ZC_REQUIRE] = XDP_ZEROCOPY,
		[XSK_DP_ZC_OFF] = XDP_COPY,
	};
	int failed, role, err;

	err = bind_all(dp, cfg, flags[cfg->zero_copy], &failed);
	if (err && failed < (int)dp->nr_xs &&
	    cfg->zero_copy == XSK_DP_ZC_PREFER) {
		snprintf(
			dp->mode_why, sizeof(dp->mode_why),
			"zero-copy refused on %s (%s), so copy on all: they share one UMEM",
			cfg->ifname[xsk_dp_role_of(dp, failed)],
			strerror(-err));
		err = bind_all(dp, cfg, XDP_COPY, &failed);
	} else if (!err) {
		snprintf(dp->mode_why, sizeof(dp->mode_why), "--zero-copy %s",
			 xsk_dp_zc_names[cfg->zero_copy]);
	}
	if (!err)
		return 0;
	role = xsk_dp_role_of(dp, failed);
	if (failed == (int)dp->nr_xs)
		cli_err("run",
			"cannot register a UMEM of %u frames of %u bytes: %s; lower --umem-frames or raise 'ulimit -l'",
			cfg->umem_frames, cfg->frame_size, strerror(-err));
	else if (cfg->zero_copy == XSK_DP_ZC_REQUIRE &&
		 (err == -EOPNOTSUPP || err == -EPROTONOSUPPORT))
		cli_err("run",
			"--zero-copy require: %s %s has no zero-copy AF_XDP (%s); use --zero-copy prefer to fall back to copy mode",
			cli_role_flag[role], cfg->ifname[role], strerror(-err));
	else
		sock_error(cfg, role, dp->xs[failed].queue, err);
	return err;
}

int xsk_dp_create(const struct xsk_dp_config *cfg, struct xsk_dp **out)
{
	struct xsk_dp *dp;
	uint32_t i;
	int err;

	*out = NULL;
	if (cfg->umem_frames < xsk_dp_min_frames(cfg->queues)) {
		cli_err("run",
			"--umem-frames %u is too small for the rings of %u queues of %s and %u of %s: they hold %u frames; use --umem-frames %u or more, or fewer --queues",
			cfg->umem_frames,
			popcount(cfg->queues[COLO_ROLE_PRIMARY]),
			cfg->ifname[COLO_ROLE_PRIMARY],
			popcount(cfg->queues[COLO_ROLE_SECONDARY]),
			cfg->ifname[COLO_ROLE_SECONDARY],
			xsk_dp_min_frames(cfg->queues),
			xsk_dp_min_frames(cfg->queues));
		return -EINVAL;
	}
	dp = calloc(1, sizeof(*dp));
	if (!dp)
		return -ENOMEM;
	dp->mem.fd = -1;
	dp->ledger_fd = -1;
	dp->nr_frames = cfg->umem_frames;
	dp->frame_mask = ~((uint64_t)cfg->frame_size - 1);
	dp->frame_shift = __builtin_ctz(cfg->frame_size);
	dp->busy_poll = cfg->busy_poll;
	err = xsk_dp_layout(dp, cfg->queues);
	if (err) {
		cli_err("run", "queues of %s, %s and %s: %s",
			cfg->ifname[COLO_ROLE_PRIMARY],
			cfg->ifname[COLO_ROLE_SECONDARY],
			cfg->ifname[COLO_ROLE_OUT], strerror(-err));
		goto out;
	}
	err = ledger_create(dp, cfg);
	if (err) {
		cli_err("run", "cannot make the frame ledger of %u frames: %s",
			dp->nr_frames, strerror(-err));
		goto out;
	}
	err = hostmem_alloc(cfg->mem, "run", cfg->ifname, COLO_NR_ROLES,
			    cfg->cpu, &dp->mem);
	if (err)
		goto out;
	err = bind_mode(dp, cfg);
	if (err)
		goto out;
	for (i = 0; i < dp->nr_xs; i++) {
		struct xsk_dp_sock *s = &dp->xs[i];
		enum colo_role r = xsk_dp_role_of(dp, i);
		bool out_dev = r == COLO_ROLE_OUT;

		err = out_dev ? tx_budget(s) : 0;
		if (err) {
			cli_err("run",
				"XDP_MAX_TX_SKB_BUDGET %u on outdev %s: %s; report this kernel's AF_XDP setsockopt",
				XSK_DP_RING_SIZE, cfg->ifname[r],
				strerror(-err));
			goto out;
		}
		if (dp->busy_poll && !out_dev) {
			err = sock_busy_poll(s);
			if (err) {
				cli_err("run",
					"--busy-poll on %s: %s; run without --busy-poll",
					cfg->ifname[r], strerror(-err));
				goto out;
			}
		}
	}

	for (i = 0; i < dp->nr_frames; i++) {
		struct xsk_dp_wk *w = &dp->wk[xsk_dp_home(dp, i)];

		w->pool[w->pool_len++] = (uint64_t)i * cfg->frame_size;
		dp->ledger->frame[i].state = XSK_DP_POOL;
	}
	for (i = 0; i < dp->nr_wk; i++)
		xsk_dp_service(&dp->wk[i]);
	*out = dp;
	return 0;
out:
	xsk_dp_destroy(dp);
	return err;
}

static void sock_close(struct xsk_dp_sock *s)
{
	int m;

	if (s->xsk) {
		xsk_socket__delete(s->xsk);
		return;
	}
	for (m = 0; m < 2; m++)
		if (s->map[m].addr)
			munmap(s->map[m].addr, s->map[m].len);
	if (s->fd >= 0)
		close(s->fd);
}

/* Close every socket, then the UMEM, which they all hold a reference to. */
static void unbind_all(struct xsk_dp *dp)
{
	uint32_t queue;
	int i;

	for (i = (int)dp->nr_xs - 1; i >= 0; i--) {
		sock_close(&dp->xs[i]);
		/* libxdp leaves cached ring indexes as they were: zero them */
		queue = dp->xs[i].queue;
		memset(&dp->xs[i], 0, sizeof(dp->xs[i]));
		dp->xs[i].fd = -1;
		dp->xs[i].queue = queue;
	}
	if (dp->umem)
		xsk_umem__delete(dp->umem);
	dp->umem = NULL;
}

void xsk_dp_destroy(struct xsk_dp *dp)
{
	uint32_t k, i, j;

	if (!dp)
		return;
	unbind_all(dp);
	hostmem_free(&dp->mem);
	if (dp->ledger)
		munmap(dp->ledger, dp->ledger_size);
	if (dp->ledger_fd >= 0)
		close(dp->ledger_fd);
	free(dp->adopted);
	for (k = 0; k < dp->nr_wk; k++) {
		free(dp->wk[k].pending);
		free(dp->wk[k].pool);
		if (dp->wk[k].wake_fd >= 0)
			close(dp->wk[k].wake_fd);
	}
	for (k = 0; k < XSK_DP_NR_RINGS; k++)
		for (i = 0; i < dp->nr_wk; i++)
			for (j = 0; j < dp->nr_wk; j++) {
				if (!dp->ring[k][i][j])
					continue;
				free(dp->ring[k][i][j]->slot);
				free(dp->ring[k][i][j]);
			}
	free(dp);
}

int xsk_dp_fd(const struct xsk_dp *dp, enum colo_role role)
{
	return dp->xs[dp->first[role]].fd;
}

unsigned int xsk_dp_nr_socks(const struct xsk_dp *dp, enum colo_role role)
{
	return xsk_dp_nr(dp, role);
}

int xsk_dp_sock_fd(const struct xsk_dp *dp, enum colo_role role, unsigned int i)
{
	return dp->xs[dp->first[role] + i].fd;
}

uint32_t xsk_dp_sock_queue(const struct xsk_dp *dp, enum colo_role role,
			   unsigned int i)
{
	return dp->xs[dp->first[role] + i].queue;
}

uint32_t xsk_dp_max_frame(uint32_t frame_size)
{
	/* the kernel keeps XDP's headroom in each frame it fills */
	return frame_size - XDP_PACKET_HEADROOM -
	       XSK_UMEM__DEFAULT_FRAME_HEADROOM;
}

const char *const xsk_dp_zc_names[] = {
	[XSK_DP_ZC_PREFER] = "prefer",
	[XSK_DP_ZC_REQUIRE] = "require",
	[XSK_DP_ZC_OFF] = "off",
	NULL,
};

bool xsk_dp_zero_copy(const struct xsk_dp *dp, enum colo_role role)
{
	return zero_copy_bound(xsk_dp_fd(dp, role));
}

const char *xsk_dp_mode_why(const struct xsk_dp *dp)
{
	return dp->mode_why;
}

unsigned int xsk_dp_fds(const struct xsk_dp *dp, int *fds)
{
	uint32_t i;

	fds[XSK_DP_FD_UMEM] = dp->mem.fd;
	fds[XSK_DP_FD_LEDGER] = dp->ledger_fd;
	for (i = 0; i < dp->nr_xs; i++)
		fds[XSK_DP_FD_SOCKS + i] = dp->xs[i].fd;
	return XSK_DP_FD_SOCKS + dp->nr_xs;
}

unsigned int xsk_dp_nr_workers(const struct xsk_dp *dp)
{
	return dp->nr_wk;
}

struct xsk_dp_wk *xsk_dp_worker(struct xsk_dp *dp, unsigned int k)
{
	return &dp->wk[k];
}

unsigned int xsk_dp_wk_nr_socks(const struct xsk_dp_wk *w, enum colo_role role)
{
	return w->nr_sock[role];
}

int xsk_dp_wk_sock_fd(const struct xsk_dp_wk *w, enum colo_role role,
		      unsigned int i)
{
	return w->dp->xs[w->sock[role][i]].fd;
}

uint32_t xsk_dp_wk_sock_queue(const struct xsk_dp_wk *w, enum colo_role role,
			      unsigned int i)
{
	return w->dp->xs[w->sock[role][i]].queue;
}

uint32_t xsk_dp_wk_out_queue(const struct xsk_dp_wk *w)
{
	return w->dp->xs[w->out].queue;
}

int xsk_dp_wk_wake_fd(const struct xsk_dp_wk *w)
{
	return w->wake_fd;
}

void xsk_dp_wk_wake(struct xsk_dp_wk *w)
{
	uint64_t one = 1;
	/* EAGAIN, a full counter: a wake-up is on its way already */
	ssize_t n = write(w->wake_fd, &one, sizeof(one));

	(void)n;
}

static inline uint32_t spsc_used(struct xsk_dp_spsc *r)
{
	return __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE) - r->head;
}

/* Whether others handed w frames of roles (bit r) not taken yet. */
static bool handed_any(struct xsk_dp_wk *w, unsigned int roles)
{
	struct xsk_dp *dp = w->dp;
	uint32_t i, r;

	for (r = COLO_ROLE_PRIMARY; r <= COLO_ROLE_SECONDARY; r++)
		for (i = 0; i < dp->nr_wk && roles >> r & 1; i++)
			if (i != w->id && spsc_used(dp->ring[r][i][w->id]))
				return true;
	return false;
}

/*
 * A Dekker pair with xsk_dp_hand(): the sleeper announces itself, then
 * looks at the rings; the producer publishes, then looks at the flag.
 * One of the two sees the other's store.
 */
bool xsk_dp_wk_sleep(struct xsk_dp_wk *w, unsigned int roles)
{
	__atomic_store_n(&w->sleeping, 1, __ATOMIC_SEQ_CST);
	if (w->dp->nr_wk > 1 && handed_any(w, roles)) {
		__atomic_store_n(&w->sleeping, 0, __ATOMIC_RELAXED);
		return false;
	}
	return true;
}

void xsk_dp_wk_awake(struct xsk_dp_wk *w)
{
	uint64_t v;
	ssize_t n;

	__atomic_store_n(&w->sleeping, 0, __ATOMIC_RELAXED);
	/* EAGAIN: nobody woke it, the timeout or its sockets did */
	n = read(w->wake_fd, &v, sizeof(v));
	(void)n;
}

/*
 * Take up to max frames from socket s, each whole: a multi-buffer frame is
 * a run of descriptors, all but its last marked XDP_PKT_CONTD, and a peek
 * may end inside one. Its chunks are chained in the ledger as they are
 * read; an unfinished one goes back on the ring, read again next time.
 */
static unsigned int sock_rx(struct xsk_dp_wk *w, struct xsk_dp_sock *s,
			    enum colo_role role, struct xsk_dp_frame *frames,
			    unsigned int max)
{
	struct xsk_dp *dp = w->dp;
	uint64_t side = role == COLO_ROLE_SECONDARY ? XSK_DP_SECONDARY : 0;
	struct xsk_dp_ledger_frame *lf, *prev = NULL;
	struct xsk_dp_frame *f = NULL;
	unsigned int n, i, used = 0, nf = 0;
	uint64_t state = 0;
	uint32_t idx;

	/* descriptors, not frames: max frames may take more of them */
	n = xsk_ring_cons__peek(&s->rx, XSK_DP_RING_SIZE, &idx);
	for (i = 0; i < n; i++) {
		const struct xdp_desc *d =
			xsk_ring_cons__rx_desc(&s->rx, idx + i);
		uint32_t chunk = d->addr >> dp->frame_shift;

		if (!prev) {
			if (nf == max)
				break;
			f = &frames[nf++];
			f->addr = d->addr;
			f->data = xsk_umem__get_data(dp->mem.area, d->addr);
			f->len = 0;
			f->nseg = 0;
			state = w->next_seq << XSK_DP_SHIFT | side;
			w->next_seq += dp->nr_wk;
		} else {
			prev->next = chunk + 1;
		}
		f->len += d->len;
		f->nseg++;
		/* in the ledger before the ring lets go of it */
		lf = &dp->ledger->frame[chunk];
		lf->len = d->len;
		lf->offset = d->addr & ~dp->frame_mask;
		lf->next = 0;
		lf->cont = !!prev;
		lf->state = state;
		prev = d->options & XDP_PKT_CONTD ? lf : NULL;
		if (!prev)
			used = i + 1;
	}
	if (prev)
		nf--;
	xsk_ring_cons__cancel(&s->rx, n - used);
	/* The descriptors are copied out; the frames stay ours. */
	xsk_ring_cons__release(&s->rx, used);
	w->stats.rx[role] += nf;
	return nf;
}

unsigned int xsk_dp_rx(struct xsk_dp_wk *w, enum colo_role role,
		       struct xsk_dp_frame *frames, unsigned int max)
{
	uint32_t nr = w->nr_sock[role], at = w->next_rx[role], i;
	unsigned int got = 0;

	/* a queue's frames in their order; the queues' turns round robin */
	for (i = 0; i < nr && got < max; i++) {
		got += sock_rx(w, &w->dp->xs[w->sock[role][at]], role,
			       frames + got, max - got);
		if (++at == nr)
			at = 0;
	}
	w->next_rx[role] = at;
	return got;
}

static inline void spsc_push(struct xsk_dp_spsc *r, uint64_t addr)
{
	r->slot[r->tail & r->mask] = addr;
	__atomic_store_n(&r->tail, r->tail + 1, __ATOMIC_RELEASE);
}

void xsk_dp_hand(struct xsk_dp_wk *w, unsigned int to, enum colo_role role,
		 uint64_t addr)
{
	spsc_push(w->dp->ring[role][w->id][to], addr);
	w->stats.handed++;
	w->handed_to |= 1u << to;
}

void xsk_dp_hand_done(struct xsk_dp_wk *w)
{
	struct xsk_dp_wk *t;
	uint32_t to;

	if (!w->handed_to)
		return;
	/* see xsk_dp_wk_sleep(); one fence a batch, not a frame */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (to = 0; w->handed_to >> to; to++) {
		t = &w->dp->wk[to];
		if (w->handed_to >> to & 1 &&
		    __atomic_load_n(&t->sleeping, __ATOMIC_RELAXED))
			xsk_dp_wk_wake(t);
	}
	w->handed_to = 0;
}

static inline void ledger_set(struct xsk_dp *dp, uint64_t addr, uint64_t state)
{
	dp->ledger->frame[addr >> dp->frame_shift].state = state;
}

/* The address of a chained chunk, by the ledger's next. */
static inline uint64_t chunk_addr(const struct xsk_dp *dp, uint32_t next)
{
	return ((uint64_t)(next - 1) << dp->frame_shift) +
	       dp->ledger->frame[next - 1].offset;
}

/* A handed frame as its RX descriptors gave it, from the ledger. */
static void frame_of(struct xsk_dp *dp, uint64_t addr, struct xsk_dp_frame *f)
{
	const struct xsk_dp_ledger_frame *lf;

	f->addr = addr;
	f->data = xsk_umem__get_data(dp->mem.area, addr);
	f->len = 0;
	f->nseg = 0;
	for (;;) {
		lf = &dp->ledger->frame[addr >> dp->frame_shift];
		f->len += lf->len;
		f->nseg++;
		if (!lf->next)
			return;
		addr = chunk_addr(dp, lf->next);
	}
}

unsigned int xsk_dp_rx_handed(struct xsk_dp_wk *w, enum colo_role role,
			      struct xsk_dp_frame *frames, unsigned int max)
{
	struct xsk_dp *dp = w->dp;
	struct xsk_dp_spsc *r;
	unsigned int got = 0;
	uint32_t i, n;

	for (i = 0; i < dp->nr_wk && got < max; i++) {
		if (i == w->id)
			continue;
		r = dp->ring[role][i][w->id];
		n = spsc_used(r);
		if (n > max - got)
			n = max - got;
		while (n--)
			frame_of(dp, r->slot[r->head++ & r->mask],
				 &frames[got++]);
		__atomic_store_n(&r->head, r->head, __ATOMIC_RELEASE);
	}
	return got;
}

unsigned int xsk_dp_frame_iov(const struct xsk_dp *dp, uint64_t addr,
			      struct iovec *iov, unsigned int max)
{
	const struct xsk_dp_ledger_frame *lf;
	unsigned int n;

	for (n = 0; n < max; n++) {
		lf = &dp->ledger->frame[addr >> dp->frame_shift];
		iov[n].iov_base = xsk_umem__get_data(dp->mem.area, addr);
		iov[n].iov_len = lf->len;
		if (!lf->next)
			return n + 1;
		addr = chunk_addr(dp, lf->next);
	}
	return n;
}

/* each chunk's length is the ledger's, from its RX descriptor */
void xsk_dp_tx(struct xsk_dp_wk *w, uint64_t addr)
{
	struct xsk_dp *dp = w->dp;
	struct xsk_dp_ledger_frame *lf;
	uint32_t tail;

	for (;;) {
		lf = &dp->ledger->frame[addr >> dp->frame_shift];
		/* compared already: a successor sends it on at once */
		lf->state |= XSK_DP_RELEASED;
		tail = w->pending_head + w->pending_len;
		/*
		 * Each chunk is in one place at a time, so this never
		 * overflows; any size: a compare, not a division.
		 */
		if (tail >= dp->nr_frames)
			tail -= dp->nr_frames;
		w->pending[tail].addr = addr;
		w->pending[tail].len = lf->len;
		w->pending[tail].options = lf->next ? XDP_PKT_CONTD : 0;
		w->pending_len++;
		if (!lf->next)
			return;
		addr = chunk_addr(dp, lf->next);
	}
}

/* One chunk back to the pool of its home worker, w's or another's. */
static inline void chunk_free(struct xsk_dp_wk *w, uint64_t addr)
{
	struct xsk_dp *dp = w->dp;
	uint32_t f = addr >> dp->frame_shift;

	ledger_set(dp, addr, XSK_DP_POOL);
	addr &= dp->frame_mask;
	if (f >= w->lo && f < w->hi)
		w->pool[w->pool_len++] = addr;
	else
		spsc_push(
			dp->ring[XSK_DP_RING_RETURN][w->id][xsk_dp_home(dp, f)],
			addr);
}

void xsk_dp_free(struct xsk_dp_wk *w, uint64_t addr)
{
	struct xsk_dp *dp = w->dp;
	uint32_t next;

	for (;;) {
		next = dp->ledger->frame[addr >> dp->frame_shift].next;
		chunk_free(w, addr);
		if (!next)
			return;
		addr = chunk_addr(dp, next);
	}
}

static void tx_push(struct xsk_dp_wk *w)
{
	struct xsk_dp_sock *s = xsk_dp_out(w);
	struct xsk_dp *dp = w->dp;
	uint32_t n, i, idx;
	uint64_t addr;

	if (!w->pending_len)
		return;
	/* reserve() takes all or nothing: ask for what fits now */
	n = xsk_prod_nb_free(&s->tx, w->pending_len);
	if (n > w->pending_len)
		n = w->pending_len;
	/*
	 * A multi-buffer frame's chunks go on the ring in one reserve: none
	 * waits on the ring for the rest of its frame, which then would
	 * have to wait for room behind it.
	 */
	while (n) {
		i = w->pending_head + n - 1;
		if (i >= dp->nr_frames)
			i -= dp->nr_frames;
		if (!(w->pending[i].options & XDP_PKT_CONTD))
			break;
		n--;
	}
	n = xsk_ring_prod__reserve(&s->tx, n, &idx);
	for (i = 0; i < n; i++) {
		*xsk_ring_prod__tx_desc(&s->tx, idx + i) =
			w->pending[w->pending_head];
		if (++w->pending_head == dp->nr_frames)
			w->pending_head = 0;
	}
	w->pending_len -= n;
	xsk_ring_prod__submit(&s->tx, n);
	/*
	 * Out of the ledger once the ring shows them: a loader dying in
	 * between leaves them in both, and the ring wins. Copy mode sends
	 * nothing before the kick below.
	 */
	for (i = 0; i < n; i++) {
		addr = xsk_ring_prod__tx_desc(&s->tx, idx + i)->addr;
		ledger_set(dp, addr, XSK_DP_KERNEL);
	}
	w->stats.tx += n;
}

/* Descriptors on O's TX ring the kernel has not taken yet. */
static uint32_t tx_queued(struct xsk_dp_wk *w)
{
	struct xsk_ring_prod *tx = &xsk_dp_out(w)->tx;

	return XSK_DP_RING_SIZE - xsk_prod_nb_free(tx, XSK_DP_RING_SIZE);
}

static void tx_kick(struct xsk_dp_wk *w)
{
	struct xsk_dp_sock *s = xsk_dp_out(w);

	/*
	 * Copy mode sends a bounded batch per call: kick while anything is
	 * left. EAGAIN, EBUSY and ENOBUFS mean "again later"; the next loop
	 * does that.
	 */
	if (!tx_queued(w) || !xsk_ring_prod__needs_wakeup(&s->tx))
		return;
	sendto(s->fd, NULL, 0, MSG_DONTWAIT, NULL, 0);
	w->stats.tx_kicks++;
}

static void comp_reap(struct xsk_dp_wk *w)
{
	struct xsk_dp_sock *s = xsk_dp_out(w);
	uint32_t n, i, idx;

	n = xsk_ring_cons__peek(&s->comp, XSK_DP_RING_SIZE, &idx);
	/* one entry per chunk: a multi-buffer frame's come back one by one */
	for (i = 0; i < n; i++)
		chunk_free(w, *xsk_ring_cons__comp_addr(&s->comp, idx++));
	xsk_ring_cons__release(&s->comp, n);
	w->stats.tx_completed += n;
}

/* Frames of w's home range the other workers freed: back to its pool. */
static void returned(struct xsk_dp_wk *w)
{
	struct xsk_dp *dp = w->dp;
	struct xsk_dp_spsc *r;
	uint32_t i, n;

	for (i = 0; i < dp->nr_wk; i++) {
		if (i == w->id)
			continue;
		r = dp->ring[XSK_DP_RING_RETURN][i][w->id];
		for (n = spsc_used(r); n; n--)
			w->pool[w->pool_len++] = r->slot[r->head++ & r->mask];
		__atomic_store_n(&r->head, r->head, __ATOMIC_RELEASE);
	}
}

/* Top a fill ring up until the kernel has `want` buffers there. */
static void fill_one(struct xsk_dp_wk *w, struct xsk_ring_prod *fill,
		     uint32_t want)
{
	struct xsk_dp *dp = w->dp;
	uint32_t n, i, idx, on_ring;

	on_ring = XSK_DP_RING_SIZE - xsk_prod_nb_free(fill, XSK_DP_RING_SIZE);
	if (on_ring >= want)
		return;
	n = want - on_ring;
	if (n > w->pool_len)
		n = w->pool_len;
	if (!n)
		return;
	n = xsk_ring_prod__reserve(fill, n, &idx);
	for (i = 0; i < n; i++)
		*xsk_ring_prod__fill_addr(fill, idx + i) =
			w->pool[--w->pool_len];
	xsk_ring_prod__submit(fill, n);
	/* the kernel's once the ring shows them, as on the TX ring */
	for (i = 0; i < n; i++)
		ledger_set(dp, *xsk_ring_prod__fill_addr(fill, idx + i),
			   XSK_DP_KERNEL);
}

/* Every fill ring of role's sockets, to `want` of its target in 4ths. */
static void fill_refill(struct xsk_dp_wk *w, enum colo_role role,
			uint32_t quarters)
{
	uint32_t i, want = w->dp->fill_target[role] / 4 * quarters;

	for (i = 0; i < w->nr_sock[role]; i++)
		fill_one(w, &w->dp->xs[w->sock[role][i]].fill, want);
}

void xsk_dp_service(struct xsk_dp_wk *w)
{
	tx_push(w);
	tx_kick(w);
	comp_reap(w);
	if (w->dp->nr_wk > 1)
		returned(w);
	/*
	 * The secondary's ring first, up to a reserve: when a primary running
	 * ahead holds most of the UMEM, the secondary's frames are what free
	 * it. Only a reserve: every buffer idle on S's ring is one fewer for
	 * P's, whose frames the kernel then drops.
	 */
	fill_refill(w, COLO_ROLE_SECONDARY, 1);
	fill_refill(w, COLO_ROLE_PRIMARY, 4);
	fill_refill(w, COLO_ROLE_SECONDARY, 4);
}

bool xsk_dp_tx_busy(struct xsk_dp_wk *w)
{
	return w->pending_len || tx_queued(w);
}

void xsk_dp_busy_poll(struct xsk_dp_wk *w)
{
	uint32_t i, r;

	for (r = COLO_ROLE_PRIMARY; r <= COLO_ROLE_SECONDARY; r++)
		for (i = 0; i < w->nr_sock[r]; i++)
			recvfrom(w->dp->xs[w->sock[r][i]].fd, NULL, 0,
				 MSG_DONTWAIT, NULL, NULL);
}

int xsk_dp_umem_report(const struct xsk_dp *dp, struct colo_umem_report *r)
{
	return hostmem_report(&dp->mem, r);
}

void xsk_dp_stats(struct xsk_dp_wk *w, struct colo_dp_stats *out)
{
	struct xsk_dp *dp = w->dp;
	struct xsk_ring_cons *rx;
	struct xdp_statistics xs;
	uint32_t i, k;
	socklen_t len;
	int r;

	for (r = COLO_ROLE_PRIMARY; r <= COLO_ROLE_SECONDARY; r++) {
		w->stats.rx_dropped[r] = 0;
		w->stats.rx_ring_full[r] = 0;
		w->stats.fill_ring_empty[r] = 0;
		w->stats.rx_on_ring[r] = 0;
	}
	/* a side's counters: the sum over its queues' sockets */
	for (k = 0; k < w->nr_sock[0] + w->nr_sock[1]; k++) {
		r = k < w->nr_sock[0] ? COLO_ROLE_PRIMARY : COLO_ROLE_SECONDARY;
		i = w->sock[r][r == COLO_ROLE_PRIMARY ? k : k - w->nr_sock[0]];
		/*
		 * The kernel's buffer while the engine has no room. Read the
		 * producer every time: xsk_cons_nb_avail() reads it only once
		 * the cached entries are used up, so its count goes stale
		 * while a waiting side takes nothing.
		 */
		rx = &dp->xs[i].rx;
		rx->cached_prod =
			__atomic_load_n(rx->producer, __ATOMIC_ACQUIRE);
		w->stats.rx_on_ring[r] += rx->cached_prod - rx->cached_cons;
		len = sizeof(xs);
		if (getsockopt(dp->xs[i].fd, SOL_XDP, XDP_STATISTICS, &xs,
			       &len))
			continue;
		w->stats.rx_dropped[r] += xs.rx_dropped + xs.rx_invalid_descs;
		w->stats.rx_ring_full[r] += xs.rx_ring_full;
		w->stats.fill_ring_empty[r] += xs.rx_fill_ring_empty_descs;
	}
	w->stats.tx_pending = w->pending_len;
	w->stats.pool_free = w->pool_len;
	*out = w->stats;
}
