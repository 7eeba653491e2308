/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * colo-xdp chardev's bridge between a tap device and QEMU's frame channels
 * (qframe.h): frames read from the --in socket are written into the tap,
 * so that they reach the host as a VM's output does, where colo_steer's
 * XDP and the AF_XDP sockets of `colo-xdp run` take them as from any
 * primary or secondary tap; frames the host sends out of the tap (run's
 * mirror) go to the --out socket. Order is kept, no frame is copied in
 * userspace, a full socket stops the tap's reading rather than losing
 * frames, and a peer that breaks the framing is closed and counted. Owns
 * the tap's descriptor, the channels' sockets, the counters and their
 * record pinned for `colo-xdp stat`.
 */
#ifndef COLO_BRIDGE_H
#define COLO_BRIDGE_H

#include <stdbool.h>
#include <stdint.h>

#include "colo_chardev.h"
#include "counters.h"

struct bridge_cfg {
	const char *tap;
	const char *spec[COLO_CHARDEV_NR_DIRS]; /* --in, --out; NULL: none */
	bool vnet; /* the channels carry the vnet header length */
	uint32_t vnet_len; /* the header QEMU's netdev has: 0, 10 or 12 */
	uint32_t retry_ms; /* a client's reconnect delay */
	uint32_t batch; /* frames read from the tap per send */
	const char *pin_path; /* NULL: COLO_PIN_ROOT/chardev-<tap> */
};

/*
 * Bridge until cli_stop is set. SIGUSR1 prints the counters (so does the
 * end). Returns 0, or a negative errno after a message naming the object
 * and the fix (a tap that is not there, an address taken).
 */
int bridge_run(const struct bridge_cfg *cfg);

/*
 * The epoll events the socket of direction d (COLO_CHARDEV_IN or _OUT)
 * waits for; 0: it is not watched. connecting: a connect on its way;
 * tap_full: the tap refused --in's last frame; sending: frames read from
 * the tap wait for room in --out's socket.
 */
uint32_t bridge_peer_events(int d, bool connecting, bool tap_full,
			    bool sending);

/* The counters' names, for `colo-xdp stat` and the bridge's own output. */
extern const struct colo_counter chardev_counters[];
extern const unsigned int chardev_counters_n;

#endif /* COLO_BRIDGE_H */
