// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>

#include "mac.h"

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int mac_parse(const char *s, __u64 *mac)
{
	int i, hi, lo;
	__u64 v = 0;

	for (i = 0; i < 6; i++, s += 3) {
		hi = hex_digit(s[0]);
		lo = hi < 0 ? -1 : hex_digit(s[1]);
		if (lo < 0 || s[2] != (i < 5 ? ':' : '\0'))
			return -EINVAL;
		v = v << 8 | (__u64)(hi << 4 | lo);
	}
	*mac = v;
	return 0;
}

const char *mac_format(__u64 mac, char buf[MAC_STR_LEN])
{
	snprintf(buf, MAC_STR_LEN, "%02x:%02x:%02x:%02x:%02x:%02x",
		 (unsigned int)(mac >> 40 & 0xff),
		 (unsigned int)(mac >> 32 & 0xff),
		 (unsigned int)(mac >> 24 & 0xff),
		 (unsigned int)(mac >> 16 & 0xff),
		 (unsigned int)(mac >> 8 & 0xff), (unsigned int)(mac & 0xff));
	return buf;
}
