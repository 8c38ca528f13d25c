/*
 * session.h - device sessions between the registry (devices.h, in memory,
 * the truth while running) and the durable store (store.h, the truth
 * across restarts).
 *
 * At start-up every stored session of a configured device is restored:
 * an ABP device keeps its last accepted FCntUp and its downlink counter
 * reservation when its DevAddr and keys are unchanged; an OTAA device gets
 * its joined session back. Rows of devices no longer in the configuration
 * are kept (until `lorabridge --purge DEVEUI`) and counted.
 */
#ifndef LB_SESSION_H
#define LB_SESSION_H

#include <stddef.h>

struct bridge;
struct lb_device;

/* Load the stored sessions into the registry. Returns LB_OK or the store's
 * error (logged). */
int session_restore(struct bridge *b);

/* Stage dev's session (counters, keys, join state) in the current store
 * batch; dev->rt.batch tells which batch holds it. */
int session_stage(struct bridge *b, struct lb_device *dev);

#endif
