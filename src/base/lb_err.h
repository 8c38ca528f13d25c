/* SPDX-License-Identifier: MIT */
/*
 * lb_err.h - the one error enum of lorabridge.
 *
 * Every function that can fail returns `int`: LB_OK (0) on success, a negative
 * `enum lb_err` value otherwise. Library errors (MOSQ_ERR_*, CURLcode, OpenSSL,
 * libconfig, SQLite) are translated into these codes at the module boundary
 * that calls the library, never deeper. lb_strerror() gives a short, stable,
 * lowercase description suitable for logs; lb_errname() gives the
 * UPPER_SNAKE name used as a drop-reason key in statistics and `log` events.
 */
#ifndef LB_ERR_H
#define LB_ERR_H

enum lb_err {
	LB_OK = 0,
	LB_ERR_NOMEM = -1,          /* allocation failed */
	LB_ERR_INVAL = -2,          /* invalid argument (programming or config error) */
	LB_ERR_TOO_SHORT = -3,      /* input shorter than the format requires */
	LB_ERR_VERSION = -4,        /* unsupported protocol version */
	LB_ERR_UNKNOWN_TYPE = -5,   /* unknown packet identifier / message type */
	LB_ERR_JSON = -6,           /* JSON syntax error or wrong JSON type */
	LB_ERR_BASE64 = -7,         /* invalid base64 */
	LB_ERR_SIZE_MISMATCH = -8,  /* declared size differs from actual */
	LB_ERR_TOO_LARGE = -9,      /* input larger than the format allows */
	LB_ERR_MALFORMED = -10,     /* structurally invalid for another reason */
	LB_ERR_MIC = -11,           /* message integrity code does not verify */
	LB_ERR_CRYPTO = -12,        /* the crypto library reported a failure */
	LB_ERR_REPLAY = -13,        /* frame counter not above the last accepted */
	LB_ERR_NOT_FOUND = -14,     /* no such device / gateway / entry */
	LB_ERR_IO = -15,            /* system call failed (errno logged by caller) */
	LB_ERR_CONFIG = -16,        /* configuration invalid */
	LB_ERR_FULL = -17,          /* bounded queue or table is full */
	LB_ERR_MQTT = -18,          /* libmosquitto reported an error */
	LB_ERR_RANGE = -19,         /* value out of the allowed range */
	LB_ERR_RATE_LIMIT = -20,    /* sender exceeded its rate limit */
	LB_ERR_DENIED = -21,        /* sender not allowed (allow-list) */
	LB_ERR_DUPLICATE = -22,     /* already seen (de-duplication, retransmission) */
	LB_ERR_STATE = -23,         /* operation not valid in the current state */
	LB_ERR_STATE_LOST = -24,    /* durable state older than what was committed */
	LB_ERR_ADDRESS_MISMATCH = -25, /* sender's address is not the one bound to its identity */
	LB_ERR_TIMEOUT = -26,       /* a deadline passed (a codec's run time) */
	LB_ERR_SCRIPT = -27,        /* a script failed: does not load, throws, reports errors */
	LB_ERR_AGAIN = -28,         /* not yet: what it needs is not on the disk (try later) */
	LB_ERR_UNUSABLE = -29,      /* stored state unusable until an operator acts (no retry) */
	LB_ERR_NO_LIBRARY = -30,    /* a shared library it needs cannot be loaded (no retry:
				     * install it, restart) */
	LB_ERR__COUNT = 31          /* number of codes including LB_OK */
};

/* Short human description, never NULL ("unknown error" for foreign values). */
const char *lb_strerror(int err);

/* Stable UPPER_SNAKE name without the LB_ERR_ prefix ("OK", "MIC", ...). */
const char *lb_errname(int err);

#endif
