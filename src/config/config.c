/* SPDX-License-Identifier: MIT */
/*
 * config.c - loading the configuration file: libconfig parses the syntax,
 * then one walk over the parsed tree, in file order, checks each setting
 * against its row of the schema (config_schema.c), warns about unknown
 * settings, parses the `devices` list, and finally resolves what the
 * devices inherit and checks the rules that span several settings (TLS
 * files, duplicates, downlink parameters of the region). Every problem is
 * collected with its file and line; none stops the walk.
 */
#include "config/config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <unistd.h>
#include <libconfig.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config_app.h"
#include "config/config_device.h"
#include "config/config_integ.h"
#include "config/config_load_state.h"
#include "config/config_problem.h"
#include "config/config_schema.h"
#include "config/config_value.h"
#include "base/hex.h"
#include "base/lb_err.h"
#include "base/netaddr.h"
#include "events/topic.h"
#include "lorawan/region.h"

/* --- defaults and release, driven by the schema ------------------------ */

static void *field_at(void *base, size_t offset)
{
	return (char *)base + offset;
}

int config_defaults(struct lb_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < config__n_schema; i++) {
		const struct cs_entry *e = &config__schema[i];
		void *f = field_at(cfg, e->offset);
		switch (e->type) {
		case CS_STRING:
			if (e->def_str && !(*(char **)f = strdup(e->def_str))) {
				config_free(cfg);
				return LB_ERR_NOMEM;
			}
			break;
		case CS_INT:
		case CS_CHOICE:
			*(int *)f = (int)e->def_int;
			break;
		case CS_U16:
			*(uint16_t *)f = (uint16_t)e->def_int;
			break;
		case CS_HEX:
			*(uint32_t *)f = (uint32_t)e->def_int;
			break;
		case CS_BOOL:
			*(bool *)f = e->def_int != 0;
			break;
		case CS_GW_ALLOW:
			break;
		}
	}
	return LB_OK;
}

static void device_free(struct lb_device_conf *d)
{
	free(d->name);
	free(d->application);
	free(d->application_id);
	free(d->codec_script);
	for (size_t i = 0; i < d->n_tags; i++) {
		free(d->tags[i].key);
		free(d->tags[i].value);
	}
	free(d->tags);
}

void config_free_devices(struct lb_config *cfg)
{
	for (size_t i = 0; i < cfg->n_devices; i++)
		device_free(&cfg->devices[i]);
	free(cfg->devices);
	cfg->devices = NULL;
	cfg->n_devices = 0;
}

void config_free(struct lb_config *cfg)
{
	for (size_t i = 0; i < config__n_schema; i++) {
		const struct cs_entry *e = &config__schema[i];
		if (e->type == CS_STRING || e->type == CS_GW_ALLOW)
			free(*(void **)field_at(cfg, e->offset));
	}
	config_free_devices(cfg);
	config__apps_free(cfg);
	config__integs_free(cfg);
	free(cfg->path);
	memset(cfg, 0, sizeof(*cfg));
}

/* --- settings of the schema ------------------------------------------- */

/* Resolve a file setting against the config file's directory and check
 * that it can be read now (better at --check-config than at connect). */
static bool in_choices(const char *const *choices, const char *v)
{
	for (size_t i = 0; choices[i]; i++)
		if (!strcmp(choices[i], v))
			return true;
	return false;
}

static void parse_string_entry(struct config__load *c, const struct cs_entry *e, const config_setting_t *s)
{
	char why[160];
	char *copy;

	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		error_at(c, s, "%s: expected a string, got %s", e->path, config__type_desc(s));
		return;
	}
	const char *v = config_setting_get_string(s);
	if (e->choices && !in_choices(e->choices, v)) {
		config__report_choices(c, s, e, "", v);
		return;
	}
	if (e->check && !e->check(v, why, sizeof(why))) {
		error_at(c, s, "%s: %s", e->path, why);
		return;
	}
	if (e->flags & CS_F_FILE) {
		copy = config__resolve_file(c, s, e->path, v);
	} else if (!(copy = strdup(v))) {
		c->nomem = true;
	}
	if (!copy)
		return;
	char **field = field_at(c->cfg, e->offset);
	free(*field);
	*field = copy;
}

static void parse_number_entry(struct config__load *c, const struct cs_entry *e, const config_setting_t *s)
{
	long long v;

	if (!config__parse_number(c, e, s, "", &v))
		return;
	if (e->type == CS_U16)
		*(uint16_t *)field_at(c->cfg, e->offset) = (uint16_t)v;
	else
		*(int *)field_at(c->cfg, e->offset) = (int)v;
	if (e->flags & CS_F_OPTIONAL)
		*(bool *)field_at(c->cfg, e->has_offset) = true;
}

static void parse_hex_entry(struct config__load *c, const struct cs_entry *e, const config_setting_t *s)
{
	uint8_t b[4];
	char why[160];

	if (!config__parse_hex(c, s, e->path, b, e->hex_bytes))
		return;
	uint32_t v = (uint32_t)config__be_value(b, e->hex_bytes);
	if (e->icheck && !e->icheck(v, why, sizeof(why))) {
		error_at(c, s, "%s: %s", e->path, why);
		return;
	}
	*(uint32_t *)field_at(c->cfg, e->offset) = v;
}

/* Why the network part of "EUI@NETWORK" does not parse (netprefix_parse()). */
static const char *prefix_problem(int rc)
{
	switch (rc) {
	case LB_ERR_RANGE:
		return "the prefix is longer than the address (IPv4: 0..32, IPv6: 0..128)";
	case LB_ERR_STATE:
		return "the address has bits set beyond the prefix (give the network address)";
	default:
		return "expected a numeric IPv4 or IPv6 address, optionally /PREFIX";
	}
}

/* "EUI@ADDRESS[/PREFIX]": the EUI is checked like any other, the rest by
 * netprefix_parse(). */
static bool parse_pinned(struct config__load *c, const config_setting_t *el, const char *label,
			 const char *v, const char *at, struct lb_gw_allow *out)
{
	char eui[HEX_EUI_LEN + 1];
	size_t n = (size_t)(at - v);

	if (n == HEX_EUI_LEN) {
		memcpy(eui, v, n);
		eui[n] = '\0';
	}
	if (n != HEX_EUI_LEN || hex_parse_u64_eui(eui, &out->eui) != LB_OK) {
		error_at(c, el, "%s: '%s': expected 16 hex digits before '@'", label, v);
		return false;
	}
	int rc = netprefix_parse(at + 1, &out->net);
	if (rc != LB_OK) {
		error_at(c, el, "%s: '%s': after '@': %s", label, v, prefix_problem(rc));
		return false;
	}
	out->pinned = true;
	return true;
}

static bool parse_allow_entry(struct config__load *c, const config_setting_t *el,
			      const char *label, struct lb_gw_allow *out)
{
	uint8_t b[8];

	memset(out, 0, sizeof(*out));
	const char *v = config_setting_type(el) == CONFIG_TYPE_STRING ?
				config_setting_get_string(el) : NULL;
	const char *at = v ? strchr(v, '@') : NULL;
	if (at)
		return parse_pinned(c, el, label, v, at, out);
	if (!config__parse_hex(c, el, label, b, sizeof(b)))
		return false;
	out->eui = config__be_value(b, sizeof(b));
	return true;
}

static bool same_allow(const struct lb_gw_allow *a, const struct lb_gw_allow *b)
{
	return a->eui == b->eui && a->pinned == b->pinned &&
	       (!a->pinned || (a->net.bits == b->net.bits &&
			       netaddr_equal(&a->net.addr, &b->net.addr)));
}

/* An entry listed twice, or an EUI both pinned and not (the plain entry
 * admits it from anywhere, which makes the pin useless): warnings. */
static bool check_allow_dup(struct config__load *c, const config_setting_t *el,
			    const char *label, const struct lb_gw_allow *list, size_t n,
			    const struct lb_gw_allow *e)
{
	for (size_t j = 0; j < n; j++) {
		if (same_allow(&list[j], e)) {
			warn_at(c, el, "%s: '%s' is listed twice", label,
				config_setting_get_string(el));
			return false;
		}
		if (list[j].eui == e->eui && list[j].pinned != e->pinned)
			warn_at(c, el, "%s: gateway %016" PRIx64 " is listed with and without an "
				"address: it is admitted from any address", label, e->eui);
	}
	return true;
}

static void parse_gw_allow(struct config__load *c, const struct cs_entry *e,
			   const config_setting_t *s)
{
	int type = config_setting_type(s);

	if (type != CONFIG_TYPE_ARRAY && type != CONFIG_TYPE_LIST) {
		error_at(c, s, "%s: expected an array of strings [ \"...\", ... ], got %s", e->path,
			 config__type_desc(s));
		return;
	}
	size_t len = (size_t)config_setting_length(s), n = 0;
	struct lb_gw_allow *list = len ? calloc(len, sizeof(*list)) : NULL;
	if (len && !list) {
		c->nomem = true;
		return;
	}
	for (size_t i = 0; i < len; i++) {
		const config_setting_t *el = config_setting_get_elem(s, (unsigned)i);
		char label[64];
		snprintf(label, sizeof(label), "%s[%zu]", e->path, i);
		if (parse_allow_entry(c, el, label, &list[n]) &&
		    check_allow_dup(c, el, label, list, n, &list[n]))
			n++;
	}
	struct lb_gw_allow **field = field_at(c->cfg, e->offset);
	free(*field);
	*field = n ? list : NULL;
	*(size_t *)field_at(c->cfg, e->count_offset) = n;
	if (!n)
		free(list);
}

static void parse_entry(struct config__load *c, size_t idx, const config_setting_t *s)
{
	const struct cs_entry *e = &config__schema[idx];

	c->where[idx] = s;
	switch (e->type) {
	case CS_STRING:
		parse_string_entry(c, e, s);
		break;
	case CS_INT:
	case CS_U16:
	case CS_CHOICE:
		parse_number_entry(c, e, s);
		break;
	case CS_HEX:
		parse_hex_entry(c, e, s);
		break;
	case CS_BOOL:
		if (config_setting_type(s) != CONFIG_TYPE_BOOL)
			error_at(c, s, "%s: expected a boolean (true or false), got %s", e->path,
				 config__type_desc(s));
		else
			*(bool *)field_at(c->cfg, e->offset) = config_setting_get_bool(s) != 0;
		break;
	case CS_GW_ALLOW:
		parse_gw_allow(c, e, s);
		break;
	}
}

static const config_setting_t *where(const struct config__load *c, const char *path)
{
	return c->where[config__schema_find(path)];
}

/* An explicit downlink.join_cflist must be one the join-accept can carry
 * in this region (region_cflist_freq(), the builder's own rule): else the
 * join-accept would go without it, silently. */
static void check_cflist_region(struct config__load *c, const struct region *r)
{
	const char *v = c->cfg->downlink_join_cflist;
	const config_setting_t *s = where(c, "downlink.join_cflist");
	uint32_t f[CONFIG_CFLIST_MAX];
	uint8_t out[REGION_CFLIST_LEN];
	int n = v ? config_cflist_parse(v, f, CONFIG_CFLIST_MAX) : 0;

	if (n <= 0 || region_cflist_freq(r, f, (size_t)n, out) == LB_OK)
		return;
	if (r->cflist_capable != REGION_CFLIST_FREQ) {
		error_at(c, s, "downlink.join_cflist: %s has no CFList of frequencies (its "
			 "channels are fixed): use \"auto\" or \"none\"", r->name);
		return;
	}
	for (int i = 0; i < n; i++) {
		if (f[i] < r->min_hz || f[i] > r->max_hz) {
			error_at(c, s, "downlink.join_cflist: %.7g MHz is outside the %s band "
				 "(%.7g..%.7g MHz)", f[i] / 1e6, r->name, r->min_hz / 1e6,
				 r->max_hz / 1e6);
			return;
		}
	}
	error_at(c, s, "downlink.join_cflist: \"%s\" cannot be sent in a %s CFList "
		 "(frequencies in steps of 100 Hz)", v, r->name);
}

/* The downlink parameters must exist in the region (RP002-1.0.4 "Receive
 * Windows" of each region chapter). Skipped when the region setting itself
 * is wrong. */
static void check_region(struct config__load *c)
{
	const struct lb_config *cfg = c->cfg;
	const config_setting_t *reg = where(c, "region");
	const struct region *r = region_find(cfg->region);

	if (!r || (reg && !(config_setting_get_string(reg) &&
			   !strcmp(config_setting_get_string(reg), cfg->region))))
		return;
	if (cfg->downlink_rx1_dr_offset >= r->n_rx1_offsets)
		error_at(c, where(c, "downlink.rx1_dr_offset"),
			 "downlink.rx1_dr_offset: %d is not allowed in %s (0..%u)",
			 cfg->downlink_rx1_dr_offset, r->name, r->n_rx1_offsets - 1u);
	const struct region_dr *dr = region_dr_info(r, (uint8_t)cfg->downlink_rx2_dr);
	if (cfg->has_downlink_rx2_dr && (!dr || !dr->downlink))
		error_at(c, where(c, "downlink.rx2_dr"),
			 "downlink.rx2_dr: DR%d is not a downlink data rate of %s",
			 cfg->downlink_rx2_dr, r->name);
	uint32_t hz = (uint32_t)cfg->downlink_rx2_frequency;
	if (cfg->has_downlink_rx2_frequency && (hz < r->min_hz || hz > r->max_hz))
		error_at(c, where(c, "downlink.rx2_frequency"),
			 "downlink.rx2_frequency: %" PRIu32 " Hz is outside the %s band "
			 "(%" PRIu32 "..%" PRIu32 ")", hz, r->name, r->min_hz, r->max_hz);
	check_cflist_region(c, r);
}

/* Writes over the network need a password: without one the API is
 * read-only, and even reading it from elsewhere than this host shows every
 * device, so another address than a loopback one needs the password. */
static void check_http(struct config__load *c)
{
	const struct lb_config *cfg = c->cfg;

	if (!cfg->has_http || cfg->http_password || netaddr_text_is_loopback(cfg->http_bind))
		return;
	error_at(c, where(c, "http.bind"), "http.bind: \"%s\" is not a loopback address: set "
		 "http.password (`lorabridge passwd` makes one) or bind to 127.0.0.1 or ::1",
		 cfg->http_bind);
}

/* GWMP has no authentication: a socket reachable from other hosts with no
 * udp.allow takes frames, and answers downlinks, for any gateway EUI that
 * anyone sends (the HTTP side refuses the same exposure without a
 * password; a gateway's address may change, so this only warns). */
static void check_udp_exposed(struct config__load *c)
{
	const struct lb_config *cfg = c->cfg;

	if (cfg->n_udp_allow > 0 || netaddr_text_is_loopback(cfg->udp_bind))
		return;
	warn_at(c, where(c, "udp.bind"), "udp.bind: \"%s\" is not a loopback address and "
		"udp.allow is empty: any host that reaches the port is taken as a gateway (list "
		"the gateways' EUIs in udp.allow)", cfg->udp_bind);
}

/*
 * The daemon compiles mqtt.topic_prefix and each template together
 * (events/topic.h): "eu868/" and "/{dev_eui}" make an empty level though
 * each is fine alone. Reported at the template, or at the prefix when the
 * template is the default; skipped when either was refused already.
 */
static void check_topics(struct config__load *c)
{
	const struct lb_config *cfg = c->cfg;
	const struct {
		const char *path;
		const char *tpl;
		unsigned allowed;
	} t[] = {
		{"mqtt.topics.device_event", cfg->mqtt_topic_device_event, TOPIC_ALLOW_DEVICE_EVENT},
		{"mqtt.topics.device_state", cfg->mqtt_topic_device_state, TOPIC_ALLOW_DEVICE_STATE},
		{"mqtt.topics.device_command", cfg->mqtt_topic_device_command,
		 TOPIC_ALLOW_DEVICE_COMMAND},
		{"mqtt.topics.gateway_event", cfg->mqtt_topic_gateway_event,
		 TOPIC_ALLOW_GATEWAY_EVENT},
		{"mqtt.topics.gateway_state", cfg->mqtt_topic_gateway_state,
		 TOPIC_ALLOW_GATEWAY_STATE},
		{"mqtt.topics.bridge", cfg->mqtt_topic_bridge, TOPIC_ALLOW_BRIDGE},
		{"mqtt.topics.device_field", cfg->mqtt_topic_device_field, TOPIC_ALLOW_DEVICE_FIELD},
	};
	const config_setting_t *pre = where(c, "mqtt.topic_prefix");
	const char *prefix = cfg->mqtt_topic_prefix;

	if (!pre || !prefix || !*prefix || !config_setting_get_string(pre) ||
	    strcmp(config_setting_get_string(pre), prefix))
		return;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const config_setting_t *s = where(c, t[i].path);
		struct topic_tpl tpl;
		char why[160];

		if (!t[i].tpl || (s && (!config_setting_get_string(s) ||
					strcmp(config_setting_get_string(s), t[i].tpl))))
			continue;
		if (topic_compile(&tpl, prefix, t[i].tpl, t[i].allowed, why, sizeof(why)) != LB_OK)
			error_at(c, s ? s : pre, "%s: with mqtt.topic_prefix \"%s\": %s", t[i].path,
				 prefix, why);
	}
}

/* The bridge subscribes to the command topics, and to the field topics
 * with mqtt.publish_fields (the sweep of stale ones), with '+' for each
 * placeholder but {command} ("down"): with the prefix in front, each must
 * take a whole level (MQTT 3.1.1 section 4.7.1.3; events/topic.h
 * topic_filter()), or the subscription fails at the connect. */
static void check_subscribed(struct config__load *c, const char *path, const char *tpl,
			     unsigned allowed, const struct topic_vars *fixed)
{
	const config_setting_t *s = where(c, path), *pre = where(c, "mqtt.topic_prefix");
	const char *prefix = c->cfg->mqtt_topic_prefix;
	struct topic_tpl t;
	char why[160], filter[TOPIC_MAX_TEXT * 2];

	if (!tpl || (!s && !pre))
		return;   /* the defaults */
	if (topic_compile(&t, prefix && *prefix ? prefix : NULL, tpl, allowed, why,
			  sizeof(why)) != LB_OK)
		return;   /* said by the template's own check */
	if (topic_filter(&t, fixed, filter, sizeof(filter)) != LB_OK)
		error_at(c, s ? s : pre, "%s: a placeholder shares its level with other text%s, "
			 "but the bridge subscribes with '+' there (a whole level)", path,
			 prefix && *prefix ? " (mqtt.topic_prefix in front)" : "");
}

/* Rules spanning several settings; reported at the setting that is there. */
static void check_cross(struct config__load *c)
{
	const config_setting_t *ca = where(c, "mqtt.ca_file");
	const config_setting_t *cert = where(c, "mqtt.cert_file");
	const config_setting_t *key = where(c, "mqtt.key_file");
	const config_setting_t *user = where(c, "mqtt.username");
	const config_setting_t *pass = where(c, "mqtt.password");

	if (cert && !key)
		error_at(c, cert, "mqtt.cert_file: mutual TLS needs mqtt.key_file as well");
	if (key && !cert)
		error_at(c, key, "mqtt.key_file: mutual TLS needs mqtt.cert_file as well");
	if ((cert || key) && !ca)
		error_at(c, cert ? cert : key, "%s: mutual TLS needs mqtt.ca_file as well",
			 cert ? "mqtt.cert_file" : "mqtt.key_file");
	if (pass && !user)
		error_at(c, pass, "mqtt.password: needs mqtt.username as well");
	check_http(c);
	check_udp_exposed(c);
	check_region(c);
	check_topics(c);
	check_subscribed(c, "mqtt.topics.device_command", c->cfg->mqtt_topic_device_command,
			 TOPIC_ALLOW_DEVICE_COMMAND, &(struct topic_vars){.command = "down"});
	if (c->cfg->mqtt_publish_fields)
		check_subscribed(c, "mqtt.topics.device_field", c->cfg->mqtt_topic_device_field,
				 TOPIC_ALLOW_DEVICE_FIELD, &(struct topic_vars){0});
}

/* --- the walk over the file -------------------------------------------- */

static void walk_group(struct config__load *c, const config_setting_t *g, const char *prefix)
{
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(m);
		char path[128];

		snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", name);
		int idx = config__schema_find(path);
		if (idx >= 0) {
			parse_entry(c, (size_t)idx, m);
		} else if (config__schema_is_group(path)) {
			if (!strcmp(path, "http"))
				c->cfg->has_http = true;
			if (config_setting_is_group(m))
				walk_group(c, m, path);
			else
				error_at(c, m, "%s: expected a group { ... }, got %s", path,
					 config__type_desc(m));
		} else if (!*prefix && !strcmp(name, "devices")) {
			config__parse_devices(c, m);
		} else if (!*prefix && !strcmp(name, "applications")) {
			config__parse_apps(c, m);
		} else if (!*prefix && !strcmp(name, "integrations")) {
			config__parse_integs(c, m);
		} else {
			warn_at(c, m, "unknown setting '%s' (ignored)", path);
		}
	}
}

/* The main file cannot be opened or read (errno e): missing or not
 * readable by this user, which only an operator can change (LB_ERR_IO), or
 * a failure that may pass (LB_ERR_AGAIN: a restart is worth it). */
static int read_error(int e)
{
	switch (e) {
	case ENOENT: case ENOTDIR: case EACCES: case EPERM: case ELOOP: case EISDIR:
	case ENAMETOOLONG: case ENXIO: case ENODEV:
		return LB_ERR_IO;
	default:
		return e == ENOMEM ? LB_ERR_NOMEM : LB_ERR_AGAIN;
	}
}

/* Read the main file into c->text and index its lines. */
static int read_text(struct config__load *c)
{
	FILE *f = fopen(c->path, "r");
	size_t cap = 0;

	if (!f) {
		int e = errno;
		error_at(c, NULL, "cannot open: %s", strerror(e));
		return read_error(e);
	}
	ssize_t len = getdelim(&c->text, &cap, '\0', f);
	bool failed = ferror(f);
	fclose(f);
	if (failed) {
		int e = errno;
		error_at(c, NULL, "cannot read: %s", strerror(e));
		return read_error(e);
	}
	if (len < 0 && !c->text && !(c->text = strdup("")))
		return LB_ERR_NOMEM;
	if (len < 0)
		c->text[0] = '\0';
	c->n_lines = 1;
	for (const char *p = c->text; (p = strchr(p, '\n')); p++)
		c->n_lines++;
	if (!(c->line_start = calloc(c->n_lines, sizeof(*c->line_start))))
		return LB_ERR_NOMEM;
	size_t n = 1;
	for (const char *p = c->text; (p = strchr(p, '\n')); p++)
		c->line_start[n++] = (size_t)(p + 1 - c->text);
	return LB_OK;
}

/* Absolute directory of the config file, for relative paths and @include. */
static int set_dir(struct config__load *c)
{
	char *abs = realpath(c->path, NULL);

	if (!abs)
		abs = strdup(c->path);
	if (!abs)
		return LB_ERR_NOMEM;
	c->dir = strdup(dirname(abs));
	free(abs);
	return c->dir ? LB_OK : LB_ERR_NOMEM;
}

/*
 * libconfig 1.5 prepends its include_dir even to an absolute @include path,
 * so instead the file is read from within its own directory: relative
 * @include paths resolve against the config file, absolute ones stay as
 * written. The working directory is restored before returning.
 */
static int read_in_dir(config_t *lc, const struct config__load *c, int *err)
{
	char *abs = realpath(c->path, NULL);
	int here = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool moved = abs && here >= 0 && chdir(c->dir) == 0;
	/* Keep the path as the user wrote it when it is absolute: messages
	 * then name the file the way the user knows it. */
	const char *path = (c->path[0] == '/' || !abs) ? c->path : abs;
	int ok = config_read_file(lc, path);

	*err = ok == CONFIG_TRUE ? 0 : errno;   /* its fopen()'s, for CONFIG_ERR_FILE_IO */
	if (moved && fchdir(here) != 0)
		ok = CONFIG_FALSE;
	if (here >= 0)
		close(here);
	free(abs);
	return ok;
}

/* The path of the `@include "PATH"` on line `line` of file, into out;
 * false if that line holds none. */
static bool include_on_line(const char *file, int line, char *out, size_t cap)
{
	FILE *f = fopen(file, "re");
	char buf[4096];
	bool found = false;

	if (!f)
		return false;
	for (int n = 1; !found && fgets(buf, sizeof(buf), f); n++) {
		if (n != line)
			continue;
		char *at = strstr(buf, "@include");
		char *q = at ? strchr(at, '"') : NULL;
		char *end = q ? strchr(q + 1, '"') : NULL;
		if (!end || (size_t)(end - q - 1) >= cap)
			break;
		memcpy(out, q + 1, (size_t)(end - q - 1));
		out[end - q - 1] = '\0';
		found = true;
	}
	fclose(f);
	return found;
}

/* libconfig 1.5 says "cannot open include file" with neither the file nor
 * why: both found again from the line it names, the file opened as
 * read_in_dir() had it read (relative to the configuration's directory). */
static void report_include(struct config__load *c, const char *file, int line)
{
	char inc[1024], *full = NULL;

	if (!include_on_line(file, line, inc, sizeof(inc)) ||
	    (inc[0] != '/' && asprintf(&full, "%s/%s", c->dir, inc) < 0)) {
		config__report_at(c, file, line, true, "cannot open include file");
		return;
	}
	int fd = open(full ? full : inc, O_RDONLY | O_CLOEXEC);
	int err = fd < 0 ? errno : 0;
	if (fd >= 0)
		close(fd);
	config__report_at(c, file, line, true, "cannot open include file \"%s\": %s",
			  full ? full : inc, err ? strerror(err) : "it could not be read");
	free(full);
}

/* ---- files that hold keys, open to other users ------------------------ */

/* The dotted path of a setting of the top level's groups ("mqtt.password"),
 * false for one in a list (a device, an application, an integration) or a
 * path too long to be in the schema. */
static bool group_path(const config_setting_t *s, char *out, size_t cap)
{
	const config_setting_t *up = config_setting_parent(s);
	const char *name = config_setting_name(s);

	if (!name)
		return false;
	if (!up || config_setting_is_root(up))
		return (size_t)snprintf(out, cap, "%s", name) < cap;
	if (!group_path(up, out, cap))
		return false;
	size_t n = strlen(out);
	return (size_t)snprintf(out + n, cap - n, ".%s", name) < cap - n;
}

/* Settings whose value is a secret, from the schema's flags (what
 * --print-config redacts): CS_F_SECRET settings, the device and application
 * keys (CSD_F_SECRET), the integrations' credentials. */
static bool is_secret(const config_setting_t *s)
{
	const char *name = config_setting_name(s);
	char path[256];
	int i;

	if (group_path(s, path, sizeof(path)) && (i = config__schema_find(path)) >= 0 &&
	    (config__schema[i].flags & CS_F_SECRET))
		return true;
	for (size_t k = 0; name && k < config__n_device_fields; k++)
		if ((config__device_fields[k].flags & CSD_F_SECRET) &&
		    !strcmp(name, config__device_fields[k].name))
			return true;
	return config__integ_is_secret(s);
}

/* The files already looked at: each is reported once, at its first secret. */
#define SECRET_FILES_MAX 32
struct secret_files {
	const char *file[SECRET_FILES_MAX];   /* libconfig's strings (live with lc) */
	size_t n;
};

/* A file with keys that others can read, or change (others or the group:
 * they could then put their own keys in), gets a warning naming its mode. */
static void warn_if_open(struct config__load *c, const config_setting_t *s, const char *file)
{
	char *full;
	const char *path = config__source_name(c, file, &full);
	struct stat st;
	int ok = stat(path, &st);

	free(full);
	if (ok != 0 || !(st.st_mode & (S_IROTH | S_IWOTH | S_IWGRP)))
		return;
	warn_at(c, s, "this file holds keys and is %s (mode %04o): chmod 640 it, and "
		"chgrp lorabridge it (the service's group)",
		(st.st_mode & S_IROTH) ? "readable by every user" :
		(st.st_mode & S_IWOTH) ? "writable by every user" : "writable by its group",
		(unsigned)(st.st_mode & 07777));
}

static void find_secrets(struct config__load *c, const config_setting_t *s,
			 struct secret_files *seen)
{
	if (config_setting_is_aggregate(s)) {
		for (int i = 0; i < config_setting_length(s); i++)
			find_secrets(c, config_setting_get_elem(s, (unsigned)i), seen);
		return;
	}
	const char *file = config_setting_source_file(s);
	if (!file || seen->n == SECRET_FILES_MAX || !is_secret(s))
		return;
	for (size_t i = 0; i < seen->n; i++)
		if (!strcmp(seen->file[i], file))
			return;
	seen->file[seen->n++] = file;
	warn_if_open(c, s, file);
}

static int parse_file(struct config__load *c)
{
	config_t lc;
	int err = 0;
	int rc = LB_OK;

	config_init(&lc);
	if (read_in_dir(&lc, c, &err) != CONFIG_TRUE) {
		char *full;
		const char *file = config__source_name(c, config_error_file(&lc), &full);
		const char *text = config_error_text(&lc);
		if (text && !strcmp(text, "cannot open include file"))
			report_include(c, file, config_error_line(&lc));
		else if (config_error_type(&lc) == CONFIG_ERR_FILE_IO && err)
			config__report_at(c, file, config_error_line(&lc), true, "%s: %s", text,
					  strerror(err));
		else
			config__report_at(c, file, config_error_line(&lc), true, "%s", text);
		free(full);
		rc = config_error_type(&lc) == CONFIG_ERR_FILE_IO ? read_error(err) : LB_ERR_CONFIG;
	} else {
		walk_group(c, config_root_setting(&lc), "");
		config__devices_inherit(c);
		config__apps_inherit(c);
		check_cross(c);
	}
	config_destroy(&lc);
	return rc;
}

static int load(const char *path, struct lb_config *cfg, struct config_report *report,
		bool keep_on_error)
{
	struct config_report local = {0};
	struct config__load c = {.path = path, .report = report ? report : &local, .cfg = cfg};
	int rc;

	c.first_problem = c.report->n;
	rc = config_defaults(cfg);
	if (rc == LB_OK && !(cfg->path = strdup(path)))
		rc = LB_ERR_NOMEM;
	if (rc == LB_OK && !(c.where = calloc(config__n_schema, sizeof(*c.where))))
		rc = LB_ERR_NOMEM;
	if (rc == LB_OK)
		rc = read_text(&c);
	if (rc == LB_OK)
		rc = set_dir(&c);
	if (rc == LB_OK)
		rc = parse_file(&c);
	config__sort_problems(c.report, c.first_problem, path);
	if (c.nomem)
		rc = LB_ERR_NOMEM;
	else if (rc == LB_OK && c.n_errors)
		rc = LB_ERR_CONFIG;
	if (rc != LB_OK && !(keep_on_error && rc == LB_ERR_CONFIG))
		config_free(cfg);
	free(c.where);
	free(c.text);
	free(c.line_start);
	free(c.dir);
	config_report_free(&local);
	return rc;
}

int config_load(const char *path, struct lb_config *cfg, struct config_report *report)
{
	return load(path, cfg, report, false);
}

int config_check(const char *path, struct lb_config *cfg, struct config_report *report)
{
	return load(path, cfg, report, true);
}

int config_warn_open_files(const char *path, struct config_report *report)
{
	struct config__load c = {.path = path, .report = report};
	struct secret_files seen = {.n = 0};
	config_t lc;
	int err;

	if (!path || !report)
		return LB_ERR_INVAL;
	c.first_problem = report->n;
	int rc = set_dir(&c);
	config_init(&lc);
	if (rc == LB_OK && read_in_dir(&lc, &c, &err) == CONFIG_TRUE)
		find_secrets(&c, config_root_setting(&lc), &seen);
	config_destroy(&lc);
	free(c.dir);
	return rc == LB_OK && c.nomem ? LB_ERR_NOMEM : rc;
}
