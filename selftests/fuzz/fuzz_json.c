// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fuzz_json: the control socket's JSON reader and writer (user/control/json.h).
 *
 * The input is one request line, handed to json_parse_object() in a heap
 * buffer of exactly its length with no NUL after it, as the control
 * server hands a line it read: ASan reports a read past the line.
 * Checked on every input:
 * - the result is 0 or -EINVAL, and -EINVAL comes with a message naming
 *   the byte offset;
 * - every member has a NUL-terminated key and string value, a raw value
 *   inside the line that is what its type says (a quoted string, true,
 *   false, null, a number, an object or an array);
 * - what parses writes back through json_out_*() (strings, booleans and
 *   unsigned integers; a shorter buffer, its size from the input, must
 *   give -ENOSPC and no write past it) and parses again to the same
 *   members.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "json.h"

#define MAX_MEMBERS 64

struct member {
	char key[JSON_STR_MAX];
	enum json_type type;
	char str[JSON_STR_MAX];
	uint64_t num;
	bool writable; /* json_out_*() can write it back */
};

struct members {
	struct member m[MAX_MEMBERS];
	unsigned int n;
	const char *line;
	size_t len;
};

/* A JSON number that is a plain unsigned integer within 64 bits. */
static bool as_u64(const char *raw, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		if (raw[i] < '0' || raw[i] > '9' ||
		    v > (UINT64_MAX - (raw[i] - '0')) / 10)
			return false;
		v = v * 10 + (raw[i] - '0');
	}
	*out = v;
	return len > 0;
}

static int on_member(void *ctx, const struct json_member *jm)
{
	struct members *ms = ctx;
	struct member *m;
	char first;

	REQUIRE(memchr(jm->key, 0, sizeof(jm->key)));
	REQUIRE(memchr(jm->str, 0, sizeof(jm->str)));
	REQUIRE(jm->raw >= ms->line && jm->raw_len > 0 &&
		jm->raw + jm->raw_len <= ms->line + ms->len);
	first = jm->raw[0];
	switch (jm->type) {
	case JSON_STRING:
		REQUIRE(first == '"' && jm->raw[jm->raw_len - 1] == '"');
		break;
	case JSON_BOOL:
		REQUIRE((jm->raw_len == 4 && !memcmp(jm->raw, "true", 4)) ||
			(jm->raw_len == 5 && !memcmp(jm->raw, "false", 5)));
		break;
	case JSON_NULL:
		REQUIRE(jm->raw_len == 4 && !memcmp(jm->raw, "null", 4));
		break;
	case JSON_NUMBER:
		REQUIRE(first == '-' || (first >= '0' && first <= '9'));
		break;
	case JSON_OBJECT:
		REQUIRE(first == '{' && jm->raw[jm->raw_len - 1] == '}');
		break;
	case JSON_ARRAY:
		REQUIRE(first == '[' && jm->raw[jm->raw_len - 1] == ']');
		break;
	default:
		REQUIRE(!"member type out of range");
	}
	if (ms->n == MAX_MEMBERS)
		return 0;
	m = &ms->m[ms->n++];
	strcpy(m->key, jm->key);
	strcpy(m->str, jm->str);
	m->type = jm->type;
	m->num = 0;
	m->writable = jm->type == JSON_STRING || jm->type == JSON_BOOL ||
		      (jm->type == JSON_NUMBER &&
		       as_u64(jm->raw, jm->raw_len, &m->num));
	if (jm->type == JSON_BOOL)
		m->num = first == 't';
	return 0;
}

static int parse(const char *line, size_t len, struct members *ms)
{
	char err[128] = "";
	int ret;

	ms->n = 0;
	ms->line = line;
	ms->len = len;
	ret = json_parse_object(line, len, on_member, ms, err, sizeof(err));
	REQUIRE(ret == 0 || ret == -EINVAL);
	if (ret)
		REQUIRE(!strncmp(err, "byte ", 5));
	return ret;
}

/* Write the writable members of ms into cap bytes; as json_out_end(). */
static int write_back(const struct members *ms, char *buf, size_t cap)
{
	const struct member *m;
	struct json_out o;

	json_out_begin(&o, buf, cap);
	for (m = ms->m; m < ms->m + ms->n; m++) {
		if (!m->writable)
			continue;
		if (m->type == JSON_STRING)
			json_out_str(&o, m->key, m->str);
		else if (m->type == JSON_BOOL)
			json_out_bool(&o, m->key, m->num);
		else
			json_out_u64(&o, m->key, m->num);
	}
	return json_out_end(&o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct members in, again;
	unsigned int i, j;
	char *line, *out, *tight;
	size_t cap = 0;
	int len;

	line = malloc(size ? size : 1);
	if (!line)
		return 0;
	memcpy(line, data, size);
	if (parse(line, size, &in))
		goto out;

	for (i = 0; i < in.n; i++)
		cap += in.m[i].writable ? 24 + 6 * (strlen(in.m[i].key) +
						    strlen(in.m[i].str)) :
					  0;
	cap += 4;
	out = malloc(cap);
	REQUIRE(out);
	len = write_back(&in, out, cap);
	REQUIRE(len > 0 && (size_t)len <= cap && out[len - 1] == '\n');
	/* one byte short of what it needs: refused, within the buffer */
	tight = malloc(len - 1);
	REQUIRE(tight);
	REQUIRE(write_back(&in, tight, len - 1) == -ENOSPC);
	free(tight);
	REQUIRE(!parse(out, len - 1, &again));
	for (i = 0, j = 0; i < in.n; i++) {
		if (!in.m[i].writable)
			continue;
		REQUIRE(j < again.n);
		REQUIRE(!strcmp(in.m[i].key, again.m[j].key));
		REQUIRE(in.m[i].type == again.m[j].type);
		REQUIRE(!strcmp(in.m[i].str, again.m[j].str));
		REQUIRE(in.m[i].num == again.m[j].num);
		j++;
	}
	REQUIRE(j == again.n);
	free(out);
out:
	free(line);
	return 0;
}
