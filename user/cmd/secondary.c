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
#include "link_watch.h"
#include "log.h"
#include "pins.h"
#include "rewrite.h"
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
	bool verbose;
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
		"handshake, whichever side opened it.\n",
	.opts = secondary_opts,
	.footer =
		"Stops on SIGINT or SIGTERM, detaching what it attached and removing\n"
		"its pins. Its counters: 'colo-xdp stat'.\n",
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

/* Until a stop, or an interface gone: its program went with it. */
static int loop(struct rewrite *rw, struct sweep *sw,
		const struct secondary_opts *o, struct link_watch *links)
{
	static const char *const flag[] = { "--vm", "--link" };
	const char *name[] = { o->rw.vm, o->rw.link };
	struct pollfd pfd = { .fd = links->fd, .events = POLLIN };
	struct colo_rw_sweep_stats st = {};
	int every = sweep_every_ms(&o->t);
	unsigned int gone;
	int i;

	while (!cli_stop) {
		if (poll(&pfd, 1, every) > 0) {
			gone = link_watch_handle(links);
			for (i = 0; i < 2; i++)
				if (gone & 1u << i)
					cli_err(CMD,
						"%s (%s) was deleted or left this network namespace: stopping; start colo-xdp secondary again once it is back",
						name[i], flag[i]);
			if (gone)
				return 1;
		}
		if (!sweep_run(sw, rewrite_epoch(rw), cli_now_ns(), &st))
			rewrite_publish(rw, &st);
	}
	return 0;
}

int cmd_secondary(int argc, char **argv)
{
	struct link_watch links = { .fd = -1 };
	struct secondary_opts o;
	struct rewrite *rw = NULL;
	struct sweep *sw = NULL;
	int ret, err, ifindex[2];

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
	if (link_watch_open(&links, ifindex, 2))
		goto out;
	printf("rewriting between %s (vm) and %s (link): %s on %s (XDP), %s on %s (tc), up to %u connections, pinned in %s\n",
	       o.rw.vm, o.rw.link, COLO_RW_PROG_IN, o.rw.link, COLO_RW_PROG_OUT,
	       o.rw.vm, o.rw.max_conns, rewrite_pin_path(rw));
	fflush(stdout);
	ret = loop(rw, sw, &o, &links);
	printf("stopped\n");
out:
	link_watch_close(&links);
	sweep_destroy(sw);
	rewrite_close(rw);
	fflush(stdout);
	return ret;
}
