/* SPDX-License-Identifier: MIT */
/*
 * config_device.c - the `devices` list of the configuration file, checked
 * against the device table of config_schema.c: each entry's fields, its
 * activation (ABP: dev_addr + nwk_s_key + app_s_key; OTAA: join_eui +
 * app_key), then uniqueness of names and DevEUIs across entries, and of
 * ABP sessions (DevAddr with NwkSKey: a clone would replay the other's
 * frames). A DevAddr shared by several ABP devices with their own keys is
 * legal: the MIC tells them apart (LoRaWAN 1.0 section 6.1.1). OTAA
 * session keys are derived per join, unique by construction. Also here:
 * the device part of config_print() and of the reference, from the device
 * table of config_schema.c.
 *
 * A device's `fair_access` group (CSD_OVERRIDE) is checked with the rows of
 * the global `fair_access.*` settings, so both accept exactly the same
 * values; keys it leaves out are copied from the global settings once the
 * whole file is read (config__devices_inherit), since the global group may
 * come after the devices.
 */
#include "config/config_device.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_format.h"
#include "config/config_problem.h"
#include "config/config_schema.h"
#include "config/config_value.h"
#include "base/hex.h"
#include "base/lb_err.h"
#include "lorawan/region.h"

/* True if schema entry e is a key of the global group of override field f. */
static bool in_group(const struct cs_entry *e, const struct csd_field *f)
{
	size_t n = strlen(f->name);
	return !strncmp(e->path, f->name, n) && e->path[n] == '.';
}

/* Byte offset of e's value inside the override struct, and its LB_*_SET bit. */
static size_t override_rel(const struct cs_entry *e, const struct csd_field *f)
{
	return e->offset - f->cfg_offset;
}

static unsigned override_bit(const struct cs_entry *e, const struct csd_field *f)
{
	return 1u << (override_rel(e, f) / sizeof(int));
}

/* --- parsing -------------------------------------------------------------- */

static void *dev_field(struct lb_device_conf *d, size_t offset)
{
	return (char *)d + offset;
}

static void parse_tags(struct config__load *c, const config_setting_t *g, const char *label,
		       struct lb_device_conf *d)
{
	if (!config_setting_is_group(g)) {
		error_at(c, g, "%s: tags: expected a group { key = \"value\"; ... }, got %s", label,
			 config__type_desc(g));
		return;
	}
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *t = config_setting_get_elem(g, (unsigned)i);
		const char *key = config_setting_name(t);
		if (config_setting_type(t) != CONFIG_TYPE_STRING) {
			error_at(c, t, "%s: tags.%s: expected a string, got %s", label, key,
				 config__type_desc(t));
			continue;
		}
		if (d->n_tags == CONFIG_MAX_TAGS) {
			error_at(c, t, "%s: tags: more than %d tags", label, CONFIG_MAX_TAGS);
			return;
		}
		/* Room for the group's tags (at most CONFIG_MAX_TAGS), once:
		 * devices without tags cost no array. */
		if (!d->tags) {
			int n = config_setting_length(g);
			d->tags = calloc((size_t)(n < CONFIG_MAX_TAGS ? n : CONFIG_MAX_TAGS),
					 sizeof(*d->tags));
			if (!d->tags) {
				c->nomem = true;
				return;
			}
		}
		struct lb_tag *tag = &d->tags[d->n_tags];
		tag->key = strdup(key);
		tag->value = strdup(config_setting_get_string(t));
		if (!tag->key || !tag->value) {
			free(tag->key);
			free(tag->value);
			tag->key = tag->value = NULL;
			c->nomem = true;
			return;
		}
		d->n_tags++;
	}
}

static bool parse_string_field(struct config__load *c, const struct csd_field *f,
			       const config_setting_t *s, const char *label, struct lb_device_conf *d)
{
	char why[160];

	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		error_at(c, s, "%s: %s: expected a string, got %s", label, f->name, config__type_desc(s));
		return false;
	}
	const char *v = config_setting_get_string(s);
	if (f->check && !f->check(v, why, sizeof(why))) {
		error_at(c, s, "%s: %s: %s", label, f->name, why);
		return false;
	}
	char *copy = strdup(v);
	if (!copy) {
		c->nomem = true;
		return false;
	}
	char **field = dev_field(d, f->offset);
	free(*field);
	*field = copy;
	return true;
}

static bool parse_u32_field(struct config__load *c, const struct csd_field *f,
			    const config_setting_t *s, const char *label, struct lb_device_conf *d)
{
	if (config_setting_type(s) != CONFIG_TYPE_INT && config_setting_type(s) != CONFIG_TYPE_INT64) {
		error_at(c, s, "%s: %s: expected an integer, got %s", label, f->name, config__type_desc(s));
		return false;
	}
	long long v = config__int_value(c, s);
	if (v < 0 || v > (long long)UINT32_MAX) {
		error_at(c, s, "%s: %s: %lld is out of range 0..%lu", label, f->name, v,
			 (unsigned long)UINT32_MAX);
		return false;
	}
	*(uint32_t *)dev_field(d, f->offset) = (uint32_t)v;
	*(bool *)dev_field(d, f->has_offset) = true;
	return true;
}

static bool parse_bool_field(struct config__load *c, const struct csd_field *f,
			     const config_setting_t *s, const char *label, struct lb_device_conf *d)
{
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		error_at(c, s, "%s: %s: expected true or false, got %s", label, f->name,
			 config__type_desc(s));
		return false;
	}
	*(bool *)dev_field(d, f->offset) = config_setting_get_bool(s);
	return true;
}

static bool parse_int_field(struct config__load *c, const struct csd_field *f,
			    const config_setting_t *s, const char *label, struct lb_device_conf *d)
{
	if (config_setting_type(s) != CONFIG_TYPE_INT && config_setting_type(s) != CONFIG_TYPE_INT64) {
		error_at(c, s, "%s: %s: expected an integer, got %s", label, f->name, config__type_desc(s));
		return false;
	}
	long long v = config__int_value(c, s);
	if (v < f->min || v > f->max) {
		error_at(c, s, "%s: %s: %lld is out of range %lld..%lld", label, f->name, v, f->min,
			 f->max);
		return false;
	}
	*(int *)dev_field(d, f->offset) = (int)v;
	return true;
}

static bool parse_choice_field(struct config__load *c, const struct csd_field *f,
			       const config_setting_t *s, const char *label, struct lb_device_conf *d)
{
	char list[96];
	size_t n = 0;

	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		error_at(c, s, "%s: %s: expected a string, got %s", label, f->name, config__type_desc(s));
		return false;
	}
	const char *v = config_setting_get_string(s);
	list[0] = '\0';
	for (size_t i = 0; f->choices[i]; i++) {
		if (!strcmp(f->choices[i], v)) {
			*(int *)dev_field(d, f->offset) = (int)i;
			return true;
		}
		if (n < sizeof(list))
			n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", i ? ", " : "",
					      f->choices[i]);
	}
	error_at(c, s, "%s: %s: '%s' is not one of %s", label, f->name, v, list);
	return false;
}

static bool parse_file_field(struct config__load *c, const struct csd_field *f,
			     const config_setting_t *s, const char *label, struct lb_device_conf *d)
{
	char flabel[128];

	snprintf(flabel, sizeof(flabel), "%s: %s", label, f->name);
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		error_at(c, s, "%s: expected a string, got %s", flabel, config__type_desc(s));
		return false;
	}
	char *full = config__resolve_script(c, s, flabel, config_setting_get_string(s));
	if (!full)
		return false;
	char **field = dev_field(d, f->offset);
	free(*field);
	*field = full;
	return true;
}

/* A group of keys of the global group f->name, each checked by its row. */
static void parse_override(struct config__load *c, const struct csd_field *f,
			   const config_setting_t *g, const char *label, struct lb_device_conf *d)
{
	char prefix[112], path[128];

	if (!config_setting_is_group(g)) {
		error_at(c, g, "%s: %s: expected a group { ... }, got %s", label, f->name,
			 config__type_desc(g));
		return;
	}
	snprintf(prefix, sizeof(prefix), "%s: ", label);
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
		snprintf(path, sizeof(path), "%s.%s", f->name, config_setting_name(m));
		int idx = config__schema_find(path);
		if (idx < 0) {
			warn_at(c, m, "%s: unknown setting '%s' (ignored)", label, path);
			continue;
		}
		const struct cs_entry *e = &config__schema[idx];
		long long v;
		if (!config__parse_number(c, e, m, prefix, &v))
			continue;
		*(int *)dev_field(d, f->offset + override_rel(e, f)) = (int)v;
		*(unsigned *)dev_field(d, f->has_offset) |= override_bit(e, f);
	}
}

void config__devices_inherit(struct config__load *c)
{
	const struct lb_config *cfg = c->cfg;

	for (size_t i = 0; i < config__n_device_fields; i++) {
		const struct csd_field *f = &config__device_fields[i];
		if (f->type != CSD_OVERRIDE)
			continue;
		for (size_t j = 0; j < config__n_schema; j++) {
			const struct cs_entry *e = &config__schema[j];
			if (!in_group(e, f))
				continue;
			int v = *(const int *)((const char *)cfg + e->offset);
			for (size_t k = 0; k < cfg->n_devices; k++) {
				struct lb_device_conf *d = &cfg->devices[k];
				if (!(*(unsigned *)dev_field(d, f->has_offset) & override_bit(e, f)))
					*(int *)dev_field(d, f->offset + override_rel(e, f)) = v;
			}
		}
	}
}

/* n bytes of hex into out. The "device 'x': field" label of the error is
 * formatted only on an error: a fleet's file has hundreds of thousands of
 * keys, and the start-up pays for every snprintf. */
static bool parse_hex_field(struct config__load *c, const struct csd_field *f,
			    const config_setting_t *s, const char *label, uint8_t *out, size_t n)
{
	char flabel[128];

	if (config_setting_type(s) == CONFIG_TYPE_STRING &&
	    hex_decode(config_setting_get_string(s), out, n) == LB_OK)
		return true;
	snprintf(flabel, sizeof(flabel), "%s: %s", label, f->name);
	return config__parse_hex(c, s, flabel, out, n);
}

/* Parse one field; true if its value is valid and stored. */
static bool parse_field(struct config__load *c, const struct csd_field *f, const config_setting_t *s,
			const char *label, struct lb_device_conf *d)
{
	uint8_t b[8];

	switch (f->type) {
	case CSD_STRING:
		return parse_string_field(c, f, s, label, d);
	case CSD_EUI:
		if (!parse_hex_field(c, f, s, label, b, 8))
			return false;
		*(uint64_t *)dev_field(d, f->offset) = config__be_value(b, 8);
		return true;
	case CSD_ADDR:
		if (!parse_hex_field(c, f, s, label, b, 4))
			return false;
		*(uint32_t *)dev_field(d, f->offset) = (uint32_t)config__be_value(b, 4);
		return true;
	case CSD_KEY:
		return parse_hex_field(c, f, s, label, dev_field(d, f->offset), 16);
	case CSD_U32:
		return parse_u32_field(c, f, s, label, d);
	case CSD_TAGS:
		parse_tags(c, s, label, d);
		return true;
	case CSD_CHOICE:
		return parse_choice_field(c, f, s, label, d);
	case CSD_OVERRIDE:
		parse_override(c, f, s, label, d);
		return true;
	case CSD_FILE:
		return parse_file_field(c, f, s, label, d);
	case CSD_BOOL:
		return parse_bool_field(c, f, s, label, d);
	case CSD_INT:
		return parse_int_field(c, f, s, label, d);
	}
	return false;
}

/* "dev_addr, app_s_key": the fields with `flag` that are not in `seen`. */
static void missing_fields(unsigned flag, unsigned seen, char *out, size_t cap)
{
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 0; i < config__n_device_fields && n < cap; i++) {
		if ((config__device_fields[i].flags & flag) && !(seen & 1u << i))
			n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? ", " : "",
					      config__device_fields[i].name);
	}
}

static unsigned flagged_fields(unsigned flag)
{
	unsigned mask = 0;

	for (size_t i = 0; i < config__n_device_fields; i++)
		if (config__device_fields[i].flags & flag)
			mask |= 1u << i;
	return mask;
}

/* Required fields and the activation, from the fields that were written. */
static void check_device(struct config__load *c, const config_setting_t *g, const char *label,
			 unsigned seen, struct lb_device_conf *d)
{
	unsigned abp = flagged_fields(CSD_F_ABP), otaa = flagged_fields(CSD_F_OTAA);
	char missing[96];

	missing_fields(CSD_F_REQUIRED, seen, missing, sizeof(missing));
	if (*missing)
		error_at(c, g, "%s: missing %s", label, missing);
	if (seen & abp) {
		d->activation = LB_ACT_ABP;
		missing_fields(CSD_F_ABP, seen, missing, sizeof(missing));
		if (*missing)
			error_at(c, g, "%s: ABP needs dev_addr, nwk_s_key and app_s_key (missing %s)",
				 label, missing);
		if (seen & otaa)
			warn_at(c, g, "%s: both ABP and OTAA keys given; the device is used as ABP", label);
	} else if (seen & otaa) {
		d->activation = LB_ACT_OTAA;
		missing_fields(CSD_F_OTAA, seen, missing, sizeof(missing));
		if (*missing)
			error_at(c, g, "%s: OTAA needs join_eui and app_key (missing %s)", label, missing);
	} else {
		error_at(c, g, "%s: no keys: ABP needs dev_addr, nwk_s_key and app_s_key, "
			       "OTAA needs join_eui and app_key", label);
	}
}

static int choice_index(const char *const *choices, const char *v)
{
	int i = 0;
	while (choices[i] && strcmp(choices[i], v))
		i++;
	return i;
}

/* Defaults that follow another field: regional_parameters follows
 * lorawan_version (region_rp_default(): the latest revision written for that
 * LoRaWAN version). */
static void derive_defaults(struct lb_device_conf *d, unsigned seen)
{
	int fi = config__device_field_find("regional_parameters");

	if (fi >= 0 && !(seen & 1u << fi))
		d->regional_parameters = (int)region_rp_default((unsigned)d->lorawan_version);
}

static void parse_device(struct config__load *c, const config_setting_t *g, size_t idx,
			 struct lb_device_conf *d, unsigned *seen, unsigned *valid)
{
	const char *name = NULL;
	char label[96];

	d->line = (int)config_setting_source_line(g);
	if (config_setting_lookup_string(g, "name", &name) == CONFIG_TRUE && *name)
		snprintf(label, sizeof(label), "device '%.64s'", name);
	else
		snprintf(label, sizeof(label), "devices[%zu]", idx);
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
		int fi = config__device_field_find(config_setting_name(m));
		if (fi < 0) {
			warn_at(c, m, "%s: unknown setting '%s' (ignored)", label, config_setting_name(m));
			continue;
		}
		*seen |= 1u << fi;
		if (parse_field(c, &config__device_fields[fi], m, label, d))
			*valid |= 1u << fi;
	}
	for (size_t i = 0; i < config__n_device_fields; i++) {
		const struct csd_field *f = &config__device_fields[i];
		char **field = dev_field(d, f->offset);
		if (f->type == CSD_STRING && f->def_str && !*field && !(*field = strdup(f->def_str)))
			c->nomem = true;
		if (f->type == CSD_CHOICE && f->def_str && !(*seen & 1u << i))
			*(int *)dev_field(d, f->offset) = choice_index(f->choices, f->def_str);
		if (f->type == CSD_BOOL && !(*seen & 1u << i))
			*(bool *)dev_field(d, f->offset) = !strcmp(f->def_str, "true");
		if (f->type == CSD_INT && !(*seen & 1u << i))
			*(int *)dev_field(d, f->offset) = (int)f->def_int;
	}
	d->fields_set = *seen;
	derive_defaults(d, *seen);
	check_device(c, g, label, *seen, d);
}

/* "device 'NAME'" or, without a valid name, "devices[IDX]". */
static void device_label(const struct lb_device_conf *d, size_t idx, char *out, size_t cap)
{
	if (d->name && *d->name)
		snprintf(out, cap, "device '%.64s'", d->name);
	else
		snprintf(out, cap, "devices[%zu]", idx);
}

/* Sort keys for the duplicate checks: value, then position in the file. */
struct dup_key {
	uint64_t eui;
	const char *name;
	size_t idx;
};

static int cmp_eui(const void *a, const void *b)
{
	const struct dup_key *x = a, *y = b;
	if (x->eui != y->eui)
		return x->eui < y->eui ? -1 : 1;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

static int cmp_name(const void *a, const void *b)
{
	const struct dup_key *x = a, *y = b;
	int d = strcmp(x->name, y->name);
	return d ? d : (x->idx > y->idx) - (x->idx < y->idx);
}

/*
 * Each later entry with the same DevEUI (or name) as an earlier one is an
 * error at its own line naming the line of the first. Only entries whose
 * field was valid take part. O(n log n) for large device lists.
 */
static void check_duplicates(struct config__load *c, const config_setting_t **where,
			     const unsigned *valid, bool by_eui)
{
	const struct lb_config *cfg = c->cfg;
	unsigned bit = 1u << config__device_field_find(by_eui ? "dev_eui" : "name");
	struct dup_key *keys = calloc(cfg->n_devices, sizeof(*keys));
	size_t n = 0;

	if (!keys) {
		c->nomem = true;
		return;
	}
	for (size_t i = 0; i < cfg->n_devices; i++)
		if (valid[i] & bit)
			keys[n++] = (struct dup_key){cfg->devices[i].dev_eui, cfg->devices[i].name, i};
	qsort(keys, n, sizeof(*keys), by_eui ? cmp_eui : cmp_name);
	for (size_t i = 1, first = 0; i < n; i++) {
		if (by_eui ? keys[i].eui != keys[first].eui : strcmp(keys[i].name, keys[first].name)) {
			first = i;
			continue;
		}
		const struct lb_device_conf *a = &cfg->devices[keys[first].idx];
		const struct lb_device_conf *b = &cfg->devices[keys[i].idx];
		char eui[17], la[96], lb[96];
		hex_format_eui(b->dev_eui, eui);
		device_label(a, keys[first].idx, la, sizeof(la));
		device_label(b, keys[i].idx, lb, sizeof(lb));
		if (by_eui)
			error_at(c, where[keys[i].idx],
				 "%s: duplicate dev_eui %s (already used by %s at line %d)", lb, eui, la,
				 a->line);
		else
			error_at(c, where[keys[i].idx], "%s: duplicate name (first defined at line %d)",
				 lb, a->line);
	}
	free(keys);
}

/* Sort key of the clone check: DevAddr, then NwkSKey, then file position. */
struct clone_key {
	const struct lb_device_conf *d;
	size_t idx;
};

static int cmp_session(const struct lb_device_conf *x, const struct lb_device_conf *y)
{
	if (x->dev_addr != y->dev_addr)
		return x->dev_addr < y->dev_addr ? -1 : 1;
	return memcmp(x->nwk_s_key, y->nwk_s_key, sizeof(x->nwk_s_key));
}

static int cmp_clone(const void *a, const void *b)
{
	const struct clone_key *x = a, *y = b;
	int d = cmp_session(x->d, y->d);
	return d ? d : (x->idx > y->idx) - (x->idx < y->idx);
}

/*
 * Two ABP entries with the same DevAddr and NwkSKey verify the same frames
 * (the MIC covers DevAddr and FCnt under NwkSKey, TS001-1.0.4 section
 * 4.4): the second would accept again, as its own, every frame the first
 * had accepted - a replay through the configuration, never a feature. Each
 * later entry is an error at its own line naming the first. A shared
 * DevAddr with other keys stays legal (the MIC tells them apart).
 */
static void check_clones(struct config__load *c, const config_setting_t **where,
			 const unsigned *valid)
{
	const struct lb_config *cfg = c->cfg;
	unsigned need = 1u << config__device_field_find("dev_addr") |
			1u << config__device_field_find("nwk_s_key");
	struct clone_key *keys = calloc(cfg->n_devices, sizeof(*keys));
	size_t n = 0;

	if (!keys) {
		c->nomem = true;
		return;
	}
	for (size_t i = 0; i < cfg->n_devices; i++)
		if (cfg->devices[i].activation == LB_ACT_ABP && (valid[i] & need) == need)
			keys[n++] = (struct clone_key){&cfg->devices[i], i};
	qsort(keys, n, sizeof(*keys), cmp_clone);
	for (size_t i = 1, first = 0; i < n; i++) {
		if (cmp_session(keys[i].d, keys[first].d) != 0) {
			first = i;
			continue;
		}
		char addr[9], la[96], lb[96];
		hex_format_u32(keys[i].d->dev_addr, addr);
		device_label(keys[first].d, keys[first].idx, la, sizeof(la));
		device_label(keys[i].d, keys[i].idx, lb, sizeof(lb));
		error_at(c, where[keys[i].idx],
			 "%s: same dev_addr %s and nwk_s_key as %s at line %d: it would accept "
			 "that device's frames again as its own (replay); give each ABP device its "
			 "own session keys", lb, addr, la, keys[first].d->line);
	}
	free(keys);
}

void config__parse_devices(struct config__load *c, const config_setting_t *list)
{
	int type = config_setting_type(list);
	size_t n = (size_t)config_setting_length(list);

	if (type == CONFIG_TYPE_ARRAY && n == 0)
		return;
	if (type != CONFIG_TYPE_LIST) {
		error_at(c, list, "devices: expected a list ( { ... }, ... ), got %s",
			 config__type_desc(list));
		return;
	}
	if (n == 0)
		return;
	const config_setting_t **where = calloc(n, sizeof(*where));
	unsigned *seen = calloc(n, sizeof(*seen)), *valid = calloc(n, sizeof(*valid));
	c->cfg->devices = calloc(n, sizeof(*c->cfg->devices));
	if (!where || !seen || !valid || !c->cfg->devices) {
		c->nomem = true;
		goto out;
	}
	c->cfg->n_devices = n;
	for (size_t i = 0; i < n; i++) {
		where[i] = config_setting_get_elem(list, (unsigned)i);
		if (config_setting_is_group(where[i]))
			parse_device(c, where[i], i, &c->cfg->devices[i], &seen[i], &valid[i]);
		else
			error_at(c, where[i], "devices[%zu]: expected a group { ... }, got %s", i,
				 config__type_desc(where[i]));
	}
	check_duplicates(c, where, valid, true);
	check_duplicates(c, where, valid, false);
	check_clones(c, where, valid);
out:
	free(where);
	free(seen);
	free(valid);
}

/* --- config_print(): the devices ------------------------------------------ */

static void print_hex_field(FILE *out, const char *name, const char *hex, bool redact)
{
	fprintf(out, "\t\t%s = \"%s\";\n", name, redact ? "<redacted>" : hex);
}

static bool key_is_set(const uint8_t *k)
{
	static const uint8_t zero[16];
	return memcmp(k, zero, 16) != 0;
}

/* Should field f of d be printed? Keys of the other activation only if set. */
static bool device_field_shown(const struct csd_field *f, const struct lb_device_conf *d)
{
	const char *base = (const char *)d + f->offset;

	if (f->flags & CSD_F_ABP)
		return d->activation == LB_ACT_ABP;
	if (!(f->flags & CSD_F_OTAA))
		return true;
	if (d->activation == LB_ACT_OTAA)
		return true;
	return f->type == CSD_KEY ? key_is_set((const uint8_t *)base) : *(const uint64_t *)base != 0;
}

/* Only the keys the device sets itself: the rest keeps following the
 * global group when the printed file is loaded again. */
static void print_override(FILE *out, const struct csd_field *f, const struct lb_device_conf *d)
{
	unsigned set = *(const unsigned *)((const char *)d + f->has_offset);

	if (!set)
		return;
	fprintf(out, "\t\t%s = {\n", f->name);
	for (size_t i = 0; i < config__n_schema; i++) {
		const struct cs_entry *e = &config__schema[i];
		if (!in_group(e, f) || !(set & override_bit(e, f)))
			continue;
		fprintf(out, "\t\t\t%s = ", e->path + strlen(f->name) + 1);
		config__print_int_value(out, e, *(const int *)((const char *)d + f->offset +
							       override_rel(e, f)));
		fputs(";\n", out);
	}
	fputs("\t\t};\n", out);
}

static void print_device_field(FILE *out, const struct csd_field *f, const struct lb_device_conf *d,
			       bool show_secrets, const char *derived)
{
	const char *base = (const char *)d + f->offset;
	bool redact = (f->flags & CSD_F_SECRET) && !show_secrets;
	char hex[33];

	switch (f->type) {
	case CSD_STRING:
		fprintf(out, "\t\t%s = ", f->name);
		config__print_string(out, *(char *const *)base ? *(char *const *)base : "");
		fputs(";\n", out);
		break;
	case CSD_FILE:
		if (!*(char *const *)base)
			break;
		fprintf(out, "\t\t%s = ", f->name);
		config__print_string(out, *(char *const *)base);
		fputs(";\n", out);
		break;
	case CSD_EUI:
		hex_format_eui(*(const uint64_t *)base, hex);
		print_hex_field(out, f->name, hex, redact);
		break;
	case CSD_ADDR:
		hex_format_u32(*(const uint32_t *)base, hex);
		print_hex_field(out, f->name, hex, redact);
		break;
	case CSD_KEY:
		hex_encode((const uint8_t *)base, 16, hex, sizeof(hex));
		print_hex_field(out, f->name, hex, redact);
		break;
	case CSD_U32:
		if (*(const bool *)((const char *)d + f->has_offset))
			fprintf(out, "\t\t%s = %" PRIu32 "L;\n", f->name, *(const uint32_t *)base);
		break;
	case CSD_CHOICE:
		/* One without a default of its own follows another field when
		 * absent: its value is shown as a comment, so that the printed
		 * file, loaded again, keeps following it. */
		if (!f->def_str && !(d->fields_set & 1u << (f - config__device_fields))) {
			fprintf(out, "\t\t# %s = ", f->name);
			config__print_string(out, f->choices[*(const int *)base]);
			fprintf(out, "; (%s)\n", derived);
			break;
		}
		fprintf(out, "\t\t%s = ", f->name);
		config__print_string(out, f->choices[*(const int *)base]);
		fputs(";\n", out);
		break;
	case CSD_OVERRIDE:
		print_override(out, f, d);
		break;
	/* Only when the entry gives them: an absent one keeps following its
	 * default (or its application) when the printed file is loaded again. */
	case CSD_BOOL:
		if (d->fields_set & 1u << (f - config__device_fields))
			fprintf(out, "\t\t%s = %s;\n", f->name,
				*(const bool *)base ? "true" : "false");
		break;
	case CSD_INT:
		if (d->fields_set & 1u << (f - config__device_fields))
			fprintf(out, "\t\t%s = %d;\n", f->name, *(const int *)base);
		break;
	case CSD_TAGS:
		if (!d->n_tags)
			break;
		fprintf(out, "\t\t%s = {\n", f->name);
		for (size_t i = 0; i < d->n_tags; i++) {
			fprintf(out, "\t\t\t%s = ", d->tags[i].key);
			config__print_string(out, d->tags[i].value);
			fputs(";\n", out);
		}
		fputs("\t\t};\n", out);
		break;
	}
}

/* Where a device's absent regional_parameters came from: its
 * application's entry (config_app.c), else its lorawan_version
 * (derive_defaults()). The only choice without a default of its own. */
static const char *derived_from(const struct lb_config *cfg, const struct lb_device_conf *d)
{
	for (size_t i = 0; i < cfg->n_apps; i++) {
		const struct lb_app_conf *a = &cfg->apps[i];
		if (a->rp_set && d->application && a->name && !strcmp(a->name, d->application))
			return "from its application";
	}
	return "from lorawan_version";
}

void config__print_devices(const struct lb_config *cfg, FILE *out, bool show_secrets)
{
	fputs("devices = (", out);
	for (size_t i = 0; i < cfg->n_devices; i++) {
		const char *derived = derived_from(cfg, &cfg->devices[i]);
		fputs(i ? ",\n\t{\n" : "\n\t{\n", out);
		for (size_t j = 0; j < config__n_device_fields; j++) {
			const struct csd_field *f = &config__device_fields[j];
			if (device_field_shown(f, &cfg->devices[i]))
				print_device_field(out, f, &cfg->devices[i], show_secrets, derived);
		}
		fputs("\t}", out);
	}
	fputs(cfg->n_devices ? "\n);\n" : ");\n", out);
}

/* --- the reference --------------------------------------------------------- */

static const char *const device_type_names[] = {
	[CSD_STRING] = "string", [CSD_EUI] = "hex string (16)", [CSD_ADDR] = "hex string (8)",
	[CSD_KEY] = "hex string (32)", [CSD_U32] = "integer", [CSD_TAGS] = "group of strings",
	[CSD_CHOICE] = "string", [CSD_OVERRIDE] = "group", [CSD_FILE] = "file path",
	[CSD_BOOL] = "boolean", [CSD_INT] = "integer",
};

/* " One of: a, b." or " Keys: a, b." completing the help of field f. */
static void write_values(FILE *out, const struct csd_field *f)
{
	bool first = true;

	if (f->type == CSD_CHOICE) {
		fputs(" One of:", out);
		for (size_t i = 0; f->choices[i]; i++)
			fprintf(out, "%s %s", i ? "," : "", f->choices[i]);
	} else if (f->type == CSD_OVERRIDE) {
		fputs(" Keys:", out);
		for (size_t i = 0; i < config__n_schema; i++) {
			if (!in_group(&config__schema[i], f))
				continue;
			fprintf(out, "%s %s", first ? "" : ",",
				config__schema[i].path + strlen(f->name) + 1);
			first = false;
		}
	} else {
		return;
	}
	fputc('.', out);
}

/* The field's description, whole however long it is; NULL without memory. */
static char *device_description(const struct csd_field *f)
{
	char *desc = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&desc, &len);

	if (!m)
		return NULL;
	fprintf(m, "%s%s", f->flags & CSD_F_REQUIRED ? "Required. " : "", f->help);
	write_values(m, f);
	if (f->type == CSD_INT)
		fprintf(m, " Range %lld..%lld.", f->min, f->max);
	if (fclose(m) != 0) {
		free(desc);
		return NULL;
	}
	return desc;
}

void config__device_reference(FILE *out, enum config_ref_format format)
{
	char def[64];

	for (size_t i = 0; i < config__n_device_fields; i++) {
		const struct csd_field *f = &config__device_fields[i];
		char setting[64];
		snprintf(setting, sizeof(setting), "devices[].%s", f->name);
		if (f->type == CSD_BOOL)
			snprintf(def, sizeof(def), "%s", f->def_str);
		else if (f->type == CSD_INT)
			snprintf(def, sizeof(def), "%lld", f->def_int);
		else if (f->def_str)
			snprintf(def, sizeof(def), "\"%s\"", f->def_str);
		else
			def[0] = '\0';
		char *desc = device_description(f);
		config__ref_row(out, format, setting, device_type_names[f->type], def,
				desc ? desc : f->help);
		free(desc);
	}
	fputs(format == CONFIG_REF_MARKDOWN ? "\n" : ".PP\n", out);
	fputs("A device is ABP when dev_addr, nwk_s_key and app_s_key are all given, "
	      "OTAA when join_eui and app_key are given instead.\n", out);
}
