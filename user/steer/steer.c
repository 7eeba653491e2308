// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Loader side of colo_steer.bpf.o. Both ways of getting the program onto
 * the interfaces go through the skeleton:
 * - attach: load it with the instance's pin directory as pin root, so the
 *   maps of two instances never meet, and attach it to P and S;
 * - adopt (--attach none): the program `ip link` attached is found on P and
 *   S, its maps are handed to the skeleton (bpf_map__reuse_fd) with the
 *   program left unloaded, so libbpf pins them under the instance directory
 *   too and creates this instance's own colo_loader map.
 * A third way is the takeover of an instance whose loader died: its pin
 * directory and attached programs are adopted like ip link's, its entries
 * kept, and it becomes this instance's to remove.
 * Every entry, pin and directory this file creates is recorded in struct
 * colo_steer, and colo_steer_close() removes exactly those.
 */
#include <errno.h>
#include <net/if.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/if_link.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "colo_mirror.h"
#include "colo_steer.skel.h"
#include "host.h"
#include "log.h"
#include "out_stack.h"
#include "pass_spec.h"
#include "pin_dir.h"
#include "steer.h"

/* Where make install puts colo_steer.bpf.o (the Makefile's LIBDIR). */
#ifndef COLO_BPF_DIR
#define COLO_BPF_DIR "/usr/local/lib/colo-xdp"
#endif

enum steer_map {
	STEER_CONFIG,
	STEER_XSKS,
	STEER_DEVMAP,
	STEER_STATS,
	STEER_LOADER,
	STEER_HEARTBEAT,
	STEER_VM_MAC,
	STEER_PASS,
	STEER_PASS_STATS,
	STEER_NR_MAPS,
};

static const char *const role_name[COLO_NR_ROLES] = {
	[COLO_ROLE_PRIMARY] = "primary",
	[COLO_ROLE_SECONDARY] = "secondary",
	[COLO_ROLE_OUT] = "outdev",
};

/* The roles colo_steer runs on; the outdev is only a redirect target. */
#define STEER_NR_RX 2
/* colo_steer uses nine maps; room for a few more in a newer object */
#define STEER_MAX_PROG_MAPS 16

struct colo_steer {
	struct colo_steer_bpf *skel;
	struct bpf_map *map[STEER_NR_MAPS];
	int fd[STEER_NR_MAPS];
	int ifindex[COLO_NR_ROLES];
	char ifname[COLO_NR_ROLES][IF_NAMESIZE];
	struct pin_dir pins;
	__u32 xdp_flags; /* mode flags used to attach and detach */
	__u64 queues[COLO_NR_ROLES]; /* see colo_steer_queues() */
	bool out_stack; /* uncompared primary frames by the host path */
	struct colo_out_stack *out; /* colo_out on P's ingress */
	bool attached[STEER_NR_RX];
	int prog_fd[STEER_NR_RX]; /* what attached[] detaches, if still there */
	bool added_config[STEER_NR_RX];
	bool added_stats[STEER_NR_RX];
	bool added_devmap;
	__u64 added_xsk[STEER_NR_RX]; /* bit q: slot xsk_base + q is ours */
	__u32 xsk_base[STEER_NR_RX];
	/*
	 * Taking over a dead instance's pins and running program; until it
	 * succeeded (taken), close leaves that instance as it was found.
	 */
	bool takeover, taken;
	__u32 dead_pid; /* the process that instance belonged to */
	/* what that process last published */
	struct colo_loader_stats dead_stats;
	__u32 dead_keeper; /* and its keeper */
	bool failed_over; /* and it had failed over */
	__u32 watchdog_ms, on_loss;
	__u64 *hb_area; /* colo_heartbeat, mmapped */
	size_t hb_len;
	__u64 *hb; /* this instance's slot in it, once it has one */
	__u32 hb_slot;
	int ncpus;
	struct colo_steer_stats *percpu; /* ncpus values, for map reads */
	/* the passthrough rules in colo_pass, as last written */
	struct colo_pass_set pass;
	bool added_pass;
	struct colo_pass_count *pass_zero; /* ncpus zeroes, for new rules */
	struct colo_loader rec; /* what colo_loader holds */
};

static int check_no_prog(const char *ifname, int ifindex)
{
	return host_no_xdp(
		ifindex, ifname, COLO_PROG_NAME,
		"attached by 'ip link' or another colo-xdp instance: adopt it with --attach none");
}

/*
 * The program behind prog_fd: its info (name, ...) and the ids of up to
 * STEER_MAX_PROG_MAPS maps it uses, their number in *n.
 */
static int prog_map_ids(int prog_fd, struct bpf_prog_info *info, __u32 *map_ids,
			__u32 *n)
{
	__u32 len = sizeof(*info);
	int err;

	memset(info, 0, sizeof(*info));
	info->nr_map_ids = STEER_MAX_PROG_MAPS;
	info->map_ids = (__u64)(unsigned long)map_ids;
	*n = 0;
	err = bpf_obj_get_info_by_fd(prog_fd, info, &len);
	if (err)
		return err;
	/* the kernel says how many there are, not how many it wrote */
	*n = info->nr_map_ids < STEER_MAX_PROG_MAPS ? info->nr_map_ids :
						      STEER_MAX_PROG_MAPS;
	return 0;
}

/* The map ids of an attached colo_steer, by enum steer_map. */
static int prog_maps(const char *ifname, int ifindex, __u32 ids[STEER_NR_MAPS])
{
	static const char *const names[STEER_NR_MAPS] = {
		[STEER_CONFIG] = COLO_MAP_CONFIG,
		[STEER_XSKS] = COLO_MAP_XSKS,
		[STEER_DEVMAP] = COLO_MAP_DEVMAP,
		[STEER_STATS] = COLO_MAP_STATS,
		[STEER_HEARTBEAT] = COLO_MAP_HEARTBEAT,
		[STEER_VM_MAC] = COLO_MAP_VM_MAC,
		[STEER_PASS] = COLO_MAP_PASS,
		[STEER_PASS_STATS] = COLO_MAP_PASS_STATS,
	};
	__u32 map_ids[STEER_MAX_PROG_MAPS], i, m, n, id, len;
	struct bpf_prog_info info;
	struct bpf_map_info minfo;
	int fd = -1, mfd, err;

	err = host_xdp_prog(ifindex, ifname, &id);
	if (err)
		return err;
	if (!id) {
		log_err("--attach none: no XDP program is attached to %s: attach colo_steer with 'ip link set dev %s xdp obj " COLO_BPF_DIR
			"/colo_steer.bpf.o sec xdp.frags' (make install puts it there), or let colo-xdp attach it",
			ifname, ifname);
		return -ENOENT;
	}
	fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0) {
		err = -errno;
		log_err("%s: cannot open its XDP program (id %u): %s", ifname,
			id, strerror(errno));
		goto out;
	}
	err = prog_map_ids(fd, &info, map_ids, &n);
	if (err) {
		log_err("%s: cannot read its XDP program (id %u): %s", ifname,
			id, strerror(-err));
		goto out;
	}
	err = -EINVAL;
	if (strcmp(info.name, COLO_PROG_NAME)) {
		log_err("--attach none: %s runs the XDP program '%s' (id %u), not %s: remove it with 'ip link set dev %s xdp off'",
			ifname, info.name, id, COLO_PROG_NAME, ifname);
		goto out;
	}
	memset(ids, 0, STEER_NR_MAPS * sizeof(ids[0]));
	for (i = 0; i < n; i++) {
		memset(&minfo, 0, sizeof(minfo));
		len = sizeof(minfo);
		mfd = bpf_map_get_fd_by_id(map_ids[i]);
		if (mfd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(mfd, &minfo, &len))
			for (m = 0; m < STEER_NR_MAPS; m++)
				if (names[m] && !strcmp(minfo.name, names[m]))
					ids[m] = map_ids[i];
		close(mfd);
	}
	for (m = 0; m < STEER_NR_MAPS; m++)
		if (names[m] && !ids[m]) {
			log_err("--attach none: %s on %s has no map %s: it is not this version's colo_steer.bpf.o; attach the one built with this colo-xdp",
				COLO_PROG_NAME, ifname, names[m]);
			goto out;
		}
	err = 0;
out:
	if (fd >= 0)
		close(fd);
	return err;
}

/*
 * Hand the maps of the colo_steer attached to P and S to the skeleton.
 * `ip link` loads the object once per interface, so P and S run two
 * programs; what makes them one instance is that they share maps.
 */
static int adopt_maps(struct colo_steer *s)
{
	__u32 ids[STEER_NR_RX][STEER_NR_MAPS];
	int r, m, fd, err;

	for (r = 0; r < STEER_NR_RX; r++) {
		err = prog_maps(s->ifname[r], s->ifindex[r], ids[r]);
		if (err)
			return err;
	}
	/* the DEVMAP is per program (see colo_steer.bpf.c): P's is used */
	ids[1][STEER_DEVMAP] = ids[0][STEER_DEVMAP];
	if (memcmp(ids[0], ids[1], sizeof(ids[0]))) {
		log_err("--attach none: the colo_steer programs on %s and %s do not share maps: attach both with 'ip link ... xdp obj colo_steer.bpf.o sec xdp.frags' from the root mount namespace, so both pin /sys/fs/bpf/xdp/globals/",
			s->ifname[0], s->ifname[1]);
		return -EINVAL;
	}
	for (m = 0; m < STEER_NR_MAPS; m++) {
		if (!ids[0][m])
			continue;
		fd = bpf_map_get_fd_by_id(ids[0][m]);
		if (fd < 0) {
			err = -errno;
			log_err("--attach none: cannot open map %s (id %u): %s",
				bpf_map__name(s->map[m]), ids[0][m],
				strerror(errno));
			return err;
		}
		err = bpf_map__reuse_fd(s->map[m], fd);
		close(fd);
		if (err) {
			log_err("--attach none: cannot use map %s (id %u): %s",
				bpf_map__name(s->map[m]), ids[0][m],
				strerror(-err));
			return err;
		}
	}
	return bpf_program__set_autoload(s->skel->progs.colo_steer, false);
}

/*
 * Claim the pin directory; a takeover brings along the dead instance's
 * keeper and what it had attached.
 */
static int claim_pins(struct colo_steer *s, const struct colo_steer_opts *opts)
{
	struct colo_loader dead;
	int ret;

	ret = pin_dir_claim(&s->pins, opts->pin_path, opts->ifname, s->ifindex,
			    &dead);
	if (ret != PIN_DIR_TAKEOVER)
		return ret;
	s->takeover = true;
	s->dead_pid = dead.pid;
	s->dead_keeper = dead.keeper_pid;
	s->dead_stats = dead.stats;
	/*
	 * Its keeper's until ours holds the sockets: a crash in between leaves
	 * the next loader the same keeper to claim.
	 */
	s->rec.keeper_pid = dead.keeper_pid;
	s->rec.attached = dead.attached;
	s->rec.out_qdisc = dead.out_qdisc;
	return 0;
}

/*
 * XSKMAP slot ranges in use by every interface in colo_config; instances
 * sharing the ip-link maps each take the lowest free range.
 */
static int alloc_xsk_base(struct colo_steer *s, __u32 *base)
{
	bool used[COLO_MAX_IFACES] = {};
	struct colo_if_config cfg;
	__u32 key, next, *prev = NULL;
	int i;

	while (!bpf_map_get_next_key(s->fd[STEER_CONFIG], prev, &next)) {
		key = next;
		prev = &key;
		if (!bpf_map_lookup_elem(s->fd[STEER_CONFIG], &key, &cfg) &&
		    cfg.xsk_base / COLO_XSK_QUEUES < COLO_MAX_IFACES)
			used[cfg.xsk_base / COLO_XSK_QUEUES] = true;
	}
	for (i = 0; i < COLO_MAX_IFACES; i++)
		if (!used[i]) {
			*base = i * COLO_XSK_QUEUES;
			return 0;
		}
	log_err("map %s is full: %d interfaces are steered already",
		COLO_MAP_CONFIG, COLO_MAX_IFACES);
	return -ENOSPC;
}

/*
 * Insert a new entry; one already there belongs to another instance,
 * unless this is the takeover of the dead instance that made it.
 */
static int add_entry(struct colo_steer *s, enum steer_map m, const char *ifname,
		     __u32 key, const void *val)
{
	int err;

	err = bpf_map_update_elem(s->fd[m], &key, val, BPF_NOEXIST);
	if (err == -EEXIST && s->takeover)
		return 0;
	if (err == -EEXIST)
		log_err("%s is steered by another colo-xdp instance already: stop it, or choose another interface",
			ifname);
	else if (err)
		log_err("%s: cannot add its entry to map %s: %s", ifname,
			bpf_map__name(s->map[m]), strerror(-err));
	return err;
}

/*
 * The config entry of role r: a new one, or on a takeover the dead
 * instance's XSKMAP range, heartbeat slot and state (compare, or failed
 * over: the controller said the secondary is gone, and a restart does
 * not bring it back) with this instance's settings.
 */
static int config_entry(struct colo_steer *s, int r, struct colo_if_config *cfg)
{
	struct colo_if_config old;
	__u32 key = s->ifindex[r];
	const __u64 no_mac = 0;
	int err;

	cfg->role = r;
	if (s->takeover &&
	    !bpf_map_lookup_elem(s->fd[STEER_CONFIG], &key, &old)) {
		if (old.hb_slot >= COLO_HB_SLOTS) {
			log_err("%s: its entry in map %s has no heartbeat slot: it is not this version's; remove the pins with 'rm -r %s'",
				s->ifname[r], COLO_MAP_CONFIG, s->pins.path);
			return -EINVAL;
		}
		cfg->xsk_base = old.xsk_base;
		cfg->hb_slot = old.hb_slot;
		cfg->state = old.state;
		/* its rules go on deciding their flows while it is taken */
		cfg->passthrough = old.passthrough;
		if (old.state == COLO_STATE_PASSTHROUGH)
			s->failed_over = true;
		err = bpf_map_update_elem(s->fd[STEER_CONFIG], &key, cfg,
					  BPF_EXIST);
		if (err)
			log_err("%s: cannot update its entry in map %s: %s",
				s->ifname[r], COLO_MAP_CONFIG, strerror(-err));
		return err;
	}
	err = alloc_xsk_base(s, &cfg->xsk_base);
	if (err)
		return err;
	/* the primary's range is the instance's: so is its slot */
	if (r == COLO_ROLE_PRIMARY) {
		cfg->hb_slot = cfg->xsk_base / COLO_XSK_QUEUES;
		/*
		 * A crashed instance may have left it armed in shared maps,
		 * and its VM's MAC learned, which is not this VM's.
		 */
		__atomic_store_n(&s->hb_area[cfg->hb_slot], 0,
				 __ATOMIC_RELAXED);
		err = bpf_map_update_elem(s->fd[STEER_VM_MAC], &cfg->hb_slot,
					  &no_mac, 0);
		if (err) {
			log_err("cannot clear entry %u of map %s: %s",
				cfg->hb_slot, COLO_MAP_VM_MAC, strerror(-err));
			return err;
		}
	}
	/* NOEXIST claims the interface against a concurrent loader */
	return add_entry(s, STEER_CONFIG, s->ifname[r], key, cfg);
}

/*
 * The instance's passthrough rules: the flags', and on a takeover the
 * dead loader's first (those added on its control socket included), with
 * the counters they have.
 */
static int pass_rules(struct colo_steer *s, const struct colo_steer_opts *opts)
{
	struct colo_pass_set set = {};
	char err[256];
	__u32 i;
	int ret;

	if (s->takeover &&
	    !bpf_map_lookup_elem(s->fd[STEER_PASS], &s->hb_slot, &set) &&
	    set.n <= COLO_PASS_MAX)
		s->pass = set;
	else
		memset(&set, 0, sizeof(set));
	for (i = 0; i < opts->pass.n; i++) {
		ret = pass_set_add(&set, &opts->pass.rule[i], err, sizeof(err));
		if (ret == -EEXIST)
			continue;
		if (ret) {
			log_err("--passthrough: with the %u rules the dead loader had: %s",
				s->pass.n, err);
			return ret;
		}
	}
	if (s->pass.n)
		log_info("kept the %u passthrough rule%s of the dead loader",
			 s->pass.n, s->pass.n == 1 ? "" : "s");
	return colo_steer_pass_write(s, &set);
}

static int fill_maps(struct colo_steer *s, const struct colo_steer_opts *opts)
{
	__u32 out = s->ifindex[COLO_ROLE_OUT];
	struct colo_if_config cfg = {
		.state = COLO_STATE_COMPARE,
		.outdev = out,
		.out_stack = s->out_stack,
		.watchdog_ms = s->watchdog_ms,
		.on_loss = s->on_loss,
	};
	int r, err;

	/* the primary's program has a DEVMAP of its own: no one shares it */
	err = add_entry(s, STEER_DEVMAP, s->ifname[COLO_ROLE_OUT], out, &out);
	if (err)
		return err;
	s->added_devmap = true;
	memset(s->percpu, 0, s->ncpus * sizeof(*s->percpu));
	for (r = 0; r < STEER_NR_RX; r++) {
		err = add_entry(s, STEER_STATS, s->ifname[r], s->ifindex[r],
				s->percpu);
		if (err)
			return err;
		s->added_stats[r] = true;
		cfg.queues = s->queues[r];
		err = config_entry(s, r, &cfg);
		if (err)
			return err;
		s->added_config[r] = true;
		s->xsk_base[r] = cfg.xsk_base;
	}
	s->hb_slot = cfg.hb_slot;
	s->hb = &s->hb_area[cfg.hb_slot];
	return pass_rules(s, opts);
}

static int attach_prog(struct colo_steer *s, int r)
{
	int fd = bpf_program__fd(s->skel->progs.colo_steer);
	__u32 mtu;
	int err;

	err = bpf_xdp_attach(s->ifindex[r], fd,
			     s->xdp_flags | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
	if (!err) {
		s->attached[r] = true;
		s->prog_fd[r] = fd;
		return 0;
	}
	if (err == -EEXIST || err == -EBUSY)
		return check_no_prog(s->ifname[r], s->ifindex[r]) ?: err;
	if (err == -EOPNOTSUPP && (s->xdp_flags & XDP_FLAGS_DRV_MODE))
		log_err("%s has no native XDP support: use generic mode (--xdp-mode skb)",
			s->ifname[r]);
	else if (err != -EOPNOTSUPP && !host_mtu(s->ifname[r], &mtu) &&
		 mtu > HOST_PLAIN_MTU)
		/* colo_steer takes multi-buffer frames: the driver does not */
		log_err("%s: attaching %s failed at MTU %u: %s; this driver has no multi-buffer XDP for frames over a page: set its MTU to %u ('ip link set dev %s mtu %u'), or use --xdp-mode skb (generic XDP takes them since Linux 6.9)",
			s->ifname[r], COLO_PROG_NAME, mtu, strerror(-err),
			HOST_PLAIN_MTU, s->ifname[r], HOST_PLAIN_MTU);
	else
		log_err("%s: attaching %s failed: %s", s->ifname[r],
			COLO_PROG_NAME, strerror(-err));
	return err;
}

static int load(struct colo_steer *s, const struct colo_steer_opts *opts)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = s->pins.path);
	int m, err;

	s->skel = colo_steer_bpf__open_opts(&oo);
	if (!s->skel) {
		err = -errno;
		log_err("cannot open the embedded colo_steer object: %s",
			strerror(errno));
		return err;
	}
	s->map[STEER_CONFIG] = s->skel->maps.colo_config;
	s->map[STEER_XSKS] = s->skel->maps.colo_xsks;
	s->map[STEER_DEVMAP] = s->skel->maps.colo_devmap;
	s->map[STEER_STATS] = s->skel->maps.colo_stats;
	s->map[STEER_LOADER] = s->skel->maps.colo_loader;
	s->map[STEER_HEARTBEAT] = s->skel->maps.colo_heartbeat;
	s->map[STEER_VM_MAC] = s->skel->maps.colo_vm_mac;
	s->map[STEER_PASS] = s->skel->maps.colo_pass;
	s->map[STEER_PASS_STATS] = s->skel->maps.colo_pass_stats;
	if (!opts->attach || s->takeover) {
		err = adopt_maps(s);
		if (err)
			return err;
	}
	err = colo_steer_bpf__load(s->skel);
	if (err) {
		log_err("loading %s failed: %s (run with --verbose for libbpf's log)",
			COLO_PROG_NAME, strerror(-err));
		return err;
	}
	for (m = 0; m < STEER_NR_MAPS; m++)
		s->fd[m] = bpf_map__fd(s->map[m]);
	/* heartbeats are stores into it: no syscall in the loop */
	s->hb_len = (COLO_HB_SLOTS * sizeof(__u64) + getpagesize() - 1) &
		    ~((size_t)getpagesize() - 1);
	s->hb_area = mmap(NULL, s->hb_len, PROT_READ | PROT_WRITE, MAP_SHARED,
			  s->fd[STEER_HEARTBEAT], 0);
	if (s->hb_area == MAP_FAILED) {
		err = -errno;
		s->hb_area = NULL;
		log_err("cannot mmap map %s: %s", COLO_MAP_HEARTBEAT,
			strerror(-err));
		return err;
	}
	return 0;
}

/*
 * A takeover needs the dead instance's programs still attached to P and S
 * with the maps pinned in its directory: else the pins are all that is
 * left of it. Keeps the programs' fds, to detach them at close if the
 * dead instance had attached them.
 */
static int check_takeover(struct colo_steer *s)
{
	struct bpf_map_info minfo = {};
	struct bpf_prog_info info;
	__u32 map_ids[STEER_MAX_PROG_MAPS], len, id, i, n;
	bool found;
	int r, fd, err;

	fd = pin_dir_open_pin(s->pins.path, COLO_MAP_CONFIG);
	if (fd < 0) {
		err = fd;
		log_err("pin directory %s has no map %s: remove what is left there with 'rm -r %s'",
			s->pins.path, COLO_MAP_CONFIG, s->pins.path);
		return err;
	}
	len = sizeof(minfo);
	err = bpf_obj_get_info_by_fd(fd, &minfo, &len);
	close(fd);
	if (err) {
		log_err("%s/%s: cannot read it: %s", s->pins.path,
			COLO_MAP_CONFIG, strerror(-err));
		return err;
	}
	for (r = 0; r < STEER_NR_RX; r++) {
		err = host_xdp_prog(s->ifindex[r], s->ifname[r], &id);
		if (err)
			return err;
		fd = id ? bpf_prog_get_fd_by_id(id) : -1;
		found = false;
		if (fd >= 0 && !prog_map_ids(fd, &info, map_ids, &n))
			for (i = 0; i < n; i++)
				found |= map_ids[i] == minfo.id;
		if (!found) {
			if (fd >= 0)
				close(fd);
			log_err("pin directory %s holds the pins of a colo-xdp (pid %u) that did not exit cleanly, but %s no longer runs its %s: remove them with 'rm -r %s'",
				s->pins.path, s->dead_pid, s->ifname[r],
				COLO_PROG_NAME, s->pins.path);
			return -EBUSY;
		}
		s->prog_fd[r] = fd;
	}
	return 0;
}

static void unpin(struct colo_steer *s)
{
	int m;

	if (!s->skel)
		return;
	for (m = 0; m < STEER_NR_MAPS; m++)
		if (bpf_map__is_pinned(s->map[m]))
			bpf_map__unpin(s->map[m], NULL);
}

const char *const colo_out_path_names[] = {
	[COLO_OUT_AUTO] = "auto",
	[COLO_OUT_XDP] = "xdp",
	[COLO_OUT_STACK] = "stack",
	NULL,
};

/* Queues q and above of a mask. */
static __u64 from(unsigned int q)
{
	return q >= 64 ? 0 : ~0ull << q;
}

/*
 * opts->queues against what P, S and O have: every queue of each (up to
 * what colo_steer serves), or the list given, which each must have.
 */
static int resolve_queues(struct colo_steer *s,
			  const struct colo_steer_opts *opts)
{
	const char *flag = opts->queues_flag ?: "--queues";
	__u32 rx, tx, lowest, workers;
	int r, err;

	for (r = COLO_ROLE_PRIMARY; r <= COLO_ROLE_SECONDARY; r++) {
		err = host_queues(s->ifname[r], s->ifindex[r], &rx, &tx);
		if (err) {
			/* nothing tells: the bind says if a queue is missing */
			rx = opts->queues ? COLO_XSK_QUEUES : 1;
			log_warn(
				"%s: cannot tell how many RX queues it has (no ethtool channels, no sysfs of this namespace): %s",
				s->ifname[r],
				opts->queues ? "binding the queues given" :
					       "serving queue 0 only");
		}
		if (!opts->queues && rx > COLO_XSK_QUEUES)
			log_warn(
				"%s has %u RX queues, %s serves the first %d: frames on the others are dropped (no_socket); lower them with 'ethtool -L %s'",
				s->ifname[r], rx, COLO_PROG_NAME,
				COLO_XSK_QUEUES, s->ifname[r]);
		if (opts->queues & from(rx)) {
			log_err("%s: %s %s has %u RX queue%s (%s%u), not queue %d: list queues below %u, or give --queues all, or give it more queues ('ethtool -L %s rx N'; a tap: more queues opened)",
				flag, role_name[r], s->ifname[r], rx,
				rx == 1 ? "" : "s", rx == 1 ? "" : "0-", rx - 1,
				__builtin_ctzll(opts->queues & from(rx)), rx,
				s->ifname[r]);
			return -EINVAL;
		}
		s->queues[r] = opts->queues ?: ~from(rx);
	}
	lowest = opts->queues ? __builtin_ctzll(opts->queues) : 0;
	workers = opts->workers ?: 1;
	r = COLO_ROLE_OUT;
	if (host_queues(s->ifname[r], s->ifindex[r], &rx, &tx))
		tx = lowest + workers; /* the bind says */
	if (lowest >= tx) {
		log_err("%s: the outdev's socket sends on the lowest queue listed, %u, but outdev %s has %u TX queue%s: list a queue below %u too, or give it more queues ('ethtool -L %s tx N')",
			flag, lowest, s->ifname[r], tx, tx == 1 ? "" : "s", tx,
			s->ifname[r]);
		return -EINVAL;
	}
	/* a TX queue takes one AF_XDP socket: workers cannot share one */
	if (lowest + workers > tx) {
		log_err("--workers %u: each worker sends on a TX queue of its own, %u up to %u, but outdev %s has %u TX queue%s: give it more ('ethtool -L %s tx %u'; a veth: numtxqueues), or fewer --workers",
			workers, lowest, lowest + workers - 1, s->ifname[r], tx,
			tx == 1 ? "" : "s", s->ifname[r], lowest + workers);
		return -EINVAL;
	}
	s->queues[r] = (workers >= 64 ? ~0ull : (1ull << workers) - 1)
		       << lowest;
	s->rec.queues[r] = s->queues[r];
	return 0;
}

int colo_steer_open(const struct colo_steer_opts *opts, struct colo_steer **out)
{
	struct colo_steer *s;
	int r, q, err;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->watchdog_ms = opts->watchdog_ms ?: COLO_WATCHDOG_MS_DEFAULT;
	s->on_loss = opts->loss_hold ? COLO_LOSS_HOLD : COLO_LOSS_PASS;
	s->prog_fd[0] = s->prog_fd[1] = -1;
	pin_dir_init(&s->pins);
	s->xdp_flags = opts->skb_mode ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
	for (r = 0; r < COLO_NR_ROLES; r++) {
		err = host_check_iface(opts->ifname[r], role_name[r],
				       &s->ifindex[r]);
		if (err)
			goto out;
		strcpy(s->ifname[r], opts->ifname[r]);
		for (q = 0; q < r; q++)
			if (s->ifindex[q] == s->ifindex[r]) {
				log_err("%s is both the %s and the %s interface: the three must be distinct",
					s->ifname[r], role_name[q],
					role_name[r]);
				err = -EINVAL;
				goto out;
			}
	}
	err = resolve_queues(s, opts);
	if (err)
		goto out;
	s->out_stack = opts->out_path == COLO_OUT_STACK ||
		       (opts->out_path == COLO_OUT_AUTO &&
			host_is_veth(s->ifname[COLO_ROLE_OUT]));
	err = host_check_caps();
	if (err)
		goto out;
	s->ncpus = libbpf_num_possible_cpus();
	if (s->ncpus <= 0) {
		err = s->ncpus ?: -EINVAL;
		goto out;
	}
	s->percpu = calloc(s->ncpus, sizeof(*s->percpu));
	s->pass_zero = calloc(s->ncpus, sizeof(*s->pass_zero));
	if (!s->percpu || !s->pass_zero) {
		err = -ENOMEM;
		goto out;
	}
	err = host_ensure_bpffs();
	if (err)
		goto out;
	err = claim_pins(s, opts);
	if (err)
		goto out;
	if (s->takeover) {
		err = check_takeover(s);
	} else {
		s->rec.attached = opts->attach;
		for (r = 0; !err && opts->attach && r < STEER_NR_RX; r++)
			err = check_no_prog(s->ifname[r], s->ifindex[r]);
	}
	if (err)
		goto out;
	err = load(s, opts);
	if (err)
		goto out;
	/* before the config that marks frames for it */
	if (s->out_stack) {
		bool made = s->rec.out_qdisc;

		err = colo_out_stack_open(s->ifindex[COLO_ROLE_PRIMARY],
					  s->ifname[COLO_ROLE_PRIMARY], &made,
					  &s->out);
		if (err)
			goto out;
		s->rec.out_qdisc = made;
	}
	err = fill_maps(s, opts);
	if (err)
		goto out;
	for (r = 0; r < COLO_NR_ROLES; r++)
		s->rec.ifindex[r] = s->ifindex[r];
	s->rec.pid = getpid();
	err = colo_steer_publish(s, &s->rec.stats);
	if (err)
		goto out;
	/* the directory names a live owner now: nobody else claims it */
	pin_dir_unlock(&s->pins);
	for (r = 0; s->rec.attached && r < STEER_NR_RX; r++) {
		/* on a takeover, the dead instance attached them: ours now */
		if (s->takeover)
			s->attached[r] = true;
		else
			err = attach_prog(s, r);
		if (err)
			goto out;
	}
	if (s->takeover) {
		s->taken = true;
		log_info(
			"took over the instance of colo-xdp pid %u in %s: %s stayed attached to %s and %s, failing open until this loader runs",
			s->dead_pid, s->pins.path, COLO_PROG_NAME, s->ifname[0],
			s->ifname[1]);
	}
	if (!s->out_stack && host_is_veth(s->ifname[COLO_ROLE_OUT]))
		log_warn(
			"note: outdev %s is a veth and --out-path xdp: frames redirected to it arrive only if its peer has an XDP program or GRO on ('ethtool -K PEER gro on')",
			s->ifname[COLO_ROLE_OUT]);
	log_debug("%s %s on %s and %s, outdev %s, maps pinned in %s",
		  s->rec.attached ? "attached" : "adopted", COLO_PROG_NAME,
		  s->ifname[0], s->ifname[1], s->ifname[2], s->pins.path);
	*out = s;
	return 0;
out:
	colo_steer_close(s);
	return err;
}

int colo_steer_add_xsk(struct colo_steer *s, enum colo_role role, __u32 queue,
		       int xsk_fd)
{
	struct colo_if_config cfg;
	__u32 key;
	int err;

	if (role != COLO_ROLE_PRIMARY && role != COLO_ROLE_SECONDARY) {
		log_err("only primary and secondary sockets receive from %s; the outdev's socket transmits only",
			COLO_PROG_NAME);
		return -EINVAL;
	}
	key = s->ifindex[role];
	err = bpf_map_lookup_elem(s->fd[STEER_CONFIG], &key, &cfg);
	if (err) {
		log_err("%s: its entry in map %s is gone: %s", s->ifname[role],
			COLO_MAP_CONFIG, strerror(-err));
		return err;
	}
	if (queue >= COLO_XSK_QUEUES) {
		log_err("%s: queue %u: %s serves RX queues 0 to %d",
			s->ifname[role], queue, COLO_PROG_NAME,
			COLO_XSK_QUEUES - 1);
		return -EINVAL;
	}
	key = cfg.xsk_base + queue;
	err = bpf_map_update_elem(s->fd[STEER_XSKS], &key, &xsk_fd, 0);
	if (err) {
		log_err("%s: binding the AF_XDP socket of queue %u into map %s failed: %s (is the socket bound to %s, queue %u?)",
			s->ifname[role], queue, COLO_MAP_XSKS, strerror(-err),
			s->ifname[role], queue);
		return err;
	}
	s->added_xsk[role] |= 1ull << queue;
	s->xsk_base[role] = cfg.xsk_base;
	s->rec.queues[role] |= 1ull << queue;
	return 0;
}

uint64_t colo_steer_queues(const struct colo_steer *s, enum colo_role role)
{
	return s->queues[role];
}

bool colo_steer_out_stack(const struct colo_steer *s)
{
	return s->out_stack;
}

/* Set the __u32 at off of the config entries of P and S to val. */
static int config_set(struct colo_steer *s, size_t off, __u32 val)
{
	struct colo_if_config cfg;
	__u32 key;
	int r, err;

	for (r = 0; r < STEER_NR_RX; r++) {
		key = s->ifindex[r];
		err = bpf_map_lookup_elem(s->fd[STEER_CONFIG], &key, &cfg);
		if (!err) {
			memcpy((char *)&cfg + off, &val, sizeof(val));
			err = bpf_map_update_elem(s->fd[STEER_CONFIG], &key,
						  &cfg, BPF_EXIST);
		}
		if (err) {
			log_err("%s: cannot update its entry in map %s: %s",
				s->ifname[r], COLO_MAP_CONFIG, strerror(-err));
			return err;
		}
	}
	return 0;
}

int colo_steer_set_state(struct colo_steer *s, enum colo_state state)
{
	return config_set(s, offsetof(struct colo_if_config, state), state);
}

/* The counters of rule r start at zero, unless r was in the set already. */
static int pass_zero(struct colo_steer *s, const struct colo_pass_rule *r)
{
	__u32 i, key = s->hb_slot * COLO_PASS_MAX + r->slot;
	int err;

	for (i = 0; i < s->pass.n; i++)
		if (s->pass.rule[i].slot == r->slot &&
		    pass_rule_same(&s->pass.rule[i], r))
			return 0;
	err = bpf_map_update_elem(s->fd[STEER_PASS_STATS], &key, s->pass_zero,
				  0);
	if (err)
		log_err("cannot clear the counters of a passthrough rule in map %s: %s",
			COLO_MAP_PASS_STATS, strerror(-err));
	return err;
}

int colo_steer_pass_write(struct colo_steer *s, const struct colo_pass_set *set)
{
	__u32 i;
	int err;

	if (set->n > COLO_PASS_MAX)
		return -EINVAL;
	for (i = 0; i < set->n; i++) {
		err = pass_zero(s, &set->rule[i]);
		if (err)
			return err;
	}
	/* one update replaces the whole set: see colo_steer.bpf.c */
	err = bpf_map_update_elem(s->fd[STEER_PASS], &s->hb_slot, set, 0);
	if (err) {
		log_err("cannot write the passthrough rules into map %s: %s",
			COLO_MAP_PASS, strerror(-err));
		return err;
	}
	s->added_pass = true;
	s->pass = *set;
	/* the set first: a frame that sees the flag finds the rules */
	return config_set(s, offsetof(struct colo_if_config, passthrough),
			  set->n > 0);
}

const struct colo_pass_set *colo_steer_pass(const struct colo_steer *s)
{
	return &s->pass;
}

bool colo_steer_adopted_running(const struct colo_steer *s)
{
	return s->takeover;
}

void colo_steer_give_back(struct colo_steer *s)
{
	s->taken = false;
}

bool colo_steer_failed_over(const struct colo_steer *s)
{
	return s->failed_over;
}

pid_t colo_steer_dead_keeper(const struct colo_steer *s)
{
	return s->takeover ? (pid_t)s->dead_keeper : 0;
}

const struct colo_loader_stats *
colo_steer_dead_stats(const struct colo_steer *s)
{
	return s->takeover ? &s->dead_stats : NULL;
}

int colo_steer_set_keeper(struct colo_steer *s, pid_t pid)
{
	__u32 zero = 0;
	int err;

	s->rec.keeper_pid = pid;
	err = bpf_map_update_elem(s->fd[STEER_LOADER], &zero, &s->rec, 0);
	if (err)
		log_err("cannot record keeper pid %d in map %s: %s", pid,
			COLO_MAP_LOADER, strerror(-err));
	return err;
}

void colo_steer_fail_open(struct colo_steer *s)
{
	/* older than any watchdog; 0 would disarm it instead */
	__atomic_store_n(s->hb, 1, __ATOMIC_RELAXED);
}

int colo_steer_heartbeat(struct colo_steer *s, uint64_t now_ns)
{
	uint64_t last = __atomic_load_n(s->hb, __ATOMIC_RELAXED);

	__atomic_store_n(s->hb, now_ns, __ATOMIC_RELAXED);
	return colo_heartbeat_lost(last, now_ns, s->watchdog_ms);
}

int colo_steer_ifindex(const struct colo_steer *s, enum colo_role role)
{
	return s->ifindex[role];
}

const char *colo_steer_ifname(const struct colo_steer *s, enum colo_role role)
{
	return s->ifname[role];
}

__u32 colo_steer_slot(const struct colo_steer *s)
{
	return s->hb - s->hb_area;
}

const char *colo_steer_pin_path(const struct colo_steer *s)
{
	return s->pins.path;
}

int colo_steer_read_stats(const struct colo_steer *s, enum colo_role role,
			  struct colo_steer_stats *out)
{
	__u32 key;
	int err, c;

	memset(out, 0, sizeof(*out));
	if (role != COLO_ROLE_PRIMARY && role != COLO_ROLE_SECONDARY)
		return -EINVAL; /* colo_steer does not run on the outdev */
	key = s->ifindex[role];
	err = bpf_map_lookup_elem(s->fd[STEER_STATS], &key, s->percpu);
	if (err)
		return err;
	for (c = 0; c < s->ncpus; c++) {
		out->to_socket += s->percpu[c].to_socket;
		out->bypassed += s->percpu[c].bypassed;
		out->dropped += s->percpu[c].dropped;
		out->malformed += s->percpu[c].malformed;
		out->no_socket += s->percpu[c].no_socket;
		out->degraded_passed += s->percpu[c].degraded_passed;
		out->degraded_dropped += s->percpu[c].degraded_dropped;
		out->passthrough += s->percpu[c].passthrough;
	}
	return 0;
}

int colo_steer_publish(struct colo_steer *s,
		       const struct colo_loader_stats *stats)
{
	__u32 zero = 0;

	s->rec.stats = *stats;
	return bpf_map_update_elem(s->fd[STEER_LOADER], &zero, &s->rec, 0);
}

void colo_steer_set_umem(struct colo_steer *s,
			 const struct colo_umem_report *umem, __u32 zero_copy)
{
	s->rec.umem = *umem;
	s->rec.zero_copy = zero_copy;
}

/* Remove every entry, attach, pin and directory this instance owns. */
static void undo(struct colo_steer *s)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, xo);
	__u32 key, q;
	int r, err;

	/* a clean stop must not look like a dead loader: disarm first */
	if (s->hb)
		__atomic_store_n(s->hb, 0, __ATOMIC_RELAXED);
	for (r = 0; r < STEER_NR_RX; r++) {
		/* only if it is still ours: someone may have replaced it */
		if (s->attached[r]) {
			xo.old_prog_fd = s->prog_fd[r];
			err = bpf_xdp_detach(s->ifindex[r], s->xdp_flags, &xo);
			/* ENODEV: the program went away with its interface */
			if (err && err != -ENODEV)
				log_err("%s: %s left attached: %s (remove it with 'ip link set dev %s xdp off')",
					s->ifname[r], COLO_PROG_NAME,
					strerror(-err), s->ifname[r]);
		}
		key = s->ifindex[r];
		if (s->added_config[r])
			bpf_map_delete_elem(s->fd[STEER_CONFIG], &key);
		if (s->added_stats[r])
			bpf_map_delete_elem(s->fd[STEER_STATS], &key);
	}
	/* the sockets' slots, once no config entry points to them */
	for (r = 0; r < STEER_NR_RX; r++)
		for (q = 0; q < COLO_XSK_QUEUES; q++) {
			key = s->xsk_base[r] + q;
			if (s->added_xsk[r] >> q & 1)
				bpf_map_delete_elem(s->fd[STEER_XSKS], &key);
		}
	/* nothing is marked for it any more */
	colo_out_stack_close(s->out, false);
	s->out = NULL;
	if (s->added_devmap) {
		key = s->ifindex[COLO_ROLE_OUT];
		bpf_map_delete_elem(s->fd[STEER_DEVMAP], &key);
	}
	if (s->added_pass)
		bpf_map_delete_elem(s->fd[STEER_PASS], &s->hb_slot);
	unpin(s);
	pin_dir_remove(&s->pins);
}

void colo_steer_close(struct colo_steer *s)
{
	int r;

	if (!s)
		return;
	if (!s->takeover || s->taken)
		undo(s);
	/* given back: the dead instance's frames still go out through it */
	colo_out_stack_close(s->out, true);
	pin_dir_unlock(&s->pins);
	if (s->hb_area)
		munmap(s->hb_area, s->hb_len);
	/* a takeover's program fds are its own, the skeleton's are not */
	for (r = 0; s->takeover && r < STEER_NR_RX; r++)
		if (s->prog_fd[r] >= 0)
			close(s->prog_fd[r]);
	colo_steer_bpf__destroy(s->skel);
	free(s->percpu);
	free(s->pass_zero);
	free(s);
}
