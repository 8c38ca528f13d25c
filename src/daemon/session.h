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
#include <stdint.h>

struct bridge;
struct lb_device;

/* Load the stored sessions into the registry. Returns LB_OK or the store's
 * error (logged). */
int session_restore(struct bridge *b);

/* The same for one device that joins the registry on a reload (it may have
 * been configured before: its counters and nonces must not start afresh). */
int session_restore_device(struct bridge *b, struct lb_device *dev);

/* Stage dev's session (counters, keys, join state) in the current store
 * batch now; dev->rt.batch tells which batch holds it. */
int session_stage(struct bridge *b, struct lb_device *dev);

/*
 * The hot path does no SQL: an accepted uplink only marks its device dirty
 * (session_touch) and tags its event with the batch it belongs to. The
 * device's session row and fair-access ledger are staged once per batch,
 * just before the batch commits (session_flush), however many frames it
 * sent meanwhile. Every commit of the daemon goes through session_commit()
 * or session_tick(), so a batch never commits without its dirty devices,
 * and an event is never released before the counter it reports is durable.
 */
void session_touch(struct bridge *b, struct lb_device *dev);
int session_flush(struct bridge *b);
int session_commit(struct bridge *b);
/* Commit when the batch is due (state.commit_ms after its first change);
 * returns the next deadline or -1. */
int64_t session_tick(struct bridge *b, int64_t now_ms);
/* Forget the dirty list (the device table is being replaced: flush first). */
void session_reset_dirty(struct bridge *b);

#endif
