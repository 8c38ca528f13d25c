/* SPDX-License-Identifier: MIT */
/*
 * weblist.h - the web API's lists and the /events `hello` snapshot
 * (README "Web page") written as text piece by piece while the client
 * reads them: one gateway or device at a time, each by its writer of
 * events/web_json.h (base/jsonw.h: no json-c tree, no parse), so a fleet
 * of 100,000 devices neither holds the loop for the whole list nor needs
 * the whole text in memory (one device's text at most, beyond what the
 * socket takes). Fed to io/httpd.h's pulled answers (httpd_reply_pull(),
 * httpd_stream_pull()) through weblist_pull() and weblist_done().
 *
 *   WEBLIST_DEVICES   {"devices":[DEVICE,...]}
 *   WEBLIST_GATEWAYS  {"gateways":[GATEWAY,...]}
 *   WEBLIST_HELLO     "retry: 2000\n\n" (WHATWG HTML §9.2.6), then the
 *                     Server-Sent Event "event: hello\ndata: " +
 *                     {"bridge":BRIDGE,"gateways":[...],"devices":[...]}
 *                     + "\n\n" (any line break of the data, which only a
 *                     decoded object's text could hold, starts a new
 *                     "data: " line, as web_sse_frame() does)
 *
 * Each item is written when the client is ready for it, so the list is
 * not one instant's: an item shows its state when written (a device
 * changed meanwhile shows its new state; its live events follow the
 * snapshot on the stream). The cursor is an index into the tables, read
 * again at each piece: a registry reloaded meanwhile (SIGHUP) is read on
 * from the same index.
 *
 * Ownership: weblist_new() allocates; weblist_done() (the pull's `done`)
 * frees. The source must outlive it (the web server: httpd_close() ends
 * every pulled answer, done runs, before web_free() returns).
 * Errors: NULL (out of memory, logged); a pull returns LB_ERR_NOMEM
 * (logged) and the answer is cut.
 */
#ifndef LB_WEBLIST_H
#define LB_WEBLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "daemon/webhist.h"
#include "events/web_json.h"
#include "tables/dutycycle.h"

enum weblist_kind { WEBLIST_DEVICES, WEBLIST_GATEWAYS, WEBLIST_HELLO };

/* Room for what a view points to. */
#define WEBLIST_DC_MAX 8
struct weblist_gw_scratch {
	struct ev_duty_cycle dc[WEBLIST_DC_MAX];
	char names[WEBLIST_DC_MAX][DC_NAME_LEN];
	char addr[64];                       /* "[v6 address]:port" */
};
struct weblist_dev_scratch {
	int16_t rssi[WEBHIST_RADIO];
	float snr[WEBHIST_RADIO];
};

/* Where the items come from (the web server, daemon/web.c): views of the
 * tables, filled into out, pointing into the scratch given. */
struct weblist_source {
	void *arg;
	void (*bridge)(void *arg, struct web_bridge_view *out);
	/* The first gateway in use at slot *slot or after it, *slot moved past
	 * it; false: none left. */
	bool (*gateway)(void *arg, size_t *slot, struct web_gw_view *out,
			struct weblist_gw_scratch *sc);
	/* Device i of the registry; false: i is beyond its end. */
	bool (*device)(void *arg, size_t i, struct web_dev_view *out,
		       struct weblist_dev_scratch *sc);
};

struct weblist;

/* src is copied. */
struct weblist *weblist_new(const struct weblist_source *src, enum weblist_kind kind);
/* httpd_pull_fn: the next bytes, at most max, into buf; 0 at the end. */
ssize_t weblist_pull(void *list, char *buf, size_t max);
/* httpd_pull_done_fn: frees the list. */
void weblist_done(void *list);

#endif
