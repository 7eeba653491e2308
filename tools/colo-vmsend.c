// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * colo-vmsend: play a VM's network output. Writes a stream of UDP, TCP,
 * ICMP (ICMPv6 between IPv6 addresses) or ARP frames (built by
 * tools/lib/frames.c) into a tap device, as
 * QEMU does with a guest's frames, or sends it out of an interface through
 * a packet socket. Two runs with the same flags send the same bytes, except
 * the IPv4 ID (not compared), so a test tells the primary's frames from the
 * secondary's. --write keeps a pcap of exactly what was sent.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/if_ether.h>
#include <linux/if_packet.h>

#include "cli.h"
#include "cli_opts.h"
#include "colo_parse.h"
#include "frames.h"
#include "log.h"
#include "pcap_io.h"
#include "tap.h"

#define CMD "colo-vmsend"

/* A 9000-byte jumbo MTU's frame, a VLAN tag, and a UDP-sized payload in TCP */
#define FRAME_MAX (9000 + ETH_HLEN + 4 + 12)
/* The host side of a veth queues 256 frames: let it drain every so often. */
#define PACE_FRAMES 32
#define PACE_NS 300000
/* A full device queue: retry every 100 us, for up to 10 s. */
#define BUSY_NS 100000
#define BUSY_TRIES 100000
/* parsed into the options before the flags, and shown by --help */
#define DEFAULT_SRC_MAC "02:00:00:00:00:01"
#define DEFAULT_DST_MAC "02:00:00:00:00:02"
#define DEFAULT_SRC "10.0.0.1"
#define DEFAULT_DST "10.0.0.2"

enum proto { P_UDP, P_TCP, P_ICMP, P_ARP };

struct opts {
	const char *tap, *dev, *write;
	unsigned int proto; /* enum proto */
	uint32_t count, size, ip_id, differ_at, differ_byte, seq;
	uint32_t sport, dport;
	uint8_t src_mac[6], dst_mac[6];
	const char *src, *dst; /* IPv4, or IPv6 both */
	bool differ, differ_byte_set;
};

/* Frame i of the stream, from the shared frame builder; returns its length. */
static int build(const struct opts *o, uint32_t i, uint8_t *f)
{
	uint8_t payload[FRAME_MAX];
	bool v6 = strchr(o->src, ':');
	struct frame_spec spec = {
		.l3 = o->proto == P_ARP ? FRAME_ARP :
		      v6		? FRAME_IPV6 :
					  FRAME_IPV4,
		.saddr = o->src,
		.daddr = o->dst,
		.ip_id = (uint16_t)(o->ip_id + i),
		.sport = o->sport,
		.dport = o->dport,
		.seq = o->seq + i * o->size,
		.ack = 5000,
		.tcp_flags = COLO_TCP_ACK | 0x08, /* PSH */
		.payload = payload,
		.payload_len = o->size,
	};
	uint8_t *arp = f + ETH_HLEN;
	uint32_t j;
	int len;

	switch (o->proto) {
	case P_UDP:
		spec.proto = IPPROTO_UDP;
		break;
	case P_TCP:
		spec.proto = IPPROTO_TCP;
		break;
	case P_ICMP:
		spec.proto = v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
		spec.dport = (uint16_t)i; /* the echo sequence */
		break;
	case P_ARP:
		spec.payload_len = 0;
		spec.pad = 60 - ETH_HLEN - 28; /* to the minimum, as a NIC */
		break;
	}
	for (j = 0; j < o->size; j++)
		payload[j] = (uint8_t)(i * 7 + j);
	if (o->size >= 4)
		memcpy(payload, &(uint32_t){ htonl(i) }, 4);
	if (o->differ && i == o->differ_at && o->differ_byte_set &&
	    o->differ_byte + 2 < o->size) {
		/* a swap in one word position: the checksum stays the same */
		j = payload[o->differ_byte];
		payload[o->differ_byte] = payload[o->differ_byte + 2];
		payload[o->differ_byte + 2] = (uint8_t)j;
	} else if (o->differ && i == o->differ_at && o->size) {
		payload[o->size - 1] ^= 0xff;
	}

	len = frame_build(&spec, f, FRAME_MAX);
	if (len < 0)
		return len;
	/* the builder's addresses are fixed where these have flags */
	memcpy(f + ETH_ALEN, o->src_mac, ETH_ALEN);
	if (o->proto == P_ARP) {
		memset(f, 0xff, ETH_ALEN);
		memcpy(arp + 8, o->src_mac, ETH_ALEN);
		inet_pton(AF_INET, o->src, arp + 14);
		inet_pton(AF_INET, o->dst, arp + 24);
	} else {
		memcpy(f, o->dst_mac, ETH_ALEN);
	}
	return len;
}

static int open_dev(const char *name)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		fprintf(stderr, "colo-vmsend: packet socket: %s\n",
			strerror(errno));
		return -1;
	}
	sll.sll_ifindex = (int)if_nametoindex(name);
	if (!sll.sll_ifindex ||
	    bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		fprintf(stderr, "colo-vmsend: interface %s: %s\n", name,
			strerror(sll.sll_ifindex ? errno : ENODEV));
		close(fd);
		return -1;
	}
	return fd;
}

static int parse_mac(const char *s, uint8_t *mac)
{
	return sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1],
		      &mac[2], &mac[3], &mac[4], &mac[5]) == 6 ?
		       0 :
		       -1;
}

static int parse_mac_opt(const char *cmd, const struct cli_opt *opt,
			 void *field, const char *arg)
{
	if (!parse_mac(arg, field))
		return 0;
	cli_err(cmd, "--%s: '%s' is not a MAC address", opt->name, arg);
	return -EINVAL;
}

static int parse_ip_opt(const char *cmd, const struct cli_opt *opt, void *field,
			const char *arg)
{
	struct in6_addr a;

	if (inet_pton(AF_INET, arg, &a) == 1 ||
	    inet_pton(AF_INET6, arg, &a) == 1) {
		*(const char **)field = arg;
		return 0;
	}
	cli_err(cmd, "--%s: '%s' is not an IPv4 or IPv6 address", opt->name,
		arg);
	return -EINVAL;
}

static const char *const protos[] = {
	[P_UDP] = "udp",
	[P_TCP] = "tcp",
	[P_ICMP] = "icmp",
	[P_ARP] = "arp",
	NULL,
};

/* clang-format off */
static const struct cli_opt vmsend_opts[] = {
	{ .type = CLI_OPT_STRING, .name = "tap", .arg = "IF",
	  .off = offsetof(struct opts, tap), .what = "an interface name",
	  .help = "write frames into tap device IF (as a VM)" },
	{ .type = CLI_OPT_STRING, .name = "dev", .arg = "IF",
	  .off = offsetof(struct opts, dev), .what = "an interface name",
	  .help = "send frames out of IF (packet socket)" },
	{ .type = CLI_OPT_ENUM, .name = "proto", .arg = "udp|tcp|icmp|arp",
	  .off = offsetof(struct opts, proto), .choices = protos,
	  .help = "what the frames carry" },
	{ .type = CLI_OPT_U32, .name = "count", .arg = "N",
	  .off = offsetof(struct opts, count), .max = UINT32_MAX,
	  .help = "frames to send" },
	{ .type = CLI_OPT_U32, .name = "size", .arg = "N",
	  .off = offsetof(struct opts, size),
	  .max = 9000 - 28,
	  .help = "payload bytes per frame" },
	{ .type = CLI_OPT_FUNC, .name = "src-mac", .arg = "M",
	  .off = offsetof(struct opts, src_mac), .parse = parse_mac_opt,
	  .def = DEFAULT_SRC_MAC, .help = "source MAC address" },
	{ .type = CLI_OPT_FUNC, .name = "dst-mac", .arg = "M",
	  .off = offsetof(struct opts, dst_mac), .parse = parse_mac_opt,
	  .def = DEFAULT_DST_MAC,
	  .help = "destination MAC address (ARP: broadcast)" },
	{ .type = CLI_OPT_FUNC, .name = "src", .arg = "IP",
	  .off = offsetof(struct opts, src), .parse = parse_ip_opt,
	  .def = DEFAULT_SRC, .help = "source IPv4 or IPv6 address" },
	{ .type = CLI_OPT_FUNC, .name = "dst", .arg = "IP",
	  .off = offsetof(struct opts, dst), .parse = parse_ip_opt,
	  .def = DEFAULT_DST,
	  .help = "destination address, of the source's IP version" },
	{ .type = CLI_OPT_U32, .name = "sport", .arg = "N",
	  .off = offsetof(struct opts, sport), .max = UINT16_MAX,
	  .help = "source port; ICMP: the echo id" },
	{ .type = CLI_OPT_U32, .name = "dport", .arg = "N",
	  .off = offsetof(struct opts, dport), .max = UINT16_MAX,
	  .help = "destination port" },
	{ .type = CLI_OPT_U32, .name = "seq", .arg = "N",
	  .off = offsetof(struct opts, seq), .max = UINT32_MAX,
	  .help = "TCP: first sequence number" },
	{ .type = CLI_OPT_U32, .name = "ip-id", .arg = "N",
	  .off = offsetof(struct opts, ip_id), .max = UINT32_MAX,
	  .help = "IPv4 ID of the first frame" },
	{ .type = CLI_OPT_U32, .name = "differ-at", .arg = "K",
	  .off = offsetof(struct opts, differ_at),
	  .seen = CLI_SEEN(struct opts, differ), .max = UINT32_MAX,
	  .no_default = true,
	  .help = "flip the last payload byte of frame K (0-based)" },
	{ .type = CLI_OPT_U32, .name = "differ-byte", .arg = "B",
	  .off = offsetof(struct opts, differ_byte),
	  .seen = CLI_SEEN(struct opts, differ_byte_set),
	  .max = FRAME_MAX, .no_default = true,
	  .help = "--differ-at swaps payload bytes B and B+2 instead: only they differ, not the checksum" },
	{ .type = CLI_OPT_STRING, .name = "write", .arg = "FILE",
	  .off = offsetof(struct opts, write), .what = "a file name",
	  .help = "also write the frames sent to a pcap file" },
	{ .type = CLI_OPT_END },
};
/* clang-format on */

static const struct cli_cmd vmsend_cmd = {
	.name = CMD,
	.usage = "(--tap IF | --dev IF) [FLAGS]",
	.about =
		"Play a VM's network output: write a stream of frames into a tap device,\n"
		"as QEMU does with a guest's, or send it out of an interface.\n",
	.opts = vmsend_opts,
};

/* Returns -1 to go on, or the exit status. */
static int parse(int argc, char **argv, struct opts *o)
{
	int ret;

	*o = (struct opts){ .count = 10,
			    .size = 100,
			    .ip_id = 1,
			    .seq = 1000,
			    .sport = 4000,
			    .dport = 5000 };
	parse_mac(DEFAULT_SRC_MAC, o->src_mac);
	parse_mac(DEFAULT_DST_MAC, o->dst_mac);
	o->src = DEFAULT_SRC;
	o->dst = DEFAULT_DST;
	ret = cli_opts_parse(&vmsend_cmd, argc, argv, o, sizeof(*o), NULL);
	if (ret >= 0)
		return ret;
	if (!o->tap == !o->dev) {
		cli_err(CMD,
			"give one of --tap and --dev (see '" CMD " --help')");
		return CLI_EXIT_USAGE;
	}
	if (!strchr(o->src, ':') != !strchr(o->dst, ':') ||
	    (o->proto == P_ARP && strchr(o->src, ':'))) {
		cli_err(CMD,
			"--src %s and --dst %s: give two IPv4 addresses or two IPv6 ones (ARP: IPv4)",
			o->src, o->dst);
		return CLI_EXIT_USAGE;
	}
	return -1;
}

/*
 * A VM's NIC that is full makes the VM wait, it does not lose the frame:
 * on a veth whose ring is full (backpressure) or a busy tap, wait and send
 * again, up to BUSY_TRIES times. A veth counts each refusal (ENOBUFS) as
 * a dropped frame: *refused counts them, so that a test can tell those
 * drops from real ones.
 */
static int send_frame(int fd, bool tap, const uint8_t *f, uint32_t len,
		      uint64_t *refused)
{
	struct timespec busy = { 0, BUSY_NS };
	unsigned int tries = 0;
	ssize_t n;

	for (;;) {
		n = tap ? write(fd, f, len) : send(fd, f, len, 0);
		if (n >= 0 || (errno != ENOBUFS && errno != EAGAIN))
			break;
		*refused += errno == ENOBUFS;
		if (++tries >= BUSY_TRIES || nanosleep(&busy, NULL))
			break;
	}
	if (n != (ssize_t)len) {
		fprintf(stderr, "colo-vmsend: send: %s\n",
			n < 0 ? strerror(errno) : "short write");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct timespec pace = { 0, PACE_NS }, now;
	struct pcap_io_writer *w = NULL;
	char err[PCAP_IO_ERRLEN];
	uint8_t frame[FRAME_MAX];
	uint64_t refused = 0;
	struct opts o;
	int fd, ret;
	uint32_t i;
	int len;

	log_init(CMD);
	ret = parse(argc, argv, &o);
	if (ret >= 0)
		return ret;
	ret = 1;
	if (o.write && pcap_io_create(o.write, true, &w, err, sizeof(err))) {
		fprintf(stderr, "colo-vmsend: %s\n", err);
		return 1;
	}
	fd = o.tap ? tap_open("colo-vmsend", o.tap) : open_dev(o.dev);
	if (fd < 0)
		goto out;
	for (i = 0; i < o.count; i++) {
		len = build(&o, i, frame);
		if (len < 0) {
			fprintf(stderr, "colo-vmsend: frame %u: %s\n", i,
				strerror(-len));
			goto out;
		}
		if (send_frame(fd, o.tap, frame, len, &refused))
			goto out;
		if (w) {
			clock_gettime(CLOCK_REALTIME, &now);
			pcap_io_write(w, frame, len,
				      now.tv_sec * 1000000000ull + now.tv_nsec);
		}
		if (i % PACE_FRAMES == PACE_FRAMES - 1)
			nanosleep(&pace, NULL);
	}
	ret = 0;
	/* what a test needs to balance the device's drop counter */
	printf("sent %u, refused by the device and sent again %llu\n", i,
	       (unsigned long long)refused);
out:
	if (fd >= 0)
		close(fd);
	if (w && pcap_io_close(w, err, sizeof(err))) {
		fprintf(stderr, "colo-vmsend: %s\n", err);
		ret = 1;
	}
	return ret;
}
