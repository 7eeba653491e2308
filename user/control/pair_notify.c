// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/if_packet.h>
#include <net/if.h>

#include "colo_pair.h"
#include "log.h"
#include "pair_notify.h"

struct pair_notify {
	int fd;
	char ifname[IF_NAMESIZE];
	uint8_t frame[COLO_PAIR_FRAME_LEN];
	uint64_t seq;
	struct pair_notify_stats st;
};

int pair_notify_open(const char *ifname, uint64_t token,
		     struct pair_notify **out)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };
	struct colo_pair_msg m = {};
	struct pair_notify *p;
	struct ifreq ifr = {};
	int err;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	snprintf(p->ifname, sizeof(p->ifname), "%s", ifname);
	/* protocol 0: this socket sends, it never receives a frame */
	p->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (p->fd < 0) {
		err = -errno;
		log_err("%s: cannot open a packet socket to tell the secondary agent of checkpoints: %s (needs CAP_NET_RAW)",
			ifname, strerror(-err));
		goto fail;
	}
	strcpy(ifr.ifr_name, p->ifname);
	sll.sll_ifindex = if_nametoindex(ifname);
	if (!sll.sll_ifindex || ioctl(p->fd, SIOCGIFHWADDR, &ifr) ||
	    bind(p->fd, (struct sockaddr *)&sll, sizeof(sll))) {
		err = -errno;
		log_err("%s: cannot bind a packet socket to tell the secondary agent of checkpoints: %s",
			ifname, strerror(-err));
		goto fail;
	}
	/* broadcast: the link is point-to-point, the agent's XDP takes it */
	memset(p->frame, 0xff, 6);
	memcpy(p->frame + 6, ifr.ifr_hwaddr.sa_data, 6);
	p->frame[12] = COLO_PAIR_ETHERTYPE >> 8;
	p->frame[13] = COLO_PAIR_ETHERTYPE & 0xff;
	m.magic = htobe32(COLO_PAIR_MAGIC);
	m.version = COLO_PAIR_VERSION;
	m.type = COLO_PAIR_CHECKPOINT_DONE;
	m.len = htobe16(sizeof(m));
	m.token = htobe64(token);
	memcpy(p->frame + 14, &m, sizeof(m));
	/*
	 * A random start: a restarted loader's first message must not look
	 * like a copy of its predecessor's last one to the agent.
	 */
	if (getrandom(&p->seq, sizeof(p->seq), 0) != sizeof(p->seq))
		p->seq = (uint64_t)getpid() << 32;
	*out = p;
	return 0;
fail:
	pair_notify_close(p);
	return err;
}

void pair_notify_checkpoint(struct pair_notify *p)
{
	struct colo_pair_msg *m = (void *)(p->frame + 14);
	uint64_t seq;
	int i;

	/* 0 is what an agent that has taken nothing holds */
	if (!++p->seq)
		++p->seq;
	seq = htobe64(p->seq);
	memcpy(&m->seq, &seq, sizeof(seq));
	p->st.checkpoints++;
	for (i = 0; i < COLO_PAIR_COPIES; i++)
		if (send(p->fd, p->frame, sizeof(p->frame), MSG_DONTWAIT) < 0) {
			if (!p->st.send_failed)
				log_err("%s: telling the secondary agent of a checkpoint failed: %s (counted in pair_send_failed)",
					p->ifname, strerror(errno));
			p->st.send_failed++;
		}
}

void pair_notify_stats(const struct pair_notify *p,
		       struct pair_notify_stats *out)
{
	*out = p->st;
}

void pair_notify_close(struct pair_notify *p)
{
	if (!p)
		return;
	if (p->fd >= 0)
		close(p->fd);
	free(p);
}
