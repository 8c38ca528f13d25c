/* SPDX-License-Identifier: MIT */
/* publish.c - topic expansion and hand-over to MQTT. See publish.h. */
#include "daemon/publish.h"

#include <string.h>

#include "base/hex.h"
#include "base/lb_err.h"
#include "base/log.h"
#include "events/event_json.h"

static int compile_one(struct topic_tpl *t, const char *prefix, const char *tpl, unsigned vars,
		       const char *what)
{
	char err[160];
	int rc = topic_compile(t, prefix, tpl, vars, err, sizeof(err));
	if (rc != LB_OK)
		log_error("publish", "topic template %s '%s': %s", what, tpl, err);
	return rc;
}

int publish_init(struct publisher *p, const struct lb_config *cfg, const struct publish_sink *sink)
{
	const char *pre = cfg->mqtt_topic_prefix ? cfg->mqtt_topic_prefix : "";

	memset(p, 0, sizeof(*p));
	p->sink = *sink;
	p->qos = cfg->mqtt_qos;
	p->client_id = cfg->mqtt_client_id;
	if (compile_one(&p->device_event, pre, cfg->mqtt_topic_device_event,
			TOPIC_ALLOW_DEVICE_EVENT, "mqtt.topics.device_event") != LB_OK ||
	    compile_one(&p->gateway_event, pre, cfg->mqtt_topic_gateway_event,
			TOPIC_ALLOW_GATEWAY_EVENT, "mqtt.topics.gateway_event") != LB_OK ||
	    compile_one(&p->gateway_state, pre, cfg->mqtt_topic_gateway_state,
			TOPIC_ALLOW_GATEWAY_STATE, "mqtt.topics.gateway_state") != LB_OK ||
	    compile_one(&p->bridge, pre, cfg->mqtt_topic_bridge, TOPIC_ALLOW_BRIDGE,
			"mqtt.topics.bridge") != LB_OK ||
	    compile_one(&p->device_command, pre, cfg->mqtt_topic_device_command,
			TOPIC_ALLOW_DEVICE_COMMAND, "mqtt.topics.device_command") != LB_OK ||
	    compile_one(&p->device_state, pre, cfg->mqtt_topic_device_state,
			TOPIC_ALLOW_DEVICE_STATE, "mqtt.topics.device_state") != LB_OK ||
	    compile_one(&p->device_field, pre, cfg->mqtt_topic_device_field,
			TOPIC_ALLOW_DEVICE_FIELD, "mqtt.topics.device_field") != LB_OK) {
		publish_free(p);
		return LB_ERR_CONFIG;
	}
	return LB_OK;
}

void publish_free(struct publisher *p)
{
	topic_free(&p->device_command);
	topic_free(&p->device_state);
	topic_free(&p->device_field);
	topic_free(&p->device_event);
	topic_free(&p->gateway_event);
	topic_free(&p->gateway_state);
	topic_free(&p->bridge);
}

/* A device's topic values; the caller adds its event, state or field. */
static struct topic_vars device_vars(const char *application, const char *application_id,
				     const char *eui)
{
	return (struct topic_vars){.application = application, .application_id = application_id,
				   .dev_eui = eui};
}

/* Does topic match the template with {event} = "up"? A value is non-empty
 * and never holds '/' (topic_expand() refuses that), so it ends within its
 * level. Positions reachable after each segment are kept in a set, so a
 * level of several placeholders costs its length times theirs, never the
 * backtracking of every split (a template with six placeholders in a level
 * took seconds that way). */
bool publish_is_device_up(const struct publisher *p, const char *topic)
{
	const struct topic_tpl *t = &p->device_event;
	bool a[PUBLISH_TOPIC_MAX + 1], b[PUBLISH_TOPIC_MAX + 1];
	bool *cur = a, *next = b;
	size_t n = strlen(topic);

	if (n > PUBLISH_TOPIC_MAX)
		return false;
	memset(cur, 0, n + 1);
	cur[0] = true;
	for (size_t i = 0; i < t->n_seg; i++) {
		const struct topic_seg *g = &t->seg[i];
		bool any = false;
		memset(next, 0, n + 1);
		for (size_t pos = 0; pos <= n; pos++) {
			if (!cur[pos])
				continue;
			const char *s = topic + pos;
			if (g->var == TOPIC_VAR_NONE) {
				if (g->len <= n - pos && !memcmp(s, t->text + g->off, g->len))
					any = next[pos + g->len] = true;
			} else if (g->var == TOPIC_VAR_EVENT) {
				if (!strncmp(s, "up", 2))
					any = next[pos + 2] = true;
			} else {
				size_t level = strcspn(s, "/");
				for (size_t k = 1; k <= level; k++)
					any = next[pos + k] = true;
			}
		}
		if (!any)
			return false;
		bool *tmp = cur;
		cur = next;
		next = tmp;
	}
	return cur[n];
}

void publish_set_tap(struct publisher *p, const struct publish_tap *tap)
{
	p->tap = *tap;
}

static void tap_device(struct publisher *p, const char *application, uint64_t dev_eui,
		       const char *event, const char *json, size_t len,
		       const struct publish_facts *facts)
{
	if (p->tap.device_event)
		p->tap.device_event(p->tap.arg, application, dev_eui, event, json, len, facts);
}

static int send_expanded(struct publisher *p, const struct topic_tpl *t, const struct topic_vars *v,
			 const char *json, size_t len, bool retain)
{
	int rc = topic_expand(t, v, p->topic, sizeof(p->topic));
	if (rc != LB_OK) {
		LB_LOG_RL(LOG_LVL_WARN, "publish", "cannot build topic (%s): event not published",
			  lb_strerror(rc));
		return rc;
	}
	return p->sink.publish(p->sink.arg, p->topic, json, len, p->qos, retain);
}

int publish_device_event(struct publisher *p, const char *application,
			 const char *application_id, uint64_t dev_eui, const char *event,
			 const char *json, size_t len, const struct publish_facts *facts)
{
	char eui[17];
	hex_format_eui(dev_eui, eui);
	struct topic_vars v = device_vars(application, application_id, eui);
	v.event = event;
	tap_device(p, application, dev_eui, event, json, len, facts);
	return send_expanded(p, &p->device_event, &v, json, len, false);
}

int publish_gateway_event(struct publisher *p, uint64_t gateway_eui, const char *event,
			  const char *json, size_t len)
{
	char eui[17];
	hex_format_eui(gateway_eui, eui);
	struct topic_vars v = {.gateway_id = eui, .event = event};
	if (p->tap.gateway_event)
		p->tap.gateway_event(p->tap.arg, gateway_eui, event, json, len);
	return send_expanded(p, &p->gateway_event, &v, json, len, false);
}

int publish_gateway_up(struct publisher *p, const struct lb_rx *rx)
{
	char json[PUBLISH_GATEWAY_UP_MAX];
	size_t len;

	int rc = event_json_gateway_up(rx, json, sizeof(json), &len);
	if (rc != LB_OK) {
		LB_LOG_RL(LOG_LVL_WARN, "publish", "gateway up event not built: %s", lb_strerror(rc));
		return rc;
	}
	return publish_gateway_event(p, rx->gateway_eui, "up", json, len);
}

int publish_gateway_state(struct publisher *p, uint64_t gateway_eui, const char *json, size_t len)
{
	char eui[17];
	hex_format_eui(gateway_eui, eui);
	struct topic_vars v = {.gateway_id = eui, .state = "conn"};
	if (p->tap.gateway_event)
		p->tap.gateway_event(p->tap.arg, gateway_eui, "conn", json, len);
	return send_expanded(p, &p->gateway_state, &v, json, len, true);
}

int publish_bridge_topic(struct publisher *p, const char *event, char *out, size_t cap)
{
	struct topic_vars v = {.client_id = p->client_id, .event = event};
	return topic_expand(&p->bridge, &v, out, cap);
}

int publish_bridge(struct publisher *p, const char *event, const char *payload, size_t len,
		   bool retain)
{
	struct topic_vars v = {.client_id = p->client_id, .event = event};
	if (p->tap.bridge_event)
		p->tap.bridge_event(p->tap.arg, event, payload, len);
	return send_expanded(p, &p->bridge, &v, payload, len, retain);
}

int publish_device_event_held(struct publisher *p, uint64_t batch, const char *application,
			      const char *application_id, uint64_t dev_eui, const char *event,
			      const char *json, size_t len, const struct publish_facts *facts)
{
	char eui[17];
	hex_format_eui(dev_eui, eui);
	struct topic_vars v = device_vars(application, application_id, eui);
	v.event = event;
	tap_device(p, application, dev_eui, event, json, len, facts);
	int rc = topic_expand(&p->device_event, &v, p->topic, sizeof(p->topic));
	if (rc != LB_OK)
		return rc;
	return p->sink.hold(p->sink.arg, batch, dev_eui, p->topic, json, len, p->qos,
			    !strcmp(event, "up"));
}

int publish_command_filter(struct publisher *p, char *out, size_t cap)
{
	struct topic_vars v = {.command = "down"};
	return topic_filter(&p->device_command, &v, out, cap);
}

int publish_device_state(struct publisher *p, const char *application,
			 const char *application_id, uint64_t dev_eui, const char *state,
			 const char *json, size_t len)
{
	char eui[17];
	hex_format_eui(dev_eui, eui);
	struct topic_vars v = device_vars(application, application_id, eui);
	v.state = state;
	return send_expanded(p, &p->device_state, &v, json, len, true);
}

int publish_gateway_conn(struct publisher *p, uint64_t gateway_eui, bool online)
{
	char json[128];
	size_t len;

	int rc = event_json_gateway_conn(gateway_eui, online, json, sizeof(json), &len);
	if (rc == LB_OK)
		rc = publish_gateway_state(p, gateway_eui, json, len);
	if (rc != LB_OK)
		LB_LOG_RL(LOG_LVL_WARN, "publish", "gateway %016llx: state %s not published: %s",
			  (unsigned long long)gateway_eui, online ? "ONLINE" : "OFFLINE",
			  lb_strerror(rc));
	return rc;
}

int publish_gateway_conn_clear(struct publisher *p, uint64_t gateway_eui)
{
	int rc = publish_gateway_state(p, gateway_eui, "", 0);
	if (rc != LB_OK)
		LB_LOG_RL(LOG_LVL_WARN, "publish", "gateway %016llx: state not cleared: %s",
			  (unsigned long long)gateway_eui, lb_strerror(rc));
	return rc;
}

int publish_field_filter(const struct publisher *p, char *out, size_t cap)
{
	struct topic_vars v = {0};
	return topic_filter(&p->device_field, &v, out, cap);
}

int publish_match_field(const struct publisher *p, const char *topic, struct topic_match *m)
{
	return topic_match(&p->device_field, topic, m) == LB_OK ? LB_OK : LB_ERR_NOT_FOUND;
}

int publish_match_command(const struct publisher *p, const char *topic, struct topic_match *m)
{
	return topic_match(&p->device_command, topic, m) == LB_OK ? LB_OK : LB_ERR_NOT_FOUND;
}

int publish_device_field(struct publisher *p, const char *application,
			 const char *application_id, uint64_t dev_eui, const char *field,
			 const char *payload, size_t len)
{
	char eui[17];
	hex_format_eui(dev_eui, eui);
	struct topic_vars v = device_vars(application, application_id, eui);
	v.field = field;
	return send_expanded(p, &p->device_field, &v, payload, len, true);
}

int publish_device_event_topic(const struct publisher *p, const char *application,
			       const char *application_id, uint64_t dev_eui, const char *event,
			       char *out, size_t cap)
{
	char eui[17];
	hex_format_eui(dev_eui, eui);
	struct topic_vars v = device_vars(application, application_id, eui);
	v.event = event;
	return topic_expand(&p->device_event, &v, out, cap);
}

int publish_raw(struct publisher *p, const char *topic, const char *payload, size_t len,
		bool retain)
{
	return p->sink.publish(p->sink.arg, topic, payload, len, p->qos, retain);
}
