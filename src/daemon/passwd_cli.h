/* SPDX-License-Identifier: MIT */
/*
 * passwd_cli.h - `lorabridge passwd [--iterations N]`: read a password and
 * print its hash for http.password (base/pwhash.h). From a terminal it is
 * asked twice without echo; otherwise the first line of stdin is taken.
 * A space or tab at either end of the password is refused: fetch() strips
 * them from the header the page sends. Exit status: 0, 1 (the two entries
 * differ, empty, unreadable, blank at an end), 2 (usage).
 */
#ifndef LB_PASSWD_CLI_H
#define LB_PASSWD_CLI_H

int passwd_cli_main(int argc, char **argv);

#endif
