// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdio.h>
#include <string.h>

#include "log.h"

static const char *log_program, *log_command;
static enum log_level log_threshold = LOG_INFO;

void log_init(const char *program)
{
	log_program = program;
}

void log_set_command(const char *command)
{
	log_command = command;
}

void log_set_level(enum log_level level)
{
	log_threshold = level;
}

const char *log_name(void)
{
	return log_program;
}

bool log_enabled(enum log_level level)
{
	return level <= log_threshold;
}

void log_vsub(enum log_level level, const char *sub, const char *fmt,
	      va_list ap)
{
	/* one buffer, one write: lines of concurrent processes stay whole */
	char line[2048];
	int n = 0;

	if (!log_enabled(level))
		return;
	if (!sub)
		sub = log_command;
	if (log_program && sub && strcmp(log_program, sub))
		n = snprintf(line, sizeof(line), "%s %s: ", log_program, sub);
	else if (log_program || sub)
		n = snprintf(line, sizeof(line),
			     "%s: ", log_program ? log_program : sub);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	fprintf(stderr, "%s\n", line);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vsub(level, NULL, fmt, ap);
	va_end(ap);
}
