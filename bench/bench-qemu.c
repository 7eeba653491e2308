// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bench-qemu: the QEMU side of `make bench`. It feeds QEMU's colo-compare
 * (qemu-system-x86_64 -machine none, socket chardevs) the same pair stream
 * bench-traffic makes, counts the primary frames colo-compare sends to its
 * outdev, and is its COLO controller on notify_dev: INIT, then every
 * DO_CHECKPOINT answered with COLO_CHECKPOINT at once.
 *
 * Packet channel framing: a 4-byte big-endian length, then the Ethernet
 * frame. A writer thread sends pairs (primary frame, then secondary frame)
 * with at most --window pairs in flight; the main thread reads the outdev
 * and the notify channel. One JSON object on stdout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "bench_load.h"
#include "cli.h"
#include "cli_opts.h"
#include "colo_parse.h"
#include "xen_proto.h"
#include "frames.h"
#include "log.h"

#define CMD "bench-qemu"
#define QB_BATCH 32 /* pairs per write() on each channel */
#define QB_CONNECT_MS 10000 /* QEMU creates its sockets after it starts */
#define QB_STALL_NS 200000000ull /* as bench-traffic: a stuck window */
#define QB_FRAME_MAX 1600
/* Open loop: wake up about this often, as bench-traffic does. */
#define QB_TICK_NS 50000
#define QB_DRAIN_NS 2000000000ull /* longest wait for the last frames */
#define QB_QUIET_NS 100000000ull /* nothing new this long: drained */

enum { CH_PRI, CH_SEC, CH_OUT, CH_NOTIFY, NR_CH };

struct opts {
	const char *path[NR_CH];
	bool tcp;
	uint32_t frame_len;
	uint32_t segment;
	uint32_t conns;
	uint32_t warmup_ms;
	uint32_t run_ms;
	uint32_t window;
	uint32_t rate; /* pairs per second: open loop when set */
	uint32_t cmp_pid; /* QEMU, whose CPU time the open loop reports */
	uint32_t cmp_cpu;
	bool has_cmp_cpu;
	uint32_t cpu;
	bool pin_cpu;
};

struct feeder {
	const struct opts *o;
	int fd[NR_CH];
	uint8_t frame[QB_FRAME_MAX];
	uint32_t len;
	/* written by the writer thread, read by the main thread */
	volatile uint64_t made;
	volatile int err;
	/* written by the main thread */
	volatile uint64_t counted;
	volatile uint64_t lost;
	uint64_t checkpoints;
	struct xen_framer notify;
	bool init_done;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

#define PATH_OPT(flag, ch, text)                                          \
	{                                                                 \
		.type = CLI_OPT_STRING, .name = (flag), .arg = "PATH",    \
		.off = offsetof(struct opts, path[ch]), .what = "a path", \
		.required = true, .help = (text)                          \
	}

/* clang-format off */
static const struct cli_opt qemu_opts[] = {
	PATH_OPT("primary", CH_PRI,
		 "colo-compare's primary_in chardev (unix socket)"),
	PATH_OPT("secondary", CH_SEC, "its secondary_in chardev"),
	PATH_OPT("outdev", CH_OUT, "its outdev chardev"),
	PATH_OPT("notify", CH_NOTIFY,
		 "its notify_dev chardev: this is the controller"),
	/* colo-compare's table holds 16384 */
	BENCH_LOAD_OPTS(struct opts, 16384),
	{ .type = CLI_OPT_U32, .name = "window", .arg = "N",
	  .off = offsetof(struct opts, window), .min = 1, .max = 1u << 20,
	  .help = "at most N pairs in flight" },
	{ .type = CLI_OPT_U32, .name = "rate", .arg = "N",
	  .off = offsetof(struct opts, rate), .min = 1, .max = 10000000,
	  .no_default = true,
	  .help = "open loop: N pairs per second; reports loss and\n"
		  "CPU time" },
	{ .type = CLI_OPT_U32, .name = "cmp-pid", .arg = "PID",
	  .off = offsetof(struct opts, cmp_pid), .min = 1, .max = INT_MAX,
	  .no_default = true,
	  .help = "--rate: QEMU's process, whose CPU time is reported" },
	CLI_OPT_CPU(struct opts, "cmp-cpu", cmp_cpu, has_cmp_cpu,
		    "--rate: QEMU's CPU, whose softirq time is reported"),
	CLI_OPT_CPU(struct opts, "cpu", cpu, pin_cpu, "run on CPU N"),
	{ .type = CLI_OPT_END },
};
/* clang-format on */

static const struct cli_cmd qemu_cmd = {
	.name = CMD,
	.usage =
		"--primary PATH --secondary PATH --outdev PATH --notify PATH [FLAGS]",
	.about =
		"Feed QEMU's colo-compare pairs of frames and be its COLO controller.\n",
	.opts = qemu_opts,
};

static int connect_unix(const char *path, int *out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, err = -ENAMETOOLONG, waited;

	*out = -1;
	if (strlen(path) >= sizeof(sa.sun_path))
		goto out;
	strcpy(sa.sun_path, path);
	for (waited = 0;; waited += 10) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			err = -errno;
			goto out;
		}
		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
			*out = fd;
			return 0;
		}
		err = -errno;
		close(fd);
		if (waited >= QB_CONNECT_MS || stop)
			goto out;
		usleep(10000);
	}
out:
	cli_err(CMD,
		"cannot connect to %s: %s; is QEMU running with a server chardev there?",
		path, strerror(-err));
	return err;
}

static int write_all(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	ssize_t w;

	while (n) {
		w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= w;
	}
	return 0;
}

/* Pair number pair, framed, at buf: the benchmarks' stream. */
static size_t put_frame(struct feeder *f, uint64_t pair, uint8_t *buf)
{
	uint32_t be = htonl(f->len);

	memcpy(buf, &be, 4);
	memcpy(buf + 4, f->frame, f->len);
	frame_bench_pair(buf + 4, f->o->tcp, f->o->conns, f->o->segment, pair);
	return 4 + f->len;
}

/*
 * Closed loop: QB_BATCH pairs while fewer than --window are in flight.
 * Open loop: what bench_pace says is due, QB_BATCH at most per write; a
 * QEMU that does not read fast enough blocks the writer, and the achieved
 * rate shows it.
 */
static void *writer(void *arg)
{
	static uint8_t buf[QB_BATCH * (4 + QB_FRAME_MAX)];
	struct feeder *f = arg;
	const struct opts *o = f->o;
	struct bench_pace pace;
	uint64_t pair = 0, i, n_pairs;
	size_t n;
	int err;

	if (o->rate)
		bench_pace_start(&pace, o->rate, QB_BATCH, QB_TICK_NS);
	while (!stop) {
		if (o->rate) {
			n_pairs = bench_pace_next(&pace, pair);
			if (!n_pairs)
				continue;
		} else if ((int64_t)(pair - f->counted - f->lost) >=
			   (int64_t)o->window) {
			sched_yield();
			continue;
		} else {
			n_pairs = QB_BATCH;
		}
		for (n = 0, i = 0; i < n_pairs; i++)
			n += put_frame(f, pair + i, buf + n);
		/* the same bytes to both: only the channel differs */
		err = write_all(f->fd[CH_PRI], buf, n);
		if (!err)
			err = write_all(f->fd[CH_SEC], buf, n);
		if (err) {
			if (!stop)
				f->err = err;
			break;
		}
		pair += n_pairs;
		f->made = pair;
	}
	return NULL;
}

static void on_notify(void *ctx, const char *msg, uint32_t len)
{
	static const char done[] = XEN_MSG_CHECKPOINT;
	struct feeder *f = ctx;
	uint8_t buf[4 + sizeof(done)];
	uint32_t be = htonl(sizeof(done) - 1);

	if (msg && len == strlen(XEN_MSG_INIT_REPLY) &&
	    !memcmp(msg, XEN_MSG_INIT_REPLY, len)) {
		f->init_done = true;
		return;
	}
	if (!msg || len != strlen(XEN_MSG_DO_CHECKPOINT) ||
	    memcmp(msg, XEN_MSG_DO_CHECKPOINT, len))
		return;
	f->checkpoints++;
	memcpy(buf, &be, 4);
	memcpy(buf + 4, done, sizeof(done) - 1);
	if (write_all(f->fd[CH_NOTIFY], buf, 4 + sizeof(done) - 1))
		cli_err(CMD, "%s: cannot answer %s: %s", f->o->path[CH_NOTIFY],
			XEN_MSG_DO_CHECKPOINT, strerror(errno));
}

static int send_init(struct feeder *f)
{
	uint8_t buf[4 + sizeof(XEN_MSG_INIT)];
	uint32_t be = htonl(sizeof(XEN_MSG_INIT) - 1);

	memcpy(buf, &be, 4);
	memcpy(buf + 4, XEN_MSG_INIT, sizeof(XEN_MSG_INIT) - 1);
	return write_all(f->fd[CH_NOTIFY], buf, 4 + sizeof(XEN_MSG_INIT) - 1);
}

/* Count complete frames on the outdev channel, framing kept across reads. */
struct out_framer {
	uint8_t hdr[4];
	uint32_t hdr_got;
	uint32_t left;
};

static void count_out(struct feeder *f, struct out_framer *s, const uint8_t *p,
		      size_t n)
{
	size_t k;

	while (n) {
		if (s->hdr_got < 4) {
			s->hdr[s->hdr_got++] = *p++;
			n--;
			if (s->hdr_got == 4)
				s->left = (uint32_t)s->hdr[0] << 24 |
					  s->hdr[1] << 16 | s->hdr[2] << 8 |
					  s->hdr[3];
		} else {
			k = n < s->left ? n : s->left;
			p += k;
			n -= k;
			s->left -= k;
		}
		if (s->hdr_got == 4 && !s->left) {
			s->hdr_got = 0;
			f->counted++;
		}
	}
}

/* Read the outdev and the notify channel for up to ms milliseconds. */
static int pump(struct feeder *f, struct out_framer *of, int ms)
{
	static uint8_t buf[1 << 16];
	struct pollfd pfd[2] = {
		{ .fd = f->fd[CH_OUT], .events = POLLIN },
		{ .fd = f->fd[CH_NOTIFY], .events = POLLIN },
	};
	ssize_t n;

	if (poll(pfd, 2, ms) < 0)
		return errno == EINTR ? 0 : -errno;
	if (pfd[0].revents) {
		n = read(f->fd[CH_OUT], buf, sizeof(buf));
		if (n <= 0)
			return n ? -errno : -ECONNRESET;
		count_out(f, of, buf, n);
	}
	if (pfd[1].revents) {
		n = read(f->fd[CH_NOTIFY], buf, sizeof(buf));
		if (n <= 0)
			return n ? -errno : -ECONNRESET;
		if (xen_framer_feed(&f->notify, buf, n, on_notify, f))
			return -EPROTO;
	}
	return 0;
}

/* Count what is still in flight until nothing new comes for a while. */
static int drain(struct feeder *f, struct out_framer *of)
{
	uint64_t start = cli_now_ns(), last = start, c = f->counted, t;
	int err;

	do {
		err = pump(f, of, 10);
		t = cli_now_ns();
		if (f->counted != c) {
			c = f->counted;
			last = t;
		}
	} while (!err && t - last < QB_QUIET_NS && t - start < QB_DRAIN_NS);
	return err;
}

static int run(struct feeder *f, const struct opts *o)
{
	uint64_t t_start = cli_now_ns(), t, t0 = 0, c0 = 0, c1, t1, m0 = 0, m1;
	uint64_t t_warm = t_start + o->warmup_ms * 1000000ull;
	uint64_t t_end = t_warm + o->run_ms * 1000000ull;
	uint64_t last_c = 0, last_move = t_start, stalls = 0;
	int cmp_cpu = o->has_cmp_cpu ? (int)o->cmp_cpu : -1;
	struct bench_cpu s0 = {}, s1 = {};
	struct out_framer of = {};
	bool measuring = false;
	pthread_t th;
	int err;

	err = send_init(f);
	while (!err && !f->init_done && cli_now_ns() - t_start < 5000000000ull)
		err = pump(f, &of, 10);
	if (err || !f->init_done) {
		cli_err(CMD,
			"%s: no reply to %s; is it colo-compare's notify_dev?",
			o->path[CH_NOTIFY], XEN_MSG_INIT);
		return err ?: -ETIMEDOUT;
	}
	t_start = cli_now_ns();
	t_warm = t_start + o->warmup_ms * 1000000ull;
	t_end = t_warm + o->run_ms * 1000000ull;
	err = pthread_create(&th, NULL, writer, f);
	if (err) {
		cli_err(CMD, "cannot start the writer thread: %s",
			strerror(err));
		return -err;
	}
	while (!err && !f->err) {
		err = pump(f, &of, 1);
		t = cli_now_ns();
		if (!err && !measuring && t >= t_warm) {
			if (o->rate)
				err = bench_cpu_sample(CMD, o->cmp_pid, cmp_cpu,
						       &s0);
			c0 = f->counted;
			m0 = f->made;
			t0 = cli_now_ns();
			measuring = true;
		}
		if (t >= t_end || stop)
			break;
		if (f->counted != last_c) {
			last_c = f->counted;
			last_move = t;
		} else if (!o->rate && t - last_move >= QB_STALL_NS &&
			   (int64_t)(f->made - f->counted - f->lost) >=
				   (int64_t)o->window) {
			/* dropped by colo-compare: write them off */
			f->lost = f->made - f->counted;
			stalls++;
			last_move = t;
		}
	}
	c1 = f->counted;
	m1 = f->made;
	t1 = cli_now_ns();
	if (!err && o->rate)
		err = bench_cpu_sample(CMD, o->cmp_pid, cmp_cpu, &s1);
	stop = 1;
	/* unblock a writer stuck on a full channel */
	shutdown(f->fd[CH_PRI], SHUT_WR);
	shutdown(f->fd[CH_SEC], SHUT_WR);
	pthread_join(th, NULL);
	if (!err && !f->err)
		err = drain(f, &of);
	if (err || f->err || !measuring) {
		err = err ?: f->err ?: -EINTR;
		cli_err(CMD, "QEMU channel: %s", strerror(-err));
		return err;
	}
	printf("{\"mode\": \"%s\", \"pairs_per_s\": %.0f, "
	       "\"measured_ns\": %llu, \"pairs_made\": %llu, "
	       "\"pairs_counted\": %llu, \"checkpoints\": %llu, ",
	       o->rate ? "rate" : "throughput",
	       (double)(c1 - c0) * 1e9 / (double)(t1 - t0),
	       (unsigned long long)(t1 - t0), (unsigned long long)f->made,
	       (unsigned long long)f->counted,
	       (unsigned long long)f->checkpoints);
	if (!o->rate) {
		printf("\"stalls\": %llu}\n", (unsigned long long)stalls);
		return 0;
	}
	printf("\"offered_pps\": %u, \"achieved_pps\": %.0f, "
	       "\"pairs\": %llu, \"lost\": %lld, ",
	       o->rate, (double)(m1 - m0) * 1e9 / (double)(t1 - t0),
	       (unsigned long long)(c1 - c0),
	       (long long)(f->made - f->counted));
	bench_cpu_print(&s0, &s1);
	printf("}\n");
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct feeder f = { .fd = { -1, -1, -1, -1 } };
	struct opts o = {
		.frame_len = 64,
		.segment = 1448,
		.conns = 1,
		.warmup_ms = 300,
		.run_ms = 1000,
		.window = 192,
	};
	int ret, i, len;

	log_init(CMD);
	ret = cli_opts_parse(&qemu_cmd, argc, argv, &o, sizeof(o), NULL);
	if (ret >= 0)
		return ret;
	ret = 1;
	f.o = &o;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* QEMU closing a channel must not kill us before we report it */
	signal(SIGPIPE, SIG_IGN);
	if (o.pin_cpu && cli_pin_cpu(CMD, o.cpu))
		goto out;
	len = frame_build_bench(o.tcp, o.frame_len, o.segment, f.frame,
				sizeof(f.frame));
	if (len < 0)
		goto out;
	f.len = len;
	for (i = 0; i < NR_CH; i++)
		if (connect_unix(o.path[i], &f.fd[i]))
			goto out;
	if (run(&f, &o))
		goto out;
	ret = 0;
out:
	for (i = 0; i < NR_CH; i++)
		if (f.fd[i] >= 0)
			close(f.fd[i]);
	fflush(stdout);
	return ret;
}
