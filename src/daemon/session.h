/* SPDX-License-Identifier: MIT */
/*
 * session.h - device sessions between the registry (tables/devices.h, in
 * memory, the truth while running) and the durable store (store/store.h,
 * the truth across restarts).
 *
 * At start-up every stored session of a configured device is restored:
 * an ABP device keeps its last accepted FCntUp and its downlink counter
 * reservation when its DevAddr and keys are unchanged; an OTAA device gets
 * its joined session back. Rows of devices no longer in the configuration
 * are kept (until `lorabridge --purge DEVEUI`) and counted.
 *
 * KEYS ROLLED BACK, OR MOVED. A session is its DevAddr and keys, whatever
 * DevEUI has it. A device whose stored row is another session than
 * configured (its ABP keys or DevAddr changed, or its activation) leaves
 * that session: its counters are kept among the sessions the device left
 * (store_abp.h, by a digest of DevAddr and keys, the STORE_ABP_SEEN_MAX
 * most recently left; beyond, the oldest are forgotten and a warning says
 * so). Every configured ABP device taken in (all at a start,
 * sessions_restore; those a reload did not keep, sessions_restore_new)
 * goes on above the counters its session has anywhere: the sessions left
 * by any device (abp_seen, read by digest), the stored row of any other
 * DevEUI holding it (a device no longer configured, as when a DevEUI typo
 * is corrected, or one configured with other keys now) and the stored
 * pending row (PENDING SESSIONS below) of any DevEUI holding it, its own
 * too (a promotion that a crash lost may have used the downlink counters
 * below the row's ceiling). A pending session of another DevEUI whose
 * DevAddr and keys an ABP device is taken in with is never taken after
 * (its counters stay the join's while the ABP device's move on): it leaves
 * the pending table and is kept among the sessions left (abp_seen, under
 * its DevEUI), so that no start or reload takes it once that device is
 * removed or given other keys; a stored pending row whose session a
 * configured ABP device has is not held either. FCntUp goes on above the highest accepted (or
 * the configured fcnt_up floor, the higher), NFCntDown at the highest
 * ceiling reserved (fcntdown_load(): the next downlink reserves and
 * commits a block above it before using any; a pending row's ceiling
 * counts as a pending session read back resumes at it), so that keys used
 * again never reuse a counter (TS001-1.0.4 §4.3.1.5; under the same keys a
 * repeated NFCntDown repeats the FRMPayload keystream, §4.3.3). A left
 * session's counters and the new row are staged in the same batch. This
 * is read when devices are taken in (a digest per ABP device, looked up
 * among the ids abp_seen holds, read once; the session and pending rows
 * walked once; a read for those found), never per frame. `--purge` keeps
 * the counters of the device's current and pending sessions
 * (sessions_keep_purged()).
 *
 * A joined OTAA session replaced by a rejoin (sessions_promote()) is not
 * kept among them: its keys were random, and only the current session can
 * be configured as ABP later (its row is kept until then: a change of
 * activation leaves it as above); keeping one row per join would grow
 * abp_seen by a row per rejoin of every OTAA device.
 *
 * The hot path does no SQL: an accepted uplink only marks its device
 * (sessions_touch) and learns which store batch will hold the change. The
 * session rows of marked devices are staged once per batch, just before it
 * commits (a part of durable.h), however many frames each device sent; a
 * device whose stored row is whole and only counted frames has only its
 * counters written (store_put_fcnts()).
 *
 * PENDING SESSIONS (LoRaWAN 1.0.3 §6.2.4, TS001-1.0.4 §6.2): a join of a
 * device that has a session does not replace it. The join's session is
 * PENDING (tables/pending.h, a side table: struct lb_device has no room
 * for it) and stored in `pending_session` before the join-accept is sent;
 * the current session stays in use, for uplinks and for the class A
 * downlinks that answer them. The device's first uplink whose MIC verifies
 * under the pending session promotes it (sessions_promote()): the current
 * session and its DevAddr are dropped, the device's counters, receive
 * settings and join time become the pending session's (so its MAC state
 * restarts, netmac.h, and an awaited ACK is forgotten), and that uplink is
 * processed under the new session. The promotion is written with the next
 * group commit (the session row staged, the pending row deleted, one
 * batch). A further join replaces the pending session; `--purge` deletes it
 * (its counters kept, as above); it is never dropped for age (one per
 * device at most, PENDING_MAX in all: a device that never got its
 * join-accept keeps its old session until it joins again, and a pending
 * DevAddr is not given to another device meanwhile). A device's first join
 * switches at once: there is no old session to keep. Only configured OTAA
 * devices have one in memory: a start loads no other, a reload sets aside
 * those of devices it removes or makes ABP (sessions_forget()); their rows
 * are kept until `--purge`.
 *
 * Context: the registry, the store and the group commit, all borrowed.
 * sessions_free() releases the list of marked devices, the bits of whole
 * rows and the pending sessions.
 */
#ifndef LB_SESSION_H
#define LB_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/durable.h"
#include "store/store.h"
#include "tables/devices.h"
#include "tables/dirtyset.h"
#include "tables/pending.h"

struct sessions {
	struct devices *devices;
	struct store *store;
	struct durable *durable;
	int commit_ms;                   /* state.commit_ms */
	struct dirtyset dirty;           /* device indexes to stage */
	/* bit i: device i's stored row (staged or restored) holds its session
	 * as it is but for the counters, so its counters may be written alone;
	 * cleared by every other change and by a reload */
	uint8_t *whole;
	size_t whole_bytes;
	struct pendings pending;         /* pending sessions, by DevEUI and DevAddr */
};

/* Set up and register with the group commit. LB_OK or durable_add()'s
 * error. */
int sessions_init(struct sessions *s, struct devices *devices, struct store *store,
		  struct durable *durable, int commit_ms);
void sessions_free(struct sessions *s);

/* Load the stored sessions into the registry. LB_OK, or the store's error
 * (logged): then nothing may run, counters would start afresh. A row that
 * cannot be applied (key set-up failed) is logged and counted, not fatal. */
int sessions_restore(struct sessions *s);

/* The same for the devices a reload took in afresh (not state_kept: new,
 * or changed; they may have been configured before: their counters and
 * nonces must not start afresh; their keys may have changed or be another
 * DevEUI's: KEYS ROLLED BACK, OR MOVED above). LB_OK (also when nothing is
 * stored) or the store's error (logged): then no ABP device taken in is
 * served (devices_drop_session(): no session, its row never written) until
 * a reload or a restart takes it in again: served from its configured
 * counters, it could reuse those of keys it or another DevEUI had. */
int sessions_restore_new(struct sessions *s);

/* Before `lorabridge --purge DEVEUI`: the counters of the device's stored
 * session and of its stored pending session (those it holds) kept among
 * the sessions seen (staged: the purge commits them), so that their keys
 * configured again as ABP, under any DevEUI, go on above them. LB_OK (also
 * when nothing is stored) or the error (logged). */
int sessions_keep_purged(struct store *store, uint64_t dev_eui);

/* dev's session changed: stage it with the next commit. Returns the batch
 * that will hold it (durable_batch()). If the device cannot be listed (no
 * memory), its row is staged at once instead. */
uint64_t sessions_touch(struct sessions *s, struct lb_device *dev);
/* The same for a change of the counters alone (an accepted uplink's
 * FCntUp): when the device's stored row holds the rest of its session as
 * it is, only the counters are written (store_put_fcnts(), about half the
 * cost of a whole row). The change belongs to an earlier moment since_ms
 * (monotonic ms, clamped to now): when the uplink's frame was due out of
 * de-duplication (struct dedup_group due_ms). The commit is then due
 * commit_ms after that moment, not after the time it was processed: a frame
 * that waited in the socket while the loop was busy (committing the
 * previous batch) does not wait that long again for its own. */
uint64_t sessions_touch_fcnt(struct sessions *s, struct lb_device *dev, int64_t since_ms);

/* Stage dev's row now (a counter reservation that must not wait). LB_OK or
 * the store's error (logged). */
int sessions_stage(struct sessions *s, struct lb_device *dev);

/* What dev's current session is as a join makes a pending session, into
 * that session's row (row->has_current ...): its join time and its last
 * accepted FCntUp. Stored with the row, it tells after a restart whether
 * the device was heard under that session since the join: an FCntUp
 * accepted above it (sessions_current_repeated()). */
void sessions_pending_note(const struct lb_device *dev, struct store_pending *row);

/* A join of dev made a pending session, its row (store_put_pending(),
 * noted by sessions_pending_note()) committed: hold it beside the current
 * one. LB_OK; if it cannot be held (no memory, PENDING_MAX), the device
 * switches to it at once, as a first join does, and the switch is staged:
 * the error is logged and returned. batch: the join's (durable_batch()),
 * which holds the session's first downlink counters. */
int sessions_pending_add(struct sessions *s, struct lb_device *dev,
			 const struct store_pending *row, uint64_t batch);

/*
 * A data uplink that no current session claimed (devices_verify_uplink()
 * said LB_ERR_NOT_FOUND or LB_ERR_MIC): if it verifies under a pending
 * session, promote that session (see above) and return LB_OK: verify the
 * frame again, it is the new session's first. LB_ERR_NOT_FOUND when no
 * pending session claims it (nothing logged: the caller reports the frame);
 * other errors are logged. O(1) when nothing is pending.
 */
int sessions_promote(struct sessions *s, const struct lw_frame *f);

/* An uplink of dev verified under its current session: if a session is
 * pending for it, the device still has the current one (classc.h). O(1):
 * a hash probe (tables/pending.h), as sessions_current_sure(). */
void sessions_current_heard(struct sessions *s, const struct lb_device *dev);

/*
 * A retransmission of dev (devices_verify_uplink() LB_ERR_DUPLICATE: its
 * MIC verifies under the current session with the last accepted FCntUp,
 * fcnt): as sessions_current_heard() if that FCntUp was first accepted
 * after the pending session was held (above the one noted then), else
 * nothing. A repeated frame is no proof of when it was made: it carries no
 * fresh counter (repetitions keep their FCntUp, TS001-1.0.4 §4.3.1.5), so
 * anyone who recorded it may send it again at any time. A frame first
 * accepted after the join was made by the device under the current session
 * after its join-request, so the device did not take the join's session
 * (it has one session at a time) and never will (that join-accept is not
 * sent again): its copies say so whoever sends them. A copy of a frame made
 * before the join proves nothing of the kind: had the device taken the
 * join's session, a replayed copy would have class C downlinks sent under
 * keys it dropped, and lost. A device that follows the protocol does not
 * repeat a frame made before its join-request (a frame's repetitions end
 * with the next frame, and a join-request is one), so only replays are
 * refused. A pending session read back at a start counts from the FCntUp
 * noted with its row at the join (sessions_pending_note()), under the same
 * current session: the device restored with a higher one was heard since
 * the join, and is marked so at once. A row without that note (written
 * before schema 12), or one whose device has another current session now,
 * counts from the FCntUp restored then (whether a frame before it came
 * after the join is not known). O(1): a hash probe.
 */
void sessions_current_repeated(struct sessions *s, const struct lb_device *dev, uint32_t fcnt);

/* Whether downlinks not answering an uplink (class C) may go to dev under
 * its current session: no session pending, or the device was heard under
 * the current one since the join. */
bool sessions_current_sure(struct sessions *s, const struct lb_device *dev);

/* The registry was replaced (a reload, devices_reload()): forget the
 * indexes. The caller committed first and re-touches every device if that
 * failed. The pending sessions held for devices no longer configured, or no
 * longer OTAA, leave the table (an ABP class C device would otherwise wait
 * for an uplink under a session it cannot have; logged, O(pending
 * sessions)); their stored rows are kept until `lorabridge --purge`, and
 * read back if the device is configured for OTAA again
 * (sessions_restore_new()), as is the pending row of a device whose
 * AppKey changed: the reload takes it in afresh. */
void sessions_forget(struct sessions *s);

#endif
