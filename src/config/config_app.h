/* SPDX-License-Identifier: MIT */
/*
 * config_app.h - the `applications` list of the configuration: defaults
 * the devices of one application inherit (its id, its payload codec, its
 * LoRaWAN class) unless
 * a device sets its own, e.g.
 *   applications = ( { name = "building"; codec = "js"; codec_script = "codecs/th.js"; } );
 * and the rules that span both lists (a "js" codec needs a script, own or
 * inherited). Also its part of config_print() and of the reference.
 *
 * Errors: problems are reported to the load (config_problem.h), never
 * returned; running out of memory sets c->nomem. Ownership: the entries
 * belong to c->cfg; config__apps_free() releases them.
 */
#ifndef LB_CONFIG_APP_H
#define LB_CONFIG_APP_H

#include <stdbool.h>
#include <stdio.h>

#include <libconfig.h>

#include "config/config_load_state.h"
#include "config/config_types.h"

/* Parse the `applications` list setting into c->cfg. */
void config__parse_apps(struct config__load *c, const config_setting_t *list);

/* After the whole file is read: each device takes its application's id,
 * codec, codec_script and class where it set none; then the codec rules. */
void config__apps_inherit(struct config__load *c);

void config__apps_free(struct lb_config *cfg);

/* The `applications = ( ... );` part of config_print(). */
void config__print_apps(const struct lb_config *cfg, FILE *out);

/* The application entry rows of the reference. */
void config__app_reference(FILE *out, enum config_ref_format format);

#endif
