/* SPDX-License-Identifier: MIT */
/* cli_args.c - shared argument helpers of the subcommands. See cli_args.h. */
#include "daemon/cli_args.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/lb_err.h"

bool cli_parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	if (s == NULL || *s < '0' || *s > '9')
		return false;
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

int cli_usage_error(const char *command, const char *usage, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "lorabridge %s: ", command);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fputs(usage, stderr);
	return CLI_EXIT_USAGE;
}

int cli_option_result(const char *command, const char *usage, const char *name, const char *val,
		      int err)
{
	if (val == NULL)
		return cli_usage_error(command, usage, "option '%s' needs a value", name);
	if (err == LB_ERR_NOT_FOUND)
		return cli_usage_error(command, usage, "unknown option '%s'", name);
	if (err != LB_OK)
		return cli_usage_error(command, usage, "invalid value for %s: '%s'", name, val);
	return 0;
}
