/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Whole Ethernet captures in memory, and pcap output, over libpcap.
 *
 * A capture is loaded once: its frames stay at fixed addresses until it is
 * freed, so a driver can hand them to the comparison engine, which keeps
 * references until it answers them. Errors are reported as a negative
 * errno plus one sentence in the caller's buffer that names the file (and
 * the record) and what to do about it.
 */
#ifndef COLO_PCAP_IO_H
#define COLO_PCAP_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PCAP_IO_ERRLEN 512

struct pcap_io_frame {
	uint64_t ts_ns; /* capture timestamp, nanoseconds since the epoch */
	uint32_t len;
	size_t off; /* into struct pcap_io_capture.data */
};

struct pcap_io_capture {
	uint8_t *data; /* every frame, back to back */
	struct pcap_io_frame *frames;
	uint32_t count;
};

static inline const uint8_t *pcap_io_data(const struct pcap_io_capture *cap,
					  uint32_t i)
{
	return cap->data + cap->frames[i].off;
}

/*
 * Load every record of a microsecond or nanosecond pcap file. Refused:
 * a file that cannot be opened or is not pcap (-ENOENT, -EACCES, -EINVAL),
 * a link type other than Ethernet (-EPROTONOSUPPORT), a record captured
 * shorter than it was on the wire (-EMSGSIZE: such a frame cannot be
 * compared faithfully), a file cut inside a record (-EIO), a timestamp
 * out of range (-EINVAL).
 */
int pcap_io_load(const char *path, struct pcap_io_capture *cap, char *err,
		 size_t errlen);
void pcap_io_free(struct pcap_io_capture *cap);

struct pcap_io_writer;

/*
 * Create (or truncate) an Ethernet pcap file, with nanosecond timestamps
 * or, for the widest reader support, microsecond ones.
 */
int pcap_io_create(const char *path, bool nano, struct pcap_io_writer **out,
		   char *err, size_t errlen);
/* Append one frame; write errors surface in pcap_io_close(). */
void pcap_io_write(struct pcap_io_writer *w, const void *data, uint32_t len,
		   uint64_t ts_ns);
/*
 * Push what is buffered to the file, so that it can be read while open;
 * -errno when the file takes no more (the frames not written are lost).
 */
int pcap_io_flush(struct pcap_io_writer *w);
/* Flush and close; returns -EIO, with a message, if anything was lost. */
int pcap_io_close(struct pcap_io_writer *w, char *err, size_t errlen);

#endif /* COLO_PCAP_IO_H */
