// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * colo-ctlsim: colo-xdp's control plane (Xen notify server, control
 * socket, --on-checkpoint-request, --mismatch-dump) in a poll loop, as
 * `colo-xdp run` drives it, with a fake engine side instead of AF_XDP:
 * the tests drive it through stdin and real sockets.
 *
 * stdin, one command per line:
 *   checkpoint REASON   the engine asks for a checkpoint (mismatch, timeout,
 *                       queue-full, no-buffers, table-full)
 *   mismatch            a TCP mismatch at stream position 1000, byte 7
 *   degraded TEXT       a degraded event
 *   quit
 * stdout: "xen ADDR" and "control PATH" once listening, "ready", then
 * "checkpoint-done xen|control", "failover", "resume" as the callbacks
 * run, and "done COMMAND" once each stdin command is processed.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netinet/in.h>

#include "cli.h"
#include "cli_opts.h"
#include "ctl_server.h"
#include "engine.h"
#include "frames.h"
#include "hook.h"
#include "log.h"
#include "mismatch_dump.h"
#include "xen_proto.h"

#define CMD "colo-ctlsim"

struct sim {
	struct ctl_server *ctl;
	struct xen_server *xen;
	struct ctl_hook *hook;
	struct mismatch_dump *dump;
	struct colo_engine_stats eng;
	bool failover;
	bool pending;
	enum colo_ckpt_reason reason;
};

static volatile sig_atomic_t sim_stop;

static void on_signal(int sig)
{
	sim_stop = 1;
}

static void checkpoint_done(struct sim *s, const char *by)
{
	s->eng.checkpoints++;
	s->pending = false;
	printf("checkpoint-done %s\n", by);
	fflush(stdout);
}

static void xen_checkpoint_done(void *ctx)
{
	checkpoint_done(ctx, "xen");
}

static int ctl_checkpoint_done(void *ctx)
{
	checkpoint_done(ctx, "control");
	return 0;
}

static int ctl_failover(void *ctx)
{
	struct sim *s = ctx;

	if (s->failover)
		return -EALREADY;
	s->failover = true;
	printf("failover\n");
	fflush(stdout);
	return 0;
}

static int ctl_resume(void *ctx)
{
	struct sim *s = ctx;

	if (!s->failover)
		return -EALREADY;
	s->failover = false;
	printf("resume\n");
	fflush(stdout);
	return 0;
}

static void ctl_stats(void *ctx, struct ctl_stats *out)
{
	struct sim *s = ctx;

	out->loader.engine = s->eng;
	out->loader.dp.pool_size = 4096;
	out->loader.dp.pool_free = 4096;
	if (s->xen)
		xen_server_stats(s->xen, &out->xen);
	if (s->hook)
		ctl_hook_stats(s->hook, &out->hook);
}

static void ctl_status(void *ctx, struct ctl_status *out)
{
	struct sim *s = ctx;

	out->failover = s->failover;
	out->checkpoint_pending = s->pending;
	out->checkpoint_reason = s->reason;
	out->xen_connected = s->xen && xen_server_connected(s->xen);
}

/* What run.c's engine checkpoint callback does. */
static void request_checkpoint(struct sim *s, enum colo_ckpt_reason reason)
{
	s->eng.ckpt_requests[reason]++;
	s->pending = true;
	s->reason = reason;
	if (s->xen)
		xen_server_request_checkpoint(s->xen);
	if (s->ctl)
		ctl_server_event_checkpoint(s->ctl, reason);
	if (s->hook)
		ctl_hook_request(s->hook, reason);
}

static void mismatch(struct sim *s)
{
	static const char pp[] = "hello, primary", sp[] = "hello, secondary";
	struct frame_spec spec = {
		.proto = IPPROTO_TCP,
		.sport = 40000,
		.dport = 80,
		.seq = 1000,
		.tcp_flags = 0x18,
	};
	struct colo_mismatch m = {
		.primary_handle = 1,
		.secondary_handle = 2,
		.offset = 7,
		.seq = 1007,
	};
	struct colo_flow_key key = {
		.saddr = { 10, 0, 0, 1 },
		.daddr = { 10, 0, 0, 2 },
		.sport = 40000,
		.dport = 80,
		.proto = IPPROTO_TCP,
		.ipver = 4,
	};
	uint8_t p[256], sec[256];
	int pl, sl;

	m.key = &key;
	s->eng.mismatches++;
	if (s->ctl)
		ctl_server_event_mismatch(s->ctl, &m);
	if (s->dump) {
		spec.payload = pp;
		spec.payload_len = sizeof(pp) - 1;
		pl = frame_build(&spec, p, sizeof(p));
		spec.payload = sp;
		spec.payload_len = sizeof(sp) - 1;
		sl = frame_build(&spec, sec, sizeof(sec));
		mismatch_dump_pair(s->dump, p, pl, sec, sl);
	}
	request_checkpoint(s, COLO_CKPT_MISMATCH);
}

static int reason_of(const char *name, enum colo_ckpt_reason *out)
{
	int r;

	for (r = 0; r < COLO_CKPT_REASON_MAX; r++)
		if (!strcmp(name, colo_ckpt_reason_name(r))) {
			*out = r;
			return 0;
		}
	return -EINVAL;
}

/* Returns false on quit. */
static bool stdin_command(struct sim *s, char *l)
{
	enum colo_ckpt_reason reason;
	char *arg;

	arg = strchr(l, ' ');
	if (arg)
		*arg++ = 0;
	if (!strcmp(l, "quit"))
		return false;
	if (!strcmp(l, "checkpoint") && arg && !reason_of(arg, &reason))
		request_checkpoint(s, reason);
	else if (!strcmp(l, "mismatch"))
		mismatch(s);
	else if (!strcmp(l, "degraded") && arg && s->ctl)
		ctl_server_event_degraded(s->ctl, arg);
	else
		cli_err(CMD, "unknown stdin command '%s'", l);
	printf("done %s\n", l);
	fflush(stdout);
	return true;
}

static void loop(struct sim *s)
{
	struct pollfd pfd[4] = {
		{ .fd = 0, .events = POLLIN },
		{ .fd = s->xen ? xen_server_fd(s->xen) : -1, .events = POLLIN },
		{ .fd = s->ctl ? ctl_server_fd(s->ctl) : -1, .events = POLLIN },
		{ .fd = -1, .events = POLLIN },
	};
	char in[1024], *nl;
	size_t len = 0;
	ssize_t n;

	while (!sim_stop) {
		pfd[3].fd = s->hook ? ctl_hook_fd(s->hook) : -1;
		if (poll(pfd, 4, 100) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents) {
			n = read(0, in + len, sizeof(in) - 1 - len);
			if (n <= 0)
				break;
			len += n;
			in[len] = 0;
			while ((nl = strchr(in, '\n'))) {
				*nl = 0;
				if (!stdin_command(s, in))
					return;
				len -= nl + 1 - in;
				memmove(in, nl + 1, len + 1);
			}
			if (len == sizeof(in) - 1)
				len = 0;
		}
		if (pfd[1].revents)
			xen_server_handle(s->xen);
		if (pfd[2].revents)
			ctl_server_handle(s->ctl);
		if (pfd[3].fd >= 0 && pfd[3].revents)
			ctl_hook_handle(s->hook);
		if (s->xen)
			xen_server_flush(s->xen);
		if (s->ctl)
			ctl_server_flush(s->ctl);
	}
}

/* colo-xdp run's control-plane flags, named alike: a test drives both so. */
struct ctlsim_opts {
	struct ctl_server_config ctl;
	const char *notify;
	const char *hook;
	const char *dump;
};

/* clang-format off */
static const struct cli_opt ctlsim_opts[] = {
	{ .type = CLI_OPT_STRING, .name = "control", .arg = "PATH",
	  .off = offsetof(struct ctlsim_opts, ctl.path), .what = "a file name",
	  .help = "JSON control socket, as 'colo-xdp ctl' talks to" },
	{ .type = CLI_OPT_STRING, .name = "notify",
	  .arg = "xen:tcp:ADDR:PORT|xen:unix:PATH",
	  .off = offsetof(struct ctlsim_opts, notify), .what = "an address",
	  .help = "serve the Xen COLO proxy protocol (libxl)" },
	{ .type = CLI_OPT_STRING, .name = "on-checkpoint-request",
	  .arg = "CMD", .off = offsetof(struct ctlsim_opts, hook),
	  .what = "a shell command",
	  .help = "run '/bin/sh -c CMD' per request, the reason in\n"
		  "$COLO_CHECKPOINT_REASON" },
	{ .type = CLI_OPT_STRING, .name = "mismatch-dump", .arg = "FILE",
	  .off = offsetof(struct ctlsim_opts, dump), .what = "a file name",
	  .help = "write both frames of each mismatch to a pcap file" },
	{ .type = CLI_OPT_END },
};
/* clang-format on */

static const struct cli_cmd ctlsim_cmd = {
	.name = CMD,
	.usage = "[FLAGS]",
	.about =
		"colo-xdp's control plane against a fake engine, driven on stdin (for tests).\n",
	.opts = ctlsim_opts,
};

int main(int argc, char **argv)
{
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
	struct sigaction sa = { .sa_handler = on_signal };
	struct ctlsim_opts o = {};
	struct sim s = {};
	int ret;

	log_init(CMD);
	ret = cli_opts_parse(&ctlsim_cmd, argc, argv, &o, sizeof(o), NULL);
	if (ret >= 0)
		return ret;
	ret = 1;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (o.notify && xen_server_create(o.notify, &xops, &s, &s.xen))
		goto out;
	if (o.ctl.path && ctl_server_create(&o.ctl, &cops, &s, &s.ctl))
		goto out;
	if (o.hook && ctl_hook_create(o.hook, &s.hook)) {
		cli_err(CMD, "--on-checkpoint-request: out of memory");
		goto out;
	}
	if (o.dump && mismatch_dump_open(o.dump, &s.dump))
		goto out;
	if (s.xen)
		printf("xen %s\n", xen_server_address(s.xen));
	if (s.ctl)
		printf("control %s\n", o.ctl.path);
	printf("ready\n");
	fflush(stdout);
	loop(&s);
	ret = 0;
out:
	if (mismatch_dump_close(s.dump))
		ret = 1;
	ctl_hook_destroy(s.hook);
	ctl_server_destroy(s.ctl);
	xen_server_destroy(s.xen);
	return ret;
}
