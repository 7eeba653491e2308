// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "colo_out.h"
#include "colo_out.skel.h"
#include "host.h"
#include "log.h"
#include "out_stack.h"
#include "tc_ingress.h"

struct colo_out_stack {
	struct colo_out_bpf *skel;
	struct bpf_tc_hook hook; /* P's ingress */
	__u32 prog_id; /* attached: what close detaches, if still there */
	bool made_qdisc;
	const char *ifname;
};

static struct tc_ingress ingress(const struct colo_out_stack *o)
{
	struct tc_ingress t;

	if (tc_ingress_read(o->hook.ifindex, COLO_OUT_TC_PRIO,
			    COLO_OUT_TC_HANDLE, &t))
		memset(&t, 0, sizeof(t));
	return t;
}

/* What holds colo_out's place: ours from before (1), nothing (0), or refused. */
static int left_behind(struct colo_out_stack *o)
{
	struct tc_ingress t = ingress(o);
	char name[BPF_OBJ_NAME_LEN];

	if (t.other_kind[0]) {
		log_err("%s: a tc filter of kind %s holds priority %u on its ingress, where colo-xdp's colo_out goes: delete it with 'tc filter del dev %s ingress pref %u' and add it again at another priority",
			o->ifname, t.other_kind, COLO_OUT_TC_PRIO, o->ifname,
			COLO_OUT_TC_PRIO);
		return -EBUSY;
	}
	if (!t.prog_id)
		return 0;
	host_prog_name(t.prog_id, name, sizeof(name));
	if (!strcmp(name, COLO_OUT_PROG_NAME))
		return 1;
	log_err("%s: the tc filter of someone else (program '%s', id %u) holds the place of colo-xdp's colo_out on its ingress: remove it with 'tc filter del dev %s ingress pref %u handle 0x%x bpf'",
		o->ifname, name, t.prog_id, o->ifname, COLO_OUT_TC_PRIO,
		COLO_OUT_TC_HANDLE);
	return -EBUSY;
}

static int attach(struct colo_out_stack *o, bool replace)
{
	LIBBPF_OPTS(bpf_tc_opts, to,
		    .prog_fd = bpf_program__fd(o->skel->progs.colo_out),
		    .handle = COLO_OUT_TC_HANDLE, .priority = COLO_OUT_TC_PRIO,
		    .flags = replace ? BPF_TC_F_REPLACE : 0);
	int err;

	if (!ingress(o).qdisc) {
		err = bpf_tc_hook_create(&o->hook);
		if (err) {
			log_err("%s: cannot add a clsact qdisc for %s: %s",
				o->ifname, COLO_OUT_PROG_NAME, strerror(-err));
			return err;
		}
		o->made_qdisc = true;
	}
	err = bpf_tc_attach(&o->hook, &to);
	if (err)
		log_err("%s: attaching %s to its ingress failed: %s", o->ifname,
			COLO_OUT_PROG_NAME, strerror(-err));
	else
		o->prog_id = to.prog_id;
	return err;
}

int colo_out_stack_open(int ifindex, const char *ifname, bool *made_qdisc,
			struct colo_out_stack **out)
{
	struct colo_out_stack *o;
	int left, err;

	*out = NULL;
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->hook.sz = sizeof(o->hook);
	o->hook.ifindex = ifindex;
	o->hook.attach_point = BPF_TC_INGRESS;
	o->ifname = ifname;
	o->made_qdisc = *made_qdisc;
	left = left_behind(o);
	err = left < 0 ? left : 0;
	if (!err) {
		o->skel = colo_out_bpf__open_and_load();
		if (!o->skel) {
			err = -errno;
			log_err("loading %s failed: %s (run with --verbose for libbpf's log)",
				COLO_OUT_PROG_NAME, strerror(-err));
		}
	}
	if (!err)
		err = attach(o, left > 0);
	if (err) {
		colo_out_stack_close(o, false);
		return err;
	}
	*made_qdisc = o->made_qdisc;
	*out = o;
	return 0;
}

void colo_out_stack_close(struct colo_out_stack *o, bool keep)
{
	LIBBPF_OPTS(bpf_tc_opts, to, .handle = COLO_OUT_TC_HANDLE,
		    .priority = COLO_OUT_TC_PRIO);
	struct bpf_tc_hook all;
	struct tc_ingress t;
	int err;

	if (!o)
		return;
	t = ingress(o);
	/* only if it is still ours: someone may have replaced it */
	if (!keep && o->prog_id && t.prog_id == o->prog_id) {
		err = bpf_tc_detach(&o->hook, &to);
		if (err && err != -ENOENT && err != -ENODEV)
			log_err("%s: %s left on its ingress: %s (remove it with 'tc filter del dev %s ingress pref %u handle 0x%x bpf')",
				o->ifname, COLO_OUT_PROG_NAME, strerror(-err),
				o->ifname, COLO_OUT_TC_PRIO,
				COLO_OUT_TC_HANDLE);
		t = ingress(o);
	}
	if (!keep && o->made_qdisc && t.qdisc && t.empty) {
		all = o->hook;
		all.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		bpf_tc_hook_destroy(&all);
	}
	colo_out_bpf__destroy(o->skel);
	free(o);
}
