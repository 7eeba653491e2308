/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Command-line helpers shared by the subcommands: every message names the
 * subcommand and the flag, and every usage error exits with status 2.
 */
#ifndef COLO_CLI_H
#define COLO_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "colo_xdp.h"

#define CLI_EXIT_USAGE 2

/* The flag of `colo-xdp run` that names each role's interface. */
extern const char *const cli_role_flag[COLO_NR_ROLES];

/* Nanoseconds on CLOCK_MONOTONIC: bpf_ktime_get_ns()'s clock. */
static inline uint64_t cli_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* Log the first occurrences, then at every power of two: bounded output. */
static inline bool cli_log_due(uint64_t count)
{
	return !(count & (count - 1));
}

/* "PROGRAM SUBCMD: message" on stderr, at LOG_ERR (log.h). */
void cli_err(const char *subcmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Parse a decimal number in [min, max] for --flag; prints the error. */
int cli_parse_u32(const char *subcmd, const char *flag, const char *arg,
		  uint32_t min, uint32_t max, uint32_t *out);

/*
 * How the user calls subcmd: "colo-xdp run" for a subcommand, the tool's
 * own name for a tool. Returns subcmd or buf.
 */
const char *cli_cmd_name(const char *subcmd, char *buf, size_t len);

/*
 * Report what getopt_long() rejected: ret is its return value, ':' for a
 * missing value (the optstring must start with ':') or '?' for an unknown
 * flag. Names the flag and points to --help. Returns CLI_EXIT_USAGE.
 */
int cli_bad_option(const char *subcmd, char **argv, int ret);

/* Set by SIGINT and SIGTERM once cli_catch_stop() ran. */
extern volatile sig_atomic_t cli_stop;

/*
 * SIGINT and SIGTERM set cli_stop. Without SA_RESTART: a poll() or a
 * sleep returns at once, and the loop sees the stop. 0 or -errno.
 */
int cli_catch_stop(void);

/* Run this process on CPU cpu (--cpu); prints the error for --cpu. */
int cli_pin_cpu(const char *subcmd, uint32_t cpu);

#endif /* COLO_CLI_H */
