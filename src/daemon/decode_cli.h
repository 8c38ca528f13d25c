/* SPDX-License-Identifier: MIT */
/*
 * decode_cli.h - the `lorabridge decode` subcommand: run a payload codec
 * on the command line, as the daemon runs it for a device.
 *
 *   lorabridge decode --codec cayennelpp [--fport N] HEX
 *   lorabridge decode --codec js --script FILE --fport N [--var KEY=VALUE]... HEX
 *   lorabridge decode --codec js --script FILE --encode --fport N
 *                     [--var KEY=VALUE]... JSON
 *
 * Decoding prints the decoded object as pretty JSON on stdout. Encoding
 * takes the data object as JSON and prints {"fPort": N, "bytes": "HEX"}:
 * the script's fPort, or --fport when it gives none. A JavaScript codec's
 * warnings (console lines included) go to stderr, one "warning: TEXT" line
 * each. HEX is the FRMPayload in hex (even length, no separators; "" for
 * none); --var sets one of the script's `variables` (repeatable);
 * --timeout-ms the deadline of each JavaScript call (default the codec's,
 * JSCODEC_DEFAULT_TIMEOUT_MS). Options take their value as the next
 * argument or after '='.
 */
#ifndef LB_DECODE_CLI_H
#define LB_DECODE_CLI_H

/*
 * argv[0] is the subcommand name ("decode"). Returns the process exit
 * status: 0 success (also --help, usage on stdout); 1 the codec failed
 * (stderr: "lorabridge decode: NAME: REASON", NAME from lb_errname() and
 * REASON the text the codec gives the daemon's log); 2 usage error.
 */
int decode_cli_main(int argc, char **argv);

#endif
