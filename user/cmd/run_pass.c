// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * colo-xdp run's passthrough rules: the control socket's passthrough-add,
 * passthrough-del and passthrough-list, and the engine kept in step with
 * the rules colo_steer has (the flags' are colo_steer_open()'s).
 */
#include <stdio.h>
#include <string.h>

#include "pass_spec.h"
#include "run.h"

static bool pass_match(const void *arg, const struct colo_flow_key *k)
{
	const struct colo_pass_set *set = arg;
	__u32 i;

	for (i = 0; i < set->n; i++)
		if (colo_pass_match(&set->rule[i], k))
			return true;
	return false;
}

void run_pass_follow(struct run_ctx *rc)
{
	const struct colo_pass_set *set = colo_steer_pass(rc->steer);
	unsigned int k;

	/* no rule: the engine's input pays one NULL test, not a scan */
	run_park(rc);
	for (k = 0; k < rc->nr_w; k++)
		colo_engine_passthrough(rc->w[k].engine,
					set->n ? pass_match : NULL, set);
	run_unpark(rc);
}

void run_pass_print(struct run_ctx *rc)
{
	const struct colo_pass_set *set = colo_steer_pass(rc->steer);
	char spec[PASS_SPEC_MAX];
	__u32 i;

	for (i = 0; i < set->n; i++) {
		pass_spec_format(&set->rule[i], spec, sizeof(spec));
		printf("passthrough rule: %s\n", spec);
	}
}

/*
 * colo_steer decides the flow's frames from its next one; the engine then
 * answers what it holds of the flow, and what of it is still on the RX
 * rings when the loop takes it. The rule is written first so that no
 * frame of the flow reaches the engine after it stopped watching.
 */
static int change(struct run_ctx *rc, const char *spec, bool del, char *err,
		  size_t errlen)
{
	struct colo_pass_set set = *colo_steer_pass(rc->steer);
	struct colo_engine_stats st;
	uint64_t released, freed;
	struct colo_pass_rule rule;
	char canon[PASS_SPEC_MAX];
	unsigned int k;
	int ret;

	ret = pass_set_change(&set, spec, del, &rule, err, errlen);
	if (ret)
		return ret;
	/* the rule and every engine in one step: no frame of it between */
	run_park(rc);
	run_engine_stats(rc, &st);
	released = st.passthrough_released;
	freed = st.passthrough_freed;
	ret = colo_steer_pass_write(rc->steer, &set);
	run_pass_follow(rc);
	for (k = 0; k < rc->nr_w; k++)
		xsk_dp_service(rc->w[k].dp);
	run_engine_stats(rc, &st);
	run_unpark(rc);
	if (ret) {
		snprintf(
			err, errlen,
			"cannot write the rules into colo_steer's maps: %s (the loader's log says why)",
			strerror(-ret));
		return ret;
	}
	/* whoever looks right after the command sees what it did */
	run_publish(rc);
	pass_spec_format(&rule, canon, sizeof(canon));
	if (del)
		printf("passthrough rule deleted: %s\n", canon);
	else
		printf("passthrough rule added: %s; held frames of it: %llu primary released, %llu secondary freed\n",
		       canon,
		       (unsigned long long)(st.passthrough_released - released),
		       (unsigned long long)(st.passthrough_freed - freed));
	fflush(stdout);
	return 0;
}

int run_pass_add(void *ctx, const char *spec, char *err, size_t errlen)
{
	return change(ctx, spec, false, err, errlen);
}

int run_pass_del(void *ctx, const char *spec, char *err, size_t errlen)
{
	return change(ctx, spec, true, err, errlen);
}

/* Read from the pins, as colo-xdp stat reads them. */
int run_pass_list(void *ctx, struct ctl_pass_rule *out, char *err,
		  size_t errlen)
{
	struct colo_pass_count count[COLO_PASS_MAX];
	struct run_ctx *rc = ctx;
	struct colo_pass_set set;
	const char *pins = colo_steer_pin_path(rc->steer);
	__u32 i;
	int ret;

	ret = pin_dir_pass(pins,
			   colo_steer_ifindex(rc->steer, COLO_ROLE_PRIMARY),
			   &set, count);
	if (ret) {
		snprintf(err, errlen,
			 "cannot read the passthrough rules pinned in %s: %s",
			 pins, strerror(-ret));
		return ret;
	}
	for (i = 0; i < set.n; i++) {
		pass_spec_format(&set.rule[i], out[i].spec,
				 sizeof(out[i].spec));
		out[i].count = count[i];
	}
	return (int)set.n;
}
