/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * An instance's pin directory, and everything that makes it one instance's:
 * its path (COLO_PIN_ROOT/<primary-in> unless given), creating it, the lock
 * two loaders started at once claim it under, the owner record (the
 * colo_loader map pinned there: interfaces, loader and keeper pids), whether
 * that loader and its keeper live and what colo_steer's watchdog makes of
 * the loader, the claim (a new instance, or the takeover of a dead one),
 * its removal, and the instances under COLO_PIN_ROOT; and what the
 * instance's passthrough rules counted, for whoever reads them from the
 * pins. The maps inside are steer.c's to write.
 */
#ifndef COLO_PIN_DIR_H
#define COLO_PIN_DIR_H

#include <limits.h>
#include <stdbool.h>

#include "colo_xdp.h"

#define COLO_PIN_ROOT "/sys/fs/bpf/colo-xdp"

struct pin_dir {
	char path[PATH_MAX];
	int lock; /* the parent directory, flocked while claiming; -1: none */
	bool default_path; /* under COLO_PIN_ROOT, which instances share */
	/* this instance's to remove: made by it, or a dead one's taken over */
	bool owned;
};

enum pin_dir_claim {
	PIN_DIR_FREE, /* made, or found empty: a new instance's */
	PIN_DIR_TAKEOVER, /* a dead instance's, of the same interfaces */
	PIN_DIR_HELD, /* pin_dir_make(): it holds pins, whose is not known */
};

/* Before anything can fail: pin_dir_unlock() and pin_dir_remove() are safe. */
void pin_dir_init(struct pin_dir *d);

/*
 * Make path (NULL: COLO_PIN_ROOT/name) under the claim lock. Returns
 * PIN_DIR_FREE (made, or found empty: the caller's to remove), PIN_DIR_HELD
 * (it holds pins: the caller looks whose), or a negative errno with a
 * message. Whatever it returns, the lock is held until pin_dir_unlock().
 */
int pin_dir_make(struct pin_dir *d, const char *path, const char *name);

/*
 * Claim path (NULL: COLO_PIN_ROOT/<ifname[primary]>) for an instance on
 * ifname and ifindex (by enum colo_role), creating it. Returns
 * PIN_DIR_FREE, PIN_DIR_TAKEOVER with the dead instance's record in *dead,
 * or a negative errno with a message: -EBUSY for a directory whose loader
 * runs, that holds foreign pins, or a dead instance of other interfaces.
 * Whatever it returns, the claim lock is held until pin_dir_unlock(), to
 * be called once this process's pid is published in the directory.
 */
int pin_dir_claim(struct pin_dir *d, const char *path,
		  const char *const ifname[COLO_NR_ROLES],
		  const int ifindex[COLO_NR_ROLES], struct colo_loader *dead);

void pin_dir_unlock(struct pin_dir *d);

/*
 * At teardown, once its pins are gone: the directory if it is this
 * instance's, and COLO_PIN_ROOT if no other instance is left in it.
 */
void pin_dir_remove(struct pin_dir *d);

/* The process an owner record names runs; 0 is nobody. */
bool pin_dir_pid_runs(__u32 pid);

/* Open the pin name in the directory path: an fd, or a negative errno. */
int pin_dir_open_pin(const char *path, const char *name);

/* Remove the pin name from the directory path, if it is there. */
int pin_dir_unlink(const char *path, const char *name);

/*
 * Open the map pinned as name in path to read values of value_size bytes
 * (per CPU, for a per-CPU map): an fd, or a negative errno; -EPROTO when
 * its values have another size: another version of colo-xdp pinned it,
 * and reading it would overrun the reader's buffer.
 */
int pin_dir_open_map(const char *path, const char *name, __u32 value_size);

/*
 * The one value of the array map pinned as name in path, size bytes
 * (an instance's record): 0, or a negative errno with *rec zeroed.
 */
int pin_dir_read_record(const char *path, const char *name, void *rec,
			__u32 size);

/*
 * The owner record pinned in path: 0, or a negative errno (-ENOENT: no
 * instance there) with *rec zeroed.
 */
int pin_dir_owner(const char *path, struct colo_loader *rec);

/*
 * The owner record is gone from path (a clean stop, or 'rm -r'): no loader
 * will take the instance over any more.
 */
bool pin_dir_abandoned(const char *path);

/*
 * The passthrough rules of the instance pinned in path whose primary is
 * primary_ifindex, and their counters summed over the CPUs: count[i] is
 * set->rule[i]'s. 0 (no rule: set->n 0), or a negative errno.
 */
int pin_dir_pass(const char *path, __u32 primary_ifindex,
		 struct colo_pass_set *set, struct colo_pass_count *count);

/* The loader, as colo_steer's watchdog sees it. */
enum pin_dir_loader {
	PIN_DIR_NOT_STARTED, /* no heartbeat yet, or stopped: disarmed */
	PIN_DIR_ALIVE,
	/* its process died; its keeper holds the sockets until the watchdog */
	PIN_DIR_DEAD,
	/* past the watchdog, or nothing holds its sockets: failing open/hold */
	PIN_DIR_LOST,
};

struct pin_dir_liveness {
	bool loader; /* the loader's process runs */
	bool keeper; /* its keeper's runs */
	enum pin_dir_loader state;
	/* unless PIN_DIR_NOT_STARTED: the heartbeat's age, the settings */
	__u64 age_ms;
	__u32 watchdog_ms;
	__u32 on_loss; /* enum colo_on_loss */
};

/* What lives of the instance pinned in path, whose owner record is rec. */
void pin_dir_alive(const char *path, const struct colo_loader *rec,
		   struct pin_dir_liveness *live);

/*
 * fn(path, arg) for every entry under COLO_PIN_ROOT but dot files (none if
 * it cannot be opened: no instance was ever started, or no root); a
 * nonzero return of fn ends the walk and is returned.
 */
int pin_dir_for_each(int (*fn)(const char *path, void *arg), void *arg);

#endif /* COLO_PIN_DIR_H */
