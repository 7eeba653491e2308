/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The native control socket of `colo-xdp run --control PATH`: a unix
 * stream socket (mode 0600, peers checked with SO_PEERCRED: root only)
 * speaking JSON lines. A request is {"command":"NAME"}; every request gets
 * one reply line, {"ok":true,...} or {"ok":false,"error":"..."}, in order.
 * Commands: checkpoint-done, failover, resume, stats, status, subscribe.
 * A subscriber also receives event lines, {"event":"NAME",...,"dropped":N}
 * where N counts the events this subscriber lost so far.
 *
 * The server never blocks its caller: every socket is non-blocking, each
 * client has a bounded output buffer, an event that does not fit is
 * dropped and counted, and a client whose replies do not fit is not read
 * until it reads them. Emitting an event only formats it and copies it to
 * the subscribers' buffers; ctl_server_flush() sends.
 *
 * Wiring into a poll() loop:
 *	pfd.fd = ctl_server_fd(srv); pfd.events = POLLIN;
 *	after poll(): if (pfd.revents) ctl_server_handle(srv);
 *	once per loop iteration: ctl_server_flush(srv);
 */
#ifndef COLO_CTL_SERVER_H
#define COLO_CTL_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "colo_xdp.h"
#include "hook.h"
#include "xen_proto.h"

#define CTL_DEFAULT_PATH "/run/colo-xdp.sock"
/* Longest request line, newline included; longer ones get an error. */
#define CTL_LINE_MAX 4096
/* Longest reply or event line. */
#define CTL_REPLY_MAX 4096
/* Output buffered per client: replies and events not yet sent. */
#define CTL_OUT_MAX (64 * 1024)
#define CTL_DEFAULT_MAX_CLIENTS 128

/* What the stats provider fills; the server adds its own counters. */
struct ctl_stats {
	struct colo_loader_stats loader; /* engine and datapath */
	struct xen_stats xen; /* all zero without --notify */
	struct ctl_hook_stats hook; /* zero without --on-checkpoint-request */
};

struct ctl_status {
	bool failover;
	bool checkpoint_pending;
	enum colo_ckpt_reason checkpoint_reason; /* when pending */
	bool xen_connected; /* a controller is connected to --notify xen:... */
	bool qmp_connected; /* QEMU's monitor answers --notify qmp:... */
	uint64_t switch_ns; /* last failover or resume: command to XDP switch */
};

struct ctl_server_stats {
	uint64_t accepted;
	uint64_t refused; /* not root (SO_PEERCRED), or too many clients */
	uint64_t requests;
	uint64_t bad_requests; /* malformed, unknown command, oversized line */
	uint64_t events; /* emitted, each counted once */
	uint64_t events_dropped; /* one per subscriber that had no room */
	uint32_t clients; /* gauge */
	uint32_t subscribers; /* gauge */
};

/*
 * Commands. An action returns 0 or a negative errno, which becomes the
 * error reply; a NULL callback answers "not supported". After failover or
 * resume succeeds, the server itself sends the failover or resumed event.
 */
struct json_out;

struct ctl_server_ops {
	int (*checkpoint_done)(void *ctx);
	int (*failover)(void *ctx);
	int (*resume)(void *ctx);
	void (*stats)(void *ctx, struct ctl_stats *out);
	void (*status)(void *ctx, struct ctl_status *out);
	/*
	 * A server that is not run's (the secondary agent): its own members
	 * of the stats and status replies, in place of the loader's; the
	 * server adds its own counters and its process either way.
	 */
	void (*stats_json)(void *ctx, struct json_out *o);
	void (*status_json)(void *ctx, struct json_out *o);
};

struct ctl_server_config {
	const char *path;
	uint32_t max_clients; /* 0: CTL_DEFAULT_MAX_CLIENTS */
};

struct ctl_server;
struct colo_mismatch;

/* On error: a message on stderr naming the path and the fix. */
int ctl_server_create(const struct ctl_server_config *cfg,
		      const struct ctl_server_ops *ops, void *ctx,
		      struct ctl_server **out);
/* Closes every client and removes the socket file. */
void ctl_server_destroy(struct ctl_server *s);

int ctl_server_fd(const struct ctl_server *s);
/* Accept, read and answer: bounded work per call, never blocks. */
void ctl_server_handle(struct ctl_server *s);
/* Send queued replies and events; cheap when there is nothing to send. */
void ctl_server_flush(struct ctl_server *s);
void ctl_server_stats(const struct ctl_server *s, struct ctl_server_stats *out);

/* Events for subscribers. They return at once and never block. */
void ctl_server_event_checkpoint(struct ctl_server *s,
				 enum colo_ckpt_reason reason);
void ctl_server_event_mismatch(struct ctl_server *s,
			       const struct colo_mismatch *m);
/* A failover decided elsewhere than by the failover command. */
void ctl_server_event_failover(struct ctl_server *s, const char *reason);
void ctl_server_event_degraded(struct ctl_server *s, const char *reason);
/* A resume decided elsewhere than by the resume command. */
void ctl_server_event_resumed(struct ctl_server *s);

#endif /* COLO_CTL_SERVER_H */
