/* SPDX-License-Identifier: MIT */
/* config_integ.c - the `integrations` group. See config_integ.h. */
#include "config/config_integ.h"

#include <stdlib.h>
#include <string.h>

#include "config/config_format.h"
#include "config/config_problem.h"
#include "config/config_value.h"
#include "base/url.h"

const char *const config_integ_event_names[] = {"up", "join", "ack", "txack", "log", "status",
						NULL};

static const char *const kind_names[] = {"http", "influxdb"};
static const char *const body_names[] = {"event", "object", NULL};

#define ALL_EVENTS 0x3fu
#define K_HTTP (1u << LB_INTEG_HTTP)
#define K_INFLUX (1u << LB_INTEG_INFLUXDB)
#define K_BOTH (K_HTTP | K_INFLUX)

enum fi_type {
	FI_STRING,      /* char * */
	FI_SECRET,      /* char *, redacted by config_print() */
	FI_URL,         /* char *: http:// or https:// */
	FI_FILE,        /* char *: a readable file, stored as an absolute path */
	FI_INT,         /* int in [min, max] */
	FI_BOOL,        /* bool */
	FI_EVENTS,      /* unsigned mask from an array of event names */
	FI_BODY,        /* int: index in body_names */
	FI_HEADERS      /* group of strings -> headers / n_headers, values redacted */
};

#define IOFF(f) offsetof(struct lb_integ_conf, f)

struct integ_field {
	const char *name;
	enum fi_type type;
	unsigned kinds;                 /* K_* it belongs to */
	size_t offset;
	long long def, min, max;        /* FI_INT, FI_BOOL */
	const char *type_doc, *def_doc, *help;
};

/* In the order of config_print() and of the reference. */
static const struct integ_field fields[] = {
	{"name", FI_STRING, K_HTTP, IOFF(name), 0, 0, 0, "string", "\"http1\", ...",
	 "Name in the stats event and in messages: the n-th entry's default is httpn."},
	{"name", FI_STRING, K_INFLUX, IOFF(name), 0, 0, 0, "string", "\"influxdb1\", ...",
	 "Name in the stats event and in messages: the n-th entry's default is influxdbn."},
	{"url", FI_URL, K_HTTP, IOFF(url), 0, 0, 0, "string", "",
	 "Required. http:// or https:// URL each event is POSTed to, with ?event={event} added "
	 "(& if it has a query); it may hold {dev_eui}, {device_name} and {application} "
	 "(another {name} is an error). At most 2048 bytes. "
	 "Printed and logged with its user:password@ and query values redacted, its path as "
	 "it is: an API key belongs in headers or the query."},
	{"url", FI_URL, K_INFLUX, IOFF(url), 0, 0, 0, "string", "",
	 "Required. The server's http:// or https:// base URL, e.g. \"http://127.0.0.1:8086\"; "
	 "/write (1.x) or /api/v2/write (2.x) is added; no {placeholders}. Printed and logged "
	 "with its "
	 "user:password@ and query values redacted."},
	{"events", FI_EVENTS, K_HTTP, IOFF(events), 0, 0, 0, "array of strings", "all",
	 "The device events sent, of up, join, ack, txack, log, status."},
	{"body", FI_BODY, K_HTTP, IOFF(body), 0, 0, 0, "string", "\"event\"",
	 "\"event\" sends the event's JSON as published on MQTT; \"object\" only its "
	 "decoded `object` (events without one are not sent)."},
	{"headers", FI_HEADERS, K_HTTP, IOFF(headers), 0, 0, 0, "group of strings", "",
	 "Headers added to each request, e.g. { Authorization = \"Bearer ...\"; }; the "
	 "values are redacted by --print-config."},
	{"database", FI_STRING, K_INFLUX, IOFF(database), 0, 0, 0, "string", "",
	 "InfluxDB 1.x database; either it or bucket is required."},
	{"username", FI_STRING, K_INFLUX, IOFF(username), 0, 0, 0, "string", "",
	 "InfluxDB 1.x user name."},
	{"password", FI_SECRET, K_INFLUX, IOFF(password), 0, 0, 0, "string", "",
	 "InfluxDB 1.x password (needs username)."},
	{"retention_policy", FI_STRING, K_INFLUX, IOFF(retention_policy), 0, 0, 0, "string", "",
	 "InfluxDB 1.x retention policy; absent = the database's default."},
	{"org", FI_STRING, K_INFLUX, IOFF(org), 0, 0, 0, "string", "",
	 "InfluxDB 2.x organisation (with bucket and token)."},
	{"bucket", FI_STRING, K_INFLUX, IOFF(bucket), 0, 0, 0, "string", "",
	 "InfluxDB 2.x bucket; either it or database is required."},
	{"token", FI_SECRET, K_INFLUX, IOFF(token), 0, 0, 0, "string", "",
	 "InfluxDB 2.x API token."},
	{"ca_file", FI_FILE, K_BOTH, IOFF(ca_file), 0, 0, 0, "path", "",
	 "CA certificates (PEM) that verify an https:// server; absent = the system's."},
	{"tls_verify", FI_BOOL, K_BOTH, IOFF(tls_verify), 1, 0, 1, "boolean", "true",
	 "Verify an https:// server's certificate and name; false only for testing."},
	{"timeout_ms", FI_INT, K_BOTH, IOFF(timeout_ms), 10000, 100, 600000, "integer", "10000",
	 "Longest time one request may take; then it is retried. Range 100..600000."},
	{"queue_limit", FI_INT, K_BOTH, IOFF(queue_limit), 10000, 1, 10000000, "integer", "10000",
	 "Events kept (waiting or in flight) while the server is slow or away; beyond, the "
	 "oldest not in flight is dropped and counted. Range 1..10000000."},
	{"retry_max_ms", FI_INT, K_BOTH, IOFF(retry_max_ms), 60000, 100, 3600000, "integer",
	 "60000", "Longest wait between retries (from 1 s, doubling). Range 100..3600000."},
	{"parallel", FI_INT, K_HTTP, IOFF(parallel), 4, 1, LB_INTEG_PARALLEL_MAX, "integer", "4",
	 "Requests in flight at once; only with 1 do events reach the server in order. "
	 "Range 1..16."},
	{"batch_size", FI_INT, K_INFLUX, IOFF(batch_size), 1000, 1, 100000, "integer", "1000",
	 "Most events written by one request. Range 1..100000."},
};

#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))

unsigned config_integ_event_bit(const char *event)
{
	for (unsigned i = 0; config_integ_event_names[i]; i++)
		if (!strcmp(config_integ_event_names[i], event))
			return 1u << i;
	return 0;
}

static void *at(struct lb_integ_conf *e, const struct integ_field *f)
{
	return (char *)e + f->offset;
}

static const void *cat(const struct lb_integ_conf *e, const struct integ_field *f)
{
	return (const char *)e + f->offset;
}

static void set_defaults(struct lb_integ_conf *e, int kind)
{
	e->kind = kind;
	e->events = ALL_EVENTS;
	for (size_t i = 0; i < N_FIELDS; i++) {
		if (fields[i].type == FI_INT)
			*(int *)at(e, &fields[i]) = (int)fields[i].def;
		else if (fields[i].type == FI_BOOL)
			*(bool *)at(e, &fields[i]) = fields[i].def != 0;
	}
}

/* A webhook URL's {name}s are {dev_eui}, {device_name} and {application}
 * (expanded per event); an InfluxDB URL has none. Reported like unknown
 * placeholders of MQTT topic templates. */
static bool placeholders_known(struct config__load *c, const config_setting_t *s,
			       const char *label, int kind, const char *v)
{
	static const char *const known[] = {"{dev_eui}", "{device_name}", "{application}", NULL};

	for (const char *p = strchr(v, '{'); p; p = strchr(p + 1, '{')) {
		size_t len = strcspn(p, "}");
		bool ok = false;
		for (int i = 0; kind == LB_INTEG_HTTP && known[i] && !ok; i++)
			ok = p[len] == '}' && strlen(known[i]) == len + 1 && !strncmp(p, known[i], len);
		if (!ok) {
			error_at(c, s, "%s: url: unknown placeholder '%.*s'%s", label, (int)len + 1, p,
				 kind == LB_INTEG_HTTP ? " (known: {dev_eui}, {device_name}, "
							 "{application})" : " (an InfluxDB url has none)");
			return false;
		}
	}
	return true;
}

bool config__integ_is_secret(const config_setting_t *s)
{
	const char *name = config_setting_name(s);
	const config_setting_t *up = config_setting_parent(s);
	const char *upname = up ? config_setting_name(up) : NULL;

	for (size_t i = 0; name && i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (strcmp(name, fields[i].name))
			continue;
		if (fields[i].type == FI_SECRET)
			return true;
		if (fields[i].type == FI_URL && config_setting_type(s) == CONFIG_TYPE_STRING) {
			static char shown[URL_SHOWN_MAX];
			const char *v = config_setting_get_string(s);
			return v && strcmp(url_redact(v, shown, sizeof(shown)), v) != 0;
		}
	}
	for (size_t i = 0; upname && i < sizeof(fields) / sizeof(fields[0]); i++)
		if (fields[i].type == FI_HEADERS && !strcmp(upname, fields[i].name))
			return true;
	return false;
}

static void parse_url(struct config__load *c, const config_setting_t *s, const char *label,
		      struct lb_integ_conf *e)
{
	const char *v;

	if (!config__string_value(c, s, label, &v))
		return;
	if (strncmp(v, "http://", 7) && strncmp(v, "https://", 8)) {
		char shown[256];
		error_at(c, s, "%s: url: '%s' is not an http:// or https:// URL", label,
			 url_redact(v, shown, sizeof(shown)));
		return;
	}
	if (strpbrk(v, " \t\r\n")) {
		error_at(c, s, "%s: url: must not contain white space", label);
		return;
	}
	if (strlen(v) > URL_MAX) {
		error_at(c, s, "%s: url: longer than %d bytes", label, URL_MAX);
		return;
	}
	if (!placeholders_known(c, s, label, e->kind, v))
		return;
	config__take_string(c, &e->url, strdup(v));
}

static void parse_events(struct config__load *c, const config_setting_t *s, const char *label,
			 struct lb_integ_conf *e)
{
	int type = config_setting_type(s);
	unsigned mask = 0;

	if (type != CONFIG_TYPE_ARRAY && type != CONFIG_TYPE_LIST) {
		error_at(c, s, "%s: events: expected an array of strings, got %s", label,
			 config__type_desc(s));
		return;
	}
	for (int i = 0; i < config_setting_length(s); i++) {
		const char *v = config_setting_get_string_elem(s, i);
		unsigned bit = v ? config_integ_event_bit(v) : 0;
		if (!bit) {
			error_at(c, s, "%s: events: '%s' is not one of up, join, ack, txack, log, "
				 "status", label, v ? v : "(not a string)");
			return;
		}
		mask |= bit;
	}
	if (!mask)
		error_at(c, s, "%s: events: must name at least one event", label);
	e->events = mask;
}

static void parse_headers(struct config__load *c, const config_setting_t *s, const char *label,
			  struct lb_integ_conf *e)
{
	size_t n = (size_t)config_setting_length(s);

	if (!config_setting_is_group(s)) {
		error_at(c, s, "%s: headers: expected a group { Name = \"value\"; ... }, got %s",
			 label, config__type_desc(s));
		return;
	}
	if (n == 0)
		return;
	if (!(e->headers = calloc(n, sizeof(*e->headers)))) {
		c->nomem = true;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const config_setting_t *h = config_setting_get_elem(s, (unsigned)i);
		const char *v;
		if (!config__string_value(c, h, label, &v))
			continue;
		/* RFC 9110 §5.5: no CR, LF or NUL in a field value. */
		if (strpbrk(v, "\r\n")) {
			error_at(c, h, "%s: headers: %s: must not contain a line break", label,
				 config_setting_name(h));
			continue;
		}
		struct lb_tag *t = &e->headers[e->n_headers];
		t->key = strdup(config_setting_name(h));
		t->value = strdup(v);
		if (!t->key || !t->value) {
			free(t->key);
			free(t->value);
			c->nomem = true;
			return;
		}
		e->n_headers++;
	}
}

static void parse_int(struct config__load *c, const config_setting_t *s, const char *label,
		      const struct integ_field *f, struct lb_integ_conf *e)
{
	int type = config_setting_type(s);
	long long v;

	if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64) {
		error_at(c, s, "%s: %s: expected an integer, got %s", label, f->name,
			 config__type_desc(s));
		return;
	}
	v = config_setting_get_int64(s);
	if (v < f->min || v > f->max) {
		error_at(c, s, "%s: %s: %lld is out of range %lld..%lld", label, f->name, v, f->min,
			 f->max);
		return;
	}
	*(int *)at(e, f) = (int)v;
}

static void parse_choice(struct config__load *c, const config_setting_t *s, const char *label,
			 struct lb_integ_conf *e)
{
	const char *v;

	if (!config__string_value(c, s, label, &v))
		return;
	for (int i = 0; body_names[i]; i++) {
		if (!strcmp(body_names[i], v)) {
			e->body = i;
			return;
		}
	}
	error_at(c, s, "%s: body: '%s' is not one of event, object", label, v);
}

static void parse_field(struct config__load *c, const config_setting_t *s, const char *label,
			const struct integ_field *f, struct lb_integ_conf *e)
{
	const char *v;
	char flabel[128];

	switch (f->type) {
	case FI_STRING:
	case FI_SECRET:
		if (config__string_value(c, s, label, &v))
			config__take_string(c, (char **)at(e, f), strdup(v));
		return;
	case FI_URL:
		parse_url(c, s, label, e);
		return;
	case FI_FILE:
		if (!config__string_value(c, s, label, &v))
			return;
		snprintf(flabel, sizeof(flabel), "%s: %s", label, f->name);
		char *full = config__resolve_file(c, s, flabel, v);
		if (full)
			config__take_string(c, (char **)at(e, f), full);
		return;
	case FI_INT:
		parse_int(c, s, label, f, e);
		return;
	case FI_BOOL:
		if (config_setting_type(s) != CONFIG_TYPE_BOOL)
			error_at(c, s, "%s: %s: expected true or false, got %s", label, f->name,
				 config__type_desc(s));
		else
			*(bool *)at(e, f) = config_setting_get_bool(s);
		return;
	case FI_EVENTS:
		parse_events(c, s, label, e);
		return;
	case FI_BODY:
		parse_choice(c, s, label, e);
		return;
	case FI_HEADERS:
		parse_headers(c, s, label, e);
		return;
	}
}

static const struct integ_field *find_field(const char *name, int kind)
{
	for (size_t i = 0; i < N_FIELDS; i++)
		if (!strcmp(fields[i].name, name) && (fields[i].kinds & (1u << kind)))
			return &fields[i];
	return NULL;
}

/* The longest the InfluxDB write URL built from e can be (integrations.c:
 * each name percent-encoded, 3 bytes a character at most). */
static size_t influx_url_len(const struct lb_integ_conf *e)
{
	const char *const names[] = {e->database, e->retention_policy, e->org, e->bucket};
	size_t n = strlen(e->url) + strlen("/api/v2/write") + strlen("?precision=ns");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		n += names[i] ? strlen("&bucket=") + 3 * strlen(names[i]) : 0;
	return n;
}

/* The rules between fields of one entry. */
static void check_entry(struct config__load *c, const config_setting_t *g, const char *label,
			struct lb_integ_conf *e)
{
	if (!e->url)
		error_at(c, g, "%s: missing url", label);
	if (e->kind != LB_INTEG_INFLUXDB)
		return;
	if (!e->database == !e->bucket)
		error_at(c, g, "%s: needs either database (InfluxDB 1.x) or bucket with org and "
			 "token (2.x)", label);
	if (e->bucket && (!e->org || !e->token))
		error_at(c, g, "%s: bucket (InfluxDB 2.x) needs org and token as well", label);
	if (e->database && (e->org || e->token))
		error_at(c, g, "%s: org and token are InfluxDB 2.x settings; with database "
			 "(1.x) use username and password", label);
	if (e->password && !e->username)
		error_at(c, g, "%s: password needs username as well", label);
	if (e->url && influx_url_len(e) > URL_MAX)
		error_at(c, g, "%s: the write URL (url, /api/v2/write or /write and the "
			 "percent-encoded database, retention_policy, org, bucket) would be longer than "
			 "%d bytes", label, URL_MAX);
}

static void parse_entry(struct config__load *c, const config_setting_t *g, int kind, size_t idx,
			struct lb_integ_conf *e)
{
	char label[96];

	set_defaults(e, kind);
	e->line = (int)config_setting_source_line(g);
	snprintf(label, sizeof(label), "integrations.%s[%zu]", kind_names[kind], idx);
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
		const struct integ_field *f = find_field(config_setting_name(m), kind);
		if (f)
			parse_field(c, m, label, f, e);
		else
			warn_at(c, m, "%s: unknown setting '%s' (ignored)", label,
				config_setting_name(m));
	}
	check_entry(c, g, label, e);
	if (!e->name) {
		char name[32];
		snprintf(name, sizeof(name), "%s%zu", kind_names[kind], idx + 1);
		config__take_string(c, &e->name, strdup(name));
	}
}

/* Names are what the stats event tells the integrations apart by. */
static void check_unique(struct config__load *c, const config_setting_t *group)
{
	const struct lb_config *cfg = c->cfg;

	for (size_t i = 1; i < cfg->n_integs; i++) {
		for (size_t j = 0; j < i; j++) {
			const char *a = cfg->integs[i].name, *b = cfg->integs[j].name;
			if (a && b && !strcmp(a, b)) {
				error_at(c, group, "integrations: name '%s' is used twice (lines %d "
					 "and %d)", a, cfg->integs[j].line, cfg->integs[i].line);
				break;
			}
		}
	}
}

static const config_setting_t *kind_list(struct config__load *c, const config_setting_t *group,
					 int kind)
{
	const config_setting_t *l = config_setting_get_member(group, kind_names[kind]);

	if (!l)
		return NULL;
	int type = config_setting_type(l);
	if (type == CONFIG_TYPE_ARRAY && config_setting_length(l) == 0)
		return NULL;
	if (type != CONFIG_TYPE_LIST) {
		error_at(c, l, "integrations.%s: expected a list ( { ... }, ... ), got %s",
			 kind_names[kind], config__type_desc(l));
		return NULL;
	}
	return l;
}

void config__parse_integs(struct config__load *c, const config_setting_t *group)
{
	const config_setting_t *lists[2];
	size_t n = 0;

	if (!config_setting_is_group(group)) {
		error_at(c, group, "integrations: expected a group { http = ( ... ); influxdb = "
			 "( ... ); }, got %s", config__type_desc(group));
		return;
	}
	for (int i = 0; i < config_setting_length(group); i++) {
		const char *key = config_setting_name(config_setting_get_elem(group, (unsigned)i));
		if (strcmp(key, "http") && strcmp(key, "influxdb"))
			warn_at(c, config_setting_get_elem(group, (unsigned)i),
				"unknown setting 'integrations.%s' (ignored)", key);
	}
	for (int k = 0; k < 2; k++) {
		lists[k] = kind_list(c, group, k);
		n += lists[k] ? (size_t)config_setting_length(lists[k]) : 0;
	}
	if (n == 0)
		return;
	if (n > LB_INTEGS_MAX) {
		error_at(c, group, "integrations: %zu entries, at most %d", n, LB_INTEGS_MAX);
		return;
	}
	if (!(c->cfg->integs = calloc(n, sizeof(*c->cfg->integs)))) {
		c->nomem = true;
		return;
	}
	for (int k = 0; k < 2; k++) {
		for (int i = 0; lists[k] && i < config_setting_length(lists[k]); i++) {
			const config_setting_t *g = config_setting_get_elem(lists[k], (unsigned)i);
			struct lb_integ_conf *e = &c->cfg->integs[c->cfg->n_integs++];
			if (config_setting_is_group(g))
				parse_entry(c, g, k, (size_t)i, e);
			else
				error_at(c, g, "integrations.%s[%d]: expected a group { ... }, got %s",
					 kind_names[k], i, config__type_desc(g));
		}
	}
	check_unique(c, group);
}

void config__integs_free(struct lb_config *cfg)
{
	for (size_t i = 0; i < cfg->n_integs; i++) {
		struct lb_integ_conf *e = &cfg->integs[i];
		for (size_t f = 0; f < N_FIELDS; f++) {
			enum fi_type t = fields[f].type;
			/* name and url have a row per kind, at one offset */
			if (!(fields[f].kinds & (1u << e->kind)))
				continue;
			if (t == FI_STRING || t == FI_SECRET || t == FI_URL || t == FI_FILE)
				free(*(char **)at(e, &fields[f]));
		}
		for (size_t h = 0; h < e->n_headers; h++) {
			free(e->headers[h].key);
			free(e->headers[h].value);
		}
		free(e->headers);
	}
	free(cfg->integs);
	cfg->integs = NULL;
	cfg->n_integs = 0;
}

/* --- config_print() ----------------------------------------------------- */

#define IND "\t\t\t"

static void print_events(FILE *out, unsigned mask)
{
	fputs(IND "events = [", out);
	for (unsigned i = 0, n = 0; config_integ_event_names[i]; i++)
		if (mask & (1u << i))
			fprintf(out, "%s\"%s\"", n++ ? ", " : " ", config_integ_event_names[i]);
	fputs(" ];\n", out);
}

static void print_field(FILE *out, const struct integ_field *f, const struct lb_integ_conf *e,
			bool show_secrets)
{
	const char *s = NULL;
	char shown[URL_SHOWN_MAX];

	switch (f->type) {
	case FI_STRING:
	case FI_URL:
	case FI_FILE:
	case FI_SECRET:
		s = *(char *const *)cat(e, f);
		if (!s) {
			fprintf(out, IND "# %s is not set\n", f->name);
			return;
		}
		fprintf(out, IND "%s = ", f->name);
		if (!show_secrets && f->type == FI_SECRET)
			s = URL_REDACTED;
		else if (!show_secrets && f->type == FI_URL)
			s = url_redact(s, shown, sizeof(shown));
		config__print_string(out, s);
		fputs(";\n", out);
		return;
	case FI_INT:
		fprintf(out, IND "%s = %d;\n", f->name, *(const int *)cat(e, f));
		return;
	case FI_BOOL:
		fprintf(out, IND "%s = %s;\n", f->name, *(const bool *)cat(e, f) ? "true" : "false");
		return;
	case FI_EVENTS:
		print_events(out, e->events);
		return;
	case FI_BODY:
		fprintf(out, IND "body = \"%s\";\n", body_names[e->body]);
		return;
	case FI_HEADERS:
		fputs(IND "headers = {\n", out);
		for (size_t i = 0; i < e->n_headers; i++) {
			fprintf(out, IND "\t%s = ", e->headers[i].key);
			config__print_string(out, show_secrets ? e->headers[i].value : "<redacted>");
			fputs(";\n", out);
		}
		fputs(IND "};\n", out);
		return;
	}
}

static void print_kind(const struct lb_config *cfg, FILE *out, bool show_secrets, int kind)
{
	size_t n = 0;

	fprintf(out, "\t%s = (", kind_names[kind]);
	for (size_t i = 0; i < cfg->n_integs; i++) {
		const struct lb_integ_conf *e = &cfg->integs[i];
		if (e->kind != kind)
			continue;
		fputs(n++ ? ",\n\t\t{\n" : "\n\t\t{\n", out);
		for (size_t f = 0; f < N_FIELDS; f++)
			if (fields[f].kinds & (1u << kind))
				print_field(out, &fields[f], e, show_secrets);
		fputs("\t\t}", out);
	}
	fputs(n ? "\n\t);\n" : " );\n", out);
}

void config__print_integs(const struct lb_config *cfg, FILE *out, bool show_secrets)
{
	fputs("integrations = {\n", out);
	print_kind(cfg, out, show_secrets, LB_INTEG_HTTP);
	print_kind(cfg, out, show_secrets, LB_INTEG_INFLUXDB);
	fputs("};\n", out);
}

void config__integ_reference(FILE *out, enum config_ref_format format)
{
	char setting[64];

	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; i < N_FIELDS; i++) {
			if (!(fields[i].kinds & (1u << k)))
				continue;
			snprintf(setting, sizeof(setting), "integrations.%s[].%s", kind_names[k],
				 fields[i].name);
			config__ref_row(out, format, setting, fields[i].type_doc, fields[i].def_doc,
					fields[i].help);
		}
	}
	fputs(format == CONFIG_REF_MARKDOWN ? "\n" : ".PP\n", out);
}

/* --- what changed (config_diff.h) --------------------------------------- */

static bool headers_same(const struct lb_integ_conf *a, const struct lb_integ_conf *b)
{
	if (a->n_headers != b->n_headers)
		return false;
	for (size_t i = 0; i < a->n_headers; i++)
		if (!config__str_same(a->headers[i].key, b->headers[i].key) ||
		    !config__str_same(a->headers[i].value, b->headers[i].value))
			return false;
	return true;
}

static bool field_same(const struct integ_field *f, const struct lb_integ_conf *a,
		       const struct lb_integ_conf *b)
{
	switch (f->type) {
	case FI_STRING:
	case FI_SECRET:
	case FI_URL:
	case FI_FILE:
		return config__str_same(*(char *const *)cat(a, f), *(char *const *)cat(b, f));
	case FI_INT:
	case FI_BODY:
		return *(const int *)cat(a, f) == *(const int *)cat(b, f);
	case FI_BOOL:
		return *(const bool *)cat(a, f) == *(const bool *)cat(b, f);
	case FI_EVENTS:
		return *(const unsigned *)cat(a, f) == *(const unsigned *)cat(b, f);
	case FI_HEADERS:
		return headers_same(a, b);
	}
	return false;
}

static size_t count_kind(const struct lb_config *cfg, int kind)
{
	size_t n = 0;

	for (size_t i = 0; i < cfg->n_integs; i++)
		n += cfg->integs[i].kind == kind;
	return n;
}

static const struct lb_integ_conf *nth_kind(const struct lb_config *cfg, int kind, size_t k)
{
	for (size_t i = 0; i < cfg->n_integs; i++)
		if (cfg->integs[i].kind == kind && k-- == 0)
			return &cfg->integs[i];
	return NULL;
}

void config__integs_changed(const struct lb_config *a, const struct lb_config *b,
			    void (*note)(void *arg, const char *path), void *arg)
{
	char path[96];

	for (int kind = 0; kind < (int)(sizeof(kind_names) / sizeof(kind_names[0])); kind++) {
		size_t n = count_kind(a, kind);
		if (n != count_kind(b, kind)) {
			snprintf(path, sizeof(path), "integrations.%s", kind_names[kind]);
			note(arg, path);
			continue;
		}
		for (size_t k = 0; k < n; k++) {
			const struct lb_integ_conf *x = nth_kind(a, kind, k), *y = nth_kind(b, kind, k);
			for (size_t i = 0; i < N_FIELDS; i++) {
				if (!(fields[i].kinds & (1u << kind)) || field_same(&fields[i], x, y))
					continue;
				snprintf(path, sizeof(path), "integrations.%s[%zu].%s",
					 kind_names[kind], k, fields[i].name);
				note(arg, path);
			}
		}
	}
}
