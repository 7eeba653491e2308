// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "channel.h"
#include "log.h"

bool ctl_out_put(struct ctl_out *o, const void *data, uint32_t n)
{
	if (n > o->cap - o->len)
		return false;
	if (o->head + o->len + n > o->cap) {
		memmove(o->buf, o->buf + o->head, o->len);
		o->head = 0;
	}
	memcpy(o->buf + o->head + o->len, data, n);
	o->len += n;
	return true;
}

int ctl_out_send(struct ctl_out *o, int fd)
{
	ssize_t n;

	while (o->len) {
		n = send(fd, o->buf + o->head, o->len,
			 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 1 : -errno;
		}
		o->head += n;
		o->len -= n;
	}
	o->head = 0;
	return 0;
}

int ctl_epoll_set(int ep, int fd, uint32_t tag, uint32_t *cur, uint32_t want)
{
	struct epoll_event ev = { .events = want, .data.u32 = tag };
	int op;

	if (*cur == want)
		return 0;
	op = !*cur ? EPOLL_CTL_ADD : !want ? EPOLL_CTL_DEL : EPOLL_CTL_MOD;
	if (epoll_ctl(ep, op, fd, &ev))
		return -errno;
	*cur = want;
	return 0;
}

int ctl_listen_unix(const char *path, const char *what)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd = -1, err;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		log_err("%s %s: longer than %zu bytes: use a shorter path",
			what, path, sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	if (!lstat(path, &st)) {
		if (!S_ISSOCK(st.st_mode)) {
			log_err("%s %s: a file that is not a socket is there: remove it or pick another path",
				what, path);
			return -EEXIST;
		}
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 &&
		    !connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
			close(fd);
			log_err("%s %s: another process serves this socket: stop it or pick another path",
				what, path);
			return -EADDRINUSE;
		}
		if (fd >= 0)
			close(fd);
		/* nobody accepts on it: left by a process that died */
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		goto fail;
	}
	/* bind() creates the file with the socket's mode: never wider */
	if (fchmod(fd, 0600) || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(fd, SOMAXCONN)) {
		err = -errno;
		goto fail;
	}
	return fd;
fail:
	log_err("%s %s: cannot listen: %s", what, path, strerror(-err));
	if (fd >= 0)
		close(fd);
	return err;
}

/* host is a dotted quad or an IPv6 address, with a zone or not. */
static bool numeric_addr(const char *host)
{
	char addr[INET6_ADDRSTRLEN];
	const char *zone = strchr(host, '%');
	size_t len = zone ? (size_t)(zone - host) : strlen(host);
	struct in6_addr a6;
	struct in_addr a4;

	if (len >= sizeof(addr))
		return false;
	memcpy(addr, host, len);
	addr[len] = 0;
	if (zone)
		return inet_pton(AF_INET6, addr, &a6) == 1;
	return inet_pton(AF_INET, addr, &a4) == 1 ||
	       inet_pton(AF_INET6, addr, &a6) == 1;
}

int ctl_resolve_tcp(const char *flag, const char *spec, const char *hp,
		    bool passive, const char *form, struct addrinfo **ai)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV |
			    (passive ? AI_PASSIVE : 0),
	};
	char host[INET6_ADDRSTRLEN + 2], *end;
	const char *port = strrchr(hp, ':');
	size_t hl;
	int err;

	*ai = NULL;
	if (!port || strtoul(port + 1, &end, 10) > 65535 || !port[1] || *end ||
	    (size_t)(port - hp) >= sizeof(host)) {
		log_err("%s %s: expected %s", flag, spec, form);
		return -EINVAL;
	}
	hl = port - hp;
	memcpy(host, hp, hl);
	host[hl] = 0;
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		memmove(host, host + 1, hl - 2);
		host[hl - 2] = 0;
	}
	/*
	 * getaddrinfo() also takes inet_aton()'s shorthands ("127.1",
	 * "0x7f.1", "1.2.3"), which name an address other than the one an
	 * operator who typed them likely meant: only the dotted quad and
	 * inet_pton()'s IPv6 forms (with a zone after '%') are addresses here.
	 */
	if (*host && !numeric_addr(host)) {
		log_err("%s %s: '%s' is not a numeric IPv4 (a.b.c.d) or [IPv6] address",
			flag, spec, host);
		return -EINVAL;
	}
	err = getaddrinfo(*host ? host : NULL, port + 1, &hints, ai);
	if (err) {
		log_err("%s %s: '%s' is not a numeric IPv4 or [IPv6] address: %s",
			flag, spec, host, gai_strerror(err));
		*ai = NULL;
		return -EINVAL;
	}
	return 0;
}

int ctl_listen_tcp(const char *flag, const char *spec, const char *hp,
		   const char *form, char *addr, size_t addr_len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct addrinfo *ai = NULL;
	char host[INET6_ADDRSTRLEN];
	int fd = -1, one = 1, err;

	err = ctl_resolve_tcp(flag, spec, hp, true, form, &ai);
	if (err)
		return err;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0) {
		err = -errno;
		log_err("%s %s: cannot open a socket: %s", flag, spec,
			strerror(errno));
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 4)) {
		err = -errno;
		log_err("%s %s: cannot listen: %s%s", flag, spec,
			strerror(errno),
			err == -EADDRINUSE ?
				"; another process listens there ('ss -ltnp' names it): pick another port" :
				"");
		goto out;
	}
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(addr, addr_len, "tcp:[%s]:%u", host,
			 ntohs(in6->sin6_port));
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(addr, addr_len, "tcp:%s:%u", host,
			 ntohs(in->sin_port));
	}
	err = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return err;
}
