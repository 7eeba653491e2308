/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A client of QEMU's QMP monitor, for `colo-xdp run --notify
 * qmp:unix:PATH` or `qmp:tcp:ADDR:PORT`: the COLO primary's QEMU listens
 * (-qmp unix:PATH,server=on,wait=off) and colo-xdp connects, so that a KVM
 * primary needs no controller in between.
 *
 * QEMU has no command documented as "checkpoint now" and no event that
 * says a checkpoint is done; what works (QEMU 7.2, see the README):
 *   request  migrate-set-parameters {"x-checkpoint-delay": V}: while COLO
 *            runs, QEMU checkpoints at once whatever V is. V is the value
 *            query-migrate-parameters just gave, so the operator's period
 *            never changes.
 *   done     the checkpoint stops the VM (STOP), syncs its dirty memory
 *            (MIGRATION_PASS, with the `events` migration capability,
 *            which colo-xdp turns on) and starts it again (RESUME) once the
 *            secondary has loaded the state. A RESUME that follows a STOP
 *            and a MIGRATION_PASS while the migration status is "colo" is
 *            a completed checkpoint; a stop and cont without a
 *            MIGRATION_PASS is not one.
 * Every completed checkpoint releases the held frames, whoever asked for
 * it (QEMU's periodic one too), as colo-compare's in-process notifier does.
 *
 * Never blocks: a non-blocking socket, commands pipelined with an id each,
 * replies matched in order. A peer that sends what is not QMP, an error
 * reply, or no reply within QMP_REPLY_TIMEOUT_MS is logged and counted,
 * and the connection is closed and made again; so is a lost one. Retries
 * start after QMP_RETRY_MIN_MS and double up to QMP_RETRY_MAX_MS.
 *
 * Wiring into a poll() loop:
 *	pfd.fd = qmp_client_fd(q); pfd.events = POLLIN;
 *	if (pfd.revents) qmp_client_handle(q, now);
 *	once per loop iteration: qmp_client_tick(q, now);
 */
#ifndef COLO_QMP_H
#define COLO_QMP_H

#include <stdbool.h>
#include <stdint.h>

#define QMP_RETRY_MIN_MS 100
#define QMP_RETRY_MAX_MS 1000
#define QMP_REPLY_TIMEOUT_MS 5000
/* A VM stopped this long for a checkpoint is logged as stuck, once. */
#define QMP_STUCK_MS 5000
/* Longest line taken from the monitor; a longer one is not QMP. */
#define QMP_LINE_MAX (64 * 1024)

struct qmp_stats {
	uint64_t connects; /* sessions set up: greeting, capabilities, events */
	uint64_t reconnects; /* of those, after a session was lost */
	uint64_t requests; /* checkpoint requests QEMU accepted */
	/* no session, or QEMU not in COLO: the engine repeats the request */
	uint64_t requests_lost;
	/* one on its way or taken, until its checkpoint completes */
	uint64_t requests_coalesced;
	uint64_t checkpoints; /* checkpoints QEMU completed */
	uint64_t errors; /* not QMP, an error reply, a timeout: closed */
	/* gauge: from the last request to the checkpoint that answered it */
	uint64_t checkpoint_ns;
};

struct qmp_client_ops {
	/* A checkpoint completed: release what is held. */
	void (*checkpoint_done)(void *ctx);
	/*
	 * QEMU left COLO as the primary (x-colo-lost-heartbeat, or the
	 * secondary lost): the primary runs alone, nothing is compared.
	 */
	void (*failover)(void *ctx);
};

struct qmp_client;

/*
 * spec: "qmp:unix:PATH" or "qmp:tcp:ADDR:PORT" (ADDR numeric, IPv6 in
 * brackets). Connects on the first tick; a QEMU that is not there yet is
 * retried. On error: a message naming spec and the fix.
 */
int qmp_client_create(const char *spec, const struct qmp_client_ops *ops,
		      void *ctx, struct qmp_client **out);
void qmp_client_destroy(struct qmp_client *q);

int qmp_client_fd(const struct qmp_client *q);
/* Read and answer the monitor: bounded work per call, never blocks. */
void qmp_client_handle(struct qmp_client *q, uint64_t now);
/* Connect, send what is queued, time out; cheap when nothing is due. */
void qmp_client_tick(struct qmp_client *q, uint64_t now);

/* Ask QEMU for a checkpoint; returns at once. */
void qmp_client_request_checkpoint(struct qmp_client *q, uint64_t now);

/* "unix:/path" or "tcp:ADDR:PORT", as given. */
const char *qmp_client_address(const struct qmp_client *q);
bool qmp_client_connected(const struct qmp_client *q);
void qmp_client_stats(const struct qmp_client *q, struct qmp_stats *out);

#endif /* COLO_QMP_H */
