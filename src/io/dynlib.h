/* SPDX-License-Identifier: MIT */
/*
 * dynlib.h - libcurl and libmicrohttpd, loaded when first used.
 *
 * Most bridges use neither: libcurl serves only the integrations (io/http.h)
 * and `lorabridge top` (io/sseclient.h), libmicrohttpd only the web page
 * (io/httpd.h). Linked into the program, each would be mapped and relocated
 * at every start together with what it links (libcurl: TLS, Kerberos, LDAP,
 * SSH, RTMP, IDN, PSL, HTTP/2 and compression libraries; libmicrohttpd:
 * GnuTLS and p11-kit), about 4 MiB of resident memory (README "Memory and
 * start-up") whether used or not. So each is opened with dlopen() by its
 * SONAME the first time a module asks for it, and called through a table of
 * the functions the modules use. Each entry has the type of the library's
 * own declaration (__typeof__ of the header configure checked), so every
 * call is still checked by the compiler against that header. Except the
 * variadic part of curl_easy_setopt, curl_easy_getinfo, curl_multi_setopt
 * and MHD_start_daemon, as before: libcurl's typecheck-gcc.h macros apply to
 * its function names, not to a pointer, so each value must have the type
 * the option's documentation gives (long, curl_off_t, a pointer).
 *
 * A library is loaded once and never unloaded (it may have started threads,
 * such as libcurl's resolver, or registered exit handlers). One thread only.
 *
 * Errors: NULL when the library or one of its functions cannot be loaded;
 * logged (once per process) with dlerror()'s reason and what to install.
 * Ownership: the tables are static, valid for the life of the process.
 */
#ifndef LB_DYNLIB_H
#define LB_DYNLIB_H

#include <curl/curl.h>
#include <microhttpd.h>

/* The SONAMEs: the ABI the headers describe (libcurl's has been 4 since
 * 7.16.0, libmicrohttpd's 12 since 0.9.0). */
#define DYNLIB_CURL_SONAME "libcurl.so.4"
#define DYNLIB_MHD_SONAME "libmicrohttpd.so.12"
/* What to install when they cannot be loaded. */
#define DYNLIB_CURL_PACKAGE "libcurl 7.68 or later (Debian: libcurl4)"
#define DYNLIB_MHD_PACKAGE "libmicrohttpd 0.9.71 or later (Debian: libmicrohttpd12)"

/* X(member, symbol): the functions of libcurl that io/ calls. */
#define DYNLIB_CURL_FUNCS(X) \
	X(global_init, curl_global_init) \
	X(global_cleanup, curl_global_cleanup) \
	X(version_info, curl_version_info) \
	X(easy_init, curl_easy_init) \
	X(easy_cleanup, curl_easy_cleanup) \
	X(easy_setopt, curl_easy_setopt) \
	X(easy_getinfo, curl_easy_getinfo) \
	X(easy_strerror, curl_easy_strerror) \
	X(slist_append, curl_slist_append) \
	X(slist_free_all, curl_slist_free_all) \
	X(multi_init, curl_multi_init) \
	X(multi_cleanup, curl_multi_cleanup) \
	X(multi_setopt, curl_multi_setopt) \
	X(multi_assign, curl_multi_assign) \
	X(multi_add_handle, curl_multi_add_handle) \
	X(multi_remove_handle, curl_multi_remove_handle) \
	X(multi_socket_action, curl_multi_socket_action) \
	X(multi_info_read, curl_multi_info_read) \
	X(multi_perform, curl_multi_perform) \
	X(multi_poll, curl_multi_poll) \
	X(multi_strerror, curl_multi_strerror)

/* The functions of libmicrohttpd that io/httpd.c calls. */
#define DYNLIB_MHD_FUNCS(X) \
	X(start_daemon, MHD_start_daemon) \
	X(stop_daemon, MHD_stop_daemon) \
	X(run, MHD_run) \
	X(get_timeout, MHD_get_timeout) \
	X(get_daemon_info, MHD_get_daemon_info) \
	X(get_connection_info, MHD_get_connection_info) \
	X(get_connection_values, MHD_get_connection_values) \
	X(lookup_connection_value, MHD_lookup_connection_value) \
	X(create_response_from_buffer, MHD_create_response_from_buffer) \
	X(create_response_from_callback, MHD_create_response_from_callback) \
	X(add_response_header, MHD_add_response_header) \
	X(queue_response, MHD_queue_response) \
	X(destroy_response, MHD_destroy_response) \
	X(suspend_connection, MHD_suspend_connection) \
	X(resume_connection, MHD_resume_connection)

#define DYNLIB_MEMBER(member, symbol) __typeof__(symbol) *member;

struct dynlib_curl {
	DYNLIB_CURL_FUNCS(DYNLIB_MEMBER)
};

struct dynlib_mhd {
	DYNLIB_MHD_FUNCS(DYNLIB_MEMBER)
};

#undef DYNLIB_MEMBER

/* libcurl's table, loading it at the first call; NULL if it cannot be. */
const struct dynlib_curl *dynlib_curl(void);

/* Let easy handle e use http:// and https:// only (no file://, ...): the
 * headers' way, CURLOPT_PROTOCOLS_STR from 7.85.0 (which deprecated the bit
 * mask), CURLOPT_PROTOCOLS before (configure accepts 7.68). */
CURLcode dynlib_curl_http_only(const struct dynlib_curl *lc, CURL *e);
/* libmicrohttpd's table, the same way. */
const struct dynlib_mhd *dynlib_mhd(void);

#endif
