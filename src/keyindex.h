/* keyindex.h — a hash index from cell key (string) to array position, so that resume, merge
 * and the sweep's store find a record in O(1) instead of scanning every record. Open
 * addressing with linear probing; the index stores positions, the caller owns the keys. */
#ifndef KEYINDEX_H
#define KEYINDEX_H

#include <stddef.h>

typedef struct {
    int *slot;          /* cap entries: position + 1, 0 = empty */
    size_t cap, n;
} keyindex;

void keyindex_init(keyindex *x);
void keyindex_free(keyindex *x);
/* Position of key (keys[pos] compared with strcmp through key_at), or -1. */
int keyindex_find(const keyindex *x, const char *key, const char *(*key_at)(const void *, int),
                  const void *ctx);
/* Add position pos whose key is key (not already present). 0, or -1 when out of memory. */
int keyindex_add(keyindex *x, const char *key, int pos, const char *(*key_at)(const void *, int),
                 const void *ctx);

#endif
