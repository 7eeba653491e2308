/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What loading and attaching colo-xdp's BPF programs asks of this host,
 * checked before anything is touched, each failure with a message that
 * names the object and the fix: the privileges, a bpffs at /sys/fs/bpf,
 * interfaces that exist and are up, the XDP program an interface runs
 * already, and whether it is a veth (whose peer must take redirected
 * frames).
 */
#ifndef COLO_HOST_H
#define COLO_HOST_H

#include <stdbool.h>
#include <stddef.h>

#include <linux/types.h>

#define HOST_BPFFS "/sys/fs/bpf"

/* CAP_BPF and CAP_NET_ADMIN (root): -EPERM naming what is missing. */
int host_check_caps(void);

/* Mount a bpffs on HOST_BPFFS when a fresh machine has none there. */
int host_ensure_bpffs(void);

/*
 * The interface name, given for role ("primary", "vm", ...), exists and
 * is up: its index in *ifindex, or a negative errno.
 */
int host_check_iface(const char *name, const char *role, int *ifindex);

bool host_is_veth(const char *name);

/* The MTU of interface name, or a negative errno. */
int host_mtu(const char *name, __u32 *mtu);

/*
 * An MTU whose frames fit a page, hence any driver's XDP: above it, a
 * refused attach of an xdp.frags program is likely a driver without
 * multi-buffer XDP.
 */
#define HOST_PLAIN_MTU 1500

/*
 * The RX and TX queues an interface has now (ethtool's channels, or
 * sysfs for a tap): -ENOENT when neither tells.
 */
int host_queues(const char *name, int ifindex, __u32 *rx, __u32 *tx);

struct bpf_xdp_query_opts;

/* What XDP ifindex has attached, per mode; a message if it cannot tell. */
int host_xdp_query(int ifindex, const char *ifname,
		   struct bpf_xdp_query_opts *q);

/* The id of the XDP program attached to ifindex (0: none), native first. */
int host_xdp_prog(int ifindex, const char *ifname, __u32 *id);

/* The name of program id, or "" if it is gone already. */
void host_prog_name(__u32 id, char *name, size_t len);

/*
 * 0 if no XDP program is attached to ifindex; -EBUSY, said, if one is:
 * when it is named ours (another colo-xdp's), the message says whose it
 * is and the fix by ours_fix ("attached by ...: adopt it with ...");
 * else that it is someone else's.
 */
int host_no_xdp(int ifindex, const char *ifname, const char *ours,
		const char *ours_fix);

#endif /* COLO_HOST_H */
