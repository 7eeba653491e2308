// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * --config FILE (cli_opts.c): its lines set the flags they name where it
 * stands on the command line, and a bad line stops the parse; and the
 * Prometheus text the metrics are written in (prom.c).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"
#include "cli_opts.h"
#include "prom.h"
#include "test.h"

struct opts {
	const char *name;
	uint32_t n;
	bool flag;
	const char *cmd;
};

static const struct cli_opt table[] = {
	CLI_OPT_CONFIG_FILE,
	{ .type = CLI_OPT_STRING,
	  .name = "name",
	  .arg = "IF",
	  .off = offsetof(struct opts, name),
	  .required = true,
	  .help = "a" },
	{ .type = CLI_OPT_U32,
	  .name = "n",
	  .arg = "N",
	  .off = offsetof(struct opts, n),
	  .max = 10,
	  .help = "b" },
	{ .type = CLI_OPT_FLAG,
	  .name = "flag",
	  .off = offsetof(struct opts, flag),
	  .help = "c" },
	{ .type = CLI_OPT_STRING,
	  .name = "cmd",
	  .arg = "CMD",
	  .off = offsetof(struct opts, cmd),
	  .help = "d" },
	{ .type = CLI_OPT_END },
};

static const struct cli_cmd cmd = { .name = "t",
				    .usage = "",
				    .about = "",
				    .opts = table };

/* A file holding text; its name in path (PATH_MAX). */
static void write_file(char *path, const char *text)
{
	int fd;

	strcpy(path, "/tmp/colo-test-config.XXXXXX");
	fd = mkstemp(path);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK_EQ(write(fd, text, strlen(text)), (long long)strlen(text));
	close(fd);
}

static int parse(const char *text, struct opts *o, const char *before,
		 const char *after)
{
	char path[64], *argv[8];
	int argc = 0, ret;

	write_file(path, text);
	argv[argc++] = "t";
	if (before)
		argv[argc++] = (char *)before;
	argv[argc++] = "--config";
	argv[argc++] = path;
	if (after)
		argv[argc++] = (char *)after;
	argv[argc] = NULL;
	memset(o, 0, sizeof(*o));
	ret = cli_opts_parse(&cmd, argc, argv, o, sizeof(*o), NULL);
	unlink(path);
	return ret;
}

TEST(config_lines_set_their_flags)
{
	struct opts o;

	CHECK_EQ(parse("# comment\n\n  name = eth0  \nn=3\nflag\n"
		       "cmd = echo a # b\n",
		       &o, NULL, NULL),
		 -1);
	CHECK(o.name && !strcmp(o.name, "eth0"));
	CHECK_EQ(o.n, 3);
	CHECK(o.flag);
	/* the rest of the line: a '#' inside a value is kept */
	CHECK(o.cmd && !strcmp(o.cmd, "echo a # b"));
}

TEST(config_read_where_it_stands)
{
	struct opts o;

	CHECK_EQ(parse("name = a\nn = 3\n", &o, "--n=5", "--name=b"), -1);
	CHECK(o.name && !strcmp(o.name, "b"));
	CHECK_EQ(o.n, 3);
}

TEST(config_satisfies_a_required_flag)
{
	struct opts o;

	CHECK_EQ(parse("n = 1\n", &o, NULL, NULL), CLI_EXIT_USAGE);
	CHECK_EQ(parse("name = x\n", &o, NULL, NULL), -1);
}

TEST(config_bad_lines_stop_the_parse)
{
	struct opts o;

	CHECK_EQ(parse("name = x\nnope = 1\n", &o, NULL, NULL), CLI_EXIT_USAGE);
	CHECK_EQ(parse("name = x\nn = 11\n", &o, NULL, NULL), CLI_EXIT_USAGE);
	CHECK_EQ(parse("name = x\nflag = yes\n", &o, NULL, NULL),
		 CLI_EXIT_USAGE);
	CHECK_EQ(parse("name =\n", &o, NULL, NULL), CLI_EXIT_USAGE);
	CHECK_EQ(parse("config = /x\n", &o, NULL, NULL), CLI_EXIT_USAGE);
}

TEST(config_missing_file)
{
	char *argv[] = { "t", "--config", "/nonexistent/colo.conf", NULL };
	struct opts o = {};

	CHECK_EQ(cli_opts_parse(&cmd, 3, argv, &o, sizeof(o), NULL),
		 CLI_EXIT_USAGE);
}

TEST(prom_labels_escape_values)
{
	char buf[PROM_LABELS_MAX];

	prom_labels(buf, sizeof(buf), "instance", "a\"b\\c\nd", "role",
		    "primary", NULL);
	CHECK(!strcmp(buf, "{instance=\"a\\\"b\\\\c\\nd\",role=\"primary\"}"));
	/* cut short, still closed */
	prom_labels(buf, 12, "instance", "abcdefghijkl", NULL);
	CHECK_EQ(strlen(buf), 11);
	CHECK_EQ(buf[10], '}');
}

TEST(prom_family_and_sample)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	prom_family(f, "engine", "compared", COLO_TOTAL, "Pairs\\matched");
	prom_sample(f, "engine", "compared", COLO_TOTAL, "{a=\"b\"}", 42);
	prom_family(f, "", "up", COLO_GAUGE, "Up");
	prom_sample(f, "", "up", COLO_GAUGE, "{}", 1);
	fclose(f);
	CHECK(!strcmp(text,
		      "# HELP colo_xdp_engine_compared_total Pairs\\\\matched\n"
		      "# TYPE colo_xdp_engine_compared_total counter\n"
		      "colo_xdp_engine_compared_total{a=\"b\"} 42\n"
		      "# HELP colo_xdp_up Up\n"
		      "# TYPE colo_xdp_up gauge\n"
		      "colo_xdp_up{} 1\n"));
	free(text);
}
