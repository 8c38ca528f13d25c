/*
 * config_schema.h - internal to the config module (config.c,
 * config_device.c, config_schema.c): the schema tables that drive parsing,
 * validation, defaults, config_print() and the reference documentation,
 * and the loader state shared by config.c and config_device.c.
 *
 * One row per setting: its path in the file, its type,
 * its default, its validation (range, choice list, custom check) and its
 * help text, plus where the value lives in struct lb_config. Device list
 * entries have their own small table of the same shape.
 */
#ifndef LB_CONFIG_SCHEMA_H
#define LB_CONFIG_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <libconfig.h>

#include "config/config.h"

enum cs_type {
	CS_STRING,      /* char *; NULL only with CS_F_OPTIONAL */
	CS_INT,         /* int, checked against [min, max]; with CS_F_OPTIONAL
			 * the bool at has_offset says whether it is set */
	CS_U16,         /* uint16_t, checked against [min, max] */
	CS_BOOL,        /* bool */
	CS_EUI_LIST,    /* uint64_t * + size_t count: array/list of 16-hex strings */
	CS_HEX,         /* uint32_t written as a string of 2 * hex_bytes hex digits */
	CS_CHOICE       /* int: index of the string value in choices */
};

#define CS_F_OPTIONAL 0x01u     /* may be absent: string NULL / int not set, no default */
#define CS_F_SECRET 0x02u       /* redacted by config_print() */
#define CS_F_FILE 0x04u         /* readable file, relative to the config file's dir */

/* Custom check of a string value: true if acceptable, otherwise a reason
 * (without the setting name) in why. */
typedef bool (*cs_check_fn)(const char *value, char *why, size_t cap);

/* The same for a number (CS_HEX), after the format and range checks. */
typedef bool (*cs_icheck_fn)(long long value, char *why, size_t cap);

struct cs_entry {
	const char *path;               /* "mqtt.port" */
	enum cs_type type;
	size_t offset;                  /* of the field in struct lb_config */
	size_t count_offset;            /* CS_EUI_LIST: the size_t count field */
	size_t has_offset;              /* optional CS_INT: the bool "set" field */
	const char *def_str;            /* CS_STRING default (NULL: unset) */
	long long def_int;              /* CS_INT, CS_U16, CS_BOOL, CS_HEX default;
					 * CS_CHOICE: index of the default */
	long long min, max;             /* CS_INT, CS_U16 inclusive range */
	unsigned hex_bytes;             /* CS_HEX: 1..4 */
	const char *const *choices;     /* CS_STRING, CS_CHOICE: NULL-terminated allowed values */
	cs_check_fn check;              /* CS_STRING: extra validation */
	cs_icheck_fn icheck;            /* CS_HEX: extra validation */
	unsigned flags;                 /* CS_F_* */
	const char *help;
};

extern const struct cs_entry config__schema[];
extern const size_t config__n_schema;

/* Index of the entry with this exact path, or -1. */
int config__schema_find(const char *path);

/* True if path names a group that holds schema entries ("udp", "mqtt.topics"). */
bool config__schema_is_group(const char *path);

/* The fields of one `devices` entry. */
enum csd_type {
	CSD_STRING,     /* char * */
	CSD_EUI,        /* uint64_t from 16 hex characters */
	CSD_ADDR,       /* uint32_t from 8 hex characters */
	CSD_KEY,        /* uint8_t[16] from 32 hex characters */
	CSD_U32,        /* uint32_t from a non-negative integer; sets has_offset */
	CSD_TAGS,       /* group of string values -> tags[] / n_tags */
	CSD_CHOICE,     /* int: index of the string value in choices */
	CSD_OVERRIDE    /* group overriding keys of the global schema group `name`:
			 * values at offset (a struct laid out like the global one at
			 * cfg_offset, int members only), the unsigned bit mask of
			 * the keys set at has_offset */
};

#define CSD_F_REQUIRED 0x01u
#define CSD_F_SECRET 0x02u
#define CSD_F_ABP 0x04u         /* part of the ABP key set */
#define CSD_F_OTAA 0x08u        /* part of the OTAA key set */

struct csd_field {
	const char *name;
	enum csd_type type;
	size_t offset;                  /* in struct lb_device_conf */
	size_t has_offset;              /* CSD_U32: the bool "present" field;
					 * CSD_OVERRIDE: the unsigned mask */
	size_t cfg_offset;              /* CSD_OVERRIDE: the global struct in lb_config */
	const char *def_str;            /* CSD_STRING, CSD_CHOICE default */
	const char *const *choices;     /* CSD_CHOICE: NULL-terminated allowed values */
	cs_check_fn check;              /* CSD_STRING: extra validation */
	unsigned flags;                 /* CSD_F_* */
	const char *help;
};

extern const struct csd_field config__device_fields[];
extern const size_t config__n_device_fields;

/* Index of the device field with this name, or -1. */
int config__device_field_find(const char *name);

/* Print s as a libconfig string literal with quotes and escapes. */
void config__print_string(FILE *out, const char *s);

/* Print the value of an int member of schema entry e (CS_INT: the number,
 * CS_CHOICE: the quoted choice). */
void config__print_int_value(FILE *out, const struct cs_entry *e, int v);

/* The `devices = ( ... );` part of config_print() (config_device.c). */
void config__print_devices(const struct lb_config *cfg, FILE *out, bool show_secrets);

/* One row of the reference (config_schema.c); def "" = no default. */
void config__ref_row(FILE *out, enum config_ref_format format, const char *setting,
		     const char *type, const char *def, const char *desc);

/* The device entry rows of the reference (config_device.c). */
void config__device_reference(FILE *out, enum config_ref_format format);

/* --- loader state (config.c) ------------------------------------------- */

struct config__load {
	const char *path;               /* as given to config_load() */
	char *dir;                      /* absolute directory of path */
	char *text;                     /* the main file, see config__int_value() */
	size_t *line_start;             /* offsets of each line in text */
	size_t n_lines;
	struct config_report *report;
	size_t first_problem;           /* report->n when this load started */
	size_t n_errors;                /* errors found by this load */
	bool nomem;
	struct lb_config *cfg;
	const config_setting_t **where; /* per schema entry: its setting, if present */
};

/* Record a problem located at setting s (NULL: the file as a whole). */
void config__problem(struct config__load *c, const config_setting_t *s, bool is_error,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* config_report.c: problems with an explicit file and line (syntax errors
 * come from libconfig that way), the file name as the user knows it
 * (*full, if set, is freed by the caller), and file order. */
void config__report_at(struct config__load *c, const char *file, int line, bool is_error,
		       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
const char *config__source_name(const struct config__load *c, const char *file, char **full);
void config__sort_problems(struct config_report *r, size_t first, const char *main_file);

#define error_at(c, s, ...) config__problem((c), (s), true, __VA_ARGS__)
#define warn_at(c, s, ...) config__problem((c), (s), false, __VA_ARGS__)

/* "an integer", "a string", ... for messages. */
const char *config__type_desc(const config_setting_t *s);

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
bool config__parse_number(struct config__load *c, const struct cs_entry *e, const config_setting_t *s,
			  const char *prefix, long long *out);

/* Parse the `devices` list setting into c->cfg (config_device.c). */
void config__parse_devices(struct config__load *c, const config_setting_t *list);

/* After the whole file is read: fill the CSD_OVERRIDE values each device
 * did not set from the global settings (config_device.c). */
void config__devices_inherit(struct config__load *c);

#endif
