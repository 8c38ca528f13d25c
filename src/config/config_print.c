/* SPDX-License-Identifier: MIT */
/*
 * config_print.c - the schema table turned into text: config_print() (the
 * effective configuration, re-loadable) and
 * config_schema_print_reference() (the README table and lorabridge.conf(5)).
 * The text pieces it shares with the device part are in config_format.c.
 */
#include "config/config_print.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_app.h"
#include "config/config_device.h"
#include "config/config_format.h"
#include "config/config_integ.h"
#include "config/config_schema.h"
#include "base/hex.h"
#include "base/netaddr.h"

/* --- config_print(): the effective configuration ------------------------ */

static void indent(FILE *out, int depth)
{
	for (int i = 0; i < depth; i++)
		fputc('\t', out);
}

/* Length of the group part of a path ("mqtt.topics" of "mqtt.topics.x"). */
static size_t group_len(const char *path)
{
	const char *dot = strrchr(path, '.');
	return dot ? (size_t)(dot - path) : 0;
}

static int path_depth(const char *path, size_t len)
{
	int d = len ? 1 : 0;
	for (size_t i = 0; i < len; i++)
		d += path[i] == '.';
	return d;
}

/*
 * Close and open groups so that the current group becomes the group of
 * `path`. cur/cur_len is the currently open group path.
 */
static void switch_group(FILE *out, const char **cur, size_t *cur_len, const char *path)
{
	size_t want = group_len(path);
	size_t common = 0;

	/* longest common prefix ending at a component boundary */
	for (size_t i = 0; i <= *cur_len && i <= want; i++) {
		bool end_a = i == *cur_len || (*cur)[i] == '.';
		bool end_b = i == want || path[i] == '.';
		if (end_a && end_b)
			common = i;
		if (i == *cur_len || i == want || (*cur)[i] != path[i])
			break;
	}
	for (int d = path_depth(*cur, *cur_len); d > path_depth(path, common); d--) {
		indent(out, d - 1);
		fputs("};\n", out);
	}
	for (size_t i = common ? common + 1 : 0; i < want;) {
		size_t j = i;
		while (j < want && path[j] != '.')
			j++;
		indent(out, path_depth(path, i ? i - 1 : 0));
		fprintf(out, "%.*s = {\n", (int)(j - i), path + i);
		i = j + 1;
	}
	*cur = path;
	*cur_len = want;
}

static void print_entry(FILE *out, const struct cs_entry *e, const struct lb_config *cfg,
			bool show_secrets, int depth)
{
	const char *name = e->path + (group_len(e->path) ? group_len(e->path) + 1 : 0);
	const char *base = (const char *)cfg + e->offset;

	indent(out, depth);
	switch (e->type) {
	case CS_STRING: {
		const char *v = *(char *const *)base;
		if (!v) {
			fprintf(out, "# %s is not set\n", name);
			return;
		}
		fprintf(out, "%s = ", name);
		config__print_string(out, (e->flags & CS_F_SECRET) && !show_secrets ? "<redacted>" : v);
		break;
	}
	case CS_INT:
		if ((e->flags & CS_F_OPTIONAL) && !*(const bool *)((const char *)cfg + e->has_offset)) {
			fprintf(out, "# %s is not set\n", name);
			return;
		}
		fprintf(out, "%s = %d", name, *(const int *)base);
		break;
	case CS_U16:
		fprintf(out, "%s = %u", name, (unsigned)*(const uint16_t *)base);
		break;
	case CS_BOOL:
		fprintf(out, "%s = %s", name, *(const bool *)base ? "true" : "false");
		break;
	case CS_HEX:
		fprintf(out, "%s = \"%0*" PRIx32 "\"", name, (int)(2 * e->hex_bytes),
			*(const uint32_t *)base);
		break;
	case CS_CHOICE:
		fprintf(out, "%s = ", name);
		config__print_int_value(out, e, *(const int *)base);
		break;
	case CS_GW_ALLOW: {
		const struct lb_gw_allow *list = *(struct lb_gw_allow *const *)base;
		size_t n = *(const size_t *)((const char *)cfg + e->count_offset);
		char s[17], net[NETADDR_STRLEN];
		fprintf(out, "%s = [", name);
		for (size_t i = 0; i < n; i++) {
			hex_format_eui(list[i].eui, s);
			if (list[i].pinned)
				netprefix_format(&list[i].net, net, sizeof(net));
			fprintf(out, "%s\"%s%s%s\"", i ? ", " : " ", s, list[i].pinned ? "@" : "",
				list[i].pinned ? net : "");
		}
		fputs(n ? " ]" : "]", out);
		break;
	}
	}
	fputs(";\n", out);
}

void config_print(const struct lb_config *cfg, FILE *out, bool show_secrets)
{
	const char *cur = "";
	size_t cur_len = 0;

	fprintf(out, "# lorabridge effective configuration%s%s, every default included\n",
		cfg->path ? " loaded from " : "", cfg->path ? cfg->path : "");
	for (size_t i = 0; i < config__n_schema; i++) {
		const struct cs_entry *e = &config__schema[i];
		/* The http group turns the server on by being there. */
		if (!cfg->has_http && !strncmp(e->path, "http.", 5))
			continue;
		switch_group(out, &cur, &cur_len, e->path);
		print_entry(out, e, cfg, show_secrets, path_depth(e->path, group_len(e->path)));
	}
	switch_group(out, &cur, &cur_len, "integrations");
	config__print_integs(cfg, out, show_secrets);
	config__print_apps(cfg, out);
	config__print_devices(cfg, out, show_secrets);
}

/* --- config_schema_print_reference() ------------------------------------ */

static const char *type_name(const struct cs_entry *e)
{
	switch (e->type) {
	case CS_STRING:
		return e->flags & CS_F_FILE ? "path" : "string";
	case CS_INT:
	case CS_U16:
		return "integer";
	case CS_BOOL:
		return "boolean";
	case CS_GW_ALLOW:
		return "array of strings";
	case CS_HEX:
		return e->hex_bytes == 3 ? "hex string (6)" : "hex string";
	case CS_CHOICE:
		return "string";
	}
	return "?";
}

/* Default as written in the file, "" if there is none. */
static void format_default(const struct cs_entry *e, char *buf, size_t cap)
{
	switch (e->type) {
	case CS_STRING:
		if (e->def_str)
			snprintf(buf, cap, "\"%s\"", e->def_str);
		else
			buf[0] = '\0';
		return;
	case CS_INT:
	case CS_U16:
		if (e->flags & CS_F_OPTIONAL)
			buf[0] = '\0';
		else
			snprintf(buf, cap, "%lld", e->def_int);
		return;
	case CS_BOOL:
		snprintf(buf, cap, "%s", e->def_int ? "true" : "false");
		return;
	case CS_GW_ALLOW:
		snprintf(buf, cap, "[]");
		return;
	case CS_HEX:
		snprintf(buf, cap, "\"%0*llx\"", (int)(2 * e->hex_bytes), e->def_int);
		return;
	case CS_CHOICE:
		snprintf(buf, cap, "\"%s\"", e->choices[e->def_int]);
		return;
	}
}

/* Help text completed with the validation rules of the table, written whole
 * however long the help is. */
static void write_description(FILE *out, const struct cs_entry *e)
{
	fputs(e->help, out);
	if (e->type == CS_INT || e->type == CS_U16)
		fprintf(out, " Range %lld..%lld.", e->min, e->max);
	if (e->choices) {
		fputs(" One of:", out);
		for (size_t i = 0; e->choices[i]; i++)
			fprintf(out, "%s %s", i ? "," : "", e->choices[i]);
		fputc('.', out);
	}
}

static void ref_header(FILE *out, enum config_ref_format format, const char *title)
{
	if (format == CONFIG_REF_MARKDOWN)
		fprintf(out, "\n### %s\n\n| Setting | Type | Default | Description |\n"
			     "|---|---|---|---|\n", title);
	else
		fprintf(out, ".SS %s\n", title);
}

void config_schema_print_reference(FILE *out, enum config_ref_format format)
{
	char def[128];

	ref_header(out, format, "Settings");
	for (size_t i = 0; i < config__n_schema; i++) {
		const struct cs_entry *e = &config__schema[i];
		char *desc = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&desc, &len);

		if (m) {
			write_description(m, e);
			if (fclose(m) != 0) {
				free(desc);
				desc = NULL;
			}
		}
		format_default(e, def, sizeof(def));
		/* out of memory: the help alone rather than a cut text */
		config__ref_row(out, format, e->path, type_name(e), def, desc ? desc : e->help);
		free(desc);
	}
	ref_header(out, format, "Integration entries (integrations = { http = ( { ... } ); "
		   "influxdb = ( { ... } ); })");
	config__integ_reference(out, format);
	ref_header(out, format, "Application entries (applications = ( { ... }, ... ))");
	config__app_reference(out, format);
	ref_header(out, format, "Device entries (devices = ( { ... }, ... ))");
	config__device_reference(out, format);
}
