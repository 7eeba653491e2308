// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "queue_list.h"

/* One number at *p, moving p past it. */
static int number(const char **p, unsigned long *n)
{
	char *end;

	if (**p < '0' || **p > '9')
		return -EINVAL;
	*n = strtoul(*p, &end, 10);
	*p = end;
	return 0;
}

int queue_list_parse(const char *arg, uint64_t *mask, char *why, size_t len)
{
	const char *p = arg;
	unsigned long lo, hi;

	*mask = 0;
	for (;;) {
		if (number(&p, &lo)) {
			snprintf(why, len, "expected a queue number at '%s'",
				 p);
			return -EINVAL;
		}
		hi = lo;
		if (*p == '-') {
			p++;
			if (number(&p, &hi) || hi < lo) {
				snprintf(
					why, len,
					"a range is LOW-HIGH, LOW at most HIGH");
				return -EINVAL;
			}
		}
		if (hi >= QUEUE_LIST_MAX) {
			snprintf(why, len, "queue %lu: at most %d", hi,
				 QUEUE_LIST_MAX - 1);
			return -EINVAL;
		}
		for (; lo <= hi; lo++)
			*mask |= 1ull << lo;
		if (!*p)
			return 0;
		if (*p++ != ',') {
			snprintf(why, len, "expected ',' or '-' at '%s'",
				 p - 1);
			return -EINVAL;
		}
	}
}

char *queue_list_format(uint64_t mask, char *buf, size_t len)
{
	size_t at = 0;
	int q, end;

	buf[0] = '\0';
	for (q = 0; q < QUEUE_LIST_MAX && at < len; q++) {
		if (!(mask >> q & 1))
			continue;
		for (end = q; end + 1 < QUEUE_LIST_MAX && mask >> (end + 1) & 1;
		     end++)
			;
		at += snprintf(buf + at, len - at, "%s%d", at ? "," : "", q);
		if (end > q && at < len)
			at += snprintf(buf + at, len - at, "%s%d",
				       end > q + 1 ? "-" : ",", end);
		q = end;
	}
	return buf;
}
