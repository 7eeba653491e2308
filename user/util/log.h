/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * One logger for the loader, its libraries and the tools: every message on
 * stderr as "PROGRAM COMMAND: message", PROGRAM and the subcommand running
 * set once by main() (library code names no command), shown when its level is at or below the
 * threshold. --verbose lowers the threshold to debug, which also shows
 * libbpf's and libxdp's own messages (log_hook_libs(), log_libs.c).
 */
#ifndef COLO_LOG_H
#define COLO_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum log_level {
	LOG_ERR, /* what failed, and the fix */
	LOG_WARN, /* what works, but not as the user may think */
	LOG_INFO, /* what was done that the user should know */
	LOG_DEBUG, /* setup steps, libraries' chatter: --verbose */
};

/* The program's name in every message, and the level shown (LOG_INFO). */
void log_init(const char *program);
void log_set_level(enum log_level level);
/* The subcommand running ("run"), named in every message; NULL: none. */
void log_set_command(const char *command);
/* The program's name, NULL if log_init() was not called. */
const char *log_name(void);
bool log_enabled(enum log_level level);

/* "PROGRAM: message"; "PROGRAM SUB: message" with log_vsub(). */
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void log_vsub(enum log_level level, const char *sub, const char *fmt,
	      va_list ap);

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/*
 * libbpf's and libxdp's messages through this logger: their warnings
 * always, the rest at debug. In its own object (log_libs.c), so that a
 * program which never calls it needs neither library.
 */
void log_hook_libs(void);

#endif /* COLO_LOG_H */
