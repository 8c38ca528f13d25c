/* SPDX-License-Identifier: MIT */
/*
 * test_sim_devices.c - unit tests of the simulator's devices
 * (packet_forwarder/sim/sim_devices.c): seed derivation, key file, the
 * lorabridge devices export (read back with libconfig), payload text and
 * uplink frames checked against the published LoRaWAN vector V1
 * (anthonykirby/lora-packet __tests__/mic_test.ts).
 */
#include <check.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/hex.h"
#include "codec/cayennelpp.h"
#include "base/lb_err.h"
#include "lorawan/lorawan.h"
#include "lorawan/lwcrypto.h"
#include "../../packet_forwarder/sim/sim_devices.h"
#include "testutil.h"

/* V1 (anthonykirby/lora-packet mic_test.ts): DevAddr 49BE7DF1, FCnt 3,
 * FPort 1, empty FRMPayload -> 40F17DBE49000300012A3518AF. */
static const char V1_LINE[] =
	"0102030405060708 49be7df1 44024241ed4ce9a68c6a8bc055233fd3 "
	"ec925802ae430ca77fd3dd73cb2cc588 v1-device\n";
static const char V1_EMPTY_FRAME[] = "40f17dbe49000300012a3518af";

static void load_line(struct sim_devices *ds, const char *line)
{
	bool empty;

	ds->dev = calloc(1, sizeof(*ds->dev));
	ck_assert_ptr_nonnull(ds->dev);
	ds->n = 1;
	ck_assert_int_eq(sim_devices_parse_line(line, 0, &ds->dev[0], &empty), LB_OK);
	ck_assert(!empty);
}

static void assert_key_hex(const uint8_t key[16], const char *want)
{
	char hex[33];

	hex_encode(key, 16, hex, sizeof(hex));
	ck_assert_str_eq(hex, want);
}

START_TEST(test_derive_identities)
{
	struct sim_devices ds;

	ck_assert_int_eq(sim_devices_derive(&ds, 3, 7), LB_OK);
	ck_assert_uint_eq(ds.n, 3);
	ck_assert_str_eq(ds.dev[2].name, "sim-2");
	ck_assert_uint_eq(ds.dev[2].dev_eui, 0x5a00000700000002ULL);
	ck_assert_uint_eq(ds.dev[2].dev_addr, 0x26700002U);
	ck_assert_uint_eq(ds.dev[0].dev_addr >> 25, 0x13);   /* NwkID of 0x26/0x27 */
	sim_devices_free(&ds);
	ck_assert_ptr_null(ds.dev);
	ck_assert_int_eq(sim_devices_derive(&ds, 0, 1), LB_ERR_RANGE);
	ck_assert_int_eq(sim_devices_derive(&ds, SIM_MAX_DEVICES + 1, 1), LB_ERR_RANGE);
}
END_TEST

/* Configs are generated once and kept: the derivation must never change. */
START_TEST(test_derive_keys_pinned)
{
	struct sim_devices a, b;

	ck_assert_int_eq(sim_devices_derive(&a, 2, 7), LB_OK);
	assert_key_hex(a.dev[0].nwk_s_key, "0f80e1d0522d002f29e52f80c0871246");
	assert_key_hex(a.dev[0].app_s_key, "52ce6744e1ba0134b069febea4f99b45");
	assert_key_hex(a.dev[1].nwk_s_key, "7acc364d123ae6f032991ac7dbd6c241");
	ck_assert_int_eq(sim_devices_derive(&b, 2, 8), LB_OK);
	ck_assert_mem_ne(a.dev[0].nwk_s_key, b.dev[0].nwk_s_key, 16);
	ck_assert_mem_ne(a.dev[0].app_s_key, b.dev[0].app_s_key, 16);
	ck_assert_mem_ne(a.dev[0].nwk_s_key, a.dev[0].app_s_key, 16);
	sim_devices_free(&a);
	sim_devices_free(&b);
}
END_TEST

START_TEST(test_parse_line)
{
	struct sim_device d;
	bool empty;

	ck_assert_int_eq(sim_devices_parse_line(V1_LINE, 4, &d, &empty), LB_OK);
	ck_assert(!empty);
	ck_assert_uint_eq(d.dev_eui, 0x0102030405060708ULL);
	ck_assert_uint_eq(d.dev_addr, 0x49be7df1U);
	assert_key_hex(d.app_s_key, "ec925802ae430ca77fd3dd73cb2cc588");
	ck_assert_str_eq(d.name, "v1-device");

	ck_assert_int_eq(sim_devices_parse_line("0102030405060708 49BE7DF1 "
						"44024241ED4CE9A68C6A8BC055233FD3 "
						"ec925802ae430ca77fd3dd73cb2cc588 # note",
						4, &d, &empty), LB_OK);
	ck_assert_str_eq(d.name, "sim-4");

	ck_assert_int_eq(sim_devices_parse_line("   # only a comment\n", 0, &d, &empty), LB_OK);
	ck_assert(empty);
	ck_assert_int_eq(sim_devices_parse_line("\n", 0, &d, &empty), LB_OK);
	ck_assert(empty);
}
END_TEST

START_TEST(test_parse_line_errors)
{
	struct sim_device d;
	bool empty;
	char line[256];

	/* three fields, odd hex digit, short key, six fields */
	ck_assert_int_eq(sim_devices_parse_line("0102030405060708 49be7df1 "
						"44024241ed4ce9a68c6a8bc055233fd3", 0, &d, &empty),
			 LB_ERR_MALFORMED);
	ck_assert_int_eq(sim_devices_parse_line("010203040506070g 49be7df1 "
						"44024241ed4ce9a68c6a8bc055233fd3 "
						"ec925802ae430ca77fd3dd73cb2cc588", 0, &d, &empty),
			 LB_ERR_MALFORMED);
	ck_assert_int_eq(sim_devices_parse_line("0102030405060708 49be7df1 "
						"44024241ed4ce9a68c6a8bc055233f "
						"ec925802ae430ca77fd3dd73cb2cc588", 0, &d, &empty),
			 LB_ERR_MALFORMED);
	ck_assert_int_eq(sim_devices_parse_line("0102030405060708 49be7df1 "
						"44024241ed4ce9a68c6a8bc055233fd3 "
						"ec925802ae430ca77fd3dd73cb2cc588 a b", 0, &d, &empty),
			 LB_ERR_MALFORMED);
	snprintf(line, sizeof(line), "%.*s %s", (int)strlen(V1_LINE) - 11, V1_LINE,
		 "a-name-that-is-far-too-long-for-the-field");
	ck_assert_int_eq(sim_devices_parse_line(line, 0, &d, &empty), LB_ERR_TOO_LARGE);
}
END_TEST

START_TEST(test_keys_round_trip)
{
	struct sim_devices a, b;
	char path[] = "/tmp/test_sim_devices.XXXXXX";
	int fd = mkstemp(path), bad_line;

	ck_assert_int_ge(fd, 0);
	FILE *f = fdopen(fd, "w");
	ck_assert_int_eq(sim_devices_derive(&a, 5, 42), LB_OK);
	ck_assert_int_eq(sim_devices_share_devaddr(&a), LB_OK);
	ck_assert_int_eq(sim_devices_write_keys(&a, f), LB_OK);
	fclose(f);
	ck_assert_int_eq(sim_devices_load(&b, path, &bad_line), LB_OK);
	ck_assert_uint_eq(b.n, 5);
	for (size_t i = 0; i < 5; i++) {
		ck_assert_str_eq(a.dev[i].name, b.dev[i].name);
		ck_assert_uint_eq(a.dev[i].dev_eui, b.dev[i].dev_eui);
		ck_assert_uint_eq(a.dev[i].dev_addr, b.dev[i].dev_addr);
		ck_assert_mem_eq(a.dev[i].nwk_s_key, b.dev[i].nwk_s_key, 16);
		ck_assert_mem_eq(a.dev[i].app_s_key, b.dev[i].app_s_key, 16);
	}
	ck_assert_uint_eq(b.dev[1].dev_addr, b.dev[0].dev_addr);
	sim_devices_truncate(&b, 2);
	ck_assert_uint_eq(b.n, 2);
	sim_devices_free(&a);
	sim_devices_free(&b);

	char text[512];
	ck_assert_int_lt(snprintf(text, sizeof(text), "# header\n\n%s0102 nonsense\n", V1_LINE),
			 (int)sizeof(text));
	testutil_write_file(path, text);
	ck_assert_int_eq(sim_devices_load(&b, path, &bad_line), LB_ERR_MALFORMED);
	ck_assert_int_eq(bad_line, 4);
	ck_assert_ptr_null(b.dev);

	testutil_write_file(path, "# nothing\n");
	ck_assert_int_eq(sim_devices_load(&b, path, &bad_line), LB_ERR_NOT_FOUND);
	unlink(path);
	ck_assert_int_eq(sim_devices_load(&b, path, &bad_line), LB_ERR_IO);
}
END_TEST

/* The devices list ds writes (version NULL: sim_devices_write_conf()'s),
 * parsed into lc (the caller destroys it): its `devices` list. */
static config_setting_t *written_list(const struct sim_devices *ds, const char *version,
				      config_t *lc)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(version ? sim_devices_write_conf_version(ds, "sim", version, f)
				 : sim_devices_write_conf(ds, "sim", f), LB_OK);
	fclose(f);
	config_init(lc);
	ck_assert_msg(config_read_string(lc, text) == CONFIG_TRUE, "line %d: %s",
		      config_error_line(lc), config_error_text(lc));
	free(text);
	config_setting_t *list = config_lookup(lc, "devices");
	ck_assert_ptr_nonnull(list);
	ck_assert(config_setting_is_list(list));
	return list;
}

/* The export must be a libconfig list that lorabridge.conf can @include. */
START_TEST(test_write_conf_parses)
{
	struct sim_devices ds;
	config_t lc;
	const char *s;

	ck_assert_int_eq(sim_devices_derive(&ds, 3, 7), LB_OK);
	config_setting_t *list = written_list(&ds, NULL, &lc);
	ck_assert_int_eq(config_setting_length(list), 3);
	config_setting_t *d2 = config_setting_get_elem(list, 2);
	ck_assert(config_setting_lookup_string(d2, "name", &s));
	ck_assert_str_eq(s, "sim-2");
	ck_assert(config_setting_lookup_string(d2, "application", &s));
	ck_assert_str_eq(s, "sim");
	ck_assert(config_setting_lookup_string(d2, "dev_eui", &s));
	ck_assert_str_eq(s, "5a00000700000002");
	ck_assert(config_setting_lookup_string(d2, "dev_addr", &s));
	ck_assert_str_eq(s, "26700002");
	ck_assert(config_setting_lookup_string(config_setting_get_elem(list, 0), "nwk_s_key", &s));
	ck_assert_str_eq(s, "0f80e1d0522d002f29e52f80c0871246");
	ck_assert(config_setting_lookup_string(d2, "lorawan_version", &s));
	ck_assert_str_eq(s, "1.0.3");
	config_destroy(&lc);
	sim_devices_free(&ds);
}
END_TEST

/* ABP devices carry the version the simulated devices follow (a 1.0.4 one
 * takes LinkADRReq DataRate / TXPower 0xF as "keep"), as OTAA ones do. */
START_TEST(test_write_conf_abp_version)
{
	struct sim_devices ds;
	config_t lc;
	const char *s;

	ck_assert_int_eq(sim_devices_derive(&ds, 2, 7), LB_OK);
	config_setting_t *list = written_list(&ds, "1.0.4", &lc);
	ck_assert_int_eq(config_setting_length(list), 2);
	for (unsigned i = 0; i < 2; i++) {
		config_setting_t *d = config_setting_get_elem(list, i);
		ck_assert(config_setting_lookup_string(d, "dev_addr", &s));
		ck_assert(config_setting_lookup_string(d, "lorawan_version", &s));
		ck_assert_str_eq(s, "1.0.4");
	}
	config_destroy(&lc);
	sim_devices_free(&ds);
}
END_TEST

START_TEST(test_payload_text)
{
	uint8_t out[64];

	ck_assert_uint_eq(sim_payload_text(3, 65535, -1, out, sizeof(out)), 9);
	ck_assert_mem_eq(out, "d3 n65535", 9);
	ck_assert_uint_eq(sim_payload_text(3, 7, 10, out, sizeof(out)), 10);
	ck_assert_mem_eq(out, "d3 n7.....", 10);
	ck_assert_uint_eq(sim_payload_text(12, 345, 4, out, sizeof(out)), 4);
	ck_assert_mem_eq(out, "d12 ", 4);
	ck_assert_uint_eq(sim_payload_text(0, 0, 0, out, sizeof(out)), 0);
	ck_assert_uint_eq(sim_payload_text(0, 0, 40, out, 8), 8);  /* capped */
}
END_TEST

/* The simulator's LPP reading decodes, through the bridge's own decoder,
 * to the values its header promises (device 5, FCnt 40). */
START_TEST(test_payload_lpp)
{
	uint8_t out[SIM_LPP_LEN];
	json_object *o = NULL;

	ck_assert_uint_eq(sim_payload_lpp(5, 40, out, sizeof(out) - 1), 0);
	ck_assert_uint_eq(sim_payload_lpp(5, 40, out, sizeof(out)), SIM_LPP_LEN);
	ck_assert_int_eq(cayennelpp_decode(out, SIM_LPP_LEN, &o), LB_OK);
	/* 20.0 + (35 + 120) % 100 / 10 = 25.5; 40 + 45 % 40 / 2 = 42.5; 3.30 - 0.10 */
	ck_assert_str_eq(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
			 "{\"temperatureSensor\":{\"1\":25.5},\"humiditySensor\":{\"2\":42.5},"
			 "\"voltage\":{\"3\":3.2}}");
	json_object_put(o);
}
END_TEST

START_TEST(test_uplink_matches_v1)
{
	struct sim_devices ds = {0};
	struct sim_uplink up;
	struct sim_uplink_conf c = {.fport = 1, .confirmed = false, .payload_size = 0};
	char hex[2 * LW_MAX_PHY + 1];

	load_line(&ds, V1_LINE);
	ck_assert_int_eq(sim_devices_prepare(&ds, 3), LB_OK);
	ck_assert_int_eq(sim_devices_build_uplink(&ds, 0, &c, &up), LB_OK);
	hex_encode(up.phy, up.phy_len, hex, sizeof(hex));
	ck_assert_str_eq(hex, V1_EMPTY_FRAME);
	ck_assert_uint_eq(up.fcnt, 3);
	ck_assert_uint_eq(ds.dev[0].fcnt, 3);   /* not advanced by building */

	sim_uplink_corrupt_mic(&up);
	hex_encode(up.phy, up.phy_len, hex, sizeof(hex));
	ck_assert_str_eq(hex, "40f17dbe49000300012a351850");
	ck_assert_int_eq(sim_devices_build_uplink(&ds, 1, &c, &up), LB_ERR_INVAL);
	sim_devices_free(&ds);
}
END_TEST

/* Verify a built frame the way the bridge will: parse, MIC, decrypt. */
static void check_frame(struct sim_devices *ds, const struct sim_uplink *up, enum lw_mtype mtype,
			uint8_t fctrl, uint32_t fcnt, const char *text)
{
	struct sim_device *d = &ds->dev[up->dev_idx];
	struct lw_frame f;
	uint8_t mic[4], plain[SIM_MAX_PAYLOAD];

	ck_assert_int_eq(lorawan_parse(up->phy, up->phy_len, &f), LB_OK);
	ck_assert_int_eq(f.mtype, mtype);
	ck_assert_uint_eq(f.u.data.dev_addr, d->dev_addr);
	ck_assert_uint_eq(f.u.data.fctrl, fctrl);
	ck_assert_uint_eq(f.u.data.fcnt16, (uint16_t)fcnt);
	ck_assert_uint_eq(f.u.data.fport, up->fport);
	ck_assert_int_eq(lwcrypto_data_mic(&d->keys.nwk_s_key, LW_DIR_UP, d->dev_addr, fcnt,
					   up->phy, f.msg_len, mic), LB_OK);
	ck_assert(lwcrypto_mic_equal(mic, f.mic));
	ck_assert_uint_eq(f.u.data.frm_len, strlen(text));
	ck_assert_int_eq(lwcrypto_payload_crypt(&d->keys.app_s_key, LW_DIR_UP, d->dev_addr, fcnt,
						f.u.data.frm_payload, f.u.data.frm_len, plain),
			 LB_OK);
	ck_assert_mem_eq(plain, text, strlen(text));
	ck_assert_mem_eq(up->payload, text, strlen(text));
}

START_TEST(test_uplink_round_trip)
{
	struct sim_devices ds;
	struct sim_uplink up;
	struct sim_uplink_conf c = {.fport = 42, .confirmed = true, .payload_size = -1};

	ck_assert_int_eq(sim_devices_derive(&ds, 4, 9), LB_OK);
	ck_assert_int_eq(sim_devices_prepare(&ds, SIM_FCNT_ROLLOVER_START), LB_OK);
	ds.dev[2].fcnt = 65536 + 17;   /* past a rollover: 32-bit counter in B0/Ai */
	ck_assert_int_eq(sim_devices_build_uplink(&ds, 2, &c, &up), LB_OK);
	check_frame(&ds, &up, LW_MTYPE_CONFIRMED_UP, 0x00, 65553, "d2 n65553");

	/* A replay: an earlier counter, same payload, ADR set, valid MIC. */
	ck_assert_int_eq(sim_devices_build_replay(&ds, 2, 65530, &c, &up), LB_OK);
	check_frame(&ds, &up, LW_MTYPE_CONFIRMED_UP, 0x80, 65530, "d2 n65530");
	sim_devices_free(&ds);
}
END_TEST

static Suite *sim_devices_suite(void)
{
	Suite *s = suite_create("sim_devices");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_derive_identities);
	tcase_add_test(tc, test_derive_keys_pinned);
	tcase_add_test(tc, test_parse_line);
	tcase_add_test(tc, test_parse_line_errors);
	tcase_add_test(tc, test_keys_round_trip);
	tcase_add_test(tc, test_write_conf_parses);
	tcase_add_test(tc, test_write_conf_abp_version);
	tcase_add_test(tc, test_payload_text);
	tcase_add_test(tc, test_payload_lpp);
	tcase_add_test(tc, test_uplink_matches_v1);
	tcase_add_test(tc, test_uplink_round_trip);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(sim_devices_suite());

	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
