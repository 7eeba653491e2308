// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bench-forward: the forward-only limit of `make bench`. The datapath of
 * `colo-xdp run` (colo_steer, one UMEM shared by the sockets on P, S and
 * O, the same RX, TX and pool code in user/datapath/xsk_dp.c) with no comparison:
 * every primary frame goes straight onto O's TX ring, every secondary
 * frame back to the pool. Whatever colo-xdp run does slower than this is
 * the comparison's cost.
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli_opts.h"
#include "hostmem.h"
#include "log.h"
#include "steer.h"
#include "xsk_dp.h"

#define CMD "bench-forward"
#define FWD_POLL_MS 100

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

struct fwd_opts {
	struct colo_steer_opts steer;
	uint32_t cpu;
	bool pin_cpu;
};

/* colo-xdp run's flags for the same things */
#define IF_OPT(flag, role, text)                                              \
	{                                                                     \
		.type = CLI_OPT_STRING, .name = (flag), .arg = "IF",          \
		.off = offsetof(struct fwd_opts, steer.ifname[role]),         \
		.what = "an interface name", .required = true, .help = (text) \
	}

/* clang-format off */
static const struct cli_opt fwd_opts[] = {
	IF_OPT("primary-in", COLO_ROLE_PRIMARY,
	       "interface of the primary VM (tap or NIC)"),
	IF_OPT("secondary-in", COLO_ROLE_SECONDARY,
	       "interface of the secondary VM"),
	IF_OPT("outdev", COLO_ROLE_OUT, "interface towards the clients"),
	CLI_OPT_CPU(struct fwd_opts, "cpu", cpu, pin_cpu, "run on CPU N"),
	{ .type = CLI_OPT_END },
};
/* clang-format on */

static const struct cli_cmd fwd_cmd = {
	.name = CMD,
	.usage = "--primary-in P --secondary-in S --outdev O [--cpu N]",
	.about =
		"Send every primary frame out of O from the UMEM it arrived in and drop\n"
		"every secondary frame, through the datapath of 'colo-xdp run', with no\n"
		"comparison. Stops on SIGINT or SIGTERM.\n",
	.opts = fwd_opts,
};

/*
 * One turn: the ring work of colo-xdp run's loop, its clock read and its
 * heartbeat to colo_steer's watchdog, without the engine.
 */
static unsigned int forward(struct xsk_dp *dp, struct colo_steer *steer)
{
	struct xsk_dp_wk *w = xsk_dp_worker(dp, 0);
	struct xsk_dp_frame f[XSK_DP_BATCH];
	unsigned int n, m, i;

	colo_steer_heartbeat(steer, cli_now_ns());
	n = xsk_dp_rx(w, COLO_ROLE_PRIMARY, f, XSK_DP_BATCH);
	for (i = 0; i < n; i++)
		xsk_dp_tx(w, f[i].addr);
	m = xsk_dp_rx(w, COLO_ROLE_SECONDARY, f, XSK_DP_BATCH);
	for (i = 0; i < m; i++)
		xsk_dp_free(w, f[i].addr);
	xsk_dp_service(w);
	return n + m;
}

static void loop(struct xsk_dp *dp, struct colo_steer *steer)
{
	struct pollfd pfd[2] = {
		{ .fd = xsk_dp_fd(dp, COLO_ROLE_PRIMARY), .events = POLLIN },
		{ .fd = xsk_dp_fd(dp, COLO_ROLE_SECONDARY), .events = POLLIN },
	};

	while (!stop)
		if (!forward(dp, steer))
			poll(pfd, 2,
			     xsk_dp_tx_busy(xsk_dp_worker(dp, 0)) ?
				     1 :
				     FWD_POLL_MS);
}

int main(int argc, char **argv)
{
	struct fwd_opts o = { .steer.attach = true };
	struct sigaction sa = { .sa_handler = on_signal };
	struct hostmem_opts mem;
	struct xsk_dp_config dcfg = {
		.umem_frames = XSK_DP_DEFAULT_FRAMES,
		.frame_size = XSK_DP_DEFAULT_FRAME_SIZE,
		.mem = &mem,
		.cpu = -1,
	};
	struct colo_steer *steer = NULL;
	struct xsk_dp *dp = NULL;
	int r, err, ret;

	log_init(CMD);
	/* the UMEM where colo-xdp run puts it by default */
	hostmem_opts_init(&mem);
	mem.size = XSK_DP_DEFAULT_FRAMES * (uint64_t)XSK_DP_DEFAULT_FRAME_SIZE;
	ret = cli_opts_parse(&fwd_cmd, argc, argv, &o, sizeof(o), NULL);
	if (ret >= 0)
		return ret;
	ret = 1;
	for (r = 0; r < COLO_NR_ROLES; r++)
		dcfg.ifname[r] = o.steer.ifname[r];
	if (o.pin_cpu) {
		dcfg.cpu = (int)o.cpu;
		if (cli_pin_cpu(CMD, o.cpu))
			goto out;
	}
	sigemptyset(&sa.sa_mask);
	/* no SA_RESTART: poll() returns at once on a signal */
	if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL))
		goto out;
	/* queue 0, the one its loop polls: the numbers stay comparable */
	o.steer.queues = 1;
	err = colo_steer_open(&o.steer, &steer);
	if (err)
		goto out;
	for (r = 0; r < COLO_NR_ROLES; r++)
		dcfg.queues[r] = colo_steer_queues(steer, r);
	err = xsk_dp_create(&dcfg, &dp);
	if (err)
		goto out;
	for (r = COLO_ROLE_PRIMARY; r <= COLO_ROLE_SECONDARY; r++) {
		err = colo_steer_add_xsk(steer, r, 0, xsk_dp_fd(dp, r));
		if (err)
			goto out;
	}
	printf("forwarding %s to %s, dropping %s\n",
	       o.steer.ifname[COLO_ROLE_PRIMARY], o.steer.ifname[COLO_ROLE_OUT],
	       o.steer.ifname[COLO_ROLE_SECONDARY]);
	fflush(stdout);
	loop(dp, steer);
	ret = 0;
out:
	/* detach first: no frame may reach a socket that is going away */
	if (steer)
		colo_steer_close(steer);
	xsk_dp_destroy(dp);
	return ret;
}
