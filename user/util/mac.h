/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Ethernet addresses as people write them ("02:00:00:00:00:01"), to and
 * from the __u64 form of colo_mac_u64() (include/colo_mirror.h).
 */
#ifndef COLO_MAC_H
#define COLO_MAC_H

#include <linux/types.h>

/* "xx:xx:xx:xx:xx:xx" and its NUL. */
#define MAC_STR_LEN 18

/*
 * Six pairs of hex digits (either case) separated by ':', nothing else,
 * into *mac; -EINVAL for anything else.
 */
int mac_parse(const char *s, __u64 *mac);

/* mac in lower case into buf; returns buf. */
const char *mac_format(__u64 mac, char buf[MAC_STR_LEN]);

#endif /* COLO_MAC_H */
