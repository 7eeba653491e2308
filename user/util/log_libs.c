// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdio.h>

#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "log.h"

/*
 * The libraries end their lines with a newline, and some print a line in
 * pieces (libbpf's verifier log): passed on as they come, after the level
 * check, without the program's prefix.
 */
static int pass_on(enum log_level level, const char *fmt, va_list ap)
{
	if (!log_enabled(level))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int from_libbpf(enum libbpf_print_level level, const char *fmt,
		       va_list ap)
{
	return pass_on(level == LIBBPF_WARN ? LOG_WARN : LOG_DEBUG, fmt, ap);
}

static int from_libxdp(enum libxdp_print_level level, const char *fmt,
		       va_list ap)
{
	return pass_on(level == LIBXDP_WARN ? LOG_WARN : LOG_DEBUG, fmt, ap);
}

void log_hook_libs(void)
{
	libbpf_set_print(from_libbpf);
	libxdp_set_print(from_libxdp);
}
