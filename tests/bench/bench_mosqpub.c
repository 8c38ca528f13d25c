/* SPDX-License-Identifier: MIT */
/*
 * bench_mosqpub.c - what one libmosquitto publisher gets through the broker
 * at QoS 1: the reference issue #13 was filed against ("the same broker
 * took N messages/s at QoS 1 from one libmosquitto publisher"). Unlike
 * bench_broker (a plain socket writing packets in batches: the broker's own
 * limit), this pays what any libmosquitto client pays per message: its copy
 * of the message, one send per PUBLISH, three reads per PUBACK.
 *
 * One thread, the library's own loop (mosquitto_loop()), `window` messages
 * un-acknowledged at most, as the bridge keeps (io/mqtt.h). The payload is
 * `size` bytes of 'x'. Prints the rate at which the broker acknowledged them;
 * the subscriber's side is the caller's (bench_e2e.sh counts what a QoS-1
 * subscriber received).
 *
 * Usage: bench_mosqpub HOST PORT COUNT SIZE WINDOW TOPIC
 */
#include <mosquitto.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct run {
	long acked;
	bool connected;
	int refused;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_connect(struct mosquitto *m, void *arg, int rc)
{
	struct run *r = arg;
	(void)m;
	r->connected = rc == 0;
	r->refused = rc;
}

static void on_publish(struct mosquitto *m, void *arg, int mid)
{
	(void)m;
	(void)mid;
	((struct run *)arg)->acked++;
}

static int publish_all(struct mosquitto *m, struct run *r, long count, long window,
		       const char *topic, const char *payload, int size)
{
	long sent = 0;

	while (r->acked < count) {
		while (sent < count && sent - r->acked < window) {
			int rc = mosquitto_publish(m, NULL, topic, size, payload, 1, false);
			if (rc != MOSQ_ERR_SUCCESS) {
				fprintf(stderr, "bench_mosqpub: publish: %s\n", mosquitto_strerror(rc));
				return 1;
			}
			sent++;
		}
		int rc = mosquitto_loop(m, 1000, 1);
		if (rc != MOSQ_ERR_SUCCESS) {
			fprintf(stderr, "bench_mosqpub: loop: %s\n", mosquitto_strerror(rc));
			return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 7) {
		fprintf(stderr, "usage: bench_mosqpub HOST PORT COUNT SIZE WINDOW TOPIC\n");
		return 2;
	}
	long count = atol(argv[3]), size = atol(argv[4]), window = atol(argv[5]);
	if (count <= 0 || size < 0 || size > 1 << 20 || window <= 0 || window > 65535) {
		fprintf(stderr, "bench_mosqpub: bad arguments\n");
		return 2;
	}
	char *payload = malloc((size_t)size + 1);
	struct run r = {0};
	mosquitto_lib_init();
	struct mosquitto *m = mosquitto_new("bench-mosqpub", true, &r);
	if (!payload || !m) {
		fprintf(stderr, "bench_mosqpub: out of memory\n");
		return 1;
	}
	memset(payload, 'x', (size_t)size);
	mosquitto_connect_callback_set(m, on_connect);
	mosquitto_publish_callback_set(m, on_publish);
	mosquitto_max_inflight_messages_set(m, (unsigned)window);
	if (mosquitto_connect(m, argv[1], atoi(argv[2]), 60) != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "bench_mosqpub: cannot connect to %s:%s\n", argv[1], argv[2]);
		return 1;
	}
	double deadline = now_s() + 10;
	while (!r.connected && !r.refused && now_s() < deadline)
		mosquitto_loop(m, 100, 1);
	if (!r.connected) {
		fprintf(stderr, "bench_mosqpub: no CONNACK (code %d)\n", r.refused);
		return 1;
	}
	double t0 = now_s();
	int rc = publish_all(m, &r, count, window, argv[6], payload, (int)size);
	double el = now_s() - t0;
	mosquitto_disconnect(m);
	mosquitto_destroy(m);
	mosquitto_lib_cleanup();
	free(payload);
	if (rc != 0)
		return rc;
	printf("mosqpub: %ld QoS-1 publishes of %ld bytes acknowledged in %.2f s = %.0f/s\n", count,
	       size, el, (double)count / el);
	return 0;
}
