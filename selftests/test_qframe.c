// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * QEMU's frame channel format as colo-xdp chardev reads it (qframe.h):
 * frames taken whole from the byte ring however the socket's reads cut
 * them, a frame that wraps as two pieces, prefixes that cannot be QEMU's
 * refused as soon as they are in, and the prefix written as QEMU reads it;
 * and what the bridge waits for on its sockets.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bridge.h"
#include "qframe.h"
#include "test.h"

/* Append n bytes to the ring, as reads of at most cut bytes would. */
static void feed(struct qframe_ring *r, const uint8_t *p, uint32_t n,
		 uint32_t cut)
{
	struct iovec iov[2];
	uint32_t k, i, c;
	int m;

	while (n) {
		m = qframe_ring_room(r, iov);
		CHECK(m > 0);
		c = n < cut ? n : cut;
		for (k = 0, i = 0; i < (uint32_t)m && k < c; i++) {
			uint32_t l = iov[i].iov_len < c - k ? iov[i].iov_len :
							      c - k;

			memcpy(iov[i].iov_base, p + k, l);
			k += l;
		}
		qframe_ring_fill(r, k);
		p += k;
		n -= k;
	}
}

/* The bytes of f's frame (after its vnet header) from its iovecs. */
static uint32_t gather(const struct qframe_ring *r, const struct qframe *f,
		       uint8_t *out)
{
	struct iovec iov[2];
	uint32_t k = 0;
	int i, n;

	n = qframe_ring_iov(r, f->start + f->vnet_len, f->len - f->vnet_len,
			    iov);
	for (i = 0; i < n; i++) {
		memcpy(out + k, iov[i].iov_base, iov[i].iov_len);
		k += iov[i].iov_len;
	}
	return k;
}

TEST(frames_whole_in_order_across_cuts_and_the_wrap)
{
	static uint8_t msg[200000], got[2000];
	struct qframe_ring r;
	uint32_t n = 0, i, len, seen = 0, wrapped = 0;
	const char *why;
	struct qframe f;
	int ret;

	CHECK_EQ(qframe_ring_init(&r, 1u << 17), 0);
	/* frames of 60..1559 bytes, each byte its frame's number */
	for (i = 0; n + 1600 < sizeof(msg); i++) {
		len = 60 + (i * 37) % 1500;
		n += qframe_prefix(msg + n, len + 12, 12, true);
		memset(msg + n, 0, 12);
		memset(msg + n + 12, i & 0xff, len);
		n += len + 12;
	}
	for (uint32_t off = 0; off < n;) {
		uint32_t chunk = n - off < 777 ? n - off : 777;

		feed(&r, msg + off, chunk, 333);
		off += chunk;
		while ((ret = qframe_next(&r, true, &f, &why)) > 0) {
			struct iovec iov[2];

			len = 60 + (seen * 37) % 1500;
			CHECK_EQ(f.len, len + 12);
			CHECK_EQ(f.vnet_len, 12);
			CHECK_EQ(gather(&r, &f, got), len);
			CHECK(got[0] == (seen & 0xff) &&
			      got[len - 1] == (seen & 0xff));
			wrapped += qframe_ring_iov(&r, f.start, f.len, iov) ==
				   2;
			qframe_take(&r, &f);
			seen++;
		}
		CHECK_EQ(ret, 0);
	}
	CHECK_EQ(seen, i);
	CHECK(wrapped > 0);
	qframe_ring_free(&r);
}

/* ret and the message of the prefix p (plen bytes) alone. */
static int judge(const uint8_t *p, uint32_t plen, bool vnet, const char **why)
{
	struct qframe_ring r;
	struct qframe f;
	int ret;

	qframe_ring_init(&r, 1u << 17);
	feed(&r, p, plen, plen);
	ret = qframe_next(&r, vnet, &f, why);
	qframe_ring_free(&r);
	return ret;
}

TEST(prefixes_that_cannot_be_qemus_are_refused_at_once)
{
	const uint8_t http[] = "GET / HTTP/1.0\r\n";
	const uint8_t zero[] = { 0, 0, 0, 0 };
	const uint8_t huge[] = { 0, 1, 0x10, 1 }; /* 69633 */
	const uint8_t vbig[] = { 0, 0, 1, 0, 0, 0, 0, 33 };
	const uint8_t runt[] = { 0, 0, 0, 25, 0, 0, 0, 12 }; /* 13 left */
	const uint8_t ok[] = { 0, 1, 0x10, 0 }; /* 69632: more needed */
	const char *why = NULL;

	CHECK_EQ(judge(http, 4, false, &why), -EBADMSG);
	CHECK(why && strstr(why, "1195725856"));
	CHECK_EQ(judge(zero, 4, false, &why), -EBADMSG);
	CHECK_EQ(judge(huge, 4, false, &why), -EBADMSG);
	CHECK_EQ(judge(vbig, 8, true, &why), -EBADMSG);
	CHECK(strstr(why, "vnet header length of 33"));
	CHECK_EQ(judge(runt, 8, true, &why), -EBADMSG);
	CHECK(strstr(why, "shorter than an Ethernet header"));
	CHECK_EQ(judge(ok, 4, false, &why), 0);
	CHECK_EQ(judge(runt, 4, true, &why), 0); /* the vnet length not in */
}

TEST(prefix_as_qemu_reads_it)
{
	uint8_t p[QFRAME_PREFIX_MAX];

	CHECK_EQ(qframe_prefix(p, 0x01020304, 12, false), 4);
	CHECK(p[0] == 1 && p[1] == 2 && p[2] == 3 && p[3] == 4);
	CHECK_EQ(qframe_prefix(p, 74, 12, true), 8);
	CHECK(p[3] == 74 && p[4] == 0 && p[7] == 12);
}

/* How many events epoll has for fd at once, watched for want (0: not). */
static int wakeups(int fd, uint32_t want)
{
	struct epoll_event ev = { .events = want }, out;
	int ep = epoll_create1(EPOLL_CLOEXEC), n;

	if (ep < 0)
		return -1;
	if (want && epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)) {
		close(ep);
		return -1;
	}
	n = epoll_wait(ep, &out, 1, 0);
	close(ep);
	return n;
}

/*
 * A peer that hangs up while the tap is full: epoll reports a hangup at
 * once on every wait, so the bridge must not watch that socket until the
 * tap drains, or its loop spins. Then the end of the stream is seen.
 */
TEST(a_peer_hanging_up_while_the_tap_is_full_wakes_nothing)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		CHECK(0);
		return;
	}
	close(sv[1]);
	CHECK_EQ(wakeups(sv[0], bridge_peer_events(COLO_CHARDEV_IN, false, true,
						   false)),
		 0);
	/* the tap drained: the hangup is read */
	CHECK_EQ(wakeups(sv[0], bridge_peer_events(COLO_CHARDEV_IN, false,
						   false, false)),
		 1);
	/* --out hears its peer go whether or not frames wait to be sent */
	CHECK_EQ(wakeups(sv[0], bridge_peer_events(COLO_CHARDEV_OUT, false,
						   false, true)),
		 1);
	CHECK_EQ(wakeups(sv[0], bridge_peer_events(COLO_CHARDEV_OUT, false,
						   false, false)),
		 1);
	CHECK(bridge_peer_events(COLO_CHARDEV_IN, true, false, false) &
	      EPOLLOUT);
	close(sv[0]);
}
