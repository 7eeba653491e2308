// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "mismatch_dump.h"
#include "pcap_io.h"

struct mismatch_dump {
	struct pcap_io_writer *w;
	char *path; /* the writer keeps a pointer to it */
	uint64_t pairs;
	int broken; /* -errno of the write that failed, or 0 */
};

int mismatch_dump_open(const char *path, struct mismatch_dump **out)
{
	char err[PCAP_IO_ERRLEN];
	struct mismatch_dump *d;
	int ret;

	*out = NULL;
	d = calloc(1, sizeof(*d));
	if (d)
		d->path = strdup(path);
	if (!d || !d->path) {
		ret = -ENOMEM;
		cli_err("run", "--mismatch-dump %s: %s", path, strerror(-ret));
		goto out;
	}
	ret = pcap_io_create(d->path, false, &d->w, err, sizeof(err));
	if (ret) {
		cli_err("run", "--mismatch-dump: %s", err);
		goto out;
	}
	*out = d;
	return 0;
out:
	if (d)
		free(d->path);
	free(d);
	return ret;
}

void mismatch_dump_pair(struct mismatch_dump *d, const void *primary,
			uint32_t primary_len, const void *secondary,
			uint32_t secondary_len)
{
	struct timespec ts;
	uint64_t ns;

	if (d->broken)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	ns = (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
	pcap_io_write(d->w, primary, primary_len, ns);
	pcap_io_write(d->w, secondary, secondary_len, ns);
	d->pairs++;
}

uint64_t mismatch_dump_pairs(const struct mismatch_dump *d)
{
	return d->pairs;
}

int mismatch_dump_flush(struct mismatch_dump *d)
{
	if (!d || d->broken)
		return d ? d->broken : 0;
	d->broken = pcap_io_flush(d->w);
	if (d->broken)
		cli_err("run",
			"--mismatch-dump %s: cannot write it: %s; the mismatches from now on are not in it (mismatch_dumped stops)",
			d->path, strerror(-d->broken));
	return d->broken;
}

int mismatch_dump_close(struct mismatch_dump *d)
{
	char err[PCAP_IO_ERRLEN];
	int ret;

	if (!d)
		return 0;
	ret = pcap_io_close(d->w, err, sizeof(err));
	if (ret)
		cli_err("run", "--mismatch-dump: %s", err);
	free(d->path);
	free(d);
	return ret;
}
