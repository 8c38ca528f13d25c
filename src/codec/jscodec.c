/* SPDX-License-Identifier: MIT */
/*
 * jscodec.c - JavaScript payload codecs on the Duktape engine.
 *
 * One Duktape heap per codec, built once from the script (compile, run the
 * top level, find the functions) and reused for every call: a call pushes
 * its arguments, calls the stored function and turns the result into one
 * JSON text inside the engine, {"data":...,"warnings":[...]}, which json-c
 * then parses outside it. All engine work of a call runs in one protected
 * call (duk_safe_call), so every error the script or the engine raises
 * comes back here as a value; a stage field says whose fault it was.
 *
 * Bounds: the allocator counts every byte the heap holds and refuses past
 * heap_max (Duktape then collects garbage and retries before it throws);
 * the deadline is checked by the engine's hooks (jscodec_duk.h); the JSON
 * text is measured before json-c sees it. After a timeout or a refused
 * allocation the heap is dropped and rebuilt from the script.
 *
 * Global stash (invisible to scripts) of every heap:
 *   dec, enc     the decoder / encoder function found at load;
 *   date         the original Date constructor (recvTime);
 *   stringify    the original JSON.stringify, guard its replacer;
 *   log          this call's console lines.
 */
#include "codec/jscodec.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <json-c/json.h>
#include <json-c/printbuf.h>

#include "codec/jscodec_duk.h"
#include <duktape.h>

#include "base/jsonobj.h"
#include "base/jsonw.h"
#include "base/lb_err.h"

#define LOG_MAX_LINES 16        /* console lines kept per call */
#define WARN_MAX 32             /* warnings per call, console lines included */
#define TEXT_MAX 256            /* characters kept of one warning or error */
#define NATIVE_CHECK_EVERY 64   /* native checks between two clock reads */
#define RESULT_DEPTH 64         /* JSON nesting of a result (+1 for our wrapper) */

enum jsc_sig { SIG_NONE, SIG_TS013, SIG_V3, SIG_V2 };

/* Where a call was when the engine threw: decides the error code. */
enum jsc_stage {
	STAGE_ENGINE,   /* our own engine work: only limits make it fail */
	STAGE_COMPILE,  /* compiling the script */
	STAGE_SCRIPT,   /* running the script or reading what it returned */
	STAGE_JSON,     /* JSON.stringify of the result */
};

struct jscodec {
	char *name;                     /* the file, in messages */
	char *src;                      /* the script, kept for rebuilds */
	size_t src_len;
	struct jscodec_limits lim;
	duk_context *ctx;               /* NULL when a rebuild failed: retried */
	size_t heap_used;               /* bytes the engine holds, headers included */
	enum jsc_sig dec, enc;
	/* State of the running call. */
	struct timespec deadline;
	bool armed;                     /* a call is running: the deadline counts */
	bool timed_out;                 /* it passed the deadline */
	bool cap_hit;                   /* an allocation was refused at heap_max */
	bool host_oom;                  /* malloc itself failed */
	bool poisoned;                  /* rebuild the heap when the call ends */
	unsigned check_skip;            /* native checks left before a clock read */
	unsigned log_lines, log_dropped;
};

/* What one protected call works on. */
struct call {
	struct jscodec *c;
	enum jsc_stage stage;
	int err;                        /* set by our checks inside the call */
	char *why;
	size_t why_cap;
	const struct jscodec_uplink *up;        /* decode */
	const char *data_json;                  /* encode: the caller's data */
	size_t data_len;
	const struct jscodec_vars *vars;
	uint8_t fport;
	uint8_t *out;
	size_t out_cap, out_len;
	bool have_fport;
	uint8_t fport_out;
};

/* The engine's native-check hook takes no argument: the codec whose call
 * runs on this thread is kept here while it runs (jscodec_duk.h). */
static _Thread_local struct jscodec *running;

__attribute__((format(printf, 4, 5)))
static int fail(int err, char *why, size_t why_cap, const char *fmt, ...)
{
	if (why != NULL && why_cap > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(why, why_cap, fmt, ap);
		va_end(ap);
	}
	return err;
}

static const char *sig_name(enum jsc_sig s, bool decode)
{
	switch (s) {
	case SIG_TS013: return decode ? "decodeUplink" : "encodeDownlink";
	case SIG_V3: return decode ? "Decode" : "Encode";
	case SIG_V2: return decode ? "Decoder" : "Encoder";
	case SIG_NONE: break;
	}
	return "(none)";
}

/* --- limits: allocator and deadline -------------------------------------- */

/* Each block starts with its size, padded to keep the engine's alignment. */
union jsc_block {
	size_t size;
	max_align_t align;
};

static bool heap_room(struct jscodec *c, size_t more)
{
	if (more > c->lim.heap_max - c->heap_used) {
		c->cap_hit = true;
		return false;
	}
	return true;
}

static void *jsc_alloc(void *udata, duk_size_t size)
{
	struct jscodec *c = udata;
	if (size > SIZE_MAX - sizeof(union jsc_block) ||
	    !heap_room(c, sizeof(union jsc_block) + size))
		return NULL;
	union jsc_block *b = malloc(sizeof(*b) + size);
	if (b == NULL) {
		c->host_oom = true;
		return NULL;
	}
	b->size = size;
	c->heap_used += sizeof(*b) + size;
	return b + 1;
}

static void jsc_free(void *udata, void *ptr)
{
	struct jscodec *c = udata;
	if (ptr == NULL)
		return;
	union jsc_block *b = (union jsc_block *)ptr - 1;
	c->heap_used -= sizeof(*b) + b->size;
	free(b);
}

/* The engine takes NULL for a new size of 0 as C's realloc(ptr, 0) does:
 * the block is gone (it then forgets the pointer), so such a block is
 * freed here, never kept: were the realloc() below to fail on it, the
 * engine would lose the block it believes freed. Any other NULL is a
 * failure, after which the block stays the engine's. */
static void *jsc_realloc(void *udata, void *ptr, duk_size_t size)
{
	struct jscodec *c = udata;
	if (ptr == NULL)
		return jsc_alloc(udata, size);
	if (size == 0) {
		jsc_free(udata, ptr);
		return NULL;
	}
	union jsc_block *b = (union jsc_block *)ptr - 1;
	size_t old = b->size;
	if (size > SIZE_MAX - sizeof(*b) || (size > old && !heap_room(c, size - old)))
		return NULL;
	union jsc_block *nb = realloc(b, sizeof(*nb) + size);
	if (nb == NULL) {
		c->host_oom = true;
		return NULL;
	}
	nb->size = size;
	c->heap_used = c->heap_used - old + size;
	return nb + 1;
}

/* A call's time is the CPU time of the thread running it: the limit is on
 * what the script costs, so time the machine gave other processes (a busy
 * Pi, a backup running) does not time out, and then suspend, a script that
 * is within it. A script does no I/O and cannot wait, so on an idle machine
 * this is its wall time too. */
#define JSC_CLOCK CLOCK_THREAD_CPUTIME_ID

static void deadline_set(struct jscodec *c)
{
	clock_gettime(JSC_CLOCK, &c->deadline);
	c->deadline.tv_sec += c->lim.timeout_ms / 1000;
	c->deadline.tv_nsec += (long)(c->lim.timeout_ms % 1000) * 1000000L;
	if (c->deadline.tv_nsec >= 1000000000L) {
		c->deadline.tv_sec++;
		c->deadline.tv_nsec -= 1000000000L;
	}
}

static bool deadline_passed(const struct jscodec *c)
{
	struct timespec now;
	clock_gettime(JSC_CLOCK, &now);
	return now.tv_sec > c->deadline.tv_sec ||
	       (now.tv_sec == c->deadline.tv_sec && now.tv_nsec >= c->deadline.tv_nsec);
}

/* Once past the deadline it stays past until the call ends: the engine
 * needs the answer to stay true while the error unwinds. */
duk_bool_t jscodec__exec_timeout(void *udata)
{
	struct jscodec *c = udata;
	if (!c->armed)
		return 0;
	if (!c->timed_out && deadline_passed(c))
		c->timed_out = true;
	return c->timed_out;
}

int jscodec__native_check(void)
{
	struct jscodec *c = running;
	if (c == NULL || !c->armed)
		return 0;
	if (c->timed_out)
		return 1;
	if (c->check_skip > 0) {
		c->check_skip--;
		return 0;
	}
	c->check_skip = NATIVE_CHECK_EVERY;
	return jscodec__exec_timeout(c) ? 1 : 0;
}

void jscodec__fatal(void *udata, const char *msg)
{
	(void)udata;
	/* The one exception to "codecs do no I/O": the process is about to
	 * end and this is the only trace of why. */
	fprintf(stderr, "lorabridge: JavaScript engine fatal error: %s\n", msg ? msg : "?");
	abort();
}

static void arm(struct jscodec *c)
{
	deadline_set(c);
	c->armed = true;
	c->timed_out = c->cap_hit = c->host_oom = false;
	c->check_skip = 0;
	c->log_lines = c->log_dropped = 0;
	running = c;
}

static void disarm(struct jscodec *c)
{
	c->armed = false;
	running = NULL;
}

/* --- values in the engine ------------------------------------------------- */

static const char *type_name(duk_context *ctx, duk_idx_t idx)
{
	switch (duk_get_type(ctx, idx)) {
	case DUK_TYPE_UNDEFINED: return "undefined";
	case DUK_TYPE_NULL: return "null";
	case DUK_TYPE_BOOLEAN: return "a boolean";
	case DUK_TYPE_NUMBER: return "a number";
	case DUK_TYPE_STRING: return "a string";
	case DUK_TYPE_LIGHTFUNC: return "a function";
	case DUK_TYPE_BUFFER: return "a buffer";
	case DUK_TYPE_OBJECT:
		if (duk_is_array(ctx, idx))
			return "an array";
		return duk_is_function(ctx, idx) ? "a function" : "an object";
	default: return "a symbol or pointer";
	}
}

static duk_ret_t json_text_safe(duk_context *ctx, void *udata)
{
	(void)udata;
	duk_json_encode(ctx, -1);
	return 1;
}

/* Replace the value at idx by a string of at most TEXT_MAX characters:
 * objects as JSON when they can be, everything else as String() gives it.
 * Never throws (the conversions run protected). */
static void to_text(duk_context *ctx, duk_idx_t idx)
{
	idx = duk_normalize_index(ctx, idx);
	if (!duk_is_string(ctx, idx)) {
		bool json = duk_is_object(ctx, idx) && !duk_is_function(ctx, idx) &&
			    !duk_is_error(ctx, idx);
		duk_dup(ctx, idx);
		if (json && duk_safe_call(ctx, json_text_safe, NULL, 1, 1) == DUK_EXEC_SUCCESS &&
		    duk_is_string(ctx, -1)) {
			duk_replace(ctx, idx);
		} else {
			duk_pop(ctx);
			duk_safe_to_string(ctx, idx);
		}
	}
	if (duk_get_length(ctx, idx) > TEXT_MAX) {
		duk_substring(ctx, idx, 0, TEXT_MAX);
		duk_dup(ctx, idx);
		duk_push_string(ctx, "...");
		duk_concat(ctx, 2);
		duk_replace(ctx, idx);
	}
}

static void push_bytes(duk_context *ctx, const uint8_t *b, size_t len)
{
	duk_push_array(ctx);
	for (size_t i = 0; i < len; i++) {
		duk_push_uint(ctx, b[i]);
		duk_put_prop_index(ctx, -2, (duk_uarridx_t)i);
	}
}

static void push_vars(duk_context *ctx, const struct jscodec_vars *v)
{
	duk_push_object(ctx);
	for (size_t i = 0; v != NULL && i < v->n; i++) {
		if (v->pairs[i].key == NULL)
			continue;
		duk_push_string(ctx, v->pairs[i].value ? v->pairs[i].value : "");
		duk_put_prop_string(ctx, -2, v->pairs[i].key);
	}
}

/* console.log and friends: each call becomes one warning line
 * "console.log: a b c" (magic = index in console_names). */
static const char *const console_names[] = {"log", "info", "warn", "error", "debug"};

static duk_ret_t console_out(duk_context *ctx)
{
	duk_memory_functions mf;
	duk_get_memory_functions(ctx, &mf);
	struct jscodec *c = mf.udata;
	if (c->log_lines >= LOG_MAX_LINES) {
		c->log_dropped++;
		return 0;
	}
	duk_idx_t n = duk_get_top(ctx);
	duk_int_t m = duk_get_current_magic(ctx);
	duk_push_string(ctx, " ");
	duk_push_sprintf(ctx, "console.%s:", console_names[m]);
	for (duk_idx_t i = 0; i < n; i++) {
		to_text(ctx, i);
		duk_dup(ctx, i);
	}
	duk_join(ctx, n + 1);
	to_text(ctx, -1);
	duk_push_global_stash(ctx);
	if (c->log_lines == 0) {
		duk_push_array(ctx);
		duk_put_prop_string(ctx, -2, "log");
	}
	duk_get_prop_string(ctx, -1, "log");
	duk_dup(ctx, -3);
	duk_put_prop_index(ctx, -2, c->log_lines++);
	return 0;
}

/* The replacer of our JSON.stringify: JSON would silently drop a function
 * (or a symbol); a codec that returns one has a bug worth reporting. */
static duk_ret_t json_guard(duk_context *ctx)
{
	if (duk_is_function(ctx, 1) || duk_is_symbol(ctx, 1))
		return duk_error(ctx, DUK_ERR_TYPE_ERROR, "'%s' is %s, which JSON cannot express",
				 duk_safe_to_string(ctx, 0), type_name(ctx, 1));
	duk_dup(ctx, 1);
	return 1;
}

static duk_ret_t setup_safe(duk_context *ctx, void *udata)
{
	(void)udata;
	duk_push_global_stash(ctx);
	duk_get_global_string(ctx, "Date");
	duk_put_prop_string(ctx, -2, "date");
	duk_get_global_string(ctx, "JSON");
	duk_get_prop_string(ctx, -1, "stringify");
	duk_put_prop_string(ctx, -3, "stringify");
	duk_pop(ctx);
	duk_push_c_function(ctx, json_guard, 2);
	duk_put_prop_string(ctx, -2, "guard");
	duk_pop(ctx);

	duk_push_object(ctx);
	for (size_t i = 0; i < sizeof(console_names) / sizeof(console_names[0]); i++) {
		duk_push_c_function(ctx, console_out, DUK_VARARGS);
		duk_set_magic(ctx, -1, (duk_int_t)i);
		duk_put_prop_string(ctx, -2, console_names[i]);
	}
	duk_put_global_string(ctx, "console");
	return 0;
}

/* The first of names the script defines as a function goes to stash[key]. */
static enum jsc_sig find_one(duk_context *ctx, const char *const names[3], const char *key)
{
	for (int i = 0; i < 3; i++) {
		duk_get_global_string(ctx, names[i]);
		if (duk_is_callable(ctx, -1)) {
			duk_push_global_stash(ctx);
			duk_dup(ctx, -2);
			duk_put_prop_string(ctx, -2, key);
			duk_pop_2(ctx);
			return (enum jsc_sig)(SIG_TS013 + i);
		}
		duk_pop(ctx);
	}
	return SIG_NONE;
}

static duk_ret_t find_safe(duk_context *ctx, void *udata)
{
	static const char *const dec[3] = {"decodeUplink", "Decode", "Decoder"};
	static const char *const enc[3] = {"encodeDownlink", "Encode", "Encoder"};
	struct jscodec *c = udata;
	c->dec = find_one(ctx, dec, "dec");
	c->enc = find_one(ctx, enc, "enc");
	return 0;
}

/* --- errors --------------------------------------------------------------- */

/* [... error] -> [... text line]: line 0 unless the error was made by the
 * script (the engine's own errors and ours carry a C file's line). */
static duk_ret_t describe_safe(duk_context *ctx, void *udata)
{
	const struct jscodec *c = udata;
	duk_idx_t e = duk_get_top_index(ctx);
	duk_int_t line = 0;
	if (duk_is_error(ctx, e)) {
		duk_get_prop_string(ctx, e, "fileName");
		const char *file = duk_get_string(ctx, -1);
		if (file != NULL && strcmp(file, c->name) == 0) {
			duk_get_prop_string(ctx, e, "lineNumber");
			line = duk_is_number(ctx, -1) ? duk_get_int(ctx, -1) : 0;
			duk_pop(ctx);
		}
		duk_pop(ctx);
	}
	to_text(ctx, e);
	duk_push_int(ctx, line);
	return 2;
}

/* Whether word occurs in text as a whole identifier. */
static bool has_word(const char *text, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = strstr(text, word); p != NULL; p = strstr(p + 1, word)) {
		bool start = p == text || !(isalnum((unsigned char)p[-1]) || p[-1] == '_' ||
					     p[-1] == '$');
		bool end = !(isalnum((unsigned char)p[n]) || p[n] == '_' || p[n] == '$');
		if (start && end)
			return true;
	}
	return false;
}

/* For a SyntaxError at line: the ES2015 syntax Duktape lacks that the line
 * uses, or NULL. */
static const char *es2015_hint(const struct jscodec *c, int line)
{
	const char *p = c->src, *end = c->src + c->src_len;
	for (int l = 1; l < line && p < end; l++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		p = nl ? nl + 1 : end;
	}
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	size_t n = (size_t)((nl ? nl : end) - p);
	char text[512];
	if (n >= sizeof(text))
		n = sizeof(text) - 1;
	memcpy(text, p, n);
	text[n] = '\0';
	if (strstr(text, "=>") != NULL)
		return "arrow functions";
	if (strchr(text, '`') != NULL)
		return "template literals";
	if (has_word(text, "let"))
		return "let declarations";
	if (has_word(text, "class"))
		return "classes";
	if (strstr(text, "...") != NULL)
		return "spread and rest parameters";
	return NULL;
}

/* The error value at idx as "NAME:LINE: text" in why. */
static void describe(struct jscodec *c, enum jsc_stage stage, duk_idx_t idx, char *why,
		     size_t why_cap)
{
	duk_context *ctx = c->ctx;
	duk_dup(ctx, idx);
	if (duk_safe_call(ctx, describe_safe, c, 1, 2) != DUK_EXEC_SUCCESS) {
		duk_pop_2(ctx);
		fail(0, why, why_cap, "%s: an error that cannot be shown", c->name);
		return;
	}
	const char *text = duk_get_string(ctx, -2);
	int line = (int)duk_get_int(ctx, -1);
	const char *hint = stage == STAGE_COMPILE ? es2015_hint(c, line) : NULL;
	const char *what = stage == STAGE_JSON ? "the result is not JSON: " : "";
	if (line > 0)
		fail(0, why, why_cap, "%s:%d: %s%s%s%s%s", c->name, line, what, text ? text : "?",
		     hint ? " (" : "", hint ? hint : "",
		     hint ? " are ES2015; Duktape runs ECMAScript 5.1)" : "");
	else
		fail(0, why, why_cap, "%s: %s%s", c->name, what, text ? text : "?");
	duk_pop_2(ctx);
}

/* After a failed protected call, the error at idx: the code and reason. */
static int classify(struct jscodec *c, enum jsc_stage stage, duk_idx_t idx, char *why,
		    size_t why_cap)
{
	if (c->timed_out) {
		c->poisoned = true;
		return fail(LB_ERR_TIMEOUT, why, why_cap, "%s: ran past its deadline of %u ms",
			    c->name, c->lim.timeout_ms);
	}
	if (c->cap_hit || c->host_oom) {
		c->poisoned = true;
		if (c->host_oom)
			return fail(LB_ERR_NOMEM, why, why_cap, "%s: out of memory", c->name);
		return fail(LB_ERR_NOMEM, why, why_cap, "%s: reached its heap limit of %zu bytes",
			    c->name, c->lim.heap_max);
	}
	describe(c, stage, idx, why, why_cap);
	if (c->timed_out) /* describing it ran the script's toString */
		return classify(c, stage, idx, why, why_cap);
	return stage == STAGE_JSON ? LB_ERR_JSON : LB_ERR_SCRIPT;
}

/* --- the heap ------------------------------------------------------------- */

static void heap_destroy(struct jscodec *c)
{
	if (c->ctx == NULL)
		return;
	arm(c);         /* finalizers run at destruction: keep them bounded */
	duk_destroy_heap(c->ctx);
	disarm(c);
	c->ctx = NULL;
	c->poisoned = false;
}

/* The script's name and text -> its top level, a function. The name is
 * pushed inside the protected call too: interning it allocates, and an
 * allocation refused outside every protected call would be the engine's
 * fatal error (jscodec_duk.h), the whole process lost for one codec. */
static duk_ret_t compile_safe(duk_context *ctx, void *udata)
{
	const struct jscodec *c = udata;
	duk_push_string(ctx, c->name);
	duk_compile_lstring_filename(ctx, DUK_COMPILE_SHEBANG, c->src, c->src_len);
	return 1;
}

static int heap_build_armed(struct jscodec *c, char *why, size_t why_cap)
{
	c->ctx = duk_create_heap(jsc_alloc, jsc_realloc, jsc_free, c, jscodec__fatal);
	if (c->ctx == NULL)
		return fail(LB_ERR_NOMEM, why, why_cap, "%s: cannot create the engine's heap (%s)",
			    c->name, c->cap_hit ? "heap limit too small" : "out of memory");
	duk_context *ctx = c->ctx;
	if (duk_safe_call(ctx, setup_safe, NULL, 0, 1) != DUK_EXEC_SUCCESS)
		return classify(c, STAGE_ENGINE, -1, why, why_cap);
	duk_pop(ctx);
	if (duk_safe_call(ctx, compile_safe, c, 0, 1) != DUK_EXEC_SUCCESS)
		return classify(c, STAGE_COMPILE, -1, why, why_cap);
	if (duk_pcall(ctx, 0) != DUK_EXEC_SUCCESS)
		return classify(c, STAGE_SCRIPT, -1, why, why_cap);
	duk_pop(ctx);
	if (duk_safe_call(ctx, find_safe, c, 0, 1) != DUK_EXEC_SUCCESS)
		return classify(c, STAGE_SCRIPT, -1, why, why_cap);
	duk_pop(ctx);
	if (c->dec == SIG_NONE && c->enc == SIG_NONE)
		return fail(LB_ERR_SCRIPT, why, why_cap,
			    "%s: defines none of decodeUplink, Decode, Decoder, encodeDownlink, "
			    "Encode, Encoder", c->name);
	if (c->timed_out)
		return classify(c, STAGE_SCRIPT, -1, why, why_cap);
	return LB_OK;
}

/* Create the heap and run the script in it. On error no heap is left. */
static int heap_build(struct jscodec *c, char *why, size_t why_cap)
{
	arm(c);
	int err = heap_build_armed(c, why, why_cap);
	disarm(c);
	if (err != LB_OK)
		heap_destroy(c);
	return err;
}

static int heap_ensure(struct jscodec *c, char *why, size_t why_cap)
{
	return c->ctx != NULL ? LB_OK : heap_build(c, why, why_cap);
}

/* The end of a call: drop nret values, or the whole heap after a limit was
 * hit. The next call rebuilds it (heap_ensure) and reports the rebuild's
 * error: a call that timed out costs its deadline, not also a rebuild. */
static void call_end(struct jscodec *c, duk_idx_t nret)
{
	if (!c->poisoned) {
		duk_pop_n(c->ctx, nret);
		return;
	}
	heap_destroy(c);
}

/* Run fn protected under the deadline; it leaves nret values. */
static int call_run(struct call *k, duk_safe_call_function fn, duk_idx_t nret)
{
	struct jscodec *c = k->c;
	arm(c);
	int err = LB_OK;
	if (duk_safe_call(c->ctx, fn, k, 0, nret) != DUK_EXEC_SUCCESS)
		err = classify(c, k->stage, -nret, k->why, k->why_cap);
	else if (c->timed_out || c->cap_hit)
		/* A limit hit in our own protected helpers (to_text) that the
		 * call survived still leaves the heap suspect. */
		err = classify(c, k->stage, -nret, k->why, k->why_cap);
	else
		err = k->err;
	disarm(c);
	return err;
}

/* --- results -------------------------------------------------------------- */

__attribute__((format(printf, 3, 4)))
static duk_ret_t call_fail(struct call *k, int err, const char *fmt, ...)
{
	if (k->why != NULL && k->why_cap > 0) {
		int n = snprintf(k->why, k->why_cap, "%s: ", k->c->name);
		if (n >= 0 && (size_t)n < k->why_cap) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(k->why + n, k->why_cap - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	k->err = err;
	return 0;
}

/* A TS013 result at idx must be an object; its `errors`, when not empty,
 * fail the call with their text. Returns false when the call failed. */
static bool ts013_result(duk_context *ctx, struct call *k, duk_idx_t idx, const char *fn)
{
	if (!duk_is_object(ctx, idx) || duk_is_array(ctx, idx) || duk_is_function(ctx, idx)) {
		call_fail(k, LB_ERR_JSON, "%s returned %s, not an object", fn, type_name(ctx, idx));
		return false;
	}
	duk_get_prop_string(ctx, idx, "errors");
	duk_idx_t e = duk_get_top_index(ctx);
	duk_dup(ctx, e);
	bool truthy = duk_to_boolean(ctx, -1);
	duk_pop(ctx);
	if (!truthy || (duk_is_array(ctx, e) && duk_get_length(ctx, e) == 0)) {
		duk_pop(ctx);
		return true;
	}
	if (duk_is_array(ctx, e)) {
		duk_size_t n = duk_get_length(ctx, e);
		duk_push_string(ctx, "; ");
		for (duk_size_t i = 0; i < n && i < WARN_MAX; i++) {
			duk_get_prop_index(ctx, e, (duk_uarridx_t)i);
			to_text(ctx, -1);
		}
		duk_join(ctx, (duk_idx_t)(n < WARN_MAX ? n : WARN_MAX));
	} else {
		to_text(ctx, e);
		duk_dup(ctx, e);
	}
	call_fail(k, LB_ERR_SCRIPT, "%s returned errors: %s", fn, duk_get_string(ctx, -1));
	return false;
}

/* Push the warnings JSON text (console lines, then the script's warnings
 * at src), or "[]" when there are none. */
static void push_warnings(duk_context *ctx, struct call *k, duk_idx_t src)
{
	struct jscodec *c = k->c;
	duk_uarridx_t n = 0;
	duk_push_array(ctx);
	duk_idx_t arr = duk_get_top_index(ctx);
	if (c->log_lines > 0) {
		duk_push_global_stash(ctx);
		duk_get_prop_string(ctx, -1, "log");
		for (unsigned i = 0; i < c->log_lines; i++) {
			duk_get_prop_index(ctx, -1, i);
			duk_put_prop_index(ctx, arr, n++);
		}
		duk_pop_2(ctx);
	}
	if (c->log_dropped > 0) {
		duk_push_sprintf(ctx, "console: %u more lines not kept", c->log_dropped);
		duk_put_prop_index(ctx, arr, n++);
	}
	if (duk_is_array(ctx, src)) {
		duk_size_t len = duk_get_length(ctx, src);
		for (duk_size_t i = 0; i < len && n < WARN_MAX; i++) {
			duk_get_prop_index(ctx, src, (duk_uarridx_t)i);
			to_text(ctx, -1);
			duk_put_prop_index(ctx, arr, n++);
		}
	} else if (!duk_is_undefined(ctx, src) && !duk_is_null(ctx, src)) {
		duk_dup(ctx, src);
		to_text(ctx, -1);
		duk_put_prop_index(ctx, arr, n++);
	}
	duk_json_encode(ctx, arr);
}

/* Push '{"data":DATA,"warnings":[...]}' for the data at d (null when
 * d is undefined, for the encoder) and the warnings source at w. */
static void push_result(duk_context *ctx, struct call *k, duk_idx_t d, duk_idx_t w)
{
	duk_push_string(ctx, "{\"data\":");
	if (duk_is_undefined(ctx, d)) {
		duk_push_string(ctx, "null");
	} else {
		duk_push_global_stash(ctx);
		duk_get_prop_string(ctx, -1, "stringify");
		duk_dup(ctx, d);
		duk_get_prop_string(ctx, -3, "guard");
		k->stage = STAGE_JSON;
		duk_call(ctx, 2);
		if (!duk_is_string(ctx, -1)) /* a toJSON() that returned undefined */
			duk_error(ctx, DUK_ERR_TYPE_ERROR, "the data has no JSON form");
		k->stage = STAGE_SCRIPT;
		duk_remove(ctx, -2);
	}
	duk_push_string(ctx, ",\"warnings\":");
	push_warnings(ctx, k, w);
	duk_push_string(ctx, "}");
	duk_concat(ctx, 5);
}

/* --- decode --------------------------------------------------------------- */

static void push_date(duk_context *ctx, int64_t us)
{
	duk_push_global_stash(ctx);
	duk_get_prop_string(ctx, -1, "date");
	duk_push_number(ctx, (double)(us / 1000));
	duk_new(ctx, 1);
	duk_remove(ctx, -2);
}

/* Stack: [stash fn args...] -> [stash result] */
static void decode_call(duk_context *ctx, struct call *k)
{
	const struct jscodec_uplink *up = k->up;
	duk_idx_t nargs;
	switch (k->c->dec) {
	case SIG_TS013:
		duk_push_object(ctx);
		push_bytes(ctx, up->bytes, up->len);
		duk_put_prop_string(ctx, -2, "bytes");
		duk_push_uint(ctx, up->fport);
		duk_put_prop_string(ctx, -2, "fPort");
		push_date(ctx, up->recv_time_us);
		duk_put_prop_string(ctx, -2, "recvTime");
		push_vars(ctx, &up->vars);
		duk_put_prop_string(ctx, -2, "variables");
		nargs = 1;
		break;
	case SIG_V3:
		duk_push_uint(ctx, up->fport);
		push_bytes(ctx, up->bytes, up->len);
		push_vars(ctx, &up->vars);
		nargs = 3;
		break;
	default:
		push_bytes(ctx, up->bytes, up->len);
		duk_push_uint(ctx, up->fport);
		nargs = 2;
		break;
	}
	k->stage = STAGE_SCRIPT;
	duk_call(ctx, nargs);
}

/* A protected call runs in its caller's value stack frame: our indices
 * count from the top it found (base). */
static duk_ret_t decode_safe(duk_context *ctx, void *udata)
{
	struct call *k = udata;
	const char *fn = sig_name(k->c->dec, true);
	duk_idx_t base = duk_get_top(ctx);
	duk_idx_t res = base + 1, data = base + 2, warn = base + 3;
	duk_push_global_stash(ctx);
	duk_get_prop_string(ctx, base, "dec");
	decode_call(ctx, k);                            /* res */
	if (k->c->dec == SIG_TS013) {
		if (!ts013_result(ctx, k, res, fn))
			return 0;
		duk_get_prop_string(ctx, res, "data");
		duk_get_prop_string(ctx, res, "warnings");
	} else {
		duk_dup(ctx, res);
		duk_push_undefined(ctx);
	}
	if (!duk_is_object(ctx, data) || duk_is_array(ctx, data) || duk_is_function(ctx, data))
		return call_fail(k, LB_ERR_JSON, "%s returned data that is %s, not an object", fn,
				 type_name(ctx, data));
	push_result(ctx, k, data, warn);
	return 1;
}

/* The engine keeps a character above U+FFFF as a surrogate pair, each
 * half encoded on its own in three bytes (CESU-8), and its JSON.stringify
 * writes them so: not UTF-8 (RFC 3629 section 3 excludes the surrogates).
 * Rewrite each pair as the 4-byte UTF-8 of its character and a lone half as
 * U+FFFD, in place (never longer). Returns the new length. */
static size_t cesu_to_utf8(unsigned char *b, size_t n)
{
	size_t r = 0, w = 0;
	while (r < n) {
		if (b[r] != 0xED || r + 2 >= n || (b[r + 1] & 0xE0) != 0xA0) {
			b[w++] = b[r++];
			continue;
		}
		/* ED A0..AF xx: high half (D800..DBFF); ED B0..BF xx: low half. */
		unsigned hi = ((b[r + 1] & 0x0Fu) << 6) | (b[r + 2] & 0x3Fu);
		if ((b[r + 1] & 0xF0) == 0xA0 && r + 5 < n && b[r + 3] == 0xED &&
		    (b[r + 4] & 0xF0) == 0xB0) {
			unsigned lo = ((b[r + 4] & 0x0Fu) << 6) | (b[r + 5] & 0x3Fu);
			unsigned long cp = 0x10000ul + ((unsigned long)hi << 10) + lo;
			b[w++] = (unsigned char)(0xF0 | (cp >> 18));
			b[w++] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
			b[w++] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
			b[w++] = (unsigned char)(0x80 | (cp & 0x3F));
			r += 6;
		} else {
			b[w++] = 0xEF;
			b[w++] = 0xBF;
			b[w++] = 0xBD;
			r += 3;
		}
	}
	return w;
}

/*
 * Numbers. ChirpStack takes every number of a result as an f64 and
 * serde_json writes it (jsonw_fmt_serde()); the engine's JSON.stringify
 * writes the same shortest digits (ECMA-262 Number::toString) in another
 * form: plain digits up to 1e21 ("100000000000000000000"), which json-c
 * would cap at INT64_MIN or UINT64_MAX; "1e+21"; "0.000001". Such a token is
 * rewritten as serde writes it ("1e20", "1e21", "1e-6") before json-c reads
 * the text: json-c then holds a double that prints with that very text. A
 * whole number below 1e16 stays as it is: json-c holds it as an integer
 * and ints_as_floats() adds serde's ".0".
 */
static bool is_number_char(char ch)
{
	return (ch >= '0' && ch <= '9') || ch == '-' || ch == '+' || ch == '.' || ch == 'e' ||
	       ch == 'E';
}

/* Does serde write the value of the token t[0..n) otherwise than it is? */
static bool token_needs_serde(const char *t, size_t n)
{
	size_t i = t[0] == '-';
	bool point = false;

	for (size_t j = i; j < n; j++) {
		if (t[j] == 'e' || t[j] == 'E')
			return true;
		point |= t[j] == '.';
	}
	if (!point)
		return n - i > 16;                          /* 1e16 and up */
	return n - i > 7 && memcmp(t + i, "0.00000", 7) == 0;  /* below 1e-5 */
}

/* The token t[0..n) as serde writes its value, into out (JSONW_NUM_MAX
 * bytes); 0 when it is not a number of at most 17 significant digits and
 * a 3-digit exponent, as the engine writes them (the token is then kept). */
static size_t token_as_serde(const char *t, size_t n, char *out)
{
	char d[17];
	size_t nd = 0, zeros = 0, i = 0, len = 0;
	int kk = 0;                                  /* value = 0.d * 10^kk */
	bool point = false;

	if (t[0] == '-')
		out[len++] = t[i++];
	for (; i < n && t[i] != 'e' && t[i] != 'E'; i++) {
		if (t[i] == '.') {
			point = true;
			continue;
		}
		if (t[i] < '0' || t[i] > '9')
			return 0;
		kk += !point && (nd > 0 || t[i] != '0');
		if (t[i] == '0') {
			kk -= point && nd == 0;             /* 0.00012: leading zeros */
			zeros += nd > 0;                    /* kept only before a digit */
			continue;
		}
		if (nd + zeros + 1 > sizeof(d))
			return 0;
		memset(d + nd, '0', zeros);
		nd += zeros;
		zeros = 0;
		d[nd++] = t[i];
	}
	if (i < n) {
		char *end;
		long x = strtol(t + i + 1, &end, 10);
		if (end != t + n || x < -999 || x > 999)
			return 0;
		kk += (int)x;
	}
	if (nd == 0) {
		memcpy(out + len, "0.0", 3);
		return len + 3;
	}
	return len + jsonw_fmt_serde_digits(out + len, d, nd, kk);
}

/* text[0..n) with its numbers outside strings as serde writes them (see
 * above), into out when not NULL. Returns the length of the result;
 * *changed: how many tokens differ. */
static size_t numbers_as_serde(const char *text, size_t n, char *out, size_t *changed)
{
	size_t r = 0, w = 0;
	bool in_string = false;

	*changed = 0;
	while (r < n) {
		char ch = text[r], s[JSONW_NUM_MAX];
		size_t tok = 1, k;

		if (in_string) {
			if (ch == '\\' && r + 1 < n)
				tok = 2;                            /* \" is no end */
			else if (ch == '"')
				in_string = false;
		} else if (ch == '"') {
			in_string = true;
		} else if (ch == '-' || (ch >= '0' && ch <= '9')) {
			while (r + tok < n && is_number_char(text[r + tok]))
				tok++;
			if (token_needs_serde(text + r, tok) &&
			    (k = token_as_serde(text + r, tok, s)) > 0) {
				if (out != NULL)
					memcpy(out + w, s, k);
				w += k;
				r += tok;
				(*changed)++;
				continue;
			}
		}
		if (out != NULL)
			memcpy(out + w, text + r, tok);
		w += tok;
		r += tok;
	}
	return w;
}

static int parse_result(const struct jscodec *c, const char *text, size_t n,
			struct json_object **result, char *why, size_t why_cap)
{
	int err = jsonobj_parse(text, n, RESULT_DEPTH + 1, result);
	if (err == LB_ERR_JSON)
		return fail(err, why, why_cap,
			    "%s: result is not valid JSON for json-c (nested deeper than %d?)",
			    c->name, RESULT_DEPTH);
	if (err != LB_OK)
		return fail(err, why, why_cap, "%s: %s", c->name, lb_strerror(err));
	return LB_OK;
}

/* The JSON text on top of the stack -> the object; checks result_max. */
static int take_result(struct jscodec *c, struct json_object **result, char *why,
		       size_t why_cap)
{
	duk_size_t n = 0;
	const char *text = duk_get_lstring(c->ctx, -1, &n);
	if (text == NULL)
		return fail(LB_ERR_JSON, why, why_cap, "%s: no result", c->name);
	if (n > c->lim.result_max)
		return fail(LB_ERR_TOO_LARGE, why, why_cap,
			    "%s: result of %zu bytes of JSON, more than the %zu allowed", c->name,
			    (size_t)n, c->lim.result_max);
	size_t changed;
	size_t len = numbers_as_serde(text, n, NULL, &changed);
	bool cesu = memchr(text, 0xED, n) != NULL;
	if (changed == 0 && !cesu) /* no surrogate: already UTF-8 */
		return parse_result(c, text, n, result, why, why_cap);
	unsigned char *copy = malloc(len > 0 ? len : 1);
	if (copy == NULL)
		return fail(LB_ERR_NOMEM, why, why_cap, "%s: out of memory", c->name);
	numbers_as_serde(text, n, (char *)copy, &changed);
	if (cesu)
		len = cesu_to_utf8(copy, len);
	int err = parse_result(c, (const char *)copy, len, result, why, why_cap);
	free(copy);
	return err;
}

/* Hands *out the member `key` of result (a new reference), NULL if null or
 * an empty array. */
static void take_member(struct json_object *result, const char *key, struct json_object **out)
{
	struct json_object *v = json_object_object_get(result, key);
	if (out == NULL)
		return;
	*out = NULL;
	if (v == NULL || (json_object_is_type(v, json_type_array) &&
			  json_object_array_length(v) == 0))
		return;
	*out = json_object_get(v);
}

/* Run fn (one result value) and take its result as JSON; the call ends
 * either way (call_end). *result is NULL unless LB_OK. */
static int run_for_result(struct call *k, duk_safe_call_function fn, struct json_object **result)
{
	int err = call_run(k, fn, 1);
	*result = NULL;
	if (err == LB_OK)
		err = take_result(k->c, result, k->why, k->why_cap);
	call_end(k->c, 1);
	return err;
}

/* An integer as ChirpStack prints every number of a decoder's result: it
 * takes each JS number as a float (codec/convert.rs: an Int becomes a
 * NumberValue, an f64) and serde_json prints a whole f64 below 1e16 with
 * ".0" ("21.0"). From 1e16 up it prints an exponent ("1e16"): take_result()
 * wrote those so, and json-c holds them as doubles with that text. Digits
 * written by hand: no printf on the uplink path. */
static int int_as_float(struct json_object *o, struct printbuf *pb, int level, int flags)
{
	(void)level;
	(void)flags;
	int64_t v = json_object_get_int64(o);
	uint64_t u = v < 0 ? 0u - (uint64_t)v : (uint64_t)v;
	char s[24];
	size_t i = sizeof(s);

	s[--i] = '0';
	s[--i] = '.';
	do {
		s[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u > 0);
	if (v < 0)
		s[--i] = '-';
	return printbuf_memappend(pb, s + i, (int)(sizeof(s) - i));
}

#define FLOAT_DIGITS_MAX INT64_C(10000000000000000)   /* 1e16: serde's exponent form */

/* Every integer of o, at most depth levels down, prints as a float. */
static void ints_as_floats(struct json_object *o, int depth)
{
	if (o == NULL || depth < 0)
		return;
	switch (json_object_get_type(o)) {
	case json_type_int: {
		int64_t v = json_object_get_int64(o);
		if (v > -FLOAT_DIGITS_MAX && v < FLOAT_DIGITS_MAX)
			json_object_set_serializer(o, int_as_float, NULL, NULL);
		break;
	}
	case json_type_array:
		for (size_t i = 0; i < json_object_array_length(o); i++)
			ints_as_floats(json_object_array_get_idx(o, i), depth - 1);
		break;
	case json_type_object: {
		json_object_object_foreach(o, key, v) {
			(void)key;
			ints_as_floats(v, depth - 1);
		}
		break;
	}
	default:
		break;
	}
}

int jscodec_decode(struct jscodec *c, const struct jscodec_uplink *up, struct json_object **data,
		   struct json_object **warnings, char *why, size_t why_cap)
{
	if (data != NULL)
		*data = NULL;
	if (warnings != NULL)
		*warnings = NULL;
	if (c == NULL || up == NULL || data == NULL || (up->len > 0 && up->bytes == NULL) ||
	    (up->vars.n > 0 && up->vars.pairs == NULL))
		return fail(LB_ERR_INVAL, why, why_cap, "jscodec_decode: NULL argument");
	if (c->dec == SIG_NONE)
		return fail(LB_ERR_SCRIPT, why, why_cap,
			    "%s: defines no decoder (decodeUplink, Decode or Decoder)", c->name);
	int err = heap_ensure(c, why, why_cap);
	if (err != LB_OK)
		return err;

	struct call k = { .c = c, .why = why, .why_cap = why_cap, .up = up };
	struct json_object *result;
	err = run_for_result(&k, decode_safe, &result);
	if (err != LB_OK)
		return err;
	if (!json_object_is_type(json_object_object_get(result, "data"), json_type_object)) {
		json_object_put(result);
		return fail(LB_ERR_JSON, why, why_cap, "%s: %s returned data whose JSON is not an "
			    "object", c->name, sig_name(c->dec, true));
	}
	take_member(result, "data", data);
	take_member(result, "warnings", warnings);
	json_object_put(result);
	ints_as_floats(*data, RESULT_DEPTH);
	return LB_OK;
}

/* --- encode --------------------------------------------------------------- */

/* Copy the byte array at idx into k->out. Returns false when it failed. */
static bool take_bytes(duk_context *ctx, struct call *k, duk_idx_t idx, const char *fn)
{
	if (!duk_is_array(ctx, idx) && !duk_is_buffer_data(ctx, idx)) {
		call_fail(k, LB_ERR_JSON, "%s returned bytes that are %s, not an array", fn,
			  type_name(ctx, idx));
		return false;
	}
	duk_size_t n = duk_get_length(ctx, idx);
	if (n > k->out_cap) {
		call_fail(k, LB_ERR_TOO_LARGE, "%s returned %zu bytes, more than the %zu that fit",
			  fn, (size_t)n, k->out_cap);
		return false;
	}
	for (duk_size_t i = 0; i < n; i++) {
		duk_get_prop_index(ctx, idx, (duk_uarridx_t)i);
		double v = duk_is_number(ctx, -1) ? duk_get_number(ctx, -1) : NAN;
		if (!(v >= 0 && v <= 255 && v == floor(v))) {
			call_fail(k, LB_ERR_JSON, "%s returned bytes[%zu] = %s, not an integer 0..255",
				  fn, (size_t)i, duk_safe_to_string(ctx, -1));
			return false;
		}
		k->out[i] = (uint8_t)v;
		duk_pop(ctx);
	}
	k->out_len = n;
	return true;
}

/* The optional fPort at idx (TS013 encodeDownlink). */
static bool take_fport(duk_context *ctx, struct call *k, duk_idx_t idx, const char *fn)
{
	if (duk_is_undefined(ctx, idx) || duk_is_null(ctx, idx))
		return true;
	double v = duk_is_number(ctx, idx) ? duk_get_number(ctx, idx) : NAN;
	if (!(v >= 1 && v <= 223 && v == floor(v))) {
		call_fail(k, LB_ERR_JSON, "%s returned fPort %s, not 1..223", fn,
			  duk_safe_to_string(ctx, idx));
		return false;
	}
	k->have_fport = true;
	k->fport_out = (uint8_t)v;
	return true;
}

static duk_ret_t encode_safe(duk_context *ctx, void *udata)
{
	struct call *k = udata;
	const char *fn = sig_name(k->c->enc, false);
	duk_idx_t base = duk_get_top(ctx);
	duk_idx_t data = base + 1, res = base + 2, bytes = base + 3, fport = base + 4,
		  warn = base + 5, none = base + 6;
	duk_push_global_stash(ctx);
	duk_push_lstring(ctx, k->data_json, k->data_len);
	duk_json_decode(ctx, data);
	duk_get_prop_string(ctx, base, "enc");
	duk_idx_t nargs;
	switch (k->c->enc) {
	case SIG_TS013:
		duk_push_object(ctx);
		duk_dup(ctx, data);
		duk_put_prop_string(ctx, -2, "data");
		push_vars(ctx, k->vars);
		duk_put_prop_string(ctx, -2, "variables");
		/* the command's fPort, as ChirpStack's encode() gave it to
		 * encodeDownlink (codec/js); undefined when the command has none */
		if (k->fport != 0) {
			duk_push_uint(ctx, k->fport);
			duk_put_prop_string(ctx, -2, "fPort");
		}
		nargs = 1;
		break;
	case SIG_V3:
		duk_push_uint(ctx, k->fport);
		duk_dup(ctx, data);
		push_vars(ctx, k->vars);
		nargs = 3;
		break;
	default:
		duk_dup(ctx, data);
		duk_push_uint(ctx, k->fport);
		nargs = 2;
		break;
	}
	k->stage = STAGE_SCRIPT;
	duk_call(ctx, nargs);                           /* res */
	if (k->c->enc == SIG_TS013) {
		if (!ts013_result(ctx, k, res, fn))
			return 0;
		duk_get_prop_string(ctx, res, "bytes");
		duk_get_prop_string(ctx, res, "fPort");
		duk_get_prop_string(ctx, res, "warnings");
	} else {
		duk_dup(ctx, res);
		duk_push_undefined(ctx);
		duk_push_undefined(ctx);
	}
	if (!take_bytes(ctx, k, bytes, fn) || !take_fport(ctx, k, fport, fn))
		return 0;
	duk_push_undefined(ctx);                        /* none: no data in the result */
	push_result(ctx, k, none, warn);
	return 1;
}

int jscodec_encode(struct jscodec *c, struct json_object *data, const struct jscodec_vars *vars,
		   uint8_t *fport, uint8_t *out, size_t out_cap, size_t *len,
		   struct json_object **warnings, char *why, size_t why_cap)
{
	if (warnings != NULL)
		*warnings = NULL;
	if (c == NULL || fport == NULL || (out == NULL && out_cap > 0) || len == NULL ||
	    (vars != NULL && vars->n > 0 && vars->pairs == NULL))
		return fail(LB_ERR_INVAL, why, why_cap, "jscodec_encode: NULL argument");
	if (c->enc == SIG_NONE)
		return fail(LB_ERR_SCRIPT, why, why_cap,
			    "%s: defines no encoder (encodeDownlink, Encode or Encoder)", c->name);
	int err = heap_ensure(c, why, why_cap);
	if (err != LB_OK)
		return err;

	size_t n = 0;
	const char *text = data != NULL ?
		json_object_to_json_string_length(data, JSON_C_TO_STRING_PLAIN, &n) : "null";
	if (text == NULL)
		return fail(LB_ERR_NOMEM, why, why_cap, "%s: cannot serialise the data", c->name);
	if (data == NULL)
		n = 4;
	struct call k = {
		.c = c, .why = why, .why_cap = why_cap, .data_json = text, .data_len = n,
		.vars = vars, .fport = *fport, .out = out, .out_cap = out_cap,
	};
	struct json_object *result;
	err = run_for_result(&k, encode_safe, &result);
	if (err != LB_OK)
		return err;
	take_member(result, "warnings", warnings);
	json_object_put(result);
	*len = k.out_len;
	if (k.have_fport)
		*fport = k.fport_out;
	return LB_OK;
}

/* --- life ----------------------------------------------------------------- */

bool jscodec_can_decode(const struct jscodec *c)
{
	return c != NULL && c->dec != SIG_NONE;
}

bool jscodec_can_encode(const struct jscodec *c)
{
	return c != NULL && c->enc != SIG_NONE;
}

size_t jscodec_heap_bytes(const struct jscodec *c)
{
	return c != NULL ? c->heap_used : 0;
}

int jscodec_load_source(const char *name, const char *src, size_t src_len,
			const struct jscodec_limits *lim, struct jscodec **out, char *why,
			size_t why_cap)
{
	if (out != NULL)
		*out = NULL;
	if (name == NULL || src == NULL || out == NULL)
		return fail(LB_ERR_INVAL, why, why_cap, "jscodec_load: NULL argument");
	struct jscodec *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return fail(LB_ERR_NOMEM, why, why_cap, "%s: out of memory", name);
	c->name = strdup(name);
	c->src = malloc(src_len + 1);
	if (c->name == NULL || c->src == NULL) {
		jscodec_free(c);
		return fail(LB_ERR_NOMEM, why, why_cap, "%s: out of memory", name);
	}
	memcpy(c->src, src, src_len);
	c->src[src_len] = '\0';
	c->src_len = src_len;
	if (lim != NULL)
		c->lim = *lim;
	if (c->lim.timeout_ms == 0)
		c->lim.timeout_ms = JSCODEC_DEFAULT_TIMEOUT_MS;
	if (c->lim.heap_max == 0)
		c->lim.heap_max = JSCODEC_DEFAULT_HEAP_MAX;
	if (c->lim.result_max == 0)
		c->lim.result_max = JSCODEC_DEFAULT_RESULT_MAX;

	int err = heap_build(c, why, why_cap);
	if (err != LB_OK) {
		jscodec_free(c);
		return err;
	}
	*out = c;
	return LB_OK;
}

/* Read the whole file (at most JSCODEC_MAX_SCRIPT bytes) into *buf. */
static int read_file(const char *path, char **buf, size_t *len, char *why, size_t why_cap)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return fail(LB_ERR_IO, why, why_cap, "%s: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		fclose(f);
		return fail(LB_ERR_IO, why, why_cap, "%s: not a regular file", path);
	}
	if (st.st_size > JSCODEC_MAX_SCRIPT) {
		fclose(f);
		return fail(LB_ERR_TOO_LARGE, why, why_cap, "%s: longer than %u bytes", path,
			    (unsigned)JSCODEC_MAX_SCRIPT);
	}
	size_t want = (size_t)st.st_size;
	char *b = malloc(want + 1);
	if (b == NULL) {
		fclose(f);
		return fail(LB_ERR_NOMEM, why, why_cap, "%s: out of memory", path);
	}
	size_t n = fread(b, 1, want + 1, f);
	int rd_err = ferror(f);
	fclose(f);
	if (rd_err || n != want) {
		free(b);
		return fail(LB_ERR_IO, why, why_cap, "%s: read error (the file changed?)", path);
	}
	*buf = b;
	*len = n;
	return LB_OK;
}

int jscodec_load(const char *path, const struct jscodec_limits *lim, struct jscodec **out,
		 char *why, size_t why_cap)
{
	if (out != NULL)
		*out = NULL;
	if (path == NULL || out == NULL)
		return fail(LB_ERR_INVAL, why, why_cap, "jscodec_load: NULL argument");
	char *src = NULL;
	size_t len = 0;
	int err = read_file(path, &src, &len, why, why_cap);
	if (err != LB_OK)
		return err;
	err = jscodec_load_source(path, src, len, lim, out, why, why_cap);
	free(src);
	return err;
}

void jscodec_free(struct jscodec *c)
{
	if (c == NULL)
		return;
	heap_destroy(c);
	free(c->name);
	free(c->src);
	free(c);
}
