// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * colo-xdp run: steer the primary's and the secondary's frames into AF_XDP
 * sockets, compare them with the engine, send matched primary frames out
 * of the outdev from the UMEM they arrived in. Around that, in the same
 * poll loop: the COLO controller's channels (run_ctl.c), the keeper that
 * holds the datapath across a crash, the interfaces' deletion, and the
 * heartbeat that keeps colo_steer from failing open.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <net/if.h>

#include "caps.h"
#include "cli.h"
#include "commands.h"
#include "mac.h"
#include "host.h"
#include "queue_list.h"
#include "run.h"
#include "stat.h"

#define CMD RUN_CMD
#ifndef AF_XDP
#define AF_XDP 44
#endif

/* Longest sleep in poll(): bounds how late a timer or a signal is seen. */
#define RUN_POLL_MAX_MS 100
/*
 * Heartbeats per --watchdog-ms: an idle loader wakes this often, so only a
 * loader that is really gone (or stopped) lets the heartbeat age out.
 */
#define RUN_BEATS_PER_WATCHDOG 4
/* Under traffic the loop does not sleep: look at the control plane this often. */
#define RUN_CTL_EVERY_NS 1000000ull
/*
 * How long a start waits for a previous loader's queues (stopped, or
 * killed) to be freed: the kernel releases sockets a moment later.
 */
#define RUN_BUSY_WAIT_MS 1000
/* How long a stop waits for the outdev to take the flushed frames. */
#define RUN_DRAIN_MS 2000
/*
 * How long a takeover lets frames already on their way to the dead
 * loader's sockets land (a NAPI poll's worth) before reading its rings.
 */
#define RUN_SETTLE_MS 10

/* The control plane's, then worker 0's sockets of P and S (one per queue). */
enum {
	PFD_XEN,
	PFD_METRICS,
	PFD_QMP,
	PFD_CTL,
	PFD_HOOK,
	PFD_LINK,
	PFD_KEEPER,
	PFD_WAKE,
	PFD_NR,
	PFD_MAX = PFD_NR + 2 * COLO_XSK_QUEUES
};

/* The kernel would refuse us half-way; say so before anything is touched. */
static int check_caps(void)
{
	char missing[64] = "";
	uint64_t set;
	int err = caps_effective(&set);

	if (err) {
		cli_err(CMD, "cannot read this process's capabilities: %s",
			strerror(-err));
		return err;
	}
	if (!caps_has(set, CAP_NET_ADMIN))
		strcat(missing, " CAP_NET_ADMIN");
	if (!caps_has(set, CAP_NET_RAW))
		strcat(missing, " CAP_NET_RAW");
	if (!caps_has_bpf(set))
		strcat(missing, " CAP_BPF");
	if (!*missing)
		return 0;
	if (geteuid())
		cli_err(CMD,
			"not root (missing%s): run it as root, or grant CAP_BPF, CAP_NET_ADMIN and CAP_NET_RAW",
			missing);
	else
		cli_err(CMD,
			"missing%s: run it as root with the full capability set",
			missing);
	return -EPERM;
}

static int check_af_xdp(void)
{
	int fd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		int err = -errno;

		if (err == -EAFNOSUPPORT)
			cli_err(CMD,
				"this kernel has no AF_XDP sockets: use a kernel built with CONFIG_XDP_SOCKETS=y");
		else
			cli_err(CMD, "cannot open an AF_XDP socket: %s",
				strerror(-err));
		return err;
	}
	close(fd);
	return 0;
}

/*
 * A frame longer than a UMEM frame takes spans several (AF_XDP
 * multi-buffer, XDP_USE_SG): the largest MTU of P and S whose frames do,
 * or 0. Only then are the sockets bound with XDP_USE_SG, so a kernel
 * without it (before 6.6) still runs every MTU that needs none; a bind
 * it refuses names the MTU, the limit and the fix. An MTU raised later
 * needs a restart: until then the kernel drops the longer frames
 * (rx_dropped).
 */
static uint32_t sg_mtu(const struct run_opts *o)
{
	/* the Ethernet header and one VLAN tag around the MTU */
	const uint32_t l2 = 14 + 4, max = xsk_dp_max_frame(o->frame_size);
	uint32_t mtu, need = 0;
	int r;

	for (r = COLO_ROLE_PRIMARY; r <= COLO_ROLE_SECONDARY; r++)
		/* a missing interface: colo_steer_open() names it */
		if (!host_mtu(o->steer.ifname[r], &mtu) && mtu + l2 > max &&
		    mtu > need)
			need = mtu;
	return need;
}

void run_room_changed(struct run_worker *w)
{
	w->retry[COLO_PRIMARY] = w->retry[COLO_SECONDARY] = true;
}

static void on_release(void *ctx, uint64_t handle, uint32_t len)
{
	struct run_worker *w = ctx;

	xsk_dp_tx(w->dp, handle);
	run_room_changed(w);
}

static void on_free(void *ctx, uint64_t handle)
{
	struct run_worker *w = ctx;

	xsk_dp_free(w->dp, handle);
	run_room_changed(w);
}

static void wait_push(struct run_wait *wt, const struct xsk_dp_frame *f)
{
	unsigned int tail = wt->head + wt->len;

	wt->f[tail >= wt->cap ? tail - wt->cap : tail] = *f;
	wt->len++;
}

/* A frame into the engine: a multi-buffer one as its chunks, uncopied. */
static int engine_input(struct run_worker *w, enum colo_side side,
			const struct xsk_dp_frame *f, uint64_t now)
{
	struct iovec iov[XSK_DP_MAX_SEGS];
	unsigned int n;

	if (f->nseg == 1)
		return colo_engine_input(w->engine, side, f->addr, f->data,
					 f->len, now);
	n = xsk_dp_frame_iov(w->rc->dp, f->addr, iov, XSK_DP_MAX_SEGS);
	return colo_engine_input_iov(w->engine, side, f->addr, iov, n, now);
}

/* Offer one frame; a refused one waits, and so does all after it. */
static bool offer(struct run_worker *w, enum colo_side side,
		  const struct xsk_dp_frame *f, uint64_t now)
{
	if (!w->wait[side].len && !engine_input(w, side, f, now))
		return true;
	wait_push(&w->wait[side], f);
	w->retry[side] = false;
	return false;
}

/* The frames that waited, in order, until the engine refuses one again. */
static unsigned int offer_waiting(struct run_worker *w, enum colo_side side,
				  uint64_t now)
{
	struct run_wait *wt = &w->wait[side];
	unsigned int n = 0;
	struct xsk_dp_frame *f;

	w->retry[side] = false;
	while (wt->len) {
		f = &wt->f[wt->head];
		if (engine_input(w, side, f, now))
			break;
		if (++wt->head == wt->cap)
			wt->head = 0;
		wt->len--;
		n++;
	}
	return n;
}

/* The worker whose engine compares the frame's connection. */
static unsigned int flow_worker(struct run_ctx *rc,
				const struct xsk_dp_frame *f)
{
	uint32_t first = f->len;
	struct iovec iov;

	if (rc->nr_w == 1)
		return 0;
	if (f->nseg > 1 && xsk_dp_frame_iov(rc->dp, f->addr, &iov, 1))
		first = iov.iov_len;
	/* multiply and shift: the hash's range onto the workers, no divide */
	return (uint64_t)colo_engine_flow_hash(f->data, first, f->len) *
		       rc->nr_w >>
	       32;
}

unsigned int run_take(struct run_worker *w, enum colo_role role, uint64_t now)
{
	enum colo_side side = role == COLO_ROLE_PRIMARY ? COLO_PRIMARY :
							  COLO_SECONDARY;
	struct xsk_dp_frame f[XSK_DP_BATCH];
	unsigned int n = 0, i, room, to;
	bool alone = w->rc->nr_w == 1;

	if (w->wait[side].len) {
		/* nothing answered since the refusal: no room yet */
		if (w->retry[side])
			n = offer_waiting(w, side, now);
		/* alone, the RX ring is the buffer while the engine is full */
		if (alone && w->wait[side].len)
			return n;
	}
	/* and the hand-off rings are, for what other workers took */
	if (!alone && !w->wait[side].len) {
		room = colo_engine_room(w->engine, side);
		room = room < XSK_DP_BATCH ? room : XSK_DP_BATCH;
		room = xsk_dp_rx_handed(w->dp, role, f, room);
		for (i = 0; i < room; i++)
			n += offer(w, side, &f[i], now);
	}
	/*
	 * With workers, the RX rings are read whatever this engine's room:
	 * other workers' flows on them must not wait for it. Its own
	 * frames then wait here, at most its home range's.
	 */
	room = alone ? colo_engine_room(w->engine, side) : XSK_DP_BATCH;
	room = room < XSK_DP_BATCH ? room : XSK_DP_BATCH;
	room = xsk_dp_rx(w->dp, role, f, room);
	for (i = 0; i < room; i++) {
		to = flow_worker(w->rc, &f[i]);
		if (to == w->id) {
			n += offer(w, side, &f[i], now);
		} else {
			xsk_dp_hand(w->dp, to, role, f[i].addr);
			n++;
		}
	}
	xsk_dp_hand_done(w->dp);
	return n;
}

/* Waiting frames of a side: its socket is not polled, the ring buffers. */
static bool waiting(const struct run_worker *w, enum colo_side side)
{
	return w->wait[side].len && !w->retry[side];
}

/*
 * The datapath: a dead loader's, claimed from its keeper with every frame
 * it held, or a new one; then a keeper of our own, so that our death
 * loses no frame either.
 */
static int datapath_open(struct run_ctx *rc, const struct xsk_dp_config *cfg)
{
	const char *pins = colo_steer_pin_path(rc->steer);
	pid_t dead = colo_steer_dead_keeper(rc->steer);
	struct keeper old = {};
	int fds[XSK_DP_MAX_FDS];
	unsigned int n;
	int err;

	if (dead && !keeper_claim(dead, pins, fds, XSK_DP_MAX_FDS, &n, &old)) {
		/* nothing may land on the rings while they are read */
		colo_steer_fail_open(rc->steer);
		poll(NULL, 0, RUN_SETTLE_MS);
		err = xsk_dp_adopt(cfg, fds, n, &rc->dp);
		/* other flags: the keeper keeps the frames for the right ones */
		if (err == -EINVAL)
			goto out;
		if (err) {
			keeper_end(&old);
			cli_err(CMD,
				"the frames the dead loader held are lost; starting afresh");
		} else {
			printf("took over the sockets and UMEM of the dead loader from its keeper (pid %d)\n",
			       dead);
		}
	}
	if (!rc->dp) {
		err = xsk_dp_create(cfg, &rc->dp);
		if (err)
			goto out;
	}
	n = xsk_dp_fds(rc->dp, fds);
	err = keeper_start(pins, fds, n, &rc->keeper);
	if (err)
		goto out;
	err = colo_steer_set_keeper(rc->steer, rc->keeper.pid);
out:
	/* ours holds them now, or we failed and it still does */
	if (!err)
		keeper_end(&old);
	else if (old.pid)
		close(old.pidfd);
	return err;
}

/*
 * Say which AF_XDP mode each interface's socket got, and why; returns
 * the zero-copy ones, a bit per role.
 */
static __u32 print_modes(struct run_ctx *rc, const struct run_opts *o)
{
	__u32 zero_copy = 0;
	int r;

	printf("af_xdp:");
	for (r = 0; r < COLO_NR_ROLES; r++) {
		if (xsk_dp_zero_copy(rc->dp, r))
			zero_copy |= 1u << r;
		printf(" %s %s", o->steer.ifname[r],
		       zero_copy & (1u << r) ? "zero-copy" : "copy");
		printf(r < COLO_NR_ROLES - 1 ? "," : "");
	}
	printf(" (%s)\n",
	       o->steer.skb_mode ?
		       "--xdp-mode skb: generic XDP has no zero-copy" :
		       xsk_dp_mode_why(rc->dp));
	return zero_copy;
}

/*
 * Room to wait: alone, a batch, since the RX ring buffers the rest; with
 * workers, the frames of its home range too, which it takes off its RX
 * rings whatever its engine's room. And what the dead loader held.
 */
static int wait_alloc(struct run_ctx *rc, uint32_t umem_frames,
		      unsigned int adopted)
{
	unsigned int k, side, cap;

	cap = XSK_DP_BATCH + adopted + (rc->nr_w > 1 ? umem_frames : 0);
	for (k = 0; k < rc->nr_w; k++)
		for (side = COLO_PRIMARY; side <= COLO_SECONDARY; side++) {
			rc->w[k].wait[side].cap = cap;
			rc->w[k].wait[side].f =
				calloc(cap, sizeof(*rc->w[k].wait[side].f));
			if (!rc->w[k].wait[side].f) {
				cli_err(CMD, "no memory for %u frames waiting",
					cap);
				return -ENOMEM;
			}
		}
	return 0;
}

/*
 * What the dead loader's engine held goes to ours, each frame to its
 * flow's worker, in the order it arrived: compared again, or released by
 * the checkpoint the takeover asks for.
 */
static int take_adopted(struct run_ctx *rc, uint32_t umem_frames)
{
	const struct xsk_dp_held *h;
	unsigned int n, i, primary = 0;
	uint64_t now = cli_now_ns();

	n = xsk_dp_adopted(rc->dp, &h);
	if (wait_alloc(rc, umem_frames, n))
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		primary += h[i].role == COLO_ROLE_PRIMARY;
		offer(&rc->w[flow_worker(rc, &h[i].f)],
		      h[i].role == COLO_ROLE_PRIMARY ? COLO_PRIMARY :
						       COLO_SECONDARY,
		      &h[i].f, now);
	}
	if (n)
		printf("took over %u frames the dead loader held (%u primary, %u secondary)\n",
		       n, primary, n - primary);
	return 0;
}

/* Our keeper died (killed, OOM): without one, a crash would lose frames. */
static void keeper_lost(struct run_ctx *rc)
{
	pid_t was = rc->keeper.pid;
	int fds[XSK_DP_MAX_FDS];
	unsigned int n;

	keeper_stop(&rc->keeper);
	n = xsk_dp_fds(rc->dp, fds);
	if (keeper_start(colo_steer_pin_path(rc->steer), fds, n, &rc->keeper) ||
	    colo_steer_set_keeper(rc->steer, rc->keeper.pid))
		return;
	printf("keeper pid %d exited: pid %d keeps the sockets and UMEM now\n",
	       was, rc->keeper.pid);
	fflush(stdout);
}

static void links_changed(struct run_ctx *rc)
{
	unsigned int gone = link_watch_handle(&rc->links);
	int r;

	for (r = 0; r < COLO_NR_ROLES; r++) {
		if (!(gone & (1u << r)))
			continue;
		cli_err(CMD,
			"%s (%s) was deleted or left this network namespace: stopping; start colo-xdp run again once it is back",
			rc->ifname[r], cli_role_flag[r]);
		cli_stop = 1;
	}
}

/* The controller's side of the loop: accept, read, answer, send. */
static void control(struct run_ctx *rc, struct pollfd *pfd, bool ready)
{
	if (ready && pfd[PFD_KEEPER].revents)
		keeper_lost(rc);
	if (ready && pfd[PFD_LINK].revents)
		links_changed(rc);
	if (ready && pfd[PFD_XEN].revents)
		xen_server_handle(rc->xen);
	if (ready && pfd[PFD_METRICS].revents)
		metrics_server_handle(rc->metrics, cli_now_ns());
	if (rc->metrics)
		metrics_server_tick(rc->metrics, cli_now_ns());
	if (ready && pfd[PFD_QMP].revents)
		qmp_client_handle(rc->qmp, cli_now_ns());
	if (ready && pfd[PFD_CTL].revents)
		ctl_server_handle(rc->ctl);
	if (ready && pfd[PFD_HOOK].revents)
		ctl_hook_handle(rc->hook);
	if (rc->xen)
		xen_server_flush(rc->xen);
	if (rc->qmp)
		qmp_client_tick(rc->qmp, cli_now_ns());
	if (rc->ctl)
		ctl_server_flush(rc->ctl);
}

/*
 * A worker's sockets of a side, from pfd[at], or none while the side
 * waits for room: answers wake it, not its rings. With workers, they are
 * polled all the same: other workers' flows come in on them too. Returns
 * the next free entry.
 */
static unsigned int poll_side(struct run_worker *w, enum colo_role role,
			      struct pollfd *pfd, unsigned int at)
{
	enum colo_side side = role == COLO_ROLE_PRIMARY ? COLO_PRIMARY :
							  COLO_SECONDARY;
	unsigned int i, n = xsk_dp_wk_nr_socks(w->dp, role);
	bool off = w->rc->nr_w == 1 && waiting(w, side);

	for (i = 0; i < n; i++, at++) {
		pfd[at].fd = off ? -1 : xsk_dp_wk_sock_fd(w->dp, role, i);
		pfd[at].events = POLLIN;
	}
	return at;
}

/*
 * Whether a worker may sleep in poll() now: not if others handed it
 * frames of a side that does not wait for room.
 */
static bool may_sleep(struct run_worker *w)
{
	unsigned int roles = 0;

	if (w->rc->nr_w == 1)
		return true;
	if (!waiting(w, COLO_PRIMARY))
		roles |= 1u << COLO_ROLE_PRIMARY;
	if (!waiting(w, COLO_SECONDARY))
		roles |= 1u << COLO_ROLE_SECONDARY;
	return xsk_dp_wk_sleep(w->dp, roles);
}

/* How long a worker sleeps at most: its engine's timers, the watchdog. */
static int poll_timeout(const struct run_opts *o)
{
	int timeout = RUN_POLL_MAX_MS;

	if (o->engine.expired_scan_cycle_ms < (uint32_t)timeout)
		timeout = o->engine.expired_scan_cycle_ms;
	if (o->steer.watchdog_ms / RUN_BEATS_PER_WATCHDOG < (uint32_t)timeout)
		timeout = o->steer.watchdog_ms / RUN_BEATS_PER_WATCHDOG;
	return timeout;
}

static void loop(struct run_ctx *rc, const struct run_opts *o)
{
	struct run_worker *w = &rc->w[0];
	struct pollfd pfd[PFD_MAX] = {
		[PFD_XEN] = { .fd = rc->xen ? xen_server_fd(rc->xen) : -1,
			      .events = POLLIN },
		[PFD_METRICS] = { .fd = rc->metrics ?
						metrics_server_fd(rc->metrics) :
						-1,
				  .events = POLLIN },
		[PFD_QMP] = { .fd = rc->qmp ? qmp_client_fd(rc->qmp) : -1,
			      .events = POLLIN },
		[PFD_CTL] = { .fd = rc->ctl ? ctl_server_fd(rc->ctl) : -1,
			      .events = POLLIN },
		[PFD_HOOK] = { .fd = -1, .events = POLLIN },
		[PFD_LINK] = { .fd = rc->links.fd, .events = POLLIN },
		[PFD_KEEPER] = { .fd = keeper_fd(&rc->keeper),
				 .events = POLLIN },
		/* the other workers' requests, and frames they hand it */
		[PFD_WAKE] = { .fd = rc->nr_w > 1 ? xsk_dp_wk_wake_fd(w->dp) :
						    -1,
			       .events = POLLIN },
	};
	uint64_t stats_every = o->stats_interval_s * 1000000000ull;
	uint64_t now = cli_now_ns(), next_stats = now, next_ctl = now;
	/* what a previous loader left running went on without comparing */
	bool adopted = colo_steer_adopted_running(rc->steer);
	const struct colo_loader_stats *dead = colo_steer_dead_stats(rc->steer);
	int timeout = poll_timeout(o), ready;
	unsigned int n, npfd;

	/*
	 * The gap to report starts where the dead loader left off (what it
	 * reported itself is not this gap's), or now for a new instance.
	 */
	if (dead) {
		rc->degraded_seen.degraded_passed =
			dead->dp.degraded_seen_passed;
		rc->degraded_seen.degraded_dropped =
			dead->dp.degraded_seen_dropped;
	} else {
		run_degraded_frames(rc, &rc->degraded_seen);
	}
	npfd = poll_side(w, COLO_ROLE_PRIMARY, pfd, PFD_NR);
	npfd = poll_side(w, COLO_ROLE_SECONDARY, pfd, npfd);
	while (!cli_stop) {
		now = cli_now_ns();
		if (colo_steer_heartbeat(rc->steer, now) > 0 || adopted) {
			run_loader_gap(rc,
				       adopted ? "adopted after a restart" :
						 "colo-xdp run stalled",
				       adopted, now);
			adopted = false;
		}
		n = run_take(w, COLO_ROLE_PRIMARY, now);
		n += run_take(w, COLO_ROLE_SECONDARY, now);
		colo_engine_tick(w->engine, now);
		if (rc->nr_w > 1)
			run_worker_events(rc);
		if (rc->gap_pending && now >= rc->gap_repeat_at) {
			rc->gap_repeat_at = now + rc->scan_cycle_ns;
			run_request_checkpoint(rc, RUN_CKPT_LOADER_GAP);
		}
		xsk_dp_service(w->dp);
		if (now >= next_stats) {
			run_publish(rc);
			fflush(stdout);
			next_stats = now + stats_every;
		}
		if (n || o->busy_poll || !may_sleep(w)) {
			if (!n && o->busy_poll)
				xsk_dp_busy_poll(w->dp);
			if (now < next_ctl)
				continue;
			ready = poll(pfd, PFD_NR, 0);
		} else {
			/* sleep shorter while the outdev still has frames to send */
			ready = poll(pfd, npfd,
				     xsk_dp_tx_busy(w->dp) ? 1 : timeout);
			if (rc->nr_w > 1)
				xsk_dp_wk_awake(w->dp);
		}
		next_ctl = now + RUN_CTL_EVERY_NS;
		control(rc, pfd, ready > 0);
		/* a command may have started or reaped the hook's child */
		pfd[PFD_HOOK].fd = rc->hook ? ctl_hook_fd(rc->hook) : -1;
		npfd = poll_side(w, COLO_ROLE_PRIMARY, pfd, PFD_NR);
		npfd = poll_side(w, COLO_ROLE_SECONDARY, pfd, npfd);
		pfd[PFD_KEEPER].fd = keeper_fd(&rc->keeper);
	}
}

/* A worker's turn ends here while the control plane needs it still. */
static void park_here(struct run_ctx *rc)
{
	pthread_mutex_lock(&rc->park_lock);
	rc->parked++;
	pthread_cond_broadcast(&rc->park_cond);
	while (rc->park)
		pthread_cond_wait(&rc->park_cond, &rc->park_lock);
	rc->parked--;
	pthread_mutex_unlock(&rc->park_lock);
}

static unsigned int nr_started(const struct run_ctx *rc)
{
	unsigned int k, n = 0;

	for (k = 1; k < rc->nr_w; k++)
		n += rc->w[k].started;
	return n;
}

void run_park(struct run_ctx *rc)
{
	unsigned int k, n = nr_started(rc);

	if (!n || rc->park_depth++)
		return;
	pthread_mutex_lock(&rc->park_lock);
	__atomic_store_n(&rc->park, 1, __ATOMIC_RELEASE);
	for (k = 1; k < rc->nr_w; k++)
		xsk_dp_wk_wake(rc->w[k].dp);
	while (rc->parked < n)
		pthread_cond_wait(&rc->park_cond, &rc->park_lock);
	pthread_mutex_unlock(&rc->park_lock);
	/* a mismatch's frames are still held: report it before they go */
	run_worker_events(rc);
}

void run_unpark(struct run_ctx *rc)
{
	if (!nr_started(rc) || --rc->park_depth)
		return;
	pthread_mutex_lock(&rc->park_lock);
	__atomic_store_n(&rc->park, 0, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&rc->park_cond);
	pthread_mutex_unlock(&rc->park_lock);
}

/* Worker 1 and up: run's loop without the control plane, on its CPU. */
static void *worker_main(void *arg)
{
	struct run_worker *w = arg;
	struct run_ctx *rc = w->rc;
	const struct run_opts *o = rc->opts;
	struct pollfd pfd[1 + 2 * COLO_XSK_QUEUES];
	int timeout = poll_timeout(o);
	unsigned int n, npfd;
	uint64_t now;

	pfd[0].fd = xsk_dp_wk_wake_fd(w->dp);
	pfd[0].events = POLLIN;
	while (!__atomic_load_n(&rc->quit, __ATOMIC_ACQUIRE)) {
		if (__atomic_load_n(&rc->park, __ATOMIC_ACQUIRE))
			park_here(rc);
		now = cli_now_ns();
		n = run_take(w, COLO_ROLE_PRIMARY, now);
		n += run_take(w, COLO_ROLE_SECONDARY, now);
		colo_engine_tick(w->engine, now);
		xsk_dp_service(w->dp);
		if (n)
			continue;
		if (o->busy_poll) {
			xsk_dp_busy_poll(w->dp);
			continue;
		}
		if (!may_sleep(w))
			continue;
		npfd = poll_side(w, COLO_ROLE_PRIMARY, pfd, 1);
		npfd = poll_side(w, COLO_ROLE_SECONDARY, pfd, npfd);
		poll(pfd, npfd, xsk_dp_tx_busy(w->dp) ? 1 : timeout);
		xsk_dp_wk_awake(w->dp);
	}
	return NULL;
}

/* Workers 1 and up, each on its CPU; the main thread is worker 0. */
static int workers_start(struct run_ctx *rc)
{
	sigset_t all, old;
	struct run_worker *w;
	pthread_attr_t attr;
	cpu_set_t set;
	unsigned int k;
	int err = 0;

	/* SIGINT and SIGTERM are the main thread's: it stops the others */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (k = 1; k < rc->nr_w && !err; k++) {
		w = &rc->w[k];
		err = pthread_attr_init(&attr);
		if (err)
			break;
		CPU_ZERO(&set);
		CPU_SET(w->cpu, &set);
		err = pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
		if (!err)
			err = pthread_create(&w->thread, &attr, worker_main, w);
		pthread_attr_destroy(&attr);
		if (!err)
			w->started = true;
		else
			cli_err(CMD, "cannot start worker %u on CPU %d: %s", k,
				w->cpu, strerror(err));
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return -err;
}

static void workers_stop(struct run_ctx *rc)
{
	unsigned int k;

	__atomic_store_n(&rc->quit, 1, __ATOMIC_RELEASE);
	for (k = 1; k < rc->nr_w; k++) {
		if (!rc->w[k].started)
			continue;
		xsk_dp_wk_wake(rc->w[k].dp);
		pthread_join(rc->w[k].thread, NULL);
		rc->w[k].started = false;
	}
}

static bool any_waiting(const struct run_ctx *rc)
{
	unsigned int k;

	for (k = 0; k < rc->nr_w; k++)
		if (rc->w[k].wait[COLO_PRIMARY].len ||
		    rc->w[k].wait[COLO_SECONDARY].len)
			return true;
	return false;
}

static void flush_all(struct run_ctx *rc)
{
	unsigned int k;

	for (k = 0; k < rc->nr_w; k++)
		colo_engine_checkpoint_done(rc->w[k].engine);
}

/*
 * Release what is queued, as a checkpoint would, and let it all leave;
 * the other workers have returned, the main thread does theirs.
 */
static void drain(struct run_ctx *rc)
{
	uint64_t taken = 0, now = cli_now_ns();
	unsigned int n, k, busy;
	int waited = 0;

	/*
	 * Frames already on the RX rings left their guests before the stop:
	 * take them too, up to what both rings hold, since traffic goes on.
	 */
	do {
		for (k = 0, n = 0; k < rc->nr_w; k++) {
			n += run_take(&rc->w[k], COLO_ROLE_PRIMARY, now);
			n += run_take(&rc->w[k], COLO_ROLE_SECONDARY, now);
		}
		taken += n;
		/* their mismatches' frames are held until the flush */
		run_worker_events(rc);
		/* a full engine: the flush that answers its frames makes room */
		if (!n && any_waiting(rc)) {
			flush_all(rc);
			n = 1;
		}
	} while (
		n &&
		taken < 2 * XSK_DP_RING_SIZE *
				(xsk_dp_nr_socks(rc->dp, COLO_ROLE_PRIMARY) +
				 xsk_dp_nr_socks(rc->dp, COLO_ROLE_SECONDARY)));
	flush_all(rc);
	/*
	 * Frames taken but refused must not vanish with the UMEM: each flush
	 * empties the engine, so each round offers at least one of them.
	 */
	while (any_waiting(rc)) {
		for (k = 0; k < rc->nr_w; k++) {
			offer_waiting(&rc->w[k], COLO_PRIMARY, now);
			offer_waiting(&rc->w[k], COLO_SECONDARY, now);
		}
		flush_all(rc);
	}
	for (;;) {
		/* colo_steer must not fail open while the last frames leave */
		colo_steer_heartbeat(rc->steer, cli_now_ns());
		for (k = 0, busy = 0; k < rc->nr_w; k++) {
			xsk_dp_service(rc->w[k].dp);
			busy += xsk_dp_tx_busy(rc->w[k].dp);
		}
		if (!busy)
			break;
		if (waited >= RUN_DRAIN_MS) {
			cli_err(CMD,
				"%s did not take every flushed frame in %d ms: they are lost; check that it is up",
				rc->ifname[COLO_ROLE_OUT], RUN_DRAIN_MS);
			break;
		}
		poll(NULL, 0, 1);
		waited++;
	}
	run_publish(rc);
	if (rc->xen)
		xen_server_flush(rc->xen);
	if (rc->qmp)
		qmp_client_tick(rc->qmp, cli_now_ns());
	if (rc->ctl)
		ctl_server_flush(rc->ctl);
}

/* Which worker got which queues and CPU: one line each. */
static void print_workers(struct run_ctx *rc)
{
	const char *const *ifname = rc->ifname;
	unsigned int k, i, r;
	struct xsk_dp_wk *w;

	for (k = 0; k < rc->nr_w; k++) {
		w = rc->w[k].dp;
		printf("worker %u: CPU %d,", k, rc->w[k].cpu);
		for (r = COLO_ROLE_PRIMARY; r <= COLO_ROLE_SECONDARY; r++) {
			printf(" %s queues", ifname[r]);
			for (i = 0; i < xsk_dp_wk_nr_socks(w, r); i++)
				printf("%s%u", i ? "," : " ",
				       xsk_dp_wk_sock_queue(w, r, i));
			if (!i)
				printf(" none");
			printf(",");
		}
		printf(" %s TX queue %u\n", ifname[COLO_ROLE_OUT],
		       xsk_dp_wk_out_queue(w));
	}
	printf("workers: %u engines, each connection in the one its flow hash names; frames handed between them by UMEM address\n",
	       rc->nr_w);
}

/* A scrape: what 'colo-xdp stat --prometheus' prints of this instance. */
static int render_metrics(void *ctx, FILE *f)
{
	struct run_ctx *rc = ctx;
	int n;

	if (!rc->steer)
		return -EAGAIN;
	n = stat_prometheus(colo_steer_pin_path(rc->steer), f);
	return n > 0 ? 0 : n ? n : -ENOENT;
}

static void print_mirror(const struct run_opts *o)
{
	const char *const *ifname = o->steer.ifname;
	char mac[MAC_STR_LEN];

	if (!o->mirror)
		printf("not mirroring (--mirror off): the clients' frames reach %s and %s by other means\n",
		       ifname[COLO_ROLE_PRIMARY], ifname[COLO_ROLE_SECONDARY]);
	else if (o->vm_mac)
		printf("mirroring the clients' frames for VM MAC %s (--vm-mac) from %s to %s, a copy out of %s\n",
		       mac_format(o->vm_mac, mac), ifname[COLO_ROLE_OUT],
		       ifname[COLO_ROLE_PRIMARY], ifname[COLO_ROLE_SECONDARY]);
	else
		printf("mirroring the clients' frames for the VM from %s to %s, a copy out of %s: its MAC learned from what %s sends\n",
		       ifname[COLO_ROLE_OUT], ifname[COLO_ROLE_PRIMARY],
		       ifname[COLO_ROLE_SECONDARY], ifname[COLO_ROLE_PRIMARY]);
}

int cmd_run(int argc, char **argv)
{
	static const struct colo_engine_ops ops = {
		.release = on_release,
		.free = on_free,
		.checkpoint = run_on_checkpoint,
		.mismatch = run_on_mismatch,
	};
	struct xsk_dp_config dcfg = {};
	char qs[2][QUEUE_LIST_LEN];
	struct colo_umem_report mem;
	unsigned int i, k;
	__u32 zero_copy;
	struct run_ctx rc = {};
	bool compared = false;
	int ifindex[COLO_NR_ROLES];
	struct run_opts o;
	int ret, err, r;

	ret = run_opts_parse(argc, argv, &o);
	if (ret >= 0)
		return ret;
	ret = 1;
	rc.opts = &o;
	rc.verbose = o.verbose;
	rc.nr_w = o.steer.workers;
	pthread_mutex_init(&rc.park_lock, NULL);
	pthread_cond_init(&rc.park_cond, NULL);
	for (k = 0; k < rc.nr_w; k++) {
		rc.w[k].rc = &rc;
		rc.w[k].id = k;
		rc.w[k].cpu = o.pin_cpu ? (int)o.cpus.cpu[k] : -1;
	}
	rc.ifname = o.steer.ifname;
	rc.scan_cycle_ns = o.engine.expired_scan_cycle_ms * 1000000ull;
	rc.links.fd = -1;
	if (check_caps() || check_af_xdp())
		goto out;
	if (o.pin_cpu && cli_pin_cpu(CMD, o.cpu))
		goto out;
	err = cli_catch_stop();
	if (err) {
		cli_err(CMD, "cannot handle SIGINT and SIGTERM: %s",
			strerror(-err));
		goto out;
	}
	/* the controller's channels first: a taken address fails fast */
	if (o.notify && !strncmp(o.notify, "qmp:", 4)) {
		if (qmp_client_create(o.notify, &run_qmp_ops, &rc, &rc.qmp))
			goto out;
	} else if (o.notify &&
		   xen_server_create(o.notify, &run_xen_ops, &rc, &rc.xen)) {
		goto out;
	}
	if (o.control.path &&
	    ctl_server_create(&o.control, &run_ctl_ops, &rc, &rc.ctl))
		goto out;
	if (o.metrics &&
	    metrics_server_create(o.metrics, o.stats_interval_s * 1000000000ull,
				  render_metrics, &rc, &rc.metrics))
		goto out;
	if (o.hook_cmd && ctl_hook_create(o.hook_cmd, &rc.hook)) {
		cli_err(CMD, "--on-checkpoint-request: %s", strerror(ENOMEM));
		goto out;
	}
	if (o.dump_path && mismatch_dump_open(o.dump_path, &rc.dump))
		goto out;
	for (k = 0; k < rc.nr_w; k++) {
		err = colo_engine_create(&o.engine, &ops, &rc.w[k],
					 &rc.w[k].engine);
		if (err) {
			cli_err(CMD,
				"cannot create the comparison engine%s: %s; lower --max-connections or --umem-frames%s",
				rc.nr_w > 1 ? "s, one per worker" : "",
				strerror(-err),
				rc.nr_w > 1 ? ", or fewer --workers" : "");
			goto out;
		}
	}
	err = colo_steer_open(&o.steer, &rc.steer);
	if (err)
		goto out;
	/* after the interfaces are checked: a missing S is said as such */
	if (o.pair_notify &&
	    pair_notify_open(o.steer.ifname[COLO_ROLE_SECONDARY], o.pair_token,
			     &rc.pair))
		goto out;
	if (colo_steer_failed_over(rc.steer)) {
		for (k = 0; k < rc.nr_w; k++)
			colo_engine_failover(rc.w[k].engine);
		printf("the dead loader had failed over: colo_steer sends the primary's frames out alone until 'resume'\n");
	}
	/* before the sockets: a deletion from here on is seen in the loop */
	for (r = 0; r < COLO_NR_ROLES; r++)
		ifindex[r] = colo_steer_ifindex(rc.steer, r);
	if (link_watch_open(&rc.links, ifindex, COLO_NR_ROLES))
		goto out;

	for (r = 0; r < COLO_NR_ROLES; r++) {
		dcfg.ifname[r] = o.steer.ifname[r];
		dcfg.queues[r] = colo_steer_queues(rc.steer, r);
	}
	dcfg.umem_frames = o.umem_frames;
	dcfg.frame_size = o.frame_size;
	dcfg.mem = &o.mem;
	dcfg.cpu = o.pin_cpu ? (int)o.cpu : -1;
	/* generic XDP hands AF_XDP copies only */
	dcfg.zero_copy = o.steer.skb_mode ? XSK_DP_ZC_OFF : o.zero_copy;
	dcfg.sg_mtu = sg_mtu(&o);
	dcfg.busy_poll = o.busy_poll;
	dcfg.busy_wait_ms = RUN_BUSY_WAIT_MS;
	err = datapath_open(&rc, &dcfg);
	if (err)
		goto out;
	for (k = 0; k < rc.nr_w; k++)
		rc.w[k].dp = xsk_dp_worker(rc.dp, k);
	for (r = COLO_ROLE_PRIMARY; r <= COLO_ROLE_SECONDARY; r++)
		for (i = 0; i < xsk_dp_nr_socks(rc.dp, r); i++) {
			err = colo_steer_add_xsk(rc.steer, r,
						 xsk_dp_sock_queue(rc.dp, r, i),
						 xsk_dp_sock_fd(rc.dp, r, i));
			if (err)
				goto out;
		}
	/* before the dead loader's frames: those of such flows pass */
	run_pass_follow(&rc);
	if (take_adopted(&rc, o.umem_frames))
		goto out;
	/* last: the replicas get the clients' frames once both are compared */
	if (colo_mirror_open(rc.steer, o.mirror, o.vm_mac, &rc.mirror))
		goto out;
	print_mirror(&o);

	printf("comparing %s (primary) with %s (secondary), out on %s: queues %s and %s, %u frames of %u bytes\n",
	       o.steer.ifname[COLO_ROLE_PRIMARY],
	       o.steer.ifname[COLO_ROLE_SECONDARY],
	       o.steer.ifname[COLO_ROLE_OUT],
	       queue_list_format(dcfg.queues[COLO_ROLE_PRIMARY], qs[0],
				 sizeof(qs[0])),
	       queue_list_format(dcfg.queues[COLO_ROLE_SECONDARY], qs[1],
				 sizeof(qs[1])),
	       o.umem_frames, o.frame_size);
	if (colo_steer_out_stack(rc.steer))
		printf("frames that leave uncompared (ARP, failover) go out on %s through %s's tc ingress (--out-path stack)\n",
		       o.steer.ifname[COLO_ROLE_OUT],
		       o.steer.ifname[COLO_ROLE_PRIMARY]);
	if (rc.nr_w > 1)
		print_workers(&rc);
	zero_copy = print_modes(&rc, &o);
	if (dcfg.sg_mtu)
		printf("multi-buffer: MTU %u takes frames of up to %u UMEM frames (XDP_USE_SG)\n",
		       dcfg.sg_mtu,
		       (dcfg.sg_mtu + 18 + xsk_dp_max_frame(o.frame_size) - 1) /
			       xsk_dp_max_frame(o.frame_size));
	if (!xsk_dp_umem_report(rc.dp, &mem)) {
		hostmem_report_print(&mem, stdout);
		colo_steer_set_umem(rc.steer, &mem, zero_copy);
	}
	run_pass_print(&rc);
	if (rc.xen)
		printf("xen notify on %s\n", xen_server_address(rc.xen));
	if (rc.qmp)
		printf("qmp monitor at %s\n", qmp_client_address(rc.qmp));
	if (rc.ctl)
		printf("control socket %s\n", o.control.path);
	if (rc.metrics)
		printf("metrics on http://%s/metrics\n",
		       metrics_server_address(rc.metrics) + 4);
	fflush(stdout);
	if (workers_start(&rc))
		goto out;
	compared = true;
	loop(&rc, &o);
	workers_stop(&rc);
	/* what they found last, while its frames are still held */
	run_worker_events(&rc);
	/* held frames cannot leave through an outdev that is gone */
	if (!rc.links.gone[COLO_ROLE_OUT])
		drain(&rc);
	printf("stopped\n");
	ret = 0;
	for (r = 0; r < COLO_NR_ROLES; r++)
		if (rc.links.gone[r])
			ret = 1;
out:
	workers_stop(&rc);
	link_watch_close(&rc.links);
	if (mismatch_dump_close(rc.dump))
		ret = 1;
	ctl_hook_destroy(rc.hook);
	pair_notify_close(rc.pair);
	ctl_server_destroy(rc.ctl);
	metrics_server_destroy(rc.metrics);
	qmp_client_destroy(rc.qmp);
	xen_server_destroy(rc.xen);
	/*
	 * A takeover that failed before comparing leaves the instance as it
	 * found it, its frames with a keeper, for a restart done right.
	 */
	if (!compared && rc.steer && colo_steer_adopted_running(rc.steer)) {
		colo_steer_give_back(rc.steer);
		keeper_leave(&rc.keeper);
	}
	keeper_stop(&rc.keeper);
	/* detach first: no frame may reach a socket that is going away */
	colo_mirror_close(rc.mirror);
	if (rc.steer)
		colo_steer_close(rc.steer);
	xsk_dp_destroy(rc.dp);
	for (k = 0; k < rc.nr_w; k++) {
		free(rc.w[k].wait[COLO_PRIMARY].f);
		free(rc.w[k].wait[COLO_SECONDARY].f);
		if (rc.w[k].engine)
			colo_engine_destroy(rc.w[k].engine);
	}
	pthread_cond_destroy(&rc.park_cond);
	pthread_mutex_destroy(&rc.park_lock);
	fflush(stdout);
	return ret;
}
