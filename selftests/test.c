// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdarg.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "test.h"

struct test_case *test_cases;
int test_case_failed;
int test_case_skipped;
static char test_skip_reason[256];

void test_skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(test_skip_reason, sizeof(test_skip_reason), fmt, ap);
	va_end(ap);
	test_case_skipped = 1;
}

int test_sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* An argument runs only the cases whose name contains it. */
int test_main(int argc, char **argv)
{
	struct test_case *t;
	int passed = 0, failed = 0, skipped = 0;

	for (t = test_cases; t; t = t->next) {
		if (argc > 1 && !strstr(t->name, argv[1]))
			continue;
		test_case_failed = 0;
		test_case_skipped = 0;
		t->fn();
		if (test_case_failed) {
			/* a check failed before the skip: still a failure */
			if (test_case_skipped)
				fprintf(stderr, "  then skipped: %s\n",
					test_skip_reason);
			printf("FAIL - %s\n", t->name);
			failed++;
		} else if (test_case_skipped) {
			printf("skip - %s: %s\n", t->name, test_skip_reason);
			skipped++;
		} else {
			printf("ok - %s\n", t->name);
			passed++;
		}
		fflush(stdout);
	}
	printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
	return test_main(argc, argv);
}
