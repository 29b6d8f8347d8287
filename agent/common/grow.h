/*
 * Growing a malloc'd array (or byte buffer) by doubling, the one policy every
 * list and buffer of the agent uses.
 */
#ifndef IOCA_GROW_H
#define IOCA_GROW_H

#include <stddef.h>

/*
 * Room for `need` elements of `size` bytes in `items`, which has room for
 * *cap: returns items itself when it has (and is allocated), else items
 * reallocated to `first` elements (when *cap is 0) or the first doubling of
 * *cap that holds need, with *cap updated. NULL when out of memory (or size
 * is 0, or the bytes would overflow): items is then unchanged and still the
 * caller's.
 */
void *ioca_grow(void *items, size_t *cap, size_t need, size_t size, size_t first);

#endif
