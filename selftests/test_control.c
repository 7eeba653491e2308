// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The control plane's modules over real sockets: the Xen frame parser on
 * every cut of a stream, the Xen notify server (unix and TCP) against a
 * client that speaks as libxl does, the JSON-lines parser on malformed
 * input, the control socket with every command, event and error, many
 * clients, a subscriber that never reads and a peer that is not root, the
 * --on-checkpoint-request runner, the mismatch pcap, and the QEMU monitor
 * client against a fake monitor that follows QMP or breaks it.
 *
 * The test is both the client and the server's poll loop: pump() runs the
 * server until what the client waits for has come, or a bounded number of
 * rounds has passed (a failure, never a timing assumption).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "cli.h"
#include "ctl_server.h"
#include "engine.h"
#include "hook.h"
#include "json.h"
#include "mismatch_dump.h"
#include "pcap_io.h"
#include "qmp.h"
#include "test.h"
#include "xen_proto.h"

/* Rounds of at most 10 ms each before a wait counts as failed. */
#define ROUNDS 1000

static char tmpdir[64];

static const char *tmp(const char *name)
{
	static char path[8][128];
	static int i;

	if (!tmpdir[0]) {
		strcpy(tmpdir, "/tmp/colo-ctl-test.XXXXXX");
		if (!mkdtemp(tmpdir))
			abort();
	}
	i = (i + 1) % 8;
	snprintf(path[i], sizeof(path[i]), "%s/%s", tmpdir, name);
	return path[i];
}

static __attribute__((destructor)) void rm_tmpdir(void)
{
	char cmd[128];

	if (tmpdir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
		if (system(cmd))
			fprintf(stderr, "cannot remove %s\n", tmpdir);
	}
}

static int unix_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strcpy(sa.sun_path, path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -errno;
	}
	return fd;
}

/* "tcp:127.0.0.1:PORT" or "tcp:[::1]:PORT" from xen_server_address(). */
static int tcp_connect(const char *addr)
{
	struct sockaddr_storage ss = {};
	char host[64];
	const char *port = strrchr(addr, ':');
	size_t hl = port - (addr + 4);
	int fd;

	memcpy(host, addr + 4, hl);
	host[hl] = 0;
	if (host[0] == '[') {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		host[hl - 1] = 0;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(atoi(port + 1));
		inet_pton(AF_INET6, host + 1, &in6->sin6_addr);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(atoi(port + 1));
		inet_pton(AF_INET, host, &in->sin_addr);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (connect(fd, (struct sockaddr *)&ss, sizeof(ss))) {
		close(fd);
		return -errno;
	}
	return fd;
}

static size_t xen_frame(char *buf, const char *msg, uint32_t len)
{
	buf[0] = (char)(len >> 24);
	buf[1] = (char)(len >> 16);
	buf[2] = (char)(len >> 8);
	buf[3] = (char)len;
	memcpy(buf + 4, msg, len);
	return 4 + len;
}

static void send_all(int fd, const void *buf, size_t len)
{
	CHECK_EQ(send(fd, buf, len, MSG_NOSIGNAL), (ssize_t)len);
}

static void send_msg(int fd, const char *msg)
{
	char buf[128];

	send_all(fd, buf, xen_frame(buf, msg, strlen(msg)));
}

/* A server under test: its poll loop runs between the client's steps. */
struct srv {
	struct xen_server *xen;
	struct ctl_server *ctl;
	struct qmp_client *qmp;
};

/* Added to the clock the QMP client is given: time passing, at once. */
static uint64_t qmp_skew_ns;

static void pump_once(const struct srv *s)
{
	if (s->xen) {
		xen_server_handle(s->xen);
		xen_server_flush(s->xen);
	}
	if (s->ctl) {
		ctl_server_handle(s->ctl);
		ctl_server_flush(s->ctl);
	}
	if (s->qmp) {
		qmp_client_handle(s->qmp, cli_now_ns() + qmp_skew_ns);
		qmp_client_tick(s->qmp, cli_now_ns() + qmp_skew_ns);
	}
}

/*
 * Run the server until fd has n bytes for us (appended to buf) or EOF.
 * Returns the byte count read, or -1 at EOF before it.
 */
static ssize_t pump_read(const struct srv *s, int fd, char *buf, size_t n)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t got = 0;
	ssize_t r;
	int i;

	for (i = 0; i < ROUNDS && got < n; i++) {
		pump_once(s);
		if (poll(&pfd, 1, 10) <= 0)
			continue;
		r = recv(fd, buf + got, n - got, MSG_DONTWAIT);
		if (r == 0)
			return -1;
		if (r > 0)
			got += r;
	}
	return got;
}

/*
 * Run the server and read what fd gets until it has been quiet for 20
 * rounds, EOF, or cap bytes. Returns the byte count, or -1 at EOF.
 */
static ssize_t drain(const struct srv *s, int fd, char *buf, size_t cap)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int idle = 0, i;
	size_t got = 0;
	ssize_t r;

	for (i = 0; i < 100 * ROUNDS && idle < 20 && got < cap; i++) {
		pump_once(s);
		if (poll(&pfd, 1, 10) <= 0) {
			idle++;
			continue;
		}
		r = recv(fd, buf + got, cap - got, MSG_DONTWAIT);
		if (r == 0)
			return -1;
		if (r > 0) {
			got += r;
			idle = 0;
		}
	}
	return got;
}

/* Run the server until fd reads EOF: true if it did. */
static bool pump_eof(const struct srv *s, int fd)
{
	static char buf[1 << 16];

	return drain(s, fd, buf, sizeof(buf)) < 0;
}

/* Run the server until cond() holds; false if it never did. */
static bool pump_until(const struct srv *s, bool (*cond)(const void *arg),
		       const void *arg)
{
	int i;

	for (i = 0; i < ROUNDS && !cond(arg); i++) {
		pump_once(s);
		poll(NULL, 0, 1);
	}
	return cond(arg);
}

/* Run the server until fd has a whole line; it is NUL-terminated. */
static bool pump_line(const struct srv *s, int fd, char *line, size_t cap)
{
	size_t n = 0;

	while (n < cap - 1) {
		if (pump_read(s, fd, line + n, 1) != 1)
			break;
		if (line[n++] == '\n') {
			line[n] = 0;
			return true;
		}
	}
	line[n] = 0;
	return false;
}

static void expect_xen(const struct srv *s, int fd, const char *msg)
{
	char want[128], got[128] = "";
	size_t n = xen_frame(want, msg, strlen(msg));

	CHECK_EQ(pump_read(s, fd, got, n), (ssize_t)n);
	CHECK(!memcmp(got, want, n));
}

/* Xen frame parser */

struct frames {
	char log[4096];
	size_t n;
	size_t count;
};

static void log_frame(void *ctx, const char *msg, uint32_t len)
{
	struct frames *f = ctx;

	f->count++;
	if (f->n >= sizeof(f->log) - XEN_MSG_MAX - 2)
		return;
	if (msg)
		f->n += snprintf(f->log + f->n, sizeof(f->log) - f->n, "%.*s|",
				 (int)len, msg);
	else
		f->n += snprintf(f->log + f->n, sizeof(f->log) - f->n,
				 "<%u bytes>|", len);
}

static size_t sample_stream(char *buf)
{
	size_t n = 0;
	char big[1000];

	memset(big, 'x', sizeof(big));
	n += xen_frame(buf + n, XEN_MSG_INIT, strlen(XEN_MSG_INIT));
	n += xen_frame(buf + n, "", 0);
	n += xen_frame(buf + n, big, sizeof(big));
	n += xen_frame(buf + n, XEN_MSG_CHECKPOINT, strlen(XEN_MSG_CHECKPOINT));
	n += xen_frame(buf + n, big, XEN_MSG_MAX);
	n += xen_frame(buf + n, "HELLO", 5);
	return n;
}

static const char sample_log[] =
	"COLO_USERSPACE_PROXY_INIT||<1000 bytes>|COLO_CHECKPOINT|"
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx|"
	"HELLO|";

TEST(xen_framer_every_split)
{
	char buf[4096];
	size_t len = sample_stream(buf), i, j;
	struct xen_framer fr;
	struct frames f;
	int bad = 0;

	/* one cut anywhere */
	for (i = 0; i <= len; i++) {
		memset(&fr, 0, sizeof(fr));
		memset(&f, 0, sizeof(f));
		CHECK_EQ(xen_framer_feed(&fr, buf, i, log_frame, &f), 0);
		CHECK_EQ(xen_framer_feed(&fr, buf + i, len - i, log_frame, &f),
			 0);
		bad += strcmp(f.log, sample_log) != 0 ||
		       xen_framer_partial(&fr);
	}
	CHECK_EQ(bad, 0);
	/* byte by byte: every boundary at once */
	memset(&fr, 0, sizeof(fr));
	memset(&f, 0, sizeof(f));
	for (j = 0; j < len; j++)
		CHECK_EQ(xen_framer_feed(&fr, buf + j, 1, log_frame, &f), 0);
	CHECK(!strcmp(f.log, sample_log));
	/* merged: the stream twice in one read */
	memcpy(buf + len, buf, len);
	memset(&fr, 0, sizeof(fr));
	memset(&f, 0, sizeof(f));
	CHECK_EQ(xen_framer_feed(&fr, buf, 2 * len, log_frame, &f), 0);
	CHECK_EQ(f.n, 2 * strlen(sample_log));
}

TEST(xen_framer_length_beyond_skip_max)
{
	struct xen_framer fr = {};
	struct frames f = {};
	char buf[64];
	uint8_t hdr[4] = { 0x7f, 0xff, 0xff, 0xff };
	size_t n;

	CHECK_EQ(xen_framer_feed(&fr, hdr, 4, log_frame, &f), -EMSGSIZE);
	CHECK(!xen_framer_partial(&fr));
	n = xen_frame(buf, XEN_MSG_INIT, strlen(XEN_MSG_INIT));
	CHECK_EQ(xen_framer_feed(&fr, buf, n, log_frame, &f), 0);
	CHECK(!strcmp(f.log, XEN_MSG_INIT "|"));
	/* XEN_SKIP_MAX itself is still skipped */
	hdr[0] = 0;
	hdr[1] = XEN_SKIP_MAX >> 16;
	hdr[2] = hdr[3] = 0;
	CHECK_EQ(xen_framer_feed(&fr, hdr, 4, log_frame, &f), 0);
	CHECK(xen_framer_partial(&fr));
}

/* Xen notify server */

struct xen_rec {
	int checkpoints;
};

static void on_xen_checkpoint(void *ctx)
{
	((struct xen_rec *)ctx)->checkpoints++;
}

static const struct xen_server_ops xen_ops = {
	.checkpoint_done = on_xen_checkpoint,
};

/* What libxl does: connect, INIT, and the reply within 500 ms. */
static int libxl_connect(const struct srv *s, const char *addr)
{
	int fd = strncmp(addr, "tcp:", 4) ? unix_connect(addr + 5) :
					    tcp_connect(addr);

	CHECK(fd >= 0);
	if (fd < 0)
		return fd;
	send_msg(fd, XEN_MSG_INIT);
	expect_xen(s, fd, XEN_MSG_INIT_REPLY);
	return fd;
}

static bool got_checkpoint(const void *arg)
{
	return ((const struct xen_rec *)arg)->checkpoints > 0;
}

static bool disconnected(const void *arg)
{
	return !xen_server_connected(arg);
}

static bool connected(const void *arg)
{
	return xen_server_connected(arg);
}

static void xen_session(const char *spec)
{
	struct xen_rec rec = {};
	struct srv s = {};
	struct xen_stats st;
	int fd;

	CHECK_EQ(xen_server_create(spec, &xen_ops, &rec, &s.xen), 0);
	if (!s.xen)
		return;
	CHECK(!xen_server_connected(s.xen));
	fd = libxl_connect(&s, xen_server_address(s.xen));
	CHECK(xen_server_connected(s.xen));
	xen_server_request_checkpoint(s.xen);
	expect_xen(&s, fd, XEN_MSG_DO_CHECKPOINT);
	send_msg(fd, XEN_MSG_CHECKPOINT);
	CHECK(pump_until(&s, got_checkpoint, &rec));
	CHECK_EQ(rec.checkpoints, 1);
	/* unknown: counted, not answered, the connection stays */
	send_msg(fd, "COLO_SOMETHING_NEW");
	send_msg(fd, XEN_MSG_INIT);
	expect_xen(&s, fd, XEN_MSG_INIT_REPLY);
	xen_server_stats(s.xen, &st);
	CHECK_EQ(st.connects, 1);
	CHECK_EQ(st.inits, 2);
	CHECK_EQ(st.do_checkpoint, 1);
	CHECK_EQ(st.checkpoints, 1);
	CHECK_EQ(st.unknown, 1);
	close(fd);
	xen_server_destroy(s.xen);
}

TEST(xen_server_unix)
{
	char spec[128];
	struct stat st;

	snprintf(spec, sizeof(spec), "xen:unix:%s", tmp("xen.sock"));
	xen_session(spec);
	CHECK(stat(tmp("xen.sock"), &st) && errno == ENOENT);
}

TEST(xen_server_tcp4)
{
	xen_session("xen:tcp:127.0.0.1:0");
}

TEST(xen_server_tcp6)
{
	xen_session("xen:tcp:[::1]:0");
}

TEST(xen_server_bad_specs)
{
	static const char *const bad[] = {
		"tcp:127.0.0.1:9000",  "xen:udp:127.0.0.1:9000",
		"xen:tcp:127.0.0.1",   "xen:tcp:127.0.0.1:",
		"xen:tcp:127.0.0.1:x", "xen:tcp:127.0.0.1:65536",
		"xen:tcp:300.0.0.1:9", "xen:tcp:localhost:9000",
		"xen:unix:",
	};
	struct xen_server *x, *y;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_EQ(xen_server_create(bad[i], &xen_ops, NULL, &x),
			 -EINVAL);
		CHECK(!x);
	}
	CHECK_EQ(xen_server_create("xen:tcp:127.0.0.1:0", &xen_ops, NULL, &x),
		 0);
	if (!x)
		return;
	char spec[64];

	snprintf(spec, sizeof(spec), "xen:%s", xen_server_address(x));
	CHECK_EQ(xen_server_create(spec, &xen_ops, NULL, &y), -EADDRINUSE);
	xen_server_destroy(x);
}

TEST(xen_truncated_then_eof_and_reconnect)
{
	struct xen_rec rec = {};
	struct srv s = {};
	struct xen_stats st;
	char buf[64];
	int fd;

	CHECK_EQ(xen_server_create("xen:tcp:127.0.0.1:0", &xen_ops, &rec,
				   &s.xen),
		 0);
	if (!s.xen)
		return;
	fd = libxl_connect(&s, xen_server_address(s.xen));
	/* half a COLO_CHECKPOINT, then the controller dies */
	send_all(fd, buf, xen_frame(buf, XEN_MSG_CHECKPOINT, 15) - 6);
	close(fd);
	CHECK(pump_until(&s, disconnected, s.xen));
	xen_server_stats(s.xen, &st);
	CHECK_EQ(st.truncated, 1);
	CHECK_EQ(rec.checkpoints, 0);
	/* a controller that reconnects is served again */
	fd = libxl_connect(&s, xen_server_address(s.xen));
	xen_server_request_checkpoint(s.xen);
	expect_xen(&s, fd, XEN_MSG_DO_CHECKPOINT);
	close(fd);
	xen_server_destroy(s.xen);
}

TEST(xen_oversized_skipped_connection_kept)
{
	struct srv s = {};
	struct xen_stats st;
	static char body[XEN_SKIP_MAX], buf[4 + XEN_SKIP_MAX];
	int fd;

	CHECK_EQ(xen_server_create("xen:tcp:127.0.0.1:0", &xen_ops, NULL,
				   &s.xen),
		 0);
	if (!s.xen)
		return;
	fd = libxl_connect(&s, xen_server_address(s.xen));
	memset(body, 'A', sizeof(body));
	/* exactly XEN_SKIP_MAX: skipped as it arrives */
	send_all(fd, buf, xen_frame(buf, body, XEN_SKIP_MAX));
	send_msg(fd, XEN_MSG_INIT);
	expect_xen(&s, fd, XEN_MSG_INIT_REPLY);
	xen_server_stats(s.xen, &st);
	CHECK_EQ(st.oversized, 1);
	CHECK(xen_server_connected(s.xen));
	close(fd);
	xen_server_destroy(s.xen);
}

TEST(xen_length_beyond_closes_then_reconnect)
{
	struct srv s = {};
	struct xen_stats st;
	uint8_t hdr[4] = { 0, 0x10, 0, 0 }; /* 1 MiB */
	int fd;

	CHECK_EQ(xen_server_create("xen:tcp:127.0.0.1:0", &xen_ops, NULL,
				   &s.xen),
		 0);
	if (!s.xen)
		return;
	fd = libxl_connect(&s, xen_server_address(s.xen));
	send_all(fd, hdr, 4);
	CHECK(pump_eof(&s, fd));
	close(fd);
	xen_server_stats(s.xen, &st);
	CHECK_EQ(st.oversized, 1);
	fd = libxl_connect(&s, xen_server_address(s.xen));
	close(fd);
	xen_server_destroy(s.xen);
}

TEST(xen_reply_sent_before_a_length_beyond_closes)
{
	uint8_t hdr[4] = { 0, 0x10, 0, 0 }; /* 1 MiB */
	struct srv s = {};
	struct xen_stats st;
	char buf[64];
	size_t n;
	int fd;

	CHECK_EQ(xen_server_create("xen:tcp:127.0.0.1:0", &xen_ops, NULL,
				   &s.xen),
		 0);
	if (!s.xen)
		return;
	fd = tcp_connect(xen_server_address(s.xen));
	CHECK(fd >= 0);
	/* INIT and the bad length in one segment: one read gets both */
	n = xen_frame(buf, XEN_MSG_INIT, strlen(XEN_MSG_INIT));
	memcpy(buf + n, hdr, sizeof(hdr));
	send_all(fd, buf, n + sizeof(hdr));
	expect_xen(&s, fd, XEN_MSG_INIT_REPLY);
	CHECK(pump_eof(&s, fd));
	close(fd);
	xen_server_stats(s.xen, &st);
	CHECK_EQ(st.inits, 1);
	CHECK_EQ(st.inits_lost, 0);
	CHECK_EQ(st.oversized, 1);
	xen_server_destroy(s.xen);
}

TEST(xen_new_connection_replaces_old)
{
	struct srv s = {};
	struct xen_stats st;
	int a, b;

	CHECK_EQ(xen_server_create("xen:tcp:127.0.0.1:0", &xen_ops, NULL,
				   &s.xen),
		 0);
	if (!s.xen)
		return;
	a = libxl_connect(&s, xen_server_address(s.xen));
	b = libxl_connect(&s, xen_server_address(s.xen));
	CHECK(pump_eof(&s, a));
	xen_server_request_checkpoint(s.xen);
	expect_xen(&s, b, XEN_MSG_DO_CHECKPOINT);
	xen_server_stats(s.xen, &st);
	CHECK_EQ(st.replaced, 1);
	CHECK_EQ(st.connects, 2);
	close(a);
	close(b);
	xen_server_destroy(s.xen);
}

TEST(xen_controller_that_never_reads)
{
	struct xen_framer fr = {};
	struct frames f = {};
	struct srv s = {};
	struct xen_stats st;
	static char buf[8 << 20];
	char spec[128];
	int fd, i;
	ssize_t n;

	snprintf(spec, sizeof(spec), "xen:unix:%s", tmp("slow-xen.sock"));
	CHECK_EQ(xen_server_create(spec, &xen_ops, NULL, &s.xen), 0);
	if (!s.xen)
		return;
	fd = libxl_connect(&s, xen_server_address(s.xen));
	/* every call returns at once; what does not fit is counted */
	for (i = 0; i < 200000; i++) {
		xen_server_request_checkpoint(s.xen);
		xen_server_flush(s.xen);
	}
	xen_server_stats(s.xen, &st);
	CHECK(st.do_checkpoint_lost > 0);
	CHECK_EQ(st.do_checkpoint + st.do_checkpoint_lost, 200000);
	/* what was queued arrives whole: no frame is torn */
	n = drain(&s, fd, buf, sizeof(buf));
	CHECK_EQ(n, (ssize_t)st.do_checkpoint * 17);
	CHECK_EQ(xen_framer_feed(&fr, buf, n > 0 ? n : 0, log_frame, &f), 0);
	CHECK(!xen_framer_partial(&fr));
	CHECK_EQ(f.count, st.do_checkpoint);
	CHECK(!strncmp(f.log, "DO_CHECKPOINT|DO_CHECKPOINT|", 28));
	close(fd);
	xen_server_destroy(s.xen);
}

static bool inits_seen(const void *arg)
{
	struct xen_stats st;

	xen_server_stats(arg, &st);
	return st.inits >= 201;
}

/* 200 INITs in one write: replies that find no room are counted lost. */
TEST(xen_init_flood_counts_lost_replies)
{
	static char flood[200 * (4 + sizeof(XEN_MSG_INIT) - 1)];
	const uint32_t n = sizeof(XEN_MSG_INIT) - 1;
	struct xen_framer fr = {};
	struct frames f = {};
	struct srv s = {};
	struct xen_stats st;
	static char buf[1 << 16];
	char spec[128], *p = flood;
	int fd, i;
	ssize_t got;

	snprintf(spec, sizeof(spec), "xen:unix:%s", tmp("flood-xen.sock"));
	CHECK_EQ(xen_server_create(spec, &xen_ops, NULL, &s.xen), 0);
	if (!s.xen)
		return;
	fd = libxl_connect(&s, xen_server_address(s.xen));
	for (i = 0; i < 200; i++, p += 4 + n) {
		p[0] = p[1] = p[2] = 0;
		p[3] = (char)n;
		memcpy(p + 4, XEN_MSG_INIT, n);
	}
	CHECK_EQ(write(fd, flood, sizeof(flood)), (ssize_t)sizeof(flood));
	CHECK(pump_until(&s, inits_seen, s.xen));
	xen_server_stats(s.xen, &st);
	CHECK_EQ(st.inits, 201);
	CHECK(st.inits_lost > 0);
	/* every reply not counted lost arrives whole */
	got = drain(&s, fd, buf, sizeof(buf));
	CHECK_EQ(xen_framer_feed(&fr, buf, got > 0 ? got : 0, log_frame, &f),
		 0);
	CHECK(!xen_framer_partial(&fr));
	CHECK_EQ(f.count + st.inits_lost, 200);
	close(fd);
	xen_server_destroy(s.xen);
}

/*
 * A request pending when a controller connects (they repeat every scan
 * cycle) must not reach it before its INIT is answered: libxl takes the
 * first message after INIT as the reply.
 */
TEST(xen_no_checkpoint_before_init)
{
	struct srv s = {};
	struct xen_stats st;
	int fd;

	CHECK_EQ(xen_server_create("xen:tcp:127.0.0.1:0", &xen_ops, NULL,
				   &s.xen),
		 0);
	if (!s.xen)
		return;
	fd = tcp_connect(xen_server_address(s.xen));
	CHECK(fd >= 0);
	CHECK(pump_until(&s, connected, s.xen));
	xen_server_request_checkpoint(s.xen);
	xen_server_flush(s.xen);
	send_msg(fd, XEN_MSG_INIT);
	expect_xen(&s, fd, XEN_MSG_INIT_REPLY);
	xen_server_request_checkpoint(s.xen);
	expect_xen(&s, fd, XEN_MSG_DO_CHECKPOINT);
	xen_server_stats(s.xen, &st);
	CHECK_EQ(st.do_checkpoint_lost, 1);
	CHECK_EQ(st.do_checkpoint, 1);
	close(fd);
	xen_server_destroy(s.xen);
}

TEST(xen_no_controller)
{
	struct xen_server *x;
	struct xen_stats st;

	CHECK_EQ(xen_server_create("xen:tcp:127.0.0.1:0", &xen_ops, NULL, &x),
		 0);
	if (!x)
		return;
	xen_server_request_checkpoint(x);
	xen_server_stats(x, &st);
	CHECK_EQ(st.do_checkpoint_lost, 1);
	CHECK_EQ(st.do_checkpoint, 0);
	xen_server_destroy(x);
}

/* JSON */

struct members {
	char log[1024];
	size_t n;
};

static int log_member(void *ctx, const struct json_member *m)
{
	struct members *r = ctx;

	r->n += snprintf(r->log + r->n, sizeof(r->log) - r->n, "%s=%d:%s:%.*s;",
			 m->key, m->type, m->str, (int)m->raw_len, m->raw);
	return 0;
}

TEST(json_valid)
{
	static const struct {
		const char *in, *log;
	} cases[] = {
		{ "{}", "" },
		{ " \t{ } \r\n", "" },
		{ "{\"command\":\"stats\"}", "command=3:stats:\"stats\";" },
		{ "{\"a\":1,\"b\":-0.5e+3,\"c\":true,\"d\":null,\"e\":[1,{}],\"f\":{\"g\":[]}}",
		  "a=2::1;b=2::-0.5e+3;c=1::true;d=0::null;e=5::[1,{}];f=4::{\"g\":[]};" },
		{ "{\"s\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\\u00e9\\ud83d\\ude00\"}",
		  "s=3:\"\\/\b\f\n\r\tA\xc3\xa9\xf0\x9f\x98\x80:\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\\u00e9\\ud83d\\ude00\";" },
		{ "{\"\xc3\xa9\":\"\xe2\x82\xac\"}",
		  "\xc3\xa9=3:\xe2\x82\xac:\"\xe2\x82\xac\";" },
	};
	struct members r;
	char err[128];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&r, 0, sizeof(r));
		CHECK_EQ(json_parse_object(cases[i].in, strlen(cases[i].in),
					   log_member, &r, err, sizeof(err)),
			 0);
		if (strcmp(r.log, cases[i].log))
			fprintf(stderr, "  case %zu: got '%s'\n", i, r.log);
		CHECK(!strcmp(r.log, cases[i].log));
	}
}

TEST(json_malformed)
{
	static const char *const bad[] = {
		"",
		"   ",
		"{",
		"}",
		"[1]",
		"\"command\"",
		"{\"command\"}",
		"{\"command\":}",
		"{\"command\" \"stats\"}",
		"{command:\"stats\"}",
		"{'command':'stats'}",
		"{\"a\":1,}",
		"{,\"a\":1}",
		"{\"a\":1 \"b\":2}",
		"{\"a\":1}}",
		"{\"a\":1} x",
		"{\"a\":1}{}",
		"{\"a\":01}",
		"{\"a\":-}",
		"{\"a\":1.}",
		"{\"a\":.5}",
		"{\"a\":1e}",
		"{\"a\":+1}",
		"{\"a\":tru}",
		"{\"a\":True}",
		"{\"a\":nul}",
		"{\"a\":\"x}",
		"{\"a\":\"\\x\"}",
		"{\"a\":\"\\u12\"}",
		"{\"a\":\"\\u12g4\"}",
		"{\"a\":\"\\ud800\"}",
		"{\"a\":\"\\ud800\\u0041\"}",
		"{\"a\":\"\\udc00\"}",
		"{\"a\":\"\\u0000\"}",
		"{\"a\":\"tab\there\"}",
		"{\"a\":\"\x80\"}",
		"{\"a\":\"\xc0\xaf\"}",
		"{\"a\":\"\xed\xa0\x80\"}",
		"{\"a\":\"\xf4\x90\x80\x80\"}",
		"{\"a\":\"\xe2\x82\"}",
		"{\"a\":[1,]}",
		"{\"a\":[1 2]}",
		"{\"a\":{\"b\"}}",
		"{\"a\":[}",
		"{\"a\":1}\x01",
	};
	char deep[200], err[128], line[600];
	struct members r;
	size_t i;
	int d;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		memset(&r, 0, sizeof(r));
		if (json_parse_object(bad[i], strlen(bad[i]), log_member, &r,
				      err, sizeof(err)) != -EINVAL)
			fprintf(stderr, "  accepted: '%s'\n", bad[i]);
		CHECK(!strncmp(err, "byte ", 5));
	}
	/* a NUL inside the line */
	CHECK_EQ(json_parse_object("{\"a\":1}\0", 8, log_member, &r, err,
				   sizeof(err)),
		 -EINVAL);
	/* nesting beyond JSON_DEPTH_MAX is refused, not recursed into */
	d = snprintf(deep, sizeof(deep), "{\"a\":");
	for (i = 0; i < 2 * JSON_DEPTH_MAX; i++)
		deep[d++] = '[';
	deep[d] = 0;
	CHECK_EQ(json_parse_object(deep, d, log_member, &r, err, sizeof(err)),
		 -EINVAL);
	CHECK(strstr(err, "nested deeper"));
	/* a string longer than JSON_STR_MAX - 1 */
	d = snprintf(line, sizeof(line), "{\"command\":\"");
	memset(line + d, 'a', JSON_STR_MAX);
	d += JSON_STR_MAX;
	d += snprintf(line + d, sizeof(line) - d, "\"}");
	CHECK_EQ(json_parse_object(line, d, log_member, &r, err, sizeof(err)),
		 -EINVAL);
	CHECK(strstr(err, "longer than"));
}

TEST(json_writer)
{
	char buf[128], small[16];
	struct json_out o;
	struct members r = {};
	char err[128];
	int n;

	json_out_begin(&o, buf, sizeof(buf));
	json_out_bool(&o, "ok", false);
	json_out_str(&o, "error", "a \"quoted\" \\ line\n\x01");
	json_out_u64(&o, "n", UINT64_MAX);
	n = json_out_end(&o);
	CHECK(n > 0);
	CHECK(!strcmp(buf,
		      "{\"ok\":false,\"error\":\"a \\\"quoted\\\" \\\\ "
		      "line\\u000a\\u0001\",\"n\":18446744073709551615}\n"));
	/* what the writer writes, the parser reads back */
	CHECK_EQ(json_parse_object(buf, n, log_member, &r, err, sizeof(err)),
		 0);
	CHECK(strstr(r.log, "error=3:a \"quoted\" \\ line\n\x01:"));
	json_out_begin(&o, small, sizeof(small));
	json_out_str(&o, "error", "too long for sixteen bytes");
	CHECK_EQ(json_out_end(&o), -ENOSPC);
}

static int log_element(void *ctx, const char *elem, size_t len)
{
	struct members *r = ctx;

	r->n += snprintf(r->log + r->n, sizeof(r->log) - r->n, "%.*s;",
			 (int)len, elem);
	return 0;
}

TEST(json_arrays_of_objects)
{
	static const char *const bad[] = {
		"", "{}", "[", "[1,]", "[,1]", "[1 2]", "[1]]", "[1] x", "[{]",
	};
	const char *arr = " [ {\"a\":1} ,2,\"x\",[3]] ";
	char buf[256], err[128];
	struct members r = {};
	struct json_out o;
	size_t i;
	int n;

	json_out_begin(&o, buf, sizeof(buf));
	json_out_bool(&o, "ok", true);
	json_out_array_begin(&o, "rules");
	json_out_object_begin(&o);
	json_out_str(&o, "spec", "proto=udp,dport=53");
	json_out_u64(&o, "primary", 3);
	json_out_object_end(&o);
	json_out_object_begin(&o);
	json_out_str(&o, "spec", "src=fd00::/64");
	json_out_object_end(&o);
	json_out_array_end(&o);
	json_out_array_begin(&o, "none");
	json_out_array_end(&o);
	json_out_u64(&o, "n", 2);
	n = json_out_end(&o);
	CHECK(!strcmp(buf, "{\"ok\":true,\"rules\":[{\"spec\":"
			   "\"proto=udp,dport=53\",\"primary\":3},"
			   "{\"spec\":\"src=fd00::/64\"}],\"none\":[],"
			   "\"n\":2}\n"));
	CHECK_EQ(json_parse_object(buf, n, log_member, &r, err, sizeof(err)),
		 0);
	/* each element as written, in order */
	memset(&r, 0, sizeof(r));
	CHECK_EQ(json_parse_array(arr, strlen(arr), log_element, &r, err,
				  sizeof(err)),
		 0);
	CHECK(!strcmp(r.log, "{\"a\":1};2;\"x\";[3];"));
	memset(&r, 0, sizeof(r));
	CHECK_EQ(json_parse_array("[]", 2, log_element, &r, err, sizeof(err)),
		 0);
	CHECK(!strcmp(r.log, ""));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		if (json_parse_array(bad[i], strlen(bad[i]), log_element, &r,
				     err, sizeof(err)) != -EINVAL)
			fprintf(stderr, "  accepted: '%s'\n", bad[i]);
		CHECK(!strncmp(err, "byte ", 5));
	}
}

/* Control socket */

struct ctl_rec {
	int checkpoint_done, failover, resume;
	int fail_with;
	struct ctl_stats stats;
	struct ctl_status status;
	char spec[JSON_STR_MAX]; /* of the last passthrough-add or -del */
	int pass_added, pass_deleted;
};

static int rec_checkpoint_done(void *ctx)
{
	struct ctl_rec *r = ctx;

	r->checkpoint_done++;
	return r->fail_with;
}

static int rec_failover(void *ctx)
{
	struct ctl_rec *r = ctx;

	r->failover++;
	return r->fail_with;
}

static int rec_resume(void *ctx)
{
	struct ctl_rec *r = ctx;

	r->resume++;
	return r->fail_with;
}

static void rec_stats(void *ctx, struct ctl_stats *out)
{
	*out = ((struct ctl_rec *)ctx)->stats;
}

static void rec_status(void *ctx, struct ctl_status *out)
{
	*out = ((struct ctl_rec *)ctx)->status;
}

/* A refusal says why, as a bad spec does. */
static int rec_pass(struct ctl_rec *r, const char *spec, char *err,
		    size_t errlen)
{
	snprintf(r->spec, sizeof(r->spec), "%s", spec);
	if (r->fail_with)
		snprintf(err, errlen, "proto: '%s' is not tcp", spec);
	return r->fail_with;
}

static int rec_pass_add(void *ctx, const char *spec, char *err, size_t errlen)
{
	((struct ctl_rec *)ctx)->pass_added++;
	return rec_pass(ctx, spec, err, errlen);
}

static int rec_pass_del(void *ctx, const char *spec, char *err, size_t errlen)
{
	((struct ctl_rec *)ctx)->pass_deleted++;
	return rec_pass(ctx, spec, err, errlen);
}

static int rec_pass_list(void *ctx, struct ctl_pass_rule *out, char *err,
			 size_t errlen)
{
	strcpy(out[0].spec, "proto=udp,dport=53");
	out[0].count = (struct colo_pass_count){ 3, 4 };
	strcpy(out[1].spec, "src=fd00::/64");
	out[1].count = (struct colo_pass_count){ 0, UINT64_MAX };
	return 2;
}

static const struct ctl_server_ops ctl_ops = {
	.checkpoint_done = rec_checkpoint_done,
	.failover = rec_failover,
	.resume = rec_resume,
	.stats = rec_stats,
	.status = rec_status,
	.passthrough_add = rec_pass_add,
	.passthrough_del = rec_pass_del,
	.passthrough_list = rec_pass_list,
};

/*
 * The control socket answers root only, and this process is the client:
 * not root, the case is skipped (ctl_peer_not_root checks the refusal).
 */
static bool ctl_skip_unless_root(void)
{
	if (!geteuid())
		return false;
	test_skip(
		"the control socket answers root only and this test is its client, running as uid %u",
		(unsigned int)geteuid());
	return true;
}

/* A server on tmp(name); none (its case returns) when skipped. */
static struct srv ctl_start(const char *name, struct ctl_rec *rec,
			    uint32_t max_clients)
{
	struct ctl_server_config cfg = { tmp(name), max_clients };
	struct srv s = {};

	if (ctl_skip_unless_root())
		return s;
	CHECK_EQ(ctl_server_create(&cfg, &ctl_ops, rec, &s.ctl), 0);
	return s;
}

/* One member of a JSON line, as text ("" when absent). */
struct find {
	const char *key;
	char val[JSON_STR_MAX];
	bool found;
};

static int find_member(void *ctx, const struct json_member *m)
{
	struct find *f = ctx;

	if (strcmp(m->key, f->key))
		return 0;
	f->found = true;
	if (m->type == JSON_STRING)
		strcpy(f->val, m->str);
	else
		snprintf(f->val, sizeof(f->val), "%.*s", (int)m->raw_len,
			 m->raw);
	return 0;
}

static const char *member(const char *line, const char *key)
{
	static struct find f;
	char err[128];

	memset(&f, 0, sizeof(f));
	f.key = key;
	if (json_parse_object(line, strlen(line), find_member, &f, err,
			      sizeof(err))) {
		fprintf(stderr, "  malformed line from the server: %s\n", err);
		return "(malformed)";
	}
	return f.found ? f.val : "";
}

/* Send a request line; returns the reply line (static). */
static const char *ask(const struct srv *s, int fd, const char *req)
{
	static char line[CTL_REPLY_MAX + 1];

	send_all(fd, req, strlen(req));
	if (!pump_line(s, fd, line, sizeof(line)))
		return "(no reply)";
	return line;
}

static bool ok(const char *reply)
{
	return !strcmp(member(reply, "ok"), "true");
}

TEST(ctl_socket_file)
{
	struct ctl_server_config cfg = { .path = tmp("file.sock") };
	struct ctl_server *s, *t;
	struct stat st;
	int fd;

	/* mode 0600 from the start */
	CHECK_EQ(ctl_server_create(&cfg, &ctl_ops, NULL, &s), 0);
	CHECK_EQ(stat(cfg.path, &st), 0);
	CHECK(S_ISSOCK(st.st_mode));
	CHECK_EQ(st.st_mode & 0777, 0600);
	/* a live socket is not taken over */
	CHECK_EQ(ctl_server_create(&cfg, &ctl_ops, NULL, &t), -EADDRINUSE);
	CHECK_EQ(stat(cfg.path, &st), 0);
	ctl_server_destroy(s);
	CHECK(stat(cfg.path, &st) && errno == ENOENT);
	/* a stale one (its process died) is replaced */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	strcpy(sa.sun_path, cfg.path);
	CHECK_EQ(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	CHECK_EQ(ctl_server_create(&cfg, &ctl_ops, NULL, &s), 0);
	ctl_server_destroy(s);
	/* another kind of file is left alone */
	fd = open(cfg.path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	CHECK_EQ(ctl_server_create(&cfg, &ctl_ops, NULL, &s), -EEXIST);
	CHECK_EQ(stat(cfg.path, &st), 0);
	unlink(cfg.path);
	cfg.path =
		"/tmp/a-path-much-longer-than-the-one-hundred-and-eight-bytes-"
		"of-sun-path-which-the-kernel-cannot-bind/control.sock";
	CHECK_EQ(ctl_server_create(&cfg, &ctl_ops, NULL, &s), -ENAMETOOLONG);
}

TEST(ctl_every_command)
{
	struct ctl_rec rec = {};
	struct srv s = ctl_start("cmd.sock", &rec, 0);
	const char *r;
	int fd, sub;
	char line[CTL_REPLY_MAX];

	if (!s.ctl)
		return;
	fd = unix_connect(tmp("cmd.sock"));
	sub = unix_connect(tmp("cmd.sock"));
	CHECK(ok(ask(&s, sub, "{\"command\":\"subscribe\"}\n")));

	CHECK(ok(ask(&s, fd, "{\"command\":\"checkpoint-done\"}\n")));
	CHECK_EQ(rec.checkpoint_done, 1);

	CHECK(ok(ask(&s, fd, "{\"command\":\"failover\"}\n")));
	CHECK_EQ(rec.failover, 1);
	CHECK(pump_line(&s, sub, line, sizeof(line)));
	CHECK(!strcmp(member(line, "event"), "failover"));
	CHECK(!strcmp(member(line, "reason"), "control command"));

	CHECK(ok(ask(&s, fd, "{\"command\":\"resume\"}\n")));
	CHECK_EQ(rec.resume, 1);
	CHECK(pump_line(&s, sub, line, sizeof(line)));
	CHECK(!strcmp(member(line, "event"), "resumed"));

	/* a refused action: its errno in the reply, no event */
	rec.fail_with = -EALREADY;
	r = ask(&s, fd, "{\"command\":\"resume\"}\n");
	CHECK(!ok(r));
	CHECK(strstr(member(r, "error"), strerror(EALREADY)));
	rec.fail_with = 0;

	rec.stats.loader.engine.checkpoints = 7;
	rec.stats.loader.engine.ckpt_requests[COLO_CKPT_TIMEOUT] = 3;
	rec.stats.loader.dp.rx[1] = 11;
	rec.stats.loader.dp.fill_ring_empty[0] = 5;
	rec.stats.xen.unknown = 2;
	rec.stats.hook.skipped = 4;
	r = ask(&s, fd, "{\"command\":\"stats\"}\n");
	CHECK(ok(r));
	CHECK(!strcmp(member(r, "checkpoints"), "7"));
	CHECK(!strcmp(member(r, "ckpt_timeout"), "3"));
	CHECK(!strcmp(member(r, "rx_secondary"), "11"));
	CHECK(!strcmp(member(r, "fill_ring_empty_primary"), "5"));
	CHECK(!strcmp(member(r, "xen_unknown"), "2"));
	CHECK(!strcmp(member(r, "hook_skipped"), "4"));
	CHECK(!strcmp(member(r, "ctl_subscribers"), "1"));
	CHECK(!strcmp(member(r, "pool_in_use"), "0"));

	rec.status.failover = true;
	rec.status.checkpoint_pending = true;
	rec.status.checkpoint_reason = COLO_CKPT_QUEUE_FULL;
	rec.status.xen_connected = true;
	r = ask(&s, fd, "{\"command\":\"status\"}\n");
	CHECK(ok(r));
	CHECK(!strcmp(member(r, "state"), "failover"));
	CHECK(!strcmp(member(r, "checkpoint_pending"), "true"));
	CHECK(!strcmp(member(r, "checkpoint_reason"), "queue-full"));
	CHECK(!strcmp(member(r, "xen_connected"), "true"));
	CHECK(!strcmp(member(r, "clients"), "2"));
	CHECK(!strcmp(member(r, "subscribers"), "1"));
	CHECK_EQ(atoi(member(r, "pid")), getpid());

	/* members other than "command" are ignored */
	CHECK(ok(ask(&s, fd, "{\"id\":5,\"command\":\"status\",\"x\":[1]}\n")));
	close(fd);
	close(sub);
	ctl_server_destroy(s.ctl);
}

TEST(ctl_passthrough_commands)
{
	struct ctl_rec rec = {};
	struct srv s = ctl_start("pass.sock", &rec, 0);
	const char *r;
	int fd;

	if (!s.ctl)
		return;
	fd = unix_connect(tmp("pass.sock"));
	CHECK(ok(ask(
		&s, fd,
		"{\"command\":\"passthrough-add\",\"spec\":\"proto=udp\"}\n")));
	CHECK_EQ(rec.pass_added, 1);
	CHECK(!strcmp(rec.spec, "proto=udp"));
	CHECK(ok(ask(
		&s, fd,
		"{\"spec\":\"dport=53\",\"command\":\"passthrough-del\"}\n")));
	CHECK_EQ(rec.pass_deleted, 1);
	CHECK(!strcmp(rec.spec, "dport=53"));
	/* the refusal's own words, not an errno */
	rec.fail_with = -EINVAL;
	r = ask(&s, fd,
		"{\"command\":\"passthrough-add\",\"spec\":\"proto=x\"}\n");
	CHECK(!ok(r));
	CHECK(!strcmp(member(r, "error"), "proto: 'proto=x' is not tcp"));
	rec.fail_with = 0;
	/* without a spec, or not a string: refused before the loader */
	r = ask(&s, fd, "{\"command\":\"passthrough-add\"}\n");
	CHECK(strstr(member(r, "error"),
		     "passthrough-add needs a \"spec\" string, e.g."));
	r = ask(&s, fd, "{\"command\":\"passthrough-del\",\"spec\":5}\n");
	CHECK(strstr(member(r, "error"), "passthrough-del needs a \"spec\""));
	CHECK_EQ(rec.pass_added + rec.pass_deleted, 3);
	r = ask(&s, fd, "{\"command\":\"passthrough-list\"}\n");
	CHECK(ok(r));
	CHECK(!strcmp(member(r, "rules"),
		      "[{\"spec\":\"proto=udp,dport=53\",\"primary\":3,"
		      "\"secondary\":4},{\"spec\":\"src=fd00::/64\","
		      "\"primary\":0,\"secondary\":18446744073709551615}]"));
	close(fd);
	ctl_server_destroy(s.ctl);
}

struct seen {
	uint64_t base;
	unsigned char count[sizeof(struct ctl_stats) / sizeof(uint64_t)];
};

static int seen_member(void *ctx, const struct json_member *m)
{
	struct seen *w = ctx;
	uint64_t v = strtoull(m->raw, NULL, 10);

	if (m->type == JSON_NUMBER && v >= w->base &&
	    v - w->base < sizeof(w->count))
		w->count[v - w->base]++;
	return 0;
}

/* A counter added to colo_stats.h or colo_dp.h must show up in stats. */
TEST(ctl_stats_name_every_counter)
{
	struct ctl_rec rec = {};
	struct srv s = ctl_start("every.sock", &rec, 0);
	uint64_t *v = (uint64_t *)&rec.stats;
	struct seen w = { .base = 1000000 };
	const char *r;
	char err[128];
	size_t i, missing = 0;
	int fd;

	if (!s.ctl)
		return;
	for (i = 0; i < sizeof(w.count); i++)
		v[i] = w.base + i;
	fd = unix_connect(tmp("every.sock"));
	r = ask(&s, fd, "{\"command\":\"stats\"}\n");
	CHECK_EQ(json_parse_object(r, strlen(r), seen_member, &w, err,
				   sizeof(err)),
		 0);
	for (i = 0; i < sizeof(w.count); i++)
		missing += w.count[i] != 1;
	CHECK_EQ(missing, 0);
	close(fd);
	ctl_server_destroy(s.ctl);
}

TEST(ctl_error_replies_keep_the_connection)
{
	static const struct {
		const char *req, *err;
	} cases[] = {
		{ "not json\n", "malformed JSON" },
		{ "{\"command\":\"stats\"\n", "malformed JSON" },
		{ "[\"stats\"]\n", "malformed JSON" },
		{ "{\"command\":\"reboot\"}\n", "unknown command 'reboot'" },
		{ "{\"cmd\":\"stats\"}\n", "missing \"command\"" },
		{ "{\"command\":1}\n", "must be a string" },
		{ "{}\n", "missing \"command\"" },
	};
	struct ctl_rec rec = {};
	struct srv s = ctl_start("err.sock", &rec, 0);
	static char big[1 << 20];
	struct ctl_server_stats st;
	const char *r;
	size_t i;
	int fd;

	if (!s.ctl)
		return;
	fd = unix_connect(tmp("err.sock"));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = ask(&s, fd, cases[i].req);
		CHECK(!strcmp(member(r, "ok"), "false"));
		if (!strstr(member(r, "error"), cases[i].err))
			fprintf(stderr, "  '%s' -> %s", cases[i].req, r);
		CHECK(strstr(member(r, "error"), cases[i].err));
	}
	/* blank lines are not requests; CRLF ends a line too */
	CHECK(ok(ask(&s, fd, "\n\r\n{\"command\":\"status\"}\r\n")));
	/* a 1 MiB line: one error, then the connection serves again */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\n';
	for (i = 0; i < sizeof(big);) {
		ssize_t n = send(fd, big + i, sizeof(big) - i, MSG_DONTWAIT);

		if (n > 0)
			i += n;
		pump_once(&s);
	}
	r = ask(&s, fd, "{\"command\":\"status\"}\n");
	CHECK(strstr(member(r, "error"), "longer than 4096 bytes"));
	CHECK(pump_line(&s, fd, big, sizeof(big)));
	CHECK(ok(big));
	ctl_server_stats(s.ctl, &st);
	CHECK_EQ(st.bad_requests, sizeof(cases) / sizeof(cases[0]) + 1);
	CHECK_EQ(st.clients, 1);
	close(fd);
	ctl_server_destroy(s.ctl);
}

TEST(ctl_client_that_does_not_read_its_replies)
{
	struct ctl_rec rec = {};
	struct srv s = ctl_start("noread.sock", &rec, 0);
	static char buf[16 << 20];
	const char req[] = "{\"command\":\"stats\"}\n";
	int fd, i, sent = 0, replies = 0, good = 0;
	char *l, *nl;
	ssize_t n;

	if (!s.ctl)
		return;
	fd = unix_connect(tmp("noread.sock"));
	/*
	 * Far more replies than its buffers hold: the server stops reading
	 * it, so its sends end up refused. Stop after 100 refusals in a row.
	 */
	for (i = 0; i < 100 && sent < 3000;) {
		if (send(fd, req, sizeof(req) - 1, MSG_DONTWAIT) > 0) {
			sent++;
			i = 0;
		} else {
			i++;
		}
		pump_once(&s);
	}
	CHECK(sent < 3000);
	/* held back, it does not keep the server's fd readable (no spin) */
	for (i = 0; i < 10; i++)
		pump_once(&s);
	CHECK_EQ(poll(&(struct pollfd){ .fd = ctl_server_fd(s.ctl),
					.events = POLLIN },
		      1, 0),
		 0);
	/* none lost, none reordered, the connection kept */
	n = drain(&s, fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	for (l = buf; (nl = strchr(l, '\n')); l = nl + 1) {
		*nl = 0;
		replies++;
		good += ok(l);
	}
	CHECK_EQ(replies, sent);
	CHECK_EQ(good, sent);
	CHECK(ok(ask(&s, fd, "{\"command\":\"status\"}\n")));
	close(fd);
	ctl_server_destroy(s.ctl);
}

TEST(ctl_unsupported_commands)
{
	static const struct ctl_server_ops none = {};
	struct ctl_server_config cfg = { .path = tmp("none.sock") };
	struct srv s = {};
	int fd;

	if (ctl_skip_unless_root())
		return;
	CHECK_EQ(ctl_server_create(&cfg, &none, NULL, &s.ctl), 0);
	if (!s.ctl)
		return;
	fd = unix_connect(cfg.path);
	CHECK(strstr(member(ask(&s, fd, "{\"command\":\"failover\"}\n"),
			    "error"),
		     "not supported"));
	CHECK(strstr(member(ask(&s, fd, "{\"command\":\"stats\"}\n"), "error"),
		     "not supported"));
	CHECK(strstr(member(ask(&s, fd, "{\"command\":\"passthrough-list\"}\n"),
			    "error"),
		     "not supported"));
	CHECK(ok(ask(&s, fd, "{\"command\":\"subscribe\"}\n")));
	close(fd);
	ctl_server_destroy(s.ctl);
}

TEST(ctl_reply_after_the_client_shut_down_writing)
{
	struct ctl_rec rec = {};
	struct srv s = ctl_start("shut.sock", &rec, 0);
	char line[CTL_REPLY_MAX];
	int fd;

	if (!s.ctl)
		return;
	fd = unix_connect(tmp("shut.sock"));
	send_all(fd, "{\"command\":\"checkpoint-done\"}\n", 30);
	shutdown(fd, SHUT_WR);
	CHECK(pump_line(&s, fd, line, sizeof(line)));
	CHECK(ok(line));
	CHECK(pump_eof(&s, fd));
	CHECK_EQ(rec.checkpoint_done, 1);
	close(fd);
	ctl_server_destroy(s.ctl);
}

TEST(ctl_hundred_clients)
{
	struct ctl_rec rec = {};
	struct srv s = ctl_start("many.sock", &rec, 0);
	struct ctl_server_stats st;
	char line[CTL_REPLY_MAX];
	int fd[100], i, good = 0;

	if (!s.ctl)
		return;
	for (i = 0; i < 100; i++)
		fd[i] = unix_connect(tmp("many.sock"));
	for (i = 0; i < 100; i++)
		send_all(fd[i], "{\"command\":\"status\"}\n", 21);
	for (i = 0; i < 100; i++)
		good += pump_line(&s, fd[i], line, sizeof(line)) && ok(line);
	CHECK_EQ(good, 100);
	ctl_server_stats(s.ctl, &st);
	CHECK_EQ(st.clients, 100);
	CHECK_EQ(st.accepted, 100);
	for (i = 0; i < 100; i++)
		close(fd[i]);
	for (i = 0; i < ROUNDS && st.clients; i++) {
		pump_once(&s);
		ctl_server_stats(s.ctl, &st);
	}
	CHECK_EQ(st.clients, 0);
	ctl_server_destroy(s.ctl);
}

TEST(ctl_too_many_clients)
{
	struct ctl_rec rec = {};
	struct srv s = ctl_start("full.sock", &rec, 2);
	char line[CTL_REPLY_MAX];
	int a, b, c;

	if (!s.ctl)
		return;
	a = unix_connect(tmp("full.sock"));
	b = unix_connect(tmp("full.sock"));
	CHECK(ok(ask(&s, a, "{\"command\":\"status\"}\n")));
	CHECK(ok(ask(&s, b, "{\"command\":\"status\"}\n")));
	c = unix_connect(tmp("full.sock"));
	CHECK(pump_line(&s, c, line, sizeof(line)));
	CHECK(strstr(member(line, "error"), "too many clients"));
	CHECK(pump_eof(&s, c));
	close(a);
	close(b);
	close(c);
	ctl_server_destroy(s.ctl);
}

static void emit_all(struct ctl_server *c)
{
	struct colo_flow_key k4 = {
		.saddr = { 10, 0, 0, 1 },
		.daddr = { 10, 0, 0, 2 },
		.sport = 40000,
		.dport = 80,
		.proto = IPPROTO_TCP,
		.ipver = 4,
	};
	struct colo_flow_key k6 = {
		.saddr = { 0xfd, [15] = 1 },
		.daddr = { 0xfd, [15] = 2 },
		.sport = 53,
		.dport = 5353,
		.proto = IPPROTO_UDP,
		.ipver = 6,
		.vlan = 0x1000 | 42,
	};
	struct colo_mismatch m4 = { &k4, 3, 103, 9, 5009 };
	struct colo_mismatch m6 = { &k6, 4, 104, 2, 0 };

	ctl_server_event_checkpoint(c, COLO_CKPT_TIMEOUT);
	ctl_server_event_mismatch(c, &m4);
	ctl_server_event_mismatch(c, &m6);
	ctl_server_event_failover(c, "secondary link down");
	ctl_server_event_degraded(c, "no buffers");
	ctl_server_event_resumed(c);
}

TEST(ctl_every_event)
{
	static const char *const want[][2] = {
		{ "event", "checkpoint-request" },
		{ "reason", "timeout" },
		{ "event", "mismatch" },
		{ "src", "10.0.0.1" },
		{ "event", "mismatch" },
		{ "dst", "fd00::2" },
		{ "event", "failover" },
		{ "reason", "secondary link down" },
		{ "event", "degraded" },
		{ "reason", "no buffers" },
		{ "event", "resumed" },
		{ "dropped", "0" },
	};
	struct ctl_rec rec = {};
	struct srv s = ctl_start("ev.sock", &rec, 0);
	char line[6][CTL_REPLY_MAX];
	int fd, other, i;

	if (!s.ctl)
		return;
	fd = unix_connect(tmp("ev.sock"));
	other = unix_connect(tmp("ev.sock"));
	CHECK(ok(ask(&s, fd, "{\"command\":\"subscribe\"}\n")));
	CHECK(ok(ask(&s, other, "{\"command\":\"status\"}\n")));
	emit_all(s.ctl);
	for (i = 0; i < 6; i++) {
		CHECK(pump_line(&s, fd, line[i], sizeof(line[i])));
		CHECK(!strcmp(member(line[i], want[2 * i][0]), want[2 * i][1]));
		CHECK(!strcmp(member(line[i], want[2 * i + 1][0]),
			      want[2 * i + 1][1]));
		CHECK(!strcmp(member(line[i], "dropped"), "0"));
	}
	/* the TCP mismatch: connection, both sides, position, offset */
	CHECK(!strcmp(member(line[1], "proto"), "6"));
	CHECK(!strcmp(member(line[1], "sport"), "40000"));
	CHECK(!strcmp(member(line[1], "dst"), "10.0.0.2"));
	CHECK(!strcmp(member(line[1], "dport"), "80"));
	CHECK(!strcmp(member(line[1], "primary"), "3"));
	CHECK(!strcmp(member(line[1], "secondary"), "103"));
	CHECK(!strcmp(member(line[1], "offset"), "9"));
	CHECK(!strcmp(member(line[1], "seq"), "5009"));
	CHECK(!strcmp(member(line[1], "vlan"), ""));
	/* UDP over IPv6 on VLAN 42: no sequence number */
	CHECK(!strcmp(member(line[2], "ipver"), "6"));
	CHECK(!strcmp(member(line[2], "src"), "fd00::1"));
	CHECK(!strcmp(member(line[2], "vlan"), "42"));
	CHECK(!strcmp(member(line[2], "seq"), ""));
	/* a client that did not subscribe gets no event */
	CHECK_EQ(drain(&s, other, line[0], sizeof(line[0])), 0);
	close(fd);
	close(other);
	ctl_server_destroy(s.ctl);
}

TEST(ctl_subscriber_that_never_reads)
{
	struct ctl_rec rec = {};
	struct srv s = ctl_start("slow.sock", &rec, 0);
	struct ctl_server_stats st;
	static char buf[32 << 20];
	uint64_t last = 0, d, lines = 0;
	bool monotonic = true;
	char *l, *nl;
	int slow, fd, i, replies = 0;
	ssize_t n;

	if (!s.ctl)
		return;
	slow = unix_connect(tmp("slow.sock"));
	fd = unix_connect(tmp("slow.sock"));
	CHECK(ok(ask(&s, slow, "{\"command\":\"subscribe\"}\n")));
	/* the datapath's calls return at once; the rest is counted */
	for (i = 0; i < 20000; i++) {
		emit_all(s.ctl);
		ctl_server_flush(s.ctl);
		if (i % 1000 == 0)
			pump_once(&s);
	}
	ctl_server_stats(s.ctl, &st);
	CHECK_EQ(st.events, 6 * 20000);
	CHECK(st.events_dropped > 0);
	CHECK(st.events_dropped < st.events);
	/* everyone else is still served */
	CHECK(ok(ask(&s, fd, "{\"command\":\"status\"}\n")));
	/* and so is the flooded subscriber: events leave room for replies */
	send_all(slow, "{\"command\":\"failover\"}\n", 24);
	for (i = 0; i < 10; i++)
		pump_once(&s);
	CHECK_EQ(rec.failover, 1);
	/* the subscriber gets whole lines; "dropped" shows the gaps */
	n = drain(&s, slow, buf, sizeof(buf) - 1);
	CHECK(n > 0);
	buf[n > 0 ? n : 0] = 0;
	for (l = buf; (nl = strchr(l, '\n')); l = nl + 1) {
		*nl = 0;
		if (!*member(l, "event")) {
			replies += ok(l);
			continue;
		}
		d = strtoull(member(l, "dropped"), NULL, 10);
		monotonic &= d >= last;
		last = d;
		lines++;
	}
	CHECK(!*l);
	CHECK(monotonic);
	CHECK_EQ(replies, 1);
	ctl_server_stats(s.ctl, &st);
	CHECK_EQ(lines + st.events_dropped, st.events);
	/* once it reads again, the next event tells how many it missed */
	ctl_server_event_resumed(s.ctl);
	CHECK(pump_line(&s, slow, buf, sizeof(buf)));
	CHECK_EQ(strtoull(member(buf, "dropped"), NULL, 10), st.events_dropped);
	close(slow);
	close(fd);
	ctl_server_destroy(s.ctl);
}

/* The child's side of a non-root connection: 0 when refused as wanted. */
static int nonroot_child(const char *path, bool expect_eacces)
{
	char line[CTL_REPLY_MAX];
	ssize_t n;
	int fd;

	if (setgid(65534) || setuid(65534))
		return 10;
	fd = unix_connect(path);
	if (expect_eacces)
		return fd == -EACCES ? 0 : 11;
	if (fd < 0)
		return 12;
	/* the server's loop runs in the parent */
	n = recv(fd, line, sizeof(line) - 1, 0);
	if (n <= 0)
		return 13;
	line[n] = 0;
	if (!strstr(line, "\"ok\":false") || !strstr(line, "root only"))
		return 14;
	return recv(fd, line, sizeof(line), 0) == 0 ? 0 : 15;
}

static int run_nonroot(const struct srv *s, const char *path,
		       bool expect_eacces)
{
	int status = -1, i;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (!pid)
		_exit(nonroot_child(path, expect_eacces));
	for (i = 0; i < ROUNDS; i++) {
		pump_once(s);
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 99;
		poll(NULL, 0, 10);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return 98;
}

TEST(ctl_peer_not_root)
{
	struct ctl_rec rec = {};
	struct ctl_server_stats st;
	struct srv s;
	int fd;

	if (geteuid())
		SKIP("needs root to connect as another user (setuid 65534), running as uid %u",
		     (unsigned int)geteuid());
	s = ctl_start("cred.sock", &rec, 0);
	if (!s.ctl)
		return;
	chmod(tmpdir, 0755);
	/* mode 0600: the kernel refuses the connect */
	CHECK_EQ(run_nonroot(&s, tmp("cred.sock"), true), 0);
	/* opened up by hand: SO_PEERCRED refuses, with a reason */
	CHECK_EQ(chmod(tmp("cred.sock"), 0666), 0);
	CHECK_EQ(run_nonroot(&s, tmp("cred.sock"), false), 0);
	ctl_server_stats(s.ctl, &st);
	CHECK_EQ(st.refused, 1);
	CHECK_EQ(st.accepted, 0);
	/* root still gets in */
	fd = unix_connect(tmp("cred.sock"));
	CHECK(ok(ask(&s, fd, "{\"command\":\"status\"}\n")));
	close(fd);
	ctl_server_destroy(s.ctl);
}

/* --on-checkpoint-request */

static bool wait_hook_done(struct ctl_hook *h)
{
	struct pollfd pfd = { .fd = ctl_hook_fd(h), .events = POLLIN };
	int i;

	for (i = 0; i < ROUNDS && ctl_hook_fd(h) >= 0; i++)
		if (poll(&pfd, 1, 10) > 0)
			ctl_hook_handle(h);
	return ctl_hook_fd(h) < 0;
}

static char *slurp(const char *path)
{
	static char buf[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	buf[0] = 0;
	if (fd < 0)
		return buf;
	n = read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	close(fd);
	return buf;
}

TEST(hook_one_at_a_time)
{
	struct ctl_hook_stats st;
	struct ctl_hook *h;
	char cmd[512];
	int gate, i;

	CHECK_EQ(mkfifo(tmp("gate"), 0600), 0);
	/* the command waits on the gate until the test opens it */
	snprintf(cmd, sizeof(cmd),
		 "read x < %s; echo \"$COLO_CHECKPOINT_REASON\" >> %s",
		 tmp("gate"), tmp("hook.out"));
	CHECK_EQ(ctl_hook_create(cmd, &h), 0);
	if (!h)
		return;
	CHECK_EQ(ctl_hook_fd(h), -1);
	setenv("COLO_CHECKPOINT_REASON", "stale", 1);
	ctl_hook_request(h, COLO_CKPT_TIMEOUT);
	CHECK(ctl_hook_fd(h) >= 0);
	/* while it runs: counted, not queued, and not blocking */
	for (i = 0; i < 5; i++)
		ctl_hook_request(h, COLO_CKPT_MISMATCH);
	ctl_hook_stats(h, &st);
	CHECK_EQ(st.runs, 1);
	CHECK_EQ(st.skipped, 5);
	gate = open(tmp("gate"), O_WRONLY);
	CHECK_EQ(write(gate, "go\n", 3), 3);
	close(gate);
	CHECK(wait_hook_done(h));
	CHECK(!strcmp(slurp(tmp("hook.out")), "timeout\n"));
	/* the next request runs again */
	ctl_hook_request(h, COLO_CKPT_TABLE_FULL);
	gate = open(tmp("gate"), O_WRONLY);
	CHECK_EQ(write(gate, "go\n", 3), 3);
	close(gate);
	CHECK(wait_hook_done(h));
	CHECK(!strcmp(slurp(tmp("hook.out")), "timeout\ntable-full\n"));
	ctl_hook_stats(h, &st);
	CHECK_EQ(st.runs, 2);
	CHECK_EQ(st.failed, 0);
	ctl_hook_destroy(h);
	unsetenv("COLO_CHECKPOINT_REASON");
}

TEST(hook_failure_counted)
{
	struct ctl_hook_stats st;
	struct ctl_hook *h;

	CHECK_EQ(ctl_hook_create("exit 3", &h), 0);
	if (!h)
		return;
	ctl_hook_request(h, COLO_CKPT_NO_BUFFERS);
	CHECK(wait_hook_done(h));
	ctl_hook_stats(h, &st);
	CHECK_EQ(st.runs, 1);
	CHECK_EQ(st.failed, 1);
	ctl_hook_destroy(h);
}

/* --mismatch-dump */

TEST(mismatch_dump_pairs)
{
	struct pcap_io_capture cap = {};
	struct mismatch_dump *d;
	uint8_t p[3][64], s[3][80];
	char err[PCAP_IO_ERRLEN];
	int i;

	CHECK_EQ(mismatch_dump_open(tmp("mm.pcap"), &d), 0);
	if (!d)
		return;
	for (i = 0; i < 3; i++) {
		memset(p[i], 'a' + i, sizeof(p[i]));
		memset(s[i], 'A' + i, sizeof(s[i]));
		mismatch_dump_pair(d, p[i], sizeof(p[i]), s[i], sizeof(s[i]));
	}
	CHECK_EQ(mismatch_dump_pairs(d), 3);
	CHECK_EQ(mismatch_dump_close(d), 0);
	CHECK_EQ(pcap_io_load(tmp("mm.pcap"), &cap, err, sizeof(err)), 0);
	CHECK_EQ(cap.count, 6);
	for (i = 0; i < 3 && cap.count == 6; i++) {
		CHECK_EQ(cap.frames[2 * i].len, sizeof(p[i]));
		CHECK(!memcmp(pcap_io_data(&cap, 2 * i), p[i], sizeof(p[i])));
		CHECK_EQ(cap.frames[2 * i + 1].len, sizeof(s[i]));
		CHECK(!memcmp(pcap_io_data(&cap, 2 * i + 1), s[i],
			      sizeof(s[i])));
		CHECK_EQ(cap.frames[2 * i].ts_ns, cap.frames[2 * i + 1].ts_ns);
	}
	pcap_io_free(&cap);
	CHECK_EQ(mismatch_dump_open("/nonexistent/dir/mm.pcap", &d), -ENOENT);
	CHECK(!d);
}

TEST(mismatch_dump_full_disk_said_and_not_counted)
{
	uint8_t p[64] = { 1 }, s[64] = { 2 };
	struct mismatch_dump *d;

	CHECK_EQ(mismatch_dump_open("/dev/full", &d), 0);
	if (!d)
		return;
	mismatch_dump_pair(d, p, sizeof(p), s, sizeof(s));
	CHECK_EQ(mismatch_dump_flush(d), -ENOSPC);
	/* not written any more, so not counted as dumped */
	mismatch_dump_pair(d, p, sizeof(p), s, sizeof(s));
	CHECK_EQ(mismatch_dump_pairs(d), 1);
	CHECK_EQ(mismatch_dump_flush(d), -ENOSPC);
	CHECK_EQ(mismatch_dump_close(d), -EIO);
}

/* The QEMU monitor client, against a fake monitor */

static int qmp_done, qmp_failovers;

static void on_qmp_checkpoint(void *ctx)
{
	qmp_done++;
}

static void on_qmp_failover(void *ctx)
{
	qmp_failovers++;
}

static const struct qmp_client_ops qmp_ops = {
	.checkpoint_done = on_qmp_checkpoint,
	.failover = on_qmp_failover,
};

/* A fake QEMU: listens where the client connects. */
struct monitor {
	int lfd;
	int fd; /* the client's connection */
	struct srv srv;
	struct qmp_stats st;
};

static const struct qmp_stats *qmp_st(struct monitor *m)
{
	qmp_client_stats(m->srv.qmp, &m->st);
	return &m->st;
}

static void say(struct monitor *m, const char *line)
{
	send_all(m->fd, line, strlen(line));
	send_all(m->fd, "\r\n", 2);
}

/* Run the client until it connects to the fake monitor. */
static bool qmp_accept(struct monitor *m)
{
	struct pollfd pfd = { .fd = m->lfd, .events = POLLIN };
	int i;

	for (i = 0; i < ROUNDS; i++) {
		pump_once(&m->srv);
		if (poll(&pfd, 1, 10) == 1)
			break;
	}
	m->fd = accept4(m->lfd, NULL, NULL, SOCK_CLOEXEC);
	return m->fd >= 0;
}

static int qmp_listen_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strcpy(sa.sun_path, path);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 4)) {
		close(fd);
		return -errno;
	}
	return fd;
}

static bool qmp_start(struct monitor *m, const char *name)
{
	const char *path = tmp(name);
	char spec[160];

	memset(m, 0, sizeof(*m));
	m->fd = -1;
	qmp_skew_ns = 0;
	qmp_done = qmp_failovers = 0;
	m->lfd = qmp_listen_unix(path);
	snprintf(spec, sizeof(spec), "qmp:unix:%s", path);
	CHECK(m->lfd >= 0);
	CHECK_EQ(qmp_client_create(spec, &qmp_ops, NULL, &m->srv.qmp), 0);
	return m->lfd >= 0 && m->srv.qmp && qmp_accept(m);
}

static void qmp_stop(struct monitor *m)
{
	qmp_client_destroy(m->srv.qmp);
	if (m->fd >= 0)
		close(m->fd);
	if (m->lfd >= 0)
		close(m->lfd);
}

/*
 * The next command the client sends: its name must be want; its id (a
 * number) in id, its arguments as written in args (or "").
 */
static bool expect_cmd(struct monitor *m, const char *want, char *id,
		       char *args)
{
	char line[1024], err[64];
	struct json_member x, i, a;
	size_t n;

	if (!pump_line(&m->srv, m->fd, line, sizeof(line)))
		return false;
	n = strlen(line);
	if (json_find(line, n, "execute", &x, err, sizeof(err)) ||
	    json_find(line, n, "id", &i, err, sizeof(err)) ||
	    strcmp(x.str, want)) {
		fprintf(stderr, "  expected %s, got %s", want, line);
		return false;
	}
	snprintf(id, 24, "%.*s", (int)i.raw_len, i.raw);
	args[0] = 0;
	if (!json_find(line, n, "arguments", &a, err, sizeof(err)))
		snprintf(args, 256, "%.*s", (int)a.raw_len, a.raw);
	return true;
}

static void reply(struct monitor *m, const char *id, const char *ret)
{
	char line[1024];

	snprintf(line, sizeof(line), "{\"return\": %s, \"id\": %s}", ret, id);
	say(m, line);
}

/* Greeting, capabilities, events on, the migration status asked. */
static bool qmp_handshake(struct monitor *m, const char *status)
{
	char id[24], args[256], ret[64];

	say(m,
	    "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, \"package\": \"Debian\"}, \"capabilities\": [\"oob\"]}}");
	if (!expect_cmd(m, "qmp_capabilities", id, args))
		return false;
	reply(m, id, "{}");
	if (!expect_cmd(m, "migrate-set-capabilities", id, args))
		return false;
	CHECK(!strcmp(
		args,
		"{\"capabilities\":[{\"capability\":\"events\",\"state\":true}]}"));
	reply(m, id, "{}");
	if (!expect_cmd(m, "query-migrate", id, args))
		return false;
	snprintf(ret, sizeof(ret), "{\"status\": \"%s\"}", status);
	reply(m, id, ret);
	return true;
}

static bool qmp_is_up(const void *arg)
{
	return qmp_client_connected(arg);
}

static bool qmp_is_down(const void *arg)
{
	return !qmp_client_connected(arg);
}

/* A request: the period asked, then sent back as it was. */
static bool qmp_request(struct monitor *m, const char *period)
{
	char id[24], args[256], ret[512], want[64];

	qmp_client_request_checkpoint(m->srv.qmp, cli_now_ns());
	if (!expect_cmd(m, "query-migrate-parameters", id, args))
		return false;
	/* a long string QEMU may hold that the client must skip */
	snprintf(
		ret, sizeof(ret),
		"{\"tls-hostname\": \"%0300d\", \"x-checkpoint-delay\": %s, \"max-bandwidth\": 134217728}",
		0, period);
	reply(m, id, ret);
	if (!expect_cmd(m, "migrate-set-parameters", id, args))
		return false;
	snprintf(want, sizeof(want), "{\"x-checkpoint-delay\":%s}", period);
	CHECK(!strcmp(args, want));
	reply(m, id, "{}");
	return true;
}

static bool qmp_checkpointed(const void *arg)
{
	return qmp_done == *(const int *)arg;
}

static void qmp_events(struct monitor *m, const char *const *ev)
{
	char line[256];

	for (; *ev; ev++) {
		snprintf(
			line, sizeof(line),
			"{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"%s\"}",
			*ev);
		say(m, line);
	}
}

static const char *const qmp_checkpoint[] = { "STOP", "MIGRATION_PASS",
					      "RESUME", NULL };

TEST(qmp_request_and_completion)
{
	static const char *const stop[] = { "STOP", NULL };
	static const char *const rest[] = { "MIGRATION_PASS", "RESUME", NULL };
	struct monitor m;
	int one = 1;

	if (!qmp_start(&m, "qmp1") || !qmp_handshake(&m, "colo")) {
		CHECK(0);
		qmp_stop(&m);
		return;
	}
	CHECK(pump_until(&m.srv, qmp_is_up, m.srv.qmp));
	CHECK_EQ(qmp_st(&m)->connects, 1);
	CHECK(qmp_request(&m, "20000"));
	/* a unix socket: what was sent is there to read at once */
	pump_once(&m.srv);
	CHECK_EQ(qmp_st(&m)->requests, 1);
	/*
	 * QEMU answered, its COLO thread has not stopped the VM yet: the
	 * request taken answers what is asked meanwhile, and so does the
	 * checkpoint running.
	 */
	qmp_client_request_checkpoint(m.srv.qmp, cli_now_ns());
	CHECK_EQ(qmp_st(&m)->requests_coalesced, 1);
	qmp_events(&m, stop);
	pump_once(&m.srv);
	qmp_client_request_checkpoint(m.srv.qmp, cli_now_ns());
	CHECK_EQ(qmp_st(&m)->requests_coalesced, 2);
	qmp_events(&m, rest);
	CHECK(pump_until(&m.srv, qmp_checkpointed, &one));
	CHECK_EQ(qmp_st(&m)->checkpoints, 1);
	CHECK(m.st.checkpoint_ns > 0);
	CHECK_EQ(m.st.requests, 1);
	CHECK_EQ(m.st.errors, 0);
	/* done: the next request goes out, and is the next command sent */
	CHECK(qmp_request(&m, "20000"));
	pump_once(&m.srv);
	CHECK_EQ(qmp_st(&m)->requests, 2);
	CHECK_EQ(m.st.requests_coalesced, 2);
	qmp_stop(&m);
}

TEST(qmp_request_taken_but_no_checkpoint)
{
	char id[24], args[256];
	struct monitor m;

	if (!qmp_start(&m, "qmp5") || !qmp_handshake(&m, "colo")) {
		CHECK(0);
		qmp_stop(&m);
		return;
	}
	CHECK(pump_until(&m.srv, qmp_is_up, m.srv.qmp));
	CHECK(qmp_request(&m, "20000"));
	pump_once(&m.srv);
	qmp_client_request_checkpoint(m.srv.qmp, cli_now_ns());
	CHECK_EQ(qmp_st(&m)->requests_coalesced, 1);
	/* no STOP in QMP_REPLY_TIMEOUT_MS: the next request goes out */
	qmp_skew_ns = (QMP_REPLY_TIMEOUT_MS + 1) * 1000000ull;
	pump_once(&m.srv);
	qmp_client_request_checkpoint(m.srv.qmp, cli_now_ns() + qmp_skew_ns);
	CHECK(expect_cmd(&m, "query-migrate-parameters", id, args));
	reply(&m, id, "{\"x-checkpoint-delay\": 20000}");
	CHECK(expect_cmd(&m, "migrate-set-parameters", id, args));
	reply(&m, id, "{}");
	pump_once(&m.srv);
	CHECK_EQ(qmp_st(&m)->requests, 2);
	/*
	 * COLO left with a request taken: nothing answers it any more, and
	 * the first request in COLO again goes out.
	 */
	say(&m,
	    "{\"event\": \"MIGRATION\", \"data\": {\"status\": \"completed\"}, \"timestamp\": {\"seconds\": 1, \"microseconds\": 2}}");
	pump_once(&m.srv);
	qmp_client_request_checkpoint(m.srv.qmp, cli_now_ns() + qmp_skew_ns);
	CHECK_EQ(qmp_st(&m)->requests_lost, 1);
	say(&m,
	    "{\"event\": \"MIGRATION\", \"data\": {\"status\": \"colo\"}, \"timestamp\": {\"seconds\": 1, \"microseconds\": 2}}");
	pump_once(&m.srv);
	qmp_client_request_checkpoint(m.srv.qmp, cli_now_ns() + qmp_skew_ns);
	CHECK(expect_cmd(&m, "query-migrate-parameters", id, args));
	CHECK_EQ(qmp_st(&m)->requests_coalesced, 1);
	CHECK_EQ(m.st.errors, 0);
	qmp_stop(&m);
}

static bool qmp_failed_over(const void *arg)
{
	return qmp_failovers == *(const int *)arg;
}

TEST(qmp_primary_leaving_colo_fails_over)
{
	struct monitor m;
	int one = 1;

	if (!qmp_start(&m, "qmp6") || !qmp_handshake(&m, "colo")) {
		CHECK(0);
		qmp_stop(&m);
		return;
	}
	CHECK(pump_until(&m.srv, qmp_is_up, m.srv.qmp));
	/* a secondary's exit is not this primary's to act on */
	say(&m,
	    "{\"event\": \"COLO_EXIT\", \"data\": {\"mode\": \"secondary\", \"reason\": \"request\"}, \"timestamp\": {\"seconds\": 1, \"microseconds\": 2}}");
	pump_once(&m.srv);
	CHECK_EQ(qmp_failovers, 0);
	/* x-colo-lost-heartbeat on the primary */
	say(&m,
	    "{\"event\": \"COLO_EXIT\", \"data\": {\"mode\": \"primary\", \"reason\": \"request\"}, \"timestamp\": {\"seconds\": 1, \"microseconds\": 2}}");
	CHECK(pump_until(&m.srv, qmp_failed_over, &one));
	CHECK(qmp_client_connected(m.srv.qmp));
	CHECK_EQ(qmp_st(&m)->errors, 0);
	qmp_stop(&m);
}

TEST(qmp_what_is_not_a_checkpoint)
{
	static const char *const cont[] = { "STOP", "RESUME", NULL };
	static const char *const done[] = { "MIGRATION_PASS", "STOP", "RESUME",
					    NULL };
	struct monitor m;
	int none = 0, one = 1;

	if (!qmp_start(&m, "qmp2") || !qmp_handshake(&m, "colo")) {
		CHECK(0);
		qmp_stop(&m);
		return;
	}
	/* stop and cont by an operator: no MIGRATION_PASS between */
	qmp_events(&m, cont);
	qmp_events(&m, done);
	say(&m,
	    "{\"event\": \"MIGRATION\", \"data\": {\"status\": \"completed\"}, \"timestamp\": {\"seconds\": 1, \"microseconds\": 2}}");
	/* a migration's last pass, after COLO left */
	qmp_events(&m, qmp_checkpoint);
	CHECK(!pump_until(&m.srv, qmp_checkpointed, &one));
	CHECK(qmp_checkpointed(&none));
	qmp_client_request_checkpoint(m.srv.qmp, cli_now_ns());
	CHECK_EQ(qmp_st(&m)->requests_lost, 1);
	CHECK_EQ(m.st.errors, 0);
	/* COLO again: the next checkpoint counts */
	say(&m,
	    "{\"event\": \"MIGRATION\", \"data\": {\"status\": \"colo\"}, \"timestamp\": {\"seconds\": 1, \"microseconds\": 2}}");
	qmp_events(&m, qmp_checkpoint);
	CHECK(pump_until(&m.srv, qmp_checkpointed, &one));
	qmp_stop(&m);
}

TEST(qmp_broken_peers_closed_counted_retried)
{
	static char big[QMP_LINE_MAX + 16];
	char id[24], args[256];
	struct monitor m;

	if (!qmp_start(&m, "qmp3")) {
		CHECK(0);
		qmp_stop(&m);
		return;
	}
	say(&m, "\x01 not a monitor");
	CHECK(pump_eof(&m.srv, m.fd));
	CHECK_EQ(qmp_st(&m)->errors, 1);
	close(m.fd);
	/* retried after QMP_RETRY_MIN_MS, then an error reply */
	CHECK(qmp_accept(&m));
	say(&m, "{\"QMP\": {\"version\": {}, \"capabilities\": []}}");
	CHECK(expect_cmd(&m, "qmp_capabilities", id, args));
	say(&m,
	    "{\"error\": {\"class\": \"GenericError\", \"desc\": \"no\"}, \"id\": 1}");
	CHECK(pump_eof(&m.srv, m.fd));
	CHECK_EQ(qmp_st(&m)->errors, 2);
	close(m.fd);
	/* JSON that is not QMP, then a reply to a command never sent */
	CHECK(qmp_accept(&m));
	say(&m, "{\"hello\": 1}");
	CHECK(pump_eof(&m.srv, m.fd));
	close(m.fd);
	CHECK(qmp_accept(&m) && qmp_handshake(&m, "colo"));
	say(&m, "{\"return\": {}, \"id\": 99}");
	CHECK(pump_eof(&m.srv, m.fd));
	close(m.fd);
	/* a line longer than any QMP message */
	CHECK(qmp_accept(&m));
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	say(&m, big);
	CHECK(pump_eof(&m.srv, m.fd));
	CHECK_EQ(qmp_st(&m)->errors, 5);
	CHECK_EQ(m.st.connects, 1);
	CHECK_EQ(m.st.reconnects, 0);
	qmp_stop(&m);
}

TEST(qmp_silent_monitor_times_out_then_reconnects)
{
	char id[24], args[256];
	struct monitor m;

	if (!qmp_start(&m, "qmp4") || !qmp_handshake(&m, "colo")) {
		CHECK(0);
		qmp_stop(&m);
		return;
	}
	CHECK(pump_until(&m.srv, qmp_is_up, m.srv.qmp));
	qmp_client_request_checkpoint(m.srv.qmp, cli_now_ns());
	CHECK(expect_cmd(&m, "query-migrate-parameters", id, args));
	/* no answer: QMP_REPLY_TIMEOUT_MS pass */
	qmp_skew_ns = (QMP_REPLY_TIMEOUT_MS + 1) * 1000000ull;
	CHECK(pump_until(&m.srv, qmp_is_down, m.srv.qmp));
	CHECK_EQ(qmp_st(&m)->errors, 1);
	close(m.fd);
	qmp_skew_ns += QMP_RETRY_MAX_MS * 1000000ull;
	CHECK(qmp_accept(&m) && qmp_handshake(&m, "colo"));
	CHECK(pump_until(&m.srv, qmp_is_up, m.srv.qmp));
	CHECK_EQ(qmp_st(&m)->reconnects, 1);
	CHECK_EQ(m.st.connects, 2);
	qmp_stop(&m);
}

TEST(qmp_no_monitor_yet_then_tcp)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	struct monitor m = { .fd = -1 };
	char spec[64];
	int one = 1;

	/* a port nobody listens on: lost requests, retries, no error */
	m.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(!bind(m.lfd, (struct sockaddr *)&sa, sizeof(sa)));
	getsockname(m.lfd, (struct sockaddr *)&sa, &sl);
	snprintf(spec, sizeof(spec), "qmp:tcp:127.0.0.1:%u",
		 ntohs(sa.sin_port));
	qmp_skew_ns = 0;
	qmp_done = qmp_failovers = 0;
	CHECK_EQ(qmp_client_create(spec, &qmp_ops, NULL, &m.srv.qmp), 0);
	if (!m.srv.qmp) {
		qmp_stop(&m);
		return;
	}
	pump_once(&m.srv);
	pump_once(&m.srv);
	qmp_client_request_checkpoint(m.srv.qmp, cli_now_ns());
	CHECK_EQ(qmp_st(&m)->requests_lost, 1);
	CHECK_EQ(m.st.errors, 0);
	/* it listens now: the client comes, and works over TCP */
	CHECK(!listen(m.lfd, 4));
	CHECK(qmp_accept(&m) && qmp_handshake(&m, "colo"));
	CHECK(pump_until(&m.srv, qmp_is_up, m.srv.qmp));
	CHECK(qmp_request(&m, "0"));
	qmp_events(&m, qmp_checkpoint);
	CHECK(pump_until(&m.srv, qmp_checkpointed, &one));
	qmp_stop(&m);
}

TEST(qmp_bad_specs)
{
	static const char *const bad[] = {
		"qmp:udp:127.0.0.1:4444",  "qmp:unix:",
		"qmp:tcp:localhost:4444",  "qmp:tcp:127.0.0.1",
		"qmp:tcp:127.0.0.1:99999", "qmp:tcp:127.1:4444",
		"qmp:tcp:1.2.3:4444",	   "qmp:tcp:0x7f.0.0.1:4444",
		"qmp:tcp:[::1%]:4444",
	};
	char longpath[200];
	struct qmp_client *q;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_EQ(qmp_client_create(bad[i], &qmp_ops, NULL, &q),
			 -EINVAL);
		CHECK(!q);
	}
	snprintf(longpath, sizeof(longpath), "qmp:unix:/%0150d", 0);
	CHECK_EQ(qmp_client_create(longpath, &qmp_ops, NULL, &q),
		 -ENAMETOOLONG);
	CHECK(!q);
}
