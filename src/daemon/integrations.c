/* SPDX-License-Identifier: MIT */
/* integrations.c - webhooks and InfluxDB over HTTP. See integrations.h. */
#include "daemon/integrations.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hex.h"
#include "base/lb_err.h"
#include "base/url.h"
#include "base/log.h"
#include "config/config_integ.h"
#include "events/influx_line.h"
#include "io/loop.h"

#define BACKOFF_FIRST_MS 1000

_Static_assert(LB_INTEGS_MAX * LB_INTEG_PARALLEL_MAX <= HTTP_MAX_CONNECTIONS,
	       "every configuration's connections fit the transport");

/* One event waiting for its integration. */
struct item {
	char *url;                     /* HTTP: where it goes (expanded, ?event= added) */
	char *body;                    /* HTTP: JSON; InfluxDB: its lines */
	size_t len;
	char *application;
	uint64_t dev_eui;
	bool is_log;
};

/* One request in flight and the events it carries. */
struct req {
	struct integ *ig;
	struct item **items;
	size_t n;
	char *body;                    /* InfluxDB: the batch */
	uint64_t round;                /* integ.round when it started */
	struct req *prev, *next;
};

struct integ {
	struct integrations *owner;
	const struct lb_integ_conf *conf;
	struct item **ring;            /* waiting events, oldest at head */
	size_t ring_cap, head, n;
	size_t inflight;               /* events in requests in flight */
	size_t reqs;                   /* requests in flight */
	size_t max_reqs;
	char **hdrs;                   /* "Name: value" lines */
	size_t n_hdrs;
	char *write_url;               /* InfluxDB */
	bool url_vars;                 /* HTTP url has placeholders */
	int64_t retry_at_ms;
	int64_t backoff_ms;
	uint64_t round;                /* back-offs set so far: a request's round */
	uint64_t streak;               /* failed attempts in a row */
	uint64_t sent, retried, failed, dropped;
	struct req *req_list;
};

/* --- items and the ring ------------------------------------------------- */

static void item_free(struct item *x)
{
	if (!x)
		return;
	free(x->url);
	free(x->body);
	free(x->application);
	free(x);
}

static bool ring_grow(struct integ *ig)
{
	size_t cap = ig->ring_cap ? ig->ring_cap * 2 : 64;
	struct item **r = malloc(cap * sizeof(*r));
	if (!r)
		return false;
	for (size_t i = 0; i < ig->n; i++)
		r[i] = ig->ring[(ig->head + i) % ig->ring_cap];
	free(ig->ring);
	ig->ring = r;
	ig->ring_cap = cap;
	ig->head = 0;
	return true;
}

static bool ring_push_back(struct integ *ig, struct item *x)
{
	if (ig->n == ig->ring_cap && !ring_grow(ig))
		return false;
	ig->ring[(ig->head + ig->n++) % ig->ring_cap] = x;
	return true;
}

static bool ring_push_front(struct integ *ig, struct item *x)
{
	if (ig->n == ig->ring_cap && !ring_grow(ig))
		return false;
	ig->head = (ig->head + ig->ring_cap - 1) % ig->ring_cap;
	ig->ring[ig->head] = x;
	ig->n++;
	return true;
}

static struct item *ring_pop(struct integ *ig)
{
	if (ig->n == 0)
		return NULL;
	struct item *x = ig->ring[ig->head];
	ig->head = (ig->head + 1) % ig->ring_cap;
	ig->n--;
	return x;
}

static void drop(struct integ *ig, struct item *x, const char *why)
{
	ig->dropped++;
	LB_LOG_RL(LOG_LVL_WARN, "integrations", "%s: event dropped (%s); %" PRIu64 " dropped so far",
		  ig->conf->name, why, ig->dropped);
	item_free(x);
}

/* Beyond queue_limit (waiting + in flight) the oldest waiting one goes.
 * Events in flight cannot be taken back: when every queued event is in
 * flight (queue_limit <= parallel, or <= one InfluxDB batch), the oldest
 * not in flight is the new one, and it is dropped (counted). */
static void enqueue(struct integ *ig, struct item *x)
{
	if (ig->n + ig->inflight >= (size_t)ig->conf->queue_limit) {
		if (ig->n == 0) {
			drop(ig, x, "queue_limit reached with every queued event in flight: the new one");
			return;
		}
		drop(ig, ring_pop(ig), "queue_limit reached: the oldest waiting");
	}
	if (!ring_push_back(ig, x))
		drop(ig, x, "out of memory");
}

/* --- building what an event becomes ------------------------------------ */

/* RFC 3986 §2.3: unreserved characters stay, the rest is %XX. */
static void url_escape(char *out, size_t cap, size_t *n, const char *s)
{
	static const char hexd[] = "0123456789ABCDEF";
	for (; *s && *n + 4 < cap; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("-._~", c)) {
			out[(*n)++] = (char)c;
		} else {
			out[(*n)++] = '%';
			out[(*n)++] = hexd[c >> 4];
			out[(*n)++] = hexd[c & 15];
		}
	}
	out[*n] = '\0';
}

static const char *device_name(json_object *ev)
{
	json_object *di, *v;
	if (ev && json_object_object_get_ex(ev, "deviceInfo", &di) &&
	    json_object_object_get_ex(di, "deviceName", &v) && json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return "";
}

/* The HTTP url of one event: placeholders expanded, ?event= added
 * (ChirpStack's HTTP integration convention). NULL: out of memory or too
 * long (then logged by the caller). */
static char *event_url(const struct lb_integ_conf *c, const char *application, uint64_t dev_eui,
		       const char *event, json_object *ev)
{
	char out[URL_MAX], eui[17];
	size_t n = 0;

	hex_format_eui(dev_eui, eui);
	for (const char *p = c->url; *p && n + 1 < sizeof(out);) {
		const char *val = NULL;
		size_t skip = 0;
		if (!strncmp(p, "{dev_eui}", 9))
			val = eui, skip = 9;
		else if (!strncmp(p, "{device_name}", 13))
			val = device_name(ev), skip = 13;
		else if (!strncmp(p, "{application}", 13))
			val = application, skip = 13;
		if (val) {
			url_escape(out, sizeof(out), &n, val);
			p += skip;
			continue;
		}
		out[n++] = *p++;
		out[n] = '\0';
	}
	out[n] = '\0';
	int w = snprintf(out + n, sizeof(out) - n, "%cevent=%s", strchr(out, '?') ? '&' : '?',
			 event);
	if (w < 0 || (size_t)w >= sizeof(out) - n)
		return NULL;
	return strdup(out);
}

/* What is kept of an event for one integration; NULL when it does not
 * take it (or it cannot be built: counted as dropped and logged). */
struct event_in {
	const char *application;
	uint64_t dev_eui;
	const char *event;
	const char *json;
	size_t len;
	json_object *parsed;           /* parsed once, on first need */
	bool parse_failed;
	int64_t ts_ns;
};

static json_object *parsed(struct event_in *e)
{
	if (!e->parsed && !e->parse_failed) {
		e->parsed = json_tokener_parse(e->json);
		e->parse_failed = !e->parsed;
	}
	return e->parsed;
}

static struct item *item_new(const struct event_in *e)
{
	struct item *x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	x->dev_eui = e->dev_eui;
	x->is_log = !strcmp(e->event, "log");
	x->application = strdup(e->application ? e->application : "");
	if (!x->application) {
		free(x);
		return NULL;
	}
	return x;
}

static struct item *http_item(struct integ *ig, struct event_in *e)
{
	const struct lb_integ_conf *c = ig->conf;
	json_object *obj = NULL;

	if (!(c->events & config_integ_event_bit(e->event)))
		return NULL;
	if (c->body == LB_INTEG_BODY_OBJECT &&
	    (!parsed(e) || !json_object_object_get_ex(parsed(e), "object", &obj)))
		return NULL; /* nothing decoded: nothing to send */
	struct item *x = item_new(e);
	if (!x) {
		drop(ig, NULL, "out of memory");
		return NULL;
	}
	x->url = event_url(c, e->application, e->dev_eui, e->event, ig->url_vars ? parsed(e) : NULL);
	if (obj) {
		size_t len;
		const char *s = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN, &len);
		x->body = s ? strndup(s, len) : NULL;
		x->len = len;
	} else {
		x->body = strndup(e->json, e->len);
		x->len = e->len;
	}
	if (!x->url || !x->body) {
		item_free(x);
		drop(ig, NULL, "out of memory or url longer than 2048 bytes");
		return NULL;
	}
	return x;
}

static struct item *influx_item(struct integ *ig, struct event_in *e)
{
	char *lines = ig->owner->scratch;
	size_t len = 0;

	if (strcmp(e->event, "up") && strcmp(e->event, "status"))
		return NULL;
	int rc = parsed(e) ? influx_lines(e->event, parsed(e), e->ts_ns, lines, INTEGRATIONS_POINTS_MAX,
					 &len)
			   : LB_ERR_JSON;
	if (rc != LB_OK) {
		drop(ig, NULL, lb_strerror(rc));
		return NULL;
	}
	if (len == 0)
		return NULL;
	struct item *x = item_new(e);
	if (x && !(x->body = strndup(lines, len))) {
		item_free(x);
		x = NULL;
	}
	if (!x)
		drop(ig, NULL, "out of memory");
	else
		x->len = len;
	return x;
}

/* A gateway's clock can be wrong (no GPS or NTP: stuck at 1970, or any
 * year up to 9999 in rxpk.time): a point further than
 * INTEGRATIONS_TIME_SLACK_US from the bridge's reception time would fall
 * outside the retention, or overflow the time in ns; it takes the
 * reception time instead. */
static int64_t point_time_us(int64_t event_us, int64_t received_us)
{
	if (received_us < INTEGRATIONS_TIME_SLACK_US ||
	    received_us > INT64_MAX / 1000 - INTEGRATIONS_TIME_SLACK_US)
		return received_us; /* the bridge's own clock: taken as is */
	if (event_us < received_us - INTEGRATIONS_TIME_SLACK_US ||
	    event_us > received_us + INTEGRATIONS_TIME_SLACK_US)
		return received_us;
	return event_us;
}

/* The point's time in ns: the µs, then below it the events with points
 * counted (mod 1000). -1 (no time: the server's) when the ns would not fit
 * (a clock before 1970 or after 2262). */
static int64_t point_time_ns(struct integrations *it, int64_t us)
{
	if (us < 0 || us > (INT64_MAX - 999) / 1000)
		return -1;
	return us * 1000 + (int64_t)(it->ts_seq++ % 1000);
}

void integrations_event(struct integrations *it, const char *application, uint64_t dev_eui,
			const char *event, const char *json, size_t len, int64_t event_us,
			int64_t received_us)
{
	struct event_in e = {.application = application, .dev_eui = dev_eui, .event = event,
			     .json = json, .len = len};

	if (it->n == 0)
		return;
	/* Two points of one series at the same time would overwrite each
	 * other in InfluxDB: below the event's microsecond, the nanoseconds
	 * count the events with points (mod 1000), so events of one µs differ
	 * and each keeps its own time, even when times go back (gateways). */
	if (!strcmp(event, "up") || !strcmp(event, "status"))
		e.ts_ns = point_time_ns(it, point_time_us(event_us, received_us));
	for (size_t i = 0; i < it->n; i++) {
		struct integ *ig = &it->v[i];
		struct item *x = ig->conf->kind == LB_INTEG_HTTP ? http_item(ig, &e)
								 : influx_item(ig, &e);
		if (x)
			enqueue(ig, x);
	}
	if (e.parsed)
		json_object_put(e.parsed);
}

/* --- requests ------------------------------------------------------------ */

static void req_free(struct req *r)
{
	struct integ *ig = r->ig;
	if (r->prev)
		r->prev->next = r->next;
	else if (ig->req_list == r)
		ig->req_list = r->next;
	if (r->next)
		r->next->prev = r->prev;
	free(r->items);
	free(r->body);
	free(r);
}

static void requeue(struct integ *ig, struct req *r)
{
	for (size_t i = r->n; i-- > 0;) {
		if (!ring_push_front(ig, r->items[i]))
			drop(ig, r->items[i], "out of memory");
		r->items[i] = NULL;
	}
}

/* Wait before sending again: 1 s, doubling per round of failures up to
 * retry_max_ms. With parallel requests, the ones that fail together are
 * one round: only a failure of a request started after the last back-off
 * was set (r NULL: none was in flight) doubles it; the others leave it. */
static void backoff(struct integ *ig, const struct req *r)
{
	int64_t max = ig->conf->retry_max_ms;
	if (ig->backoff_ms && r && r->round != ig->round)
		return;
	ig->backoff_ms = ig->backoff_ms ? ig->backoff_ms * 2 : BACKOFF_FIRST_MS;
	if (ig->backoff_ms > max)
		ig->backoff_ms = max;
	ig->retry_at_ms = loop_now_ms() + ig->backoff_ms;
	ig->round++;
}

static void describe(const struct http_result *res, char *out, size_t cap)
{
	if (res->rc != LB_OK) {
		snprintf(out, cap, "%s (%s)", lb_strerror(res->rc), res->error);
		return;
	}
	int n = snprintf(out, cap, "HTTP %ld", res->status);
	if (res->answer_len && n > 0 && (size_t)n < cap)
		snprintf(out + n, cap - (size_t)n, ": %.*s", (int)(res->answer_len > 200
								  ? 200 : res->answer_len),
			 res->answer);
}

/* A refusal (4xx): one `log` event per device concerned, none for log
 * events, for at most REPORTED_MAX devices per request (an InfluxDB batch
 * may hold 100000 events): the events of further devices are counted in
 * one log line. Bounded work: n x REPORTED_MAX comparisons at most. */
#define REPORTED_MAX 64

static void report_refused(struct integ *ig, struct req *r, const char *why)
{
	struct integrations *it = ig->owner;
	uint64_t reported[REPORTED_MAX];
	size_t n_reported = 0, unreported = 0;
	char desc[512];

	snprintf(desc, sizeof(desc), "integration %s refused the event: %s", ig->conf->name, why);
	for (size_t i = 0; i < r->n; i++) {
		const struct item *x = r->items[i];
		bool seen = x->is_log;
		for (size_t j = 0; j < n_reported && !seen; j++)
			seen = reported[j] == x->dev_eui;
		if (seen)
			continue;
		if (n_reported == REPORTED_MAX) {
			unreported++;
			continue;
		}
		reported[n_reported++] = x->dev_eui;
		if (it->c.report)
			it->c.report(it->c.report_arg, x->application, x->dev_eui, desc);
	}
	if (unreported)
		LB_LOG_RL(LOG_LVL_WARN, "integrations", "%s: %zu refused event(s) of devices beyond "
			  "the first %d have no log event", ig->conf->name, unreported, REPORTED_MAX);
}

/* Worth trying again: no connection, a reset, a TLS failure (LB_ERR_IO),
 * a timeout, no memory now. Anything else (LB_ERR_INVAL: an option libcurl
 * refuses) would fail the same way every time. */
static bool transient(int rc)
{
	return rc == LB_ERR_IO || rc == LB_ERR_TIMEOUT || rc == LB_ERR_NOMEM;
}

static void delivered(struct integ *ig, struct req *r)
{
	if (ig->streak)
		log_notice("integrations", "%s: delivering again after %" PRIu64 " failed "
			   "attempt(s)", ig->conf->name, ig->streak);
	ig->sent += r->n;
	ig->streak = 0;
	ig->backoff_ms = 0;
	ig->retry_at_ms = 0;
}

/* A 429 or 503 answer's Retry-After (RFC 9110 §10.2.3, RFC 6585 §4) says
 * when to come back: it replaces the back-off's wait, at most retry_max_ms.
 * The back-off's doubling goes on as before for the rounds after. */
static void retry_after(struct integ *ig, const struct http_result *res)
{
	if (res->rc != LB_OK || (res->status != 429 && res->status != 503) ||
	    res->retry_after_s <= 0)
		return;
	int64_t max = ig->conf->retry_max_ms;
	int64_t wait = res->retry_after_s > max / 1000 ? max : res->retry_after_s * 1000;
	ig->retry_at_ms = loop_now_ms() + wait;
}

/* The events go back to the head of the queue, after a back-off. */
static void retry_later(struct integ *ig, struct req *r, const char *why)
{
	ig->retried += r->n;
	if (ig->streak++ == 0)
		log_warn("integrations", "%s: %s: retrying with back-off (up to %d ms)",
			 ig->conf->name, why, ig->conf->retry_max_ms);
	else
		LB_LOG_RL(LOG_LVL_WARN, "integrations", "%s: still failing: %s; %zu event(s) "
			  "waiting", ig->conf->name, why, ig->n + ig->inflight + r->n);
	requeue(ig, r);
	backoff(ig, r);
}

/* Given up: counted, logged, reported per device. */
static void give_up(struct integ *ig, struct req *r, const char *why)
{
	ig->failed += r->n;
	LB_LOG_RL(LOG_LVL_WARN, "integrations", "%s: %s: %zu event(s) given up, not retried",
		  ig->conf->name, why, r->n);
	report_refused(ig, r, why);
}

/* InfluxDB 1.x answers a batch of which some points were refused (a field
 * type conflict, a malformed line) with 400 and {"error":"partial write:
 * ... dropped=N"}, having written the others (/write API, "partial
 * write"); 2.x may say the same with 422. Then the batch is sent: retrying
 * would be refused again, giving up would count written points as lost. */
static bool partial_write(const struct integ *ig, const struct http_result *res)
{
	static const char mark[] = "partial write";
	return ig->conf->kind == LB_INTEG_INFLUXDB && res->rc == LB_OK &&
	       (res->status == 400 || res->status == 422) && res->answer &&
	       memmem(res->answer, res->answer_len, mark, sizeof(mark) - 1);
}

static void on_done(void *arg, const struct http_result *res)
{
	struct req *r = arg;
	struct integ *ig = r->ig;
	char why[320];

	ig->reqs--;
	ig->inflight -= r->n;
	describe(res, why, sizeof(why));
	if (res->rc == LB_OK && res->status >= 200 && res->status < 300) {
		delivered(ig, r);
	} else if (partial_write(ig, res)) {
		LB_LOG_RL(LOG_LVL_WARN, "integrations", "%s: a batch of %zu event(s) was written in "
			  "part, some points refused: %s", ig->conf->name, r->n, why);
		delivered(ig, r);
	} else if (res->rc == LB_OK ? res->status == 429 || res->status >= 500
				    : transient(res->rc)) {
		retry_later(ig, r, why);
		retry_after(ig, res);
	} else {
		give_up(ig, r, why);
	}
	for (size_t i = 0; i < r->n; i++)
		item_free(r->items[i]);
	req_free(r);
}

/* The next request's events and body. */
static struct req *req_take(struct integ *ig)
{
	size_t max = ig->conf->kind == LB_INTEG_HTTP ? 1 : (size_t)ig->conf->batch_size;
	size_t n = ig->n < max ? ig->n : max;
	struct req *r = calloc(1, sizeof(*r));

	if (!r || !(r->items = calloc(n, sizeof(*r->items)))) {
		free(r);
		return NULL;
	}
	r->ig = ig;
	size_t bytes = 0;
	for (size_t i = 0; i < n; i++) {
		r->items[i] = ig->ring[(ig->head + i) % ig->ring_cap];
		bytes += r->items[i]->len;
	}
	if (ig->conf->kind == LB_INTEG_INFLUXDB) {
		if (!(r->body = malloc(bytes + 1))) {
			free(r->items);
			free(r);
			return NULL;
		}
		size_t off = 0;
		for (size_t i = 0; i < n; i++) {
			memcpy(r->body + off, r->items[i]->body, r->items[i]->len);
			off += r->items[i]->len;
		}
		r->body[off] = '\0';
	}
	r->n = n;
	for (size_t i = 0; i < n; i++)
		(void)ring_pop(ig);
	return r;
}

static bool start_one(struct integ *ig)
{
	struct integrations *it = ig->owner;
	const struct lb_integ_conf *c = ig->conf;
	struct req *r = req_take(ig);

	if (!r) {
		LB_LOG_RL(LOG_LVL_ERROR, "integrations", "%s: out of memory: retried", c->name);
		backoff(ig, NULL);
		return false;
	}
	bool http = c->kind == LB_INTEG_HTTP;
	struct http_request rq = {
		.url = http ? r->items[0]->url : ig->write_url,
		.headers = (const char *const *)ig->hdrs, .n_headers = ig->n_hdrs,
		.body = http ? r->items[0]->body : r->body,
		.body_len = http ? r->items[0]->len : strlen(r->body),
		.username = http ? NULL : c->username, .password = c->password,
		.ca_file = c->ca_file, .verify = c->tls_verify, .timeout_ms = c->timeout_ms,
	};
	r->round = ig->round;
	r->next = ig->req_list;
	if (ig->req_list)
		ig->req_list->prev = r;
	ig->req_list = r;
	ig->reqs++;
	ig->inflight += r->n;
	int rc = it->c.transport.post(it->c.transport.arg, &rq, on_done, r);
	if (rc == LB_OK)
		return true;
	char why[96];
	snprintf(why, sizeof(why), "request not started (%s)", lb_strerror(rc));
	ig->reqs--;
	ig->inflight -= r->n;
	if (transient(rc)) {
		retry_later(ig, r, why);
	} else {
		give_up(ig, r, why);
		for (size_t i = 0; i < r->n; i++)
			item_free(r->items[i]);
	}
	req_free(r);
	return !transient(rc);
}

int64_t integrations_tick(struct integrations *it, int64_t now)
{
	int64_t next = -1;

	for (size_t i = 0; i < it->n; i++) {
		struct integ *ig = &it->v[i];
		if (ig->n == 0)
			continue;
		if (ig->retry_at_ms > now) {
			next = loop_earliest(next, ig->retry_at_ms);
			continue;
		}
		while (ig->n > 0 && ig->reqs < ig->max_reqs && start_one(ig))
			;
		if (ig->n > 0 && ig->retry_at_ms > now)
			next = loop_earliest(next, ig->retry_at_ms);
	}
	return next;
}

size_t integrations_pending(const struct integrations *it)
{
	size_t n = 0;
	for (size_t i = 0; i < it->n; i++)
		n += it->v[i].n + it->v[i].inflight;
	return n;
}

size_t integrations_stats(const struct integrations *it, struct stats_integ *out, size_t max)
{
	size_t n = it->n < max ? it->n : max;
	for (size_t i = 0; i < n; i++) {
		const struct integ *ig = &it->v[i];
		out[i] = (struct stats_integ){
			.name = ig->conf->name,
			.type = ig->conf->kind == LB_INTEG_HTTP ? "http" : "influxdb",
			.sent = ig->sent, .retried = ig->retried, .failed = ig->failed,
			.dropped = ig->dropped, .queued = ig->n + ig->inflight,
		};
	}
	return n;
}

/* --- set-up -------------------------------------------------------------- */

static bool add_header(struct integ *ig, const char *name, const char *value)
{
	size_t len = strlen(name) + strlen(value) + 3;
	char *h = malloc(len);
	char **v = realloc(ig->hdrs, (ig->n_hdrs + 1) * sizeof(*v));
	if (!h || !v) {
		free(h);
		if (v)
			ig->hdrs = v;
		return false;
	}
	snprintf(h, len, "%s: %s", name, value);
	ig->hdrs = v;
	ig->hdrs[ig->n_hdrs++] = h;
	return true;
}

/* InfluxDB 2.x API tokens: "Authorization: Token <token>". */
static bool add_token(struct integ *ig, const char *token)
{
	size_t len = strlen(token) + 7;
	char *v = malloc(len);
	if (!v)
		return false;
	snprintf(v, len, "Token %s", token);
	bool ok = add_header(ig, "Authorization", v);
	free(v);
	return ok;
}

/* false if it does not fit (then out is cut). */
static bool query_param(char *out, size_t cap, size_t *n, const char *key, const char *v)
{
	if (!v)
		return true;
	if (*n + strlen(key) + 2 + 3 * strlen(v) >= cap)
		return false;
	*n += (size_t)snprintf(out + *n, cap - *n, "%c%s=", strchr(out, '?') ? '&' : '?', key);
	url_escape(out, cap, n, v);
	return true;
}

/* /write?db=..&precision=ns (1.x) or /api/v2/write?org=..&bucket=.. (2.x). */
/* Errors: LB_ERR_TOO_LARGE (longer than URL_MAX), LB_ERR_NOMEM. */
static int influx_url(const struct lb_integ_conf *c, char **url)
{
	char out[URL_MAX];
	size_t base = strlen(c->url);

	while (base > 0 && c->url[base - 1] == '/')
		base--;
	size_t n = (size_t)snprintf(out, sizeof(out), "%.*s%s", (int)base, c->url,
				    c->database ? "/write" : "/api/v2/write");
	if (n >= sizeof(out))
		return LB_ERR_TOO_LARGE;
	bool fits = c->database ? query_param(out, sizeof(out), &n, "db", c->database) &&
				  query_param(out, sizeof(out), &n, "rp", c->retention_policy)
				: query_param(out, sizeof(out), &n, "org", c->org) &&
				  query_param(out, sizeof(out), &n, "bucket", c->bucket);
	if (!fits || !query_param(out, sizeof(out), &n, "precision", "ns"))
		return LB_ERR_TOO_LARGE;
	*url = strdup(out);
	return *url ? LB_OK : LB_ERR_NOMEM;
}

static size_t max_reqs(const struct lb_integ_conf *c)
{
	return c->kind == LB_INTEG_HTTP ? (size_t)c->parallel : 1;
}

size_t integrations_connections(const struct lb_integ_conf *confs, size_t n)
{
	size_t sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += max_reqs(&confs[i]);
	return sum;
}

static int integ_init(struct integrations *it, struct integ *ig, const struct lb_integ_conf *c)
{
	bool ok = true;

	ig->owner = it;
	ig->conf = c;
	ig->max_reqs = max_reqs(c);
	if (c->kind == LB_INTEG_HTTP) {
		ig->url_vars = strchr(c->url, '{') != NULL;
		ok = add_header(ig, "Content-Type", "application/json");
		for (size_t i = 0; ok && i < c->n_headers; i++)
			ok = add_header(ig, c->headers[i].key, c->headers[i].value);
	} else {
		ok = add_header(ig, "Content-Type", "text/plain; charset=utf-8") &&
		     (!c->token || add_token(ig, c->token));
		int rc = ok ? influx_url(c, &ig->write_url) : LB_ERR_NOMEM;
		if (rc == LB_ERR_TOO_LARGE)
			/* config_integ.c refuses such settings: only a caller that
			 * skipped the configuration's checks gets here */
			log_error("integrations", "%s: the InfluxDB write URL would be longer than %d "
				  "bytes", c->name, URL_MAX);
		if (rc != LB_OK)
			return rc;
	}
	return ok ? LB_OK : LB_ERR_NOMEM;
}

/* What an operator should know at start: no TLS verification, and host
 * names that only a blocking resolver would look up. */
static void warn_setup(const struct integrations_ctx *ctx, const struct lb_integ_conf *c)
{
	if (!c->tls_verify)
		log_warn("integrations", "%s: tls_verify = false: an https:// server's certificate "
			 "and name are not checked (for tests only)", c->name);
	if (ctx->resolver_blocks && !url_host_is_address(c->url))
		log_warn("integrations", "%s: this libcurl has no asynchronous resolver: the URL's "
			 "host name is looked up on the event loop, which waits meanwhile; use an IP "
			 "address", c->name);
}

int integrations_init(struct integrations *it, const struct integrations_ctx *ctx,
		      const struct lb_integ_conf *confs, size_t n)
{
	memset(it, 0, sizeof(*it));
	it->c = *ctx;
	if (n == 0)
		return LB_OK;
	if (!(it->v = calloc(n, sizeof(*it->v))) ||
	    !(it->scratch = malloc(INTEGRATIONS_POINTS_MAX))) {
		integrations_free(it);
		return LB_ERR_NOMEM;
	}
	it->n = n;
	for (size_t i = 0; i < n; i++) {
		int rc = integ_init(it, &it->v[i], &confs[i]);
		if (rc != LB_OK) {
			integrations_free(it);
			return rc;
		}
		char shown[URL_SHOWN_MAX];
		warn_setup(ctx, &confs[i]);
		log_info("integrations", "%s: %s to %s", confs[i].name,
			 confs[i].kind == LB_INTEG_HTTP ? "webhook" : "InfluxDB",
			 url_redact(it->v[i].write_url ? it->v[i].write_url : confs[i].url, shown,
				    sizeof(shown)));
	}
	return LB_OK;
}

void integrations_free(struct integrations *it)
{
	for (size_t i = 0; i < it->n; i++) {
		struct integ *ig = &it->v[i];
		size_t left = ig->n + ig->inflight;
		if (left)
			log_warn("integrations", "%s: %zu event(s) not delivered at shutdown",
				 ig->conf ? ig->conf->name : "?", left);
		while (ig->req_list) {
			for (size_t j = 0; j < ig->req_list->n; j++)
				item_free(ig->req_list->items[j]);
			req_free(ig->req_list);
		}
		while (ig->n)
			item_free(ring_pop(ig));
		free(ig->ring);
		for (size_t j = 0; j < ig->n_hdrs; j++)
			free(ig->hdrs[j]);
		free(ig->hdrs);
		free(ig->write_url);
	}
	free(it->v);
	free(it->scratch);
	memset(it, 0, sizeof(*it));
}
