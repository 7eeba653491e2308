// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The counter names are what users script against (`colo-xdp stat
 * --json`, `ctl stats`, replay's JSON): each counter once, under one name,
 * read from where it lives.
 */
#include <stdbool.h>

#include "counters.h"
#include "test.h"

TEST(every_counter_once_by_a_unique_name)
{
	bool seen[sizeof(struct colo_loader_stats) / sizeof(__u64)] = {};
	unsigned int i, j;

	CHECK_EQ(colo_counters_n, sizeof(seen) / sizeof(seen[0]));
	for (i = 0; i < colo_counters_n; i++) {
		size_t slot = colo_counters[i].off / sizeof(__u64);

		CHECK_EQ(colo_counters[i].off % sizeof(__u64), 0);
		CHECK(slot < sizeof(seen) / sizeof(seen[0]) && !seen[slot]);
		seen[slot] = true;
		for (j = 0; j < i; j++)
			CHECK(strcmp(colo_counters[i].name,
				     colo_counters[j].name));
	}
}

TEST(engine_counters_come_first)
{
	unsigned int i;

	CHECK_EQ(colo_counters_engine,
		 sizeof(struct colo_engine_stats) / sizeof(__u64));
	for (i = 0; i < colo_counters_n; i++)
		CHECK((colo_counters[i].off <
		       offsetof(struct colo_loader_stats, dp)) ==
		      (i < colo_counters_engine));
}

TEST(values_are_read_from_their_field)
{
	struct colo_loader_stats s = {};
	unsigned int i;

	s.engine.malformed[1] = 7;
	s.engine.ckpt_requests[COLO_CKPT_TABLE_FULL] = 9;
	s.dp.fill_ring_empty[0] = 11;
	for (i = 0; i < colo_counters_n; i++) {
		const char *n = colo_counters[i].name;
		uint64_t v = colo_counter_get(&s, &colo_counters[i]);

		if (!strcmp(n, "malformed_secondary"))
			CHECK_EQ(v, 7);
		else if (!strcmp(n, "ckpt_table_full"))
			CHECK_EQ(v, 9);
		else if (!strcmp(n, "fill_ring_empty_primary"))
			CHECK_EQ(v, 11);
		else
			CHECK_EQ(v, 0);
	}
}

TEST(passthrough_rule_counters_are_totals_by_field)
{
	struct colo_pass_count c = { .primary = 3, .secondary = 5 };
	unsigned int i;

	CHECK_EQ(colo_pass_counters_n, 2);
	for (i = 0; i < colo_pass_counters_n; i++)
		CHECK_EQ(colo_pass_counters[i].kind, COLO_TOTAL);
	CHECK(!strcmp(colo_pass_counters[0].name, "primary"));
	CHECK_EQ(colo_counter_get(&c, &colo_pass_counters[0]), 3);
	CHECK(!strcmp(colo_pass_counters[1].name, "secondary"));
	CHECK_EQ(colo_counter_get(&c, &colo_pass_counters[1]), 5);
}

/* Prometheus's HELP: every counter says what it counts, on one line. */
TEST(every_counter_has_one_line_of_help)
{
	unsigned int i;

	for (i = 0; i < colo_counters_n; i++) {
		CHECK(colo_counters[i].help && *colo_counters[i].help);
		if (colo_counters[i].help)
			CHECK(!strchr(colo_counters[i].help, '\n'));
	}
	for (i = 0; i < colo_pass_counters_n; i++)
		CHECK(colo_pass_counters[i].help &&
		      !strchr(colo_pass_counters[i].help, '\n'));
}
