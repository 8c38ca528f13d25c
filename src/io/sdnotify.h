/* SPDX-License-Identifier: MIT */
/*
 * sdnotify.h - the systemd service notification protocol, spoken directly
 * (no libsystemd): one datagram of "KEY=VALUE\n" lines sent to the
 * AF_UNIX socket named by $NOTIFY_SOCKET (sd_notify(3), "Notes").
 *
 *   $NOTIFY_SOCKET = "/run/systemd/notify"   a file-system socket
 *                  = "@name"                  an abstract socket ('@' -> '\0')
 *
 * Every call is stateless: the environment is read and a fresh
 * SOCK_DGRAM|SOCK_NONBLOCK socket is used and closed, so nothing is kept in
 * globals and a call can never block the event loop (a full receiver queue
 * makes it fail with LB_ERR_IO instead). Not running under systemd
 * (NOTIFY_SOCKET unset or empty) is not an error: the call does nothing and
 * returns LB_OK. Callers may ignore every return value: a lost notification
 * never stops the daemon; the codes exist for tests and debug logs.
 *
 * Intended use by the daemon (bridge.c):
 *   sdnotify_ready()              once the config is loaded and UDP is bound
 *   sdnotify_status("...")        a one-line summary, e.g. every few seconds
 *   sdnotify_watchdog()           from the loop, every interval_ms / 2
 *   sdnotify_reloading()          on SIGHUP before reloading, then _ready()
 *   sdnotify_stopping()           when SIGTERM/SIGINT starts the shutdown
 */
#ifndef LB_SDNOTIFY_H
#define LB_SDNOTIFY_H

#include <stdint.h>

/* Longest STATUS= text sent; longer text is cut. */
#define SDNOTIFY_STATUS_MAX 200

/*
 * Send `state` (one or more "KEY=VALUE" lines) as is. Returns LB_OK (sent,
 * or NOTIFY_SOCKET unset), LB_ERR_INVAL (NOTIFY_SOCKET is neither an
 * absolute path nor '@'-abstract, or too long for sockaddr_un), LB_ERR_IO
 * (socket or send failed, e.g. no listener or its queue is full).
 */
int sdnotify_send(const char *state);

int sdnotify_ready(void);       /* "READY=1" */
int sdnotify_reloading(void);   /* "RELOADING=1" */
int sdnotify_stopping(void);    /* "STOPPING=1" */
int sdnotify_watchdog(void);    /* "WATCHDOG=1" */

/* "STATUS=<text>": printf-style, newlines replaced by spaces (a newline
 * would start a new assignment), cut at SDNOTIFY_STATUS_MAX bytes. */
int sdnotify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * The watchdog period systemd expects pings within, in milliseconds, from
 * $WATCHDOG_USEC (rounded down, at least 1 when set); 0 when there is no
 * watchdog: variable unset or malformed, or $WATCHDOG_PID set to another
 * process (sd_watchdog_enabled(3)). Ping at half of it.
 */
int64_t sdnotify_watchdog_interval_ms(void);

#endif
