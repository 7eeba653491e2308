/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Passthrough specs, the one parser of `run --passthrough`, `ctl
 * passthrough-add` and `ctl passthrough-del`: a comma-separated list of
 * proto=tcp|udp|icmp|NUMBER, src=ADDR[/PREFIX], sport=PORT,
 * dst=ADDR[/PREFIX], dport=PORT (IPv4 or IPv6), any key left out matching
 * everything. Also the canonical form rules are printed in, and adding
 * and deleting a rule in an instance's set (include/colo_pass.h). No I/O:
 * errors go into a caller's buffer, for a flag's message or a control
 * socket's reply.
 */
#ifndef COLO_PASS_SPEC_H
#define COLO_PASS_SPEC_H

#include <stdbool.h>
#include <stddef.h>

#include "colo_pass.h"

/* The longest spec taken, and the longest canonical form, NUL included. */
#define PASS_SPEC_MAX 128

/*
 * Parse spec into *rule (slot 0). Returns 0, or -EINVAL with a message in
 * err that names the key and what it accepts.
 */
int pass_spec_parse(const char *spec, struct colo_pass_rule *rule, char *err,
		    size_t errlen);

/*
 * The canonical form: keys in the order proto, src, sport, dst, dport;
 * protocols 6, 17 and ICMP by name; a full-length prefix left out. Parsing
 * it gives the same rule. Returns its length, or -ENOSPC.
 */
int pass_spec_format(const struct colo_pass_rule *rule, char *buf, size_t len);

/* The same flows: every key alike (the counters' slot aside). */
bool pass_rule_same(const struct colo_pass_rule *a,
		    const struct colo_pass_rule *b);

/*
 * Append rule to set, its counters in the lowest slot no other rule
 * holds. Returns 0, or -EEXIST (the same rule is there) or -ENOSPC
 * (COLO_PASS_MAX rules) with a message in err.
 */
int pass_set_add(struct colo_pass_set *set, const struct colo_pass_rule *rule,
		 char *err, size_t errlen);

/*
 * Remove the rule of set that is the same as rule; the others keep their
 * order and slots. Returns 0, or -ENOENT with a message in err.
 */
int pass_set_del(struct colo_pass_set *set, const struct colo_pass_rule *rule,
		 char *err, size_t errlen);

/*
 * Parse spec into *rule and add it to set, or with del delete it: what a
 * flag or a command does with a spec. Returns 0, or a negative errno with
 * why in err.
 */
int pass_set_change(struct colo_pass_set *set, const char *spec, bool del,
		    struct colo_pass_rule *rule, char *err, size_t errlen);

#endif /* COLO_PASS_SPEC_H */
