/* SPDX-License-Identifier: MIT */
/*
 * grow.h - room for one more element in an array that realloc() owns: the
 * doubling every table that collects as it goes (the sessions a restore
 * notes, the applications a sync finds) would otherwise write again.
 *
 * lb_grow(&arr, n, &cap, sizeof(*arr), first): if n < cap, nothing; else
 * the array (arr, a T * of n elements, NULL when cap is 0) is reallocated
 * to twice cap (first when cap is 0) and cap updated. Returns LB_OK, or
 * LB_ERR_NOMEM with the array and cap as they were (the caller still owns
 * and frees it).
 */
#ifndef LB_GROW_H
#define LB_GROW_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/lb_err.h"

/* arr_p: the address of the caller's T * (every object pointer has one
 * representation on the platforms lorabridge builds for). */
static inline int lb_grow(void *arr_p, size_t n, size_t *cap, size_t elem, size_t first)
{
	void *arr;

	if (n < *cap)
		return LB_OK;
	size_t ncap = *cap ? 2 * *cap : first;
	if (ncap < *cap || ncap > SIZE_MAX / elem)
		return LB_ERR_NOMEM;
	memcpy(&arr, arr_p, sizeof(arr));
	arr = realloc(arr, ncap * elem);
	if (!arr)
		return LB_ERR_NOMEM;
	memcpy(arr_p, &arr, sizeof(arr));
	*cap = ncap;
	return LB_OK;
}

#endif
