/* SPDX-License-Identifier: MIT */
/*
 * mqtt.h - the MQTT client of lorabridge: libmosquitto driven by the one
 * epoll loop (no libmosquitto thread, no blocking call except the name
 * resolution inside a connection attempt).
 *
 * Integration with the main loop (loop.h), after every loop iteration:
 *   1. fd = mqtt_fd(m). When it differs from the registered one, forget the
 *      old registration and register the new fd (if >= 0). The old socket
 *      has already been CLOSED by libmosquitto, so the kernel has already
 *      dropped it from the epoll set: do not EPOLL_CTL_DEL the old number
 *      (another module may have reused it). mqtt_fd() returns -1 for at
 *      least one iteration between two sockets: a new socket is only ever
 *      opened by mqtt_tick() at a reconnect deadline, never in the call that
 *      saw the old one close.
 *   2. Interest: EPOLLIN always, EPOLLOUT iff mqtt_want_write(m).
 *   3. On readiness: mqtt_handle_io(m, readable, writable) with
 *      readable = EPOLLIN|EPOLLERR|EPOLLHUP, writable = EPOLLOUT|EPOLLERR|
 *      EPOLLHUP (errors must reach libmosquitto so it closes the socket).
 *   4. Every iteration: deadline = mqtt_tick(m, loop_now_ms()).
 *
 * Delivery (nothing is lost silently):
 *   - mqtt_publish() appends to a bounded FIFO (opts.queue_limit messages;
 *     on overflow the OLDEST is dropped and counted in dropped_overflow).
 *   - While connected, messages move from the FIFO into libmosquitto while
 *     fewer than MQTT_INFLIGHT_WINDOW are un-acknowledged (QoS 1/2: until
 *     PUBACK/PUBCOMP; QoS 0: until written to the socket). A copy of each
 *     in-flight message is kept until then, so at most queue_limit +
 *     MQTT_INFLIGHT_WINDOW messages are held in total (and up to
 *     MQTT_TRACKED_WINDOW tracked ones, below).
 *   - On a connection loss, QoS 1/2 messages in flight stay in libmosquitto,
 *     which re-sends them (DUP set, same message id) right after the next
 *     CONNACK, before anything newer (verified with libmosquitto 2.0.11 and
 *     mosquitto 2.0.11; see tests/integration/test_mqtt_client.sh). QoS 0
 *     messages not yet written are put back at the head of the FIFO.
 *     Duplicates are possible for the few in flight; loss is not.
 *   - On every CONNACK the remembered subscriptions are renewed (clean
 *     session) and then opts.on_connect() is called: publish the retained
 *     "online" state there. Messages queued while offline follow in order.
 *
 * Tracked publishes (for a caller that keeps its messages durably until the
 * broker has them, e.g. an outbox):
 *   - mqtt_publish_tracked() bypasses the FIFO: it is accepted only while
 *     connected and while fewer than MQTT_TRACKED_WINDOW tracked messages
 *     are un-acknowledged (mqtt_tracked_room()), so a tracked message is
 *     never dropped by the FIFO's overflow policy. It has a window of its
 *     own, so neither kind of message starves the other.
 *   - Its token comes back exactly once through opts.on_acked(arg, token)
 *     when the broker acknowledged it (QoS 1: PUBACK, QoS 2: PUBCOMP; QoS 0
 *     has no acknowledgement: when it was written to the socket), or through
 *     opts.on_returned(arg, token) when this client will not send it (a
 *     QoS 0 message not yet written at a connection loss): the caller sends
 *     it again. QoS 1/2 messages in flight at a connection loss are re-sent
 *     by libmosquitto as above and acknowledged later. Both callbacks may
 *     run inside mqtt_publish_tracked() itself (a QoS 0 message is written
 *     at once) and inside mqtt_handle_io() and mqtt_tick().
 *   - Neither callback comes for messages still in flight at
 *     mqtt_destroy(): the caller keeps them and sends them in its next run.
 *
 * Batches (fewer TCP segments; see "Batches" in mqtt.c): a caller that
 * publishes several messages in one pass of its loop brackets the pass
 * with mqtt_batch_begin() / mqtt_batch_end(). From the second message
 * written to the socket within a batch, the socket is corked (TCP_CORK), so
 * the messages leave together in as few segments as their size allows;
 * mqtt_batch_end() uncorks it, which sends them at once. A caller must end
 * every batch before its loop waits (epoll_wait): data is never left
 * corked while the loop sleeps (the kernel would send it only after 200
 * ms). Batches nest; only the outermost end uncorks. Outside a batch every
 * message is written as before. mqtt_handle_io() and mqtt_tick() are
 * batches of their own. Nothing else changes: order, delivery, the
 * callbacks. With TLS the socket carries TLS records; corking it is the
 * same.
 *
 * Reconnection: exponential back-off 1 s, 2 s, 4 s ... 60 s, reset by a
 * successful CONNACK. Connection failures are logged rate-limited.
 *
 * Clean shutdown: publish "offline" (a clean DISCONNECT suppresses the
 * Will), keep looping (handle_io/tick) while mqtt_pending(m) > 0 for at most
 * ~5 s, then mqtt_disconnect(m) and loop until mqtt_fd(m) < 0 (the
 * DISCONNECT is normally written at once), then mqtt_destroy(m).
 *
 * Callbacks (on_connect, on_message, on_acked, on_returned) are called from
 * inside mqtt_handle_io and mqtt_tick (the last two also from inside
 * mqtt_publish_tracked). They may call mqtt_publish and mqtt_subscribe, not
 * mqtt_destroy; mqtt_tracked_room() is 0 during a callback.
 *
 * Ownership: mqtt_init() copies everything it needs from opts (the strings
 * may be freed afterwards); mqtt_publish() copies topic and payload;
 * mqtt_destroy() frees everything, including messages still queued (they
 * are counted in the log line it writes).
 */
#ifndef LB_MQTT_H
#define LB_MQTT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/mqttq.h"

/* Un-acknowledged messages allowed inside libmosquitto at once: from the
 * FIFO, and tracked ones. */
#define MQTT_INFLIGHT_WINDOW 100
#define MQTT_TRACKED_WINDOW 100
#define MQTT_BACKOFF_MIN_MS 1000
#define MQTT_BACKOFF_MAX_MS 60000

struct mqtt_opts {
	const char *host;           /* required */
	int port;                   /* 1..65535 */
	const char *client_id;      /* required */
	const char *username;       /* NULL = none */
	const char *password;       /* NULL = none (needs username) */
	const char *ca_file;        /* non-NULL enables TLS */
	const char *cert_file;      /* client certificate, NULL = none */
	const char *key_file;       /* with cert_file */
	int keepalive_s;            /* >= 5 */
	int qos;                    /* default QoS (0..2) for callers' publishes */
	size_t queue_limit;         /* >= 1 messages */
	const char *will_topic;     /* NULL = no Last Will */
	const char *will_payload;   /* NUL-terminated */
	bool will_retain;
	int will_qos;
	/* Every successful CONNACK, after the subscriptions were renewed. */
	void (*on_connect)(void *arg);
	/* A message arrived on a subscription; pointers valid during the call. */
	void (*on_message)(void *arg, const char *topic, const void *payload, size_t len);
	/* Tracked publishes (see above); NULL when none are made. */
	void (*on_acked)(void *arg, uint64_t token);
	void (*on_returned)(void *arg, uint64_t token);
	void *arg;
};

struct mqtt_stats {
	uint64_t published;         /* messages handed to libmosquitto */
	uint64_t acked;             /* PUBACK/PUBCOMP received, or QoS 0 written */
	uint64_t queued;            /* now: FIFO + in flight (= mqtt_pending) */
	uint64_t inflight;          /* now: inside libmosquitto, not yet acknowledged */
	uint64_t dropped_overflow;  /* oldest messages dropped from a full FIFO */
	uint64_t dropped_error;     /* rejected by libmosquitto (logged) */
	uint64_t reconnects;        /* successful connections after the first */
	uint64_t batches_corked;    /* batches whose messages left corked */
	/* The TCP segments the messages written in batches need at most when
	 * batches cork (and a batch's messages fit in one segment): 1 for a
	 * batch's first message (written before the batch corks) and 1 for the
	 * rest. How many batches write depends on timing (a message waiting
	 * for the in-flight window leaves in the batch that reads PUBACKs),
	 * this bound follows them. A message written outside a batch is not in
	 * it (it may need a segment of its own): unbatched counts those, none
	 * when the caller batches its bursts, since the module's own reads,
	 * ticks and reconnections write what waits in batches of their own.
	 * Both count hand-overs (each mosquitto_publish() call), not bytes
	 * that reached the socket: the batch corks before its second
	 * hand-over, whatever the first became, and one that libmosquitto
	 * gave back (a transient failure, unlike `published`, which then
	 * counts it no more) only loosens the bound by one segment, on a
	 * connection that failed. A QoS 0 message handed over again (given
	 * back at a disconnection) counts again; libmosquitto's own re-sends
	 * (QoS 1/2) do not. */
	uint64_t batch_segs_bound;
	uint64_t unbatched;         /* hand-overs outside any batch */
	bool connected;
};

/* Private to mqtt.c: one copy of each message inside libmosquitto. */
struct mqtt__inflight {
	int mid;
	struct mqttq_msg *msg;
	uint64_t token;              /* tracked: the caller's, else 0 */
};

struct mqtt__sub {
	char *filter;
	int qos;
};

enum mqtt__state {
	MQTT_ST_IDLE,        /* no socket; (re)connect when next_attempt_ms passes */
	MQTT_ST_CONNECTING,  /* socket open, waiting for CONNACK */
	MQTT_ST_CONNECTED,   /* CONNACK received */
	MQTT_ST_CLOSED       /* mqtt_disconnect() called: never reconnect */
};

/* Fields are private to mqtt.c; use the functions below. */
struct mqtt {
	struct mosquitto *mosq;
	char *host;
	int port;
	int keepalive_s;
	void (*on_connect)(void *arg);
	void (*on_message)(void *arg, const char *topic, const void *payload, size_t len);
	void (*on_acked)(void *arg, uint64_t token);
	void (*on_returned)(void *arg, uint64_t token);
	void *arg;

	enum mqtt__state state;
	bool ever_connected;         /* a CONNACK was ever received */
	bool host_set;               /* mosquitto_connect_async() stored host/port */
	bool in_lib;                 /* inside a libmosquitto call (callbacks) */
	bool log_cb_on;              /* libmosquitto's log callback installed */
	struct mqttq_pool pool;      /* blocks of freed messages, reused */
	int64_t next_attempt_ms;
	int64_t attempt_started_ms;
	int64_t backoff_ms;
	int last_connack;            /* refusal code of the last CONNACK, 0 = none */
	unsigned batch_depth;        /* mqtt_batch_begin() calls not yet ended */
	unsigned batch_writes;       /* messages written in the current batch */
	int corked_fd;               /* the socket corked by this batch, or -1 */

	struct mqttq queue;
	struct mqtt__inflight inflight[MQTT_INFLIGHT_WINDOW + MQTT_TRACKED_WINDOW];
	size_t n_inflight;           /* both kinds */
	size_t n_tracked;            /* of which tracked */
	struct mqtt__sub *subs;
	size_t n_subs;
	struct mqtt_stats stats;
};

/*
 * Create the client and configure identity, credentials, TLS and the Last
 * Will. Does not connect: the first mqtt_tick() does. Errors: LB_ERR_INVAL
 * (bad options), LB_ERR_NOMEM, LB_ERR_MQTT (libmosquitto refused a
 * setting, e.g. unreadable TLS files); on error nothing needs freeing.
 */
int mqtt_init(struct mqtt *m, const struct mqtt_opts *o);
/* Close the socket (without DISCONNECT if still open) and free all. */
void mqtt_destroy(struct mqtt *m);

/* A quiet bridge: free the message blocks the pool keeps for reuse (up to
 * 128 KiB; mqttq_pool_free()). Returns the number freed. */
size_t mqtt_release_pool(struct mqtt *m);

/* libmosquitto's socket; -1 when there is none and between attempts. */
int mqtt_fd(const struct mqtt *m);
/* Whether EPOLLOUT interest is needed. */
bool mqtt_want_write(const struct mqtt *m);
/* The socket is ready; see the integration notes above. */
void mqtt_handle_io(struct mqtt *m, bool readable, bool writable);
/*
 * Keep-alive, connection (re)attempts, moving queued messages into
 * libmosquitto. now_ms is CLOCK_MONOTONIC milliseconds (loop_now_ms()).
 * Returns the next deadline (monotonic ms) at which it must be called again.
 */
int64_t mqtt_tick(struct mqtt *m, int64_t now_ms);

/*
 * Queue a message (copied) for publishing; sent at once when connected and
 * the in-flight window has room. Errors: LB_ERR_INVAL (topic not a valid
 * publish topic, payload too large, qos outside 0..2), LB_ERR_NOMEM,
 * LB_ERR_STATE (after mqtt_disconnect). A full queue is not an error: the
 * oldest message is dropped and counted.
 */
int mqtt_publish(struct mqtt *m, const char *topic, const void *payload, size_t len,
		 int qos, bool retain);
/*
 * Publish a tracked message (copied; see "Tracked publishes" above) with the
 * caller's token (not 0). LB_OK: in flight, its token comes back through
 * on_acked or on_returned. Errors (the token never comes back): LB_ERR_INVAL
 * (as mqtt_publish, token 0, or refused by libmosquitto: logged, counted in
 * dropped_error; sending it again cannot succeed), LB_ERR_STATE (not
 * connected), LB_ERR_FULL (no room: mqtt_tracked_room() is 0), LB_ERR_NOMEM,
 * LB_ERR_MQTT / LB_ERR_IO (the connection failed meanwhile: try later).
 */
int mqtt_publish_tracked(struct mqtt *m, const char *topic, const void *payload, size_t len,
			 int qos, uint64_t token);
/* How many tracked messages mqtt_publish_tracked() takes now: 0 unless
 * connected (and outside a callback). */
size_t mqtt_tracked_room(const struct mqtt *m);
/* Tracked messages in flight (counted in mqtt_pending() too). */
size_t mqtt_tracked_pending(const struct mqtt *m);

/*
 * Open a batch (see "Batches" above): messages written until the matching
 * mqtt_batch_end() leave together. Never fails; a socket that cannot be
 * corked only costs segments (logged at debug level).
 */
void mqtt_batch_begin(struct mqtt *m);
/* Close a batch; the outermost one sends what it corked. */
void mqtt_batch_end(struct mqtt *m);

/*
 * Remember a subscription (renewed on every CONNACK) and subscribe now if
 * connected. Subscribing again to the same filter updates its QoS.
 * Errors: LB_ERR_INVAL, LB_ERR_NOMEM.
 */
int mqtt_subscribe(struct mqtt *m, const char *filter, int qos);

bool mqtt_connected(const struct mqtt *m);
/* Messages not yet acknowledged: FIFO + in flight. */
size_t mqtt_pending(const struct mqtt *m);
/*
 * Clean shutdown: send DISCONNECT (the broker then discards the Will) and
 * stop reconnecting. Messages still pending are not sent. Errors:
 * LB_ERR_STATE (not connected: nothing sent, but reconnection stops too).
 */
int mqtt_disconnect(struct mqtt *m);

void mqtt_get_stats(const struct mqtt *m, struct mqtt_stats *out);

/* MOSQ_ERR_* to lb_err (LB_ERR_MQTT for anything without a closer code). */
int mqtt_err_from_mosq(int mosq_rc);

/* Whether topic (len bytes) may be published: a topic of printable ASCII
 * without '+' and '#' is accepted at once (every topic the bridge builds),
 * any other goes through libmosquitto's mosquitto_pub_topic_check() and
 * mosquitto_validate_utf8(); NULL is refused. mqtt_publish() asks it
 * before queueing (libmosquitto checks again when it sends). */
bool mqtt_topic_ok(const char *topic);

#endif
