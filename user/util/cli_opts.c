// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_opts.h"

/*
 * --help: flag column width (more when short flags take "-x, " before
 * long ones), and where help text wraps to a new line.
 */
#define HELP_FLAG_COLS 24
#define HELP_SHORT_COLS 4
#define HELP_COLS 80
/* getopt_long() values of entries without a short name: 256 + index. */
#define LONG_ONLY_BASE 256

static bool takes_value(const struct cli_opt *o)
{
	return o->arg || (o->type != CLI_OPT_FLAG && o->type != CLI_OPT_FUNC);
}

static int choice_index(const char *const *choices, const char *arg)
{
	int i;

	for (i = 0; choices[i]; i++)
		if (!strcmp(choices[i], arg))
			return i;
	return -1;
}

static int bad_choice(const char *cmd, const struct cli_opt *o, const char *arg)
{
	char list[256];
	size_t n = 0;
	int i;

	if (o->choices[1] && !o->choices[2]) {
		cli_err(cmd, "--%s: '%s' is neither %s nor %s", o->name, arg,
			o->choices[0], o->choices[1]);
		return -EINVAL;
	}
	list[0] = '\0';
	for (i = 0; o->choices[i] && n < sizeof(list); i++)
		n += snprintf(list + n, sizeof(list) - n, "%s%s", i ? ", " : "",
			      o->choices[i]);
	cli_err(cmd, "--%s: '%s' is not one of %s", o->name, arg, list);
	return -EINVAL;
}

static int apply(const char *cmd, const struct cli_opt *o, void *opts,
		 const char *arg)
{
	void *field = (char *)opts + o->off;
	char flag[64];
	int err = 0, i;

	snprintf(flag, sizeof(flag), "--%s", o->name);
	switch (o->type) {
	case CLI_OPT_FLAG:
		*(bool *)field = true;
		break;
	case CLI_OPT_U32:
		if (o->choices && choice_index(o->choices, arg) < 0)
			return bad_choice(cmd, o, arg);
		err = cli_parse_u32(cmd, flag, arg, o->min,
				    o->choices ? UINT32_MAX : o->max, field);
		break;
	case CLI_OPT_STRING:
		if (!*arg) {
			cli_err(cmd, "%s needs %s", flag,
				o->what ? o->what : "a value");
			return -EINVAL;
		}
		*(const char **)field = arg;
		break;
	case CLI_OPT_BOOL:
		i = choice_index(o->choices, arg);
		if (i < 0)
			return bad_choice(cmd, o, arg);
		*(bool *)field = i ^ o->true_first;
		break;
	case CLI_OPT_ENUM:
		i = choice_index(o->choices, arg);
		if (i < 0)
			return bad_choice(cmd, o, arg);
		*(unsigned int *)field = (unsigned int)i;
		break;
	case CLI_OPT_FUNC:
		err = o->parse(cmd, o, field, arg);
		break;
	default:
		return -EINVAL;
	}
	if (!err && o->seen)
		*(bool *)((char *)opts + o->seen - 1) = true;
	return err;
}

static const struct cli_opt *by_short(const struct cli_opt *opts, int c)
{
	for (; opts->type != CLI_OPT_END; opts++)
		if (opts->type != CLI_OPT_SECTION && opts->short_name == c)
			return opts;
	return NULL;
}

/* getopt_long()'s tables from ours; freed by the caller. */
static int getopt_tables(const struct cli_opt *opts, struct option **longs,
			 char **shorts)
{
	size_t n = 0, i, s = 0;
	struct option *lo;
	char *so;

	while (opts[n].type != CLI_OPT_END)
		n++;
	lo = calloc(n + 2, sizeof(*lo));
	so = malloc(3 * n + 3);
	if (!lo || !so) {
		free(lo);
		free(so);
		return -ENOMEM;
	}
	/* ':' first: a missing value is told apart from an unknown flag */
	so[s++] = ':';
	so[s++] = 'h';
	for (i = 0; i < n; i++) {
		const struct cli_opt *o = &opts[i];
		int has = !takes_value(o) ? no_argument :
			  o->arg_optional ? optional_argument :
					    required_argument;

		/* a section keeps its slot, under a name nobody types */
		lo[i].name = o->type == CLI_OPT_SECTION ? "" : o->name;
		lo[i].has_arg = has;
		lo[i].val = o->short_name ? o->short_name :
					    LONG_ONLY_BASE + (int)i;
		if (o->type == CLI_OPT_SECTION || !o->short_name)
			continue;
		so[s++] = o->short_name;
		if (has != no_argument)
			so[s++] = ':';
		if (has == optional_argument)
			so[s++] = ':';
	}
	so[s] = '\0';
	lo[n].name = "help";
	lo[n].val = 'h';
	*longs = lo;
	*shorts = so;
	return 0;
}

int cli_opts_parse(const struct cli_cmd *cmd, int argc, char **argv, void *opts,
		   size_t size, int *first_arg)
{
	struct option *longs = NULL;
	const struct cli_opt *o;
	char *shorts = NULL, name[64];
	void *defaults;
	bool *given;
	size_t n = 0;
	int c, idx, ret = CLI_EXIT_USAGE;
	const char *arg;

	while (cmd->opts[n].type != CLI_OPT_END)
		n++;
	given = calloc(n + 1, sizeof(*given));
	/* --help shows the defaults, not what the flags before it set */
	defaults = malloc(size);
	if (!given || !defaults || getopt_tables(cmd->opts, &longs, &shorts)) {
		cli_err(cmd->name, "out of memory");
		goto out;
	}
	memcpy(defaults, opts, size);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, shorts, longs, &idx)) != -1) {
		if (c == 'h') {
			cli_opts_help(cmd, defaults, stdout);
			ret = 0;
			goto out;
		}
		if (c >= LONG_ONLY_BASE)
			o = &cmd->opts[c - LONG_ONLY_BASE];
		else if (c == ':' || c == '?' || !(o = by_short(cmd->opts, c)))
			o = NULL;
		if (!o) {
			ret = cli_bad_option(cmd->name, argv, c);
			goto out;
		}
		arg = optarg;
		if (!arg && o->next_word && optind < argc &&
		    argv[optind][0] >= '0' && argv[optind][0] <= '9')
			arg = argv[optind++];
		if (apply(cmd->name, o, opts, arg))
			goto out;
		given[o - cmd->opts] = true;
	}
	if (argc - optind > (int)cmd->max_args) {
		cli_err(cmd->name, "unexpected argument '%s' (see '%s --help')",
			argv[optind + cmd->max_args],
			cli_cmd_name(cmd->name, name, sizeof(name)));
		goto out;
	}
	for (o = cmd->opts; o->type != CLI_OPT_END; o++)
		if (o->required && !given[o - cmd->opts]) {
			cli_err(cmd->name, "--%s is required (see '%s --help')",
				o->name,
				cli_cmd_name(cmd->name, name, sizeof(name)));
			goto out;
		}
	if (first_arg)
		*first_arg = optind;
	ret = -1;
out:
	free(longs);
	free(shorts);
	free(defaults);
	free(given);
	return ret;
}

/* The default as --help shows it, or NULL. */
static const char *default_text(const struct cli_opt *o, const void *opts,
				char *buf, size_t len)
{
	const void *field = (const char *)opts + o->off;

	if (o->def)
		return o->def;
	if (o->no_default)
		return NULL;
	switch (o->type) {
	case CLI_OPT_U32:
		if (o->least)
			snprintf(buf, len, "%u, at least %u",
				 *(const uint32_t *)field, o->least);
		else
			snprintf(buf, len, "%u", *(const uint32_t *)field);
		return buf;
	case CLI_OPT_STRING:
		return *(const char *const *)field;
	case CLI_OPT_BOOL:
		return o->choices[*(const bool *)field ^ o->true_first];
	case CLI_OPT_ENUM:
		return o->choices[*(const unsigned int *)field];
	default:
		return NULL;
	}
}

static void help_entry(const struct cli_opt *o, bool shorts, const void *opts,
		       FILE *f)
{
	int cols = HELP_FLAG_COLS + (shorts ? HELP_SHORT_COLS : 0);
	char flag[96], def[48];
	const char *d = default_text(o, opts, def, sizeof(def));
	const char *line = o->help, *nl;
	int n = 0;

	if (shorts && o->short_name)
		n = snprintf(flag, sizeof(flag), "-%c, ", o->short_name);
	else if (shorts)
		n = snprintf(flag, sizeof(flag), "    ");
	n += snprintf(flag + n, sizeof(flag) - n, "--%s", o->name);
	if (o->arg)
		snprintf(flag + n, sizeof(flag) - n, "%s%s%s",
			 !o->arg_optional ? " " :
			 o->next_word	  ? " [" :
					    "[=",
			 o->arg, o->arg_optional ? "]" : "");
	fprintf(f, "  %-*s", cols, flag);
	if ((int)strlen(flag) > cols)
		fprintf(f, "\n  %-*s", cols, "");
	for (;;) {
		nl = strchr(line, '\n');
		n = nl ? (int)(nl - line) : (int)strlen(line);
		fprintf(f, " %.*s", n, line);
		if (!nl)
			break;
		fprintf(f, "\n  %-*s", cols, "");
		line = nl + 1;
	}
	if (d && 2 + cols + 1 + n + 11 + (int)strlen(d) > HELP_COLS)
		fprintf(f, "\n  %-*s (default %s)", cols, "", d);
	else if (d)
		fprintf(f, " (default %s)", d);
	fputc('\n', f);
}

void cli_opts_help(const struct cli_cmd *cmd, const void *opts, FILE *f)
{
	const struct cli_opt *o;
	bool shorts = false;
	char name[64];

	for (o = cmd->opts; o->type != CLI_OPT_END; o++)
		if (o->type != CLI_OPT_SECTION && o->short_name)
			shorts = true;
	/* about, sections and footer are whole lines: each ends in '\n' */
	fprintf(f, "usage: %s %s\n\n%s\n",
		cli_cmd_name(cmd->name, name, sizeof(name)), cmd->usage,
		cmd->about);
	for (o = cmd->opts; o->type != CLI_OPT_END; o++) {
		if (o->type == CLI_OPT_SECTION)
			fprintf(f, "\n%s\n", o->help);
		else
			help_entry(o, shorts, opts, f);
	}
	if (cmd->footer)
		fprintf(f, "\n%s", cmd->footer);
}

int cli_parse_pair_token(const char *cmd, const struct cli_opt *opt,
			 void *field, const char *arg)
{
	uint64_t v = 0;
	size_t i, n = strlen(arg);

	for (i = 0; i < n && i < 16 && isxdigit((unsigned char)arg[i]); i++)
		;
	if (!n || i != n) {
		cli_err(cmd,
			"--%s: '%s' is not 1 to 16 hex digits: give the same secret to 'colo-xdp run' and 'colo-xdp secondary', e.g. from 'od -An -tx8 -N8 /dev/urandom'",
			opt->name, arg);
		return -EINVAL;
	}
	v = strtoull(arg, NULL, 16);
	*(uint64_t *)field = v;
	return 0;
}

int cli_parse_pin_path(const char *cmd, const struct cli_opt *opt, void *field,
		       const char *arg)
{
	if (arg[0] != '/') {
		cli_err(cmd,
			"--%s: '%s' is not an absolute path under a bpffs mount",
			opt->name, arg);
		return -EINVAL;
	}
	*(const char **)field = arg;
	return 0;
}
