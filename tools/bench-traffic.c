// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bench-traffic: the frame source and the frame counter of `make bench`
 * (bpf/bench_xdp.bpf.c). BPF_PROG_RUN live frames are redirected into the
 * veths whose peers are P and S, primary then secondary frame of each
 * pair; bench_count on the counted interfaces sees what comes out.
 *
 * Throughput: as fast as the counted side takes them. With --window, no
 * more than that many pairs are in flight (made but not counted yet), so a
 * comparator is measured at its own pace, not at the rate its RX rings
 * overflow; a window that does not move for BENCH_STALL_NS is written off
 * as lost. Latency (--rate): pairs at a fixed rate, each with its number in
 * the payload; bench_count records the time from its secondary frame's
 * redirect to its arrival.
 *
 * One JSON object on stdout.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "bench_xdp.skel.h"
#include "cli.h"
#include "colo_parse.h"
#include "../selftests/frames.h"

#define CMD "bench-traffic"
/* The latency slots of bench_xdp.bpf.c: one sample per pair. */
#define BENCH_LAT_SLOTS                                     \
	(sizeof(((struct bench_xdp_bpf__bss *)0)->lat_ns) / \
	 sizeof(((struct bench_xdp_bpf__bss *)0)->lat_ns[0]))
#define BENCH_STALL_NS 200000000ull /* a window stuck this long is lost */
#define BENCH_DRAIN_NS 2000000000ull /* longest wait for the last frames */
#define BENCH_QUIET_NS 100000000ull /* no new frame this long: drained */
#define BENCH_MAX_COUNT 2

struct opts {
	const char *to[2]; /* veths whose peers are P and S */
	const char *count_on[BENCH_MAX_COUNT];
	unsigned int nr_count;
	bool tcp;
	uint32_t frame_len; /* UDP: Ethernet frame without FCS */
	uint32_t segment; /* TCP: payload bytes per segment */
	uint32_t conns;
	uint32_t warmup_ms;
	uint32_t run_ms;
	uint32_t window;
	uint32_t rate; /* pairs per second; latency mode when set */
	const char *samples;
	uint32_t cpu;
	bool pin_cpu;
};

struct bench {
	struct bench_xdp_bpf *skel;
	int src_fd;
	int count_ifindex[BENCH_MAX_COUNT];
	unsigned int nr_attached;
	uint8_t frame[2048];
	uint32_t len;
	int src_err; /* set by the source thread */
};

static volatile sig_atomic_t stop;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bench-traffic --to-primary IF --to-secondary IF --count-on IF[,IF] [FLAGS]\n"
		"\n"
		"  --to-primary IF      veth whose peer is the primary interface P\n"
		"  --to-secondary IF    veth whose peer is the secondary interface S\n"
		"  --count-on IF[,IF]   count (and drop) the frames arriving there; two\n"
		"                       interfaces count each pair twice (P and S: the\n"
		"                       source alone)\n"
		"  --proto udp|tcp      UDP datagrams or TCP segments (udp)\n"
		"  --frame-len N        UDP: frame length without FCS (64)\n"
		"  --segment N          TCP: payload bytes per segment (1448)\n"
		"  --conns N            connections, visited round robin (1)\n"
		"  --warmup MS          run before measuring (300)\n"
		"  --time MS            measure this long (1000)\n"
		"  --window N           at most N pairs in flight (0: no limit)\n"
		"  --rate N             latency: N pairs per second, stamped\n"
		"  --samples FILE       latency: every sample, in us, sorted\n"
		"  --cpu N              run on CPU N (the kernel's RX work for P and S\n"
		"                       follows it)\n");
}

static uint64_t counted(const struct bench *b)
{
	return *(volatile __u64 *)&b->skel->bss->counted;
}

static uint64_t made(const struct bench *b)
{
	return *(volatile __u64 *)&b->skel->bss->made;
}

enum {
	OPT_TO_P = 256,
	OPT_TO_S,
	OPT_COUNT_ON,
	OPT_PROTO,
	OPT_FRAME_LEN,
	OPT_SEGMENT,
	OPT_CONNS,
	OPT_WARMUP,
	OPT_TIME,
	OPT_WINDOW,
	OPT_RATE,
	OPT_SAMPLES,
	OPT_CPU,
	OPT_HELP,
};

static const struct option long_opts[] = {
	{ "to-primary", required_argument, NULL, OPT_TO_P },
	{ "to-secondary", required_argument, NULL, OPT_TO_S },
	{ "count-on", required_argument, NULL, OPT_COUNT_ON },
	{ "proto", required_argument, NULL, OPT_PROTO },
	{ "frame-len", required_argument, NULL, OPT_FRAME_LEN },
	{ "segment", required_argument, NULL, OPT_SEGMENT },
	{ "conns", required_argument, NULL, OPT_CONNS },
	{ "warmup", required_argument, NULL, OPT_WARMUP },
	{ "time", required_argument, NULL, OPT_TIME },
	{ "window", required_argument, NULL, OPT_WINDOW },
	{ "rate", required_argument, NULL, OPT_RATE },
	{ "samples", required_argument, NULL, OPT_SAMPLES },
	{ "cpu", required_argument, NULL, OPT_CPU },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static int split_count_on(char *arg, struct opts *o)
{
	char *save = NULL, *tok;

	o->nr_count = 0;
	for (tok = strtok_r(arg, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (o->nr_count == BENCH_MAX_COUNT) {
			cli_err(CMD, "--count-on: at most %d interfaces",
				BENCH_MAX_COUNT);
			return -EINVAL;
		}
		o->count_on[o->nr_count++] = tok;
	}
	return o->nr_count ? 0 : -EINVAL;
}

/* Returns -1 to go on, or the exit status. */
static int parse_args(int argc, char **argv, struct opts *o)
{
	int c;

	memset(o, 0, sizeof(*o));
	o->frame_len = 64;
	o->segment = 1448;
	o->conns = 1;
	o->warmup_ms = 300;
	o->run_ms = 1000;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", long_opts, NULL)) != -1) {
		int err = 0;

		switch (c) {
		case OPT_TO_P:
		case OPT_TO_S:
			o->to[c - OPT_TO_P] = optarg;
			break;
		case OPT_COUNT_ON:
			err = split_count_on(optarg, o);
			break;
		case OPT_PROTO:
			if (!strcmp(optarg, "tcp")) {
				o->tcp = true;
			} else if (strcmp(optarg, "udp")) {
				cli_err(CMD,
					"--proto: '%s' is neither udp nor tcp",
					optarg);
				err = -EINVAL;
			}
			break;
		case OPT_FRAME_LEN:
			/* 8 payload bytes for the pair number, one page */
			err = cli_parse_u32(CMD, "--frame-len", optarg, 50,
					    1514, &o->frame_len);
			break;
		case OPT_SEGMENT:
			err = cli_parse_u32(CMD, "--segment", optarg, 8, 1460,
					    &o->segment);
			break;
		case OPT_CONNS:
			err = cli_parse_u32(CMD, "--conns", optarg, 1,
					    1024 * 1024, &o->conns);
			break;
		case OPT_WARMUP:
			err = cli_parse_u32(CMD, "--warmup", optarg, 0, 60000,
					    &o->warmup_ms);
			break;
		case OPT_TIME:
			err = cli_parse_u32(CMD, "--time", optarg, 1, 600000,
					    &o->run_ms);
			break;
		case OPT_WINDOW:
			err = cli_parse_u32(CMD, "--window", optarg, 0,
					    1u << 20, &o->window);
			break;
		case OPT_RATE:
			err = cli_parse_u32(CMD, "--rate", optarg, 1, 1000000,
					    &o->rate);
			break;
		case OPT_SAMPLES:
			o->samples = optarg;
			break;
		case OPT_CPU:
			err = cli_parse_u32(CMD, "--cpu", optarg, 0,
					    CPU_SETSIZE - 1, &o->cpu);
			o->pin_cpu = true;
			break;
		case 'h':
		case OPT_HELP:
			usage(stdout);
			return 0;
		default:
			return cli_bad_option(CMD, argv, c);
		}
		if (err)
			return CLI_EXIT_USAGE;
	}
	if (optind < argc || !o->to[0] || !o->to[1] || !o->nr_count) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	return -1;
}

static int ifindex_of(const char *flag, const char *name)
{
	int i = if_nametoindex(name);

	if (!i)
		cli_err(CMD, "%s %s: no such interface; create it first", flag,
			name);
	return i;
}

static int setup(struct bench *b, const struct opts *o)
{
	struct bench_xdp_bpf *skel;
	unsigned int i;
	int err, ifindex;

	skel = bench_xdp_bpf__open();
	if (!skel) {
		err = -errno;
		cli_err(CMD, "cannot open bench_xdp: %s", strerror(-err));
		return err;
	}
	b->skel = skel;
	skel->rodata->tcp = o->tcp;
	skel->rodata->l4_off = COLO_ETH_HLEN + 20;
	skel->rodata->payload_off = COLO_ETH_HLEN + 20 + (o->tcp ? 20 : 8);
	skel->rodata->payload_len = o->segment;
	err = bench_xdp_bpf__load(skel);
	if (err) {
		cli_err(CMD, "cannot load bench_xdp: %s; run as root",
			strerror(-err));
		return err;
	}
	b->src_fd = bpf_program__fd(skel->progs.bench_src);
	for (i = 0; i < 2; i++) {
		skel->bss->target[i] = ifindex_of(
			i ? "--to-secondary" : "--to-primary", o->to[i]);
		if (!skel->bss->target[i])
			return -ENODEV;
	}
	skel->bss->conns = o->conns;
	for (i = 0; i < o->nr_count; i++) {
		ifindex = ifindex_of("--count-on", o->count_on[i]);
		if (!ifindex)
			return -ENODEV;
		err = bpf_xdp_attach(
			ifindex, bpf_program__fd(skel->progs.bench_count),
			XDP_FLAGS_DRV_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
		if (err) {
			cli_err(CMD,
				"cannot attach bench_count to %s: %s; detach what is there ('ip link set dev %s xdp off')",
				o->count_on[i], strerror(-err), o->count_on[i]);
			return err;
		}
		b->count_ifindex[b->nr_attached++] = ifindex;
	}
	return 0;
}

static void teardown(struct bench *b)
{
	unsigned int i;

	for (i = 0; i < b->nr_attached; i++)
		bpf_xdp_detach(b->count_ifindex[i], XDP_FLAGS_DRV_MODE, NULL);
	bench_xdp_bpf__destroy(b->skel);
}

/* Make n frames, n/2 pairs; a signal stops it early. */
static int burst(struct bench *b, int n)
{
	LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = b->frame,
		    .data_size_in = b->len, .repeat = n,
		    .flags = BPF_F_TEST_XDP_LIVE_FRAMES);
	int err = bpf_prog_test_run_opts(b->src_fd, &t);

	if (err && errno != EINTR) {
		err = -errno;
		cli_err(CMD, "BPF_PROG_RUN of bench_src: %s", strerror(-err));
		return err;
	}
	return 0;
}

/*
 * The source runs in one BPF_PROG_RUN call: each call sets up and tears
 * down a page pool, which costs as much as a hundred frames.
 */
static void *source(void *arg)
{
	struct bench *b = arg;

	while (!stop && !b->src_err)
		b->src_err = burst(b, INT_MAX);
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

static int throughput(struct bench *b, const struct opts *o)
{
	struct bench_xdp_bpf__bss *bss = b->skel->bss;
	uint64_t per = o->nr_count, stalls = 0;
	int64_t inflight;
	uint64_t t_start = cli_now_ns(), t0 = 0, t1, c0 = 0, c1;
	uint64_t t_warm = t_start + o->warmup_ms * 1000000ull;
	uint64_t t_end = t_warm + o->run_ms * 1000000ull;
	uint64_t last_c = 0, last_move = t_start, t, c;
	bool measuring = false;
	pthread_t th;
	int err;

	bss->window = o->window;
	bss->per_pair = per;
	err = start_source(b, &th);
	if (err)
		return err;
	for (;;) {
		usleep(1000);
		t = cli_now_ns();
		c = counted(b);
		if (!measuring && t >= t_warm) {
			c0 = c;
			t0 = t;
			measuring = true;
		}
		if (t >= t_end || stop || b->src_err)
			break;
		if (c != last_c) {
			last_c = c;
			last_move = t;
			continue;
		}
		inflight = (int64_t)(made(b) / 2 - c / per - bss->lost);
		if (o->window && t - last_move >= BENCH_STALL_NS &&
		    inflight >= o->window) {
			/* dropped on the way: write them off */
			bss->lost += inflight;
			stalls++;
			last_move = t;
		}
	}
	c1 = counted(b);
	t1 = cli_now_ns();
	err = stop_source(b, th);
	if (err)
		return err;
	drain(b);
	if (!counted(b)) {
		cli_err(CMD,
			"none of %llu pairs came out on %s: is the comparator between P and S and %s running?",
			(unsigned long long)(made(b) / 2), o->count_on[0],
			o->count_on[0]);
		return -EIO;
	}
	printf("{\"mode\": \"throughput\", \"pairs_per_s\": %.0f, "
	       "\"measured_ns\": %llu, \"pairs_made\": %llu, "
	       "\"pairs_counted\": %llu, \"stalls\": %llu}\n",
	       (double)(c1 - c0) / per * 1e9 / (double)(t1 - t0),
	       (unsigned long long)(t1 - t0), (unsigned long long)(made(b) / 2),
	       (unsigned long long)(counted(b) / per),
	       (unsigned long long)stalls);
	return 0;
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

static int latency(struct bench *b, const struct opts *o)
{
	uint64_t n = (uint64_t)o->rate * o->run_ms / 1000, i;
	struct bench_xdp_bpf__bss *bss = b->skel->bss;
	static uint64_t s[BENCH_LAT_SLOTS];
	uint32_t got = 0;
	pthread_t th;
	int err;

	if (n > BENCH_LAT_SLOTS)
		n = BENCH_LAT_SLOTS;
	if (!n)
		n = 1;
	bss->stamp = 1;
	bss->limit = n;
	bss->gap_ns = 1000000000ull / o->rate;
	bss->per_pair = o->nr_count;
	err = start_source(b, &th);
	if (err)
		return err;
	while (made(b) / 2 < n && !stop && !b->src_err)
		usleep(1000);
	err = stop_source(b, th);
	if (err)
		return err;
	drain(b);
	for (i = 0; i < n; i++)
		if (bss->lat_ns[i])
			s[got++] = bss->lat_ns[i];
	if (!got) {
		cli_err(CMD, "none of %llu stamped pairs came back on %s",
			(unsigned long long)n, o->count_on[0]);
		return -EIO;
	}
	qsort(s, got, sizeof(s[0]), cmp_u64);
	if (o->samples) {
		err = write_samples(o->samples, s, got);
		if (err)
			return err;
	}
	printf("{\"mode\": \"latency\", \"rate\": %u, \"pairs\": %llu, "
	       "\"samples\": %u, \"p50_us\": %.2f, \"p99_us\": %.2f, "
	       "\"p999_us\": %.2f, \"max_us\": %.2f}\n",
	       o->rate, (unsigned long long)n, got, pct_us(s, got, 0.50),
	       pct_us(s, got, 0.99), pct_us(s, got, 0.999), s[got - 1] / 1e3);
	return 0;
}

static void on_signal(int sig)
{
	stop = 1;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct bench b = {};
	struct opts o;
	int ret, len;

	ret = parse_args(argc, argv, &o);
	if (ret >= 0)
		return ret;
	ret = 1;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* interrupts the source thread's BPF_PROG_RUN */
	sigaction(SIGUSR1, &sa, NULL);
	if (o.pin_cpu && cli_pin_cpu(CMD, o.cpu))
		goto out;
	len = frame_build_bench(o.tcp, o.frame_len, o.segment, b.frame,
				sizeof(b.frame));
	if (len < 0)
		goto out;
	b.len = len;
	if (setup(&b, &o))
		goto out;
	if (o.rate ? latency(&b, &o) : throughput(&b, &o))
		goto out;
	ret = 0;
out:
	teardown(&b);
	fflush(stdout);
	return ret;
}
