/* SPDX-License-Identifier: MIT */
/*
 * top_cli.h - `lorabridge top [--url URL] [--once]`: the gateways and
 * devices of a running bridge in a terminal, from its /events stream (web.h):
 * the tables of the `hello` event, updated by each `gateway` and `device`
 * event and drawn again. q or Ctrl-C quits; --once prints the tables of
 * `hello` once and exits (for scripts and tests).
 * Exit status: 0, 1 (no connection, the stream failed), 2 (usage).
 */
#ifndef LB_TOP_CLI_H
#define LB_TOP_CLI_H

int top_cli_main(int argc, char **argv);

#endif
