/* SPDX-License-Identifier: MIT */
/* command.c - queue downlinks received on the command topic. See command.h. */
#include "daemon/command.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "io/loop.h"
#include "daemon/devevent.h"
#include "events/dlcmd.h"
#include "base/hex.h"
#include "base/uuid.h"
#include "base/lb_err.h"
#include "base/log.h"
#include "base/strhash.h"

/* Does a bucket of `burst` events refilled one per interval_ms take one
 * at now_ms (GCRA, virtual scheduling: tat - now <= (burst - 1) * interval)? */
static bool bucket_conforms(const struct command_bucket *b, int64_t now_ms, int burst,
			    int interval_ms)
{
	int64_t tat = b->tat_ms > now_ms ? b->tat_ms : now_ms;

	return tat - now_ms <= (int64_t)(burst - 1) * interval_ms;
}

static void bucket_take(struct command_bucket *b, int64_t now_ms, int interval_ms)
{
	b->tat_ms = (b->tat_ms > now_ms ? b->tat_ms : now_ms) + interval_ms;
}

/* The slot of app in a table of mask + 1 slots: its own, or the free one
 * where it would go. */
static struct command_app_bucket *app_slot(struct command_app_bucket *apps, size_t mask,
					   const char *app)
{
	size_t i = strhash(app) & mask;

	while (apps[i].app && strcmp(apps[i].app, app) != 0)
		i = (i + 1) & mask;
	return &apps[i];
}

/* Twice the slots (16 at first), the buckets moved. false: out of memory,
 * the table as it was. */
static bool apps_grow(struct command_limit *l)
{
	size_t slots = l->mask ? (l->mask + 1) * 2 : 16;
	struct command_app_bucket *apps = calloc(slots, sizeof(*apps));

	if (!apps)
		return false;
	for (size_t i = 0; l->mask && i <= l->mask; i++)
		if (l->apps[i].app)
			*app_slot(apps, slots - 1, l->apps[i].app) = l->apps[i];
	free(l->apps);
	l->apps = apps;
	l->mask = slots - 1;
	return true;
}

/* The bucket of an application (made at its first refusal), of the
 * UNKNOWN_DEVICE refusals for app NULL; NULL when it cannot be made (out
 * of memory, logged): the global bucket alone then (command.h). */
static struct command_bucket *app_bucket(struct commands *c, const char *app)
{
	struct command_limit *l = &c->limit;

	if (!app)
		return &l->unknown;
	if (l->mask) {
		struct command_app_bucket *e = app_slot(l->apps, l->mask, app);
		if (e->app)
			return &e->b;
	}
	/* At most half full, so a probe always ends on a free slot. */
	if ((l->n + 1) * 2 > (l->mask ? l->mask + 1 : 0) && !apps_grow(l)) {
		LB_LOG_RL(LOG_LVL_ERROR, "command", "application %s: no memory for its refusals' "
			  "rate limit: only the global one applies", app);
		return NULL;
	}
	struct command_app_bucket *e = app_slot(l->apps, l->mask, app);
	if (!(e->app = strdup(app))) {
		LB_LOG_RL(LOG_LVL_ERROR, "command", "application %s: no memory for its refusals' "
			  "rate limit: only the global one applies", app);
		return NULL;
	}
	e->b = (struct command_bucket){0};
	l->n++;
	return &e->b;
}

void commands_free(struct commands *c)
{
	struct command_limit *l = &c->limit;

	for (size_t i = 0; l->mask && i <= l->mask; i++)
		free(l->apps[i].app);
	free(l->apps);
	l->apps = NULL;
	l->mask = 0;
	l->n = 0;
}

/*
 * May a refusal's `log` event be published (command.h)? true: taken from
 * b and the global bucket, *missed the refusals b did not report before
 * (now reported), and a log line tells those all buckets did not (b NULL:
 * the global bucket alone). false:
 * counted as not reported.
 */
static bool report_pass(struct commands *c, struct command_bucket *b, uint64_t *missed)
{
	struct command_limit *l = &c->limit;
	int64_t now = c->now_ms ? c->now_ms() : loop_now_ms();

	if ((b && !bucket_conforms(b, now, COMMAND_LOG_APP_BURST, COMMAND_LOG_APP_MS)) ||
	    !bucket_conforms(&l->all, now, COMMAND_LOG_ALL_BURST, COMMAND_LOG_ALL_MS)) {
		if (b)
			b->missed++;
		l->all.missed++;
		c->stats->refusal_events_dropped++;
		return false;
	}
	bucket_take(&l->all, now, COMMAND_LOG_ALL_MS);
	*missed = 0;
	if (b) {
		bucket_take(b, now, COMMAND_LOG_APP_MS);
		*missed = b->missed;
		b->missed = 0;
	}
	if (l->all.missed) {
		log_warn("command", "%llu refused commands not reported by a log event (over the "
			 "rate limit of refusals' events)", (unsigned long long)l->all.missed);
		l->all.missed = 0;
	}
	return true;
}

/* desc: "downlink command refused: why", and the refusals not reported
 * before it if any; *n the context's length (1: `suppressed`). */
static void describe(char *desc, size_t cap, const char *why, uint64_t missed, char *num,
		     size_t num_cap, size_t *n)
{
	*n = 0;
	if (!missed) {
		snprintf(desc, cap, "downlink command refused: %s", why);
		return;
	}
	snprintf(desc, cap, "downlink command refused: %s; %llu earlier refused commands not "
		 "reported", why, (unsigned long long)missed);
	snprintf(num, num_cap, "%llu", (unsigned long long)missed);
	*n = 1;
}

/* A refusal is visible to the application on the device's log topic
 * (rate-limited: command.h). */
static void refuse(struct commands *c, struct command_result *r, const struct lb_device *dev,
		   const char *code, const char *why, int rc)
{
	char desc[512], num[24] = "";
	uint64_t missed = 0;
	size_t n;

	r->rc = rc;
	r->code = code;
	r->why = why;
	c->stats->commands_refused++;
	LB_LOG_RL(LOG_LVL_WARN, "command", "%016llx: downlink command refused: %s (%s)",
		  (unsigned long long)dev->dev_eui, why, code);
	if (!report_pass(c, app_bucket(c, dev->prof->application), &missed))
		return;
	describe(desc, sizeof(desc), why, missed, num, sizeof(num), &n);
	devevent_log_ctx(c->ev, dev, "ERROR", code, desc, (const char *const[]){"suppressed"},
			 (const char *const[]){num}, n);
}

static int check_limits(struct commands *c, const struct lb_device *dev, const struct dlcmd *cmd,
			const char **code, const char **why)
{
	enum region_rp rp = (enum region_rp)dev->regional_parameters;
	size_t queued = 0;

	if (dev->rt.last_dr >= 0 &&
	    dlcmd_check_size(c->region, rp, dev->rt.last_dr, 0, cmd->len) == LB_ERR_TOO_LARGE) {
		*code = "PAYLOAD_TOO_LARGE";
		*why = "payload larger than the region allows at the device's data rate";
		return LB_ERR_TOO_LARGE;
	}
	if (store_downlink_count(c->store, dev->dev_eui, &queued) != LB_OK) {
		*code = "STORE_ERROR";
		*why = "the queue could not be read";
		return LB_ERR_IO;
	}
	if (queued >= (size_t)c->queue_limit) {
		*code = "QUEUE_FULL";
		*why = "the device's downlink queue is full (downlink.queue_limit)";
		return LB_ERR_FULL;
	}
	return LB_OK;
}

/*
 * A command with `object` (ChirpStack's DownlinkCommand: the object is for
 * the device's codec) is encoded by the device's script, and what it
 * encodes is sent even when the command has `data` too, as ChirpStack does
 * (integration/mod.rs handle_down_command: the codec's bytes replace
 * `data`). The script's fPort, when it returns one, replaces the
 * command's, as ChirpStack's codec/js encode() does since its encoder may
 * return one; the command's is the fallback. A failure refuses the command
 * (DOWNLINK_CODEC, with the script's reason): an empty frame never goes out
 * in its place, nor the `data` the application meant to be replaced.
 */
static int encode_object(struct commands *c, struct command_result *r, const struct lb_device *dev,
			 struct dlcmd *cmd)
{
	char why[PAYLOAD_WHY_MAX];
	size_t len = 0;
	uint8_t fport = cmd->fport;

	if (!cmd->object) {
		if (cmd->fport != 0)
			return LB_OK;
		refuse(c, r, dev, "INVALID_FPORT",
		       "fPort must be 1..223 (it may be left out only for an object to encode)",
		       LB_ERR_RANGE);
		return LB_ERR_RANGE;
	}
	int rc = payload_encode(c->payloads, dev, cmd->object, &fport, cmd->data, sizeof(cmd->data),
				&len, why, sizeof(why));
	if (rc != LB_OK) {
		/* the script's reason goes in the log event; the caller gets the code's */
		refuse(c, r, dev, "DOWNLINK_CODEC", why, rc);
		r->why = "the device's codec could not encode the object (see its log event)";
		return rc;
	}
	if (fport == 0) {
		refuse(c, r, dev, "DOWNLINK_CODEC",
		       "the command has no fPort and the codec returned none", LB_ERR_RANGE);
		return LB_ERR_RANGE;
	}
	cmd->fport = fport;
	cmd->len = len;
	return LB_OK;
}

static void enqueue(struct commands *c, struct command_result *r, struct lb_device *dev,
		    struct dlcmd *cmd)
{
	struct store_downlink dl;
	const char *code = NULL, *why = NULL;
	uint32_t seq;

	if (!cmd->has_id) {
		uint8_t id[16];
		idgen_next(c->ids, id);
		event_json_uuid_str(id, cmd->id);
	}
	if (encode_object(c, r, dev, cmd) != LB_OK)
		return;
	int lim = check_limits(c, dev, cmd, &code, &why);
	if (lim != LB_OK) {
		refuse(c, r, dev, code, why, lim);
		return;
	}
	memset(&dl, 0, sizeof(dl));
	/* cmd->id is a UUID (dlcmd.h), given or generated */
	_Static_assert(UUID_STR_LEN < STORE_DL_ID_SIZE, "a UUID fits a queue item id");
	snprintf(dl.id, sizeof(dl.id), "%.*s", UUID_STR_LEN, cmd->id);
	dl.dev_eui = dev->dev_eui;
	dl.fport = cmd->fport;
	dl.confirmed = cmd->confirmed;
	dl.has_expires_at = cmd->has_expires_at;
	dl.expires_at_us = cmd->expires_at_us;
	dl.len = cmd->len;
	memcpy(dl.data, cmd->data, cmd->len);
	int rc = store_downlink_push(c->store, &dl, &seq);
	if (rc == LB_ERR_DUPLICATE) {
		refuse(c, r, dev, "DUPLICATE_ID",
		       "a queued downlink already has this id", rc);
		return;
	}
	if (rc != LB_OK) {
		refuse(c, r, dev, "STORE_ERROR",
		       "the downlink could not be queued", rc);
		return;
	}
	c->stats->commands++;
	r->rc = LB_OK;
	snprintf(r->id, sizeof(r->id), "%.*s", UUID_STR_LEN, dl.id);
	log_debug("command", "device %s: downlink %s queued (FPort %u, %zu bytes%s)", dev->name,
		  dl.id, dl.fport, dl.len, dl.confirmed ? ", confirmed" : "");
	if (c->queued)
		c->queued(c->queued_arg, dev);
}

/* The reason of a command larger than DLCMD_MAX_JSON, formatted once
 * (r->why keeps the pointer: the text lives as long as the program). */
static const char *too_large_text(void)
{
	static char text[96];

	if (text[0] == '\0')
		snprintf(text, sizeof(text), "the command's JSON exceeds %d bytes (whatever the "
			 "size of its data)", DLCMD_MAX_JSON);
	return text;
}

static const char *reason_text(const char *code)
{
	static const struct { const char *code, *text; } texts[] = {
		{"INVALID_JSON", "the payload is not a JSON object"},
		{"INVALID_FIELD", "a field has the wrong type or value"},
		{"INVALID_ID", "id is not a UUID"},
		{"DEV_EUI_MISMATCH", "devEui in the body differs from the topic"},
		{"INVALID_FPORT", "fPort must be 1..223"},
		{"INVALID_DATA", "data is not valid base64"},
		{"PAYLOAD_TOO_LARGE", "payload larger than any LoRaWAN downlink can carry"},
	};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		if (strcmp(code, texts[i].code) == 0)
			return texts[i].text;
	return "invalid command";
}

/* The command's error as an lb_err code, for command_submit()'s callers. */
static int reason_rc(const char *code)
{
	if (!strcmp(code, "INVALID_DATA"))
		return LB_ERR_BASE64;
	if (!strcmp(code, "INVALID_FPORT"))
		return LB_ERR_RANGE;
	if (!strcmp(code, "PAYLOAD_TOO_LARGE"))
		return LB_ERR_TOO_LARGE;
	return LB_ERR_JSON;
}

static void submit(struct commands *c, struct lb_device *dev, const void *payload, size_t len,
		   struct command_result *r)
{
	struct dlcmd cmd;
	const char *reason = NULL;

	/* Refused by dlcmd_parse() too, but there as any PAYLOAD_TOO_LARGE:
	 * the text says that the JSON is too large, whatever its data. */
	if (len > DLCMD_MAX_JSON) {
		refuse(c, r, dev, "PAYLOAD_TOO_LARGE", too_large_text(), LB_ERR_TOO_LARGE);
		return;
	}
	if (dlcmd_parse(payload, len, dev->dev_eui, &cmd, &reason) != LB_OK) {
		reason = reason ? reason : "INVALID_JSON";
		refuse(c, r, dev, reason, reason_text(reason),
		       reason_rc(reason));
		return;
	}
	enqueue(c, r, dev, &cmd);
	dlcmd_release(&cmd);
}

/*
 * Is dev in the application the command topic names? {application} holds
 * its name or, as in ChirpStack's topic (application/{application_id}/...),
 * its applicationId, the UUID of the events' deviceInfo; {application_id}
 * holds the UUID only (either case: ChirpStack parses it). A template with
 * neither names no application: the DevEUI alone says which device.
 */
static bool app_matches(struct commands *c, const struct lb_device *dev,
			const struct topic_match *m)
{
	unsigned used = c->pub->device_command.used_vars;

	if ((used & TOPIC_VAR_APPLICATION) && strcmp(m->application, dev->prof->application) != 0 &&
	    strcasecmp(m->application, devevent_app_id(c->ev, dev)) != 0)
		return false;
	if ((used & TOPIC_VAR_APPLICATION_ID) &&
	    strcasecmp(m->application_id, devevent_app_id(c->ev, dev)) != 0)
		return false;
	return true;
}

/* A command for a device the topic's application does not have: told on
 * that application's topic, without deviceInfo (rate-limited: command.h). */
static void refuse_unknown(struct commands *c, struct command_result *r, const char *app,
			   const char *app_id, uint64_t dev_eui, const char *why)
{
	char desc[512], num[24] = "";
	uint64_t missed = 0;
	size_t n;

	r->rc = LB_ERR_NOT_FOUND;
	r->code = "UNKNOWN_DEVICE";
	r->why = "no such device in this application";
	c->stats->commands_refused++;
	LB_LOG_RL(LOG_LVL_WARN, "command", "%016llx: downlink command refused: %s (UNKNOWN_DEVICE)",
		  (unsigned long long)dev_eui, why);
	if (!report_pass(c, app_bucket(c, NULL), &missed))
		return;
	describe(desc, sizeof(desc), why, missed, num, sizeof(num), &n);
	devevent_log_unknown(c->ev, app, app_id, dev_eui, "ERROR", "UNKNOWN_DEVICE", desc);
}

void command_on_message(void *arg, const char *topic, const void *payload, size_t len)
{
	struct commands *c = arg;
	struct command_result r = {0};
	struct topic_match m;
	uint64_t dev_eui;

	/* a template without {command} has only downlinks */
	if (publish_match_command(c->pub, topic, &m) != LB_OK ||
	    ((c->pub->device_command.used_vars & TOPIC_VAR_COMMAND) && strcmp(m.command, "down")))
		return;
	if (hex_parse_u64_eui(m.dev_eui, &dev_eui) != LB_OK) {
		LB_LOG_RL(LOG_LVL_WARN, "command", "command topic %s: '%s' is not a DevEUI", topic,
			  m.dev_eui);
		return;
	}
	struct lb_device *dev = devices_find_eui(c->devices, dev_eui);
	/* the topic's one value names the application for the log event */
	const char *app = m.application[0] ? m.application : m.application_id;
	const char *app_id = m.application_id[0] ? m.application_id : m.application;
	if (!dev) {
		refuse_unknown(c, &r, app, app_id, dev_eui, "no such device");
		return;
	}
	if (!app_matches(c, dev, &m)) {
		char why[TOPIC_MATCH_VALUE_MAX + 128];
		snprintf(why, sizeof(why), "the device is not in application '%s' (the topic names "
			 "an application by its name or its applicationId)", app);
		refuse_unknown(c, &r, app, app_id, dev_eui, why);
		return;
	}
	submit(c, dev, payload, len, &r);
}

void command_submit(struct commands *c, uint64_t dev_eui, const void *payload, size_t len,
		    struct command_result *r)
{
	memset(r, 0, sizeof(*r));
	struct lb_device *dev = devices_find_eui(c->devices, dev_eui);
	if (!dev) {
		/* Not an application's device: no log topic to tell. */
		r->rc = LB_ERR_NOT_FOUND;
		r->code = "UNKNOWN_DEVICE";
		r->why = "unknown device";
		return;
	}
	submit(c, dev, payload, len, r);
}
