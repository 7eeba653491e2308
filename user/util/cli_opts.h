/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A command's flags as one table: name, value, range, default and help in
 * one entry, from which both the parsing and --help are made, so that what
 * --help says is what the parser does. Each entry names a field of the
 * command's options struct by offset; the defaults --help shows are read
 * from that struct as the command initialised it, so a default is written
 * once, where the code that uses it sets it.
 */
#ifndef COLO_CLI_OPTS_H
#define COLO_CLI_OPTS_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum cli_opt_type {
	CLI_OPT_END,
	/* a heading in --help (help is its text); parses nothing */
	CLI_OPT_SECTION,
	/* bool, set when the flag is given; takes no value */
	CLI_OPT_FLAG,
	/*
	 * uint32_t from min to max; with choices, one of those numbers
	 * ("2048" or "4096")
	 */
	CLI_OPT_U32,
	/* const char *, never empty */
	CLI_OPT_STRING,
	/*
	 * bool from two words: choices[0] is false, choices[1] true, or the
	 * other way round with true_first
	 */
	CLI_OPT_BOOL,
	/* unsigned int: the index in choices of the word given */
	CLI_OPT_ENUM,
	/* parse() takes the value */
	CLI_OPT_FUNC,
};

struct cli_opt;

/*
 * Errors name cmd and the flag and go through cli_err(); return 0 or a
 * negative errno.
 */
typedef int (*cli_parse_fn)(const char *cmd, const struct cli_opt *opt,
			    void *field, const char *arg);

struct cli_opt {
	enum cli_opt_type type;
	const char *name; /* without the dashes */
	char short_name; /* 0: none */
	const char *arg; /* the value's name in --help; NULL: takes none */
	/*
	 * The value may be left out: "--flag=V" always works; with
	 * next_word, a following word that starts with a digit is taken too
	 * ("--watch 2").
	 */
	bool arg_optional, next_word;
	size_t off; /* of the field in the options struct */
	size_t seen; /* CLI_SEEN(): a bool set when given; 0: none */
	uint32_t min, max; /* CLI_OPT_U32 */
	/*
	 * CLI_OPT_U32: --help says "at least N"; the command checks it
	 * itself, where a message can say why
	 */
	uint32_t least;
	const char *const *choices; /* NULL-terminated */
	bool true_first; /* CLI_OPT_BOOL */
	/* the parse fails without it, naming the flag */
	bool required;
	cli_parse_fn parse; /* CLI_OPT_FUNC */
	/* an empty CLI_OPT_STRING "needs <what>" ("a file name") */
	const char *what;
	/* shown as the default instead of the field's value */
	const char *def;
	bool no_default; /* the field's initial value is no default */
	/* lines separated by '\n'; the default is added to the last one */
	const char *help;
};

/* seen: offset + 1, so that 0 can mean "none". */
#define CLI_SEEN(type, field) (offsetof(type, field) + 1)

#define CLI_SECTION(text)                               \
	{                                               \
		.type = CLI_OPT_SECTION, .help = (text) \
	}

/* A CPU number, no default; given records that the flag was given. */
/* clang-format off */
#define CLI_OPT_CPU(otype, flag, field, given, text)			\
	{ .type = CLI_OPT_U32, .name = (flag), .arg = "N",		\
	  .off = offsetof(otype, field), .seen = CLI_SEEN(otype, given),\
	  .max = CPU_SETSIZE - 1, .no_default = true, .help = (text) }
/* clang-format on */

struct cli_cmd {
	const char *name; /* the subcommand, or the tool's own name */
	const char *usage; /* what follows the name on the usage line */
	const char *about; /* text before the flags */
	const struct cli_opt *opts; /* ends with a CLI_OPT_END entry */
	const char *footer; /* text after the flags; may be NULL */
	/* words that are not flags: at most this many, from *first_arg */
	unsigned int max_args;
};

/*
 * Parse argv into opts (size bytes), which holds the defaults already.
 * Returns -1 to go on (the words that are not flags start at *first_arg,
 * which may be NULL when max_args is 0), or the exit status: 0 after
 * --help, which shows the defaults opts held on entry, or CLI_EXIT_USAGE
 * after an error that names the flag.
 */
int cli_opts_parse(const struct cli_cmd *cmd, int argc, char **argv, void *opts,
		   size_t size, int *first_arg);

/* A pin directory (--pin-path, CLI_OPT_FUNC): an absolute path. */
/*
 * The pair's token (--pair-token, CLI_OPT_FUNC, into a uint64_t): 1 to
 * 16 hex digits, shared by `run` and `secondary`.
 */
int cli_parse_pair_token(const char *cmd, const struct cli_opt *opt,
			 void *field, const char *arg);

int cli_parse_pin_path(const char *cmd, const struct cli_opt *opt, void *field,
		       const char *arg);

/* --help, with the defaults read from opts. */
void cli_opts_help(const struct cli_cmd *cmd, const void *opts, FILE *f);

#endif /* COLO_CLI_OPTS_H */
