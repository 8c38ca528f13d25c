/* SPDX-License-Identifier: MIT */
/*
 * config_report.h - the problems config_load() found, as a list the
 * caller owns: each with its file and line, in file order, printed as
 * "FILE:LINE: error: message" for --check-config. Recording them during a
 * load is config_problem.h.
 *
 * Ownership: a struct config_report owns its problems (file and message
 * strings); config_report_free() releases them and zeroes the struct.
 */
#ifndef LB_CONFIG_REPORT_H
#define LB_CONFIG_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* A problem found while loading: "FILE:LINE: message". */
struct config_problem {
	char *file;
	int line;
	bool is_error;                  /* false = warning (unknown key) */
	char *message;
};

struct config_report {
	struct config_problem *items;
	size_t n;
	size_t n_errors;
};

/* Print problems as "FILE:LINE: error: message" / "warning: ...", one a
 * line, in the order found ("FILE: error: ..." when there is no line). */
void config_report_print(const struct config_report *r, FILE *out);
void config_report_free(struct config_report *r);

#endif
