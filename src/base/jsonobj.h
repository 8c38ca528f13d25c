/* SPDX-License-Identifier: MIT */
/*
 * jsonobj.h - the strict JSON reading that every JSON input of the bridge
 * shares (GWMP datagrams, MQTT downlink commands): the text must be exactly
 * one JSON object (RFC 8259), valid UTF-8, nested at most max_depth deep,
 * with nothing after it but whitespace or NUL padding, which some packet
 * forwarders send. Pure: no I/O, no logging.
 */
#ifndef LB_JSONOBJ_H
#define LB_JSONOBJ_H

#include <stddef.h>

struct json_object;

/* Parse text[0..len). On LB_OK *out is a new object the caller frees with
 * json_object_put(). Errors: LB_ERR_JSON (not exactly one object),
 * LB_ERR_NOMEM. *out is NULL on error. */
int jsonobj_parse(const char *text, size_t len, int max_depth, struct json_object **out);

#endif
