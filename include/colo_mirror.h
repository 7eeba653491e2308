/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Layouts of the inbound mirror (QEMU's filter-mirror: the clients'
 * frames to the VM, to both replicas), shared by BPF and userspace: the
 * VM's MAC, which colo_steer.bpf.c learns from the frames the primary
 * sends, and MAC addresses in the form the programs compare them.
 */
#ifndef COLO_MIRROR_H
#define COLO_MIRROR_H

#include "colo_xdp.h"

/* Pin names, as colo_xdp.h's: at most 15 characters. */
#define COLO_MAP_VM_MAC "colo_vm_mac"

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

#ifdef __bpf__
/*
 * The VM's MAC by instance slot (colo_if_config's hb_slot), as
 * colo_mac_u64(): the source of the frames the primary sends, stored by
 * colo_steer. Pinned by name in the instance's directory.
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
