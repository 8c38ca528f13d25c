/* SPDX-License-Identifier: MIT */
/* httpd.c - libmicrohttpd on our epoll loop. See httpd.h. */
#include "io/httpd.h"

#include <arpa/inet.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "base/lb_err.h"
#include "base/log.h"
#include "io/dynlib.h"

#define STREAM_BLOCK 4096
/* Bytes asked of a pulled answer at a time: one call's work on the loop. */
#define PULL_BLOCK 32768
#define RUN_MAX_WAIT_MS 3600000

struct httpd_conn {
	struct httpd *h;
	struct MHD_Connection *mc;
	bool answered;
};

/* One request's state, from the first call of the access handler to
 * MHD's "completed" notification. */
struct req {
	struct httpd_conn conn;
	struct httpd_peer *peer;         /* its connection's; NULL unknown */
	char *body;                      /* NUL-terminated */
	size_t len, cap;
	bool too_large;
	bool refused;                    /* answered at the first call */
};

/* One connection, from its accept to its close (MHD's socket context). */
struct httpd_peer {
	struct MHD_Connection *mc;
	int fd;                          /* its socket (MHD's), -1 unknown */
	int64_t since_ms;                /* a request awaited since; -1: being answered */
	uint64_t rx_since;               /* bytes its socket had received then */
	bool cut;                        /* shut: past its deadline */
	struct httpd_peer *next, **pprev;
};

struct httpd_stream {
	struct httpd *h;
	uint64_t id;                     /* the hup set's key (never a pointer there) */
	int fd;                          /* its socket (MHD's), -1 unknown */
	bool cut;                        /* too slow: end without a proper end */
	struct MHD_Connection *mc;
	void *owner;                     /* NULL once the owner closed it */
	char *buf;
	size_t off, len, cap;            /* unsent bytes: buf[off .. off + len) */
	size_t limit;                    /* of len; 0 until the first write */
	httpd_pull_fn pull;              /* the snapshot still produced; NULL none */
	httpd_pull_done_fn pull_done;
	void *pull_arg;
	bool suspended;
	bool closing;                    /* end the response at the next read */
	struct httpd_stream *next, **pprev;
};

/* ------------------------------------------------------- answers */

/* One "Name: value" line of n bytes as a header of r. */
static bool add_header_line(const struct dynlib_mhd *lm, struct MHD_Response *r, const char *line,
			    size_t n)
{
	char name[64], value[512];
	const char *colon = memchr(line, ':', n);
	size_t k = colon ? (size_t)(colon - line) : 0;

	if (k == 0 || k >= sizeof(name))
		return false;
	memcpy(name, line, k);
	name[k] = '\0';
	const char *v = colon + 1, *end = line + n;
	while (v < end && *v == ' ')
		v++;
	if ((size_t)(end - v) >= sizeof(value))
		return false;
	memcpy(value, v, (size_t)(end - v));
	value[end - v] = '\0';
	return lm->add_response_header(r, name, value) == MHD_YES;
}

/* Does extra_header ("Name: value" lines) have a line of name? */
static bool has_header(const char *extra_header, const char *name)
{
	size_t k = strlen(name);

	for (const char *line = extra_header; line && *line;) {
		if (!strncasecmp(line, name, k) && line[k] == ':')
			return true;
		line += strcspn(line, "\n");
		line += *line == '\n';
	}
	return false;
}

/* Headers on r, r queued as c's answer, r released (MHD keeps its own
 * reference while it sends it). */
static int queue_answer(struct httpd_conn *c, unsigned status, struct MHD_Response *r,
			const char *type, const char *extra_header)
{
	const struct httpd *h = c->h;
	bool ok = h->lm->add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type) == MHD_YES &&
		  (has_header(extra_header, MHD_HTTP_HEADER_CACHE_CONTROL) ||
		   h->lm->add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") ==
			   MHD_YES) &&
		  h->lm->add_response_header(r, "X-Content-Type-Options", "nosniff") == MHD_YES;

	for (const char *line = extra_header; ok && line && *line;) {
		size_t n = strcspn(line, "\n");
		ok = add_header_line(h->lm, r, line, n);
		line += n + (line[n] == '\n');
	}
	/* MHD_queue_response() also fails for a connection MHD is closing
	 * (the client went away, a malformed request it refused itself): not
	 * memory. */
	int rc = !ok ? LB_ERR_NOMEM
		 : h->lm->queue_response(c->mc, status, r) == MHD_YES ? LB_OK : LB_ERR_IO;
	h->lm->destroy_response(r);
	c->answered = true;
	return rc;
}

int httpd_reply(struct httpd_conn *c, unsigned status, const char *type, const char *body,
		size_t len, const char *extra_header)
{
	const struct httpd *h = c->h;

	if (c->answered)
		return LB_ERR_STATE;
	struct MHD_Response *r =
		h->lm->create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return LB_ERR_NOMEM;
	return queue_answer(c, status, r, type, extra_header);
}

/* ------------------------------------------------------- pulled answers */

struct pull {
	httpd_pull_fn fn;
	httpd_pull_done_fn done;
	void *arg;
};

static ssize_t pull_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct pull *p = cls;
	(void)pos;

	ssize_t n = p->fn(p->arg, buf, max);
	if (n < 0)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	return n == 0 ? MHD_CONTENT_READER_END_OF_STREAM : n;
}

static void pull_free(void *cls)
{
	struct pull *p = cls;

	p->done(p->arg);
	free(p);
}

int httpd_reply_pull(struct httpd_conn *c, unsigned status, const char *type,
		     const char *extra_header, httpd_pull_fn pull, httpd_pull_done_fn done,
		     void *arg)
{
	const struct httpd *h = c->h;
	struct pull *p = NULL;
	struct MHD_Response *r = NULL;

	if (!c->answered && (p = malloc(sizeof(*p)))) {
		*p = (struct pull){.fn = pull, .done = done, .arg = arg};
		r = h->lm->create_response_from_callback(MHD_SIZE_UNKNOWN, PULL_BLOCK, pull_read, p,
						      pull_free);
	}
	if (!r) {
		free(p);
		done(arg);
		return c->answered ? LB_ERR_STATE : LB_ERR_NOMEM;
	}
	/* From here the response owns p (pull_free). */
	return queue_answer(c, status, r, type, extra_header);
}

static void refuse(struct req *q, unsigned status, const char *why)
{
	char body[160];
	int n = snprintf(body, sizeof(body), "{\"error\":\"%s\"}", why);

	struct httpd *h = q->conn.h;

	h->stats.refused++;
	q->refused = true;
	if (h->h.refused)
		h->h.refused(h->h.arg, status);
	(void)httpd_reply(&q->conn, status, "application/json", body, (size_t)n, NULL);
}

/* ------------------------------------------------------- streams */

static void stream_unlink(struct httpd_stream *s)
{
	if (!s->pprev)
		return;
	*s->pprev = s->next;
	if (s->next)
		s->next->pprev = s->pprev;
	s->pprev = NULL;
	s->next = NULL;
	s->h->stats.streams--;
}

static void stream_wake(struct httpd_stream *s)
{
	if (!s->suspended)
		return;
	s->suspended = false;
	s->h->lm->resume_connection(s->mc);
	s->h->need_run = true;
}

/* The peer's close of a stream's socket: watched while the stream lives.
 * The socket leaves the set by itself when MHD closes it. */
static void watch_hangup(struct httpd *h, struct httpd_stream *s)
{
	const union MHD_ConnectionInfo *ci =
		h->lm->get_connection_info(s->mc, MHD_CONNECTION_INFO_CONNECTION_FD);
	/* one-shot: a socket still closing does not wake the loop again */
	struct epoll_event ev = {.events = EPOLLRDHUP | EPOLLONESHOT, .data.u64 = s->id};

	s->fd = ci ? ci->connect_fd : -1;
	if (h->hupfd < 0 || !ci || epoll_ctl(h->hupfd, EPOLL_CTL_ADD, ci->connect_fd, &ev) != 0)
		LB_LOG_RL(LOG_LVL_WARN, "httpd", "stream %llu: its client's close is seen only "
			  "at the next write", (unsigned long long)s->id);
}

static void on_hangup(void *arg, int fd, uint32_t events)
{
	struct httpd *h = arg;
	struct epoll_event ev[16];
	(void)events;

	int n = epoll_wait(fd, ev, 16, 0);
	for (int i = 0; i < n; i++) {
		for (struct httpd_stream *s = h->streams; s; s = s->next) {
			if (s->id != ev[i].data.u64)
				continue;
			s->closing = true;
			stream_wake(s);
			break;
		}
	}
}

static void stream_pull_end(struct httpd_stream *s)
{
	httpd_pull_done_fn done = s->pull_done;

	s->pull = NULL;
	s->pull_done = NULL;
	if (done)
		done(s->pull_arg);
}

/* The snapshot's next bytes (> 0), 0 once it is over (what was written
 * meanwhile follows), or MHD's error: the stream is cut. The limit grows
 * with what the snapshot produced, as a first write of it would have. */
static ssize_t stream_pulled(struct httpd_stream *s, char *buf, size_t max)
{
	ssize_t n = s->pull(s->pull_arg, buf, max);

	if (n > 0) {
		s->limit += (size_t)n;
		return n;
	}
	stream_pull_end(s);
	if (n == 0)
		return 0;
	s->closing = true;
	s->cut = true;
	return MHD_CONTENT_READER_END_WITH_ERROR;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct httpd_stream *s = cls;
	(void)pos;

	if (s->closing)
		return s->cut ? MHD_CONTENT_READER_END_WITH_ERROR : MHD_CONTENT_READER_END_OF_STREAM;
	if (s->pull) {
		ssize_t n = stream_pulled(s, buf, max);
		if (n != 0)
			return n;
	}
	if (s->len == 0) {
		/* Nothing to send: out of MHD's loop until a write. */
		s->suspended = true;
		s->h->lm->suspend_connection(s->mc);
		return 0;
	}
	size_t n = s->len < max ? s->len : max;
	memcpy(buf, s->buf + s->off, n);
	s->off += n;
	s->len -= n;
	if (s->len == 0)
		s->off = 0;
	return (ssize_t)n;
}

/* The response is gone: the connection ended, whatever the reason. */
static void stream_free(void *cls)
{
	struct httpd_stream *s = cls;
	struct httpd *h = s->h;

	stream_unlink(s);
	stream_pull_end(s);
	if (s->owner && h->h.closed)
		h->h.closed(h->h.arg, s, s->owner);
	free(s->buf);
	free(s);
}

struct httpd_stream *httpd_stream_start(struct httpd *h, struct httpd_conn *c, const char *type,
					void *owner)
{
	struct httpd_stream *s = calloc(1, sizeof(*s));
	struct MHD_Response *r = NULL;

	if (s)
		r = h->lm->create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK, stream_read, s,
						      stream_free);
	if (!r) {
		free(s);
		(void)httpd_reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "application/json",
				  "{\"error\":\"out of memory\"}", 25, NULL);
		return NULL;
	}
	s->h = h;
	s->mc = c->mc;
	s->owner = owner;
	s->id = ++h->next_stream_id;
	watch_hangup(h, s);
	s->next = h->streams;
	if (h->streams)
		h->streams->pprev = &s->next;
	s->pprev = &h->streams;
	h->streams = s;
	h->stats.streams++;
	/* From here the response owns s (stream_free). */
	bool ok = h->lm->add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type) == MHD_YES &&
		  h->lm->add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") == MHD_YES &&
		  h->lm->add_response_header(r, "X-Content-Type-Options", "nosniff") == MHD_YES;
	ok = ok && h->lm->queue_response(c->mc, MHD_HTTP_OK, r) == MHD_YES;
	c->answered = true;
	h->lm->destroy_response(r);
	if (!ok) {
		s->owner = NULL;
		return NULL;
	}
	return s;
}

static int stream_grow(struct httpd_stream *s, size_t need)
{
	if (s->off > 0) {
		memmove(s->buf, s->buf + s->off, s->len);
		s->off = 0;
	}
	if (need <= s->cap)
		return LB_OK;
	size_t cap = s->cap ? s->cap : STREAM_BLOCK;
	while (cap < need)
		cap *= 2;
	char *b = realloc(s->buf, cap);
	if (!b)
		return LB_ERR_NOMEM;
	s->buf = b;
	s->cap = cap;
	return LB_OK;
}

int httpd_stream_write(struct httpd *h, struct httpd_stream *s, const char *data, size_t len)
{
	if (s->closing)
		return LB_ERR_STATE;
	if (s->limit == 0)
		s->limit = len + h->o.stream_limit;  /* the snapshot, then the usual room */
	if (s->len + len > s->limit) {
		/* Too slow a reader: it would cost memory without bound. */
		h->stats.streams_slow++;
		s->closing = true;
		s->cut = true;
		s->len = 0;
		/* Its socket is full: MHD would wait for its timeout to close it.
		 * Shut it now (MHD sees the hang-up at its next run and closes). */
		if (s->fd >= 0)
			(void)shutdown(s->fd, SHUT_RDWR);
		stream_wake(s);
		h->need_run = true;
		return LB_ERR_FULL;
	}
	if (s->off + s->len + len > s->cap && stream_grow(s, s->len + len) != LB_OK) {
		s->closing = true;
		stream_wake(s);
		return LB_ERR_NOMEM;
	}
	memcpy(s->buf + s->off + s->len, data, len);
	s->len += len;
	stream_wake(s);
	return LB_OK;
}

int httpd_stream_pull(struct httpd *h, struct httpd_stream *s, httpd_pull_fn pull,
		      httpd_pull_done_fn done, void *arg)
{
	if (s->closing || s->pull || s->limit != 0) {
		done(arg);
		return LB_ERR_STATE;
	}
	s->pull = pull;
	s->pull_done = done;
	s->pull_arg = arg;
	s->limit = h->o.stream_limit;   /* and the snapshot's bytes as they come */
	stream_wake(s);
	return LB_OK;
}

void httpd_stream_close(struct httpd *h, struct httpd_stream *s)
{
	(void)h;
	s->owner = NULL;
	s->closing = true;
	stream_wake(s);
}

/* ------------------------------------------------------- requests */

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind, const char *key,
				    const char *value)
{
	size_t *n = cls;
	(void)kind;
	(void)key;
	(void)value;
	(*n)++;
	return MHD_YES;
}

static bool body_append(struct req *q, const char *data, size_t n, size_t max)
{
	if (q->too_large || q->len + n > max) {
		q->too_large = true;
		return true;
	}
	if (q->len + n + 1 > q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 1024;
		while (cap < q->len + n + 1)
			cap *= 2;
		char *b = realloc(q->body, cap);
		if (!b)
			return false;
		q->body = b;
		q->cap = cap;
	}
	memcpy(q->body + q->len, data, n);
	q->len += n;
	q->body[q->len] = '\0';
	return true;
}

/* The checks of the first call: what can be refused before any body. */
static void first_checks(struct httpd *h, struct req *q, const char *url)
{
	size_t n_headers = 0;
	const char *cl;

	if (strlen(url) > HTTPD_MAX_URL) {
		refuse(q, MHD_HTTP_URI_TOO_LONG, "URL too long");
		return;
	}
	h->lm->get_connection_values(q->conn.mc, MHD_HEADER_KIND, count_header, &n_headers);
	if (n_headers > HTTPD_MAX_HEADERS) {
		refuse(q, MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE, "too many header fields");
		return;
	}
	cl = h->lm->lookup_connection_value(q->conn.mc, MHD_HEADER_KIND,
					 MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl && strtoull(cl, NULL, 10) > h->o.max_body)
		refuse(q, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large");
}

static void peer_of(const struct httpd *h, struct MHD_Connection *mc, struct httpd_request *rq)
{
	const union MHD_ConnectionInfo *ci =
		h->lm->get_connection_info(mc, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

	rq->peer_len = 0;
	if (!ci || !ci->client_addr)
		return;
	socklen_t len = ci->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
							       : sizeof(struct sockaddr_in);
	memcpy(&rq->peer, ci->client_addr, len);
	rq->peer_len = len;
}

static void dispatch(struct httpd *h, struct req *q, const char *url, const char *method)
{
	struct httpd_request rq = {.method = method, .path = url, .body = q->body ? q->body : "",
				   .body_len = q->len};

	if (q->too_large) {
		refuse(q, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large");
		return;
	}
	rq.authorization = h->lm->lookup_connection_value(q->conn.mc, MHD_HEADER_KIND,
						       MHD_HTTP_HEADER_AUTHORIZATION);
	rq.host = h->lm->lookup_connection_value(q->conn.mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	rq.if_none_match = h->lm->lookup_connection_value(q->conn.mc, MHD_HEADER_KIND,
						       MHD_HTTP_HEADER_IF_NONE_MATCH);
	peer_of(h, q->conn.mc, &rq);
	h->stats.requests++;
	h->h.request(h->h.arg, &q->conn, &rq);
	if (!q->conn.answered) {
		LB_LOG_RL(LOG_LVL_ERROR, "httpd", "%s %s: not answered by the handler", method, url);
		(void)httpd_reply(&q->conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "application/json",
				  "{\"error\":\"internal error\"}", 26, NULL);
	}
}

/* ------------------------------------------------------- connections */

/* The deadline of a request: the whole of it (request line, headers, body)
 * within timeout_s of the connection's accept or of the previous answer's
 * end. MHD's own timeout counts idle time only, so a client sending a
 * header line now and then would hold its connection for ever. A
 * connection that sent nothing since is idle, not slow (a browser keeps
 * one open, or opens one ahead): MHD closes it once idle for more than
 * timeout_s, before our HTTPD_IDLE_MARGIN_MS later cut. */
static struct httpd_peer *peer_of_conn(const struct httpd *h, struct MHD_Connection *mc)
{
	const union MHD_ConnectionInfo *ci =
		h->lm->get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

/* Bytes the kernel has received on the TCP socket fd since its connection
 * began (TCP_INFO's tcpi_bytes_received, Linux 4.1). false: unknown. */
static bool socket_rx(int fd, uint64_t *bytes)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (fd < 0 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0 ||
	    len < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof(ti.tcpi_bytes_received))
		return false;
	*bytes = ti.tcpi_bytes_received;
	return true;
}

/* Has p's client sent anything since since_ms (a request begun)? Unknown
 * counts as yes: its deadline then holds as for a request. */
static bool peer_started(const struct httpd_peer *p)
{
	uint64_t rx;

	return !socket_rx(p->fd, &rx) || rx > p->rx_since;
}

/* A request is awaited on p from now. */
static void peer_await(struct httpd_peer *p, int64_t now_ms)
{
	p->since_ms = now_ms;
	if (!socket_rx(p->fd, &p->rx_since))
		p->rx_since = 0;
}

/* Answered (or refused): out of the request deadline until it is sent. */
static void request_answered(struct req *q)
{
	if (q->peer && q->conn.answered)
		q->peer->since_ms = -1;
}

static void on_connection(void *cls, struct MHD_Connection *mc, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct httpd *h = cls;
	struct httpd_peer *p = *socket_context;

	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		/* MHD watches its listening socket again (below its connection
		 * limit) only at its next run: the clients waiting in the
		 * listen queue are accepted then, not at some later event. */
		h->need_run = true;
		if (!p)
			return;
		*p->pprev = p->next;
		if (p->next)
			p->next->pprev = p->pprev;
		free(p);
		*socket_context = NULL;
		return;
	}
	if (!(p = calloc(1, sizeof(*p)))) {
		LB_LOG_RL(LOG_LVL_WARN, "httpd", "out of memory: a connection without its "
			  "request deadline (only idle for %u s closes it)", h->o.timeout_s);
		return;
	}
	const union MHD_ConnectionInfo *ci =
		h->lm->get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
	p->mc = mc;
	p->fd = ci ? ci->connect_fd : -1;
	/* from its first byte, even one the kernel took before the accept */
	p->since_ms = loop_now_ms();
	p->rx_since = 0;
	p->next = h->peers;
	if (h->peers)
		h->peers->pprev = &p->next;
	p->pprev = &h->peers;
	h->peers = p;
	*socket_context = p;
}

/* Shut p's connection, past its deadline: MHD sees the hang-up at its
 * next run and closes it. false: it cannot be (logged). */
static bool peer_shut(struct httpd *h, struct httpd_peer *p)
{
	p->cut = true;
	if (p->fd < 0 || shutdown(p->fd, SHUT_RDWR) != 0) {
		LB_LOG_RL(LOG_LVL_WARN, "httpd", "a connection past its %u s not cut: %s",
			  h->o.timeout_s, "its socket cannot be shut");
		return false;
	}
	h->need_run = true;
	return true;
}

static void cut_slow(struct httpd *h, struct httpd_peer *p)
{
	h->stats.slow_requests++;
	if (peer_shut(h, p))
		LB_LOG_RL(LOG_LVL_INFO, "httpd", "a connection closed: its request did not "
			  "arrive whole within %u s", h->o.timeout_s);
}

/* Idle, yet not closed by MHD's timeout: not a slow request. */
static void cut_idle(struct httpd *h, struct httpd_peer *p)
{
	if (peer_shut(h, p))
		LB_LOG_RL(LOG_LVL_DEBUG, "httpd", "an idle connection closed after %u s",
			  h->o.timeout_s);
}

/* Cut what is past its deadline; the next deadline (-1 none). */
static int64_t cut_slow_requests(struct httpd *h, int64_t now_ms)
{
	int64_t next = -1, limit = (int64_t)h->o.timeout_s * 1000;

	for (struct httpd_peer *p = h->peers; p; p = p->next) {
		if (p->since_ms < 0 || p->cut)
			continue;
		int64_t due = p->since_ms + limit, idle_due = due + HTTPD_IDLE_MARGIN_MS;
		if (now_ms >= due && peer_started(p))
			cut_slow(h, p);
		else if (now_ms >= idle_due)
			cut_idle(h, p);
		else
			next = loop_earliest(next, now_ms < due ? due : idle_due);
	}
	return next;
}

/* ------------------------------------------------------- MHD's handlers */

static enum MHD_Result on_access(void *cls, struct MHD_Connection *mc, const char *url,
				 const char *method, const char *version, const char *upload,
				 size_t *upload_size, void **req_cls)
{
	struct httpd *h = cls;
	struct req *q = *req_cls;
	(void)version;

	if (!q) {
		if (!(q = calloc(1, sizeof(*q))))
			return MHD_NO;
		q->conn.h = h;
		q->conn.mc = mc;
		q->peer = peer_of_conn(h, mc);
		*req_cls = q;
		first_checks(h, q, url);
		request_answered(q);
		return MHD_YES;
	}
	if (*upload_size > 0) {
		bool ok = q->refused || body_append(q, upload, *upload_size, h->o.max_body);
		*upload_size = 0;
		return ok ? MHD_YES : MHD_NO;
	}
	if (!q->refused && !q->conn.answered)
		dispatch(h, q, url, method);
	request_answered(q);
	return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *mc, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct req *q = *req_cls;
	struct httpd_peer *p = peer_of_conn(cls, mc);
	(void)toe;

	/* The answer is sent: the connection's next request is awaited. */
	if (p)
		peer_await(p, loop_now_ms());
	if (!q)
		return;
	free(q->body);
	free(q);
	*req_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	const struct httpd *h = cls;
	char msg[256];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	if (h->starting && h->o.quiet_start)
		log_debug("httpd", "libmicrohttpd: %s", msg);
	else
		LB_LOG_RL(LOG_LVL_INFO, "httpd", "libmicrohttpd: %s", msg);
}

/* ------------------------------------------------------- the server */

static void on_ready(void *arg, int fd, uint32_t events)
{
	struct httpd *h = arg;
	(void)fd;
	(void)events;
	if (h->lm->run(h->mhd) != MHD_YES)
		LB_LOG_RL(LOG_LVL_WARN, "httpd", "MHD_run failed (%s)", "see libmicrohttpd's message");
}

static int make_addr(const char *bind, uint16_t port, struct sockaddr_storage *ss, bool *v6)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, bind, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		*v6 = false;
		return LB_OK;
	}
	if (inet_pton(AF_INET6, bind, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		*v6 = true;
		return LB_OK;
	}
	return LB_ERR_INVAL;
}

int httpd_open(struct httpd *h, struct loop *loop, const struct httpd_opts *o,
	       const struct httpd_handlers *handlers)
{
	struct sockaddr_storage ss;
	bool v6;

	memset(h, 0, sizeof(*h));
	h->epfd = -1;
	h->hupfd = -1;
	h->deadline_ms = -1;
	if (!o || !o->bind || !handlers || !handlers->request ||
	    make_addr(o->bind, o->port, &ss, &v6) != LB_OK)
		return LB_ERR_INVAL;
	/* Loaded here, the first time a server is opened (io/dynlib.h). */
	if (!(h->lm = dynlib_mhd()))
		return LB_ERR_NO_LIBRARY;
	h->loop = loop;
	h->o = *o;
	h->h = *handlers;
	unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
			 (v6 ? MHD_USE_IPv6 : 0);
	h->starting = true;
	h->mhd = h->lm->start_daemon(flags, o->port, NULL, NULL, on_access, h,
				  MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
				  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				  MHD_OPTION_CONNECTION_LIMIT, o->max_clients,
				  MHD_OPTION_PER_IP_CONNECTION_LIMIT, HTTPD_PER_IP_LIMIT(o->max_clients),
				  MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTPD_CONN_MEMORY,
				  MHD_OPTION_CONNECTION_TIMEOUT, o->timeout_s,
				  MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
				  MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
				  MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u,
				  MHD_OPTION_END);
	h->starting = false;
	if (!h->mhd) {
		if (o->quiet_start)
			log_debug("httpd", "cannot listen on %s port %u yet", o->bind, o->port);
		else
			log_error("httpd", "cannot listen on %s port %u (address in use, or not "
				  "ours?)", o->bind, o->port);
		return LB_ERR_IO;
	}
	const union MHD_DaemonInfo *di = h->lm->get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	int rc = di ? loop_add(loop, di->epoll_fd, EPOLLIN, on_ready, h) : LB_ERR_IO;
	if (rc != LB_OK) {
		log_error("httpd", "MHD's epoll descriptor not watched: %s", lb_strerror(rc));
		h->lm->stop_daemon(h->mhd);
		h->mhd = NULL;
		return rc;
	}
	h->epfd = di->epoll_fd;
	h->hupfd = epoll_create1(EPOLL_CLOEXEC);
	if (h->hupfd < 0 || loop_add(loop, h->hupfd, EPOLLIN, on_hangup, h) != LB_OK) {
		log_warn("httpd", "streams' sockets not watched: a client's close is seen at the "
			 "next write");
		if (h->hupfd >= 0)
			close(h->hupfd);
		h->hupfd = -1;
	}
	return LB_OK;
}

int64_t httpd_tick(struct httpd *h, int64_t now_ms)
{
	MHD_UNSIGNED_LONG_LONG t;

	if (!h->mhd)
		return -1;
	int64_t slow_next = cut_slow_requests(h, now_ms);
	/* A resumed stream, a connection closed, or MHD's own deadline (idle
	 * connections' timeouts, work it has pending: 0) has come. */
	if (h->need_run || (h->deadline_ms >= 0 && now_ms >= h->deadline_ms)) {
		h->need_run = false;
		(void)h->lm->run(h->mhd);
	}
	h->deadline_ms = -1;
	if (h->lm->get_timeout(h->mhd, &t) != MHD_YES)
		return h->need_run ? now_ms : slow_next;
	h->deadline_ms = now_ms + (int64_t)(t < RUN_MAX_WAIT_MS ? t : RUN_MAX_WAIT_MS);
	return h->need_run ? now_ms : loop_earliest(h->deadline_ms, slow_next);
}

void httpd_close(struct httpd *h)
{
	if (!h->mhd)
		return;
	/* MHD must not be stopped with suspended connections: end them all. */
	for (struct httpd_stream *s = h->streams; s; s = s->next) {
		s->closing = true;
		stream_wake(s);
	}
	for (int i = 0; i < 4 && h->streams; i++)
		(void)h->lm->run(h->mhd);
	if (h->epfd >= 0)
		(void)loop_remove(h->loop, h->epfd);
	h->epfd = -1;
	if (h->hupfd >= 0) {
		(void)loop_remove(h->loop, h->hupfd);
		close(h->hupfd);
	}
	h->hupfd = -1;
	h->lm->stop_daemon(h->mhd);
	h->mhd = NULL;
}
