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
 * Each codec owns one engine heap, isolated from every other codec. A call
 * never runs longer than limits.timeout_ms, never lets the heap grow past
 * limits.heap_max and never returns JSON longer than limits.result_max;
 * past any of them the call fails and the heap is rebuilt from the script,
 * so one bad uplink does not poison the next.
 *
 * Errors (every function returns LB_OK or one of these, with a one-line
 * reason "FILE:LINE: what" in why when why_cap > 0):
 *   LB_ERR_IO        the script file cannot be read;
 *   LB_ERR_SCRIPT    it does not compile, defines none of the functions,
 *                    throws, or returns `errors`;
 *   LB_ERR_TIMEOUT   the call ran past timeout_ms;
 *   LB_ERR_NOMEM     the heap cap was reached (or the host is out of memory);
 *   LB_ERR_TOO_LARGE the result is longer than result_max (or, encoding,
 *                    the bytes do not fit in out_cap);
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

/* Whether the script defines a decoder / an encoder of any signature. */
bool jscodec_can_decode(const struct jscodec *c);
bool jscodec_can_encode(const struct jscodec *c);

/* Decode one uplink: *data = the decoded object, *warnings = an array of
 * strings (the script's warnings and console.log lines) or NULL. */
int jscodec_decode(struct jscodec *c, const struct jscodec_uplink *up, struct json_object **data,
		   struct json_object **warnings, char *why, size_t why_cap);

/* Encode `data` for a downlink: bytes in out (out_cap), their count in
 * *len; *fport = the script's fPort when it returns one, else left as
 * given (the caller's default). */
int jscodec_encode(struct jscodec *c, struct json_object *data, const struct jscodec_vars *vars,
		   uint8_t *fport, uint8_t *out, size_t out_cap, size_t *len,
		   struct json_object **warnings, char *why, size_t why_cap);

void jscodec_free(struct jscodec *c);

#endif
