// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "host.h"
#include "log.h"
#include "record.h"

/* A directory that holds pins: a dead bridge's is taken over. */
static int claim_held(struct chardev_record *r)
{
	struct colo_chardev old;

	pin_dir_read_record(r->dir.path, COLO_CHARDEV_MAP, &old, sizeof(old));
	if (!old.pid) {
		log_err("pin directory %s holds pins that are not a colo-xdp chardev's: remove them with 'rm -r %s', or give this bridge another --pin-path",
			r->dir.path, r->dir.path);
		return -EBUSY;
	}
	if (pin_dir_pid_runs(old.pid)) {
		log_err("pin directory %s belongs to a running colo-xdp chardev (pid %u) on tap %.*s: stop it, or give this bridge another --pin-path",
			r->dir.path, old.pid, COLO_CHARDEV_IFNAMSIZ, old.tap);
		return -EBUSY;
	}
	/* nothing in the kernel depends on a dead bridge's record */
	pin_dir_unlink(r->dir.path, COLO_CHARDEV_MAP);
	r->dir.owned = true;
	return 0;
}

int chardev_record_open(struct chardev_record *r, const char *path,
			const char *tap)
{
	char name[sizeof(COLO_CHARDEV_PREFIX) + COLO_CHARDEV_IFNAMSIZ];
	char pin[PATH_MAX + sizeof(COLO_CHARDEV_MAP) + 1];
	int ret;

	pin_dir_init(&r->dir);
	r->fd = -1;
	ret = host_ensure_bpffs();
	if (ret)
		return ret;
	snprintf(name, sizeof(name), COLO_CHARDEV_PREFIX "%s", tap);
	ret = pin_dir_make(&r->dir, path, name);
	if (ret == PIN_DIR_HELD)
		ret = claim_held(r);
	if (ret < 0)
		goto out;
	r->fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, COLO_CHARDEV_MAP,
			       sizeof(__u32), sizeof(struct colo_chardev), 1,
			       NULL);
	snprintf(pin, sizeof(pin), "%s/%s", r->dir.path, COLO_CHARDEV_MAP);
	ret = r->fd < 0 ? r->fd : bpf_obj_pin(r->fd, pin);
	if (ret)
		log_err("%s: cannot pin the bridge's record: %s", pin,
			strerror(-ret));
out:
	pin_dir_unlock(&r->dir);
	return ret < 0 ? ret : 0;
}

int chardev_record_put(struct chardev_record *r, const struct colo_chardev *rec)
{
	__u32 zero = 0;

	return r->fd < 0 ? -EBADF : bpf_map_update_elem(r->fd, &zero, rec, 0);
}

void chardev_record_close(struct chardev_record *r)
{
	if (r->fd >= 0) {
		pin_dir_unlink(r->dir.path, COLO_CHARDEV_MAP);
		close(r->fd);
	}
	r->fd = -1;
	pin_dir_remove(&r->dir);
}

int chardev_record_read(const char *path, struct colo_chardev *rec)
{
	return pin_dir_read_record(path, COLO_CHARDEV_MAP, rec, sizeof(*rec));
}
