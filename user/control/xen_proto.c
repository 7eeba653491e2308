// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "channel.h"
#include "cli.h"
#include "log.h"
#include "xen_proto.h"

#define XEN_OUT_MAX 512
/* Bytes read per readable event: bounds the time spent per call. */
#define XEN_READ_MAX 4096
#define XEN_LISTEN_TAG 0
#define XEN_CONN_TAG 1

struct xen_server {
	int lfd;
	int cfd;
	int ep;
	uint32_t lev; /* epoll interest of lfd, and of cfd */
	uint32_t cev;
	bool dirty; /* output queued and not tried yet */
	bool inited; /* the controller sent INIT: it may get DO_CHECKPOINT */
	bool is_unix;
	struct xen_framer fr;
	struct ctl_out out;
	char outbuf[XEN_OUT_MAX];
	char peer[INET6_ADDRSTRLEN + 16];
	char addr[sizeof("unix:") + 108];
	struct xen_server_ops ops;
	void *ctx;
	struct xen_stats st;
};

int xen_framer_feed(struct xen_framer *f, const void *data, size_t n,
		    xen_frame_fn fn, void *ctx)
{
	const uint8_t *p = data;
	uint32_t take;

	while (n) {
		if (f->hdr_got < sizeof(f->hdr)) {
			f->hdr[f->hdr_got++] = *p++;
			n--;
			if (f->hdr_got < sizeof(f->hdr))
				continue;
			f->len = (uint32_t)f->hdr[0] << 24 | f->hdr[1] << 16 |
				 f->hdr[2] << 8 | f->hdr[3];
			f->got = 0;
			if (f->len > XEN_SKIP_MAX) {
				f->hdr_got = 0;
				return -EMSGSIZE;
			}
		} else {
			take = f->len - f->got;
			if (take > n)
				take = n;
			if (f->len <= XEN_MSG_MAX)
				memcpy(f->msg + f->got, p, take);
			f->got += take;
			p += take;
			n -= take;
		}
		if (f->got == f->len) {
			f->hdr_got = 0;
			fn(ctx, f->len <= XEN_MSG_MAX ? f->msg : NULL, f->len);
		}
	}
	return 0;
}

bool xen_framer_partial(const struct xen_framer *f)
{
	return f->hdr_got > 0;
}

static void close_conn(struct xen_server *x)
{
	if (x->cfd < 0)
		return;
	ctl_epoll_set(x->ep, x->cfd, XEN_CONN_TAG, &x->cev, 0);
	close(x->cfd);
	x->cfd = -1;
	x->dirty = false;
	x->inited = false;
	x->out.head = x->out.len = 0;
	memset(&x->fr, 0, sizeof(x->fr));
}

static bool is_msg(const char *msg, uint32_t len, const char *want)
{
	return len == strlen(want) && !memcmp(msg, want, len);
}

/* False when there is no controller or no room: the message is lost. */
static bool queue_msg(struct xen_server *x, const char *msg)
{
	uint32_t n = strlen(msg);
	char frame[4 + XEN_MSG_MAX];

	frame[0] = (char)(n >> 24);
	frame[1] = (char)(n >> 16);
	frame[2] = (char)(n >> 8);
	frame[3] = (char)n;
	memcpy(frame + 4, msg, n);
	if (x->cfd < 0 || !ctl_out_put(&x->out, frame, 4 + n))
		return false;
	x->dirty = true;
	return true;
}

static void on_frame(void *ctx, const char *msg, uint32_t len)
{
	struct xen_server *x = ctx;
	char text[XEN_MSG_MAX + 1];
	uint32_t i;

	if (!msg) {
		x->st.oversized++;
		if (cli_log_due(x->st.oversized))
			log_err("xen controller %s sent a %u-byte message (at most %u): skipped (%llu so far)",
				x->peer, len, XEN_MSG_MAX,
				(unsigned long long)x->st.oversized);
	} else if (is_msg(msg, len, XEN_MSG_INIT)) {
		x->st.inits++;
		x->inited = true;
		if (!queue_msg(x, XEN_MSG_INIT_REPLY))
			x->st.inits_lost++;
	} else if (is_msg(msg, len, XEN_MSG_CHECKPOINT)) {
		x->st.checkpoints++;
		if (x->ops.checkpoint_done)
			x->ops.checkpoint_done(x->ctx);
	} else {
		x->st.unknown++;
		if (!cli_log_due(x->st.unknown))
			return;
		for (i = 0; i < len; i++)
			text[i] = msg[i] >= 0x20 && msg[i] < 0x7f ? msg[i] :
								    '.';
		text[len] = 0;
		log_err("xen controller %s sent an unknown message '%s': ignored (%llu so far)",
			x->peer, text, (unsigned long long)x->st.unknown);
	}
}

static void conn_send(struct xen_server *x)
{
	int r;

	x->dirty = false;
	r = ctl_out_send(&x->out, x->cfd);
	if (r < 0) {
		log_err("xen controller %s: %s: disconnected", x->peer,
			strerror(-r));
		close_conn(x);
		return;
	}
	ctl_epoll_set(x->ep, x->cfd, XEN_CONN_TAG, &x->cev,
		      r ? EPOLLIN | EPOLLOUT : EPOLLIN);
}

static void conn_read(struct xen_server *x)
{
	char buf[XEN_READ_MAX];
	ssize_t n;

	n = recv(x->cfd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		if (xen_framer_partial(&x->fr)) {
			x->st.truncated++;
			log_err("xen controller %s closed the connection inside a message: it is dropped",
				x->peer);
		} else {
			log_info("xen controller %s disconnected", x->peer);
		}
		close_conn(x);
		return;
	}
	if (xen_framer_feed(&x->fr, buf, n, on_frame, x)) {
		x->st.oversized++;
		log_err("xen controller %s sent a length over %u bytes: it does not speak the Xen COLO proxy protocol; closing its connection",
			x->peer, XEN_SKIP_MAX);
		/* what the same read asked for (an INIT's reply) goes first */
		ctl_out_send(&x->out, x->cfd);
		close_conn(x);
	}
}

static void peer_name(int fd, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN];

	snprintf(buf, len, "(local)");
	if (getpeername(fd, (struct sockaddr *)&ss, &sl))
		return;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(in->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(in6->sin6_port));
	}
}

static void accept_conn(struct xen_server *x)
{
	int fd, one = 1;

	fd = accept4(x->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (x->cfd >= 0) {
		x->st.replaced++;
		log_warn("xen controller %s replaced by a new connection",
			 x->peer);
		close_conn(x);
	}
	/* DO_CHECKPOINT is latency-critical: never wait for more to send */
	if (!x->is_unix)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	x->cfd = fd;
	x->st.connects++;
	peer_name(fd, x->peer, sizeof(x->peer));
	if (ctl_epoll_set(x->ep, fd, XEN_CONN_TAG, &x->cev, EPOLLIN)) {
		log_err("xen controller %s: cannot watch its socket: %s",
			x->peer, strerror(errno));
		close_conn(x);
		return;
	}
	log_info("xen controller %s connected", x->peer);
}

void xen_server_handle(struct xen_server *x)
{
	struct epoll_event ev[2];
	bool listen_ready = false;
	int n, i;

	n = epoll_wait(x->ep, ev, 2, 0);
	for (i = 0; i < n; i++) {
		if (ev[i].data.u32 == XEN_LISTEN_TAG) {
			listen_ready = true;
			continue;
		}
		if (x->cfd < 0)
			continue;
		if (ev[i].events & EPOLLOUT)
			conn_send(x);
		if (x->cfd >= 0 &&
		    ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			conn_read(x);
	}
	/* after the old connection's events: its slot may be taken here */
	if (listen_ready)
		accept_conn(x);
	xen_server_flush(x);
}

void xen_server_flush(struct xen_server *x)
{
	if (x->dirty && x->cfd >= 0 && !(x->cev & EPOLLOUT))
		conn_send(x);
}

void xen_server_request_checkpoint(struct xen_server *x)
{
	/*
	 * libxl takes the first message after its INIT as the reply, and
	 * gives up on anything else: a request pending when it connects
	 * waits for its INIT (requests repeat every scan cycle).
	 */
	if (x->inited && queue_msg(x, XEN_MSG_DO_CHECKPOINT))
		x->st.do_checkpoint++;
	else
		x->st.do_checkpoint_lost++;
}

static int listen_tcp(struct xen_server *x, const char *spec, const char *hp)
{
	int fd =
		ctl_listen_tcp("--notify", spec, hp,
			       "xen:tcp:ADDR:PORT, e.g. xen:tcp:127.0.0.1:9000",
			       x->addr, sizeof(x->addr));

	if (fd < 0)
		return fd;
	x->lfd = fd;
	return 0;
}

int xen_server_create(const char *spec, const struct xen_server_ops *ops,
		      void *ctx, struct xen_server **out)
{
	struct xen_server *x;
	int err;

	*out = NULL;
	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->lfd = x->cfd = x->ep = -1;
	x->ops = *ops;
	x->ctx = ctx;
	x->out.buf = x->outbuf;
	x->out.cap = sizeof(x->outbuf);
	if (!strncmp(spec, "xen:tcp:", 8)) {
		err = listen_tcp(x, spec, spec + 8);
	} else if (!strncmp(spec, "xen:unix:", 9) && spec[9]) {
		if (strlen(spec + 9) >= sizeof(x->addr) - 5) {
			log_err("--notify %s: the path is too long", spec);
			err = -ENAMETOOLONG;
			goto out;
		}
		x->is_unix = true;
		err = ctl_listen_unix(spec + 9, "--notify");
		if (err >= 0) {
			x->lfd = err;
			snprintf(x->addr, sizeof(x->addr), "unix:%s", spec + 9);
			err = 0;
		}
	} else {
		log_err("--notify %s: expected xen:tcp:ADDR:PORT or xen:unix:PATH",
			spec);
		err = -EINVAL;
	}
	if (err)
		goto out;
	x->ep = epoll_create1(EPOLL_CLOEXEC);
	if (x->ep < 0 ||
	    ctl_epoll_set(x->ep, x->lfd, XEN_LISTEN_TAG, &x->lev, EPOLLIN)) {
		err = -errno;
		log_err("--notify %s: cannot create an epoll set: %s", spec,
			strerror(errno));
		goto out;
	}
	*out = x;
	return 0;
out:
	xen_server_destroy(x);
	return err;
}

void xen_server_destroy(struct xen_server *x)
{
	if (!x)
		return;
	close_conn(x);
	if (x->lfd >= 0) {
		close(x->lfd);
		if (x->is_unix)
			unlink(x->addr + 5);
	}
	if (x->ep >= 0)
		close(x->ep);
	free(x);
}

int xen_server_fd(const struct xen_server *x)
{
	return x->ep;
}

const char *xen_server_address(const struct xen_server *x)
{
	return x->addr;
}

bool xen_server_connected(const struct xen_server *x)
{
	return x->cfd >= 0;
}

void xen_server_stats(const struct xen_server *x, struct xen_stats *out)
{
	*out = x->st;
}
