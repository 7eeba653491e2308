// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * colo-xdp stat: the counters of every running instance, read from its pin
 * directory: colo_steer's per-CPU steering counters (colo_stats, keyed by
 * ifindex) and what the loader publishes in colo_loader (engine and
 * datapath counters, which interfaces and which process), and whether the
 * loader is alive for colo_steer's watchdog (colo_heartbeat's age).
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cli.h"
#include "commands.h"
#include "counters.h"
#include "hostmem.h"
#include "json.h"
#include "steer.h"

#define CMD "stat"

#define STEER_F(f)                                       \
	{                                                \
#f, offsetof(struct colo_steer_stats, f) \
	}
/* What colo_steer counts per role, by its field names. */
static const struct colo_counter steer_fields[] = {
	STEER_F(to_socket),	   STEER_F(bypassed),  STEER_F(dropped),
	STEER_F(malformed),	   STEER_F(no_socket), STEER_F(degraded_passed),
	STEER_F(degraded_dropped),
};

#define NFIELDS(a) (sizeof(a) / sizeof(a[0]))

static const char *const role_key[COLO_NR_ROLES] = { "primary", "secondary",
						     "outdev" };

struct instance {
	char path[PATH_MAX];
	struct colo_loader rec;
	struct colo_steer_stats steer[2]; /* primary, secondary */
	bool have_steer[2];
	bool running;
	bool keeping; /* its keeper runs */
	struct colo_if_config cfg; /* the primary's */
	__u64 heartbeat; /* 0: none, or the watchdog settings are unknown */
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

static int open_pin(const char *dir, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return bpf_obj_get(path);
}

/* The loader's heartbeat and watchdog settings, if its pins have them. */
static void read_heartbeat(struct instance *in)
{
	__u32 key = in->rec.ifindex[COLO_ROLE_PRIMARY];
	int cfd, hfd;

	in->heartbeat = 0;
	cfd = open_pin(in->path, COLO_MAP_CONFIG);
	hfd = open_pin(in->path, COLO_MAP_HEARTBEAT);
	if (cfd >= 0 && hfd >= 0 && !bpf_map_lookup_elem(cfd, &key, &in->cfg) &&
	    in->cfg.on_loss <= COLO_LOSS_HOLD) {
		key = in->cfg.hb_slot;
		if (bpf_map_lookup_elem(hfd, &key, &in->heartbeat))
			in->heartbeat = 0;
	}
	if (cfd >= 0)
		close(cfd);
	if (hfd >= 0)
		close(hfd);
}

/*
 * What colo_steer makes of the loader: "alive", "lost" (it fails open or
 * holds) or "not started" (disarmed); *age_ms is the heartbeat's age.
 */
static const char *loader_state(const struct instance *in, __u64 *age_ms)
{
	__u64 age, now;

	*age_ms = 0;
	if (!in->heartbeat)
		return "not started";
	now = cli_now_ns();
	age = now - in->heartbeat;
	*age_ms = age / 1000000;
	/* a dead process's sockets gone with it: colo_steer sees that at once */
	if (colo_heartbeat_lost(in->heartbeat, now, in->cfg.watchdog_ms) ||
	    (!in->running && !in->keeping))
		return "lost";
	/* its keeper holds the sockets: lost once the watchdog says so */
	return in->running ? "alive" : "dead";
}

/* Fill one instance from its pins; -ENOENT if dir holds no instance. */
static int read_instance(struct instance *in, int ncpus,
			 struct colo_steer_stats *percpu)
{
	int lfd, sfd = -1, r, c, err;
	__u32 zero = 0, key;
	size_t f;

	lfd = open_pin(in->path, COLO_MAP_LOADER);
	if (lfd < 0)
		return -errno;
	err = bpf_map_lookup_elem(lfd, &zero, &in->rec);
	if (err)
		goto out;
	in->running = in->rec.pid && !kill(in->rec.pid, 0);
	in->keeping = in->rec.keeper_pid && !kill(in->rec.keeper_pid, 0);
	sfd = open_pin(in->path, COLO_MAP_STATS);
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
	read_heartbeat(in);
out:
	if (sfd >= 0)
		close(sfd);
	close(lfd);
	return err;
}

static const char *ifname_of(__u32 ifindex, char *buf)
{
	if (!ifindex || !if_indextoname(ifindex, buf))
		strcpy(buf, "?");
	return buf;
}

static void print_fields(const void *base, const struct colo_counter *f,
			 size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		printf("%s%s %llu", i % 6 ? "  " : "\n    ", f[i].name,
		       (unsigned long long)colo_counter_get(base, &f[i]));
	putchar('\n');
}

static void print_human(const struct instance *in)
{
	char name[IF_NAMESIZE];
	const char *state, *note = "";
	__u64 age_ms;
	size_t f;
	int r;

	printf("%s: pid %u%s\n", in->path, in->rec.pid,
	       in->running ?
		       "" :
		       " (not running: restart 'colo-xdp run' with the same interfaces and pin path to take over, or remove its pins with 'rm -r DIR')");
	if (in->rec.keeper_pid && !in->keeping)
		printf("  keeper: pid %u (gone)\n", in->rec.keeper_pid);
	else if (in->rec.keeper_pid)
		printf("  keeper: pid %u%s\n", in->rec.keeper_pid,
		       in->running ?
			       "" :
			       ": the frames of the dead loader wait for its successor");
	state = loader_state(in, &age_ms);
	if (!strcmp(state, "lost"))
		note = ": colo_steer no longer waits for it";
	else if (!strcmp(state, "dead"))
		note = ": its keeper holds the sockets until the watchdog fails colo_steer open";
	if (!in->heartbeat)
		printf("  loader: %s (no heartbeat yet: frames to compare wait for its sockets)\n",
		       state);
	else
		printf("  loader: %s (heartbeat %llu ms ago, watchdog %u ms, on loss %s)%s\n",
		       state, (unsigned long long)age_ms, in->cfg.watchdog_ms,
		       on_loss_name[in->cfg.on_loss], note);
	printf("  interfaces:");
	for (r = 0; r < COLO_NR_ROLES; r++)
		printf(" %s %s (%u)", role_key[r],
		       ifname_of(in->rec.ifindex[r], name), in->rec.ifindex[r]);
	putchar('\n');
	if (in->rec.umem.size) {
		printf("  ");
		hostmem_report_print(&in->rec.umem, stdout);
	}
	printf("  %-10s", "steering");
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
	printf("  engine:");
	print_fields(&in->rec.stats, colo_counters, colo_counters_engine);
	printf("  datapath:");
	print_fields(&in->rec.stats, colo_counters + colo_counters_engine,
		     colo_counters_n - colo_counters_engine);
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
	char name[IF_NAMESIZE];
	const char *state;
	__u64 age_ms;
	int r;

	printf("%s{\"pin_path\":", first ? "" : ",");
	json_print_str(stdout, in->path);
	printf(",\"pid\":%u,\"running\":%s,", in->rec.pid,
	       in->running ? "true" : "false");
	printf("\"keeper\":{\"pid\":%u,\"running\":%s},", in->rec.keeper_pid,
	       in->keeping ? "true" : "false");
	state = loader_state(in, &age_ms);
	printf("\"loader\":{\"state\":\"%s\",\"heartbeat_age_ms\":", state);
	if (in->heartbeat)
		printf("%llu,\"watchdog_ms\":%u,\"on_loss\":\"%s\"},",
		       (unsigned long long)age_ms, in->cfg.watchdog_ms,
		       on_loss_name[in->cfg.on_loss]);
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
	printf("},\"engine\":");
	colo_counters_print_json(stdout, &in->rec.stats, colo_counters,
				 colo_counters_engine);
	printf(",\"datapath\":");
	colo_counters_print_json(stdout, &in->rec.stats,
				 colo_counters + colo_counters_engine,
				 colo_counters_n - colo_counters_engine);
	putchar('}');
}

/* One round: every instance (or the named one). Returns instances shown. */
static int show(const char *pin_path, bool json, int ncpus,
		struct colo_steer_stats *percpu)
{
	struct instance in;
	struct dirent *de;
	DIR *d = NULL;
	int n = 0, err;

	if (json)
		printf("{\"instances\":[");
	if (pin_path) {
		snprintf(in.path, sizeof(in.path), "%s", pin_path);
		err = read_instance(&in, ncpus, percpu);
		if (!err) {
			json ? print_json(&in, true) : print_human(&in);
			n++;
		} else if (err != -ENOENT) {
			n = err;
		}
		goto out;
	}
	d = opendir(COLO_PIN_ROOT);
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(in.path, sizeof(in.path), "%s/%s", COLO_PIN_ROOT,
			 de->d_name);
		err = read_instance(&in, ncpus, percpu);
		if (err == -EPERM || err == -EACCES) {
			n = err;
			goto out;
		}
		if (err)
			continue;
		json ? print_json(&in, !n) : print_human(&in);
		n++;
	}
out:
	if (d)
		closedir(d);
	if (json)
		printf("]}\n");
	fflush(stdout);
	return n;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: colo-xdp stat [--pin-path DIR] [--json] [--watch [SECONDS]]\n"
		"\n"
		"Show the counters of every running colo-xdp instance (pinned under\n"
		"%s/): what colo_steer did with the frames of each role,\n"
		"and the loader's engine and datapath counters.\n"
		"\n"
		"  --pin-path DIR     only the instance pinned in DIR\n"
		"  --json             one JSON object (per round with --watch)\n"
		"  --watch [SECONDS]  repeat every SECONDS (1) until interrupted\n",
		COLO_PIN_ROOT);
}

int cmd_stat(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pin-path", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "watch", optional_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct colo_steer_stats *percpu = NULL;
	const char *pin_path = NULL;
	uint32_t interval = 0;
	bool json = false;
	int opt, ncpus, n, ret = 1;
	const char *arg;

	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			pin_path = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'w':
			interval = 1;
			/* "--watch 2" as well as "--watch=2" */
			arg = optarg;
			if (!arg && optind < argc && argv[optind][0] >= '0' &&
			    argv[optind][0] <= '9')
				arg = argv[optind++];
			if (arg && cli_parse_u32(CMD, "--watch", arg, 1, 3600,
						 &interval))
				return CLI_EXIT_USAGE;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return cli_bad_option(CMD, argv, opt);
		}
	}
	if (optind < argc) {
		cli_err(CMD,
			"unexpected argument '%s' (see 'colo-xdp stat --help')",
			argv[optind]);
		return CLI_EXIT_USAGE;
	}
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
		n = show(pin_path, json, ncpus, percpu);
		if (n == -EPERM || n == -EACCES) {
			cli_err(CMD,
				"cannot read the pinned maps: %s: run as root",
				strerror(-n));
			goto out;
		}
		if (n < 0) {
			cli_err(CMD, "%s: %s", pin_path, strerror(-n));
			goto out;
		}
		if (!n) {
			cli_err(CMD,
				"no colo-xdp instance is pinned in %s: start one with 'colo-xdp run'",
				pin_path ? pin_path : COLO_PIN_ROOT);
			goto out;
		}
		if (!interval)
			break;
		sleep(interval);
		if (stat_stop)
			break;
		if (!json)
			putchar('\n');
	}
	ret = 0;
out:
	free(percpu);
	return ret;
}
