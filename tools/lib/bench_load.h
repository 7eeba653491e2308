/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * An offered load for the benchmarks (bench/bench-traffic.c feeds colo-xdp,
 * bench/bench-qemu.c feeds QEMU): pairs paced at a fixed rate, and the CPU
 * time the machine, the comparator and the source spent meanwhile.
 */
#ifndef COLO_BENCH_LOAD_H
#define COLO_BENCH_LOAD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cli_opts.h"

/* --proto's words: the load is UDP datagrams (false) or TCP (true). */
extern const char *const bench_load_protos[];

/*
 * The flags that shape a load, the same in both sources: otype has bool
 * tcp and uint32_t frame_len, segment, conns, warmup_ms and run_ms.
 */
/* clang-format off */
#define BENCH_LOAD_OPTS(otype, max_conns)				\
	{ .type = CLI_OPT_BOOL, .name = "proto", .arg = "udp|tcp",	\
	  .off = offsetof(otype, tcp), .choices = bench_load_protos,	\
	  .help = "UDP datagrams or TCP segments" },			\
	/* 8 payload bytes for the pair number */			\
	{ .type = CLI_OPT_U32, .name = "frame-len", .arg = "N",		\
	  .off = offsetof(otype, frame_len), .min = 50, .max = 1514,	\
	  .help = "UDP: frame length without FCS" },			\
	{ .type = CLI_OPT_U32, .name = "segment", .arg = "N",		\
	  .off = offsetof(otype, segment), .min = 8, .max = 1460,	\
	  .help = "TCP: payload bytes per segment" },			\
	{ .type = CLI_OPT_U32, .name = "conns", .arg = "N",		\
	  .off = offsetof(otype, conns), .min = 1, .max = (max_conns),	\
	  .help = "connections, visited round robin" },		\
	{ .type = CLI_OPT_U32, .name = "warmup", .arg = "MS",		\
	  .off = offsetof(otype, warmup_ms), .max = 60000,		\
	  .help = "run before measuring" },				\
	{ .type = CLI_OPT_U32, .name = "time", .arg = "MS",		\
	  .off = offsetof(otype, run_ms), .min = 1, .max = 600000,	\
	  .help = "measure this long" }
/* clang-format on */

struct bench_pace {
	double ns_per_pair;
	uint64_t t0; /* pair i is due at t0 + i * ns_per_pair */
	uint64_t tick; /* pairs to wait for before waking up */
	uint32_t burst; /* at most this many pairs at once */
};

/*
 * rate pairs per second, handed out burst at the most, and about every
 * tick_ns: a sleep costs tens of microseconds of CPU on these machines,
 * which whatever shares the source's CPU needs.
 */
void bench_pace_start(struct bench_pace *p, uint32_t rate, uint32_t burst,
		      uint64_t tick_ns);

/*
 * How many pairs to send now, made having been sent so far: sleeps until
 * some are due, 0 when interrupted by a signal. A source more than four
 * bursts behind gives up that part of the schedule, so that the achieved
 * rate, not a catch-up burst, shows it.
 */
uint32_t bench_pace_next(struct bench_pace *p, uint64_t made);

/* Sleep until t_ns on the monotonic clock (a signal ends it early). */
void bench_sleep_until(uint64_t t_ns);

/* CPU time in seconds. */
struct bench_cpu {
	double wall; /* monotonic clock */
	double not_busy; /* every CPU: idle, iowait and steal */
	double cmp_softirq; /* softirq on the comparator's CPU (sampled) */
	double cmp; /* the comparator's process, all its threads */
	double self; /* this process: the source */
};

/*
 * Now, from /proc/stat, /proc/cmp_pid/stat (0: none) and this process's
 * rusage; cmp_cpu -1 for none. Says why and returns -errno on failure.
 */
int bench_cpu_sample(const char *who, pid_t cmp_pid, int cmp_cpu,
		     struct bench_cpu *s);

/* The JSON fields of the CPU time between a and b, without braces. */
void bench_cpu_print(const struct bench_cpu *a, const struct bench_cpu *b);

#endif /* COLO_BENCH_LOAD_H */
