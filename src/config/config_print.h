/* SPDX-License-Identifier: MIT */
/*
 * config_print.h - the schema tables turned into text: the effective
 * configuration (config_print(), re-loadable) and the reference of every
 * setting for the README and lorabridge.conf(5).
 *
 * Errors: none; output goes to the caller's stream. Ownership: nothing is
 * allocated or kept.
 */
#ifndef LB_CONFIG_PRINT_H
#define LB_CONFIG_PRINT_H

#include <stdbool.h>
#include <stdio.h>

#include "config/config_types.h"

/* Print the effective configuration, every setting with its value, in
 * libconfig syntax that config_load() reads back (settings that are not set
 * are printed as comments). Secrets (mqtt.password, device keys) are
 * printed as "<redacted>" unless show_secrets; such output is for display
 * only and only the show_secrets form round-trips. */
void config_print(const struct lb_config *cfg, FILE *out, bool show_secrets);

/* Print the reference of every setting and of the device entry fields,
 * generated from the schema tables (type, default, allowed range). */
void config_schema_print_reference(FILE *out, enum config_ref_format format);

#endif
