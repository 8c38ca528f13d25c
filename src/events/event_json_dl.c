/* SPDX-License-Identifier: MIT */
/*
 * event_json_dl.c - device events of the downlink side: `join`, `ack` and
 * `txack`, in ChirpStack v4's integration JSON shape (camelCase). Pure, like
 * the rest of event_json (see event_json.h).
 */
#include "events/event_json.h"

#include <json-c/json.h>

#include "events/event_json_int.h"
#include "base/lb_err.h"

static void add_device(struct json_object *o, const struct ev_device *dev, int *err)
{
	struct json_object *sub = NULL;
	int rc = event_json_device_info(dev, &sub);
	event_json__add_built(o, "deviceInfo", rc, sub, err);
}

static struct json_object *hex32(uint32_t v)
{
	char s[9];
	static const char hexd[] = "0123456789abcdef";
	for (int i = 0; i < 8; i++)
		s[i] = hexd[(v >> (28 - 4 * i)) & 0x0f];
	s[8] = '\0';
	return json_object_new_string(s);
}

int event_json_join(const struct ev_join *ev, char *out, size_t cap, size_t *len)
{
	int err = LB_OK;

	if (!ev || !ev->dev || !out || !len)
		return LB_ERR_INVAL;
	struct json_object *o = json_object_new_object();
	if (!o)
		return LB_ERR_NOMEM;
	event_json__add(o, "deduplicationId", event_json__uuid(ev->dedup_id), &err);
	event_json__add_time(o, "time", ev->time_us, &err);
	add_device(o, ev->dev, &err);
	event_json__add(o, "devAddr", hex32(ev->dev_addr), &err);
	return event_json__finish(o, err, out, cap, len);
}

int event_json_ack(const struct ev_ack *ev, char *out, size_t cap, size_t *len)
{
	int err = LB_OK;

	if (!ev || !ev->dev || !out || !len)
		return LB_ERR_INVAL;
	struct json_object *o = json_object_new_object();
	if (!o)
		return LB_ERR_NOMEM;
	event_json__add_time(o, "time", ev->time_us, &err);
	add_device(o, ev->dev, &err);
	event_json__add(o, "queueItemId", event_json__string(ev->queue_item_id), &err);
	event_json__add(o, "acknowledged", json_object_new_boolean(ev->acknowledged), &err);
	event_json__add(o, "fCntDown", json_object_new_int64(ev->fcnt_down), &err);
	return event_json__finish(o, err, out, cap, len);
}

static struct json_object *attempts_json(const struct ev_txack *ev, int *err)
{
	struct json_object *a = json_object_new_array();
	if (!a)
		return NULL;
	for (size_t i = 0; i < ev->n_attempts; i++) {
		const struct ev_txack_attempt *at = &ev->attempts[i];
		struct json_object *o = json_object_new_object();
		if (!o) {
			*err = LB_ERR_NOMEM;
			break;
		}
		event_json__add(o, "window", event_json__string(at->window), err);
		event_json__add(o, "status", event_json__string(at->status), err);
		event_json__add(o, "frequency", json_object_new_int64(at->frequency), err);
		if (at->dr >= 0)
			event_json__add(o, "dr", json_object_new_int(at->dr), err);
		if (json_object_array_add(a, o) != 0) {
			json_object_put(o);
			*err = LB_ERR_NOMEM;
		}
	}
	return a;
}

int event_json_txack(const struct ev_txack *ev, char *out, size_t cap, size_t *len)
{
	int err = LB_OK;

	if (!ev || !ev->dev || !ev->downlink_id || !out || !len)
		return LB_ERR_INVAL;
	struct json_object *o = json_object_new_object();
	if (!o)
		return LB_ERR_NOMEM;
	event_json__add(o, "downlinkId", event_json__uuid(ev->downlink_id), &err);
	event_json__add_time(o, "time", ev->time_us, &err);
	add_device(o, ev->dev, &err);
	if (ev->queue_item_id)
		event_json__add(o, "queueItemId", event_json__string(ev->queue_item_id), &err);
	event_json__add(o, "fCntDown", json_object_new_int64(ev->fcnt_down), &err);
	event_json__add(o, "gatewayId", event_json__eui(ev->gateway_eui), &err);
	event_json__add(o, "sent", json_object_new_boolean(ev->sent), &err);
	event_json__add(o, "attempts", attempts_json(ev, &err), &err);
	return event_json__finish(o, err, out, cap, len);
}
