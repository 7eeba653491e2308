// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * colo-xdp stat: the counters of every running instance, read from its pin
 * directory: colo_steer's per-CPU steering counters (colo_stats, keyed by
 * ifindex) and per passthrough rule (colo_pass_stats), what the loader
 * publishes in colo_loader (engine and datapath counters, which interfaces
 * and which process), and whether the loader is alive for colo_steer's
 * watchdog (colo_heartbeat's age).
 */
#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cli.h"
#include "cli_opts.h"
#include "commands.h"
#include "counters.h"
#include "hostmem.h"
#include "json.h"
#include "pass_spec.h"
#include "pin_dir.h"

#define CMD "stat"

#define STEER_F(f)                                                   \
	{                                                            \
#f, offsetof(struct colo_steer_stats, f), COLO_TOTAL \
	}
/* What colo_steer counts per role, by its field names. */
static const struct colo_counter steer_fields[] = {
	STEER_F(to_socket),	   STEER_F(bypassed),
	STEER_F(dropped),	   STEER_F(malformed),
	STEER_F(no_socket),	   STEER_F(degraded_passed),
	STEER_F(degraded_dropped), STEER_F(passthrough),
};

#define NFIELDS(a) (sizeof(a) / sizeof(a[0]))

static const char *const role_key[COLO_NR_ROLES] = { "primary", "secondary",
						     "outdev" };

struct instance {
	const char *path;
	struct colo_loader rec;
	struct colo_steer_stats steer[2]; /* primary, secondary */
	bool have_steer[2];
	struct pin_dir_liveness live;
	struct colo_pass_set pass;
	struct colo_pass_count pass_count[COLO_PASS_MAX];
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

static volatile sig_atomic_t stat_stop;

static void on_sigint(int sig)
{
	stat_stop = 1;
}

/* Fill one instance from its pins; -ENOENT if path holds no instance. */
static int read_instance(struct instance *in, const char *path, int ncpus,
			 struct colo_steer_stats *percpu)
{
	int sfd, r, c, err;
	__u32 key;
	size_t f;

	in->path = path;
	err = pin_dir_owner(path, &in->rec);
	if (err)
		return err;
	pin_dir_alive(path, &in->rec, &in->live);
	sfd = pin_dir_open_pin(path, COLO_MAP_STATS);
	for (r = 0; r < 2; r++) {
		memset(&in->steer[r], 0, sizeof(in->steer[r]));
		key = in->rec.ifindex[r];
		in->have_steer[r] = sfd >= 0 &&
				    !bpf_map_lookup_elem(sfd, &key, percpu);
		for (c = 0; in->have_steer[r] && c < ncpus; c++)
			for (f = 0; f < NFIELDS(steer_fields); f++)
				*(__u64 *)((char *)&in->steer[r] +
					   steer_fields[f].off) +=
					colo_counter_get(&percpu[c],
							 &steer_fields[f]);
	}
	if (sfd >= 0)
		close(sfd);
	/* pins of an older colo_steer have no rules: none to show */
	pin_dir_pass(path, in->rec.ifindex[COLO_ROLE_PRIMARY], &in->pass,
		     in->pass_count);
	return 0;
}

static const char *ifname_of(__u32 ifindex, char *buf)
{
	if (!ifindex || !if_indextoname(ifindex, buf))
		strcpy(buf, "?");
	return buf;
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

static void print_human(const struct instance *in)
{
	const struct pin_dir_liveness *l = &in->live;
	char name[IF_NAMESIZE], spec[PASS_SPEC_MAX];
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
		printf(" %s %s (%u)", role_key[r],
		       ifname_of(in->rec.ifindex[r], name), in->rec.ifindex[r]);
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
	if (in->pass.n)
		printf("  passthrough rules (frames since each was added):\n");
	for (r = 0; r < (int)in->pass.n; r++) {
		pass_spec_format(&in->pass.rule[r], spec, sizeof(spec));
		printf("    %s  primary %llu  secondary %llu\n", spec,
		       (unsigned long long)in->pass_count[r].primary,
		       (unsigned long long)in->pass_count[r].secondary);
	}
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

static void print_json(const struct instance *in, bool first)
{
	const struct pin_dir_liveness *l = &in->live;
	char name[IF_NAMESIZE], spec[PASS_SPEC_MAX];
	const char *sep;
	unsigned int i;
	int r;

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
		printf(",\"ifindex\":%u}", in->rec.ifindex[r]);
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
		printf(",\"primary\":%llu,\"secondary\":%llu}",
		       (unsigned long long)in->pass_count[i].primary,
		       (unsigned long long)in->pass_count[i].secondary);
	}
	printf("],\"engine\":");
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

/* One round of show(): how to print, and how many were shown. */
struct round {
	bool json;
	int ncpus;
	struct colo_steer_stats *percpu;
	int n;
};

/*
 * An entry that holds no instance is skipped; one refused to us ends the
 * round: without root, none can be read.
 */
static int show_one(const char *path, void *arg)
{
	struct round *rd = arg;
	struct instance in;
	int err;

	err = read_instance(&in, path, rd->ncpus, rd->percpu);
	if (err == -EPERM || err == -EACCES)
		return err;
	if (err)
		return 0;
	rd->json ? print_json(&in, !rd->n) : print_human(&in);
	rd->n++;
	return 0;
}

/* One round: every instance (or the named one). Returns instances shown. */
static int show(const char *pin_path, bool json, int ncpus,
		struct colo_steer_stats *percpu)
{
	struct round rd = { .json = json, .ncpus = ncpus, .percpu = percpu };
	struct instance in;
	int err;

	if (json)
		printf("{\"instances\":[");
	if (pin_path) {
		err = read_instance(&in, pin_path, ncpus, percpu);
		if (!err) {
			json ? print_json(&in, true) : print_human(&in);
			rd.n++;
		} else if (err != -ENOENT) {
			rd.n = err;
		}
	} else {
		err = pin_dir_for_each(show_one, &rd);
		if (err)
			rd.n = err;
	}
	if (json)
		printf("]}\n");
	fflush(stdout);
	return rd.n;
}

struct stat_opts {
	const char *pin_path;
	bool json;
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
	.usage = "[--pin-path DIR] [--json] [--watch [SECONDS]]",
	.about =
		"Show the counters of every running colo-xdp instance (pinned under\n" COLO_PIN_ROOT
		"/): what colo_steer did with the frames of each role\n"
		"and of each passthrough rule, and the loader's engine and datapath\n"
		"counters.\n",
	.opts = stat_opts,
};

int cmd_stat(int argc, char **argv)
{
	struct colo_steer_stats *percpu = NULL;
	struct stat_opts o = {};
	int ncpus, n, ret;

	ret = cli_opts_parse(&stat_cmd, argc, argv, &o, sizeof(o), NULL);
	if (ret >= 0)
		return ret;
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
	signal(SIGINT, on_sigint);
	signal(SIGTERM, on_sigint);
	for (;;) {
		n = show(o.pin_path, o.json, ncpus, percpu);
		if (n == -EPERM || n == -EACCES) {
			cli_err(CMD,
				"cannot read the pinned maps: %s: run as root",
				strerror(-n));
			goto out;
		}
		if (n < 0) {
			cli_err(CMD, "%s: %s", o.pin_path, strerror(-n));
			goto out;
		}
		if (!n) {
			cli_err(CMD,
				"no colo-xdp instance is pinned in %s: start one with 'colo-xdp run'",
				o.pin_path ? o.pin_path : COLO_PIN_ROOT);
			goto out;
		}
		if (!o.interval)
			break;
		sleep(o.interval);
		if (stat_stop)
			break;
		if (!o.json)
			putchar('\n');
	}
	ret = 0;
out:
	free(percpu);
	return ret;
}
