// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "channel.h"
#include "cli.h"
#include "endpoint.h"
#include "log.h"

#define FORMS                                                           \
	"unix:PATH or tcp:ADDR:PORT (ADDR numeric, IPv6 in brackets), " \
	"with listen: in front to listen on it"

int endpoint_parse(struct endpoint *e, const char *flag, const char *spec,
		   uint32_t retry_ms)
{
	struct sockaddr_un *un = (struct sockaddr_un *)&e->sa;
	const char *rest = spec;
	struct addrinfo *ai;
	int err;

	memset(e, 0, sizeof(*e));
	e->flag = flag;
	e->spec = spec;
	e->lfd = e->fd = -1;
	e->retry_ms = retry_ms;
	if (!strncmp(rest, "listen:", 7)) {
		e->listen = true;
		rest += 7;
	}
	if (!strncmp(rest, "unix:", 5) && rest[5]) {
		e->path = rest + 5;
		if (strlen(e->path) >= sizeof(un->sun_path)) {
			log_err("%s %s: a unix socket path is at most %zu bytes: use a shorter one",
				flag, spec, sizeof(un->sun_path) - 1);
			return -EINVAL;
		}
		un->sun_family = AF_UNIX;
		strcpy(un->sun_path, e->path);
		e->salen = sizeof(*un);
		return 0;
	}
	if (strncmp(rest, "tcp:", 4)) {
		log_err("%s %s: expected " FORMS, flag, spec);
		return -EINVAL;
	}
	err = ctl_resolve_tcp(flag, spec, rest + 4, e->listen, FORMS, &ai);
	if (err)
		return err;
	memcpy(&e->sa, ai->ai_addr, ai->ai_addrlen);
	e->salen = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

int endpoint_start(struct endpoint *e)
{
	int one = 1, err;

	if (!e->listen)
		return 0;
	if (e->path) {
		e->lfd = ctl_listen_unix(e->path, e->flag);
		return e->lfd < 0 ? e->lfd : 0;
	}
	e->lfd = socket(e->sa.ss_family,
			SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (e->lfd < 0 ||
	    setsockopt(e->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(e->lfd, (struct sockaddr *)&e->sa, e->salen) ||
	    listen(e->lfd, 1)) {
		err = -errno;
		log_err("%s %s: cannot listen: %s", e->flag, e->spec,
			strerror(-err));
		return err;
	}
	return 0;
}

/* A stream of frames: no delay on small writes; the last of a batch is not held back. */
static void tune(struct endpoint *e)
{
	int one = 1;

	if (!e->path)
		setsockopt(e->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void failed(struct endpoint *e, uint64_t now, int err)
{
	if (cli_log_due(++e->failures))
		log_warn(
			"%s %s: cannot connect: %s (%llu attempts so far; trying again every %u ms)",
			e->flag, e->spec, strerror(-err),
			(unsigned long long)e->failures, e->retry_ms);
	endpoint_drop(e, now);
}

bool endpoint_connect(struct endpoint *e, uint64_t now)
{
	if (e->listen || e->fd >= 0 || now < e->retry_ns)
		return e->connecting;
	e->fd = socket(e->sa.ss_family,
		       SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (e->fd < 0) {
		failed(e, now, -errno);
		return false;
	}
	if (!connect(e->fd, (struct sockaddr *)&e->sa, e->salen) ||
	    errno == EINPROGRESS) {
		e->connecting = true;
		return true;
	}
	failed(e, now, -errno);
	return false;
}

int endpoint_connect_done(struct endpoint *e, uint64_t now)
{
	socklen_t len = sizeof(int);
	int soerr = 0;

	e->connecting = false;
	if (getsockopt(e->fd, SOL_SOCKET, SO_ERROR, &soerr, &len))
		soerr = errno;
	if (soerr) {
		failed(e, now, -soerr);
		return -soerr;
	}
	e->failures = 0;
	tune(e);
	return 0;
}

int endpoint_accept(struct endpoint *e)
{
	int fd = accept4(e->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if (e->fd >= 0) {
		log_warn(
			"%s %s: a second peer connected while one is served: closed it (one peer at a time, as QEMU's socket chardev)",
			e->flag, e->spec);
		close(fd);
		return -EBUSY;
	}
	e->fd = fd;
	tune(e);
	return 1;
}

void endpoint_drop(struct endpoint *e, uint64_t now)
{
	if (e->fd >= 0)
		close(e->fd);
	e->fd = -1;
	e->connecting = false;
	e->retry_ns = now + (uint64_t)e->retry_ms * 1000000;
}

void endpoint_close(struct endpoint *e)
{
	endpoint_drop(e, 0);
	if (e->lfd >= 0) {
		close(e->lfd);
		if (e->path)
			unlink(e->path);
	}
	e->lfd = -1;
}
