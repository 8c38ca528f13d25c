/* SPDX-License-Identifier: MIT */
/* devevent.c - deviceInfo and `log` events. See devevent.h. */
#include "daemon/devevent.h"

#include <string.h>

#include "base/hex.h"
#include "base/lb_err.h"
#include "base/log.h"
#include "io/loop.h"

/* The ids of n (SHA-1 UUIDs, events/devinfo.h). */
static int names_ids(struct devevent_names *n, const char *region)
{
	int rc = devinfo_tenant_id(n->tenant_id);

	for (unsigned k = 0; k < DEVEVENT_CLASSES; k++)
		for (unsigned v = 0; v < DEVEVENT_VERSIONS && rc == LB_OK; v++)
			rc = devinfo_profile_class(region, v, k == LB_CLASS_C ? 'C' : 'A',
						   n->profile_name[k][v], n->profile_id[k][v]);
	return rc;
}

/* regionConfigId and the rxInfo metadata of region: the same for every
 * event, so written once. */
static int region_names(struct devevent_names *n, const char *region)
{
	char common[DEVINFO_REGION_ID_SIZE];
	int rc = devinfo_region_config_id(region, n->region_config_id);

	if (rc == LB_OK)
		rc = devinfo_region_common_name(region, common);
	if (rc == LB_OK)
		rc = event_json_rx_metadata(n->region_config_id, common, n->rx_metadata,
					    sizeof(n->rx_metadata), &n->rx_metadata_len);
	return rc;
}

int devevent_init(struct devevents *e, struct publisher *pub, struct stats *stats,
		  const char *region)
{
	memset(e, 0, sizeof(*e));
	e->pub = pub;
	e->stats = stats;
	e->region = region;
	int rc = region ? region_names(&e->names, region) : LB_ERR_INVAL;
	if (rc != LB_OK) {
		log_error("event", "deviceInfo defaults not computed (%s): tenantId, "
			  "deviceProfileId and regionConfigId stay empty, rxInfo metadata {}",
			  lb_strerror(rc));
		memset(&e->names, 0, sizeof(e->names));
		e->names_done = true;
		e->names_rc = rc;
	}
	return rc;
}

void devevent_use_devices(struct devevents *e, struct devices *d)
{
	e->devices = d;
}

/* The names' ids, at the first device event (devevent_names) or
 * devevent_ids(). */
static int names_ready(struct devevents *e)
{
	if (e->names_done)
		return e->names_rc;
	e->names_done = true;
	e->names_rc = names_ids(&e->names, e->region);
	if (e->names_rc != LB_OK) {
		log_error("event", "deviceInfo defaults not computed (%s): tenantId and "
			  "deviceProfileId stay empty", lb_strerror(e->names_rc));
		memset(e->names.tenant_id, 0, sizeof(e->names.tenant_id));
		memset(e->names.profile_id, 0, sizeof(e->names.profile_id));
		memset(e->names.profile_name, 0, sizeof(e->names.profile_name));
	}
	return e->names_rc;
}

int devevent_ids(struct devevents *e)
{
	int rc = names_ready(e);

	if (rc == LB_OK && e->devices)
		rc = devices_app_ids(e->devices);
	return rc;
}

/* dev's applicationId: configured, else the default, computed for the
 * whole registry the first time one is needed. */
const char *devevent_app_id(struct devevents *e, const struct lb_device *dev)
{
	if (!dev->prof->app_uuid && e->devices) {
		int rc = devices_app_ids(e->devices);
		if (rc != LB_OK)
			LB_LOG_RL(LOG_LVL_ERROR, "event", "default applicationIds not computed: %s",
				  lb_strerror(rc));
	}
	return dev->prof->app_uuid ? dev->prof->app_uuid : "";
}

void devevent_use_heads(struct devevents *e, struct devevent_heads *h)
{
	if (h)
		memset(h, 0, sizeof(*h));
	e->heads = h;
}

/* s (NULL: "") into a slot's key of DEVEVENT_HEAD_KEY bytes; false when
 * it is longer. */
static bool key_copy(char *dst, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n >= DEVEVENT_HEAD_KEY)
		return false;
	memcpy(dst, s ? s : "", n);
	dst[n] = '\0';
	return true;
}

static bool key_is(const char *key, const char *s)
{
	return strcmp(key, s ? s : "") == 0;
}

/* The slot of a device's head: its application's strings are mostly one
 * per application in the registry's string pool, so their address spreads
 * the applications over the slots; the content decides a hit. */
static struct devevent_head *head_slot(struct devevent_heads *h, const struct ev_device *d,
				       unsigned k, unsigned v)
{
	uintptr_t a = (uintptr_t)d->application ^ (uintptr_t)d->application_id >> 3;
	size_t i = (size_t)((a >> 4) ^ (a >> 12) ^ k * 5u ^ v * 3u) % DEVEVENT_HEADS;

	return &h->slot[i];
}

/* out->head from the heads, written there first on a miss. */
static void fill_head(struct devevent_heads *h, struct ev_device *out, unsigned k, unsigned v)
{
	struct devevent_head *s = head_slot(h, out, k, v);

	if (!(s->used && s->dev_class == k && s->version == v && key_is(s->app_id, out->application_id) &&
	      key_is(s->app, out->application))) {
		h->misses++;
		s->used = false;
		if (!key_copy(s->app_id, out->application_id) || !key_copy(s->app, out->application) ||
		    event_json_device_head(out, s->text, sizeof(s->text), &s->len) != LB_OK)
			return;   /* too long to keep: written from the fields */
		s->dev_class = k;
		s->version = v;
		s->used = true;
	} else {
		h->hits++;
	}
	out->head = s->text;
	out->head_len = s->len;
}

void devevent_fill(struct ev_device *out, struct devevents *e, const struct lb_device *dev)
{
	unsigned v = dev->lorawan_version < DEVEVENT_VERSIONS ? dev->lorawan_version : 0;
	unsigned k = dev->dev_class == LB_CLASS_C ? LB_CLASS_C : LB_CLASS_A;

	(void)names_ready(e);   /* a failure is logged; the ids are then "" */
	memset(out, 0, sizeof(*out));
	out->tenant_id = e->names.tenant_id;
	out->tenant_name = DEVINFO_TENANT_NAME;
	out->application_id = devevent_app_id(e, dev);
	out->application = dev->prof->application;
	out->profile_id = e->names.profile_id[k][v];
	out->profile_name = e->names.profile_name[k][v];
	out->name = dev->name;
	out->dev_eui = dev->dev_eui;
	out->device_class = k == LB_CLASS_C ? DEVINFO_CLASS_C : DEVINFO_CLASS;
	out->tags = dev->tags;
	out->n_tags = dev->n_tags;
	if (e->heads)
		fill_head(e->heads, out, k, v);
}

int devevent_publish(struct devevents *e, const struct lb_device *dev, const char *event,
		     int built, const char *json, size_t len)
{
	return devevent_publish_facts(e, dev, event, built, json, len, NULL);
}

int devevent_publish_facts(struct devevents *e, const struct lb_device *dev,
			   const char *event, int built, const char *json, size_t len,
			   const struct publish_facts *facts)
{
	if (built != LB_OK) {
		LB_LOG_RL(LOG_LVL_WARN, "event", "device %s: %s event not built: %s", dev->name,
			  event, lb_strerror(built));
		return built;
	}
	int rc = publish_device_event(e->pub, dev->prof->application, devevent_app_id(e, dev),
				      dev->dev_eui, event, json, len, facts);
	if (rc != LB_OK)
		LB_LOG_RL(LOG_LVL_WARN, "event", "device %s: %s event not published: %s", dev->name,
			  event, lb_strerror(rc));
	return rc;
}

int devevent_publish_held(struct devevents *e, const struct lb_device *dev,
			  const char *event, int built, const char *json, size_t len,
			  uint64_t batch)
{
	if (built != LB_OK) {
		LB_LOG_RL(LOG_LVL_WARN, "event", "device %s: %s event not built: %s", dev->name,
			  event, lb_strerror(built));
		return built;
	}
	int rc = publish_device_event_held(e->pub, batch, dev->prof->application,
					   devevent_app_id(e, dev), dev->dev_eui, event, json, len,
					   NULL);
	if (rc != LB_OK)
		LB_LOG_RL(LOG_LVL_WARN, "event", "device %s: %s event not held: %s", dev->name,
			  event, lb_strerror(rc));
	return rc;
}

static void publish_log(struct devevents *e, const char *application, const char *application_id,
			uint64_t dev_eui, const struct ev_log *ev)
{
	char json[DEVEVENT_LOG_MAX];
	size_t len;

	int rc = event_json_log(ev, json, sizeof(json), &len);
	if (rc == LB_OK)
		rc = publish_device_event(e->pub, application, application_id, dev_eui, "log", json,
					  len, NULL);
	if (rc != LB_OK) {
		LB_LOG_RL(LOG_LVL_WARN, "event", "%016llx: %s log event not published: %s",
			  (unsigned long long)dev_eui, ev->code, lb_strerror(rc));
		return;
	}
	e->stats->log_events++;
}

void devevent_log_ctx(struct devevents *e, const struct lb_device *dev, const char *level,
		      const char *code, const char *description, const char *const *keys,
		      const char *const *values, size_t n)
{
	devevent_log_ctx_at(e, dev, loop_wall_us(), level, code, description, keys, values, n);
}

void devevent_log_ctx_at(struct devevents *e, const struct lb_device *dev, int64_t time_us,
			 const char *level, const char *code, const char *description,
			 const char *const *keys, const char *const *values, size_t n)
{
	struct ev_device d;

	devevent_fill(&d, e, dev);
	struct ev_log ev = {.dev = &d, .time_us = time_us, .level = level, .code = code,
			    .description = description, .context_keys = keys,
			    .context_values = values, .n_context = n};
	publish_log(e, dev->prof->application, d.application_id, dev->dev_eui, &ev);
}

void devevent_log_at(struct devevents *e, const struct lb_device *dev, int64_t time_us,
		     const char *level, const char *code, const char *description,
		     uint64_t gateway_eui)
{
	struct ev_device d;
	char gw[17];

	devevent_fill(&d, e, dev);
	hex_format_eui(gateway_eui, gw);
	struct ev_log ev = {.dev = &d, .time_us = time_us, .level = level, .code = code,
			    .description = description,
			    .context_keys = (const char *[]){"gatewayId"},
			    .context_values = (const char *[]){gw},
			    .n_context = gateway_eui ? 1 : 0};
	publish_log(e, dev->prof->application, d.application_id, dev->dev_eui, &ev);
}

void devevent_log(struct devevents *e, const struct lb_device *dev, const char *level,
		  const char *code, const char *description, uint64_t gateway_eui)
{
	devevent_log_at(e, dev, loop_wall_us(), level, code, description, gateway_eui);
}

void devevent_log_unknown(struct devevents *e, const char *application,
			  const char *application_id, uint64_t dev_eui, const char *level,
			  const char *code, const char *description)
{
	struct ev_log ev = {.time_us = loop_wall_us(), .level = level, .code = code,
			    .description = description};
	publish_log(e, application, application_id, dev_eui, &ev);
}
