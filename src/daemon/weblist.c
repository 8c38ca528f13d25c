/* SPDX-License-Identifier: MIT */
/* weblist.c - the web API's lists as text, piece by piece. See weblist.h. */
#include "daemon/weblist.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonw.h"
#include "base/lb_err.h"
#include "base/log.h"

/* A list's steps, in order; each kind skips those it has not. */
enum step { ST_HEAD, ST_GATEWAYS, ST_MID, ST_DEVICES, ST_TAIL, ST_END };

struct weblist {
	struct weblist_source src;
	enum weblist_kind kind;
	enum step step;
	size_t next;                     /* the next table index of the step */
	bool any;                        /* an item of the step's array was written */
	char *p;                         /* the piece being sent: p[off .. len) */
	size_t off, len, cap;
};

/* The reconnection delay (WHATWG HTML §9.2.6 "retry"), then the event. */
static const char SSE_HEAD[] = "retry: 2000\n\nevent: hello\ndata: ";
#define HEAD_JSON_MAX 64                 /* {"bridge": ,"gateways":[ and the like */

struct weblist *weblist_new(const struct weblist_source *src, enum weblist_kind kind)
{
	struct weblist *l = calloc(1, sizeof(*l));

	if (!l) {
		LB_LOG_RL(LOG_LVL_WARN, "web", "a list was not sent (%s)", "out of memory");
		return NULL;
	}
	l->src = *src;
	l->kind = kind;
	return l;
}

void weblist_done(void *list)
{
	struct weblist *l = list;

	if (!l)
		return;
	free(l->p);
	free(l);
}

/* The piece buffer with room for need bytes. */
static int reserve(struct weblist *l, size_t need)
{
	if (need <= l->cap)
		return LB_OK;
	size_t cap = l->cap ? l->cap : 4096;
	while (cap < need)
		cap *= 2;
	char *p = realloc(l->p, cap);
	if (!p)
		return LB_ERR_NOMEM;
	l->p = p;
	l->cap = cap;
	return LB_OK;
}

/* A line break in the data of a Server-Sent Event starts a new "data: "
 * line (WHATWG HTML §9.2.5; a CR is dropped), as web_sse_frame() frames
 * it: for p[from .. len), which only a decoded object's text, inserted as
 * is, could make need it. */
static int sse_lines(struct weblist *l, size_t from)
{
	size_t n_lf = 0;
	bool cr = false;

	for (size_t i = from; i < l->len; i++) {
		n_lf += l->p[i] == '\n';
		cr = cr || l->p[i] == '\r';
	}
	if (n_lf == 0 && !cr)
		return LB_OK;
	size_t n = l->len - from;
	char *copy = malloc(n);
	if (!copy || reserve(l, l->len + 6 * n_lf + 1) != LB_OK) {
		free(copy);
		return LB_ERR_NOMEM;
	}
	memcpy(copy, l->p + from, n);
	l->len = from;
	for (size_t i = 0; i < n; i++) {
		if (copy[i] == '\n') {
			memcpy(l->p + l->len, "\ndata: ", 7);
			l->len += 7;
		} else if (copy[i] != '\r') {
			l->p[l->len++] = copy[i];
		}
	}
	free(copy);
	return LB_OK;
}

/* jsonw over the piece buffer from `from` (room for cap bytes there). */
static int with_room(struct weblist *l, struct jsonw *jw, size_t from, size_t cap)
{
	int rc = reserve(l, from + cap);

	if (rc == LB_OK)
		jsonw_init(jw, l->p + from, cap);
	return rc;
}

/* An array's item: a comma first unless it is the first (written here:
 * the item's own jsonw starts empty, so it adds none), then room for cap
 * bytes from *from. */
static int item_room(struct weblist *l, struct jsonw *jw, size_t *from, size_t cap)
{
	*from = l->any ? 1 : 0;
	int rc = with_room(l, jw, *from, cap);

	if (rc == LB_OK && l->any)
		l->p[0] = ',';
	l->any = true;
	return rc;
}

static int finish(struct weblist *l, struct jsonw *jw, size_t from)
{
	size_t n;
	int rc = jsonw_finish(jw, &n);

	if (rc != LB_OK)
		return rc;
	l->len = from + n;
	return l->kind == WEBLIST_HELLO ? sse_lines(l, from) : LB_OK;
}

/* HELLO: SSE_HEAD {"bridge":BRIDGE,"gateways":[ ; the lists: {"NAME":[ */
static int piece_head(struct weblist *l)
{
	struct web_bridge_view b;
	struct jsonw jw;
	size_t from = 0;
	int rc;

	if (l->kind == WEBLIST_HELLO) {
		l->src.bridge(l->src.arg, &b);
		from = sizeof(SSE_HEAD) - 1;
		if ((rc = with_room(l, &jw, from, web_json_bridge_cap(&b) + HEAD_JSON_MAX)) != LB_OK)
			return rc;
		memcpy(l->p, SSE_HEAD, from);
		jsonw_open(&jw, '{');
		jsonw_key(&jw, "bridge");
		web_json_w_bridge(&jw, &b);
	} else if ((rc = with_room(l, &jw, 0, HEAD_JSON_MAX)) != LB_OK) {
		return rc;
	} else {
		jsonw_open(&jw, '{');
	}
	if (l->kind == WEBLIST_DEVICES)
		jsonw_key(&jw, "devices");
	else
		jsonw_key(&jw, "gateways");
	jsonw_open(&jw, '[');
	l->step = l->kind == WEBLIST_DEVICES ? ST_DEVICES : ST_GATEWAYS;
	return finish(l, &jw, from);
}

/* The next gateway in use, a comma before all but the first; none left:
 * the next step. */
static int piece_gateway(struct weblist *l)
{
	struct weblist_gw_scratch sc;
	struct web_gw_view v;
	struct jsonw jw;
	size_t from;
	int rc;

	if (!l->src.gateway(l->src.arg, &l->next, &v, &sc)) {
		l->step = l->kind == WEBLIST_HELLO ? ST_MID : ST_TAIL;
		l->next = 0;
		l->any = false;
		return LB_OK;
	}
	if ((rc = item_room(l, &jw, &from, web_json_gateway_cap(&v))) != LB_OK)
		return rc;
	web_json_w_gateway(&jw, &v);
	return finish(l, &jw, from);
}

static int piece_device(struct weblist *l)
{
	struct weblist_dev_scratch sc;
	struct web_dev_view v;
	struct jsonw jw;
	size_t from;
	int rc;

	if (!l->src.device(l->src.arg, l->next++, &v, &sc)) {
		l->step = ST_TAIL;
		return LB_OK;
	}
	if ((rc = item_room(l, &jw, &from, web_json_device_cap(&v))) != LB_OK)
		return rc;
	web_json_w_device(&jw, &v);
	return finish(l, &jw, from);
}

/* Constant text: "],\"devices\":[" between hello's lists, "]}" at the end
 * (and the blank line that ends hello's event). */
static int piece_text(struct weblist *l, const char *text, size_t n, enum step next)
{
	int rc = reserve(l, n);

	if (rc != LB_OK)
		return rc;
	memcpy(l->p, text, n);
	l->len = n;
	l->step = next;
	return LB_OK;
}

/* The next piece into l->p (possibly empty: a step ended). */
static int next_piece(struct weblist *l)
{
	l->off = 0;
	l->len = 0;
	switch (l->step) {
	case ST_HEAD:
		return piece_head(l);
	case ST_GATEWAYS:
		return piece_gateway(l);
	case ST_MID:
		return piece_text(l, "],\"devices\":[", 13, ST_DEVICES);
	case ST_DEVICES:
		return piece_device(l);
	case ST_TAIL:
		if (l->kind == WEBLIST_HELLO)
			return piece_text(l, "]}\n\n", 4, ST_END);
		return piece_text(l, "]}", 2, ST_END);
	case ST_END:
		break;
	}
	return LB_OK;
}

ssize_t weblist_pull(void *list, char *buf, size_t max)
{
	struct weblist *l = list;
	size_t n = 0;

	while (n < max) {
		if (l->off == l->len) {
			if (l->step == ST_END)
				break;
			int rc = next_piece(l);
			if (rc != LB_OK) {
				LB_LOG_RL(LOG_LVL_WARN, "web", "a list was cut short (%s)",
					  lb_strerror(rc));
				return rc;
			}
			continue;
		}
		size_t k = l->len - l->off < max - n ? l->len - l->off : max - n;
		memcpy(buf + n, l->p + l->off, k);
		l->off += k;
		n += k;
	}
	return (ssize_t)n;
}
