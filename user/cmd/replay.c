// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * colo-xdp replay: drive the comparison engine from two pcap captures, on
 * the captures' own clock, and print what it decided as one JSON object.
 * Each capture is loaded once; the engine keeps references into it until it
 * answers a frame, and a frame's handle is its index in its file with the
 * side in the high half.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_opts.h"
#include "commands.h"
#include "counters.h"
#include "engine.h"
#include "engine_opts.h"
#include "pcap_io.h"

#define SUBCMD "replay"
#define HANDLE_SIDE_SHIFT 32
#define NS_PER_MS 1000000ull

enum frame_state {
	FRAME_UNSEEN = 0,
	FRAME_QUEUED, /* given to the engine, not answered yet */
	FRAME_ANSWERED,
};

struct replay_ckpt {
	enum colo_ckpt_reason reason;
	bool repeat; /* asked again before a checkpoint answered it */
	bool by_frame; /* requested while a frame was input, else by the clock */
	enum colo_side side;
	uint32_t index;
	uint64_t time_ns; /* since the first frame */
};

struct replay_mismatch {
	uint32_t primary;
	uint32_t secondary;
	uint32_t offset;
	uint32_t seq;
};

struct replay_opts {
	const char *path[2]; /* by enum colo_side */
	const char *write;
	bool auto_ckpt;
	bool failover;
	uint32_t failover_ms;
	struct colo_engine_config cfg;
};

struct replay {
	const struct replay_opts *opts;
	struct colo_engine *engine;
	struct pcap_io_capture cap[2];
	uint8_t *state[2]; /* enum frame_state, by frame index */
	uint32_t *released;
	uint32_t nreleased;
	struct replay_ckpt *ckpts;
	uint32_t nckpts, ckpts_size;
	struct replay_mismatch *mismatches;
	uint32_t nmismatches, mismatches_size;
	struct pcap_io_writer *out;
	uint64_t t0, now, next_tick, cycle_ns;
	uint64_t failover_ns;
	bool failover_pending;
	/* the frame being input, for checkpoint requests it causes */
	bool in_frame;
	bool answered; /* the engine answered a frame: it may have room */
	enum colo_side cur_side;
	uint32_t cur_index;
	bool outstanding; /* a request no checkpoint has answered yet */
	bool requested; /* during the engine call in progress */
	uint32_t contract_errors;
	int err; /* a callback could not record what it was told */
};

static const char *const side_name[2] = { "primary", "secondary" };

static const struct cli_opt replay_opts[] = {
	{ .type = CLI_OPT_STRING,
	  .name = "primary",
	  .short_name = 'p',
	  .arg = "FILE",
	  .off = offsetof(struct replay_opts, path[COLO_PRIMARY]),
	  .what = "a file name",
	  .help = "frames the primary sent" },
	{ .type = CLI_OPT_STRING,
	  .name = "secondary",
	  .short_name = 's',
	  .arg = "FILE",
	  .off = offsetof(struct replay_opts, path[COLO_SECONDARY]),
	  .what = "a file name",
	  .help = "frames the secondary sent" },
	{ .type = CLI_OPT_STRING,
	  .name = "write",
	  .short_name = 'w',
	  .arg = "FILE",
	  .off = offsetof(struct replay_opts, write),
	  .what = "a file name",
	  .help = "write released frames, in order, to a pcap\n"
		  "(nanosecond, stamped when released)" },
	{ .type = CLI_OPT_FLAG,
	  .name = "auto-checkpoint",
	  .short_name = 'a',
	  .off = offsetof(struct replay_opts, auto_ckpt),
	  .help = "answer every checkpoint request at once" },
	ENGINE_CLI_OPTS(struct replay_opts, cfg),
	ENGINE_MAX_FRAMES_OPT(struct replay_opts, cfg),
	{ .type = CLI_OPT_U32,
	  .name = "failover-at",
	  .arg = "MS",
	  .off = offsetof(struct replay_opts, failover_ms),
	  .seen = CLI_SEEN(struct replay_opts, failover),
	  .max = ENGINE_OPT_MAX_MS,
	  .no_default = true,
	  .help = "the secondary is gone MS after the first\n"
		  "frame (before frames of that instant)" },
	{ .type = CLI_OPT_END },
};

static const struct cli_cmd replay_cmd = {
	.name = SUBCMD,
	.usage = "--primary P.pcap --secondary S.pcap [FLAGS]",
	.about =
		"Compare what a primary and a secondary sent, from two Ethernet pcap\n"
		"captures, as the comparator would have live. Frames of both files are\n"
		"fed in timestamp order (the primary's first on equal timestamps); the\n"
		"clock is the capture timestamps, ticking every scan cycle, and runs on\n"
		"for compare-timeout + 2 x expired-scan-cycle after the last frame.\n"
		"Prints one JSON object: released (primary indices, 0-based, in the\n"
		"order sent out), checkpoints (reason; side and index of the frame\n"
		"being input, or only time_ns for the clock; repeat when asked again\n"
		"before a checkpoint), mismatches, queued_at_end, unread_at_end (frames\n"
		"a full engine never took), contract_errors and counters. Times are\n"
		"nanoseconds since the first frame. A side the engine has no room for\n"
		"waits while the other goes on, as a live comparator's would.\n",
	.opts = replay_opts,
	.footer =
		"Exit status: 0 done, 2 bad flags or unusable capture, 1 anything else.\n",
};

/* Room for n + 1 elements of an array that grows by doubling. */
static int replay_grow(void **arr, uint32_t *size, uint32_t n, size_t elem)
{
	uint32_t want = *size ? *size * 2 : 16;
	void *p;

	if (n < *size)
		return 0;
	p = reallocarray(*arr, want, elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*size = want;
	return 0;
}

/* Take back a frame the engine answers; false if it was not queued. */
static bool replay_answer(struct replay *r, uint64_t handle, const char *how)
{
	uint64_t side = handle >> HANDLE_SIDE_SHIFT;
	uint32_t index = (uint32_t)handle;

	if (side > COLO_SECONDARY || index >= r->cap[side].count ||
	    r->state[side][index] != FRAME_QUEUED) {
		fprintf(stderr,
			"colo-xdp " SUBCMD
			": engine %s handle %#llx, which it does not hold\n",
			how, (unsigned long long)handle);
		r->contract_errors++;
		return false;
	}
	r->state[side][index] = FRAME_ANSWERED;
	r->answered = true;
	return true;
}

static void on_release(void *ctx, uint64_t handle, uint32_t len)
{
	struct replay *r = ctx;
	uint32_t index = (uint32_t)handle;

	if (handle >> HANDLE_SIDE_SHIFT != COLO_PRIMARY) {
		fprintf(stderr,
			"colo-xdp " SUBCMD ": engine released secondary frame "
			"%u\n",
			index);
		r->contract_errors++;
		return;
	}
	if (!replay_answer(r, handle, "released"))
		return;
	r->released[r->nreleased++] = index;
	if (r->out)
		pcap_io_write(r->out,
			      pcap_io_data(&r->cap[COLO_PRIMARY], index), len,
			      r->now);
}

static void on_free(void *ctx, uint64_t handle)
{
	replay_answer(ctx, handle, "freed");
}

static void on_checkpoint(void *ctx, enum colo_ckpt_reason reason)
{
	struct replay *r = ctx;
	struct replay_ckpt *c;

	if (replay_grow((void **)&r->ckpts, &r->ckpts_size, r->nckpts,
			sizeof(*r->ckpts))) {
		r->err = -ENOMEM;
		return;
	}
	c = &r->ckpts[r->nckpts++];
	c->reason = reason;
	c->repeat = r->outstanding;
	c->by_frame = r->in_frame;
	c->side = r->cur_side;
	c->index = r->cur_index;
	c->time_ns = r->now - r->t0;
	r->outstanding = true;
	r->requested = true;
}

static void on_mismatch(void *ctx, const struct colo_mismatch *m)
{
	struct replay *r = ctx;
	struct replay_mismatch *x;

	if (replay_grow((void **)&r->mismatches, &r->mismatches_size,
			r->nmismatches, sizeof(*r->mismatches))) {
		r->err = -ENOMEM;
		return;
	}
	x = &r->mismatches[r->nmismatches++];
	x->primary = (uint32_t)m->primary_handle;
	x->secondary = (uint32_t)m->secondary_handle;
	x->offset = m->offset;
	x->seq = m->seq;
}

static const struct colo_engine_ops replay_ops = {
	.release = on_release,
	.free = on_free,
	.checkpoint = on_checkpoint,
	.mismatch = on_mismatch,
};

/* After each engine call: an instant controller answers its request. */
static void replay_settle(struct replay *r)
{
	if (!r->opts->auto_ckpt || !r->requested)
		return;
	r->requested = false;
	r->outstanding = false;
	colo_engine_checkpoint_done(r->engine);
}

/*
 * Run the clock up to `to`, ticking on the scan-cycle grid from the first
 * frame on, as a live driver's timer would between frames, and declaring
 * failover when its time comes.
 */
static void replay_clock(struct replay *r, uint64_t to)
{
	uint64_t t;

	do {
		t = to;
		if (r->next_tick < t)
			t = r->next_tick;
		if (r->failover_pending && r->failover_ns < t)
			t = r->failover_ns;
		r->now = t;
		colo_engine_tick(r->engine, t);
		replay_settle(r);
		if (r->next_tick == t)
			r->next_tick += r->cycle_ns;
		if (r->failover_pending && r->failover_ns == t) {
			r->failover_pending = false;
			colo_engine_failover(r->engine);
			/* the flush ends the epoch as a checkpoint would */
			r->outstanding = false;
			r->requested = false;
		}
	} while (t != to);
}

/* 0, or -EAGAIN: the engine had no room and the frame stays unread. */
static int replay_input(struct replay *r, enum colo_side side, uint32_t i)
{
	const struct pcap_io_frame *f = &r->cap[side].frames[i];
	int err;

	replay_clock(r, f->ts_ns > r->now ? f->ts_ns : r->now);
	r->in_frame = true;
	r->cur_side = side;
	r->cur_index = i;
	r->state[side][i] = FRAME_QUEUED;
	err = colo_engine_input(r->engine, side,
				(uint64_t)side << HANDLE_SIDE_SHIFT | i,
				pcap_io_data(&r->cap[side], i), f->len, r->now);
	if (err)
		r->state[side][i] = FRAME_UNSEEN;
	r->in_frame = false;
	replay_settle(r);
	return err;
}

/*
 * Feed both captures in timestamp order, as the wire delivered them, but
 * as a live driver does when the engine is full: a side it refused waits
 * (its frames stay in the capture) while the other side goes on, until
 * the engine answers a frame. When both wait, only the clock can help
 * (a timeout's checkpoint); if no answer comes within a compare timeout
 * and two scan cycles, none will, and the rest stays unread.
 */
static void replay_feed(struct replay *r)
{
	const struct colo_engine_config *cfg = &r->opts->cfg;
	const struct pcap_io_capture *cap = r->cap;
	uint32_t next[2] = { 0, 0 };
	bool wait[2] = { false, false };
	uint64_t give_up = 0;
	int side;

	for (;;) {
		uint64_t ts[2] = { UINT64_MAX, UINT64_MAX };

		for (side = COLO_PRIMARY; side <= COLO_SECONDARY; side++)
			if (next[side] < cap[side].count && !wait[side])
				ts[side] = cap[side].frames[next[side]].ts_ns;
		if (ts[COLO_PRIMARY] == UINT64_MAX &&
		    ts[COLO_SECONDARY] == UINT64_MAX) {
			if (!wait[COLO_PRIMARY] && !wait[COLO_SECONDARY])
				return;
			if (!give_up)
				give_up = r->now +
					  cfg->compare_timeout_ms * NS_PER_MS +
					  2 * r->cycle_ns;
			if (r->now >= give_up)
				return;
			r->answered = false;
			replay_clock(r, r->next_tick);
		} else {
			/* the primary's first on equal timestamps */
			side = ts[COLO_PRIMARY] <= ts[COLO_SECONDARY] ?
				       COLO_PRIMARY :
				       COLO_SECONDARY;
			r->answered = false;
			if (replay_input(r, side, next[side]))
				wait[side] = true;
			else
				next[side]++;
		}
		if (r->answered) {
			wait[COLO_PRIMARY] = wait[COLO_SECONDARY] = false;
			give_up = 0;
		}
	}
}

static void replay_run(struct replay *r)
{
	const struct colo_engine_config *cfg = &r->opts->cfg;
	const struct pcap_io_capture *p = &r->cap[COLO_PRIMARY];
	const struct pcap_io_capture *s = &r->cap[COLO_SECONDARY];
	uint64_t end;

	if (p->count && (!s->count || p->frames[0].ts_ns <= s->frames[0].ts_ns))
		r->t0 = p->frames[0].ts_ns;
	else if (s->count)
		r->t0 = s->frames[0].ts_ns;
	r->now = r->t0;
	r->cycle_ns = cfg->expired_scan_cycle_ms * NS_PER_MS;
	r->next_tick = r->t0 + r->cycle_ns;
	r->failover_pending = r->opts->failover;
	r->failover_ns = r->t0 + r->opts->failover_ms * NS_PER_MS;

	replay_feed(r);
	end = r->now + cfg->compare_timeout_ms * NS_PER_MS + 2 * r->cycle_ns;
	if (r->failover_pending && r->failover_ns > end)
		end = r->failover_ns;
	replay_clock(r, end);
}

static void print_side_list(const struct replay *r, enum colo_side side,
			    enum frame_state state)
{
	const char *sep = "";
	uint32_t i;

	fprintf(stdout, "\"%s\":[", side_name[side]);
	for (i = 0; i < r->cap[side].count; i++) {
		if (r->state[side][i] != state)
			continue;
		fprintf(stdout, "%s%u", sep, i);
		sep = ",";
	}
	fputc(']', stdout);
}

/* "name":{"primary":[...],"secondary":[...]}: the frames in state. */
static void print_state_lists(const struct replay *r, const char *name,
			      enum frame_state state)
{
	int side;

	fprintf(stdout, "\"%s\":{", name);
	for (side = COLO_PRIMARY; side <= COLO_SECONDARY; side++) {
		fputs(side ? "," : "", stdout);
		print_side_list(r, side, state);
	}
	fputc('}', stdout);
}

/* The engine's counters by the names `colo-xdp stat` uses. */
static void replay_print_counters(const struct colo_engine_stats *st)
{
	struct colo_loader_stats all = { .engine = *st };

	fputs("\"counters\":", stdout);
	colo_counters_print_json(stdout, &all, colo_counters,
				 colo_counters_engine);
}

static void replay_print(const struct replay *r)
{
	const struct replay_ckpt *c;
	const struct replay_mismatch *m;
	uint32_t i;

	fputs("{\"released\":[", stdout);
	for (i = 0; i < r->nreleased; i++)
		fprintf(stdout, "%s%u", i ? "," : "", r->released[i]);
	fputs("],\"checkpoints\":[", stdout);
	for (i = 0; i < r->nckpts; i++) {
		c = &r->ckpts[i];
		fprintf(stdout, "%s{\"reason\":\"%s\"", i ? "," : "",
			colo_ckpt_reason_name(c->reason));
		if (c->by_frame)
			fprintf(stdout, ",\"side\":\"%s\",\"index\":%u",
				side_name[c->side], c->index);
		fprintf(stdout, ",\"time_ns\":%llu,\"repeat\":%s}",
			(unsigned long long)c->time_ns,
			c->repeat ? "true" : "false");
	}
	fputs("],\"mismatches\":[", stdout);
	for (i = 0; i < r->nmismatches; i++) {
		m = &r->mismatches[i];
		fprintf(stdout,
			"%s{\"primary\":%u,\"secondary\":%u,\"offset\":%u,"
			"\"seq\":%u}",
			i ? "," : "", m->primary, m->secondary, m->offset,
			m->seq);
	}
	fputs("],", stdout);
	print_state_lists(r, "queued_at_end", FRAME_QUEUED);
	fputc(',', stdout);
	/* refused by a full engine that never made room again */
	print_state_lists(r, "unread_at_end", FRAME_UNSEEN);
	fprintf(stdout, ",\"contract_errors\":%u,", r->contract_errors);
	replay_print_counters(colo_engine_stats(r->engine));
	fputs("}\n", stdout);
}

/* Returns -1 to go on, or the exit status (0 after --help). */
static int parse_opts(int argc, char **argv, struct replay_opts *o)
{
	int side, ret;

	ret = cli_opts_parse(&replay_cmd, argc, argv, o, sizeof(*o), NULL);
	if (ret >= 0)
		return ret;
	for (side = COLO_PRIMARY; side <= COLO_SECONDARY; side++) {
		if (!o->path[side]) {
			cli_err(SUBCMD,
				"--%s FILE is required (see 'colo-xdp %s --help')",
				side_name[side], SUBCMD);
			return CLI_EXIT_USAGE;
		}
	}
	return -1;
}

/* Load, replay, print; returns the exit status. */
static int replay_main(struct replay *r, const struct replay_opts *opts)
{
	char err[PCAP_IO_ERRLEN];
	int side, ret;

	for (side = COLO_PRIMARY; side <= COLO_SECONDARY; side++) {
		if (pcap_io_load(opts->path[side], &r->cap[side], err,
				 sizeof(err))) {
			cli_err(SUBCMD, "--%s %s", side_name[side], err);
			return CLI_EXIT_USAGE;
		}
		r->state[side] = calloc(r->cap[side].count + 1, 1);
		if (!r->state[side])
			goto nomem;
	}
	r->released =
		calloc(r->cap[COLO_PRIMARY].count + 1, sizeof(*r->released));
	if (!r->released)
		goto nomem;
	ret = colo_engine_create(&opts->cfg, &replay_ops, r, &r->engine);
	if (ret == -EINVAL) {
		cli_err(SUBCMD, "the engine refused this configuration; "
				"see the limits in 'colo-xdp replay --help'");
		return CLI_EXIT_USAGE;
	}
	if (ret)
		goto nomem;
	if (opts->write &&
	    pcap_io_create(opts->write, true, &r->out, err, sizeof(err))) {
		cli_err(SUBCMD, "--write %s", err);
		return CLI_EXIT_USAGE;
	}
	replay_run(r);
	if (r->err)
		goto nomem;
	ret = pcap_io_close(r->out, err, sizeof(err));
	r->out = NULL;
	if (ret) {
		cli_err(SUBCMD, "--write %s", err);
		return 1;
	}
	replay_print(r);
	return fflush(stdout) ? 1 : 0;
nomem:
	cli_err(SUBCMD, "out of memory; lower --max-frames, "
			"--max-connections or --max-queue-size");
	return 1;
}

int cmd_replay(int argc, char **argv)
{
	struct replay_opts opts = {};
	struct replay r = { .opts = &opts };
	char err[PCAP_IO_ERRLEN];
	int side, ret;

	colo_engine_config_default(&opts.cfg);
	ret = parse_opts(argc, argv, &opts);
	if (ret >= 0)
		return ret;
	ret = replay_main(&r, &opts);
	/* left open only on an error path: the partial file is not kept */
	if (r.out) {
		pcap_io_close(r.out, err, sizeof(err));
		unlink(opts.write);
	}
	if (r.engine)
		colo_engine_destroy(r.engine);
	for (side = COLO_PRIMARY; side <= COLO_SECONDARY; side++) {
		pcap_io_free(&r.cap[side]);
		free(r.state[side]);
	}
	free(r.released);
	free(r.ckpts);
	free(r.mismatches);
	return ret;
}
