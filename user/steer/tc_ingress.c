// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include "tc_ingress.h"

struct tc_read {
	int ifindex;
	__u32 prio, handle;
	struct tc_ingress *t;
};

typedef void (*tc_reply_fn)(const struct nlmsghdr *nh, const struct tcmsg *tc,
			    struct tc_read *r);

/* A dump of type for the interface and parent in r, each reply to fn. */
static int dump(int fd, __u16 type, __u32 parent, tc_reply_fn fn,
		struct tc_read *r)
{
	struct {
		struct nlmsghdr nh;
		struct tcmsg tc;
	} req = {
		.nh = { .nlmsg_len = sizeof(req),
			.nlmsg_type = type,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
		.tc = { .tcm_family = AF_UNSPEC,
			.tcm_ifindex = r->ifindex,
			.tcm_parent = parent },
	};
	char buf[16384] __attribute__((aligned(NLMSG_ALIGNTO)));
	const struct nlmsghdr *nh;
	ssize_t len;

	if (send(fd, &req, sizeof(req), 0) < 0)
		return -errno;
	for (;;) {
		len = recv(fd, buf, sizeof(buf), 0);
		if (len < 0)
			return -errno;
		for (nh = (const struct nlmsghdr *)buf; NLMSG_OK(nh, len);
		     nh = NLMSG_NEXT(nh, len)) {
			if (nh->nlmsg_type == NLMSG_DONE)
				return 0;
			if (nh->nlmsg_type == NLMSG_ERROR)
				return ((const struct nlmsgerr *)NLMSG_DATA(nh))
					->error;
			if (nh->nlmsg_len >= NLMSG_LENGTH(sizeof(struct tcmsg)))
				fn(nh, NLMSG_DATA(nh), r);
		}
	}
}

/* A dump of every device's qdiscs may come back: the interface's only. */
static void on_qdisc(const struct nlmsghdr *nh, const struct tcmsg *tc,
		     struct tc_read *r)
{
	if (nh->nlmsg_type == RTM_NEWQDISC && tc->tcm_ifindex == r->ifindex &&
	    tc->tcm_handle == TC_H_MAKE(TC_H_CLSACT, 0))
		r->t->qdisc = true;
}

/* A filter's kind (TCA_KIND) into kind, and its BPF program's id. */
static __u32 filter_attrs(const struct nlmsghdr *nh, const struct tcmsg *tc,
			  char *kind, size_t len)
{
	const struct rtattr *a =
		(const void *)((const char *)tc + NLMSG_ALIGN(sizeof(*tc)));
	int left = nh->nlmsg_len - NLMSG_LENGTH(sizeof(*tc)), olen;
	const struct rtattr *o;
	__u32 id = 0;

	kind[0] = '\0';
	for (; RTA_OK(a, left); a = RTA_NEXT(a, left)) {
		if ((a->rta_type & NLA_TYPE_MASK) == TCA_KIND)
			snprintf(kind, len, "%.*s", (int)RTA_PAYLOAD(a),
				 (const char *)RTA_DATA(a));
		if ((a->rta_type & NLA_TYPE_MASK) != TCA_OPTIONS)
			continue;
		olen = RTA_PAYLOAD(a);
		for (o = RTA_DATA(a); RTA_OK(o, olen); o = RTA_NEXT(o, olen))
			if ((o->rta_type & NLA_TYPE_MASK) == TCA_BPF_ID &&
			    RTA_PAYLOAD(o) >= sizeof(id))
				memcpy(&id, RTA_DATA(o), sizeof(id));
	}
	return id;
}

static void on_filter(const struct nlmsghdr *nh, const struct tcmsg *tc,
		      struct tc_read *r)
{
	char kind[sizeof(r->t->other_kind)];
	__u32 id;

	if (nh->nlmsg_type != RTM_NEWTFILTER || tc->tcm_ifindex != r->ifindex)
		return;
	r->t->empty = false;
	if (TC_H_MAJ(tc->tcm_info) != TC_H_MAJ(r->prio << 16))
		return;
	id = filter_attrs(nh, tc, kind, sizeof(kind));
	if (strcmp(kind, "bpf"))
		strcpy(r->t->other_kind, kind);
	else if (tc->tcm_handle == r->handle)
		r->t->prog_id = id;
}

int tc_ingress_read(int ifindex, __u32 prio, __u32 handle, struct tc_ingress *t)
{
	struct tc_read r = {
		.ifindex = ifindex, .prio = prio, .handle = handle, .t = t
	};
	int fd, err;

	memset(t, 0, sizeof(*t));
	t->empty = true;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	err = dump(fd, RTM_GETQDISC, 0, on_qdisc, &r);
	if (!err && t->qdisc)
		err = dump(fd, RTM_GETTFILTER,
			   TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS), on_filter,
			   &r);
	if (!err && t->qdisc)
		err = dump(fd, RTM_GETTFILTER,
			   TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS), on_filter,
			   &r);
	close(fd);
	return err;
}
