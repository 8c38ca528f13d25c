/* SPDX-License-Identifier: MIT */
/*
 * fuzz_main.c - run a libFuzzer target without libFuzzer.
 *
 *   fuzz_main [-n N] [-s SEED] DIR|FILE...
 *
 * Calls LLVMFuzzerTestOneInput once on every regular file found (one level
 * deep in each directory), so `make check` replays the seed corpus under
 * ASan/UBSan with gcc. With -n N, each seed is also mutated N times (bit
 * flips, byte overwrites with JSON-significant characters, insertions,
 * deletions, truncations, chunk duplication) by a fixed xorshift PRNG seeded
 * with SEED (default 1), so a run is reproducible. Every input is passed in a
 * buffer of exactly its size so ASan catches over-reads. Exits 0 when all
 * inputs ran (a crash aborts), 1 on usage or I/O errors or an empty corpus.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INPUT_MAX_LEN (1u << 20)
#define MAX_OPS 4
#define GROW 64

struct runner {
	unsigned long mutations; /* per seed */
	uint64_t rng;
	unsigned long seeds;
	unsigned long runs;
};

static uint64_t rng_next(struct runner *r)
{
	r->rng ^= r->rng << 13;
	r->rng ^= r->rng >> 7;
	r->rng ^= r->rng << 17;
	return r->rng;
}

static size_t rng_below(struct runner *r, size_t n)
{
	return n == 0 ? 0 : (size_t)(rng_next(r) % n);
}

/* Run one input from an exactly sized heap copy. */
static void run_one(struct runner *r, const uint8_t *data, size_t len)
{
	uint8_t *copy = malloc(len > 0 ? len : 1);

	if (copy == NULL) {
		perror("fuzz_main: malloc");
		exit(1);
	}
	if (len > 0)
		memcpy(copy, data, len);
	LLVMFuzzerTestOneInput(copy, len);
	free(copy);
	r->runs++;
}

/* One random edit of buf[0..*len), capacity cap. */
static void mutate_once(struct runner *r, uint8_t *buf, size_t *len, size_t cap)
{
	static const char interesting[] = "{}[]\":,0-.9eE=/+ \\\0\xff";
	size_t pos = rng_below(r, *len + 1);

	switch (rng_below(r, 6)) {
	case 0: /* bit flip */
		if (*len > 0)
			buf[pos % *len] ^= (uint8_t)(1u << rng_below(r, 8));
		break;
	case 1: /* overwrite with a character that matters to JSON/base64 */
		if (*len > 0)
			buf[pos % *len] = (uint8_t)interesting[rng_below(r, sizeof(interesting) - 1)];
		break;
	case 2: /* insert a random byte */
		if (*len < cap) {
			memmove(buf + pos + 1, buf + pos, *len - pos);
			buf[pos] = (uint8_t)rng_next(r);
			(*len)++;
		}
		break;
	case 3: /* delete a byte */
		if (pos < *len) {
			memmove(buf + pos, buf + pos + 1, *len - pos - 1);
			(*len)--;
		}
		break;
	case 4: /* truncate */
		*len = pos;
		break;
	default: { /* duplicate a chunk in place (repeats keys, objects, digits) */
		size_t from = rng_below(r, *len + 1);
		size_t n = rng_below(r, *len - from + 1);

		if (n > cap - *len)
			n = cap - *len;
		/* tail = *len - pos, never negative (pos <= *len); computed
		 * apart for GCC 12 at -O2 on aarch64, which otherwise sees a
		 * bound of SIZE_MAX (-Wstringop-overflow) */
		size_t tail = *len > pos ? *len - pos : 0;
		memmove(buf + pos + n, buf + pos, tail);
		memmove(buf + pos, buf + (from >= pos ? from + n : from), n);
		*len += n;
		break;
	}
	}
}

static void run_seed(struct runner *r, const uint8_t *seed, size_t len)
{
	size_t cap = len + GROW;
	uint8_t *buf = malloc(cap);

	if (buf == NULL) {
		perror("fuzz_main: malloc");
		exit(1);
	}
	run_one(r, seed, len);
	r->seeds++;
	for (unsigned long i = 0; i < r->mutations; i++) {
		size_t n = len, ops = 1 + rng_below(r, MAX_OPS);

		memcpy(buf, seed, len);
		for (size_t k = 0; k < ops; k++)
			mutate_once(r, buf, &n, cap);
		run_one(r, buf, n);
	}
	free(buf);
}

static int run_file(struct runner *r, const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data;
	size_t len;

	if (f == NULL) {
		fprintf(stderr, "fuzz_main: %s: %s\n", path, strerror(errno));
		return -1;
	}
	data = malloc(INPUT_MAX_LEN);
	if (data == NULL) {
		fclose(f);
		return -1;
	}
	len = fread(data, 1, INPUT_MAX_LEN, f);
	fclose(f);
	run_seed(r, data, len);
	free(data);
	return 0;
}

static int run_dir(struct runner *r, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int rc = 0;

	if (d == NULL) {
		fprintf(stderr, "fuzz_main: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL && rc == 0) {
		char path[4096];
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
			rc = run_file(r, path);
	}
	closedir(d);
	return rc;
}

static int run_path(struct runner *r, const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "fuzz_main: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return S_ISDIR(st.st_mode) ? run_dir(r, path) : run_file(r, path);
}

int main(int argc, char **argv)
{
	struct runner r = {.rng = 1};
	int opt;

	while ((opt = getopt(argc, argv, "n:s:")) != -1) {
		if (opt == 'n') {
			r.mutations = strtoul(optarg, NULL, 10);
		} else if (opt == 's') {
			r.rng = strtoull(optarg, NULL, 10);
			if (r.rng == 0)
				r.rng = 1; /* xorshift must not start at 0 */
		} else {
			fprintf(stderr, "usage: %s [-n N] [-s SEED] DIR|FILE...\n", argv[0]);
			return 1;
		}
	}
	if (optind == argc) {
		fprintf(stderr, "usage: %s [-n N] [-s SEED] DIR|FILE...\n", argv[0]);
		return 1;
	}
	for (int i = optind; i < argc; i++)
		if (run_path(&r, argv[i]) != 0)
			return 1;
	printf("fuzz_main: %lu inputs ran (%lu seeds, %lu mutations each)\n", r.runs, r.seeds,
	       r.mutations);
	if (r.seeds == 0) {
		fprintf(stderr, "fuzz_main: no seed files found\n");
		return 1;
	}
	return 0;
}
