/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * --on-checkpoint-request CMD: run "/bin/sh -c CMD" per request, with the
 * reason in COLO_CHECKPOINT_REASON, at most one at a time: a request while
 * one runs is counted as skipped, not queued, so a slow command never
 * piles up children. The child is watched through a pidfd, so the loop
 * reaps it without SIGCHLD; poll it (POLLIN) and call ctl_hook_handle()
 * when readable:
 *	pfd.fd = ctl_hook_fd(hook); (-1 while none runs: poll skips it)
 */
#ifndef COLO_HOOK_H
#define COLO_HOOK_H

#include <stdint.h>

#include "colo_stats.h"

struct ctl_hook_stats {
	uint64_t runs; /* commands started */
	uint64_t skipped; /* requests while one still ran */
	uint64_t failed; /* could not start, or exited non-zero */
};

struct ctl_hook;

int ctl_hook_create(const char *cmd, struct ctl_hook **out);
/* Does not wait for a running command; it is left to finish. */
void ctl_hook_destroy(struct ctl_hook *h);
void ctl_hook_request(struct ctl_hook *h, enum colo_ckpt_reason reason);
int ctl_hook_fd(const struct ctl_hook *h);
/* Reap the command if it ended; logs a failure. */
void ctl_hook_handle(struct ctl_hook *h);
void ctl_hook_stats(const struct ctl_hook *h, struct ctl_hook_stats *out);

#endif /* COLO_HOOK_H */
