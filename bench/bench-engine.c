// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bench-engine: frame pairs per second through the comparison engine
 * alone, with no I/O: pre-built UDP frames, a driver whose callbacks do
 * nothing, and the clock read once per batch. Each pair is a primary frame
 * queued, then its secondary compared, the primary released and the
 * secondary freed, as on the datapath. Flows are visited round robin, so
 * with many connections every lookup misses the CPU caches as it would
 * under real load.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "engine.h"
#include "frames.h"

#define BATCH 65536
#define RUN_NS 400000000ULL /* per case: a few seconds in all */

static uint64_t released;

static void on_release(void *ctx, uint64_t handle, uint32_t len)
{
	released++;
}

static void on_free(void *ctx, uint64_t handle)
{
}

static void on_checkpoint(void *ctx, enum colo_ckpt_reason reason)
{
	fprintf(stderr, "bench-engine: unexpected checkpoint request (%s)\n",
		colo_ckpt_reason_name(reason));
	exit(1);
}

static int run(uint32_t frame_size, uint32_t conns)
{
	static const struct colo_engine_ops ops = {
		.release = on_release,
		.free = on_free,
		.checkpoint = on_checkpoint,
	};
	static uint8_t payload[1500], prim[1600], sec[1600];
	struct frame_spec s = {
		.proto = IPPROTO_UDP,
		.sport = 1,
		.dport = 53,
		.payload = payload,
		/* 64 bytes: the Ethernet minimum without its FCS is 60 */
		.payload_len = frame_size - 14 - 20 - 8,
	};
	struct colo_engine_config cfg;
	struct colo_engine *e;
	uint64_t t0, t, pairs = 0, flow = 0, h = 0;
	int len, i, err;

	colo_engine_config_default(&cfg);
	cfg.max_connections = conns;
	err = colo_engine_create(&cfg, &ops, NULL, &e);
	if (err) {
		fprintf(stderr, "bench-engine: cannot create the engine: %s\n",
			strerror(-err));
		return 1;
	}
	len = frame_build(&s, prim, sizeof(prim));
	memcpy(sec, prim, len);
	released = 0;
	t0 = cli_now_ns();
	do {
		for (i = 0; i < BATCH; i++) {
			frame_stamp_flow(prim, flow);
			frame_stamp_flow(sec, flow);
			colo_engine_input(e, COLO_PRIMARY, h++, prim, len, 0);
			colo_engine_input(e, COLO_SECONDARY, h++, sec, len, 0);
			if (++flow == conns)
				flow = 0;
		}
		pairs += BATCH;
		t = cli_now_ns() - t0;
	} while (t < RUN_NS);
	if (released != pairs) {
		fprintf(stderr, "bench-engine: %llu of %llu pairs released\n",
			(unsigned long long)released,
			(unsigned long long)pairs);
		colo_engine_destroy(e);
		return 1;
	}
	printf("%10u %12u %14.0f %12.1f\n", frame_size, conns, pairs * 1e9 / t,
	       (double)t / pairs);
	colo_engine_destroy(e);
	return 0;
}

int main(int argc, char **argv)
{
	static const uint32_t sizes[] = { 64, 1500 }, conns[] = { 1, 100000 };
	struct colo_engine_config cfg;
	uint64_t one, million;
	size_t i, j;

	if (argc > 1) {
		fprintf(stderr, "usage: bench-engine (no arguments)\n");
		return 2;
	}
	/* what a connection adds: its slot and its share of the buckets */
	colo_engine_config_default(&cfg);
	cfg.max_connections = 1;
	one = colo_engine_memory(&cfg);
	cfg.max_connections = 1000000;
	million = colo_engine_memory(&cfg);
	printf("engine memory: %.1f bytes per connection, %.1f MiB for "
	       "1,000,000 connections and %u frame descriptors\n",
	       (double)(million - one) / (cfg.max_connections - 1),
	       million / 1048576.0, cfg.max_frames);
	printf("%10s %12s %14s %12s\n", "frame", "connections", "pairs/s",
	       "ns/pair");
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		for (j = 0; j < sizeof(conns) / sizeof(conns[0]); j++)
			if (run(sizes[i], conns[j]))
				return 1;
	return 0;
}
