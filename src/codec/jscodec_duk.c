/* SPDX-License-Identifier: MIT */
/*
 * jscodec_duk.c - compiles the Duktape 2.7 engine (its one-file source,
 * duktape.c, from the directory configure's --with-duktape-source names)
 * with our options. Built into its own library with warnings not fatal:
 * the code is not ours to fix, our own files keep -Werror.
 */
#define DUK_COMPILING_DUKTAPE   /* as duktape.c defines it: before duk_config.h */
#include "codec/jscodec_duk.h"

#include <duktape.c>
