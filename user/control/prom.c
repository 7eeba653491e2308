// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdarg.h>

#include "prom.h"

static void full_name(FILE *f, const char *group, const char *name,
		      enum colo_counter_kind kind)
{
	fprintf(f, PROM_PREFIX "%s%s%s%s", group, *group ? "_" : "", name,
		kind == COLO_TOTAL ? "_total" : "");
}

void prom_family(FILE *f, const char *group, const char *name,
		 enum colo_counter_kind kind, const char *help)
{
	const char *c;

	fputs("# HELP ", f);
	full_name(f, group, name, kind);
	fputc(' ', f);
	/* HELP escapes only backslash and newline */
	for (c = help ? help : name; *c; c++)
		if (*c == '\\')
			fputs("\\\\", f);
		else if (*c == '\n')
			fputs("\\n", f);
		else
			fputc(*c, f);
	fputs("\n# TYPE ", f);
	full_name(f, group, name, kind);
	fputs(kind == COLO_TOTAL ? " counter\n" : " gauge\n", f);
}

void prom_sample(FILE *f, const char *group, const char *name,
		 enum colo_counter_kind kind, const char *labels, uint64_t v)
{
	full_name(f, group, name, kind);
	fprintf(f, "%s %llu\n", labels, (unsigned long long)v);
}

/* One character into buf, room kept for the closing brace and NUL. */
static void put(char *buf, size_t len, size_t *n, char c)
{
	if (*n + 2 < len)
		buf[(*n)++] = c;
}

void prom_labels(char *buf, size_t len, ...)
{
	const char *k, *v;
	size_t n = 0;
	va_list ap;

	put(buf, len, &n, '{');
	va_start(ap, len);
	while ((k = va_arg(ap, const char *))) {
		v = va_arg(ap, const char *);
		if (n > 1)
			put(buf, len, &n, ',');
		while (*k)
			put(buf, len, &n, *k++);
		put(buf, len, &n, '=');
		put(buf, len, &n, '"');
		for (; *v; v++) {
			if (*v == '\\' || *v == '"' || *v == '\n')
				put(buf, len, &n, '\\');
			put(buf, len, &n, *v == '\n' ? 'n' : *v);
		}
		put(buf, len, &n, '"');
	}
	va_end(ap);
	buf[n++] = '}';
	buf[n] = '\0';
}
