/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The comparison engine's flags, for every command that drives an engine
 * (run, replay): one name, range and help text for each, the defaults
 * those of colo_engine_config_default().
 */
#ifndef COLO_ENGINE_OPTS_H
#define COLO_ENGINE_OPTS_H

#include <stddef.h>

#include "cli_opts.h"
#include "engine.h"

/* Longest time a flag takes, one day; most connections, as many frames. */
#define ENGINE_OPT_MAX_MS 86400000u
#define ENGINE_OPT_MAX_COUNT (1u << 24)

#define ENGINE_OPT(otype, member, flag, value, field, lo, hi, text)  \
	{                                                            \
		.type = CLI_OPT_U32, .name = (flag), .arg = (value), \
		.off = offsetof(otype, member.field), .min = (lo),   \
		.max = (hi), .help = (text)                          \
	}

/* Every flag but --max-frames, which run derives from the UMEM's size. */
/* clang-format off */
#define ENGINE_CLI_OPTS(otype, member)					\
	ENGINE_OPT(otype, member, "compare-timeout", "MS",		\
		   compare_timeout_ms, 1, ENGINE_OPT_MAX_MS,		\
		   "checkpoint after a frame waits MS"),		\
	ENGINE_OPT(otype, member, "expired-scan-cycle", "MS",		\
		   expired_scan_cycle_ms, 1, ENGINE_OPT_MAX_MS,		\
		   "how often old frames are looked for"),		\
	ENGINE_OPT(otype, member, "max-queue-size", "N",		\
		   max_queue_size, 1, COLO_ENGINE_MAX_QUEUE_SIZE,	\
		   "checkpoint when a connection queues N on a side"),	\
	ENGINE_OPT(otype, member, "max-connections", "N",		\
		   max_connections, 1, ENGINE_OPT_MAX_COUNT,		\
		   "connections tracked at once"),			\
	ENGINE_OPT(otype, member, "idle-timeout", "MS",			\
		   idle_timeout_ms, 1, ENGINE_OPT_MAX_MS,		\
		   "forget a connection with nothing queued\n"		\
		   "after this long")
/* clang-format on */

#define ENGINE_MAX_FRAMES_OPT(otype, member)                        \
	ENGINE_OPT(otype, member, "max-frames", "N", max_frames, 1, \
		   ENGINE_OPT_MAX_COUNT, "frames queued in all")

#endif /* COLO_ENGINE_OPTS_H */
