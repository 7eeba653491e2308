// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * How long --prealloc takes for a UMEM against --prealloc-threads: maps,
 * binds (policy default) and preallocates SIZE (1G) with each thread count
 * given (1 2 4), best of three runs each, and prints a table.
 *   bench_prealloc [--hugepages] [SIZE [THREADS...]]
 */
#include <stdlib.h>
#include <time.h>

#include "hostmem.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static const char *const default_threads[] = { "1", "2", "4" };
	const char *const *threads = default_threads;
	int nthreads = 3, i, run, argi = 1;
	const char *size = "1G";
	struct hostmem_opts o;
	struct hostmem m;
	double t, best;

	hostmem_opts_init(&o);
	if (argi < argc && !strcmp(argv[argi], "--hugepages")) {
		if (hostmem_parse_flag(&o, "bench", "hugepages", NULL))
			return 2;
		argi++;
	}
	if (argi < argc)
		size = argv[argi++];
	if (argi < argc) {
		threads = (const char *const *)argv + argi;
		nthreads = argc - argi;
	}
	if (hostmem_parse_flag(&o, "bench", "umem-size", size) ||
	    hostmem_parse_flag(&o, "bench", "prealloc", NULL))
		return 2;
	printf("%-8s %-8s %10s %10s\n", "size", "threads", "seconds", "GiB/s");
	for (i = 0; i < nthreads; i++) {
		if (hostmem_parse_flag(&o, "bench", "prealloc-threads",
				       threads[i]))
			return 2;
		best = 1e9;
		for (run = 0; run < 3; run++) {
			t = now();
			if (hostmem_alloc(&o, "bench", NULL, 0, -1, &m))
				return 1;
			t = now() - t;
			hostmem_free(&m);
			if (t < best)
				best = t;
		}
		printf("%-8s %-8s %10.3f %10.2f\n", size, threads[i], best,
		       o.size / best / (1 << 30));
	}
	return 0;
}
