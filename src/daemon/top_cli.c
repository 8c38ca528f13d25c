/* SPDX-License-Identifier: MIT */
/* top_cli.c - `lorabridge top`. See top_cli.h. */
#include "daemon/top_cli.h"

#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <json-c/json.h>

#include "base/lb_err.h"
#include "io/sseclient.h"

#define DEFAULT_URL "http://127.0.0.1:8080"

struct top {
	bool once;
	bool tty;
	struct json_object *bridge;      /* owned */
	struct json_object *gateways;    /* gatewayId -> GW, owned */
	struct json_object *devices;     /* devEui -> DEV, owned */
	unsigned events;
};

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

static const char *str(struct json_object *o, const char *key)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return "-";
	return json_object_get_string(v);
}

/* "2026-12-06T05:58:06.61+00:00" -> "05:58:06" */
static const char *clock_of(struct json_object *o, const char *key, char out[16])
{
	const char *t = str(o, key);
	const char *tee = strchr(t, 'T');

	if (!tee || strlen(tee) < 9)
		return t;
	snprintf(out, 16, "%.8s", tee + 1);
	return out;
}

/* The last element of an array field, or "-". */
static const char *last_of(struct json_object *o, const char *key)
{
	struct json_object *a;
	size_t n;

	if (!json_object_object_get_ex(o, key, &a) || !json_object_is_type(a, json_type_array) ||
	    (n = json_object_array_length(a)) == 0)
		return "-";
	return json_object_get_string(json_object_array_get_idx(a, n - 1));
}

static void render(const struct top *t, FILE *out)
{
	char c1[16];

	if (t->tty && !t->once)
		fputs("\033[H\033[2J", out);
	fprintf(out, "lorabridge %s  %s  %s  up %s s  MQTT %s%s\n\n", str(t->bridge, "clientId"),
		str(t->bridge, "version"), str(t->bridge, "region"), str(t->bridge, "uptimeS"),
		!strcmp(str(t->bridge, "mqttConnected"), "true") ? "connected" : "not connected",
		t->once ? "" : "   (q quits)");
	fprintf(out, "%-16s  %-6s  %-8s  %8s  %8s  %6s\n", "GATEWAY", "ONLINE", "SEEN", "RX",
		"RX OK", "TX");
	json_object_object_foreach(t->gateways, gk, g) {
		fprintf(out, "%-16s  %-6s  %-8s  %8s  %8s  %6s\n", gk,
			!strcmp(str(g, "online"), "true") ? "yes" : "no", clock_of(g, "lastSeen", c1),
			str(g, "rxPacketsReceived"), str(g, "rxPacketsReceivedOk"),
			str(g, "txPacketsEmitted"));
	}
	fprintf(out, "\n%-16s  %-12s %-12s %-8s  %7s  %3s  %5s  %5s  %4s  %5s\n", "DEVICE", "NAME",
		"APPLICATION", "SEEN", "FCNT", "DR", "RSSI", "SNR", "BATT", "QUEUE");
	json_object_object_foreach(t->devices, dk, d) {
		fprintf(out, "%-16s  %-12s %-12s %-8s  %7s  %3s  %5s  %5s  %4s  %5s\n", dk,
			str(d, "name"), str(d, "application"), clock_of(d, "lastSeen", c1),
			str(d, "fCntUp"), str(d, "dr"), last_of(d, "rssi"), last_of(d, "snr"),
			str(d, "battery"), str(d, "queue"));
	}
	fflush(out);
}

/* Index an array of objects by one of their string fields. */
static struct json_object *index_by(struct json_object *arr, const char *key)
{
	struct json_object *idx = json_object_new_object();

	for (size_t i = 0; idx && arr && i < json_object_array_length(arr); i++) {
		struct json_object *e = json_object_array_get_idx(arr, i);
		json_object_object_add(idx, str(e, key), json_object_get(e));
	}
	return idx;
}

static bool hello(struct top *t, struct json_object *o)
{
	struct json_object *b, *g, *d;

	if (!json_object_object_get_ex(o, "bridge", &b) ||
	    !json_object_object_get_ex(o, "gateways", &g) ||
	    !json_object_object_get_ex(o, "devices", &d))
		return false;
	t->bridge = json_object_get(b);
	t->gateways = index_by(g, "gatewayId");
	t->devices = index_by(d, "devEui");
	return t->gateways && t->devices;
}

static bool on_event(void *arg, const char *name, const char *data, size_t len)
{
	struct top *t = arg;
	bool is_hello = !strcmp(name, "hello");
	bool is_gw = !strcmp(name, "gateway"), is_dev = !strcmp(name, "device");
	bool is_bridge = !strcmp(name, "bridge");    /* its MQTT connection changed */
	(void)len;

	if (!is_hello && !is_gw && !is_dev && !is_bridge)
		return true;
	if (!is_hello && !t->devices)
		return true;                  /* before hello: nothing to update */
	struct json_object *o = json_tokener_parse(data);
	if (!o) {
		fprintf(stderr, "lorabridge top: a %s event is not JSON\n", name);
		return true;
	}
	t->events++;
	if (is_hello && !hello(t, o)) {
		fprintf(stderr, "lorabridge top: hello lacks bridge, gateways or devices\n");
		json_object_put(o);
		return false;
	}
	if (is_gw)
		json_object_object_add(t->gateways, str(o, "gatewayId"), json_object_get(o));
	if (is_dev)
		json_object_object_add(t->devices, str(o, "devEui"), json_object_get(o));
	if (is_bridge) {
		json_object_put(t->bridge);
		t->bridge = json_object_get(o);
	}
	json_object_put(o);
	render(t, stdout);
	return !t->once;
}

static bool on_key(void *arg, int ch)
{
	(void)arg;
	return ch != 'q' && ch != 'Q' && ch != 3;   /* 3: Ctrl-C in raw mode */
}

static bool keep_going(void *arg)
{
	(void)arg;
	return !interrupted;
}

static int parse(int argc, char **argv, struct top *t, char *url, size_t cap)
{
	static const struct option opts[] = {
		{"url", required_argument, NULL, 'u'},
		{"once", no_argument, NULL, '1'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *base = DEFAULT_URL;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'u': base = optarg; break;
		case '1': t->once = true; break;
		case 'h':
			printf("usage: lorabridge top [--url URL] [--once]\n"
			       "  --url URL  the bridge's web server (default %s; http.bind/port)\n"
			       "  --once     print the tables once and exit\n", DEFAULT_URL);
			exit(0);
		default: return LB_ERR_INVAL;
		}
	}
	if (optind < argc)
		return LB_ERR_INVAL;
	size_t n = strlen(base);
	while (n > 0 && base[n - 1] == '/')
		n--;
	if (snprintf(url, cap, "%.*s/events", (int)n, base) >= (int)cap)
		return LB_ERR_INVAL;
	return LB_OK;
}

int top_cli_main(int argc, char **argv)
{
	struct top t = {0};
	struct termios saved, raw;
	char url[1024], err[256];
	bool restore = false;

	if (parse(argc, argv, &t, url, sizeof(url)) != LB_OK) {
		fprintf(stderr, "usage: lorabridge top [--url URL] [--once]\n");
		return 2;
	}
	t.tty = isatty(STDOUT_FILENO);
	bool keys = !t.once && isatty(STDIN_FILENO);
	if (keys && tcgetattr(STDIN_FILENO, &saved) == 0) {
		raw = saved;
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		restore = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
	}
	signal(SIGINT, on_sigint);
	signal(SIGTERM, on_sigint);
	struct sseclient_opts o = {.url = url, .on_event = on_event, .on_key = on_key,
				   .key_fd = keys ? STDIN_FILENO : -1, .keep_going = keep_going,
				   .arg = &t};
	int rc = sseclient_run(&o, err, sizeof(err));
	if (restore)
		(void)tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	json_object_put(t.bridge);
	json_object_put(t.gateways);
	json_object_put(t.devices);
	if (rc != LB_OK) {
		fprintf(stderr, "lorabridge top: %s: %s\n", url, err[0] ? err : lb_strerror(rc));
		return 1;
	}
	if (t.once && t.events == 0) {
		fprintf(stderr, "lorabridge top: %s: the stream ended before hello\n", url);
		return 1;
	}
	return 0;
}
