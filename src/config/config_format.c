/* SPDX-License-Identifier: MIT */
/*
 * config_format.c - the text forms that config_print() and the reference
 * are written with: libconfig string literals, int values (numbers or
 * choices), and reference rows as a Markdown table or troff paragraphs.
 */
#include "config/config_format.h"

#include <stdio.h>

void config__print_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(out, "\\x%02x", *p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

void config__print_int_value(FILE *out, const struct cs_entry *e, int v)
{
	if (e->type == CS_CHOICE)
		config__print_string(out, e->choices[v]);
	else
		fprintf(out, "%d", v);
}

/* troff: a backslash must be written \e, a leading '.' or '\'' needs \&. */
static void man_text(FILE *out, const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", out);
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", out);
		else if (*s == '-')
			fputs("\\-", out);
		else
			fputc(*s, out);
	}
}

void config__ref_row(FILE *out, enum config_ref_format format, const char *setting,
		     const char *type, const char *def, const char *desc)
{
	if (format == CONFIG_REF_MARKDOWN) {
		if (*def)
			fprintf(out, "| `%s` | %s | `%s` | %s |\n", setting, type, def, desc);
		else
			fprintf(out, "| `%s` | %s | (none) | %s |\n", setting, type, desc);
		return;
	}
	fputs(".TP\n.B ", out);
	man_text(out, setting);
	fprintf(out, "\n(%s", type);
	if (*def) {
		fputs(", default ", out);
		man_text(out, def);
	}
	fputs(")\n", out);
	man_text(out, desc);
	fputc('\n', out);
}
