/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * JSON lines for the control socket: one flat object per line, written
 * into a caller's fixed buffer (no allocation, so the datapath can format
 * an event), and read member by member with a strict RFC 8259 parser.
 * Top-level keys and string values are limited to JSON_STR_MAX - 1 bytes
 * (every string the control protocol carries is a short name); nested
 * values are checked and handed over as written.
 */
#ifndef COLO_JSON_H
#define COLO_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_STR_MAX 256
/* Nesting accepted inside a value; deeper input is refused, not recursed. */
#define JSON_DEPTH_MAX 32

struct json_out {
	char *buf;
	size_t cap;
	size_t len;
	bool overflow;
	bool first;
};

/* Start an object in buf; nothing is written past cap. */
void json_out_begin(struct json_out *o, char *buf, size_t cap);
void json_out_str(struct json_out *o, const char *key, const char *val);
void json_out_u64(struct json_out *o, const char *key, uint64_t val);
void json_out_bool(struct json_out *o, const char *key, bool val);
/*
 * A member holding an array of flat objects: json_out_array_begin(), then
 * for each element json_out_object_begin(), its members, and
 * json_out_object_end(); then json_out_array_end().
 */
void json_out_array_begin(struct json_out *o, const char *key);
void json_out_array_end(struct json_out *o);
void json_out_object_begin(struct json_out *o);
void json_out_object_end(struct json_out *o);
/*
 * Close the object and the line, NUL-terminated; returns its length (the
 * NUL not counted), or -ENOSPC if cap was short.
 */
int json_out_end(struct json_out *o);

/*
 * s as a JSON string on f: for the nested objects `colo-xdp stat --json`
 * and `replay` print, which the flat writer above does not build.
 */
void json_print_str(FILE *f, const char *s);

enum json_type {
	JSON_NULL,
	JSON_BOOL,
	JSON_NUMBER,
	JSON_STRING,
	JSON_OBJECT,
	JSON_ARRAY,
};

struct json_member {
	char key[JSON_STR_MAX];
	enum json_type type;
	char str[JSON_STR_MAX]; /* JSON_STRING: the value, unescaped */
	const char *raw; /* the value as written, not NUL-terminated */
	size_t raw_len;
};

/*
 * Parse one object spanning all of s[0..len) (white space around it
 * allowed) and call fn for each top-level member, in order; fn returns 0
 * to go on, or a negative errno that stops the parse and is returned.
 * Malformed input: -EINVAL and a message naming the byte offset in err.
 */
int json_parse_object(const char *s, size_t len,
		      int (*fn)(void *ctx, const struct json_member *m),
		      void *ctx, char *err, size_t errlen);

/*
 * The member named key of the object s[0..len), in *out: 0, -ENOENT when
 * the object has none, or -EINVAL (err says where) when s is malformed.
 * Only key's string value is copied, so other members' strings may be of
 * any length: for peers (QEMU's monitor) whose replies carry strings this
 * program does not read.
 */
int json_find(const char *s, size_t len, const char *key,
	      struct json_member *out, char *err, size_t errlen);

/*
 * Walk the array spanning all of s[0..len) (a member's raw value) and call
 * fn with each element as written, in order; returns as
 * json_parse_object() does.
 */
int json_parse_array(const char *s, size_t len,
		     int (*fn)(void *ctx, const char *elem, size_t len),
		     void *ctx, char *err, size_t errlen);

#endif /* COLO_JSON_H */
