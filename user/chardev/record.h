/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A bridge's record (struct colo_chardev) pinned in its pin directory,
 * COLO_PIN_ROOT/chardev-<tap> unless given: claiming the directory,
 * publishing the record, reading it back for `colo-xdp stat`, and
 * removing it at the end. A BPF array map of one entry, so that stat
 * finds bridges where it finds run's instances and secondary agents.
 */
#ifndef COLO_CHARDEV_RECORD_H
#define COLO_CHARDEV_RECORD_H

#include <stdbool.h>

#include "colo_chardev.h"
#include "pin_dir.h"

struct chardev_record {
	struct pin_dir dir;
	int fd; /* the map, -1 */
};

/*
 * Claim path (NULL: the default for tap) and pin the record there: 0, or
 * a negative errno with a message naming the directory and the fix
 * (-EBUSY: a running bridge's, or pins that are not a bridge's).
 */
int chardev_record_open(struct chardev_record *r, const char *path,
			const char *tap);

/* Publish rec: 0 or a negative errno. */
int chardev_record_put(struct chardev_record *r,
		       const struct colo_chardev *rec);

/* Unpin, and remove the directory if it is the bridge's. */
void chardev_record_close(struct chardev_record *r);

/* The bridge pinned in path: 0, -ENOENT if none is there, or a negative errno. */
int chardev_record_read(const char *path, struct colo_chardev *rec);

#endif /* COLO_CHARDEV_RECORD_H */
