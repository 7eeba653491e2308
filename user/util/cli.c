// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <sched.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"

volatile sig_atomic_t cli_stop;

const char *const cli_role_flag[COLO_NR_ROLES] = {
	[COLO_ROLE_PRIMARY] = "--primary-in",
	[COLO_ROLE_SECONDARY] = "--secondary-in",
	[COLO_ROLE_OUT] = "--outdev",
};

void cli_err(const char *subcmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vsub(LOG_ERR, subcmd, fmt, ap);
	va_end(ap);
}

int cli_parse_u32(const char *subcmd, const char *flag, const char *arg,
		  uint32_t min, uint32_t max, uint32_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-' || v < min ||
	    v > max) {
		cli_err(subcmd, "%s: '%s' is not a number from %u to %u", flag,
			arg, min, max);
		return -EINVAL;
	}
	*out = (uint32_t)v;
	return 0;
}

const char *cli_cmd_name(const char *subcmd, char *buf, size_t len)
{
	const char *prog = log_name();

	if (!prog || !strcmp(prog, subcmd))
		return subcmd;
	snprintf(buf, len, "%s %s", prog, subcmd);
	return buf;
}

int cli_bad_option(const char *subcmd, char **argv, int ret)
{
	const char *arg = argv[optind - 1];
	char shortopt[3] = { '-', (char)optopt, 0 }, name[64];
	const char *help;
	int n = (int)strcspn(arg, "=");

	/* a short flag may sit inside a "-ab" cluster: name it alone */
	if (strncmp(arg, "--", 2) && optopt > ' ' && optopt < 127) {
		arg = shortopt;
		n = 2;
	}
	help = cli_cmd_name(subcmd, name, sizeof(name));
	if (ret == ':')
		cli_err(subcmd, "%.*s needs a value (see '%s --help')", n, arg,
			help);
	else
		cli_err(subcmd, "unknown flag '%.*s' (see '%s --help')", n, arg,
			help);
	return CLI_EXIT_USAGE;
}

int cli_pin_cpu(const char *subcmd, uint32_t cpu)
{
	cpu_set_t set;
	int err;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		err = -errno;
		cli_err(subcmd, "--cpu %u: %s; pick a CPU this process may use",
			cpu, strerror(-err));
		return err;
	}
	return 0;
}

static void on_stop(int sig)
{
	cli_stop = 1;
}

int cli_catch_stop(void)
{
	struct sigaction sa = { .sa_handler = on_stop };

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL))
		return -errno;
	return 0;
}
