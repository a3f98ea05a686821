/* dp_idcache.c - bounded cache of identities by certificate bytes. */
#include <stdlib.h>
#include <string.h>

#include "dp_idcache.h"

#define WAYS 4

typedef struct {
    unsigned char key[DP_IDCACHE_KEYLEN];
    int used;
    int64_t expires;
    dp_identity_t id;
} slot_t;

struct dp_idcache {
    slot_t *slots;
    size_t set_mask;
    size_t count;
};

dp_idcache_t *dp_idcache_new(size_t entries)
{
    dp_idcache_t *c;
    size_t sets = 1;

    if (entries == 0 || entries > ((size_t)1 << 24))
        return NULL;
    while (sets * WAYS < entries)
        sets *= 2;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->slots = calloc(sets * WAYS, sizeof(slot_t));
    if (c->slots == NULL) {
        free(c);
        return NULL;
    }
    c->set_mask = sets - 1;
    return c;
}

void dp_idcache_free(dp_idcache_t *c)
{
    if (c == NULL)
        return;
    free(c->slots);
    free(c);
}

static slot_t *set_of(const dp_idcache_t *c, const unsigned char *key)
{
    uint64_t h;

    /* the key is a SHA-256: any 8 of its bytes are uniform */
    memcpy(&h, key, sizeof(h));
    return &c->slots[((size_t)h & c->set_mask) * WAYS];
}

int dp_idcache_get(dp_idcache_t *c, const unsigned char *key, int64_t now,
                   dp_identity_t *out)
{
    slot_t *set = set_of(c, key);
    size_t i;

    for (i = 0; i < WAYS; i++) {
        slot_t *s = &set[i];
        if (!s->used || memcmp(s->key, key, DP_IDCACHE_KEYLEN) != 0)
            continue;
        if (now >= s->expires) {
            s->used = 0;
            c->count--;
            return 0;
        }
        *out = s->id;
        return 1;
    }
    return 0;
}

void dp_idcache_put(dp_idcache_t *c, const unsigned char *key,
                    const dp_identity_t *id, int64_t expires)
{
    slot_t *set = set_of(c, key), *victim = NULL;
    size_t i;

    for (i = 0; i < WAYS && victim == NULL; i++)
        if (set[i].used
            && memcmp(set[i].key, key, DP_IDCACHE_KEYLEN) == 0)
            victim = &set[i];
    for (i = 0; i < WAYS && victim == NULL; i++)
        if (!set[i].used)
            victim = &set[i];
    if (victim == NULL) {
        victim = &set[0];
        for (i = 1; i < WAYS; i++)
            if (set[i].expires < victim->expires)
                victim = &set[i];
    }
    if (!victim->used)
        c->count++;
    memcpy(victim->key, key, DP_IDCACHE_KEYLEN);
    victim->used = 1;
    victim->expires = expires;
    victim->id = *id;
}

size_t dp_idcache_count(const dp_idcache_t *c)
{
    return c->count;
}
