/* SPDX-License-Identifier: MIT */
/*
 * devprofile.h - what devices of one application have in common, held once
 * (pure: no I/O).
 *
 * A device's application, its applicationId (configured and as its events
 * show it), its codec and script and its fair-access and DevStatusReq
 * settings are, in a fleet, the same for every device of an application:
 * the configuration lets a device set its own, but few do. The device table
 * (tables/devices.h) keeps them in one struct lb_devprofile per distinct
 * combination and each device points to its own: 8 bytes a device instead
 * of 64 (README "Memory and start-up").
 *
 * Interning: devprofiles_intern() returns the profile equal to the key,
 * field by field, adding a copy if there is none. The strings are compared
 * by pointer, so the caller interns them in one pool first
 * (tables/strpool.h). An index finds equal profiles while the table is
 * built; devprofiles_seal() drops it (a later intern builds it again).
 *
 * Ownership: devprofiles_init() allocates nothing; each profile is
 * allocated alone, so a pointer stays valid until devprofiles_free() (safe
 * on a zeroed or freed set), which releases every one. Profiles are never
 * removed one by one; the strings they point to are the caller's.
 */
#ifndef LB_DEVPROFILE_H
#define LB_DEVPROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "tables/fairaccess.h"

struct lb_devprofile {
	const char *application;         /* never NULL: "default" when the device's
					  * configuration names none (devices_init()) */
	const char *application_id;      /* configured UUID, NULL = none */
	const char *codec_script;        /* "js": absolute path, else NULL */
	const char *app_uuid;            /* events' applicationId: application_id, else
					  * UUIDv5 of the name (events/devinfo.h), NULL
					  * until devices_app_ids() (tables/devices.h) */
	struct fa_policy fa_policy;      /* effective fair-access policy */
	int status_interval_h;           /* DevStatusReq period, 0 = never */
	uint32_t codec_slot;             /* "js": its script in the daemon's table
					  * (daemon/payload.h), 0 when interned */
	uint8_t codec;                   /* enum lb_codec */
};

struct devprofiles {
	struct lb_devprofile **v;        /* n profiles, each allocated alone */
	size_t n;
	size_t cap;
	uint32_t *set;                   /* index into v, open addressing; NULL once sealed */
	size_t set_mask;                 /* set slots - 1 (a power of two), 0 = no set */
};

void devprofiles_init(struct devprofiles *ps);
void devprofiles_free(struct devprofiles *ps);

/* The profile equal to *key (every field), added as a copy if there is
 * none. NULL: out of memory (ps unchanged). */
struct lb_devprofile *devprofiles_intern(struct devprofiles *ps, const struct lb_devprofile *key);

/* Drop the index once every device has its profile: the profiles stay. */
void devprofiles_seal(struct devprofiles *ps);

#endif
