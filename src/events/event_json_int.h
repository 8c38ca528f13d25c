/* SPDX-License-Identifier: MIT */
/*
 * event_json_int.h - helpers shared by event_json.c (device events, common
 * pieces) and event_json_gw.c (gateway events). Not part of the public API;
 * only the event_json module includes this header.
 *
 * The add helpers follow one rule: the first failure is recorded in *err
 * (LB_OK until then) and a value that could not be inserted is freed, so a
 * builder adds every field unconditionally and checks *err once.
 */
#ifndef LB_EVENT_JSON_INT_H
#define LB_EVENT_JSON_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

/* Insert v (consumed) under key; a NULL v or o records LB_ERR_NOMEM.
 * event_json__add() is for string-literal keys (not copied, never
 * repeated); event_json__add_copy() for keys the caller supplies. */
void event_json__add(struct json_object *o, const char *key, struct json_object *v, int *err);
void event_json__add_copy(struct json_object *o, const char *key, struct json_object *v, int *err);

/* As event_json__add, but a builder's rc != LB_OK is recorded instead
 * (and v, if any, freed). */
void event_json__add_built(struct json_object *o, const char *key, int rc,
			   struct json_object *v, int *err);

/* Timestamp field from Unix µs (LB_ERR_RANGE recorded if unprintable). */
void event_json__add_time(struct json_object *o, const char *key, int64_t unix_us, int *err);

/* New JSON values (NULL on allocation failure). */
struct json_object *event_json__string(const char *s);          /* NULL -> "" */
struct json_object *event_json__number(double v, bool is_float); /* shortest round trip */
struct json_object *event_json__fixed(double v, int decimals);
struct json_object *event_json__eui(uint64_t eui);              /* 16 lowercase hex */
struct json_object *event_json__base64(const uint8_t *p, size_t n); /* n <= 255 */
struct json_object *event_json__uuid(const uint8_t id[16]);

/* Serialise o into out if err == LB_OK, free o, return the outcome. */
int event_json__finish(struct json_object *o, int err, char *out, size_t cap, size_t *len);

#endif
