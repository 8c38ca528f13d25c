/* SPDX-License-Identifier: MIT */
/*
 * topic.c - MQTT topic templates: compile once, expand with a copy loop.
 *
 * Topic-name rules: MQTT 3.1.1 §4.7.1 (wildcards '+' and '#' are for
 * subscriptions only), §4.7.3 (at least one character, UTF-8, no U+0000),
 * §1.5.3 (UTF-8 strings: well-formed, no surrogates, control characters
 * "should not" appear). See topic.h for the rules chosen on top of those.
 */
#include "events/topic.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/lb_err.h"

#define PH_OPEN '{'
#define PH_CLOSE '}'
#define PH_MAX_NAME 32
#define STR_(x) #x
#define STR(x) STR_(x)
#define TOPIC_MAX_TEXT_STR STR(TOPIC_MAX_TEXT)

/* Indexed by bit position of enum topic_var. */
static const char *const var_names[] = {
	"application", "dev_eui", "gateway_id", "event", "state", "client_id", "command",
	"field", "application_id",
};
#define N_VARS (sizeof(var_names) / sizeof(var_names[0]))

const char *topic_var_name(enum topic_var v)
{
	for (size_t i = 0; i < N_VARS; i++) {
		if ((unsigned)v == 1u << i)
			return var_names[i];
	}
	return "";
}

void topic_free(struct topic_tpl *t)
{
	if (t)
		memset(t, 0, sizeof(*t));
}

/*
 * Length of the well-formed UTF-8 sequence at s[0..len), or 0 if it is
 * malformed (truncated, overlong, surrogate, above U+10FFFF) - RFC 3629 §4.
 */
static size_t utf8_seq_len(const unsigned char *s, size_t len)
{
	unsigned c = s[0];
	size_t n;
	unsigned min, cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2; min = 0x80; cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3; min = 0x800; cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4; min = 0x10000; cp = c & 0x07;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static bool is_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* Index of the first byte that is not valid topic text, or len if all are. */
static size_t text_check(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		size_t n = utf8_seq_len(u + i, len - i);
		if (n == 0 || (n == 1 && is_control(u[i])))
			return i;
		i += n;
	}
	return len;
}

/* ---------------------------------------------------------------- compile */

struct compiler {
	struct topic_tpl *t;
	unsigned allowed;
	const char *what;            /* "prefix" / "template", for messages */
	bool emitted;                /* anything (literal or placeholder) yet */
	bool last_slash;             /* last thing emitted was '/' */
	char *err;
	size_t errlen;
};

static int fail(struct compiler *c, size_t col, const char *msg)
{
	if (c->err && c->errlen > 0)
		snprintf(c->err, c->errlen, "%s (%s column %zu)", msg, c->what, col + 1);
	return LB_ERR_CONFIG;
}

static int failf_var(struct compiler *c, size_t col, const char *fmt, const char *name)
{
	char msg[160];

	snprintf(msg, sizeof(msg), fmt, name);
	return fail(c, col, msg);
}

static struct topic_seg *last_seg(struct topic_tpl *t)
{
	return t->n_seg ? &t->seg[t->n_seg - 1] : NULL;
}

static int add_literal(struct compiler *c, size_t col, const char *s, size_t n)
{
	struct topic_tpl *t = c->t;
	struct topic_seg *last = last_seg(t);

	if (t->literal_len + n > TOPIC_MAX_TEXT)
		return failf_var(c, col, "topic text longer than %s bytes", TOPIC_MAX_TEXT_STR);
	if (!last || last->var != TOPIC_VAR_NONE) {
		if (t->n_seg == TOPIC_MAX_SEGS)
			return fail(c, col, "too many placeholders in topic");
		last = &t->seg[t->n_seg++];
		last->var = TOPIC_VAR_NONE;
		last->off = (uint16_t)t->literal_len;
		last->len = 0;
	}
	memcpy(t->text + t->literal_len, s, n);
	t->literal_len += n;
	last->len = (uint16_t)(last->len + n);
	return LB_OK;
}

static int add_var(struct compiler *c, size_t col, enum topic_var v)
{
	struct topic_tpl *t = c->t;

	if (t->n_seg == TOPIC_MAX_SEGS)
		return fail(c, col, "too many placeholders in topic");
	t->seg[t->n_seg++] = (struct topic_seg){.var = (uint16_t)v};
	t->used_vars |= (unsigned)v;
	return LB_OK;
}

static enum topic_var var_lookup(const char *name, size_t len)
{
	for (size_t i = 0; i < N_VARS; i++) {
		if (strlen(var_names[i]) == len && memcmp(var_names[i], name, len) == 0)
			return (enum topic_var)(1u << i);
	}
	return TOPIC_VAR_NONE;
}

/* Parse "{name}" at s[i]; on success *end is the index after '}'. */
static int parse_placeholder(struct compiler *c, const char *s, size_t i, size_t *end)
{
	const char *name = s + i + 1;
	size_t len = strcspn(name, "{}/");
	char shown[PH_MAX_NAME + 4];
	enum topic_var v;

	if (name[len] != PH_CLOSE)
		return fail(c, i, "unclosed placeholder: '{' without a matching '}' before the next '/', '{' or the end");
	if (len == 0)
		return fail(c, i, "empty placeholder '{}'");
	v = var_lookup(name, len);
	snprintf(shown, sizeof(shown), "{%.*s}", (int)(len > PH_MAX_NAME ? PH_MAX_NAME : len), name);
	if (v == TOPIC_VAR_NONE)
		return failf_var(c, i, "unknown placeholder %s (known: {application}, "
				 "{application_id}, {dev_eui}, {gateway_id}, {event}, {state}, "
				 "{client_id})", shown);
	if (!(c->allowed & (unsigned)v))
		return failf_var(c, i, "placeholder %s is not available in this topic", shown);
	*end = i + 1 + len + 1;
	return add_var(c, i, v);
}

static int compile_char(struct compiler *c, const char *s, size_t i)
{
	switch (s[i]) {
	case '+':
		return fail(c, i, "'+' is an MQTT wildcard, not allowed in a topic name");
	case '#':
		return fail(c, i, "'#' is an MQTT wildcard, not allowed in a topic name");
	case PH_CLOSE:
		return fail(c, i, "'}' without a matching '{'");
	case '/':
		if (c->emitted && c->last_slash)
			return fail(c, i, "empty topic level ('//'); check that prefix and "
				    "template do not both supply the '/'");
		c->last_slash = true;
		break;
	default:
		c->last_slash = false;
		break;
	}
	c->emitted = true;
	return add_literal(c, i, s + i, 1);
}

static int compile_part(struct compiler *c, const char *s, const char *what)
{
	size_t len = strlen(s);
	size_t bad = text_check(s, len);
	size_t i = 0;
	int rc;

	c->what = what;
	if (bad < len)
		return fail(c, bad, is_control((unsigned char)s[bad]) ?
			    "control character not allowed in a topic" : "invalid UTF-8 in topic");
	while (i < len) {
		if (s[i] == PH_OPEN) {
			size_t end;
			rc = parse_placeholder(c, s, i, &end);
			if (rc)
				return rc;
			c->emitted = true;
			c->last_slash = false;
			i = end;
			continue;
		}
		rc = compile_char(c, s, i);
		if (rc)
			return rc;
		i++;
	}
	return LB_OK;
}

int topic_compile(struct topic_tpl *out, const char *prefix, const char *tpl,
		  unsigned allowed_vars, char *err, size_t errlen)
{
	struct compiler c = {.t = out, .allowed = allowed_vars, .err = err, .errlen = errlen};
	int rc;

	if (err && errlen > 0)
		err[0] = '\0';
	if (!out || !tpl)
		return LB_ERR_INVAL;
	memset(out, 0, sizeof(*out));
	if (prefix && (rc = compile_part(&c, prefix, "prefix")) != LB_OK)
		return rc;
	c.what = "template";
	if (tpl[0] == '\0')
		return fail(&c, 0, "topic template is empty");
	if ((rc = compile_part(&c, tpl, "template")) != LB_OK)
		return rc;
	if (c.last_slash)
		return fail(&c, strlen(tpl) ? strlen(tpl) - 1 : 0,
			    "topic ends with '/', which makes an empty last level");
	return LB_OK;
}

/* ----------------------------------------------------------------- expand */

static const char *var_value(const struct topic_vars *v, enum topic_var which)
{
	switch (which) {
	case TOPIC_VAR_APPLICATION: return v->application;
	case TOPIC_VAR_APPLICATION_ID: return v->application_id;
	case TOPIC_VAR_DEV_EUI: return v->dev_eui;
	case TOPIC_VAR_GATEWAY_ID: return v->gateway_id;
	case TOPIC_VAR_EVENT: return v->event;
	case TOPIC_VAR_STATE: return v->state;
	case TOPIC_VAR_CLIENT_ID: return v->client_id;
	case TOPIC_VAR_COMMAND: return v->command;
	case TOPIC_VAR_FIELD: return v->field;
	default: return NULL;
	}
}

/* Printable ASCII that may stand in a value as it is: not '/', '+' or '#'. */
static bool plain_byte(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '/' && c != '+' && c != '#';
}

#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

/* Does word x (eight bytes of a value) hold a byte that plain_byte()
 * refuses? A flagged byte means one is there (the "has less", "has more"
 * and "has zero" tests of S. E. Anderson's Bit Twiddling Hacks; a carry
 * or borrow only starts at a byte that is itself one). */
static bool word_not_plain(uint64_t x)
{
	uint64_t sl = x ^ (ONES * '/'), p = x ^ (ONES * '+'), h = x ^ (ONES * '#');

	return ((((x - ONES * 0x20) & ~x) | (x + ONES) | x | ((sl - ONES) & ~sl) |
		 ((p - ONES) & ~p) | ((h - ONES) & ~h)) & HIGHS) != 0;
}

/* A substituted value must fill exactly its part of one level: not empty,
 * no '/', '+', '#' or control character, valid UTF-8. One pass, eight
 * plain bytes at a time while they are; the bytes of a multi-byte sequence
 * are all 0x80 and above, so none is one of those. */
static bool value_ok(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	uint64_t x;

	if (len == 0)
		return false;
	for (; len - i >= sizeof(x); i += sizeof(x)) {
		memcpy(&x, s + i, sizeof(x));
		if (word_not_plain(x))
			break;
	}
	while (i < len) {
		if (plain_byte(u[i])) {
			i++;
			continue;
		}
		size_t n = u[i] >= 0x80 ? utf8_seq_len(u + i, len - i) : 0;
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

static int put(char *out, size_t cap, size_t *pos, const char *s, size_t n)
{
	if (n >= cap - *pos || *pos + n > TOPIC_MAX_LEN)
		return LB_ERR_TOO_LARGE;
	memcpy(out + *pos, s, n);
	*pos += n;
	return LB_OK;
}

static int expand_seg(const struct topic_tpl *t, const struct topic_seg *sg,
		      const struct topic_vars *v, char *out, size_t cap, size_t *pos)
{
	const char *val;
	size_t len;

	if (sg->var == TOPIC_VAR_NONE)
		return put(out, cap, pos, t->text + sg->off, sg->len);
	val = var_value(v, (enum topic_var)sg->var);
	if (!val)
		return LB_ERR_INVAL;
	len = strlen(val);
	if (!value_ok(val, len))
		return LB_ERR_INVAL;
	return put(out, cap, pos, val, len);
}

/* ------------------------------------------------------ filter and match */

/* A placeholder fills a whole level when the text around it is '/' or the
 * start/end of the topic. */
static bool seg_is_level(const struct topic_tpl *t, size_t i)
{
	if (i > 0) {
		const struct topic_seg *p = &t->seg[i - 1];
		if (p->var != TOPIC_VAR_NONE || t->text[p->off + p->len - 1] != '/')
			return false;
	}
	if (i + 1 < t->n_seg) {
		const struct topic_seg *n = &t->seg[i + 1];
		if (n->var != TOPIC_VAR_NONE || t->text[n->off] != '/')
			return false;
	}
	return true;
}

/* The topic of t with v's values; filter: a placeholder without a value is
 * '+', which takes a whole level. */
static int expand(const struct topic_tpl *t, const struct topic_vars *v, bool filter, char *out,
		  size_t cap)
{
	size_t pos = 0;

	if (!out || cap == 0)
		return LB_ERR_INVAL;
	out[0] = '\0';
	if (!t || !v || t->n_seg == 0)
		return LB_ERR_INVAL;
	for (size_t i = 0; i < t->n_seg; i++) {
		const struct topic_seg *sg = &t->seg[i];
		int rc;
		if (filter && sg->var != TOPIC_VAR_NONE && !var_value(v, (enum topic_var)sg->var))
			rc = seg_is_level(t, i) ? put(out, cap, &pos, "+", 1) : LB_ERR_CONFIG;
		else
			rc = expand_seg(t, sg, v, out, cap, &pos);
		if (rc) {
			out[0] = '\0';
			return rc;
		}
	}
	out[pos] = '\0';
	return LB_OK;
}

int topic_expand(const struct topic_tpl *t, const struct topic_vars *v, char *out, size_t cap)
{
	return expand(t, v, false, out, cap);
}

int topic_filter(const struct topic_tpl *t, const struct topic_vars *v, char *out, size_t cap)
{
	return expand(t, v, true, out, cap);
}

static char *match_slot(struct topic_match *m, enum topic_var var)
{
	switch (var) {
	case TOPIC_VAR_APPLICATION: return m->application;
	case TOPIC_VAR_APPLICATION_ID: return m->application_id;
	case TOPIC_VAR_DEV_EUI: return m->dev_eui;
	case TOPIC_VAR_COMMAND: return m->command;
	default: return NULL;
	}
}

int topic_match(const struct topic_tpl *t, const char *topic, struct topic_match *m)
{
	const char *p = topic;

	if (!t || !topic || !m || t->n_seg == 0)
		return LB_ERR_INVAL;
	memset(m, 0, sizeof(*m));
	for (size_t i = 0; i < t->n_seg; i++) {
		const struct topic_seg *sg = &t->seg[i];
		if (sg->var == TOPIC_VAR_NONE) {
			if (strncmp(p, t->text + sg->off, sg->len) != 0)
				return LB_ERR_NOT_FOUND;
			p += sg->len;
			continue;
		}
		size_t len = strcspn(p, "/");
		if (len == 0)
			return LB_ERR_NOT_FOUND;
		char *slot = match_slot(m, (enum topic_var)sg->var);
		if (slot) {
			if (len >= TOPIC_MATCH_VALUE_MAX)
				return LB_ERR_TOO_LARGE;
			memcpy(slot, p, len);
			slot[len] = '\0';
		}
		p += len;
	}
	return *p == '\0' ? LB_OK : LB_ERR_NOT_FOUND;
}
