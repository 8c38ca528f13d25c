/* SPDX-License-Identifier: MIT */
/*
 * webhist.h - what the web page shows of a device beyond the registry: its
 * last WEBHIST_RADIO RSSI/SNR values, the decoded object of its last uplink
 * that had one, and its battery and link margin from the last `status`
 * event. Taken from the very events published on MQTT, so the page shows
 * what an MQTT subscriber sees: an `up` from the values its JSON was built
 * from (the receptions that are its rxInfo[], the `object` text as
 * published: publish.h's publish_facts), on every uplink, with no parse
 * and, once a device's entry exists and its object buffer has the size its
 * objects need, no allocation; a `status` (a DevStatusAns now and then)
 * from the values its JSON was built from too (batteryLevel, margin).
 *
 * Kept only while the web server runs (web.h): an entry is allocated at a
 * device's first event and holds at most WEBHIST_OBJECT_MAX bytes of
 * object; at most WEBHIST_MAX_DEVICES entries (beyond, new devices are not
 * followed; counted in `untracked`).
 *
 * Ownership: webhist_free() releases every entry; webhist_find() pointers
 * are valid until the next webhist_up()/webhist_status() or webhist_free().
 * Errors: lb_err codes (LB_ERR_NOMEM; LB_ERR_FULL; LB_ERR_INVAL: no
 * reception, no status).
 */
#ifndef LB_WEBHIST_H
#define LB_WEBHIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "events/event_json.h"
#include "gwmp/rx.h"

#define WEBHIST_RADIO 20
#define WEBHIST_OBJECT_MAX 4096
#define WEBHIST_MAX_DEVICES 65536

struct webhist_dev {
	uint64_t dev_eui;
	int16_t rssi[WEBHIST_RADIO];     /* ring, oldest at (next - n) */
	float snr[WEBHIST_RADIO];
	uint8_t n, next;
	int battery;                     /* percent, -1 unknown */
	bool has_margin;
	int margin;
	char *object;                    /* JSON text, NUL-terminated; NULL none */
	size_t object_cap;               /* bytes allocated at object, kept for the next */
};

struct webhist {
	struct webhist_dev **slots;      /* open addressing by dev_eui, NULL = empty */
	size_t cap, count;
	uint64_t untracked;
};

void webhist_free(struct webhist *h);
struct webhist_dev *webhist_find(const struct webhist *h, uint64_t dev_eui);

/* An `up` event: the RSSI and SNR of its best reception among rx[0 ..
 * n_rx) (the highest RSSI, the first of equals; receptions without RSSI
 * are not candidates; an SNR absent or not finite counts as 0, as in the
 * event where it is omitted), and its `object` (object_len bytes of JSON
 * text; NULL: none, the last one stays; kept only if a JSON object of at
 * most WEBHIST_OBJECT_MAX bytes). */
int webhist_up(struct webhist *h, uint64_t dev_eui, const struct lb_rx *rx, size_t n_rx,
	       const char *object, size_t object_len);
/* A DevStatusAns battery value: the device cannot tell (TS001-1.0.4 §5.5). */
#define WEBHIST_BATTERY_UNKNOWN 255

/* A `status` event: the battery as its batteryLevel says, in whole
 * percent (-1 with batteryLevelUnavailable), and its margin. */
int webhist_status(struct webhist *h, uint64_t dev_eui, const struct ev_status *st);

/* The ring in order, oldest first, into rssi/snr (WEBHIST_RADIO each);
 * returns how many. */
size_t webhist_radio(const struct webhist_dev *d, int16_t *rssi, float *snr);

#endif
