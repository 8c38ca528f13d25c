/* SPDX-License-Identifier: MIT */
/*
 * sseclient.h - a client of a Server-Sent Events stream (WHATWG HTML
 * "Server-sent events" §9.2.6, the event stream interpretation): GET the
 * URL with libcurl, split the stream into events (the `event:` field, the
 * `data:` lines joined by '\n', comments and other fields ignored) and hand
 * each to a callback. For `lorabridge top`, a program of its own: it
 * blocks in its own small loop (curl_multi_poll) until the stream ends or
 * a callback says stop; it may also watch a descriptor (the terminal) and
 * report each byte read from it.
 *
 * libcurl is loaded by the first call (io/dynlib.h).
 *
 * Errors: LB_ERR_IO (libcurl cannot be loaded, no connection, HTTP status
 * other than 200: the reason in err), LB_ERR_TOO_LARGE (an event over SSECLIENT_EVENT_MAX),
 * LB_ERR_NOMEM. A stop asked by a callback is LB_OK.
 */
#ifndef LB_SSECLIENT_H
#define LB_SSECLIENT_H

#include <stdbool.h>
#include <stddef.h>

#define SSECLIENT_EVENT_MAX (16 * 1024 * 1024)

struct sseclient_opts {
	const char *url;
	/* An event: name ("message" when none), data (NUL-terminated). Return
	 * false to stop. */
	bool (*on_event)(void *arg, const char *name, const char *data, size_t len);
	/* A byte from key_fd (when >= 0). Return false to stop. */
	bool (*on_key)(void *arg, int ch);
	int key_fd;
	/* Polled every 250 ms: return false to stop (a signal arrived). */
	bool (*keep_going)(void *arg);
	void *arg;
};

int sseclient_run(const struct sseclient_opts *o, char *err, size_t err_cap);

#endif
