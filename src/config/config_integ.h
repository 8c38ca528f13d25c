/* SPDX-License-Identifier: MIT */
/*
 * config_integ.h - the `integrations` group of the configuration: where
 * device events go besides MQTT, over HTTP (daemon/integrations.h):
 *   integrations = {
 *     http = ( { url = "https://example.net/lorawan"; events = ["up", "join"];
 *                headers = { Authorization = "Bearer ..."; }; } );
 *     influxdb = ( { url = "http://127.0.0.1:8086"; database = "lorawan"; } );
 *   };
 * One table of fields drives parsing, config_print() (secrets redacted:
 * passwords, tokens, header values) and the reference rows.
 *
 * Errors: problems are reported to the load (config_problem.h), never
 * returned; running out of memory sets c->nomem. Ownership: the entries
 * belong to c->cfg (cfg->integs); config__integs_free() releases them.
 */
#ifndef LB_CONFIG_INTEG_H
#define LB_CONFIG_INTEG_H

#include <stdbool.h>
#include <stdio.h>

#include <libconfig.h>

#include "config/config_load_state.h"
#include "config/config_types.h"

/* The device events an HTTP integration may take (integrations.http[].events),
 * NULL-terminated; bit i of lb_integ_conf.events is the i-th. */
extern const char *const config_integ_event_names[];

/* The bit of event name `event` in lb_integ_conf.events, 0 if it is none. */
unsigned config_integ_event_bit(const char *event);

/* Parse the `integrations` group setting into c->cfg. */
void config__parse_integs(struct config__load *c, const config_setting_t *group);

void config__integs_free(struct lb_config *cfg);

/* Whether setting s of the file, read in an integration entry, holds a
 * credential: what config_print() redacts (a secret field, a header value,
 * a URL with a user:password@ or a query). */
bool config__integ_is_secret(const config_setting_t *s);

/* The `integrations = { ... };` part of config_print(). */
void config__print_integs(const struct lb_config *cfg, FILE *out, bool show_secrets);

/* The integrations' settings that differ between a and b, each path
 * ("integrations.http[0].url"; "integrations.http" when the number of
 * entries differs) given to note (config_diff.h). */
void config__integs_changed(const struct lb_config *a, const struct lb_config *b,
			    void (*note)(void *arg, const char *path), void *arg);

/* The integration entry rows of the reference. */
void config__integ_reference(FILE *out, enum config_ref_format format);

#endif
