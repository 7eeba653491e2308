/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the hostmem tests read back from the kernel about a mapping
 * (numa_maps, smaps VmFlags, mincore), the huge page pool they reserve
 * from, and stderr captured to check messages. Shared by
 * selftests/test_hostmem.c and the two-node test run in a VM.
 */
#ifndef COLO_HOSTMEM_CHECK_H
#define COLO_HOSTMEM_CHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define HM_NR_HUGEPAGES "/proc/sys/vm/nr_hugepages"
#define HM_FREE_HUGEPAGES \
	"/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages"

static int hm_saved_stderr = -1;
static FILE *hm_capture_file;

/* Send stderr to a temporary file until hm_capture_end(). */
static inline void hm_capture_begin(void)
{
	fflush(stderr);
	hm_capture_file = tmpfile();
	hm_saved_stderr = dup(2);
	if (hm_capture_file)
		dup2(fileno(hm_capture_file), 2);
}

/* Restore stderr; buf gets what was written meanwhile. */
static inline void hm_capture_end(char *buf, size_t len)
{
	size_t n = 0;

	fflush(stderr);
	dup2(hm_saved_stderr, 2);
	close(hm_saved_stderr);
	if (hm_capture_file) {
		rewind(hm_capture_file);
		n = fread(buf, 1, len - 1, hm_capture_file);
		fclose(hm_capture_file);
	}
	buf[n] = 0;
}

/* The /proc/self/numa_maps line of the mapping that starts at addr. */
static inline int hm_numa_maps(const void *addr, char *line, size_t len)
{
	char want[32];
	int err = -1;
	FILE *f;

	snprintf(want, sizeof(want), "%lx ", (unsigned long)addr);
	f = fopen("/proc/self/numa_maps", "re");
	if (!f)
		return -1;
	while (fgets(line, len, f)) {
		if (!strncmp(line, want, strlen(want))) {
			line[strcspn(line, "\n")] = 0;
			/* a trailing blank lets callers match " N0=4 " */
			strncat(line, " ", len - strlen(line) - 1);
			err = 0;
			break;
		}
	}
	fclose(f);
	return err;
}

/* The smaps VmFlags of the mapping that starts at addr: " rd wr ... dd". */
static inline int hm_vmflags(const void *addr, char *flags, size_t len)
{
	char line[512], want[32];
	bool in = false;
	size_t n;
	int err = -1;
	FILE *f;

	snprintf(want, sizeof(want), "%lx-", (unsigned long)addr);
	f = fopen("/proc/self/smaps", "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, want, strlen(want)))
			in = true;
		else if (in && !strncmp(line, "VmFlags:", 8)) {
			n = strcspn(line + 8, "\n");
			if (n + 2 > len)
				n = len - 2;
			/* a trailing blank lets callers match " dd " */
			memcpy(flags, line + 8, n);
			flags[n] = ' ';
			flags[n + 1] = 0;
			err = 0;
			break;
		}
	}
	fclose(f);
	return err;
}

/* Base pages of [addr, addr + size) that are resident (mincore). */
static inline long hm_resident_pages(void *addr, size_t size)
{
	size_t n = size / 4096, i;
	unsigned char *vec = malloc(n);
	long resident = 0;

	if (!vec || mincore(addr, size, vec)) {
		free(vec);
		return -1;
	}
	for (i = 0; i < n; i++)
		resident += vec[i] & 1;
	free(vec);
	return resident;
}

static inline long hm_read_long(const char *path)
{
	long v = -1;
	FILE *f = fopen(path, "re");

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static inline long hm_hugepages(void)
{
	return hm_read_long(HM_NR_HUGEPAGES);
}

static inline long hm_hugepages_free(void)
{
	return hm_read_long(HM_FREE_HUGEPAGES);
}

/* Set vm.nr_hugepages; 0 once the kernel really has n, else -1. */
static inline int hm_hugepages_set(long n)
{
	FILE *f = fopen(HM_NR_HUGEPAGES, "we");

	if (!f)
		return -1;
	fprintf(f, "%ld\n", n);
	if (fclose(f))
		return -1;
	return hm_hugepages() == n ? 0 : -1;
}

#endif /* COLO_HOSTMEM_CHECK_H */
