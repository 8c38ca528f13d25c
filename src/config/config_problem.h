/* SPDX-License-Identifier: MIT */
/*
 * config_problem.h - recording the problems of one load into its report
 * (config_report.h): each with the file and line of the setting (or an
 * explicit file and line), counted as error or warning, and sorted into
 * file order at the end of the load.
 *
 * Errors: none returned; running out of memory sets c->nomem (config_load()
 * then fails with LB_ERR_NOMEM). Ownership: the problems belong to
 * c->report.
 */
#ifndef LB_CONFIG_PROBLEM_H
#define LB_CONFIG_PROBLEM_H

#include <stdbool.h>
#include <stddef.h>

#include <libconfig.h>

#include "config/config_load_state.h"
#include "config/config_report.h"

/* Record a problem located at setting s (NULL: the file as a whole). */
void config__problem(struct config__load *c, const config_setting_t *s, bool is_error,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Problems with an explicit file and line (syntax errors come from
 * libconfig that way), the file name as the user knows it (*full, if set,
 * is freed by the caller), and file order. */
void config__report_at(struct config__load *c, const char *file, int line, bool is_error,
		       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
const char *config__source_name(const struct config__load *c, const char *file, char **full);
void config__sort_problems(struct config_report *r, size_t first, const char *main_file);

#define error_at(c, s, ...) config__problem((c), (s), true, __VA_ARGS__)
#define warn_at(c, s, ...) config__problem((c), (s), false, __VA_ARGS__)

#endif
