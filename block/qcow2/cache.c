/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2 metadata cache: a small LRU of tables (L2 tables, refcount blocks)
 * keyed by host offset, with write-back.  Entries are pinned between get
 * and put; a miss evicts the least recently used unpinned entry, writing
 * it back first when dirty.  Tables are kept in disk byte order.
 *
 * Ordering: a cache may depend on another (L2 tables on refcount blocks
 * after an allocation, refcount blocks on L2 tables after a free); before
 * any of its entries reaches the file, the cache it depends on is written
 * and the file flushed.  depends_on_flush asks for a plain file flush
 * first (copied data before the L2 entries that point to it).
 *
 * Every call is made with the driver's metadata lock held.  Tables are
 * found through a hash index by offset (freeing a run of clusters asks
 * for each of them, and small clusters mean thousands of entries); the
 * victim of a miss is found by a scan, which the read it precedes
 * dwarfs.
 */
#include "util/osdep.h"
#include "qcow2.h"

typedef struct Qcow2CacheEntry {
    uint64_t offset;        /* host offset of the table; 0: empty */
    uint64_t *table;
    int ref;                /* pins (including a write-back in progress) */
    bool dirty;
    uint64_t lru;           /* last use, higher is newer */
} Qcow2CacheEntry;

struct Qcow2Cache {
    Qcow2CacheEntry *entries;
    uint8_t *memory;        /* all tables, one aligned block */
    int size;
    int64_t table_size;
    uint64_t lru_counter;
    Qcow2Cache *depends;    /* write that one (and flush) before ours */
    bool depends_on_flush;  /* flush the file before writing ours */
    const char *name;       /* for overlap messages */
    GHashTable *index;      /* offset -> entry, for entries holding one */
};

/* Give @e the table at @offset (0: none), keeping the index right. */
static void set_offset(Qcow2Cache *c, Qcow2CacheEntry *e, uint64_t offset)
{
    if (e->offset) {
        g_hash_table_remove(c->index, &e->offset);
    }
    e->offset = offset;
    if (offset) {
        g_hash_table_insert(c->index, &e->offset, e);
    }
}

static Qcow2CacheEntry *lookup(Qcow2Cache *c, uint64_t offset)
{
    return g_hash_table_lookup(c->index, &offset);
}

Qcow2Cache *qcow2_cache_create(int entries, int64_t table_size)
{
    Qcow2Cache *c = g_new0(Qcow2Cache, 1);
    int i;

    c->size = MAX(entries, 2);
    c->table_size = table_size;
    c->entries = g_new0(Qcow2CacheEntry, c->size);
    c->index = g_hash_table_new(g_int64_hash, g_int64_equal);
    /*
     * One block for every table: with 512-byte clusters, separately
     * page-aligned tables would cost 8 times the cache size.
     */
    c->memory = blk_buf_alloc(NULL, (size_t)c->size * table_size);
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
    g_hash_table_destroy(c->index);
    blk_buf_free(c->memory);
    g_free(c->entries);
    g_free(c);
}

static Qcow2CacheEntry *entry_of(Qcow2Cache *c, void *table)
{
    int i = ((uint8_t *)table - c->memory) / c->table_size;

    assert(i >= 0 && i < c->size && c->entries[i].table == table);
    return &c->entries[i];
}

static int coroutine_fn flush_file(BlockDriverState *bs)
{
    return bdrv_co_flush(bs->file->bs);
}

static int coroutine_fn cache_write(BlockDriverState *bs, Qcow2Cache *c);

/* Write what @c depends on, so that @c's entries may follow. */
static int coroutine_fn cache_before_write(BlockDriverState *bs, Qcow2Cache *c)
{
    int ret = 0;

    if (c->depends) {
        Qcow2Cache *d = c->depends;
        ret = cache_write(bs, d);
        if (ret == 0) {
            ret = flush_file(bs);
        }
        if (ret == 0) {
            c->depends = NULL;
            c->depends_on_flush = false;    /* the flush covered it */
        }
    } else if (c->depends_on_flush) {
        ret = flush_file(bs);
        if (ret == 0) {
            c->depends_on_flush = false;
        }
    }
    return ret;
}

static int coroutine_fn entry_write(BlockDriverState *bs, Qcow2Cache *c,
                                    Qcow2CacheEntry *e)
{
    bool is_l2 = c == ((BDRVQcow2State *)bs->opaque)->l2_cache;
    int ret;

    if (!e->dirty) {
        return 0;
    }
    ret = cache_before_write(bs, c);
    if (ret < 0) {
        return ret;
    }
    ret = qcow2_pre_write_overlap_check(bs, is_l2 ? QCOW2_OL_ACTIVE_L2 :
                                        QCOW2_OL_REFCOUNT_BLOCK,
                                        e->offset, c->table_size);
    if (ret < 0) {
        return ret;
    }
    BLKDBG_EVENT(bs->file, is_l2 ? BLKDBG_L2_UPDATE :
                                   BLKDBG_REFBLOCK_UPDATE_PART);
    e->ref++;       /* not evicted while the write yields */
    ret = bdrv_co_pwrite(bs->file, e->offset, c->table_size, e->table, 0);
    e->ref--;
    if (ret == 0) {
        e->dirty = false;
    }
    return ret;
}

static int coroutine_fn cache_write(BlockDriverState *bs, Qcow2Cache *c)
{
    int i, ret, result = 0;

    for (i = 0; i < c->size; i++) {
        ret = entry_write(bs, c, &c->entries[i]);
        if (ret < 0 && result != -ENOSPC) {
            result = ret;
        }
    }
    return result;
}

int coroutine_fn qcow2_cache_write(BlockDriverState *bs, Qcow2Cache *c)
{
    return cache_write(bs, c);
}

int coroutine_fn qcow2_cache_flush(BlockDriverState *bs, Qcow2Cache *c)
{
    int ret = cache_write(bs, c);

    if (ret == 0) {
        ret = flush_file(bs);
    }
    return ret;
}

int coroutine_fn qcow2_cache_set_dependency(BlockDriverState *bs,
                                            Qcow2Cache *c,
                                            Qcow2Cache *dependency)
{
    int ret;

    /* no chains: settle what the dependency itself waits for */
    if (dependency->depends) {
        ret = cache_before_write(bs, dependency);
        if (ret < 0) {
            return ret;
        }
    }
    if (c->depends && c->depends != dependency) {
        ret = cache_before_write(bs, c);
        if (ret < 0) {
            return ret;
        }
    }
    c->depends = dependency;
    return 0;
}

void qcow2_cache_depends_on_flush(Qcow2Cache *c)
{
    c->depends_on_flush = true;
}

static int coroutine_fn do_get(BlockDriverState *bs, Qcow2Cache *c,
                               uint64_t offset, uint64_t **table,
                               bool read_from_disk)
{
    Qcow2CacheEntry *victim;
    int i, ret;

    assert(offset != 0);
retry:
    victim = lookup(c, offset);
    if (victim) {
        victim->ref++;
        victim->lru = ++c->lru_counter;
        *table = victim->table;
        return 0;
    }
    for (i = 0; i < c->size; i++) {
        Qcow2CacheEntry *e = &c->entries[i];
        if (e->ref == 0 && (!victim || e->lru < victim->lru)) {
            victim = e;
        }
    }
    if (!victim) {
        return -ENOSPC;     /* every entry pinned: a bug in the caller */
    }
    if (victim->dirty) {
        ret = entry_write(bs, c, victim);
        if (ret < 0) {
            return ret;
        }
        goto retry;         /* the write yielded: look again */
    }
    set_offset(c, victim, 0);
    victim->ref = 1;        /* pinned while the read yields */
    if (read_from_disk) {
        if (c == ((BDRVQcow2State *)bs->opaque)->l2_cache) {
            BLKDBG_EVENT(bs->file, BLKDBG_L2_LOAD);
        }
        ret = bdrv_co_pread(bs->file, offset, c->table_size, victim->table,
                            0);
        if (ret < 0) {
            victim->ref = 0;
            return ret;
        }
    }
    set_offset(c, victim, offset);
    victim->lru = ++c->lru_counter;
    *table = victim->table;
    return 0;
}

int coroutine_fn qcow2_cache_get(BlockDriverState *bs, Qcow2Cache *c,
                                 uint64_t offset, uint64_t **table)
{
    return do_get(bs, c, offset, table, true);
}

int coroutine_fn qcow2_cache_get_empty(BlockDriverState *bs, Qcow2Cache *c,
                                       uint64_t offset, uint64_t **table)
{
    return do_get(bs, c, offset, table, false);
}

void qcow2_cache_put(Qcow2Cache *c, uint64_t **table)
{
    Qcow2CacheEntry *e = entry_of(c, *table);

    assert(e->ref > 0);
    e->ref--;
    *table = NULL;
}

void qcow2_cache_mark_dirty(Qcow2Cache *c, void *table)
{
    entry_of(c, table)->dirty = true;
}

void qcow2_cache_discard(Qcow2Cache *c, uint64_t offset)
{
    Qcow2CacheEntry *e = lookup(c, offset);

    if (e && e->ref == 0) {
        set_offset(c, e, 0);
        e->dirty = false;
        e->lru = 0;
    }
}

void qcow2_cache_clean(Qcow2Cache *c)
{
    for (int i = 0; i < c->size; i++) {
        c->entries[i].dirty = false;
    }
}

void qcow2_cache_empty(Qcow2Cache *c)
{
    for (int i = 0; i < c->size; i++) {
        Qcow2CacheEntry *e = &c->entries[i];
        assert(e->ref == 0);
        set_offset(c, e, 0);
        e->dirty = false;
        e->lru = 0;
    }
}
