/* SPDX-License-Identifier: MIT */
/*
 * config_value.c - reading typed values out of libconfig settings the way
 * the file wrote them (libconfig 1.5 wraps large integers), decoding hex
 * strings, and checking a number or choice against its row of the schema.
 * Every problem is reported with the setting's file and line.
 */
#include "config/config_value.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config_problem.h"
#include "base/hex.h"
#include "base/lb_err.h"

/* --- typed values ------------------------------------------------------- */

const char *config__type_desc(const config_setting_t *s)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a float";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_GROUP:
		return "a group";
	case CONFIG_TYPE_ARRAY:
		return "an array";
	case CONFIG_TYPE_LIST:
		return "a list";
	}
	return "nothing";
}

static bool is_int(const config_setting_t *s)
{
	return config_setting_type(s) == CONFIG_TYPE_INT ||
	       config_setting_type(s) == CONFIG_TYPE_INT64;
}

/*
 * libconfig 1.5 stores a decimal literal beyond 32 bits as a wrapped int
 * (4294968296 reads as 1000) and 0xFFFFFFFF as -1. To never accept a value
 * other than the one written, the literal is read again from the source
 * line when it is the only assignment of that name on the line.
 */
static bool reread_literal(const struct config__load *c, const config_setting_t *s, long long *out)
{
	const char *file = config_setting_source_file(s);
	unsigned line = config_setting_source_line(s);
	const char *name = config_setting_name(s);

	if (!name || !file || strcmp(file, c->path) || line == 0 || line > c->n_lines)
		return false;
	const char *p = c->text + c->line_start[line - 1];
	const char *end = strchr(p, '\n');
	size_t nlen = strlen(name);
	const char *value = NULL;
	int found = 0;

	end = end ? end : p + strlen(p);
	for (const char *q = p; (q = memmem(q, (size_t)(end - q), name, nlen)); q += nlen) {
		if (q > p && (isalnum((unsigned char)q[-1]) || q[-1] == '_' || q[-1] == '-'))
			continue;
		const char *v = q + nlen;
		while (*v == ' ' || *v == '\t')
			v++;
		if (*v != '=' && *v != ':')
			continue;
		value = v + 1;
		found++;
	}
	if (found != 1)
		return false;
	while (*value == ' ' || *value == '\t')
		value++;
	/* libconfig reads "010" as ten: decimal unless 0x; strtoll saturates */
	bool neg = *value == '-';
	const char *digits = value + (*value == '-' || *value == '+');
	bool hex = digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X');
	long long lit = strtoll(hex ? digits : value, NULL, hex ? 16 : 10);
	lit = hex && neg ? -lit : lit;
	/* only trust the re-read when it explains the stored value */
	if (lit != config_setting_get_int(s) && lit >= INT_MIN && lit <= INT_MAX)
		return false;
	*out = lit;
	return true;
}

long long config__int_value(const struct config__load *c, const config_setting_t *s)
{
	long long lit;

	if (config_setting_type(s) == CONFIG_TYPE_INT64)
		return config_setting_get_int64(s);
	if (reread_literal(c, s, &lit))
		return lit;
	return config_setting_get_int(s);
}

bool config__parse_hex(struct config__load *c, const config_setting_t *s, const char *label,
		       uint8_t *out, size_t n)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		error_at(c, s, "%s: expected a string of %zu hex digits, got %s", label, 2 * n,
			 config__type_desc(s));
		return false;
	}
	const char *v = config_setting_get_string(s);
	int rc = hex_decode(v, out, n);
	if (rc == LB_ERR_SIZE_MISMATCH) {
		error_at(c, s, "%s: expected %zu hex digits, got %zu characters", label, 2 * n,
			 strlen(v));
	} else if (rc != LB_OK) {
		size_t i = 0;
		while (hex_digit_value(v[i]) >= 0)
			i++;
		error_at(c, s, "%s: character %zu ('%c') is not a hex digit", label, i + 1,
			 isprint((unsigned char)v[i]) ? v[i] : '?');
	}
	return rc == LB_OK;
}

uint64_t config__be_value(const uint8_t *b, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = v << 8 | b[i];
	return v;
}

void config__report_choices(struct config__load *c, const config_setting_t *s,
			    const struct cs_entry *e, const char *prefix, const char *v)
{
	char list[160];
	size_t n = 0;

	list[0] = '\0';
	for (size_t i = 0; e->choices[i] && n < sizeof(list); i++)
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", i ? ", " : "",
				      e->choices[i]);
	error_at(c, s, "%s%s: '%s' is not one of %s", prefix, e->path, v, list);
}

static bool parse_choice(struct config__load *c, const struct cs_entry *e,
			 const config_setting_t *s, const char *prefix, long long *out)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		error_at(c, s, "%s%s: expected a string, got %s", prefix, e->path,
			 config__type_desc(s));
		return false;
	}
	const char *v = config_setting_get_string(s);
	for (long long i = 0; e->choices[i]; i++) {
		if (!strcmp(e->choices[i], v)) {
			*out = i;
			return true;
		}
	}
	config__report_choices(c, s, e, prefix, v);
	return false;
}

bool config__parse_number(struct config__load *c, const struct cs_entry *e,
			  const config_setting_t *s, const char *prefix, long long *out)
{
	if (e->type == CS_CHOICE)
		return parse_choice(c, e, s, prefix, out);
	if (!is_int(s)) {
		error_at(c, s, "%s%s: expected an integer, got %s", prefix, e->path,
			 config__type_desc(s));
		return false;
	}
	long long v = config__int_value(c, s);
	if (v < e->min || v > e->max) {
		error_at(c, s, "%s%s: %lld is out of range %lld..%lld", prefix, e->path, v, e->min,
			 e->max);
		return false;
	}
	*out = v;
	return true;
}

/* v as an absolute path (relative to the configuration file's directory);
 * NULL after reporting an empty value, or with c->nomem set. */
static char *absolute_path(struct config__load *c, const config_setting_t *s, const char *path,
			   const char *v)
{
	char *full;

	if (!*v) {
		error_at(c, s, "%s: must not be empty", path);
		return NULL;
	}
	if (v[0] == '/')
		full = strdup(v);
	else if (asprintf(&full, "%s/%s", c->dir, v) < 0)
		full = NULL;
	if (!full)
		c->nomem = true;
	return full;
}

/* The absolute path of a file setting; strict: a file that cannot be read
 * is an error (NULL), else a warning (the path is returned). */
static char *resolve(struct config__load *c, const config_setting_t *s, const char *path,
		     const char *v, bool strict)
{
	struct stat st;
	char *full = absolute_path(c, s, path, v);
	const char *problem = NULL;

	if (!full)
		return NULL;
	if (access(full, R_OK) != 0 || stat(full, &st) != 0)
		problem = strerror(errno);
	else if (!S_ISREG(st.st_mode))
		problem = "not a regular file";
	if (!problem)
		return full;
	if (!strict) {
		warn_at(c, s, "%s: cannot read '%s' (%s): its devices' uplinks are published "
			      "without object until it can (SIGHUP reloads it)", path, full, problem);
		return full;
	}
	error_at(c, s, "%s: cannot read '%s': %s", path, full, problem);
	free(full);
	return NULL;
}

char *config__resolve_file(struct config__load *c, const config_setting_t *s, const char *path,
			   const char *v)
{
	return resolve(c, s, path, v, true);
}

char *config__resolve_script(struct config__load *c, const config_setting_t *s, const char *path,
			     const char *v)
{
	return resolve(c, s, path, v, false);
}
