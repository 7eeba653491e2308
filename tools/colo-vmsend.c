// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * colo-vmsend: play a VM's network output. Writes a stream of UDP, TCP,
 * ICMP or ARP frames (built by tools/lib/frames.c) into a tap device, as
 * QEMU does with a guest's frames, or sends it out of an interface through
 * a packet socket. Two runs with the same flags send the same bytes, except
 * the IPv4 ID (not compared), so a test tells the primary's frames from the
 * secondary's. --write keeps a pcap of exactly what was sent.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/if_ether.h>
#include <linux/if_packet.h>

#include "colo_parse.h"
#include "frames.h"
#include "pcap_io.h"
#include "tap.h"

#define FRAME_MAX 1514
/* The host side of a veth queues 256 frames: let it drain every so often. */
#define PACE_FRAMES 32
#define PACE_NS 300000
/* A full device queue: retry every 100 us, for up to 10 s. */
#define BUSY_NS 100000
#define BUSY_TRIES 100000

enum proto { P_UDP, P_TCP, P_ICMP, P_ARP };

struct opts {
	const char *tap, *dev, *write;
	enum proto proto;
	uint32_t count, size, ip_id, differ_at, seq;
	uint16_t sport, dport;
	uint8_t src_mac[6], dst_mac[6];
	struct in_addr src, dst;
	bool differ;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: colo-vmsend (--tap IF | --dev IF) [FLAGS]\n"
		"  --tap IF            write frames into tap device IF (as a VM)\n"
		"  --dev IF            send frames out of IF (packet socket)\n"
		"  --proto P           udp, tcp, icmp or arp (udp)\n"
		"  --count N           frames to send (10)\n"
		"  --size N            payload bytes per frame (100)\n"
		"  --src-mac M --dst-mac M --src IP --dst IP\n"
		"  --sport N --dport N ports; ICMP: the echo id is --sport\n"
		"  --seq N             TCP: first sequence number (1000)\n"
		"  --ip-id N           IPv4 ID of the first frame (1)\n"
		"  --differ-at K       flip the first payload byte of frame K (0-based)\n"
		"  --write FILE        also write the frames sent to a pcap file\n");
}

/* Frame i of the stream, from the shared frame builder; returns its length. */
static int build(const struct opts *o, uint32_t i, uint8_t *f)
{
	uint8_t payload[FRAME_MAX];
	char src[INET_ADDRSTRLEN], dst[INET_ADDRSTRLEN];
	struct frame_spec spec = {
		.l3 = o->proto == P_ARP ? FRAME_ARP : FRAME_IPV4,
		.saddr = inet_ntop(AF_INET, &o->src, src, sizeof(src)),
		.daddr = inet_ntop(AF_INET, &o->dst, dst, sizeof(dst)),
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
		spec.proto = IPPROTO_ICMP;
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
	if (o->differ && i == o->differ_at && o->size)
		payload[o->size - 1] ^= 0xff;

	len = frame_build(&spec, f, FRAME_MAX);
	if (len < 0)
		return len;
	/* the builder's addresses are fixed where these have flags */
	memcpy(f + ETH_ALEN, o->src_mac, ETH_ALEN);
	if (o->proto == P_ARP) {
		memset(f, 0xff, ETH_ALEN);
		memcpy(arp + 8, o->src_mac, ETH_ALEN);
		memcpy(arp + 14, &o->src, 4);
		memcpy(arp + 24, &o->dst, 4);
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

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "tap", required_argument, NULL, 't' },
		{ "dev", required_argument, NULL, 'd' },
		{ "proto", required_argument, NULL, 'p' },
		{ "count", required_argument, NULL, 'c' },
		{ "size", required_argument, NULL, 'z' },
		{ "src-mac", required_argument, NULL, 'M' },
		{ "dst-mac", required_argument, NULL, 'm' },
		{ "src", required_argument, NULL, 'S' },
		{ "dst", required_argument, NULL, 'D' },
		{ "sport", required_argument, NULL, 's' },
		{ "dport", required_argument, NULL, 'P' },
		{ "seq", required_argument, NULL, 'q' },
		{ "ip-id", required_argument, NULL, 'i' },
		{ "differ-at", required_argument, NULL, 'k' },
		{ "write", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, bad = 0;

	*o = (struct opts){ .count = 10,
			    .size = 100,
			    .ip_id = 1,
			    .seq = 1000,
			    .sport = 4000,
			    .dport = 5000 };
	parse_mac("02:00:00:00:00:01", o->src_mac);
	parse_mac("02:00:00:00:00:02", o->dst_mac);
	inet_pton(AF_INET, "10.0.0.1", &o->src);
	inet_pton(AF_INET, "10.0.0.2", &o->dst);
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 't':
			o->tap = optarg;
			break;
		case 'd':
			o->dev = optarg;
			break;
		case 'p':
			if (!strcmp(optarg, "udp"))
				o->proto = P_UDP;
			else if (!strcmp(optarg, "tcp"))
				o->proto = P_TCP;
			else if (!strcmp(optarg, "icmp"))
				o->proto = P_ICMP;
			else if (!strcmp(optarg, "arp"))
				o->proto = P_ARP;
			else
				bad = 1;
			break;
		case 'c':
			o->count = strtoul(optarg, NULL, 0);
			break;
		case 'z':
			o->size = strtoul(optarg, NULL, 0);
			bad |= o->size > FRAME_MAX - ETH_HLEN - 40;
			break;
		case 'M':
			bad |= parse_mac(optarg, o->src_mac);
			break;
		case 'm':
			bad |= parse_mac(optarg, o->dst_mac);
			break;
		case 'S':
			bad |= inet_pton(AF_INET, optarg, &o->src) != 1;
			break;
		case 'D':
			bad |= inet_pton(AF_INET, optarg, &o->dst) != 1;
			break;
		case 's':
			o->sport = (uint16_t)strtoul(optarg, NULL, 0);
			break;
		case 'P':
			o->dport = (uint16_t)strtoul(optarg, NULL, 0);
			break;
		case 'q':
			o->seq = strtoul(optarg, NULL, 0);
			break;
		case 'i':
			o->ip_id = strtoul(optarg, NULL, 0);
			break;
		case 'k':
			o->differ_at = strtoul(optarg, NULL, 0);
			o->differ = true;
			break;
		case 'w':
			o->write = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			bad = 1;
		}
	}
	if (bad || !o->tap == !o->dev || optind != argc) {
		usage(stderr);
		return -1;
	}
	return 0;
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
	int fd, ret = 1;
	uint32_t i;
	int len;

	if (parse(argc, argv, &o))
		return 2;
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
