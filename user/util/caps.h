/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * This process's effective capabilities, asked once before anything is
 * touched, so that a command can say which one is missing instead of
 * failing half-way with EPERM.
 */
#ifndef COLO_CAPS_H
#define COLO_CAPS_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/capability.h>

/* Not in every libc's or kernel's headers yet. */
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

/* The effective set, bit N for capability N; -errno if it cannot be read. */
int caps_effective(uint64_t *set);

static inline bool caps_has(uint64_t set, int cap)
{
	return set >> cap & 1;
}

/* Loading BPF: CAP_BPF, or CAP_SYS_ADMIN on kernels that predate it. */
static inline bool caps_has_bpf(uint64_t set)
{
	return caps_has(set, CAP_BPF) || caps_has(set, CAP_SYS_ADMIN);
}

#endif /* COLO_CAPS_H */
