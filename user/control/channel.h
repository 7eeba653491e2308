/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The socket plumbing the control socket (ctl_server.h), the Xen notify
 * server (xen_proto.h) and the QEMU monitor client (qmp.h) share, so that
 * they treat their peers alike from the loader's poll() loop and none can
 * block it: a bounded output buffer for a non-blocking stream socket, a
 * socket's epoll interest, the unix listener (mode 0600) the servers
 * serve on, and the TCP address and listener of a --notify or --metrics
 * value.
 */
#ifndef COLO_CHANNEL_H
#define COLO_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
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

struct addrinfo;

/*
 * The ADDR:PORT at hp, part of the value spec of flag (--notify): ADDR
 * numeric (an IPv6 one in brackets), empty for any address when passive
 * (to listen on). form says how spec should look, for the error, which
 * names flag and spec. Returns 0 with *ai for freeaddrinfo(), or -EINVAL.
 */
int ctl_resolve_tcp(const char *flag, const char *spec, const char *hp,
		    bool passive, const char *form, struct addrinfo **ai);

/*
 * Listen on TCP at the ADDR:PORT at hp (as ctl_resolve_tcp() takes it),
 * non-blocking; the address bound into addr as "tcp:ADDR:PORT". Errors
 * name flag and spec; a port taken says so. The fd, or a negative errno.
 */
int ctl_listen_tcp(const char *flag, const char *spec, const char *hp,
		   const char *form, char *addr, size_t addr_len);

#endif /* COLO_CHANNEL_H */
