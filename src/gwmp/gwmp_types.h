/* SPDX-License-Identifier: MIT */
/*
 * gwmp_types.h - the data of the Semtech UDP protocol (GWMP v1/v2) as plain
 * C structs: the limits the codec enforces and the decoded forms of the
 * JSON bodies (rxpk, stat, txpk, txpk_ack). No functions: gwmp.h (framing),
 * gwmp_json.h (reading) and gwmp_json_write.h (writing) work on them.
 *
 * Ownership: the structs own nothing; byte payloads are copied into fixed
 * buffers inside them (at most GWMP_MAX_PHY bytes).
 */
#ifndef LB_GWMP_TYPES_H
#define LB_GWMP_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest datagram accepted from a gateway. Semtech's upstream buffer is 4550
 * bytes (8 packets); other forwarders batch more, so allow a full UDP payload
 * up to 64 KiB - headers, and count anything above as TOO_LARGE. */
#define GWMP_MAX_DATAGRAM 65507
/* A PULL_RESP must fit the forwarder's 1000-byte receive buffer (lora_pkt_fwd.c
 * v4.0.1, thread_down). */
#define GWMP_MAX_PULL_RESP 999
/* rxpk objects processed per PUSH_DATA (more are counted as TOO_LARGE). */
#define GWMP_MAX_RXPK 32
#define GWMP_MAX_PHY 255

enum gwmp_modulation { GWMP_MOD_LORA = 0, GWMP_MOD_FSK = 1, GWMP_MOD_LRFHSS = 2 };

/* One received packet (rxpk), Semtech PROTOCOL.TXT §4. Optional fields have has_* flags. */
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
	uint8_t cr;                  /* LoRa code rate denominator-4: 1..4 for 4/5..4/8,
				      * 0 = "OFF"/absent */
	bool has_rssi;
	int rssi;                    /* dBm (rssis if rsig used) */
	bool has_lsnr;
	float lsnr;                  /* dB */
	uint16_t size;
	uint8_t data[GWMP_MAX_PHY];  /* decoded PHYPayload, `size` bytes */
};

/* The numeric fields of a `stat`, for gwmp_stat.dropped (GWMP_STAT_BIT). */
enum gwmp_stat_field {
	GWMP_STAT_LATI, GWMP_STAT_LONG, GWMP_STAT_ALTI, GWMP_STAT_RXNB, GWMP_STAT_RXOK,
	GWMP_STAT_RXFW, GWMP_STAT_ACKR, GWMP_STAT_DWNB, GWMP_STAT_TXNB, GWMP_STAT_TEMP,
	GWMP_STAT__COUNT
};
#define GWMP_STAT_BIT(f) (1u << (f))

/* Gateway status report (stat), PROTOCOL.TXT §4. Numeric fields are
 * absent-safe (0 when absent or dropped). */
struct gwmp_stat {
	bool has_time;
	char time[40];               /* as sent: "2014-01-12 08:59:28 GMT" */
	bool has_location;
	double lati, lon;
	bool has_alti;               /* alti sent and usable */
	int alti;
	uint32_t rxnb, rxok, rxfw, dwnb, txnb;
	double ackr;
	bool has_temp;
	double temp;
	unsigned dropped;            /* GWMP_STAT_BITs of fields sent but unusable:
				      * wrong type, not finite, out of range */
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

/* The last hour whose start the reading of rxpk `time` asked timegm()
 * for: a gateway's frames mostly fall in the hour of the one before, so
 * their time is that start plus minutes and seconds, without the call
 * (gwmp_parse_push_memo()). All zero: empty. */
struct gwmp_time_memo {
	uint32_t hour;               /* the date and hour, packed (gwmp_text.c); 0: none */
	int64_t hour_s;              /* its start in seconds since the Unix epoch */
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

/* TX_ACK outcome, PROTOCOL.TXT §5.5 and §6. `error` is "" for success (absent JSON, "", "NONE"). */
struct gwmp_txack {
	char error[32];
	char warn[32];
	bool has_value;
	int value;
};

#endif
