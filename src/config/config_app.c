/* SPDX-License-Identifier: MIT */
/* config_app.c - the `applications` list. See config_app.h. */
#include "config/config_app.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_format.h"
#include "config/config_problem.h"
#include "config/config_schema.h"
#include "config/config_value.h"
#include "lorawan/region.h"

/* The fields of an entry, in the order of the reference. */
enum app_field {
	AF_NAME, AF_ID, AF_CODEC, AF_CODEC_SCRIPT, AF_CLASS, AF_STATUS_INTERVAL, AF_RP, AF__COUNT
};

static const char *const app_field_names[AF__COUNT] = {"name", "id", "codec", "codec_script",
						       "class", "status_interval_h",
						       "regional_parameters"};

#define STATUS_INTERVAL_MAX_H 8760          /* as devices[].status_interval_h */
#define RP_LIST_MAX 160                     /* the revision names, ", "-separated */

/* applicationId is a UUID in ChirpStack's integration.proto (DeviceInfo):
 * 8-4-4-4-12 hex digits (RFC 4122 §3), any case. */
static bool is_uuid(const char *v)
{
	static const char form[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

	if (strlen(v) != sizeof(form) - 1)
		return false;
	for (size_t i = 0; form[i]; i++) {
		if (form[i] == '-' ? v[i] != '-' : !isxdigit((unsigned char)v[i]))
			return false;
	}
	return true;
}

static void parse_name(struct config__load *c, const config_setting_t *s, const char *label,
		       struct lb_app_conf *a)
{
	const char *v;

	if (!config__string_value(c, s, label, &v))
		return;
	if (!*v || strpbrk(v, "+#/")) {
		error_at(c, s, "%s: name: must be a non-empty MQTT topic level (no '+', '#' or '/')",
			 label);
		return;
	}
	config__take_string(c, &a->name, strdup(v));
}

static void parse_id(struct config__load *c, const config_setting_t *s, const char *label,
		     struct lb_app_conf *a)
{
	const char *v;

	if (!config__string_value(c, s, label, &v))
		return;
	if (!is_uuid(v)) {
		error_at(c, s, "%s: id: '%s' is not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
			 label, v);
		return;
	}
	char *copy = strdup(v);
	if (!copy) {
		c->nomem = true;
		return;
	}
	for (char *p = copy; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	free(a->id);
	a->id = copy;
}

static void parse_codec(struct config__load *c, const config_setting_t *s, const char *label,
			struct lb_app_conf *a)
{
	const char *v;

	if (!config__string_value(c, s, label, &v))
		return;
	for (int i = 0; config__codec_names[i]; i++) {
		if (!strcmp(config__codec_names[i], v)) {
			a->codec = i;
			a->codec_set = true;
			return;
		}
	}
	error_at(c, s, "%s: codec: '%s' is not one of none, cayennelpp, js", label, v);
}

static void parse_class(struct config__load *c, const config_setting_t *s, const char *label,
			struct lb_app_conf *a)
{
	const char *v;

	if (!config__string_value(c, s, label, &v))
		return;
	for (int i = 0; config__class_names[i]; i++) {
		if (!strcmp(config__class_names[i], v)) {
			a->dev_class = i;
			a->class_set = true;
			return;
		}
	}
	error_at(c, s, "%s: class: '%s' is not one of A, C", label, v);
}

/* "RP002-1.0.4, ..., 1.0.2revB": the names of region_rp_names, truncated
 * to cap (which the callers' buffers exceed). */
static void rp_list(char *buf, size_t cap)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 0; region_rp_names[i] && n < cap; i++)
		n += (size_t)snprintf(buf + n, cap - n, "%s%s", i ? ", " : "", region_rp_names[i]);
}

static void parse_rp(struct config__load *c, const config_setting_t *s, const char *label,
		     struct lb_app_conf *a)
{
	const char *v;
	char list[RP_LIST_MAX];

	if (!config__string_value(c, s, label, &v))
		return;
	for (int i = 0; region_rp_names[i]; i++) {
		if (!strcmp(region_rp_names[i], v)) {
			a->regional_parameters = i;
			a->rp_set = true;
			return;
		}
	}
	rp_list(list, sizeof(list));
	error_at(c, s, "%s: regional_parameters: '%s' is not one of %s", label, v, list);
}

static void parse_script(struct config__load *c, const config_setting_t *s, const char *label,
			 struct lb_app_conf *a)
{
	const char *v;
	char flabel[128];

	if (!config__string_value(c, s, label, &v))
		return;
	snprintf(flabel, sizeof(flabel), "%s: codec_script", label);
	char *full = config__resolve_script(c, s, flabel, v);
	if (!full)
		return;
	free(a->codec_script);
	a->codec_script = full;
}

static void parse_status_interval(struct config__load *c, const config_setting_t *s,
				  const char *label, struct lb_app_conf *a)
{
	if (config_setting_type(s) != CONFIG_TYPE_INT) {
		error_at(c, s, "%s: status_interval_h: expected an integer, got %s", label,
			 config__type_desc(s));
		return;
	}
	int v = config_setting_get_int(s);
	if (v < 0 || v > STATUS_INTERVAL_MAX_H) {
		error_at(c, s, "%s: status_interval_h: %d is out of range 0..%d", label, v,
			 STATUS_INTERVAL_MAX_H);
		return;
	}
	a->status_interval_h = v;
	a->status_interval_set = true;
}

static void parse_app(struct config__load *c, const config_setting_t *g, size_t idx,
		      struct lb_app_conf *a)
{
	const char *name = NULL;
	char label[96];

	a->line = (int)config_setting_source_line(g);
	if (config_setting_lookup_string(g, "name", &name) == CONFIG_TRUE && *name)
		snprintf(label, sizeof(label), "application '%.64s'", name);
	else
		snprintf(label, sizeof(label), "applications[%zu]", idx);
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
		const char *key = config_setting_name(m);
		if (!strcmp(key, "name"))
			parse_name(c, m, label, a);
		else if (!strcmp(key, "id"))
			parse_id(c, m, label, a);
		else if (!strcmp(key, "codec"))
			parse_codec(c, m, label, a);
		else if (!strcmp(key, "codec_script"))
			parse_script(c, m, label, a);
		else if (!strcmp(key, "class"))
			parse_class(c, m, label, a);
		else if (!strcmp(key, app_field_names[AF_STATUS_INTERVAL]))
			parse_status_interval(c, m, label, a);
		else if (!strcmp(key, app_field_names[AF_RP]))
			parse_rp(c, m, label, a);
		else
			warn_at(c, m, "%s: unknown setting '%s' (ignored)", label, key);
	}
	if (!a->name)
		error_at(c, g, "%s: missing name", label);
}

/* Each later entry with the name of an earlier one is an error. The list
 * is short (applications, not devices): quadratic is fine. */
static void check_unique(struct config__load *c, const config_setting_t *list)
{
	const struct lb_config *cfg = c->cfg;

	for (size_t i = 1; i < cfg->n_apps; i++) {
		for (size_t j = 0; j < i && cfg->apps[i].name; j++) {
			if (!cfg->apps[j].name || strcmp(cfg->apps[i].name, cfg->apps[j].name))
				continue;
			error_at(c, config_setting_get_elem(list, (unsigned)i),
				 "application '%s': duplicate name (first defined at line %d)",
				 cfg->apps[i].name, cfg->apps[j].line);
			break;
		}
	}
}

void config__parse_apps(struct config__load *c, const config_setting_t *list)
{
	int type = config_setting_type(list);
	size_t n = (size_t)config_setting_length(list);

	if (type == CONFIG_TYPE_ARRAY && n == 0)
		return;
	if (type != CONFIG_TYPE_LIST) {
		error_at(c, list, "applications: expected a list ( { ... }, ... ), got %s",
			 config__type_desc(list));
		return;
	}
	if (n == 0)
		return;
	if (!(c->cfg->apps = calloc(n, sizeof(*c->cfg->apps)))) {
		c->nomem = true;
		return;
	}
	c->cfg->n_apps = n;
	for (size_t i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
		if (config_setting_is_group(g))
			parse_app(c, g, i, &c->cfg->apps[i]);
		else
			error_at(c, g, "applications[%zu]: expected a group { ... }, got %s", i,
				 config__type_desc(g));
	}
	check_unique(c, list);
}

static const struct lb_app_conf *find_app(const struct lb_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_apps; i++)
		if (cfg->apps[i].name && name && !strcmp(cfg->apps[i].name, name))
			return &cfg->apps[i];
	return NULL;
}

static bool device_set(const struct lb_device_conf *d, const char *field)
{
	int i = config__device_field_find(field);
	return i >= 0 && (d->fields_set & 1u << i);
}

static void inherit_one(struct config__load *c, struct lb_device_conf *d,
			const struct lb_app_conf *a)
{
	if (a->id && !d->application_id)
		config__take_string(c, &d->application_id, strdup(a->id));
	if (!device_set(d, "codec") && a->codec_set)
		d->codec = a->codec;
	if (!device_set(d, "codec_script") && a->codec_script && !d->codec_script)
		config__take_string(c, &d->codec_script, strdup(a->codec_script));
	if (!device_set(d, "class") && a->class_set)
		d->dev_class = a->dev_class;
	if (!device_set(d, "status_interval_h") && a->status_interval_set)
		d->status_interval_h = a->status_interval_h;
	/* Over the default the device derived from its lorawan_version. */
	if (!device_set(d, "regional_parameters") && a->rp_set)
		d->regional_parameters = a->regional_parameters;
}

/* A "js" codec without a script cannot decode anything: an error, not a
 * device that silently never has an `object`. A script next to another
 * codec is unused: said, not an error. */
static void check_codec(struct config__load *c, const struct lb_device_conf *d)
{
	if (d->codec == LB_CODEC_JS && !d->codec_script)
		config__report_at(c, c->path, d->line, true,
				  "device '%s': codec \"js\" needs codec_script (its own or its "
				  "application's)", d->name ? d->name : "?");
	else if (d->codec != LB_CODEC_JS && d->codec_script && device_set(d, "codec_script"))
		config__report_at(c, c->path, d->line, false,
				  "device '%s': codec_script is only used with codec \"js\" "
				  "(ignored)", d->name ? d->name : "?");
}

void config__apps_inherit(struct config__load *c)
{
	struct lb_config *cfg = c->cfg;

	for (size_t i = 0; i < cfg->n_devices; i++) {
		struct lb_device_conf *d = &cfg->devices[i];
		const struct lb_app_conf *a = find_app(cfg, d->application);
		if (a)
			inherit_one(c, d, a);
		check_codec(c, d);
	}
}

void config__apps_free(struct lb_config *cfg)
{
	for (size_t i = 0; i < cfg->n_apps; i++) {
		free(cfg->apps[i].name);
		free(cfg->apps[i].id);
		free(cfg->apps[i].codec_script);
	}
	free(cfg->apps);
	cfg->apps = NULL;
	cfg->n_apps = 0;
}

static void print_field(FILE *out, const char *name, const char *v)
{
	fprintf(out, "\t\t%s = ", name);
	config__print_string(out, v);
	fputs(";\n", out);
}

void config__print_apps(const struct lb_config *cfg, FILE *out)
{
	fputs("applications = (", out);
	for (size_t i = 0; i < cfg->n_apps; i++) {
		const struct lb_app_conf *a = &cfg->apps[i];
		fputs(i ? ",\n\t{\n" : "\n\t{\n", out);
		print_field(out, app_field_names[AF_NAME], a->name ? a->name : "");
		if (a->id)
			print_field(out, app_field_names[AF_ID], a->id);
		else
			fputs("\t\t# id is not set: applicationId is derived from the name\n", out);
		if (a->codec_set)
			print_field(out, app_field_names[AF_CODEC], config__codec_names[a->codec]);
		if (a->codec_script)
			print_field(out, app_field_names[AF_CODEC_SCRIPT], a->codec_script);
		if (a->class_set)
			print_field(out, app_field_names[AF_CLASS], config__class_names[a->dev_class]);
		if (a->status_interval_set)
			fprintf(out, "\t\t%s = %d;\n", app_field_names[AF_STATUS_INTERVAL],
				a->status_interval_h);
		if (a->rp_set)
			print_field(out, app_field_names[AF_RP],
				    region_rp_names[a->regional_parameters]);
		fputs("\t}", out);
	}
	fputs(cfg->n_apps ? "\n);\n" : ");\n", out);
}

void config__app_reference(FILE *out, enum config_ref_format format)
{
	static const struct {
		const char *type, *def, *help;
	} rows[AF__COUNT] = {
		[AF_NAME] = {"string", "", "Required. Application name: the devices whose "
					   "`application` is this name inherit the entry's values."},
		[AF_ID] = {"string", "", "Optional UUID, applicationId in deviceInfo of events."},
		[AF_CODEC] = {"string", "\"none\"", "Payload codec of its devices that set none. "
						    "One of: none, cayennelpp, js."},
		[AF_CODEC_SCRIPT] = {"file path", "", "JavaScript file of the \"js\" codec for its "
						      "devices that set none, relative to the "
						      "configuration file's directory."},
		[AF_CLASS] = {"string", "\"A\"", "LoRaWAN class of its devices that set none. "
						 "One of: A, C."},
		[AF_STATUS_INTERVAL] = {"integer", "", "DevStatusReq period in hours of its "
						       "devices that set none (devices[]."
						       "status_interval_h). Range 0..8760."},
		[AF_RP] = {"string", "", "Regional Parameters revision of its devices that set "
					 "none (devices[].regional_parameters), over the one "
					 "their lorawan_version gives. One of: "},   /* + names */
	};
	char setting[64], list[RP_LIST_MAX], help[256 + RP_LIST_MAX];

	rp_list(list, sizeof(list));
	for (size_t i = 0; i < AF__COUNT; i++) {
		const char *h = rows[i].help;
		if (i == AF_RP) {
			snprintf(help, sizeof(help), "%s%s.", rows[i].help, list);
			h = help;
		}
		snprintf(setting, sizeof(setting), "applications[].%s", app_field_names[i]);
		config__ref_row(out, format, setting, rows[i].type, rows[i].def, h);
	}
	fputs(format == CONFIG_REF_MARKDOWN ? "\n" : ".PP\n", out);
}
