/* SPDX-License-Identifier: MIT */
/*
 * fakes.h - the I/O edges of the daemon's handlers as recorders, for the
 * unit tests that run the real handlers (test_uplink, test_dispatch,
 * test_command): a publish sink that keeps every message and a UDP sender
 * that keeps every datagram (a real store lives in testutil.h's temporary
 * directories).
 * Header-only: each suite is its own program. Assertions fail the test.
 */
#ifndef LB_FAKES_H
#define LB_FAKES_H

#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/lb_err.h"
#include "config/config.h"
#include "daemon/devevent.h"
#include "daemon/ids.h"
#include "daemon/publish.h"
#include "lorawan/region.h"
#include "gwmp/gwmp.h"
#include "io/udp.h"
#include "testutil.h"

#define REC_MAX 128

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


/* What every handler test starts with, as bridge.c's modules_setup(): a
 * store directory under base_dir, the default configuration, its region,
 * ids, the publisher on `sink` and device events counting into stats. */
struct fake_base {
	char *dir;                       /* filled: size FAKE_DIR_MAX */
	struct lb_config *cfg;
	const struct region **region;
	struct idgen *ids;
	struct publisher *pub;
	struct devevents *ev;
	struct stats *stats;
};

#define FAKE_DIR_MAX 256

static inline void fakes_base_open(const struct fake_base *b, const char *base_dir,
				   const struct publish_sink *sink)
{
	ck_assert_int_lt(snprintf(b->dir, FAKE_DIR_MAX, "%s/t.XXXXXX", base_dir), FAKE_DIR_MAX);
	ck_assert_ptr_nonnull(mkdtemp(b->dir));
	ck_assert_int_eq(config_defaults(b->cfg), LB_OK);
	*b->region = region_find(b->cfg->region);
	ck_assert_ptr_nonnull(*b->region);
	(void)idgen_init(b->ids);
	ck_assert_int_eq(publish_init(b->pub, b->cfg, sink), LB_OK);
	ck_assert_int_eq(devevent_init(b->ev, b->pub, b->stats, (*b->region)->name), LB_OK);
}

#endif
