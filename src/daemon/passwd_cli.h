/* SPDX-License-Identifier: MIT */
/*
 * passwd_cli.h - `lorabridge passwd [--iterations N]`: read a password and
 * print its hash for http.password (base/pwhash.h). From a terminal it is
 * asked twice without echo; otherwise the first line of stdin is taken.
 * Exit status: 0, 1 (the two entries differ, empty, unreadable), 2 (usage).
 */
#ifndef LB_PASSWD_CLI_H
#define LB_PASSWD_CLI_H

int passwd_cli_main(int argc, char **argv);

#endif
