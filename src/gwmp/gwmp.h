/*
 * gwmp.h - Semtech UDP packet-forwarder protocol (GWMP v1/v2), pure codec.
 *
 * Reference: Semtech PROTOCOL.TXT (Lora-net/packet_forwarder, rev 1.4: §3
 * upstream, §4 rxpk/stat, §5 downstream and TX_ACK, §6 txpk/txpk_ack),
 * sx1302_hal packet_forwarder/PROTOCOL.md rev 1.6, and lora_pkt_fwd.c v4.0.1
 * where the forwarder goes beyond the text. No I/O, no clock, no logging, no globals:
 * functions take bytes and return structs (or the reverse) and an lb_err code.
 *
 *   0        1        2        3        4 ............ 11   12 ....
 *  +--------+--------+--------+--------+-----------------+----------
 *  |version | token (2 bytes) | ident  | gateway EUI (8) | JSON ...     PUSH_DATA, TX_ACK
 *  +--------+--------+--------+--------+-----------------+              PULL_DATA (no JSON)
 *  |version | token (2 bytes) | ident  | JSON ...                       PULL_RESP
 *  |version | token (2 bytes) | ident  |                                PUSH_ACK, PULL_ACK
 *
 * Ownership: parsed structs point into nothing the caller must free; byte
 * payloads are copied into fixed buffers inside the structs (max 255 bytes).
 */
#ifndef LB_GWMP_H
#define LB_GWMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GWMP_OFF_VERSION 0
#define GWMP_OFF_TOKEN 1
#define GWMP_LEN_TOKEN 2
#define GWMP_OFF_IDENT 3
#define GWMP_OFF_EUI 4
#define GWMP_LEN_EUI 8
#define GWMP_LEN_HDR 4      /* version + token + identifier */
#define GWMP_LEN_HDR_EUI 12 /* ... + gateway EUI */
#define GWMP_OFF_JSON_UP 12 /* PUSH_DATA / TX_ACK JSON */
#define GWMP_OFF_JSON_DOWN 4 /* PULL_RESP JSON */

/* Largest datagram accepted from a gateway. Semtech's upstream buffer is 4550
 * bytes (8 packets); other forwarders batch more, so allow a full UDP payload
 * up to 64 KiB - headers, and count anything above as TOO_LARGE. */
#define GWMP_MAX_DATAGRAM 65507
/* A PULL_RESP must fit the forwarder's 1000-byte receive buffer (lora_pkt_fwd.c). */
#define GWMP_MAX_PULL_RESP 999
/* rxpk objects processed per PUSH_DATA (more are counted as TOO_LARGE). */
#define GWMP_MAX_RXPK 32
#define GWMP_MAX_PHY 255

enum gwmp_type {
	GWMP_PUSH_DATA = 0x00,
	GWMP_PUSH_ACK = 0x01,
	GWMP_PULL_DATA = 0x02,
	GWMP_PULL_RESP = 0x03,
	GWMP_PULL_ACK = 0x04,
	GWMP_TX_ACK = 0x05
};

/* Common header of a datagram sent by a gateway (PUSH_DATA, PULL_DATA, TX_ACK). */
struct gwmp_header {
	uint8_t version;             /* 1 or 2 */
	uint8_t token[GWMP_LEN_TOKEN];
	enum gwmp_type type;
	uint64_t gateway_eui;        /* MSB first on the wire */
	const uint8_t *json;         /* points into the datagram; NULL if none */
	size_t json_len;             /* trailing NUL/whitespace stripped */
};

enum gwmp_modulation { GWMP_MOD_LORA = 0, GWMP_MOD_FSK = 1, GWMP_MOD_LRFHSS = 2 };

/* One received packet (rxpk), PROTOCOL.TXT §4. Optional fields have has_* flags. */
struct gwmp_rxpk {
	uint32_t tmst;               /* concentrator µs counter at end of RX */
	bool has_time;
	int64_t time_us;             /* `time` as µs since the Unix epoch */
	bool has_tmms;
	uint64_t tmms;               /* GPS ms */
	uint32_t freq_hz;
	int chan;
	int rfch;
	int stat;                    /* CRC status: 1 OK, -1 bad, 0 none or absent */
	enum gwmp_modulation modu;
	uint8_t sf;                  /* LoRa: 7..12 (5..12 accepted) */
	uint16_t bw_khz;             /* LoRa: 125, 250, 500 */
	uint32_t bitrate;            /* FSK: bit/s */
	uint8_t cr;                  /* LoRa code rate denominator-4: 1..4 for 4/5..4/8, 0 = "OFF"/absent */
	bool has_rssi;
	int rssi;                    /* dBm (rssis if rsig used) */
	bool has_lsnr;
	float lsnr;                  /* dB */
	uint16_t size;
	uint8_t data[GWMP_MAX_PHY];  /* decoded PHYPayload, `size` bytes */
};

/* Gateway status report (stat), PROTOCOL.TXT §4. Numeric fields are absent-safe. */
struct gwmp_stat {
	bool has_time;
	char time[40];               /* as sent: "2014-01-12 08:59:28 GMT" */
	bool has_location;
	double lati, lon;
	int alti;
	uint32_t rxnb, rxok, rxfw, dwnb, txnb;
	double ackr;
	bool has_temp;
	double temp;
};

/* The JSON of a PUSH_DATA. A bad rxpk object does not spoil its neighbours:
 * rxpk_err[i] is LB_OK or the reason rxpk[i] must be dropped. */
struct gwmp_push {
	size_t n_rxpk;                       /* entries filled (ok or not) */
	size_t n_rxpk_excess;                /* objects beyond GWMP_MAX_RXPK, not parsed */
	struct gwmp_rxpk rxpk[GWMP_MAX_RXPK];
	int rxpk_err[GWMP_MAX_RXPK];
	bool has_stat;
	struct gwmp_stat stat;
};

/* One downlink to transmit (txpk), PROTOCOL.TXT §6. */
struct gwmp_txpk {
	bool imme;
	bool has_tmst;
	uint32_t tmst;
	bool has_tmms;
	uint64_t tmms;
	uint32_t freq_hz;
	int rfch;
	int powe;                    /* dBm */
	enum gwmp_modulation modu;
	uint8_t sf;
	uint16_t bw_khz;
	uint32_t bitrate;            /* FSK */
	uint32_t fdev;               /* FSK */
	uint8_t cr;                  /* 1..4 */
	bool ipol;
	bool ncrc;
	int prea;                    /* 0 = forwarder default */
	uint16_t size;
	uint8_t data[GWMP_MAX_PHY];
};

/* TX_ACK outcome, PROTOCOL.TXT §5.5, §6. `error` is "" for success (absent
 * JSON, "", "NONE"). */
struct gwmp_txack {
	char error[32];
	char warn[32];
	bool has_value;
	int value;
};

/*
 * Parse the header of a datagram received from a gateway.
 * Accepts PUSH_DATA, PULL_DATA and TX_ACK of version 1 or 2.
 * Errors: LB_ERR_TOO_SHORT (< 4 bytes, or < 12 for the types with an EUI),
 * LB_ERR_VERSION, LB_ERR_UNKNOWN_TYPE (including server->gateway types),
 * LB_ERR_TOO_LARGE (> GWMP_MAX_DATAGRAM), LB_ERR_JSON (PUSH_DATA without a
 * JSON object, i.e. not starting with '{' / ending with '}').
 */
int gwmp_parse_header(const uint8_t *buf, size_t len, struct gwmp_header *out);

/* Write the 4-byte PUSH_ACK or PULL_ACK answering `req` (same version and
 * token); returns 4, or 0 for a TX_ACK, which is not acknowledged (PROTOCOL.TXT §5.1). */
size_t gwmp_build_ack(const struct gwmp_header *req, uint8_t out[GWMP_LEN_HDR]);

/* Parse the JSON of a PUSH_DATA (hdr->json). Errors: LB_ERR_JSON for
 * invalid JSON / wrong types at the top level. Per-rxpk errors go to
 * out->rxpk_err: LB_ERR_JSON (wrong type, or missing freq/datr/size/data),
 * LB_ERR_BASE64, LB_ERR_SIZE_MISMATCH, LB_ERR_TOO_LARGE (size or data
 * > 255), LB_ERR_MALFORMED (bad datr/codr/modu/time, value out of range).
 * Other rxpk fields are optional (absent: 0 / has_* false); JSON null counts
 * as absent. `stat` is read leniently: a field of the wrong type is absent. */
int gwmp_parse_push(const uint8_t *json, size_t len, struct gwmp_push *out);

/* Parse the optional JSON of a TX_ACK (json may be NULL / len 0 = success).
 * "NONE" is stored as "" (success); longer strings are truncated to fit.
 * Errors: LB_ERR_JSON (invalid JSON, no `txpk_ack` object, wrong types). */
int gwmp_parse_txack(const uint8_t *json, size_t len, struct gwmp_txack *out);

/* Build a PULL_RESP datagram. Errors: LB_ERR_TOO_LARGE if it would exceed
 * `cap` or GWMP_MAX_PULL_RESP, LB_ERR_INVAL for an inconsistent txpk. */
int gwmp_build_pull_resp(uint8_t version, const uint8_t token[GWMP_LEN_TOKEN],
			 const struct gwmp_txpk *tx, uint8_t *out, size_t cap, size_t *out_len);

/* Build gateway->server datagrams (used by the simulator and the tests).
 * json may be NULL. Errors: LB_ERR_TOO_LARGE. */
int gwmp_build_up(uint8_t version, const uint8_t token[GWMP_LEN_TOKEN], enum gwmp_type type,
		  uint64_t gateway_eui, const char *json, uint8_t *out, size_t cap, size_t *out_len);

/* Serialise rxpk/stat into a PUSH_DATA JSON body (simulator, tests, fuzz
 * seeds). `n` may be 0 and `stat` NULL, not both. Returns length written
 * (without NUL) or a negative lb_err (LB_ERR_TOO_LARGE). */
int gwmp_format_push(const struct gwmp_rxpk *rxpk, size_t n, const struct gwmp_stat *stat,
		     char *out, size_t cap);

/* Parse a PULL_RESP's JSON into a txpk (simulator, tests). Required fields as
 * in lora_pkt_fwd.c v4.0.1 (LB_ERR_JSON if missing); unlike Semtech's
 * forwarder, a `size` that does not match `data` is an error
 * (LB_ERR_SIZE_MISMATCH). */
int gwmp_parse_pull_resp(const uint8_t *json, size_t len, struct gwmp_txpk *out);

/* "SF7BW125" <-> sf/bw; returns LB_OK or LB_ERR_MALFORMED. */
int gwmp_parse_datr(const char *s, uint8_t *sf, uint16_t *bw_khz);

/* EUI as 16 lowercase hex chars + NUL. */
void gwmp_eui_str(uint64_t eui, char out[17]);

#endif
