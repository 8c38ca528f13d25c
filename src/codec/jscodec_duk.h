/* SPDX-License-Identifier: MIT */
/*
 * jscodec_duk.h - the build options of our copy of the Duktape engine,
 * shared by its compilation unit (jscodec_duk.c) and by jscodec.c, which
 * must see the same configuration as the engine it calls.
 *
 * Debian's duk_config.h (package duktape-dev) is used as it is, then three
 * hooks are switched on that its shared libduktape lacks:
 *   DUK_USE_INTERRUPT_COUNTER + DUK_USE_EXEC_TIMEOUT_CHECK: every 256K
 *       bytecode instructions the engine asks jscodec__exec_timeout()
 *       whether the running call is past its deadline, and if so throws a
 *       RangeError that keeps being re-thrown at every instruction until
 *       the call has unwound (a script's catch cannot swallow it);
 *   DUK_USE_NATIVE_STACK_CHECK: asked on entry to the engine's recursive C
 *       paths (calls, the compiler, JSON, the regular expression matcher);
 *       jscodec__native_check() answers "past the deadline" too, so a
 *       backtracking regular expression, which runs no bytecode, stops
 *       in time as well;
 *   DUK_USE_FATAL_HANDLER: the engine's last resort, reached only by an
 *       error thrown outside every protected call (jscodec.c enters the
 *       engine only through duk_pcall/duk_safe_call, once its heap exists)
 *       or a failed internal assertion (compiled out). It aborts: the heap
 *       is in an unknown state and the engine requires the handler not to
 *       return. One such error is not ours to prevent: the host's malloc
 *       failing for good while duk_create_heap() makes the built-in
 *       objects (Duktape issue 2378; a failure the engine's retry after a
 *       collection gets past is survived). The heap cap never refuses
 *       there: a new heap takes some 140 KB, codec_memory_kb is 256 KiB
 *       at least.
 * duk_config.h sets its include guard, so the `#include "duk_config.h"`
 * inside duktape.c and duktape.h finds it already done; the options below
 * are therefore the ones the engine is compiled with (the unit test that
 * stops `while (true) {}` proves it).
 */
#ifndef LB_JSCODEC_DUK_H
#define LB_JSCODEC_DUK_H

#include <duk_config.h>

#define DUK_USE_INTERRUPT_COUNTER
#define DUK_USE_EXEC_TIMEOUT_CHECK(udata) jscodec__exec_timeout(udata)
#define DUK_USE_NATIVE_STACK_CHECK() jscodec__native_check()
#define DUK_USE_FATAL_HANDLER(udata, msg) jscodec__fatal((udata), (msg))

/* Defined in jscodec.c. udata is the struct jscodec of the heap. */
duk_bool_t jscodec__exec_timeout(void *udata);
int jscodec__native_check(void);
__attribute__((noreturn)) void jscodec__fatal(void *udata, const char *msg);

#endif
