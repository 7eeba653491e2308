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
#include <getopt.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
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

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bench-forward --primary-in P --secondary-in S --outdev O [--cpu N]\n"
		"\n"
		"Send every primary frame out of O from the UMEM it arrived in and drop\n"
		"every secondary frame, through the datapath of 'colo-xdp run', with no\n"
		"comparison. Stops on SIGINT or SIGTERM.\n");
}

static const struct option long_opts[] = {
	{ "primary-in", required_argument, NULL, 'p' },
	{ "secondary-in", required_argument, NULL, 's' },
	{ "outdev", required_argument, NULL, 'o' },
	{ "cpu", required_argument, NULL, 'c' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/*
 * One turn: the ring work of colo-xdp run's loop, its clock read and its
 * heartbeat to colo_steer's watchdog, without the engine.
 */
static unsigned int forward(struct xsk_dp *dp, struct colo_steer *steer)
{
	struct xsk_dp_frame f[XSK_DP_BATCH];
	unsigned int n, m, i;

	colo_steer_heartbeat(steer, cli_now_ns());
	n = xsk_dp_rx(dp, COLO_ROLE_PRIMARY, f, XSK_DP_BATCH);
	for (i = 0; i < n; i++)
		xsk_dp_tx(dp, f[i].addr, f[i].len);
	m = xsk_dp_rx(dp, COLO_ROLE_SECONDARY, f, XSK_DP_BATCH);
	for (i = 0; i < m; i++)
		xsk_dp_free(dp, f[i].addr);
	xsk_dp_service(dp);
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
			poll(pfd, 2, xsk_dp_tx_busy(dp) ? 1 : FWD_POLL_MS);
}

int main(int argc, char **argv)
{
	struct colo_steer_opts so = { .attach = true };
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
	uint32_t cpu = 0;
	bool pin = false;
	int c, r, err, ret = 1;

	log_init(CMD);
	/* the UMEM where colo-xdp run puts it by default */
	hostmem_opts_init(&mem);
	mem.size = XSK_DP_DEFAULT_FRAMES * (uint64_t)XSK_DP_DEFAULT_FRAME_SIZE;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", long_opts, NULL)) != -1) {
		switch (c) {
		case 'p':
		case 's':
		case 'o':
			r = c == 'p' ? COLO_ROLE_PRIMARY :
			    c == 's' ? COLO_ROLE_SECONDARY :
				       COLO_ROLE_OUT;
			so.ifname[r] = dcfg.ifname[r] = optarg;
			break;
		case 'c':
			if (cli_parse_u32(CMD, "--cpu", optarg, 0,
					  CPU_SETSIZE - 1, &cpu))
				return CLI_EXIT_USAGE;
			pin = true;
			dcfg.cpu = cpu;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return cli_bad_option(CMD, argv, c);
		}
	}
	if (optind < argc || !so.ifname[COLO_ROLE_PRIMARY] ||
	    !so.ifname[COLO_ROLE_SECONDARY] || !so.ifname[COLO_ROLE_OUT]) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (pin && cli_pin_cpu(CMD, cpu))
		goto out;
	sigemptyset(&sa.sa_mask);
	/* no SA_RESTART: poll() returns at once on a signal */
	if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL))
		goto out;
	err = colo_steer_open(&so, &steer);
	if (err)
		goto out;
	err = xsk_dp_create(&dcfg, &dp);
	if (err)
		goto out;
	for (r = COLO_ROLE_PRIMARY; r <= COLO_ROLE_SECONDARY; r++) {
		err = colo_steer_add_xsk(steer, r, xsk_dp_fd(dp, r));
		if (err)
			goto out;
	}
	printf("forwarding %s to %s, dropping %s\n",
	       so.ifname[COLO_ROLE_PRIMARY], so.ifname[COLO_ROLE_OUT],
	       so.ifname[COLO_ROLE_SECONDARY]);
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
