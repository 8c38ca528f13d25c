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

void log_close(void)
{
	if (log_to_syslog)
		closelog();
	log_to_syslog = false;
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

bool log__ratelimit_pass(struct log_ratelimit *rl, unsigned *suppressed)
{
	time_t now = time(NULL);

	*suppressed = 0;
	if (now - rl->window_start >= LOG_RL_PERIOD_S) {
		*suppressed = rl->suppressed;
		rl->window_start = now;
		rl->passed = 0;
		rl->suppressed = 0;
	}
	if (rl->passed >= LOG_RL_BURST) {
		rl->suppressed++;
		return false;
	}
	rl->passed++;
	return true;
}
