/* SPDX-License-Identifier: MIT */
/*
 * fakes.h - the I/O edges of the daemon's handlers as recorders, for the
 * unit tests that run the real handlers (test_uplink, test_dispatch,
 * test_command, ...; world.h wires them): a publish sink that keeps every
 * message, with look-ups of what it kept, and a UDP sender that keeps every
 * datagram (a real store lives in testutil.h's temporary directories).
 * Header-only: each suite is its own program. Assertions fail the test.
 */
#ifndef LB_FAKES_H
#define LB_FAKES_H

#include <check.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/lb_err.h"
#include "daemon/publish.h"
#include "gwmp/gwmp.h"
#include "io/udp.h"
#include "testutil.h"

#define FAKE_DIR_MAX 256                /* a test's directory path (world.h) */
#define REC_MAX 128                     /* messages a rec_sink keeps */

/* Every message handed to "MQTT". */
struct rec_msg {
	char topic[PUBLISH_TOPIC_MAX];
	char *payload;                   /* NUL-terminated copy */
	size_t len;
	int qos;
	bool retain;
};

struct rec_sink {
	struct rec_msg m[REC_MAX];
	size_t n;
	int refuse;                      /* != LB_OK: refuse every message with it */
};

static inline int rec_publish(void *arg, const char *topic, const void *payload, size_t len,
			      int qos, bool retain)
{
	struct rec_sink *r = arg;

	if (r->refuse != LB_OK)
		return r->refuse;
	ck_assert_uint_lt(r->n, REC_MAX);
	struct rec_msg *m = &r->m[r->n++];
	ck_assert_uint_lt(strlen(topic), sizeof(m->topic));
	strcpy(m->topic, topic);
	m->payload = malloc(len + 1);
	ck_assert_ptr_nonnull(m->payload);
	memcpy(m->payload, payload, len);
	m->payload[len] = '\0';
	m->len = len;
	m->qos = qos;
	m->retain = retain;
	return LB_OK;
}

static inline void rec_sink_free(struct rec_sink *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->m[i].payload);
	r->n = 0;
}

/* How many messages went to exactly this topic. */
static inline size_t rec_count(const struct rec_sink *r, const char *topic)
{
	size_t n = 0;
	for (size_t i = 0; i < r->n; i++)
		n += strcmp(r->m[i].topic, topic) == 0;
	return n;
}

/* The last message on topic; none fails the test. */
static inline const struct rec_msg *rec_last(const struct rec_sink *r, const char *topic)
{
	for (size_t i = r->n; i-- > 0;)
		if (strcmp(r->m[i].topic, topic) == 0)
			return &r->m[i];
	ck_abort_msg("nothing published on %s", topic);
	return NULL;
}

/* A message's payload parsed (the caller puts it); not JSON fails the test. */
static inline json_object *rec_json(const struct rec_msg *m)
{
	json_object *o = json_tokener_parse(m->payload);
	ck_assert_msg(o != NULL, "not JSON on %s: %s", m->topic, m->payload);
	return o;
}

/* The last message on topic, parsed (the caller puts it). */
static inline json_object *rec_last_json(const struct rec_sink *r, const char *topic)
{
	return rec_json(rec_last(r, topic));
}

/* Member key of o (owned by o); absent fails the test. */
static inline json_object *member(json_object *o, const char *key)
{
	json_object *v = NULL;
	ck_assert_msg(json_object_object_get_ex(o, key, &v), "no \"%s\" in %s", key,
		      json_object_to_json_string(o));
	return v;
}

/* Member key of o as a string (owned by o); absent fails the test. */
static inline const char *str_of(json_object *o, const char *key)
{
	return json_object_get_string(member(o, key));
}

/* Every datagram handed to "UDP". */
struct rec_dgram {
	uint8_t buf[GWMP_MAX_PULL_RESP + 1];
	size_t len;
	struct udp_peer to;
};

struct rec_udp {
	struct rec_dgram d[64];
	size_t n;
};

static inline int rec_send(void *arg, const void *buf, size_t len, const struct udp_peer *to)
{
	struct rec_udp *r = arg;

	ck_assert_uint_lt(r->n, sizeof(r->d) / sizeof(r->d[0]));
	ck_assert_uint_le(len, sizeof(r->d[0].buf));
	memcpy(r->d[r->n].buf, buf, len);
	r->d[r->n].len = len;
	r->d[r->n].to = *to;
	r->n++;
	return LB_OK;
}

#endif
