// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * colo-xdp chardev: QEMU's COLO frame channels on a tap device (bridge.h).
 * A stock QEMU's filter-redirector (outdev) feeds the tap, which `colo-xdp
 * run` compares as a primary's or secondary's; frames the host sends out
 * of the tap (run's mirror) go to a filter-redirector's indev. Flags and
 * their errors here; the bridge is the chardev component's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"
#include "cli.h"
#include "cli_opts.h"
#include "commands.h"
#include "log.h"
#include "pin_dir.h"

#define CMD "chardev"

struct chardev_opts {
	struct bridge_cfg b;
	bool verbose;
};

/* "--vnet-hdr" (12) or "--vnet-hdr=LEN": LEN 0, 10 or 12. */
static int parse_vnet(const char *cmd, const struct cli_opt *opt, void *field,
		      const char *arg)
{
	struct bridge_cfg *b = field;

	b->vnet = true;
	b->vnet_len = 12;
	if (!arg)
		return 0;
	if (!strcmp(arg, "0") || !strcmp(arg, "10") || !strcmp(arg, "12")) {
		b->vnet_len = strtoul(arg, NULL, 10);
		return 0;
	}
	cli_err(cmd,
		"--vnet-hdr=%s: expected 0, 10 or 12, the vnet_hdr_len of QEMU's netdev (12 for virtio-net on a tap with vnet_hdr=on, 0 for a netdev without one)",
		arg);
	return -EINVAL;
}

/* clang-format off */
static const struct cli_opt chardev_opts[] = {
	{ .type = CLI_OPT_STRING, .name = "tap", .arg = "IF",
	  .off = offsetof(struct chardev_opts, b.tap),
	  .what = "an interface name", .required = true,
	  .help = "the tap device to bridge (ip tuntap add dev IF mode tap);\n"
		  "give it to 'colo-xdp run' as --primary-in or --secondary-in" },
	{ .type = CLI_OPT_STRING, .name = "in", .arg = "ADDR",
	  .off = offsetof(struct chardev_opts, b.spec[COLO_CHARDEV_IN]),
	  .what = "an address", .no_default = true,
	  .help = "frames from QEMU into the tap: the chardev of a\n"
		  "filter-redirector's outdev. ADDR: unix:PATH or\n"
		  "tcp:ADDR:PORT, connected to (QEMU's server=on);\n"
		  "listen:unix:PATH or listen:tcp:ADDR:PORT to listen" },
	{ .type = CLI_OPT_STRING, .name = "out", .arg = "ADDR",
	  .off = offsetof(struct chardev_opts, b.spec[COLO_CHARDEV_OUT]),
	  .what = "an address", .no_default = true,
	  .help = "frames out of the tap to QEMU: the chardev of a\n"
		  "filter-redirector's indev (queue=tx), as filter-mirror\n"
		  "would send them; ADDR as for --in" },
	{ .type = CLI_OPT_FUNC, .name = "vnet-hdr", .arg = "LEN",
	  .arg_optional = true,
	  .off = offsetof(struct chardev_opts, b),
	  .parse = parse_vnet, .def = "off",
	  .help = "the channels carry a vnet header length, as with the\n"
		  "filters' vnet_hdr_support=on; LEN is the vnet_hdr_len of\n"
		  "QEMU's netdev: 12 (without =LEN) for virtio-net on a tap\n"
		  "with vnet_hdr=on, 0 for a netdev without a header" },
	{ .type = CLI_OPT_U32, .name = "reconnect", .arg = "MS",
	  .off = offsetof(struct chardev_opts, b.retry_ms), .min = 1,
	  .max = 3600000,
	  .help = "connect again this long after a failure or a loss" },
	{ .type = CLI_OPT_U32, .name = "batch", .arg = "N",
	  .off = offsetof(struct chardev_opts, b.batch), .min = 1,
	  .max = 512,
	  .help = "frames read from the tap per send to --out" },
	{ .type = CLI_OPT_FUNC, .name = "pin-path", .arg = "DIR",
	  .off = offsetof(struct chardev_opts, b.pin_path),
	  .parse = cli_parse_pin_path,
	  .def = COLO_PIN_ROOT "/" COLO_CHARDEV_PREFIX "<tap>",
	  .help = "where to pin the record 'colo-xdp stat' reads" },
	{ .type = CLI_OPT_FLAG, .name = "verbose",
	  .off = offsetof(struct chardev_opts, verbose),
	  .help = "log the setup steps" },
	{ .type = CLI_OPT_END },
};
/* clang-format on */

static const struct cli_cmd chardev_cmd = {
	.name = CMD,
	.usage = "--tap IF [--in ADDR] [--out ADDR] [FLAGS]",
	.about =
		"QEMU's COLO frame channels on a tap device: frames a filter-redirector\n"
		"sends (4-byte big-endian length, the vnet header length with\n"
		"vnet_hdr_support=on, the frame) are written into the tap, where\n"
		"'colo-xdp run' takes them as a VM's output; frames the host sends out of\n"
		"the tap go to a filter-redirector's indev in the same framing. A peer\n"
		"that breaks the framing is closed and counted; a client connects again.\n",
	.opts = chardev_opts,
	.footer =
		"Stops on SIGINT or SIGTERM. Its counters: 'colo-xdp stat', on SIGUSR1\n"
		"and at the end on stderr.\n",
};

int cmd_chardev(int argc, char **argv)
{
	struct chardev_opts o = { .b.retry_ms = 500, .b.batch = 64 };
	int ret;

	ret = cli_opts_parse(&chardev_cmd, argc, argv, &o, sizeof(o), NULL);
	if (ret >= 0)
		return ret;
	if (!o.b.spec[COLO_CHARDEV_IN] && !o.b.spec[COLO_CHARDEV_OUT]) {
		cli_err(CMD,
			"nothing to bridge: give --in ADDR (a filter-redirector's outdev), --out ADDR (its indev), or both");
		return CLI_EXIT_USAGE;
	}
	if (o.b.spec[COLO_CHARDEV_IN] && o.b.spec[COLO_CHARDEV_OUT] &&
	    !strcmp(o.b.spec[COLO_CHARDEV_IN], o.b.spec[COLO_CHARDEV_OUT])) {
		cli_err(CMD,
			"--in and --out are both %s: give two channels, as QEMU's filters take one chardev each",
			o.b.spec[COLO_CHARDEV_IN]);
		return CLI_EXIT_USAGE;
	}
	if (o.verbose)
		log_set_level(LOG_DEBUG);
	if (cli_catch_stop())
		return 1;
	ret = bridge_run(&o.b);
	if (ret == -EINVAL)
		return CLI_EXIT_USAGE;
	return ret ? 1 : 0;
}
