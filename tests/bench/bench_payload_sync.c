/* SPDX-License-Identifier: MIT */
/*
 * bench_payload_sync.c - what payload_sync() (daemon/payload.h) costs a
 * reload of a large fleet: N devices (default 100000, first argument) in A
 * applications (default 1000, second argument) with S JavaScript codecs
 * (default 1, third argument: application k's devices use script k mod
 * S), so that each script is compiled once and each sync after the first
 * is a SIGHUP's (scripts unchanged, applications' encoding shares carried
 * over).
 *
 * Prints the first sync (with the scripts' compilation) and the mean of
 * the reloads in milliseconds (CLOCK_MONOTONIC). No pass/fail threshold.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/lb_err.h"
#include "base/log.h"
#include "daemon/payload.h"
#include "tables/devices.h"

#define DEFAULT_DEVICES 100000L
#define DEFAULT_APPS 1000L
#define RELOADS 5

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A script, in a fresh file: its path in path. */
static int write_script(char *path, size_t cap)
{
	snprintf(path, cap, "/tmp/bench_payload_sync.XXXXXX");
	int fd = mkstemp(path);
	static const char js[] = "function decodeUplink(input) { return {data: {}}; }\n";

	if (fd < 0)
		return LB_ERR_IO;
	ssize_t w = write(fd, js, sizeof(js) - 1);
	close(fd);
	if (w == (ssize_t)sizeof(js) - 1)
		return LB_OK;
	unlink(path);
	return LB_ERR_IO;
}

static void remove_scripts(char (*scripts)[64], long written)
{
	for (long i = 0; i < written; i++)
		unlink(scripts[i]);
}

/* Sync the payloads first with the scripts' compilation, then RELOADS
 * times; prints the times. LB_OK, else the failure (said). */
static int bench(struct devices *devs, long n, long n_apps, long n_scripts)
{
	struct stats stats = {0};
	struct payloads p = {.stats = &stats, .limits = {.timeout_ms = 1000}};
	double t0 = now_ms();
	int rc = payload_sync(&p, devs);
	double first = now_ms() - t0;

	t0 = now_ms();
	for (int i = 0; i < RELOADS && rc == LB_OK; i++)
		rc = payload_sync(&p, devs);
	double reload = (now_ms() - t0) / RELOADS;
	size_t got_apps = p.n_apps;
	payload_free(&p);
	if (rc != LB_OK || got_apps != (size_t)n_apps) {
		fprintf(stderr, "bench_payload_sync: sync failed (%s), %zu applications\n",
			lb_strerror(rc), got_apps);
		return rc != LB_OK ? rc : LB_ERR_STATE;
	}
	printf("%ld devices, %ld applications, %ld scripts\n", n, n_apps, n_scripts);
	printf("%-44s %10.1f ms\n", "first sync (scripts compiled)", first);
	printf("%-44s %10.1f ms\n", "reload (scripts unchanged), mean of 5", reload);
	return LB_OK;
}

/* n device configurations in n_apps applications (names in names[]),
 * with the n_scripts scripts. */
static struct lb_device_conf *fleet(long n, long n_apps, char (*scripts)[64], long n_scripts,
				    char (*names)[24])
{
	struct lb_device_conf *conf = calloc((size_t)n, sizeof(*conf));

	if (!conf)
		return NULL;
	for (long a = 0; a < n_apps; a++)
		snprintf(names[a], sizeof(names[a]), "app%05ld", a);
	for (long i = 0; i < n; i++) {
		conf[i].name = names[i % n_apps];   /* names need not be unique here */
		conf[i].application = names[i % n_apps];
		conf[i].dev_eui = UINT64_C(0x70b3d57ed0000000) + (uint64_t)i;
		conf[i].activation = LB_ACT_OTAA;
		conf[i].codec = LB_CODEC_JS;
		conf[i].codec_script = scripts[(i % n_apps) % n_scripts];
	}
	return conf;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : DEFAULT_DEVICES;
	long n_apps = argc > 2 ? atol(argv[2]) : DEFAULT_APPS;
	long n_scripts = argc > 3 ? atol(argv[3]) : 1;
	struct devices devs;
	int rc = LB_ERR_NOMEM;

	if (n <= 0 || n_apps <= 0 || n_apps > n || n_scripts <= 0 || n_scripts > n_apps) {
		fprintf(stderr, "usage: bench_payload_sync [devices [applications <= devices "
			"[scripts <= applications]]]\n");
		return EXIT_FAILURE;
	}
	log_open(LOG_LVL_WARN, false);
	char (*names)[24] = calloc((size_t)n_apps, sizeof(*names));
	char (*scripts)[64] = calloc((size_t)n_scripts, sizeof(*scripts));
	long written = 0;
	while (scripts && written < n_scripts &&
	       write_script(scripts[written], sizeof(scripts[written])) == LB_OK)
		written++;
	struct lb_device_conf *conf = names && written == n_scripts
					      ? fleet(n, n_apps, scripts, n_scripts, names) : NULL;
	if (!conf || devices_init(&devs, conf, (size_t)n) != LB_OK) {
		fprintf(stderr, "bench_payload_sync: fleet not built\n");
	} else {
		rc = bench(&devs, n, n_apps, n_scripts);
		devices_free(&devs);
	}
	free(conf);
	free(names);
	if (scripts)
		remove_scripts(scripts, written);
	free(scripts);
	log_close();
	return rc == LB_OK ? EXIT_SUCCESS : EXIT_FAILURE;
}
