/* SPDX-License-Identifier: MIT */
/* jsonobj.c - strict JSON object parsing on json-c. See jsonobj.h. */
#include "base/jsonobj.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/lb_err.h"

static bool is_pad(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\0';
}

int jsonobj_parse(const char *text, size_t len, int max_depth, struct json_object **out)
{
	*out = NULL;
	if (!text)
		return LB_ERR_JSON;
	while (len > 0 && is_pad(text[0])) {
		text++;
		len--;
	}
	while (len > 0 && is_pad(text[len - 1]))
		len--;
	if (len == 0 || len > (size_t)INT32_MAX)
		return LB_ERR_JSON;
	json_tokener *tok = json_tokener_new_ex(max_depth);
	if (!tok)
		return LB_ERR_NOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	json_object *root = json_tokener_parse_ex(tok, text, (int)len);
	bool complete = json_tokener_get_error(tok) == json_tokener_success &&
			json_tokener_get_parse_end(tok) == len;
	json_tokener_free(tok);
	if (!root || !complete || !json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		return LB_ERR_JSON;
	}
	*out = root;
	return LB_OK;
}
