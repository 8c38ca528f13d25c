/* SPDX-License-Identifier: MIT */
/* prom_text.c - Prometheus text format writer. See prom_text.h. */
#include "events/prom_text.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/lb_err.h"

void prom_init(struct prom_buf *b, char *out, size_t cap)
{
	b->out = out;
	b->cap = cap;
	b->len = 0;
	b->err = cap ? LB_OK : LB_ERR_TOO_LARGE;
	if (cap)
		out[0] = '\0';
}

static void put(struct prom_buf *b, const char *s, size_t n)
{
	if (b->err != LB_OK)
		return;
	if (b->len + n >= b->cap) {
		b->err = LB_ERR_TOO_LARGE;
		return;
	}
	memcpy(b->out + b->len, s, n);
	b->len += n;
	b->out[b->len] = '\0';
}

static void puts_(struct prom_buf *b, const char *s)
{
	put(b, s, strlen(s));
}

static bool valid_name(const char *s)
{
	if (!s || !*s || (*s >= '0' && *s <= '9'))
		return false;
	for (; *s; s++) {
		char c = *s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == ':'))
			return false;
	}
	return true;
}

/* escape '\\' and '\n' (HELP); with quote also '"' (label values). */
static void put_escaped(struct prom_buf *b, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			put(b, "\\\\", 2);
		else if (*s == '\n')
			put(b, "\\n", 2);
		else if (quote && *s == '"')
			put(b, "\\\"", 2);
		else
			put(b, s, 1);
	}
}

void prom_family(struct prom_buf *b, const char *name, const char *type, const char *help)
{
	if (!valid_name(name) || !type) {
		b->err = b->err ? b->err : LB_ERR_INVAL;
		return;
	}
	puts_(b, "# HELP ");
	puts_(b, name);
	puts_(b, " ");
	put_escaped(b, help ? help : "", false);
	puts_(b, "\n# TYPE ");
	puts_(b, name);
	puts_(b, " ");
	puts_(b, type);
	puts_(b, "\n");
}

static void sample_head(struct prom_buf *b, const char *name, const char *label,
			const char *value)
{
	if (!valid_name(name) || (label && (!valid_name(label) || !value))) {
		b->err = b->err ? b->err : LB_ERR_INVAL;
		return;
	}
	puts_(b, name);
	if (label) {
		puts_(b, "{");
		puts_(b, label);
		puts_(b, "=\"");
		put_escaped(b, value, true);
		puts_(b, "\"}");
	}
	puts_(b, " ");
}

void prom_u64(struct prom_buf *b, const char *name, const char *label, const char *value,
	      uint64_t v)
{
	char num[24];

	sample_head(b, name, label, value);
	snprintf(num, sizeof(num), "%" PRIu64 "\n", v);
	puts_(b, num);
}

void prom_double(struct prom_buf *b, const char *name, const char *label, const char *value,
		 double v)
{
	char num[40];

	sample_head(b, name, label, value);
	if (isnan(v))
		snprintf(num, sizeof(num), "NaN\n");
	else if (isinf(v))
		snprintf(num, sizeof(num), "%sInf\n", v > 0 ? "+" : "-");
	else {
		/* 15 digits when they give v back (0.1, not 0.10000000000000001),
		 * else the 17 that always do (IEEE 754 binary64). */
		snprintf(num, sizeof(num), "%.15g", v);
		if (strtod(num, NULL) != v)
			snprintf(num, sizeof(num), "%.17g", v);
		strcat(num, "\n");
	}
	puts_(b, num);
}

int prom_finish(struct prom_buf *b, size_t *len)
{
	if (b->err != LB_OK)
		return b->err;
	*len = b->len;
	return LB_OK;
}
