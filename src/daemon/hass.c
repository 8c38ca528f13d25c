/* SPDX-License-Identifier: MIT */
/* hass.c - Home Assistant discovery and per-field topics. See hass.h. */
#include "daemon/hass.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/hex.h"
#include "base/lb_err.h"
#include "base/log.h"
#include "base/strhash.h"
#include "events/devinfo.h"

#define TAG "hass"
#define EXPIRE_FACTOR 3
#define STATUS_ONLINE "online"

/* Keep the first failure of several independent steps. */
static void keep(int *first, int rc)
{
	if (*first == LB_OK)
		*first = rc;
}

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* A copy of s, or NULL for NULL; *ok turns false when out of memory. */
static char *dup_opt(const char *s, bool *ok)
{
	if (!s)
		return NULL;
	char *d = strdup(s);
	if (!d)
		*ok = false;
	return d;
}

static const char *tag_value(const struct lb_device *dev, const char *key)
{
	for (size_t i = 0; i < dev->n_tags; i++)
		if (dev->tags[i].key && strcmp(dev->tags[i].key, key) == 0)
			return dev->tags[i].value;
	return NULL;
}

/* ------------------------------------------------------- device table */

static size_t slot_of(uint64_t eui, size_t mask)
{
	return (size_t)((eui * UINT64_C(0x9e3779b97f4a7c15)) >> 32) & mask;
}

static struct hass_dev *dev_find(const struct hass *h, uint64_t eui)
{
	if (!h->slots)
		return NULL;
	for (size_t i = slot_of(eui, h->mask);; i = (i + 1) & h->mask) {
		uint32_t s = h->slots[i];
		if (s == 0)
			return NULL;
		if (h->dev[s - 1]->dev_eui == eui)
			return h->dev[s - 1];
	}
}

/* Rebuild the index with at least twice as many slots as devices. */
static int index_build(struct hass *h)
{
	size_t slots = 16;

	while (slots < 2 * h->n + 2)
		slots *= 2;
	uint32_t *s = calloc(slots, sizeof(*s));
	if (!s)
		return LB_ERR_NOMEM;
	for (size_t k = 0; k < h->n; k++) {
		size_t i = slot_of(h->dev[k]->dev_eui, slots - 1);
		while (s[i])
			i = (i + 1) & (slots - 1);
		s[i] = (uint32_t)(k + 1);
	}
	free(h->slots);
	h->slots = s;
	h->mask = slots - 1;
	return LB_OK;
}

static void dev_free(struct hass_dev *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n_fields; i++) {
		free(d->fields[i].name);
		free(d->fields[i].value_template);
	}
	free(d->fields);
	free(d->application);
	free(d->application_id);
	free(d->name);
	free(d->manufacturer);
	free(d->model);
	free(d);
}

/* dev's applicationId: its profile's, or (not yet computed: the registry
 * computes the defaults at the first device event, devevent.h) the default
 * one of its application. "" if that cannot be computed. */
static void app_id_of(const struct lb_device *dev, char out[DEVINFO_ID_SIZE])
{
	if (dev->prof->app_uuid) {
		snprintf(out, DEVINFO_ID_SIZE, "%s", dev->prof->app_uuid);
		return;
	}
	if (devinfo_application_id(dev->prof->application, out) != LB_OK)
		out[0] = '\0';
}

static struct hass_dev *dev_new(const struct lb_device *dev)
{
	struct hass_dev *d = calloc(1, sizeof(*d));
	bool ok = d != NULL;
	char app_id[DEVINFO_ID_SIZE];

	if (!d)
		return NULL;
	app_id_of(dev, app_id);
	d->dev_eui = dev->dev_eui;
	d->application = dup_opt(dev->prof->application, &ok);
	d->application_id = dup_opt(app_id, &ok);
	d->name = dup_opt(dev->name, &ok);
	d->manufacturer = dup_opt(tag_value(dev, "manufacturer"), &ok);
	d->model = dup_opt(tag_value(dev, "model"), &ok);
	if (!ok || !d->application || !d->application_id || !d->name) {
		dev_free(d);
		return NULL;
	}
	return d;
}

static int dev_add(struct hass *h, const struct lb_device *dev, struct hass_dev **out)
{
	if (h->n == h->cap) {
		size_t cap = h->cap ? 2 * h->cap : 8;
		struct hass_dev **n = realloc(h->dev, cap * sizeof(*n));
		if (!n)
			return LB_ERR_NOMEM;
		h->dev = n;
		h->cap = cap;
	}
	struct hass_dev *d = dev_new(dev);
	if (!d)
		return LB_ERR_NOMEM;
	h->dev[h->n++] = d;
	if (!h->slots || 2 * h->n + 2 > h->mask + 1) {
		if (index_build(h) != LB_OK) {
			dev_free(h->dev[--h->n]);
			return LB_ERR_NOMEM;
		}
	} else {
		size_t i = slot_of(d->dev_eui, h->mask);
		while (h->slots[i])
			i = (i + 1) & h->mask;
		h->slots[i] = (uint32_t)h->n;
	}
	*out = d;
	return LB_OK;
}

/* ------------------------------------------------------- publishing */

/* A config whose state topic is the device's `event` event; expire_after
 * only for the decoded fields of up events. */
static int announce(struct hass *h, const struct hass_dev *d, const char *event,
		    const char *object_id, const char *name, const char *tpl,
		    const struct hass_class *cls, bool diag)
{
	char state_topic[PUBLISH_TOPIC_MAX], topic[PUBLISH_TOPIC_MAX], json[HASS_CONFIG_MAX];
	const struct hass_device_info di = {
		.dev_eui = d->dev_eui, .name = d->name, .manufacturer = d->manufacturer,
		.model = d->model,
	};
	size_t len = 0;

	bool field = !diag && strcmp(event, "up") == 0;
	int rc = publish_device_event_topic(h->pub, d->application, d->application_id, d->dev_eui,
					    event, state_topic, sizeof(state_topic));
	if (rc == LB_OK)
		rc = hass_json_topic(h->o.prefix, cls->component, d->dev_eui, object_id, topic,
				     sizeof(topic));
	if (rc == LB_OK) {
		const struct hass_entity e = {
			.object_id = object_id, .name = name, .state_topic = state_topic,
			.value_template = tpl, .cls = *cls, .diagnostic = diag,
			.expire_after_s = field ? d->expire_s : 0,
			.availability_topic = h->availability, .dev = &di,
			.sw_version = h->o.sw_version,
		};
		rc = hass_json_config(&e, json, sizeof(json), &len);
	}
	if (rc == LB_OK)
		rc = publish_raw(h->pub, topic, json, len, true);
	if (rc != LB_OK) {
		h->stats.errors++;
		LB_LOG_RL(LOG_LVL_WARN, TAG, "device %s: discovery config of %s not published: %s",
			  d->name, object_id, lb_strerror(rc));
		return rc;
	}
	h->stats.configs++;
	return LB_OK;
}

static int announce_field(struct hass *h, const struct hass_dev *d, struct hass_field *f)
{
	int rc = announce(h, d, "up", f->name, f->name, f->value_template, &f->cls, false);
	f->announced = rc == LB_OK;
	return rc;
}

static int announce_diag(struct hass *h, struct hass_dev *d)
{
	int first = LB_OK;

	for (int i = 0; i < HASS_N_DIAG; i++) {
		const struct hass_diag_def *x = hass_diag((enum hass_diag)i);
		keep(&first, announce(h, d, "up", x->object_id, x->name, x->value_template, &x->cls,
				      true));
	}
	d->diag_announced = first == LB_OK;
	return first;
}

static int announce_status(struct hass *h, struct hass_dev *d)
{
	int first = LB_OK;

	for (int i = 0; i < HASS_N_STATUS; i++) {
		const struct hass_status_def *x = hass_status_entity((enum hass_status_ent)i);
		keep(&first, announce(h, d, "status", x->object_id, x->name, x->value_template,
				      &x->cls, x->diagnostic));
	}
	d->status_announced = first == LB_OK;
	return first;
}

static int announce_fields(struct hass *h, struct hass_dev *d)
{
	int first = LB_OK;

	for (size_t i = 0; i < d->n_fields; i++)
		keep(&first, announce_field(h, d, &d->fields[i]));
	return first;
}

/* Everything known of the device, again (Home Assistant back online, a
 * rename). */
static int announce_dev(struct hass *h, struct hass_dev *d)
{
	int first = announce_diag(h, d);

	keep(&first, announce_fields(h, d));
	if (d->status_seen)
		keep(&first, announce_status(h, d));
	return first;
}

/* An empty retained message removes the retained one (MQTT 3.1.1 §3.3.1.3),
 * and with it, on a discovery topic, the entity. */
static int clear_config(struct hass *h, const struct hass_dev *d, const char *component,
			const char *object_id)
{
	char topic[PUBLISH_TOPIC_MAX];

	int rc = hass_json_topic(h->o.prefix, component, d->dev_eui, object_id, topic,
				 sizeof(topic));
	if (rc == LB_OK)
		rc = publish_raw(h->pub, topic, "", 0, true);
	if (rc != LB_OK) {
		h->stats.errors++;
		LB_LOG_RL(LOG_LVL_WARN, TAG, "device %s: discovery config of %s not cleared: %s",
			  d->name, object_id, lb_strerror(rc));
		return rc;
	}
	h->stats.cleared++;
	return LB_OK;
}

static int clear_value(struct hass *h, const struct hass_dev *d, const char *field)
{
	int rc = publish_device_field(h->pub, d->application, d->application_id, d->dev_eui, field,
				      "", 0);
	if (rc != LB_OK) {
		h->stats.errors++;
		LB_LOG_RL(LOG_LVL_WARN, TAG, "device %s: field topic %s not cleared: %s", d->name,
			  field, lb_strerror(rc));
		return rc;
	}
	h->stats.cleared++;
	return LB_OK;
}

static int clear_dev(struct hass *h, const struct hass_dev *d)
{
	int first = LB_OK;

	for (size_t i = 0; i < d->n_fields; i++) {
		const struct hass_field *f = &d->fields[i];
		if (h->o.discovery)
			keep(&first, clear_config(h, d, f->cls.component, f->name));
		if (h->o.publish_fields)
			keep(&first, clear_value(h, d, f->name));
	}
	for (int i = 0; h->o.discovery && i < HASS_N_DIAG; i++) {
		const struct hass_diag_def *x = hass_diag((enum hass_diag)i);
		keep(&first, clear_config(h, d, x->cls.component, x->object_id));
	}
	for (int i = 0; h->o.discovery && d->status_seen && i < HASS_N_STATUS; i++) {
		const struct hass_status_def *x = hass_status_entity((enum hass_status_ent)i);
		keep(&first, clear_config(h, d, x->cls.component, x->object_id));
	}
	return first;
}

static int publish_value(struct hass *h, const struct hass_dev *d, const struct hass_leaf *leaf)
{
	char text[HASS_VALUE_MAX];
	size_t len = 0;

	int rc = hass_value_text(leaf, text, sizeof(text), &len);
	if (rc == LB_OK)
		rc = publish_device_field(h->pub, d->application, d->application_id, d->dev_eui,
					  leaf->name, text, len);
	if (rc != LB_OK) {
		h->stats.errors++;
		LB_LOG_RL(LOG_LVL_WARN, TAG, "device %s: field %s not published: %s", d->name,
			  leaf->name, lb_strerror(rc));
		return rc;
	}
	h->stats.values++;
	return LB_OK;
}

/* ------------------------------------------------------- an up event */

/* The measured interval, and whether expire_after moved by more than a
 * quarter (the configs must then be announced again). */
static bool interval_update(struct hass_dev *d, int64_t now_ms)
{
	if (d->last_up_ms > 0 && now_ms > d->last_up_ms) {
		double delta = (double)(now_ms - d->last_up_ms);
		d->interval_ms = d->interval_ms > 0 ? (3 * d->interval_ms + delta) / 4 : delta;
	}
	d->last_up_ms = now_ms > 0 ? now_ms : 1;
	if (d->interval_ms <= 0)
		return false;
	double s = EXPIRE_FACTOR * d->interval_ms / 1000;
	int want = s < HASS_EXPIRE_MIN_S ? HASS_EXPIRE_MIN_S
		   : s > HASS_EXPIRE_MAX_S ? HASS_EXPIRE_MAX_S : (int)(s + 0.5);
	if (d->expire_s > 0 && abs(want - d->expire_s) * 4 <= d->expire_s)
		return false;
	d->expire_s = want;
	return true;
}

static struct hass_field *field_find(struct hass_dev *d, const char *name, uint32_t hash)
{
	for (size_t i = 0; i < d->n_fields; i++)
		if (d->fields[i].hash == hash && strcmp(d->fields[i].name, name) == 0)
			return &d->fields[i];
	return NULL;
}

static int field_add(struct hass *h, struct hass_dev *d, const struct hass_leaf *leaf,
		     uint32_t hash, struct hass_field **out)
{
	char tpl[HASS_TEMPLATE_MAX];
	struct hass_field f = {.hash = hash};

	hass_classify(leaf, &f.cls);
	if (h->o.discovery) {
		int rc = hass_value_template(leaf, &f.cls, tpl, sizeof(tpl));
		if (rc != LB_OK)
			return rc;
	}
	if (d->n_fields == d->cap_fields) {
		size_t cap = d->cap_fields ? 2 * d->cap_fields : 4;
		if (cap > HASS_FIELDS_MAX)
			cap = HASS_FIELDS_MAX;
		struct hass_field *n = realloc(d->fields, cap * sizeof(*n));
		if (!n)
			return LB_ERR_NOMEM;
		d->fields = n;
		d->cap_fields = cap;
	}
	f.name = strdup(leaf->name);
	f.value_template = h->o.discovery ? strdup(tpl) : NULL;
	if (!f.name || (h->o.discovery && !f.value_template)) {
		free(f.name);
		free(f.value_template);
		return LB_ERR_NOMEM;
	}
	d->fields[d->n_fields] = f;
	*out = &d->fields[d->n_fields++];
	return LB_OK;
}

struct seen {
	struct hass *h;
	struct hass_dev *d;
	int rc;                          /* first failure */
};

static int on_leaf(void *arg, const struct hass_leaf *leaf)
{
	struct seen *s = arg;
	struct hass_dev *d = s->d;
	uint32_t hash = strhash(leaf->name);   /* field names are looked up by hash first */
	struct hass_field *f = field_find(d, leaf->name, hash);

	if (!f && d->n_fields >= HASS_FIELDS_MAX) {
		if (!d->full_logged)
			log_warn(TAG, "device %s: more than %d decoded fields; %s and any further "
				 "new ones are ignored", d->name, HASS_FIELDS_MAX, leaf->name);
		d->full_logged = true;
		return LB_OK;
	}
	if (!f) {
		int rc = field_add(s->h, d, leaf, hash, &f);
		if (rc != LB_OK) {
			s->h->stats.errors++;
			LB_LOG_RL(LOG_LVL_WARN, TAG, "device %s: field %s not remembered: %s",
				  d->name, leaf->name, lb_strerror(rc));
			keep(&s->rc, rc);
			return LB_OK;
		}
	}
	if (s->h->o.discovery && !f->announced)
		keep(&s->rc, announce_field(s->h, d, f));
	if (s->h->o.publish_fields)
		keep(&s->rc, publish_value(s->h, d, leaf));
	return LB_OK;
}

static int seen_object(struct hass *h, struct hass_dev *d, struct json_object *object)
{
	struct seen s = {.h = h, .d = d, .rc = LB_OK};
	size_t skipped = 0;

	int rc = hass_flatten(object, on_leaf, &s, &skipped);
	if (rc != LB_OK) {
		LB_LOG_RL(LOG_LVL_WARN, TAG, "device %s: decoded payload not used: %s", d->name,
			  lb_strerror(rc));
		return rc;
	}
	if (skipped)
		LB_LOG_RL(LOG_LVL_INFO, TAG, "device %s: %zu decoded value(s) nested deeper than %d "
			  "levels or with names longer than %d characters left out", d->name,
			  skipped, HASS_DEPTH_MAX, HASS_NAME_MAX - 1);
	return s.rc;
}

/* The device's entry, added when new. */
static int dev_get(struct hass *h, const struct lb_device *dev, struct hass_dev **out)
{
	*out = dev_find(h, dev->dev_eui);
	if (*out)
		return LB_OK;
	int rc = dev_add(h, dev, out);
	if (rc != LB_OK)
		LB_LOG_RL(LOG_LVL_WARN, TAG, "device %s: not remembered: %s", dev->name,
			  lb_strerror(rc));
	return rc;
}

int hass_seen(struct hass *h, const struct lb_device *dev, struct json_object *object,
	      int64_t now_ms)
{
	int first = LB_OK;

	if (!h || !dev)
		return LB_ERR_INVAL;
	if (!hass_enabled(h) || (!h->o.discovery && !object))
		return LB_OK;
	struct hass_dev *d = NULL;
	int rc = dev_get(h, dev, &d);
	if (rc != LB_OK)
		return rc;
	if (h->o.discovery) {
		bool again = interval_update(d, now_ms);
		if (!d->diag_announced)
			keep(&first, announce_diag(h, d));
		if (d->status_seen && !d->status_announced)
			keep(&first, announce_status(h, d));
		if (again)
			keep(&first, announce_fields(h, d));
	}
	if (object)
		keep(&first, seen_object(h, d, object));
	return first;
}

int hass_status_seen(struct hass *h, const struct lb_device *dev)
{
	struct hass_dev *d = NULL;

	if (!h || !dev)
		return LB_ERR_INVAL;
	if (!h->o.discovery)
		return LB_OK;
	int rc = dev_get(h, dev, &d);
	if (rc != LB_OK)
		return rc;
	d->status_seen = true;
	return d->status_announced ? LB_OK : announce_status(h, d);
}

/* ------------------------------------------------------- lifecycle */

int hass_init(struct hass *h, struct publisher *pub, const struct hass_opts *o)
{
	if (!h || !pub || !o || (o->discovery && (!o->prefix || !*o->prefix)))
		return LB_ERR_INVAL;
	memset(h, 0, sizeof(*h));
	h->pub = pub;
	h->o = *o;
	h->announce_next = SIZE_MAX;
	int rc = publish_bridge_topic(pub, "state", h->availability, sizeof(h->availability));
	if (rc != LB_OK)
		log_error(TAG, "bridge state topic (availability) cannot be built: %s",
			  lb_strerror(rc));
	return rc;
}

void hass_free(struct hass *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->n; i++)
		dev_free(h->dev[i]);
	free(h->dev);
	free(h->slots);
	h->dev = NULL;
	h->slots = NULL;
	h->n = h->cap = 0;
}

bool hass_enabled(const struct hass *h)
{
	return h && (h->o.discovery || h->o.publish_fields);
}

int hass_status_topic(const struct hass *h, char *out, size_t cap)
{
	if (!h || !out || cap == 0)
		return LB_ERR_INVAL;
	if (!h->o.discovery)
		return LB_ERR_STATE;
	int n = snprintf(out, cap, "%s/status", h->o.prefix);
	return n >= 0 && (size_t)n < cap ? LB_OK : LB_ERR_TOO_LARGE;
}

int hass_announce_all(struct hass *h)
{
	int first = LB_OK;

	if (!h || !h->o.discovery)
		return LB_OK;
	for (size_t i = 0; i < h->n; i++)
		keep(&first, announce_dev(h, h->dev[i]));
	return first;
}

static bool on_status(struct hass *h, const char *topic, const void *payload, size_t len)
{
	char status[PUBLISH_TOPIC_MAX];

	if (hass_status_topic(h, status, sizeof(status)) != LB_OK || strcmp(topic, status) != 0)
		return false;
	if (len == strlen(STATUS_ONLINE) && memcmp(payload, STATUS_ONLINE, len) == 0) {
		log_info(TAG, "Home Assistant is online: announcing %zu device(s) again", h->n);
		h->announce_next = 0;   /* hass_announce_more(), as the MQTT queue has room */
	}
	return true;
}

bool hass_announce_more(struct hass *h, size_t room)
{
	if (!h || !h->o.discovery || h->announce_next >= h->n) {
		if (h)
			h->announce_next = SIZE_MAX;   /* none due (devices added later wait too) */
		return false;
	}
	uint64_t before = h->stats.configs + h->stats.errors;
	/* failures are logged, and retried at the device's next uplink */
	while (h->announce_next < h->n && h->stats.configs + h->stats.errors - before < room)
		(void)announce_dev(h, h->dev[h->announce_next++]);
	return h->announce_next < h->n;
}

void hass_sweep_when_off(struct hass *h, bool on)
{
	if (h)
		h->sweep_when_off = on;
}

int hass_sweep_filter(const struct hass *h, enum hass_sweep which, char *out, size_t cap)
{
	if (!h || !out || cap == 0)
		return LB_ERR_INVAL;
	if (which == HASS_SWEEP_FIELDS)
		return h->o.publish_fields ? publish_field_filter(h->pub, out, cap) : LB_ERR_STATE;
	if ((unsigned)which >= HASS_N_SWEEP)
		return LB_ERR_INVAL;
	/* With discovery off only when asked: the configs of a run that had it
	 * on go (other programs' retained configs are many, and not ours). */
	if (!h->o.prefix || !*h->o.prefix || (!h->o.discovery && !h->sweep_when_off))
		return LB_ERR_STATE;
	const char *comp = which == HASS_SWEEP_SENSOR ? "sensor" : "binary_sensor";
	int n = snprintf(out, cap, "%s/%s/+/+/config", h->o.prefix, comp);
	return n >= 0 && (size_t)n < cap ? LB_OK : LB_ERR_TOO_LARGE;
}

/* A DevEUI as the bridge writes it in topics: 16 lowercase hex digits. */
static bool eui_of(const char *text, uint64_t *eui)
{
	char again[17];

	if (hex_parse_u64_eui(text, eui) != LB_OK)
		return false;
	hex_format_eui(*eui, again);
	return strcmp(again, text) == 0;
}

/* An earlier run's retained message on topic: cleared (MQTT 3.1.1 §3.3.1.3). */
static void sweep_clear(struct hass *h, uint64_t eui, const char *topic, const char *why)
{
	int rc = publish_raw(h->pub, topic, "", 0, true);
	if (rc != LB_OK) {
		h->stats.errors++;
		LB_LOG_RL(LOG_LVL_WARN, TAG, "%s not cleared (device %016" PRIx64 " %s): %s; tried "
			  "again at the next connection", topic, eui, why, lb_strerror(rc));
		return;
	}
	h->stats.swept++;
	LB_LOG_RL(LOG_LVL_INFO, TAG, "%s cleared: device %016" PRIx64 " %s", topic, eui, why);
}

/* A retained config that is ours is cleared when its device is no longer
 * configured, or when discovery is off (an earlier run had it on: its
 * entities would stay in Home Assistant, unavailable, for ever). */
static bool sweep_config(struct hass *h, struct devices *devices, const char *topic,
			 const void *payload, size_t len)
{
	char object_id[HASS_NAME_MAX];
	uint64_t eui = 0;

	if (!h->o.prefix || !*h->o.prefix || (!h->o.discovery && !h->sweep_when_off) ||
	    hass_json_parse_topic(h->o.prefix, topic, &eui, object_id) != LB_OK)
		return false;
	/* Empty: already cleared (our own clear coming back). */
	if (len == 0 || (h->o.discovery && devices_find_eui(devices, eui)))
		return true;
	if (hass_json_is_ours(payload, len, eui, object_id, h->availability))
		sweep_clear(h, eui, topic, h->o.discovery ? "is not configured"
							   : "is announced no more: discovery is off");
	return true;
}

/* A retained field topic of a device not configured (or not under this
 * application) is cleared. */
static bool sweep_field(struct hass *h, struct devices *devices, const char *topic, size_t len)
{
	struct topic_match m;
	uint64_t eui = 0;

	if (!h->o.publish_fields || publish_match_command(h->pub, topic, &m) == LB_OK ||
	    publish_match_field(h->pub, topic, &m) != LB_OK)
		return false;
	if (len == 0 || !eui_of(m.dev_eui, &eui))
		return true;
	const struct lb_device *dev = devices_find_eui(devices, eui);
	unsigned used = h->pub->device_field.used_vars;
	char app_id[DEVINFO_ID_SIZE] = "";
	if (!dev) {
		sweep_clear(h, eui, topic, "is not configured");
		return true;
	}
	if (used & TOPIC_VAR_APPLICATION_ID)
		app_id_of(dev, app_id);
	if (((used & TOPIC_VAR_APPLICATION) && strcmp(dev->prof->application, m.application)) ||
	    ((used & TOPIC_VAR_APPLICATION_ID) && strcasecmp(app_id, m.application_id)))
		sweep_clear(h, eui, topic, "is in another application");
	return true;
}

bool hass_on_message(struct hass *h, struct devices *devices, const char *topic,
		     const void *payload, size_t len)
{
	if (!h || !topic || (len > 0 && !payload))
		return false;
	if (on_status(h, topic, payload, len))
		return true;
	if (!devices)
		return false;
	return sweep_config(h, devices, topic, payload, len) ||
	       sweep_field(h, devices, topic, len);
}

/* Take over a renamed device's name, manufacturer and model. */
static int dev_rename(struct hass_dev *d, const struct lb_device *dev)
{
	bool ok = true;
	char *name = dup_opt(dev->name, &ok);
	char *man = dup_opt(tag_value(dev, "manufacturer"), &ok);
	char *model = dup_opt(tag_value(dev, "model"), &ok);

	if (!ok || !name) {
		free(name);
		free(man);
		free(model);
		return LB_ERR_NOMEM;
	}
	free(d->name);
	free(d->manufacturer);
	free(d->model);
	d->name = name;
	d->manufacturer = man;
	d->model = model;
	return LB_OK;
}

static bool renamed(const struct hass_dev *d, const struct lb_device *dev)
{
	return !str_eq(d->name, dev->name) ||
	       !str_eq(d->manufacturer, tag_value(dev, "manufacturer")) ||
	       !str_eq(d->model, tag_value(dev, "model"));
}

int hass_sync(struct hass *h, struct devices *devices)
{
	int first = LB_OK;
	size_t kept = 0, gone = 0;

	if (!h || !devices)
		return LB_ERR_INVAL;
	for (size_t i = 0; i < h->n; i++) {
		struct hass_dev *d = h->dev[i];
		const struct lb_device *cur = devices_find_eui(devices, d->dev_eui);
		char app_id[DEVINFO_ID_SIZE] = "";
		if (cur)
			app_id_of(cur, app_id);
		if (!cur || strcmp(cur->prof->application, d->application) != 0 ||
		    strcmp(app_id, d->application_id) != 0) {
			keep(&first, clear_dev(h, d));
			dev_free(d);
			gone++;
			/* A re-announcement under way goes on from the same device:
			 * those behind it move down one. */
			if (h->announce_next != SIZE_MAX && i < h->announce_next)
				h->announce_next--;
			continue;
		}
		h->dev[kept++] = d;
		if (!renamed(d, cur))
			continue;
		int rc = dev_rename(d, cur);
		if (rc != LB_OK) {
			log_error(TAG, "device %s: new name not taken: %s", d->name, lb_strerror(rc));
			keep(&first, rc);
		} else if (h->o.discovery) {
			keep(&first, announce_dev(h, d));
		}
	}
	h->n = kept;
	if (gone) {
		log_notice(TAG, "%zu device(s) left the configuration: their entities and field "
			   "topics were cleared", gone);
		int rc = index_build(h);
		if (rc != LB_OK) {
			/* Without an index no device would be found again: forget them all;
			 * their next up events announce them afresh. */
			log_error(TAG, "device index not rebuilt (%s): every device is announced "
				  "again at its next up event", lb_strerror(rc));
			hass_free(h);
			keep(&first, rc);
		}
	}
	return first;
}
