/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * --mismatch-dump FILE.pcap: both frames of each mismatch, for Wireshark.
 * Records come in pairs, the primary's frame first and the secondary's
 * second (Wireshark frames 2k-1 and 2k for the k-th mismatch), with the
 * same timestamp: when the mismatch was found. Microsecond pcap, which
 * every reader opens. Written through user/pcap_io.h's buffered writer,
 * so a pair costs a copy into its buffer, no system call of its own.
 */
#ifndef COLO_MISMATCH_DUMP_H
#define COLO_MISMATCH_DUMP_H

#include <stdint.h>

struct mismatch_dump;

/* Create or truncate path; on error a message on stderr names it. */
int mismatch_dump_open(const char *path, struct mismatch_dump **out);
void mismatch_dump_pair(struct mismatch_dump *d, const void *primary,
			uint32_t primary_len, const void *secondary,
			uint32_t secondary_len);
uint64_t mismatch_dump_pairs(const struct mismatch_dump *d);
/*
 * Make the pairs so far readable (and survive a crash); NULL: nothing. A
 * file that takes no more (a full disk) is said once, on stderr, and
 * from then on pairs are neither written nor counted: -errno.
 */
int mismatch_dump_flush(struct mismatch_dump *d);
/* Flush and close; -EIO with a message if records were lost. */
int mismatch_dump_close(struct mismatch_dump *d);

#endif /* COLO_MISMATCH_DUMP_H */
