/* SPDX-License-Identifier: MIT */
/*
 * config_cflist.h - the value of downlink.join_cflist: "auto", "none" or
 * up to CONFIG_CFLIST_MAX frequencies in MHz separated by commas. Checked by
 * the schema when the file is loaded, read by the join-accept builder.
 *
 * Errors: -1 for a malformed list. Ownership: the frequencies go into the
 * caller's array.
 */
#ifndef LB_CONFIG_CFLIST_H
#define LB_CONFIG_CFLIST_H

#include <stdint.h>

/* downlink.join_cflist: the frequencies of an explicit list (0 for "auto"
 * and "none"; the caller tells those apart), or -1 if malformed. */
#define CONFIG_CFLIST_MAX 5
int config_cflist_parse(const char *v, uint32_t *freq_hz, int max);

#endif
