/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2 metadata cache: a small LRU of tables (L2 tables for now) keyed by
 * host offset.  Entries are pinned between get and put; a miss evicts the
 * least recently used unpinned entry.  Tables are kept in host byte order
 * as read (big-endian); callers convert entries with be64_to_cpu.
 * Lookup is a linear scan: the cache has tens to a few thousand entries
 * and each hit saves a read; a hash index is the next step if profiles
 * ever show this loop.
 */
#include "util/osdep.h"
#include "qcow2.h"

typedef struct Qcow2CacheEntry {
    uint64_t offset;        /* host offset of the table; 0: empty */
    uint64_t *table;
    int ref;                /* pins */
    uint64_t lru;           /* last use, higher is newer */
} Qcow2CacheEntry;

struct Qcow2Cache {
    Qcow2CacheEntry *entries;
    uint8_t *memory;        /* all tables, one aligned block */
    int size;
    int64_t table_size;
    uint64_t lru_counter;
};

Qcow2Cache *qcow2_cache_create(int entries, int64_t table_size)
{
    Qcow2Cache *c = g_new0(Qcow2Cache, 1);
    int i;

    c->size = MAX(entries, 2);
    c->table_size = table_size;
    c->entries = g_new0(Qcow2CacheEntry, c->size);
    /*
     * One block for every table: with 512-byte clusters, separately
     * page-aligned tables would cost 8 times the cache size.
     */
    c->memory = qemu_memalign(4096, (size_t)c->size * table_size);
    for (i = 0; i < c->size; i++) {
        c->entries[i].table = (uint64_t *)(c->memory + i * table_size);
    }
    return c;
}

void qcow2_cache_destroy(Qcow2Cache *c)
{
    int i;

    if (!c) {
        return;
    }
    for (i = 0; i < c->size; i++) {
        assert(c->entries[i].ref == 0);
    }
    qemu_vfree(c->memory);
    g_free(c->entries);
    g_free(c);
}

int coroutine_fn qcow2_cache_get(BlockDriverState *bs, Qcow2Cache *c,
                                 uint64_t offset, uint64_t **table)
{
    Qcow2CacheEntry *victim = NULL;
    int i, ret;

    for (i = 0; i < c->size; i++) {
        Qcow2CacheEntry *e = &c->entries[i];
        if (e->offset == offset) {
            e->ref++;
            e->lru = ++c->lru_counter;
            *table = e->table;
            return 0;
        }
        if (e->ref == 0 && (!victim || e->lru < victim->lru)) {
            victim = e;
        }
    }
    if (!victim) {
        return -ENOSPC;     /* every entry pinned: a bug in the caller */
    }
    victim->offset = 0;
    victim->ref = 1;        /* pinned while the read yields */
    ret = bdrv_co_pread(bs->file, offset, c->table_size, victim->table, 0);
    if (ret < 0) {
        victim->ref = 0;
        return ret;
    }
    victim->offset = offset;
    victim->lru = ++c->lru_counter;
    *table = victim->table;
    return 0;
}

void qcow2_cache_put(Qcow2Cache *c, uint64_t **table)
{
    int i;

    for (i = 0; i < c->size; i++) {
        if (c->entries[i].table == *table) {
            assert(c->entries[i].ref > 0);
            c->entries[i].ref--;
            *table = NULL;
            return;
        }
    }
    g_assert_not_reached();
}
