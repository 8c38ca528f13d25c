/* SPDX-License-Identifier: MIT */
/*
 * config_diff.h - which settings differ between two loaded configurations:
 * a SIGHUP takes over only the devices and the applications (with the
 * global groups the devices inherit, e.g. fair_access: CSD_OVERRIDE in
 * config_schema.h), so the daemon names the rest that changed, as needing
 * a restart. Driven by the schema tables (config_schema.h, and the
 * integrations' own in config_integ.c), so a new setting is compared
 * without code here. Only paths are written, never values (some are
 * secrets).
 */
#ifndef LB_CONFIG_DIFF_H
#define LB_CONFIG_DIFF_H

#include <stddef.h>

#include "config/config_types.h"

/* The paths of the settings (all but devices, applications and the groups
 * the devices inherit) that differ between a and b, e.g. "mqtt.client_id,
 * integrations.http[0].url", written to out (cap > 0; cut with "..." when
 * it does not fit). Returns how many differ. */
size_t config_restart_changes(const struct lb_config *a, const struct lb_config *b, char *out,
			      size_t cap);

#endif
