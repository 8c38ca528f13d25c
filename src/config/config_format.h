/* SPDX-License-Identifier: MIT */
/*
 * config_format.h - text pieces shared by config_print() (config_print.c)
 * and its device part (config_device.c): a libconfig string literal, the
 * value of an int setting, and one row of the settings reference.
 *
 * Errors: none; output goes to the caller's stream. Ownership: nothing is
 * allocated or kept.
 */
#ifndef LB_CONFIG_FORMAT_H
#define LB_CONFIG_FORMAT_H

#include <stdio.h>

#include "config/config_schema.h"
#include "config/config_types.h"

/* Print s as a libconfig string literal with quotes and escapes. */
void config__print_string(FILE *out, const char *s);

/* Print the value of an int member of schema entry e (CS_INT: the number,
 * CS_CHOICE: the quoted choice). */
void config__print_int_value(FILE *out, const struct cs_entry *e, int v);

/* One row of the reference; def "" = no default. */
void config__ref_row(FILE *out, enum config_ref_format format, const char *setting,
		     const char *type, const char *def, const char *desc);

#endif
