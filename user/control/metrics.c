// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "channel.h"
#include "log.h"
#include "metrics.h"

/* Scrapers at once: Prometheus sends one per target and interval. */
#define METRICS_CLIENTS 8
/* A request's head: "GET /metrics HTTP/1.1" and a few headers. */
#define METRICS_REQ_MAX 4096
/* A scraper that neither asks nor reads for this long is dropped. */
#define METRICS_IDLE_NS (5ull * 1000000000ull)
#define METRICS_FORM "--metrics ADDR:PORT, e.g. --metrics 127.0.0.1:9669"
/* epoll tags: the listener, or a client's slot + 1 */
#define TAG_LISTEN 0

struct metrics_client {
	int fd;
	uint32_t events; /* registered with epoll */
	uint64_t since_ns;
	char req[METRICS_REQ_MAX];
	uint32_t req_len;
	char *resp; /* the whole answer, NULL while reading the request */
	size_t resp_len, sent;
};

struct metrics_server {
	int ep, lfd;
	uint32_t lev;
	char addr[64];
	uint64_t max_age_ns;
	metrics_render_fn render;
	void *ctx;
	/* the last body rendered, sent to every scrape until it is old */
	char *body;
	size_t body_len;
	uint64_t body_ns;
	bool have_body;
	uint64_t scrapes;
	unsigned int nclients;
	struct metrics_client c[METRICS_CLIENTS];
};

int metrics_server_create(const char *spec, uint64_t max_age_ns,
			  metrics_render_fn render, void *ctx,
			  struct metrics_server **out)
{
	struct metrics_server *m;
	int i, err;

	*out = NULL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->max_age_ns = max_age_ns;
	m->render = render;
	m->ctx = ctx;
	m->ep = -1;
	for (i = 0; i < METRICS_CLIENTS; i++)
		m->c[i].fd = -1;
	m->lfd = ctl_listen_tcp("--metrics", spec, spec, METRICS_FORM, m->addr,
				sizeof(m->addr));
	if (m->lfd < 0) {
		err = m->lfd;
		goto fail;
	}
	m->ep = epoll_create1(EPOLL_CLOEXEC);
	if (m->ep < 0) {
		err = -errno;
		log_err("--metrics %s: epoll: %s", spec, strerror(errno));
		goto fail;
	}
	err = ctl_epoll_set(m->ep, m->lfd, TAG_LISTEN, &m->lev, EPOLLIN);
	if (err)
		goto fail;
	*out = m;
	return 0;
fail:
	metrics_server_destroy(m);
	return err;
}

int metrics_server_fd(const struct metrics_server *m)
{
	return m->ep;
}

const char *metrics_server_address(const struct metrics_server *m)
{
	return m->addr;
}

uint64_t metrics_server_scrapes(const struct metrics_server *m)
{
	return m->scrapes;
}

static void drop(struct metrics_server *m, struct metrics_client *c)
{
	if (c->fd < 0)
		return;
	epoll_ctl(m->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->resp);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	m->nclients--;
}

static void accept_all(struct metrics_server *m, uint64_t now)
{
	struct metrics_client *c;
	int fd, i;

	while ((fd = accept4(m->lfd, NULL, NULL,
			     SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		for (i = 0, c = NULL; i < METRICS_CLIENTS && !c; i++)
			if (m->c[i].fd < 0)
				c = &m->c[i];
		/* full: closed at once, so the backlog never fills */
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->since_ns = now;
		if (ctl_epoll_set(m->ep, fd, (uint32_t)(c - m->c) + 1,
				  &c->events, EPOLLIN)) {
			close(fd);
			c->fd = -1;
			continue;
		}
		m->nclients++;
	}
}

/* The body, rendered again only when older than max_age. */
static int body(struct metrics_server *m, uint64_t now)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int err;

	if (m->have_body && now - m->body_ns < m->max_age_ns)
		return 0;
	f = open_memstream(&buf, &len);
	if (!f)
		return -errno;
	err = m->render(m->ctx, f);
	if (fclose(f) && !err)
		err = -ENOMEM;
	if (err) {
		free(buf);
		return err;
	}
	free(m->body);
	m->body = buf;
	m->body_len = len;
	m->body_ns = now;
	m->have_body = true;
	return 0;
}

static int respond(struct metrics_server *m, struct metrics_client *c,
		   uint64_t now)
{
	static const char ok[] =
		"HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n";
	const char *status = NULL, *text = NULL;
	bool head = !strncmp(c->req, "HEAD ", 5);
	size_t n;
	char *p;

	if (strncmp(c->req, "GET ", 4) && !head)
		status = "405 Method Not Allowed", text = "GET /metrics\n";
	else if (strncmp(c->req + (head ? 5 : 4), "/metrics ", 9) &&
		 strncmp(c->req + (head ? 5 : 4), "/ ", 2))
		status = "404 Not Found", text = "GET /metrics\n";
	else if (body(m, now))
		status = "503 Service Unavailable",
		text = "the counters could not be read: see the loader's log\n";
	n = status ? strlen(text) : m->body_len;
	c->resp = malloc(256 + n);
	if (!c->resp)
		return -ENOMEM;
	if (status)
		p = c->resp +
		    sprintf(c->resp,
			    "HTTP/1.0 %s\r\nContent-Type: text/plain\r\n",
			    status);
	else
		p = c->resp + sprintf(c->resp, "%s", ok);
	p += sprintf(p, "Content-Length: %zu\r\nConnection: close\r\n\r\n", n);
	if (!head)
		memcpy(p, status ? text : m->body, n);
	c->resp_len = p - c->resp + (head ? 0 : n);
	if (!status)
		m->scrapes++;
	return 0;
}

/* Read the request's head; answer it once whole. False: drop the client. */
static bool serve(struct metrics_server *m, struct metrics_client *c,
		  uint64_t now)
{
	ssize_t n;

	while (!c->resp) {
		n = recv(c->fd, c->req + c->req_len,
			 sizeof(c->req) - 1 - c->req_len, 0);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR;
		if (!n)
			return false;
		c->req_len += n;
		c->req[c->req_len] = '\0';
		if (strstr(c->req, "\r\n\r\n") || strstr(c->req, "\n\n")) {
			if (respond(m, c, now))
				return false;
			break;
		}
		if (c->req_len == sizeof(c->req) - 1)
			return false;
	}
	while (c->sent < c->resp_len) {
		n = send(c->fd, c->resp + c->sent, c->resp_len - c->sent,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			/* the rest when the socket has room */
			return !ctl_epoll_set(m->ep, c->fd,
					      (uint32_t)(c - m->c) + 1,
					      &c->events, EPOLLOUT);
		if (n <= 0)
			return false;
		c->sent += n;
	}
	return false;
}

void metrics_server_handle(struct metrics_server *m, uint64_t now_ns)
{
	struct epoll_event ev[METRICS_CLIENTS + 1];
	struct metrics_client *c;
	int n, i;

	n = epoll_wait(m->ep, ev, METRICS_CLIENTS + 1, 0);
	for (i = 0; i < n; i++) {
		if (ev[i].data.u32 == TAG_LISTEN) {
			accept_all(m, now_ns);
			continue;
		}
		c = &m->c[ev[i].data.u32 - 1];
		if (c->fd >= 0 && !serve(m, c, now_ns))
			drop(m, c);
	}
}

void metrics_server_tick(struct metrics_server *m, uint64_t now_ns)
{
	int i;

	if (!m->nclients)
		return;
	for (i = 0; i < METRICS_CLIENTS; i++)
		if (m->c[i].fd >= 0 &&
		    now_ns - m->c[i].since_ns > METRICS_IDLE_NS)
			drop(m, &m->c[i]);
}

void metrics_server_destroy(struct metrics_server *m)
{
	int i;

	if (!m)
		return;
	for (i = 0; i < METRICS_CLIENTS; i++)
		drop(m, &m->c[i]);
	if (m->lfd >= 0)
		close(m->lfd);
	if (m->ep >= 0)
		close(m->ep);
	free(m->body);
	free(m);
}
