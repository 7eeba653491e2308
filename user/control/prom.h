/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The Prometheus text exposition format (version 0.0.4), for `colo-xdp
 * stat --prometheus` and `colo-xdp run --metrics`: one family per
 * counter, its HELP from the counter table, its TYPE from the counter's
 * kind (a total is a counter named ..._total, a gauge a gauge), every
 * sample of a family right after its header, as the format requires.
 */
#ifndef COLO_PROM_H
#define COLO_PROM_H

#include <stdint.h>
#include <stdio.h>

#include "counters.h"

/* Every metric's name starts so. */
#define PROM_PREFIX "colo_xdp_"

/* Longest label set prom_labels() writes, with its braces. */
#define PROM_LABELS_MAX 512

/*
 * The header of family PREFIX group_name (with _total for a total):
 * "# HELP" and "# TYPE" lines. group may be "" (no group).
 */
void prom_family(FILE *f, const char *group, const char *name,
		 enum colo_counter_kind kind, const char *help);

/* One sample of the family prom_family() began: name{labels} v. */
void prom_sample(FILE *f, const char *group, const char *name,
		 enum colo_counter_kind kind, const char *labels, uint64_t v);

/*
 * {k1="v1",k2="v2"} into buf from NULL-terminated key, value pairs, the
 * values escaped as the format asks (backslash, quote, newline).
 */
void prom_labels(char *buf, size_t len, ...);

#endif /* COLO_PROM_H */
