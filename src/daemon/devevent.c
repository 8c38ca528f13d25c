/* devevent.c - deviceInfo and `log` events. See devevent.h. */
#include "daemon/devevent.h"

#include <string.h>

#include "daemon/bridge.h"
#include "base/hex.h"
#include "base/lb_err.h"
#include "base/log.h"

void devevent_fill(struct ev_device *out, const struct lb_device *dev)
{
	out->application = dev->application;
	out->name = dev->name;
	out->dev_eui = dev->dev_eui;
	out->tags = dev->tags;
	out->n_tags = dev->n_tags;
}

int devevent_publish(struct bridge *b, const struct lb_device *dev, const char *event)
{
	size_t len = strlen(b->event);
	int rc = publish_device_event(&b->pub, dev->application, dev->dev_eui, event, b->event, len);
	if (rc != LB_OK)
		LB_LOG_RL(LOG_LVL_WARN, "event", "device %s: %s event not published: %s", dev->name,
			  event, lb_strerror(rc));
	return rc;
}

void devevent_log(struct bridge *b, const struct lb_device *dev, const char *level,
		  const char *code, const char *description, uint64_t gateway_eui)
{
	struct ev_device d;
	char gw[17];
	size_t len;

	devevent_fill(&d, dev);
	hex_format_eui(gateway_eui, gw);
	struct ev_log ev = {.dev = &d, .time_us = loop_wall_us(), .level = level, .code = code,
			    .description = description,
			    .context_keys = (const char *[]){"gatewayId"},
			    .context_values = (const char *[]){gw},
			    .n_context = gateway_eui ? 1 : 0};
	int rc = event_json_log(&ev, b->event, sizeof(b->event), &len);
	if (rc != LB_OK) {
		LB_LOG_RL(LOG_LVL_WARN, "event", "log event not built: %s", lb_strerror(rc));
		return;
	}
	if (publish_device_event(&b->pub, dev->application, dev->dev_eui, "log", b->event, len) ==
	    LB_OK)
		b->stats.log_events++;
}
