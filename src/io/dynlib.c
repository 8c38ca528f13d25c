/* SPDX-License-Identifier: MIT */
/* dynlib.c - libcurl and libmicrohttpd loaded when first used. See dynlib.h. */
#include "io/dynlib.h"

#include <dlfcn.h>
#include <stdbool.h>

#include "base/log.h"

enum dynlib_state { DYNLIB_UNTRIED, DYNLIB_LOADED, DYNLIB_FAILED };

/* Open soname; NULL (logged) if it cannot be. `package` says what to
 * install. */
static void *open_lib(const char *soname, const char *package)
{
	/* RTLD_NOW: a library whose own dependencies are missing fails here,
	 * not at some later call. RTLD_LOCAL: its symbols are found only
	 * through the table. */
	void *lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	if (!lib)
		log_error("dynlib", "%s cannot be loaded (%s): install %s", soname, dlerror(),
			  package);
	return lib;
}

/* The address of `symbol` in lib; NULL (logged) if it has none. */
static void *find(void *lib, const char *soname, const char *symbol)
{
	dlerror();
	void *f = dlsym(lib, symbol);
	if (!f)
		log_error("dynlib", "%s has no %s (%s): a version older than the one lorabridge "
			  "was built with?", soname, symbol, dlerror());
	return f;
}

/* Fill one table member; ok becomes false if the symbol is missing (every
 * missing symbol is logged, not only the first). */
#define DYNLIB_FILL(member, symbol) \
	do { \
		void *f_ = find(lib, soname, #symbol); \
		t->member = (__typeof__(t->member))f_; \
		ok = ok && f_ != NULL; \
	} while (0);

static bool fill_curl(struct dynlib_curl *t, void *lib, const char *soname)
{
	bool ok = true;
	DYNLIB_CURL_FUNCS(DYNLIB_FILL)
	return ok;
}

static bool fill_mhd(struct dynlib_mhd *t, void *lib, const char *soname)
{
	bool ok = true;
	DYNLIB_MHD_FUNCS(DYNLIB_FILL)
	return ok;
}

#undef DYNLIB_FILL

CURLcode dynlib_curl_http_only(const struct dynlib_curl *lc, CURL *e)
{
#if LIBCURL_VERSION_NUM >= 0x075500
	return lc->easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	return lc->easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
}

const struct dynlib_curl *dynlib_curl(void)
{
	static struct dynlib_curl table;
	static enum dynlib_state state = DYNLIB_UNTRIED;

	if (state == DYNLIB_UNTRIED) {
		void *lib = open_lib(DYNLIB_CURL_SONAME, DYNLIB_CURL_PACKAGE);
		state = lib && fill_curl(&table, lib, DYNLIB_CURL_SONAME) ? DYNLIB_LOADED
									  : DYNLIB_FAILED;
	}
	return state == DYNLIB_LOADED ? &table : NULL;
}

const struct dynlib_mhd *dynlib_mhd(void)
{
	static struct dynlib_mhd table;
	static enum dynlib_state state = DYNLIB_UNTRIED;

	if (state == DYNLIB_UNTRIED) {
		void *lib = open_lib(DYNLIB_MHD_SONAME, DYNLIB_MHD_PACKAGE);
		state = lib && fill_mhd(&table, lib, DYNLIB_MHD_SONAME) ? DYNLIB_LOADED
									: DYNLIB_FAILED;
	}
	return state == DYNLIB_LOADED ? &table : NULL;
}
