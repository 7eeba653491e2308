// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * colo-xdp secondary: the secondary host's agent. It attaches the
 * rewriter (rewrite.c) between the secondary VM's interface and the link
 * to the primary host, then only sweeps the connection table and
 * publishes what it did, until SIGINT or SIGTERM; the frames never pass
 * through it.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_opts.h"
#include "commands.h"
#include "ctl_server.h"
#include "json.h"
#include "link_watch.h"
#include "log.h"
#include "pins.h"
#include "rewrite.h"
#include "secondary_fields.h"
#include "sweep.h"

#define CMD "secondary"
#define SECONDARY_MAX_MS 86400000u
#define SECONDARY_MAX_CONNS (1u << 24)
/* The sweep runs this often, or four times per shortest timeout. */
#define SECONDARY_SWEEP_MS 1000
#define SECONDARY_SWEEP_MIN_MS 10

struct secondary_opts {
	struct rewrite_opts rw;
	struct sweep_timeouts t;
	struct ctl_server_config control; /* path NULL: no --control */
	bool verbose;
};

/* What the control socket's commands act on. */
struct secondary_ctx {
	struct rewrite *rw;
	const struct secondary_opts *o;
	uint64_t switch_ns;
};

static const char *const xdp_modes[] = { "native", "skb", NULL };

#define TIMEOUT_OPT(flag, field, text)                                     \
	{                                                                  \
		.type = CLI_OPT_U32, .name = (flag), .arg = "MS",          \
		.off = offsetof(struct secondary_opts, t.field), .min = 1, \
		.max = SECONDARY_MAX_MS, .help = (text)                    \
	}

/* clang-format off */
static const struct cli_opt secondary_opts[] = {
	CLI_OPT_CONFIG_FILE,
	{ .type = CLI_OPT_STRING, .name = "vm", .arg = "IF",
	  .off = offsetof(struct secondary_opts, rw.vm),
	  .what = "an interface name", .required = true,
	  .help = "interface of the secondary VM (its tap)" },
	{ .type = CLI_OPT_STRING, .name = "link", .arg = "IF",
	  .off = offsetof(struct secondary_opts, rw.link),
	  .what = "an interface name", .required = true,
	  .help = "interface towards the primary host, whose far\n"
		  "end is its --secondary-in" },
	{ .type = CLI_OPT_STRING, .name = "failover-out", .arg = "IF",
	  .off = offsetof(struct secondary_opts, rw.failover_out),
	  .what = "an interface name", .def = "the link",
	  .help = "where the VM's frames go once the primary host is\n"
		  "gone ('colo-xdp ctl failover'): towards the clients" },
	{ .type = CLI_OPT_STRING, .name = "control", .arg = "PATH",
	  .off = offsetof(struct secondary_opts, control.path),
	  .what = "a file name",
	  .help = "JSON control socket for 'colo-xdp ctl' (root only):\n"
		  "checkpoint-done, failover, stats, status, subscribe" },
	{ .type = CLI_OPT_FUNC, .name = "pair-token", .arg = "HEX",
	  .off = offsetof(struct secondary_opts, rw.pair_token),
	  .parse = cli_parse_pair_token, .def = "0",
	  .help = "the secret 'colo-xdp run --pair-token' gives: its\n"
		  "checkpoint frames are refused without it" },
	{ .type = CLI_OPT_U32, .name = "max-connections", .arg = "N",
	  .off = offsetof(struct secondary_opts, rw.max_conns), .min = 1,
	  .max = SECONDARY_MAX_CONNS,
	  .help = "TCP connections tracked at once; a new one\n"
		  "beyond is not rewritten, and counted" },
	TIMEOUT_OPT("idle-timeout", idle_ms,
		    "forget a connection with no frame this long"),
	TIMEOUT_OPT("syn-timeout", syn_ms,
		    "forget a handshake that did not complete"),
	TIMEOUT_OPT("close-timeout", close_ms,
		    "keep a closed connection this long, for the\n"
		    "retransmissions of its last segments"),
	{ .type = CLI_OPT_BOOL, .name = "xdp-mode", .arg = "native|skb",
	  .off = offsetof(struct secondary_opts, rw.skb_mode),
	  .choices = xdp_modes,
	  .help = "XDP driver mode or generic mode on the link" },
	{ .type = CLI_OPT_FUNC, .name = "pin-path", .arg = "DIR",
	  .off = offsetof(struct secondary_opts, rw.pin_path),
	  .parse = cli_parse_pin_path,
	  .def = COLO_PIN_ROOT "/" SECONDARY_PIN_PREFIX "<vm>",
	  .help = "where to pin maps" },
	{ .type = CLI_OPT_FLAG, .name = "verbose",
	  .off = offsetof(struct secondary_opts, verbose),
	  .help = "log the setup steps and libbpf's messages" },
	{ .type = CLI_OPT_END },
};
/* clang-format on */

static const struct cli_cmd secondary_cmd = {
	.name = CMD,
	.usage = "--vm IF --link IF [FLAGS]",
	.about =
		"The secondary host's side of the proxy, in the kernel: the VM's frames go\n"
		"out of the link to the primary host, the mirrored client frames coming in\n"
		"on the link go to the VM, and TCP is rewritten both ways, as QEMU's\n"
		"filter-rewriter does: sequence numbers, SACK blocks and timestamps map\n"
		"between the secondary's spaces and the primary's, learned at each\n"
		"handshake, whichever side opened it. 'colo-xdp run' on the primary host\n"
		"tells it each checkpoint done (a frame on the link), which clears them.\n",
	.opts = secondary_opts,
	.footer =
		"Stops on SIGINT or SIGTERM, detaching what it attached and removing\n"
		"its pins. SIGKILL leaves the rewriter running in the kernel, attached\n"
		"and pinned; started again with the same interfaces, pin path,\n"
		"--failover-out and --max-connections, it takes that over: the\n"
		"connections keep their offsets, the counters and the sweep go on.\n"
		"Its counters: 'colo-xdp stat'.\n",
};

static int parse(int argc, char **argv, struct secondary_opts *o)
{
	int ret;

	memset(o, 0, sizeof(*o));
	o->rw.max_conns = COLO_RW_CONNS_DEFAULT;
	o->t.idle_ms = SWEEP_IDLE_MS;
	o->t.syn_ms = SWEEP_SYN_MS;
	o->t.close_ms = SWEEP_CLOSE_MS;
	ret = cli_opts_parse(&secondary_cmd, argc, argv, o, sizeof(*o), NULL);
	if (ret >= 0)
		return ret;
	if (!strcmp(o->rw.vm, o->rw.link)) {
		cli_err(CMD,
			"--vm and --link are both %s: give two different interfaces",
			o->rw.vm);
		return CLI_EXIT_USAGE;
	}
	if (o->verbose)
		log_set_level(LOG_DEBUG);
	return -1;
}

/* Often enough that nothing outlives its timeout by more than a quarter. */
static int sweep_every_ms(const struct sweep_timeouts *t)
{
	uint32_t ms = SECONDARY_SWEEP_MS;

	if (t->idle_ms / 4 < ms)
		ms = t->idle_ms / 4;
	if (t->syn_ms / 4 < ms)
		ms = t->syn_ms / 4;
	if (t->close_ms / 4 < ms)
		ms = t->close_ms / 4;
	return ms < SECONDARY_SWEEP_MIN_MS ? SECONDARY_SWEEP_MIN_MS : (int)ms;
}

static int ctl_checkpoint_done(void *ctx)
{
	struct secondary_ctx *sc = ctx;

	rewrite_checkpoint_done(sc->rw);
	printf("checkpoint done (control socket): offsets cleared\n");
	fflush(stdout);
	return 0;
}

static int ctl_failover(void *ctx)
{
	struct secondary_ctx *sc = ctx;
	int err = rewrite_failover(sc->rw, &sc->switch_ns);

	if (err)
		return err;
	printf("failover: the VM's frames go out of %s, tracked connections keep their offsets, switched in %llu us\n",
	       sc->o->rw.failover_out ?: sc->o->rw.link,
	       (unsigned long long)sc->switch_ns / 1000);
	fflush(stdout);
	return 0;
}

static void ctl_status(void *ctx, struct ctl_status *out)
{
	struct secondary_ctx *sc = ctx;

	out->failover = rewrite_in_failover(sc->rw);
	out->switch_ns = sc->switch_ns;
}

static void ctl_status_json(void *ctx, struct json_out *o)
{
	struct secondary_ctx *sc = ctx;
	struct secondary_view v;

	json_out_str(o, "state",
		     rewrite_in_failover(sc->rw) ? "failover" : "forwarding");
	json_out_str(o, "vm", sc->o->rw.vm);
	json_out_str(o, "link", sc->o->rw.link);
	json_out_str(o, "failover_out",
		     sc->o->rw.failover_out ?: sc->o->rw.link);
	json_out_u64(o, "epoch", rewrite_epoch(sc->rw));
	if (!secondary_pins_read(rewrite_pin_path(sc->rw), &v))
		json_out_u64(o, "connections", v.rec.sweep.conns);
}

/* The rewriter's counters and the sweep's, as `colo-xdp stat` names them. */
static void ctl_stats_json(void *ctx, struct json_out *o)
{
	struct secondary_ctx *sc = ctx;
	struct secondary_view v;
	unsigned int i;

	if (secondary_pins_read(rewrite_pin_path(sc->rw), &v))
		return;
	for (i = 0; i < secondary_rw_fields_n; i++)
		json_out_u64(o, secondary_rw_fields[i].name,
			     colo_counter_get(&v.st, &secondary_rw_fields[i]));
	for (i = 0; i < secondary_sweep_fields_n; i++)
		json_out_u64(o, secondary_sweep_fields[i].name,
			     colo_counter_get(&v.rec.sweep,
					      &secondary_sweep_fields[i]));
	json_out_u64(o, "ctl_checkpoints", v.rec.ctl_checkpoints);
	json_out_u64(o, "epoch", rewrite_epoch(sc->rw));
}

static const struct ctl_server_ops secondary_ctl_ops = {
	.checkpoint_done = ctl_checkpoint_done,
	.failover = ctl_failover,
	.status = ctl_status,
	.status_json = ctl_status_json,
	.stats_json = ctl_stats_json,
};

/* Until a stop, or an interface gone: its program went with it. */
static int loop(struct rewrite *rw, struct sweep *sw,
		const struct secondary_opts *o, struct link_watch *links,
		struct ctl_server *ctl)
{
	static const char *const flag[] = { "--vm", "--link",
					    "--failover-out" };
	const char *name[] = { o->rw.vm, o->rw.link, o->rw.failover_out };
	struct pollfd pfd[2] = {
		{ .fd = links->fd, .events = POLLIN },
		{ .fd = ctl ? ctl_server_fd(ctl) : -1, .events = POLLIN },
	};
	/* a takeover's go on from the dead agent's */
	struct colo_rw_sweep_stats st = *rewrite_sweep_stats(rw);
	int every = sweep_every_ms(&o->t);
	uint64_t next = 0, now;
	unsigned int gone;
	int i;

	while (!cli_stop) {
		if (ctl)
			ctl_server_flush(ctl);
		if (poll(pfd, 2, every) > 0 && pfd[0].revents) {
			gone = link_watch_handle(links);
			for (i = 0; i < 3; i++)
				if (gone & 1u << i)
					cli_err(CMD,
						"%s (%s) was deleted or left this network namespace: stopping; start colo-xdp secondary again once it is back",
						name[i], flag[i]);
			if (gone)
				return 1;
		}
		if (ctl && pfd[1].revents)
			ctl_server_handle(ctl);
		/* a busy control socket does not hurry the sweep */
		now = cli_now_ns();
		if (now < next)
			continue;
		next = now + every * 1000000ull;
		if (!sweep_run(sw, rewrite_epoch(rw), now, &st))
			rewrite_publish(rw, &st);
	}
	return 0;
}

int cmd_secondary(int argc, char **argv)
{
	struct link_watch links = { .fd = -1 };
	struct ctl_server *ctl = NULL;
	struct secondary_ctx sc = {};
	struct secondary_opts o;
	struct rewrite *rw = NULL;
	struct sweep *sw = NULL;
	int ret, err, ifindex[3], nlinks = 2;

	ret = parse(argc, argv, &o);
	if (ret >= 0)
		return ret;
	ret = 1;
	err = cli_catch_stop();
	if (err) {
		cli_err(CMD, "cannot handle SIGINT and SIGTERM: %s",
			strerror(-err));
		goto out;
	}
	if (rewrite_open(&o.rw, &rw))
		goto out;
	if (sweep_create(rewrite_conns_fd(rw), &o.t, &sw))
		goto out;
	rewrite_ifindex(rw, ifindex);
	if (ifindex[2])
		nlinks = 3;
	if (link_watch_open(&links, ifindex, nlinks))
		goto out;
	sc.rw = rw;
	sc.o = &o;
	if (o.control.path &&
	    ctl_server_create(&o.control, &secondary_ctl_ops, &sc, &ctl))
		goto out;
	printf("rewriting between %s (vm) and %s (link): %s on %s (XDP), %s on %s (tc), up to %u connections, pinned in %s\n",
	       o.rw.vm, o.rw.link, COLO_RW_PROG_IN, o.rw.link, COLO_RW_PROG_OUT,
	       o.rw.vm, o.rw.max_conns, rewrite_pin_path(rw));
	if (rewrite_took_over(rw))
		printf("took over the agent of pid %u (%llu connections at its last sweep): their offsets kept, the counters and the sweep go on%s\n",
		       rewrite_took_over(rw),
		       (unsigned long long)rewrite_sweep_stats(rw)->conns,
		       rewrite_in_failover(rw) ? ", failed over" : "");
	fflush(stdout);
	ret = loop(rw, sw, &o, &links, ctl);
	printf("stopped\n");
out:
	ctl_server_destroy(ctl);
	link_watch_close(&links);
	sweep_destroy(sw);
	rewrite_close(rw);
	fflush(stdout);
	return ret;
}
