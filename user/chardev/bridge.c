// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/if_tun.h>

#include "bridge.h"
#include "channel.h"
#include "cli.h"
#include "counters.h"
#include "endpoint.h"
#include "log.h"
#include "qframe.h"
#include "record.h"

#define IN COLO_CHARDEV_IN
#define OUT COLO_CHARDEV_OUT

/* epoll tags */
enum { TAG_TAP, TAG_PEER_IN, TAG_PEER_OUT, TAG_LISTEN_IN, TAG_LISTEN_OUT };

/* What --in's socket is read into: a few hundred frames of any size. */
#define RING_BYTES (1u << 20)
/* The longest frame a tap read gives, vnet header included. */
#define TAP_READ_MAX QFRAME_MAX
/* The record for stat, and the tap's own drops, this often. */
#define PUBLISH_NS (250 * 1000000ull)
/* Reads of --in's socket per wakeup: the tap's direction gets its turn. */
#define IN_READS 64

#define F(f, h)                                                           \
	{                                                                 \
#f, offsetof(struct colo_chardev_stats, f), COLO_TOTAL, h \
	}
/* clang-format off */
const struct colo_counter chardev_counters[] = {
	F(frames, "Frames moved whole, into the tap or onto the socket"),
	F(bytes, "Bytes of those frames, the vnet header included"),
	F(connects, "Peers taken or connected to"),
	F(disconnects, "Peers lost, or dropped for a bad prefix"),
	F(refused, "Second peers closed while one was served"),
	F(bad_prefix, "Prefixes that cannot be QEMU's: the channel closed"),
	F(tap_errors, "Frames the tap refused (write error): dropped"),
	F(stalls, "Times the socket was full and the tap was not read"),
	F(stall_us, "Microseconds the socket was full, in all"),
	F(no_peer, "Frames read from the tap while no peer was there: dropped"),
	F(tap_dropped, "Frames the tap dropped itself while the bridge stalled"),
};
/* clang-format on */
const unsigned int chardev_counters_n =
	sizeof(chardev_counters) / sizeof(chardev_counters[0]);
_Static_assert(sizeof(chardev_counters) / sizeof(chardev_counters[0]) *
			       sizeof(__u64) ==
		       sizeof(struct colo_chardev_stats),
	       "a counter of struct colo_chardev_stats has no name");

struct bridge {
	const struct bridge_cfg *cfg;
	int tap, ep;
	uint32_t tap_vnet; /* the vnet header tun reads and writes: 0, 10, 12 */
	bool have[COLO_CHARDEV_NR_DIRS];
	struct endpoint end[COLO_CHARDEV_NR_DIRS];
	/* epoll interest now: tap, peers, listeners */
	uint32_t ev_tap, ev_peer[COLO_CHARDEV_NR_DIRS],
		ev_listen[COLO_CHARDEV_NR_DIRS];
	/* in: the socket's bytes; tap_full: a write would block */
	struct qframe_ring ring;
	bool tap_full;
	/* out: a batch of frames read from the tap, and their prefixes */
	uint8_t *obuf;
	uint32_t ocap, oused, on;
	uint8_t (*pre)[QFRAME_PREFIX_MAX];
	struct iovec *iov;
	uint32_t niov, iov_at; /* iov_at == niov: nothing to send */
	uint64_t stall_ns; /* when the socket filled; 0: it did not */
	uint64_t tx_dropped0; /* the tap's tx_dropped at the start */
	struct colo_chardev rec;
	struct chardev_record pins;
};

static volatile sig_atomic_t report_due;

static void on_usr1(int sig)
{
	report_due = 1;
}

/* The tap's tx_dropped: frames it dropped because nobody read them in time. */
static uint64_t tap_tx_dropped(const char *tap)
{
	unsigned long long v = 0;
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/tx_dropped",
		 tap);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fscanf(f, "%llu", &v) != 1)
		v = 0;
	fclose(f);
	return v;
}

/*
 * Attach to the existing tap, non-blocking as QEMU does: only then does tun
 * build each written frame in a page and run native XDP on it before any
 * skb exists. With a vnet header, tun reads and writes it in front of each
 * frame; no offload is turned on, so what the host sends comes whole and
 * checksummed.
 */
static int tap_attach(struct bridge *b)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	const char *name = b->cfg->tap;
	int hdr = b->tap_vnet, err;

	char flags[80];

	/* TUNSETIFF would make a new tap that nothing compares: never */
	snprintf(flags, sizeof(flags), "/sys/class/net/%s/tun_flags", name);
	if (!if_nametoindex(name) || access(flags, F_OK)) {
		log_err("--tap %s: %s: create it with 'ip tuntap add dev %s mode tap'",
			name,
			if_nametoindex(name) ? "not a tap device" :
					       "no such tap",
			name);
		return -ENODEV;
	}
	if (hdr)
		ifr.ifr_flags |= IFF_VNET_HDR;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	b->tap = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (b->tap < 0) {
		err = -errno;
		log_err("/dev/net/tun: %s: load the tun module ('modprobe tun') and run as root",
			strerror(-err));
		return err;
	}
	if (ioctl(b->tap, TUNSETIFF, &ifr) ||
	    (hdr && ioctl(b->tap, TUNSETVNETHDRSZ, &hdr))) {
		err = -errno;
		if (err == -EBUSY)
			log_err("--tap %s: another process holds it (a QEMU -netdev tap?): give the bridge a tap of its own",
				name);
		else
			log_err("--tap %s: %s: create it with 'ip tuntap add dev %s mode tap' (a tap, single queue)",
				name, strerror(-err), name);
		return err;
	}
	b->rec.ifindex = if_nametoindex(name);
	return 0;
}

static void report(struct bridge *b)
{
	static const char *const word[] = { "--in", "--out" };
	char line[1024];
	unsigned int i;
	int d, n;

	b->rec.st[OUT].tap_dropped =
		tap_tx_dropped(b->cfg->tap) - b->tx_dropped0;
	for (d = 0; d < COLO_CHARDEV_NR_DIRS; d++) {
		if (!b->have[d])
			continue;
		n = 0;
		for (i = 0; i < chardev_counters_n && n < (int)sizeof(line);
		     i++)
			n += snprintf(line + n, sizeof(line) - n, " %s %llu",
				      chardev_counters[i].name,
				      (unsigned long long)colo_counter_get(
					      &b->rec.st[d],
					      &chardev_counters[i]));
		log_info("%s %s (%s):%s", word[d], b->cfg->spec[d],
			 b->end[d].fd >= 0 && !b->end[d].connecting ?
				 "connected" :
				 "no peer",
			 line);
	}
}

static void publish(struct bridge *b)
{
	int d;

	b->rec.connected = 0;
	for (d = 0; d < COLO_CHARDEV_NR_DIRS; d++)
		if (b->end[d].fd >= 0 && !b->end[d].connecting)
			b->rec.connected |= 1u << d;
	b->rec.st[OUT].tap_dropped =
		tap_tx_dropped(b->cfg->tap) - b->tx_dropped0;
	chardev_record_put(&b->pins, &b->rec);
}

static bool up(const struct bridge *b, int d)
{
	return b->end[d].fd >= 0 && !b->end[d].connecting;
}

/* The batch to --out is gone: sent, or its peer is. */
static void out_reset(struct bridge *b)
{
	b->oused = b->on = b->niov = b->iov_at = 0;
}

/* The peer of direction d is gone or broke the framing: close it. */
static void lose(struct bridge *b, int d, uint64_t now)
{
	if (b->end[d].fd >= 0 && !b->end[d].connecting)
		b->rec.st[d].disconnects++;
	ctl_epoll_set(b->ep, b->end[d].fd, 0, &b->ev_peer[d], 0);
	endpoint_drop(&b->end[d], now);
	if (d == IN) {
		/* a new peer starts a new stream; what is left is half a frame */
		qframe_ring_reset(&b->ring);
		b->tap_full = false;
	} else if (b->iov_at < b->niov) {
		/* the frames not yet sent whole: nobody takes them */
		b->rec.st[OUT].no_peer += b->on;
		out_reset(b);
	}
	b->stall_ns = 0;
}

static void gained(struct bridge *b, int d)
{
	b->rec.st[d].connects++;
	log_info("%s %s: connected", d == IN ? "--in" : "--out",
		 b->cfg->spec[d]);
}

/*
 * One frame from --in's ring into the tap: its vnet header as long as the
 * tap's (cut, or padded with zeros: no offload asked), then the frame.
 * Returns false when the tap is full: the frame stays for the next try.
 */
static bool in_write(struct bridge *b, const struct qframe *f)
{
	static const uint8_t zeros[QFRAME_VNET_MAX];
	uint32_t keep = f->vnet_len < b->tap_vnet ? f->vnet_len : b->tap_vnet;
	struct iovec iov[5];
	int n;

	n = qframe_ring_iov(&b->ring, f->start, keep, iov);
	if (keep < b->tap_vnet) {
		iov[n].iov_base = (void *)zeros;
		iov[n++].iov_len = b->tap_vnet - keep;
	}
	n += qframe_ring_iov(&b->ring, f->start + f->vnet_len,
			     f->len - f->vnet_len, iov + n);
	if (writev(b->tap, iov, n) < 0) {
		if (errno == EAGAIN)
			return false;
		if (cli_log_due(++b->rec.st[IN].tap_errors))
			log_warn(
				"--tap %s: refused a frame of %u bytes from --in: %s (%llu so far)%s",
				b->cfg->tap, f->len, strerror(errno),
				(unsigned long long)b->rec.st[IN].tap_errors,
				errno == EIO ? ": bring it up" : "");
		return true;
	}
	b->rec.st[IN].frames++;
	b->rec.st[IN].bytes += f->len;
	return true;
}

/* The whole frames in --in's ring into the tap; false: the peer was closed. */
static bool in_frames(struct bridge *b, uint64_t now)
{
	const char *why;
	struct qframe f;
	int ret;

	while ((ret = qframe_next(&b->ring, b->cfg->vnet, &f, &why)) > 0) {
		if (!in_write(b, &f)) {
			b->tap_full = true;
			return true;
		}
		qframe_take(&b->ring, &f);
	}
	b->tap_full = false;
	if (!ret)
		return true;
	b->rec.st[IN].bad_prefix++;
	log_warn(
		"--in %s: the peer sent %s: not QEMU's frame channel (does --vnet-hdr match the filter's vnet_hdr_support?); closed it, %s",
		b->cfg->spec[IN], why,
		b->end[IN].listen ? "waiting for the next peer" :
				    "connecting again");
	lose(b, IN, now);
	return false;
}

static void in_readable(struct bridge *b, uint64_t now)
{
	struct iovec iov[2];
	ssize_t r;
	int i, n;

	for (i = 0; i < IN_READS; i++) {
		if (!in_frames(b, now) || b->tap_full)
			return;
		n = qframe_ring_room(&b->ring, iov);
		r = n ? readv(b->end[IN].fd, iov, n) : 0;
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return;
		if (r <= 0) {
			log_info("--in %s: the peer %s", b->cfg->spec[IN],
				 r ? strerror(errno) : "closed the channel");
			lose(b, IN, now);
			return;
		}
		qframe_ring_fill(&b->ring, r);
	}
}

/* Send the batch; false: the socket is full (the rest waits) or gone. */
static bool out_send(struct bridge *b, uint64_t now)
{
	struct msghdr m = {};
	size_t done;
	ssize_t r;

	while (b->iov_at < b->niov) {
		m.msg_iov = b->iov + b->iov_at;
		m.msg_iovlen = b->niov - b->iov_at;
		if (m.msg_iovlen > IOV_MAX)
			m.msg_iovlen = IOV_MAX;
		r = sendmsg(b->end[OUT].fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN) {
			if (!b->stall_ns) {
				b->stall_ns = now;
				b->rec.st[OUT].stalls++;
			}
			return false;
		}
		if (r < 0) {
			log_info("--out %s: the peer %s", b->cfg->spec[OUT],
				 strerror(errno));
			lose(b, OUT, now);
			return false;
		}
		for (done = r; done && done >= b->iov[b->iov_at].iov_len;
		     b->iov_at++)
			done -= b->iov[b->iov_at].iov_len;
		if (done) {
			b->iov[b->iov_at].iov_base =
				(char *)b->iov[b->iov_at].iov_base + done;
			b->iov[b->iov_at].iov_len -= done;
		}
	}
	if (b->stall_ns)
		b->rec.st[OUT].stall_us += (now - b->stall_ns) / 1000;
	b->stall_ns = 0;
	b->rec.st[OUT].frames += b->on;
	out_reset(b);
	return true;
}

/*
 * A batch of frames from the tap, each behind its prefix, sent in one
 * sendmsg(); with no peer they are read and dropped, counted: frames of
 * the past are no use to a secondary that connects later.
 */
static void tap_readable(struct bridge *b, uint64_t now)
{
	ssize_t r;

	while (b->on < b->cfg->batch && b->ocap - b->oused >= TAP_READ_MAX) {
		r = read(b->tap, b->obuf + b->oused, TAP_READ_MAX);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			if (errno != EAGAIN)
				log_warn("--tap %s: read: %s", b->cfg->tap,
					 strerror(errno));
			break;
		}
		if (!up(b, OUT)) {
			b->rec.st[OUT].no_peer++;
			continue;
		}
		b->iov[b->niov].iov_base = b->pre[b->on];
		b->iov[b->niov++].iov_len = qframe_prefix(
			b->pre[b->on], r, b->tap_vnet, b->cfg->vnet);
		b->iov[b->niov].iov_base = b->obuf + b->oused;
		b->iov[b->niov++].iov_len = r;
		b->oused += r;
		b->on++;
		b->rec.st[OUT].bytes += r;
	}
	if (b->on)
		out_send(b, now);
}

uint32_t bridge_peer_events(int d, bool connecting, bool tap_full, bool sending)
{
	if (connecting)
		return EPOLLOUT;
	/*
	 * While the tap is full --in's peer is not watched at all: a hangup
	 * would wake epoll at once, every time, until the tap drains (a busy
	 * loop). Once it drains, what the peer sent is read to its end.
	 */
	if (d == IN)
		return tap_full ? 0 : EPOLLIN;
	/* QEMU's indev sends nothing: EPOLLIN is its close */
	return EPOLLIN | (sending ? EPOLLOUT : 0);
}

/* What each descriptor waits for, from the state. */
static int interest(struct bridge *b)
{
	static const int peer_tag[] = { TAG_PEER_IN, TAG_PEER_OUT };
	static const int listen_tag[] = { TAG_LISTEN_IN, TAG_LISTEN_OUT };
	uint32_t want;
	int d, err = 0;

	want = (b->have[OUT] && b->iov_at == b->niov ? EPOLLIN : 0) |
	       (b->tap_full ? EPOLLOUT : 0);
	err = err ?: ctl_epoll_set(b->ep, b->tap, TAG_TAP, &b->ev_tap, want);
	for (d = 0; d < COLO_CHARDEV_NR_DIRS; d++) {
		if (!b->have[d])
			continue;
		if (b->end[d].lfd >= 0)
			err = err   ?:
				      ctl_epoll_set(b->ep, b->end[d].lfd,
						    listen_tag[d],
						    &b->ev_listen[d], EPOLLIN);
		if (b->end[d].fd < 0)
			continue;
		want = bridge_peer_events(d, b->end[d].connecting, b->tap_full,
					  b->iov_at < b->niov);
		err = err   ?:
			      ctl_epoll_set(b->ep, b->end[d].fd, peer_tag[d],
					    &b->ev_peer[d], want);
	}
	return err;
}

static void accept_peer(struct bridge *b, int d)
{
	int ret = endpoint_accept(&b->end[d]);

	if (ret == -EBUSY)
		b->rec.st[d].refused++;
	else if (ret > 0)
		gained(b, d);
}

/* The out peer wrote, or closed: QEMU's indev never writes. */
static void out_readable(struct bridge *b, uint64_t now)
{
	char junk[4096];
	ssize_t r = recv(b->end[OUT].fd, junk, sizeof(junk), MSG_DONTWAIT);

	if (r > 0 || (r < 0 && (errno == EAGAIN || errno == EINTR)))
		return;
	log_info("--out %s: the peer %s", b->cfg->spec[OUT],
		 r ? strerror(errno) : "closed the channel");
	lose(b, OUT, now);
}

static void peer_event(struct bridge *b, int d, uint32_t events, uint64_t now)
{
	if (b->end[d].connecting) {
		if (!endpoint_connect_done(&b->end[d], now))
			gained(b, d);
		else
			b->ev_peer[d] = 0; /* closed: epoll forgot it */
		return;
	}
	if (d == IN) {
		if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			in_readable(b, now);
		return;
	}
	if (events & EPOLLOUT && out_send(b, now) == false && b->end[d].fd < 0)
		return;
	if (b->end[d].fd >= 0 && events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		out_readable(b, now);
}

static void dispatch(struct bridge *b, const struct epoll_event *e,
		     uint64_t now)
{
	switch (e->data.u32) {
	case TAG_TAP:
		if (e->events & EPOLLOUT && b->end[IN].fd >= 0)
			in_readable(b, now);
		if (e->events & EPOLLIN)
			tap_readable(b, now);
		break;
	case TAG_PEER_IN:
		peer_event(b, IN, e->events, now);
		break;
	case TAG_PEER_OUT:
		peer_event(b, OUT, e->events, now);
		break;
	case TAG_LISTEN_IN:
		accept_peer(b, IN);
		break;
	case TAG_LISTEN_OUT:
		accept_peer(b, OUT);
		break;
	}
}

/* Start the connects that are due; the epoll timeout until the next. */
static int connect_due(struct bridge *b, uint64_t now, uint64_t next_publish)
{
	uint64_t next = next_publish;
	int d;

	for (d = 0; d < COLO_CHARDEV_NR_DIRS; d++) {
		if (!b->have[d] || b->end[d].listen || b->end[d].fd >= 0)
			continue;
		if (endpoint_connect(&b->end[d], now))
			b->ev_peer[d] = 0; /* a new socket */
		else if (b->end[d].retry_ns < next)
			next = b->end[d].retry_ns;
	}
	return next <= now ? 0 : (next - now) / 1000000 + 1;
}

static int setup(struct bridge *b, const struct bridge_cfg *cfg)
{
	static const char *const flag[] = { "--in", "--out" };
	int d, err;

	b->tap_vnet = cfg->vnet ? cfg->vnet_len : 0;
	snprintf(b->rec.tap, sizeof(b->rec.tap), "%s", cfg->tap);
	b->rec.pid = getpid();
	b->rec.vnet = cfg->vnet ? 1 + cfg->vnet_len : 0;
	for (d = 0; d < COLO_CHARDEV_NR_DIRS; d++) {
		b->end[d].fd = b->end[d].lfd = -1;
		b->have[d] = cfg->spec[d];
		if (!b->have[d])
			continue;
		snprintf(b->rec.spec[d], sizeof(b->rec.spec[d]), "%s",
			 cfg->spec[d]);
		err = endpoint_parse(&b->end[d], flag[d], cfg->spec[d],
				     cfg->retry_ms);
		if (err)
			return err;
	}
	err = tap_attach(b);
	if (err)
		return err;
	b->tx_dropped0 = tap_tx_dropped(cfg->tap);
	err = qframe_ring_init(&b->ring, RING_BYTES);
	b->ocap = cfg->batch * 2048 > 2 * TAP_READ_MAX ? cfg->batch * 2048 :
							 2 * TAP_READ_MAX;
	b->obuf = malloc(b->ocap);
	b->pre = calloc(cfg->batch, sizeof(*b->pre));
	b->iov = calloc(2 * cfg->batch, sizeof(*b->iov));
	if (err || !b->obuf || !b->pre || !b->iov) {
		log_err("cannot allocate the bridge's buffers: %s",
			strerror(ENOMEM));
		return -ENOMEM;
	}
	b->ep = epoll_create1(EPOLL_CLOEXEC);
	if (b->ep < 0)
		return -errno;
	for (d = 0; d < COLO_CHARDEV_NR_DIRS; d++) {
		err = b->have[d] ? endpoint_start(&b->end[d]) : 0;
		if (err)
			return err;
	}
	return chardev_record_open(&b->pins, cfg->pin_path, cfg->tap);
}

int bridge_run(const struct bridge_cfg *cfg)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct bridge b = { .cfg = cfg, .tap = -1, .ep = -1 };
	uint64_t now, next_publish = 0;
	struct epoll_event ev[16];
	int d, i, n, timeout, err;

	b.pins.fd = -1;
	pin_dir_init(&b.pins.dir);
	err = setup(&b, cfg);
	if (!err && sigaction(SIGUSR1, &sa, NULL))
		err = -errno;
	if (!err)
		log_info("bridging tap %s: --in %s, --out %s, vnet header %s",
			 cfg->tap, cfg->spec[IN] ?: "none",
			 cfg->spec[OUT] ?: "none",
			 !cfg->vnet	     ? "off" :
			 cfg->vnet_len == 12 ? "on (12 bytes)" :
			 cfg->vnet_len == 10 ? "on (10 bytes)" :
					       "on (0 bytes)");
	while (!err && !cli_stop) {
		now = cli_now_ns();
		if (now >= next_publish) {
			publish(&b);
			next_publish = now + PUBLISH_NS;
		}
		timeout = connect_due(&b, now, next_publish);
		err = interest(&b);
		if (err) {
			log_err("epoll: %s", strerror(-err));
			break;
		}
		n = epoll_wait(b.ep, ev, 16, timeout);
		if (n < 0 && errno != EINTR) {
			err = -errno;
			log_err("epoll_wait: %s", strerror(-err));
			break;
		}
		now = cli_now_ns();
		for (i = 0; i < n; i++)
			dispatch(&b, &ev[i], now);
		if (report_due) {
			report_due = 0;
			report(&b);
		}
	}
	if (b.ep >= 0) {
		report(&b);
		publish(&b);
	}
	chardev_record_close(&b.pins);
	for (d = 0; d < COLO_CHARDEV_NR_DIRS; d++)
		if (b.have[d])
			endpoint_close(&b.end[d]);
	if (b.tap >= 0)
		close(b.tap);
	if (b.ep >= 0)
		close(b.ep);
	qframe_ring_free(&b.ring);
	free(b.obuf);
	free(b.pre);
	free(b.iov);
	return err;
}
