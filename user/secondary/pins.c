// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "pins.h"

int secondary_pins_claim(struct pin_dir *d, const char *path,
			 const char *const ifname[2], const int ifindex[2],
			 struct colo_secondary *dead)
{
	char name[sizeof(SECONDARY_PIN_PREFIX) + 16];
	int ret;

	snprintf(name, sizeof(name), SECONDARY_PIN_PREFIX "%s", ifname[0]);
	ret = pin_dir_make(d, path, name);
	if (ret != PIN_DIR_HELD)
		return ret;
	pin_dir_read_record(d->path, COLO_RW_MAP_AGENT, dead, sizeof(*dead));
	if (!dead->pid) {
		log_err("pin directory %s holds pins that are not a colo-xdp secondary's: remove them with 'rm -r %s', or give this agent another pin path",
			d->path, d->path);
		return -EBUSY;
	}
	if (pin_dir_pid_runs(dead->pid)) {
		log_err("pin directory %s belongs to a running colo-xdp secondary (pid %u): stop it, or give this agent another pin path",
			d->path, dead->pid);
		return -EBUSY;
	}
	if (dead->vm_ifindex != (__u32)ifindex[0] ||
	    dead->link_ifindex != (__u32)ifindex[1]) {
		log_err("pin directory %s holds the pins of a colo-xdp secondary (pid %u) of --vm %.*s and --link %.*s that did not stop cleanly, not of %s and %s: give this agent another pin path, or end that one: detach its programs ('ip link set dev %.*s xdp off', 'tc filter del dev %.*s ingress handle %#x prio %d bpf') and remove its pins with 'rm -r %s'",
			d->path, dead->pid, COLO_RW_IFNAMSIZ, dead->vm,
			COLO_RW_IFNAMSIZ, dead->link, ifname[0], ifname[1],
			COLO_RW_IFNAMSIZ, dead->link, COLO_RW_IFNAMSIZ,
			dead->vm, SECONDARY_TC_HANDLE, SECONDARY_TC_PRIO,
			d->path);
		return -EBUSY;
	}
	return PIN_DIR_TAKEOVER;
}

/* The per-CPU counters of the rewriter, summed; -errno if unreadable. */
static int read_stats(const char *path, struct colo_rw_stats *out)
{
	int ncpus = libbpf_num_possible_cpus(), fd, err, c;
	size_t f, n = sizeof(*out) / sizeof(__u64);
	struct colo_rw_stats *percpu;
	__u32 zero = 0;

	memset(out, 0, sizeof(*out));
	if (ncpus <= 0)
		return ncpus ?: -EINVAL;
	percpu = calloc(ncpus, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	fd = pin_dir_open_map(path, COLO_RW_MAP_STATS, sizeof(*percpu));
	err = fd < 0 ? fd : bpf_map_lookup_elem(fd, &zero, percpu);
	for (c = 0; !err && c < ncpus; c++)
		for (f = 0; f < n; f++)
			((__u64 *)out)[f] += ((__u64 *)&percpu[c])[f];
	if (fd >= 0)
		close(fd);
	free(percpu);
	return err;
}

int secondary_pins_read(const char *path, struct secondary_view *v)
{
	int err;

	memset(v, 0, sizeof(*v));
	err = pin_dir_read_record(path, COLO_RW_MAP_AGENT, &v->rec,
				  sizeof(v->rec));
	if (err)
		return err;
	v->running = pin_dir_pid_runs(v->rec.pid);
	v->have_stats = !read_stats(path, &v->st);
	return 0;
}
