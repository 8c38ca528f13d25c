/* SPDX-License-Identifier: MIT */
/* payload.c - payload codecs of the devices. See payload.h. */
#include "daemon/payload.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "base/grow.h"
#include "base/lb_err.h"
#include "base/log.h"
#include "base/strhash.h"
#include "base/uuid.h"
#include "codec/cayennelpp.h"
#include "io/loop.h"

#define SUSPEND_FIRST_MS 10000
#define SUSPEND_MAX_MS (10 * 60 * 1000)

/* One direction's back-off: calls that timed out in a row, and until when
 * that direction's calls are skipped. */
struct suspension {
	unsigned timeouts;
	int64_t until_ms;
};

struct payload_script {
	char *path;
	struct jscodec *js;             /* NULL: the script did not load */
	char why[PAYLOAD_WHY_MAX - 96]; /* why it did not */
	dev_t st_dev;                   /* the file's identity when loaded */
	ino_t st_ino;
	struct timespec st_mtim;
	off_t st_size;
	struct suspension dec, enc;     /* decoding's back-off, encoding's (payload.h) */
};

/* An application's encoding share (payload.h ENCODING SHARE). */
struct payload_app {
	char *name;
	int64_t tat_us;                 /* its GCRA time (0: all of it) */
};

static void script_release(struct payload_script *s)
{
	jscodec_free(s->js);
	free(s->path);
	memset(s, 0, sizeof(*s));
}

static bool same_file(const struct payload_script *s, const struct stat *st)
{
	return s->st_dev == st->st_dev && s->st_ino == st->st_ino && s->st_size == st->st_size &&
	       s->st_mtim.tv_sec == st->st_mtim.tv_sec && s->st_mtim.tv_nsec == st->st_mtim.tv_nsec;
}

/* Compile path into s (s->path already set), noting the file's identity.
 * LB_OK, else the error with its reason in s->why (s->js NULL); logging a
 * failure is the caller's (load_or_keep()). */
static int script_load(struct payload_script *s, const struct jscodec_limits *lim)
{
	struct stat st;

	if (stat(s->path, &st) != 0) {
		snprintf(s->why, sizeof(s->why), "%s: %s", s->path, strerror(errno));
		return LB_ERR_IO;
	}
	s->st_dev = st.st_dev;
	s->st_ino = st.st_ino;
	s->st_mtim = st.st_mtim;
	s->st_size = st.st_size;
	int rc = jscodec_load(s->path, lim, &s->js, s->why, sizeof(s->why));
	if (rc != LB_OK) {
		s->js = NULL;
		return rc;
	}
	s->why[0] = '\0';
	log_info("payload", "codec script %s loaded", s->path);
	return LB_OK;
}

/*
 * Names (scripts' paths, applications' names) to their places in an array,
 * for a sync's lookup per profile: open addressing with linear probing,
 * kept at most half full (an empty slot's name is NULL; mask 0: no slots
 * yet). The names are the array's own strings, which stay where they are
 * when the array is reallocated or sorted.
 */
struct payload_name_slot {
	const char *name;
	size_t pos;
};

/* The slot holding name, else the empty one where it would go. */
static size_t names_probe(const struct payload_names *ix, const char *name)
{
	size_t i = strhash(name) & ix->mask;

	while (ix->slot[i].name && strcmp(ix->slot[i].name, name) != 0)
		i = (i + 1) & ix->mask;
	return i;
}

/* name's place, or -1. */
static ssize_t names_find(const struct payload_names *ix, const char *name)
{
	if (!ix->mask)
		return -1;
	const struct payload_name_slot *s = &ix->slot[names_probe(ix, name)];
	return s->name ? (ssize_t)s->pos : -1;
}

/* Room for one more name: twice the slots (16 at first) when it would
 * fill more than half. */
static int names_reserve(struct payload_names *ix)
{
	if (2 * (ix->n + 1) <= ix->mask + 1)
		return LB_OK;
	size_t old_slots = ix->mask ? ix->mask + 1 : 0;
	size_t slots = old_slots ? 2 * old_slots : 16;
	struct payload_name_slot *old = ix->slot;
	struct payload_name_slot *slot = slots <= SIZE_MAX / sizeof(*slot)
						 ? calloc(slots, sizeof(*slot)) : NULL;

	if (!slot)
		return LB_ERR_NOMEM;
	ix->slot = slot;
	ix->mask = slots - 1;
	for (size_t i = 0; i < old_slots; i++)
		if (old[i].name)
			slot[names_probe(ix, old[i].name)] = old[i];
	free(old);
	return LB_OK;
}

/* Add name, not there yet, at pos (names_reserve() first). */
static void names_put(struct payload_names *ix, const char *name, size_t pos)
{
	ix->slot[names_probe(ix, name)] = (struct payload_name_slot){.name = name, .pos = pos};
	ix->n++;
}

static void names_free(struct payload_names *ix)
{
	free(ix->slot);
	memset(ix, 0, sizeof(*ix));
}

/* The old table's loaded copy of path, else NULL. */
static struct payload_script *old_loaded(struct payloads *p, const char *path)
{
	ssize_t i = names_find(&p->paths, path);

	return i >= 0 && p->scripts[i].js ? &p->scripts[i] : NULL;
}

/* out takes over o's heap, state and file identity. Each keeps its own
 * path (each table's index names it), the old one freed with its table. */
static void take_over(struct payload_script *o, struct payload_script *out)
{
	char *path = out->path;

	*out = *o;
	out->path = path;
	o->js = NULL;
}

/* The old entry for out's path, still the same file: taken over. */
static bool take_unchanged(struct payloads *p, struct payload_script *out)
{
	struct stat st;
	struct payload_script *o = old_loaded(p, out->path);

	if (!o || stat(out->path, &st) != 0 || !same_file(o, &st))
		return false;
	take_over(o, out);
	return true;
}

/* The applications whose devices use path, in w (cap bytes): "a, b",
 * cut short with "..." past cap. At a failed load only: O(profiles). */
static void script_apps(const struct devices *devs, const char *path, char *w, size_t cap)
{
	size_t n = 0;

	w[0] = '\0';
	for (size_t i = 0; i < devs->profiles.n && n < cap; i++) {
		const struct lb_devprofile *pr = devs->profiles.v[i];
		if (pr->codec != LB_CODEC_JS || !pr->codec_script || strcmp(pr->codec_script, path))
			continue;
		bool seen = false;
		for (size_t k = 0; k < i && !seen; k++) {
			const struct lb_devprofile *q = devs->profiles.v[k];
			seen = q->codec == LB_CODEC_JS && q->codec_script &&
			       !strcmp(q->codec_script, path) && !strcmp(q->application, pr->application);
		}
		if (seen)
			continue;
		int k = snprintf(w + n, cap - n, "%s%s", n ? ", " : "", pr->application);
		n = k < 0 ? cap : n + (size_t)k;
	}
	if (n >= cap && cap > 4)
		memcpy(w + cap - 4, "...", 4);
}

/*
 * out's script: the old table's copy while the file is unchanged, else
 * compiled. Out of memory compiling a changed file (the host's, or the
 * heap limit codec_memory_kb: jscodec's LB_ERR_NOMEM), the old copy (if
 * any) is taken over all the same, with the old file's identity, so the
 * next sync compiles the file again: a reload that runs out of memory
 * keeps the scripts held before (README). Any other failure stands: the
 * devices' uplinks go out without `object`, each saying why, until a sync
 * loads the script (one that did not load is compiled again at each).
 * Both are logged with the applications concerned and counted
 * (codecs.keptOld, codecs.loadFailed).
 */
static void load_or_keep(struct payloads *p, const struct devices *devs,
			 struct payload_script *out)
{
	char apps[160];

	if (take_unchanged(p, out))
		return;
	int rc = script_load(out, &p->limits);
	if (rc == LB_OK)
		return;
	script_apps(devs, out->path, apps, sizeof(apps));
	struct payload_script *o = rc == LB_ERR_NOMEM ? old_loaded(p, out->path) : NULL;
	if (o) {
		p->stats->codec_kept_old++;
		log_error("payload", "codec script changed but not compiled: %s; the version "
			  "loaded before stays in use for application(s) %s (compiled again at the "
			  "next reload)", out->why, apps);
		take_over(o, out);
		return;
	}
	p->stats->codec_load_failed++;
	log_error("payload", "codec script not loaded: %s; application(s) %s: their devices' "
		  "uplinks are published without object (compiled again at the next reload)",
		  out->why, apps);
}

/*
 * A sync walks the devices' profiles, not the devices: what it reads (the
 * codec, the script, the application) and writes (the slot) is a
 * profile's, and a fleet has a profile per application or so, not per
 * device (tables/devprofile.h). The table's profiles are those of its
 * devices, in the order of their first device.
 */

/* Profile i of devs if its devices use a script, else NULL. */
static struct lb_devprofile *js_profile(const struct devices *devs, size_t i)
{
	struct lb_devprofile *pr = devs->profiles.v[i];

	return pr->codec == LB_CODEC_JS && pr->codec_script ? pr : NULL;
}

/* The distinct scripts the devices name, in first-use order, and their
 * index (*ix, empty on entry). */
static int collect_paths(struct devices *devs, struct payload_script **out, size_t *n_out,
			 struct payload_names *ix)
{
	struct payload_script *v = NULL;
	size_t n = 0, cap = 0;

	for (size_t i = 0; i < devs->profiles.n; i++) {
		const struct lb_devprofile *pr = js_profile(devs, i);
		const char *path = pr ? pr->codec_script : NULL;
		if (!path || names_find(ix, path) >= 0)
			continue;
		if (names_reserve(ix) != LB_OK || lb_grow(&v, n, &cap, sizeof(*v), 4) != LB_OK)
			goto nomem;
		memset(&v[n], 0, sizeof(v[n]));
		if (!(v[n].path = strdup(path)))
			goto nomem;
		names_put(ix, v[n].path, n);
		n++;
	}
	*out = v;
	*n_out = n;
	return LB_OK;
nomem:
	for (size_t i = 0; i < n; i++)
		free(v[i].path);
	free(v);
	names_free(ix);
	return LB_ERR_NOMEM;
}

static int cmp_app(const void *a, const void *b)
{
	return strcmp(((const struct payload_app *)a)->name, ((const struct payload_app *)b)->name);
}

static struct payload_app *find_app(struct payload_app *v, size_t n, const char *name)
{
	struct payload_app key = {.name = (char *)name};

	return n ? bsearch(&key, v, n, sizeof(*v), cmp_app) : NULL;
}

static void apps_free(struct payload_app *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

/* Add name to v (n of cap) unless ix has it. */
static int add_app(struct payload_app **v, size_t *n, size_t *cap, struct payload_names *ix,
		   const char *name)
{
	if (names_find(ix, name) >= 0)
		return LB_OK;
	if (names_reserve(ix) != LB_OK || lb_grow(v, *n, cap, sizeof(**v), 4) != LB_OK)
		return LB_ERR_NOMEM;
	char *dup = strdup(name);
	if (!dup)
		return LB_ERR_NOMEM;
	(*v)[*n] = (struct payload_app){.name = dup};
	names_put(ix, dup, *n);
	(*n)++;
	return LB_OK;
}

/* The applications of the devices that use a script, sorted, each with
 * the share it had in p (a reload does not give a flood its burst again;
 * an application new to p starts with all of its share, one p no longer
 * holds is forgotten). O(profiles + applications x log applications), at
 * a sync only. */
static int collect_apps(const struct payloads *p, struct devices *devs,
			struct payload_app **out, size_t *n_out)
{
	struct payload_app *v = NULL;
	struct payload_names ix = {0};
	size_t n = 0, cap = 0;

	for (size_t i = 0; i < devs->profiles.n; i++) {
		const struct lb_devprofile *pr = js_profile(devs, i);
		if (pr && add_app(&v, &n, &cap, &ix, pr->application) != LB_OK) {
			names_free(&ix);
			apps_free(v, n);
			return LB_ERR_NOMEM;
		}
	}
	names_free(&ix);
	if (n)
		qsort(v, n, sizeof(*v), cmp_app);
	for (size_t i = 0; i < n; i++) {
		const struct payload_app *old = find_app(p->apps, p->n_apps, v[i].name);
		if (old)
			v[i].tat_us = old->tat_us;
	}
	*out = v;
	*n_out = n;
	return LB_OK;
}

static void scripts_free(struct payloads *p)
{
	for (size_t i = 0; i < p->n_scripts; i++)
		script_release(&p->scripts[i]);
	free(p->scripts);
	p->scripts = NULL;
	p->n_scripts = 0;
}

/* Each profile's slot: its script's place in the table ix indexes, else 0
 * (script_of() then sees that the path differs: no codec script).
 * Allocates nothing. */
static void point_slots(const struct payload_names *ix, struct devices *devs)
{
	for (size_t i = 0; i < devs->profiles.n; i++) {
		struct lb_devprofile *pr = js_profile(devs, i);
		ssize_t slot = pr ? names_find(ix, pr->codec_script) : -1;
		devs->profiles.v[i]->codec_slot = slot < 0 ? 0 : (uint32_t)slot;
	}
}

/* Out of memory before anything changed: p's tables stay, and the devices
 * (a reload's: fresh profiles, every slot 0) are pointed into them, so
 * those whose script is loaded keep it. Tables holding nothing (start-up,
 * whose caller gives up) leave no device a script or a share. */
static int sync_failed(struct payloads *p, struct devices *devs, const char *what)
{
	point_slots(&p->paths, devs);
	if (!p->n_scripts && !p->n_apps)
		log_error("payload", "codec scripts not loaded: out of memory for %s; none were "
			  "held before, so no device has its codec script or encoding share", what);
	else
		log_error("payload", "codec scripts not reloaded: out of memory for %s; devices "
			  "keep the scripts and encoding shares held before (a script or "
			  "application new in the configuration has none until a reload "
			  "succeeds)", what);
	return LB_ERR_NOMEM;
}

int payload_sync(struct payloads *p, struct devices *devs)
{
	struct payload_script *v;
	struct payload_app *apps;
	struct payload_names paths = {0};
	size_t n, n_apps;

	if (collect_paths(devs, &v, &n, &paths) != LB_OK)
		return sync_failed(p, devs, "the list of scripts");
	if (collect_apps(p, devs, &apps, &n_apps) != LB_OK) {
		for (size_t i = 0; i < n; i++)
			free(v[i].path);
		free(v);
		names_free(&paths);
		return sync_failed(p, devs, "the applications' encoding shares");
	}
	for (size_t i = 0; i < n; i++)
		load_or_keep(p, devs, &v[i]);
	payload_free(p);
	p->scripts = v;
	p->n_scripts = n;
	p->paths = paths;
	p->apps = apps;
	p->n_apps = n_apps;
	point_slots(&p->paths, devs);
	return LB_OK;
}

static void report(struct payloads *p, const struct lb_device *dev, int64_t time_us,
		   const uint8_t dedup_id[UUID_LEN], const char *why)
{
	static const char *const keys[] = {"deduplication_id"};
	char id[UUID_STR_LEN + 1];
	const char *values[] = {id};

	p->stats->codec_failed++;
	LB_LOG_RL(LOG_LVL_WARN, "payload", "device %s: uplink not decoded: %s", dev->name, why);
	uuid_format(dedup_id, id);
	devevent_log_ctx_at(p->ev, dev, time_us, "ERROR", "UPLINK_CODEC", why, keys, values, 1);
}

/*
 * A script whose call timed out sits out 10 s, 20 s, ... up to 10 min, in
 * that call's direction only (sus: s->dec or s->enc). A decoding timeout is
 * the script's own doing on an uplink, an encoding timeout may be one
 * command's `object` (whoever may publish a command chooses it): skipping
 * every device's decoding for it would let one command cost a whole
 * application its objects. Each direction still costs the loop at most one
 * deadline per back-off, so the script's CPU stays bounded: twice the
 * bound of one direction, at worst.
 */
static const char *direction(const struct payload_script *s, const struct suspension *sus)
{
	return sus == &s->dec ? "decoding" : "encoding";
}

static void note_result(struct payload_script *s, struct suspension *sus, int rc, int64_t now_ms)
{
	if (rc != LB_ERR_TIMEOUT) {
		if (rc == LB_OK)
			sus->timeouts = 0;
		return;
	}
	int64_t pause = SUSPEND_FIRST_MS;
	for (unsigned i = 1; i < sus->timeouts + 1 && pause < SUSPEND_MAX_MS; i++)
		pause *= 2;
	if (pause > SUSPEND_MAX_MS)
		pause = SUSPEND_MAX_MS;
	sus->timeouts++;
	sus->until_ms = now_ms + pause;
	log_warn("payload", "codec script %s timed out %s (%u in a row): its %s suspended for "
		 "%lld s", s->path, direction(s, sus), sus->timeouts, direction(s, sus),
		 (long long)(pause / 1000));
}

static struct payload_script *script_of(struct payloads *p, const struct lb_device *dev)
{
	if (dev->prof->codec != LB_CODEC_JS || dev->prof->codec_slot >= p->n_scripts)
		return NULL;
	struct payload_script *s = &p->scripts[dev->prof->codec_slot];
	return dev->prof->codec_script && !strcmp(s->path, dev->prof->codec_script) ? s : NULL;
}

/* The script's heap if a call in sus's direction may run now; else NULL
 * and why. */
static struct jscodec *usable(struct payload_script *s, const struct suspension *sus,
			      int64_t now_ms, char *why, size_t cap)
{
	if (!s->js) {
		snprintf(why, cap, "codec script did not load: %s", s->why);
		return NULL;
	}
	if (now_ms < sus->until_ms) {
		snprintf(why, cap, "%s: %s suspended for %lld s more after %u timeout(s) of "
				   "codec_timeout_ms", s->path, direction(s, sus),
			 (long long)((sus->until_ms - now_ms + 999) / 1000), sus->timeouts);
		return NULL;
	}
	return s->js;
}

static int decode_js(struct payloads *p, const struct lb_device *dev,
		     const struct jscodec_uplink *up, struct json_object **object, char *why,
		     size_t cap)
{
	struct payload_script *s = script_of(p, dev);
	struct json_object *warnings = NULL;
	int64_t now = loop_now_ms();

	if (!s) {
		snprintf(why, cap, "no codec script for the device");
		return LB_ERR_NOT_FOUND;
	}
	struct jscodec *js = usable(s, &s->dec, now, why, cap);
	if (!js)
		return LB_ERR_STATE;
	int rc = jscodec_decode(js, up, object, &warnings, why, cap);
	note_result(s, &s->dec, rc, loop_now_ms());
	if (warnings && rc == LB_OK)
		LB_LOG_RL(LOG_LVL_INFO, "payload", "device %s: codec warnings: %s", dev->name,
			  json_object_to_json_string_ext(warnings, JSON_C_TO_STRING_PLAIN));
	json_object_put(warnings);
	return rc;
}

int payload_decode(struct payloads *p, const struct lb_device *dev, uint8_t fport,
		   const uint8_t *bytes, size_t len, int64_t time_us, const uint8_t dedup_id[16],
		   struct json_object **object)
{
	char why[PAYLOAD_WHY_MAX];
	int rc;

	*object = NULL;
	switch (dev->prof->codec) {
	case LB_CODEC_CAYENNELPP:
		rc = cayennelpp_decode(bytes, len, object);
		if (rc != LB_OK)
			snprintf(why, sizeof(why), "CayenneLPP: %s (FPort %u, %zu bytes)",
				 rc == LB_ERR_MALFORMED ? "unknown type or record cut short"
							: lb_strerror(rc),
				 (unsigned)fport, len);
		break;
	case LB_CODEC_JS: {
		struct jscodec_uplink up = {.fport = fport, .bytes = bytes, .len = len,
					    .recv_time_us = time_us,
					    .vars = {.pairs = dev->tags, .n = dev->n_tags}};
		rc = decode_js(p, dev, &up, object, why, sizeof(why));
		break;
	}
	default:
		return LB_ERR_NOT_FOUND;
	}
	if (rc != LB_OK) {
		json_object_put(*object);
		*object = NULL;
		report(p, dev, time_us, dedup_id, why);
		return rc;
	}
	p->stats->codec_decoded++;
	return LB_OK;
}

/* A CayenneLPP device's object, as ChirpStack's codec encodes it
 * (codec/cayennelpp.h); the command keeps its fPort. */
static int encode_lpp(struct payloads *p, struct json_object *data, uint8_t *out, size_t cap,
		      size_t *len, char *why, size_t why_cap)
{
	char reason[PAYLOAD_WHY_MAX];
	int rc = cayennelpp_encode(data, out, cap, len, reason, sizeof(reason));

	if (rc == LB_OK) {
		p->stats->codec_encoded++;
		return LB_OK;
	}
	p->stats->codec_failed++;
	snprintf(why, why_cap, "CayenneLPP: %s", reason);
	return rc;
}

/* How long until a GCRA whose time is tat_us lets a call start at now_us
 * (burst_ms ahead allowed): 0 if it does now. */
static int64_t share_wait_us(int64_t tat_us, int64_t now_us, int burst_ms)
{
	int64_t over = tat_us - now_us - (int64_t)burst_ms * 1000;

	return over > 0 ? over : 0;
}

/* A call that ran from start_us to end_us spends its time share times
 * over from a GCRA. */
static void share_take(int64_t *tat_us, int share, int64_t start_us, int64_t end_us)
{
	int64_t from = *tat_us > start_us ? *tat_us : start_us;

	*tat_us = from + (end_us - start_us) * share;
}

/* Have app's encoding and all encoding some of their shares of the loop
 * left at now_us (payload.h ENCODING SHARE)? If not, why says which and
 * when it comes back. */
static bool encode_share_left(const struct payloads *p, const struct payload_app *app,
			      int64_t now_us, char *why, size_t cap)
{
	int64_t app_us = share_wait_us(app->tat_us, now_us, PAYLOAD_ENCODE_APP_BURST_MS);
	int64_t all_us = share_wait_us(p->encode_tat_us, now_us, PAYLOAD_ENCODE_BURST_MS);

	if (app_us == 0 && all_us == 0)
		return true;
	if (app_us >= all_us)
		snprintf(why, cap, "encoding busy: application %s's encoding used its share of the "
			 "loop (a sixteenth); its objects are taken again in %lld ms", app->name,
			 (long long)((app_us + 999) / 1000));
	else
		snprintf(why, cap, "encoding busy: the codecs' encoding used its share of the loop "
			 "(a quarter, all applications together); objects are taken again in "
			 "%lld ms", (long long)((all_us + 999) / 1000));
	return false;
}

/* A call that ran from start_us to end_us, charged to both shares. */
static void encode_share_take(struct payloads *p, struct payload_app *app, int64_t start_us,
			      int64_t end_us)
{
	share_take(&app->tat_us, PAYLOAD_ENCODE_APP_SHARE, start_us, end_us);
	share_take(&p->encode_tat_us, PAYLOAD_ENCODE_SHARE, start_us, end_us);
}

int payload_encode(struct payloads *p, const struct lb_device *dev, struct json_object *data,
		   uint8_t *fport, uint8_t *out, size_t cap, size_t *len, char *why,
		   size_t why_cap)
{
	struct payload_script *s = script_of(p, dev);
	struct json_object *warnings = NULL;

	if (dev->prof->codec == LB_CODEC_CAYENNELPP)
		return encode_lpp(p, data, out, cap, len, why, why_cap);
	if (!s) {
		snprintf(why, why_cap, "device %s has no codec (codec = \"js\" or \"cayennelpp\") "
				       "to encode an object", dev->name);
		return LB_ERR_STATE;
	}
	struct jscodec *js = usable(s, &s->enc, loop_now_ms(), why, why_cap);
	if (!js)
		return LB_ERR_STATE;
	if (!jscodec_can_encode(js)) {
		snprintf(why, why_cap, "%s defines no encoder (encodeDownlink, Encode or Encoder)",
			 s->path);
		return LB_ERR_SCRIPT;
	}
	struct payload_app *app = find_app(p->apps, p->n_apps, dev->prof->application);
	if (!app) {   /* payload_sync() holds one for every device with a script */
		snprintf(why, why_cap, "application %s has no encoding share: the codecs were not "
			 "synced with the devices", dev->prof->application);
		LB_LOG_RL(LOG_LVL_ERROR, "payload", "device %s: object not encoded: %s",
			  dev->name, why);
		return LB_ERR_STATE;
	}
	int64_t start_us = loop_now_us();
	if (!encode_share_left(p, app, start_us, why, why_cap))
		return LB_ERR_STATE;
	struct jscodec_vars vars = {.pairs = dev->tags, .n = dev->n_tags};
	int rc = jscodec_encode(js, data, &vars, fport, out, cap, len, &warnings, why, why_cap);
	encode_share_take(p, app, start_us, loop_now_us());
	note_result(s, &s->enc, rc, loop_now_ms());
	json_object_put(warnings);
	if (rc == LB_OK)
		p->stats->codec_encoded++;
	else
		p->stats->codec_failed++;
	return rc;
}

/* The paths already compiled by payload_check_scripts(). */
struct checked {
	const char **v;
	size_t n;
	bool nomem;
};

/* Compile path unless done already; 1 if it does not load, else 0. */
static size_t check_script(struct checked *done, const char *path, const char *owner,
			   const struct jscodec_limits *lim, FILE *err)
{
	for (size_t k = 0; k < done->n; k++)
		if (!strcmp(done->v[k], path))
			return 0;
	const char **nv = realloc(done->v, (done->n + 1) * sizeof(*nv));
	if (!nv) {
		done->nomem = true;
		return 1;
	}
	done->v = nv;
	done->v[done->n++] = path;
	struct jscodec *js = NULL;
	char why[PAYLOAD_WHY_MAX];
	if (jscodec_load(path, lim, &js, why, sizeof(why)) == LB_OK) {
		jscodec_free(js);
		return 0;
	}
	fprintf(err, "lorabridge: codec script %s (%s): does not load\n", why, owner);
	return 1;
}

size_t payload_check_scripts(const struct lb_config *cfg, FILE *err)
{
	struct jscodec_limits lim = {.timeout_ms = (unsigned)cfg->codec_timeout_ms,
				     .heap_max = (size_t)cfg->codec_memory_kb * 1024u};
	struct checked done = {0};
	size_t failed = 0;
	char owner[160];

	for (size_t i = 0; i < cfg->n_apps && !done.nomem; i++) {
		const struct lb_app_conf *a = &cfg->apps[i];
		if (!a->codec_script)
			continue;
		snprintf(owner, sizeof(owner), "application '%s'", a->name ? a->name : "?");
		failed += check_script(&done, a->codec_script, owner, &lim, err);
	}
	for (size_t i = 0; i < cfg->n_devices && !done.nomem; i++) {
		const struct lb_device_conf *d = &cfg->devices[i];
		if (d->codec != LB_CODEC_JS || !d->codec_script)
			continue;
		snprintf(owner, sizeof(owner), "device '%s'", d->name ? d->name : "?");
		failed += check_script(&done, d->codec_script, owner, &lim, err);
	}
	if (done.nomem)
		fprintf(err, "lorabridge: codec scripts not all checked: out of memory\n");
	free(done.v);
	return failed;
}

void payload_free(struct payloads *p)
{
	scripts_free(p);
	names_free(&p->paths);
	apps_free(p->apps, p->n_apps);
	p->apps = NULL;
	p->n_apps = 0;
}
