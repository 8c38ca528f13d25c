/* SPDX-License-Identifier: MIT */
/*
 * config_problem.c - the problems config_load() finds: each recorded with
 * its file and line into the caller's report (config_report.c prints it),
 * then sorted into file order.
 */
#include "config/config_problem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

/* --- the problem report -------------------------------------------------- */

static void report_add(struct config__load *c, const char *file, int line, bool is_error,
		       const char *fmt, va_list ap)
{
	struct config_report *r = c->report;
	struct config_problem *items = realloc(r->items, (r->n + 1) * sizeof(*items));
	if (!items) {
		c->nomem = true;
		return;
	}
	r->items = items;
	struct config_problem *p = &items[r->n];
	p->file = strdup(file);
	p->line = line;
	p->is_error = is_error;
	if (vasprintf(&p->message, fmt, ap) < 0)
		p->message = NULL;
	if (!p->file || !p->message) {
		free(p->file);
		free(p->message);
		c->nomem = true;
		return;
	}
	r->n++;
	if (is_error) {
		r->n_errors++;
		c->n_errors++;
	}
}

__attribute__((format(printf, 5, 6)))
void config__report_at(struct config__load *c, const char *file, int line, bool is_error,
		       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report_add(c, file, line, is_error, fmt, ap);
	va_end(ap);
}

/*
 * The file to name in a message. libconfig names an @include'd file as
 * written in the directive, relative to c->dir; *full (to free) then holds
 * the joined path.
 */
const char *config__source_name(const struct config__load *c, const char *file, char **full)
{
	*full = NULL;
	if (!file)
		return c->path;
	if (!strcmp(file, c->path) || file[0] == '/' || !c->dir)
		return file;
	if (asprintf(full, "%s/%s", c->dir, file) < 0) {
		*full = NULL;
		return file;
	}
	return *full;
}

void config__problem(struct config__load *c, const config_setting_t *s, bool is_error,
		     const char *fmt, ...)
{
	char *full;
	const char *file = config__source_name(c, s ? config_setting_source_file(s) : NULL, &full);
	va_list ap;

	va_start(ap, fmt);
	report_add(c, file, s ? (int)config_setting_source_line(s) : 0, is_error, fmt, ap);
	va_end(ap);
	free(full);
}

/* Order of problems: the main file first, then by file name, then line. */
static int problem_cmp(const char *main_file, const struct config_problem *a,
		       const struct config_problem *b)
{
	int am = strcmp(a->file, main_file) != 0, bm = strcmp(b->file, main_file) != 0;
	int d = am != bm ? am - bm : strcmp(a->file, b->file);
	return d ? d : (a->line > b->line) - (a->line < b->line);
}

/* Stable insertion sort of this load's problems: the walk finds most in
 * file order, the cross-setting and duplicate checks come last. */
void config__sort_problems(struct config_report *r, size_t first, const char *main_file)
{
	for (size_t i = first + 1; i < r->n; i++) {
		struct config_problem p = r->items[i];
		size_t j = i;
		while (j > first && problem_cmp(main_file, &r->items[j - 1], &p) > 0) {
			r->items[j] = r->items[j - 1];
			j--;
		}
		r->items[j] = p;
	}
}
