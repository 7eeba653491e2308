// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* colo-xdp run's flags: the table, and the checks across flags. */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_opts.h"
#include "colo_mirror.h"
#include "engine_opts.h"
#include "log.h"
#include "mac.h"
#include "pass_spec.h"
#include "queue_list.h"
#include "run.h"

#define CMD RUN_CMD
#define RUN_MAX_UMEM_FRAMES (1u << 20)

static const char *const frame_sizes[] = { "2048", "4096", NULL };
static const char *const xdp_modes[] = { "native", "skb", NULL };
static const char *const attach_modes[] = { "auto", "none", NULL };
static const char *const loss_modes[] = { "pass", "hold", NULL };
static const char *const mirror_modes[] = { "on", "off", NULL };

static int parse_vm_mac(const char *cmd, const struct cli_opt *opt, void *field,
			const char *arg)
{
	__u64 mac;

	if (mac_parse(arg, &mac)) {
		cli_err(cmd,
			"--%s: '%s' is not a MAC address: give six pairs of hex digits, as 52:54:00:12:34:56",
			opt->name, arg);
		return -EINVAL;
	}
	if (!mac || colo_mac_group(mac)) {
		cli_err(cmd,
			"--%s: %s is %s, not a VM's: give the MAC of the primary VM's interface (QEMU's '-device ...,mac=')",
			opt->name, arg,
			mac ? "a broadcast or multicast address" : "all zeros");
		return -EINVAL;
	}
	*(__u64 *)field = mac;
	return 0;
}

/* One rule more, through the parser passthrough-add uses. */
static int parse_passthrough(const char *cmd, const struct cli_opt *opt,
			     void *field, const char *arg)
{
	struct colo_pass_rule rule;
	char err[256];
	int ret;

	ret = pass_set_change(field, arg, false, &rule, err, sizeof(err));
	if (ret)
		cli_err(cmd, "--%s '%s': %s", opt->name, arg, err);
	return ret;
}

/* --queues all|LIST: 0 for all */
static int parse_queues(const char *cmd, const struct cli_opt *opt, void *field,
			const char *arg)
{
	char why[96];

	if (!strcmp(arg, "all")) {
		*(uint64_t *)field = 0;
		return 0;
	}
	if (queue_list_parse(arg, field, why, sizeof(why))) {
		cli_err(cmd,
			"--%s %s: %s; give 'all' or queue numbers as 0,2-3",
			opt->name, arg, why);
		return -EINVAL;
	}
	return 0;
}

/* --cpu LIST: CPUs as 0,2-3, one per worker, in order */
static int parse_cpus(const char *cmd, const struct cli_opt *opt, void *field,
		      const char *arg)
{
	struct run_cpus *c = field;
	unsigned long a, b;
	const char *p = arg;
	char *end;

	c->n = 0;
	for (;;) {
		errno = 0;
		a = strtoul(p, &end, 10);
		b = a;
		if (end != p && *end == '-') {
			p = end + 1;
			b = strtoul(p, &end, 10);
		}
		if (end == p || errno || *p == '-' || a > b ||
		    b >= CPU_SETSIZE || (*end && *end != ','))
			goto bad;
		for (; a <= b; a++) {
			if (c->n == RUN_MAX_WORKERS) {
				cli_err(cmd,
					"--%s %s: more than %d CPUs; a worker takes one each, and there are at most %d",
					opt->name, arg, RUN_MAX_WORKERS,
					RUN_MAX_WORKERS);
				return -EINVAL;
			}
			c->cpu[c->n++] = a;
		}
		if (!*end)
			return 0;
		p = end + 1;
	}
bad:
	cli_err(cmd, "--%s %s: not a CPU list; give CPU numbers as 0 or 0,2-3",
		opt->name, arg);
	return -EINVAL;
}

#define IF_OPT(flag, role, text)                                      \
	{                                                             \
		.type = CLI_OPT_STRING, .name = (flag), .arg = "IF",  \
		.off = offsetof(struct run_opts, steer.ifname[role]), \
		.what = "an interface name", .help = (text)           \
	}

/* clang-format off */
static const struct cli_opt run_opts[] = {
	CLI_OPT_CONFIG_FILE,
	IF_OPT("primary-in", COLO_ROLE_PRIMARY,
	       "interface of the primary VM (tap or NIC)"),
	IF_OPT("secondary-in", COLO_ROLE_SECONDARY,
	       "interface of the secondary VM"),
	IF_OPT("outdev", COLO_ROLE_OUT, "interface towards the clients"),
	ENGINE_CLI_OPTS(struct run_opts, engine),
	{ .type = CLI_OPT_FUNC, .name = "passthrough", .arg = "SPEC",
	  .off = offsetof(struct run_opts, steer.pass),
	  .parse = parse_passthrough, .no_default = true,
	  .help = "a flow not compared (repeatable): its primary\n"
		  "frames go out, its secondary's are dropped, in\n"
		  "the kernel. SPEC: proto=tcp|udp|icmp|N,\n"
		  "src=ADDR[/PREFIX],sport=PORT,dst=ADDR[/PREFIX],\n"
		  "dport=PORT; a key left out matches all" },
	{ .type = CLI_OPT_BOOL, .name = "xdp-mode", .arg = "native|skb",
	  .off = offsetof(struct run_opts, steer.skb_mode),
	  .choices = xdp_modes,
	  .help = "XDP driver mode or generic mode" },
	{ .type = CLI_OPT_BOOL, .name = "attach", .arg = "auto|none",
	  .off = offsetof(struct run_opts, steer.attach),
	  .choices = attach_modes, .true_first = true,
	  .help = "attach the program, or adopt one that\n"
		  "'ip link set dev IF xdp obj ...' attached" },
	{ .type = CLI_OPT_FUNC, .name = "queues", .arg = "all|LIST",
	  .off = offsetof(struct run_opts, steer.queues),
	  .seen = CLI_SEEN(struct run_opts, queues_set),
	  .parse = parse_queues, .def = "all",
	  .help = "RX queues of P and S served, a socket each (LIST as\n"
		  "0,2-3, which both must have; all: every queue each\n"
		  "has); O sends on the lowest (0 for all)" },
	{ .type = CLI_OPT_U32, .name = "queue", .arg = "N",
	  .off = offsetof(struct run_opts, queue),
	  .seen = CLI_SEEN(struct run_opts, queue_set),
	  .max = QUEUE_LIST_MAX - 1, .no_default = true,
	  .help = "the same as --queues N" },
	{ .type = CLI_OPT_ENUM, .name = "out-path", .arg = "auto|xdp|stack",
	  .off = offsetof(struct run_opts, steer.out_path),
	  .choices = colo_out_path_names,
	  .help = "how P's frames that leave uncompared (ARP, failover)\n"
		  "reach O: xdp redirects them; stack passes them to\n"
		  "P's tc ingress, which sends them, needing nothing of\n"
		  "a veth O's peer; auto: stack for a veth O, else xdp" },
	{ .type = CLI_OPT_U32, .name = "umem-frames", .arg = "N",
	  .off = offsetof(struct run_opts, umem_frames),
	  .seen = CLI_SEEN(struct run_opts, umem_frames_set),
	  .min = 1, .max = RUN_MAX_UMEM_FRAMES, .least = XSK_DP_MIN_FRAMES,
	  .help = "UMEM size in frames" },
	{ .type = CLI_OPT_U32, .name = "frame-size", .arg = "2048|4096",
	  .off = offsetof(struct run_opts, frame_size),
	  .choices = frame_sizes, .help = "UMEM frame size" },
	{ .type = CLI_OPT_ENUM, .name = "zero-copy", .arg = "prefer|require|off",
	  .off = offsetof(struct run_opts, zero_copy),
	  .choices = xsk_dp_zc_names,
	  .help = "AF_XDP zero-copy: all sockets share one UMEM and\n"
		  "so one mode; prefer falls back to copy on all when\n"
		  "an interface has none (veth, tap)" },
	{ .type = CLI_OPT_FLAG, .name = "busy-poll",
	  .off = offsetof(struct run_opts, busy_poll),
	  .help = "busy-poll the RX queues instead of sleeping" },
	{ .type = CLI_OPT_U32, .name = "workers", .arg = "N",
	  .off = offsetof(struct run_opts, steer.workers), .min = 1,
	  .max = RUN_MAX_WORKERS,
	  .help = "threads that compare, each on a CPU of its own: the\n"
		  "queues of P and S shared out in turn, connections by\n"
		  "a hash of their addresses and ports, a TX queue on O\n"
		  "each (O needs N of them)" },
	{ .type = CLI_OPT_FUNC, .name = "cpu", .arg = "LIST",
	  .off = offsetof(struct run_opts, cpus),
	  .seen = CLI_SEEN(struct run_opts, pin_cpu),
	  .parse = parse_cpus, .no_default = true,
	  .def = "any; with --workers N, the first N usable",
	  .help = "the CPU to run on; with --workers, one each,\n"
		  "worker i on the i-th of LIST (0,2-3)" },
	{ .type = CLI_OPT_FUNC, .name = "pin-path", .arg = "DIR",
	  .off = offsetof(struct run_opts, steer.pin_path),
	  .parse = cli_parse_pin_path, .def = COLO_PIN_ROOT "/<primary-in>",
	  .help = "where to pin maps" },
	{ .type = CLI_OPT_U32, .name = "stats-interval", .arg = "S",
	  .off = offsetof(struct run_opts, stats_interval_s), .min = 1,
	  .max = 3600,
	  .help = "publish counters for 'colo-xdp stat' every S s" },
	{ .type = CLI_OPT_FLAG, .name = "verbose",
	  .off = offsetof(struct run_opts, verbose),
	  .help = "log every mismatch, the setup steps and\n"
		  "libbpf's and libxdp's messages" },
	CLI_SECTION("The clients' frames to the VM, on the outdev's ingress (QEMU's filter-mirror):"),
	{ .type = CLI_OPT_BOOL, .name = "mirror", .arg = "on|off",
	  .off = offsetof(struct run_opts, mirror),
	  .choices = mirror_modes, .true_first = true,
	  .help = "frames for the VM go on to the primary interface,\n"
		  "a copy out of the secondary; off: another mirror does" },
	{ .type = CLI_OPT_FUNC, .name = "vm-mac", .arg = "MAC",
	  .off = offsetof(struct run_opts, vm_mac),
	  .parse = parse_vm_mac, .def = "learned from the primary's frames",
	  .help = "the VM's MAC: frames to it, broadcast and multicast\n"
		  "are mirrored, frames for other hosts left alone" },
	CLI_SECTION("The secondary host's agent ('colo-xdp secondary --link', the far end of\n"
		    "--secondary-in), told of each checkpoint done by a frame out of S:"),
	{ .type = CLI_OPT_BOOL, .name = "pair-notify", .arg = "on|off",
	  .off = offsetof(struct run_opts, pair_notify),
	  .choices = mirror_modes, .true_first = true,
	  .help = "tell the agent each checkpoint done, so that it\n"
		  "clears its TCP offsets; off: no agent is there" },
	{ .type = CLI_OPT_FUNC, .name = "pair-token", .arg = "HEX",
	  .off = offsetof(struct run_opts, pair_token),
	  .parse = cli_parse_pair_token, .def = "0",
	  .help = "a secret the agent's --pair-token must equal: its\n"
		  "frames are refused otherwise" },
	CLI_SECTION("The COLO controller (checkpoint requests go to every channel given):"),
	{ .type = CLI_OPT_STRING, .name = "notify",
	  .arg = "xen:tcp:ADDR:PORT|xen:unix:PATH|qmp:unix:PATH|qmp:tcp:ADDR:PORT",
	  .off = offsetof(struct run_opts, notify), .what = "an address",
	  .help = "xen:... serves the Xen COLO proxy protocol (libxl):\n"
		  "DO_CHECKPOINT per request, COLO_CHECKPOINT flushes;\n"
		  "qmp:... connects to the COLO primary QEMU's monitor\n"
		  "(-qmp unix:PATH,server=on,wait=off): a request sets\n"
		  "x-checkpoint-delay to its own value, QEMU resuming\n"
		  "the VM after the checkpoint flushes" },
	{ .type = CLI_OPT_STRING, .name = "control", .arg = "PATH",
	  .off = offsetof(struct run_opts, control.path), .what = "a file name",
	  .help = "JSON control socket for 'colo-xdp ctl' (root only):\n"
		  "checkpoint-done, failover, resume, stats, status,\n"
		  "subscribe, passthrough-add, passthrough-del,\n"
		  "passthrough-list" },
	{ .type = CLI_OPT_STRING, .name = "on-checkpoint-request",
	  .arg = "CMD", .off = offsetof(struct run_opts, hook_cmd),
	  .what = "a shell command",
	  .help = "run '/bin/sh -c CMD' per request, the reason in\n"
		  "$COLO_CHECKPOINT_REASON" },
	{ .type = CLI_OPT_STRING, .name = "mismatch-dump", .arg = "FILE",
	  .off = offsetof(struct run_opts, dump_path), .what = "a file name",
	  .help = "write both frames of each mismatch to a pcap file" },
	{ .type = CLI_OPT_STRING, .name = "metrics", .arg = "ADDR:PORT",
	  .off = offsetof(struct run_opts, metrics), .what = "an address",
	  .help = "serve every counter of 'colo-xdp stat' for\n"
		  "Prometheus at http://ADDR:PORT/metrics, labelled\n"
		  "with the instance (the pin path's last part) and\n"
		  "role; read at most once per --stats-interval" },
	CLI_SECTION("When this process is gone (killed, crashed, stopped) for longer than\n"
		    "--watchdog-ms, colo_steer stops waiting for it:"),
	{ .type = CLI_OPT_U32, .name = "watchdog-ms", .arg = "N",
	  .off = offsetof(struct run_opts, steer.watchdog_ms), .min = 10,
	  .max = 60000, .help = "heartbeat age that counts as gone" },
	{ .type = CLI_OPT_BOOL, .name = "on-loader-loss", .arg = "pass|hold",
	  .off = offsetof(struct run_opts, steer.loss_hold),
	  .choices = loss_modes,
	  .help = "primary frames go straight out, counted (pass),\n"
		  "or are dropped, counted (hold)" },
	CLI_SECTION("Started again with the same interfaces and pin path, it adopts the running\n"
		    "program without a gap and asks for a checkpoint before comparing.\n"
		    "\n"
		    "Where the UMEM lives (as QEMU's host memory backends place guest RAM):"),
	HOSTMEM_CLI_OPTS(struct run_opts, mem),
	CLI_SECTION("  (--umem-size is --umem-frames x --frame-size when not given)"),
	{ .type = CLI_OPT_END },
};
/* clang-format on */

static const struct cli_cmd run_cmd = {
	.name = CMD,
	.usage = "--primary-in P --secondary-in S --outdev O [FLAGS]",
	.about =
		"Compare the frames the primary sends on P with those the secondary sends\n"
		"on S; a primary frame leaves on O once the secondary sent the same one.\n",
	.opts = run_opts,
	.footer =
		"Stops on SIGINT or SIGTERM: queued primary frames are sent, and what\n"
		"was attached and pinned is removed. SIGKILL leaves it all in place for\n"
		"the next 'colo-xdp run' to adopt, and loses no frame: a keeper process\n"
		"('colo-xdp keep') holds the sockets and UMEM until the next run takes\n"
		"them over, with the flags --umem-frames, --frame-size and --queues the\n"
		"dead one had.\n",
};

/* --umem-size and --umem-frames x --frame-size name one size: agree them. */
static int umem_size(struct run_opts *o)
{
	uint64_t frames;

	if (!o->mem.size) {
		o->mem.size = (uint64_t)o->umem_frames * o->frame_size;
		return 0;
	}
	frames = o->mem.size / o->frame_size;
	if (o->mem.size % o->frame_size || frames > RUN_MAX_UMEM_FRAMES) {
		cli_err(CMD,
			"--umem-size %llu is not a multiple of --frame-size %u up to %u frames",
			(unsigned long long)o->mem.size, o->frame_size,
			RUN_MAX_UMEM_FRAMES);
		return -EINVAL;
	}
	if (o->umem_frames_set && frames != o->umem_frames) {
		cli_err(CMD,
			"--umem-size %llu is %llu frames of %u bytes, but --umem-frames says %u: give one of them",
			(unsigned long long)o->mem.size,
			(unsigned long long)frames, o->frame_size,
			o->umem_frames);
		return -EINVAL;
	}
	o->umem_frames = (uint32_t)frames;
	return 0;
}

/*
 * One CPU per worker, each one this process may run on: --cpu lists them,
 * or the first ones of its affinity mask do. More workers than CPUs would
 * only take turns on one.
 */
static int check_cpus(struct run_opts *o)
{
	long conf = sysconf(_SC_NPROCESSORS_CONF);
	uint32_t i, j, n = 0;
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set)) {
		cli_err(CMD, "cannot read the CPUs this process may use: %s",
			strerror(errno));
		return -errno;
	}
	for (i = 0; i < o->cpus.n; i++) {
		if (o->cpus.cpu[i] >= conf) {
			cli_err(CMD, "--cpu %u: this machine has CPUs 0 to %ld",
				o->cpus.cpu[i], conf - 1);
			return -EINVAL;
		}
		if (!CPU_ISSET(o->cpus.cpu[i], &set)) {
			cli_err(CMD,
				"--cpu %u: this process may not run there (taskset, cgroup cpuset); pick CPUs it may use",
				o->cpus.cpu[i]);
			return -EINVAL;
		}
		for (j = 0; j < i; j++)
			if (o->cpus.cpu[j] == o->cpus.cpu[i]) {
				cli_err(CMD,
					"--cpu: CPU %u is listed twice; give each worker a CPU of its own",
					o->cpus.cpu[i]);
				return -EINVAL;
			}
	}
	if (o->cpus.n && o->cpus.n != o->steer.workers) {
		cli_err(CMD,
			"--cpu lists %u CPU%s for --workers %u: list one per worker",
			o->cpus.n, o->cpus.n == 1 ? "" : "s", o->steer.workers);
		return -EINVAL;
	}
	if (o->steer.workers > (uint32_t)CPU_COUNT(&set)) {
		cli_err(CMD,
			"--workers %u: this process may run on %d CPU%s; use --workers %d or fewer (workers would take turns on a CPU, each slower than one alone)",
			o->steer.workers, CPU_COUNT(&set),
			CPU_COUNT(&set) == 1 ? "" : "s", CPU_COUNT(&set));
		return -EINVAL;
	}
	if (o->cpus.n || o->steer.workers == 1) {
		o->cpu = o->cpus.n ? o->cpus.cpu[0] : 0;
		return 0;
	}
	/* with workers each pinned: the first CPUs this process may use */
	for (i = 0; n < o->steer.workers; i++)
		if (CPU_ISSET(i, &set))
			o->cpus.cpu[n++] = i;
	o->cpus.n = n;
	o->pin_cpu = true;
	o->cpu = o->cpus.cpu[0];
	return 0;
}

/* What no single flag can check: the flags against each other. */
static int check(struct run_opts *o)
{
	int r, q;

	for (r = 0; r < COLO_NR_ROLES; r++) {
		if (!o->steer.ifname[r]) {
			cli_err(CMD,
				"%s is required (see 'colo-xdp run --help')",
				cli_role_flag[r]);
			return -EINVAL;
		}
		for (q = 0; q < r; q++)
			if (!strcmp(o->steer.ifname[r], o->steer.ifname[q])) {
				cli_err(CMD,
					"%s and %s are both %s: give three different interfaces",
					cli_role_flag[q], cli_role_flag[r],
					o->steer.ifname[r]);
				return -EINVAL;
			}
	}
	if (o->queue_set && o->queues_set) {
		cli_err(CMD,
			"--queue %u and --queues: --queue N is --queues N; give one of them",
			o->queue);
		return -EINVAL;
	}
	if (o->queue_set) {
		o->steer.queues = 1ull << o->queue;
		o->steer.queues_flag = "--queue";
	}
	if (check_cpus(o))
		return -EINVAL;
	if (o->steer.skb_mode && o->zero_copy == XSK_DP_ZC_REQUIRE) {
		cli_err(CMD,
			"--zero-copy require: --xdp-mode skb (generic XDP) hands AF_XDP copies only; use --xdp-mode native or --zero-copy prefer");
		return -EINVAL;
	}
	if (o->vm_mac && !o->mirror) {
		cli_err(CMD,
			"--vm-mac is the mirror's, and --mirror off turns it off: give one of them");
		return -EINVAL;
	}
	if (o->notify && strncmp(o->notify, "xen:", 4) &&
	    strncmp(o->notify, "qmp:", 4)) {
		cli_err(CMD,
			"--notify %s: expected xen:tcp:ADDR:PORT, xen:unix:PATH, qmp:unix:PATH or qmp:tcp:ADDR:PORT",
			o->notify);
		return -EINVAL;
	}
	if (umem_size(o))
		return -EINVAL;
	if (o->umem_frames < XSK_DP_MIN_FRAMES) {
		cli_err(CMD,
			"--umem-frames %u is too small for the rings: the fill rings of %s and %s and the TX ring of %s hold %u frames; use --umem-frames %u or more",
			o->umem_frames, o->steer.ifname[COLO_ROLE_PRIMARY],
			o->steer.ifname[COLO_ROLE_SECONDARY],
			o->steer.ifname[COLO_ROLE_OUT], XSK_DP_MIN_FRAMES,
			XSK_DP_MIN_FRAMES);
		return -EINVAL;
	}
	return 0;
}

int run_opts_parse(int argc, char **argv, struct run_opts *o)
{
	int ret;

	memset(o, 0, sizeof(*o));
	hostmem_opts_init(&o->mem);
	colo_engine_config_default(&o->engine);
	o->steer.attach = true;
	o->mirror = true;
	o->pair_notify = true;
	o->steer.watchdog_ms = COLO_WATCHDOG_MS_DEFAULT;
	o->umem_frames = XSK_DP_DEFAULT_FRAMES;
	o->frame_size = XSK_DP_DEFAULT_FRAME_SIZE;
	o->stats_interval_s = 1;
	o->steer.workers = 1;
	ret = cli_opts_parse(&run_cmd, argc, argv, o, sizeof(*o), NULL);
	if (ret >= 0)
		return ret;
	if (check(o))
		return CLI_EXIT_USAGE;
	if (o->verbose)
		log_set_level(LOG_DEBUG);
	/* The engine can then never run out of descriptors before the UMEM. */
	o->engine.max_frames = o->umem_frames;
	return -1;
}
