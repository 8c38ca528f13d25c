/* SPDX-License-Identifier: MIT */
/* sseclient.c - Server-Sent Events over libcurl. See sseclient.h. */
#include "io/sseclient.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/lb_err.h"
#include "io/dynlib.h"

#define POLL_MS 250

struct parser {
	const struct sseclient_opts *o;
	char *line;                      /* the line being read */
	size_t line_len, line_cap;
	char name[64];
	char *data;                      /* data lines so far, '\n'-joined */
	size_t data_len, data_cap;
	bool has_data;
	bool stop;
	int err;
};

static bool append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (*len + n + 1 > SSECLIENT_EVENT_MAX)
		return false;
	if (*len + n + 1 > *cap) {
		size_t c = *cap ? *cap * 2 : 1024;
		while (c < *len + n + 1)
			c *= 2;
		char *b = realloc(*buf, c);
		if (!b)
			return false;
		*buf = b;
		*cap = c;
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
	return true;
}

/* An empty line dispatches the event (§9.2.6). */
static void dispatch(struct parser *p)
{
	if (p->has_data && p->o->on_event &&
	    !p->o->on_event(p->o->arg, p->name[0] ? p->name : "message", p->data ? p->data : "",
			    p->data_len))
		p->stop = true;
	p->name[0] = '\0';
	p->data_len = 0;
	p->has_data = false;
	if (p->data)
		p->data[0] = '\0';
}

static void field(struct parser *p, const char *line, size_t len)
{
	const char *colon = memchr(line, ':', len);
	size_t nlen = colon ? (size_t)(colon - line) : len;
	const char *v = colon ? colon + 1 : line + len;
	size_t vlen = len - (size_t)(v - line);

	if (vlen > 0 && *v == ' ') {
		v++;
		vlen--;
	}
	if (nlen == 5 && !memcmp(line, "event", 5)) {
		snprintf(p->name, sizeof(p->name), "%.*s", (int)vlen, v);
	} else if (nlen == 4 && !memcmp(line, "data", 4)) {
		if ((p->has_data && !append(&p->data, &p->data_len, &p->data_cap, "\n", 1)) ||
		    !append(&p->data, &p->data_len, &p->data_cap, v, vlen)) {
			p->err = LB_ERR_TOO_LARGE;
			p->stop = true;
		}
		p->has_data = true;
	}
	/* comments (":..."), id, retry and unknown fields: nothing to do */
}

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct parser *p = arg;
	size_t n = size * nmemb;

	for (size_t i = 0; i < n && !p->stop; i++) {
		if (ptr[i] == '\r')
			continue;
		if (ptr[i] != '\n') {
			if (!append(&p->line, &p->line_len, &p->line_cap, &ptr[i], 1)) {
				p->err = LB_ERR_TOO_LARGE;
				p->stop = true;
			}
			continue;
		}
		if (p->line_len == 0)
			dispatch(p);
		else
			field(p, p->line, p->line_len);
		p->line_len = 0;
	}
	return p->stop ? 0 : n;       /* 0 makes curl end the transfer */
}

static bool read_keys(const struct sseclient_opts *o)
{
	struct pollfd pf = {.fd = o->key_fd, .events = POLLIN};
	unsigned char c;

	while (poll(&pf, 1, 0) == 1 && (pf.revents & POLLIN)) {
		if (read(o->key_fd, &c, 1) != 1)
			return true;
		if (o->on_key && !o->on_key(o->arg, c))
			return false;
	}
	return true;
}

static int finish(const struct dynlib_curl *lc, CURLM *m, CURL *e, struct parser *p, char *err,
		  size_t cap)
{
	long status = 0;
	CURLMsg *msg;
	int left, rc = LB_OK;

	while ((msg = lc->multi_info_read(m, &left))) {
		if (msg->msg != CURLMSG_DONE || msg->data.result == CURLE_OK ||
		    msg->data.result == CURLE_WRITE_ERROR)
			continue;
		snprintf(err, cap, "%s", lc->easy_strerror(msg->data.result));
		rc = LB_ERR_IO;
	}
	lc->easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	if (rc == LB_OK && status != 200 && !p->stop) {
		snprintf(err, cap, "HTTP status %ld", status);
		rc = LB_ERR_IO;
	}
	return p->err ? p->err : rc;
}

int sseclient_run(const struct sseclient_opts *o, char *err, size_t err_cap)
{
	struct parser p = {.o = o};
	int running = 1, rc;
	/* Loaded now: only `lorabridge top` needs it (io/dynlib.h). */
	const struct dynlib_curl *lc = dynlib_curl();

	err[0] = '\0';
	if (!lc) {
		snprintf(err, err_cap, "%s cannot be loaded", DYNLIB_CURL_SONAME);
		return LB_ERR_IO;
	}
	CURLM *m = lc->multi_init();
	CURL *e = lc->easy_init();
	if (!m || !e) {
		rc = LB_ERR_NOMEM;
		goto out;
	}
	lc->easy_setopt(e, CURLOPT_URL, o->url);
	lc->easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
	lc->easy_setopt(e, CURLOPT_WRITEDATA, &p);
	if (dynlib_curl_http_only(lc, e) != CURLE_OK) {
		snprintf(err, err_cap, "libcurl refuses to limit the protocols to http and https");
		rc = LB_ERR_INVAL;
		goto out;
	}
	lc->easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	lc->easy_setopt(e, CURLOPT_FAILONERROR, 1L);
	lc->multi_add_handle(m, e);
	while (running && !p.stop) {
		struct curl_waitfd key = {.fd = o->key_fd, .events = CURL_WAIT_POLLIN};
		if (lc->multi_perform(m, &running) != CURLM_OK)
			break;
		if (!running || p.stop)
			break;
		lc->multi_poll(m, o->key_fd >= 0 ? &key : NULL, o->key_fd >= 0 ? 1 : 0, POLL_MS, NULL);
		if (o->key_fd >= 0 && !read_keys(o))
			p.stop = true;
		if (o->keep_going && !o->keep_going(o->arg))
			p.stop = true;
	}
	rc = finish(lc, m, e, &p, err, err_cap);
out:
	if (m && e)
		lc->multi_remove_handle(m, e);
	lc->easy_cleanup(e);
	lc->multi_cleanup(m);
	free(p.line);
	free(p.data);
	return rc;
}
