/* SPDX-License-Identifier: MIT */
/* lb_err.c - descriptions of the error codes declared in lb_err.h. */
#include "base/lb_err.h"

struct err_text {
	const char *name;
	const char *text;
};

/* Indexed by -err. Keep in the order of enum lb_err. */
static const struct err_text err_texts[LB_ERR__COUNT] = {
	{"OK", "success"},
	{"NOMEM", "out of memory"},
	{"INVAL", "invalid argument"},
	{"TOO_SHORT", "input too short"},
	{"VERSION", "unsupported protocol version"},
	{"UNKNOWN_TYPE", "unknown packet type"},
	{"JSON", "invalid JSON"},
	{"BASE64", "invalid base64"},
	{"SIZE_MISMATCH", "size mismatch"},
	{"TOO_LARGE", "input too large"},
	{"MALFORMED", "malformed input"},
	{"MIC", "MIC does not verify"},
	{"CRYPTO", "crypto library failure"},
	{"REPLAY", "frame counter replay"},
	{"NOT_FOUND", "not found"},
	{"IO", "I/O error"},
	{"CONFIG", "invalid configuration"},
	{"FULL", "queue or table full"},
	{"MQTT", "MQTT client error"},
	{"RANGE", "value out of range"},
	{"RATE_LIMIT", "rate limit exceeded"},
	{"DENIED", "not allowed"},
	{"DUPLICATE", "duplicate"},
	{"STATE", "invalid state"},
	{"STATE_LOST", "stored state lost"},
	{"ADDRESS_MISMATCH", "source address does not match"},
	{"TIMEOUT", "deadline passed"},
	{"SCRIPT", "script failed"},
	{"AGAIN", "not yet: waits for the disk"},
	{"UNUSABLE", "unusable until an operator acts"},
	{"NO_LIBRARY", "a library it needs cannot be loaded"},
};

static const struct err_text *err_lookup(int err)
{
	if (err > 0 || err <= -LB_ERR__COUNT)
		return 0;
	return &err_texts[-err];
}

const char *lb_strerror(int err)
{
	const struct err_text *t = err_lookup(err);
	return t ? t->text : "unknown error";
}

const char *lb_errname(int err)
{
	const struct err_text *t = err_lookup(err);
	return t ? t->name : "UNKNOWN";
}
