// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * colo-xdp run: steer the primary's and the secondary's frames into AF_XDP
 * sockets, compare them with the engine, send matched primary frames out
 * of the outdev from the UMEM they arrived in. Around that, in the same
 * poll loop: the COLO controller's channels (Xen notify, the control
 * socket, a hook command), the mismatch dump, failover and resume, and
 * the heartbeat that keeps colo_steer from failing open.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include "caps.h"
#include "cli.h"
#include "commands.h"
#include "ctl_server.h"
#include "engine.h"
#include "keeper.h"
#include "log.h"
#include "mismatch_dump.h"
#include "steer.h"
#include "xen_proto.h"
#include "xsk_dp.h"

#define CMD "run"
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
 * A loader gap (restart, stall) is no reason the engine knows: frames went
 * out uncompared because the comparison waited on nobody past the
 * watchdog, which is what a timeout says to a controller.
 */
#define RUN_CKPT_LOADER_GAP COLO_CKPT_TIMEOUT
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

struct run_opts {
	struct colo_steer_opts steer;
	struct colo_engine_config engine;
	uint32_t umem_frames;
	bool umem_frames_set;
	uint32_t frame_size;
	struct hostmem_opts mem;
	uint32_t cpu;
	bool pin_cpu;
	bool busy_poll;
	uint32_t stats_interval_s;
	bool verbose;
	const char *notify; /* --notify xen:... */
	struct ctl_server_config control; /* path NULL: no --control */
	const char *hook_cmd; /* --on-checkpoint-request */
	const char *dump_path; /* --mismatch-dump */
};

struct run_ctx {
	struct xsk_dp *dp;
	struct keeper keeper;
	struct colo_engine *engine;
	struct colo_steer *steer;
	struct xen_server *xen;
	struct ctl_server *ctl;
	struct ctl_hook *hook;
	struct mismatch_dump *dump;
	const char *outdev;
	bool verbose;
	uint64_t scan_cycle_ns;
	/* a request sent and not answered by a checkpoint yet */
	bool ckpt_pending;
	enum colo_ckpt_reason ckpt_reason;
	/* our own request after a loader gap: repeated as the engine does */
	bool gap_pending;
	uint64_t gap_repeat_at;
	/* colo_steer's degraded counters as last read */
	struct colo_steer_stats degraded_seen;
	/* run's own counters, merged into the datapath's when published */
	struct colo_dp_stats own;
	/* RTNETLINK link events: an interface deleted under us stops the run */
	int link_fd;
	const char *ifname[COLO_NR_ROLES];
	bool gone[COLO_NR_ROLES];
};

static volatile sig_atomic_t run_stop;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: colo-xdp run --primary-in P --secondary-in S --outdev O [FLAGS]\n"
		"\n"
		"Compare the frames the primary sends on P with those the secondary sends\n"
		"on S; a primary frame leaves on O once the secondary sent the same one.\n"
		"\n"
		"  --primary-in IF          interface of the primary VM (tap or NIC)\n"
		"  --secondary-in IF        interface of the secondary VM\n"
		"  --outdev IF              interface towards the clients\n"
		"  --compare-timeout MS     checkpoint when a frame waits longer (3000)\n"
		"  --expired-scan-cycle MS  how often old frames are looked for (1000)\n"
		"  --max-queue-size N       frames queued per connection and side (1024)\n"
		"  --max-connections N      connections tracked at once (65536)\n"
		"  --xdp-mode native|skb    XDP driver mode or generic mode (native)\n"
		"  --attach auto|none       attach the program, or adopt one that\n"
		"                           'ip link set dev IF xdp obj ...' attached (auto)\n"
		"  --queue N                RX queue the sockets bind to (0)\n"
		"  --umem-frames N          UMEM size in frames (16384, at least %u)\n"
		"  --frame-size 2048|4096   UMEM frame size (2048)\n"
		"  --busy-poll              busy-poll the RX queues instead of sleeping\n"
		"  --cpu N                  run on CPU N\n"
		"  --pin-path DIR           where to pin maps (%s/<primary-in>)\n"
		"  --stats-interval S       publish counters for 'colo-xdp stat' every S s (1)\n"
		"  --verbose                log every mismatch, the setup steps and\n"
		"                           libbpf's and libxdp's messages\n"
		"\n"
		"The COLO controller (checkpoint requests go to every channel given):\n"
		"  --notify xen:tcp:ADDR:PORT | xen:unix:PATH\n"
		"                           serve the Xen COLO proxy protocol (libxl):\n"
		"                           DO_CHECKPOINT per request, COLO_CHECKPOINT flushes\n"
		"  --control PATH           JSON control socket for 'colo-xdp ctl' (root only):\n"
		"                           checkpoint-done, failover, resume, stats, status,\n"
		"                           subscribe\n"
		"  --on-checkpoint-request CMD\n"
		"                           run '/bin/sh -c CMD' per request, the reason in\n"
		"                           $COLO_CHECKPOINT_REASON\n"
		"  --mismatch-dump FILE     write both frames of each mismatch to a pcap file\n"
		"\n"
		"When this process is gone (killed, crashed, stopped) for longer than\n"
		"--watchdog-ms, colo_steer stops waiting for it:\n"
		"  --watchdog-ms N          heartbeat age that counts as gone (100)\n"
		"  --on-loader-loss pass|hold\n"
		"                           primary frames go straight out, counted (pass),\n"
		"                           or are dropped, counted (hold)\n"
		"Started again with the same interfaces and pin path, it adopts the running\n"
		"program without a gap and asks for a checkpoint before comparing.\n"
		"\n"
		"Where the UMEM lives (as QEMU's host memory backends place guest RAM):\n" HOSTMEM_USAGE
		"  (--umem-size is --umem-frames x --frame-size when not given)\n"
		"\n"
		"Stops on SIGINT or SIGTERM: queued primary frames are sent, and what\n"
		"was attached and pinned is removed. SIGKILL leaves it all in place for\n"
		"the next 'colo-xdp run' to adopt, and loses no frame: a keeper process\n"
		"('colo-xdp keep') holds the sockets and UMEM until the next run takes\n"
		"them over, with the flags --umem-frames, --frame-size and --queue the\n"
		"dead one had.\n",
		XSK_DP_MIN_FRAMES, COLO_PIN_ROOT);
}

enum {
	OPT_PRIMARY = 256,
	OPT_SECONDARY,
	OPT_OUTDEV,
	OPT_COMPARE_TIMEOUT,
	OPT_SCAN_CYCLE,
	OPT_MAX_QUEUE,
	OPT_MAX_CONNS,
	OPT_XDP_MODE,
	OPT_ATTACH,
	OPT_QUEUE,
	OPT_UMEM_FRAMES,
	OPT_FRAME_SIZE,
	OPT_BUSY_POLL,
	OPT_CPU,
	OPT_PIN_PATH,
	OPT_STATS_INTERVAL,
	OPT_VERBOSE,
	OPT_NOTIFY,
	OPT_CONTROL,
	OPT_ON_CKPT,
	OPT_MISMATCH_DUMP,
	OPT_WATCHDOG_MS,
	OPT_ON_LOADER_LOSS,
	OPT_HOSTMEM,
	OPT_HELP,
};

static const struct option long_opts[] = {
	{ "primary-in", required_argument, NULL, OPT_PRIMARY },
	{ "secondary-in", required_argument, NULL, OPT_SECONDARY },
	{ "outdev", required_argument, NULL, OPT_OUTDEV },
	{ "compare-timeout", required_argument, NULL, OPT_COMPARE_TIMEOUT },
	{ "expired-scan-cycle", required_argument, NULL, OPT_SCAN_CYCLE },
	{ "max-queue-size", required_argument, NULL, OPT_MAX_QUEUE },
	{ "max-connections", required_argument, NULL, OPT_MAX_CONNS },
	{ "xdp-mode", required_argument, NULL, OPT_XDP_MODE },
	{ "attach", required_argument, NULL, OPT_ATTACH },
	{ "queue", required_argument, NULL, OPT_QUEUE },
	{ "umem-frames", required_argument, NULL, OPT_UMEM_FRAMES },
	{ "frame-size", required_argument, NULL, OPT_FRAME_SIZE },
	{ "busy-poll", no_argument, NULL, OPT_BUSY_POLL },
	{ "cpu", required_argument, NULL, OPT_CPU },
	{ "pin-path", required_argument, NULL, OPT_PIN_PATH },
	{ "stats-interval", required_argument, NULL, OPT_STATS_INTERVAL },
	{ "verbose", no_argument, NULL, OPT_VERBOSE },
	{ "notify", required_argument, NULL, OPT_NOTIFY },
	{ "control", required_argument, NULL, OPT_CONTROL },
	{ "on-checkpoint-request", required_argument, NULL, OPT_ON_CKPT },
	{ "mismatch-dump", required_argument, NULL, OPT_MISMATCH_DUMP },
	{ "watchdog-ms", required_argument, NULL, OPT_WATCHDOG_MS },
	{ "on-loader-loss", required_argument, NULL, OPT_ON_LOADER_LOSS },
	HOSTMEM_LONG_OPTS(OPT_HOSTMEM),
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

/* --umem-size and --umem-frames x --frame-size name one size: agree them. */
static int umem_size(struct run_opts *o)
{
	uint64_t frames;

	if (!o->mem.size) {
		o->mem.size = (uint64_t)o->umem_frames * o->frame_size;
		return 0;
	}
	frames = o->mem.size / o->frame_size;
	if (o->mem.size % o->frame_size || frames > 1u << 20) {
		cli_err(CMD,
			"--umem-size %llu is not a multiple of --frame-size %u up to %u frames",
			(unsigned long long)o->mem.size, o->frame_size,
			1u << 20);
		return -EINVAL;
	}
	if (o->umem_frames_set && frames != o->umem_frames) {
		cli_err(CMD,
			"--umem-size %llu is %llu frames of %u bytes, but --umem-frames says %u: give one of them",
			(unsigned long long)o->mem.size,
			(unsigned long long)frames, o->frame_size,
			o->umem_frames);
		return -EINVAL;
	}
	o->umem_frames = (uint32_t)frames;
	return 0;
}

/* Returns -1 to go on, or the exit status. */
static int parse_args(int argc, char **argv, struct run_opts *o)
{
	uint32_t ms, n;
	int c, r, q, idx;

	memset(o, 0, sizeof(*o));
	hostmem_opts_init(&o->mem);
	colo_engine_config_default(&o->engine);
	o->steer.attach = true;
	o->umem_frames = 16384;
	o->frame_size = 2048;
	o->stats_interval_s = 1;
	o->steer.watchdog_ms = COLO_WATCHDOG_MS_DEFAULT;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", long_opts, &idx)) != -1) {
		int err = 0;

		switch (c) {
		case OPT_PRIMARY:
		case OPT_SECONDARY:
		case OPT_OUTDEV:
			r = c - OPT_PRIMARY;
			if (!*optarg) {
				cli_err(CMD, "%s needs an interface name",
					cli_role_flag[r]);
				return CLI_EXIT_USAGE;
			}
			o->steer.ifname[r] = optarg;
			break;
		case OPT_COMPARE_TIMEOUT:
			err = cli_parse_u32(CMD, "--compare-timeout", optarg, 1,
					    3600000, &ms);
			o->engine.compare_timeout_ms = ms;
			break;
		case OPT_SCAN_CYCLE:
			err = cli_parse_u32(CMD, "--expired-scan-cycle", optarg,
					    1, 3600000, &ms);
			o->engine.expired_scan_cycle_ms = ms;
			break;
		case OPT_MAX_QUEUE:
			err = cli_parse_u32(CMD, "--max-queue-size", optarg, 1,
					    1u << 20, &n);
			o->engine.max_queue_size = n;
			break;
		case OPT_MAX_CONNS:
			err = cli_parse_u32(CMD, "--max-connections", optarg, 1,
					    1u << 24, &n);
			o->engine.max_connections = n;
			break;
		case OPT_XDP_MODE:
			if (!strcmp(optarg, "skb")) {
				o->steer.skb_mode = true;
			} else if (strcmp(optarg, "native")) {
				cli_err(CMD,
					"--xdp-mode: '%s' is neither native nor skb",
					optarg);
				return CLI_EXIT_USAGE;
			}
			break;
		case OPT_ATTACH:
			if (!strcmp(optarg, "none")) {
				o->steer.attach = false;
			} else if (strcmp(optarg, "auto")) {
				cli_err(CMD,
					"--attach: '%s' is neither auto nor none",
					optarg);
				return CLI_EXIT_USAGE;
			}
			break;
		case OPT_QUEUE:
			err = cli_parse_u32(CMD, "--queue", optarg, 0, 4095,
					    &o->steer.queue);
			break;
		case OPT_UMEM_FRAMES:
			err = cli_parse_u32(CMD, "--umem-frames", optarg, 1,
					    1u << 20, &o->umem_frames);
			o->umem_frames_set = true;
			break;
		case OPT_FRAME_SIZE:
			err = cli_parse_u32(CMD, "--frame-size", optarg, 2048,
					    4096, &o->frame_size);
			if (!err && o->frame_size != 2048 &&
			    o->frame_size != 4096) {
				cli_err(CMD,
					"--frame-size: '%s' is neither 2048 nor 4096",
					optarg);
				err = -EINVAL;
			}
			break;
		case OPT_BUSY_POLL:
			o->busy_poll = true;
			break;
		case OPT_CPU:
			err = cli_parse_u32(CMD, "--cpu", optarg, 0,
					    CPU_SETSIZE - 1, &o->cpu);
			o->pin_cpu = true;
			break;
		case OPT_PIN_PATH:
			if (optarg[0] != '/') {
				cli_err(CMD,
					"--pin-path: '%s' is not an absolute path under a bpffs mount",
					optarg);
				return CLI_EXIT_USAGE;
			}
			o->steer.pin_path = optarg;
			break;
		case OPT_STATS_INTERVAL:
			err = cli_parse_u32(CMD, "--stats-interval", optarg, 1,
					    3600, &o->stats_interval_s);
			break;
		case OPT_VERBOSE:
			o->verbose = true;
			log_set_level(LOG_DEBUG);
			break;
		case OPT_NOTIFY:
			o->notify = optarg;
			break;
		case OPT_CONTROL:
		case OPT_MISMATCH_DUMP:
			if (!*optarg) {
				cli_err(CMD, "--%s needs a file name",
					long_opts[idx].name);
				return CLI_EXIT_USAGE;
			}
			if (c == OPT_CONTROL)
				o->control.path = optarg;
			else
				o->dump_path = optarg;
			break;
		case OPT_ON_CKPT:
			if (!*optarg) {
				cli_err(CMD,
					"--on-checkpoint-request needs a shell command");
				return CLI_EXIT_USAGE;
			}
			o->hook_cmd = optarg;
			break;
		case OPT_WATCHDOG_MS:
			err = cli_parse_u32(CMD, "--watchdog-ms", optarg, 10,
					    60000, &o->steer.watchdog_ms);
			break;
		case OPT_ON_LOADER_LOSS:
			if (!strcmp(optarg, "hold")) {
				o->steer.loss_hold = true;
			} else if (strcmp(optarg, "pass")) {
				cli_err(CMD,
					"--on-loader-loss: '%s' is neither pass nor hold",
					optarg);
				return CLI_EXIT_USAGE;
			}
			break;
		case OPT_HOSTMEM:
			err = hostmem_parse_flag(&o->mem, CMD,
						 long_opts[idx].name, optarg);
			break;
		case 'h':
		case OPT_HELP:
			usage(stdout);
			return 0;
		default:
			return cli_bad_option(CMD, argv, c);
		}
		if (err)
			return CLI_EXIT_USAGE;
	}
	if (optind < argc) {
		cli_err(CMD,
			"unexpected argument '%s' (see 'colo-xdp run --help')",
			argv[optind]);
		return CLI_EXIT_USAGE;
	}
	for (r = 0; r < COLO_NR_ROLES; r++) {
		if (!o->steer.ifname[r]) {
			cli_err(CMD,
				"%s is required (see 'colo-xdp run --help')",
				cli_role_flag[r]);
			return CLI_EXIT_USAGE;
		}
		for (q = 0; q < r; q++)
			if (!strcmp(o->steer.ifname[r], o->steer.ifname[q])) {
				cli_err(CMD,
					"%s and %s are both %s: give three different interfaces",
					cli_role_flag[q], cli_role_flag[r],
					o->steer.ifname[r]);
				return CLI_EXIT_USAGE;
			}
	}
	if (o->pin_cpu && o->cpu >= (uint32_t)sysconf(_SC_NPROCESSORS_CONF)) {
		cli_err(CMD, "--cpu %u: this machine has CPUs 0 to %ld", o->cpu,
			sysconf(_SC_NPROCESSORS_CONF) - 1);
		return CLI_EXIT_USAGE;
	}
	if (umem_size(o))
		return CLI_EXIT_USAGE;
	if (o->umem_frames < XSK_DP_MIN_FRAMES) {
		cli_err(CMD,
			"--umem-frames %u is too small for the rings: the fill rings of %s and %s and the TX ring of %s hold %u frames; use --umem-frames %u or more",
			o->umem_frames, o->steer.ifname[COLO_ROLE_PRIMARY],
			o->steer.ifname[COLO_ROLE_SECONDARY],
			o->steer.ifname[COLO_ROLE_OUT], XSK_DP_MIN_FRAMES,
			XSK_DP_MIN_FRAMES);
		return CLI_EXIT_USAGE;
	}
	/* The engine can then never run out of descriptors before the UMEM. */
	o->engine.max_frames = o->umem_frames;
	return -1;
}

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

static void on_release(void *ctx, uint64_t handle, uint32_t len)
{
	struct run_ctx *rc = ctx;

	xsk_dp_tx(rc->dp, handle, len);
}

static void on_free(void *ctx, uint64_t handle)
{
	struct run_ctx *rc = ctx;

	xsk_dp_free(rc->dp, handle);
}

static unsigned int take(struct run_ctx *rc, enum colo_role role, uint64_t now)
{
	struct xsk_dp_frame f[XSK_DP_BATCH];
	unsigned int n, i;

	n = xsk_dp_rx(rc->dp, role, f);
	for (i = 0; i < n; i++)
		colo_engine_input(rc->engine,
				  role == COLO_ROLE_PRIMARY ? COLO_PRIMARY :
							      COLO_SECONDARY,
				  f[i].addr, f[i].data, f[i].len, now);
	return n;
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
	int fds[XSK_DP_NR_FDS];
	int err;

	if (dead && !keeper_claim(dead, pins, fds, XSK_DP_NR_FDS, &old)) {
		/* nothing may land on the rings while they are read */
		colo_steer_fail_open(rc->steer);
		poll(NULL, 0, RUN_SETTLE_MS);
		err = xsk_dp_adopt(cfg, fds, &rc->dp);
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
	xsk_dp_fds(rc->dp, fds);
	err = keeper_start(pins, fds, XSK_DP_NR_FDS, &rc->keeper);
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
 * What the dead loader's engine held goes to ours, in the order it
 * arrived: compared again, or released by the checkpoint the takeover
 * asks for.
 */
static void take_adopted(struct run_ctx *rc)
{
	const struct xsk_dp_held *h;
	unsigned int n, i, primary = 0;
	uint64_t now = cli_now_ns();

	n = xsk_dp_adopted(rc->dp, &h);
	for (i = 0; i < n; i++) {
		primary += h[i].role == COLO_ROLE_PRIMARY;
		colo_engine_input(rc->engine,
				  h[i].role == COLO_ROLE_PRIMARY ?
					  COLO_PRIMARY :
					  COLO_SECONDARY,
				  h[i].f.addr, h[i].f.data, h[i].f.len, now);
	}
	if (n)
		printf("took over %u frames the dead loader held (%u primary, %u secondary)\n",
		       n, primary, n - primary);
}

/* To every channel the controller listens on; none of them blocks. */
static void request_checkpoint(struct run_ctx *rc, enum colo_ckpt_reason reason)
{
	rc->ckpt_pending = true;
	rc->ckpt_reason = reason;
	rc->own.ckpt_logged++;
	printf("checkpoint request: %s\n", colo_ckpt_reason_name(reason));
	fflush(stdout);
	if (rc->xen)
		xen_server_request_checkpoint(rc->xen);
	if (rc->ctl)
		ctl_server_event_checkpoint(rc->ctl, reason);
	if (rc->hook)
		ctl_hook_request(rc->hook, reason);
}

static void on_checkpoint(void *ctx, enum colo_ckpt_reason reason)
{
	request_checkpoint(ctx, reason);
}

static void on_mismatch(void *ctx, const struct colo_mismatch *m)
{
	const struct colo_flow_key *k = m->key;
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	bool v6 = k->ipver == 6;
	struct run_ctx *rc = ctx;
	const void *pf, *sf;
	uint32_t pl, sl;

	if (rc->ctl)
		ctl_server_event_mismatch(rc->ctl, m);
	if (rc->dump) {
		/* both frames stay queued: the mismatch holds them */
		pf = xsk_dp_frame(rc->dp, m->primary_handle, &pl);
		sf = xsk_dp_frame(rc->dp, m->secondary_handle, &sl);
		mismatch_dump_pair(rc->dump, pf, pl, sf, sl);
	}
	if (!rc->verbose)
		return;
	inet_ntop(v6 ? AF_INET6 : AF_INET, k->saddr, src, sizeof(src));
	inet_ntop(v6 ? AF_INET6 : AF_INET, k->daddr, dst, sizeof(dst));
	printf("mismatch: proto %u %s%s%s:%u > %s%s%s:%u vlan %u at byte %u (seq %u)\n",
	       k->proto, v6 ? "[" : "", src, v6 ? "]" : "", k->sport,
	       v6 ? "[" : "", dst, v6 ? "]" : "", k->dport, k->vlan & 0xfff,
	       m->offset, m->seq);
}

static void dp_stats(struct run_ctx *rc, struct colo_dp_stats *out)
{
	xsk_dp_stats(rc->dp, out);
	out->ckpt_logged = rc->own.ckpt_logged;
	out->failovers = rc->own.failovers;
	out->resumes = rc->own.resumes;
	out->switch_ns = rc->own.switch_ns;
	out->loader_gaps = rc->own.loader_gaps;
	out->mismatch_dumped = rc->dump ? mismatch_dump_pairs(rc->dump) : 0;
}

static void publish(struct run_ctx *rc)
{
	struct colo_loader_stats st;

	st.engine = *colo_engine_stats(rc->engine);
	dp_stats(rc, &st.dp);
	colo_steer_publish(rc->steer, &st);
	mismatch_dump_flush(rc->dump);
}

/* What colo_steer did uncompared while the loader was lost. */
static void degraded_frames(struct run_ctx *rc, struct colo_steer_stats *out)
{
	struct colo_steer_stats st;
	int r;

	memset(out, 0, sizeof(*out));
	for (r = COLO_ROLE_PRIMARY; r <= COLO_ROLE_SECONDARY; r++)
		if (!colo_steer_read_stats(rc->steer, r, &st)) {
			out->degraded_passed += st.degraded_passed;
			out->degraded_dropped += st.degraded_dropped;
		}
}

/*
 * The heartbeat went stale (this process took over a dead one's program,
 * or was stopped): colo_steer let frames through uncompared, so what the
 * replicas sent no longer lines up with what is queued. Only a checkpoint
 * brings them back in step; ask for it until one happens. A stall that
 * no frame crossed changed nothing and asks nothing.
 */
static void loader_gap(struct run_ctx *rc, const char *what, bool always,
		       uint64_t now)
{
	struct colo_steer_stats now_st, *was = &rc->degraded_seen;
	uint64_t passed, dropped;
	char why[160];

	/* in failover colo_steer passes every frame itself: nothing missed */
	if (colo_engine_in_failover(rc->engine))
		return;

	degraded_frames(rc, &now_st);
	passed = now_st.degraded_passed - was->degraded_passed;
	dropped = now_st.degraded_dropped - was->degraded_dropped;
	*was = now_st;
	if (!passed && !dropped && !always)
		return;
	rc->own.loader_gaps++;
	snprintf(
		why, sizeof(why),
		"%s: %llu primary frames passed uncompared, %llu frames dropped",
		what, (unsigned long long)passed, (unsigned long long)dropped);
	printf("degraded: %s\n", why);
	if (rc->ctl)
		ctl_server_event_degraded(rc->ctl, why);
	rc->gap_pending = true;
	rc->gap_repeat_at = now + rc->scan_cycle_ns;
	request_checkpoint(rc, RUN_CKPT_LOADER_GAP);
}

static void checkpoint_done(struct run_ctx *rc)
{
	colo_engine_checkpoint_done(rc->engine);
	rc->ckpt_pending = false;
	rc->gap_pending = false;
	/* whoever looks right after the command sees what it did */
	xsk_dp_service(rc->dp);
	publish(rc);
}

static void xen_checkpoint_done(void *ctx)
{
	checkpoint_done(ctx);
}

static int ctl_checkpoint_done(void *ctx)
{
	checkpoint_done(ctx);
	return 0;
}

static void switched(struct run_ctx *rc, const char *what, uint64_t t0)
{
	rc->own.switch_ns = cli_now_ns() - t0;
	publish(rc);
	printf("%s: colo_steer switched in %llu us\n", what,
	       (unsigned long long)rc->own.switch_ns / 1000);
	fflush(stdout);
}

/*
 * Flush, then let the kernel send primary frames to the outdev itself.
 * The time from the command to the switch is what the controller waits.
 */
static int ctl_failover(void *ctx)
{
	uint64_t t0 = cli_now_ns();
	struct run_ctx *rc = ctx;
	int err;

	if (colo_engine_in_failover(rc->engine))
		return -EALREADY;
	colo_engine_failover(rc->engine);
	err = colo_steer_set_state(rc->steer, COLO_STATE_PASSTHROUGH);
	if (err) {
		/* an interface switched before the error must not stay so */
		colo_steer_set_state(rc->steer, COLO_STATE_COMPARE);
		colo_engine_resume(rc->engine);
		return err;
	}
	rc->own.failovers++;
	switched(rc, "failover", t0);
	/* flushed, and no secondary to check against: nothing to ask for */
	rc->ckpt_pending = false;
	rc->gap_pending = false;
	/* what reached the sockets before the switch: passed, then sent */
	while (take(rc, COLO_ROLE_PRIMARY, t0) +
	       take(rc, COLO_ROLE_SECONDARY, t0))
		;
	xsk_dp_service(rc->dp);
	return 0;
}

static int ctl_resume(void *ctx)
{
	uint64_t t0 = cli_now_ns();
	struct run_ctx *rc = ctx;
	int err;

	if (!colo_engine_in_failover(rc->engine))
		return -EALREADY;
	/* nothing reaches the sockets in passthrough: the order is free */
	err = colo_steer_set_state(rc->steer, COLO_STATE_COMPARE);
	if (err)
		return err;
	colo_engine_resume(rc->engine);
	rc->own.resumes++;
	switched(rc, "resume", t0);
	return 0;
}

static void ctl_stats(void *ctx, struct ctl_stats *out)
{
	struct run_ctx *rc = ctx;

	out->loader.engine = *colo_engine_stats(rc->engine);
	dp_stats(rc, &out->loader.dp);
	if (rc->xen)
		xen_server_stats(rc->xen, &out->xen);
	if (rc->hook)
		ctl_hook_stats(rc->hook, &out->hook);
}

static void ctl_status(void *ctx, struct ctl_status *out)
{
	struct run_ctx *rc = ctx;

	out->failover = colo_engine_in_failover(rc->engine);
	out->checkpoint_pending = rc->ckpt_pending;
	out->checkpoint_reason = rc->ckpt_reason;
	out->xen_connected = rc->xen && xen_server_connected(rc->xen);
	out->switch_ns = rc->own.switch_ns;
}

enum { PFD_P, PFD_S, PFD_XEN, PFD_CTL, PFD_HOOK, PFD_LINK, PFD_KEEPER, PFD_NR };

/*
 * Watch for our interfaces' deletion (or move to another namespace): the
 * sockets bound to them go deaf and the kernel says nothing on them, so
 * without this the loader would poll dead rings for ever.
 */
static int link_watch_open(struct run_ctx *rc)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK,
				  .nl_groups = RTMGRP_LINK };
	int fd, err;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    NETLINK_ROUTE);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		cli_err(CMD,
			"cannot watch the interfaces over RTNETLINK: %s; check that this kernel has it",
			strerror(-err));
		if (fd >= 0)
			close(fd);
		return err;
	}
	rc->link_fd = fd;
	return 0;
}

static void link_gone(struct run_ctx *rc, int r)
{
	if (rc->gone[r])
		return;
	rc->gone[r] = true;
	cli_err(CMD,
		"%s (%s) was deleted or left this network namespace: stopping; start colo-xdp run again once it is back",
		rc->ifname[r], cli_role_flag[r]);
	run_stop = 1;
}

/* Read every pending link event; a lost one means checking all of them. */
static void link_watch_handle(struct run_ctx *rc)
{
	char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
	const struct nlmsghdr *nh;
	const struct ifinfomsg *ifi;
	char name[IF_NAMESIZE];
	ssize_t len;
	int r;

	for (;;) {
		len = recv(rc->link_fd, buf, sizeof(buf), 0);
		if (len < 0 && errno == ENOBUFS) {
			for (r = 0; r < COLO_NR_ROLES; r++)
				if (!if_indextoname(
					    colo_steer_ifindex(rc->steer, r),
					    name))
					link_gone(rc, r);
			continue;
		}
		if (len <= 0)
			return;
		for (nh = (const struct nlmsghdr *)buf; NLMSG_OK(nh, len);
		     nh = NLMSG_NEXT(nh, len)) {
			if (nh->nlmsg_type != RTM_DELLINK ||
			    nh->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)))
				continue;
			ifi = NLMSG_DATA(nh);
			/* a port leaving a bridge: the interface stays */
			if (ifi->ifi_family == AF_BRIDGE)
				continue;
			for (r = 0; r < COLO_NR_ROLES; r++)
				if (ifi->ifi_index ==
				    colo_steer_ifindex(rc->steer, r))
					link_gone(rc, r);
		}
	}
}

/* Our keeper died (killed, OOM): without one, a crash would lose frames. */
static void keeper_lost(struct run_ctx *rc)
{
	pid_t was = rc->keeper.pid;
	int fds[XSK_DP_NR_FDS];

	keeper_stop(&rc->keeper);
	xsk_dp_fds(rc->dp, fds);
	if (keeper_start(colo_steer_pin_path(rc->steer), fds, XSK_DP_NR_FDS,
			 &rc->keeper) ||
	    colo_steer_set_keeper(rc->steer, rc->keeper.pid))
		return;
	printf("keeper pid %d exited: pid %d keeps the sockets and UMEM now\n",
	       was, rc->keeper.pid);
	fflush(stdout);
}

/* The controller's side of the loop: accept, read, answer, send. */
static void control(struct run_ctx *rc, struct pollfd *pfd, bool ready)
{
	if (ready && pfd[PFD_KEEPER].revents)
		keeper_lost(rc);
	if (ready && pfd[PFD_LINK].revents)
		link_watch_handle(rc);
	if (ready && pfd[PFD_XEN].revents)
		xen_server_handle(rc->xen);
	if (ready && pfd[PFD_CTL].revents)
		ctl_server_handle(rc->ctl);
	if (ready && pfd[PFD_HOOK].revents)
		ctl_hook_handle(rc->hook);
	if (rc->xen)
		xen_server_flush(rc->xen);
	if (rc->ctl)
		ctl_server_flush(rc->ctl);
}

static void loop(struct run_ctx *rc, const struct run_opts *o)
{
	struct pollfd pfd[PFD_NR] = {
		[PFD_P] = { .fd = xsk_dp_fd(rc->dp, COLO_ROLE_PRIMARY),
			    .events = POLLIN },
		[PFD_S] = { .fd = xsk_dp_fd(rc->dp, COLO_ROLE_SECONDARY),
			    .events = POLLIN },
		[PFD_XEN] = { .fd = rc->xen ? xen_server_fd(rc->xen) : -1,
			      .events = POLLIN },
		[PFD_CTL] = { .fd = rc->ctl ? ctl_server_fd(rc->ctl) : -1,
			      .events = POLLIN },
		[PFD_HOOK] = { .fd = -1, .events = POLLIN },
		[PFD_LINK] = { .fd = rc->link_fd, .events = POLLIN },
		[PFD_KEEPER] = { .fd = keeper_fd(&rc->keeper),
				 .events = POLLIN },
	};
	uint64_t stats_every = o->stats_interval_s * 1000000000ull;
	uint64_t now = cli_now_ns(), next_stats = now, next_ctl = now;
	/* what a previous loader left running went on without comparing */
	bool adopted = colo_steer_adopted_running(rc->steer);
	int timeout = RUN_POLL_MAX_MS, ready;
	unsigned int n;

	if (o->engine.expired_scan_cycle_ms < (uint32_t)timeout)
		timeout = o->engine.expired_scan_cycle_ms;
	if (o->steer.watchdog_ms / RUN_BEATS_PER_WATCHDOG < (uint32_t)timeout)
		timeout = o->steer.watchdog_ms / RUN_BEATS_PER_WATCHDOG;
	if (!adopted)
		degraded_frames(rc, &rc->degraded_seen);
	while (!run_stop) {
		now = cli_now_ns();
		if (colo_steer_heartbeat(rc->steer, now) > 0 || adopted) {
			loader_gap(rc,
				   adopted ? "adopted after a restart" :
					     "colo-xdp run stalled",
				   adopted, now);
			adopted = false;
		}
		n = take(rc, COLO_ROLE_PRIMARY, now);
		n += take(rc, COLO_ROLE_SECONDARY, now);
		colo_engine_tick(rc->engine, now);
		if (rc->gap_pending && now >= rc->gap_repeat_at) {
			rc->gap_repeat_at = now + rc->scan_cycle_ns;
			request_checkpoint(rc, RUN_CKPT_LOADER_GAP);
		}
		xsk_dp_service(rc->dp);
		if (now >= next_stats) {
			publish(rc);
			fflush(stdout);
			next_stats = now + stats_every;
		}
		if (n || o->busy_poll) {
			if (!n)
				xsk_dp_busy_poll(rc->dp);
			if (now < next_ctl)
				continue;
			ready = poll(pfd + PFD_XEN, PFD_NR - PFD_XEN, 0);
		} else {
			/* sleep shorter while the outdev still has frames to send */
			ready = poll(pfd, PFD_NR,
				     xsk_dp_tx_busy(rc->dp) ? 1 : timeout);
		}
		next_ctl = now + RUN_CTL_EVERY_NS;
		control(rc, pfd, ready > 0);
		/* a command may have started or reaped the hook's child */
		pfd[PFD_HOOK].fd = rc->hook ? ctl_hook_fd(rc->hook) : -1;
		pfd[PFD_KEEPER].fd = keeper_fd(&rc->keeper);
	}
}

/* Release what is queued, as a checkpoint would, and let it all leave. */
static void drain(struct run_ctx *rc)
{
	uint64_t taken = 0, now = cli_now_ns();
	unsigned int n;
	int waited = 0;

	/*
	 * Frames already on the RX rings left their guests before the stop:
	 * take them too, up to what both rings hold, since traffic goes on.
	 */
	do {
		n = take(rc, COLO_ROLE_PRIMARY, now);
		n += take(rc, COLO_ROLE_SECONDARY, now);
		taken += n;
	} while (n && taken < 2 * XSK_DP_RING_SIZE);
	colo_engine_checkpoint_done(rc->engine);
	for (;;) {
		/* colo_steer must not fail open while the last frames leave */
		colo_steer_heartbeat(rc->steer, cli_now_ns());
		xsk_dp_service(rc->dp);
		if (!xsk_dp_tx_busy(rc->dp))
			break;
		if (waited >= RUN_DRAIN_MS) {
			cli_err(CMD,
				"%s did not take every flushed frame in %d ms: they are lost; check that it is up",
				rc->outdev, RUN_DRAIN_MS);
			break;
		}
		poll(NULL, 0, 1);
		waited++;
	}
	publish(rc);
	if (rc->xen)
		xen_server_flush(rc->xen);
	if (rc->ctl)
		ctl_server_flush(rc->ctl);
}

static void on_signal(int sig)
{
	run_stop = 1;
}

static int set_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	/* no SA_RESTART: poll() returns at once on a signal */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL))
		return -errno;
	return 0;
}

int cmd_run(int argc, char **argv)
{
	static const struct colo_engine_ops ops = {
		.release = on_release,
		.free = on_free,
		.checkpoint = on_checkpoint,
		.mismatch = on_mismatch,
	};
	static const struct xen_server_ops xops = {
		.checkpoint_done = xen_checkpoint_done,
	};
	static const struct ctl_server_ops cops = {
		.checkpoint_done = ctl_checkpoint_done,
		.failover = ctl_failover,
		.resume = ctl_resume,
		.stats = ctl_stats,
		.status = ctl_status,
	};
	struct xsk_dp_config dcfg = {};
	struct colo_umem_report mem;
	struct run_ctx rc = {};
	bool compared = false;
	struct run_opts o;
	int ret, err, r;

	ret = parse_args(argc, argv, &o);
	if (ret >= 0)
		return ret;
	ret = 1;
	rc.verbose = o.verbose;
	rc.outdev = o.steer.ifname[COLO_ROLE_OUT];
	rc.scan_cycle_ns = o.engine.expired_scan_cycle_ms * 1000000ull;
	rc.link_fd = -1;
	if (check_caps() || check_af_xdp())
		goto out;
	if (o.pin_cpu && cli_pin_cpu(CMD, o.cpu))
		goto out;
	err = set_signals();
	if (err) {
		cli_err(CMD, "cannot handle SIGINT and SIGTERM: %s",
			strerror(-err));
		goto out;
	}
	/* the controller's channels first: a taken address fails fast */
	if (o.notify && xen_server_create(o.notify, &xops, &rc, &rc.xen))
		goto out;
	if (o.control.path &&
	    ctl_server_create(&o.control, &cops, &rc, &rc.ctl))
		goto out;
	if (o.hook_cmd && ctl_hook_create(o.hook_cmd, &rc.hook)) {
		cli_err(CMD, "--on-checkpoint-request: %s", strerror(ENOMEM));
		goto out;
	}
	if (o.dump_path && mismatch_dump_open(o.dump_path, &rc.dump))
		goto out;
	err = colo_engine_create(&o.engine, &ops, &rc, &rc.engine);
	if (err) {
		cli_err(CMD,
			"cannot create the comparison engine: %s; lower --max-connections or --umem-frames",
			strerror(-err));
		goto out;
	}
	err = colo_steer_open(&o.steer, &rc.steer);
	if (err)
		goto out;
	if (colo_steer_failed_over(rc.steer)) {
		colo_engine_failover(rc.engine);
		printf("the dead loader had failed over: colo_steer sends the primary's frames out alone until 'resume'\n");
	}
	/* before the sockets: a deletion from here on is seen in the loop */
	if (link_watch_open(&rc))
		goto out;

	for (r = 0; r < COLO_NR_ROLES; r++) {
		dcfg.ifname[r] = o.steer.ifname[r];
		rc.ifname[r] = o.steer.ifname[r];
	}
	dcfg.queue = o.steer.queue;
	dcfg.umem_frames = o.umem_frames;
	dcfg.frame_size = o.frame_size;
	dcfg.mem = &o.mem;
	dcfg.cpu = o.pin_cpu ? (int)o.cpu : -1;
	dcfg.force_copy = o.steer.skb_mode;
	dcfg.busy_poll = o.busy_poll;
	dcfg.busy_wait_ms = RUN_BUSY_WAIT_MS;
	err = datapath_open(&rc, &dcfg);
	if (err)
		goto out;
	for (r = COLO_ROLE_PRIMARY; r <= COLO_ROLE_SECONDARY; r++) {
		err = colo_steer_add_xsk(rc.steer, r, xsk_dp_fd(rc.dp, r));
		if (err)
			goto out;
	}
	take_adopted(&rc);

	printf("comparing %s (primary) with %s (secondary), out on %s: queue %u, %u frames of %u bytes\n",
	       o.steer.ifname[COLO_ROLE_PRIMARY],
	       o.steer.ifname[COLO_ROLE_SECONDARY],
	       o.steer.ifname[COLO_ROLE_OUT], o.steer.queue, o.umem_frames,
	       o.frame_size);
	if (!xsk_dp_umem_report(rc.dp, &mem)) {
		hostmem_report_print(&mem, stdout);
		colo_steer_set_umem(rc.steer, &mem);
	}
	if (rc.xen)
		printf("xen notify on %s\n", xen_server_address(rc.xen));
	if (rc.ctl)
		printf("control socket %s\n", o.control.path);
	fflush(stdout);
	compared = true;
	loop(&rc, &o);
	/* held frames cannot leave through an outdev that is gone */
	if (!rc.gone[COLO_ROLE_OUT])
		drain(&rc);
	printf("stopped\n");
	ret = 0;
	for (r = 0; r < COLO_NR_ROLES; r++)
		if (rc.gone[r])
			ret = 1;
out:
	if (rc.link_fd >= 0)
		close(rc.link_fd);
	if (mismatch_dump_close(rc.dump))
		ret = 1;
	ctl_hook_destroy(rc.hook);
	ctl_server_destroy(rc.ctl);
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
	if (rc.steer)
		colo_steer_close(rc.steer);
	xsk_dp_destroy(rc.dp);
	if (rc.engine)
		colo_engine_destroy(rc.engine);
	fflush(stdout);
	return ret;
}
