/* SPDX-License-Identifier: MIT */
/* web.c - the web page's API, events and metrics. See web.h. */
#include "daemon/web.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "base/hex.h"
#include "base/jsonw.h"
#include "base/lb_err.h"
#include "base/log.h"
#include "base/netaddr.h"
#include "daemon/weblist.h"
#include "events/prom_text.h"
#include "events/web_json.h"
#include "lbconfig.h"

#define JSON_TYPE "application/json"
#define METRICS_MAX (256 * 1024)
#define EVENT_MAX (64 * 1024)

/* ------------------------------------------------------- answers */

static void count_code(struct web *w, unsigned code)
{
	for (size_t i = 0; i < WEB_HTTP_CODES; i++) {
		if (w->codes[i] == code || w->codes[i] == 0) {
			w->codes[i] = code;
			w->codes_n[i]++;
			return;
		}
	}
}

/* An answer httpd did not take (rc): said, with why. */
static void not_sent(unsigned code, int rc)
{
	LB_LOG_RL(LOG_LVL_WARN, "web", "answer %u not sent: %s", code,
		  rc == LB_ERR_IO ? "the connection is closing (the client left or sent a "
				    "request the server refused)" : lb_strerror(rc));
}

static void reply(struct web *w, struct httpd_conn *c, unsigned code, const char *type,
		  const char *body, size_t len)
{
	count_code(w, code);
	int rc = httpd_reply(c, code, type, body, len, WEB_CSP);
	if (rc != LB_OK)
		not_sent(code, rc);
}

static void reply_error(struct web *w, struct httpd_conn *c, unsigned code, const char *why)
{
	char body[512];
	size_t len;

	if (web_json_error(why, body, sizeof(body), &len) != LB_OK)
		len = (size_t)snprintf(body, sizeof(body), "{\"error\":\"internal error\"}");
	reply(w, c, code, JSON_TYPE, body, len);
}

/* 429 Too Many Requests with Retry-After: the whole seconds (at least 1)
 * until a request would pass (RFC 6585 §4, RFC 9110 §10.2.3). */
static void reply_too_many(struct web *w, struct httpd_conn *c, const char *why, int64_t wait_us)
{
	char body[512], msg[256], headers[sizeof(WEB_CSP) + 48];
	size_t len;
	long long s = (long long)((wait_us + 999999) / 1000000);

	if (s < 1)
		s = 1;
	snprintf(msg, sizeof(msg), "%s: try again in %lld s", why, s);
	if (web_json_error(msg, body, sizeof(body), &len) != LB_OK)
		len = (size_t)snprintf(body, sizeof(body), "{\"error\":\"internal error\"}");
	snprintf(headers, sizeof(headers), "%s\nRetry-After: %lld", WEB_CSP, s);
	count_code(w, 429);
	int rc = httpd_reply(c, 429, JSON_TYPE, body, len, headers);
	if (rc != LB_OK)
		not_sent(429, rc);
}

/* 401 with the challenge RFC 9110 §15.5.2 requires (§11.6.1), in the
 * Bearer scheme the page uses (RFC 6750 §3). */
static void reply_unauthorised(struct web *w, struct httpd_conn *c, const char *why)
{
	char body[512];
	size_t len;

	if (web_json_error(why, body, sizeof(body), &len) != LB_OK)
		len = (size_t)snprintf(body, sizeof(body), "{\"error\":\"internal error\"}");
	count_code(w, 401);
	int rc = httpd_reply(c, 401, JSON_TYPE, body, len,
			     WEB_CSP "\nWWW-Authenticate: Bearer realm=\"lorabridge\"");
	if (rc != LB_OK)
		not_sent(401, rc);
}

static struct weblist *list_new(struct web *w, enum weblist_kind kind);

/* Answer with a list written as the client reads it (weblist.h). */
static void reply_list(struct web *w, struct httpd_conn *c, enum weblist_kind kind)
{
	struct weblist *l = list_new(w, kind);

	if (!l) {
		reply_error(w, c, 500, "out of memory");
		return;
	}
	count_code(w, 200);
	int rc = httpd_reply_pull(c, 200, JSON_TYPE, WEB_CSP, weblist_pull, weblist_done, l);
	if (rc != LB_OK)
		not_sent(200, rc);
}

/* Answer with one value of at most cap bytes (the NUL included), written
 * by `write`. */
static void reply_text(struct web *w, struct httpd_conn *c, size_t cap,
		       void (*write)(struct jsonw *jw, const void *v), const void *v)
{
	struct jsonw jw;
	size_t len;
	char *text = malloc(cap);

	if (!text) {
		reply_error(w, c, 500, "out of memory");
		return;
	}
	jsonw_init(&jw, text, cap);
	write(&jw, v);
	if (jsonw_finish(&jw, &len) != LB_OK)
		reply_error(w, c, 500, "answer too large");
	else
		reply(w, c, 200, JSON_TYPE, text, len);
	free(text);
}

static void write_bridge(struct jsonw *jw, const void *v)
{
	web_json_w_bridge(jw, v);
}

static void write_device(struct jsonw *jw, const void *v)
{
	web_json_w_device(jw, v);
}

/* ------------------------------------------------------- views */

static int64_t wall_of(int64_t mono_ms)
{
	if (mono_ms <= 0)
		return 0;
	return loop_wall_us() - (loop_now_ms() - mono_ms) * 1000;
}

static void bridge_view(struct web *w, struct web_bridge_view *out)
{
	struct web_snapshot snap = {0};

	w->c.snapshot(w->c.snapshot_arg, &snap);
	*out = (struct web_bridge_view){
		.client_id = w->c.cfg->mqtt_client_id, .version = PACKAGE_VERSION,
		.region = w->c.region, .uptime_s = (loop_now_ms() - w->c.stats->started_ms) / 1000,
		.mqtt_connected = snap.mqtt_connected, .writable = w->has_password,
	};
}

static void format_peer(const struct sockaddr_storage *ss, socklen_t len, char *out, size_t cap)
{
	char ip[INET6_ADDRSTRLEN];

	out[0] = '\0';
	if (len == 0)
		return;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
		if (inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip)))
			snprintf(out, cap, "%s:%u", ip, ntohs(a->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
		if (inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip)))
			snprintf(out, cap, "[%s]:%u", ip, ntohs(a->sin6_port));
	}
}

/* Counters since the gateway was first heard: rxpk objects (and those with
 * a good CRC) the bridge received, frames the gateway reports forwarded
 * (the sum of its `stat` reports' rxfw: each counts its own interval,
 * PROTOCOL.TXT §4), TX_ACKs without an error (frames emitted). */
static void gateway_view(struct web *w, const struct gateway *g, struct web_gw_view *out,
			 struct weblist_gw_scratch *sc)
{
	const struct sockaddr_storage *ss = g->push_addr_len ? &g->push_addr : &g->down_addr;

	format_peer(ss, g->push_addr_len ? g->push_addr_len : g->down_addr_len, sc->addr,
		    sizeof(sc->addr));
	*out = (struct web_gw_view){
		.eui = g->eui, .online = g->online, .last_seen_us = wall_of(g->last_seen_ms),
		.address = sc->addr[0] ? sc->addr : NULL, .rx_received = g->rxpk_total,
		.rx_ok = g->rxpk_ok, .rx_forwarded = g->stat_rxfw, .tx_emitted = g->tx_ok,
		.dc = sc->dc,
	};
	out->n_dc = budget_gateway_report(w->c.budget, g->eui, g->delivered, sc->dc, sc->names,
					  WEBLIST_DC_MAX);
}

/* The device's summary; the scratch holds its radio ring, out points
 * into it. */
static void device_view(struct web *w, const struct lb_device *d, struct web_dev_view *out,
			struct weblist_dev_scratch *sc)
{
	int16_t *rssi = sc->rssi;
	float *snr = sc->snr;
	size_t queued = 0;
	const struct webhist_dev *h = webhist_find(&w->hist, d->dev_eui);

	if (store_downlink_count(w->c.store, d->dev_eui, &queued) != LB_OK)
		queued = 0; /* logged by the store */
	struct web_dev_view v = {
		.dev_eui = d->dev_eui, .name = d->name, .application = d->prof->application,
		.dev_class = d->dev_class == LB_CLASS_C ? 'C' : 'A',
		.has_dev_addr = d->activation == LB_ACT_ABP || d->has_session,
		.dev_addr = d->dev_addr, .last_seen_us = wall_of(d->last_seen_ms),
		.has_fcnt_up = d->has_last_fcnt, .fcnt_up = d->last_fcnt_up,
		.has_fcnt_down = d->has_session, .fcnt_down = d->rt.fcnt_down.next,
		.dr = d->rt.last_dr, .rssi = rssi, .snr = snr, .battery = -1,
		.has_fair_access = d->rt.fa_has_published, .queue = queued,
	};
	if (d->rt.fa_has_published) {
		const struct fa_status *fa = &d->rt.fa_published;
		v.fa = (struct web_fair_access){
			.uplink_airtime_ms = (double)fa->uplink_airtime_us / 1000.0,
			.uplink_budget_ms = fa->uplink_budget_ms, .downlinks = fa->downlinks,
			.downlink_budget = fa->downlink_budget, .exceeded = fa->exceeded,
		};
	}
	if (h) {
		v.n_radio = webhist_radio(h, rssi, snr);
		v.battery = h->battery;
		v.has_margin = h->has_margin;
		v.margin = h->margin;
		v.object_json = h->object;
	}
	*out = v;
}

/* The lists' source (weblist.h): the views above. */
static void src_bridge(void *arg, struct web_bridge_view *out)
{
	bridge_view(arg, out);
}

static bool src_gateway(void *arg, size_t *slot, struct web_gw_view *out,
			struct weblist_gw_scratch *sc)
{
	struct web *w = arg;
	const struct gateways *t = w->c.gateways;

	while (*slot < t->max && !t->gw[*slot].in_use)
		(*slot)++;
	if (*slot >= t->max)
		return false;
	gateway_view(w, &t->gw[(*slot)++], out, sc);
	return true;
}

static bool src_device(void *arg, size_t i, struct web_dev_view *out,
		       struct weblist_dev_scratch *sc)
{
	struct web *w = arg;

	if (i >= w->c.devices->n)
		return false;
	device_view(w, &w->c.devices->dev[i], out, sc);
	return true;
}

static struct weblist *list_new(struct web *w, enum weblist_kind kind)
{
	const struct weblist_source src = {.arg = w, .bridge = src_bridge,
					   .gateway = src_gateway, .device = src_device};
	return weblist_new(&src, kind);
}

/* ------------------------------------------------------- authorisation */

static void digest(const struct web *w, const char *pw, size_t len, uint8_t out[32])
{
	unsigned n = 32;
	if (!HMAC(EVP_sha256(), w->key, sizeof(w->key), (const uint8_t *)pw, len, out, &n))
		memset(out, 0, 32);
}

/* May an unknown password be checked now? One check per
 * WEB_AUTH_INTERVAL_MS from this address and in all, no burst: a check
 * costs PBKDF2 on the loop. When not, *wait_us is how long until one may:
 * the overall limit's, which no address's exceeds (an address's is set
 * only at a check, to the same time as the overall one, which later
 * checks only move on). */
static bool auth_admit(struct web *w, const struct httpd_request *rq, int64_t *wait_us)
{
	struct netaddr from;
	int64_t now = loop_now_us(), step = (int64_t)WEB_AUTH_INTERVAL_MS * 1000;

	*wait_us = w->auth_tat_us - now;
	if (now < w->auth_tat_us)
		return false;
	if (rq->peer_len &&
	    netaddr_from_sockaddr((const struct sockaddr *)&rq->peer, rq->peer_len, &from) == LB_OK &&
	    !addrlimit_admit(&w->auth_rate, &from, now))
		return false;
	w->auth_tat_us = now + step;
	return true;
}

/* 0 when the request may write, else the status to answer with (and why;
 * for 429, *wait_us: how long until a check). */
static unsigned authorise(struct web *w, const struct httpd_request *rq, const char **why,
			  int64_t *wait_us)
{
	static const char bearer[] = "Bearer ";
	uint8_t d[32];

	if (!w->has_password) {
		*why = "read-only: no http.password is configured";
		return 403;
	}
	if (!rq->authorization || strncmp(rq->authorization, bearer, sizeof(bearer) - 1) != 0) {
		*why = "missing \"Authorization: Bearer PASSWORD\"";
		return 401;
	}
	const char *pw = rq->authorization + sizeof(bearer) - 1;
	size_t len = strlen(pw);
	digest(w, pw, len, d);
	if (w->has_known && CRYPTO_memcmp(d, w->known, sizeof(d)) == 0)
		return 0;
	if (!auth_admit(w, rq, wait_us)) {
		*why = "too many password checks";
		return 429;
	}
	if (!pwhash_verify(&w->password, pw, len)) {
		LB_LOG_RL(LOG_LVL_WARN, "web", "a write was refused: %s", "wrong password");
		*why = "wrong password";
		return 401;
	}
	memcpy(w->known, d, sizeof(d));
	w->has_known = true;
	return 0;
}

/* ------------------------------------------------------- routes */

static bool file_name_ok(const char *name)
{
	static const char *const exts[] = {".html", ".js", ".css", ".svg", ".png", ".ico"};
	const char *dot = strrchr(name, '.');

	if (!dot || dot == name)
		return false;
	for (const char *p = name; p < dot; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
			return false;
	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++)
		if (!strcmp(dot, exts[i]))
			return true;
	return false;
}

static const char *mime_of(const char *name)
{
	static const struct { const char *ext, *type; } types[] = {
		{".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
		{".css", "text/css; charset=utf-8"}, {".svg", "image/svg+xml"},
		{".png", "image/png"}, {".ico", "image/x-icon"},
	};
	const char *dot = strrchr(name, '.');
	for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(dot, types[i].ext))
			return types[i].type;
	return "application/octet-stream";
}

/* Does If-None-Match (a list of entity tags, or "*") name etag? Weak
 * comparison, as RFC 9110 §13.1.2 says for this header (a W/ prefix does
 * not count). */
static bool etag_listed(const char *if_none_match, const char *etag)
{
	size_t k = strlen(etag);
	const char *p = if_none_match;

	while (p && *p) {
		p += strspn(p, " \t,");
		if (*p == '*')
			return true;
		if (!strncmp(p, "W/", 2))
			p += 2;
		if (!strncmp(p, etag, k) && (p[k] == '\0' || p[k] == ',' || p[k] == ' ' ||
					      p[k] == '\t'))
			return true;
		p += strcspn(p, ",");
	}
	return false;
}

/* A page file, from memory. "no-cache" with its ETag: a browser keeps it
 * and asks each time (RFC 9111 §5.2.2.4), a file unchanged since costs a
 * 304 without a body (RFC 9110 §13.1.2, §15.4.5); a file changed at a
 * SIGHUP has another tag. The 304 is made with the file's bytes all the
 * same: libmicrohttpd sends no body on a 304 but the Content-Length of
 * the response it has, and RFC 9110 §8.6 allows a 304 none other than
 * the 200's. */
static void serve_file(struct web *w, struct httpd_conn *c, const struct httpd_request *rq,
		       const char *name)
{
	char headers[sizeof(WEB_CSP) + 64 + WEB_ETAG_LEN];

	for (size_t i = 0; i < w->n_files; i++) {
		const struct web_file *f = &w->files[i];
		if (strcmp(f->name, name) != 0)
			continue;
		snprintf(headers, sizeof(headers), "%s\nCache-Control: no-cache\nETag: %s", WEB_CSP,
			 f->etag);
		bool same = rq->if_none_match && etag_listed(rq->if_none_match, f->etag);
		unsigned code = same ? 304 : 200;
		count_code(w, code);
		int rc = httpd_reply(c, code, mime_of(name), f->data, f->len, headers);
		if (rc != LB_OK)
			not_sent(code, rc);
		return;
	}
	reply_error(w, c, 404, "not found");
}

/* f's tag: the first 8 bytes of its content's SHA-256, quoted. */
static bool file_etag(struct web_file *f)
{
	uint8_t d[EVP_MAX_MD_SIZE];
	unsigned n = 0;

	if (EVP_Digest(f->data, f->len, d, &n, EVP_sha256(), NULL) != 1 || n < 8)
		return false;
	f->etag[0] = '"';
	(void)hex_encode(d, 8, f->etag + 1, 17);
	f->etag[17] = '"';
	f->etag[18] = '\0';
	return true;
}

static void files_free(struct web_file *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(f[i].data);
	free(f);
}

/* Read one regular file of dir into f. false: skipped (logged). */
static bool file_load(int dirfd, const char *dir, const char *name, struct web_file *f)
{
	struct stat st;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > WEB_FILE_MAX) {
		if (fd >= 0)
			close(fd);
		log_warn("web", "%s/%s not served: %s", dir, name,
			 fd < 0 ? strerror(errno) : "not a regular file of at most 4 MiB");
		return false;
	}
	char *buf = malloc((size_t)st.st_size + 1);
	ssize_t n = buf ? read(fd, buf, (size_t)st.st_size) : -1;
	close(fd);
	if (n != (ssize_t)st.st_size) {
		log_warn("web", "%s/%s not served: %s", dir, name,
			 !buf ? "out of memory" : n < 0 ? strerror(errno) : "short read");
		free(buf);
		return false;
	}
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->data = buf;
	f->len = (size_t)n;
	if (!file_etag(f)) {
		log_warn("web", "%s/%s not served: %s", dir, name, "its SHA-256 failed");
		free(buf);
		f->data = NULL;
		return false;
	}
	return true;
}

int web_reload_files(struct web *w)
{
	const char *dir = w->c.cfg->http_www_dir;
	struct web_file *f = calloc(WEB_FILES_MAX, sizeof(*f));
	size_t n = 0;
	bool index = false;
	DIR *d;

	if (!f)
		return LB_ERR_NOMEM;
	if (!(d = opendir(dir))) {
		log_error("web", "http.www_dir %s: %s: the page is not served", dir, strerror(errno));
		free(f);
		return LB_ERR_IO;
	}
	for (struct dirent *e; (e = readdir(d));) {
		if (!file_name_ok(e->d_name) || strlen(e->d_name) >= WEB_FILE_NAME)
			continue;
		if (n == WEB_FILES_MAX) {
			log_warn("web", "%s: only %d files are served", dir, WEB_FILES_MAX);
			break;
		}
		if (file_load(dirfd(d), dir, e->d_name, &f[n]))
			index = index || !strcmp(f[n++].name, "index.html");
	}
	closedir(d);
	if (!index)
		log_warn("web", "%s/index.html is missing: GET / will answer 404 (http.www_dir)", dir);
	files_free(w->files, w->n_files);
	w->files = f;
	w->n_files = n;
	return LB_OK;
}

static void healthz(struct web *w, struct httpd_conn *c)
{
	struct web_snapshot snap = {0};

	w->c.snapshot(w->c.snapshot_arg, &snap);
	/* A full or read-only state disk: what is staged lives in memory only
	 * and the bridge cannot keep its frame counters (store.h). Both
	 * reasons when both hold: a watchdog must not restart the bridge for
	 * the broker while the disk fails (the staged events would be lost). */
	bool mqtt_down = !snap.mqtt_connected;
	bool disk = store_commits_failing(w->c.store);
	const char *body = "{\"ok\":true}";
	if (mqtt_down && disk)
		body = "{\"ok\":false,\"reason\":\"mqtt disconnected; state commits failing\"}";
	else if (mqtt_down)
		body = "{\"ok\":false,\"reason\":\"mqtt disconnected\"}";
	else if (disk)
		body = "{\"ok\":false,\"reason\":\"state commits failing\"}";
	reply(w, c, mqtt_down || disk ? 503 : 200, JSON_TYPE, body, strlen(body));
}

/* "/api/devices/{devEui}[/queue]": the DevEUI and what follows it. */
static bool device_path(const char *rest, uint64_t *eui, const char **tail)
{
	char text[17];
	size_t n = strcspn(rest, "/");

	if (n != 16)
		return false;
	memcpy(text, rest, 16);
	text[16] = '\0';
	*tail = rest + 16;
	return hex_parse_u64_eui(text, eui) == LB_OK;
}

static unsigned queue_status(int rc)
{
	switch (rc) {
	case LB_OK: return 202;
	case LB_ERR_NOT_FOUND: return 404;
	case LB_ERR_FULL: return 429;
	case LB_ERR_DUPLICATE: return 409;
	case LB_ERR_IO: return 500;
	default: return 400;
	}
}

static void post_queue(struct web *w, struct httpd_conn *c, const struct httpd_request *rq,
		       uint64_t eui)
{
	const char *why = NULL;
	int64_t wait_us = 0;
	unsigned code = authorise(w, rq, &why, &wait_us);
	struct command_result r;
	char body[256];

	if (code == 429) {
		reply_too_many(w, c, why, wait_us);
		return;
	}
	if (code == 401) {
		reply_unauthorised(w, c, why);
		return;
	}
	if (code) {
		reply_error(w, c, code, why);
		return;
	}
	command_submit(w->c.commands, eui, rq->body, rq->body_len, &r);
	if (r.rc != LB_OK) {
		char msg[320];
		snprintf(msg, sizeof(msg), "%s: %s", r.code ? r.code : "REFUSED",
			 r.why ? r.why : "refused");
		reply_error(w, c, queue_status(r.rc), r.rc == LB_ERR_NOT_FOUND ? "unknown device" : msg);
		return;
	}
	int n = snprintf(body, sizeof(body), "{\"id\":\"%s\"}", r.id);
	reply(w, c, 202, JSON_TYPE, body, (size_t)n);
}

static void api_device(struct web *w, struct httpd_conn *c, const struct httpd_request *rq,
		       const char *rest, bool get)
{
	uint64_t eui;
	const char *tail;

	if (!device_path(rest, &eui, &tail)) {
		reply_error(w, c, 404, "not found");
		return;
	}
	if (!strcmp(tail, "/queue")) {
		if (get)
			reply_error(w, c, 405, "use POST");
		else
			post_queue(w, c, rq, eui);
		return;
	}
	if (*tail || !get) {
		reply_error(w, c, *tail ? 404 : 405, *tail ? "not found" : "use GET");
		return;
	}
	struct lb_device *d = devices_find_eui(w->c.devices, eui);
	struct weblist_dev_scratch sc;
	struct web_dev_view v;
	if (!d) {
		reply_error(w, c, 404, "unknown device");
		return;
	}
	device_view(w, d, &v, &sc);
	reply_text(w, c, web_json_device_cap(&v), write_device, &v);
}

static void api_bridge(struct web *w, struct httpd_conn *c)
{
	struct web_bridge_view v;

	bridge_view(w, &v);
	reply_text(w, c, web_json_bridge_cap(&v), write_bridge, &v);
}

static void metrics(struct web *w, struct httpd_conn *c);
static void events_open(struct web *w, struct httpd_conn *c);

static void route(struct web *w, struct httpd_conn *c, const struct httpd_request *rq)
{
	bool get = !strcmp(rq->method, "GET") || !strcmp(rq->method, "HEAD");
	bool post = !strcmp(rq->method, "POST");
	const char *p = rq->path;

	if (!strncmp(p, "/api/devices/", 13) && (get || post)) {
		api_device(w, c, rq, p + 13, get);
		return;
	}
	if (!get) {
		reply_error(w, c, 405, "method not allowed");
		return;
	}
	if (!strcmp(p, "/"))
		serve_file(w, c, rq, "index.html");
	else if (!strcmp(p, "/healthz"))
		healthz(w, c);
	else if (!strcmp(p, "/metrics"))
		metrics(w, c);
	else if (!strcmp(p, "/events") && !strcmp(rq->method, "GET"))
		events_open(w, c);
	else if (!strcmp(p, "/events"))
		reply_error(w, c, 405, "use GET");
	else if (!strcmp(p, "/api/bridge"))
		api_bridge(w, c);
	else if (!strcmp(p, "/api/gateways"))
		reply_list(w, c, WEBLIST_GATEWAYS);
	else if (!strcmp(p, "/api/devices"))
		reply_list(w, c, WEBLIST_DEVICES);
	else if (p[0] == '/' && !strchr(p + 1, '/'))
		serve_file(w, c, rq, p + 1);
	else
		reply_error(w, c, 404, "not found");
}

/* Is name (Host without its port) one of the names in the
 * comma/space-separated list? */
static bool in_list(const char *list, const char *name, size_t len)
{
	while (list && *list) {
		size_t n = strcspn(list, ", \t");
		if (n == len && n > 0 && !strncasecmp(list, name, len))
			return true;
		list += n;
		list += strspn(list, ", \t");
	}
	return false;
}

/* Host names a request may carry (DNS rebinding, web.h): localhost, an
 * IP address (no name an attacker's DNS could point here), or a name of
 * http.hosts. The port is not part of the check. A request without Host
 * (HTTP/1.0; MHD refuses HTTP/1.1 without it, RFC 9112 §3.2) passes. */
static bool host_ok(const struct web *w, const char *host)
{
	char name[256];
	const char *end;
	size_t len;
	uint8_t addr[16];

	if (!host)
		return true;     /* HTTP/1.0 without Host: not a browser (they all send it) */
	if (!*host)
		return false;
	if (host[0] == '[')
		end = strchr(host, ']') ? strchr(host, ']') + 1 : host + strlen(host);
	else
		end = strchr(host, ':') ? strchr(host, ':') : host + strlen(host);
	len = (size_t)(end - host);
	if ((*end && *end != ':') || len == 0 || len >= sizeof(name))
		return false;
	memcpy(name, host, len);
	name[len] = '\0';
	if (!strcasecmp(name, "localhost") || inet_pton(AF_INET, name, addr) == 1)
		return true;
	if (name[0] == '[' && name[len - 1] == ']') {
		name[len - 1] = '\0';
		if (inet_pton(AF_INET6, name + 1, addr) == 1)
			return true;
		name[len - 1] = ']';
	}
	return in_list(w->c.cfg->http_hosts, name, len);
}

static void on_request(void *arg, struct httpd_conn *c, const struct httpd_request *rq)
{
	struct web *w = arg;
	struct netaddr from;

	if (!host_ok(w, rq->host)) {
		LB_LOG_RL(LOG_LVL_NOTICE, "web", "a request for host \"%.64s\" was refused "
			  "(not in http.hosts)", rq->host ? rq->host : "");
		reply_error(w, c, 421, "unknown Host: add it to http.hosts");
		return;
	}

	if (rq->peer_len &&
	    netaddr_from_sockaddr((const struct sockaddr *)&rq->peer, rq->peer_len, &from) == LB_OK &&
	    !addrlimit_admit(&w->rate, &from, loop_now_us())) {
		reply_too_many(w, c, "too many requests from this address",
			       addrlimit_wait_us(&w->rate, &from, loop_now_us()));
		return;
	}
	route(w, c, rq);
}

/* ------------------------------------------------------- /events */

static struct web_client *client_of(struct web *w, const struct httpd_stream *s)
{
	for (size_t i = 0; i < w->n_clients_max; i++)
		if (w->clients[i].stream == s)
			return &w->clients[i];
	return NULL;
}

static void on_closed(void *arg, struct httpd_stream *s, void *owner)
{
	struct web *w = arg;
	struct web_client *cl = owner;
	(void)s;
	cl->stream = NULL;
	(void)w;
}

static void on_refused(void *arg, unsigned status)
{
	count_code(arg, status);
}

static size_t clients_open(const struct web *w)
{
	size_t n = 0;
	for (size_t i = 0; i < w->n_clients_max; i++)
		n += w->clients[i].stream != NULL;
	return n;
}

/* Write to one client; a client too slow is dropped (its slot freed). */
static void client_write(struct web *w, struct web_client *cl, const char *text, size_t len)
{
	int rc = httpd_stream_write(&w->httpd, cl->stream, text, len);
	if (rc == LB_OK)
		return;
	if (rc == LB_ERR_FULL) {
		w->sse_slow++;
		LB_LOG_RL(LOG_LVL_NOTICE, "web", "an /events client was too slow (over %d KiB "
			  "unread): disconnected", WEB_SSE_BUFFER / 1024);
	}
	httpd_stream_close(&w->httpd, cl->stream);
	cl->stream = NULL;
}

static void broadcast_text(struct web *w, const char *text, size_t len)
{
	for (size_t i = 0; i < w->n_clients_max; i++)
		if (w->clients[i].stream)
			client_write(w, &w->clients[i], text, len);
}

/* b with at least need bytes (web.h: struct web_buf); NULL, logged,
 * beyond WEB_SSE_FRAME_MAX or out of memory. */
static char *buf_reserve(struct web_buf *b, size_t need)
{
	if (need <= b->cap)
		return b->p;
	if (need > WEB_SSE_FRAME_MAX) {
		LB_LOG_RL(LOG_LVL_WARN, "web", "a live event of %zu bytes was not sent to the "
			  "page (over %d KiB)", need, WEB_SSE_FRAME_MAX / 1024);
		return NULL;
	}
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < need)
		cap *= 2;
	if (cap > WEB_SSE_FRAME_MAX)
		cap = WEB_SSE_FRAME_MAX;
	char *p = realloc(b->p, cap);
	if (!p) {
		LB_LOG_RL(LOG_LVL_WARN, "web", "a live event was not sent to the page (%s)",
			  "out of memory");
		return NULL;
	}
	b->p = p;
	b->cap = cap;
	return p;
}

static void buf_free(struct web_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->cap = 0;
}

/* One Server-Sent Event to every client, framed in w->frame. An event's
 * JSON has no line break (web_sse_frame() splits any at "data:" lines),
 * so its frame is its length plus a few bytes; more room is taken only
 * for text that has them. false: not framed, so sent to none (a client
 * too slow for it is dropped, its hello brings it up to date). */
static bool broadcast(struct web *w, const char *kind, const char *data, size_t len)
{
	size_t n, need = len + strlen(kind) + 32;
	char *frame;

	if (clients_open(w) == 0)
		return true;
	if (memchr(data, '\n', len))
		need += 6 * len;  /* each \n may become "\ndata: " */
	if (!(frame = buf_reserve(&w->frame, need)) ||
	    web_sse_frame(kind, data, len, frame, w->frame.cap, &n) != LB_OK)
		return false;
	broadcast_text(w, frame, n);
	return true;
}

/* A client: `retry` and the hello snapshot, pulled as it reads
 * (weblist.h: the whole snapshot, however large, in pieces; live events
 * follow it), then the live events. */
static void events_open(struct web *w, struct httpd_conn *c)
{
	struct web_client *cl = client_of(w, NULL);
	struct weblist *l;

	if (!cl) {
		reply_error(w, c, 503, "too many /events clients (http.max_clients)");
		return;
	}
	if (!(l = list_new(w, WEBLIST_HELLO))) {
		reply_error(w, c, 500, "out of memory");
		return;
	}
	count_code(w, 200);
	cl->stream = httpd_stream_start(&w->httpd, c, "text/event-stream", cl);
	if (!cl->stream) {
		weblist_done(l);
		return;
	}
	if (httpd_stream_pull(&w->httpd, cl->stream, weblist_pull, weblist_done, l) != LB_OK) {
		httpd_stream_close(&w->httpd, cl->stream);
		cl->stream = NULL;
	}
}

static void ping(struct web *w)
{
	static const char line[] = ": ping\n\n";
	broadcast_text(w, line, sizeof(line) - 1);
}

/* ------------------------------------------------------- the tap */

/* The device's new summary to every client, written as text into
 * w->text (no tree, no allocation once it has the size). */
static void device_changed(struct web *w, uint64_t dev_eui)
{
	struct weblist_dev_scratch sc;
	struct web_dev_view v;
	size_t n;
	struct lb_device *d = devices_find_eui(w->c.devices, dev_eui);

	if (!d || clients_open(w) == 0)
		return;
	device_view(w, d, &v, &sc);
	char *text = buf_reserve(&w->text, web_json_device_cap(&v));
	if (text && web_json_device_text(&v, text, w->text.cap, &n) == LB_OK)
		broadcast(w, "device", text, n);
}

void web_device_event(struct web *w, const char *application, uint64_t dev_eui,
		      const char *event, const char *json, size_t len,
		      const struct publish_facts *facts)
{
	static const char *const kinds[] = {"up", "join", "ack", "txack", "log", "status"};
	bool known = false;
	size_t n;

	if (!w->open)
		return;
	/* The history from the values the events were built from (no parse,
	 * no allocation per uplink: webhist.h); an untracked device is left
	 * out. */
	if (!strcmp(event, "up") && facts && facts->up)
		(void)webhist_up(&w->hist, dev_eui, facts->up->rx, facts->up->n_rx, facts->object,
				 facts->object_len);
	else if (!strcmp(event, "status") && facts && facts->status)
		(void)webhist_status(&w->hist, dev_eui, facts->status);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		known = known || !strcmp(event, kinds[i]);
	if (!known || clients_open(w) == 0)
		return;
	size_t app_len = application ? strlen(application) : 0;
	/* the wrap's keys and EUI, and the application escaped (at most 6x) */
	char *data = buf_reserve(&w->text, len + 6 * app_len + 64);
	if (data && web_json_wrap_event(dev_eui, application, json, len, data, w->text.cap, &n) ==
			    LB_OK)
		broadcast(w, event, data, n);
	if (!strcmp(event, "up") || !strcmp(event, "status") || !strcmp(event, "join"))
		device_changed(w, dev_eui);
}

void web_gateway_event(struct web *w, uint64_t gateway_eui, const char *event, const char *json,
		       size_t len)
{
	(void)json;
	(void)len;
	if (!w->open || clients_open(w) == 0)
		return;
	/* gateway/{id}/event/stats and the state/conn ONLINE/OFFLINE */
	if (strcmp(event, "stats") != 0 && strcmp(event, "conn") != 0)
		return;
	struct gateway *g = gateways_find(w->c.gateways, gateway_eui);
	struct weblist_gw_scratch sc;
	struct web_gw_view v;
	struct jsonw jw;
	size_t n;
	if (!g)
		return;
	gateway_view(w, g, &v, &sc);
	char *text = buf_reserve(&w->text, web_json_gateway_cap(&v));
	if (!text)
		return;
	jsonw_init(&jw, text, w->text.cap);
	web_json_w_gateway(&jw, &v);
	if (jsonw_finish(&jw, &n) == LB_OK)
		broadcast(w, "gateway", text, n);
}

void web_bridge_event(struct web *w, const char *event, const char *json, size_t len)
{
	if (w->open && !strcmp(event, "stats"))
		broadcast(w, "stats", json, len);
}

void web_mqtt_state(struct web *w, bool connected)
{
	struct web_bridge_view v;
	struct jsonw jw;
	size_t n;

	if (!w->open || connected == w->mqtt_shown)
		return;
	/* No client: the next one's hello shows the state. */
	if (clients_open(w) == 0) {
		w->mqtt_shown = connected;
		return;
	}
	bridge_view(w, &v);
	char *text = buf_reserve(&w->text, web_json_bridge_cap(&v));
	bool sent = false;
	if (text) {
		jsonw_init(&jw, text, w->text.cap);
		web_json_w_bridge(&jw, &v);
		sent = jsonw_finish(&jw, &n) == LB_OK && broadcast(w, "bridge", text, n);
	}
	/* Not sent: mqtt_shown unchanged, so the next tick (bridge.c) tries
	 * again until the page hears it. */
	if (!sent) {
		LB_LOG_RL(LOG_LVL_WARN, "web", "the MQTT connection's state (%s) not sent to the "
			  "page yet: retried", connected ? "up" : "down");
		return;
	}
	w->mqtt_shown = connected;
}

/* ------------------------------------------------------- /metrics */

/* A counter without labels: its family and its one sample. */
static void counter(struct prom_buf *b, const char *name, const char *help, uint64_t v)
{
	prom_family(b, name, "counter", help);
	prom_u64(b, name, NULL, NULL, v);
}

static void metrics_frames(struct prom_buf *b, const struct stats *s)
{
	static const char *const types[] = {"push_data", "push_ack", "pull_data", "pull_resp",
					    "pull_ack", "tx_ack"};
	prom_family(b, "lorabridge_datagrams_total", "counter",
		    "GWMP datagrams received, by type (Semtech PROTOCOL.TXT).");
	for (size_t i = 0; i < 6; i++)
		if (i == 0 || i == 2 || i == 5)
			prom_u64(b, "lorabridge_datagrams_total", "type", types[i], s->datagrams[i]);
	counter(b, "lorabridge_frames_received_total",
		"Radio frames (rxpk) accepted from gateways, before de-duplication.",
		s->frames_received);
	counter(b, "lorabridge_uplinks_published_total",
		"Device up events the MQTT broker acknowledged.", s->uplinks_published);
	prom_family(b, "lorabridge_frame_drops_total", "counter",
		    "Frames that did not become an up event, by reason.");
	for (int i = 0; i < DROP__COUNT; i++)
		prom_u64(b, "lorabridge_frame_drops_total", "reason",
			 stats_frame_drop_name((enum stats_frame_drop)i), s->frame_drops[i]);
	counter(b, "lorabridge_refusal_events_dropped_total",
		"Refused commands' log events not published, over their rate limit "
		"(drops.refusalEvents).", s->refusal_events_dropped);
	prom_family(b, "lorabridge_datagram_drops_total", "counter",
		    "Datagrams not processed, by reason.");
	for (int i = 1; i < LB_ERR__COUNT; i++)
		if (s->dgram_drops[i])
			prom_u64(b, "lorabridge_datagram_drops_total", "reason", lb_errname(-i),
				 s->dgram_drops[i]);
}

static void gauge(struct prom_buf *b, const char *name, const char *help, double v)
{
	prom_family(b, name, "gauge", help);
	prom_double(b, name, NULL, NULL, v);
}

/* Datagrams the kernel dropped, and the pauses of an overloaded bridge
 * that made it drop them (intake.h). */
static void metrics_udp(struct prom_buf *b, const struct web_snapshot *s)
{
	counter(b, "lorabridge_udp_kernel_drops_total",
		"Datagrams the kernel dropped, the socket's buffer full (drops.udpKernel).",
		s->udp_kernel_drops);
	counter(b, "lorabridge_intake_pauses_total",
		"Times an overloaded bridge stopped reading the gateways' socket.",
		s->intake_pauses);
	prom_family(b, "lorabridge_intake_paused_seconds_total", "counter",
		    "Time the gateways' socket was not read, in seconds.");
	prom_double(b, "lorabridge_intake_paused_seconds_total", NULL, NULL,
		    (double)s->intake_paused_ms / 1000.0);
}

static void metrics_integs(struct prom_buf *b, const struct web_snapshot *s)
{
	static const struct { const char *name, *type, *help; size_t off; } f[] = {
		{"lorabridge_integration_sent_total", "counter", "Events an integration delivered.",
		 offsetof(struct stats_integ, sent)},
		{"lorabridge_integration_retried_total", "counter",
		 "Events an integration put back after a failed attempt, once per attempt.",
		 offsetof(struct stats_integ, retried)},
		{"lorabridge_integration_failed_total", "counter",
		 "Events an integration gave up: refused (4xx, 3xx) or not sendable.",
		 offsetof(struct stats_integ, failed)},
		{"lorabridge_integration_dropped_total", "counter",
		 "Events an integration never sent: beyond queue_limit, or not built.",
		 offsetof(struct stats_integ, dropped)},
		{"lorabridge_integration_queue", "gauge", "Events waiting or in flight.",
		 offsetof(struct stats_integ, queued)},
	};
	for (size_t k = 0; k < sizeof(f) / sizeof(f[0]); k++) {
		prom_family(b, f[k].name, f[k].type, f[k].help);
		for (size_t i = 0; i < s->n_integs; i++) {
			const uint64_t *v = (const uint64_t *)((const char *)&s->integs[i] + f[k].off);
			prom_u64(b, f[k].name, "integration", s->integs[i].name, *v);
		}
	}
}

static void metrics(struct web *w, struct httpd_conn *c)
{
	struct web_snapshot snap = {0};
	struct prom_buf b;
	char code[16];
	size_t len;
	char *out = malloc(METRICS_MAX);

	if (!out) {
		reply_error(w, c, 500, "out of memory");
		return;
	}
	w->c.snapshot(w->c.snapshot_arg, &snap);
	count_code(w, 200); /* this answer counts itself */
	prom_init(&b, out, METRICS_MAX);
	metrics_frames(&b, w->c.stats);
	gauge(&b, "lorabridge_gateways_online", "Gateways online.",
	      (double)gateways_count_online(w->c.gateways));
	gauge(&b, "lorabridge_gateways_known", "Gateways in the table.",
	      (double)gateways_count(w->c.gateways));
	gauge(&b, "lorabridge_devices", "Devices configured.", (double)w->c.devices->n);
	gauge(&b, "lorabridge_pending_sessions",
	      "OTAA sessions of rejoins their devices have not used yet.",
	      (double)snap.pending_sessions);
	gauge(&b, "lorabridge_mqtt_connected", "1 while connected to the broker.",
	      snap.mqtt_connected ? 1 : 0);
	gauge(&b, "lorabridge_mqtt_queue_depth", "MQTT messages waiting in memory.",
	      (double)snap.mqtt_queue_depth);
	gauge(&b, "lorabridge_outbox_depth", "Uplink events waiting for the broker's ack.",
	      (double)snap.outbox_depth);
	counter(&b, "lorabridge_store_failures_total",
		"Failed state store operations: commits, staged writes and the BEGINs of "
		"batches (disk full, read-only, I/O errors; stats store.failures).",
		w->c.store->stats.failures);
	gauge(&b, "lorabridge_store_failing", "1 while state commits fail (the last one failed).",
	      store_commits_failing(w->c.store) ? 1 : 0);
	metrics_udp(&b, &snap);
	counter(&b, "lorabridge_dedup_forced_early_total",
		"Frames forced out of the full de-duplication table before their window closed "
		"(dedupForcedEarly).", snap.dedup_forced_early);
	metrics_integs(&b, &snap);
	prom_family(&b, "lorabridge_http_requests_total", "counter",
		    "HTTP requests answered, by status code (limits' refusals included).");
	for (size_t i = 0; i < WEB_HTTP_CODES && w->codes[i]; i++) {
		snprintf(code, sizeof(code), "%u", w->codes[i]);
		prom_u64(&b, "lorabridge_http_requests_total", "code", code, w->codes_n[i]);
	}
	prom_family(&b, "lorabridge_http_refused_total", "counter",
		    "HTTP requests refused before routing (limits: URL, headers, body size).");
	prom_u64(&b, "lorabridge_http_refused_total", NULL, NULL, w->httpd.stats.refused);
	counter(&b, "lorabridge_http_slow_requests_total",
		"HTTP connections closed: their request begun, not whole within the timeout "
		"(idle connections not counted).",
		w->httpd.stats.slow_requests);
	prom_family(&b, "lorabridge_web_devices_untracked_total", "counter",
		    "Device events the page's history did not follow (over its device limit).");
	prom_u64(&b, "lorabridge_web_devices_untracked_total", NULL, NULL, w->hist.untracked);
	gauge(&b, "lorabridge_sse_clients", "Clients of /events.", (double)clients_open(w));
	prom_family(&b, "lorabridge_sse_disconnected_slow_total", "counter",
		    "Clients of /events disconnected for reading too slowly.");
	prom_u64(&b, "lorabridge_sse_disconnected_slow_total", NULL, NULL, w->sse_slow);
	gauge(&b, "lorabridge_uptime_seconds", "Seconds since start.",
	      (double)(loop_now_ms() - w->c.stats->started_ms) / 1000.0);
	if (prom_finish(&b, &len) != LB_OK) {
		LB_LOG_RL(LOG_LVL_ERROR, "web", "/metrics over %d KiB", METRICS_MAX / 1024);
		free(out);
		reply_error(w, c, 500, "metrics too large");
		return;
	}
	int rc = httpd_reply(c, 200, "text/plain; version=0.0.4; charset=utf-8", out, len, WEB_CSP);
	if (rc != LB_OK)
		not_sent(200, rc);
	free(out);
}

/* ------------------------------------------------------- lifecycle */

/* Warn when one check of the password stalls the loop noticeably: each
 * guess costs that much (measured once, with a wrong password). */
static void time_password_check(const struct web *w)
{
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	(void)pwhash_verify(&w->password, "-", 1);
	clock_gettime(CLOCK_MONOTONIC, &b);
	int64_t ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	if (ms > WEB_AUTH_SLOW_MS)
		log_warn("web", "one check of http.password takes %lld ms (%u iterations), during "
			 "which nothing else runs: make a hash with fewer iterations (lorabridge "
			 "passwd --iterations N)", (long long)ms, (unsigned)w->password.iter);
}

int web_init(struct web *w, const struct web_ctx *ctx)
{
	const struct lb_config *cfg = ctx->cfg;
	int rc;

	memset(w, 0, sizeof(*w));
	w->c = *ctx;
	w->n_clients_max = (size_t)cfg->http_max_clients;
	/* Keep room for API requests next to the streams. */
	if (w->n_clients_max > 2)
		w->n_clients_max -= 2;
	if (!(w->clients = calloc(w->n_clients_max, sizeof(*w->clients))))
		return LB_ERR_NOMEM;
	if (cfg->http_password) {
		if (pwhash_parse(cfg->http_password, &w->password) != LB_OK) {
			log_error("web", "http.password is not a password hash");
			return LB_ERR_CONFIG;
		}
		w->has_password = true;
		if (RAND_bytes(w->key, sizeof(w->key)) != 1) {
			log_error("web", "no random bytes for the password cache");
			return LB_ERR_CRYPTO;
		}
	}
	if ((rc = addrlimit_init(&w->rate, 0, WEB_RATE_COUNT, WEB_RATE_WINDOW_MS)) != LB_OK ||
	    (rc = addrlimit_init(&w->auth_rate, 0, 1, WEB_AUTH_INTERVAL_MS)) != LB_OK)
		return rc;
	if (w->has_password)
		time_password_check(w);
	if ((rc = web_reload_files(w)) == LB_ERR_NOMEM)
		return rc;       /* LB_ERR_IO: logged, the API still runs */
	return LB_OK;
}

int web_listen(struct web *w, bool quiet)
{
	const struct lb_config *cfg = w->c.cfg;
	struct httpd_opts o = {
		.bind = cfg->http_bind, .port = cfg->http_port,
		.max_clients = (unsigned)cfg->http_max_clients, .max_body = WEB_MAX_BODY,
		.stream_limit = WEB_SSE_BUFFER, .timeout_s = WEB_TIMEOUT_S, .quiet_start = quiet,
	};
	struct httpd_handlers h = {.request = on_request, .closed = on_closed,
				   .refused = on_refused, .arg = w};
	int rc;

	if (w->open)
		return LB_OK;
	if ((rc = httpd_open(&w->httpd, w->c.loop, &o, &h)) != LB_OK)
		return rc;
	w->open = true;
	w->next_ping_ms = loop_now_ms() + WEB_PING_MS;
	log_notice("web", "web page and API on http://%s%s%s:%u/ (%s)",
		   strchr(cfg->http_bind, ':') ? "[" : "", cfg->http_bind,
		   strchr(cfg->http_bind, ':') ? "]" : "", cfg->http_port,
		   w->has_password ? "writes need the password" : "read-only: no http.password");
	return LB_OK;
}

void web_free(struct web *w)
{
	w->open = false;
	httpd_close(&w->httpd);
	free(w->clients);
	w->clients = NULL;
	files_free(w->files, w->n_files);
	w->files = NULL;
	w->n_files = 0;
	w->n_clients_max = 0;
	webhist_free(&w->hist);
	buf_free(&w->text);
	buf_free(&w->frame);
	addrlimit_free(&w->rate);
	addrlimit_free(&w->auth_rate);
	OPENSSL_cleanse(w->key, sizeof(w->key));
}

int64_t web_tick(struct web *w, int64_t now_ms)
{
	if (!w->open)
		return -1;
	if (now_ms >= w->next_ping_ms) {
		ping(w);
		w->next_ping_ms = now_ms + WEB_PING_MS;
	}
	return loop_earliest(w->next_ping_ms, httpd_tick(&w->httpd, now_ms));
}
