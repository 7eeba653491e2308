// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "log.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{ "run", cmd_run, "compare a primary and a secondary VM on XDP" },
	{ "secondary", cmd_secondary,
	  "forward and rewrite TCP for the secondary VM, in the kernel" },
	{ "replay", cmd_replay, "compare two pcap captures offline" },
	{ "chardev", cmd_chardev,
	  "QEMU's COLO frame channels (filter-redirector) on a tap" },
	{ "stat", cmd_stat, "show the counters of running instances" },
	{ "ctl", cmd_ctl,
	  "send a command to a running instance's control socket" },
	{ "keep", cmd_keep,
	  "(started by run) hold its sockets and UMEM across a crash" },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: colo-xdp COMMAND [FLAGS]\n\n"
		   "COLO network comparator on XDP and AF_XDP.\n\n"
		   "commands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name,
			commands[i].summary);
	fprintf(f, "\n'colo-xdp COMMAND --help' describes each command.\n");
}

int main(int argc, char **argv)
{
	size_t i;

	log_init("colo-xdp");
	log_hook_libs();
	if (argc < 2) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name)) {
			log_set_command(commands[i].name);
			return commands[i].fn(argc - 1, argv + 1);
		}
	log_err("unknown command '%s' (see 'colo-xdp --help')", argv[1]);
	return CLI_EXIT_USAGE;
}
