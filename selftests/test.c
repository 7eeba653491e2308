// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdlib.h>

#include "test.h"

struct test_case *test_cases;
int test_case_failed;

/* An argument runs only the cases whose name contains it. */
int test_main(int argc, char **argv)
{
	struct test_case *t;
	int passed = 0, failed = 0;

	for (t = test_cases; t; t = t->next) {
		if (argc > 1 && !strstr(t->name, argv[1]))
			continue;
		test_case_failed = 0;
		t->fn();
		printf("%s - %s\n", test_case_failed ? "FAIL" : "ok", t->name);
		fflush(stdout);
		if (test_case_failed)
			failed++;
		else
			passed++;
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
	return test_main(argc, argv);
}
