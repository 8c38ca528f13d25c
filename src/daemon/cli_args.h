/* SPDX-License-Identifier: MIT */
/*
 * cli_args.h - what the command-line tools of the daemon binary (lorabridge
 * airtime, lorabridge decode) share when reading their arguments: strict
 * numbers and the one way of saying a usage error.
 *
 * Nothing is allocated; messages go to stderr.
 */
#ifndef LB_CLI_ARGS_H
#define LB_CLI_ARGS_H

#include <stdbool.h>

/* Exit status of a usage error, for every subcommand. */
#define CLI_EXIT_USAGE 2

/* Strict unsigned decimal in [min, max]: digits only, no sign, no
 * trailing text. False otherwise (*out untouched). */
bool cli_parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *out);

/* "lorabridge COMMAND: MESSAGE" and the usage text on stderr; returns
 * CLI_EXIT_USAGE. */
int cli_usage_error(const char *command, const char *usage, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The outcome of reading option `name` with value val (NULL: none given):
 * err is the subcommand's parser's verdict (LB_OK; LB_ERR_NOT_FOUND: no such
 * option; another code: the value is invalid). 0 when fine, else a usage
 * error said as cli_usage_error() does. */
int cli_option_result(const char *command, const char *usage, const char *name, const char *val,
		      int err);

#endif
