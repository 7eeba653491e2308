// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include "channel.h"
#include "cli.h"
#include "json.h"
#include "log.h"
#include "qmp.h"

#define QMP_OUT_MAX 1024
/* Commands unanswered at once: at most three are ever sent together. */
#define QMP_PENDING_MAX 4
#define QMP_MS 1000000ull
/* What of a peer's line a message quotes. */
#define QMP_EXCERPT 48

enum qmp_state {
	QMP_IDLE, /* no socket: connect at retry_at */
	QMP_CONNECTING, /* a TCP connect on its way */
	QMP_GREETING, /* waiting for {"QMP": ...} */
	QMP_SETUP, /* capabilities, events and the status asked */
	QMP_READY,
};

enum qmp_cmd {
	QMP_CMD_CAPABILITIES,
	QMP_CMD_EVENTS,
	QMP_CMD_STATUS,
	QMP_CMD_PARAMS,
	QMP_CMD_TRIGGER,
};

static const char *const cmd_name[] = {
	[QMP_CMD_CAPABILITIES] = "qmp_capabilities",
	[QMP_CMD_EVENTS] = "migrate-set-capabilities",
	[QMP_CMD_STATUS] = "query-migrate",
	[QMP_CMD_PARAMS] = "query-migrate-parameters",
	[QMP_CMD_TRIGGER] = "migrate-set-parameters",
};

struct qmp_pending {
	uint64_t id;
	enum qmp_cmd cmd;
	uint64_t sent_ns;
};

struct qmp_client {
	int fd;
	int ep;
	uint32_t ev; /* epoll interest of fd */
	enum qmp_state state;
	struct sockaddr_storage sa;
	socklen_t salen;
	char addr[sizeof("unix:") + sizeof(((struct sockaddr_un *)0)->sun_path)];
	uint64_t retry_at;
	uint64_t retry_ms;
	uint64_t conn_ns; /* when the connect began: the greeting is due */
	bool was_up; /* a session was lost: the next one is a reconnect */
	bool told_down; /* a failed connect was logged since the last session */
	struct qmp_pending pending[QMP_PENDING_MAX];
	unsigned int npending;
	uint64_t next_id;
	/* what the session knows of QEMU */
	char version[32];
	char status[32]; /* migration status: "colo" while COLO runs */
	bool stopped; /* STOP seen, no RESUME yet */
	bool passed; /* MIGRATION_PASS since the STOP */
	bool told_stuck;
	uint64_t stop_ns;
	bool requesting; /* parameters asked or the trigger unanswered */
	uint64_t request_ns; /* trigger sent, no checkpoint since; 0: none */
	uint64_t not_colo; /* requests this session found COLO not running */
	bool dirty; /* output queued, not tried yet */
	struct ctl_out out;
	char outbuf[QMP_OUT_MAX];
	char *in;
	uint32_t in_len;
	struct qmp_client_ops ops;
	void *ctx;
	struct qmp_stats st;
};

/* Up to QMP_EXCERPT bytes of what the peer sent, printable. */
static void excerpt(char *dst, const char *src, size_t len)
{
	size_t i, n = len < QMP_EXCERPT ? len : QMP_EXCERPT;

	for (i = 0; i < n; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '.';
	strcpy(dst + n, len > n ? "..." : "");
}

/* No socket any more; the next connect is due after the retry delay. */
static void drop(struct qmp_client *q, uint64_t now)
{
	if (q->fd >= 0) {
		ctl_epoll_set(q->ep, q->fd, 0, &q->ev, 0);
		close(q->fd);
	}
	q->fd = -1;
	if (q->state == QMP_READY)
		q->was_up = true;
	q->state = QMP_IDLE;
	q->npending = 0;
	q->stopped = q->passed = q->requesting = q->dirty = false;
	q->request_ns = 0;
	q->in_len = 0;
	q->out.head = q->out.len = 0;
	q->retry_at = now + q->retry_ms * QMP_MS;
	q->retry_ms = q->retry_ms * 2 < QMP_RETRY_MAX_MS ? q->retry_ms * 2 :
							   QMP_RETRY_MAX_MS;
}

/* The peer broke the protocol or refused us: said, counted, reconnect. */
static void fail(struct qmp_client *q, uint64_t now, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(struct qmp_client *q, uint64_t now, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	q->st.errors++;
	log_err("QEMU monitor %s %s: closing the connection and connecting again",
		q->addr, msg);
	drop(q, now);
}

static void lost(struct qmp_client *q, uint64_t now, const char *why)
{
	log_warn("QEMU monitor %s: %s: connecting again", q->addr, why);
	drop(q, now);
}

static void conn_send(struct qmp_client *q, uint64_t now)
{
	int r;

	q->dirty = false;
	r = ctl_out_send(&q->out, q->fd);
	if (r < 0) {
		lost(q, now, strerror(-r));
		return;
	}
	if (ctl_epoll_set(q->ep, q->fd, 0, &q->ev,
			  r ? EPOLLIN | EPOLLOUT : EPOLLIN))
		lost(q, now, "cannot watch its socket");
}

/* Queue one command; args is "" or ,"arguments":{...}. */
static void command(struct qmp_client *q, uint64_t now, enum qmp_cmd cmd,
		    const char *args)
{
	struct qmp_pending *p = &q->pending[q->npending];
	char line[256];
	int n;

	n = snprintf(line, sizeof(line), "{\"execute\":\"%s\"%s,\"id\":%llu}\n",
		     cmd_name[cmd], args, (unsigned long long)q->next_id);
	if (q->npending == QMP_PENDING_MAX || !ctl_out_put(&q->out, line, n)) {
		fail(q, now, "does not read what colo-xdp sends");
		return;
	}
	p->id = q->next_id++;
	p->cmd = cmd;
	p->sent_ns = now;
	q->npending++;
	q->dirty = true;
}

static void checkpoint_done(struct qmp_client *q, uint64_t now)
{
	q->st.checkpoints++;
	if (q->request_ns) {
		q->st.checkpoint_ns = now - q->request_ns;
		q->request_ns = 0;
	}
	if (q->ops.checkpoint_done)
		q->ops.checkpoint_done(q->ctx);
}

static bool is_colo(const struct qmp_client *q)
{
	return !strcmp(q->status, "colo");
}

/* The string member key of the object s, into buf; false if none fits. */
static bool find_str(const char *s, size_t len, const char *key, char *buf,
		     size_t cap)
{
	struct json_member m;
	char err[8];
	size_t n;

	if (json_find(s, len, key, &m, err, sizeof(err)) ||
	    m.type != JSON_STRING)
		return false;
	n = strlen(m.str);
	if (n >= cap)
		return false;
	memcpy(buf, m.str, n + 1);
	return true;
}

static void on_event(struct qmp_client *q, uint64_t now, const char *name,
		     const struct json_member *data)
{
	char mode[32] = "?", reason[32] = "?";

	if (!strcmp(name, "STOP")) {
		q->stopped = true;
		q->passed = q->told_stuck = false;
		q->stop_ns = now;
	} else if (!strcmp(name, "MIGRATION_PASS")) {
		q->passed = q->stopped;
	} else if (!strcmp(name, "RESUME")) {
		if (q->stopped && q->passed && is_colo(q))
			checkpoint_done(q, now);
		q->stopped = q->passed = false;
	} else if (!strcmp(name, "MIGRATION") && data) {
		find_str(data->raw, data->raw_len, "status", q->status,
			 sizeof(q->status));
		/* no checkpoint comes out of COLO: the next request says so */
		if (!is_colo(q))
			q->request_ns = 0;
	} else if (!strcmp(name, "COLO_EXIT") && data) {
		q->request_ns = 0;
		find_str(data->raw, data->raw_len, "mode", mode, sizeof(mode));
		find_str(data->raw, data->raw_len, "reason", reason,
			 sizeof(reason));
		/*
		 * A primary that left COLO runs on alone: holding its frames
		 * for a secondary that no checkpoint will update again would
		 * stop every client, as QEMU's colo-compare fails over then.
		 */
		if (!strcmp(mode, "primary") && q->ops.failover) {
			log_warn(
				"QEMU monitor %s: QEMU left COLO as the primary (reason %s): failing over, frames pass uncompared until colo-xdp ctl resume",
				q->addr, reason);
			q->ops.failover(q->ctx);
		} else {
			log_warn(
				"QEMU monitor %s: QEMU left COLO (mode %s, reason %s): it takes no more checkpoints",
				q->addr, mode, reason);
		}
	}
}

/* The version QEMU's greeting gives, as "7.2.22". */
static void greeting_version(struct qmp_client *q, const struct json_member *g)
{
	struct json_member v, qemu, n[3];
	static const char *const part[] = { "major", "minor", "micro" };
	char err[8];
	int i;

	snprintf(q->version, sizeof(q->version), "?");
	if (json_find(g->raw, g->raw_len, "version", &v, err, sizeof(err)) ||
	    json_find(v.raw, v.raw_len, "qemu", &qemu, err, sizeof(err)))
		return;
	for (i = 0; i < 3; i++)
		if (json_find(qemu.raw, qemu.raw_len, part[i], &n[i], err,
			      sizeof(err)) ||
		    n[i].type != JSON_NUMBER || n[i].raw_len > 8)
			return;
	snprintf(q->version, sizeof(q->version), "%.*s.%.*s.%.*s",
		 (int)n[0].raw_len, n[0].raw, (int)n[1].raw_len, n[1].raw,
		 (int)n[2].raw_len, n[2].raw);
}

/* x-checkpoint-delay from query-migrate-parameters, sent back as it is. */
static void trigger(struct qmp_client *q, uint64_t now,
		    const struct json_member *ret)
{
	struct json_member d;
	char args[64], err[8];
	size_t i;

	if (json_find(ret->raw, ret->raw_len, "x-checkpoint-delay", &d, err,
		      sizeof(err)) ||
	    d.type != JSON_NUMBER || d.raw_len > 20) {
		fail(q, now,
		     "gave no x-checkpoint-delay in query-migrate-parameters: this QEMU cannot checkpoint COLO on request");
		return;
	}
	for (i = 0; i < d.raw_len; i++)
		if (d.raw[i] < '0' || d.raw[i] > '9') {
			fail(q, now,
			     "gave x-checkpoint-delay %.*s: not a period",
			     (int)d.raw_len, d.raw);
			return;
		}
	snprintf(args, sizeof(args),
		 ",\"arguments\":{\"x-checkpoint-delay\":%.*s}", (int)d.raw_len,
		 d.raw);
	/* first: a command that cannot go out drops the session and this */
	q->request_ns = now;
	command(q, now, QMP_CMD_TRIGGER, args);
}

static void on_return(struct qmp_client *q, uint64_t now, enum qmp_cmd cmd,
		      const struct json_member *ret)
{
	switch (cmd) {
	case QMP_CMD_CAPABILITIES:
		/* MIGRATION_PASS tells a checkpoint from a stop and cont */
		command(q, now, QMP_CMD_EVENTS,
			",\"arguments\":{\"capabilities\":[{\"capability\":\"events\",\"state\":true}]}");
		command(q, now, QMP_CMD_STATUS, "");
		break;
	case QMP_CMD_EVENTS:
		break;
	case QMP_CMD_STATUS:
		/* no migration yet: QEMU answers {} */
		if (!find_str(ret->raw, ret->raw_len, "status", q->status,
			      sizeof(q->status)))
			snprintf(q->status, sizeof(q->status), "none");
		q->state = QMP_READY;
		q->st.connects++;
		q->st.reconnects += q->was_up;
		q->told_down = false;
		q->not_colo = 0;
		q->retry_ms = QMP_RETRY_MIN_MS;
		log_info("QEMU %s monitor %s: connected, migration status '%s'",
			 q->version, q->addr, q->status);
		break;
	case QMP_CMD_PARAMS:
		trigger(q, now, ret);
		break;
	case QMP_CMD_TRIGGER:
		q->requesting = false;
		q->st.requests++;
		break;
	}
}

struct qmp_msg {
	struct json_member qmp, event, data, ret, error, id;
};

static int take(void *ctx, const struct json_member *m)
{
	struct qmp_msg *msg = ctx;
	static const char *const keys[] = { "QMP",    "event", "data",
					    "return", "error", "id" };
	struct json_member *slot[] = { &msg->qmp, &msg->event, &msg->data,
				       &msg->ret, &msg->error, &msg->id };
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(m->key, keys[i]) && !slot[i]->raw)
			*slot[i] = *m;
	return 0;
}

static void on_reply(struct qmp_client *q, uint64_t now,
		     const struct qmp_msg *msg)
{
	struct qmp_pending p = q->pending[0];
	char id[24], desc[JSON_STR_MAX] = "", cls[64] = "";

	snprintf(id, sizeof(id), "%llu", (unsigned long long)p.id);
	if (!q->npending || !msg->id.raw || msg->id.raw_len != strlen(id) ||
	    memcmp(msg->id.raw, id, msg->id.raw_len)) {
		fail(q, now, "answered a command colo-xdp did not send");
		return;
	}
	q->npending--;
	memmove(q->pending, q->pending + 1, q->npending * sizeof(p));
	if (msg->error.raw) {
		find_str(msg->error.raw, msg->error.raw_len, "class", cls,
			 sizeof(cls));
		find_str(msg->error.raw, msg->error.raw_len, "desc", desc,
			 sizeof(desc));
		fail(q, now, "refused %s: %s: %s", cmd_name[p.cmd],
		     *cls ? cls : "?", *desc ? desc : "?");
		return;
	}
	on_return(q, now, p.cmd, &msg->ret);
}

static void on_line(struct qmp_client *q, uint64_t now, const char *l,
		    size_t len)
{
	char err[160], text[QMP_EXCERPT + 4];
	struct qmp_msg msg = {};

	excerpt(text, l, len);
	if (json_parse_object(l, len, take, &msg, err, sizeof(err))) {
		fail(q, now, "sent what is not JSON ('%s': %s)", text, err);
		return;
	}
	if (q->state == QMP_GREETING) {
		if (!msg.qmp.raw || msg.qmp.type != JSON_OBJECT) {
			fail(q, now, "did not greet as QMP does ('%s')", text);
			return;
		}
		greeting_version(q, &msg.qmp);
		q->state = QMP_SETUP;
		command(q, now, QMP_CMD_CAPABILITIES, "");
	} else if (msg.event.raw && msg.event.type == JSON_STRING) {
		on_event(q, now, msg.event.str,
			 msg.data.type == JSON_OBJECT ? &msg.data : NULL);
	} else if (msg.ret.raw ||
		   (msg.error.raw && msg.error.type == JSON_OBJECT)) {
		on_reply(q, now, &msg);
	} else {
		fail(q, now, "sent JSON that is not QMP ('%s')", text);
	}
}

static void conn_read(struct qmp_client *q, uint64_t now)
{
	char *nl, *start;
	ssize_t n;

	n = recv(q->fd, q->in + q->in_len, QMP_LINE_MAX - q->in_len,
		 MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		lost(q, now,
		     n ? strerror(errno) : "QEMU closed the connection");
		return;
	}
	q->in_len += n;
	start = q->in;
	while (q->state != QMP_IDLE &&
	       (nl = memchr(start, '\n', q->in + q->in_len - start))) {
		/* QMP ends its lines with \r\n */
		on_line(q, now, start,
			nl - start - (nl > start && nl[-1] == '\r'));
		start = nl + 1;
	}
	if (q->state == QMP_IDLE)
		return;
	q->in_len -= start - q->in;
	memmove(q->in, start, q->in_len);
	if (q->in_len == QMP_LINE_MAX)
		fail(q, now,
		     "sent a line longer than %u bytes: that is not QMP",
		     QMP_LINE_MAX);
}

static void connected(struct qmp_client *q, uint64_t now)
{
	int err = 0, one = 1;
	socklen_t len = sizeof(err);

	if (getsockopt(q->fd, SOL_SOCKET, SO_ERROR, &err, &len) || err) {
		if (!q->told_down)
			log_warn(
				"QEMU monitor %s: cannot connect: %s; trying again until QEMU listens there",
				q->addr, strerror(err ?: errno));
		q->told_down = true;
		drop(q, now);
		return;
	}
	/* a checkpoint request is latency-critical: never wait to send */
	if (q->sa.ss_family != AF_UNIX)
		setsockopt(q->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	q->state = QMP_GREETING;
	if (ctl_epoll_set(q->ep, q->fd, 0, &q->ev, EPOLLIN))
		lost(q, now, "cannot watch its socket");
}

static void start_connect(struct qmp_client *q, uint64_t now)
{
	q->conn_ns = now;
	q->fd = socket(q->sa.ss_family,
		       SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (q->fd < 0) {
		log_err("QEMU monitor %s: cannot open a socket: %s", q->addr,
			strerror(errno));
		drop(q, now);
		return;
	}
	if (connect(q->fd, (struct sockaddr *)&q->sa, q->salen) &&
	    errno != EINPROGRESS) {
		if (!q->told_down)
			log_warn(
				"QEMU monitor %s: cannot connect: %s; trying again until QEMU listens there",
				q->addr, strerror(errno));
		q->told_down = true;
		drop(q, now);
		return;
	}
	/* a unix socket connects at once; TCP says so when writable */
	q->state = QMP_CONNECTING;
	if (ctl_epoll_set(q->ep, q->fd, 0, &q->ev, EPOLLOUT))
		lost(q, now, "cannot watch its socket");
}

void qmp_client_handle(struct qmp_client *q, uint64_t now)
{
	struct epoll_event ev;

	if (epoll_wait(q->ep, &ev, 1, 0) != 1 || q->fd < 0)
		return;
	if (q->state == QMP_CONNECTING) {
		connected(q, now);
		return;
	}
	if (ev.events & EPOLLOUT)
		conn_send(q, now);
	if (q->fd >= 0 && ev.events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		conn_read(q, now);
	qmp_client_tick(q, now);
}

void qmp_client_tick(struct qmp_client *q, uint64_t now)
{
	uint64_t timeout = QMP_REPLY_TIMEOUT_MS * QMP_MS;

	if (q->state == QMP_IDLE && now >= q->retry_at)
		start_connect(q, now);
	if ((q->state == QMP_CONNECTING || q->state == QMP_GREETING) &&
	    now - q->conn_ns > timeout)
		fail(q, now, "sent no QMP greeting in %d ms",
		     QMP_REPLY_TIMEOUT_MS);
	if (q->npending && now - q->pending[0].sent_ns > timeout)
		fail(q, now, "did not answer %s in %d ms",
		     cmd_name[q->pending[0].cmd], QMP_REPLY_TIMEOUT_MS);
	/* one lost wake-up must not coalesce every later request */
	if (q->request_ns && !q->requesting && !q->stopped &&
	    now - q->request_ns > timeout) {
		q->request_ns = 0;
		log_warn(
			"QEMU monitor %s: QEMU took a checkpoint request and has not stopped the VM for it in %d ms: the next request goes out",
			q->addr, QMP_REPLY_TIMEOUT_MS);
	}
	if (q->stopped && !q->told_stuck &&
	    now - q->stop_ns > QMP_STUCK_MS * QMP_MS) {
		q->told_stuck = true;
		log_warn(
			"QEMU monitor %s: QEMU stopped the VM for a checkpoint %d ms ago and has not resumed it: held frames wait for it",
			q->addr, QMP_STUCK_MS);
	}
	if (q->dirty && q->fd >= 0 && !(q->ev & EPOLLOUT))
		conn_send(q, now);
}

void qmp_client_request_checkpoint(struct qmp_client *q, uint64_t now)
{
	if (q->state != QMP_READY) {
		q->st.requests_lost++;
		return;
	}
	if (!is_colo(q)) {
		q->st.requests_lost++;
		if (cli_log_due(++q->not_colo))
			log_warn(
				"QEMU monitor %s: migration status '%s', not 'colo': no checkpoint until COLO runs (migrate-set-capabilities x-colo, then migrate)",
				q->addr, q->status);
		return;
	}
	/*
	 * QEMU accepts the trigger before its COLO thread stops the VM: a
	 * request sent then would only set the same wake-up again, so the
	 * accepted one answers everything until its checkpoint completes.
	 */
	if (q->requesting || q->request_ns || q->stopped) {
		q->st.requests_coalesced++;
		return;
	}
	q->requesting = true;
	command(q, now, QMP_CMD_PARAMS, "");
}

static int parse_spec(struct qmp_client *q, const char *spec)
{
	struct sockaddr_un *un = (struct sockaddr_un *)&q->sa;
	const char *path = spec + 9;
	struct addrinfo *ai;
	int err;

	if (!strncmp(spec, "qmp:unix:", 9) && *path) {
		if (strlen(path) >= sizeof(un->sun_path)) {
			log_err("--notify %s: longer than %zu bytes: use a shorter path",
				spec, sizeof(un->sun_path) - 1);
			return -ENAMETOOLONG;
		}
		un->sun_family = AF_UNIX;
		strcpy(un->sun_path, path);
		q->salen = sizeof(*un);
	} else if (!strncmp(spec, "qmp:tcp:", 8)) {
		err = ctl_resolve_tcp(
			"--notify", spec, spec + 8, false,
			"qmp:tcp:ADDR:PORT, e.g. qmp:tcp:127.0.0.1:4444", &ai);
		if (err)
			return err;
		memcpy(&q->sa, ai->ai_addr, ai->ai_addrlen);
		q->salen = ai->ai_addrlen;
		freeaddrinfo(ai);
	} else {
		log_err("--notify %s: expected qmp:unix:PATH or qmp:tcp:ADDR:PORT",
			spec);
		return -EINVAL;
	}
	snprintf(q->addr, sizeof(q->addr), "%s", spec + 4);
	return 0;
}

int qmp_client_create(const char *spec, const struct qmp_client_ops *ops,
		      void *ctx, struct qmp_client **out)
{
	struct qmp_client *q;
	int err;

	*out = NULL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->fd = -1;
	q->ops = *ops;
	q->ctx = ctx;
	q->next_id = 1;
	q->retry_ms = QMP_RETRY_MIN_MS;
	q->out.buf = q->outbuf;
	q->out.cap = sizeof(q->outbuf);
	q->in = malloc(QMP_LINE_MAX);
	q->ep = epoll_create1(EPOLL_CLOEXEC);
	if (!q->in || q->ep < 0) {
		err = q->in ? -errno : -ENOMEM;
		log_err("--notify %s: %s", spec, strerror(-err));
		goto out;
	}
	err = parse_spec(q, spec);
	if (err)
		goto out;
	*out = q;
	return 0;
out:
	qmp_client_destroy(q);
	return err;
}

void qmp_client_destroy(struct qmp_client *q)
{
	if (!q)
		return;
	if (q->fd >= 0)
		close(q->fd);
	if (q->ep >= 0)
		close(q->ep);
	free(q->in);
	free(q);
}

int qmp_client_fd(const struct qmp_client *q)
{
	return q->ep;
}

const char *qmp_client_address(const struct qmp_client *q)
{
	return q->addr;
}

bool qmp_client_connected(const struct qmp_client *q)
{
	return q->state == QMP_READY;
}

void qmp_client_stats(const struct qmp_client *q, struct qmp_stats *out)
{
	*out = q->st;
}
