// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fuzz_xen: the Xen COLO proxy protocol framer (user/control/xen_proto.h), which
 * reassembles what the COLO controller sends: a 4-byte big-endian length,
 * then that many bytes of text.
 *
 * The input is the byte stream. It is fed to the framer twice: whole, and
 * cut into chunks whose sizes come from the stream itself (as reads from
 * a socket cut it anywhere), each chunk in a heap buffer of exactly its
 * size. Checked on every input:
 * - both feeds give the same frames, and those the format says: each
 *   length and, up to XEN_MSG_MAX bytes, the body as sent; a longer body
 *   is skipped (msg NULL) while framing continues;
 * - -EMSGSIZE exactly at the first length beyond XEN_SKIP_MAX, and
 *   nothing after it (the caller closes the connection);
 * - xen_framer_partial() says whether the stream ended inside a frame.
 * Then the stream goes, as a controller would send it, to a real server
 * (xen_server_create() on a unix socket in a fresh directory under $TMPDIR,
 * removed at exit; selftests/fuzz/run points TMPDIR into the build
 * directory, where a crashed run leaves it), which must count each frame by kind (INIT, COLO_CHECKPOINT,
 * unknown, oversized, truncated), call checkpoint_done once per
 * COLO_CHECKPOINT, answer with COLO_COMPARE_GET_XEN_INIT every INIT that
 * fits its output buffer (unless it closes the connection for a length
 * over XEN_SKIP_MAX), and close the connection at the end. The
 * server's log lines are sent to /dev/null while it runs; sanitizer
 * reports still reach the real stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sanitizer/common_interface_defs.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fuzz.h"
#include "xen_proto.h"

/* The server's output buffer holds this many INIT replies unsent. */
#define REPLY_LEN (4 + sizeof(XEN_MSG_INIT_REPLY) - 1)
#define REPLIES_BUFFERED (512 / REPLY_LEN)

struct seen {
	const uint8_t *stream;
	size_t size;
	size_t at; /* where the next frame must start */
	unsigned int n;
	struct xen_stats want; /* what the server must count */
};

static struct xen_server *srv;
static struct sockaddr_un addr = { .sun_family = AF_UNIX };
static char dir[sizeof(addr.sun_path) - 16];
static int real_stderr = -1, devnull = -1;
static uint64_t checkpoints_done;

static bool is(const char *msg, uint32_t len, const char *want)
{
	return len == strlen(want) && !memcmp(msg, want, len);
}

static void on_frame(void *ctx, const char *msg, uint32_t len)
{
	struct seen *s = ctx;
	const uint8_t *h = s->stream + s->at;
	uint32_t want;

	REQUIRE(s->at + 4 <= s->size);
	want = (uint32_t)h[0] << 24 | h[1] << 16 | h[2] << 8 | h[3];
	REQUIRE(len == want && want <= XEN_SKIP_MAX);
	REQUIRE(s->at + 4 + len <= s->size);
	if (len <= XEN_MSG_MAX)
		REQUIRE(msg && !memcmp(msg, h + 4, len));
	else
		REQUIRE(!msg);
	if (!msg)
		s->want.oversized++;
	else if (is(msg, len, XEN_MSG_INIT))
		s->want.inits++;
	else if (is(msg, len, XEN_MSG_CHECKPOINT))
		s->want.checkpoints++;
	else
		s->want.unknown++;
	s->at += 4 + len;
	s->n++;
}

/* Feed stream in chunks of the given sizes (all of it when NULL). */
static int feed(const uint8_t *stream, size_t size, const uint8_t *cuts,
		size_t ncuts, struct seen *s, bool *partial)
{
	struct xen_framer f;
	size_t off = 0, n, i = 0;
	uint8_t *chunk;
	int ret = 0;

	memset(&f, 0, sizeof(f));
	memset(s, 0, sizeof(*s));
	s->stream = stream;
	s->size = size;
	while (off < size && !ret) {
		n = cuts ? 1 + cuts[i++ % ncuts] % 32 : size;
		if (n > size - off)
			n = size - off;
		chunk = malloc(n);
		REQUIRE(chunk);
		memcpy(chunk, stream + off, n);
		ret = xen_framer_feed(&f, chunk, n, on_frame, s);
		free(chunk);
		off += n;
	}
	*partial = xen_framer_partial(&f);
	return ret;
}

static void on_checkpoint_done(void *ctx)
{
	checkpoints_done++;
}

static void cleanup(void)
{
	xen_server_destroy(srv);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const struct xen_server_ops ops = {
		.checkpoint_done = on_checkpoint_done,
	};
	char spec[sizeof(addr.sun_path) + 16];

	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/fuzz-xen-XXXXXX", tmp ? tmp : "/tmp");
	REQUIRE(mkdtemp(dir));
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/xen.sock", dir);
	snprintf(spec, sizeof(spec), "xen:unix:%s", addr.sun_path);
	REQUIRE(!xen_server_create(spec, &ops, NULL, &srv));
	atexit(cleanup);
	real_stderr = dup(2);
	devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	REQUIRE(real_stderr >= 0 && devnull >= 0);
	__sanitizer_set_report_fd((void *)(long)real_stderr);
	return 0;
}

/* One server step with its log lines silenced. */
static void server_step(void)
{
	struct pollfd pfd = { .fd = xen_server_fd(srv), .events = POLLIN };

	poll(&pfd, 1, 100);
	fflush(stderr);
	dup2(devnull, 2);
	xen_server_handle(srv);
	fflush(stderr);
	dup2(real_stderr, 2);
}

/*
 * Send the stream as a controller: connect, write it all, half-close, and
 * read replies until the server closes. Returns the bytes of replies.
 */
static size_t converse(const uint8_t *data, size_t size, uint8_t *reply,
		       size_t cap)
{
	bool shut = false, eof = false;
	size_t sent = 0, got = 0;
	ssize_t n;
	int c;

	c = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	REQUIRE(c >= 0);
	REQUIRE(!connect(c, (struct sockaddr *)&addr, sizeof(addr)));
	while (!eof) {
		if (sent < size) {
			n = send(c, data + sent, size - sent, MSG_NOSIGNAL);
			if (n > 0)
				sent += n;
			else if (errno == EPIPE || errno == ECONNRESET)
				sent = size; /* the server closed: it may */
		}
		if (sent == size && !shut) {
			shutdown(c, SHUT_WR);
			shut = true;
		}
		server_step();
		while ((n = recv(c, reply + got, cap - got, 0)) > 0) {
			got += n;
			REQUIRE(got < cap);
		}
		eof = !n || (n < 0 && errno != EAGAIN);
	}
	close(c);
	return got;
}

/* The server's counts for this connection, what it said, and its calls. */
static void check_server(const uint8_t *data, size_t size, const struct seen *s,
			 int ret, bool partial)
{
	struct xen_stats before, after;
	uint64_t done = checkpoints_done;
	static uint8_t reply[65536];
	size_t len, i;

	xen_server_stats(srv, &before);
	len = converse(data, size, reply, sizeof(reply));
	REQUIRE(!xen_server_connected(srv));
	xen_server_stats(srv, &after);
	REQUIRE(after.connects == before.connects + 1);
	REQUIRE(after.inits - before.inits == s->want.inits);
	REQUIRE(after.checkpoints - before.checkpoints == s->want.checkpoints);
	REQUIRE(checkpoints_done - done == s->want.checkpoints);
	REQUIRE(after.unknown - before.unknown == s->want.unknown);
	REQUIRE(after.oversized - before.oversized ==
		s->want.oversized + (ret != 0));
	REQUIRE(after.truncated - before.truncated == partial);
	REQUIRE(len % REPLY_LEN == 0 && len / REPLY_LEN <= s->want.inits);
	/* a connection closed for an over-long length loses what it queued */
	if (!ret && s->want.inits <= REPLIES_BUFFERED)
		REQUIRE(len / REPLY_LEN == s->want.inits);
	/* its length, 25, then the text */
	for (i = 0; i < len; i += REPLY_LEN)
		REQUIRE(!memcmp(reply + i, "\0\0\0\x19" XEN_MSG_INIT_REPLY,
				REPLY_LEN));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen whole, cut;
	bool pwhole, pcut;
	const uint8_t *h;
	uint32_t len;
	int ret;

	ret = feed(data, size, NULL, 0, &whole, &pwhole);
	REQUIRE(ret == 0 || ret == -EMSGSIZE);
	/* what follows the last frame: a length too big, or a cut frame */
	h = data + whole.at;
	if (ret) {
		REQUIRE(whole.at + 4 <= size);
		len = (uint32_t)h[0] << 24 | h[1] << 16 | h[2] << 8 | h[3];
		REQUIRE(len > XEN_SKIP_MAX);
		REQUIRE(!pwhole);
	} else {
		REQUIRE(pwhole == (whole.at < size));
		if (whole.at + 4 <= size) {
			len = (uint32_t)h[0] << 24 | h[1] << 16 | h[2] << 8 |
			      h[3];
			REQUIRE(whole.at + 4 + len > size);
		}
	}

	REQUIRE(feed(data, size, data, size, &cut, &pcut) == ret);
	REQUIRE(cut.n == whole.n && cut.at == whole.at && pcut == pwhole);
	check_server(data, size, &whole, ret, pwhole);
	return 0;
}
