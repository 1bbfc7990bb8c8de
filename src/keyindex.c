/* keyindex.c — hash index from cell key to array position (see keyindex.h). */
#include "keyindex.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;   /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

void keyindex_init(keyindex *x)
{
    memset(x, 0, sizeof *x);
}

void keyindex_free(keyindex *x)
{
    free(x->slot);
    keyindex_init(x);
}

int keyindex_find(const keyindex *x, const char *key, const char *(*key_at)(const void *, int),
                  const void *ctx)
{
    if (!x->cap)
        return -1;
    for (size_t k = hash_str(key) & (x->cap - 1);; k = (k + 1) & (x->cap - 1)) {
        int v = x->slot[k];
        if (v == 0)
            return -1;
        if (strcmp(key_at(ctx, v - 1), key) == 0)
            return v - 1;
    }
}

static void put(int *slot, size_t cap, uint64_t h, int v)
{
    size_t k = h & (cap - 1);
    while (slot[k])
        k = (k + 1) & (cap - 1);
    slot[k] = v;
}

int keyindex_add(keyindex *x, const char *key, int pos, const char *(*key_at)(const void *, int),
                 const void *ctx)
{
    if (2 * (x->n + 1) > x->cap) {   /* keep the load factor at most 1/2 */
        size_t cap = x->cap ? 2 * x->cap : 64;
        int *slot = calloc(cap, sizeof *slot);
        if (!slot)
            return -1;
        for (size_t k = 0; k < x->cap; k++)
            if (x->slot[k])
                put(slot, cap, hash_str(key_at(ctx, x->slot[k] - 1)), x->slot[k]);
        free(x->slot);
        x->slot = slot;
        x->cap = cap;
    }
    put(x->slot, x->cap, hash_str(key), pos + 1);
    x->n++;
    return 0;
}
