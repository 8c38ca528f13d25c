/* SPDX-License-Identifier: MIT */
/*
 * influx_line.h - InfluxDB line protocol from device events (pure: JSON in,
 * text out; no I/O, no clock, no logging).
 *
 * The schema is ChirpStack v4's InfluxDB integration
 * (chirpstack/src/integration/influxdb.rs), so Grafana dashboards written
 * for it work unchanged. Every point carries the tags application_name,
 * device_name, dev_eui and the device's own tags (deviceInfo.tags):
 *   up:     device_uplink      + tags frequency, dr;
 *                                fields value=1i, f_cnt (i), rssi (i, the
 *                                best reception), snr (float, the best)
 *           one point per leaf of the decoded `object`:
 *           device_frmpayload_data_<path joined by _> + tag f_port, field
 *           value (number: float, string: quoted, bool); array elements by
 *           index; a latitude/longitude pair of numbers in an object becomes
 *           <prefix>_location with fields latitude, longitude and geohash
 *           (12 characters) instead of two points
 *   status: device_status_battery_level value (float; not with
 *           externalPowerSource or batteryLevelUnavailable),
 *           device_status_margin value (i)
 *   other events: no points.
 * Like ChirpStack, the lines of one event are sorted, tags by key and
 * fields by name; floats have 6 decimals (from 1e15 up: %.17g, plain
 * digits below 1e17, exponent notation from there; a non-finite one leaves
 * its point out). Unlike it, each line ends with
 * the timestamp given (ns), so points written late (after an outage, in a
 * batch) keep their time (the caller tells points of one µs apart); and empty tag
 * values are left out (the line protocol has no empty tag value).
 * Escaping (line protocol): measurement names ',' and ' '; tag keys and
 * values ',', '=' and ' '; string fields '"' and '\', where a newline or
 * carriage return (not supported there) becomes a space. In names, tag keys
 * and values, a newline, a carriage return and a backslash that would
 * escape a separator or the end become '_'.
 */
#ifndef LB_INFLUX_LINE_H
#define LB_INFLUX_LINE_H

#include <stddef.h>
#include <stdint.h>

struct json_object;

/*
 * Write the points of `event` (its name, "up" ...) parsed in ev into out
 * (cap bytes, NUL-terminated), each line ending in " <ts_ns>\n", or in
 * "\n" alone when ts_ns < 0. *len: bytes written (0: the event has no
 * points). Errors: LB_ERR_TOO_LARGE (out[0] = '\0'), LB_ERR_JSON (an up
 * or status event without deviceInfo), LB_ERR_NOMEM.
 */
int influx_lines(const char *event, struct json_object *ev, int64_t ts_ns, char *out,
		 size_t cap, size_t *len);

/* Geohash of a position (Niemeyer's base-32 cell code), `chars` characters
 * (1..22) into out (chars + 1 bytes). */
void influx_geohash(double lat, double lon, unsigned chars, char *out);

#endif
