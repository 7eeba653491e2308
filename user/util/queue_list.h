/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Sets of device queues as the user writes them ("0,2-3") and as
 * messages and `colo-xdp stat` show them: a bit per queue, 0 to 63.
 */
#ifndef COLO_QUEUE_LIST_H
#define COLO_QUEUE_LIST_H

#include <stddef.h>
#include <stdint.h>

#define QUEUE_LIST_MAX 64
/* The longest list: "0,2,4,...,62" */
#define QUEUE_LIST_LEN 128

/*
 * "0,2-3" into *mask; -EINVAL for anything else (empty items, a range
 * backwards, a queue of QUEUE_LIST_MAX or more), with what is wrong in
 * why.
 */
int queue_list_parse(const char *arg, uint64_t *mask, char *why, size_t len);

/* mask as "0,2-3" ("" for none); returns buf. */
char *queue_list_format(uint64_t mask, char *buf, size_t len);

#endif /* COLO_QUEUE_LIST_H */
