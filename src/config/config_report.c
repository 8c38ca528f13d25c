/* SPDX-License-Identifier: MIT */
/*
 * config_report.c - the list of problems config_load() finds, printed as
 * "FILE:LINE: error: message" for --check-config, and released. The
 * problems are recorded (and sorted into file order) by config_problem.c.
 */
#include "config/config_report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void config_report_print(const struct config_report *r, FILE *out)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct config_problem *p = &r->items[i];
		const char *kind = p->is_error ? "error" : "warning";
		if (p->line > 0)
			fprintf(out, "%s:%d: %s: %s\n", p->file, p->line, kind, p->message);
		else
			fprintf(out, "%s: %s: %s\n", p->file, kind, p->message);
	}
}

void config_report_free(struct config_report *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->items[i].file);
		free(r->items[i].message);
	}
	free(r->items);
	memset(r, 0, sizeof(*r));
}
