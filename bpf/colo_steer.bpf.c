// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * colo_steer: the XDP program of the primary and the secondary interface.
 * It classifies each frame with the shared parser and sends the frames to
 * compare to the AF_XDP socket of (interface, RX queue); the others never
 * reach userspace: a primary frame goes straight to the outdev, a
 * secondary frame is dropped.
 *
 * Passthrough rules (colo_pass.h) name flows that are not compared: their
 * frames are decided here like those of a non-IP protocol, and counted per
 * rule. Only an instance that has rules looks them up.
 *
 * Watchdog: a loader that stops running (SIGKILL, crash, SIGSTOP) must not
 * stop the guests' traffic with it. When its heartbeat is older than
 * watchdog_ms, or the socket of its queue is gone while the heartbeat is
 * armed (a dead process's sockets close at once), the frames it would
 * have compared fail open: primary frames to the outdev (or dropped, in
 * hold mode), secondary frames dropped, all counted as degraded. A fresh
 * heartbeat takes over again at once. A heartbeat of 0 (the loader has
 * not started yet, or stopped cleanly) never fails open: until the first
 * heartbeat, frames without a socket are dropped as before.
 *
 * It also learns the VM's MAC for colo_mirror (colo_mirror.h): the source
 * of each frame the primary sends, the guest's first ARP included, so that
 * the clients' frames to that MAC are mirrored from their first one on.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "colo_mirror.h"
#include "colo_out.h"
#include "colo_parse.h"
#include "colo_xdp.h"

/*
 * Pinned by name: `ip link ... xdp obj` pins them in /sys/fs/bpf/xdp/globals/
 * where colo-xdp adopts them; the loader gives each instance its own
 * pin directory instead.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, COLO_MAX_IFACES);
	__type(key, __u32);
	__type(value, struct colo_if_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} colo_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, COLO_XSK_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} colo_xsks SEC(".maps");

/*
 * Keyed by the outdev's ifindex. Not pinned: the kernel adds
 * BPF_F_RDONLY_PROG to a DEVMAP's flags, which libbpf 1.1 (iproute2's) then
 * sees as a mismatch and refuses to reuse the pin for the second
 * interface. Only the primary's program redirects through it, so each
 * program having its own is enough; the loader fills the primary's.
 */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, COLO_MAX_IFACES);
	__type(key, __u32);
	__type(value, __u32);
} colo_devmap SEC(".maps");

/* Keyed by ifindex: per interface, hence per role of each instance. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, COLO_MAX_IFACES);
	__type(key, __u32);
	__type(value, struct colo_steer_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} colo_stats SEC(".maps");

/* Stored by the loader through an mmap; see colo_xdp.h. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, COLO_HB_SLOTS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} colo_heartbeat SEC(".maps");

/* Written by the loader only; declared here for its BTF type. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct colo_loader);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} colo_loader SEC(".maps");

/*
 * Passthrough rules, keyed by the instance's colo_heartbeat slot. The
 * loader replaces the whole set at once; without preallocation a replaced
 * value is freed only after an RCU grace period, so a frame being matched
 * meanwhile sees the old set whole, never a mix (a preallocated element
 * could be reused for the next update at once).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, COLO_HB_SLOTS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct colo_pass_set);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} colo_pass SEC(".maps");

/* Per rule: hb_slot * COLO_PASS_MAX + the rule's slot. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, COLO_HB_SLOTS *COLO_PASS_MAX);
	__type(key, __u32);
	__type(value, struct colo_pass_count);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} colo_pass_stats SEC(".maps");

/* Heartbeat of cfg's loader: 0 (disarmed), or its age check in *lost. */
static __always_inline __u64 heartbeat(const struct colo_if_config *cfg,
				       bool *lost)
{
	__u32 slot = cfg->hb_slot;
	__u64 *hb, last;

	*lost = false;
	hb = bpf_map_lookup_elem(&colo_heartbeat, &slot);
	if (!hb)
		return 0;
	/* the loader stores it at any time: read it once */
	last = *(volatile __u64 *)hb;
	*lost = colo_heartbeat_lost(last, bpf_ktime_get_ns(), cfg->watchdog_ms);
	return last;
}

/*
 * The primary's source MAC is the VM's: stored only when it changes, so
 * that the CPUs that see the primary's frames do not bounce the line
 * colo_mirror reads. The latest wins, as a bridge follows a moved MAC.
 */
static __always_inline void learn_vm_mac(const struct colo_if_config *cfg,
					 const __u8 *data, const __u8 *end)
{
	__u32 slot = cfg->hb_slot;
	__u64 *known, mac;

	if (data + 12 > end)
		return;
	mac = colo_mac_u64(data + 6);
	/* a group address is no station's: a forged or broken frame */
	if (!mac || colo_mac_group(mac))
		return;
	known = bpf_map_lookup_elem(&colo_vm_mac, &slot);
	if (known && *(volatile __u64 *)known != mac)
		*(volatile __u64 *)known = mac;
}

/*
 * A primary frame that leaves uncompared: through colo_devmap, or marked
 * for colo_out through the host path (colo_out.h). Where the driver has
 * no room for metadata, colo_devmap is all there is.
 */
static __always_inline int to_outdev(struct xdp_md *ctx,
				     const struct colo_if_config *cfg)
{
	struct colo_out_meta *m;

	if (cfg->out_stack &&
	    !bpf_xdp_adjust_meta(ctx, -(int)sizeof(struct colo_out_meta))) {
		m = (void *)(long)ctx->data_meta;
		if ((void *)(m + 1) > (void *)(long)ctx->data)
			return XDP_DROP;
		m->magic = COLO_OUT_MAGIC;
		m->ifindex = cfg->outdev;
		m->pad = 0;
		return XDP_PASS;
	}
	return bpf_redirect_map(&colo_devmap, cfg->outdev, XDP_DROP);
}

/* The loader is lost: fail open (or hold), and count it. */
static __always_inline int degrade(struct xdp_md *ctx,
				   const struct colo_if_config *cfg,
				   struct colo_steer_stats *st)
{
	if (cfg->role == COLO_ROLE_PRIMARY && cfg->on_loss == COLO_LOSS_PASS) {
		st->degraded_passed++;
		return to_outdev(ctx, cfg);
	}
	st->degraded_dropped++;
	return XDP_DROP;
}

/*
 * A frame of a passthrough flow: its verdict in *act, counted for the
 * first rule that matches it. False when no rule matches. Out of line
 * (a BPF subprogram): a frame of an instance without rules runs the code
 * it ran before rules existed, and one test.
 */
static __noinline bool passthrough(const struct colo_if_config *cfg,
				   struct colo_steer_stats *st,
				   const struct colo_flow_key *k, int *act)
{
	const struct colo_pass_set *set;
	struct colo_pass_count *count;
	__u32 key = cfg->hb_slot, i, n;

	set = bpf_map_lookup_elem(&colo_pass, &key);
	if (!set)
		return false;
	n = set->n;
	for (i = 0; i < COLO_PASS_MAX && i < n; i++)
		if (colo_pass_match(&set->rule[i], k))
			break;
	if (i >= COLO_PASS_MAX || i >= n)
		return false;
	key = cfg->hb_slot * COLO_PASS_MAX + set->rule[i].slot;
	count = bpf_map_lookup_elem(&colo_pass_stats, &key);
	st->passthrough++;
	if (cfg->role == COLO_ROLE_PRIMARY) {
		if (count)
			count->primary++;
		*act = bpf_redirect_map(&colo_devmap, cfg->outdev, XDP_DROP);
	} else {
		if (count)
			count->secondary++;
		*act = XDP_DROP;
	}
	return true;
}

/*
 * xdp.frags: a frame larger than a page (a jumbo MTU) comes as a
 * multi-buffer XDP frame. Without the flag veth refuses the program when
 * its peer's MTU is jumbo, and drivers drop such frames. The headers are
 * parsed from the first buffer (data to data_end; colo_parse checks IP
 * lengths against the whole frame's), and the frame is redirected whole:
 * an AF_XDP socket bound with XDP_USE_SG gets it in several UMEM chunks,
 * the DEVMAP sends it on as it is.
 */
SEC("xdp.frags")
int colo_steer(struct xdp_md *ctx)
{
	const __u8 *data = (const __u8 *)(long)ctx->data;
	const __u8 *end = (const __u8 *)(long)ctx->data_end;
	__u32 ifindex = ctx->ingress_ifindex;
	struct colo_if_config *cfg;
	struct colo_steer_stats *st;
	struct colo_pkt pkt;
	__u32 q = ctx->rx_queue_index;
	__u64 armed;
	bool lost;
	int cls, act;

	cfg = bpf_map_lookup_elem(&colo_config, &ifindex);
	if (!cfg)
		return XDP_PASS; /* not an interface of any instance */
	/* per-CPU: this CPU is the only writer, plain increments do */
	st = bpf_map_lookup_elem(&colo_stats, &ifindex);
	if (!st)
		return XDP_DROP; /* the loader creates both entries first */

	if (cfg->role == COLO_ROLE_PRIMARY)
		learn_vm_mac(cfg, data, end);
	cls = colo_parse(data, end, bpf_xdp_get_buff_len(ctx), &pkt);
	if (cls == COLO_CLASS_COMPARE && cfg->state == COLO_STATE_COMPARE) {
		/* not compared, so the loader's state does not matter */
		if (cfg->passthrough && passthrough(cfg, st, &pkt.key, &act))
			return act;
		armed = heartbeat(cfg, &lost);
		if (lost)
			return degrade(ctx, cfg, st);
		if (q < COLO_XSK_QUEUES) {
			if (bpf_redirect_map(&colo_xsks, cfg->xsk_base + q,
					     0) == XDP_REDIRECT) {
				st->to_socket++;
				return XDP_REDIRECT;
			}
			/* the armed loader's own socket is gone: it died */
			if (armed && (cfg->queues >> q & 1))
				return degrade(ctx, cfg, st);
		}
		/*
		 * No socket on a queue the loader does not serve, or no
		 * loader yet: a frame to compare must not leave uncompared.
		 */
		st->no_socket++;
		return XDP_DROP;
	}
	if (cls == COLO_CLASS_MALFORMED)
		st->malformed++;
	if (cfg->role == COLO_ROLE_PRIMARY) {
		st->bypassed++;
		return to_outdev(ctx, cfg);
	}
	st->dropped++;
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
