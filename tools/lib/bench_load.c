// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench_load.h"

const char *const bench_load_protos[] = { "udp", "tcp", NULL };

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void bench_sleep_until(uint64_t t_ns)
{
	struct timespec ts = { .tv_sec = t_ns / 1000000000ull,
			       .tv_nsec = t_ns % 1000000000ull };

	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

void bench_pace_start(struct bench_pace *p, uint32_t rate, uint32_t burst,
		      uint64_t tick_ns)
{
	p->ns_per_pair = 1e9 / rate;
	p->t0 = now_ns();
	p->burst = burst;
	p->tick = (uint64_t)(tick_ns / p->ns_per_pair);
	if (p->tick < 1)
		p->tick = 1;
	if (p->tick > burst)
		p->tick = burst;
}

uint32_t bench_pace_next(struct bench_pace *p, uint64_t made)
{
	uint64_t due = (uint64_t)((now_ns() - p->t0) / p->ns_per_pair);

	if (due < made + p->tick) {
		bench_sleep_until(
			p->t0 + (uint64_t)((made + p->tick) * p->ns_per_pair));
		due = (uint64_t)((now_ns() - p->t0) / p->ns_per_pair);
		if (due <= made)
			return 0;
	}
	if (due - made > 4ull * p->burst) {
		p->t0 += (uint64_t)((due - made - p->burst) * p->ns_per_pair);
		due = made + p->burst;
	}
	return due - made > p->burst ? p->burst : (uint32_t)(due - made);
}

/*
 * /proc/stat: CPU time not spent busy, and cmp_cpu's softirq. Busy time
 * is the wall clock times the CPUs less that: the user and system fields
 * are sampled at the tick, which a CPU that sleeps between bursts mostly
 * misses, while idle time is measured exactly on a tickless kernel.
 */
static int read_proc_stat(int cmp_cpu, struct bench_cpu *s)
{
	/* user nice system idle iowait irq softirq steal */
	static const char fmt[] = "%llu %llu %llu %llu %llu %llu %llu %llu";
	unsigned long long v[8];
	double hz = (double)sysconf(_SC_CLK_TCK);
	char line[512], want[32];
	FILE *f = fopen("/proc/stat", "r");
	size_t n;
	int err = -EIO;

	if (!f)
		return -errno;
	s->wall = now_ns() / 1e9;
	n = (size_t)snprintf(want, sizeof(want), "cpu%d ", cmp_cpu);
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "cpu  ", 5) &&
		    sscanf(line + 5, fmt, &v[0], &v[1], &v[2], &v[3], &v[4],
			   &v[5], &v[6], &v[7]) == 8) {
			s->not_busy = (v[3] + v[4] + v[7]) / hz;
			err = 0;
		} else if (cmp_cpu >= 0 && !strncmp(line, want, n) &&
			   sscanf(line + n, fmt, &v[0], &v[1], &v[2], &v[3],
				  &v[4], &v[5], &v[6], &v[7]) == 8) {
			s->cmp_softirq = v[6] / hz;
		}
	}
	fclose(f);
	return err;
}

/* utime + stime of pid, all its threads. */
static int read_pid_cpu(pid_t pid, double *s)
{
	unsigned long long ut, st;
	char path[64], buf[1024], *p;
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	ok = fgets(buf, sizeof(buf), f) != NULL;
	fclose(f);
	/* the name may hold spaces: count fields from its closing ')' */
	p = ok ? strrchr(buf, ')') : NULL;
	if (!p ||
	    sscanf(p + 2,
		   "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
		   &st) != 2)
		return -EIO;
	*s = (ut + st) / (double)sysconf(_SC_CLK_TCK);
	return 0;
}

int bench_cpu_sample(const char *who, pid_t cmp_pid, int cmp_cpu,
		     struct bench_cpu *s)
{
	struct rusage ru;
	int err;

	memset(s, 0, sizeof(*s));
	err = read_proc_stat(cmp_cpu, s);
	if (!err && cmp_pid)
		err = read_pid_cpu(cmp_pid, &s->cmp);
	if (err) {
		fprintf(stderr, "%s: cannot read CPU time from /proc: %s\n",
			who, strerror(-err));
		return err;
	}
	getrusage(RUSAGE_SELF, &ru);
	s->self = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
		  (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	return 0;
}

void bench_cpu_print(const struct bench_cpu *a, const struct bench_cpu *b)
{
	double cpus = (double)sysconf(_SC_NPROCESSORS_ONLN);

	printf("\"busy_s\": %.3f, \"self_s\": %.3f, \"cmp_s\": %.3f, "
	       "\"cmp_softirq_s\": %.3f",
	       (b->wall - a->wall) * cpus - (b->not_busy - a->not_busy),
	       b->self - a->self, b->cmp - a->cmp,
	       b->cmp_softirq - a->cmp_softirq);
}
