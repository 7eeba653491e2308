// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * What colo-xdp run does for the COLO controller: checkpoint requests out
 * to every channel, checkpoint-done, failover and resume in, the status
 * and counters it asks for, and the checkpoint a loader gap needs.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>

#include "cli.h"
#include "log.h"
#include "run.h"

/* To every channel the controller listens on; none of them blocks. */
void run_request_checkpoint(struct run_ctx *rc, enum colo_ckpt_reason reason)
{
	rc->ckpt_pending = true;
	rc->ckpt_reason = reason;
	rc->own.ckpt_logged++;
	printf("checkpoint request: %s\n", colo_ckpt_reason_name(reason));
	fflush(stdout);
	if (rc->xen)
		xen_server_request_checkpoint(rc->xen);
	if (rc->qmp)
		qmp_client_request_checkpoint(rc->qmp, cli_now_ns());
	if (rc->ctl)
		ctl_server_event_checkpoint(rc->ctl, reason);
	if (rc->hook)
		ctl_hook_request(rc->hook, reason);
}

/* The main thread's engine asks itself, the others through it. */
void run_on_checkpoint(void *ctx, enum colo_ckpt_reason reason)
{
	struct run_worker *w = ctx;

	if (!w->id) {
		run_request_checkpoint(w->rc, reason);
		return;
	}
	__atomic_fetch_or(&w->ckpt_reasons, 1u << reason, __ATOMIC_RELEASE);
	xsk_dp_wk_wake(w->rc->w[0].dp);
}

/*
 * A frame's bytes in one piece for --mismatch-dump: a copy, but only of
 * a mismatch's two frames, and a frame in one chunk is not copied.
 */
static const void *frame_bytes(struct run_ctx *rc, uint64_t handle,
			       uint8_t *buf, uint32_t *len)
{
	struct iovec iov[XSK_DP_MAX_SEGS];
	unsigned int n, i;

	n = xsk_dp_frame_iov(rc->dp, handle, iov, XSK_DP_MAX_SEGS);
	*len = iov[0].iov_len;
	if (n == 1)
		return iov[0].iov_base;
	for (i = 0, *len = 0; i < n && *len + iov[i].iov_len <= RUN_FRAME_MAX;
	     i++) {
		memcpy(buf + *len, iov[i].iov_base, iov[i].iov_len);
		*len += iov[i].iov_len;
	}
	return buf;
}

/*
 * The frames of a mismatch stay held until a checkpoint, which parks the
 * workers and reports their mismatches first: the dump can read them.
 */
static void report_mismatch(struct run_ctx *rc, unsigned int worker,
			    const struct colo_mismatch *m)
{
	static uint8_t pbuf[RUN_FRAME_MAX], sbuf[RUN_FRAME_MAX];
	const struct colo_flow_key *k = m->key;
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	bool v6 = k->ipver == 6;
	const void *pf, *sf;
	uint32_t pl, sl;

	if (rc->ctl)
		ctl_server_event_mismatch(rc->ctl, m);
	if (rc->dump) {
		/* both frames stay queued: the mismatch holds them */
		pf = frame_bytes(rc, m->primary_handle, pbuf, &pl);
		sf = frame_bytes(rc, m->secondary_handle, sbuf, &sl);
		mismatch_dump_pair(rc->dump, pf, pl, sf, sl);
	}
	if (!rc->verbose)
		return;
	inet_ntop(v6 ? AF_INET6 : AF_INET, k->saddr, src, sizeof(src));
	inet_ntop(v6 ? AF_INET6 : AF_INET, k->daddr, dst, sizeof(dst));
	printf("mismatch: proto %u %s%s%s:%u > %s%s%s:%u vlan %u at byte %u (seq %u)",
	       k->proto, v6 ? "[" : "", src, v6 ? "]" : "", k->sport,
	       v6 ? "[" : "", dst, v6 ? "]" : "", k->dport, k->vlan & 0xfff,
	       m->offset, m->seq);
	if (rc->nr_w > 1)
		printf(" in worker %u", worker);
	printf("\n");
}

void run_on_mismatch(void *ctx, const struct colo_mismatch *m)
{
	struct run_worker *w = ctx;
	struct run_mismatch *e;
	uint32_t tail = w->ev_tail;

	if (!w->id) {
		report_mismatch(w->rc, 0, m);
		return;
	}
	if (tail - __atomic_load_n(&w->ev_head, __ATOMIC_ACQUIRE) ==
	    RUN_EVENTS) {
		__atomic_fetch_add(&w->ev_lost, 1, __ATOMIC_RELAXED);
		return;
	}
	e = &w->ev[tail % RUN_EVENTS];
	e->key = *m->key;
	e->m = *m;
	e->m.key = &e->key;
	__atomic_store_n(&w->ev_tail, tail + 1, __ATOMIC_RELEASE);
	/* its checkpoint request, which follows, wakes the main thread */
}

void run_worker_events(struct run_ctx *rc)
{
	struct run_worker *w;
	uint32_t reasons, head, tail;
	unsigned int k;
	uint64_t lost;
	int r;

	for (k = 1; k < rc->nr_w; k++) {
		w = &rc->w[k];
		head = w->ev_head;
		tail = __atomic_load_n(&w->ev_tail, __ATOMIC_ACQUIRE);
		for (; head != tail; head++)
			report_mismatch(rc, k, &w->ev[head % RUN_EVENTS].m);
		__atomic_store_n(&w->ev_head, head, __ATOMIC_RELEASE);
		lost = __atomic_exchange_n(&w->ev_lost, 0, __ATOMIC_RELAXED);
		if (lost)
			printf("worker %u: %llu mismatches not reported, more than %d at once (their checkpoints were asked for all the same)\n",
			       k, (unsigned long long)lost, RUN_EVENTS);
		reasons = __atomic_exchange_n(&w->ckpt_reasons, 0,
					      __ATOMIC_ACQUIRE);
		for (r = 0; reasons; r++, reasons >>= 1)
			if (reasons & 1)
				run_request_checkpoint(rc, r);
	}
}

void run_engine_stats(struct run_ctx *rc, struct colo_engine_stats *out)
{
	const __u64 *v;
	__u64 *sum = (__u64 *)out;
	unsigned int k, i;

	*out = *colo_engine_stats(rc->w[0].engine);
	for (k = 1; k < rc->nr_w; k++) {
		v = (const __u64 *)colo_engine_stats(rc->w[k].engine);
		for (i = 0; i < sizeof(*out) / sizeof(__u64); i++)
			sum[i] += v[i];
	}
	/* each checkpoint is done by every engine: one, not one each */
	out->checkpoints = colo_engine_stats(rc->w[0].engine)->checkpoints;
}

static void dp_stats(struct run_ctx *rc, struct colo_dp_stats *out)
{
	struct pair_notify_stats pn = {};
	struct qmp_stats q = {};

	struct colo_dp_stats st;
	__u64 *sum = (__u64 *)out;
	const __u64 *v = (const __u64 *)&st;
	unsigned int k, i;

	xsk_dp_stats(rc->w[0].dp, out);
	out->rx_waiting[COLO_PRIMARY] = rc->w[0].wait[COLO_PRIMARY].len;
	out->rx_waiting[COLO_SECONDARY] = rc->w[0].wait[COLO_SECONDARY].len;
	for (k = 1; k < rc->nr_w; k++) {
		xsk_dp_stats(rc->w[k].dp, &st);
		st.rx_waiting[COLO_PRIMARY] = rc->w[k].wait[COLO_PRIMARY].len;
		st.rx_waiting[COLO_SECONDARY] =
			rc->w[k].wait[COLO_SECONDARY].len;
		for (i = 0; i < sizeof(st) / sizeof(__u64); i++)
			sum[i] += v[i];
	}
	out->ckpt_logged = rc->own.ckpt_logged;
	out->failovers = rc->own.failovers;
	out->resumes = rc->own.resumes;
	out->switch_ns = rc->own.switch_ns;
	out->loader_gaps = rc->own.loader_gaps;
	out->mismatch_dumped = rc->dump ? mismatch_dump_pairs(rc->dump) : 0;
	out->degraded_seen_passed = rc->degraded_seen.degraded_passed;
	out->degraded_seen_dropped = rc->degraded_seen.degraded_dropped;
	if (rc->qmp)
		qmp_client_stats(rc->qmp, &q);
	out->qmp_connects = q.connects;
	out->qmp_reconnects = q.reconnects;
	out->qmp_requests = q.requests;
	out->qmp_requests_lost = q.requests_lost;
	out->qmp_requests_coalesced = q.requests_coalesced;
	out->qmp_checkpoints = q.checkpoints;
	out->qmp_errors = q.errors;
	out->qmp_checkpoint_ns = q.checkpoint_ns;
	if (rc->pair)
		pair_notify_stats(rc->pair, &pn);
	out->pair_checkpoints = pn.checkpoints;
	out->pair_send_failed = pn.send_failed;
}

void run_publish(struct run_ctx *rc)
{
	struct colo_loader_stats st;

	run_park(rc);
	run_engine_stats(rc, &st.engine);
	dp_stats(rc, &st.dp);
	run_unpark(rc);
	colo_steer_publish(rc->steer, &st);
	mismatch_dump_flush(rc->dump);
}

/* What colo_steer did uncompared while the loader was lost. */
void run_degraded_frames(struct run_ctx *rc, struct colo_steer_stats *out)
{
	struct colo_steer_stats st;
	int r;

	memset(out, 0, sizeof(*out));
	for (r = COLO_ROLE_PRIMARY; r <= COLO_ROLE_SECONDARY; r++)
		if (!colo_steer_read_stats(rc->steer, r, &st)) {
			out->degraded_passed += st.degraded_passed;
			out->degraded_dropped += st.degraded_dropped;
		}
}

/*
 * The heartbeat went stale (this process took over a dead one's program,
 * or was stopped): colo_steer let frames through uncompared, so what the
 * replicas sent no longer lines up with what is queued. Only a checkpoint
 * brings them back in step; ask for it until one happens. A stall that
 * no frame crossed changed nothing and asks nothing.
 */
void run_loader_gap(struct run_ctx *rc, const char *what, bool always,
		    uint64_t now)
{
	struct colo_steer_stats now_st, *was = &rc->degraded_seen;
	uint64_t passed, dropped;
	char why[160];

	/* in failover colo_steer passes every frame itself: nothing missed */
	if (colo_engine_in_failover(rc->w[0].engine))
		return;

	run_degraded_frames(rc, &now_st);
	passed = now_st.degraded_passed - was->degraded_passed;
	dropped = now_st.degraded_dropped - was->degraded_dropped;
	*was = now_st;
	if (!passed && !dropped && !always)
		return;
	rc->own.loader_gaps++;
	snprintf(
		why, sizeof(why),
		"%s: %llu primary frames passed uncompared, %llu frames dropped",
		what, (unsigned long long)passed, (unsigned long long)dropped);
	printf("degraded: %s\n", why);
	if (rc->ctl)
		ctl_server_event_degraded(rc->ctl, why);
	rc->gap_pending = true;
	rc->gap_repeat_at = now + rc->scan_cycle_ns;
	run_request_checkpoint(rc, RUN_CKPT_LOADER_GAP);
}

static void checkpoint_done(struct run_ctx *rc)
{
	unsigned int k;

	/*
	 * The agent first: its frame goes out of S ahead of the client
	 * frames mirrored from now on, and the released primary frames
	 * cannot bring an answer from the clients before it.
	 */
	if (rc->pair)
		pair_notify_checkpoint(rc->pair);
	/* every worker's held frames, all parked: one checkpoint for all */
	run_park(rc);
	for (k = 0; k < rc->nr_w; k++) {
		colo_engine_checkpoint_done(rc->w[k].engine);
		run_room_changed(&rc->w[k]);
	}
	rc->ckpt_pending = false;
	rc->gap_pending = false;
	/* whoever looks right after the command sees what it did */
	for (k = 0; k < rc->nr_w; k++)
		xsk_dp_service(rc->w[k].dp);
	run_publish(rc);
	run_unpark(rc);
}

/* Xen's COLO_CHECKPOINT, or QEMU resuming the VM after a checkpoint. */
static void notify_checkpoint_done(void *ctx)
{
	checkpoint_done(ctx);
}

static int ctl_checkpoint_done(void *ctx)
{
	checkpoint_done(ctx);
	return 0;
}

static void switched(struct run_ctx *rc, const char *what, uint64_t t0)
{
	rc->own.switch_ns = cli_now_ns() - t0;
	run_publish(rc);
	printf("%s: colo_steer switched in %llu us\n", what,
	       (unsigned long long)rc->own.switch_ns / 1000);
	fflush(stdout);
}

/*
 * Flush, then let the kernel send primary frames to the outdev itself.
 * The time from the command to the switch is what the controller waits.
 */
static int ctl_failover(void *ctx)
{
	uint64_t t0 = cli_now_ns();
	struct run_ctx *rc = ctx;
	unsigned int k, n;
	int err;

	if (colo_engine_in_failover(rc->w[0].engine))
		return -EALREADY;
	run_park(rc);
	for (k = 0; k < rc->nr_w; k++) {
		colo_engine_failover(rc->w[k].engine);
		run_room_changed(&rc->w[k]);
	}
	err = colo_steer_set_state(rc->steer, COLO_STATE_PASSTHROUGH);
	if (err) {
		/* an interface switched before the error must not stay so */
		colo_steer_set_state(rc->steer, COLO_STATE_COMPARE);
		for (k = 0; k < rc->nr_w; k++)
			colo_engine_resume(rc->w[k].engine);
		run_unpark(rc);
		return err;
	}
	rc->own.failovers++;
	switched(rc, "failover", t0);
	/* flushed, and no secondary to check against: nothing to ask for */
	rc->ckpt_pending = false;
	rc->gap_pending = false;
	/*
	 * What reached the sockets before the switch: passed, then sent;
	 * a frame one worker hands another is taken in the next round.
	 */
	do {
		for (k = 0, n = 0; k < rc->nr_w; k++)
			n += run_take(&rc->w[k], COLO_ROLE_PRIMARY, t0) +
			     run_take(&rc->w[k], COLO_ROLE_SECONDARY, t0);
	} while (n);
	for (k = 0; k < rc->nr_w; k++)
		xsk_dp_service(rc->w[k].dp);
	run_unpark(rc);
	return 0;
}

static int ctl_resume(void *ctx)
{
	uint64_t t0 = cli_now_ns();
	struct run_ctx *rc = ctx;
	unsigned int k;
	int err;

	if (!colo_engine_in_failover(rc->w[0].engine))
		return -EALREADY;
	/* nothing reaches the sockets in passthrough: the order is free */
	err = colo_steer_set_state(rc->steer, COLO_STATE_COMPARE);
	if (err)
		return err;
	run_park(rc);
	for (k = 0; k < rc->nr_w; k++)
		colo_engine_resume(rc->w[k].engine);
	run_unpark(rc);
	rc->own.resumes++;
	switched(rc, "resume", t0);
	return 0;
}

static void ctl_stats(void *ctx, struct ctl_stats *out)
{
	struct run_ctx *rc = ctx;

	run_park(rc);
	run_engine_stats(rc, &out->loader.engine);
	dp_stats(rc, &out->loader.dp);
	run_unpark(rc);
	if (rc->xen)
		xen_server_stats(rc->xen, &out->xen);
	if (rc->hook)
		ctl_hook_stats(rc->hook, &out->hook);
}

static void ctl_status(void *ctx, struct ctl_status *out)
{
	struct run_ctx *rc = ctx;

	out->failover = colo_engine_in_failover(rc->w[0].engine);
	out->checkpoint_pending = rc->ckpt_pending;
	out->checkpoint_reason = rc->ckpt_reason;
	out->xen_connected = rc->xen && xen_server_connected(rc->xen);
	out->qmp_connected = rc->qmp && qmp_client_connected(rc->qmp);
	out->switch_ns = rc->own.switch_ns;
}

const struct xen_server_ops run_xen_ops = {
	.checkpoint_done = notify_checkpoint_done,
};

/* QEMU's primary left COLO: run alone, as ctl failover does. */
static void qmp_failover(void *ctx)
{
	int err = ctl_failover(ctx);

	if (err && err != -EALREADY)
		log_err("failover after QEMU left COLO failed: %s: colo-xdp ctl failover retries it",
			strerror(-err));
}

const struct qmp_client_ops run_qmp_ops = {
	.checkpoint_done = notify_checkpoint_done,
	.failover = qmp_failover,
};

const struct ctl_server_ops run_ctl_ops = {
	.checkpoint_done = ctl_checkpoint_done,
	.failover = ctl_failover,
	.resume = ctl_resume,
	.stats = ctl_stats,
	.status = ctl_status,
	.passthrough_add = run_pass_add,
	.passthrough_del = run_pass_del,
	.passthrough_list = run_pass_list,
};
