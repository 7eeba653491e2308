// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * colo-xdp ctl: one command to a running `colo-xdp run --control PATH`,
 * over its JSON-lines socket (user/control/ctl_server.h describes the protocol).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"
#include "cli_opts.h"
#include "commands.h"
#include "ctl_server.h"
#include "json.h"

#define CMD "ctl"
/* Longest line accepted from the server: replies are much shorter. */
#define CTL_CLIENT_LINE_MAX (64 * 1024)

static const char *const commands[] = {
	"status",	   "stats",	      "checkpoint-done",
	"failover",	   "resume",	      "subscribe",
	"passthrough-add", "passthrough-del", "passthrough-list",
};

struct ctl_opts {
	const char *path;
	const char *command;
	const char *spec; /* passthrough-add and -del */
	bool json;
	uint32_t count; /* subscribe: events before exiting, 0 for no end */
	uint32_t timeout_ms;
};

struct conn {
	int fd;
	char buf[CTL_CLIENT_LINE_MAX];
	size_t len; /* bytes in buf */
	size_t used; /* of which the line last returned, newline included */
};

static const struct cli_opt ctl_opts[] = {
	{ .type = CLI_OPT_STRING,
	  .name = "control",
	  .arg = "PATH",
	  .off = offsetof(struct ctl_opts, path),
	  .what = "a file name",
	  .help = "the control socket" },
	{ .type = CLI_OPT_FLAG,
	  .name = "json",
	  .off = offsetof(struct ctl_opts, json),
	  .help = "print the server's JSON lines as they are" },
	{ .type = CLI_OPT_U32,
	  .name = "count",
	  .arg = "N",
	  .off = offsetof(struct ctl_opts, count),
	  .max = UINT32_MAX,
	  .help = "subscribe: exit after N events (0: never)" },
	{ .type = CLI_OPT_U32,
	  .name = "timeout",
	  .arg = "MS",
	  .off = offsetof(struct ctl_opts, timeout_ms),
	  .min = 1,
	  .max = 3600000,
	  .help = "how long to wait for the reply" },
	{ .type = CLI_OPT_END },
};

static const struct cli_cmd ctl_cmd = {
	.name = CMD,
	.usage = "[--control PATH] COMMAND [SPEC] [--json]",
	.about =
		"Send one command to a running 'colo-xdp run --control PATH'.\n"
		"\n"
		"commands:\n"
		"  status           state, pending checkpoint, clients\n"
		"  stats            every counter of the engine, the datapath and the control plane\n"
		"  checkpoint-done  the checkpoint happened: release the queued primary frames\n"
		"  failover         the secondary is gone: primary frames go straight out\n"
		"  resume           compare again (after the checkpoint that re-created the secondary)\n"
		"  subscribe        print events as they come: checkpoint-request, mismatch,\n"
		"                   failover, degraded, resumed\n"
		"  passthrough-add SPEC\n"
		"                   stop comparing the flow of SPEC: its primary frames go\n"
		"                   out, its secondary's are dropped, in the kernel, from\n"
		"                   its next frame; what is held of it is released in order\n"
		"  passthrough-del SPEC\n"
		"                   compare that flow again\n"
		"  passthrough-list the rules, and the frames each passed and dropped\n"
		"\n"
		"SPEC: proto=tcp|udp|icmp|N,src=ADDR[/PREFIX],sport=PORT,dst=ADDR[/PREFIX],\n"
		"dport=PORT, comma-separated, IPv4 or IPv6; a key left out matches all.\n",
	.opts = ctl_opts,
	.footer =
		"Exits 0 on success, 1 when the server refuses or cannot be reached,\n"
		"2 on a usage error.\n",
	.max_args = 2,
};

/* Returns -1 to go on, or the exit status. */
static int parse_args(int argc, char **argv, struct ctl_opts *o)
{
	bool takes_spec;
	int first, ret;
	size_t i;

	memset(o, 0, sizeof(*o));
	o->path = CTL_DEFAULT_PATH;
	o->timeout_ms = 5000;
	ret = cli_opts_parse(&ctl_cmd, argc, argv, o, sizeof(*o), &first);
	if (ret >= 0)
		return ret;
	if (first >= argc) {
		cli_err(CMD, "which command? (see 'colo-xdp ctl --help')");
		return CLI_EXIT_USAGE;
	}
	o->command = argv[first];
	o->spec = first + 1 < argc ? argv[first + 1] : NULL;
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(o->command, commands[i]))
			break;
	if (i == sizeof(commands) / sizeof(commands[0])) {
		cli_err(CMD,
			"unknown command '%s': use status, stats, checkpoint-done, failover, resume, subscribe, passthrough-add, passthrough-del or passthrough-list",
			o->command);
		return CLI_EXIT_USAGE;
	}
	takes_spec = !strcmp(o->command, "passthrough-add") ||
		     !strcmp(o->command, "passthrough-del");
	if (takes_spec && !o->spec) {
		cli_err(CMD, "%s needs a SPEC, e.g. '%s proto=udp,dport=53'",
			o->command, o->command);
		return CLI_EXIT_USAGE;
	}
	if (!takes_spec && o->spec) {
		cli_err(CMD, "unexpected argument '%s': %s takes none", o->spec,
			o->command);
		return CLI_EXIT_USAGE;
	}
	return -1;
}

static int ctl_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		cli_err(CMD, "--control %s: longer than %zu bytes", path,
			sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		cli_err(CMD, "cannot open a unix socket: %s", strerror(errno));
		return err;
	}
	if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		return fd;
	err = -errno;
	close(fd);
	if (err == -ENOENT || err == -ECONNREFUSED)
		cli_err(CMD,
			"nothing serves %s: start 'colo-xdp run --control %s', or give the right --control",
			path, path);
	else if (err == -EACCES)
		cli_err(CMD,
			"%s: permission denied: the control socket is root only",
			path);
	else
		cli_err(CMD, "cannot connect to %s: %s", path, strerror(-err));
	return err;
}

static int write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= n;
	}
	return 0;
}

/*
 * The next line, NUL-terminated in place of its newline. timeout_ms < 0
 * waits for ever. Returns its length, or -ETIMEDOUT, -ECONNRESET (EOF),
 * -EMSGSIZE, or another negative errno.
 */
static ssize_t read_line(struct conn *c, int timeout_ms, char **line)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	char *nl;
	ssize_t n;
	int r;

	memmove(c->buf, c->buf + c->used, c->len - c->used);
	c->len -= c->used;
	c->used = 0;
	while (!(nl = memchr(c->buf, '\n', c->len))) {
		if (c->len == sizeof(c->buf))
			return -EMSGSIZE;
		r = poll(&pfd, 1, timeout_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (!r)
			return -ETIMEDOUT;
		n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (!n)
			return -ECONNRESET;
		c->len += n;
	}
	*nl = 0;
	c->used = nl + 1 - c->buf;
	*line = c->buf;
	return nl - c->buf;
}

/* One passthrough rule of passthrough-list's reply, for a human. */
struct rule_line {
	char spec[JSON_STR_MAX];
	char primary[24], secondary[24];
};

static int rule_member(void *ctx, const struct json_member *m)
{
	struct rule_line *l = ctx;

	if (!strcmp(m->key, "spec") && m->type == JSON_STRING)
		strcpy(l->spec, m->str);
	else if (!strcmp(m->key, "primary"))
		snprintf(l->primary, sizeof(l->primary), "%.*s",
			 (int)m->raw_len, m->raw);
	else if (!strcmp(m->key, "secondary"))
		snprintf(l->secondary, sizeof(l->secondary), "%.*s",
			 (int)m->raw_len, m->raw);
	return 0;
}

static int print_rule(void *ctx, const char *elem, size_t len)
{
	struct rule_line l = {};
	char err[160];
	int *n = ctx, ret;

	ret = json_parse_object(elem, len, rule_member, &l, err, sizeof(err));
	if (ret)
		return ret;
	printf("%s  primary %s  secondary %s\n", l.spec, l.primary,
	       l.secondary);
	(*n)++;
	return 0;
}

/* "SPEC  primary N  secondary N" a rule, or that there is none. */
static int print_rules(const struct json_member *m)
{
	char err[160];
	int n = 0;

	if (json_parse_array(m->raw, m->raw_len, print_rule, &n, err,
			     sizeof(err)))
		return -EINVAL;
	if (!n)
		printf("no passthrough rule\n");
	return 0;
}

struct show {
	const char *error; /* the reply's error, when ok is false */
	bool ok;
	bool event;
	bool print; /* the members, for a human */
	bool first;
	char err[JSON_STR_MAX];
};

static int show_member(void *ctx, const struct json_member *m)
{
	struct show *s = ctx;
	const char *val = m->type == JSON_STRING ? m->str : NULL;
	int vlen = val ? (int)strlen(val) : (int)m->raw_len;

	if (!val)
		val = m->raw;
	if (!strcmp(m->key, "ok")) {
		s->ok = m->type == JSON_BOOL && m->raw[0] == 't';
		return 0;
	}
	if (!strcmp(m->key, "error") && m->type == JSON_STRING) {
		strcpy(s->err, m->str);
		s->error = s->err;
		return 0;
	}
	if (!s->print)
		return 0;
	if (!strcmp(m->key, "rules") && m->type == JSON_ARRAY)
		return print_rules(m);
	if (s->event) {
		/* "checkpoint-request reason=timeout dropped=0" */
		if (!strcmp(m->key, "event") && s->first)
			printf("%.*s", vlen, val);
		else
			printf(" %s=%.*s", m->key, vlen, val);
		s->first = false;
	} else {
		printf("%-28s %.*s\n", m->key, vlen, val);
	}
	return 0;
}

/* Print one line from the server; returns 0, or 1 for an error reply. */
static int show_line(const struct ctl_opts *o, char *line, size_t len,
		     bool event)
{
	struct show s = {
		.event = event,
		.print = !o->json,
		.first = true,
	};
	char err[160];

	if (o->json) {
		printf("%s\n", line);
		fflush(stdout);
	}
	if (json_parse_object(line, len, show_member, &s, err, sizeof(err))) {
		cli_err(CMD, "%s sent a malformed line (%s): '%s'", o->path,
			err, line);
		return 1;
	}
	if (event) {
		if (!o->json)
			printf("\n");
		fflush(stdout);
		return 0;
	}
	if (!s.ok) {
		cli_err(CMD, "%s: %s", o->command,
			s.error ? s.error : "refused without a reason");
		return 1;
	}
	fflush(stdout);
	return 0;
}

int cmd_ctl(int argc, char **argv)
{
	struct ctl_opts o;
	struct conn *c = NULL;
	char req[CTL_LINE_MAX], *line;
	struct json_out jo;
	uint32_t events = 0;
	ssize_t n;
	int ret, err;

	ret = parse_args(argc, argv, &o);
	if (ret >= 0)
		return ret;
	ret = 1;
	c = calloc(1, sizeof(*c));
	if (!c) {
		cli_err(CMD, "%s", strerror(ENOMEM));
		goto out;
	}
	c->fd = ctl_connect(o.path);
	if (c->fd < 0)
		goto out;
	json_out_begin(&jo, req, sizeof(req));
	json_out_str(&jo, "command", o.command);
	if (o.spec)
		json_out_str(&jo, "spec", o.spec);
	n = json_out_end(&jo);
	if (n < 0) {
		cli_err(CMD, "SPEC '%s' is too long for a request", o.spec);
		goto out;
	}
	/* a server that refuses us says why before closing: read it anyway */
	err = write_all(c->fd, req, n);
	n = read_line(c, o.timeout_ms, &line);
	if (n < 0 && err) {
		cli_err(CMD, "%s: cannot send the request: %s", o.path,
			strerror(-err));
		goto out;
	}
	if (n < 0) {
		if (n == -ETIMEDOUT)
			cli_err(CMD,
				"%s did not answer within %u ms (--timeout)",
				o.path, o.timeout_ms);
		else if (n == -ECONNRESET)
			cli_err(CMD, "%s closed the connection without a reply",
				o.path);
		else
			cli_err(CMD, "%s: cannot read the reply: %s", o.path,
				strerror(-n));
		goto out;
	}
	if (show_line(&o, line, n, false))
		goto out;
	if (strcmp(o.command, "subscribe")) {
		/* stats, status and passthrough-list printed their members */
		if (!o.json && strncmp(o.command, "stat", 4) &&
		    strcmp(o.command, "passthrough-list"))
			printf("%s: done\n", o.command);
		ret = 0;
		goto out;
	}
	while (!o.count || events < o.count) {
		n = read_line(c, -1, &line);
		if (n < 0) {
			cli_err(CMD, "%s: %s", o.path,
				n == -ECONNRESET ? "the server went away" :
						   strerror(-n));
			goto out;
		}
		if (show_line(&o, line, n, true))
			goto out;
		events++;
	}
	ret = 0;
out:
	if (c && c->fd >= 0)
		close(c->fd);
	free(c);
	fflush(stdout);
	return ret;
}
