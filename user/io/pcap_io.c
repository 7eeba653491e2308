// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcap_io.h"

struct pcap_io_writer {
	pcap_t *dead;
	pcap_dumper_t *dumper;
	const char *path;
	bool nano;
};

/* Room for one more frame of caplen bytes; doubling keeps loading linear. */
static int pcap_io_grow(struct pcap_io_capture *cap, uint32_t *nframes,
			size_t *size, size_t used, uint32_t caplen)
{
	void *p;

	if (cap->count == *nframes) {
		uint32_t n = *nframes ? *nframes * 2 : 1024;

		if (n <= *nframes)
			return -EFBIG;
		p = reallocarray(cap->frames, n, sizeof(*cap->frames));
		if (!p)
			return -ENOMEM;
		cap->frames = p;
		*nframes = n;
	}
	/* allocated even for empty records: pcap_io_data() adds to it */
	if (used + caplen > *size || !cap->data) {
		size_t n = *size ? *size * 2 : 1 << 20;

		while (n < used + caplen)
			n *= 2;
		p = realloc(cap->data, n);
		if (!p)
			return -ENOMEM;
		cap->data = p;
		*size = n;
	}
	return 0;
}

/*
 * Nanoseconds since the epoch. A classic pcap record stores unsigned
 * 32-bit seconds, which libpcap hands over as a signed time_t: seconds
 * from 2038 on come out negative and are taken back as unsigned. A
 * sub-second part of a second or more, or a time past 2^64 ns (pcapng
 * can say so), is damage: refused rather than wrapped.
 */
static int pcap_io_ts(const struct pcap_pkthdr *hdr, uint64_t *ts_ns)
{
	uint64_t sec = hdr->ts.tv_sec < 0 ? (uint32_t)hdr->ts.tv_sec :
					    (uint64_t)hdr->ts.tv_sec;

	if (hdr->ts.tv_usec < 0 || hdr->ts.tv_usec >= 1000000000 ||
	    sec > (UINT64_MAX - (uint64_t)hdr->ts.tv_usec) / 1000000000ull)
		return -EINVAL;
	*ts_ns = sec * 1000000000ull + (uint64_t)hdr->ts.tv_usec;
	return 0;
}

int pcap_io_load(const char *path, struct pcap_io_capture *cap, char *err,
		 size_t errlen)
{
	char perr[PCAP_ERRBUF_SIZE] = "";
	struct pcap_pkthdr *hdr;
	const u_char *bytes;
	size_t size = 0, used = 0;
	uint32_t nframes = 0;
	pcap_t *p = NULL;
	FILE *f;
	int ret, link;

	memset(cap, 0, sizeof(*cap));
	/* fopen() first: its errno says missing or unreadable plainly */
	f = fopen(path, "rb");
	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	p = pcap_fopen_offline_with_tstamp_precision(
		f, PCAP_TSTAMP_PRECISION_NANO, perr);
	if (!p) {
		fclose(f);
		snprintf(err, errlen, "%s: not a readable pcap capture (%s)",
			 path, perr);
		return -EINVAL;
	}
	link = pcap_datalink(p);
	if (link != DLT_EN10MB) {
		snprintf(err, errlen,
			 "%s: link type %s (%d) is not Ethernet (EN10MB); "
			 "capture on an Ethernet device or tap",
			 path, pcap_datalink_val_to_name(link) ?: "unknown",
			 link);
		ret = -EPROTONOSUPPORT;
		goto out;
	}
	while ((ret = pcap_next_ex(p, &hdr, &bytes)) == 1) {
		if (hdr->caplen < hdr->len) {
			snprintf(err, errlen,
				 "%s: record %u holds %u of its %u bytes; "
				 "capture whole frames (tcpdump -s 0)",
				 path, cap->count, hdr->caplen, hdr->len);
			ret = -EMSGSIZE;
			goto out;
		}
		ret = pcap_io_grow(cap, &nframes, &size, used, hdr->caplen);
		if (ret) {
			snprintf(err, errlen, "%s: record %u: %s", path,
				 cap->count, strerror(-ret));
			goto out;
		}
		ret = pcap_io_ts(hdr, &cap->frames[cap->count].ts_ns);
		if (ret) {
			snprintf(
				err, errlen,
				"%s: record %u: timestamp %lld.%09lld is out of range",
				path, cap->count, (long long)hdr->ts.tv_sec,
				(long long)hdr->ts.tv_usec);
			goto out;
		}
		memcpy(cap->data + used, bytes, hdr->caplen);
		cap->frames[cap->count].len = hdr->caplen;
		cap->frames[cap->count].off = used;
		cap->count++;
		used += hdr->caplen;
	}
	if (ret == PCAP_ERROR_BREAK) {
		ret = 0;
	} else {
		snprintf(err, errlen,
			 "%s: record %u is cut short or damaged (%s)", path,
			 cap->count, pcap_geterr(p));
		ret = -EIO;
	}
out:
	pcap_close(p);
	if (ret)
		pcap_io_free(cap);
	return ret;
}

void pcap_io_free(struct pcap_io_capture *cap)
{
	free(cap->data);
	free(cap->frames);
	memset(cap, 0, sizeof(*cap));
}

int pcap_io_create(const char *path, bool nano, struct pcap_io_writer **out,
		   char *err, size_t errlen)
{
	struct pcap_io_writer *w;
	int ret = 0;

	*out = NULL;
	w = calloc(1, sizeof(*w));
	if (!w) {
		snprintf(err, errlen, "%s: %s", path, strerror(ENOMEM));
		return -ENOMEM;
	}
	w->path = path;
	w->nano = nano;
	w->dead = pcap_open_dead_with_tstamp_precision(
		DLT_EN10MB, 262144,
		nano ? PCAP_TSTAMP_PRECISION_NANO :
		       PCAP_TSTAMP_PRECISION_MICRO);
	if (!w->dead) {
		snprintf(err, errlen, "%s: %s", path, strerror(ENOMEM));
		ret = -ENOMEM;
		goto out;
	}
	errno = 0;
	w->dumper = pcap_dump_open(w->dead, path);
	if (!w->dumper) {
		/* libpcap keeps fopen()'s errno; its own text repeats the path */
		ret = errno ? -errno : -EIO;
		snprintf(err, errlen, "%s: cannot create it (%s)", path,
			 strerror(-ret));
		goto out;
	}
	*out = w;
out:
	if (ret) {
		if (w->dead)
			pcap_close(w->dead);
		free(w);
	}
	return ret;
}

void pcap_io_write(struct pcap_io_writer *w, const void *data, uint32_t len,
		   uint64_t ts_ns)
{
	uint64_t div = w->nano ? 1 : 1000;
	struct pcap_pkthdr hdr = {
		.caplen = len,
		.len = len,
	};

	hdr.ts.tv_sec = ts_ns / 1000000000ull;
	hdr.ts.tv_usec = ts_ns % 1000000000ull / div;
	pcap_dump((u_char *)w->dumper, &hdr, data);
}

int pcap_io_flush(struct pcap_io_writer *w)
{
	/* a failure also stays on the stream for pcap_io_close() */
	return pcap_dump_flush(w->dumper) ? -(errno ?: EIO) : 0;
}

int pcap_io_close(struct pcap_io_writer *w, char *err, size_t errlen)
{
	int ret = 0;

	if (!w)
		return 0;
	errno = 0;
	if (pcap_dump_flush(w->dumper) || ferror(pcap_dump_file(w->dumper))) {
		snprintf(err, errlen, "%s: writing failed (%s)", w->path,
			 strerror(errno ?: EIO));
		ret = -EIO;
	}
	pcap_dump_close(w->dumper);
	pcap_close(w->dead);
	free(w);
	return ret;
}
