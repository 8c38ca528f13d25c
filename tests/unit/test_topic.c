/* SPDX-License-Identifier: MIT */
/* test_topic.c - MQTT topic templates: compile rules and expansion. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/lb_err.h"
#include "events/topic.h"

static const struct topic_vars VARS = {
	.application = "default",
	.dev_eui = "0102030405060708",
	.gateway_id = "aa555a0000000101",
	.event = "up",
	.state = "conn",
	.client_id = "lorabridge",
	.field = "temperatureSensor_1",
};

/* Compile + expand, asserting success; returns a static buffer. */
static const char *expand_ok(const char *prefix, const char *tpl, unsigned allow,
			     const struct topic_vars *v)
{
	static char out[512];
	struct topic_tpl t;
	char err[256];
	int rc = topic_compile(&t, prefix, tpl, allow, err, sizeof(err));

	ck_assert_msg(rc == LB_OK, "compile '%s': %s", tpl, err);
	ck_assert_str_eq(err, "");
	ck_assert_int_eq(topic_expand(&t, v, out, sizeof(out)), LB_OK);
	return out;
}

/* Compile must fail with LB_ERR_CONFIG and a message containing `want`. */
static void compile_bad(const char *prefix, const char *tpl, unsigned allow, const char *want)
{
	struct topic_tpl t;
	char err[256] = "x";
	int rc = topic_compile(&t, prefix, tpl, allow, err, sizeof(err));

	ck_assert_msg(rc == LB_ERR_CONFIG, "'%s' compiled (rc %d)", tpl, rc);
	ck_assert_msg(strstr(err, want) != NULL, "'%s': message '%s' lacks '%s'", tpl, err, want);
}

START_TEST(test_defaults_chirpstack)
{
	ck_assert_str_eq(expand_ok(NULL, TOPIC_DEFAULT_DEVICE_EVENT, TOPIC_ALLOW_DEVICE_EVENT, &VARS),
			 "application/default/device/0102030405060708/event/up");
	ck_assert_str_eq(expand_ok("", TOPIC_DEFAULT_GATEWAY_EVENT, TOPIC_ALLOW_GATEWAY_EVENT, &VARS),
			 "gateway/aa555a0000000101/event/up");
	ck_assert_str_eq(expand_ok(NULL, TOPIC_DEFAULT_GATEWAY_STATE, TOPIC_ALLOW_GATEWAY_STATE, &VARS),
			 "gateway/aa555a0000000101/state/conn");
	ck_assert_str_eq(expand_ok(NULL, TOPIC_DEFAULT_BRIDGE, TOPIC_ALLOW_BRIDGE, &VARS),
			 "lorabridge/lorabridge/up");
	ck_assert_str_eq(expand_ok("eu868/", TOPIC_DEFAULT_DEVICE_FIELD, TOPIC_ALLOW_DEVICE_FIELD,
				   &VARS),
			 "eu868/application/default/device/0102030405060708/object/temperatureSensor_1");
}
END_TEST

START_TEST(test_prefix)
{
	ck_assert_str_eq(expand_ok("eu868/", TOPIC_DEFAULT_DEVICE_EVENT, TOPIC_ALLOW_DEVICE_EVENT, &VARS),
			 "eu868/application/default/device/0102030405060708/event/up");
	/* The prefix is joined literally: no '/' is added. */
	ck_assert_str_eq(expand_ok("site1-", "gateway/{gateway_id}/event/{event}",
				   TOPIC_ALLOW_GATEWAY_EVENT, &VARS),
			 "site1-gateway/aa555a0000000101/event/up");
	/* A prefix may use the template's placeholders. */
	ck_assert_str_eq(expand_ok("{client_id}/", "x/{event}", TOPIC_ALLOW_BRIDGE, &VARS),
			 "lorabridge/x/up");
}
END_TEST

START_TEST(test_segments)
{
	struct topic_tpl t;

	ck_assert_int_eq(topic_compile(&t, "eu868/", TOPIC_DEFAULT_DEVICE_EVENT,
				       TOPIC_ALLOW_DEVICE_EVENT, NULL, 0), LB_OK);
	/* "eu868/application/" {application} "/device/" {dev_eui} "/event/" {event} */
	ck_assert_uint_eq(t.n_seg, 6);
	ck_assert_int_eq(t.seg[0].var, TOPIC_VAR_NONE);
	ck_assert_uint_eq(t.seg[0].len, strlen("eu868/application/"));
	ck_assert_int_eq(t.seg[1].var, TOPIC_VAR_APPLICATION);
	ck_assert_int_eq(t.seg[3].var, TOPIC_VAR_DEV_EUI);
	ck_assert_int_eq(t.seg[5].var, TOPIC_VAR_EVENT);
	ck_assert_uint_eq(t.used_vars, TOPIC_VAR_APPLICATION | TOPIC_VAR_DEV_EUI | TOPIC_VAR_EVENT);
	ck_assert_uint_eq(t.literal_len, strlen("eu868/application//device//event/"));
}
END_TEST

START_TEST(test_allowed_forms)
{
	/* Placeholder sharing a level with literal text. */
	ck_assert_str_eq(expand_ok(NULL, "dev-{dev_eui}.{event}", TOPIC_ALLOW_DEVICE_EVENT, &VARS),
			 "dev-0102030405060708.up");
	/* Leading '/' is legal MQTT (empty first level). */
	ck_assert_str_eq(expand_ok(NULL, "/lora/{event}", TOPIC_ALLOW_BRIDGE, &VARS), "/lora/up");
	ck_assert_str_eq(expand_ok("/", "lora", 0, &VARS), "/lora");
	/* Pure literal; UTF-8 text. */
	ck_assert_str_eq(expand_ok(NULL, "fixed", 0, &VARS), "fixed");
	ck_assert_str_eq(expand_ok(NULL, "caf\xc3\xa9/{event}", TOPIC_ALLOW_BRIDGE, &VARS),
			 "caf\xc3\xa9/up");
	/* The same placeholder twice. */
	ck_assert_str_eq(expand_ok(NULL, "{event}/{event}", TOPIC_ALLOW_BRIDGE, &VARS), "up/up");
}
END_TEST

START_TEST(test_invalid_wildcards)
{
	compile_bad(NULL, "application/+/event", 0, "'+' is an MQTT wildcard");
	compile_bad(NULL, "application/#", 0, "'#' is an MQTT wildcard");
	compile_bad("eu+868/", "x", 0, "'+' is an MQTT wildcard, not allowed in a topic name (prefix column 3)");
	compile_bad(NULL, "a/b#", 0, "(template column 4)");
}
END_TEST

START_TEST(test_invalid_placeholders)
{
	compile_bad(NULL, "application/{app}/x", TOPIC_ALLOW_DEVICE_EVENT,
		    "unknown placeholder {app} (known:");
	compile_bad(NULL, "application/{application", TOPIC_ALLOW_DEVICE_EVENT,
		    "unclosed placeholder");
	compile_bad(NULL, "a/{dev_eui/x}", TOPIC_ALLOW_DEVICE_EVENT, "unclosed placeholder");
	compile_bad(NULL, "a/{{event}}", TOPIC_ALLOW_DEVICE_EVENT, "unclosed placeholder");
	compile_bad(NULL, "a/event}", TOPIC_ALLOW_DEVICE_EVENT, "'}' without a matching '{'");
	compile_bad(NULL, "a/{}", TOPIC_ALLOW_DEVICE_EVENT, "empty placeholder '{}'");
	compile_bad(NULL, "gateway/{gateway_id}/state/{dev_eui}", TOPIC_ALLOW_GATEWAY_STATE,
		    "placeholder {dev_eui} is not available in this topic (template column 28)");
	compile_bad(NULL, "{Event}", TOPIC_ALLOW_BRIDGE, "unknown placeholder {Event}");
	compile_bad("{state}/", "x", TOPIC_ALLOW_BRIDGE, "prefix column 1");
}
END_TEST

START_TEST(test_invalid_levels)
{
	compile_bad(NULL, "a//b", 0, "empty topic level ('//')");
	compile_bad("eu868/", "/application/{event}", TOPIC_ALLOW_BRIDGE,
		    "empty topic level ('//'); check that prefix and template do not both supply "
		    "the '/' (template column 1)");
	compile_bad(NULL, "a/b/", 0, "topic ends with '/'");
	compile_bad("x/", "", 0, "topic template is empty");
	compile_bad(NULL, "", 0, "topic template is empty");
	compile_bad(NULL, "//", 0, "empty topic level");
}
END_TEST

START_TEST(test_invalid_text)
{
	char big[TOPIC_MAX_TEXT + 2];
	char many[TOPIC_MAX_SEGS * 8 + 1];
	size_t n = 0;

	compile_bad(NULL, "a/\xff", 0, "invalid UTF-8 in topic (template column 3)");
	compile_bad(NULL, "a/\xc0\xaf", 0, "invalid UTF-8");          /* overlong '/' */
	compile_bad(NULL, "a/\xed\xa0\x80", 0, "invalid UTF-8");      /* surrogate */
	compile_bad(NULL, "a/\xe2\x82", 0, "invalid UTF-8");          /* truncated */
	compile_bad(NULL, "a\tb", 0, "control character not allowed in a topic (template column 2)");
	compile_bad(NULL, "a\x7f", 0, "control character");

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	compile_bad(NULL, big, 0, "topic text longer than 256 bytes");
	/* Exactly TOPIC_MAX_TEXT literal bytes fit. */
	big[TOPIC_MAX_TEXT] = '\0';
	ck_assert_uint_eq(strlen(expand_ok(NULL, big, 0, &VARS)), TOPIC_MAX_TEXT);

	for (int i = 0; i < TOPIC_MAX_SEGS; i++)
		n += (size_t)sprintf(many + n, "{event}/");
	compile_bad(NULL, many, TOPIC_ALLOW_BRIDGE, "too many placeholders");
}
END_TEST

START_TEST(test_compile_args)
{
	struct topic_tpl t;
	char err[8];

	ck_assert_int_eq(topic_compile(NULL, NULL, "x", 0, NULL, 0), LB_ERR_INVAL);
	ck_assert_int_eq(topic_compile(&t, NULL, NULL, 0, NULL, 0), LB_ERR_INVAL);
	/* A short error buffer is truncated, never overrun (ASan checks). */
	ck_assert_int_eq(topic_compile(&t, NULL, "+", 0, err, sizeof(err)), LB_ERR_CONFIG);
	ck_assert_uint_eq(strlen(err), sizeof(err) - 1);
	ck_assert_int_eq(topic_compile(&t, NULL, "+", 0, NULL, 0), LB_ERR_CONFIG);
}
END_TEST

static int expand_with(const char *tpl, unsigned allow, const struct topic_vars *v)
{
	struct topic_tpl t;
	char out[128] = "sentinel";
	int rc;

	ck_assert_int_eq(topic_compile(&t, NULL, tpl, allow, NULL, 0), LB_OK);
	rc = topic_expand(&t, v, out, sizeof(out));
	if (rc != LB_OK)
		ck_assert_str_eq(out, "");
	return rc;
}

START_TEST(test_expand_refuses_structure)
{
	struct topic_vars v = VARS;
	const char *bad[] = {"a/b", "a+", "#", "", "tab\there", "\xff", "x\xc3"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v.application = bad[i];
		ck_assert_msg(expand_with(TOPIC_DEFAULT_DEVICE_EVENT, TOPIC_ALLOW_DEVICE_EVENT, &v) ==
			      LB_ERR_INVAL, "value %zu accepted", i);
	}
	v.application = NULL;
	ck_assert_int_eq(expand_with(TOPIC_DEFAULT_DEVICE_EVENT, TOPIC_ALLOW_DEVICE_EVENT, &v),
			 LB_ERR_INVAL);
	/* Unused variables may be NULL or anything. */
	v = (struct topic_vars){.gateway_id = "aa555a0000000101", .event = "stats", .dev_eui = "a/b"};
	ck_assert_int_eq(expand_with(TOPIC_DEFAULT_GATEWAY_EVENT, TOPIC_ALLOW_GATEWAY_EVENT, &v), LB_OK);
	/* Non-ASCII application names are fine. */
	v = VARS;
	v.application = "b\xc3\xbcro";
	ck_assert_int_eq(expand_with(TOPIC_DEFAULT_DEVICE_EVENT, TOPIC_ALLOW_DEVICE_EVENT, &v), LB_OK);
}
END_TEST

START_TEST(test_expand_capacity)
{
	struct topic_tpl t;
	const char *want = "gateway/aa555a0000000101/event/up";
	size_t need = strlen(want) + 1;
	char out[64];

	ck_assert_int_eq(topic_compile(&t, NULL, TOPIC_DEFAULT_GATEWAY_EVENT,
				       TOPIC_ALLOW_GATEWAY_EVENT, NULL, 0), LB_OK);
	ck_assert_int_eq(topic_expand(&t, &VARS, out, need), LB_OK);
	ck_assert_str_eq(out, want);
	memset(out, 'z', sizeof(out));
	ck_assert_int_eq(topic_expand(&t, &VARS, out, need - 1), LB_ERR_TOO_LARGE);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(topic_expand(&t, &VARS, out, 1), LB_ERR_TOO_LARGE);
	ck_assert_int_eq(topic_expand(&t, &VARS, out, 0), LB_ERR_INVAL);
	ck_assert_int_eq(topic_expand(&t, NULL, out, sizeof(out)), LB_ERR_INVAL);
	/* A freed (zeroed) template expands to nothing. */
	topic_free(&t);
	ck_assert_int_eq(topic_expand(&t, &VARS, out, sizeof(out)), LB_ERR_INVAL);
}
END_TEST

START_TEST(test_var_names)
{
	ck_assert_str_eq(topic_var_name(TOPIC_VAR_APPLICATION), "application");
	ck_assert_str_eq(topic_var_name(TOPIC_VAR_CLIENT_ID), "client_id");
	ck_assert_str_eq(topic_var_name(TOPIC_VAR_FIELD), "field");
	ck_assert_str_eq(topic_var_name(TOPIC_VAR_NONE), "");
	ck_assert_str_eq(topic_var_name(TOPIC_VAR_DEV_EUI | TOPIC_VAR_EVENT), "");
	ck_assert_str_eq(topic_var_name(TOPIC_VAR__ALL + 1), "");
}
END_TEST


/* The command topic: subscribed with wildcards, matched back to values. */
START_TEST(test_filter_and_match)
{
	struct topic_tpl t;
	char err[128], out[256];
	struct topic_match m;

	ck_assert_int_eq(topic_compile(&t, "eu868/", TOPIC_DEFAULT_DEVICE_COMMAND,
				       TOPIC_ALLOW_DEVICE_COMMAND, err, sizeof(err)), LB_OK);
	struct topic_vars v = {.command = "down"};
	ck_assert_int_eq(topic_filter(&t, &v, out, sizeof(out)), LB_OK);
	ck_assert_str_eq(out, "eu868/application/+/device/+/command/down");

	ck_assert_int_eq(topic_match(&t, "eu868/application/app1/device/0102030405060708/command/down", &m),
			 LB_OK);
	ck_assert_str_eq(m.application, "app1");
	ck_assert_str_eq(m.dev_eui, "0102030405060708");
	ck_assert_str_eq(m.command, "down");
	ck_assert_int_eq(topic_match(&t, "eu868/application/app1/device/0102030405060708/command", &m),
			 LB_ERR_NOT_FOUND);
	ck_assert_int_eq(topic_match(&t, "eu868/application//device/01/command/down", &m),
			 LB_ERR_NOT_FOUND);
	ck_assert_int_eq(topic_match(&t, "eu868/application/a/device/01/command/down/x", &m),
			 LB_ERR_NOT_FOUND);
	ck_assert_int_eq(topic_match(&t, "us915/application/a/device/01/command/down", &m),
			 LB_ERR_NOT_FOUND);
}
END_TEST

/* ChirpStack's own shape: the application's UUID ({application_id}) in
 * every device topic, published and matched back. */
START_TEST(test_application_id)
{
	static const char *const id = "0ac3e0a6-3b8b-5f3c-9a5e-6b8d5a1f0c2e";
	struct topic_tpl t;
	char err[128], out[256];
	struct topic_match m;
	struct topic_vars v = {.application = "farm", .application_id = id,
			       .dev_eui = "0102030405060708", .event = "up", .command = "down"};

	ck_assert_str_eq(topic_var_name(TOPIC_VAR_APPLICATION_ID), "application_id");
	ck_assert_int_eq(topic_compile(&t, NULL, "application/{application_id}/device/{dev_eui}/"
				       "event/{event}", TOPIC_ALLOW_DEVICE_EVENT, err, sizeof(err)),
			 LB_OK);
	ck_assert_uint_eq(t.used_vars, TOPIC_VAR_APPLICATION_ID | TOPIC_VAR_DEV_EUI |
			  TOPIC_VAR_EVENT);
	ck_assert_int_eq(topic_expand(&t, &v, out, sizeof(out)), LB_OK);
	ck_assert_str_eq(out, "application/0ac3e0a6-3b8b-5f3c-9a5e-6b8d5a1f0c2e/device/"
			 "0102030405060708/event/up");
	v.application_id = NULL;   /* a template that uses it needs it */
	ck_assert_int_eq(topic_expand(&t, &v, out, sizeof(out)), LB_ERR_INVAL);
	/* not where a gateway's topic could hold it */
	ck_assert_int_eq(topic_compile(&t, NULL, "gw/{application_id}/{gateway_id}/{event}",
				       TOPIC_ALLOW_GATEWAY_EVENT, err, sizeof(err)), LB_ERR_CONFIG);

	ck_assert_int_eq(topic_compile(&t, NULL, "application/{application_id}/device/{dev_eui}/"
				       "command/{command}", TOPIC_ALLOW_DEVICE_COMMAND, err,
				       sizeof(err)), LB_OK);
	v = (struct topic_vars){.command = "down"};
	ck_assert_int_eq(topic_filter(&t, &v, out, sizeof(out)), LB_OK);
	ck_assert_str_eq(out, "application/+/device/+/command/down");
	ck_assert_int_eq(topic_match(&t, "application/0ac3e0a6-3b8b-5f3c-9a5e-6b8d5a1f0c2e/device/"
				     "0102030405060708/command/down", &m), LB_OK);
	ck_assert_str_eq(m.application_id, id);
	ck_assert_str_eq(m.application, "");
	ck_assert_str_eq(m.dev_eui, "0102030405060708");
}
END_TEST

START_TEST(test_filter_needs_whole_levels)
{
	struct topic_tpl t;
	char err[128], out[256];

	ck_assert_int_eq(topic_compile(&t, NULL, "app/dev-{dev_eui}/{command}",
				       TOPIC_ALLOW_DEVICE_COMMAND, err, sizeof(err)), LB_OK);
	struct topic_vars v = {.command = "down"};
	ck_assert_int_eq(topic_filter(&t, &v, out, sizeof(out)), LB_ERR_CONFIG);
	v.dev_eui = "0102030405060708";
	ck_assert_int_eq(topic_filter(&t, &v, out, sizeof(out)), LB_OK);
	ck_assert_str_eq(out, "app/dev-0102030405060708/down");
}
END_TEST

static Suite *topic_suite(void)
{
	Suite *s = suite_create("topic");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_defaults_chirpstack);
	tcase_add_test(tc, test_prefix);
	tcase_add_test(tc, test_segments);
	tcase_add_test(tc, test_allowed_forms);
	tcase_add_test(tc, test_invalid_wildcards);
	tcase_add_test(tc, test_invalid_placeholders);
	tcase_add_test(tc, test_invalid_levels);
	tcase_add_test(tc, test_invalid_text);
	tcase_add_test(tc, test_compile_args);
	tcase_add_test(tc, test_expand_refuses_structure);
	tcase_add_test(tc, test_expand_capacity);
	tcase_add_test(tc, test_var_names);
	tcase_add_test(tc, test_filter_and_match);
	tcase_add_test(tc, test_application_id);
	tcase_add_test(tc, test_filter_needs_whole_levels);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(topic_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
