// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fuzz_qframe: the reader of QEMU's frame channel (user/chardev/qframe.h)
 * that `colo-xdp chardev` runs on every byte a peer sends: a byte ring a
 * socket is read into, and frames taken from it in place.
 *
 * The input: byte 0, bit 0: vnet_hdr_support (an 8-byte prefix), bits
 * 1-7 the high 32 bits of the ring's starting byte count; bytes 1-2
 * (little-endian): how far before the ring's end the stream starts, so
 * that short inputs wrap; byte 3: the largest read (0: as much as fits);
 * then the stream. The stream is read into the ring in pieces whose sizes
 * come from the stream itself, as a socket cuts it, and frames are taken
 * after each read, as the bridge does. Checked on every input, against the
 * format read straight from the flat stream:
 * - each frame is the next one the stream holds: its start, length, vnet
 *   length, and bytes (through qframe_ring_iov(), one piece or two at the
 *   wrap, both inside the ring), and qframe_prefix() writes its prefix
 *   back byte for byte;
 * - "more bytes needed" only when the prefix or the frame is not all in;
 * - -EBADMSG, with a message, exactly at the first prefix QEMU cannot
 *   have sent (a length of 0 or over QFRAME_MAX, a vnet length over
 *   QFRAME_VNET_MAX, less than an Ethernet header left), as soon as that
 *   prefix is in and whatever follows it;
 * - the room offered is what is free, in at most two pieces inside the
 *   ring; a full ring always holds a whole frame or a bad prefix (a ring
 *   of QFRAME_MAX + 8 bytes or more never waits on itself).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <linux/if_ether.h>

#include "fuzz.h"
#include "qframe.h"

#define CAP (128 * 1024)

static struct qframe_ring ring;

struct input {
	bool vnet;
	uint64_t base; /* ring count where the stream starts */
	uint32_t max_read;
	const uint8_t *s;
	size_t size;
};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

/*
 * The format, from the flat stream: at pos, with fed bytes in, 1 and the
 * frame when it is all in, 0 when more is needed, -EBADMSG for a prefix
 * QEMU cannot send.
 */
static int want_next(const struct input *in, size_t pos, size_t fed,
		     uint32_t *len, uint32_t *vnet_len)
{
	size_t pre = in->vnet ? 8 : 4;

	if (fed - pos < pre)
		return 0;
	*len = be32(in->s + pos);
	*vnet_len = in->vnet ? be32(in->s + pos + 4) : 0;
	if (!*len || *len > QFRAME_MAX || *vnet_len > QFRAME_VNET_MAX ||
	    *len < *vnet_len + ETH_HLEN)
		return -EBADMSG;
	return fed - pos - pre >= *len;
}

static bool in_ring(const struct iovec *v)
{
	const uint8_t *b = v->iov_base;

	return b >= ring.buf && v->iov_len <= CAP &&
	       b + v->iov_len <= ring.buf + CAP;
}

/* The frame f must be the one at pos: its bytes, its prefix. */
static void check_frame(const struct input *in, size_t pos,
			const struct qframe *f, uint32_t len, uint32_t vnet_len)
{
	size_t pre = in->vnet ? 8 : 4, at = pos + pre;
	uint8_t p[QFRAME_PREFIX_MAX];
	struct iovec iov[2];
	int n, i;

	REQUIRE(f->start == in->base + at);
	REQUIRE(f->len == len && f->vnet_len == vnet_len);
	n = qframe_ring_iov(&ring, f->start, f->len, iov);
	REQUIRE(n == 1 || n == 2);
	/* two pieces only across the end of the ring */
	REQUIRE((n == 2) == ((f->start & (CAP - 1)) + f->len > CAP));
	for (i = 0; i < n; i++) {
		REQUIRE(in_ring(&iov[i]) && iov[i].iov_len);
		REQUIRE(!memcmp(iov[i].iov_base, in->s + at, iov[i].iov_len));
		at += iov[i].iov_len;
	}
	REQUIRE(at == pos + pre + len);
	REQUIRE(qframe_prefix(p, len, vnet_len, in->vnet) == pre);
	REQUIRE(!memcmp(p, in->s + pos, pre));
}

/*
 * Take every whole frame in, as the bridge does after a read. Returns
 * false once a bad prefix is found (the bridge closes the channel).
 */
static bool take_frames(const struct input *in, size_t *pos, size_t fed)
{
	uint32_t len = 0, vnet_len = 0;
	const char *why = NULL;
	struct qframe f;
	int got, want;

	for (;;) {
		want = want_next(in, *pos, fed, &len, &vnet_len);
		got = qframe_next(&ring, in->vnet, &f, &why);
		REQUIRE(got == want);
		if (got == -EBADMSG) {
			REQUIRE(why && *why);
			return false;
		}
		if (!got)
			return true;
		check_frame(in, *pos, &f, len, vnet_len);
		qframe_take(&ring, &f);
		*pos += (in->vnet ? 8 : 4) + len;
		REQUIRE(ring.head == in->base + *pos);
	}
}

/* Up to n bytes of the stream from fed into the ring's room. */
static size_t read_into(const struct input *in, size_t fed, size_t n)
{
	struct iovec room[2];
	size_t free_bytes = CAP - (ring.tail - ring.head), put = 0, k;
	int r, i;

	r = qframe_ring_room(&ring, room);
	REQUIRE(r ==
		(free_bytes ? (room[0].iov_len == free_bytes ? 1 : 2) : 0));
	for (i = 0; i < r; i++) {
		REQUIRE(in_ring(&room[i]) && room[i].iov_len);
		put += room[i].iov_len;
	}
	REQUIRE(put == free_bytes);
	for (i = 0, put = 0; i < r && put < n; i++) {
		k = room[i].iov_len < n - put ? room[i].iov_len : n - put;
		memcpy(room[i].iov_base, in->s + fed + put, k);
		put += k;
	}
	qframe_ring_fill(&ring, put);
	return put;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	REQUIRE(!qframe_ring_init(&ring, CAP));
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in;
	size_t fed = 0, pos = 0, n, got, i = 0;

	if (size < 4)
		return 0;
	in.vnet = data[0] & 1;
	in.base = (uint64_t)(data[0] >> 1) << 32 |
		  (CAP - (data[1] | data[2] << 8));
	in.max_read = data[3];
	in.s = data + 4;
	in.size = size - 4;
	ring.head = ring.tail = in.base;
	while (fed < in.size) {
		n = in.max_read ? 1 + in.s[i++ % in.size] % in.max_read :
				  in.size - fed;
		if (n > in.size - fed)
			n = in.size - fed;
		got = read_into(&in, fed, n);
		/* a full ring must have given its frames or the error */
		REQUIRE(got);
		fed += got;
		REQUIRE(ring.tail == in.base + fed);
		if (!take_frames(&in, &pos, fed))
			return 0;
	}
	return 0;
}
