/* SPDX-License-Identifier: MIT */
/*
 * config_load_state.h - the state of one config_load() run, shared by the
 * modules that parse the file (config.c, config_device.c, config_value.c)
 * and the one that records its problems (config_problem.c). Plain data, no
 * functions.
 *
 * Ownership: config_load() allocates and frees text, line_start, dir and
 * where; cfg and report are what its caller passed in (report is a local
 * one when the caller passes NULL).
 */
#ifndef LB_CONFIG_LOAD_STATE_H
#define LB_CONFIG_LOAD_STATE_H

#include <stdbool.h>
#include <stddef.h>

#include <libconfig.h>

#include "config/config_report.h"
#include "config/config_types.h"

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

#endif
