/* SPDX-License-Identifier: MIT */
/*
 * http.h - HTTP requests on the event loop: libcurl's multi interface
 * driven by our epoll loop (curl `docs/examples/ephiperfifo.c`, without its
 * own loop): curl tells through CURLMOPT_SOCKETFUNCTION which sockets to
 * watch, which this module registers with struct loop, and through
 * CURLMOPT_TIMERFUNCTION when it wants to be called again, which
 * http_tick() reports as its next deadline. No thread of ours, no blocking
 * call: a request is started, and its callback runs from the loop when it
 * is answered, fails or times out. (Host names are resolved by libcurl's
 * own resolver, which in Debian's builds runs in a helper thread of
 * libcurl's; a libcurl without one blocks: see http_async_dns(). URLs with
 * an IP address resolve nothing.)
 *
 * TLS: https:// servers are verified (certificate chain and host name)
 * unless verify is false; ca_file replaces the system's CA certificates.
 * Only http:// and https:// are allowed; redirects are not followed.
 *
 * Ownership: a request's strings and body are borrowed until its callback
 * has run (or http_free()); everything else is copied. http_free() cancels
 * the requests in flight without calling their callbacks.
 *
 * Errors: lb_err codes; curl's are translated here: LB_ERR_TIMEOUT (the
 * request's timeout passed), LB_ERR_IO (no connection, TLS failure, reset:
 * http_result.error says which), LB_ERR_NOMEM.
 */
#ifndef LB_HTTP_H
#define LB_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/loop.h"

/* The most connections http_init() may be asked for (each up to two loop slots,
 * io/loop.h): 32 integrations with 16 requests in flight each. */
#define HTTP_MAX_CONNECTIONS 512
_Static_assert(LOOP_MAX_FDS >= 64 + 2 * HTTP_MAX_CONNECTIONS,
	       "the loop watches two sockets per connection while it connects");
/* Bytes of an answer's body kept for the callback (for messages). */
#define HTTP_ANSWER_MAX 512

struct http_request {
	const char *url;
	const char *const *headers;    /* "Name: value" lines, n_headers of them */
	size_t n_headers;
	const char *body;              /* POSTed as is */
	size_t body_len;
	const char *username;          /* HTTP basic authentication, or NULL */
	const char *password;
	const char *ca_file;           /* NULL: the system's CA certificates */
	bool verify;                   /* TLS: verify the server's certificate and name */
	long timeout_ms;               /* the whole request, connection included */
};

struct http_result {
	int rc;                        /* LB_OK: an answer came, with status */
	long status;                   /* HTTP status code, 0 without an answer */
	const char *error;             /* why not, in curl's words ("" when rc == LB_OK) */
	const char *answer;            /* the answer's body, at most HTTP_ANSWER_MAX bytes */
	size_t answer_len;
	int64_t elapsed_us;            /* from the start to the end */
	int64_t retry_after_s;         /* the answer's Retry-After (RFC 9110 §10.2.3:
					* seconds, or an HTTP-date: its distance from
					* now), 0 without one or with one in the past */
};

/* The result and its strings are valid during the call only. */
typedef void (*http_done_fn)(void *arg, const struct http_result *res);

struct http_xfer;
struct dynlib_curl;

struct http {
	struct loop *loop;
	const struct dynlib_curl *lc;  /* libcurl, loaded by http_init() (io/dynlib.h) */
	void *multi;                   /* CURLM */
	int64_t timer_ms;              /* curl's deadline, -1 none */
	size_t active;                 /* requests started and not done */
	struct http_xfer *xfers;       /* those requests, a doubly linked list */
};

/* Loads libcurl the first time (io/dynlib.h). max_connections (1 ..
 * HTTP_MAX_CONNECTIONS): connections open at once over every request. A
 * request beyond it would wait in libcurl's queue with its timeout running,
 * so callers size it to the requests they keep in flight at most (the
 * integrations: the sum of their `parallel`), and no request of theirs ever
 * waits for another's connection. Errors: LB_ERR_NOMEM, LB_ERR_INVAL
 * (max_connections out of range), LB_ERR_IO (libcurl could not be loaded or
 * initialised; logged). */
int http_init(struct http *h, struct loop *loop, size_t max_connections);
void http_free(struct http *h);

/* Start a POST. done runs exactly once, from a later http_tick() or loop
 * callback, never from inside this call. Errors (done not called):
 * LB_ERR_NOMEM, LB_ERR_INVAL (an option libcurl refuses, logged). */
int http_post(struct http *h, const struct http_request *rq, http_done_fn done, void *arg);

/* Whether libcurl resolves host names without blocking (a threaded or
 * c-ares resolver: CURL_VERSION_ASYNCHDNS). Without, a host name in a URL
 * blocks the loop while it is looked up. False if libcurl cannot be loaded. */
bool http_async_dns(void);

/* Run curl's timers that are due; the next deadline (monotonic ms) or -1. */
int64_t http_tick(struct http *h, int64_t now_ms);

static inline size_t http_active(const struct http *h)
{
	return h->active;
}

#endif
