// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/rtnetlink.h>
#include <net/if.h>

#include "link_watch.h"
#include "log.h"

int link_watch_open(struct link_watch *w, const int *ifindex, int n)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK,
				  .nl_groups = RTMGRP_LINK };
	int err;

	memset(w, 0, sizeof(*w));
	w->n = n < LINK_WATCH_MAX ? n : LINK_WATCH_MAX;
	memcpy(w->ifindex, ifindex, w->n * sizeof(w->ifindex[0]));
	w->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
		       NETLINK_ROUTE);
	if (w->fd < 0 || bind(w->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		log_err("cannot watch the interfaces over RTNETLINK: %s; check that this kernel has it",
			strerror(-err));
		link_watch_close(w);
		return err;
	}
	return 0;
}

static void gone(struct link_watch *w, int r, unsigned int *mask)
{
	if (w->gone[r])
		return;
	w->gone[r] = true;
	*mask |= 1u << r;
}

/* A lost event means checking every interface by index. */
unsigned int link_watch_handle(struct link_watch *w)
{
	char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
	const struct nlmsghdr *nh;
	const struct ifinfomsg *ifi;
	char name[IF_NAMESIZE];
	unsigned int mask = 0;
	ssize_t len;
	int r;

	for (;;) {
		len = recv(w->fd, buf, sizeof(buf), 0);
		if (len < 0 && errno == ENOBUFS) {
			for (r = 0; r < w->n; r++)
				if (!if_indextoname(w->ifindex[r], name))
					gone(w, r, &mask);
			continue;
		}
		if (len <= 0)
			return mask;
		for (nh = (const struct nlmsghdr *)buf; NLMSG_OK(nh, len);
		     nh = NLMSG_NEXT(nh, len)) {
			if (nh->nlmsg_type != RTM_DELLINK ||
			    nh->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)))
				continue;
			ifi = NLMSG_DATA(nh);
			/* a port leaving a bridge: the interface stays */
			if (ifi->ifi_family == AF_BRIDGE)
				continue;
			for (r = 0; r < w->n; r++)
				if (ifi->ifi_index == w->ifindex[r])
					gone(w, r, &mask);
		}
	}
}

void link_watch_close(struct link_watch *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
}
