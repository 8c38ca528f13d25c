/* SPDX-License-Identifier: MIT */
/* passwd_cli.c - `lorabridge passwd`. See passwd_cli.h. */
#include "daemon/passwd_cli.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "base/lb_err.h"
#include "base/pwhash.h"

static void usage(FILE *out)
{
	fprintf(out, "usage: lorabridge passwd [--iterations N]\n"
		     "  reads a password (twice, without echo, from a terminal; else the first\n"
		     "  line of stdin) and prints its hash for http.password in lorabridge.conf;\n"
		     "  a space or tab at either end of it is refused\n"
		     "  --iterations N   PBKDF2 iterations (%d..%d, default %d)\n",
		PWHASH_MIN_ITER, PWHASH_MAX_ITER, PWHASH_DEFAULT_ITER);
}

/* One line of stdin without its newline; echo off on a terminal. */
static bool read_line(const char *prompt, bool tty, char *out, size_t cap)
{
	struct termios old, quiet;
	bool echo_off = false;

	if (tty) {
		fputs(prompt, stderr);
		fflush(stderr);
		if (tcgetattr(STDIN_FILENO, &old) == 0) {
			quiet = old;
			quiet.c_lflag &= ~(tcflag_t)ECHO;
			echo_off = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
		}
	}
	bool ok = fgets(out, (int)cap, stdin) != NULL;
	if (echo_off) {
		(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (!ok)
		return false;
	size_t n = strcspn(out, "\r\n");
	if (out[n] == '\0' && n == cap - 1)
		return false;    /* longer than the buffer */
	out[n] = '\0';
	return true;
}

static int parse_iter(int argc, char **argv, unsigned long *iter)
{
	static const struct option opts[] = {
		{"iterations", required_argument, NULL, 'i'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int ch;
	char *end;

	*iter = PWHASH_DEFAULT_ITER;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'i':
			*iter = strtoul(optarg, &end, 10);
			if (*end || *iter < PWHASH_MIN_ITER || *iter > PWHASH_MAX_ITER) {
				fprintf(stderr, "lorabridge passwd: --iterations: %d..%d\n",
					PWHASH_MIN_ITER, PWHASH_MAX_ITER);
				return LB_ERR_INVAL;
			}
			break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return LB_ERR_INVAL;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return LB_ERR_INVAL;
	}
	return LB_OK;
}

/* A space or tab at either end: fetch() strips them from a header value
 * (the Fetch standard normalizes it, as RFC 9110 §5.5 allows), so the
 * page would send another password than the one hashed. */
static bool edge_blank(const char *pw)
{
	size_t n = strlen(pw);

	return n > 0 && (pw[0] == ' ' || pw[0] == '\t' || pw[n - 1] == ' ' || pw[n - 1] == '\t');
}

int passwd_cli_main(int argc, char **argv)
{
	char pw[PWHASH_PASSWORD_MAX + 2], again[PWHASH_PASSWORD_MAX + 2];
	char out[PWHASH_TEXT_MAX];
	unsigned long iter;
	bool tty = isatty(STDIN_FILENO);
	int status = 1;

	if (parse_iter(argc, argv, &iter) != LB_OK)
		return 2;
	if (!read_line("Password: ", tty, pw, sizeof(pw)) || !pw[0]) {
		fprintf(stderr, "lorabridge passwd: no password read (empty or over %d bytes)\n",
			PWHASH_PASSWORD_MAX);
		goto out;
	}
	if (edge_blank(pw)) {
		fprintf(stderr, "lorabridge passwd: a password cannot begin or end with a space or "
			"tab (the page's requests would lose them)\n");
		goto out;
	}
	if (tty && (!read_line("Again: ", tty, again, sizeof(again)) || strcmp(pw, again) != 0)) {
		fprintf(stderr, "lorabridge passwd: the two entries differ\n");
		goto out;
	}
	int rc = pwhash_make(pw, strlen(pw), (uint32_t)iter, out, sizeof(out));
	if (rc != LB_OK) {
		fprintf(stderr, "lorabridge passwd: %s\n", lb_strerror(rc));
		goto out;
	}
	printf("%s\n", out);
	status = 0;
out:
	OPENSSL_cleanse(pw, sizeof(pw));
	OPENSSL_cleanse(again, sizeof(again));
	return status;
}
