/* SPDX-License-Identifier: MIT */
/* log.c - the one place that decides where log lines go. See log.h. */
#define _POSIX_C_SOURCE 200809L
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

enum log_level log_threshold = LOG_LVL_INFO;
static bool log_to_syslog;
static bool log_to_journal;

static const char *const level_names[] = {"error", "warn", "notice", "info", "debug"};
static const int level_syslog[] = {LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG};

/* Under systemd, stderr is the journal when $JOURNAL_STREAM names its
 * device:inode (systemd.exec(5)). Lines then carry a "<N>" priority prefix
 * (sd-daemon(3)) and no timestamp: the journal adds its own. */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) != 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_open(enum log_level threshold, bool use_syslog)
{
	log_threshold = threshold;
	log_to_journal = stderr_is_journal();
	log_to_syslog = use_syslog && !log_to_journal;
	if (use_syslog)
		openlog("lorabridge", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

static enum log_level stderr_max = LOG_LVL_DEBUG;

void log_stderr_max(enum log_level max)
{
	stderr_max = max;
}

int log_level_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcasecmp(name, level_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *log_level_name(enum log_level level)
{
	if ((unsigned)level >= sizeof(level_names) / sizeof(level_names[0]))
		return "?";
	return level_names[level];
}

void log_write(enum log_level level, const char *module, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	if (log_to_journal) {
		fprintf(stderr, "<%d>%-6s [%s] %s\n", level_syslog[level], log_level_name(level),
			module, msg);
		return;
	}

	struct timeval tv;
	struct tm tm;
	char stamp[32];
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	if (level <= stderr_max)
		fprintf(stderr, "%s.%03ldZ %-6s [%s] %s\n", stamp, (long)(tv.tv_usec / 1000),
			log_level_name(level), module, msg);
	if (log_to_syslog)
		syslog(level_syslog[level], "[%s] %s", module, msg);
}

/* The call sites of LB_LOG_RL() with a count of suppressed lines not yet
 * written (or written by a line that passed: unlinked at the next tick),
 * and a moment at or before the earliest of their windows' ends. */
static struct log_ratelimit *rl_pending;
static int64_t rl_next_due = -1;

/* The rate limit's clock: a step of the wall clock (NTP, an operator)
 * must not hold a window open for the length of the step. */
static int64_t rl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t rl_window_end(const struct log_ratelimit *rl)
{
	return rl->window_start_ms + (int64_t)LOG_RL_PERIOD_S * 1000;
}

/* The first suppression since its count was last written: the site joins
 * the list that log_ratelimit_tick() and log_close() read. */
static void rl_list(struct log_ratelimit *rl, enum log_level level, const char *module,
		    const char *fmt)
{
	rl->level = level;
	rl->module = module;
	rl->fmt = fmt;
	rl->listed = true;
	rl->next_pending = rl_pending;
	rl_pending = rl;
	if (rl_next_due < 0 || rl_window_end(rl) < rl_next_due)
		rl_next_due = rl_window_end(rl);
}

bool log__ratelimit_pass(struct log_ratelimit *rl, enum log_level level, const char *module,
			 const char *fmt, unsigned *suppressed)
{
	int64_t now = rl_now_ms();

	*suppressed = 0;
	if (!rl->started || now - rl->window_start_ms >= (int64_t)LOG_RL_PERIOD_S * 1000) {
		*suppressed = rl->suppressed;
		rl->window_start_ms = now;
		rl->started = true;
		rl->passed = 0;
		rl->suppressed = 0;
	}
	if (rl->passed >= LOG_RL_BURST) {
		rl->suppressed++;
		if (!rl->listed)
			rl_list(rl, level, module, fmt);
		return false;
	}
	rl->passed++;
	return true;
}

/* The count's own line, at the level of the lines it stands for. */
static void rl_write_count(struct log_ratelimit *rl)
{
	if (rl->level <= log_threshold)
		log_write(rl->level, rl->module, "%u similar line(s) suppressed (\"%s\")",
			  rl->suppressed, rl->fmt);
	rl->suppressed = 0;
}

/* Writes the counts of the sites whose window ended by now (all of them
 * if all), unlinks them and those whose count a passing line took;
 * returns the earliest window end still pending, or -1. */
static int64_t rl_sweep(int64_t now_ms, bool all)
{
	struct log_ratelimit **link = &rl_pending;
	int64_t due = -1;

	while (*link) {
		struct log_ratelimit *rl = *link;
		bool ended = all || now_ms >= rl_window_end(rl);

		if (rl->suppressed > 0 && !ended) {
			if (due < 0 || rl_window_end(rl) < due)
				due = rl_window_end(rl);
			link = &rl->next_pending;
			continue;
		}
		if (rl->suppressed > 0)
			rl_write_count(rl);
		rl->listed = false;
		*link = rl->next_pending;
		rl->next_pending = NULL;
	}
	return due;
}

int64_t log_ratelimit_tick(int64_t now_ms)
{
	if (rl_next_due < 0 || now_ms < rl_next_due)
		return rl_next_due;
	rl_next_due = rl_sweep(now_ms, false);
	return rl_next_due;
}

void log_close(void)
{
	rl_next_due = rl_sweep(0, true);
	if (log_to_syslog)
		closelog();
	log_to_syslog = false;
}
