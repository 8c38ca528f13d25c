/* SPDX-License-Identifier: MIT */
/*
 * prom_text.h - a writer of the Prometheus text exposition format 0.0.4
 * (Prometheus "Exposition formats", text-based format): per metric family
 * one "# HELP" and one "# TYPE" line, then its samples
 *
 *   # HELP lorabridge_frame_drops_total Frames not published, by reason.
 *   # TYPE lorabridge_frame_drops_total counter
 *   lorabridge_frame_drops_total{reason="MIC"} 3
 *
 * HELP text escapes '\' and newline; label values escape '\', '"' and
 * newline; values are integers or Go-style floats ("NaN", "+Inf", "-Inf").
 * Metric and label names are the caller's constants ([a-zA-Z_:][a-zA-Z0-9_:]*,
 * checked: a bad one makes prom_finish() fail with LB_ERR_INVAL).
 *
 * Pure: writes into the caller's buffer, no allocation, no I/O. Errors are
 * sticky: the first one is reported by prom_finish().
 */
#ifndef LB_PROM_TEXT_H
#define LB_PROM_TEXT_H

#include <stddef.h>
#include <stdint.h>

struct prom_buf {
	char *out;
	size_t cap, len;
	int err;                         /* LB_OK, LB_ERR_TOO_LARGE or LB_ERR_INVAL */
};

void prom_init(struct prom_buf *b, char *out, size_t cap);

/* The HELP and TYPE lines of a family; type "counter", "gauge" or "untyped". */
void prom_family(struct prom_buf *b, const char *name, const char *type, const char *help);

/* A sample of the family: label NULL for none, else label="value". */
void prom_u64(struct prom_buf *b, const char *name, const char *label, const char *value,
	      uint64_t v);
void prom_double(struct prom_buf *b, const char *name, const char *label, const char *value,
		 double v);

/* LB_OK and the text length (out NUL-terminated), or the first error. */
int prom_finish(struct prom_buf *b, size_t *len);

#endif
