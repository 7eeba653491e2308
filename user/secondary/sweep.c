// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "log.h"
#include "sweep.h"

/* Entries read per batch syscall. */
#define SWEEP_BATCH 1024

struct sweep {
	int fd;
	struct sweep_timeouts t;
	struct colo_rw_key keys[SWEEP_BATCH];
	struct colo_rw_conn vals[SWEEP_BATCH];
};

enum sweep_why {
	SWEEP_KEEP,
	SWEEP_IDLE,
	SWEEP_HANDSHAKE,
	SWEEP_CLOSED,
	SWEEP_STALE,
};

static enum sweep_why expired(const struct sweep *sw,
			      const struct colo_rw_conn *c, uint32_t epoch,
			      uint64_t now)
{
	uint64_t age_ms = now > c->last_ns ? (now - c->last_ns) / 1000000 : 0;

	if (c->epoch != epoch)
		return SWEEP_STALE;
	switch (c->state) {
	case COLO_RW_SYN_SENT:
	case COLO_RW_SYN_RCVD:
		return age_ms > sw->t.syn_ms ? SWEEP_HANDSHAKE : SWEEP_KEEP;
	case COLO_RW_CLOSED:
		return age_ms > sw->t.close_ms ? SWEEP_CLOSED : SWEEP_KEEP;
	default:
		return age_ms > sw->t.idle_ms ? SWEEP_IDLE : SWEEP_KEEP;
	}
}

int sweep_create(int conns_fd, const struct sweep_timeouts *t,
		 struct sweep **out)
{
	struct sweep *sw = calloc(1, sizeof(*sw));

	if (!sw) {
		log_err("no memory for the sweep of map %s", COLO_RW_MAP_CONNS);
		return -ENOMEM;
	}
	sw->fd = conns_fd;
	sw->t = *t;
	*out = sw;
	return 0;
}

/*
 * Delete key if it is still expired: a frame may have come between the
 * batch read and now, and an entry it refreshed must stay.
 */
static enum sweep_why delete_expired(struct sweep *sw,
				     const struct colo_rw_key *key,
				     uint32_t epoch, uint64_t now)
{
	struct colo_rw_conn c;
	enum sweep_why why;

	if (bpf_map_lookup_elem(sw->fd, key, &c))
		return SWEEP_KEEP; /* gone already */
	why = expired(sw, &c, epoch, now);
	if (why != SWEEP_KEEP && bpf_map_delete_elem(sw->fd, key))
		why = SWEEP_KEEP;
	return why;
}

int sweep_run(struct sweep *sw, uint32_t epoch, uint64_t now_ns,
	      struct colo_rw_sweep_stats *st)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u64 *count_of[] = {
		[SWEEP_IDLE] = &st->expired_idle,
		[SWEEP_HANDSHAKE] = &st->expired_handshake,
		[SWEEP_CLOSED] = &st->expired_closed,
		[SWEEP_STALE] = &st->expired_stale,
	};
	__u32 in, out, n, i;
	uint64_t left = 0;
	enum sweep_why why;
	bool first = true;
	int err;

	do {
		n = SWEEP_BATCH;
		err = bpf_map_lookup_batch(sw->fd, first ? NULL : &in, &out,
					   sw->keys, sw->vals, &n, &opts);
		if (err && err != -ENOENT) {
			log_err("sweep: cannot read map %s: %s",
				COLO_RW_MAP_CONNS, strerror(-err));
			return err;
		}
		first = false;
		in = out;
		for (i = 0; i < n; i++) {
			why = expired(sw, &sw->vals[i], epoch, now_ns);
			if (why != SWEEP_KEEP)
				why = delete_expired(sw, &sw->keys[i], epoch,
						     now_ns);
			if (why == SWEEP_KEEP)
				left++;
			else
				(*count_of[why])++;
		}
	} while (!err);
	st->sweeps++;
	st->conns = left;
	return 0;
}

void sweep_destroy(struct sweep *sw)
{
	free(sw);
}
