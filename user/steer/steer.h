/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The XDP side of `colo-xdp run`: load or adopt colo_steer.bpf.o on the
 * primary, secondary and outdev interfaces, describe their roles in the
 * program's maps, bind AF_XDP sockets into its XSKMAP, and undo all of it.
 * It knows nothing about the comparison: frames only.
 */
#ifndef COLO_STEER_H
#define COLO_STEER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "colo_xdp.h"
#include "pin_dir.h"

/* --watchdog-ms when not given (a watchdog_ms of 0 in the opts). */
#define COLO_WATCHDOG_MS_DEFAULT 100

/* How primary frames that leave uncompared reach the outdev. */
enum colo_out_path {
	COLO_OUT_AUTO = 0, /* host path for a veth outdev, else XDP */
	COLO_OUT_XDP, /* colo_devmap: XDP_REDIRECT to the outdev */
	COLO_OUT_STACK, /* marked, XDP_PASS, colo_out on P's tc ingress */
};

/* "auto", "xdp", "stack", NULL: by enum colo_out_path */
extern const char *const colo_out_path_names[];

struct colo_steer_opts {
	const char *ifname[COLO_NR_ROLES]; /* indexed by enum colo_role */
	const char *pin_path; /* NULL: COLO_PIN_ROOT/<primary ifname> */
	/*
	 * RX queues of P and S to serve, bit q for queue q; 0: every queue
	 * each has. O's socket transmits on the lowest (0 for every queue).
	 */
	uint64_t queues;
	const char *queues_flag; /* how the user gave them, for messages */
	/*
	 * O's sockets: one per worker (--workers), on its TX queues from
	 * the lowest of `queues` up; 0 is 1.
	 */
	uint32_t workers;
	enum colo_out_path out_path;
	bool skb_mode; /* XDP generic (skb) mode instead of native */
	bool attach; /* false (--attach none): adopt what `ip link` attached */
	/* loader's heartbeat age at which colo_steer fails open; 0: default */
	uint32_t watchdog_ms;
	bool loss_hold; /* loader lost: drop primary frames instead */
	/*
	 * Passthrough rules (--passthrough). A takeover keeps the dead
	 * loader's rules and adds those of these it lacks.
	 */
	struct colo_pass_set pass;
};

struct colo_steer;

/*
 * Check the interfaces, load (or adopt) and attach the program, fill its
 * role and DEVMAP entries. On error: a message on stderr that names the
 * interface or object and the fix, a negative errno, nothing left
 * attached or pinned.
 *
 * A pin directory left by an instance on the same interfaces whose process
 * is gone (SIGKILL, crash), with its program still attached, is taken
 * over: its maps, entries and counters are kept and the program stays
 * attached, so traffic keeps flowing (failing open) until this loader's
 * first heartbeat; see colo_steer_adopted_running(). Its ownership comes
 * along: this instance detaches at close what the dead one had attached.
 * A takeover that fails leaves the dead instance as it was found. A pin
 * directory whose loader is alive is refused (-EBUSY).
 */
int colo_steer_open(const struct colo_steer_opts *opts,
		    struct colo_steer **out);

/*
 * Bind the AF_XDP socket of a role's RX queue: frames to compare that
 * arrive on that queue go to it.
 */
int colo_steer_add_xsk(struct colo_steer *s, enum colo_role role, __u32 queue,
		       int xsk_fd);

/*
 * The queues a role's sockets are to bind, bit q for queue q: P's and S's
 * RX queues (opts->queues resolved against each device), O's one TX queue.
 */
uint64_t colo_steer_queues(const struct colo_steer *s, enum colo_role role);

/* Whether uncompared primary frames take the host path (colo_out.h). */
bool colo_steer_out_stack(const struct colo_steer *s);

int colo_steer_ifindex(const struct colo_steer *s, enum colo_role role);
const char *colo_steer_ifname(const struct colo_steer *s, enum colo_role role);

/*
 * The instance's slot: its entries in colo_heartbeat and in colo_vm_mac,
 * where colo_steer puts the MAC it learns from the primary's frames.
 */
__u32 colo_steer_slot(const struct colo_steer *s);

/*
 * Failover and back: in COLO_STATE_PASSTHROUGH the XDP program sends every
 * primary frame to the outdev and drops every secondary frame.
 */
int colo_steer_set_state(struct colo_steer *s, enum colo_state state);

/*
 * Replace the instance's passthrough rules with set: colo_steer decides
 * the frames of their flows from the next frame on. A rule new to the set
 * (pass_spec.h gives it its slot) starts its counters at zero; one kept
 * keeps them.
 */
int colo_steer_pass_write(struct colo_steer *s,
			  const struct colo_pass_set *set);

/* The instance's passthrough rules, as last written. */
const struct colo_pass_set *colo_steer_pass(const struct colo_steer *s);

/* The directory holding this instance's pins. */
const char *colo_steer_pin_path(const struct colo_steer *s);

/* Sum the per-CPU steering counters of one role. */
int colo_steer_read_stats(const struct colo_steer *s, enum colo_role role,
			  struct colo_steer_stats *out);

/*
 * Publish the loader's counters into the pinned, BTF-typed map that
 * `colo-xdp stat` and `bpftool map dump` read.
 */
int colo_steer_publish(struct colo_steer *s,
		       const struct colo_loader_stats *stats);

/*
 * True when colo_steer_open() took over a dead instance's running program:
 * frames passed uncompared meanwhile and the engine knows nothing of the
 * connections, so the caller requests a checkpoint before comparing.
 */
bool colo_steer_adopted_running(const struct colo_steer *s);

/*
 * A takeover this loader cannot complete: colo_steer_close() leaves the
 * dead instance as it was found (attached, pinned, failing open), for a
 * loader started right to take over.
 */
void colo_steer_give_back(struct colo_steer *s);

/*
 * The dead instance taken over had failed over: colo_steer still sends
 * primary frames to the outdev itself, and the caller's engine starts in
 * failover too, until a resume.
 */
bool colo_steer_failed_over(const struct colo_steer *s);

/* The keeper (keeper.h) of the dead loader taken over; 0: none. */
pid_t colo_steer_dead_keeper(const struct colo_steer *s);

/* On a takeover, the counters the dead loader last published; else NULL. */
const struct colo_loader_stats *
colo_steer_dead_stats(const struct colo_steer *s);

/*
 * Record this loader's keeper in the pinned colo_loader, at once: whoever
 * takes over after a crash claims the sockets from it.
 */
int colo_steer_set_keeper(struct colo_steer *s, pid_t pid);

/*
 * Fail open (or hold) now, as if the loader were lost: nothing reaches the
 * sockets until the next colo_steer_heartbeat(). A takeover does this
 * before it looks at the dead loader's rings.
 */
void colo_steer_fail_open(struct colo_steer *s);

/*
 * The loader's heartbeat, now_ns on CLOCK_MONOTONIC (bpf_ktime_get_ns()'s
 * clock): a plain store into the mmapped colo_heartbeat, no syscall, to
 * call every loop iteration once the sockets are bound. The first call arms
 * the watchdog. Returns 1 when the previous heartbeat was older than the
 * watchdog (the loader was stopped, or this is a takeover): colo_steer has
 * been failing open since, and the caller requests a checkpoint; else 0.
 */
int colo_steer_heartbeat(struct colo_steer *s, uint64_t now_ns);

/*
 * Where the UMEM pages are, and which sockets are zero-copy (a bit per
 * role): published with the counters from now on.
 */
void colo_steer_set_umem(struct colo_steer *s,
			 const struct colo_umem_report *umem, __u32 zero_copy);

/*
 * Unbind sockets, disarm the watchdog, detach what was attached, remove
 * the pins we made.
 */
void colo_steer_close(struct colo_steer *s);

#endif /* COLO_STEER_H */
