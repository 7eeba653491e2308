// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * colo-xdp stat: the counters of every running instance, read from its pin
 * directory: colo_steer's per-CPU steering counters (colo_stats, keyed by
 * ifindex) and per passthrough rule (colo_pass_stats), colo_mirror's
 * (colo_mir_stats) with the VM MAC it mirrors for, what the loader
 * publishes in colo_loader (engine and datapath counters, which interfaces
 * and which process), and whether the loader is alive for colo_steer's
 * watchdog (colo_heartbeat's age); of every secondary agent, its
 * rewriter's per-CPU counters and its record (colo_secondary: interfaces,
 * process, sweep); and of every chardev bridge, its record (colo_chardev:
 * tap, channels, counters).
 */
#include <errno.h>
#include <net/if.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bridge.h"
#include "cli.h"
#include "cli_opts.h"
#include "colo_mirror.h"
#include "commands.h"
#include "counters.h"
#include "hostmem.h"
#include "json.h"
#include "mac.h"
#include "pass_spec.h"
#include "pin_dir.h"
#include "pins.h"
#include "prom.h"
#include "queue_list.h"
#include "record.h"
#include "stat.h"
#include "secondary_fields.h"

#define CMD "stat"

/* colo_steer's and colo_mirror's counters: totals since the attach */
#define FIELD(type, f, h)                            \
	{                                            \
#f, offsetof(type, f), COLO_TOTAL, h \
	}
#define STEER_F(f, h) FIELD(struct colo_steer_stats, f, h)
#define MIRROR_F(f, h) FIELD(struct colo_mirror_stats, f, h)
/* clang-format off */
/* What colo_steer counts per role, by its field names. */
static const struct colo_counter steer_fields[] = {
	STEER_F(to_socket, "Frames colo_steer redirected to the side's AF_XDP socket"),
	STEER_F(bypassed, "Primary frames colo_steer sent to the outdev uncompared"),
	STEER_F(dropped, "Secondary frames colo_steer dropped uncompared"),
	STEER_F(malformed, "Frames whose headers did not fit (of bypassed and dropped)"),
	STEER_F(no_socket, "Frames with no AF_XDP socket bound for their queue"),
	STEER_F(degraded_passed, "Primary frames sent out uncompared while the loader was lost (pass)"),
	STEER_F(degraded_dropped, "Frames dropped while the loader was lost"),
	STEER_F(passthrough, "Frames of a passthrough flow, decided in the kernel"),
};
/* And colo_mirror, on the outdev's ingress. */
static const struct colo_counter mirror_fields[] = {
	MIRROR_F(to_vm, "Clients' frames for the VM sent on to the primary"),
	MIRROR_F(mirrored, "Frames for the VM copied out of the secondary interface (of to_vm)"),
	MIRROR_F(clone_failed_secondary, "Frames for the VM the secondary missed: no copy could be sent (of to_vm)"),
	MIRROR_F(flooded, "Broadcast and multicast frames, left to the outdev's stack too (of to_vm)"),
	MIRROR_F(clone_failed_primary, "Flooded frames the primary missed: no copy could be sent"),
	MIRROR_F(left_alone, "Frames for other hosts, untouched"),
	MIRROR_F(no_vm_mac, "Unicast frames untouched: no VM MAC known yet"),
};

#define NFIELDS(a) (sizeof(a) / sizeof(a[0]))

static const char *const role_key[COLO_NR_ROLES] = { "primary", "secondary",
						     "outdev" };

struct instance {
	const char *path;
	struct colo_loader rec;
	struct colo_steer_stats steer[2]; /* primary, secondary */
	bool have_steer[2];
	/* colo_mirror's settings and counters: pinned while it is on */
	bool have_mirror;
	struct colo_mirror_config mirror;
	struct colo_mirror_stats mirror_stats;
	__u64 learned_mac; /* what colo_steer learned, 0: nothing yet */
	struct pin_dir_liveness live;
	struct colo_pass_set pass;
	struct colo_pass_count pass_count[COLO_PASS_MAX];
};

/* Room for one per-CPU value of any of the maps read, per CPU. */
union percpu_value {
	struct colo_steer_stats steer;
	struct colo_mirror_stats mirror;
};

static const char *const loader_state[] = {
	[PIN_DIR_NOT_STARTED] = "not started",
	[PIN_DIR_ALIVE] = "alive",
	[PIN_DIR_DEAD] = "dead",
	[PIN_DIR_LOST] = "lost",
};

static const char *const on_loss_name[] = {
	[COLO_LOSS_PASS] = "pass",
	[COLO_LOSS_HOLD] = "hold",
};

/*
 * The entry key of the map pinned as name in path: into out (size bytes);
 * per CPU (ncpus values, in percpu), summed counter by counter into out.
 * False if there is no such pin or entry.
 */
static bool read_pinned(const char *path, const char *name, __u32 key,
			void *out, size_t size, int ncpus,
			union percpu_value *percpu)
{
	__u64 *sum = out, *v;
	bool found;
	size_t f;
	int fd, c;

	memset(out, 0, size);
	/* another version's value would overrun out, or percpu */
	fd = pin_dir_open_map(path, name, size);
	if (fd < 0)
		return false;
	found = !bpf_map_lookup_elem(fd, &key, percpu ? (void *)percpu : out);
	for (c = 0; found && percpu && c < ncpus; c++)
		/* the kernel's stride: the value's size, in 8-byte units */
		for (v = (__u64 *)((char *)percpu + c * size), f = 0;
		     f < size / sizeof(*v); f++)
			sum[f] += v[f];
	close(fd);
	return found;
}

/* Fill one instance from its pins; -ENOENT if path holds no instance. */
static int read_instance(struct instance *in, const char *path, int ncpus,
			 union percpu_value *percpu)
{
	int r, err;

	in->path = path;
	err = pin_dir_owner(path, &in->rec);
	if (err)
		return err;
	pin_dir_alive(path, &in->rec, &in->live);
	for (r = 0; r < 2; r++)
		in->have_steer[r] = read_pinned(
			path, COLO_MAP_STATS, in->rec.ifindex[r], &in->steer[r],
			sizeof(in->steer[r]), ncpus, percpu);
	/* pins of an older colo_steer have no rules: none to show */
	pin_dir_pass(path, in->rec.ifindex[COLO_ROLE_PRIMARY], &in->pass,
		     in->pass_count);
	in->have_mirror = read_pinned(path, COLO_MAP_MIRROR_CONFIG, 0,
				      &in->mirror, sizeof(in->mirror), 0, NULL);
	if (!in->have_mirror)
		return 0;
	read_pinned(path, COLO_MAP_MIRROR_STATS, 0, &in->mirror_stats,
		    sizeof(in->mirror_stats), ncpus, percpu);
	read_pinned(path, COLO_MAP_VM_MAC, in->mirror.slot, &in->learned_mac,
		    sizeof(in->learned_mac), 0, NULL);
	return 0;
}

static const char *ifname_of(__u32 ifindex, char *buf)
{
	if (!ifindex || !if_indextoname(ifindex, buf))
		strcpy(buf, "?");
	return buf;
}

/*
 * The AF_XDP mode of role's socket, as one of three words: unknown (no
 * sockets bound yet: the UMEM is reported with them), copy, zero-copy.
 */
static const char *mode_of(const struct instance *in, int role,
			   const char *unknown, const char *copy,
			   const char *zero_copy)
{
	if (!in->rec.umem.size)
		return unknown;
	return in->rec.zero_copy & (1u << role) ? zero_copy : copy;
}

/* Those of the n counters at f that are of kind, six to a line. */
static void print_fields(const char *title, const void *base,
			 const struct colo_counter *f, size_t n,
			 enum colo_counter_kind kind)
{
	size_t i, shown = 0;

	printf("  %s:", title);
	for (i = 0; i < n; i++)
		if (f[i].kind == kind)
			printf("%s%s %llu", shown++ % 6 ? "  " : "\n    ",
			       f[i].name,
			       (unsigned long long)colo_counter_get(base,
								    &f[i]));
	putchar('\n');
}

/* The VM MAC the mirror goes by: --vm-mac, or the one learned, or 0. */
static __u64 mirror_mac(const struct instance *in)
{
	return in->mirror.vm_mac ?: in->learned_mac;
}

static void print_mirror(const struct instance *in)
{
	char mac[MAC_STR_LEN], title[128];

	if (!in->have_mirror) {
		printf("  mirror: off (--mirror off: the clients' frames reach the replicas by other means)\n");
		return;
	}
	if (in->mirror.vm_mac)
		snprintf(title, sizeof(title), "mirror: VM MAC %s (--vm-mac)",
			 mac_format(in->mirror.vm_mac, mac));
	else if (in->learned_mac)
		snprintf(
			title, sizeof(title),
			"mirror: VM MAC %s (learned from the primary's frames)",
			mac_format(in->learned_mac, mac));
	else
		snprintf(
			title, sizeof(title),
			"mirror: no VM MAC yet (nothing from the primary): only broadcast and multicast reach the replicas");
	print_fields(title, &in->mirror_stats, mirror_fields,
		     NFIELDS(mirror_fields), COLO_TOTAL);
}

/* Each passthrough rule and its counters, as `ctl passthrough-list`. */
static void print_pass(const struct instance *in)
{
	char spec[PASS_SPEC_MAX];
	unsigned int f;
	__u32 r;

	if (in->pass.n)
		printf("  passthrough rules (totals since each was added):\n");
	for (r = 0; r < in->pass.n; r++) {
		pass_spec_format(&in->pass.rule[r], spec, sizeof(spec));
		printf("    %s", spec);
		for (f = 0; f < colo_pass_counters_n; f++)
			printf("  %s %llu", colo_pass_counters[f].name,
			       (unsigned long long)colo_counter_get(
				       &in->pass_count[r],
				       &colo_pass_counters[f]));
		putchar('\n');
	}
}

static void print_human(const struct instance *in)
{
	const struct pin_dir_liveness *l = &in->live;
	char name[IF_NAMESIZE], qs[QUEUE_LIST_LEN];
	const char *note = "";
	size_t f;
	int r;

	printf("%s: pid %u%s\n", in->path, in->rec.pid,
	       l->loader ?
		       "" :
		       " (not running: restart 'colo-xdp run' with the same interfaces and pin path to take over, or remove its pins with 'rm -r DIR')");
	if (in->rec.keeper_pid && !l->keeper)
		printf("  keeper: pid %u (gone)\n", in->rec.keeper_pid);
	else if (in->rec.keeper_pid)
		printf("  keeper: pid %u%s\n", in->rec.keeper_pid,
		       l->loader ?
			       "" :
			       ": the frames of the dead loader wait for its successor");
	if (l->state == PIN_DIR_LOST)
		note = ": colo_steer no longer waits for it";
	else if (l->state == PIN_DIR_DEAD)
		note = ": its keeper holds the sockets until the watchdog fails colo_steer open";
	if (l->state == PIN_DIR_NOT_STARTED)
		printf("  loader: %s (no heartbeat yet: frames to compare wait for its sockets)\n",
		       loader_state[l->state]);
	else
		printf("  loader: %s (heartbeat %llu ms ago, watchdog %u ms, on loss %s)%s\n",
		       loader_state[l->state], (unsigned long long)l->age_ms,
		       l->watchdog_ms, on_loss_name[l->on_loss], note);
	printf("  interfaces:");
	for (r = 0; r < COLO_NR_ROLES; r++)
		printf(" %s %s (%u%s%s%s)", role_key[r],
		       ifname_of(in->rec.ifindex[r], name), in->rec.ifindex[r],
		       mode_of(in, r, "", ", copy", ", zero-copy"),
		       in->rec.queues[r] ? ", queues " : "",
		       queue_list_format(in->rec.queues[r], qs, sizeof(qs)));
	putchar('\n');
	if (in->rec.umem.size) {
		printf("  ");
		hostmem_report_print(&in->rec.umem, stdout);
	}
	printf("  %-10s", "steering (totals since attach)");
	for (f = 0; f < NFIELDS(steer_fields); f++)
		printf(" %16s", steer_fields[f].name);
	putchar('\n');
	for (r = 0; r < 2; r++) {
		printf("  %-10s", role_key[r]);
		for (f = 0; f < NFIELDS(steer_fields); f++)
			if (in->have_steer[r])
				printf(" %16llu",
				       (unsigned long long)colo_counter_get(
					       &in->steer[r],
					       &steer_fields[f]));
			else
				printf(" %16s", "-");
		putchar('\n');
	}
	print_pass(in);
	print_mirror(in);
	print_fields("engine, totals since the loader started", &in->rec.stats,
		     colo_counters, colo_counters_engine, COLO_TOTAL);
	print_fields("engine, now", &in->rec.stats, colo_counters,
		     colo_counters_engine, COLO_GAUGE);
	print_fields("datapath, totals since the loader started",
		     &in->rec.stats, colo_counters + colo_counters_engine,
		     colo_counters_n - colo_counters_engine, COLO_TOTAL);
	print_fields("datapath, now", &in->rec.stats,
		     colo_counters + colo_counters_engine,
		     colo_counters_n - colo_counters_engine, COLO_GAUGE);
}

static void json_umem(const struct colo_umem_report *u)
{
	const char *sep = "";
	uint32_t n;

	if (!u->size) {
		printf("null");
		return;
	}
	printf("{\"policy\":");
	json_print_str(stdout, u->policy);
	printf(",\"mode\":");
	json_print_str(stdout, u->mode);
	printf(",\"nodes\":");
	json_print_str(stdout, u->nodes);
	printf(",\"size\":%llu,\"page_size\":%llu,\"pages\":%llu,\"pages_absent\":%llu,\"pages_on_node\":{",
	       (unsigned long long)u->size, (unsigned long long)u->page_size,
	       (unsigned long long)u->pages,
	       (unsigned long long)u->pages_absent);
	for (n = 0; u->max_node != UINT32_MAX && n <= u->max_node &&
		    n < COLO_UMEM_MAX_NODES;
	     n++) {
		if (!u->pages_on_node[n])
			continue;
		printf("%s\"%u\":%llu", sep, n,
		       (unsigned long long)u->pages_on_node[n]);
		sep = ",";
	}
	printf("},\"dump\":%s}", u->dump ? "true" : "false");
}

/* null when off; the VM MAC is null until one is known. */
static void json_mirror(const struct instance *in)
{
	char mac[MAC_STR_LEN];

	if (!in->have_mirror) {
		printf("null");
		return;
	}
	printf("{\"vm_mac\":");
	if (mirror_mac(in))
		printf("\"%s\"", mac_format(mirror_mac(in), mac));
	else
		printf("null");
	printf(",\"vm_mac_fixed\":%s,\"counters\":",
	       in->mirror.vm_mac ? "true" : "false");
	colo_counters_print_json(stdout, &in->mirror_stats, mirror_fields,
				 NFIELDS(mirror_fields));
	putchar('}');
}

static void print_json(const struct instance *in, bool first)
{
	const struct pin_dir_liveness *l = &in->live;
	char name[IF_NAMESIZE], spec[PASS_SPEC_MAX];
	const char *sep;
	unsigned int i, f;
	int r, q, n;

	printf("%s{\"pin_path\":", first ? "" : ",");
	json_print_str(stdout, in->path);
	printf(",\"pid\":%u,\"running\":%s,", in->rec.pid,
	       l->loader ? "true" : "false");
	printf("\"keeper\":{\"pid\":%u,\"running\":%s},", in->rec.keeper_pid,
	       l->keeper ? "true" : "false");
	printf("\"loader\":{\"state\":\"%s\",\"heartbeat_age_ms\":",
	       loader_state[l->state]);
	if (l->state != PIN_DIR_NOT_STARTED)
		printf("%llu,\"watchdog_ms\":%u,\"on_loss\":\"%s\"},",
		       (unsigned long long)l->age_ms, l->watchdog_ms,
		       on_loss_name[l->on_loss]);
	else
		printf("null},");
	printf("\"interfaces\":{");
	for (r = 0; r < COLO_NR_ROLES; r++) {
		printf("%s\"%s\":{\"name\":", r ? "," : "", role_key[r]);
		json_print_str(stdout, ifname_of(in->rec.ifindex[r], name));
		printf(",\"ifindex\":%u,\"mode\":%s,\"queues\":[",
		       in->rec.ifindex[r],
		       mode_of(in, r, "null", "\"copy\"", "\"zero-copy\""));
		for (q = 0, n = 0; q < 64; q++)
			if (in->rec.queues[r] >> q & 1)
				printf("%s%d", n++ ? "," : "", q);
		printf("]}");
	}
	printf("},\"umem\":");
	json_umem(&in->rec.umem);
	printf(",\"steer\":{");
	for (r = 0; r < 2; r++) {
		printf("%s\"%s\":", r ? "," : "", role_key[r]);
		if (in->have_steer[r])
			colo_counters_print_json(stdout, &in->steer[r],
						 steer_fields,
						 NFIELDS(steer_fields));
		else
			printf("null");
	}
	printf("},\"passthrough\":[");
	for (i = 0; i < in->pass.n; i++) {
		pass_spec_format(&in->pass.rule[i], spec, sizeof(spec));
		printf("%s{\"spec\":", i ? "," : "");
		json_print_str(stdout, spec);
		for (f = 0; f < colo_pass_counters_n; f++)
			printf(",\"%s\":%llu", colo_pass_counters[f].name,
			       (unsigned long long)colo_counter_get(
				       &in->pass_count[i],
				       &colo_pass_counters[f]));
		putchar('}');
	}
	printf("],\"mirror\":");
	json_mirror(in);
	printf(",\"engine\":");
	colo_counters_print_json(stdout, &in->rec.stats, colo_counters,
				 colo_counters_engine);
	printf(",\"datapath\":");
	colo_counters_print_json(stdout, &in->rec.stats,
				 colo_counters + colo_counters_engine,
				 colo_counters_n - colo_counters_engine);
	/* every other counter is a total: it never goes down */
	printf(",\"gauges\":[");
	for (i = 0, sep = ""; i < colo_counters_n; i++)
		if (colo_counters[i].kind == COLO_GAUGE) {
			printf("%s\"%s\"", sep, colo_counters[i].name);
			sep = ",";
		}
	printf("]}");
}

static void sec_human(const char *path, const struct secondary_view *v)
{
	printf("%s: secondary, pid %u%s\n", path, v->rec.pid,
	       v->running ?
		       "" :
		       " (not running: its programs may still rewrite; 'colo-xdp secondary' on the same interfaces takes them over)");
	printf("  interfaces: vm %.*s (%u) link %.*s (%u)\n", COLO_RW_IFNAMSIZ,
	       v->rec.vm, v->rec.vm_ifindex, COLO_RW_IFNAMSIZ, v->rec.link,
	       v->rec.link_ifindex);
	printf("  connections: %llu of %u\n",
	       (unsigned long long)v->rec.sweep.conns, v->rec.max_conns);
	printf("  state: %s; checkpoints told by the control socket: %llu\n",
	       v->rec.failover ? "failover" : "forwarding",
	       (unsigned long long)v->rec.ctl_checkpoints);
	if (v->have_stats)
		print_fields("rewriter, totals since attach", &v->st,
			     secondary_rw_fields, secondary_rw_fields_n,
			     COLO_TOTAL);
	else
		printf("  rewriter: -\n");
	print_fields("sweep, totals since the first agent started", &v->rec.sweep,
		     secondary_sweep_fields, secondary_sweep_fields_n,
		     COLO_TOTAL);
}

static void sec_json(const char *path, const struct secondary_view *v,
		     bool first)
{
	char name[COLO_RW_IFNAMSIZ + 1];

	printf("%s{\"pin_path\":", first ? "" : ",");
	json_print_str(stdout, path);
	printf(",\"pid\":%u,\"running\":%s,\"interfaces\":{\"vm\":{\"name\":",
	       v->rec.pid, v->running ? "true" : "false");
	snprintf(name, sizeof(name), "%.*s", COLO_RW_IFNAMSIZ, v->rec.vm);
	json_print_str(stdout, name);
	printf(",\"ifindex\":%u},\"link\":{\"name\":", v->rec.vm_ifindex);
	snprintf(name, sizeof(name), "%.*s", COLO_RW_IFNAMSIZ, v->rec.link);
	json_print_str(stdout, name);
	printf(",\"ifindex\":%u}},\"max_connections\":%u,\"failover\":%s,\"ctl_checkpoints\":%llu,\"rewrite\":",
	       v->rec.link_ifindex, v->rec.max_conns,
	       v->rec.failover ? "true" : "false",
	       (unsigned long long)v->rec.ctl_checkpoints);
	if (v->have_stats)
		colo_counters_print_json(stdout, &v->st, secondary_rw_fields,
					 secondary_rw_fields_n);
	else
		printf("null");
	printf(",\"sweep\":");
	colo_counters_print_json(stdout, &v->rec.sweep, secondary_sweep_fields,
				 secondary_sweep_fields_n);
	putchar('}');
}

static const char *const dir_key[COLO_CHARDEV_NR_DIRS] = { "in", "out" };

static void chardev_human(const char *path, const struct colo_chardev *c)
{
	char title[COLO_CHARDEV_SPEC + 64];
	int d;

	printf("%s: chardev, pid %u%s\n", path, c->pid,
	       pin_dir_pid_runs(c->pid) ?
		       "" :
		       " (not running: remove its pins with 'rm -r DIR')");
	printf("  tap %.*s (%u), vnet header ", COLO_CHARDEV_IFNAMSIZ, c->tap,
	       c->ifindex);
	if (c->vnet)
		printf("length field on, %u bytes\n", c->vnet - 1);
	else
		printf("off\n");
	for (d = 0; d < COLO_CHARDEV_NR_DIRS; d++) {
		if (!c->spec[d][0])
			continue;
		snprintf(title, sizeof(title), "--%s %.*s (%s)", dir_key[d],
			 COLO_CHARDEV_SPEC, c->spec[d],
			 c->connected & (1u << d) ? "connected" : "no peer");
		print_fields(title, &c->st[d], chardev_counters,
			     chardev_counters_n, COLO_TOTAL);
	}
}

static void chardev_json(const char *path, const struct colo_chardev *c,
			 bool first)
{
	char buf[COLO_CHARDEV_SPEC + 1];
	int d;

	printf("%s{\"pin_path\":", first ? "" : ",");
	json_print_str(stdout, path);
	snprintf(buf, sizeof(buf), "%.*s", COLO_CHARDEV_IFNAMSIZ, c->tap);
	printf(",\"pid\":%u,\"running\":%s,\"tap\":{\"name\":", c->pid,
	       pin_dir_pid_runs(c->pid) ? "true" : "false");
	json_print_str(stdout, buf);
	printf(",\"ifindex\":%u},\"vnet_hdr\":", c->ifindex);
	if (c->vnet)
		printf("%u", c->vnet - 1);
	else
		printf("null");
	for (d = 0; d < COLO_CHARDEV_NR_DIRS; d++) {
		printf(",\"%s\":", dir_key[d]);
		if (!c->spec[d][0]) {
			printf("null");
			continue;
		}
		snprintf(buf, sizeof(buf), "%.*s", COLO_CHARDEV_SPEC,
			 c->spec[d]);
		printf("{\"addr\":");
		json_print_str(stdout, buf);
		printf(",\"connected\":%s,\"counters\":",
		       c->connected & (1u << d) ? "true" : "false");
		colo_counters_print_json(stdout, &c->st[d], chardev_counters,
					 chardev_counters_n);
		putchar('}');
	}
	putchar('}');
}

/* The kinds of pin directory stat shows, in this order. */
enum stat_kind { KIND_RUN, KIND_SECONDARY, KIND_CHARDEV, NR_KINDS };

/*
 * One round of show(): what to look for (run's instances, secondary
 * agents, or chardev bridges), how to print, how many were shown of each.
 */
struct round {
	enum stat_kind kind;
	bool json;
	int ncpus;
	union percpu_value *percpu;
	int n[NR_KINDS];
};

/*
 * Show what path holds if it is of the kind looked for: 1 if it was,
 * 0 if it holds none of it, or a negative errno.
 */
static int show_path(const char *path, struct round *rd)
{
	struct secondary_view v;
	struct colo_chardev c;
	struct instance in;
	int *n = &rd->n[rd->kind], err;

	if (rd->kind == KIND_SECONDARY)
		err = secondary_pins_read(path, &v);
	else if (rd->kind == KIND_CHARDEV)
		err = chardev_record_read(path, &c);
	else
		err = read_instance(&in, path, rd->ncpus, rd->percpu);
	if (err == -ENOENT)
		return 0;
	if (err)
		return err;
	if (rd->kind == KIND_SECONDARY)
		rd->json ? sec_json(path, &v, !*n) : sec_human(path, &v);
	else if (rd->kind == KIND_CHARDEV)
		rd->json ? chardev_json(path, &c, !*n) :
			   chardev_human(path, &c);
	else
		rd->json ? print_json(&in, !*n) : print_human(&in);
	(*n)++;
	return 1;
}

/*
 * An entry that holds no instance is skipped; one refused to us ends the
 * round: without root, none can be read.
 */
static int show_one(const char *path, void *arg)
{
	int err = show_path(path, arg);

	return err == -EPERM || err == -EACCES ? err : 0;
}

/*
 * One round: every instance and agent (or the named one). Returns how
 * many were shown, or a negative errno.
 */
static int show(const char *pin_path, bool json, int ncpus,
		union percpu_value *percpu)
{
	static const char *const opening[NR_KINDS] = { "{\"instances\":[",
						       "],\"secondaries\":[",
						       "],\"chardevs\":[" };
	struct round rd = { .json = json, .ncpus = ncpus, .percpu = percpu };
	int kind, err = 0;

	for (kind = 0; !err && kind < NR_KINDS; kind++) {
		rd.kind = kind;
		if (json)
			printf("%s", opening[kind]);
		if (pin_path)
			err = show_path(pin_path, &rd);
		else
			err = pin_dir_for_each(show_one, &rd);
		err = err < 0 ? err : 0;
	}
	if (json)
		printf("]}\n");
	fflush(stdout);
	return err ? err : rd.n[0] + rd.n[1] + rd.n[2];
}

/*
 * --prometheus: every instance and agent is read first, since the format
 * wants each family's samples together, whatever process they are of.
 */
struct prom_view {
	struct instance *in;
	unsigned int n_in;
	struct prom_sec {
		char *path;
		struct secondary_view v;
	} * sec;
	unsigned int n_sec;
	struct prom_chardev {
		char *path;
		struct colo_chardev c;
	} * cd;
	unsigned int n_cd;
	int ncpus;
	union percpu_value *percpu;
};

/* A family's samples: where each one's counters are, and its labels. */
struct prom_item {
	const void *base;
	char labels[PROM_LABELS_MAX];
};

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash && slash[1] ? slash + 1 : path;
}

/* instance and role, and key="value" when key is given */
static void labels_of(char *buf, const char *path, const char *role,
		      const char *key, const char *value)
{
	if (key)
		prom_labels(buf, PROM_LABELS_MAX, "instance", base_name(path),
			    "role", role, key, value, NULL, NULL);
	else
		prom_labels(buf, PROM_LABELS_MAX, "instance", base_name(path),
			    "role", role, NULL);
}

/* One family per counter of c, with a sample per item. */
static void prom_group(FILE *f, const char *group, const struct colo_counter *c,
		       unsigned int n, const struct prom_item *it,
		       unsigned int nit)
{
	unsigned int i, k;

	if (!nit)
		return;
	for (i = 0; i < n; i++) {
		prom_family(f, group, c[i].name, c[i].kind, c[i].help);
		for (k = 0; k < nit; k++)
			prom_sample(f, group, c[i].name, c[i].kind,
				    it[k].labels,
				    colo_counter_get(it[k].base, &c[i]));
	}
}

static int prom_collect(const char *path, void *arg)
{
	struct prom_view *pv = arg;
	struct prom_chardev *cd;
	struct instance *in;
	struct prom_sec *sec;
	int err;

	in = realloc(pv->in, (pv->n_in + 1) * sizeof(*in));
	if (!in)
		return -ENOMEM;
	pv->in = in;
	in += pv->n_in;
	in->path = strdup(path);
	if (!in->path)
		return -ENOMEM;
	err = read_instance(in, in->path, pv->ncpus, pv->percpu);
	if (!err) {
		pv->n_in++;
		return 0;
	}
	free((char *)in->path);
	if (err != -ENOENT)
		return err == -EPERM || err == -EACCES ? err : 0;
	sec = realloc(pv->sec, (pv->n_sec + 1) * sizeof(*sec));
	if (!sec)
		return -ENOMEM;
	pv->sec = sec;
	sec += pv->n_sec;
	err = secondary_pins_read(path, &sec->v);
	if (!err) {
		sec->path = strdup(path);
		if (!sec->path)
			return -ENOMEM;
		pv->n_sec++;
		return 0;
	}
	if (err != -ENOENT)
		return err == -EPERM || err == -EACCES ? err : 0;
	cd = realloc(pv->cd, (pv->n_cd + 1) * sizeof(*cd));
	if (!cd)
		return -ENOMEM;
	pv->cd = cd;
	cd += pv->n_cd;
	err = chardev_record_read(path, &cd->c);
	if (err)
		return err == -EPERM || err == -EACCES ? err : 0;
	cd->path = strdup(path);
	if (!cd->path)
		return -ENOMEM;
	pv->n_cd++;
	return 0;
}

static void prom_free(struct prom_view *pv)
{
	unsigned int i;

	for (i = 0; i < pv->n_in; i++)
		free((char *)pv->in[i].path);
	for (i = 0; i < pv->n_sec; i++)
		free(pv->sec[i].path);
	for (i = 0; i < pv->n_cd; i++)
		free(pv->cd[i].path);
	free(pv->in);
	free(pv->sec);
	free(pv->cd);
}

static void prom_up(FILE *f, const struct prom_view *pv)
{
	char l[PROM_LABELS_MAX];
	unsigned int i;

	prom_family(
		f, "", "up", COLO_GAUGE,
		"1 while the instance's process runs (the loader, the secondary agent, a chardev bridge)");
	for (i = 0; i < pv->n_in; i++) {
		labels_of(l, pv->in[i].path, "primary", NULL, NULL);
		prom_sample(f, "", "up", COLO_GAUGE, l, pv->in[i].live.loader);
	}
	for (i = 0; i < pv->n_sec; i++) {
		labels_of(l, pv->sec[i].path, "secondary", NULL, NULL);
		prom_sample(f, "", "up", COLO_GAUGE, l, pv->sec[i].v.running);
	}
	for (i = 0; i < pv->n_cd; i++) {
		labels_of(l, pv->cd[i].path, "chardev", NULL, NULL);
		prom_sample(f, "", "up", COLO_GAUGE, l,
			    pin_dir_pid_runs(pv->cd[i].c.pid));
	}
	if (!pv->n_in)
		return;
	prom_family(f, "", "keeper_up", COLO_GAUGE,
		    "1 while the keeper of the loader's sockets and UMEM runs");
	for (i = 0; i < pv->n_in; i++) {
		labels_of(l, pv->in[i].path, "primary", NULL, NULL);
		prom_sample(f, "", "keeper_up", COLO_GAUGE, l,
			    pv->in[i].live.keeper);
	}
}

static void prom_print(FILE *f, const struct prom_view *pv,
		       struct prom_item *it)
{
	const unsigned int ne = colo_counters_engine;
	char spec[PASS_SPEC_MAX];
	unsigned int i, n;
	int r;

	prom_up(f, pv);
	for (i = n = 0; i < pv->n_in; i++)
		for (r = 0; r < 2; r++)
			if (pv->in[i].have_steer[r]) {
				it[n].base = &pv->in[i].steer[r];
				labels_of(it[n++].labels, pv->in[i].path,
					  "primary", "side", role_key[r]);
			}
	prom_group(f, "steer", steer_fields, NFIELDS(steer_fields), it, n);
	for (i = n = 0; i < pv->n_in; i++)
		if (pv->in[i].have_mirror) {
			it[n].base = &pv->in[i].mirror_stats;
			labels_of(it[n++].labels, pv->in[i].path, "primary",
				  NULL, NULL);
		}
	prom_group(f, "mirror", mirror_fields, NFIELDS(mirror_fields), it, n);
	for (i = 0; i < pv->n_in; i++) {
		it[i].base = &pv->in[i].rec.stats;
		labels_of(it[i].labels, pv->in[i].path, "primary", NULL, NULL);
	}
	prom_group(f, "engine", colo_counters, ne, it, pv->n_in);
	prom_group(f, "datapath", colo_counters + ne, colo_counters_n - ne, it,
		   pv->n_in);
	for (i = n = 0; i < pv->n_sec; i++)
		if (pv->sec[i].v.have_stats) {
			it[n].base = &pv->sec[i].v.st;
			labels_of(it[n++].labels, pv->sec[i].path, "secondary",
				  NULL, NULL);
		}
	prom_group(f, "rewrite", secondary_rw_fields, secondary_rw_fields_n, it,
		   n);
	for (i = 0; i < pv->n_sec; i++) {
		it[i].base = &pv->sec[i].v.rec.sweep;
		labels_of(it[i].labels, pv->sec[i].path, "secondary", NULL, NULL);
	}
	prom_group(f, "sweep", secondary_sweep_fields, secondary_sweep_fields_n,
		   it, pv->n_sec);
	for (i = n = 0; i < pv->n_in; i++)
		for (r = 0; r < (int)pv->in[i].pass.n; r++) {
			pass_spec_format(&pv->in[i].pass.rule[r], spec,
					 sizeof(spec));
			it[n].base = &pv->in[i].pass_count[r];
			labels_of(it[n++].labels, pv->in[i].path, "primary",
				  "rule", spec);
		}
	prom_group(f, "passthrough", colo_pass_counters, colo_pass_counters_n,
		   it, n);
	for (i = n = 0; i < pv->n_cd; i++)
		for (r = 0; r < COLO_CHARDEV_NR_DIRS; r++)
			if (pv->cd[i].c.spec[r][0]) {
				it[n].base = &pv->cd[i].c.st[r];
				labels_of(it[n++].labels, pv->cd[i].path,
					  "chardev", "direction", dir_key[r]);
			}
	prom_group(f, "chardev", chardev_counters, chardev_counters_n, it, n);
}

int stat_prometheus(const char *pin_path, FILE *f)
{
	struct prom_view pv = {};
	struct prom_item *it = NULL;
	int err;

	pv.ncpus = libbpf_num_possible_cpus();
	if (pv.ncpus <= 0)
		return pv.ncpus ? pv.ncpus : -EINVAL;
	pv.percpu = calloc(pv.ncpus, sizeof(*pv.percpu));
	if (!pv.percpu)
		return -ENOMEM;
	err = pin_path ? prom_collect(pin_path, &pv) :
			 pin_dir_for_each(prom_collect, &pv);
	if (err < 0)
		goto out;
	err = pv.n_in + pv.n_sec + pv.n_cd;
	if (!err)
		goto out;
	/* samples per family at most: a rule's, a side's, a direction's */
	it = calloc(COLO_PASS_MAX * pv.n_in + pv.n_sec +
			    COLO_CHARDEV_NR_DIRS * pv.n_cd,
		    sizeof(*it));
	if (!it) {
		err = -ENOMEM;
		goto out;
	}
	prom_print(f, &pv, it);
out:
	free(it);
	prom_free(&pv);
	free(pv.percpu);
	return err;
}

struct stat_opts {
	const char *pin_path;
	bool json;
	bool prometheus;
	uint32_t interval; /* 0: once */
};

/* "--watch", "--watch 2" and "--watch=2": an interval of 1 s unless told. */
static int parse_watch(const char *cmd, const struct cli_opt *opt, void *field,
		       const char *arg)
{
	*(uint32_t *)field = 1;
	return arg ? cli_parse_u32(cmd, "--watch", arg, 1, 3600, field) : 0;
}

static const struct cli_opt stat_opts[] = {
	{ .type = CLI_OPT_STRING,
	  .name = "pin-path",
	  .arg = "DIR",
	  .off = offsetof(struct stat_opts, pin_path),
	  .what = "a directory",
	  .help = "only the instance pinned in DIR" },
	{ .type = CLI_OPT_FLAG,
	  .name = "json",
	  .off = offsetof(struct stat_opts, json),
	  .help = "one JSON object (per round with --watch)" },
	{ .type = CLI_OPT_FLAG,
	  .name = "prometheus",
	  .off = offsetof(struct stat_opts, prometheus),
	  .help = "the Prometheus text format, once (for\n"
		  "node_exporter's textfile collector)" },
	{ .type = CLI_OPT_FUNC,
	  .name = "watch",
	  .arg = "SECONDS",
	  .arg_optional = true,
	  .next_word = true,
	  .off = offsetof(struct stat_opts, interval),
	  .parse = parse_watch,
	  .def = "1",
	  .help = "repeat every SECONDS until interrupted" },
	{ .type = CLI_OPT_END },
};

static const struct cli_cmd stat_cmd = {
	.name = CMD,
	.usage = "[--pin-path DIR] [--json | --prometheus] [--watch [SECONDS]]",
	.about =
		"Show the counters of every running colo-xdp instance (pinned under\n" COLO_PIN_ROOT
		"/): what colo_steer did with the frames of each role\n"
		"and of each passthrough rule, and the loader's engine and datapath\n"
		"counters; of every secondary agent, what its rewriter did and its\n"
		"sweep removed; and of every chardev bridge, the frames it moved each\n"
		"way.\n",
	.opts = stat_opts,
};

/* The errors of a round, as the user can act on them. */
static void round_err(const char *pin_path, int n)
{
	if (n == -EPERM || n == -EACCES)
		cli_err(CMD, "cannot read the pinned maps: %s: run as root",
			strerror(-n));
	else if (n == -EPROTO)
		cli_err(CMD,
			"%s was pinned by another version of colo-xdp, whose counters this one cannot read: use that version's 'colo-xdp stat'",
			pin_path);
	else if (n < 0)
		cli_err(CMD, "%s: %s", pin_path ? pin_path : COLO_PIN_ROOT,
			strerror(-n));
	else
		cli_err(CMD,
			"no colo-xdp instance is pinned in %s: start one with 'colo-xdp run', 'colo-xdp secondary' or 'colo-xdp chardev'",
			pin_path ? pin_path : COLO_PIN_ROOT);
}

static int prometheus(const char *pin_path)
{
	int n = stat_prometheus(pin_path, stdout);

	fflush(stdout);
	if (n > 0)
		return 0;
	round_err(pin_path, n);
	return 1;
}

int cmd_stat(int argc, char **argv)
{
	union percpu_value *percpu = NULL;
	struct stat_opts o = {};
	int ncpus, n, ret;

	ret = cli_opts_parse(&stat_cmd, argc, argv, &o, sizeof(o), NULL);
	if (ret >= 0)
		return ret;
	if (o.prometheus && (o.json || o.interval)) {
		cli_err(CMD,
			"--prometheus prints once, alone: leave out --json and --watch (a collector reads the file again itself)");
		return CLI_EXIT_USAGE;
	}
	if (o.prometheus)
		return prometheus(o.pin_path);
	ret = 1;
	ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0) {
		cli_err(CMD, "cannot count the possible CPUs: %s",
			strerror(-ncpus));
		return 1;
	}
	percpu = calloc(ncpus, sizeof(*percpu));
	if (!percpu)
		goto out;
	if (cli_catch_stop())
		goto out;
	for (;;) {
		n = show(o.pin_path, o.json, ncpus, percpu);
		if (n <= 0) {
			round_err(o.pin_path, n);
			goto out;
		}
		if (!o.interval)
			break;
		sleep(o.interval);
		if (cli_stop)
			break;
		if (!o.json)
			putchar('\n');
	}
	ret = 0;
out:
	free(percpu);
	return ret;
}
