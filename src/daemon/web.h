/* SPDX-License-Identifier: MIT */
/*
 * web.h - the web page's server side (README "Web page"): the page's
 * files, a JSON API, a live stream of events, Prometheus metrics, a health
 * check, on the HTTP edge io/httpd.h.
 *
 *   GET  /, /{file}                  files of http.www_dir ([a-z0-9_-]+.(html|js|css|svg|png|ico))
 *   GET  /healthz                    200 {"ok":true} / 503 {"ok":false,"reason":...}
 *   GET  /metrics                    Prometheus text format 0.0.4
 *   GET  /api/bridge, /api/gateways, /api/devices, /api/devices/{devEui}
 *   POST /api/devices/{devEui}/queue a downlink, as on the MQTT command topic
 *   GET  /events                     Server-Sent Events: hello, then live events
 *
 * The live events are the ones published on MQTT, shown through the
 * publisher's tap (bridge.c hands them to web_device_event(),
 * web_gateway_event() and web_bridge_event()); their per-device history
 * (webhist.h) is kept only while the server runs. An uplink costs the page
 * no parse and, in steady state, no allocation: the history takes an up's
 * values from the tap's publish_facts, and with clients open each event is
 * wrapped, framed and the device's summary written in the buffers of
 * struct web_buf, kept from one event to the next. The lists
 * (/api/devices, /api/gateways) and the `hello` snapshot of /events are
 * written as text a device at a time while the client reads them
 * (weblist.h): however large the fleet, neither a long stall of the loop
 * nor the whole text in memory.
 *
 * The page's files are read once, at web_init() and web_reload_files()
 * (SIGHUP), and served from memory: at most WEB_FILES_MAX files of at most
 * WEB_FILE_MAX bytes; a missing index.html is warned about at once.
 *
 * Writes need the password (http.password, pwhash.h) as "Authorization:
 * Bearer PASSWORD": 401 without or with a wrong one, 403 when none is
 * configured. A password checked once is remembered (as a keyed digest,
 * compared in constant time before any limit), so its user pays PBKDF2
 * once and is never refused by the limit below; other passwords cost
 * PBKDF2 each, allowed one per WEB_AUTH_INTERVAL_MS without burst, both
 * per client address and in all (beyond: 429), so guessing, even from many
 * connections at once, cannot stall the loop. Every address gets
 * WEB_RATE_COUNT requests per WEB_RATE_WINDOW_MS (beyond: 429). Each 429
 * says in Retry-After how many seconds until a request would pass.
 *
 * DNS rebinding (a page of another site whose name comes to resolve to
 * our address): every request's Host, its port removed, must be
 * localhost, an IP address or a name of http.hosts; otherwise 421 (an
 * HTTP/1.0 request without Host passes: browsers always send it). Answers carry Content-Security-Policy (the page's own
 * files only) and X-Content-Type-Options: nosniff.
 *
 * Context (borrowed): the registry, the gateway table, the budget (duty
 * cycle), the counters, the store (queue lengths), the command path, and a
 * snapshot callback for what the bridge owns (MQTT, outbox, integrations).
 *
 * Ownership: web_init() opens the server; web_free() closes every stream
 * and the server and frees the history. Errors: lb_err codes, logged.
 */
#ifndef LB_WEB_H
#define LB_WEB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "daemon/budget.h"
#include "daemon/command.h"
#include "daemon/publish.h"
#include "daemon/stats.h"
#include "base/pwhash.h"
#include "daemon/webhist.h"
#include "io/httpd.h"
#include "io/loop.h"
#include "store/store.h"
#include "tables/addrlimit.h"
#include "tables/devices.h"
#include "tables/gateway.h"

#define WEB_SSE_BUFFER (256 * 1024)      /* per /events client */
/* The largest live event framed for /events (bigger ones are not sent:
 * no client's buffer could take one). */
#define WEB_SSE_FRAME_MAX WEB_SSE_BUFFER
#define WEB_PING_MS 15000
#define WEB_MAX_BODY 8192
#define WEB_RATE_COUNT 200
#define WEB_RATE_WINDOW_MS 10000
#define WEB_AUTH_INTERVAL_MS 2500       /* between checks of unknown passwords */
#define WEB_AUTH_SLOW_MS 100             /* a check slower than this: warned at start */
#define WEB_CSP "Content-Security-Policy: default-src 'self'; img-src 'self' data:"
#define WEB_TIMEOUT_S 5
#define WEB_HTTP_CODES 16                /* distinct status codes counted */
#define WEB_FILES_MAX 64
#define WEB_FILE_MAX (4 * 1024 * 1024)
#define WEB_FILE_NAME 64

/* What the bridge owns, asked for when a page or /metrics needs it. */
struct web_snapshot {
	bool mqtt_connected;
	size_t mqtt_queue_depth;
	uint64_t outbox_depth;
	size_t pending_sessions;         /* OTAA sessions of rejoins not used yet (session.h) */
	struct stats_integ integs[STATS_MAX_INTEGS];
	size_t n_integs;
	uint64_t udp_kernel_drops;
	uint64_t intake_pauses;          /* the UDP socket left unread (intake.h) */
	uint64_t intake_paused_ms;
	uint64_t dedup_forced_early;     /* groups forced out of a full table (dedup.h) */
};

struct web_ctx {
	const struct lb_config *cfg;
	const char *region;
	struct loop *loop;
	struct devices *devices;
	struct gateways *gateways;
	struct budget *budget;
	struct stats *stats;
	struct store *store;
	struct commands *commands;
	void (*snapshot)(void *arg, struct web_snapshot *out);
	void *snapshot_arg;
};

#define WEB_ETAG_LEN 19                 /* "\"" 16 hex digits "\"" and NUL */

struct web_file {
	char name[WEB_FILE_NAME];
	char *data;
	size_t len;
	char etag[WEB_ETAG_LEN];             /* of its content: the SHA-256's first 8 bytes */
};

struct web_client {
	struct httpd_stream *stream;         /* NULL = free slot */
};

/* A buffer of the web module's own, kept from one event to the next and
 * grown (doubling) up to WEB_SSE_FRAME_MAX bytes: a live event costs no
 * allocation once it has the size events need. */
struct web_buf {
	char *p;
	size_t cap;
};

struct web {
	struct web_ctx c;
	struct httpd httpd;
	bool open;
	struct webhist hist;
	struct addrlimit rate;
	bool has_password;
	struct pwhash password;
	uint8_t key[32];                     /* keys the remembered digest */
	uint8_t known[32];                   /* HMAC(key, last verified password) */
	bool has_known;
	struct addrlimit auth_rate;          /* checks of unknown passwords, per address */
	int64_t auth_tat_us;                 /* the same in all (GCRA, addrlimit.h) */
	struct web_file *files;              /* the page's, read at start and SIGHUP */
	size_t n_files;
	struct web_client *clients;          /* max_clients slots */
	size_t n_clients_max;
	struct web_buf text;                 /* a live event's data: a device event wrapped
					      * with its devEui, a device's summary */
	struct web_buf frame;                /* the Server-Sent Event sent to every client */
	int64_t next_ping_ms;
	int64_t started_ms;
	/* counters for /metrics */
	unsigned codes[WEB_HTTP_CODES];      /* status code of codes_n[i] */
	uint64_t codes_n[WEB_HTTP_CODES];
	uint64_t sse_slow;                   /* clients closed: too slow */
	bool mqtt_shown;                     /* the broker's state the clients last heard */
};

/* Everything but the server: web_listen() opens it. The events are kept
 * (history) only once it is open: web_device_event() ignores them before
 * (and while it cannot listen). */
int web_init(struct web *w, const struct web_ctx *ctx);
/* Listen on http.bind:http.port (a no-op if open). quiet: a failure to
 * listen is logged at debug (a retry, the failure already said). Errors:
 * LB_ERR_IO (port in use, address not ours), LB_ERR_NO_LIBRARY
 * (libmicrohttpd missing: no use trying again), as httpd_open(). */
int web_listen(struct web *w, bool quiet);
void web_free(struct web *w);
/* Pings, MHD's timers; the next deadline. */
/* Read http.www_dir's files again (SIGHUP). On failure the files served
 * so far stay. Errors: LB_ERR_NOMEM, LB_ERR_IO (the directory; logged). */
int web_reload_files(struct web *w);

int64_t web_tick(struct web *w, int64_t now_ms);

/* The tap: events as they are published. facts (publish.h; NULL none):
 * what an `up` was built from, for the history without a parse. */
void web_device_event(struct web *w, const char *application, uint64_t dev_eui,
		      const char *event, const char *json, size_t len,
		      const struct publish_facts *facts);
void web_gateway_event(struct web *w, uint64_t gateway_eui, const char *event, const char *json,
		       size_t len);
void web_bridge_event(struct web *w, const char *event, const char *json, size_t len);
/* The broker's connection, told at every pass of the loop: a change goes
 * to the /events clients as a `bridge` event (the hello's bridge object),
 * so that the page's badge follows it. */
void web_mqtt_state(struct web *w, bool connected);

#endif
