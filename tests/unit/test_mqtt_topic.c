/* SPDX-License-Identifier: MIT */
/* test_mqtt_topic.c - mqtt_topic_ok(): the bridge's own quick acceptance of
 * plain topics gives libmosquitto's verdict (mosquitto_pub_topic_check()
 * and mosquitto_validate_utf8() both succeed) on every topic: the ones the
 * bridge builds, the edge cases of MQTT 3.1.1 §4.7 and §1.5.3, and random
 * topics drawn from printable ASCII, wildcards, control bytes and UTF-8. */
#include <check.h>
#include <mosquitto.h>
#include <stdlib.h>
#include <string.h>

#include "io/mqtt.h"
#include "testutil.h"

static bool mosquitto_says(const char *t)
{
	return mosquitto_pub_topic_check(t) == MOSQ_ERR_SUCCESS &&
	       mosquitto_validate_utf8(t, (int)strlen(t)) == MOSQ_ERR_SUCCESS;
}

static void same(const char *t, bool want)
{
	ck_assert_msg(mosquitto_says(t) == want, "libmosquitto on \"%s\"", t);
	ck_assert_msg(mqtt_topic_ok(t) == want, "mqtt_topic_ok on \"%s\"", t);
}

START_TEST(test_known_topics)
{
	same("application/3f2a8e4c-1b7d-5e90-a1c2-0d4e6f8a9b1c/device/70b3d57ed0000001/event/up",
	     true);
	same("lorabridge/it-1/stats", true);
	same("a b/c~d/!\"$%&'()*,-.:;<=>?@[\\]^_`{|}", true);
	same("", true);                  /* both of libmosquitto's checks pass it */
	same("/", true);
	same("a/+/b", false);
	same("a/#", false);
	same("+", false);
	same("ab\x01" "cd", false);      /* control characters (§1.5.3) */
	same("abcdefgh\x1f", false);
	same("abc\x7f", false);
	same("caf\xc3\xa9/r\xc3\xa9sum\xc3\xa9", true);   /* UTF-8, through libmosquitto */
	same("bad\xff", false);
	same("bad\xc3", false);          /* truncated sequence */
	same("\xc2\x80", false);         /* U+0080: a C1 control */
	ck_assert(!mqtt_topic_ok(NULL));
}
END_TEST

/* Longer than MQTT's 65,535 bytes: refused either way. */
START_TEST(test_too_long)
{
	size_t n = 70000;
	char *t = malloc(n + 1);

	ck_assert_ptr_nonnull(t);
	memset(t, 'a', n);
	t[n] = '\0';
	same(t, false);
	t[65535] = '\0';
	same(t, true);
	free(t);
}
END_TEST

START_TEST(test_random_topics)
{
	static const char pool[] = "ab/+#~ \x01\x1f\x7f\x80\xc3\xa9\xe2\x82\xac\xff";
	char t[48];
	unsigned seed = 7;

	for (int k = 0; k < 300000; k++) {
		size_t len = (size_t)(rand_r(&seed) % 40);
		for (size_t i = 0; i < len; i++) {
			int r = rand_r(&seed);
			/* mostly printable ASCII, now and then a byte from the pool */
			t[i] = r % 8 ? (char)(0x20 + (r >> 4) % 95) : pool[(r >> 4) % (sizeof(pool) - 1)];
		}
		t[len] = '\0';
		ck_assert_msg(mqtt_topic_ok(t) == mosquitto_says(t), "topic %d differs", k);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mqtt_topic");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_known_topics);
	tcase_add_test(tc, test_too_long);
	tcase_add_test(tc, test_random_topics);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
