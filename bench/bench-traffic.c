// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bench-traffic: the frame source and the frame counter of `make bench`.
 *
 * The source plays the two VMs: one thread writes each pair of identical
 * frames into the tap devices P and S, primary first, as vhost-net writes
 * a guest's frames into its tap (tun runs native XDP, colo_steer, inside
 * that write(), before any skb exists). The sink is bench_count
 * (bench/bench_xdp.bpf.c) on the interface the comparator's output reaches,
 * O's veth peer; --napi-cpu moves that veth's receive work into a NAPI
 * kernel thread on another CPU, so the sink is not charged to the
 * comparator's CPU (veth otherwise runs it in the transmitter's softirq).
 *
 * Closed loop (--window): at most that many pairs in flight, so a
 * comparator is measured at its own pace; a window that does not move for
 * BENCH_STALL_NS is written off. Open loop (--rate): pairs at a fixed
 * offered rate, each stamped with its number; after the run the pairs
 * made and counted give the loss, /proc/stat and the comparator's process
 * give the CPU time spent in the measured window, and bench_count's
 * arrival times the latency. --forward-to is the baseline for the CPU
 * figures: bench_fwd redirects P's frames to the sink in the kernel.
 *
 * One JSON object on stdout.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <liburing.h>

#include "bench_xdp.skel.h"
#include "cli.h"
#include "cli_opts.h"
#include "colo_parse.h"
#include "bench_load.h"
#include "frames.h"
#include "log.h"
#include "tap.h"

#define CMD "bench-traffic"
/* The latency slots of bench_xdp.bpf.c: one sample per pair. */
#define BENCH_LAT_SLOTS                                     \
	(sizeof(((struct bench_xdp_bpf__bss *)0)->lat_ns) / \
	 sizeof(((struct bench_xdp_bpf__bss *)0)->lat_ns[0]))
#define BENCH_STALL_NS 200000000ull /* a window stuck this long is lost */
#define BENCH_WATCH_US 2000 /* closed loop: how often the window is seen */
#define BENCH_DRAIN_NS 2000000000ull /* longest wait for the last frames */
#define BENCH_QUIET_NS 100000000ull /* no new frame this long: drained */
/* Pairs per io_uring submission: a guest's burst, as vhost batches. */
#define BENCH_BURST 32
/* Open loop: wake up about this often, and write what is due. */
#define BENCH_TICK_NS 50000
#define BENCH_MAX_COUNT 2
#define BENCH_NAPI_PRIO 20 /* SCHED_FIFO, above the comparator's 10 */
#define BENCH_FRAME_MAX 1600

/* --count-on's names, copied: each ends where a comma stands in argv */
struct count_on {
	char ifname[BENCH_MAX_COUNT][IF_NAMESIZE];
	unsigned int n;
};

struct opts {
	const char *tap[2]; /* P, S */
	struct count_on count_on;
	const char *forward_to;
	bool tcp;
	uint32_t frame_len; /* UDP: Ethernet frame without FCS */
	uint32_t segment; /* TCP: payload bytes per segment */
	uint32_t conns;
	uint32_t warmup_ms;
	uint32_t run_ms;
	uint32_t window;
	uint32_t rate; /* pairs per second: open loop when set */
	const char *samples;
	uint32_t cmp_pid;
	uint32_t cmp_cpu;
	bool has_cmp_cpu;
	uint32_t cpu;
	bool pin_cpu;
	uint32_t napi_cpu;
	bool move_napi; /* else leave the sink's NAPI alone */
};

struct bench {
	const struct opts *o;
	struct bench_xdp_bpf *skel;
	int tap_fd[2];
	int attached[2 * BENCH_MAX_COUNT];
	unsigned int nr_attached;
	struct io_uring ring;
	bool ring_up;
	/* a pair's frame, written to both taps, for each pair of a batch */
	uint8_t frame[BENCH_BURST][BENCH_FRAME_MAX];
	uint32_t len;
	uint32_t payload_off;
	_Atomic uint64_t made; /* pairs written to both taps */
	_Atomic uint64_t lost; /* pairs written off (closed loop) */
	_Atomic uint64_t write_errors; /* frames tun refused (EAGAIN) */
	_Atomic int src_err;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static int parse_count_on(const char *cmd, const struct cli_opt *opt,
			  void *field, const char *arg)
{
	struct count_on *c = field;
	size_t len;

	c->n = 0;
	for (; *arg; arg += len + (arg[len] == ',')) {
		len = strcspn(arg, ",");
		if (!len)
			continue;
		if (c->n == BENCH_MAX_COUNT) {
			cli_err(cmd, "--%s: at most %d interfaces", opt->name,
				BENCH_MAX_COUNT);
			return -EINVAL;
		}
		if (len >= IF_NAMESIZE) {
			cli_err(cmd,
				"--%s: '%.*s' is too long for an interface name",
				opt->name, (int)len, arg);
			return -EINVAL;
		}
		memcpy(c->ifname[c->n], arg, len);
		c->ifname[c->n++][len] = '\0';
	}
	if (!c->n) {
		cli_err(cmd, "--%s needs an interface name", opt->name);
		return -EINVAL;
	}
	return 0;
}

/* clang-format off */
static const struct cli_opt traffic_opts[] = {
	{ .type = CLI_OPT_STRING, .name = "primary-tap", .arg = "IF",
	  .off = offsetof(struct opts, tap[0]), .what = "an interface name",
	  .required = true,
	  .help = "tap device P: each pair's first frame is written\n"
		  "into it, as a VM's output" },
	{ .type = CLI_OPT_STRING, .name = "secondary-tap", .arg = "IF",
	  .off = offsetof(struct opts, tap[1]), .what = "an interface name",
	  .required = true,
	  .help = "tap device S: each pair's second frame" },
	{ .type = CLI_OPT_FUNC, .name = "count-on", .arg = "IF[,IF]",
	  .off = offsetof(struct opts, count_on), .parse = parse_count_on,
	  .required = true,
	  .help = "count (and drop) the frames arriving there; two\n"
		  "interfaces count each pair twice (P and S: the\n"
		  "source alone)" },
	{ .type = CLI_OPT_STRING, .name = "forward-to", .arg = "IF",
	  .off = offsetof(struct opts, forward_to),
	  .what = "an interface name",
	  .help = "baseline: redirect P's frames to IF in the\n"
		  "kernel and drop S's (no comparator)" },
	BENCH_LOAD_OPTS(struct opts, 1024 * 1024),
	{ .type = CLI_OPT_U32, .name = "window", .arg = "N",
	  .off = offsetof(struct opts, window), .max = 1u << 20,
	  .help = "closed loop: at most N pairs in flight; 0: no\n"
		  "limit" },
	{ .type = CLI_OPT_U32, .name = "rate", .arg = "N",
	  .off = offsetof(struct opts, rate), .min = 1, .max = 10000000,
	  .no_default = true,
	  .help = "open loop: N pairs per second; reports loss, CPU\n"
		  "time and latency" },
	{ .type = CLI_OPT_STRING, .name = "samples", .arg = "FILE",
	  .off = offsetof(struct opts, samples), .what = "a file name",
	  .help = "--rate: every latency sample, in us, sorted" },
	{ .type = CLI_OPT_U32, .name = "cmp-pid", .arg = "PID",
	  .off = offsetof(struct opts, cmp_pid), .min = 1, .max = INT_MAX,
	  .no_default = true,
	  .help = "--rate: the comparator, whose CPU time is reported" },
	CLI_OPT_CPU(struct opts, "cmp-cpu", cmp_cpu, has_cmp_cpu,
		"--rate: the comparator's CPU, whose softirq time\n"
		"is reported"),
	CLI_OPT_CPU(struct opts, "cpu", cpu, pin_cpu,
		"write on CPU N (the kernel's RX work for P and S\n"
		"follows it)"),
	CLI_OPT_CPU(struct opts, "napi-cpu", napi_cpu, move_napi,
		"the counted veths' receive work in a NAPI thread\n"
		"on CPU N"),
	{ .type = CLI_OPT_END },
};
/* clang-format on */

static const struct cli_cmd traffic_cmd = {
	.name = CMD,
	.usage =
		"--primary-tap IF --secondary-tap IF --count-on IF[,IF] [FLAGS]",
	.about =
		"Write pairs of frames into two taps, as two VMs, and count them where\n"
		"they come out.\n",
	.opts = traffic_opts,
};

/*
 * The running kernel's release, for the messages that say a kernel
 * refused what the benchmark needs: the figures depend on it.
 */
static const char *kernel(void)
{
	static struct utsname u;

	if (!u.release[0] && uname(&u))
		return "this kernel";
	return u.release;
}

static int ifindex_of(const char *flag, const char *name)
{
	int i = if_nametoindex(name);

	if (!i)
		cli_err(CMD, "%s %s: no such interface; create it first", flag,
			name);
	return i;
}

static int attach(struct bench *b, const char *flag, const char *ifname,
		  const struct bpf_program *prog)
{
	int ifindex = ifindex_of(flag, ifname), err;

	if (!ifindex)
		return -ENODEV;
	err = bpf_xdp_attach(ifindex, bpf_program__fd(prog),
			     XDP_FLAGS_DRV_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST,
			     NULL);
	if (err) {
		cli_err(CMD,
			"cannot attach %s to %s in native XDP mode on %s: %s; detach what is there ('ip link set dev %s xdp off')",
			bpf_program__name(prog), ifname, kernel(),
			strerror(-err), ifname);
		return err;
	}
	b->attached[b->nr_attached++] = ifindex;
	return 0;
}

/*
 * Threaded NAPI for a veth: its receive work leaves the sender's softirq
 * for a kernel thread "napi/IF-ID", pinned to cpu and, with rt_prio,
 * real-time there. The open loop needs that: the thread shares its CPU
 * with the source, and a sink that waits for the source's time slice
 * overflows the veth's 256-frame ring, a loss that is not the
 * comparator's. The closed loop does not (its window is smaller than the
 * ring) and is faster without: a real-time sink preempts the source for
 * every few frames. The threads exist once XDP is attached (veth creates
 * its NAPI then); a device without NAPI (a tap) refuses the switch and is
 * left as it is.
 */
static int napi_to_cpu(const char *ifname, int cpu, int rt_prio)
{
	struct sched_param rt = { .sched_priority = rt_prio };
	char path[128], comm[64], want[IFNAMSIZ + 8];
	struct dirent *de;
	cpu_set_t set;
	DIR *dir;
	FILE *f;
	int err = 0, found = 0, pid;
	size_t n;

	snprintf(path, sizeof(path), "/sys/class/net/%s/threaded", ifname);
	f = fopen(path, "w");
	if (!f)
		return 0;
	if (fputs("1", f) < 0 || fclose(f)) {
		/* a tap: no NAPI, its frames are received by the writer */
		if (errno == EOPNOTSUPP)
			return 0;
		err = -errno;
		cli_err(CMD, "%s: %s: kernel %s refuses threaded NAPI", path,
			strerror(-err), kernel());
		return err;
	}
	n = (size_t)snprintf(want, sizeof(want), "napi/%s-", ifname);
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	/* the thread is known by its name only: look at every task's */
	dir = opendir("/proc");
	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		pid = atoi(de->d_name);
		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/comm", pid);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f) && !strncmp(comm, want, n) &&
		    !sched_setaffinity(pid, sizeof(set), &set) &&
		    !sched_setscheduler(pid, rt_prio ? SCHED_FIFO : SCHED_OTHER,
					&rt))
			found++;
		fclose(f);
	}
	closedir(dir);
	if (!found) {
		cli_err(CMD,
			"%s: no NAPI thread named %s* to pin; is XDP attached?",
			ifname, want);
		return -ESRCH;
	}
	return 0;
}

static int setup(struct bench *b)
{
	const struct opts *o = b->o;
	struct bench_xdp_bpf *skel;
	unsigned int i;
	int err;

	for (i = 0; i < 2; i++) {
		b->tap_fd[i] = tap_open(CMD, o->tap[i]);
		if (b->tap_fd[i] < 0)
			return -ENODEV;
	}
	err = io_uring_queue_init(2 * BENCH_BURST, &b->ring, 0);
	if (!err) {
		b->ring_up = true;
		err = io_uring_register_files(&b->ring, b->tap_fd, 2);
	}
	if (err) {
		cli_err(CMD,
			"io_uring for the taps: %s: kernel %s refuses it (kernel.io_uring_disabled?)",
			strerror(-err), kernel());
		return err;
	}
	skel = bench_xdp_bpf__open();
	if (!skel) {
		err = -errno;
		cli_err(CMD, "cannot open bench_xdp: %s", strerror(-err));
		return err;
	}
	b->skel = skel;
	skel->rodata->payload_off = b->payload_off;
	err = bench_xdp_bpf__load(skel);
	if (err) {
		cli_err(CMD,
			"cannot load bench_xdp on kernel %s: %s; run as root (libbpf's log above)",
			kernel(), strerror(-err));
		return err;
	}
	if (o->forward_to) {
		skel->bss->fwd_from = ifindex_of("--primary-tap", o->tap[0]);
		skel->bss->fwd_to = ifindex_of("--forward-to", o->forward_to);
		if (!skel->bss->fwd_from || !skel->bss->fwd_to)
			return -ENODEV;
		for (i = 0; i < 2; i++) {
			err = attach(b, "--forward-to", o->tap[i],
				     skel->progs.bench_fwd);
			if (err)
				return err;
		}
	}
	for (i = 0; i < o->count_on.n; i++) {
		err = attach(b, "--count-on", o->count_on.ifname[i],
			     skel->progs.bench_count);
		if (!err && o->move_napi)
			err = napi_to_cpu(o->count_on.ifname[i],
					  (int)o->napi_cpu,
					  o->rate ? BENCH_NAPI_PRIO : 0);
		if (err)
			return err;
	}
	return 0;
}

static void teardown(struct bench *b)
{
	unsigned int i;

	for (i = 0; i < b->nr_attached; i++)
		bpf_xdp_detach(b->attached[i], XDP_FLAGS_DRV_MODE, NULL);
	bench_xdp_bpf__destroy(b->skel);
	/*
	 * Unregistered first: the ring's own references to the taps are
	 * otherwise dropped later, from a kernel worker, and the next run
	 * would find the taps still attached (EBUSY).
	 */
	if (b->ring_up) {
		io_uring_unregister_files(&b->ring);
		io_uring_queue_exit(&b->ring);
	}
	for (i = 0; i < 2; i++)
		if (b->tap_fd[i] >= 0)
			close(b->tap_fd[i]);
}

static uint64_t counted(const struct bench *b)
{
	return __atomic_load_n(&b->skel->bss->counted, __ATOMIC_RELAXED);
}

static uint64_t pairs_counted(const struct bench *b)
{
	return counted(b) / b->o->count_on.n;
}

/*
 * Pairs first .. first + n - 1 into P then S, in one io_uring submission:
 * on these machines a system call's entry costs more than tun's whole
 * work on a frame, and io_uring issues each write inline, in order, on
 * this CPU (measured: bench/README.md). Stamped pairs carry their number
 * and the time of the submission.
 */
static int write_pairs(struct bench *b, uint64_t first, unsigned int n,
		       bool stamp)
{
	const struct opts *o = b->o;
	__u64 *sent = b->skel->bss->sent_ns, t = stamp ? cli_now_ns() : 0;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	unsigned int i, side, head, seen = 0;
	uint64_t pair;
	int err;

	for (i = 0; i < n; i++) {
		pair = first + i;
		frame_bench_pair(b->frame[i], o->tcp, o->conns, o->segment,
				 pair);
		if (stamp) {
			memcpy(b->frame[i] + b->payload_off, &pair,
			       sizeof(pair));
			sent[pair & (BENCH_LAT_SLOTS - 1)] = t;
		}
		for (side = 0; side < 2; side++) {
			sqe = io_uring_get_sqe(&b->ring);
			io_uring_prep_write(sqe, side, b->frame[i], b->len, 0);
			sqe->flags |= IOSQE_FIXED_FILE;
		}
	}
	err = io_uring_submit_and_wait(&b->ring, 2 * n);
	if (err < 0 && err != -EINTR) {
		cli_err(CMD, "io_uring submit to the taps: %s", strerror(-err));
		return err;
	}
	io_uring_for_each_cqe(&b->ring, head, cqe)
	{
		/* EAGAIN: tun found no memory for it; counted, not fatal */
		if (cqe->res == -EAGAIN) {
			b->write_errors++;
		} else if (cqe->res != (int)b->len) {
			err = cqe->res < 0 ? cqe->res : -EIO;
			cli_err(CMD, "write to a tap: %s",
				cqe->res < 0 ? strerror(-cqe->res) :
					       "short write");
		}
		seen++;
	}
	io_uring_cq_advance(&b->ring, seen);
	return err < 0 && err != -EINTR ? err : 0;
}

/*
 * The source thread. Closed loop: up to BENCH_BURST pairs while fewer
 * than --window are in flight, else let the sink (which may share this
 * CPU) run. Open loop: what bench_pace says is due.
 */
static void *source(void *arg)
{
	struct bench *b = arg;
	const struct opts *o = b->o;
	struct bench_pace pace;
	uint64_t pair = 0;
	int64_t room;
	int err = 0;

	if (o->rate)
		bench_pace_start(&pace, o->rate, BENCH_BURST, BENCH_TICK_NS);
	while (!stop && !err) {
		if (o->rate) {
			room = bench_pace_next(&pace, pair);
		} else if (o->window) {
			room = (int64_t)o->window -
			       (int64_t)(pair - pairs_counted(b) - b->lost);
			if (room <= 0) {
				sched_yield();
				continue;
			}
		} else {
			room = BENCH_BURST;
		}
		if (room <= 0)
			continue;
		if (room > BENCH_BURST)
			room = BENCH_BURST;
		err = write_pairs(b, pair, (unsigned int)room, o->rate);
		pair += room;
		b->made = pair;
	}
	b->src_err = err;
	return NULL;
}

static int start_source(struct bench *b, pthread_t *th)
{
	int err = pthread_create(th, NULL, source, b);

	if (err)
		cli_err(CMD, "cannot start the source thread: %s",
			strerror(err));
	return -err;
}

static int stop_source(struct bench *b, pthread_t th)
{
	stop = 1;
	pthread_kill(th, SIGUSR1);
	pthread_join(th, NULL);
	return b->src_err;
}

/* Wait until the counter stops moving: the frames in flight are in. */
static void drain(const struct bench *b)
{
	uint64_t start = cli_now_ns(), last = start, c = counted(b), t;

	do {
		usleep(1000);
		t = cli_now_ns();
		if (counted(b) != c) {
			c = counted(b);
			last = t;
		}
	} while (t - last < BENCH_QUIET_NS && t - start < BENCH_DRAIN_NS);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest rank. */
static double pct_us(const uint64_t *s, uint32_t n, double p)
{
	uint32_t i = (uint32_t)(p * n + 0.999999);

	return s[i ? i - 1 : 0] / 1e3;
}

static int write_samples(const char *path, const uint64_t *s, uint32_t n)
{
	FILE *f = fopen(path, "w");
	uint32_t i;
	int err;

	if (!f) {
		err = -errno;
		cli_err(CMD, "--samples %s: %s", path, strerror(-err));
		return err;
	}
	for (i = 0; i < n; i++)
		fprintf(f, "%.3f\n", s[i] / 1e3);
	if (fclose(f)) {
		err = -errno;
		cli_err(CMD, "--samples %s: %s", path, strerror(-err));
		return err;
	}
	return 0;
}

/* The latency samples bench_count left, as JSON fields. */
static int report_latency(const struct bench *b)
{
	static uint64_t s[BENCH_LAT_SLOTS];
	const __u64 *lat = b->skel->bss->lat_ns;
	uint32_t got = 0, i;
	int err;

	for (i = 0; i < BENCH_LAT_SLOTS; i++)
		if (lat[i])
			s[got++] = lat[i];
	if (!got) {
		printf("\"samples\": 0");
		return 0;
	}
	qsort(s, got, sizeof(s[0]), cmp_u64);
	if (b->o->samples) {
		err = write_samples(b->o->samples, s, got);
		if (err)
			return err;
	}
	printf("\"samples\": %u, \"p50_us\": %.2f, \"p99_us\": %.2f, "
	       "\"p999_us\": %.2f, \"max_us\": %.2f",
	       got, pct_us(s, got, 0.50), pct_us(s, got, 0.99),
	       pct_us(s, got, 0.999), s[got - 1] / 1e3);
	return 0;
}

/*
 * Both loops: warm up, measure from t0 to t1 (counts, and in the open loop
 * CPU time), stop the source, let what is in flight arrive.
 */
static int run(struct bench *b)
{
	const struct opts *o = b->o;
	struct bench_xdp_bpf__bss *bss = b->skel->bss;
	uint64_t t_start = cli_now_ns(), t0 = 0, t1, c0 = 0, c1, m0 = 0, m1;
	uint64_t t_warm = t_start + o->warmup_ms * 1000000ull;
	uint64_t t_end = t_warm + o->run_ms * 1000000ull;
	uint64_t last_c = 0, last_move = t_start, t, c, stalls = 0;
	int cmp_cpu = o->has_cmp_cpu ? (int)o->cmp_cpu : -1;
	struct bench_cpu s0 = {}, s1 = {};
	int64_t inflight;
	bool measuring = false;
	pthread_t th;
	int err;

	bss->stamp = o->rate != 0;
	err = start_source(b, &th);
	if (err)
		return err;
	for (;;) {
		/*
		 * The closed loop watches for a stuck window; the open loop
		 * has nothing to watch, and a wake-up costs the CPU that the
		 * source and the sink share: it sleeps to its next moment.
		 */
		if (o->window)
			usleep(BENCH_WATCH_US);
		else
			bench_sleep_until(measuring ? t_end : t_warm);
		t = cli_now_ns();
		c = pairs_counted(b);
		if (!measuring && t >= t_warm) {
			/* the samples of the warm-up are not the run's */
			memset(bss->lat_ns, 0, sizeof(bss->lat_ns));
			if (o->rate && (err = bench_cpu_sample(CMD, o->cmp_pid,
							       cmp_cpu, &s0)))
				break;
			c0 = pairs_counted(b);
			m0 = b->made;
			t0 = cli_now_ns();
			measuring = true;
		}
		if (t >= t_end || stop || b->src_err)
			break;
		if (c != last_c) {
			last_c = c;
			last_move = t;
			continue;
		}
		inflight = (int64_t)(b->made - c - b->lost);
		if (o->window && t - last_move >= BENCH_STALL_NS &&
		    inflight >= o->window) {
			/* dropped on the way: write them off */
			b->lost += inflight;
			stalls++;
			last_move = t;
		}
	}
	t1 = cli_now_ns();
	c1 = pairs_counted(b);
	m1 = b->made;
	if (!err && o->rate)
		err = bench_cpu_sample(CMD, o->cmp_pid, cmp_cpu, &s1);
	err = stop_source(b, th) ?: err;
	if (err || !measuring)
		return err ?: -EINTR;
	drain(b);
	if (!counted(b)) {
		cli_err(CMD,
			"none of %" PRIu64
			" pairs came out on %s: is the comparator between P and S and %s running?",
			(uint64_t)b->made, o->count_on.ifname[0],
			o->count_on.ifname[0]);
		return -EIO;
	}
	printf("{\"mode\": \"%s\", \"pairs_per_s\": %.0f, "
	       "\"measured_ns\": %" PRIu64 ", \"pairs_made\": %" PRIu64
	       ", \"pairs_counted\": %" PRIu64 ", \"write_errors\": %" PRIu64
	       ", ",
	       o->rate ? "rate" : "throughput",
	       (double)(c1 - c0) * 1e9 / (double)(t1 - t0), t1 - t0,
	       (uint64_t)b->made, pairs_counted(b), (uint64_t)b->write_errors);
	if (!o->rate) {
		printf("\"stalls\": %" PRIu64 "}\n", stalls);
		return 0;
	}
	printf("\"offered_pps\": %u, \"achieved_pps\": %.0f, "
	       "\"pairs\": %" PRIu64 ", \"lost\": %" PRId64 ", ",
	       o->rate, (double)(m1 - m0) * 1e9 / (double)(t1 - t0), c1 - c0,
	       (int64_t)(b->made - pairs_counted(b)));
	bench_cpu_print(&s0, &s1);
	printf(", ");
	err = report_latency(b);
	printf("}\n");
	return err;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct bench b = { .tap_fd = { -1, -1 } };
	struct opts o = {
		.frame_len = 64,
		.segment = 1448,
		.conns = 1,
		.warmup_ms = 300,
		.run_ms = 1000,
	};
	int ret, len, i;

	log_init(CMD);
	ret = cli_opts_parse(&traffic_cmd, argc, argv, &o, sizeof(o), NULL);
	if (ret >= 0)
		return ret;
	if (o.rate && o.window) {
		cli_err(CMD, "--rate and --window: choose one loop");
		return CLI_EXIT_USAGE;
	}
	ret = 1;
	b.o = &o;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* wakes the source thread from its sleep or write */
	sigaction(SIGUSR1, &sa, NULL);
	/* the open loop sleeps between due times: to the microsecond */
	prctl(PR_SET_TIMERSLACK, 1000UL);
	if (o.pin_cpu && cli_pin_cpu(CMD, o.cpu))
		goto out;
	len = frame_build_bench(o.tcp, o.frame_len, o.segment, b.frame[0],
				sizeof(b.frame[0]));
	if (len < 0)
		goto out;
	b.len = len;
	for (i = 1; i < BENCH_BURST; i++)
		memcpy(b.frame[i], b.frame[0], len);
	b.payload_off = COLO_ETH_HLEN + 20 + (o.tcp ? 20 : 8);
	if (setup(&b))
		goto out;
	if (run(&b))
		goto out;
	ret = 0;
out:
	teardown(&b);
	fflush(stdout);
	return ret;
}
