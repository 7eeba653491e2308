// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "caps.h"

int caps_effective(uint64_t *set)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = {};

	if (syscall(SYS_capget, &hdr, d))
		return -errno;
	*set = (uint64_t)d[1].effective << 32 | d[0].effective;
	return 0;
}
