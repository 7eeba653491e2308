// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * colo-xdp stat: the counters of every running instance, read from its pin
 * directory: colo_steer's per-CPU steering counters (colo_stats, keyed by
 * ifindex) and what the loader publishes in colo_loader (engine and
 * datapath counters, which interfaces and which process).
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
#include "steer.h"

#define CMD "stat"

struct field {
	const char *name;
	size_t off;
};

#define STEER_F(f)                                       \
	{                                                \
#f, offsetof(struct colo_steer_stats, f) \
	}
static const struct field steer_fields[] = {
	STEER_F(to_socket), STEER_F(bypassed),	STEER_F(dropped),
	STEER_F(malformed), STEER_F(no_socket),
};

#define ENG_F(name, f)                                             \
	{                                                          \
		name, offsetof(struct colo_loader_stats, engine.f) \
	}
static const struct field engine_fields[] = {
	ENG_F("frames_in_primary", frames_in[0]),
	ENG_F("frames_in_secondary", frames_in[1]),
	ENG_F("compared", compared),
	ENG_F("released", released),
	ENG_F("released_flush", released_flush),
	ENG_F("held", held),
	ENG_F("mismatches", mismatches),
	ENG_F("retransmissions", retransmissions),
	ENG_F("passed", passed),
	ENG_F("not_compared_dropped", not_compared_dropped),
	ENG_F("malformed_primary", malformed[0]),
	ENG_F("malformed_secondary", malformed[1]),
	ENG_F("failover_passed", failover_passed),
	ENG_F("ckpt_mismatch", ckpt_requests[COLO_CKPT_MISMATCH]),
	ENG_F("ckpt_timeout", ckpt_requests[COLO_CKPT_TIMEOUT]),
	ENG_F("ckpt_queue_full", ckpt_requests[COLO_CKPT_QUEUE_FULL]),
	ENG_F("ckpt_no_buffers", ckpt_requests[COLO_CKPT_NO_BUFFERS]),
	ENG_F("ckpt_table_full", ckpt_requests[COLO_CKPT_TABLE_FULL]),
	ENG_F("ckpt_coalesced", ckpt_coalesced),
	ENG_F("ckpt_repeats", ckpt_repeats),
	ENG_F("checkpoints", checkpoints),
	ENG_F("dropped_queue_full", dropped[COLO_DROP_QUEUE_FULL]),
	ENG_F("dropped_table_full", dropped[COLO_DROP_TABLE_FULL]),
	ENG_F("dropped_no_buffers", dropped[COLO_DROP_NO_BUFFERS]),
	ENG_F("conns_active", conns_active),
	ENG_F("conns_created", conns_created),
	ENG_F("conns_expired_idle", conns_expired_idle),
	ENG_F("conns_expired_closed", conns_expired_closed),
	ENG_F("queued_primary", queued[0]),
	ENG_F("queued_secondary", queued[1]),
	ENG_F("pool_in_use", pool_in_use),
};

#define DP_F(name, f)                                          \
	{                                                      \
		name, offsetof(struct colo_loader_stats, dp.f) \
	}
static const struct field dp_fields[] = {
	DP_F("rx_primary", rx[0]),
	DP_F("rx_secondary", rx[1]),
	DP_F("tx", tx),
	DP_F("tx_completed", tx_completed),
	DP_F("pool_free", pool_free),
	DP_F("pool_size", pool_size),
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
};

static volatile sig_atomic_t stat_stop;

static void on_sigint(int sig)
{
	stat_stop = 1;
}

static __u64 field_val(const void *base, const struct field *f)
{
	return *(const __u64 *)((const char *)base + f->off);
}

static int open_pin(const char *dir, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return bpf_obj_get(path);
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
					field_val(&percpu[c], &steer_fields[f]);
	}
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

static void print_fields(const void *base, const struct field *f, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		printf("%s%s %llu", i % 6 ? "  " : "\n    ", f[i].name,
		       (unsigned long long)field_val(base, &f[i]));
	putchar('\n');
}

static void print_human(const struct instance *in)
{
	char name[IF_NAMESIZE];
	size_t f;
	int r;

	printf("%s: pid %u%s\n", in->path, in->rec.pid,
	       in->running ?
		       "" :
		       " (not running: its pins are stale, remove them with 'rm -r DIR')");
	printf("  interfaces:");
	for (r = 0; r < COLO_NR_ROLES; r++)
		printf(" %s %s (%u)", role_key[r],
		       ifname_of(in->rec.ifindex[r], name), in->rec.ifindex[r]);
	printf("\n  %-10s", "steering");
	for (f = 0; f < NFIELDS(steer_fields); f++)
		printf(" %12s", steer_fields[f].name);
	putchar('\n');
	for (r = 0; r < 2; r++) {
		printf("  %-10s", role_key[r]);
		for (f = 0; f < NFIELDS(steer_fields); f++)
			if (in->have_steer[r])
				printf(" %12llu", (unsigned long long)field_val(
							  &in->steer[r],
							  &steer_fields[f]));
			else
				printf(" %12s", "-");
		putchar('\n');
	}
	printf("  engine:");
	print_fields(&in->rec.stats, engine_fields, NFIELDS(engine_fields));
	printf("  datapath:");
	print_fields(&in->rec.stats, dp_fields, NFIELDS(dp_fields));
}

static void json_fields(const void *base, const struct field *f, size_t n)
{
	size_t i;

	putchar('{');
	for (i = 0; i < n; i++)
		printf("%s\"%s\":%llu", i ? "," : "", f[i].name,
		       (unsigned long long)field_val(base, &f[i]));
	putchar('}');
}

/*
 * Nested objects, which json.h's flat control-socket writer does not
 * build; strings are pin paths and interface names.
 */
static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void print_json(const struct instance *in, bool first)
{
	char name[IF_NAMESIZE];
	int r;

	printf("%s{\"pin_path\":", first ? "" : ",");
	json_str(in->path);
	printf(",\"pid\":%u,\"running\":%s,\"interfaces\":{", in->rec.pid,
	       in->running ? "true" : "false");
	for (r = 0; r < COLO_NR_ROLES; r++) {
		printf("%s\"%s\":{\"name\":", r ? "," : "", role_key[r]);
		json_str(ifname_of(in->rec.ifindex[r], name));
		printf(",\"ifindex\":%u}", in->rec.ifindex[r]);
	}
	printf("},\"steer\":{");
	for (r = 0; r < 2; r++) {
		printf("%s\"%s\":", r ? "," : "", role_key[r]);
		if (in->have_steer[r])
			json_fields(&in->steer[r], steer_fields,
				    NFIELDS(steer_fields));
		else
			printf("null");
	}
	printf("},\"engine\":");
	json_fields(&in->rec.stats, engine_fields, NFIELDS(engine_fields));
	printf(",\"datapath\":");
	json_fields(&in->rec.stats, dp_fields, NFIELDS(dp_fields));
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
