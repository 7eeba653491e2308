/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A keeper holds a loader's datapath open (its AF_XDP sockets, the UMEM's
 * memfd and the frame ledger's, see xsk_dp.h) in a process of its own, so
 * that a loader killed or crashed loses no frame: what it held and what
 * was on its rings stays in memory, bound to the queues, until the next
 * `colo-xdp run` on the same pins claims the descriptors (pidfd_getfd())
 * and carries on with them.
 *
 * The keeper is `colo-xdp keep PIN_DIR N`, in a session of its own (a
 * terminal's ^C does not reach it), with the descriptors at KEEPER_FD_BASE
 * on and its loader's pipe after them. It ends when its loader says so,
 * when its instance's pins are removed, or when a successor that claimed
 * its descriptors ends it.
 */
#ifndef COLO_KEEPER_H
#define COLO_KEEPER_H

#include <sys/types.h>

#define KEEPER_FD_BASE 3
/* A datapath's: UMEM, ledger, a socket per queue of P and S, per worker on O */
#define KEEPER_MAX_FDS 160
/* How often a keeper whose loader died looks for its instance's pins. */
#define KEEPER_CHECK_MS 200

struct keeper {
	pid_t pid; /* 0: none */
	int pidfd;
	int pipe; /* our own keeper's: closed with a word, or by our death */
};

/*
 * Start a keeper of n descriptors for the instance pinned in pin_dir. On
 * error: a message naming the keeper, a negative errno, nothing started.
 */
int keeper_start(const char *pin_dir, const int *fds, unsigned int n,
		 struct keeper *k);

/* Readable when our keeper has exited (a pidfd); -1 when none. */
int keeper_fd(const struct keeper *k);

/*
 * Leave our keeper holding the descriptors, as if we had died: for the
 * next loader to claim.
 */
void keeper_leave(struct keeper *k);

/* Our keeper exits and drops its copies: a clean stop. */
void keeper_stop(struct keeper *k);

/*
 * Copy the descriptors of the keeper pid, which a dead loader of the
 * instance in pin_dir started, into fds (close-on-exec), up to max of
 * them, their number in *n: as many as the dead loader handed it. The
 * keeper keeps running until keeper_end(). On error: a message, a
 * negative errno, nothing claimed, and a keeper that could not be claimed
 * from is ended.
 */
int keeper_claim(pid_t pid, const char *pin_dir, int *fds, unsigned int max,
		 unsigned int *n, struct keeper *k);

/* End a claimed keeper, once a keeper of our own holds the descriptors. */
void keeper_end(struct keeper *k);

#endif /* COLO_KEEPER_H */
