// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Whose a pin directory is: the colo_loader record pinned there names the
 * process, and a process that kill(pid, 0) no longer finds is dead. A
 * directory with no record holds someone else's pins; an empty one is
 * nobody's.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cli.h"
#include "log.h"
#include "pin_dir.h"

/* A pin: its directory, '/', a map name of 15 characters at most. */
#define PIN_PATH_MAX (PATH_MAX + 16)

bool pin_dir_pid_runs(__u32 pid)
{
	return pid && !kill(pid, 0);
}

void pin_dir_init(struct pin_dir *d)
{
	memset(d, 0, sizeof(*d));
	d->lock = -1;
}

/*
 * Two loaders started at once on one pin path (two restarts of a dead
 * instance) must not both claim it: from the look at its owner until this
 * process's pid is published there, hold a lock on the parent directory.
 */
static int lock_parent(struct pin_dir *d)
{
	char parent[PATH_MAX], *slash;
	int err;

	snprintf(parent, sizeof(parent), "%s", d->path);
	slash = strrchr(parent, '/');
	if (!slash)
		strcpy(parent, ".");
	else if (slash == parent)
		slash[1] = '\0';
	else
		*slash = '\0';
	d->lock = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->lock < 0 || flock(d->lock, LOCK_EX)) {
		err = -errno;
		log_err("cannot lock %s to claim pin directory %s: %s", parent,
			d->path, strerror(-err));
		return err;
	}
	return 0;
}

void pin_dir_unlock(struct pin_dir *d)
{
	if (d->lock >= 0)
		close(d->lock);
	d->lock = -1;
}

static int mkdir_failed(const struct pin_dir *d)
{
	int err = -errno;

	log_err("cannot create pin directory %s: %s", d->path, strerror(-err));
	return err;
}

/*
 * A directory that holds pins: refused while its owner runs; if the owner
 * is gone, taken over when it served the same interfaces.
 */
static int claim_held(struct pin_dir *d, const char *const ifname[],
		      const int ifindex[], struct colo_loader *dead)
{
	int r;

	pin_dir_owner(d->path, dead);
	if (pin_dir_pid_runs(dead->pid)) {
		log_err("pin directory %s belongs to a running colo-xdp (pid %u): stop it, or give this instance another pin path",
			d->path, dead->pid);
		return -EBUSY;
	}
	if (!dead->pid) {
		log_err("pin directory %s holds pins that are not a colo-xdp instance's: remove them with 'rm -r %s', or give this instance another pin path",
			d->path, d->path);
		return -EBUSY;
	}
	for (r = 0; r < COLO_NR_ROLES; r++)
		if (dead->ifindex[r] != (__u32)ifindex[r]) {
			log_err("pin directory %s holds a dead colo-xdp (pid %u) of other interfaces than %s, %s and %s: give this instance another pin path, or remove those pins with 'rm -r %s'",
				d->path, dead->pid, ifname[0], ifname[1],
				ifname[2], d->path);
			return -EBUSY;
		}
	d->owned = true;
	return PIN_DIR_TAKEOVER;
}

int pin_dir_make(struct pin_dir *d, const char *path, const char *name)
{
	int n, err;

	if (path)
		n = snprintf(d->path, sizeof(d->path), "%s", path);
	else
		n = snprintf(d->path, sizeof(d->path), "%s/%s", COLO_PIN_ROOT,
			     name);
	if (n >= (int)sizeof(d->path)) {
		log_err("pin path %s: too long", d->path);
		return -ENAMETOOLONG;
	}
	d->default_path = !path;
	/*
	 * The root too for a --pin-path under it (a service unit names its
	 * instance's so): a fresh host has no instance that made it yet.
	 */
	if ((!path ||
	     !strncmp(path, COLO_PIN_ROOT "/", sizeof(COLO_PIN_ROOT))) &&
	    mkdir(COLO_PIN_ROOT, 0700) && errno != EEXIST)
		return mkdir_failed(d);
	err = lock_parent(d);
	if (err)
		return err;
	if (mkdir(d->path, 0700)) {
		if (errno != EEXIST)
			return mkdir_failed(d);
		/* ours only if empty: rmdir would have removed an empty one */
		if (rmdir(d->path) || mkdir(d->path, 0700))
			return PIN_DIR_HELD;
	}
	d->owned = true;
	return PIN_DIR_FREE;
}

int pin_dir_claim(struct pin_dir *d, const char *path,
		  const char *const ifname[COLO_NR_ROLES],
		  const int ifindex[COLO_NR_ROLES], struct colo_loader *dead)
{
	int ret = pin_dir_make(d, path, ifname[COLO_ROLE_PRIMARY]);

	if (ret != PIN_DIR_HELD)
		return ret;
	return claim_held(d, ifname, ifindex, dead);
}

void pin_dir_remove(struct pin_dir *d)
{
	if (d->owned)
		rmdir(d->path);
	/* shared by every instance: the last one out removes it */
	if (d->default_path)
		rmdir(COLO_PIN_ROOT);
}

static void pin_of(char pin[PIN_PATH_MAX], const char *path, const char *name)
{
	snprintf(pin, PIN_PATH_MAX, "%s/%s", path, name);
}

int pin_dir_open_pin(const char *path, const char *name)
{
	char pin[PIN_PATH_MAX];

	pin_of(pin, path, name);
	return bpf_obj_get(pin);
}

int pin_dir_unlink(const char *path, const char *name)
{
	char pin[PIN_PATH_MAX];

	pin_of(pin, path, name);
	return unlink(pin) && errno != ENOENT ? -errno : 0;
}

int pin_dir_open_map(const char *path, const char *name, __u32 value_size)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd, err;

	fd = pin_dir_open_pin(path, name);
	if (fd < 0)
		return fd;
	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	if (!err && info.value_size != value_size)
		err = -EPROTO;
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

int pin_dir_read_record(const char *path, const char *name, void *rec,
			__u32 size)
{
	__u32 zero = 0;
	int fd, err;

	memset(rec, 0, size);
	fd = pin_dir_open_map(path, name, size);
	if (fd < 0)
		return fd;
	err = bpf_map_lookup_elem(fd, &zero, rec);
	if (err)
		memset(rec, 0, size);
	close(fd);
	return err;
}

int pin_dir_owner(const char *path, struct colo_loader *rec)
{
	return pin_dir_read_record(path, COLO_MAP_LOADER, rec, sizeof(*rec));
}

bool pin_dir_abandoned(const char *path)
{
	char pin[PIN_PATH_MAX];

	pin_of(pin, path, COLO_MAP_LOADER);
	return access(pin, F_OK) && errno == ENOENT;
}

/* The colo_config entry of the instance's primary: 0 or a negative errno. */
static int primary_config(const char *path, __u32 ifindex,
			  struct colo_if_config *cfg)
{
	int fd = pin_dir_open_map(path, COLO_MAP_CONFIG, sizeof(*cfg)), err;

	if (fd < 0)
		return fd;
	err = bpf_map_lookup_elem(fd, &ifindex, cfg);
	close(fd);
	return err;
}

/*
 * The loader's last heartbeat (0: none, or its pins lack the watchdog's
 * settings) and those settings, from the primary's colo_config entry.
 */
static __u64 heartbeat(const char *path, const struct colo_loader *rec,
		       struct colo_if_config *cfg)
{
	__u32 key;
	__u64 hb = 0;
	int hfd;

	hfd = pin_dir_open_map(path, COLO_MAP_HEARTBEAT, sizeof(hb));
	if (hfd >= 0 &&
	    !primary_config(path, rec->ifindex[COLO_ROLE_PRIMARY], cfg) &&
	    cfg->on_loss <= COLO_LOSS_HOLD) {
		key = cfg->hb_slot;
		if (bpf_map_lookup_elem(hfd, &key, &hb))
			hb = 0;
	}
	if (hfd >= 0)
		close(hfd);
	return hb;
}

int pin_dir_pass(const char *path, __u32 primary_ifindex,
		 struct colo_pass_set *set, struct colo_pass_count *count)
{
	struct colo_pass_count *percpu = NULL;
	struct colo_if_config cfg;
	int rfd, cfd, ncpus, c, err;
	__u32 i, key;

	memset(set, 0, sizeof(*set));
	memset(count, 0, COLO_PASS_MAX * sizeof(*count));
	rfd = pin_dir_open_map(path, COLO_MAP_PASS, sizeof(*set));
	cfd = pin_dir_open_map(path, COLO_MAP_PASS_STATS, sizeof(*count));
	err = rfd < 0 ? rfd : cfd < 0 ? cfd : 0;
	if (err)
		goto out;
	err = primary_config(path, primary_ifindex, &cfg);
	if (err)
		goto out;
	/* no entry: no rule was ever written, as in failing to start */
	if (bpf_map_lookup_elem(rfd, &cfg.hb_slot, set) ||
	    set->n > COLO_PASS_MAX) {
		memset(set, 0, sizeof(*set));
		goto out;
	}
	ncpus = libbpf_num_possible_cpus();
	percpu = ncpus > 0 ? calloc(ncpus, sizeof(*percpu)) : NULL;
	if (!percpu) {
		err = ncpus > 0 ? -ENOMEM : ncpus ?: -EINVAL;
		goto out;
	}
	for (i = 0; i < set->n; i++) {
		key = cfg.hb_slot * COLO_PASS_MAX + set->rule[i].slot;
		if (bpf_map_lookup_elem(cfd, &key, percpu))
			continue;
		for (c = 0; c < ncpus; c++) {
			count[i].primary += percpu[c].primary;
			count[i].secondary += percpu[c].secondary;
		}
	}
out:
	if (rfd >= 0)
		close(rfd);
	if (cfd >= 0)
		close(cfd);
	free(percpu);
	return err;
}

void pin_dir_alive(const char *path, const struct colo_loader *rec,
		   struct pin_dir_liveness *live)
{
	struct colo_if_config cfg;
	__u64 hb, now;

	memset(live, 0, sizeof(*live));
	live->loader = pin_dir_pid_runs(rec->pid);
	live->keeper = pin_dir_pid_runs(rec->keeper_pid);
	hb = heartbeat(path, rec, &cfg);
	if (!hb) {
		live->state = PIN_DIR_NOT_STARTED;
		return;
	}
	now = cli_now_ns();
	live->age_ms = (now - hb) / 1000000;
	live->watchdog_ms = cfg.watchdog_ms;
	live->on_loss = cfg.on_loss;
	/* a dead process's sockets gone with it: colo_steer sees that at once */
	if (colo_heartbeat_lost(hb, now, cfg.watchdog_ms) ||
	    (!live->loader && !live->keeper)) {
		live->state = PIN_DIR_LOST;
		return;
	}
	/* its keeper holds the sockets: lost once the watchdog says so */
	live->state = live->loader ? PIN_DIR_ALIVE : PIN_DIR_DEAD;
}

int pin_dir_for_each(int (*fn)(const char *path, void *arg), void *arg)
{
	char path[PATH_MAX];
	struct dirent *de;
	int ret = 0;
	DIR *d;

	d = opendir(COLO_PIN_ROOT);
	if (!d)
		return 0;
	while (!ret && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", COLO_PIN_ROOT,
			 de->d_name);
		ret = fn(path, arg);
	}
	closedir(d);
	return ret;
}
