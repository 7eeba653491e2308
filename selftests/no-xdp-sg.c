// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * no-xdp-sg COMMAND [ARGS]: run COMMAND as on a kernel without AF_XDP
 * multi-buffer (before Linux 6.6): binding an AF_XDP socket with
 * XDP_USE_SG fails with EINVAL, every other bind() goes through. seccomp
 * cannot read bind()'s address by itself, so its filter hands each bind()
 * to this process (a user notification), which reads the address from
 * COMMAND's memory and answers.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/if_xdp.h>
#include <linux/seccomp.h>

#ifndef AF_XDP
#define AF_XDP 44
#endif
#ifndef XDP_USE_SG
#define XDP_USE_SG (1 << 4)
#endif

/* In the child: bind() goes to the listener, whose fd goes up the pipe. */
static int child(int up, int down, char **argv)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_bind, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]),
				   .filter = f };
	int fd;
	char ok;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return perror("no-xdp-sg: PR_SET_NO_NEW_PRIVS"), 127;
	fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
		     SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
	if (fd < 0)
		return perror("no-xdp-sg: seccomp"), 127;
	/* the parent takes its own copy of the listener, then says so */
	if (write(up, &fd, sizeof(fd)) != sizeof(fd) || read(down, &ok, 1) != 1)
		return 127;
	close(fd);
	execvp(argv[0], argv);
	perror("no-xdp-sg: exec");
	return 127;
}

/* A bind() of pid's: refused if it binds AF_XDP with XDP_USE_SG. */
static void answer(int lfd, struct seccomp_notif *req)
{
	struct seccomp_notif_resp resp = { .id = req->id };
	struct sockaddr_xdp sxdp = {};
	struct iovec local = { &sxdp, sizeof(sxdp) };
	struct iovec remote = { (void *)req->data.args[1], sizeof(sxdp) };

	resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	if (req->data.args[2] >= sizeof(sxdp) &&
	    process_vm_readv(req->pid, &local, 1, &remote, 1, 0) ==
		    sizeof(sxdp) &&
	    sxdp.sxdp_family == AF_XDP && (sxdp.sxdp_flags & XDP_USE_SG)) {
		resp.flags = 0;
		resp.error = -EINVAL;
	}
	ioctl(lfd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
}

int main(int argc, char **argv)
{
	int up[2], down[2], pidfd, lfd, fd, status;
	struct seccomp_notif req;
	struct pollfd pfd;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: no-xdp-sg COMMAND [ARGS]\n");
		return 2;
	}
	if (pipe(up) || pipe(down))
		return perror("no-xdp-sg: pipe"), 127;
	pid = fork();
	if (pid < 0)
		return perror("no-xdp-sg: fork"), 127;
	if (!pid)
		_exit(child(up[1], down[0], argv + 1));
	if (read(up[0], &fd, sizeof(fd)) != sizeof(fd)) {
		waitpid(pid, &status, 0);
		return 127;
	}
	pidfd = syscall(SYS_pidfd_open, pid, 0);
	lfd = pidfd < 0 ? -1 : syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	if (lfd < 0) {
		perror("no-xdp-sg: pidfd_getfd");
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		return 127;
	}
	if (write(down[1], "", 1) != 1)
		return 127;
	pfd = (struct pollfd){ .fd = lfd, .events = POLLIN };
	/* until every process under the filter is gone */
	while (poll(&pfd, 1, -1) >= 0 || errno == EINTR) {
		if (pfd.revents & POLLIN) {
			memset(&req, 0, sizeof(req));
			if (!ioctl(lfd, SECCOMP_IOCTL_NOTIF_RECV, &req))
				answer(lfd, &req);
		} else if (pfd.revents & (POLLHUP | POLLERR)) {
			break;
		}
	}
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
