/* SPDX-License-Identifier: MIT */
/*
 * test_airtime.c - airtime.c and airtime_cli.c against published vectors
 * (TheThingsNetwork/lorawan-stack pkg/toa/toa_test.go, brocaar/lorawan
 * airtime/airtime_test.go), a BW125 table computed independently with the
 * formula of Semtech AN1200.13, and an independent floating-point
 * implementation of that formula.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lorawan/airtime.h"
#include "daemon/airtime_cli.h"
#include "base/lb_err.h"

static struct airtime_lora lora(uint8_t sf, uint32_t bw_hz, uint16_t len, bool crc)
{
	struct airtime_lora p = {
		.sf = sf,
		.bw_hz = bw_hz,
		.cr = 1,
		.preamble = AIRTIME_DEFAULT_PREAMBLE,
		.payload_len = len,
		.crc = crc,
		.implicit_header = false,
		.ldro = AIRTIME_LDRO_AUTO,
	};
	return p;
}

static uint64_t toa(const struct airtime_lora *p)
{
	uint64_t us = 0;
	ck_assert_int_eq(airtime_lora_us(p, &us), LB_OK);
	return us;
}

static uint32_t symbols(const struct airtime_lora *p)
{
	uint32_t n = 0;
	ck_assert_int_eq(airtime_lora_symbols(p, &n), LB_OK);
	return n;
}

/* ---- published table (lorawan-stack pkg/toa/toa_test.go) ---------------- */

struct vec {
	uint8_t sf;
	uint32_t bw_hz;
	uint8_t cr;
	uint16_t len;
	uint64_t us;
};

static const struct vec tts_table[] = {
	{ 7, 125000, 1, 10, 41216 },    /* 1 */
	{ 8, 125000, 1, 10, 72192 },    /* 2 */
	{ 9, 125000, 1, 10, 144384 },   /* 3 */
	{ 10, 125000, 1, 10, 288768 },  /* 4 */
	{ 11, 125000, 1, 10, 577536 },  /* 5 DE=1 */
	{ 12, 125000, 1, 10, 991232 },  /* 6 DE=1 */
	{ 7, 250000, 1, 10, 20608 },    /* 7 */
	{ 7, 500000, 1, 10, 10304 },    /* 8 */
	{ 7, 125000, 2, 10, 45312 },    /* 9 CR 4/6 */
	{ 7, 125000, 3, 10, 49408 },    /* 10 CR 4/7 */
	{ 7, 125000, 4, 10, 53504 },    /* 11 CR 4/8 */
	{ 7, 125000, 1, 13, 46336 },    /* 12 */
	{ 7, 125000, 1, 14, 46336 },
	{ 7, 125000, 1, 15, 46336 },
	{ 7, 125000, 1, 16, 51456 },    /* 13 */
	{ 7, 125000, 1, 17, 51456 },
	{ 7, 125000, 1, 18, 51456 },
	{ 7, 125000, 1, 19, 51456 },
};

START_TEST(test_tts_table)
{
	const struct vec *v = &tts_table[_i];
	struct airtime_lora p = lora(v->sf, v->bw_hz, v->len, true);
	p.cr = v->cr;
	ck_assert_uint_eq(toa(&p), v->us);
}
END_TEST

START_TEST(test_tts_fsk_200)
{
	struct airtime_fsk f = {
		.payload_len = 200,
		.bitrate = 50000,
		.preamble_bytes = AIRTIME_FSK_DEFAULT_PREAMBLE,
		.sync_bytes = AIRTIME_FSK_DEFAULT_SYNC,
		.crc = true,
	};
	uint64_t us = 0;
	ck_assert_int_eq(airtime_fsk_us(&f, &us), LB_OK);
	ck_assert_uint_eq(us, 33760);
	/* 160 µs per byte + 1.76 ms: 8 x (5 preamble + 3 sync + 1 length +
	 * 2 CRC bytes) at 50 kbit/s */
	f.payload_len = 0;
	ck_assert_int_eq(airtime_fsk_us(&f, &us), LB_OK);
	ck_assert_uint_eq(us, 1760);
	f.crc = false;
	ck_assert_int_eq(airtime_fsk_us(&f, &us), LB_OK);
	ck_assert_uint_eq(us, 1440);
}
END_TEST

START_TEST(test_fsk_rounding_and_errors)
{
	/* 8 * (5 + 3 + 1 + 10 + 2) = 168 bits at 4800 bit/s = 35000 µs exactly;
	 * at 9600 * 7 bit/s = 2500 µs exactly; at 3 bit/s 56 s exactly. */
	struct airtime_fsk f = { .payload_len = 10, .bitrate = 4800, .preamble_bytes = 5,
				 .sync_bytes = 3, .crc = true };
	uint64_t us = 0;
	ck_assert_int_eq(airtime_fsk_us(&f, &us), LB_OK);
	ck_assert_uint_eq(us, 35000);
	/* 168 bits at 50001 bit/s = 3359.93 µs -> rounded up to 3360. */
	f.bitrate = 50001;
	ck_assert_int_eq(airtime_fsk_us(&f, &us), LB_OK);
	ck_assert_uint_eq(us, 3360);
	f.bitrate = 0;
	ck_assert_int_eq(airtime_fsk_us(&f, &us), LB_ERR_INVAL);
	f.bitrate = 50000;
	f.payload_len = 256;
	ck_assert_int_eq(airtime_fsk_us(&f, &us), LB_ERR_INVAL);
	ck_assert_int_eq(airtime_fsk_us(NULL, &us), LB_ERR_INVAL);
}
END_TEST

/* ---- brocaar/lorawan airtime_test.go ----------------------------------- */

START_TEST(test_brocaar)
{
	struct airtime_lora p = lora(12, 125000, 13, true);
	p.ldro = AIRTIME_LDRO_OFF;
	ck_assert_uint_eq(toa(&p), 1155072);
	ck_assert_uint_eq(symbols(&p), 23);
	uint32_t tsym = 0;
	ck_assert_int_eq(airtime_lora_tsym_us(12, 125000, &tsym), LB_OK);
	ck_assert_uint_eq(tsym, 32768);
	ck_assert_uint_eq((uint64_t)tsym * 49 / 4, 401408); /* preamble 12.25 Tsym */

	p.ldro = AIRTIME_LDRO_ON;       /* "LDRO on gives the same 23" */
	ck_assert_uint_eq(symbols(&p), 23);
	ck_assert_uint_eq(toa(&p), 1155072);

	p.ldro = AIRTIME_LDRO_OFF;
	p.cr = 2;
	ck_assert_uint_eq(symbols(&p), 26);
	p.cr = 1;
	p.implicit_header = true;
	ck_assert_uint_eq(symbols(&p), 18);

	struct airtime_lora q = lora(12, 125000, 50, true);
	q.ldro = AIRTIME_LDRO_ON;
	ck_assert_uint_eq(symbols(&q), 58);
}
END_TEST

/* ---- BW125 table computed with the AN1200.13 formula (not published) --- */

struct row {
	uint16_t len;
	bool crc;
	uint64_t us[6]; /* SF7..SF12 */
};

static const struct row bw125_table[] = {
	{ 13, true, { 46336, 82432, 164864, 288768, 577536, 1155072 } },
	{ 23, true, { 61696, 113152, 205824, 370688, 823296, 1482752 } },
	{ 17, false, { 46336, 92672, 164864, 329728, 659456, 1155072 } },
	{ 33, false, { 71936, 133632, 246784, 452608, 905216, 1810432 } },
};

START_TEST(test_bw125_table)
{
	const struct row *r = &bw125_table[_i];
	for (uint8_t sf = 7; sf <= 12; sf++) {
		struct airtime_lora p = lora(sf, 125000, r->len, r->crc);
		ck_assert_msg(toa(&p) == r->us[sf - 7], "len %u SF%u: %llu != %llu",
			      r->len, sf, (unsigned long long)toa(&p),
			      (unsigned long long)r->us[sf - 7]);
	}
}
END_TEST

START_TEST(test_extra_lines)
{
	struct airtime_lora p = lora(7, 125000, 10, true);
	ck_assert_uint_eq(toa(&p), 41216);           /* AN1200.13 formula, worked by hand */
	p = lora(12, 250000, 10, true);              /* DE=1 by the LoRaMac-node rule */
	ck_assert(airtime_ldro_auto(12, 250000));
	ck_assert_uint_eq(toa(&p), 495616);
	p = lora(12, 500000, 17, false);             /* US915 DR8 join-accept */
	ck_assert_uint_eq(toa(&p), 288768);
	p = lora(8, 500000, 23, true);               /* US915 DR4 join-request */
	ck_assert_uint_eq(toa(&p), 28288);
	p = lora(10, 125000, 24, true);              /* US915 DR0 at N = 11: < 400 ms dwell */
	ck_assert_uint_eq(toa(&p), 370688);
}
END_TEST

START_TEST(test_ldro_rule)
{
	for (uint8_t sf = 5; sf <= 12; sf++) {
		ck_assert(airtime_ldro_auto(sf, 125000) == (sf >= 11));
		ck_assert(airtime_ldro_auto(sf, 250000) == (sf == 12));
		ck_assert(!airtime_ldro_auto(sf, 500000));
	}
}
END_TEST

/* SF5/SF6: 6.25 fixed symbols, no "+8", preamble raised to 12
 * (sx1302_hal lora_packet_time_on_air, LoRaMac-node sx126x radio.c). */
START_TEST(test_sf5_sf6)
{
	/* SF5 BW125 PL10 CRC: ceil((80+16-20+20)/20) = 5 -> 33 symbols;
	 * (12 + 6.25 + 33) * 256 µs = 13120 µs (preamble 8 raised to 12). */
	struct airtime_lora p = lora(5, 125000, 10, true);
	ck_assert_uint_eq(symbols(&p), 33);
	ck_assert_uint_eq(toa(&p), 13120);
	p.preamble = 12;
	ck_assert_uint_eq(toa(&p), 13120);
	/* SF6 BW500 PL20 no CRC, preamble 16: ceil(156/24) = 7 -> 43 symbols;
	 * (16 + 6.25 + 43) * 128 µs = 8352 µs. LDRO ON is ignored below SF7. */
	p = lora(6, 500000, 20, false);
	p.preamble = 16;
	p.ldro = AIRTIME_LDRO_ON;
	ck_assert_uint_eq(symbols(&p), 43);
	ck_assert_uint_eq(toa(&p), 8352);
}
END_TEST

START_TEST(test_invalid)
{
	uint64_t us;
	struct airtime_lora p = lora(7, 125000, 10, true);
	p.sf = 4;
	ck_assert_int_eq(airtime_lora_us(&p, &us), LB_ERR_INVAL);
	p.sf = 13;
	ck_assert_int_eq(airtime_lora_us(&p, &us), LB_ERR_INVAL);
	p = lora(7, 125, 10, true);
	ck_assert_int_eq(airtime_lora_us(&p, &us), LB_ERR_INVAL);
	p = lora(7, 125000, 256, true);
	ck_assert_int_eq(airtime_lora_us(&p, &us), LB_ERR_INVAL);
	p = lora(7, 125000, 10, true);
	p.cr = 0;
	ck_assert_int_eq(airtime_lora_us(&p, &us), LB_ERR_INVAL);
	p.cr = 5;
	ck_assert_int_eq(airtime_lora_us(&p, &us), LB_ERR_INVAL);
	p.cr = 1;
	p.preamble = 0;
	ck_assert_int_eq(airtime_lora_us(&p, &us), LB_ERR_INVAL);
	p.preamble = 8;
	p.ldro = (enum airtime_ldro)7;
	ck_assert_int_eq(airtime_lora_us(&p, &us), LB_ERR_INVAL);
	ck_assert_int_eq(airtime_lora_us(NULL, &us), LB_ERR_INVAL);
	p.ldro = AIRTIME_LDRO_AUTO;
	ck_assert_int_eq(airtime_lora_us(&p, NULL), LB_ERR_INVAL);
	uint32_t t;
	ck_assert_int_eq(airtime_lora_tsym_us(7, 200000, &t), LB_ERR_INVAL);
}
END_TEST

START_TEST(test_frame)
{
	uint64_t us = 0;
	ck_assert_int_eq(airtime_frame_us(AIRTIME_MOD_LORA, 7, 125, 1, 0, 13, true, &us), LB_OK);
	ck_assert_uint_eq(us, 46336);
	/* downlink: no CRC (join-accept 17 bytes SF8) */
	ck_assert_int_eq(airtime_frame_us(AIRTIME_MOD_LORA, 8, 125, 1, 0, 17, false, &us), LB_OK);
	ck_assert_uint_eq(us, 92672);
	/* cr 0 (codr absent) is taken as 4/5 */
	ck_assert_int_eq(airtime_frame_us(AIRTIME_MOD_LORA, 12, 125, 0, 0, 23, true, &us), LB_OK);
	ck_assert_uint_eq(us, 1482752);
	ck_assert_int_eq(airtime_frame_us(AIRTIME_MOD_FSK, 0, 0, 0, 50000, 200, true, &us), LB_OK);
	ck_assert_uint_eq(us, 33760);
	ck_assert_int_eq(airtime_frame_us(AIRTIME_MOD_FSK, 0, 0, 0, 50000, 200, false, &us), LB_OK);
	ck_assert_uint_eq(us, 33760);
	ck_assert_int_eq(airtime_frame_us((enum airtime_modulation)2, 7, 125, 1, 0, 13, true, &us),
			 LB_ERR_INVAL);
	ck_assert_int_eq(airtime_frame_us(AIRTIME_MOD_LORA, 7, 200, 1, 0, 13, true, &us),
			 LB_ERR_INVAL);
}
END_TEST

/* ---- exhaustive comparison with a straightforward float version --------- */

/* The formula of Semtech AN1200.13 exactly as printed, in double precision. */
static double ref_toa_s(int sf, double bw, int cr, int pl, int crc, int ih, int de, int npre)
{
	double tsym = pow(2.0, sf) / bw;
	double tpre = (npre + 4.25) * tsym;
	double num = 8.0 * pl - 4.0 * sf + 28 + 16.0 * crc - 20.0 * ih;
	double sym = 8 + fmax(ceil(num / (4.0 * (sf - 2 * de))) * (cr + 4), 0.0);
	return tpre + sym * tsym;
}

START_TEST(test_exhaustive_vs_float)
{
	static const uint32_t bws[] = { 125000, 250000, 500000 };
	unsigned checked = 0;
	for (uint8_t sf = 7; sf <= 12; sf++)
		for (size_t b = 0; b < 3; b++)
			for (uint8_t cr = 1; cr <= 4; cr++)
				for (int len = 0; len <= 255; len++)
					for (int crc = 0; crc <= 1; crc++) {
						struct airtime_lora p = lora(sf, bws[b], (uint16_t)len, crc);
						p.cr = cr;
						int de = airtime_ldro_auto(sf, bws[b]) ? 1 : 0;
						double s = ref_toa_s(sf, bws[b], cr, len, crc, 0, de, 8);
						uint64_t want = (uint64_t)llround(s * 1e6);
						uint64_t got = toa(&p);
						ck_assert_msg(got == want,
							      "SF%u BW%u CR%u len %d crc %d: %llu != %llu",
							      sf, bws[b], cr, len, crc,
							      (unsigned long long)got,
							      (unsigned long long)want);
						checked++;
					}
	ck_assert_uint_eq(checked, 6 * 3 * 4 * 256 * 2);
}
END_TEST

START_TEST(test_exhaustive_ih_ldro_preamble)
{
	for (uint8_t sf = 7; sf <= 12; sf++)
		for (int len = 0; len <= 255; len += 3)
			for (int ih = 0; ih <= 1; ih++)
				for (int de = 0; de <= 1; de++) {
					struct airtime_lora p = lora(sf, 125000, (uint16_t)len, true);
					p.implicit_header = ih;
					p.ldro = de ? AIRTIME_LDRO_ON : AIRTIME_LDRO_OFF;
					p.preamble = (uint16_t)(6 + len % 20);
					double s = ref_toa_s(sf, 125000, 1, len, 1, ih, de, p.preamble);
					ck_assert_uint_eq(toa(&p), (uint64_t)llround(s * 1e6));
				}
}
END_TEST

/* ---- CLI ----------------------------------------------------------------- */

struct cli_result {
	int rc;
	char out[512];
	char err[2048];
};

static void slurp(FILE *f, char *buf, size_t cap)
{
	rewind(f);
	size_t n = fread(buf, 1, cap - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/* Runs airtime_cli_main with stdout/stderr redirected to temp files. */
static void run_cli(struct cli_result *res, int argc, char **argv)
{
	FILE *out = tmpfile(), *err = tmpfile();
	ck_assert_ptr_nonnull(out);
	ck_assert_ptr_nonnull(err);
	fflush(stdout);
	fflush(stderr);
	int saved_out = dup(STDOUT_FILENO), saved_err = dup(STDERR_FILENO);
	ck_assert_int_ge(saved_out, 0);
	ck_assert_int_ge(saved_err, 0);
	dup2(fileno(out), STDOUT_FILENO);
	dup2(fileno(err), STDERR_FILENO);
	res->rc = airtime_cli_main(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, STDOUT_FILENO);
	dup2(saved_err, STDERR_FILENO);
	close(saved_out);
	close(saved_err);
	slurp(out, res->out, sizeof(res->out));
	slurp(err, res->err, sizeof(res->err));
}

#define CLI(res, ...)                                                          \
	do {                                                                   \
		char *argv_[] = { "airtime", __VA_ARGS__, NULL };              \
		run_cli((res), (int)(sizeof(argv_) / sizeof(argv_[0])) - 1, argv_); \
	} while (0)

static void expect_ok(struct cli_result *r, const char *text)
{
	ck_assert_int_eq(r->rc, 0);
	ck_assert_str_eq(r->out, text);
	ck_assert_str_eq(r->err, "");
}

static void expect_usage(struct cli_result *r)
{
	ck_assert_int_eq(r->rc, 2);
	ck_assert_str_eq(r->out, "");
	ck_assert_ptr_nonnull(strstr(r->err, "usage: lorabridge airtime"));
}

START_TEST(test_cli_ok)
{
	struct cli_result r;
	CLI(&r, "--sf", "7", "--bw", "125", "--size", "13");
	expect_ok(&r, "46.336\n");
	CLI(&r, "--sf", "12", "--bw", "125", "--size", "23", "--cr", "4/5");
	expect_ok(&r, "1482.752\n");
	CLI(&r, "--sf=12", "--bw=500", "--size=17", "--no-crc");
	expect_ok(&r, "288.768\n");
	CLI(&r, "--sf", "7", "--size", "10", "--cr", "4/8");     /* bw defaults to 125 */
	expect_ok(&r, "53.504\n");
	CLI(&r, "--sf", "7", "--size", "10", "--cr", "3");       /* index form of 4/7 */
	expect_ok(&r, "49.408\n");
	CLI(&r, "--sf", "7", "--bw", "125", "--size", "13", "--implicit-header");
	expect_ok(&r, "41.216\n");
	CLI(&r, "--sf", "7", "--bw", "125", "--size", "13", "--preamble", "10");
	expect_ok(&r, "48.384\n");
	CLI(&r, "--sf", "12", "--bw", "125", "--size", "13", "--ldro", "off");
	expect_ok(&r, "1155.072\n");
	CLI(&r, "--sf", "12", "--bw", "250", "--size", "10", "--ldro", "auto");
	expect_ok(&r, "495.616\n");
	CLI(&r, "--fsk", "--size", "200");
	expect_ok(&r, "33.760\n");
	CLI(&r, "--fsk", "--bitrate", "50000", "--size", "0", "--no-crc");
	expect_ok(&r, "1.440\n");
	CLI(&r, "--sf", "8", "--bw", "500", "--size", "23");
	expect_ok(&r, "28.288\n");
}
END_TEST

START_TEST(test_cli_usage_errors)
{
	struct cli_result r;
	CLI(&r, "--sf", "7", "--bw", "125");                     /* no --size */
	expect_usage(&r);
	CLI(&r, "--bw", "125", "--size", "13");                  /* no --sf */
	expect_usage(&r);
	CLI(&r, "--sf", "13", "--size", "13");
	expect_usage(&r);
	CLI(&r, "--sf", "7", "--bw", "200", "--size", "13");
	expect_usage(&r);
	CLI(&r, "--sf", "7", "--size", "256");
	expect_usage(&r);
	CLI(&r, "--sf", "7", "--size", "-1");
	expect_usage(&r);
	CLI(&r, "--sf", "7", "--size", "13x");
	expect_usage(&r);
	CLI(&r, "--sf", "7", "--size", "13", "--cr", "4/9");
	expect_usage(&r);
	CLI(&r, "--sf", "7", "--size", "13", "--ldro", "maybe");
	expect_usage(&r);
	CLI(&r, "--sf", "7", "--size", "13", "--frobnicate", "1");
	expect_usage(&r);
	CLI(&r, "--sf", "7", "--size", "13", "extra");
	expect_usage(&r);
	CLI(&r, "--sf", "7", "--size");                          /* missing value */
	expect_usage(&r);
	CLI(&r, "--fsk", "--size", "13", "--bitrate", "0");
	expect_usage(&r);
	CLI(&r, "--fsk", "--size", "13", "--preamble", "300");   /* > 255 bytes */
	expect_usage(&r);
}
END_TEST

START_TEST(test_cli_help)
{
	struct cli_result r;
	CLI(&r, "--help");
	ck_assert_int_eq(r.rc, 0);
	ck_assert_ptr_nonnull(strstr(r.out, "usage: lorabridge airtime"));
	ck_assert_str_eq(r.err, "");
}
END_TEST

static Suite *airtime_suite(void)
{
	Suite *s = suite_create("airtime");
	TCase *tc = tcase_create("vectors");
	tcase_add_loop_test(tc, test_tts_table, 0, (int)(sizeof(tts_table) / sizeof(tts_table[0])));
	tcase_add_test(tc, test_tts_fsk_200);
	tcase_add_test(tc, test_fsk_rounding_and_errors);
	tcase_add_test(tc, test_brocaar);
	tcase_add_loop_test(tc, test_bw125_table, 0,
			    (int)(sizeof(bw125_table) / sizeof(bw125_table[0])));
	tcase_add_test(tc, test_extra_lines);
	tcase_add_test(tc, test_ldro_rule);
	tcase_add_test(tc, test_sf5_sf6);
	tcase_add_test(tc, test_invalid);
	tcase_add_test(tc, test_frame);
	suite_add_tcase(s, tc);

	TCase *tx = tcase_create("exhaustive");
	tcase_set_timeout(tx, 60);
	tcase_add_test(tx, test_exhaustive_vs_float);
	tcase_add_test(tx, test_exhaustive_ih_ldro_preamble);
	suite_add_tcase(s, tx);

	TCase *tcli = tcase_create("cli");
	tcase_add_test(tcli, test_cli_ok);
	tcase_add_test(tcli, test_cli_usage_errors);
	tcase_add_test(tcli, test_cli_help);
	suite_add_tcase(s, tcli);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(airtime_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
