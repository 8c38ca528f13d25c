/* SPDX-License-Identifier: MIT */
/*
 * airtime_cli.h - the `lorabridge airtime` subcommand.
 *
 *   lorabridge airtime --sf 7 --bw 125 --size 13 [--cr 4/5] [--preamble 8]
 *                      [--no-crc] [--implicit-header] [--ldro auto|on|off]
 *   lorabridge airtime --fsk [--bitrate 50000] [--preamble 5] --size 13 [--no-crc]
 *
 * Prints the time on air in milliseconds with three decimals ("46.336\n")
 * on stdout. --size is the PHYPayload length in bytes (rxpk "size").
 * Defaults: --bw 125, --cr 4/5, --preamble 8 symbols (LoRa) or 5 bytes
 * (FSK), CRC on, explicit header, LDRO auto (LoRaMac-node rule).
 * Options take their value as the next argument or after '='.
 */
#ifndef LB_AIRTIME_CLI_H
#define LB_AIRTIME_CLI_H

/*
 * argv[0] is the subcommand name ("airtime"); options start at argv[1].
 * Returns the process exit status: 0 on success (also for --help, which
 * prints the usage to stdout), 2 on a usage error (message and usage on
 * stderr). Keeps no state between calls.
 */
int airtime_cli_main(int argc, char **argv);

#endif
