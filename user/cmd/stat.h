/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* What `colo-xdp stat` shows, for the commands that serve it too. */
#ifndef COLO_STAT_H
#define COLO_STAT_H

#include <stdio.h>

/*
 * Every counter `colo-xdp stat` shows of the instance and agent pinned in
 * pin_path (NULL: of all under COLO_PIN_ROOT) in the Prometheus text
 * format, on f. Returns how many were found, or a negative errno (-EPERM
 * or -EACCES without the right to read the pins).
 */
int stat_prometheus(const char *pin_path, FILE *f);

#endif /* COLO_STAT_H */
