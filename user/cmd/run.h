/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * colo-xdp run's parts: its options (run_opts.c), what the COLO
 * controller's channels ask of it (run_ctl.c), its passthrough rules
 * (run_pass.c), and the setup and the loop that compares (run.c). The link
 * watch is link_watch.c's.
 */
#ifndef COLO_RUN_H
#define COLO_RUN_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "ctl_server.h"
#include "engine.h"
#include "hook.h"
#include "hostmem.h"
#include "keeper.h"
#include "link_watch.h"
#include "metrics.h"
#include "mirror.h"
#include "mismatch_dump.h"
#include "pair_notify.h"
#include "qmp.h"
#include "steer.h"
#include "xen_proto.h"
#include "xsk_dp.h"

#define RUN_CMD "run"
#define RUN_MAX_WORKERS XSK_DP_MAX_WORKERS

/*
 * A loader gap (restart, stall) is no reason the engine knows: frames went
 * out uncompared because the comparison waited on nobody past the
 * watchdog, which is what a timeout says to a controller.
 */
#define RUN_CKPT_LOADER_GAP COLO_CKPT_TIMEOUT

/* The longest frame a jumbo MTU gives: an IP packet, Ethernet and a tag. */
#define RUN_FRAME_MAX (65535 + 14 + 4)

struct run_opts {
	struct colo_steer_opts steer;
	bool queues_set; /* --queues given */
	uint32_t queue; /* --queue N: --queues N */
	bool queue_set;
	bool mirror; /* --mirror on|off */
	__u64 vm_mac; /* --vm-mac; 0: the one colo_steer learns */
	bool pair_notify; /* --pair-notify on|off */
	uint64_t pair_token; /* --pair-token */
	struct colo_engine_config engine;
	uint32_t umem_frames;
	bool umem_frames_set;
	uint32_t frame_size;
	struct hostmem_opts mem;
	uint32_t cpu; /* worker 0's */
	bool pin_cpu;
	struct run_cpus {
		uint32_t cpu[RUN_MAX_WORKERS]; /* --cpu LIST, by worker */
		uint32_t n;
	} cpus;
	bool busy_poll;
	unsigned int zero_copy; /* enum xsk_dp_zc */
	uint32_t stats_interval_s;
	bool verbose;
	const char *notify; /* --notify xen:... or qmp:... */
	struct ctl_server_config control; /* path NULL: no --control */
	const char *hook_cmd; /* --on-checkpoint-request */
	const char *dump_path; /* --mismatch-dump */
	const char *metrics; /* --metrics ADDR:PORT */
};

/* A mismatch a worker's engine found, for the main thread to report. */
struct run_mismatch {
	struct colo_flow_key key;
	struct colo_mismatch m; /* its key: the one above */
};

/* Mismatches a worker reports between two turns of the main thread's. */
#define RUN_EVENTS 64

/*
 * A thread that compares: its engine, the flows whose hash is its, its
 * share of the datapath. Worker 0 is the main thread, which also runs the
 * control plane; the others are started with --workers.
 */
struct run_worker {
	struct run_ctx *rc;
	unsigned int id;
	int cpu; /* -1: wherever the scheduler puts it */
	struct colo_engine *engine;
	struct xsk_dp_wk *dp;
	/*
	 * By side: frames taken off a ring that the engine refused, in
	 * order, offered again first once it answered a frame (retry).
	 */
	struct run_wait {
		struct xsk_dp_frame *f;
		unsigned int head, len, cap;
	} wait[2];
	bool retry[2];
	pthread_t thread;
	bool started;
	/*
	 * What a worker's engine asks of the controller, for the main
	 * thread, which alone talks to it: checkpoint requests (a bit per
	 * enum colo_ckpt_reason), mismatches (a ring, this worker its
	 * producer; one that finds it full is only counted).
	 */
	uint32_t ckpt_reasons;
	struct run_mismatch ev[RUN_EVENTS];
	uint32_t ev_head, ev_tail;
	uint64_t ev_lost;
};

struct run_ctx {
	const struct run_opts *opts;
	struct xsk_dp *dp;
	struct keeper keeper;
	struct colo_steer *steer;
	struct colo_mirror *mirror;
	struct xen_server *xen;
	struct qmp_client *qmp;
	struct ctl_server *ctl;
	struct ctl_hook *hook;
	struct mismatch_dump *dump;
	struct metrics_server *metrics;
	struct pair_notify *pair; /* the secondary agent, out of S */
	const char *const *ifname; /* by role, as the flags gave them */
	bool verbose;
	uint64_t scan_cycle_ns;
	/* a request sent and not answered by a checkpoint yet */
	bool ckpt_pending;
	enum colo_ckpt_reason ckpt_reason;
	/* our own request after a loader gap: repeated as the engine does */
	bool gap_pending;
	uint64_t gap_repeat_at;
	/* colo_steer's degraded counters as last read */
	struct colo_steer_stats degraded_seen;
	/* run's own counters, merged into the datapath's when published */
	struct colo_dp_stats own;
	/* an interface deleted under us stops the run */
	struct link_watch links;
	struct run_worker w[RUN_MAX_WORKERS];
	unsigned int nr_w;
	/*
	 * The control plane touches every worker's engine and datapath
	 * share (a checkpoint, failover, counters) with the others parked
	 * between two batches: a rendezvous for the controller's commands,
	 * no lock on the frame path.
	 */
	pthread_mutex_t park_lock;
	pthread_cond_t park_cond;
	int park; /* set: park at the next turn */
	unsigned int parked; /* workers parked now */
	unsigned int park_depth; /* the main thread's nested parks */
	int quit; /* set: the threads return */
};

/* Returns -1 to go on, or the exit status (0 after --help). */
int run_opts_parse(int argc, char **argv, struct run_opts *o);

/*
 * Move frames from a role's RX rings into a worker's engine, those that
 * waited first, and those other workers handed it; hand those of others'
 * flows to them. Returns how many it took.
 */
unsigned int run_take(struct run_worker *w, enum colo_role role, uint64_t now);

/* The engine may have room again (a checkpoint, a failover). */
void run_room_changed(struct run_worker *w);

/*
 * From the main thread: park the other workers, for what touches their
 * engines or datapath shares, until run_unpark(). Nests.
 */
void run_park(struct run_ctx *rc);
void run_unpark(struct run_ctx *rc);
/* The main thread reports what the other workers' engines asked. */
void run_worker_events(struct run_ctx *rc);
/* Every engine's counters summed (parked, or one worker). */
void run_engine_stats(struct run_ctx *rc, struct colo_engine_stats *out);

/* Counters out to the pinned map 'colo-xdp stat' reads. */
void run_publish(struct run_ctx *rc);

/* The engine's callbacks for the controller, and the controller's. */
void run_on_checkpoint(void *ctx, enum colo_ckpt_reason reason);
void run_on_mismatch(void *ctx, const struct colo_mismatch *m);
extern const struct xen_server_ops run_xen_ops;
extern const struct qmp_client_ops run_qmp_ops;
extern const struct ctl_server_ops run_ctl_ops;

/* Ask every channel the controller listens on for a checkpoint. */
void run_request_checkpoint(struct run_ctx *rc, enum colo_ckpt_reason reason);

/*
 * Compare what was read before a loader gap against what colo_steer let
 * through since (see run_ctl.c); asks for a checkpoint if anything did.
 */
void run_degraded_frames(struct run_ctx *rc, struct colo_steer_stats *out);
void run_loader_gap(struct run_ctx *rc, const char *what, bool always,
		    uint64_t now);

/*
 * The engine stops comparing the flows of colo_steer's passthrough rules,
 * and answers what it holds of them: after the rules changed, and before
 * the first frame at the start.
 */
void run_pass_follow(struct run_ctx *rc);
/* One line per passthrough rule, at the start. */
void run_pass_print(struct run_ctx *rc);
/* The control socket's passthrough-add, passthrough-del, passthrough-list. */
int run_pass_add(void *ctx, const char *spec, char *err, size_t errlen);
int run_pass_del(void *ctx, const char *spec, char *err, size_t errlen);
int run_pass_list(void *ctx, struct ctl_pass_rule *out, char *err,
		  size_t errlen);

#endif /* COLO_RUN_H */
