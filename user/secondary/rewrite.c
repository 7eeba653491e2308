// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Loader side of colo_rewrite.bpf.o, through its skeleton, with the
 * agent's pin directory as the pin root: its maps never meet another
 * agent's. Every attach, pin and directory made here is recorded in
 * struct rewrite, and rewrite_close() removes exactly those.
 *
 * An agent killed leaves everything in the kernel, rewriting: the
 * programs stay attached (the interfaces hold them) and the maps pinned.
 * The next agent on the same interfaces and pin path takes that over:
 * libbpf hands it the pinned maps (the connection table, its offsets and
 * the counters as they are), and the dead agent's programs, found
 * through their pins, stay attached and become this agent's to detach:
 * not a frame meets another program.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <endian.h>
#include <linux/if_link.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "colo_rewrite.skel.h"
#include "host.h"
#include "log.h"
#include "pins.h"
#include "rewrite.h"

struct rewrite {
	struct colo_rewrite_bpf *skel;
	struct pin_dir pins;
	char vm[IF_NAMESIZE], link[IF_NAMESIZE], fo[IF_NAMESIZE];
	int vm_ifindex, link_ifindex, fo_ifindex;
	__u32 xdp_flags;
	bool xdp_attached, fo_attached;
	struct bpf_tc_hook hook;
	bool hook_created, tc_attached;
	struct colo_rw_config *cfg; /* colo_rw_config, mmapped */
	size_t cfg_len;
	struct colo_secondary rec;
	/*
	 * Taking over a dead agent's pins and programs; until it succeeded
	 * (taken), close leaves them running, as they were found.
	 */
	bool takeover, taken;
	__u32 dead_pid;
	int kept_in, kept_out; /* its programs, from their pins */
};

/* What detaching colo_rw_in checks it still is: ours, or the kept one. */
static int prog_in_fd(const struct rewrite *rw)
{
	return rw->takeover ? rw->kept_in :
			      bpf_program__fd(rw->skel->progs.colo_rw_in);
}

static int link_mac(const char *name, __u8 mac[6])
{
	struct ifreq ifr = {};
	int sock, err = 0;

	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return -errno;
	strcpy(ifr.ifr_name, name);
	if (ioctl(sock, SIOCGIFHWADDR, &ifr)) {
		err = -errno;
		log_err("link interface %s: cannot read its MAC address: %s",
			name, strerror(-err));
	} else {
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	}
	close(sock);
	return err;
}

static int check_ifaces(struct rewrite *rw, const struct rewrite_opts *o)
{
	int err;

	err = host_check_iface(o->vm, "vm", &rw->vm_ifindex);
	if (!err)
		err = host_check_iface(o->link, "link", &rw->link_ifindex);
	if (err)
		return err;
	if (rw->vm_ifindex == rw->link_ifindex) {
		log_err("%s is both the vm and the link interface: give two different interfaces",
			o->vm);
		return -EINVAL;
	}
	strcpy(rw->vm, o->vm);
	strcpy(rw->link, o->link);
	if (!o->failover_out || !strcmp(o->failover_out, o->link))
		return 0;
	err = host_check_iface(o->failover_out, "failover-out",
			       &rw->fo_ifindex);
	if (err)
		return err;
	if (rw->fo_ifindex == rw->vm_ifindex) {
		log_err("%s is both the vm and the failover-out interface: the VM's frames must leave by another",
			o->vm);
		return -EINVAL;
	}
	strcpy(rw->fo, o->failover_out);
	return 0;
}

static int check_no_xdp_on(int ifindex, const char *ifname)
{
	return host_no_xdp(ifindex, ifname, COLO_RW_PROG_IN,
			   "of another colo-xdp secondary: stop it");
}

static int check_no_xdp(const struct rewrite *rw)
{
	int err = check_no_xdp_on(rw->link_ifindex, rw->link);

	if (!err && rw->fo_ifindex)
		err = check_no_xdp_on(rw->fo_ifindex, rw->fo);
	return err;
}

static int dead_gone(const struct rewrite *rw, const char *what)
{
	log_err("pin directory %s holds the pins of a colo-xdp secondary (pid %u) that did not stop cleanly, but %s: end what is left of it ('ip link set dev %s xdp off', 'tc filter del dev %s ingress handle %#x prio %d bpf', 'rm -r %s') and start again",
		rw->pins.path, rw->dead_pid, what, rw->link, rw->vm,
		SECONDARY_TC_HANDLE, SECONDARY_TC_PRIO, rw->pins.path);
	return -EBUSY;
}

/* The dead agent's program pinned as name: its fd in *fd, its id. */
static int kept_prog(struct rewrite *rw, const char *name, int *fd, __u32 *id)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	char what[64];

	*fd = pin_dir_open_pin(rw->pins.path, name);
	if (*fd >= 0 && !bpf_obj_get_info_by_fd(*fd, &info, &len)) {
		*id = info.id;
		return 0;
	}
	snprintf(what, sizeof(what), "its program %s is not pinned there",
		 name);
	return dead_gone(rw, what);
}

/* The program id is attached to ifindex in this agent's XDP mode. */
static int kept_xdp(struct rewrite *rw, int ifindex, const char *ifname,
		    __u32 id)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	bool skb = rw->xdp_flags & XDP_FLAGS_SKB_MODE;
	char what[64];
	int err;

	err = host_xdp_query(ifindex, ifname, &q);
	if (err)
		return err;
	if ((skb ? q.skb_prog_id : q.drv_prog_id) == id)
		return 0;
	if ((skb ? q.drv_prog_id : q.skb_prog_id) == id) {
		log_err("%s: the dead colo-xdp secondary (pid %u) attached %s in %s mode: take it over with --xdp-mode %s",
			ifname, rw->dead_pid, COLO_RW_PROG_IN,
			skb ? "native" : "generic (skb)",
			skb ? "native" : "skb");
		return -EINVAL;
	}
	snprintf(what, sizeof(what), "%s no longer runs its %s", ifname,
		 COLO_RW_PROG_IN);
	return dead_gone(rw, what);
}

/*
 * A takeover needs the dead agent's table as large as this one's (libbpf
 * reuses a pinned map only if it is the same), the same --failover-out,
 * and its programs, pinned, still attached where it attached them: else
 * the pins are all that is left of it.
 */
static int check_takeover(struct rewrite *rw, const struct rewrite_opts *o)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = rw->vm_ifindex,
		    .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, tc, .handle = SECONDARY_TC_HANDLE,
		    .priority = SECONDARY_TC_PRIO);
	struct colo_rw_config cfg;
	__u32 zero = 0, in_id, out_id;
	char what[64];
	int fd, err;

	if (rw->rec.max_conns != o->max_conns) {
		log_err("pin directory %s holds the connection table of a colo-xdp secondary (pid %u) with room for %u connections: take it over with --max-connections %u (another size takes a clean stop first, which forgets the connections' offsets)",
			rw->pins.path, rw->dead_pid, rw->rec.max_conns,
			rw->rec.max_conns);
		return -EINVAL;
	}
	fd = pin_dir_open_map(rw->pins.path, COLO_RW_MAP_CONFIG, sizeof(cfg));
	err = fd < 0 ? fd : bpf_map_lookup_elem(fd, &zero, &cfg);
	if (fd >= 0)
		close(fd);
	if (err) {
		snprintf(what, sizeof(what), "its map %s cannot be read (%s)",
			 COLO_RW_MAP_CONFIG, strerror(-err));
		return dead_gone(rw, what);
	}
	if (cfg.failover_ifindex != (__u32)rw->fo_ifindex) {
		if (!cfg.failover_ifindex)
			strcpy(what, "none");
		else if (!if_indextoname(cfg.failover_ifindex, what))
			snprintf(what, sizeof(what), "ifindex %u",
				 cfg.failover_ifindex);
		log_err("pin directory %s holds a colo-xdp secondary (pid %u) whose --failover-out was %s, not %s: take it over with the --failover-out it had",
			rw->pins.path, rw->dead_pid, what,
			rw->fo_ifindex ? rw->fo : "none");
		return -EINVAL;
	}
	err = kept_prog(rw, COLO_RW_PROG_IN, &rw->kept_in, &in_id);
	if (!err)
		err = kept_prog(rw, COLO_RW_PROG_OUT, &rw->kept_out, &out_id);
	if (!err)
		err = kept_xdp(rw, rw->link_ifindex, rw->link, in_id);
	if (!err && rw->fo_ifindex)
		err = kept_xdp(rw, rw->fo_ifindex, rw->fo, in_id);
	if (err)
		return err;
	if (bpf_tc_query(&hook, &tc) || tc.prog_id != out_id) {
		snprintf(what, sizeof(what), "%s no longer runs its %s", rw->vm,
			 COLO_RW_PROG_OUT);
		return dead_gone(rw, what);
	}
	return 0;
}

/*
 * Claim the pin directory; a takeover brings along the dead agent's
 * record: its counters, its checkpoints and failover, its qdisc.
 */
static int claim_pins(struct rewrite *rw, const struct rewrite_opts *o)
{
	const char *ifname[2] = { rw->vm, rw->link };
	int ifindex[2] = { rw->vm_ifindex, rw->link_ifindex };
	int ret;

	ret = secondary_pins_claim(&rw->pins, o->pin_path, ifname, ifindex,
				   &rw->rec);
	if (ret != PIN_DIR_TAKEOVER) {
		memset(&rw->rec, 0, sizeof(rw->rec));
		return ret;
	}
	rw->takeover = true;
	rw->dead_pid = rw->rec.pid;
	return check_takeover(rw, o);
}

/* Pinned beside the maps: how the next agent finds them if this one dies. */
static int pin_progs(struct rewrite *rw)
{
	struct bpf_program *p[] = { rw->skel->progs.colo_rw_in,
				    rw->skel->progs.colo_rw_out };
	char pin[PATH_MAX + 16];
	unsigned int i;
	int err;

	for (i = 0; i < 2; i++) {
		snprintf(pin, sizeof(pin), "%s/%s", rw->pins.path,
			 bpf_program__name(p[i]));
		err = bpf_program__pin(p[i], pin);
		if (err)
			return err;
	}
	return 0;
}

static int load(struct rewrite *rw, const struct rewrite_opts *o)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = rw->pins.path);
	int err;

	rw->skel = colo_rewrite_bpf__open_opts(&oo);
	if (!rw->skel) {
		err = -errno;
		log_err("cannot open the embedded colo_rewrite object: %s",
			strerror(-err));
		return err;
	}
	err = bpf_map__set_max_entries(rw->skel->maps.colo_rw_conns,
				       o->max_conns);
	/* a takeover keeps the dead agent's programs: the maps only */
	if (rw->takeover) {
		bpf_program__set_autoload(rw->skel->progs.colo_rw_in, false);
		bpf_program__set_autoload(rw->skel->progs.colo_rw_out, false);
	}
	if (!err)
		err = colo_rewrite_bpf__load(rw->skel);
	if (!err && !rw->takeover)
		err = pin_progs(rw);
	if (err) {
		log_err("loading colo_rewrite failed: %s (with --max-connections %u; run with --verbose for libbpf's log)",
			strerror(-err), o->max_conns);
		return err;
	}
	rw->cfg_len = (sizeof(*rw->cfg) + getpagesize() - 1) &
		      ~((size_t)getpagesize() - 1);
	rw->cfg = mmap(NULL, rw->cfg_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		       bpf_map__fd(rw->skel->maps.colo_rw_config), 0);
	if (rw->cfg == MAP_FAILED) {
		err = -errno;
		rw->cfg = NULL;
		log_err("cannot mmap map %s: %s", COLO_RW_MAP_CONFIG,
			strerror(-err));
		return err;
	}
	/* a takeover's epoch, failover and learned MACs stay as they are */
	rw->cfg->vm_ifindex = rw->vm_ifindex;
	rw->cfg->link_ifindex = rw->link_ifindex;
	rw->cfg->failover_ifindex = rw->fo_ifindex;
	/* compared as it comes off the wire */
	rw->cfg->pair_token = htobe64(o->pair_token);
	err = link_mac(rw->link, rw->cfg->link_mac);
	if (err)
		return err;
	if (rw->takeover)
		rw->rec.failover = !!rw->cfg->failover;
	strcpy(rw->rec.vm, rw->vm);
	strcpy(rw->rec.link, rw->link);
	rw->rec.vm_ifindex = rw->vm_ifindex;
	rw->rec.link_ifindex = rw->link_ifindex;
	rw->rec.pid = getpid();
	rw->rec.max_conns = o->max_conns;
	return rewrite_publish(rw, &rw->rec.sweep);
}

static int attach_xdp_on(struct rewrite *rw, int ifindex, const char *ifname,
			 bool *attached)
{
	int fd = bpf_program__fd(rw->skel->progs.colo_rw_in), err;
	__u32 mtu;

	err = bpf_xdp_attach(ifindex, fd,
			     rw->xdp_flags | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
	if (!err) {
		*attached = true;
		return 0;
	}
	if (err == -EEXIST || err == -EBUSY)
		return check_no_xdp_on(ifindex, ifname) ?: err;
	if (err == -EOPNOTSUPP && (rw->xdp_flags & XDP_FLAGS_DRV_MODE))
		log_err("%s has no native XDP support: use generic mode (--xdp-mode skb)",
			ifname);
	else if (err != -EOPNOTSUPP && !host_mtu(ifname, &mtu) &&
		 mtu > HOST_PLAIN_MTU)
		/* colo_rw_in takes multi-buffer frames: the driver does not */
		log_err("%s: attaching %s failed at MTU %u: %s; this driver has no multi-buffer XDP for frames over a page: set its MTU to %u ('ip link set dev %s mtu %u'), or use --xdp-mode skb (generic XDP takes them since Linux 6.9)",
			ifname, COLO_RW_PROG_IN, mtu, strerror(-err),
			HOST_PLAIN_MTU, ifname, HOST_PLAIN_MTU);
	else
		log_err("%s: attaching %s failed: %s", ifname, COLO_RW_PROG_IN,
			strerror(-err));
	return err;
}

/*
 * colo_rw_in on --failover-out from the start, passing everything to the
 * host until a failover: the switch is then one store, no attach.
 */
static int attach_xdp(struct rewrite *rw)
{
	int err = attach_xdp_on(rw, rw->link_ifindex, rw->link,
				&rw->xdp_attached);

	if (!err && rw->fo_ifindex)
		err = attach_xdp_on(rw, rw->fo_ifindex, rw->fo,
				    &rw->fo_attached);
	return err;
}

static int attach_tc(struct rewrite *rw)
{
	LIBBPF_OPTS(bpf_tc_opts, tc, .handle = SECONDARY_TC_HANDLE,
		    .priority = SECONDARY_TC_PRIO,
		    .prog_fd = bpf_program__fd(rw->skel->progs.colo_rw_out));
	int err;

	err = bpf_tc_hook_create(&rw->hook);
	if (err && err != -EEXIST) {
		log_err("%s: cannot add a clsact qdisc for %s: %s", rw->vm,
			COLO_RW_PROG_OUT, strerror(-err));
		return err;
	}
	rw->hook_created = !err;
	rw->rec.qdisc = rw->hook_created;
	err = bpf_tc_attach(&rw->hook, &tc);
	if (err == -EEXIST)
		log_err("%s already has a tc filter at handle %#x priority %d of its ingress, another colo-xdp secondary's or someone else's: remove it with 'tc filter del dev %s ingress handle %#x prio %d bpf'",
			rw->vm, SECONDARY_TC_HANDLE, SECONDARY_TC_PRIO, rw->vm,
			SECONDARY_TC_HANDLE, SECONDARY_TC_PRIO);
	else if (err)
		log_err("%s: attaching %s to its tc ingress failed: %s", rw->vm,
			COLO_RW_PROG_OUT, strerror(-err));
	rw->tc_attached = !err;
	return err;
}

/*
 * A takeover's programs stay where the dead agent attached them (checked),
 * its qdisc too: this agent's to remove as if it had made them.
 */
static void keep_attached(struct rewrite *rw)
{
	rw->xdp_attached = true;
	rw->fo_attached = rw->fo_ifindex;
	rw->tc_attached = true;
	rw->hook_created = rw->rec.qdisc;
}

int rewrite_open(const struct rewrite_opts *o, struct rewrite **out)
{
	struct rewrite *rw;
	int err;

	rw = calloc(1, sizeof(*rw));
	if (!rw)
		return -ENOMEM;
	pin_dir_init(&rw->pins);
	rw->kept_in = rw->kept_out = -1;
	rw->hook.sz = sizeof(rw->hook);
	rw->hook.attach_point = BPF_TC_INGRESS;
	rw->xdp_flags = o->skb_mode ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
	err = check_ifaces(rw, o);
	if (!err)
		err = host_check_caps();
	if (!err)
		err = host_ensure_bpffs();
	if (!err)
		err = claim_pins(rw, o);
	if (!err && !rw->takeover)
		err = check_no_xdp(rw);
	if (!err)
		err = load(rw, o);
	if (err)
		goto out;
	/* the directory names a live owner now: nobody else claims it */
	pin_dir_unlock(&rw->pins);
	rw->hook.ifindex = rw->vm_ifindex;
	if (rw->takeover)
		keep_attached(rw);
	else
		err = attach_xdp(rw) ?: attach_tc(rw);
	if (!err)
		err = rewrite_publish(rw, &rw->rec.sweep);
	if (err)
		goto out;
	if (rw->takeover) {
		rw->taken = true;
		rw->pins.owned = true;
		log_info(
			"took over the colo-xdp secondary of pid %u in %s: its %s on %s and %s on %s rewrote meanwhile and stay attached, on the same connection table and counters",
			rw->dead_pid, rw->pins.path, COLO_RW_PROG_IN, rw->link,
			COLO_RW_PROG_OUT, rw->vm);
	}
	if (host_is_veth(rw->vm))
		log_warn(
			"note: vm %s is a veth: frames redirected to it arrive only if its peer has an XDP program or GRO on ('ethtool -K PEER gro on')",
			rw->vm);
	log_debug("%s on %s (XDP), %s on %s (tc ingress), maps pinned in %s",
		  COLO_RW_PROG_IN, rw->link, COLO_RW_PROG_OUT, rw->vm,
		  rw->pins.path);
	*out = rw;
	return 0;
out:
	rewrite_close(rw);
	return err;
}

const char *rewrite_pin_path(const struct rewrite *rw)
{
	return rw->pins.path;
}

void rewrite_ifindex(const struct rewrite *rw, int ifindex[3])
{
	ifindex[0] = rw->vm_ifindex;
	ifindex[1] = rw->link_ifindex;
	ifindex[2] = rw->fo_ifindex;
}

int rewrite_conns_fd(const struct rewrite *rw)
{
	return bpf_map__fd(rw->skel->maps.colo_rw_conns);
}

uint32_t rewrite_took_over(const struct rewrite *rw)
{
	return rw->takeover ? rw->dead_pid : 0;
}

const struct colo_rw_sweep_stats *rewrite_sweep_stats(const struct rewrite *rw)
{
	return &rw->rec.sweep;
}

uint32_t rewrite_epoch(const struct rewrite *rw)
{
	return __atomic_load_n(&rw->cfg->epoch, __ATOMIC_RELAXED);
}

void rewrite_checkpoint_done(struct rewrite *rw)
{
	__atomic_fetch_add(&rw->cfg->epoch, 1, __ATOMIC_RELAXED);
	rw->rec.ctl_checkpoints++;
	rewrite_publish(rw, &rw->rec.sweep);
}

int rewrite_failover(struct rewrite *rw, uint64_t *switch_ns)
{
	struct timespec t0, t1;

	if (rw->rec.failover)
		return -EALREADY;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* colo_rw_in and colo_rw_out read it per frame: one store switches */
	__atomic_store_n(&rw->cfg->failover, 1, __ATOMIC_RELEASE);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	*switch_ns = (t1.tv_sec - t0.tv_sec) * 1000000000ull + t1.tv_nsec -
		     t0.tv_nsec;
	rw->rec.failover = 1;
	rewrite_publish(rw, &rw->rec.sweep);
	return 0;
}

bool rewrite_in_failover(const struct rewrite *rw)
{
	return rw->rec.failover;
}

int rewrite_publish(struct rewrite *rw, const struct colo_rw_sweep_stats *st)
{
	__u32 zero = 0;
	int err;

	rw->rec.sweep = *st;
	err = bpf_map_update_elem(bpf_map__fd(rw->skel->maps.colo_secondary),
				  &zero, &rw->rec, 0);
	if (err)
		log_err("cannot publish into map %s: %s", COLO_RW_MAP_AGENT,
			strerror(-err));
	return err;
}

static void detach_xdp(struct rewrite *rw, int ifindex, const char *ifname)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, xo);
	int err;

	/* only if it is still ours: someone may have replaced it */
	xo.old_prog_fd = prog_in_fd(rw);
	err = bpf_xdp_detach(ifindex, rw->xdp_flags, &xo);
	if (err && err != -ENODEV)
		log_err("%s: %s left attached: %s (remove it with 'ip link set dev %s xdp off')",
			ifname, COLO_RW_PROG_IN, strerror(-err), ifname);
}

static void detach(struct rewrite *rw)
{
	LIBBPF_OPTS(bpf_tc_opts, tc, .handle = SECONDARY_TC_HANDLE,
		    .priority = SECONDARY_TC_PRIO);
	int err;

	if (rw->tc_attached) {
		err = bpf_tc_detach(&rw->hook, &tc);
		/* ENOENT, ENODEV: gone with its interface */
		if (err && err != -ENOENT && err != -ENODEV)
			log_err("%s: %s left on its tc ingress: %s (remove it with 'tc filter del dev %s ingress handle %#x prio %d bpf')",
				rw->vm, COLO_RW_PROG_OUT, strerror(-err),
				rw->vm, SECONDARY_TC_HANDLE, SECONDARY_TC_PRIO);
	}
	if (rw->hook_created) {
		rw->hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		bpf_tc_hook_destroy(&rw->hook);
	}
	if (rw->xdp_attached)
		detach_xdp(rw, rw->link_ifindex, rw->link);
	if (rw->fo_attached)
		detach_xdp(rw, rw->fo_ifindex, rw->fo);
}

void rewrite_close(struct rewrite *rw)
{
	struct bpf_map *m;

	if (!rw)
		return;
	/* a takeover that failed leaves the dead agent's instance running */
	if (rw->skel && (!rw->takeover || rw->taken)) {
		detach(rw);
		bpf_object__for_each_map(m, rw->skel->obj)
			if (bpf_map__is_pinned(m))
				bpf_map__unpin(m, NULL);
		pin_dir_unlink(rw->pins.path, COLO_RW_PROG_IN);
		pin_dir_unlink(rw->pins.path, COLO_RW_PROG_OUT);
	}
	pin_dir_remove(&rw->pins);
	pin_dir_unlock(&rw->pins);
	if (rw->kept_in >= 0)
		close(rw->kept_in);
	if (rw->kept_out >= 0)
		close(rw->kept_out);
	if (rw->cfg)
		munmap(rw->cfg, rw->cfg_len);
	colo_rewrite_bpf__destroy(rw->skel);
	free(rw);
}
