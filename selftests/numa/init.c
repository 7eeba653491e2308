// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * /init of the two-node test VM: mount what libnuma and the tests read
 * (/proc, /sys, /dev), load the NIC driver so an interface sits on a node,
 * run /test_numa, power off. Its output goes to the serial console, where
 * selftests/numa/run.sh reads the results.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void mount_fs(const char *type, const char *dir)
{
	mkdir(dir, 0755);
	if (mount(type, dir, type, 0, NULL) && errno != EBUSY)
		printf("numa-vm: cannot mount %s on %s: %s\n", type, dir,
		       strerror(errno));
}

int main(void)
{
	char *const argv[] = { "/test_numa", NULL };
	int fd, status = 0;
	pid_t pid;

	mount_fs("devtmpfs", "/dev");
	fd = open("/dev/console", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* tmpfile() for the tests' captured messages */
	mkdir("/tmp", 01777);
	mount_fs("proc", "/proc");
	mount_fs("sysfs", "/sys");

	fd = open("/e1000e.ko", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || syscall(SYS_finit_module, fd, "", 0))
		printf("numa-vm: cannot load e1000e.ko: %s\n", strerror(errno));
	if (fd >= 0)
		close(fd);

	pid = fork();
	if (pid == 0) {
		execv(argv[0], argv);
		printf("numa-vm: cannot run %s: %s\n", argv[0],
		       strerror(errno));
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		printf("numa-vm: cannot run %s\n", argv[0]);
	printf("numa-vm: %s exited with status %d\n", argv[0],
	       WIFEXITED(status) ? WEXITSTATUS(status) : 128);
	sync();
	reboot(RB_POWER_OFF);
	return 0;
}
