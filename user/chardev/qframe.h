/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * QEMU's frame channel format, as filter-mirror and filter-redirector
 * write it (net/filter-mirror.c) and net_fill_rstate() reads it
 * (net/net.c): a 4-byte big-endian length, with vnet_hdr_support=on a
 * 4-byte big-endian vnet header length, then that many bytes: the vnet
 * header, if its length is not 0, and the Ethernet frame.
 *
 * The reading side is a byte ring that a socket is read into and frames
 * are taken from in place: a frame that wraps is two pieces of one iovec
 * array, so no byte is copied in userspace between a socket and a tap.
 */
#ifndef COLO_QFRAME_H
#define COLO_QFRAME_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

/* QEMU's NET_BUFSIZE: the longest length its readers take */
#define QFRAME_MAX 69632
/* a vnet header longer than this is not one (virtio's is 10, 12 or 20) */
#define QFRAME_VNET_MAX 32
/* the prefix: the length, and the vnet header's length */
#define QFRAME_PREFIX_MAX 8

/* Bytes read from a stream socket, not yet taken as frames. */
struct qframe_ring {
	uint8_t *buf;
	uint32_t cap; /* a power of two, at least QFRAME_MAX + 8 */
	uint64_t head; /* first byte not taken, counted since the start */
	uint64_t tail; /* one past the last byte read */
};

/* One frame in the ring, whole. */
struct qframe {
	uint64_t start; /* of the bytes after the prefix */
	uint32_t len; /* vnet header and Ethernet frame */
	uint32_t vnet_len; /* the vnet header's part of len */
};

/* cap bytes (a power of two), or -ENOMEM; qframe_ring_free() undoes. */
int qframe_ring_init(struct qframe_ring *r, uint32_t cap);
void qframe_ring_free(struct qframe_ring *r);
/* Forget what is in it: a new peer starts a new stream. */
void qframe_ring_reset(struct qframe_ring *r);

/*
 * The free room of the ring as at most two iovecs to read into; returns
 * how many (0: full). qframe_ring_fill() then adds the n bytes read.
 */
int qframe_ring_room(const struct qframe_ring *r, struct iovec iov[2]);
void qframe_ring_fill(struct qframe_ring *r, uint32_t n);

/*
 * The next whole frame (vnet: the prefix has the vnet length): 1 with *f,
 * 0 when more bytes are needed, or -EBADMSG with *why (a static string,
 * written into by the next call) when the prefix cannot be QEMU's: a
 * length of 0 or over QFRAME_MAX, a vnet length over QFRAME_VNET_MAX, or
 * less than an Ethernet header left for the frame. It is judged as soon
 * as the prefix is in, before the frame: garbage is found at once.
 */
int qframe_next(const struct qframe_ring *r, bool vnet, struct qframe *f,
		const char **why);

/* Done with f, and with everything before it. */
static inline void qframe_take(struct qframe_ring *r, const struct qframe *f)
{
	r->head = f->start + f->len;
}

/* len bytes of the ring from off (absolute) as 1 or 2 iovecs; returns how many. */
int qframe_ring_iov(const struct qframe_ring *r, uint64_t off, uint32_t len,
		    struct iovec *iov);

/*
 * The prefix of a frame of len bytes (vnet header included), vnet_len of
 * them its vnet header, into p: returns its size, 4, or 8 with vnet.
 */
uint32_t qframe_prefix(uint8_t p[QFRAME_PREFIX_MAX], uint32_t len,
		       uint32_t vnet_len, bool vnet);

#endif /* COLO_QFRAME_H */
