/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The Xen COLO proxy protocol, as QEMU's colo-compare notify_dev speaks
 * it, served by `colo-xdp run --notify xen:tcp:ADDR:PORT` or
 * `--notify xen:unix:PATH`. colo-xdp listens, as QEMU does with a server
 * chardev, and the COLO controller (libxl) connects.
 *
 * Frames: a 4-byte big-endian length, then that many bytes of ASCII text,
 * no NUL.
 *   controller -> colo-xdp  COLO_USERSPACE_PROXY_INIT
 *   colo-xdp -> controller  COLO_COMPARE_GET_XEN_INIT (the reply)
 *   colo-xdp -> controller  DO_CHECKPOINT, per checkpoint request
 *   controller -> colo-xdp  COLO_CHECKPOINT: the checkpoint is done
 * Anything else is logged, counted and not answered; the connection stays.
 *
 * Lengths: the longest legal message is 25 bytes, so a message is at most
 * XEN_MSG_MAX bytes. A longer frame up to XEN_SKIP_MAX bytes is skipped as
 * it arrives (counted as oversized; the connection stays, framing is kept).
 * A length beyond XEN_SKIP_MAX means the peer does not speak this protocol
 * (or lost the framing): that connection is closed after a log line, and
 * the controller may reconnect. A frame cut by EOF is counted as truncated.
 *
 * One controller at a time: a new connection replaces the current one
 * (a controller that restarts may not have closed its old socket).
 *
 * Wiring into a poll() loop, as for ctl_server:
 *	pfd.fd = xen_server_fd(x); pfd.events = POLLIN;
 *	if (pfd.revents) xen_server_handle(x);
 *	once per loop iteration: xen_server_flush(x);
 */
#ifndef COLO_XEN_PROTO_H
#define COLO_XEN_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XEN_MSG_INIT "COLO_USERSPACE_PROXY_INIT"
#define XEN_MSG_INIT_REPLY "COLO_COMPARE_GET_XEN_INIT"
#define XEN_MSG_DO_CHECKPOINT "DO_CHECKPOINT"
#define XEN_MSG_CHECKPOINT "COLO_CHECKPOINT"
#define XEN_MSG_MAX 64
#define XEN_SKIP_MAX 65536

/* Reassembles frames from a byte stream cut anywhere. */
struct xen_framer {
	uint8_t hdr[4];
	uint32_t hdr_got;
	uint32_t len; /* of the frame being read */
	uint32_t got; /* of its body */
	char msg[XEN_MSG_MAX];
};

/* Called per complete frame; oversized frames have msg NULL. */
typedef void (*xen_frame_fn)(void *ctx, const char *msg, uint32_t len);

/*
 * Feed n bytes. Returns 0, or -EMSGSIZE at a length beyond XEN_SKIP_MAX
 * (the framer is then reset; the caller closes the connection).
 */
int xen_framer_feed(struct xen_framer *f, const void *data, size_t n,
		    xen_frame_fn fn, void *ctx);
/* True when a frame has begun and not ended (EOF now: truncated). */
bool xen_framer_partial(const struct xen_framer *f);

struct xen_stats {
	uint64_t connects; /* controllers accepted */
	uint64_t replaced; /* a new connection took over the current one */
	uint64_t inits; /* INIT received */
	/* INIT whose reply found no room: a controller that floods, unread */
	uint64_t inits_lost;
	uint64_t do_checkpoint; /* DO_CHECKPOINT queued to the controller */
	/* no controller, one that has not sent INIT yet, or its buffer full */
	uint64_t do_checkpoint_lost;
	uint64_t checkpoints; /* COLO_CHECKPOINT received */
	uint64_t unknown; /* other messages */
	uint64_t oversized; /* skipped or closed */
	uint64_t truncated; /* cut by EOF */
};

struct xen_server_ops {
	/* COLO_CHECKPOINT: flush. */
	void (*checkpoint_done)(void *ctx);
};

struct xen_server;

/*
 * spec is the --notify value: "xen:tcp:ADDR:PORT" (ADDR numeric, IPv6 in
 * brackets, empty for any; PORT 0 picks one) or "xen:unix:PATH" (mode
 * 0600). On error: a message on stderr naming the value and the fix.
 */
int xen_server_create(const char *spec, const struct xen_server_ops *ops,
		      void *ctx, struct xen_server **out);
void xen_server_destroy(struct xen_server *x);

int xen_server_fd(const struct xen_server *x);
/* Accept and read: bounded work per call, never blocks. */
void xen_server_handle(struct xen_server *x);
/* Send what is queued; cheap when there is nothing. */
void xen_server_flush(struct xen_server *x);

/* Queue DO_CHECKPOINT for the controller; returns at once. */
void xen_server_request_checkpoint(struct xen_server *x);

/* Where it listens, as "tcp:127.0.0.1:41234" or "unix:/path". */
const char *xen_server_address(const struct xen_server *x);
bool xen_server_connected(const struct xen_server *x);
void xen_server_stats(const struct xen_server *x, struct xen_stats *out);

#endif /* COLO_XEN_PROTO_H */
