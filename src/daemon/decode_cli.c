/* SPDX-License-Identifier: MIT */
/*
 * decode_cli.c - `lorabridge decode`: command-line front end of the payload
 * codecs (codec/cayennelpp.h, codec/jscodec.h). Hand-rolled option parsing,
 * like airtime_cli.c, so the function keeps no global state.
 */
#include "daemon/decode_cli.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "daemon/cli_args.h"
#include "codec/cayennelpp.h"
#include "codec/jscodec.h"
#include "base/hex.h"
#include "base/jsonobj.h"
#include "base/lb_err.h"
#include "base/tag.h"

#define EXIT_CODEC 1
#define MAX_PAYLOAD 255         /* a FRMPayload fits in one byte's length */
#define MAX_VARS 32
#define JSON_DEPTH 32

enum codec_kind { CODEC_NONE, CODEC_CAYENNELPP, CODEC_JS };

struct cli_opts {
	enum codec_kind codec;
	const char *script;
	bool encode, help, have_fport;
	unsigned long fport;
	unsigned long timeout_ms;       /* 0: the codec's default */
	const char *input;              /* HEX or JSON */
	struct lb_tag vars[MAX_VARS];
	size_t nvars;
	char *var_text[MAX_VARS];       /* copies split at '=' (owned) */
};

static const char usage_text[] =
	"usage: lorabridge decode --codec cayennelpp [--fport N] HEX\n"
	"       lorabridge decode --codec js --script FILE --fport N [--var KEY=VALUE]... HEX\n"
	"       lorabridge decode --codec js --script FILE --encode --fport N\n"
	"                         [--var KEY=VALUE]... JSON\n"
	"       (js also takes --timeout-ms MS, default 100: the deadline of each call)\n"
	"Runs a payload codec as the daemon does. Decoding prints the decoded object as\n"
	"JSON; --encode prints {\"fPort\": N, \"bytes\": \"HEX\"} (the script's fPort, else\n"
	"--fport). A script's warnings and console lines go to stderr. Exit status:\n"
	"0 ok, 1 the codec failed (reason on stderr), 2 usage error.\n";

#define USAGE_ERROR(...) cli_usage_error("decode", usage_text, __VA_ARGS__)

static int codec_error(int err, const char *why)
{
	fprintf(stderr, "lorabridge decode: %s: %s\n", lb_errname(err),
		why[0] != '\0' ? why : lb_strerror(err));
	return EXIT_CODEC;
}

static bool parse_var(const char *s, struct cli_opts *o)
{
	const char *eq = strchr(s, '=');
	if (eq == NULL || eq == s || o->nvars == MAX_VARS)
		return false;
	char *copy = strdup(s);
	if (copy == NULL)
		return false;
	copy[eq - s] = '\0';
	o->var_text[o->nvars] = copy;
	o->vars[o->nvars].key = copy;
	o->vars[o->nvars].value = copy + (eq - s) + 1;
	o->nvars++;
	return true;
}

/* Options with a value: LB_OK, LB_ERR_NOT_FOUND (unknown), LB_ERR_RANGE. */
static int parse_valued(const char *name, const char *val, struct cli_opts *o)
{
	bool ok = true;
	if (strcmp(name, "--codec") == 0) {
		if (strcmp(val, "cayennelpp") == 0)
			o->codec = CODEC_CAYENNELPP;
		else if (strcmp(val, "js") == 0)
			o->codec = CODEC_JS;
		else
			ok = false;
	} else if (strcmp(name, "--script") == 0) {
		o->script = val;
	} else if (strcmp(name, "--fport") == 0) {
		ok = o->have_fport = cli_parse_ulong(val, 1, 223, &o->fport);
	} else if (strcmp(name, "--timeout-ms") == 0) {
		ok = cli_parse_ulong(val, 1, 600000, &o->timeout_ms);
	} else if (strcmp(name, "--var") == 0) {
		ok = parse_var(val, o);
	} else {
		return LB_ERR_NOT_FOUND;
	}
	return ok ? LB_OK : LB_ERR_RANGE;
}

/* One "--name value" or "--name=value" at argv[*i]. Returns 0 or an exit status. */
static int parse_option(int argc, char **argv, int *i, struct cli_opts *o)
{
	const char *arg = argv[*i];
	char name[16];
	const char *val;
	const char *eq = strchr(arg, '=');
	size_t n = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
	if (n >= sizeof(name))
		return USAGE_ERROR("unknown option '%s'", arg);
	memcpy(name, arg, n);
	name[n] = '\0';
	if (eq != NULL)
		val = eq + 1;
	else
		val = *i + 1 < argc ? argv[++*i] : NULL;
	int err = val != NULL ? parse_valued(name, val, o) : LB_OK;
	return cli_option_result("decode", usage_text, name, val, err);
}

static int parse_args(int argc, char **argv, struct cli_opts *o)
{
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (strcmp(arg, "--encode") == 0) {
			o->encode = true;
		} else if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			o->help = true;
		} else if (strncmp(arg, "--", 2) == 0) {
			int rc = parse_option(argc, argv, &i, o);
			if (rc != 0)
				return rc;
		} else if (o->input == NULL) {
			o->input = arg;
		} else {
			return USAGE_ERROR("unexpected argument '%s'", arg);
		}
	}
	return 0;
}

static int check_required(const struct cli_opts *o)
{
	if (o->codec == CODEC_NONE)
		return USAGE_ERROR("--codec is required");
	if (o->input == NULL)
		return USAGE_ERROR("the %s to %s is required", o->encode ? "JSON" : "HEX payload",
				   o->encode ? "encode" : "decode");
	if (o->codec == CODEC_CAYENNELPP &&
	    (o->encode || o->script != NULL || o->nvars > 0 || o->timeout_ms > 0))
		return USAGE_ERROR("--codec cayennelpp only decodes and takes no script");
	if (o->codec == CODEC_JS && o->script == NULL)
		return USAGE_ERROR("--codec js needs --script FILE");
	if (o->codec == CODEC_JS && !o->have_fport)
		return USAGE_ERROR("--codec js needs --fport N (1..223)");
	return 0;
}

static int print_json(struct json_object *o)
{
	int flags = JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
		    JSON_C_TO_STRING_NOSLASHESCAPE;
	const char *text = json_object_to_json_string_ext(o, flags);
	if (text == NULL)
		return EXIT_CODEC;
	puts(text);
	return fflush(stdout) == 0 ? 0 : EXIT_CODEC;
}

static void print_warnings(struct json_object *warnings)
{
	size_t n = warnings != NULL ? json_object_array_length(warnings) : 0;
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "lorabridge decode: warning: %s\n",
			json_object_get_string(json_object_array_get_idx(warnings, i)));
}

static int parse_hex(const char *s, uint8_t *buf, size_t *len)
{
	size_t n = strlen(s);
	if (n % 2 != 0 || n / 2 > MAX_PAYLOAD)
		return USAGE_ERROR("HEX must be an even number of hex digits, at most %d bytes",
				   MAX_PAYLOAD);
	if (hex_decode(s, buf, n / 2) != LB_OK)
		return USAGE_ERROR("'%s' is not hex", s);
	*len = n / 2;
	return 0;
}

static int run_cayennelpp(const struct cli_opts *o)
{
	uint8_t buf[MAX_PAYLOAD];
	size_t len;
	int rc = parse_hex(o->input, buf, &len);
	if (rc != 0)
		return rc;
	struct json_object *data = NULL;
	int err = cayennelpp_decode(buf, len, &data);
	if (err != LB_OK)
		return codec_error(err, "not a Cayenne LPP payload the decoder accepts");
	rc = print_json(data);
	json_object_put(data);
	return rc;
}

static int js_decode(struct jscodec *c, const struct cli_opts *o, char *why, size_t why_cap)
{
	uint8_t buf[MAX_PAYLOAD];
	struct jscodec_uplink up = {
		.fport = (uint8_t)o->fport,
		.bytes = buf,
		.vars = {o->vars, o->nvars},
	};
	int rc = parse_hex(o->input, buf, &up.len);
	if (rc != 0)
		return rc;
	struct json_object *data = NULL, *warnings = NULL;
	int err = jscodec_decode(c, &up, &data, &warnings, why, why_cap);
	if (err != LB_OK)
		return codec_error(err, why);
	print_warnings(warnings);
	rc = print_json(data);
	json_object_put(data);
	json_object_put(warnings);
	return rc;
}

static int js_encode(struct jscodec *c, const struct cli_opts *o, char *why, size_t why_cap)
{
	struct json_object *data = NULL;
	if (jsonobj_parse(o->input, strlen(o->input), JSON_DEPTH, &data) != LB_OK)
		return USAGE_ERROR("the data to encode must be one JSON object");
	struct jscodec_vars vars = {o->vars, o->nvars};
	uint8_t out[MAX_PAYLOAD], fport = (uint8_t)o->fport;
	size_t len = 0;
	struct json_object *warnings = NULL;
	int err = jscodec_encode(c, data, &vars, &fport, out, sizeof(out), &len, &warnings, why,
				 why_cap);
	json_object_put(data);
	if (err != LB_OK)
		return codec_error(err, why);
	print_warnings(warnings);
	json_object_put(warnings);

	char hex[2 * MAX_PAYLOAD + 1];
	hex_encode(out, len, hex, sizeof(hex));
	struct json_object *res = json_object_new_object();
	if (res == NULL)
		return codec_error(LB_ERR_NOMEM, "");
	json_object_object_add(res, "fPort", json_object_new_int(fport));
	json_object_object_add(res, "bytes", json_object_new_string(hex));
	int rc = print_json(res);
	json_object_put(res);
	return rc;
}

static int run_js(const struct cli_opts *o)
{
	char why[512] = "";
	struct jscodec *c = NULL;
	struct jscodec_limits lim = {.timeout_ms = (unsigned)o->timeout_ms};
	int err = jscodec_load(o->script, &lim, &c, why, sizeof(why));
	if (err != LB_OK)
		return codec_error(err, why);
	int rc;
	if (o->encode)
		rc = js_encode(c, o, why, sizeof(why));
	else
		rc = js_decode(c, o, why, sizeof(why));
	jscodec_free(c);
	return rc;
}

int decode_cli_main(int argc, char **argv)
{
	struct cli_opts o = {0};
	int rc = parse_args(argc, argv, &o);
	if (rc == 0 && o.help)
		fputs(usage_text, stdout);
	else if (rc == 0)
		rc = check_required(&o);
	if (rc == 0 && !o.help)
		rc = o.codec == CODEC_CAYENNELPP ? run_cayennelpp(&o) : run_js(&o);
	for (size_t i = 0; i < o.nvars; i++)
		free(o.var_text[i]);
	return rc;
}
