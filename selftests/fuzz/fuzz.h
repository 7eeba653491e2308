/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Shared by the fuzz targets: an invariant that must hold on every input.
 * A broken one aborts, so libFuzzer saves the input as a crash artifact.
 */
#ifndef COLO_FUZZ_H
#define COLO_FUZZ_H

#include <stdio.h>
#include <stdlib.h>

#define REQUIRE(cond)                                                    \
	do {                                                             \
		if (!(cond)) {                                           \
			fprintf(stderr, "%s:%d: invariant broken: %s\n", \
				__FILE__, __LINE__, #cond);              \
			abort();                                         \
		}                                                        \
	} while (0)

#endif /* COLO_FUZZ_H */
