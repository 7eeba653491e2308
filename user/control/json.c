// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "json.h"

static void out_raw(struct json_out *o, const char *s, size_t n)
{
	/* one byte stays free for the NUL that json_out_end() adds */
	if (o->overflow || o->len + n >= o->cap) {
		o->overflow = true;
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

/* s as a JSON string, handed to put piece by piece. */
static void quote(const char *s,
		  void (*put)(void *ctx, const char *p, size_t n), void *ctx)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *c;
	char esc[6] = { '\\', 'u', '0', '0' };

	put(ctx, "\"", 1);
	for (c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\') {
			esc[1] = *c;
			put(ctx, esc, 2);
		} else if (*c < 0x20) {
			esc[1] = 'u';
			esc[4] = hex[*c >> 4];
			esc[5] = hex[*c & 15];
			put(ctx, esc, 6);
		} else {
			put(ctx, (const char *)c, 1);
		}
	}
	put(ctx, "\"", 1);
}

static void put_out(void *o, const char *p, size_t n)
{
	out_raw(o, p, n);
}

static void put_file(void *f, const char *p, size_t n)
{
	fwrite(p, 1, n, f);
}

static void out_quoted(struct json_out *o, const char *s)
{
	quote(s, put_out, o);
}

void json_print_str(FILE *f, const char *s)
{
	quote(s, put_file, f);
}

static void out_key(struct json_out *o, const char *key)
{
	if (!o->first)
		out_raw(o, ",", 1);
	o->first = false;
	out_quoted(o, key);
	out_raw(o, ":", 1);
}

void json_out_begin(struct json_out *o, char *buf, size_t cap)
{
	o->buf = buf;
	o->cap = cap;
	o->len = 0;
	o->overflow = false;
	o->first = true;
	out_raw(o, "{", 1);
}

void json_out_str(struct json_out *o, const char *key, const char *val)
{
	out_key(o, key);
	out_quoted(o, val);
}

void json_out_u64(struct json_out *o, const char *key, uint64_t val)
{
	char num[24];

	out_key(o, key);
	out_raw(o, num, snprintf(num, sizeof(num), "%" PRIu64, val));
}

void json_out_bool(struct json_out *o, const char *key, bool val)
{
	out_key(o, key);
	if (val)
		out_raw(o, "true", 4);
	else
		out_raw(o, "false", 5);
}

void json_out_array_begin(struct json_out *o, const char *key)
{
	out_key(o, key);
	out_raw(o, "[", 1);
	o->first = true;
}

void json_out_object_begin(struct json_out *o)
{
	if (!o->first)
		out_raw(o, ",", 1);
	out_raw(o, "{", 1);
	o->first = true;
}

/* After a nested value, the next member or element needs its comma. */
void json_out_object_end(struct json_out *o)
{
	out_raw(o, "}", 1);
	o->first = false;
}

void json_out_array_end(struct json_out *o)
{
	out_raw(o, "]", 1);
	o->first = false;
}

int json_out_end(struct json_out *o)
{
	out_raw(o, "}\n", 2);
	if (o->overflow)
		return -ENOSPC;
	o->buf[o->len] = 0;
	return (int)o->len;
}

struct parser {
	const char *s;
	size_t len;
	size_t pos;
	char *err;
	size_t errlen;
};

static int fail(struct parser *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(p->err, p->errlen, "byte %zu: ", p->pos);
	if (n >= 0 && (size_t)n < p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errlen - n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int peek(const struct parser *p)
{
	return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1;
}

static void skip_ws(struct parser *p)
{
	while (p->pos < p->len && strchr(" \t\r\n", p->s[p->pos]) &&
	       p->s[p->pos])
		p->pos++;
}

static int expect(struct parser *p, char c, const char *what)
{
	skip_ws(p);
	if (peek(p) != (unsigned char)c)
		return peek(p) < 0 ? fail(p, "the line ends before %s", what) :
				     fail(p, "expected %s", what);
	p->pos++;
	return 0;
}

static int hex4(struct parser *p, uint32_t *out)
{
	uint32_t v = 0;
	int i, c;

	for (i = 0; i < 4; i++) {
		c = peek(p);
		if (c >= '0' && c <= '9')
			v = v * 16 + (c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			v = v * 16 + ((c | 0x20) - 'a' + 10);
		else
			return fail(p, "\\u needs four hex digits");
		p->pos++;
	}
	*out = v;
	return 0;
}

/* After a backslash: one escape, its code point in *cp. */
static int unescape(struct parser *p, uint32_t *cp)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *e;
	uint32_t lo;
	int c = peek(p);

	if (c > 0 && (e = strchr(from, c))) {
		p->pos++;
		*cp = (unsigned char)to[e - from];
		return 0;
	}
	if (c != 'u')
		return fail(p, "invalid escape in a string");
	p->pos++;
	if (hex4(p, cp))
		return -EINVAL;
	if (*cp >= 0xdc00 && *cp <= 0xdfff)
		return fail(p, "a lone low surrogate in \\u escapes");
	if (*cp >= 0xd800 && *cp <= 0xdbff) {
		if (p->len - p->pos < 2 || p->s[p->pos] != '\\' ||
		    p->s[p->pos + 1] != 'u')
			return fail(p, "a high surrogate without its low half");
		p->pos += 2;
		if (hex4(p, &lo))
			return -EINVAL;
		if (lo < 0xdc00 || lo > 0xdfff)
			return fail(p, "a high surrogate without its low half");
		*cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	if (!*cp)
		return fail(p, "\\u0000 is not accepted in a string");
	return 0;
}

static size_t utf8_encode(uint32_t cp, char *b)
{
	if (cp < 0x80) {
		b[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		b[0] = (char)(0xc0 | cp >> 6);
		b[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		b[0] = (char)(0xe0 | cp >> 12);
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	b[0] = (char)(0xf0 | cp >> 18);
	b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	b[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Length of the well-formed UTF-8 sequence at s (lead >= 0x80), or 0. */
static size_t utf8_valid(const unsigned char *s, size_t avail)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	/* no overlong forms, no surrogates, nothing above U+10FFFF */
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (avail < n || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

/* At the opening quote; out (cap bytes) receives the value unless NULL. */
static int parse_string(struct parser *p, char *out, size_t cap)
{
	size_t n = 0, k;
	char enc[4];
	uint32_t cp;
	int c;

	p->pos++;
	for (;;) {
		c = peek(p);
		if (c < 0)
			return fail(p, "the line ends inside a string");
		if (c == '"')
			break;
		if (c < 0x20)
			return fail(p, "a control character inside a string");
		if (c == '\\') {
			p->pos++;
			if (unescape(p, &cp))
				return -EINVAL;
			k = utf8_encode(cp, enc);
		} else if (c >= 0x80) {
			k = utf8_valid((const unsigned char *)p->s + p->pos,
				       p->len - p->pos);
			if (!k)
				return fail(p, "invalid UTF-8 inside a string");
			memcpy(enc, p->s + p->pos, k);
			p->pos += k;
		} else {
			enc[0] = (char)c;
			k = 1;
			p->pos++;
		}
		if (out) {
			if (n + k >= cap)
				return fail(p, "a string longer than %zu bytes",
					    cap - 1);
			memcpy(out + n, enc, k);
		}
		n += k;
	}
	p->pos++;
	if (out)
		out[n] = 0;
	return 0;
}

static void skip_digits(struct parser *p)
{
	while (peek(p) >= '0' && peek(p) <= '9')
		p->pos++;
}

static int parse_number(struct parser *p)
{
	if (peek(p) == '-')
		p->pos++;
	if (peek(p) == '0')
		p->pos++;
	else if (peek(p) >= '1' && peek(p) <= '9')
		skip_digits(p);
	else
		return fail(p, "expected a digit");
	if (peek(p) == '.') {
		p->pos++;
		if (peek(p) < '0' || peek(p) > '9')
			return fail(p, "expected a digit after '.'");
		skip_digits(p);
	}
	if (peek(p) == 'e' || peek(p) == 'E') {
		p->pos++;
		if (peek(p) == '+' || peek(p) == '-')
			p->pos++;
		if (peek(p) < '0' || peek(p) > '9')
			return fail(p, "expected a digit in the exponent");
		skip_digits(p);
	}
	return 0;
}

static int parse_value(struct parser *p, int depth, enum json_type *type);

/* At '{' or '['; the members or elements are checked and skipped. */
static int parse_nested(struct parser *p, int depth, enum json_type *type)
{
	bool obj = peek(p) == '{';
	char close = obj ? '}' : ']';
	enum json_type t;

	if (depth >= JSON_DEPTH_MAX)
		return fail(p, "nested deeper than %d levels", JSON_DEPTH_MAX);
	*type = obj ? JSON_OBJECT : JSON_ARRAY;
	p->pos++;
	skip_ws(p);
	if (peek(p) == close) {
		p->pos++;
		return 0;
	}
	for (;;) {
		if (obj) {
			skip_ws(p);
			if (peek(p) != '"')
				return fail(p, "expected a quoted key");
			if (parse_string(p, NULL, 0) ||
			    expect(p, ':', "':' after the key"))
				return -EINVAL;
		}
		if (parse_value(p, depth + 1, &t))
			return -EINVAL;
		skip_ws(p);
		if (peek(p) == close) {
			p->pos++;
			return 0;
		}
		if (expect(p, ',', obj ? "',' or '}'" : "',' or ']'"))
			return -EINVAL;
	}
}

static int literal(struct parser *p, const char *word)
{
	size_t n = strlen(word);

	if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n))
		return fail(p, "expected a value");
	p->pos += n;
	return 0;
}

static int parse_value(struct parser *p, int depth, enum json_type *type)
{
	int c;

	skip_ws(p);
	c = peek(p);
	switch (c) {
	case '{':
	case '[':
		return parse_nested(p, depth, type);
	case '"':
		*type = JSON_STRING;
		return parse_string(p, NULL, 0);
	case 't':
		*type = JSON_BOOL;
		return literal(p, "true");
	case 'f':
		*type = JSON_BOOL;
		return literal(p, "false");
	case 'n':
		*type = JSON_NULL;
		return literal(p, "null");
	default:
		*type = JSON_NUMBER;
		if (c == '-' || (c >= '0' && c <= '9'))
			return parse_number(p);
		return c < 0 ? fail(p, "the line ends before a value") :
			       fail(p, "expected a value");
	}
}

/*
 * The members of the object s[0..len), each to fn; with key, only the
 * member of that name, and only its string value is copied (and so
 * limited to JSON_STR_MAX - 1 bytes): the others are checked, skipped.
 */
static int parse_members(const char *s, size_t len, const char *key,
			 int (*fn)(void *ctx, const struct json_member *m),
			 void *ctx, char *err, size_t errlen)
{
	struct parser p = { s, len, 0, err, errlen };
	struct json_member m;
	size_t start;
	bool want;
	int ret;

	if (expect(&p, '{', "'{': a request is one JSON object"))
		return -EINVAL;
	skip_ws(&p);
	if (peek(&p) == '}') {
		p.pos++;
		goto end;
	}
	for (;;) {
		skip_ws(&p);
		if (peek(&p) != '"')
			return fail(&p, "expected a quoted key");
		if (parse_string(&p, m.key, sizeof(m.key)) ||
		    expect(&p, ':', "':' after the key"))
			return -EINVAL;
		want = !key || !strcmp(key, m.key);
		skip_ws(&p);
		start = p.pos;
		if (peek(&p) == '"') {
			m.type = JSON_STRING;
			ret = parse_string(&p, want ? m.str : NULL,
					   sizeof(m.str));
		} else {
			m.str[0] = 0;
			ret = parse_value(&p, 1, &m.type);
		}
		if (ret)
			return ret;
		m.raw = s + start;
		m.raw_len = p.pos - start;
		ret = want ? fn(ctx, &m) : 0;
		if (ret)
			return ret;
		skip_ws(&p);
		if (peek(&p) == '}') {
			p.pos++;
			break;
		}
		if (expect(&p, ',', "',' or '}'"))
			return -EINVAL;
	}
end:
	skip_ws(&p);
	if (p.pos != len)
		return fail(&p, "text after the object");
	return 0;
}

int json_parse_object(const char *s, size_t len,
		      int (*fn)(void *ctx, const struct json_member *m),
		      void *ctx, char *err, size_t errlen)
{
	return parse_members(s, len, NULL, fn, ctx, err, errlen);
}

static int take_member(void *ctx, const struct json_member *m)
{
	struct json_member *out = ctx;

	/* a key given twice: the first one counts */
	if (!out->raw)
		*out = *m;
	return 0;
}

int json_find(const char *s, size_t len, const char *key,
	      struct json_member *out, char *err, size_t errlen)
{
	int ret;

	out->raw = NULL;
	ret = parse_members(s, len, key, take_member, out, err, errlen);
	if (ret)
		return ret;
	return out->raw ? 0 : -ENOENT;
}

int json_parse_array(const char *s, size_t len,
		     int (*fn)(void *ctx, const char *elem, size_t len),
		     void *ctx, char *err, size_t errlen)
{
	struct parser p = { s, len, 0, err, errlen };
	enum json_type type;
	size_t start;
	int ret;

	if (expect(&p, '[', "'[': an array"))
		return -EINVAL;
	skip_ws(&p);
	if (peek(&p) == ']') {
		p.pos++;
		goto end;
	}
	for (;;) {
		skip_ws(&p);
		start = p.pos;
		if (parse_value(&p, 1, &type))
			return -EINVAL;
		ret = fn(ctx, s + start, p.pos - start);
		if (ret)
			return ret;
		skip_ws(&p);
		if (peek(&p) == ']') {
			p.pos++;
			break;
		}
		if (expect(&p, ',', "',' or ']'"))
			return -EINVAL;
	}
end:
	skip_ws(&p);
	if (p.pos != len)
		return fail(&p, "text after the array");
	return 0;
}
