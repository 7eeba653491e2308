/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The VM's end of a tap device, for tools and tests that play a guest: what
 * is written to the descriptor arrives on the tap interface as the guest's
 * output, as it does from QEMU or vhost-net.
 */
#ifndef COLO_TAP_H
#define COLO_TAP_H

/*
 * Attach to the existing tap interface name (IFF_TAP, no packet
 * information header), non-blocking: a write may fail with EAGAIN. Returns
 * the descriptor, or -1 after saying why, prefixed with who.
 */
int tap_open(const char *who, const char *name);

#endif /* COLO_TAP_H */
