// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/if.h>
#include <linux/if_tun.h>

#include "tap.h"

int tap_open(const char *who, const char *name)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	/*
	 * Non-blocking, as QEMU opens it: only then does tun build the frame
	 * in a page and run native XDP on it before any skb exists; a
	 * blocking writer's frames get an skb first and generic XDP.
	 */
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "%s: /dev/net/tun: %s\n", who, strerror(errno));
		return -1;
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr)) {
		fprintf(stderr,
			"%s: tap %s: %s; create it with 'ip tuntap add dev %s mode tap'\n",
			who, name, strerror(errno), name);
		close(fd);
		return -1;
	}
	return fd;
}
