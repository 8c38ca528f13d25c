/* SPDX-License-Identifier: MIT */
/*
 * topic.h - MQTT topic templates (pure: no I/O, no logging, no allocation).
 *
 * A template is literal text with placeholders in braces, compiled once at
 * start-up (and on reload) and expanded for every published message:
 *
 *   prefix "eu868/" + "application/{application}/device/{dev_eui}/event/{event}"
 *     -> "eu868/application/default/device/0102030405060708/event/up"
 *
 * Placeholders: {application} {application_id} {dev_eui} {gateway_id} {event}
 * {state} {client_id} {command} {field}. Each template states which ones it may
 * use (an OR of TOPIC_VAR_* bits); the defaults follow ChirpStack v4's topic
 * layout, with the application's name where ChirpStack has its UUID
 * ({application_id}: the applicationId of the events' deviceInfo).
 *
 * Rules checked by topic_compile() (MQTT 3.1.1 §4.7, MQTT 5 §4.7):
 *  - the result must not be empty and must be valid UTF-8 without control
 *    characters (U+0000 is forbidden by MQTT, the others are "should not");
 *  - '+' and '#' are subscription wildcards, never valid in a publish topic;
 *  - no empty level ("a//b", trailing "/"): legal in MQTT but always a typo
 *    here, usually a prefix ending in '/' joined to a template starting
 *    with '/'. A single leading '/' (first level empty) is legal MQTT and
 *    allowed, as some deployments use it;
 *  - placeholders must be known, closed, not nested, and allowed for this
 *    template;
 *  - the literal text is at most TOPIC_MAX_TEXT bytes.
 *
 * topic_expand() refuses a value that would change the topic structure: one
 * that is empty or contains '/', '+', '#', a control character or invalid
 * UTF-8 (an application named "a/b" must not create a level). A C string
 * cannot carry an embedded NUL, so that case cannot arise.
 *
 * Ownership: struct topic_tpl is a plain value (fixed arrays, no pointers);
 * copy it freely. topic_free() only resets it (kept so callers need not
 * know that). topic_vars only borrows strings.
 */
#ifndef LB_TOPIC_H
#define LB_TOPIC_H

#include <stddef.h>
#include <stdint.h>

#define TOPIC_MAX_TEXT 256   /* literal bytes of prefix + template */
#define TOPIC_MAX_SEGS 32    /* literal runs + placeholders */
#define TOPIC_MAX_LEN 65535  /* MQTT limit of an expanded topic (UTF-8 string length) */

/* Placeholders. Each value is one bit, so an `allowed_vars` mask is an OR
 * of them: TOPIC_VAR_GATEWAY_ID | TOPIC_VAR_EVENT. */
enum topic_var {
	TOPIC_VAR_NONE = 0,          /* literal segment */
	TOPIC_VAR_APPLICATION = 1u << 0,
	TOPIC_VAR_DEV_EUI = 1u << 1,
	TOPIC_VAR_GATEWAY_ID = 1u << 2,
	TOPIC_VAR_EVENT = 1u << 3,
	TOPIC_VAR_STATE = 1u << 4,
	TOPIC_VAR_CLIENT_ID = 1u << 5,
	TOPIC_VAR_COMMAND = 1u << 6,
	TOPIC_VAR_FIELD = 1u << 7,
	TOPIC_VAR_APPLICATION_ID = 1u << 8,
	TOPIC_VAR__ALL = (1u << 9) - 1
};

/* Allowed sets of the configurable templates (config.h mqtt_topic_*). */
#define TOPIC_VAR_APP (TOPIC_VAR_APPLICATION | TOPIC_VAR_APPLICATION_ID)
#define TOPIC_ALLOW_DEVICE_EVENT (TOPIC_VAR_APP | TOPIC_VAR_DEV_EUI | TOPIC_VAR_EVENT)
#define TOPIC_ALLOW_GATEWAY_EVENT (TOPIC_VAR_GATEWAY_ID | TOPIC_VAR_EVENT)
#define TOPIC_ALLOW_GATEWAY_STATE (TOPIC_VAR_GATEWAY_ID | TOPIC_VAR_STATE)
#define TOPIC_ALLOW_BRIDGE (TOPIC_VAR_CLIENT_ID | TOPIC_VAR_EVENT)
#define TOPIC_ALLOW_DEVICE_STATE (TOPIC_VAR_APP | TOPIC_VAR_DEV_EUI | TOPIC_VAR_STATE)
#define TOPIC_ALLOW_DEVICE_COMMAND (TOPIC_VAR_APP | TOPIC_VAR_DEV_EUI | TOPIC_VAR_COMMAND)
#define TOPIC_ALLOW_DEVICE_FIELD (TOPIC_VAR_APP | TOPIC_VAR_DEV_EUI | TOPIC_VAR_FIELD)

/* Defaults (ChirpStack v4 conventions, {state} = "conn"; the bridge topic
 * is ours). Keep in line with config_schema.c. */
#define TOPIC_DEFAULT_DEVICE_EVENT "application/{application}/device/{dev_eui}/event/{event}"
#define TOPIC_DEFAULT_GATEWAY_EVENT "gateway/{gateway_id}/event/{event}"
#define TOPIC_DEFAULT_GATEWAY_STATE "gateway/{gateway_id}/state/{state}"
#define TOPIC_DEFAULT_BRIDGE "lorabridge/{client_id}/{event}"
#define TOPIC_DEFAULT_DEVICE_COMMAND "application/{application}/device/{dev_eui}/command/{command}"
#define TOPIC_DEFAULT_DEVICE_FIELD "application/{application}/device/{dev_eui}/object/{field}"

struct topic_seg {
	uint16_t var;                /* one enum topic_var bit; TOPIC_VAR_NONE = literal */
	uint16_t off;                /* literal: offset into text */
	uint16_t len;                /* literal: length */
};

struct topic_tpl {
	char text[TOPIC_MAX_TEXT];   /* literal runs, back to back (not NUL-separated) */
	struct topic_seg seg[TOPIC_MAX_SEGS];
	size_t n_seg;
	size_t literal_len;          /* sum of literal segment lengths */
	unsigned used_vars;          /* OR of the placeholders present */
};

/* Values for expansion. Only the variables the template uses are read; each
 * of those must be non-NULL. dev_eui / gateway_id are 16 lowercase hex
 * characters by convention (the caller formats them). */
struct topic_vars {
	const char *application;
	const char *application_id;  /* the application's UUID, as deviceInfo's applicationId */
	const char *dev_eui;
	const char *gateway_id;
	const char *event;
	const char *state;
	const char *client_id;
	const char *command;
	const char *field;           /* a decoded field's flattened name */
};

/* Values taken out of a received topic by topic_match(). */
#define TOPIC_MATCH_VALUE_MAX 128
struct topic_match {
	char application[TOPIC_MATCH_VALUE_MAX];
	char application_id[TOPIC_MATCH_VALUE_MAX];
	char dev_eui[TOPIC_MATCH_VALUE_MAX];
	char command[TOPIC_MATCH_VALUE_MAX];
};

/*
 * Compile prefix + tpl (prefix may be NULL or "", and is parsed with the
 * same rules, so it may hold placeholders too). On error returns
 * LB_ERR_CONFIG and writes a one-line message to err (if errlen > 0), e.g.
 *   "'+' is an MQTT wildcard, not allowed in a topic (template column 12)".
 * Errors: LB_ERR_INVAL (NULL tpl/out), LB_ERR_CONFIG (any rule above).
 */
int topic_compile(struct topic_tpl *out, const char *prefix, const char *tpl,
		  unsigned allowed_vars, char *err, size_t errlen);

/*
 * Expand into out (NUL-terminated, at most cap bytes including the NUL).
 * No allocation. Errors: LB_ERR_INVAL (a used value is NULL, empty, or
 * contains '/', '+', '#', a control character or invalid UTF-8),
 * LB_ERR_TOO_LARGE (does not fit in cap or exceeds TOPIC_MAX_LEN). On error
 * out holds "" (if cap > 0).
 */
int topic_expand(const struct topic_tpl *t, const struct topic_vars *v, char *out, size_t cap);

/*
 * Subscription filter: like topic_expand(), but a placeholder whose value is
 * NULL becomes the '+' wildcard. Such a placeholder must fill a whole level
 * ("a/{dev_eui}/b", not "a/dev-{dev_eui}"): LB_ERR_CONFIG otherwise.
 */
int topic_filter(const struct topic_tpl *t, const struct topic_vars *v, char *out, size_t cap);

/*
 * Match a received topic against the template and copy the placeholder
 * values into m (application, application_id, dev_eui, command; others are
 * checked to be present and ignored; a placeholder the template lacks is
 * ""). A placeholder takes one whole level. Errors: LB_ERR_NOT_FOUND (the
 * topic does not have the template's shape), LB_ERR_TOO_LARGE (a value
 * longer than TOPIC_MATCH_VALUE_MAX - 1).
 */
int topic_match(const struct topic_tpl *t, const char *topic, struct topic_match *m);

/* Reset a template to the empty (unusable) state; safe on a zeroed one. */
void topic_free(struct topic_tpl *t);

/* "application", "dev_eui", ...; "" for TOPIC_VAR_NONE or not a single bit. */
const char *topic_var_name(enum topic_var v);

#endif
