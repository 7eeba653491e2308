/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The socket plumbing the control socket (ctl_server.h) and the Xen notify
 * server (xen_proto.h) share, so that both treat their peers alike from
 * the loader's poll() loop and neither can block it: a bounded output
 * buffer for a non-blocking stream socket, a socket's epoll interest, and
 * the unix listener (mode 0600) both may serve on.
 */
#ifndef COLO_CHANNEL_H
#define COLO_CHANNEL_H

#include <stdbool.h>
#include <stdint.h>

/* Bytes queued for a non-blocking stream socket, at most cap. */
struct ctl_out {
	char *buf;
	uint32_t cap;
	uint32_t head; /* first unsent byte */
	uint32_t len; /* unsent bytes */
};

/* Queue all n bytes, or nothing when they do not fit: returns false. */
bool ctl_out_put(struct ctl_out *o, const void *data, uint32_t n);
/*
 * Send what is queued without blocking: 0 when all went out, 1 when the
 * socket is full and bytes remain, or a negative errno (peer gone).
 */
int ctl_out_send(struct ctl_out *o, int fd);

/*
 * Register, change or drop (want 0) fd's interest in epoll set ep, with
 * tag as its event data; *cur holds what is registered now.
 */
int ctl_epoll_set(int ep, int fd, uint32_t tag, uint32_t *cur, uint32_t want);

/*
 * Listen on a unix stream socket at path, mode 0600 from the start. A
 * stale socket file (nobody accepts on it) is replaced; a live one or
 * another kind of file is an error naming path, with what names the
 * flag. Returns the listening fd, non-blocking, or a negative errno.
 */
int ctl_listen_unix(const char *path, const char *what);

#endif /* COLO_CHANNEL_H */
