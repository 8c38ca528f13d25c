/* SPDX-License-Identifier: MIT */
/*
 * httpd.h - an HTTP server on the event loop: libmicrohttpd in its
 * external-loop epoll mode (MHD_USE_EPOLL without an internal thread).
 * MHD keeps its own epoll set of the listening socket and connections; its
 * descriptor (MHD_DAEMON_INFO_EPOLL_FD) is one slot of our loop, MHD_run()
 * runs when it is readable, and MHD_get_timeout() is httpd_tick()'s next
 * deadline. No thread, no blocking call.
 *
 * The module knows requests and answers, nothing of the daemon: each
 * complete request (its body read, at most max_body bytes) is handed to
 * one handler, which answers it at once with httpd_reply(), with a body
 * pulled piece by piece as the client reads (httpd_reply_pull(): a large
 * answer neither held whole in memory nor made in one go on the loop), or
 * turns it into a stream (httpd_stream_start(), Server-Sent Events) that
 * it feeds later with httpd_stream_write(), after a snapshot it may pull
 * the same way (httpd_stream_pull()).
 *
 * Limits, answered here before the handler sees anything, with a reason:
 *   - request line and headers within HTTPD_CONN_MEMORY bytes (MHD answers
 *     414 or 431 itself), at most HTTPD_MAX_HEADERS header fields (431),
 *     a URL of at most HTTPD_MAX_URL bytes (414);
 *   - a body over max_body bytes: 413 (the rest is read and discarded);
 *   - at most max_clients connections (MHD_OPTION_CONNECTION_LIMIT: more
 *     wait in the kernel's listen queue until one ends), at most
 *     HTTPD_PER_IP_LIMIT(max_clients) of them from one address
 *     (MHD_OPTION_PER_IP_CONNECTION_LIMIT: more are closed at accept),
 *     idle ones closed after timeout_s;
 *   - a request (line, headers, body) whole within timeout_s of its
 *     connection's accept or of the previous answer's end: MHD's timeout
 *     counts idle time only, so a client trickling its headers would hold a
 *     connection for ever. Past it a connection that has sent bytes since
 *     then is shut (counted: slow_requests); one that sent nothing is
 *     idle, left to MHD's idle timeout (not counted), and shut uncounted
 *     HTTPD_IDLE_MARGIN_MS later should it still be open.
 *
 * Streams: what the handler writes is buffered (at most stream_limit bytes
 * beyond the stream's first write, which may be a large snapshot) and sent
 * as the client reads. A stream whose client reads too slowly is
 * closed (httpd_stream_write() returns LB_ERR_FULL) and counted. A stream
 * with nothing to send is suspended in MHD (no busy polling); while
 * suspended MHD does not see the client leave, so this module watches each
 * stream's socket for the peer's close (EPOLLRDHUP, in an epoll set of its
 * own that is one more slot of the loop) and ends the stream then, freeing
 * its connection at once. The owner still writes something now and then (a
 * comment line) for clients that vanish without closing.
 *
 * Ownership: a stream belongs to httpd; the owner's pointer is valid until
 * its `closed` callback ran or it called httpd_stream_close(), whichever is
 * first (after httpd_stream_close() no callback comes). httpd_close()
 * closes every stream (callbacks run) and the server.
 *
 * Errors: lb_err codes; MHD's are translated here (LB_ERR_IO, logged with
 * the reason).
 */
#ifndef LB_HTTPD_H
#define LB_HTTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "io/loop.h"

#define HTTPD_CONN_MEMORY 16384      /* request line + headers per connection */
#define HTTPD_MAX_HEADERS 64
#define HTTPD_MAX_URL 2048
/* An idle connection is MHD's to close (just past timeout_s); ours, uncounted,
 * only this long after that. */
#define HTTPD_IDLE_MARGIN_MS 1000
/* Connections one client address may hold, so one host cannot take them
 * all: a quarter of max_clients, but at least 8 (a browser opens up to 6
 * to one server) while that leaves 2 for other addresses. */
#define HTTPD_PER_IP_MIN(m) ((m) < 4 ? 1u : (m) - 2 < 8 ? (m) - 2 : 8u)
#define HTTPD_PER_IP_LIMIT(m) ((m) / 4 > HTTPD_PER_IP_MIN(m) ? (m) / 4 : HTTPD_PER_IP_MIN(m))

struct httpd_conn;       /* a request being answered (MHD's connection) */
struct httpd_stream;     /* an open stream */
struct httpd_peer;       /* an open connection */

struct httpd_request {
	const char *method;              /* "GET", "POST", ... */
	const char *path;                /* URL path, without the query */
	const char *authorization;       /* the Authorization header, NULL = none */
	const char *host;                /* the Host header, NULL = none */
	const char *if_none_match;       /* the If-None-Match header, NULL = none */
	const char *body;                /* body_len bytes, NUL-terminated; "" = none */
	size_t body_len;
	struct sockaddr_storage peer;    /* the client's address */
	socklen_t peer_len;              /* 0 = unknown */
};

struct httpd_handlers {
	/* A request: answer with httpd_reply() or httpd_stream_start() before
	 * returning (otherwise 500 is sent). */
	void (*request)(void *arg, struct httpd_conn *c, const struct httpd_request *rq);
	/* A stream ended (client gone, too slow, server closing): its owner
	 * drops its pointer. */
	void (*closed)(void *arg, struct httpd_stream *s, void *owner);
	/* A request answered here (a limit), with its status; may be NULL. */
	void (*refused)(void *arg, unsigned status);
	void *arg;
};

struct httpd_opts {
	const char *bind;                /* numeric IPv4 or IPv6 address */
	uint16_t port;
	unsigned max_clients;            /* connections at once */
	size_t max_body;                 /* bytes of a request body */
	size_t stream_limit;             /* bytes buffered per stream */
	unsigned timeout_s;              /* idle connections closed (not streams), and
					  * a request not whole within it */
	bool quiet_start;                /* a failure to listen logged at debug (a retry) */
};

struct httpd_stats {
	uint64_t requests;               /* handed to the handler */
	uint64_t refused;                /* answered here (limits above) */
	uint64_t streams_slow;           /* closed: buffer over stream_limit */
	uint64_t slow_requests;          /* closed: a request begun, not whole within
					  * timeout_s (an idle connection is not one) */
	size_t streams;                  /* open now */
};

struct dynlib_mhd;

struct httpd {
	const struct dynlib_mhd *lm;     /* libmicrohttpd, loaded by httpd_open() (io/dynlib.h) */
	struct MHD_Daemon *mhd;
	struct loop *loop;
	int epfd;                        /* MHD's epoll set, a slot of loop; -1 none */
	int hupfd;                       /* streams' sockets, for EPOLLRDHUP; -1 none */
	uint64_t next_stream_id;
	struct httpd_handlers h;
	struct httpd_opts o;
	struct httpd_stream *streams;    /* open streams, a list */
	struct httpd_peer *peers;        /* open connections, a list */
	struct httpd_stats stats;
	bool need_run;                   /* a stream resumed, a connection closed or cut:
					  * run MHD at the next tick */
	bool starting;                   /* in httpd_open(): MHD's messages as o.quiet_start */
	int64_t deadline_ms;             /* MHD_get_timeout()'s, -1 none */
};

/* Listen on o->bind:o->port; loads libmicrohttpd the first time
 * (io/dynlib.h). Errors: LB_ERR_INVAL (bad address or NULL),
 * LB_ERR_NO_LIBRARY (libmicrohttpd cannot be loaded: logged once, and every
 * later call fails the same way), LB_ERR_IO (MHD could not start: port in
 * use...; logged), LB_ERR_FULL (loop). */
int httpd_open(struct httpd *h, struct loop *loop, const struct httpd_opts *o,
	       const struct httpd_handlers *handlers);
/* Close every stream (their `closed` callbacks run) and the server. Safe on
 * a zeroed struct. */
void httpd_close(struct httpd *h);

/* Run MHD if a stream has data again; the next deadline (-1 none). */
int64_t httpd_tick(struct httpd *h, int64_t now_ms);

/* Answer a request: status, Content-Type, body (copied). extra_header is
 * NULL or one or more "Name: value" lines separated by '\n' (a value of at
 * most 511 bytes); without a Cache-Control line of its own the answer has
 * "Cache-Control: no-store". Errors: LB_ERR_NOMEM (also: a malformed extra_header),
 * LB_ERR_STATE (already answered), LB_ERR_IO (MHD refused to queue it: the
 * connection is closing). */
int httpd_reply(struct httpd_conn *c, unsigned status, const char *type, const char *body,
		size_t len, const char *extra_header);

/* The next bytes of an answer pulled as its client reads: at most max of
 * them into buf. Returns how many (> 0), 0 at the end, or an lb_err code
 * (< 0; logged by the puller) to cut the answer short (the connection is
 * closed). It runs on the loop, once per block the socket takes: each call
 * does a bounded piece of work. */
typedef ssize_t (*httpd_pull_fn)(void *arg, char *buf, size_t max);
/* The pull is over (ended, cut, the client gone, the server closing):
 * free arg. Called exactly once, also when the call that took it fails. */
typedef void (*httpd_pull_done_fn)(void *arg);

/* Answer with a body of unknown length produced by pull as the client
 * reads it (chunked in HTTP/1.1): no whole body in memory, no long stall
 * of the loop. Headers as httpd_reply(). Errors: LB_ERR_NOMEM, LB_ERR_IO,
 * LB_ERR_STATE (already answered); done(arg) has run then. */
int httpd_reply_pull(struct httpd_conn *c, unsigned status, const char *type,
		     const char *extra_header, httpd_pull_fn pull, httpd_pull_done_fn done,
		     void *arg);

/* Answer with a stream of Content-Type `type`, 200, no end. owner is given
 * back in the `closed` callback. NULL on failure (LB_ERR_NOMEM: 500 sent). */
struct httpd_stream *httpd_stream_start(struct httpd *h, struct httpd_conn *c, const char *type,
					void *owner);

/* Queue len bytes. The stream's first write is always taken (a snapshot of
 * any size) and raises its limit to its length + stream_limit: later
 * writes are cut past that. LB_OK, or LB_ERR_FULL: over the limit, the stream is
 * cut (counted; its socket shut at once; the `closed` callback runs from
 * the next MHD run unless the owner calls httpd_stream_close() before it),
 * or LB_ERR_STATE: already closing. */
int httpd_stream_write(struct httpd *h, struct httpd_stream *s, const char *data, size_t len);

/* The stream's snapshot pulled, as the client reads, before anything
 * written (call it before the first httpd_stream_write()): the snapshot
 * is taken whole, whatever its size, as a first write would be, and
 * writes meanwhile are buffered after it within stream_limit plus the
 * bytes of the snapshot produced so far (as if it had been written
 * first). done(arg) runs once the pull ends or the stream does. LB_OK, or
 * LB_ERR_STATE (a snapshot or a write came first, or closing; done(arg)
 * has run). */
int httpd_stream_pull(struct httpd *h, struct httpd_stream *s, httpd_pull_fn pull,
		      httpd_pull_done_fn done, void *arg);

/* Close a stream from the owner's side: no `closed` callback comes. */
void httpd_stream_close(struct httpd *h, struct httpd_stream *s);

#endif
