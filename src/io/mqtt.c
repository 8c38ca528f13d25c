/* SPDX-License-Identifier: MIT */
/*
 * mqtt.c - libmosquitto driven by the epoll loop. See mqtt.h for the
 * integration contract and the delivery guarantees.
 *
 * State machine:
 *
 *   IDLE --tick at next_attempt_ms--> CONNECTING --CONNACK ok--> CONNECTED
 *    ^                                   |                          |
 *    +------ connection failed/lost (back-off 1 s .. 60 s) ---------+
 *   any --mqtt_disconnect()--> CLOSED (never reconnects)
 *
 * libmosquitto calls our callbacks from inside mosquitto_loop_read/write/
 * misc and, for QoS 0 publishes written at once, from inside
 * mosquitto_publish. `in_lib` is set around the loop calls so that
 * mqtt_publish() made from a user callback only queues; the queue is moved
 * into libmosquitto ("pumped") after the library call returns. This keeps
 * the order after a reconnect: libmosquitto first re-sends its own
 * in-flight messages (right after on_connect), then our queue follows.
 */
#include "io/mqtt.h"

#include <errno.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "base/lb_err.h"
#include "base/log.h"

#define MOD "mqtt"

/* MQTT 3.1.1 section 2.2.3: remaining length is at most 268,435,455. */
#define MQTT_MAX_PAYLOAD 268435455u
/* Packets read per wake-up, so a flood of PUBACKs cannot starve the loop. */
#define MQTT_READ_BUDGET 64
/* How often mosquitto_loop_misc() runs (keep-alive, CONNACK timeout). */
#define MQTT_MISC_PERIOD_MS 1000
/* Last resort if libmosquitto never times out a connection attempt. */
#define MQTT_CONNECT_GRACE_MS 10000

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int mqtt_err_from_mosq(int rc)
{
	switch (rc) {
	case MOSQ_ERR_SUCCESS:
		return LB_OK;
	case MOSQ_ERR_NOMEM:
		return LB_ERR_NOMEM;
	case MOSQ_ERR_INVAL:
	case MOSQ_ERR_PAYLOAD_SIZE:
	case MOSQ_ERR_MALFORMED_UTF8:
	case MOSQ_ERR_NOT_SUPPORTED:
	case MOSQ_ERR_QOS_NOT_SUPPORTED:
	case MOSQ_ERR_OVERSIZE_PACKET:
		return LB_ERR_INVAL;
	case MOSQ_ERR_NO_CONN:
		return LB_ERR_STATE;
	case MOSQ_ERR_ERRNO:
		return LB_ERR_IO;
	case MOSQ_ERR_EAI:
	case MOSQ_ERR_LOOKUP:
		return LB_ERR_NOT_FOUND;
	default:
		return LB_ERR_MQTT;
	}
}

/* Why a libmosquitto call failed, for the log (errno for MOSQ_ERR_ERRNO). */
static const char *mosq_reason(int rc, int saved_errno)
{
	if (rc == MOSQ_ERR_ERRNO)
		return strerror(saved_errno);
	return mosquitto_strerror(rc);
}

/* ---- in-flight copies --------------------------------------------------- */

static void inflight_remove_at(struct mqtt *m, size_t i)
{
	if (m->inflight[i].token)
		m->n_tracked--;
	mqttq_msg_free(&m->inflight[i].msg);
	memmove(&m->inflight[i], &m->inflight[i + 1],
		(m->n_inflight - i - 1) * sizeof(m->inflight[0]));
	m->n_inflight--;
}

static long inflight_find_msg(const struct mqtt *m, const struct mqttq_msg *msg)
{
	for (size_t i = 0; i < m->n_inflight; i++)
		if (m->inflight[i].msg == msg)
			return (long)i;
	return -1;
}

/*
 * A connection ended: give QoS 0 messages that were never written back to
 * the head of the queue, in their order, and tracked ones to their owner
 * (on_returned). QoS 1/2 messages stay: libmosquitto keeps them and
 * re-sends them after the next CONNACK.
 */
static void inflight_requeue_qos0(struct mqtt *m)
{
	for (size_t i = m->n_inflight; i-- > 0;) {
		if (m->inflight[i].msg->qos != 0)
			continue;
		uint64_t token = m->inflight[i].token;
		struct mqttq_msg *msg = m->inflight[i].msg;
		m->inflight[i].msg = NULL;
		inflight_remove_at(m, i);
		if (token) {
			mqttq_msg_free(&msg);
			if (m->on_returned)
				m->on_returned(m->arg, token);
			continue;
		}
		mqttq_push_front(&m->queue, msg);
	}
}

/* ---- batches ------------------------------------------------------------ */

/*
 * Driven without its thread, libmosquitto writes every packet with its own
 * write() the moment it is queued (packet__queue() -> packet__write()), and
 * has no call that queues several and writes them at once. With Nagle's
 * algorithm (on: libmosquitto sets TCP_NODELAY only when asked) a burst
 * still leaves partly as one segment per message, and on loopback every
 * segment also runs the receiver's TCP input, charged to the sender. So a
 * batch corks the socket (tcp(7), TCP_CORK) at its second message: a
 * message alone costs nothing more, a burst two setsockopt() calls, and the
 * burst leaves in full-sized segments when the batch ends. Counted per
 * hand-over to libmosquitto, about to be made (mqtt.h, batch_segs_bound).
 */
static void batch_note_handover(struct mqtt *m)
{
	if (m->batch_depth == 0) {
		m->stats.unbatched++;
		return;
	}
	if (++m->batch_writes <= 2)
		m->stats.batch_segs_bound++;
	if (m->batch_writes != 2 || m->corked_fd >= 0 || m->state != MQTT_ST_CONNECTED)
		return;
	int fd = mosquitto_socket(m->mosq);
	int on = 1;
	if (fd < 0)
		return;
	if (setsockopt(fd, IPPROTO_TCP, TCP_CORK, &on, sizeof(on)) != 0) {
		log_debug(MOD, "TCP_CORK on the broker socket: %s (messages leave uncorked)",
			  strerror(errno));
		return;
	}
	m->corked_fd = fd;
	m->stats.batches_corked++;
}

/* Send what the batch corked. A socket closed meanwhile took it along
 * (close() sends what is queued) or lost it with the connection. */
static void batch_uncork(struct mqtt *m)
{
	int fd = m->corked_fd;
	int off = 0;

	m->corked_fd = -1;
	if (fd < 0 || mosquitto_socket(m->mosq) != fd)
		return;
	if (setsockopt(fd, IPPROTO_TCP, TCP_CORK, &off, sizeof(off)) != 0)
		log_warn(MOD, "uncorking the broker socket: %s (messages wait up to 200 ms)",
			 strerror(errno));
}

void mqtt_batch_begin(struct mqtt *m)
{
	if (m->batch_depth++ == 0)
		m->batch_writes = 0;
}

void mqtt_batch_end(struct mqtt *m)
{
	if (m->batch_depth == 0 || --m->batch_depth > 0)
		return;
	batch_uncork(m);
}

/* ---- connection state --------------------------------------------------- */

static void schedule_retry(struct mqtt *m, int64_t now)
{
	m->state = MQTT_ST_IDLE;
	m->next_attempt_ms = now + m->backoff_ms;
	m->backoff_ms *= 2;
	if (m->backoff_ms > MQTT_BACKOFF_MAX_MS)
		m->backoff_ms = MQTT_BACKOFF_MAX_MS;
	m->stats.connected = false;
}

/* The socket is gone (closed by libmosquitto). Idempotent. */
static void conn_down(struct mqtt *m, int rc, int saved_errno)
{
	enum mqtt__state was = m->state;

	if (was == MQTT_ST_IDLE)
		return;
	m->corked_fd = -1;   /* closed with the socket */
	m->stats.connected = false;
	inflight_requeue_qos0(m);
	if (was == MQTT_ST_CLOSED) {
		log_info(MOD, "disconnected from %s:%d", m->host, m->port);
		return;
	}
	int64_t now = mono_ms();
	schedule_retry(m, now);
	long delay_s = (long)((m->next_attempt_ms - now) / 1000);
	if (was == MQTT_ST_CONNECTED) {
		log_warn(MOD, "connection to %s:%d lost: %s; %zu in flight, %zu queued; retry in %ld s",
			 m->host, m->port, mosq_reason(rc, saved_errno), m->n_inflight,
			 mqttq_len(&m->queue), delay_s);
		return;
	}
	const char *why = m->last_connack ? mosquitto_connack_string(m->last_connack)
					  : mosq_reason(rc, saved_errno);
	LB_LOG_RL(LOG_LVL_WARN, MOD, "connect to %s:%d failed: %s; retry in %ld s", m->host,
		  m->port, why, delay_s);
}

static void attempt_connect(struct mqtt *m, int64_t now)
{
	int rc;

	m->last_connack = 0;
	m->state = MQTT_ST_CONNECTING;
	m->attempt_started_ms = now;
	m->in_lib = true;
	/* The first call stores host/port/keep-alive; later ones reuse them.
	 * Both resolve the name (blocking) and start a non-blocking connect. */
	if (m->host_set)
		rc = mosquitto_reconnect_async(m->mosq);
	else
		rc = mosquitto_connect_async(m->mosq, m->host, m->port, m->keepalive_s);
	int saved_errno = errno;
	m->in_lib = false;
	if (rc != MOSQ_ERR_INVAL && rc != MOSQ_ERR_NOMEM)
		m->host_set = true;
	if (m->state != MQTT_ST_CONNECTING)
		return; /* a callback already handled the failure */
	if (rc == MOSQ_ERR_SUCCESS && mosquitto_socket(m->mosq) >= 0) {
		log_debug(MOD, "connecting to %s:%d", m->host, m->port);
		return;
	}
	conn_down(m, rc, saved_errno);
}

/* ---- libmosquitto callbacks -------------------------------------------- */

static void cb_connect(struct mosquitto *mosq, void *obj, int connack)
{
	struct mqtt *m = obj;

	(void)mosq;
	if (connack != 0) {
		/* libmosquitto closes the socket next; cb_disconnect logs it. */
		m->last_connack = connack;
		return;
	}
	if (m->state == MQTT_ST_CLOSED)
		return;
	if (m->ever_connected)
		m->stats.reconnects++;
	log_notice(MOD, "connected to %s:%d%s; %zu in flight, %zu queued", m->host, m->port,
		   m->ever_connected ? " (reconnect)" : "", m->n_inflight, mqttq_len(&m->queue));
	m->ever_connected = true;
	m->state = MQTT_ST_CONNECTED;
	m->stats.connected = true;
	m->backoff_ms = MQTT_BACKOFF_MIN_MS;

	/* Clean session: the broker forgot our subscriptions. */
	for (size_t i = 0; i < m->n_subs; i++) {
		int rc = mosquitto_subscribe(m->mosq, NULL, m->subs[i].filter, m->subs[i].qos);
		if (rc != MOSQ_ERR_SUCCESS)
			log_warn(MOD, "subscribe %s: %s", m->subs[i].filter, mosquitto_strerror(rc));
	}
	if (m->on_connect)
		m->on_connect(m->arg);
}

static void cb_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
	(void)mosq;
	conn_down(obj, rc, errno);
}

/* PUBACK (QoS 1), PUBCOMP (QoS 2), or a QoS 0 PUBLISH fully written. */
static void cb_publish(struct mosquitto *mosq, void *obj, int mid)
{
	struct mqtt *m = obj;

	(void)mosq;
	for (size_t i = 0; i < m->n_inflight; i++) {
		if (m->inflight[i].mid == mid) {
			uint64_t token = m->inflight[i].token;
			inflight_remove_at(m, i);
			m->stats.acked++;
			if (token && m->on_acked)
				m->on_acked(m->arg, token);
			return;
		}
	}
	log_debug(MOD, "acknowledgement for unknown message id %d", mid);
}

static void cb_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
	struct mqtt *m = obj;

	(void)mosq;
	if (m->on_message && msg->payloadlen >= 0)
		m->on_message(m->arg, msg->topic, msg->payload, (size_t)msg->payloadlen);
}

static void cb_log(struct mosquitto *mosq, void *obj, int level, const char *str)
{
	(void)mosq;
	(void)obj;
	if (level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING))
		log_warn(MOD, "libmosquitto: %s", str);
	else
		log_debug(MOD, "libmosquitto: %s", str);
}

/*
 * libmosquitto formats every log line before handing it to the callback
 * (log__printf(): one vsnprintf per packet sent or received). While
 * connected its lines are per-packet debug traces, so the callback is
 * installed only when the bridge logs at debug level or while there is no
 * connection (its warnings then say what went wrong with an attempt).
 */
static void log_cb_update(struct mqtt *m)
{
	bool want = LOG_LVL_DEBUG <= log_threshold || m->state != MQTT_ST_CONNECTED;

	if (want == m->log_cb_on)
		return;
	mosquitto_log_callback_set(m->mosq, want ? cb_log : NULL);
	m->log_cb_on = want;
}

/* ---- moving the queue into libmosquitto -------------------------------- */

/* What became of a message handed to libmosquitto. */
enum handover {
	HO_SENT,        /* in flight */
	HO_STALLED,     /* in flight or taken by a callback, but stop pumping */
	HO_RETRY,       /* back with the caller: a transient failure */
	HO_REJECTED     /* back with the caller: libmosquitto refuses it */
};

static bool transient(int rc)
{
	return rc == MOSQ_ERR_NOMEM || rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST ||
	       rc == MOSQ_ERR_ERRNO;
}

/*
 * Hand one message to libmosquitto (token 0: from the FIFO). The in-flight
 * slot is filled before the call and libmosquitto writes the message id
 * into it before sending, because a QoS 0 message may be written - and
 * cb_publish() called - before mosquitto_publish() returns. *mrc gets
 * libmosquitto's result.
 */
static enum handover try_publish(struct mqtt *m, struct mqttq_msg *msg, uint64_t token,
				 int *mrc)
{
	size_t idx = m->n_inflight;

	m->inflight[idx] = (struct mqtt__inflight){.mid = -1, .msg = msg, .token = token};
	m->n_inflight++;
	m->n_tracked += token != 0;
	m->stats.published++;
	batch_note_handover(m);
	int rc = mosquitto_publish(m->mosq, &m->inflight[idx].mid, msg->topic, (int)msg->len,
				   msg->payload, msg->qos, msg->retain);
	int saved_errno = errno;
	*mrc = rc;
	if (rc == MOSQ_ERR_SUCCESS)
		return HO_SENT;

	long i = inflight_find_msg(m, msg);
	if (i < 0)
		return HO_STALLED; /* a callback during the call already took it */
	bool kept = m->inflight[i].mid > 0;
	if (kept && (rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST || rc == MOSQ_ERR_ERRNO)) {
		/* Stored (QoS>0) or queued (QoS 0) inside libmosquitto; the
		 * socket error surfaces through cb_disconnect, which gives back
		 * what libmosquitto will not re-send. */
		log_debug(MOD, "publish %s: %s", msg->topic, mosq_reason(rc, saved_errno));
		return HO_STALLED;
	}
	m->inflight[i].msg = NULL;
	inflight_remove_at(m, (size_t)i);
	m->stats.published--;
	if (transient(rc))
		return HO_RETRY;
	log_error(MOD, "publish %s (%zu bytes) rejected: %s; message dropped", msg->topic,
		  msg->len, mosquitto_strerror(rc));
	m->stats.dropped_error++;
	return HO_REJECTED;
}

/* One message of the FIFO; returns false when pumping must stop. */
static bool hand_over(struct mqtt *m, struct mqttq_msg *msg)
{
	int rc;

	switch (try_publish(m, msg, 0, &rc)) {
	case HO_SENT:
		return true;
	case HO_STALLED:
		return false;
	case HO_RETRY:
		mqttq_push_front(&m->queue, msg);
		return false;
	case HO_REJECTED:
		break;
	}
	mqttq_msg_free(&msg);
	return true;
}

static void pump(struct mqtt *m)
{
	while (m->state == MQTT_ST_CONNECTED && !m->in_lib &&
	       m->n_inflight - m->n_tracked < MQTT_INFLIGHT_WINDOW && mqttq_len(&m->queue) > 0) {
		if (!hand_over(m, mqttq_pop(&m->queue)))
			return;
	}
}

/* ---- public API --------------------------------------------------------- */

static int check_opts(const struct mqtt_opts *o)
{
	if (!o->host || !*o->host || o->port < 1 || o->port > 65535)
		return LB_ERR_INVAL;
	if (!o->client_id || !*o->client_id || o->keepalive_s < 5 || o->queue_limit < 1)
		return LB_ERR_INVAL;
	if (o->qos < 0 || o->qos > 2 || o->will_qos < 0 || o->will_qos > 2)
		return LB_ERR_INVAL;
	if (o->password && !o->username)
		return LB_ERR_INVAL;
	if (o->will_topic && mosquitto_pub_topic_check(o->will_topic) != MOSQ_ERR_SUCCESS)
		return LB_ERR_INVAL;
	return LB_OK;
}

/* Identity, credentials, TLS, Last Will: everything set before connecting. */
static int configure(struct mqtt *m, const struct mqtt_opts *o)
{
	const char *what = "";
	int rc = MOSQ_ERR_SUCCESS;

	if (o->username && (rc = mosquitto_username_pw_set(m->mosq, o->username, o->password)))
		what = "username/password";
	else if (o->ca_file &&
		 (rc = mosquitto_tls_set(m->mosq, o->ca_file, NULL, o->cert_file, o->key_file, NULL)))
		what = "TLS files";
	else if (o->will_topic) {
		const char *p = o->will_payload ? o->will_payload : "";
		rc = mosquitto_will_set(m->mosq, o->will_topic, (int)strlen(p), p, o->will_qos,
					o->will_retain);
		what = "last will";
	}
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_max_inflight_messages_set(m->mosq, MQTT_INFLIGHT_WINDOW +
								  MQTT_TRACKED_WINDOW);
	if (rc != MOSQ_ERR_SUCCESS) {
		log_error(MOD, "cannot set %s: %s", what, mosquitto_strerror(rc));
		return rc == MOSQ_ERR_NOMEM ? LB_ERR_NOMEM : LB_ERR_MQTT;
	}
	mosquitto_connect_callback_set(m->mosq, cb_connect);
	mosquitto_disconnect_callback_set(m->mosq, cb_disconnect);
	mosquitto_publish_callback_set(m->mosq, cb_publish);
	mosquitto_message_callback_set(m->mosq, cb_message);
	mosquitto_log_callback_set(m->mosq, cb_log);
	m->log_cb_on = true;
	return LB_OK;
}

int mqtt_init(struct mqtt *m, const struct mqtt_opts *o)
{
	memset(m, 0, sizeof(*m));
	int err = check_opts(o);
	if (err) {
		log_error(MOD, "invalid options (host, port, client id, keepalive >= 5, "
			       "queue limit >= 1, QoS 0..2, will topic)");
		return err;
	}
	m->port = o->port;
	m->keepalive_s = o->keepalive_s;
	m->on_connect = o->on_connect;
	m->on_message = o->on_message;
	m->on_acked = o->on_acked;
	m->on_returned = o->on_returned;
	m->arg = o->arg;
	m->backoff_ms = MQTT_BACKOFF_MIN_MS;
	m->state = MQTT_ST_IDLE;
	m->corked_fd = -1;
	m->host = strdup(o->host);
	if (!m->host)
		return LB_ERR_NOMEM;
	err = mqttq_init(&m->queue, o->queue_limit);
	if (err) {
		free(m->host);
		return err;
	}
	mosquitto_lib_init();
	m->mosq = mosquitto_new(o->client_id, true, m);
	if (!m->mosq) {
		err = errno == EINVAL ? LB_ERR_INVAL : LB_ERR_NOMEM;
	} else {
		err = configure(m, o);
	}
	if (err) {
		mqtt_destroy(m);
		return err;
	}
	return LB_OK;
}

size_t mqtt_release_pool(struct mqtt *m)
{
	size_t n = m->pool.n;

	mqttq_pool_free(&m->pool);
	return n;
}

void mqtt_destroy(struct mqtt *m)
{
	size_t lost = mqttq_len(&m->queue) + m->n_inflight - m->n_tracked;

	if (lost > 0)
		log_warn(MOD, "discarding %zu unsent/unacknowledged messages at shutdown", lost);
	if (m->n_tracked > 0)
		log_info(MOD, "%zu tracked message(s) unacknowledged at shutdown: left to their "
			 "owner", m->n_tracked);
	if (m->mosq) {
		mosquitto_destroy(m->mosq);
		mosquitto_lib_cleanup();
	}
	for (size_t i = 0; i < m->n_inflight; i++)
		mqttq_msg_free(&m->inflight[i].msg);
	mqttq_free(&m->queue);
	mqttq_pool_free(&m->pool);   /* after every message went back to it */
	for (size_t i = 0; i < m->n_subs; i++)
		free(m->subs[i].filter);
	free(m->subs);
	free(m->host);
	memset(m, 0, sizeof(*m));
}

int mqtt_fd(const struct mqtt *m)
{
	/* Hidden while IDLE: a socket libmosquitto might have left open after
	 * a failed attempt is replaced by the next attempt, possibly under the
	 * same number, which the caller could not tell from the old one. */
	if (!m->mosq || m->state == MQTT_ST_IDLE)
		return -1;
	return mosquitto_socket(m->mosq);
}

bool mqtt_want_write(const struct mqtt *m)
{
	return mqtt_fd(m) >= 0 && mosquitto_want_write(m->mosq);
}

static bool fd_readable_now(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, 0) > 0;
}

/* libmosquitto closed the socket without calling back: treat as lost. */
static void check_socket(struct mqtt *m, int rc, int saved_errno)
{
	if (mosquitto_socket(m->mosq) < 0 && m->state != MQTT_ST_IDLE &&
	    m->state != MQTT_ST_CLOSED)
		conn_down(m, rc ? rc : MOSQ_ERR_CONN_LOST, saved_errno);
}

void mqtt_handle_io(struct mqtt *m, bool readable, bool writable)
{
	int rc = MOSQ_ERR_SUCCESS, saved_errno = 0;
	int fd = mqtt_fd(m);

	if (fd < 0)
		return;
	mqtt_batch_begin(m);
	m->in_lib = true;
	for (int i = 0; readable && i < MQTT_READ_BUDGET; i++) {
		errno = 0;
		rc = mosquitto_loop_read(m->mosq, 1);
		saved_errno = errno;
		/* mosquitto_loop_read() reads until the socket says EAGAIN or
		 * up to the number of messages in flight: only in the second
		 * case can more be waiting (and epoll, level-triggered, would
		 * say so anyway: asking costs a poll). */
		if (rc != MOSQ_ERR_SUCCESS || mosquitto_socket(m->mosq) != fd ||
		    saved_errno == EAGAIN || saved_errno == EWOULDBLOCK || !fd_readable_now(fd))
			break;
	}
	if (writable && mosquitto_socket(m->mosq) == fd) {
		rc = mosquitto_loop_write(m->mosq, 1);
		saved_errno = errno;
	}
	m->in_lib = false;
	check_socket(m, rc, saved_errno);
	pump(m);
	mqtt_batch_end(m);
	log_cb_update(m);
}

int64_t mqtt_tick(struct mqtt *m, int64_t now)
{
	if (!m->mosq)
		return now + MQTT_BACKOFF_MAX_MS;
	log_cb_update(m);
	if (m->state == MQTT_ST_IDLE && now >= m->next_attempt_ms)
		attempt_connect(m, now);

	if (m->state != MQTT_ST_IDLE && mosquitto_socket(m->mosq) >= 0) {
		m->in_lib = true;
		int rc = mosquitto_loop_misc(m->mosq);
		int saved_errno = errno;
		m->in_lib = false;
		check_socket(m, rc, saved_errno);
	}
	/* libmosquitto times out a missing CONNACK after the keep-alive
	 * interval; should it not, shut the socket down so the next read
	 * fails and the normal loss path runs. */
	if (m->state == MQTT_ST_CONNECTING &&
	    now - m->attempt_started_ms > (int64_t)m->keepalive_s * 1000 + MQTT_CONNECT_GRACE_MS &&
	    mosquitto_socket(m->mosq) >= 0) {
		log_warn(MOD, "no CONNACK from %s:%d; aborting the attempt", m->host, m->port);
		shutdown(mosquitto_socket(m->mosq), SHUT_RDWR);
		m->attempt_started_ms = now;
	}
	mqtt_batch_begin(m);
	pump(m);
	mqtt_batch_end(m);
	log_cb_update(m);

	if (m->state == MQTT_ST_IDLE)
		return m->next_attempt_ms;
	return now + MQTT_MISC_PERIOD_MS;
}

#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

/* Does word x (eight bytes of a topic) hold a byte below 0x20, 0x7f or
 * above, '+' or '#'? A flagged byte means one is there (the "has less",
 * "has more" and "has zero" tests of S. E. Anderson's Bit Twiddling
 * Hacks; a carry or borrow only starts at a byte that is itself one). */
static bool word_not_plain(uint64_t x)
{
	uint64_t p = x ^ (ONES * '+'), h = x ^ (ONES * '#');

	return ((((x - ONES * 0x20) & ~x) | (x + ONES) | x | ((p - ONES) & ~p) |
		 ((h - ONES) & ~h)) & HIGHS) != 0;
}

static bool byte_not_plain(unsigned char c)
{
	return c < 0x20 || c >= 0x7f || c == '+' || c == '#';
}

/* A topic of printable ASCII without the wildcards '+' and '#', and within
 * MQTT's 65,535 bytes, is one that both of libmosquitto's checks below
 * accept (MQTT 3.1.1 §4.7.1, §4.7.3; §1.5.3: no control character): the
 * topics the bridge builds, told apart eight bytes at a time. */
static bool topic_plain(const char *t, size_t len)
{
	size_t i = 0;
	uint64_t x;

	if (len > UINT16_MAX)
		return false;
	for (; len - i >= sizeof(x); i += sizeof(x)) {
		memcpy(&x, t + i, sizeof(x));
		if (word_not_plain(x))
			return false;
	}
	for (; i < len; i++)
		if (byte_not_plain((unsigned char)t[i]))
			return false;
	return true;
}

/* An invalid topic is refused here, before it is queued; libmosquitto
 * checks every topic again when it publishes it. Any other topic than a
 * plain one goes through libmosquitto's own checks. */
bool mqtt_topic_ok(const char *topic)
{
	size_t len;

	if (!topic)
		return false;
	len = strlen(topic);
	if (topic_plain(topic, len))
		return true;
	return mosquitto_pub_topic_check(topic) == MOSQ_ERR_SUCCESS &&
	       mosquitto_validate_utf8(topic, (int)len) == MOSQ_ERR_SUCCESS;
}

static int check_publish(const struct mqtt *m, const char *topic, const void *payload, size_t len,
			 int qos)
{
	if (m->state == MQTT_ST_CLOSED || !m->mosq)
		return LB_ERR_STATE;
	if (!mqtt_topic_ok(topic))
		return LB_ERR_INVAL;
	if (qos < 0 || qos > 2 || len > MQTT_MAX_PAYLOAD || (len > 0 && !payload))
		return LB_ERR_INVAL;
	return LB_OK;
}

int mqtt_publish(struct mqtt *m, const char *topic, const void *payload, size_t len, int qos,
		 bool retain)
{
	int rc = check_publish(m, topic, payload, len, qos);

	if (rc != LB_OK)
		return rc;
	struct mqttq_msg *msg = mqttq_msg_new_pooled(&m->pool, topic, payload, len, qos, retain);
	if (!msg)
		return LB_ERR_NOMEM;
	if (mqttq_push(&m->queue, msg) > 0)
		LB_LOG_RL(LOG_LVL_WARN, MOD, "queue full (%zu): dropped the oldest message, %llu so far",
			  m->queue.limit, (unsigned long long)m->queue.dropped);
	pump(m);
	return LB_OK;
}

size_t mqtt_tracked_room(const struct mqtt *m)
{
	if (m->state != MQTT_ST_CONNECTED || m->in_lib || !m->mosq)
		return 0;
	return MQTT_TRACKED_WINDOW - m->n_tracked;
}

size_t mqtt_tracked_pending(const struct mqtt *m)
{
	return m->n_tracked;
}

int mqtt_publish_tracked(struct mqtt *m, const char *topic, const void *payload, size_t len,
			 int qos, uint64_t token)
{
	int rc = check_publish(m, topic, payload, len, qos);

	if (rc != LB_OK)
		return rc;
	if (token == 0)
		return LB_ERR_INVAL;
	if (mqtt_tracked_room(m) == 0)
		return m->state == MQTT_ST_CONNECTED ? LB_ERR_FULL : LB_ERR_STATE;
	struct mqttq_msg *msg = mqttq_msg_new_pooled(&m->pool, topic, payload, len, qos, false);
	if (!msg)
		return LB_ERR_NOMEM;
	switch (try_publish(m, msg, token, &rc)) {
	case HO_SENT:
	case HO_STALLED:
		return LB_OK;
	case HO_RETRY:
		rc = mqtt_err_from_mosq(rc);
		break;
	case HO_REJECTED:
		rc = LB_ERR_INVAL;
		break;
	}
	mqttq_msg_free(&msg);
	return rc;
}

int mqtt_subscribe(struct mqtt *m, const char *filter, int qos)
{
	if (!filter || qos < 0 || qos > 2 || !m->mosq ||
	    mosquitto_sub_topic_check(filter) != MOSQ_ERR_SUCCESS)
		return LB_ERR_INVAL;
	size_t i;
	for (i = 0; i < m->n_subs && strcmp(m->subs[i].filter, filter) != 0; i++)
		;
	if (i == m->n_subs) {
		struct mqtt__sub *subs = realloc(m->subs, (m->n_subs + 1) * sizeof(*subs));
		if (!subs)
			return LB_ERR_NOMEM;
		m->subs = subs;
		m->subs[i].filter = strdup(filter);
		if (!m->subs[i].filter)
			return LB_ERR_NOMEM;
		m->n_subs++;
	}
	m->subs[i].qos = qos;
	if (m->state != MQTT_ST_CONNECTED)
		return LB_OK;
	int rc = mosquitto_subscribe(m->mosq, NULL, filter, qos);
	if (rc != MOSQ_ERR_SUCCESS)
		log_warn(MOD, "subscribe %s: %s (renewed at the next connection)", filter,
			 mosquitto_strerror(rc));
	return LB_OK;
}

bool mqtt_connected(const struct mqtt *m)
{
	return m->state == MQTT_ST_CONNECTED;
}

size_t mqtt_pending(const struct mqtt *m)
{
	return mqttq_len(&m->queue) + m->n_inflight;
}

int mqtt_disconnect(struct mqtt *m)
{
	enum mqtt__state was = m->state;

	if (!m->mosq)
		return LB_ERR_STATE;
	m->state = MQTT_ST_CLOSED;
	m->stats.connected = false;
	batch_uncork(m);   /* what a batch holds goes before the DISCONNECT */
	if (was == MQTT_ST_IDLE || mosquitto_socket(m->mosq) < 0)
		return LB_ERR_STATE;
	int rc = mosquitto_disconnect(m->mosq);
	if (rc != MOSQ_ERR_SUCCESS) {
		log_warn(MOD, "disconnect: %s", mosquitto_strerror(rc));
		return mqtt_err_from_mosq(rc);
	}
	return was == MQTT_ST_CONNECTED ? LB_OK : LB_ERR_STATE;
}

void mqtt_get_stats(const struct mqtt *m, struct mqtt_stats *out)
{
	*out = m->stats;
	out->queued = mqtt_pending(m);
	out->inflight = m->n_inflight;
	out->dropped_overflow = m->queue.dropped;
	out->connected = m->state == MQTT_ST_CONNECTED;
}
