/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * `colo-xdp run --metrics ADDR:PORT`: a Prometheus scrape endpoint served
 * from the loader's own poll() loop, so that no thread shares its CPU and
 * nothing blocks it. Every socket is non-blocking, behind one epoll fd the
 * loop polls; the body is rendered at most once per max_age (the
 * interval the loader publishes its counters at: a newer one would show
 * the same numbers) and the same snapshot is sent to every scrape until
 * then.
 */
#ifndef COLO_METRICS_H
#define COLO_METRICS_H

#include <stdint.h>
#include <stdio.h>

struct metrics_server;

/* Write the body on f; 0 or a negative errno (the scrape gets a 503). */
typedef int (*metrics_render_fn)(void *ctx, FILE *f);

/*
 * Listen on spec, "ADDR:PORT" (ADDR numeric, [IPv6] in brackets, empty
 * for every address). A port already taken fails here, at the start,
 * naming --metrics and what to do. 0 or a negative errno.
 */
int metrics_server_create(const char *spec, uint64_t max_age_ns,
			  metrics_render_fn render, void *ctx,
			  struct metrics_server **out);

/* The fd to poll for POLLIN: readable when a socket wants service. */
int metrics_server_fd(const struct metrics_server *m);

/* Accept, read requests, send answers; never blocks. */
void metrics_server_handle(struct metrics_server *m, uint64_t now_ns);

/* Drop scrapers silent for too long; cheap when there are none. */
void metrics_server_tick(struct metrics_server *m, uint64_t now_ns);

/* "tcp:ADDR:PORT" as bound (the port chosen, when 0 was asked). */
const char *metrics_server_address(const struct metrics_server *m);

/* Scrapes answered, for the tests and the log. */
uint64_t metrics_server_scrapes(const struct metrics_server *m);

void metrics_server_destroy(struct metrics_server *m);

#endif /* COLO_METRICS_H */
