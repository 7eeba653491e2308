// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/ethtool.h>
#include <linux/magic.h>
#include <linux/sockios.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "caps.h"
#include "host.h"
#include "log.h"

int host_check_caps(void)
{
	bool net_admin, bpf;
	uint64_t set;
	int err = caps_effective(&set);

	if (err)
		return err;
	net_admin = caps_has(set, CAP_NET_ADMIN);
	bpf = caps_has_bpf(set);
	if (net_admin && bpf)
		return 0;
	log_err("loading XDP programs needs root, or CAP_BPF and CAP_NET_ADMIN (missing %s): run as root",
		net_admin ? "CAP_BPF" :
		bpf	  ? "CAP_NET_ADMIN" :
			    "both");
	return -EPERM;
}

/* A fresh machine has a bare sysfs directory there, as iproute2 knows. */
int host_ensure_bpffs(void)
{
	struct statfs st;

	if (!statfs(HOST_BPFFS, &st) && st.f_type == BPF_FS_MAGIC)
		return 0;
	if (mount("bpf", HOST_BPFFS, "bpf", 0, "mode=0700")) {
		log_err("%s is not a bpf filesystem and mounting one failed (%s): mount it with 'mount -t bpf bpf %s'",
			HOST_BPFFS, strerror(errno), HOST_BPFFS);
		return -errno;
	}
	return 0;
}

int host_check_iface(const char *name, const char *role, int *ifindex)
{
	struct ifreq ifr = {};
	int sock, err = 0;

	if (!name || !*name) {
		log_err("no %s interface given: name it (see the command's --help)",
			role);
		return -EINVAL;
	}
	if (strlen(name) >= IF_NAMESIZE) {
		log_err("%s interface '%s': name longer than %d characters",
			role, name, IF_NAMESIZE - 1);
		return -EINVAL;
	}
	*ifindex = if_nametoindex(name);
	if (!*ifindex) {
		log_err("%s interface %s does not exist: check the name with 'ip link'",
			role, name);
		return -ENODEV;
	}
	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return -errno;
	strcpy(ifr.ifr_name, name);
	if (ioctl(sock, SIOCGIFFLAGS, &ifr)) {
		err = -errno;
		log_err("%s interface %s: cannot read its flags: %s", role,
			name, strerror(errno));
		goto out;
	}
	if (!(ifr.ifr_flags & IFF_UP)) {
		log_err("%s interface %s is down: bring it up with 'ip link set dev %s up'",
			role, name, name);
		err = -ENETDOWN;
	}
out:
	close(sock);
	return err;
}

int host_mtu(const char *name, __u32 *mtu)
{
	struct ifreq ifr = {};
	int sock, err = 0;

	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(sock, SIOCGIFMTU, &ifr))
		err = -errno;
	else
		*mtu = ifr.ifr_mtu;
	close(sock);
	return err;
}

bool host_is_veth(const char *name)
{
	struct ethtool_drvinfo info = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr = {};
	bool veth = false;
	int sock;

	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return false;
	strcpy(ifr.ifr_name, name);
	ifr.ifr_data = (void *)&info;
	if (!ioctl(sock, SIOCETHTOOL, &ifr))
		veth = !strcmp(info.driver, "veth");
	close(sock);
	return veth;
}

/* Queues of kind ("rx" or "tx") in sysfs, if that sysfs shows ifindex. */
static int sysfs_queues(const char *name, int ifindex, const char *kind)
{
	char path[96];
	int n, idx = 0;
	FILE *f;

	/* a sysfs mounted in another namespace may show another device */
	snprintf(path, sizeof(path), "/sys/class/net/%s/ifindex", name);
	f = fopen(path, "re");
	if (!f)
		return -ENOENT;
	n = fscanf(f, "%d", &idx);
	fclose(f);
	if (n != 1 || idx != ifindex)
		return -ENOENT;
	for (n = 0; n < 4096; n++) {
		snprintf(path, sizeof(path), "/sys/class/net/%s/queues/%s-%d",
			 name, kind, n);
		if (access(path, F_OK))
			break;
	}
	return n;
}

int host_queues(const char *name, int ifindex, __u32 *rx, __u32 *tx)
{
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
	struct ifreq ifr = {};
	int sock, n;

	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return -errno;
	strcpy(ifr.ifr_name, name);
	ifr.ifr_data = (void *)&ch;
	n = ioctl(sock, SIOCETHTOOL, &ifr);
	close(sock);
	if (!n && ch.rx_count + ch.combined_count) {
		*rx = ch.rx_count + ch.combined_count;
		*tx = ch.tx_count + ch.combined_count;
		return 0;
	}
	/* tun has no channels to report; its sysfs has them */
	n = sysfs_queues(name, ifindex, "rx");
	if (n <= 0)
		return n ?: -ENOENT;
	*rx = n;
	n = sysfs_queues(name, ifindex, "tx");
	*tx = n > 0 ? n : 1;
	return 0;
}

void host_prog_name(__u32 id, char *name, size_t len)
{
	struct bpf_prog_info info = {};
	__u32 info_len = sizeof(info);
	int fd;

	name[0] = 0;
	fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0)
		return;
	if (!bpf_obj_get_info_by_fd(fd, &info, &info_len))
		snprintf(name, len, "%s", info.name);
	close(fd);
}

int host_no_xdp(int ifindex, const char *ifname, const char *ours,
		const char *ours_fix)
{
	char name[BPF_OBJ_NAME_LEN];
	__u32 id;
	int err;

	err = host_xdp_prog(ifindex, ifname, &id);
	if (err || !id)
		return err;
	host_prog_name(id, name, sizeof(name));
	if (!strcmp(name, ours))
		log_err("%s already runs %s (id %u), %s, or remove it with 'ip link set dev %s xdp off'",
			ifname, name, id, ours_fix, ifname);
	else
		log_err("%s already runs the XDP program '%s' (id %u) of someone else: remove it with 'ip link set dev %s xdp off' if it is not needed, or choose another interface",
			ifname, name, id, ifname);
	return -EBUSY;
}

int host_xdp_query(int ifindex, const char *ifname,
		   struct bpf_xdp_query_opts *q)
{
	int err = bpf_xdp_query(ifindex, 0, q);

	if (err)
		log_err("%s: cannot query its XDP program: %s", ifname,
			strerror(-err));
	return err;
}

int host_xdp_prog(int ifindex, const char *ifname, __u32 *id)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	int err;

	err = host_xdp_query(ifindex, ifname, &q);
	if (err)
		return err;
	*id = q.drv_prog_id ? q.drv_prog_id :
	      q.skb_prog_id ? q.skb_prog_id :
			      q.hw_prog_id;
	return 0;
}
