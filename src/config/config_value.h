/* SPDX-License-Identifier: MIT */
/*
 * config_value.h - typed values of the parsed file, shared by the settings
 * (config.c) and the device entries (config_device.c): type names for
 * messages, integers as written in the file, hex strings, and numbers and
 * choices checked against a row of the schema; and whether two string
 * values are equal (what changed: config_diff.c, config_integ.c).
 *
 * Errors: a value that does not fit is reported as a problem of the load
 * (config_problem.h) and the call returns false. Ownership: values go into
 * the caller's variables; nothing is allocated, except by
 * config__resolve_file()/config__resolve_script() (the caller frees).
 */
#ifndef LB_CONFIG_VALUE_H
#define LB_CONFIG_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <libconfig.h>

#include "config/config_load_state.h"
#include "config/config_schema.h"

/* Two optional strings (NULL = absent) are equal: both absent, or the same
 * text. Inline so that config_integ.o and config_diff.o share it without a
 * link dependency. */
static inline bool config__str_same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* "an integer", "a string", ... for messages. */
const char *config__type_desc(const config_setting_t *s);

/* The string of setting s in *out (owned by the parsed file); false (and
 * reported as "LABEL: NAME: expected a string, got ...") if it is none. */
bool config__string_value(struct config__load *c, const config_setting_t *s, const char *label,
			  const char **out);

/* Replace *field (freed) with copy, which the field then owns; a NULL
 * copy (strdup() failed) sets c->nomem and leaves *field as it is. */
void config__take_string(struct config__load *c, char **field, char *copy);

/* Integer value of an INT or INT64 setting as written in the file. */
long long config__int_value(const struct config__load *c, const config_setting_t *s);

/* Decode a hex string setting into exactly n bytes; false (and reported
 * as "LABEL: ...") if it is not a string of 2n hex digits. */
bool config__parse_hex(struct config__load *c, const config_setting_t *s, const char *label,
		       uint8_t *out, size_t n);

/* Big-endian value of n <= 8 bytes. */
uint64_t config__be_value(const uint8_t *b, size_t n);

/*
 * Check setting s against entry e (CS_INT, CS_U16 or CS_CHOICE) and return
 * its value in *out (CS_CHOICE: the index of the choice). On a problem it
 * is reported as "PREFIXPATH: ..." (prefix "" or "device 'x': ") and false
 * is returned.
 */
bool config__parse_number(struct config__load *c, const struct cs_entry *e,
			  const config_setting_t *s, const char *prefix, long long *out);

/* Report that v, the value of setting s, is not one of e's choices:
 * "PREFIXPATH: 'v' is not one of a, b, c". */
void config__report_choices(struct config__load *c, const config_setting_t *s,
			    const struct cs_entry *e, const char *prefix, const char *v);

/*
 * A file named by setting s (path = its name in messages): v as written,
 * relative to the configuration file's directory unless absolute. The
 * absolute path (the caller frees it), or NULL after reporting why it is
 * not a readable regular file (or setting c->nomem).
 */
char *config__resolve_file(struct config__load *c, const config_setting_t *s, const char *path,
			   const char *v);

/*
 * The same for a codec script, which is the daemon's to load: a file that
 * cannot be read now is a warning, not an error (the daemon runs, reports
 * each uplink of its devices, and reads it again on SIGHUP; --check-config
 * compiles the scripts and fails on it). NULL only when v is empty (an
 * error) or memory runs out.
 */
char *config__resolve_script(struct config__load *c, const config_setting_t *s, const char *path,
			     const char *v);

#endif
