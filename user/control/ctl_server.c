// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "channel.h"
#include "cli.h"
#include "log.h"
#include "counters.h"
#include "ctl_server.h"
#include "engine.h"
#include "json.h"

#define CTL_LISTEN_TAG UINT32_MAX
/* Readiness events taken per ctl_server_handle() call. */
#define CTL_EVENTS_PER_CALL 32
/* Connections accepted per call; more wait in the backlog. */
#define CTL_ACCEPTS_PER_CALL 16

struct ctl_client {
	int fd; /* -1: a free slot */
	uint32_t ev; /* epoll interest */
	bool subscribed;
	bool discarding; /* the rest of an oversized line */
	bool closing; /* the peer sent EOF: close once replies are out */
	bool pending; /* output queued, not yet tried */
	uint32_t in_len;
	uint64_t dropped;
	struct ctl_out out;
	char in[CTL_LINE_MAX];
};

struct ctl_server {
	int lfd;
	int ep;
	uint32_t lev;
	bool dirty; /* some client has output pending */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct ctl_client *clients;
	char *outbufs;
	uint32_t max_clients;
	uint64_t start_ns;
	struct ctl_server_ops ops;
	void *ctx;
	struct ctl_server_stats st;
};

static void client_close(struct ctl_server *s, struct ctl_client *c)
{
	ctl_epoll_set(s->ep, c->fd, c - s->clients, &c->ev, 0);
	close(c->fd);
	c->fd = -1;
	if (c->subscribed)
		s->st.subscribers--;
	s->st.clients--;
}

static void reply(struct ctl_client *c, struct json_out *o)
{
	int n = json_out_end(o);

	/* room for CTL_REPLY_MAX was checked before the request was read */
	if (n > 0 && ctl_out_put(&c->out, o->buf, n))
		c->pending = true;
}

static void reply_error(struct ctl_server *s, struct ctl_client *c,
			const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void reply_error(struct ctl_server *s, struct ctl_client *c,
			const char *fmt, ...)
{
	char buf[CTL_REPLY_MAX], msg[CTL_REPLY_MAX / 2];
	struct json_out o;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_out_begin(&o, buf, sizeof(buf));
	json_out_bool(&o, "ok", false);
	json_out_str(&o, "error", msg);
	reply(c, &o);
}

/* What the control socket adds to the loader's counters. */

#define XEN(f)                                                           \
	{                                                                \
		"xen_" #f, offsetof(struct ctl_stats, xen.f), COLO_TOTAL \
	}
#define HOOK(f)                                                            \
	{                                                                  \
		"hook_" #f, offsetof(struct ctl_stats, hook.f), COLO_TOTAL \
	}

static const struct colo_counter ctl_fields[] = {
	XEN(connects),	  XEN(replaced),      XEN(inits),
	XEN(inits_lost),  XEN(do_checkpoint), XEN(do_checkpoint_lost),
	XEN(checkpoints), XEN(unknown),	      XEN(oversized),
	XEN(truncated),	  HOOK(runs),	      HOOK(skipped),
	HOOK(failed),
};

static void server_fields(struct ctl_server *s, struct json_out *o)
{
	json_out_u64(o, "ctl_accepted", s->st.accepted);
	json_out_u64(o, "ctl_refused", s->st.refused);
	json_out_u64(o, "ctl_requests", s->st.requests);
	json_out_u64(o, "ctl_bad_requests", s->st.bad_requests);
	json_out_u64(o, "ctl_events", s->st.events);
	json_out_u64(o, "ctl_events_dropped", s->st.events_dropped);
	json_out_u64(o, "ctl_clients", s->st.clients);
	json_out_u64(o, "ctl_subscribers", s->st.subscribers);
}

static void stats_fields(struct ctl_server *s, struct json_out *o)
{
	struct ctl_stats st = {};
	size_t i;

	if (s->ops.stats_json) {
		s->ops.stats_json(s->ctx, o);
		server_fields(s, o);
		return;
	}
	s->ops.stats(s->ctx, &st);
	for (i = 0; i < colo_counters_n; i++)
		json_out_u64(o, colo_counters[i].name,
			     colo_counter_get(&st.loader, &colo_counters[i]));
	for (i = 0; i < sizeof(ctl_fields) / sizeof(ctl_fields[0]); i++)
		json_out_u64(o, ctl_fields[i].name,
			     colo_counter_get(&st, &ctl_fields[i]));
	server_fields(s, o);
}

/* How long the datapath took to switch, the figure an operator asks for. */
static void switch_field(struct ctl_server *s, struct json_out *o)
{
	struct ctl_status st = {};

	if (!s->ops.status)
		return;
	s->ops.status(s->ctx, &st);
	json_out_u64(o, "switch_us", st.switch_ns / 1000);
}

static void status_fields(struct ctl_server *s, struct json_out *o)
{
	struct ctl_status st = {};

	if (s->ops.status_json) {
		s->ops.status_json(s->ctx, o);
	} else {
		s->ops.status(s->ctx, &st);
		json_out_str(o, "state",
			     st.failover ? "failover" : "comparing");
		json_out_bool(o, "checkpoint_pending", st.checkpoint_pending);
		if (st.checkpoint_pending)
			json_out_str(
				o, "checkpoint_reason",
				colo_ckpt_reason_name(st.checkpoint_reason));
		json_out_bool(o, "xen_connected", st.xen_connected);
		json_out_bool(o, "qmp_connected", st.qmp_connected);
	}
	json_out_u64(o, "pid", getpid());
	json_out_u64(o, "uptime_s",
		     (cli_now_ns() - s->start_ns) / 1000000000ull);
	json_out_u64(o, "clients", s->st.clients);
	json_out_u64(o, "subscribers", s->st.subscribers);
	json_out_u64(o, "events_dropped", s->st.events_dropped);
}

static void emit_simple(struct ctl_server *s, const char *event,
			const char *reason);

enum ctl_command {
	CTL_CHECKPOINT_DONE,
	CTL_FAILOVER,
	CTL_RESUME,
	CTL_STATS,
	CTL_STATUS,
	CTL_SUBSCRIBE,
	CTL_NR_COMMANDS,
};

static const char *const command_names[CTL_NR_COMMANDS] = {
	[CTL_CHECKPOINT_DONE] = "checkpoint-done",
	[CTL_FAILOVER] = "failover",
	[CTL_RESUME] = "resume",
	[CTL_STATS] = "stats",
	[CTL_STATUS] = "status",
	[CTL_SUBSCRIBE] = "subscribe",
};

static bool supported(const struct ctl_server_ops *ops, enum ctl_command cmd)
{
	switch (cmd) {
	case CTL_CHECKPOINT_DONE:
		return ops->checkpoint_done;
	case CTL_FAILOVER:
		return ops->failover;
	case CTL_RESUME:
		return ops->resume;
	case CTL_STATS:
		return ops->stats || ops->stats_json;
	case CTL_STATUS:
		return ops->status || ops->status_json;
	default:
		return true;
	}
}

static int act(struct ctl_server *s, enum ctl_command cmd)
{
	switch (cmd) {
	case CTL_CHECKPOINT_DONE:
		return s->ops.checkpoint_done(s->ctx);
	case CTL_FAILOVER:
		return s->ops.failover(s->ctx);
	case CTL_RESUME:
		return s->ops.resume(s->ctx);
	default:
		return 0;
	}
}

static void request(struct ctl_server *s, struct ctl_client *c,
		    const char *name)
{
	char buf[CTL_REPLY_MAX];
	enum ctl_command cmd = 0;
	struct json_out o;
	int ret;

	while (cmd < CTL_NR_COMMANDS && strcmp(name, command_names[cmd]))
		cmd++;
	if (cmd == CTL_NR_COMMANDS) {
		s->st.bad_requests++;
		reply_error(
			s, c,
			"unknown command '%s': use checkpoint-done, failover, resume, stats, status or subscribe",
			name);
		return;
	}
	if (!supported(&s->ops, cmd)) {
		reply_error(s, c, "%s is not supported by this server", name);
		return;
	}
	ret = act(s, cmd);
	if (ret) {
		reply_error(s, c, "refused: %s", strerror(-ret));
		return;
	}
	if (cmd == CTL_SUBSCRIBE && !c->subscribed) {
		c->subscribed = true;
		s->st.subscribers++;
	}
	json_out_begin(&o, buf, sizeof(buf));
	json_out_bool(&o, "ok", true);
	if (cmd == CTL_STATS)
		stats_fields(s, &o);
	else if (cmd == CTL_STATUS)
		status_fields(s, &o);
	else if (cmd == CTL_FAILOVER || cmd == CTL_RESUME)
		switch_field(s, &o);
	reply(c, &o);
	/* the requester's reply first, then what everyone is told */
	if (cmd == CTL_FAILOVER)
		ctl_server_event_failover(s, "control command");
	else if (cmd == CTL_RESUME)
		ctl_server_event_resumed(s);
}

struct req {
	char command[JSON_STR_MAX];
	bool have;
	bool not_string;
};

static int req_member(void *ctx, const struct json_member *m)
{
	struct req *r = ctx;

	if (strcmp(m->key, "command"))
		return 0;
	if (m->type != JSON_STRING) {
		r->not_string = true;
		return 0;
	}
	strcpy(r->command, m->str);
	r->have = true;
	return 0;
}

static void line(struct ctl_server *s, struct ctl_client *c, char *l,
		 size_t len)
{
	struct req r = {};
	char err[160];

	if (len && l[len - 1] == '\r')
		len--;
	if (!len)
		return;
	s->st.requests++;
	if (json_parse_object(l, len, req_member, &r, err, sizeof(err))) {
		s->st.bad_requests++;
		reply_error(s, c, "malformed JSON: %s", err);
		return;
	}
	if (!r.have) {
		s->st.bad_requests++;
		reply_error(
			s, c,
			r.not_string ?
				"\"command\" must be a string, e.g. {\"command\":\"status\"}" :
				"missing \"command\": send e.g. {\"command\":\"status\"}");
		return;
	}
	request(s, c, r.command);
}

/* Answer the complete lines in the input while their replies fit. */
static void process_input(struct ctl_server *s, struct ctl_client *c)
{
	uint32_t start = 0;
	char *nl;

	while (start < c->in_len) {
		nl = memchr(c->in + start, '\n', c->in_len - start);
		if (c->discarding) {
			if (!nl) {
				start = c->in_len;
				break;
			}
			c->discarding = false;
			start = nl + 1 - c->in;
			continue;
		}
		if (c->out.cap - c->out.len < CTL_REPLY_MAX)
			break;
		if (!nl) {
			if (start || c->in_len < CTL_LINE_MAX)
				break;
			s->st.bad_requests++;
			reply_error(
				s, c,
				"request line longer than %u bytes: ignored up to its end",
				CTL_LINE_MAX);
			c->discarding = true;
			start = c->in_len;
			break;
		}
		line(s, c, c->in + start, nl - (c->in + start));
		start = nl + 1 - c->in;
	}
	memmove(c->in, c->in + start, c->in_len - start);
	c->in_len -= start;
}

/*
 * Send what is queued, answer the requests held in the input while their
 * replies fit (those not sent here are sent at EPOLLOUT), and set the
 * interest this client needs now.
 */
static void client_update(struct ctl_server *s, struct ctl_client *c)
{
	uint32_t want = 0;
	int r = 0;

	if (c->pending) {
		c->pending = false;
		r = ctl_out_send(&c->out, c->fd);
		if (r < 0) {
			client_close(s, c);
			return;
		}
	}
	/* replies left: requests held back may fit now */
	process_input(s, c);
	if (c->closing && !c->out.len) {
		client_close(s, c);
		return;
	}
	if (r > 0 || c->out.len)
		want |= EPOLLOUT;
	/* read a request only when its reply will fit */
	if (!c->closing && c->out.cap - c->out.len >= CTL_REPLY_MAX)
		want |= EPOLLIN;
	if (ctl_epoll_set(s->ep, c->fd, c - s->clients, &c->ev, want))
		client_close(s, c);
}

static void client_read(struct ctl_server *s, struct ctl_client *c)
{
	ssize_t n;

	/* a full buffer waits for room in the replies: recv(0) is not EOF */
	if (c->in_len == sizeof(c->in))
		return;
	n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len,
		 MSG_DONTWAIT);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			client_close(s, c);
		return;
	}
	if (!n)
		c->closing = true;
	c->in_len += n;
}

static void client_event(struct ctl_server *s, struct ctl_client *c,
			 uint32_t events)
{
	if (events & (EPOLLERR | EPOLLHUP)) {
		client_close(s, c);
		return;
	}
	/* the socket has room: send, then answer what was held back */
	if (events & EPOLLOUT)
		c->pending = true;
	if (events & EPOLLIN)
		client_read(s, c);
	if (c->fd >= 0)
		client_update(s, c);
}

static void refuse(struct ctl_server *s, int fd, const char *why)
{
	char buf[256];
	struct json_out o;
	int n;

	s->st.refused++;
	json_out_begin(&o, buf, sizeof(buf));
	json_out_bool(&o, "ok", false);
	json_out_str(&o, "error", why);
	n = json_out_end(&o);
	if (n > 0 && send(fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 &&
	    cli_log_due(s->st.refused))
		log_err("--control %s: cannot tell a refused client: %s",
			s->path, strerror(errno));
	close(fd);
}

static void accept_clients(struct ctl_server *s)
{
	struct ucred cred;
	socklen_t len;
	struct ctl_client *c;
	uint32_t i = 0;
	int n, fd;

	for (n = 0; n < CTL_ACCEPTS_PER_CALL; n++) {
		fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		len = sizeof(cred);
		cred.uid = (uid_t)-1;
		cred.pid = 0;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) ||
		    cred.uid != 0) {
			if (cli_log_due(s->st.refused + 1))
				log_err("--control %s: refused a client of uid %u (pid %d): root only",
					s->path, cred.uid, cred.pid);
			refuse(s, fd,
			       "permission denied: the control socket is for root only");
			continue;
		}
		while (i < s->max_clients && s->clients[i].fd >= 0)
			i++;
		if (i == s->max_clients) {
			refuse(s, fd,
			       "too many clients: close one and connect again");
			continue;
		}
		c = &s->clients[i];
		c->fd = fd;
		c->ev = 0;
		c->subscribed = c->discarding = c->closing = false;
		c->pending = false;
		c->in_len = 0;
		c->dropped = 0;
		c->out.head = c->out.len = 0;
		s->st.accepted++;
		s->st.clients++;
		client_update(s, c);
	}
}

void ctl_server_handle(struct ctl_server *s)
{
	struct epoll_event ev[CTL_EVENTS_PER_CALL];
	bool listen_ready = false;
	struct ctl_client *c;
	int n, i;

	n = epoll_wait(s->ep, ev, CTL_EVENTS_PER_CALL, 0);
	for (i = 0; i < n; i++) {
		if (ev[i].data.u32 == CTL_LISTEN_TAG) {
			listen_ready = true;
			continue;
		}
		c = &s->clients[ev[i].data.u32];
		if (c->fd >= 0)
			client_event(s, c, ev[i].events);
	}
	/* after the events: a slot closed above may be reused now */
	if (listen_ready)
		accept_clients(s);
	ctl_server_flush(s);
}

void ctl_server_flush(struct ctl_server *s)
{
	uint32_t i;

	if (!s->dirty)
		return;
	s->dirty = false;
	for (i = 0; i < s->max_clients; i++) {
		struct ctl_client *c = &s->clients[i];

		/* a client waiting for EPOLLOUT is sent to by handle() */
		if (c->fd >= 0 && c->pending && !(c->ev & EPOLLOUT))
			client_update(s, c);
	}
}

/* base: an event object, unclosed; each subscriber gets its drop count. */
static void emit(struct ctl_server *s, struct json_out *base)
{
	char tail[48];
	uint32_t i, n;

	s->st.events++;
	if (base->overflow || !s->st.subscribers)
		return;
	for (i = 0; i < s->max_clients; i++) {
		struct ctl_client *c = &s->clients[i];

		if (c->fd < 0 || !c->subscribed)
			continue;
		n = snprintf(tail, sizeof(tail), ",\"dropped\":%llu}\n",
			     (unsigned long long)c->dropped);
		/* never into the room a request's reply was promised */
		if (base->len + n + CTL_REPLY_MAX > c->out.cap - c->out.len) {
			c->dropped++;
			s->st.events_dropped++;
			continue;
		}
		ctl_out_put(&c->out, base->buf, base->len);
		ctl_out_put(&c->out, tail, n);
		c->pending = true;
		s->dirty = true;
	}
}

static void emit_simple(struct ctl_server *s, const char *event,
			const char *reason)
{
	char buf[CTL_REPLY_MAX];
	struct json_out o;

	json_out_begin(&o, buf, sizeof(buf));
	json_out_str(&o, "event", event);
	if (reason)
		json_out_str(&o, "reason", reason);
	emit(s, &o);
}

void ctl_server_event_checkpoint(struct ctl_server *s,
				 enum colo_ckpt_reason reason)
{
	emit_simple(s, "checkpoint-request", colo_ckpt_reason_name(reason));
}

void ctl_server_event_mismatch(struct ctl_server *s,
			       const struct colo_mismatch *m)
{
	const struct colo_flow_key *k = m->key;
	int af = k->ipver == 6 ? AF_INET6 : AF_INET;
	char buf[CTL_REPLY_MAX], src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	struct json_out o;

	inet_ntop(af, k->saddr, src, sizeof(src));
	inet_ntop(af, k->daddr, dst, sizeof(dst));
	json_out_begin(&o, buf, sizeof(buf));
	json_out_str(&o, "event", "mismatch");
	json_out_u64(&o, "ipver", k->ipver);
	json_out_u64(&o, "proto", k->proto);
	json_out_str(&o, "src", src);
	json_out_u64(&o, "sport", k->sport);
	json_out_str(&o, "dst", dst);
	json_out_u64(&o, "dport", k->dport);
	if (k->vlan)
		json_out_u64(&o, "vlan", k->vlan & 0xfff);
	json_out_u64(&o, "primary", m->primary_handle);
	json_out_u64(&o, "secondary", m->secondary_handle);
	json_out_u64(&o, "offset", m->offset);
	if (k->proto == IPPROTO_TCP)
		json_out_u64(&o, "seq", m->seq);
	emit(s, &o);
}

void ctl_server_event_failover(struct ctl_server *s, const char *reason)
{
	emit_simple(s, "failover", reason);
}

void ctl_server_event_degraded(struct ctl_server *s, const char *reason)
{
	emit_simple(s, "degraded", reason);
}

void ctl_server_event_resumed(struct ctl_server *s)
{
	emit_simple(s, "resumed", NULL);
}

int ctl_server_create(const struct ctl_server_config *cfg,
		      const struct ctl_server_ops *ops, void *ctx,
		      struct ctl_server **out)
{
	struct ctl_server *s;
	uint32_t i;
	int err;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->lfd = s->ep = -1;
	s->ops = *ops;
	s->ctx = ctx;
	s->start_ns = cli_now_ns();
	s->max_clients = cfg->max_clients ?: CTL_DEFAULT_MAX_CLIENTS;
	/* outbufs are touched only as clients use them */
	s->clients = calloc(s->max_clients, sizeof(*s->clients));
	s->outbufs = calloc(s->max_clients, CTL_OUT_MAX);
	if (!s->clients || !s->outbufs) {
		log_err("--control %s: no memory for %u clients", cfg->path,
			s->max_clients);
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < s->max_clients; i++) {
		s->clients[i].fd = -1;
		s->clients[i].out.buf = s->outbufs + (size_t)i * CTL_OUT_MAX;
		s->clients[i].out.cap = CTL_OUT_MAX;
	}
	err = ctl_listen_unix(cfg->path, "--control");
	if (err < 0)
		goto out;
	s->lfd = err;
	strcpy(s->path, cfg->path);
	s->ep = epoll_create1(EPOLL_CLOEXEC);
	if (s->ep < 0 ||
	    ctl_epoll_set(s->ep, s->lfd, CTL_LISTEN_TAG, &s->lev, EPOLLIN)) {
		err = -errno;
		log_err("--control %s: cannot create an epoll set: %s",
			cfg->path, strerror(errno));
		goto out;
	}
	*out = s;
	return 0;
out:
	ctl_server_destroy(s);
	return err;
}

void ctl_server_destroy(struct ctl_server *s)
{
	uint32_t i;

	if (!s)
		return;
	for (i = 0; s->clients && i < s->max_clients; i++)
		if (s->clients[i].fd >= 0)
			close(s->clients[i].fd);
	if (s->lfd >= 0) {
		close(s->lfd);
		unlink(s->path);
	}
	if (s->ep >= 0)
		close(s->ep);
	free(s->outbufs);
	free(s->clients);
	free(s);
}

int ctl_server_fd(const struct ctl_server *s)
{
	return s->ep;
}

void ctl_server_stats(const struct ctl_server *s, struct ctl_server_stats *out)
{
	*out = s->st;
}
