/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Layouts of the inbound mirror, shared by colo_mirror.bpf.c (on the
 * outdev's tc ingress), colo_steer.bpf.c (which learns the VM's MAC from
 * the frames the primary sends), the loader and `colo-xdp stat`: the
 * learned MAC, the mirror's settings and its counters.
 */
#ifndef COLO_MIRROR_H
#define COLO_MIRROR_H

#include "colo_xdp.h"

/* Pin names, as colo_xdp.h's: at most 15 characters. */
#define COLO_MAP_VM_MAC "colo_vm_mac"
#define COLO_MAP_MIRROR_CONFIG "colo_mir_config"
#define COLO_MAP_MIRROR_STATS "colo_mir_stats"
#define COLO_MIRROR_PROG_NAME "colo_mirror"

/*
 * A MAC address as a __u64: its six bytes, the first most significant, in
 * the low 48 bits, so that one compare tells two apart and one store
 * changes it whole, never half; 0 is no address.
 */
static __always_inline __u64 colo_mac_u64(const __u8 *m)
{
	return (__u64)m[0] << 40 | (__u64)m[1] << 32 | (__u64)m[2] << 24 |
	       (__u64)m[3] << 16 | (__u64)m[4] << 8 | m[5];
}

/* Broadcast and multicast: the I/G bit of the first byte. */
static __always_inline bool colo_mac_group(__u64 mac)
{
	return mac >> 40 & 1;
}

/*
 * 01:80:c2:00:00:00 to 0f: the link's own control frames (STP, LACP,
 * 802.1X, pause), which a Linux bridge does not forward to its ports
 * either.
 */
static __always_inline bool colo_mac_link_local(__u64 mac)
{
	return (mac & ~0xfull) == 0x0180c2000000ull;
}

/* colo_mir_config's one entry: what the loader set for its instance. */
struct colo_mirror_config {
	__u32 primary; /* P's ifindex: frames for the VM go on to it */
	__u32 secondary; /* S's ifindex: their copies go out of it */
	__u32 slot; /* the instance's colo_vm_mac entry (its hb_slot) */
	/*
	 * The instance created the outdev's clsact qdisc: whoever stops it
	 * (itself, or the loader that took it over) removes the qdisc once
	 * no filter is left in it.
	 */
	__u32 made_qdisc;
	__u64 vm_mac; /* --vm-mac; 0: the one colo_steer learned */
};

/*
 * Per CPU: what colo_mirror did with each frame that entered the outdev.
 * Each is counted in to_vm, left_alone or no_vm_mac; each of to_vm in
 * mirrored or clone_failed_secondary.
 */
struct colo_mirror_stats {
	/* for the VM (its MAC, broadcast, multicast): sent on to P */
	__u64 to_vm;
	__u64 mirrored; /* of to_vm: a copy went out of S */
	/* of to_vm: no copy could be sent out of S, the secondary misses it */
	__u64 clone_failed_secondary;
	/* of to_vm: broadcast and multicast, left to the outdev's stack too */
	__u64 flooded;
	/* of flooded: no copy could be sent to P, the primary misses it */
	__u64 clone_failed_primary;
	/* for other hosts, and the link's own control frames: untouched */
	__u64 left_alone;
	/* unicast, untouched: no VM MAC known yet (none learned, no --vm-mac) */
	__u64 no_vm_mac;
};

#ifdef __bpf__
/*
 * The VM's MAC by instance slot (colo_if_config's hb_slot), as
 * colo_mac_u64(): the source of the frames the primary sends, stored by
 * colo_steer, read by colo_mirror. Pinned by name in the instance's
 * directory, where the mirror's object finds the one colo_steer's made.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, COLO_HB_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} colo_vm_mac SEC(".maps");
#endif

#endif /* COLO_MIRROR_H */
