/* SPDX-License-Identifier: MIT */
/*
 * config_device.h - the `devices` list of the configuration: parsing it
 * into struct lb_config (each entry checked against the device table of
 * the schema), the inheritance of the global fair_access keys, and the
 * device part of config_print() and of the reference.
 *
 * Errors: problems are reported to the load (config_problem.h), never
 * returned; running out of memory sets c->nomem. Ownership: the devices
 * belong to c->cfg (config_free() releases them).
 */
#ifndef LB_CONFIG_DEVICE_H
#define LB_CONFIG_DEVICE_H

#include <stdbool.h>
#include <stdio.h>

#include <libconfig.h>

#include "config/config_load_state.h"
#include "config/config_types.h"

/* Parse the `devices` list setting into c->cfg. */
void config__parse_devices(struct config__load *c, const config_setting_t *list);

/* After the whole file is read: fill the CSD_OVERRIDE values each device
 * did not set from the global settings. */
void config__devices_inherit(struct config__load *c);

/* The `devices = ( ... );` part of config_print(). */
void config__print_devices(const struct lb_config *cfg, FILE *out, bool show_secrets);

/* The device entry rows of the reference. */
void config__device_reference(FILE *out, enum config_ref_format format);

#endif
