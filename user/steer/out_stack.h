/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The host path to the outdev (colo_out.h): colo_out.bpf.o on the primary
 * interface's tc ingress, in a clsact qdisc made if there is none, and
 * removed again. Nothing pinned: the program keeps no state.
 */
#ifndef COLO_OUT_STACK_H
#define COLO_OUT_STACK_H

#include <stdbool.h>

struct colo_out_stack;

/*
 * Attach colo_out to ifname's ingress. A colo_out already there (what a
 * killed loader left, or the dead instance taken over) is replaced in one
 * step, so that no marked frame meets an empty hook. *made_qdisc: in, the
 * dead instance made the qdisc; out, whoever stops this one removes it.
 * On error: a message naming the interface and the fix, a negative
 * errno, the ingress as it was.
 */
int colo_out_stack_open(int ifindex, const char *ifname, bool *made_qdisc,
			struct colo_out_stack **out);

/*
 * Detach colo_out if it is still ours, and the qdisc if we made it and
 * nothing is left in it. With keep (a takeover given back), leave both.
 */
void colo_out_stack_close(struct colo_out_stack *o, bool keep);

#endif /* COLO_OUT_STACK_H */
