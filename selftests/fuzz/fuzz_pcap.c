// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fuzz_pcap: the capture reader of user/io/pcap_io.h on arbitrary file
 * contents, written to a memfd that pcap_io_load() opens by its
 * /proc/self/fd path, as it would any capture named on the command line.
 * Checked on every input:
 * - no crash and no leak (LeakSanitizer runs after every input);
 * - an error is one of the documented codes, with a message that names
 *   the file, and leaves the capture empty;
 * - on success every frame lies inside the loaded data and, for a classic
 *   pcap file, whose timestamps are two unsigned 32-bit fields, each
 *   timestamp is one those fields can hold;
 * - what loads writes back through pcap_io_create()/pcap_io_write() and
 *   loads again to the same frames, lengths and timestamps (where the
 *   32-bit seconds of the format can hold them), so `colo-xdp replay`
 *   output re-reads as it was read.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "pcap_io.h"

static int in_fd = -1, out_fd = -1;
static char in_path[64], out_path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	in_fd = memfd_create("fuzz-pcap-in", 0);
	out_fd = memfd_create("fuzz-pcap-out", 0);
	REQUIRE(in_fd >= 0 && out_fd >= 0);
	snprintf(in_path, sizeof(in_path), "/proc/self/fd/%d", in_fd);
	snprintf(out_path, sizeof(out_path), "/proc/self/fd/%d", out_fd);
	return 0;
}

/* A classic pcap file, of either byte order, micro- or nanoseconds. */
static bool classic(const uint8_t *data, size_t size)
{
	static const uint32_t magic[] = { 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d,
					  0x4d3cb2a1 };
	uint32_t m;
	size_t i;

	if (size < 4)
		return false;
	m = (uint32_t)data[0] << 24 | data[1] << 16 | data[2] << 8 | data[3];
	for (i = 0; i < sizeof(magic) / sizeof(magic[0]); i++)
		if (m == magic[i])
			return true;
	return false;
}

static bool documented(int err)
{
	switch (err) {
	case -EINVAL:
	case -EPROTONOSUPPORT:
	case -EMSGSIZE:
	case -EIO:
	case -ENOMEM:
	case -EFBIG:
		return true;
	default:
		return false;
	}
}

/* Write cap out and read it back: the same frames come back. */
static void round_trip(const struct pcap_io_capture *cap)
{
	struct pcap_io_capture again;
	struct pcap_io_writer *w;
	char err[PCAP_IO_ERRLEN];
	uint32_t i;

	REQUIRE(!pcap_io_create(out_path, true, &w, err, sizeof(err)));
	for (i = 0; i < cap->count; i++)
		pcap_io_write(w, pcap_io_data(cap, i), cap->frames[i].len,
			      cap->frames[i].ts_ns);
	REQUIRE(!pcap_io_close(w, err, sizeof(err)));
	REQUIRE(!pcap_io_load(out_path, &again, err, sizeof(err)));
	REQUIRE(again.count == cap->count);
	for (i = 0; i < cap->count; i++) {
		const uint8_t *was = pcap_io_data(cap, i);
		const uint8_t *is = pcap_io_data(&again, i);

		REQUIRE(again.frames[i].len == cap->frames[i].len);
		if (cap->frames[i].len)
			REQUIRE(!memcmp(is, was, cap->frames[i].len));
		if (cap->frames[i].ts_ns / 1000000000ull <= UINT32_MAX)
			REQUIRE(again.frames[i].ts_ns == cap->frames[i].ts_ns);
	}
	pcap_io_free(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pcap_io_capture cap;
	char err[PCAP_IO_ERRLEN] = "";
	size_t end = 0;
	uint32_t i;
	int ret;

	REQUIRE(!ftruncate(in_fd, 0));
	REQUIRE(pwrite(in_fd, data, size, 0) == (ssize_t)size);
	ret = pcap_io_load(in_path, &cap, err, sizeof(err));
	if (ret) {
		REQUIRE(documented(ret));
		REQUIRE(strstr(err, in_path));
		REQUIRE(!cap.count && !cap.data && !cap.frames);
		return 0;
	}
	for (i = 0; i < cap.count; i++) {
		REQUIRE(cap.frames[i].off == end);
		end += cap.frames[i].len;
		/* seconds, then micro- or nanoseconds up to 2^32 - 1 */
		if (classic(data, size))
			REQUIRE(cap.frames[i].ts_ns <=
				UINT32_MAX * 1000000000ull +
					UINT32_MAX * 1000ull);
	}
	REQUIRE(end <= size);
	round_trip(&cap);
	pcap_io_free(&cap);
	return 0;
}
