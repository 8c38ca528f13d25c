/*
 * config_device.c - the `devices` list of the configuration file, checked
 * against the device table of config_schema.c: each entry's fields, its
 * activation (ABP: dev_addr + nwk_s_key + app_s_key; OTAA: join_eui +
 * app_key), then uniqueness of names and DevEUIs across entries. A DevAddr
 * shared by several ABP devices is legal: the MIC tells them apart
 * (LoRaWAN 1.0 section 6.1.1).
 */
#include <stdlib.h>
#include <string.h>

#include "config_schema.h"
#include "hex.h"
#include "lb_err.h"

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

/* Parse one field; true if its value is valid and stored. */
static bool parse_field(struct config__load *c, const struct csd_field *f, const config_setting_t *s,
			const char *label, struct lb_device_conf *d)
{
	char flabel[128];
	uint8_t b[8];

	snprintf(flabel, sizeof(flabel), "%s: %s", label, f->name);
	switch (f->type) {
	case CSD_STRING:
		return parse_string_field(c, f, s, label, d);
	case CSD_EUI:
		if (!config__parse_hex(c, s, flabel, b, 8))
			return false;
		*(uint64_t *)dev_field(d, f->offset) = config__be_value(b, 8);
		return true;
	case CSD_ADDR:
		if (!config__parse_hex(c, s, flabel, b, 4))
			return false;
		*(uint32_t *)dev_field(d, f->offset) = (uint32_t)config__be_value(b, 4);
		return true;
	case CSD_KEY:
		return config__parse_hex(c, s, flabel, dev_field(d, f->offset), 16);
	case CSD_U32:
		return parse_u32_field(c, f, s, label, d);
	case CSD_TAGS:
		parse_tags(c, s, label, d);
		return true;
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
	}
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
out:
	free(where);
	free(seen);
	free(valid);
}
