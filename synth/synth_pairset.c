/* synth_pairset.c — a set of (user, item) pairs with open addressing (linear probing), used to
 * draw distinct pairs and keep the splits disjoint. */
#include "synth.h"
#include <stdlib.h>

#define PAIRSET_EMPTY UINT64_MAX

struct synth_pairset {
    uint64_t *slot;
    size_t mask;      /* capacity - 1 (capacity a power of two) */
    long n;
};

static uint64_t pair_key(int32_t u, int32_t i)
{
    return ((uint64_t)(uint32_t)u << 32) | (uint32_t)i;
}

static int pairset_alloc(synth_pairset *s, size_t cap)
{
    s->slot = malloc(cap * sizeof *s->slot);
    if (!s->slot)
        return -1;
    for (size_t k = 0; k < cap; k++)
        s->slot[k] = PAIRSET_EMPTY;
    s->mask = cap - 1;
    s->n = 0;
    return 0;
}

synth_pairset *synth_pairset_new(long expected)
{
    synth_pairset *s = malloc(sizeof *s);
    if (!s)
        return NULL;
    size_t cap = 16;
    while ((double)cap < 2.0 * (double)(expected > 0 ? expected : 1))
        cap <<= 1;
    if (pairset_alloc(s, cap) != 0) {
        free(s);
        return NULL;
    }
    return s;
}

void synth_pairset_free(synth_pairset *s)
{
    if (!s)
        return;
    free(s->slot);
    free(s);
}

static void insert_key(synth_pairset *s, uint64_t key)
{
    size_t k = (size_t)synth_hash64(key) & s->mask;
    while (s->slot[k] != PAIRSET_EMPTY)
        k = (k + 1) & s->mask;
    s->slot[k] = key;
    s->n++;
}

static int grow(synth_pairset *s)
{
    synth_pairset big;
    if (pairset_alloc(&big, 2 * (s->mask + 1)) != 0)
        return -1;
    for (size_t k = 0; k <= s->mask; k++)
        if (s->slot[k] != PAIRSET_EMPTY)
            insert_key(&big, s->slot[k]);
    free(s->slot);
    *s = big;
    return 0;
}

int synth_pairset_has(const synth_pairset *s, int32_t u, int32_t i)
{
    uint64_t key = pair_key(u, i);
    size_t k = (size_t)synth_hash64(key) & s->mask;
    while (s->slot[k] != PAIRSET_EMPTY) {
        if (s->slot[k] == key)
            return 1;
        k = (k + 1) & s->mask;
    }
    return 0;
}

int synth_pairset_add(synth_pairset *s, int32_t u, int32_t i)
{
    if (synth_pairset_has(s, u, i))
        return 0;
    if ((double)(s->n + 1) > 0.5 * (double)(s->mask + 1) && grow(s) != 0)
        return -1;
    insert_key(s, pair_key(u, i));
    return 1;
}

long synth_pairset_size(const synth_pairset *s)
{
    return s->n;
}
