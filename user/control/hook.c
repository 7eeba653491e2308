// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "engine.h"
#include "hook.h"

extern char **environ;

struct ctl_hook {
	char *cmd;
	pid_t pid; /* the running command, or 0 */
	int pidfd;
	struct ctl_hook_stats st;
};

int ctl_hook_create(const char *cmd, struct ctl_hook **out)
{
	struct ctl_hook *h;

	*out = NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->cmd = strdup(cmd);
	if (!h->cmd) {
		free(h);
		return -ENOMEM;
	}
	h->pidfd = -1;
	*out = h;
	return 0;
}

void ctl_hook_destroy(struct ctl_hook *h)
{
	if (!h)
		return;
	if (h->pidfd >= 0)
		close(h->pidfd);
	free(h->cmd);
	free(h);
}

static void reap(struct ctl_hook *h)
{
	int status;

	if (!h->pid || waitpid(h->pid, &status, WNOHANG) != h->pid)
		return;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		h->st.failed++;
		if (WIFEXITED(status))
			log_err("--on-checkpoint-request '%s' exited %d",
				h->cmd, WEXITSTATUS(status));
		else
			log_err("--on-checkpoint-request '%s' killed by signal %d",
				h->cmd, WTERMSIG(status));
	}
	h->pid = 0;
	if (h->pidfd >= 0)
		close(h->pidfd);
	h->pidfd = -1;
}

void ctl_hook_request(struct ctl_hook *h, enum colo_ckpt_reason reason)
{
	static const char var[] = "COLO_CHECKPOINT_REASON=";
	char *argv[] = { "/bin/sh", "-c", h->cmd, NULL };
	posix_spawnattr_t attr;
	char value[64], **envp;
	sigset_t none, all;
	size_t n, i, k = 0;
	int err;

	reap(h);
	if (h->pid) {
		h->st.skipped++;
		return;
	}
	for (n = 0; environ[n]; n++)
		;
	envp = malloc((n + 2) * sizeof(*envp));
	if (!envp) {
		h->st.failed++;
		log_err("--on-checkpoint-request: %s", strerror(ENOMEM));
		return;
	}
	for (i = 0; i < n; i++)
		if (strncmp(environ[i], var, sizeof(var) - 1))
			envp[k++] = environ[i];
	snprintf(value, sizeof(value), "%s%s", var,
		 colo_ckpt_reason_name(reason));
	envp[k++] = value;
	envp[k] = NULL;
	/* the command starts with default signals, whatever we changed */
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
						POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	err = posix_spawn(&h->pid, "/bin/sh", NULL, &attr, argv, envp);
	posix_spawnattr_destroy(&attr);
	free(envp);
	if (err) {
		h->pid = 0;
		h->st.failed++;
		log_err("--on-checkpoint-request: cannot start /bin/sh: %s",
			strerror(err));
		return;
	}
	h->st.runs++;
	/* without a pidfd the next request reaps it with waitpid(WNOHANG) */
	h->pidfd = syscall(SYS_pidfd_open, h->pid, 0);
}

int ctl_hook_fd(const struct ctl_hook *h)
{
	return h->pidfd;
}

void ctl_hook_handle(struct ctl_hook *h)
{
	reap(h);
}

void ctl_hook_stats(const struct ctl_hook *h, struct ctl_hook_stats *out)
{
	*out = h->st;
}
