/* SPDX-License-Identifier: MIT */
/*
 * config_cflist.c - parsing the downlink.join_cflist setting: "auto",
 * "none" or a comma-separated list of frequencies in MHz.
 */
#include "config/config_cflist.h"

#include <stdlib.h>
#include <string.h>

int config_cflist_parse(const char *v, uint32_t *freq_hz, int max)
{
	int n = 0;

	if (strcmp(v, "auto") == 0 || strcmp(v, "none") == 0)
		return 0;
	for (const char *p = v; *p;) {
		char *end;
		double mhz = strtod(p, &end);
		if (end == p || mhz < 100.0 || mhz > 1000.0 || n >= max)
			return -1;
		freq_hz[n++] = (uint32_t)(mhz * 1e6 + 0.5);
		p = end;
		while (*p == ' ')
			p++;
		if (*p == ',')
			p++;
		else if (*p)
			return -1;
		while (*p == ' ')
			p++;
	}
	return n;
}
