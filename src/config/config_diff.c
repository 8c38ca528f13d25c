/* SPDX-License-Identifier: MIT */
/* config_diff.c - settings that differ between two configurations. See
 * config_diff.h. */
#include "config/config_diff.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/netaddr.h"
#include "config/config_integ.h"
#include "config/config_schema.h"
#include "config/config_value.h"

static bool allow_entry_same(const struct lb_gw_allow *a, const struct lb_gw_allow *b)
{
	return a->eui == b->eui && a->pinned == b->pinned &&
	       (!a->pinned || (a->net.bits == b->net.bits &&
			       netaddr_equal(&a->net.addr, &b->net.addr)));
}

/* The lists as sets: the order of udp.allow means nothing. The load drops
 * duplicates, so equal lengths and every entry of a in b is equality. */
static bool allow_same(const struct lb_gw_allow *a, size_t na, const struct lb_gw_allow *b,
		       size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++) {
		size_t j = 0;
		while (j < nb && !allow_entry_same(&a[i], &b[j]))
			j++;
		if (j == nb)
			return false;
	}
	return true;
}

#define FIELD(cfg, e, type) (*(const type *)((const char *)(cfg) + (e)->offset))

static bool entry_same(const struct cs_entry *e, const struct lb_config *a,
		       const struct lb_config *b)
{
	switch (e->type) {
	case CS_STRING:
		return config__str_same(FIELD(a, e, char *), FIELD(b, e, char *));
	case CS_INT:
		if ((e->flags & CS_F_OPTIONAL) &&
		    *(const bool *)((const char *)a + e->has_offset) !=
		    *(const bool *)((const char *)b + e->has_offset))
			return false;
		return FIELD(a, e, int) == FIELD(b, e, int);
	case CS_CHOICE:
		return FIELD(a, e, int) == FIELD(b, e, int);
	case CS_U16:
		return FIELD(a, e, uint16_t) == FIELD(b, e, uint16_t);
	case CS_BOOL:
		return FIELD(a, e, bool) == FIELD(b, e, bool);
	case CS_HEX:
		return FIELD(a, e, uint32_t) == FIELD(b, e, uint32_t);
	case CS_GW_ALLOW:
		return allow_same(FIELD(a, e, struct lb_gw_allow *),
				  *(const size_t *)((const char *)a + e->count_offset),
				  FIELD(b, e, struct lb_gw_allow *),
				  *(const size_t *)((const char *)b + e->count_offset));
	}
	return false;
}

/* A row of a group that devices inherit (a CSD_OVERRIDE device field, e.g.
 * fair_access.*): each device takes the global values when the devices are
 * loaded again, which a SIGHUP does, so no restart is needed. */
static bool devices_inherit(const struct cs_entry *e)
{
	for (size_t i = 0; i < config__n_device_fields; i++) {
		const struct csd_field *f = &config__device_fields[i];
		size_t n = strlen(f->name);
		if (f->type == CSD_OVERRIDE && !strncmp(e->path, f->name, n) && e->path[n] == '.')
			return true;
	}
	return false;
}

struct changes {
	char *out;
	size_t cap, len, n;
	bool cut;                       /* a path did not fit: the list ends in "..." */
};

/* Adds path to the list; once one does not fit, the list ends with ", ..."
 * (room for it is kept), and later (shorter) paths are only counted. */
static void note(void *arg, const char *path)
{
	struct changes *c = arg;
	static const char more[] = ", ...";
	const char *sep = c->n++ ? ", " : "";
	size_t need = strlen(sep) + strlen(path);

	if (c->cut)
		return;
	if (c->len + need + sizeof(more) > c->cap) {
		const char *tail = c->len ? more : more + 2;
		c->cut = true;
		if (c->len + strlen(tail) < c->cap)
			c->len += (size_t)snprintf(c->out + c->len, c->cap - c->len, "%s", tail);
		return;
	}
	c->len += (size_t)snprintf(c->out + c->len, c->cap - c->len, "%s%s", sep, path);
}

size_t config_restart_changes(const struct lb_config *a, const struct lb_config *b, char *out,
			      size_t cap)
{
	struct changes c = {.out = out, .cap = cap};

	out[0] = '\0';
	/* The http group added or removed (has_http is not a row of its own):
	 * "http" says it; its rows are not compared then. */
	bool http_changed = a->has_http != b->has_http;
	if (http_changed)
		note(&c, "http");
	for (size_t i = 0; i < config__n_schema; i++) {
		const struct cs_entry *e = &config__schema[i];
		if (devices_inherit(e) || (http_changed && !strncmp(e->path, "http.", 5)))
			continue;
		if (!entry_same(e, a, b))
			note(&c, e->path);
	}
	config__integs_changed(a, b, note, &c);
	return c.n;
}
