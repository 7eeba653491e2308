/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * One end of a frame channel as a stream socket: its address
 * ([listen:]unix:PATH or [listen:]tcp:ADDR:PORT, as a flag's value), and
 * the socket's life without ever blocking the caller's loop: listening and
 * taking one peer at a time, or connecting, and connecting again a while
 * after the peer is lost or refuses, as QEMU's reconnect= does.
 */
#ifndef COLO_ENDPOINT_H
#define COLO_ENDPOINT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct endpoint {
	const char *flag; /* "--in": every message names it */
	const char *spec; /* the flag's value */
	bool listen;
	const char *path; /* of a unix socket; NULL for TCP */
	struct sockaddr_storage sa;
	socklen_t salen;
	int lfd; /* listening socket, -1 */
	int fd; /* the peer's, -1: none */
	bool connecting; /* a connect() in flight on fd */
	uint64_t retry_ns; /* a client's next attempt, CLOCK_MONOTONIC */
	uint32_t retry_ms;
	uint64_t failures; /* attempts in a row that failed: bounds the log */
};

/*
 * Parse spec, the value of flag; a client tries again retry_ms after a
 * failure. 0, or -EINVAL with a message that names flag and the forms.
 */
int endpoint_parse(struct endpoint *e, const char *flag, const char *spec,
		   uint32_t retry_ms);

/* A listener listens (0 or a negative errno, said); a client has nothing to do. */
int endpoint_start(struct endpoint *e);

/*
 * A client with no peer and its retry due: start a non-blocking
 * connect(). Returns true when one is in flight on e->fd (wait until it
 * is writable, then endpoint_connect_done()).
 */
bool endpoint_connect(struct endpoint *e, uint64_t now);

/* The connect() in flight ended: 0 connected, or a negative errno (said, retry set). */
int endpoint_connect_done(struct endpoint *e, uint64_t now);

/*
 * Take a peer from the listener: 1 when it is e->fd now, 0 when none is
 * waiting, -EBUSY when one is connected already (the new one is closed,
 * said: QEMU's socket chardev has one peer too), or another negative errno.
 */
int endpoint_accept(struct endpoint *e);

/* Close the peer; a client tries again after retry_ms. */
void endpoint_drop(struct endpoint *e, uint64_t now);

/* Close everything; a unix listener's file is removed. */
void endpoint_close(struct endpoint *e);

#endif /* COLO_ENDPOINT_H */
