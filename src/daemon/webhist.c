/* SPDX-License-Identifier: MIT */
/* webhist.c - per-device history for the web page. See webhist.h. */
#include "daemon/webhist.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/lb_err.h"

static size_t slot_of(uint64_t eui, size_t cap)
{
	/* SplitMix64's finaliser spreads sequential EUIs. */
	eui ^= eui >> 30;
	eui *= UINT64_C(0xbf58476d1ce4e5b9);
	eui ^= eui >> 27;
	return (size_t)eui & (cap - 1);
}

struct webhist_dev *webhist_find(const struct webhist *h, uint64_t dev_eui)
{
	if (!h->cap)
		return NULL;
	for (size_t i = slot_of(dev_eui, h->cap);; i = (i + 1) & (h->cap - 1)) {
		if (!h->slots[i])
			return NULL;
		if (h->slots[i]->dev_eui == dev_eui)
			return h->slots[i];
	}
}

static int grow(struct webhist *h)
{
	size_t cap = h->cap ? h->cap * 2 : 64;
	struct webhist_dev **s = calloc(cap, sizeof(*s));

	if (!s)
		return LB_ERR_NOMEM;
	for (size_t i = 0; i < h->cap; i++) {
		if (!h->slots[i])
			continue;
		size_t j = slot_of(h->slots[i]->dev_eui, cap);
		while (s[j])
			j = (j + 1) & (cap - 1);
		s[j] = h->slots[i];
	}
	free(h->slots);
	h->slots = s;
	h->cap = cap;
	return LB_OK;
}

static int get(struct webhist *h, uint64_t dev_eui, struct webhist_dev **out)
{
	if ((*out = webhist_find(h, dev_eui)))
		return LB_OK;
	if (h->count >= WEBHIST_MAX_DEVICES) {
		h->untracked++;
		return LB_ERR_FULL;
	}
	if ((h->count + 1) * 2 > h->cap && grow(h) != LB_OK)
		return LB_ERR_NOMEM;
	struct webhist_dev *d = calloc(1, sizeof(*d));
	if (!d)
		return LB_ERR_NOMEM;
	d->dev_eui = dev_eui;
	d->battery = -1;
	size_t i = slot_of(dev_eui, h->cap);
	while (h->slots[i])
		i = (i + 1) & (h->cap - 1);
	h->slots[i] = d;
	h->count++;
	*out = d;
	return LB_OK;
}

void webhist_free(struct webhist *h)
{
	for (size_t i = 0; i < h->cap; i++) {
		if (!h->slots[i])
			continue;
		free(h->slots[i]->object);
		free(h->slots[i]);
	}
	free(h->slots);
	memset(h, 0, sizeof(*h));
}

/* The reception with the best RSSI, as the event's rxInfo[] shows them:
 * rssi only when the gateway gave one, snr only when finite. */
static bool best_rx(const struct lb_rx *rx, size_t n_rx, int *rssi, float *snr)
{
	bool found = false;

	for (size_t i = 0; i < n_rx; i++) {
		const struct gwmp_rxpk *pk = &rx[i].rxpk;
		if (!pk->has_rssi || (found && pk->rssi <= *rssi))
			continue;
		*rssi = pk->rssi;
		*snr = pk->has_lsnr && isfinite(pk->lsnr) ? pk->lsnr : 0.0f;
		found = true;
	}
	return found;
}

/* Copy the object's text into the device's buffer, grown only when a
 * larger object comes (doubling, at most WEBHIST_OBJECT_MAX + 1 bytes). */
static void keep_object(struct webhist_dev *d, const char *text, size_t n)
{
	if (!text || n < 2 || text[0] != '{' || n > WEBHIST_OBJECT_MAX)
		return;
	if (n + 1 > d->object_cap) {
		size_t cap = d->object_cap ? d->object_cap : 64;
		while (cap < n + 1)
			cap *= 2;
		if (cap > WEBHIST_OBJECT_MAX + 1)
			cap = WEBHIST_OBJECT_MAX + 1;
		char *b = realloc(d->object, cap);
		if (!b)
			return;     /* the last object stays */
		d->object = b;
		d->object_cap = cap;
	}
	memcpy(d->object, text, n);
	d->object[n] = '\0';
}

int webhist_up(struct webhist *h, uint64_t dev_eui, const struct lb_rx *rx, size_t n_rx,
	       const char *object, size_t object_len)
{
	struct webhist_dev *d;
	int rssi = 0;
	float snr = 0;

	if (!rx || n_rx == 0)
		return LB_ERR_INVAL;
	int rc = get(h, dev_eui, &d);
	if (rc != LB_OK)
		return rc;
	if (best_rx(rx, n_rx, &rssi, &snr)) {
		d->rssi[d->next] = (int16_t)rssi;
		d->snr[d->next] = snr;
		d->next = (uint8_t)((d->next + 1) % WEBHIST_RADIO);
		if (d->n < WEBHIST_RADIO)
			d->n++;
	}
	keep_object(d, object, object_len);
	return LB_OK;
}

/* A DevStatusAns as ChirpStack's StatusEvent reports it (TS001-1.0.4 §5.5:
 * battery 255 = the device cannot tell, batteryLevelUnavailable; 0 = on
 * external power, batteryLevel 0): the battery in whole percent of the
 * event's batteryLevel, -1 when unavailable. */
int webhist_status(struct webhist *h, uint64_t dev_eui, const struct ev_status *st)
{
	struct webhist_dev *d;

	if (!st)
		return LB_ERR_INVAL;
	int rc = get(h, dev_eui, &d);
	if (rc != LB_OK)
		return rc;
	d->battery = st->battery == WEBHIST_BATTERY_UNKNOWN
			     ? -1
			     : (int)lroundf(event_json_battery_percent(st->battery));
	d->has_margin = true;
	d->margin = st->margin;
	return LB_OK;
}

size_t webhist_radio(const struct webhist_dev *d, int16_t *rssi, float *snr)
{
	size_t start = (d->next + WEBHIST_RADIO - d->n) % WEBHIST_RADIO;

	for (size_t i = 0; i < d->n; i++) {
		rssi[i] = d->rssi[(start + i) % WEBHIST_RADIO];
		snr[i] = d->snr[(start + i) % WEBHIST_RADIO];
	}
	return d->n;
}
