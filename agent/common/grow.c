/*
 * Array growth (see grow.h).
 */
#include "grow.h"

#include <stdint.h>
#include <stdlib.h>

void *ioca_grow(void *items, size_t *cap, size_t need, size_t size, size_t first)
{
	if (items && need <= *cap)
		return items;
	size_t n = *cap ? *cap : (first ? first : 1);
	while (n < need)
		n = n > SIZE_MAX / 2 ? need : n * 2;
	if (size == 0 || n > SIZE_MAX / size)
		return NULL;
	void *p = realloc(items, n * size);
	if (p)
		*cap = n;
	return p;
}
