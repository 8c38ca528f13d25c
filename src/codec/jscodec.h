/* SPDX-License-Identifier: MIT */
/*
 * jscodec.h - JavaScript payload codecs: a vendor's script turns an
 * uplink's bytes into named values and a downlink's values into bytes.
 *
 * Signatures, tried in this order (the first the script defines is used):
 *   decodeUplink({bytes, fPort, recvTime, variables}) -> {data, warnings?, errors?}
 *       LoRaWAN TS013-1.0.0 Payload Codec API, as The Things Stack and
 *       ChirpStack v4 call it;
 *   Decode(fPort, bytes, variables) -> data        ChirpStack v3;
 *   Decoder(bytes, port) -> data                   The Things Network v2.
 *   encodeDownlink({data, variables}) -> {bytes, fPort?, warnings?, errors?}
 *   Encode(fPort, data, variables) -> bytes        ChirpStack v3;
 *   Encoder(data, port) -> bytes                   The Things Network v2.
 * Scripts run as vendors write them: sloppy mode (undeclared variables
 * become globals), console.log available (its text goes to the warnings),
 * changes to built-in prototypes stay inside the script's own heap.
 *
 * Language: the engine is Duktape 2.7, which implements ECMAScript 5.1
 * plus parts of ES2015+: `const` (scoped like `var`), typed arrays and
 * ArrayBuffer/DataView, Object.assign, Math.trunc/sign/log10,
 * Number.isInteger, String's codePointAt/repeat/startsWith/includes, the
 * ** operator. Arrow functions, `let`, classes, template literals, default
 * and rest parameters, destructuring and for...of do not compile: the load fails with LB_ERR_SCRIPT, the line
 * and, when the line shows it, which of them was met. Array's find,
 * findIndex, includes, fill and Array.from, Object.entries/values and
 * String's padStart are absent (a script may define them itself).
 *
 * What the script sees:
 *   bytes      a plain Array of numbers 0..255;
 *   recvTime   a Date (millisecond precision);
 *   variables  an object of strings;
 *   console    log, info, warn, error, debug: each call becomes one warning
 *              "console.log: TEXT" (objects as JSON), at most 16 lines per
 *              call and 256 characters per line, then one line counting the
 *              rest;
 *   globals    what the script's top level and earlier calls left: the heap
 *              is kept between calls (compiled once), until a rebuild.
 *
 * Results: `data` goes through the engine's own JSON.stringify, so an
 * object member that is undefined is left out, a NaN or an Infinity
 * becomes null (JSON has neither; a sensor value that is not a number is
 * "no value"), a Date becomes its ISO 8601 string; a function or a cycle
 * anywhere in it, a data that is not an object, or JSON nested deeper than
 * 64 levels fail with LB_ERR_JSON. A decoder's whole numbers below 1e16
 * print with ".0" ("21.0", as ChirpStack prints every number a codec
 * returns: it takes them as floats); they stay json-c ints. Warnings are
 * strings (non-strings are converted), at most 32, each at most 256
 * characters. Text comes out as
 * UTF-8: a character beyond U+FFFF as its 4-byte sequence, a lone
 * surrogate as U+FFFD. A TS013 `errors` that is empty, null or absent is
 * no error.
 *
 * Each codec owns one engine heap, isolated from every other codec. A call
 * never runs longer than limits.timeout_ms of CPU time (the calling
 * thread's: time other processes took does not count), never lets the heap grow past
 * limits.heap_max and never returns JSON longer than limits.result_max;
 * past any of them the call fails, and after a timeout or the heap cap the
 * heap is dropped and rebuilt from the script when the next call starts (so a
 * timed-out call costs its deadline only, not also a rebuild); one bad
 * uplink does not poison the next. A script that only throws keeps its
 * heap.
 *
 * Errors (every function returns LB_OK or one of these, with a one-line
 * reason "FILE:LINE: what" ("FILE: what" when no line applies) in why when
 * why_cap > 0; FILE is the path or name given to the load):
 *   LB_ERR_IO        the script file cannot be read;
 *   LB_ERR_SCRIPT    it does not compile, defines none of the functions,
 *                    throws, or returns `errors`;
 *   LB_ERR_TIMEOUT   the call ran past timeout_ms;
 *   LB_ERR_NOMEM     the heap cap was reached (or the host is out of memory:
 *                    but see jscodec_duk.h, DUK_USE_FATAL_HANDLER);
 *   LB_ERR_TOO_LARGE the result is longer than result_max (or, encoding,
 *                    the bytes do not fit in out_cap; or, loading, the file
 *                    is longer than JSCODEC_MAX_SCRIPT);
 *   LB_ERR_JSON      the result is not what the signature promises (data
 *                    not an object, bytes not an array of 0..255 integers,
 *                    fPort not 1..223);
 *   LB_ERR_INVAL     NULL arguments.
 *
 * Ownership: *data and *warnings returned to the caller are new json-c
 * references the caller puts; NULL when absent. The codec keeps nothing of
 * the caller's after a call returns.
 *
 * Not thread-safe; one thread calls a codec at a time (the event loop).
 *
 * Time: the deadline is checked every 256K bytecode instructions and on
 * every native recursion (calls, JSON, the regular expression matcher), so
 * a call returns within a few milliseconds after it. A load runs the
 * script's top level under the same deadline. A call that runs within its
 * limits costs no heap creation and no compilation; a load, and every
 * rebuild, does both.
 */
#ifndef LB_JSCODEC_H
#define LB_JSCODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/tag.h"

struct json_object;
struct jscodec;

#define JSCODEC_DEFAULT_TIMEOUT_MS 100
#define JSCODEC_DEFAULT_HEAP_MAX (8u * 1024u * 1024u)
#define JSCODEC_DEFAULT_RESULT_MAX (64u * 1024u)
#define JSCODEC_MAX_SCRIPT (1024u * 1024u) /* bytes of a script file */

struct jscodec_limits {
	unsigned timeout_ms;            /* per call; 0 = JSCODEC_DEFAULT_TIMEOUT_MS */
	size_t heap_max;                /* bytes; 0 = JSCODEC_DEFAULT_HEAP_MAX */
	size_t result_max;              /* bytes of JSON; 0 = JSCODEC_DEFAULT_RESULT_MAX */
};

/* The `variables` given to the script: string pairs (may be NULL if n == 0). */
struct jscodec_vars {
	const struct lb_tag *pairs;
	size_t n;
};

struct jscodec_uplink {
	uint8_t fport;
	const uint8_t *bytes;
	size_t len;
	int64_t recv_time_us;           /* recvTime, a JavaScript Date */
	struct jscodec_vars vars;
};

/* Compile the script in file `path` (or, _source, the text src of src_len
 * bytes named `name` in messages) into a new codec. */
int jscodec_load(const char *path, const struct jscodec_limits *lim, struct jscodec **out,
		 char *why, size_t why_cap);
int jscodec_load_source(const char *name, const char *src, size_t src_len,
			const struct jscodec_limits *lim, struct jscodec **out, char *why,
			size_t why_cap);

/* Bytes the codec's heap holds now (engine allocations, our block headers
 * included): what the codec costs in memory besides its script text. */
size_t jscodec_heap_bytes(const struct jscodec *c);

/* Whether the script defines a decoder / an encoder of any signature. */
bool jscodec_can_decode(const struct jscodec *c);
bool jscodec_can_encode(const struct jscodec *c);

/* Decode one uplink: *data = the decoded object, *warnings = an array of
 * strings (the console lines first, then the script's warnings) or NULL
 * when there are none; warnings may be NULL if the caller wants none. On
 * error both are NULL. */
int jscodec_decode(struct jscodec *c, const struct jscodec_uplink *up, struct json_object **data,
		   struct json_object **warnings, char *why, size_t why_cap);

/* Encode `data` for a downlink: bytes in out (out_cap), their count in
 * *len; *fport = the script's fPort when it returns one, else left as
 * given (the caller's default), which the v3 and v2 forms receive as their
 * fPort argument. data may be NULL (the script gets null). On error *len
 * and *fport are untouched, out is unspecified. */
int jscodec_encode(struct jscodec *c, struct json_object *data, const struct jscodec_vars *vars,
		   uint8_t *fport, uint8_t *out, size_t out_cap, size_t *len,
		   struct json_object **warnings, char *why, size_t why_cap);

void jscodec_free(struct jscodec *c);

#endif
