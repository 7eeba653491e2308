// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "keeper.h"
#include "pin_dir.h"

#define CMD "keep"
/* The word that ends a keeper whose loader stops cleanly. */
#define KEEPER_QUIT 'q'

extern char **environ;

/* posix_spawn() with the descriptors moved to KEEPER_FD_BASE on. */
static int spawn(const char *pin_dir, const int *src, unsigned int n,
		 pid_t *pid)
{
	char count[12],
		*argv[] = { "colo-xdp", CMD, (char *)pin_dir, count, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, dfl;
	unsigned int i;
	int err;

	snprintf(count, sizeof(count), "%u", n - 1);
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGTERM);
	sigaddset(&dfl, SIGHUP);
	sigaddset(&dfl, SIGPIPE);
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	/* its own session: a terminal's ^C and hangup are for the loader */
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID |
						POSIX_SPAWN_SETSIGMASK |
						POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &dfl);
	for (i = 0; i < n; i++)
		posix_spawn_file_actions_adddup2(&fa, src[i],
						 KEEPER_FD_BASE + i);
	err = -posix_spawn(pid, "/proc/self/exe", &fa, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	return err;
}

int keeper_start(const char *pin_dir, const int *fds, unsigned int n,
		 struct keeper *k)
{
	int src[KEEPER_MAX_FDS + 1], pipefd[2] = { -1, -1 };
	unsigned int i, dups = 0;
	int err;

	k->pid = 0;
	k->pidfd = -1;
	k->pipe = -1;
	if (n > KEEPER_MAX_FDS)
		return -E2BIG;
	/* a socket, not a pipe: a word to a dead keeper raises no SIGPIPE */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pipefd)) {
		err = -errno;
		goto out;
	}
	/*
	 * Copies above the range they go to: a dup2() onto itself would
	 * keep close-on-exec, and one onto another source would close it.
	 */
	for (i = 0; i <= n; i++, dups++) {
		src[i] = fcntl(i < n ? fds[i] : pipefd[0], F_DUPFD_CLOEXEC,
			       KEEPER_FD_BASE + n + 1);
		if (src[i] < 0) {
			err = -errno;
			goto out;
		}
	}
	err = spawn(pin_dir, src, n + 1, &k->pid);
	if (err)
		goto out;
	k->pipe = pipefd[1];
	pipefd[1] = -1;
	k->pidfd = pidfd_open(k->pid, 0);
out:
	for (i = 0; i < dups; i++)
		close(src[i]);
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (err)
		cli_err("run",
			"cannot start the keeper of the sockets and UMEM: %s; a crash of this loader would lose the frames it holds",
			strerror(-err));
	return err;
}

int keeper_fd(const struct keeper *k)
{
	return k->pid ? k->pidfd : -1;
}

void keeper_leave(struct keeper *k)
{
	if (!k->pid)
		return;
	close(k->pipe);
	if (k->pidfd >= 0)
		close(k->pidfd);
	k->pid = 0;
}

void keeper_stop(struct keeper *k)
{
	char c = KEEPER_QUIT;

	if (!k->pid)
		return;
	if (send(k->pipe, &c, 1, MSG_NOSIGNAL) != 1)
		kill(k->pid, SIGKILL);
	close(k->pipe);
	waitpid(k->pid, NULL, 0);
	if (k->pidfd >= 0)
		close(k->pidfd);
	k->pid = 0;
}

/*
 * The pid may have been reused since the dead loader recorded it: only a
 * keeper of this very instance is claimed, and *n is the descriptors it
 * holds, up to max.
 */
static bool is_keeper(pid_t pid, const char *pin_dir, unsigned int max,
		      unsigned int *n)
{
	char path[64], want[PATH_MAX + 64], got[PATH_MAX + 64];
	ssize_t len, wlen;
	unsigned long held;
	char *end;
	int fd;

	wlen = snprintf(want, sizeof(want), "colo-xdp%c%s%c%s%c", 0, CMD, 0,
			pin_dir, 0);
	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	len = read(fd, got, sizeof(got) - 1);
	close(fd);
	if (len <= wlen || memcmp(got, want, wlen) || got[len - 1])
		return false;
	/* the count, as spawn() wrote it: one number, then the end */
	held = strtoul(got + wlen, &end, 10);
	if (end != got + len - 1 || !held || held > max)
		return false;
	*n = held;
	return true;
}

int keeper_claim(pid_t pid, const char *pin_dir, int *fds, unsigned int max,
		 unsigned int *n, struct keeper *k)
{
	unsigned int i, got = 0;
	int err = 0;

	k->pid = 0;
	k->pipe = -1;
	k->pidfd = -1;
	*n = 0;
	if (!is_keeper(pid, pin_dir, max, n)) {
		cli_err("run",
			"pid %d is not the keeper of %s any more: the frames the dead loader held are lost",
			pid, pin_dir);
		return -ESRCH;
	}
	k->pidfd = pidfd_open(pid, 0);
	if (k->pidfd < 0) {
		err = -errno;
		goto out;
	}
	for (; got < *n; got++) {
		fds[got] = pidfd_getfd(k->pidfd, KEEPER_FD_BASE + got, 0);
		if (fds[got] < 0) {
			err = -errno;
			goto out;
		}
	}
	k->pid = pid;
out:
	if (err) {
		cli_err("run",
			"cannot take the descriptors of the dead loader's keeper (pid %d): %s; the frames it held are lost",
			pid, strerror(-err));
		for (i = 0; i < got; i++)
			close(fds[i]);
		/* its sockets would keep the queues from the new ones */
		if (k->pidfd >= 0) {
			pidfd_send_signal(k->pidfd, SIGKILL, NULL, 0);
			close(k->pidfd);
		}
		k->pidfd = -1;
	}
	return err;
}

void keeper_end(struct keeper *k)
{
	if (!k->pid)
		return;
	pidfd_send_signal(k->pidfd, SIGKILL, NULL, 0);
	close(k->pidfd);
	k->pid = 0;
}

int cmd_keep(int argc, char **argv)
{
	struct pollfd p;
	unsigned int i;
	uint32_t n;
	char c;

	if (argc != 3 ||
	    cli_parse_u32(CMD, "N", argv[2], 1, KEEPER_MAX_FDS, &n)) {
		cli_err(CMD,
			"only 'colo-xdp run' starts a keeper (usage: colo-xdp keep PIN_DIR N)");
		return CLI_EXIT_USAGE;
	}
	for (i = 0; i <= n; i++)
		if (fcntl(KEEPER_FD_BASE + i, F_GETFD) < 0) {
			cli_err(CMD,
				"descriptor %u was not handed over: only 'colo-xdp run' starts a keeper",
				KEEPER_FD_BASE + i);
			return CLI_EXIT_USAGE;
		}
	close_range(KEEPER_FD_BASE + n + 1, ~0U, 0);
	p.fd = KEEPER_FD_BASE + n;
	p.events = POLLIN;
	for (;;) {
		/* asleep while its loader lives; then a look now and then */
		if (poll(&p, 1, p.fd >= 0 ? -1 : KEEPER_CHECK_MS) > 0) {
			if (read(p.fd, &c, 1) == 1 && c == KEEPER_QUIT)
				return 0;
			/* the loader died without a word: wait for a successor */
			close(p.fd);
			p.fd = -1;
		}
		/* nobody will take over an instance whose pins are gone */
		if (pin_dir_abandoned(argv[1]))
			return 0;
	}
}
