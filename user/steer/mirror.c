// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Loader side of colo_mirror.bpf.o. The object is loaded with the
 * instance's pin directory as its pin root: its colo_vm_mac is the one
 * colo_steer pinned there, and its settings and counters are pinned there
 * too, where `colo-xdp stat` reads them and where a loader that takes the
 * instance over after a crash finds them, its counters going on.
 *
 * A tc filter does not end with the process that added it: when the loader
 * is killed, the clients' frames keep reaching both replicas, and its
 * successor replaces the filter in one step (tc's replace), with its own
 * settings.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "colo_mirror.h"
#include "colo_mirror.skel.h"
#include "host.h"
#include "log.h"
#include "mirror.h"
#include "pin_dir.h"
#include "tc_ingress.h"

struct colo_mirror {
	struct colo_mirror_bpf *skel;
	struct bpf_tc_hook hook; /* the outdev's ingress */
	__u32 handle; /* of the filter: the primary's ifindex */
	__u32 prog_id; /* attached: what close detaches, if still there */
	/* the instance made the clsact qdisc (or the dead one it took over) */
	bool made_qdisc;
	/* the mirror's pins are this instance's to remove */
	bool own_pins;
	const char *ifname; /* the outdev's */
	const char *pins; /* the instance's pin directory */
};

/* What the outdev's ingress holds now; nothing if it cannot be read. */
static struct tc_ingress ingress(const struct colo_mirror *m)
{
	struct tc_ingress t;

	if (tc_ingress_read(m->hook.ifindex, COLO_MIRROR_TC_PRIO, m->handle,
			    &t))
		memset(&t, 0, sizeof(t));
	return t;
}

/*
 * The qdisc this instance made goes once nothing is left in it; one with
 * anyone else's filters stays, and so does one that was there before.
 */
static void remove_qdisc(struct colo_mirror *m)
{
	struct bpf_tc_hook all = m->hook;
	struct tc_ingress t = ingress(m);

	if (!m->made_qdisc || !t.qdisc || !t.empty)
		return;
	all.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
	bpf_tc_hook_destroy(&all);
}

static void detach(struct colo_mirror *m)
{
	LIBBPF_OPTS(bpf_tc_opts, o, .handle = m->handle,
		    .priority = COLO_MIRROR_TC_PRIO);
	int err = bpf_tc_detach(&m->hook, &o);

	/* ENOENT: gone already; ENODEV: with its interface */
	if (err && err != -ENOENT && err != -ENODEV)
		log_err("%s: %s left on its ingress: %s (remove it with 'tc filter del dev %s ingress pref %u handle 0x%x bpf')",
			m->ifname, COLO_MIRROR_PROG_NAME, strerror(-err),
			m->ifname, COLO_MIRROR_TC_PRIO, m->handle);
}

/*
 * The mirror a previous loader left in this instance's place: its program
 * (0: none), and from the settings it pinned whether it made the qdisc.
 * Anyone else's filter there is refused, unless the mirror is off.
 */
static int left_behind(struct colo_mirror *m, bool on, __u32 *id)
{
	struct tc_ingress t = ingress(m);
	struct colo_mirror_config old;
	char name[BPF_OBJ_NAME_LEN];
	__u32 zero = 0;
	int fd;

	if (on && t.other_kind[0]) {
		log_err("%s: a tc filter of kind %s holds priority %u on its ingress, where colo-xdp's mirror goes: move it with 'tc filter del dev %s ingress pref %u' and add it again at another priority, or mirror by other means with --mirror off",
			m->ifname, t.other_kind, COLO_MIRROR_TC_PRIO, m->ifname,
			COLO_MIRROR_TC_PRIO);
		return -EBUSY;
	}
	*id = t.prog_id;
	if (*id)
		host_prog_name(*id, name, sizeof(name));
	/* anyone else's: in a mirror's way, and not for --mirror off to remove */
	if (*id && strcmp(name, COLO_MIRROR_PROG_NAME)) {
		if (on) {
			log_err("%s: the tc filter of someone else (program '%s', id %u) holds the place of colo-xdp's mirror on its ingress: remove it with 'tc filter del dev %s ingress pref %u handle 0x%x bpf', or mirror by other means with --mirror off",
				m->ifname, name, *id, m->ifname,
				COLO_MIRROR_TC_PRIO, m->handle);
			return -EBUSY;
		}
		*id = 0;
	}
	fd = pin_dir_open_pin(m->pins, COLO_MAP_MIRROR_CONFIG);
	if (fd < 0)
		return 0;
	if (!bpf_map_lookup_elem(fd, &zero, &old))
		m->made_qdisc = old.made_qdisc;
	close(fd);
	return 0;
}

/*
 * --mirror off: a mirror left in this instance's place goes, pins too (its
 * qdisc at close).
 */
static void remove_left(struct colo_mirror *m, __u32 id)
{
	if (id)
		detach(m);
	pin_dir_unlink(m->pins, COLO_MAP_MIRROR_CONFIG);
	pin_dir_unlink(m->pins, COLO_MAP_MIRROR_STATS);
	if (id)
		log_info(
			"--mirror off: removed the mirror (program id %u) a previous colo-xdp left on %s",
			id, m->ifname);
}

static int load(struct colo_mirror *m)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = m->pins);
	int fd, err;

	/* a dead instance's pins are its own until this mirror replaces it */
	fd = pin_dir_open_pin(m->pins, COLO_MAP_MIRROR_CONFIG);
	m->own_pins = fd < 0;
	if (fd >= 0)
		close(fd);
	m->skel = colo_mirror_bpf__open_opts(&oo);
	if (!m->skel) {
		err = -errno;
		log_err("cannot open the embedded %s object: %s",
			COLO_MIRROR_PROG_NAME, strerror(-err));
		return err;
	}
	/* libbpf unpins what it pinned itself if this fails */
	err = colo_mirror_bpf__load(m->skel);
	if (err)
		log_err("loading %s failed: %s (run with --verbose for libbpf's log)",
			COLO_MIRROR_PROG_NAME, strerror(-err));
	return err;
}

/* The clsact qdisc on the outdev: made unless there is one already. */
static int add_qdisc(struct colo_mirror *m)
{
	int err;

	if (ingress(m).qdisc)
		return 0;
	err = bpf_tc_hook_create(&m->hook);
	if (err) {
		log_err("%s: cannot add a clsact qdisc for the mirror: %s",
			m->ifname, strerror(-err));
		return err;
	}
	m->made_qdisc = true;
	return 0;
}

static int set_config(struct colo_mirror *m, struct colo_steer *s, __u64 vm)
{
	struct colo_mirror_config cfg = {
		.primary = colo_steer_ifindex(s, COLO_ROLE_PRIMARY),
		.secondary = colo_steer_ifindex(s, COLO_ROLE_SECONDARY),
		.slot = colo_steer_slot(s),
		.made_qdisc = m->made_qdisc,
		.vm_mac = vm,
	};
	__u32 zero = 0;
	int err;

	err = bpf_map_update_elem(bpf_map__fd(m->skel->maps.colo_mir_config),
				  &zero, &cfg, 0);
	if (err)
		log_err("cannot write map %s: %s", COLO_MAP_MIRROR_CONFIG,
			strerror(-err));
	return err;
}

/* In one step over what was there: no frame passes without a mirror. */
static int attach(struct colo_mirror *m, bool replace)
{
	LIBBPF_OPTS(bpf_tc_opts, o,
		    .prog_fd = bpf_program__fd(m->skel->progs.colo_mirror),
		    .handle = m->handle, .priority = COLO_MIRROR_TC_PRIO,
		    .flags = replace ? BPF_TC_F_REPLACE : 0);
	int err = bpf_tc_attach(&m->hook, &o);

	if (err)
		log_err("%s: attaching %s to its ingress failed: %s", m->ifname,
			COLO_MIRROR_PROG_NAME, strerror(-err));
	else
		m->prog_id = o.prog_id;
	return err;
}

int colo_mirror_open(struct colo_steer *s, bool on, __u64 vm_mac,
		     struct colo_mirror **out)
{
	struct colo_mirror *m;
	__u32 left;
	int err;

	*out = NULL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->hook.sz = sizeof(m->hook);
	m->hook.ifindex = colo_steer_ifindex(s, COLO_ROLE_OUT);
	m->hook.attach_point = BPF_TC_INGRESS;
	m->handle = colo_steer_ifindex(s, COLO_ROLE_PRIMARY);
	m->ifname = colo_steer_ifname(s, COLO_ROLE_OUT);
	m->pins = colo_steer_pin_path(s);
	err = left_behind(m, on, &left);
	if (!err && !on)
		remove_left(m, left);
	if (err || !on)
		goto out;
	err = load(m);
	if (!err)
		err = add_qdisc(m);
	if (!err)
		err = set_config(m, s, vm_mac);
	if (!err)
		err = attach(m, left);
	if (err)
		goto out;
	m->own_pins = true;
	*out = m;
	return 0;
out:
	colo_mirror_close(m);
	return err;
}

void colo_mirror_close(struct colo_mirror *m)
{
	if (!m)
		return;
	/* only if it is still ours: someone may have replaced it */
	if (m->prog_id && ingress(m).prog_id == m->prog_id)
		detach(m);
	remove_qdisc(m);
	if (m->own_pins && m->skel) {
		bpf_map__unpin(m->skel->maps.colo_mir_config, NULL);
		bpf_map__unpin(m->skel->maps.colo_mir_stats, NULL);
	}
	colo_mirror_bpf__destroy(m->skel);
	free(m);
}
