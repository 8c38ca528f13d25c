/* SPDX-License-Identifier: MIT */
/*
 * log.h - cheap, levelled logging with a module tag.
 *
 * The destination (stderr, and syslog when the daemon runs in the
 * background) is chosen in log.c only. LB_LOG() checks the level before the
 * arguments are evaluated, so a disabled debug line costs one comparison.
 * LB_LOG_RL() is the rate-limited variant for lines triggered by network
 * input: at most LOG_RL_BURST lines per call site per LOG_RL_PERIOD_S
 * seconds of CLOCK_MONOTONIC (a step of the wall clock neither silences nor
 * floods). The number suppressed is reported with the next line that passes
 * or, if none comes, by log_ratelimit_tick() once the window has passed, and
 * by log_close() at the latest: a flood that stops still leaves its count.
 *
 * Codecs (gwmp, lorawan, lwcrypto, airtime, event_json, ...) never log: they
 * return an error code and the caller logs what and why.
 */
#ifndef LB_LOG_H
#define LB_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level {
	LOG_LVL_ERROR = 0,
	LOG_LVL_WARN = 1,
	LOG_LVL_NOTICE = 2,
	LOG_LVL_INFO = 3,
	LOG_LVL_DEBUG = 4
};

#define LOG_RL_BURST 5
#define LOG_RL_PERIOD_S 10

/* Per call-site state of LB_LOG_RL(), static in the macro's block. A site
 * that suppresses a line links itself into log.c's list of pending counts
 * (no allocation: the link is here) until its count is written. */
struct log_ratelimit {
	int64_t window_start_ms;         /* CLOCK_MONOTONIC */
	unsigned passed;
	unsigned suppressed;
	bool started;                    /* window_start_ms is set */
	bool listed;                     /* in the list of pending counts */
	enum log_level level;            /* for the count's own line */
	const char *module, *fmt;        /* the call site's literals */
	struct log_ratelimit *next_pending;
};

extern enum log_level log_threshold;

/* Choose destinations: stderr always, syslog (ident "lorabridge") if asked. */
void log_open(enum log_level threshold, bool use_syslog);
/* Lines less severe than max go to syslog only, not to stderr (default: all
 * go): a detaching daemon's caller sees its start-up's warnings and errors,
 * not its progress. */
void log_stderr_max(enum log_level max);
/* Writes every pending count of suppressed lines (log_ratelimit_tick()'s
 * line, window passed or not), then closes syslog. */
void log_close(void);

/* For the daemon's timers: writes "N similar line(s) suppressed" for every
 * call site of LB_LOG_RL() whose window has passed with lines suppressed and
 * none passed since. now_ms is CLOCK_MONOTONIC milliseconds (loop_now_ms());
 * returns the next such deadline on that clock, or -1 if none is pending. */
int64_t log_ratelimit_tick(int64_t now_ms);

/* Parse "error", "warn", "notice", "info", "debug"; -1 if unknown. */
int log_level_parse(const char *name);
const char *log_level_name(enum log_level level);

/* Not for direct use: the macros below check the level first. */
void log_write(enum log_level level, const char *module, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool log__ratelimit_pass(struct log_ratelimit *rl, enum log_level level, const char *module,
			 const char *fmt, unsigned *suppressed);

#define LB_LOG(level, module, ...)                                    \
	do {                                                          \
		if ((level) <= log_threshold)                         \
			log_write((level), (module), __VA_ARGS__);    \
	} while (0)

#define LB_LOG_RL(level, module, fmt, ...)                                      \
	do {                                                                    \
		static struct log_ratelimit rl_state_;                          \
		unsigned rl_supp_;                                              \
		if ((level) <= log_threshold &&                                 \
		    log__ratelimit_pass(&rl_state_, (level), (module), fmt,     \
					&rl_supp_)) {                           \
			if (rl_supp_)                                           \
				log_write((level), (module),                    \
					  fmt " (%u similar suppressed)",       \
					  __VA_ARGS__, rl_supp_);               \
			else                                                    \
				log_write((level), (module), fmt, __VA_ARGS__); \
		}                                                               \
	} while (0)

#define log_error(mod, ...) LB_LOG(LOG_LVL_ERROR, mod, __VA_ARGS__)
#define log_warn(mod, ...) LB_LOG(LOG_LVL_WARN, mod, __VA_ARGS__)
#define log_notice(mod, ...) LB_LOG(LOG_LVL_NOTICE, mod, __VA_ARGS__)
#define log_info(mod, ...) LB_LOG(LOG_LVL_INFO, mod, __VA_ARGS__)
#define log_debug(mod, ...) LB_LOG(LOG_LVL_DEBUG, mod, __VA_ARGS__)

#endif
