/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A minimal test harness: TEST() defines a case, CHECK() records a failed
 * assertion with its location and goes on, SKIP() ends a case that cannot
 * run here (a privilege, a kernel feature or hardware is missing) with the
 * reason, test_main() runs every case and prints "N passed, N failed,
 * N skipped", exiting non-zero on any failure, which is what
 * selftests/run sums and CI reads. A skipped case is never counted as
 * passed, and a case that failed a check before it skipped still fails.
 */
#ifndef COLO_TEST_H
#define COLO_TEST_H

#include <stdio.h>
#include <string.h>

struct test_case {
	const char *name;
	void (*fn)(void);
	struct test_case *next;
};

extern struct test_case *test_cases;
extern int test_case_failed;
extern int test_case_skipped;

/* Mark the current case skipped, printf-style reason; see SKIP(). */
void test_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define TEST(name)                                                          \
	static void test_##name(void);                                      \
	static struct test_case test_case_##name = { #name, test_##name,    \
						     NULL };                \
	__attribute__((constructor)) static void test_register_##name(void) \
	{                                                                   \
		struct test_case **p = &test_cases;                         \
		while (*p)                                                  \
			p = &(*p)->next;                                    \
		*p = &test_case_##name;                                     \
	}                                                                   \
	static void test_##name(void)

#define CHECK(cond)                                                    \
	do {                                                           \
		if (!(cond)) {                                         \
			fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", \
				__FILE__, __LINE__, #cond);            \
			test_case_failed = 1;                          \
		}                                                      \
	} while (0)

#define CHECK_EQ(a, b)                                                      \
	do {                                                                \
		long long _a = (long long)(a), _b = (long long)(b);         \
		if (_a != _b) {                                             \
			fprintf(stderr,                                     \
				"  %s:%d: %s == %s failed: %lld != %lld\n", \
				__FILE__, __LINE__, #a, #b, _a, _b);        \
			test_case_failed = 1;                               \
		}                                                           \
	} while (0)

/*
 * SKIP(FMT, ...): in a case's own function, mark it skipped with the
 * reason (what is missing) and return; free what the case holds first. A
 * helper calls test_skip() and lets its case return.
 */
#define SKIP(...)                       \
	do {                            \
		test_skip(__VA_ARGS__); \
		return;                 \
	} while (0)

/* Run a shell command, printf-style: its exit status, -1 if it died. */
int test_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int test_main(int argc, char **argv);

#endif /* COLO_TEST_H */
