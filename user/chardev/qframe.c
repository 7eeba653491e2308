// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/if_ether.h>

#include "qframe.h"

int qframe_ring_init(struct qframe_ring *r, uint32_t cap)
{
	memset(r, 0, sizeof(*r));
	if (cap & (cap - 1) || cap < QFRAME_MAX + QFRAME_PREFIX_MAX)
		return -EINVAL;
	r->buf = malloc(cap);
	if (!r->buf)
		return -ENOMEM;
	r->cap = cap;
	return 0;
}

void qframe_ring_free(struct qframe_ring *r)
{
	free(r->buf);
	r->buf = NULL;
}

void qframe_ring_reset(struct qframe_ring *r)
{
	r->head = r->tail = 0;
}

int qframe_ring_iov(const struct qframe_ring *r, uint64_t off, uint32_t len,
		    struct iovec *iov)
{
	uint32_t at = off & (r->cap - 1), first = r->cap - at;

	if (!len)
		return 0;
	iov[0].iov_base = r->buf + at;
	if (len <= first) {
		iov[0].iov_len = len;
		return 1;
	}
	iov[0].iov_len = first;
	iov[1].iov_base = r->buf;
	iov[1].iov_len = len - first;
	return 2;
}

int qframe_ring_room(const struct qframe_ring *r, struct iovec iov[2])
{
	return qframe_ring_iov(r, r->tail, r->cap - (r->tail - r->head), iov);
}

void qframe_ring_fill(struct qframe_ring *r, uint32_t n)
{
	r->tail += n;
}

/* The big-endian 32-bit word at off: its bytes may wrap. */
static uint32_t be32_at(const struct qframe_ring *r, uint64_t off)
{
	uint32_t v = 0;
	int i;

	for (i = 0; i < 4; i++)
		v = v << 8 | r->buf[(off + i) & (r->cap - 1)];
	return v;
}

int qframe_next(const struct qframe_ring *r, bool vnet, struct qframe *f,
		const char **why)
{
	static char msg[128];
	uint64_t avail = r->tail - r->head;
	uint32_t pre = vnet ? 8 : 4;

	if (avail < pre)
		return 0;
	f->start = r->head + pre;
	f->len = be32_at(r, r->head);
	f->vnet_len = vnet ? be32_at(r, r->head + 4) : 0;
	if (!f->len || f->len > QFRAME_MAX)
		snprintf(msg, sizeof(msg),
			 "a frame length of %u bytes (QEMU sends 1 to %u)",
			 f->len, QFRAME_MAX);
	else if (f->vnet_len > QFRAME_VNET_MAX)
		snprintf(msg, sizeof(msg),
			 "a vnet header length of %u bytes (at most %u)",
			 f->vnet_len, QFRAME_VNET_MAX);
	else if (f->len < f->vnet_len + ETH_HLEN)
		snprintf(
			msg, sizeof(msg),
			"a frame of %u bytes after a vnet header of %u: shorter than an Ethernet header",
			f->len - (f->len < f->vnet_len ? 0 : f->vnet_len),
			f->vnet_len);
	else
		return avail - pre >= f->len;
	*why = msg;
	return -EBADMSG;
}

uint32_t qframe_prefix(uint8_t p[QFRAME_PREFIX_MAX], uint32_t len,
		       uint32_t vnet_len, bool vnet)
{
	uint32_t w[2] = { htobe32(len), htobe32(vnet_len) };

	memcpy(p, w, sizeof(w));
	return vnet ? 8 : 4;
}
