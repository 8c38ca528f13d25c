/* SPDX-License-Identifier: MIT */
/*
 * config_schema.h - internal to the config module: the schema tables that
 * drive parsing (config.c, config_value.c, config_device.c), validation,
 * defaults, config_print() and the reference documentation (config_print.c).
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

#include "config/config_types.h"

enum cs_type {
	CS_STRING,      /* char *; NULL only with CS_F_OPTIONAL */
	CS_INT,         /* int, checked against [min, max]; with CS_F_OPTIONAL
			 * the bool at has_offset says whether it is set */
	CS_U16,         /* uint16_t, checked against [min, max] */
	CS_BOOL,        /* bool */
	CS_GW_ALLOW,    /* struct lb_gw_allow * + size_t count: array/list of
			 * "EUI" or "EUI@ADDRESS[/PREFIX]" strings */
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
	size_t count_offset;            /* CS_GW_ALLOW: the size_t count field */
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
	CSD_FILE,       /* char *: a readable file, relative to the config file's
			 * directory, stored as an absolute path */
	CSD_BOOL,       /* bool; def_str "true" / "false" when absent */
	CSD_INT,        /* int in [min, max]; absent: def_int (an application may
			 * give its own, config_app.c) */
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
	long long def_int, min, max;    /* CSD_INT */
	unsigned flags;                 /* CSD_F_* */
	const char *help;
};

/* Names of enum lb_codec, NULL-terminated: devices[].codec, applications[].codec. */
extern const char *const config__codec_names[];
extern const char *const config__class_names[];

extern const struct csd_field config__device_fields[];
extern const size_t config__n_device_fields;

/* Index of the device field with this name, or -1. */
int config__device_field_find(const char *name);

#endif
