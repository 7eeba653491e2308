// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * colo_mirror: the inbound half of COLO on the primary host, QEMU's
 * filter-mirror in the kernel. It runs on the outdev's tc ingress
 * (clsact), where the clients' frames enter the host. A frame for the VM
 * (to its MAC, broadcast or multicast) is cloned out of S towards the
 * secondary first, then sent on to P, to the primary VM: each replica gets
 * the frames in the order they arrived. Broadcast and multicast stay with
 * the outdev's own stack too, as a bridge floods them; frames for other
 * hosts are left alone.
 *
 * The VM's MAC is --vm-mac, or else the one colo_steer learned from the
 * frames the primary sent (colo_vm_mac); until one is known, unicast
 * frames are left alone and counted in no_vm_mac, while broadcast (the
 * clients' ARP) is mirrored, and the guest's first answer teaches it.
 *
 * What it leaves alone goes on to the next tc filter (TC_ACT_UNSPEC), so
 * that the mirrors of other instances on the same outdev, and anyone
 * else's filters, see it as if this one were not there.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "colo_mirror.h"
#include "colo_pair.h"

/* linux/pkt_cls.h's, which vmlinux.h does not carry (they are macros) */
#define TC_ACT_UNSPEC (-1)

/* One entry, written by the loader before it attaches the program. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct colo_mirror_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} colo_mir_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct colo_mirror_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} colo_mir_stats SEC(".maps");

/* The VM's MAC: --vm-mac, or the one learned; 0 while none is known. */
static __always_inline __u64 vm_mac(const struct colo_mirror_config *cfg)
{
	__u32 slot = cfg->slot;
	__u64 *learned;

	if (cfg->vm_mac)
		return cfg->vm_mac;
	learned = bpf_map_lookup_elem(&colo_vm_mac, &slot);
	/* colo_steer stores it at any time: read it once */
	return learned ? *(volatile __u64 *)learned : 0;
}

/* The copy for the secondary, before the primary gets the frame. */
static __always_inline void to_secondary(struct __sk_buff *skb,
					 const struct colo_mirror_config *cfg,
					 struct colo_mirror_stats *st)
{
	st->to_vm++;
	if (bpf_clone_redirect(skb, cfg->secondary, 0))
		st->clone_failed_secondary++;
	else
		st->mirrored++;
}

SEC("tc")
int colo_mirror(struct __sk_buff *skb)
{
	const __u8 *data = (const __u8 *)(long)skb->data;
	const __u8 *end = (const __u8 *)(long)skb->data_end;
	const struct colo_mirror_config *cfg;
	struct colo_mirror_stats *st;
	__u32 zero = 0;
	__u64 dst, vm;

	cfg = bpf_map_lookup_elem(&colo_mir_config, &zero);
	/* per-CPU: this CPU is the only writer, plain increments do */
	st = bpf_map_lookup_elem(&colo_mir_stats, &zero);
	if (!cfg || !st || !cfg->primary)
		return TC_ACT_UNSPEC; /* not set up yet */
	if (data + 6 > end) {
		st->left_alone++;
		return TC_ACT_UNSPEC;
	}
	/*
	 * The pair's own frames (colo_pair.h) come out of S from the loader
	 * alone: a client's copy must never reach the agent.
	 */
	if (data + 14 <= end &&
	    (data[12] << 8 | data[13]) == COLO_PAIR_ETHERTYPE) {
		st->left_alone++;
		return TC_ACT_UNSPEC;
	}
	/* read before the clone: a helper that may move data ends pointers */
	dst = colo_mac_u64(data);
	if (colo_mac_group(dst)) {
		if (colo_mac_link_local(dst)) {
			st->left_alone++;
			return TC_ACT_UNSPEC;
		}
		to_secondary(skb, cfg, st);
		st->flooded++;
		if (bpf_clone_redirect(skb, cfg->primary, 0))
			st->clone_failed_primary++;
		return TC_ACT_UNSPEC;
	}
	vm = vm_mac(cfg);
	if (!vm) {
		st->no_vm_mac++;
		return TC_ACT_UNSPEC;
	}
	if (dst != vm) {
		st->left_alone++;
		return TC_ACT_UNSPEC;
	}
	to_secondary(skb, cfg, st);
	return bpf_redirect(cfg->primary, 0);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
