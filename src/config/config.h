/* SPDX-License-Identifier: MIT */
/*
 * config.h - lorabridge configuration (libconfig file), driven by one schema
 * table (config_schema.c) that is the single source for parsing,
 * validation, defaults, --check-config, --print-config and the reference
 * documentation of every setting. The loader is config.c (settings) and
 * config_device.c (the `devices` list).
 *
 * Ownership: config_defaults()/config_load() fill a struct lb_config whose
 * strings and arrays are heap-allocated; config_free() releases them and
 * zeroes the struct. A struct config_report owns its problems;
 * config_report_free() releases them. Nothing is kept in globals.
 *
 * File conventions: relative paths of mqtt.ca_file/cert_file/key_file are
 * resolved against the directory of the configuration file (the stored
 * value is the resolved path); `@include "x.conf"` is also relative to it.
 * Problems are collected, never just the first: syntax errors (then
 * nothing else can be checked), wrong types, out-of-range values, malformed
 * hex, duplicate devices are errors; unknown settings are warnings.
 * Settings that depend on others are checked once the whole file is read:
 * downlink.rx1_dr_offset, rx2_dr and rx2_frequency against the region,
 * net_id's RFU bits against its type. A device's `fair_access` group
 * overrides single keys of the global one; config_load() resolves the
 * inheritance, so lb_device_conf.fair_access is always the policy to apply.
 *
 * Headers: this one declares what config.c defines (defaults, load, free)
 * and includes the rest of the API: config_types.h (the struct),
 * config_report.h (the problem list), config_print.h (--print-config and
 * the reference) and config_cflist.h (downlink.join_cflist).
 */
#ifndef LB_CONFIG_H
#define LB_CONFIG_H

#include "config/config_types.h"
#include "config/config_report.h"     /* the rest of the configuration's API */
#include "config/config_print.h"
#include "config/config_cflist.h"

/* Fill cfg with every default (no file); cfg->path stays NULL. Returns
 * LB_OK or LB_ERR_NOMEM (cfg is then freed and zeroed). */
int config_defaults(struct lb_config *cfg);

/*
 * Load and validate FILE into cfg (any previous content is overwritten, not
 * freed). Every problem is appended to `report` (may be NULL); warnings do
 * not fail the load. Returns LB_OK, LB_ERR_IO (a file missing or that this
 * user cannot read: an operator must act), LB_ERR_AGAIN (a read that may
 * work later: out of descriptors, an I/O error, ...), LB_ERR_CONFIG
 * (syntax or validation errors; cfg is then freed and zeroed) or
 * LB_ERR_NOMEM.
 */
int config_load(const char *path, struct lb_config *cfg, struct config_report *report);

/*
 * As config_load(), for --check-config: on LB_ERR_CONFIG cfg keeps what
 * was valid (the defaults for the rest), so that what it names (codec
 * scripts) can be checked too and every problem reported. The caller frees
 * it with config_free() then as well.
 */
int config_check(const char *path, struct lb_config *cfg, struct config_report *report);

/*
 * Adds a warning to report for each file of the configuration (path and
 * what it @includes) that holds keys or credentials (nwk_s_key, app_s_key,
 * app_key, nwk_key, password, token) and is readable by every user, or
 * writable by its group or every user: the file and line of its first
 * secret, its mode, and what to do (chmod 640, chgrp lorabridge). Reads
 * the file again; says nothing about a file that does not parse (the load
 * reported it). Separate from config_load() so that loading stays a
 * function of the text alone (fixtures of any mode). Returns LB_OK,
 * LB_ERR_INVAL (NULL) or LB_ERR_NOMEM.
 */
int config_warn_open_files(const char *path, struct config_report *report);

void config_free(struct lb_config *cfg);

/* Free only the device list (devices, n_devices = 0): a daemon that copied
 * it into its own table need not keep a second copy of every device. */
void config_free_devices(struct lb_config *cfg);

#endif
