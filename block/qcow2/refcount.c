/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2 refcounts and host cluster allocation.
 *
 * The refcount table (in memory, host endian) points to refcount blocks
 * (through the metadata cache) holding one refcount of 1..64 bits per
 * host cluster.  Allocation is first-fit from free_cluster_index, the same
 * decisions QEMU makes, so that the same writes give the same layout.
 * Refcount blocks for new ranges describe themselves where they can; when
 * the table is full, new self-describing structures go at the end of the
 * file and the header switches to them in one write.
 *
 * Ordering for crash safety: a new refcount reaches the file before any
 * L2 entry that uses it (the L2 cache depends on the refcount cache), and
 * a decrease only after the L2 entry that dropped the reference (the
 * refcount cache depends on the L2 cache).  A cluster freed since the
 * last write-back is not handed out again until the metadata that freed
 * it is in the file (frees_pending), so that a kill can never leave an
 * old L2 entry pointing at someone else's new data.
 */
#include "util/osdep.h"
#include "qcow2.h"
#include "util/bswap.h"

#define QCOW_MAX_CLUSTER_OFFSET ((1ULL << 56) - 1)

/* ---- refcount entries of every width ---- */

static uint64_t rc_get(const void *block, int order, uint64_t i)
{
    const uint8_t *b = block;

    switch (order) {
    case 0:
        return (b[i / 8] >> (i % 8)) & 0x1;
    case 1:
        return (b[i / 4] >> (2 * (i % 4))) & 0x3;
    case 2:
        return (b[i / 2] >> (4 * (i % 2))) & 0xf;
    case 3:
        return b[i];
    case 4:
        return lduw_be_p(b + 2 * i);
    case 5:
        return ldl_be_p(b + 4 * i);
    default:
        return ldq_be_p(b + 8 * i);
    }
}

static void rc_set(void *block, int order, uint64_t i, uint64_t value)
{
    uint8_t *b = block;
    int bits, shift;

    switch (order) {
    case 0:
    case 1:
    case 2:
        bits = 1 << order;
        shift = (i % (8 / bits)) * bits;
        b[i / (8 / bits)] = (b[i / (8 / bits)] & ~(((1 << bits) - 1) << shift))
                            | (value << shift);
        break;
    case 3:
        b[i] = value;
        break;
    case 4:
        stw_be_p(b + 2 * i, value);
        break;
    case 5:
        stl_be_p(b + 4 * i, value);
        break;
    default:
        stq_be_p(b + 8 * i, value);
        break;
    }
}

uint64_t qcow2_rc_get(const void *block, int order, uint64_t i)
{
    return rc_get(block, order, i);
}

void qcow2_rc_set(void *block, int order, uint64_t i, uint64_t value)
{
    rc_set(block, order, i, value);
}

void qcow2_refcount_set_order(BDRVQcow2State *s, int order)
{
    s->refcount_order = order;
    s->refcount_block_bits = s->cluster_bits + 3 - order;
    s->refcount_block_size = 1LL << s->refcount_block_bits;
    s->refcount_max = order == 6 ? UINT64_MAX : (1ULL << (1 << order)) - 1;
}

bool coroutine_fn qcow2_refcount_init(BlockDriverState *bs, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t bytes = (uint64_t)s->refcount_table_clusters << s->cluster_bits;
    uint32_t i;
    int ret;

    qcow2_refcount_set_order(s, s->refcount_order);
    s->refcount_table_size = bytes / REFTABLE_ENTRY_SIZE;
    s->refcount_table = g_try_malloc0(MAX(bytes, REFTABLE_ENTRY_SIZE));
    if (!s->refcount_table) {
        error_setg(errp, "Could not allocate refcount table");
        return false;
    }
    if (bytes) {
        BLKDBG_EVENT(bs->file, BLKDBG_REFTABLE_LOAD);
        ret = bdrv_co_pread(bs->file, s->refcount_table_offset, bytes,
                            s->refcount_table, 0);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Could not read refcount table");
            return false;
        }
    }
    s->max_refcount_table_index = 0;
    for (i = 0; i < s->refcount_table_size; i++) {
        s->refcount_table[i] = be64toh(s->refcount_table[i]);
        if (s->refcount_table[i] & REFT_OFFSET_MASK) {
            s->max_refcount_table_index = i;
        }
    }
    QTAILQ_INIT(&s->discards);
    return true;
}

void qcow2_refcount_close(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;

    qcow2_cache_destroy(s->refcount_block_cache);
    s->refcount_block_cache = NULL;
    g_free(s->refcount_table);
    s->refcount_table = NULL;
}

bool coroutine_fn qcow2_refcounts_load(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;

    if (!s->refcount_table) {
        /* read-only open: refcounts were not needed until now */
        if (!qcow2_refcount_init(bs, NULL)) {
            return false;
        }
        s->refcount_block_cache = qcow2_cache_create(4, s->cluster_size);
    }
    return true;
}

int coroutine_fn qcow2_detect_metadata_preallocation(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t file_length, allocated, real_clusters, threshold, end, i;
    int64_t in_use = 0;

    if (!qcow2_refcounts_load(bs)) {
        return -EIO;
    }
    file_length = bdrv_co_getlength(bs->file->bs);
    if (file_length < 0) {
        return file_length;
    }
    allocated = bdrv_co_get_allocated_file_size(bs->file->bs);
    if (allocated < 0) {
        return allocated;
    }
    /* in use beyond 10/9 of what the file holds (and 2 spare): holes */
    real_clusters = allocated / s->cluster_size;
    threshold = MAX(real_clusters * 10 / 9, real_clusters + 2);
    end = size_to_clusters(s, file_length);
    for (i = 0; i < end && in_use <= threshold; i++) {
        uint64_t refcount;
        int ret = qcow2_get_refcount(bs, i, &refcount);
        if (ret < 0) {
            return ret;
        }
        in_use += refcount != 0;
    }
    return in_use > threshold;
}

static void update_max_refcount_table_index(BDRVQcow2State *s)
{
    uint32_t i = s->refcount_table_size ? s->refcount_table_size - 1 : 0;

    while (i > 0 && !(s->refcount_table[i] & REFT_OFFSET_MASK)) {
        i--;
    }
    s->max_refcount_table_index = i;
}

int coroutine_fn qcow2_switch_refcount_table(BlockDriverState *bs,
                                             uint64_t *table,
                                             uint32_t entries,
                                             uint64_t offset)
{
    BDRVQcow2State *s = bs->opaque;
    uint32_t clusters = size_to_clusters(s, (int64_t)entries *
                                            REFTABLE_ENTRY_SIZE);
    uint8_t hdr[12];
    int ret;

    /* the header switches in one write: offset and size together */
    stq_be_p(hdr, offset);
    stl_be_p(hdr + 8, clusters);
    ret = qcow2_update_header_field(bs, offsetof(QCowHeader,
                                                 refcount_table_offset),
                                    hdr, sizeof(hdr));
    if (ret < 0) {
        return ret;
    }
    g_free(s->refcount_table);
    s->refcount_table = table;
    s->refcount_table_size = entries;
    s->refcount_table_offset = offset;
    s->refcount_table_clusters = clusters;
    update_max_refcount_table_index(s);
    return 0;
}

void qcow2_refcount_table_replaced(BDRVQcow2State *s)
{
    qcow2_cache_empty(s->refcount_block_cache);
    update_max_refcount_table_index(s);
    s->free_cluster_index = 0;
}

/* The refcount block at @offset (from the table), checked. */
static int coroutine_fn get_refcount_block(BlockDriverState *bs,
                                           uint64_t offset, uint32_t index,
                                           uint64_t **block)
{
    BDRVQcow2State *s = bs->opaque;

    if (offset_into_cluster(s, offset)) {
        return qcow2_signal_corruption(bs, true, "Refblock offset %#" PRIx64
                                       " unaligned (reftable index: %#x)",
                                       offset, index);
    }
    return qcow2_cache_get(bs, s->refcount_block_cache, offset, block);
}

/* The same, for a change to it: blkdebug hears refblock_load (as in 7.2). */
static int coroutine_fn load_refcount_block(BlockDriverState *bs,
                                            uint64_t offset, uint32_t index,
                                            uint64_t **block)
{
    BLKDBG_EVENT(bs->file, BLKDBG_REFBLOCK_LOAD);
    return get_refcount_block(bs, offset, index, block);
}

int coroutine_fn qcow2_get_refcount(BlockDriverState *bs,
                                    int64_t cluster_index, uint64_t *refcount)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t table_index = cluster_index >> s->refcount_block_bits;
    uint64_t block_offset;
    uint64_t *block;
    int ret;

    if (table_index >= s->refcount_table_size) {
        *refcount = 0;
        return 0;
    }
    block_offset = s->refcount_table[table_index] & REFT_OFFSET_MASK;
    if (!block_offset) {
        *refcount = 0;
        return 0;
    }
    ret = get_refcount_block(bs, block_offset, table_index, &block);
    if (ret < 0) {
        return ret;
    }
    *refcount = rc_get(block, s->refcount_order,
                       cluster_index & (s->refcount_block_size - 1));
    qcow2_cache_put(s->refcount_block_cache, &block);
    return 0;
}

static bool in_same_refcount_block(BDRVQcow2State *s, uint64_t a, uint64_t b)
{
    uint64_t shift = s->cluster_bits + s->refcount_block_bits;

    return (a >> shift) == (b >> shift);
}

/*
 * Find @size bytes of free clusters from free_cluster_index on without
 * touching refcounts.  Clusters past the refcount table's reach count as
 * free.
 */
static int64_t coroutine_fn alloc_clusters_noref(BlockDriverState *bs,
                                                 uint64_t size, uint64_t max)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t i, nb_clusters = size_to_clusters(s, size);
    uint64_t refcount;
    int ret;

    /* clusters still queued for discard are not free yet */
    if (s->cache_discards) {
        qcow2_process_discards(bs, 0);
    }
retry:
    for (i = 0; i < nb_clusters; i++) {
        uint64_t next = s->free_cluster_index++;
        ret = qcow2_get_refcount(bs, next, &refcount);
        if (ret < 0) {
            return ret;
        }
        if (refcount != 0) {
            goto retry;
        }
    }
    if (s->free_cluster_index > 0 &&
        s->free_cluster_index - 1 > (max >> s->cluster_bits)) {
        return -EFBIG;
    }
    return (s->free_cluster_index - nb_clusters) << s->cluster_bits;
}

int64_t qcow2_refcount_metadata_size(int64_t clusters, size_t cluster_size,
                                     int refcount_order, bool generous,
                                     uint64_t *refblock_count)
{
    /*
     * Refcount metadata counts itself: iterate to the fixed point where
     * the blocks and table clusters also cover themselves.
     */
    int64_t per_table_cluster = cluster_size / REFTABLE_ENTRY_SIZE;
    int64_t per_block = cluster_size * 8 / (1 << refcount_order);
    int64_t table = 0, blocks = 0, n = 0, last;

    do {
        last = n;
        blocks = DIV_ROUND_UP(clusters + table + blocks, per_block);
        table = DIV_ROUND_UP(blocks, per_table_cluster);
        n = clusters + blocks + table;
        if (n == last && generous) {
            /* room to grow: half as many table clusters again */
            clusters += DIV_ROUND_UP(table, 2);
            n = 0;
            generous = false;
        }
    } while (n != last);
    if (refblock_count) {
        *refblock_count = blocks;
    }
    return (blocks + table) * cluster_size;
}

int64_t coroutine_fn qcow2_refcount_area(BlockDriverState *bs,
                                         uint64_t start_offset,
                                         uint64_t additional_clusters,
                                         bool exact_size,
                                         int new_refblock_index,
                                         uint64_t new_refblock_offset)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t total_u64, additional_refblocks = 0;
    int64_t total, table_size, area_index, table_clusters, i;
    uint64_t table_offset, block_offset, end_offset, old_offset, old_size;
    g_autofree uint64_t *new_table = NULL;
    int ret;

    assert(!offset_into_cluster(s, start_offset));
    qcow2_refcount_metadata_size(start_offset / s->cluster_size +
                                 additional_clusters, s->cluster_size,
                                 s->refcount_order, !exact_size, &total_u64);
    if (total_u64 > QCOW_MAX_REFTABLE_SIZE) {
        return -EFBIG;
    }
    total = total_u64;
    area_index = (start_offset / s->cluster_size) / s->refcount_block_size;
    table_size = exact_size ? total : total + DIV_ROUND_UP(total, 2);
    table_size = ROUND_UP(table_size, s->cluster_size / REFTABLE_ENTRY_SIZE);
    table_clusters = table_size * REFTABLE_ENTRY_SIZE / s->cluster_size;
    if (table_size > QCOW_MAX_REFTABLE_SIZE) {
        return -EFBIG;
    }
    new_table = g_try_new0(uint64_t, table_size);
    if (!new_table) {
        return -ENOMEM;
    }
    if (table_size > s->max_refcount_table_index) {
        memcpy(new_table, s->refcount_table,
               (s->max_refcount_table_index + 1) * REFTABLE_ENTRY_SIZE);
    } else {
        /* shrinking: only empty space lies past @start_offset */
        memcpy(new_table, s->refcount_table,
               table_size * REFTABLE_ENTRY_SIZE);
    }
    if (new_refblock_offset) {
        assert(new_refblock_index < total);
        new_table[new_refblock_index] = new_refblock_offset;
    }
    for (i = area_index; i < total; i++) {
        if (!new_table[i]) {
            additional_refblocks++;
        }
    }
    table_offset = start_offset + additional_refblocks * s->cluster_size;
    end_offset = table_offset + table_clusters * s->cluster_size;

    /* refblocks: reuse or create, then count the new structures in them */
    block_offset = start_offset;
    for (i = area_index; i < total; i++) {
        uint64_t *block;
        uint64_t first_covered;

        if (new_table[i]) {
            ret = load_refcount_block(bs, new_table[i], i, &block);
        } else {
            ret = qcow2_cache_get_empty(bs, s->refcount_block_cache,
                                        block_offset, &block);
            if (ret == 0) {
                memset(block, 0, s->cluster_size);
                qcow2_cache_mark_dirty(s->refcount_block_cache, block);
                new_table[i] = block_offset;
                block_offset += s->cluster_size;
            }
        }
        if (ret < 0) {
            return ret;
        }
        first_covered = (uint64_t)i * s->refcount_block_size *
                        s->cluster_size;
        if (first_covered < end_offset) {
            int64_t j = first_covered < start_offset ?
                        (int64_t)((start_offset - first_covered) /
                                  s->cluster_size) : 0;
            int64_t end = MIN((end_offset - first_covered) / s->cluster_size,
                              (uint64_t)s->refcount_block_size);
            for (; j < end; j++) {
                rc_set(block, s->refcount_order, j, 1);
            }
            qcow2_cache_mark_dirty(s->refcount_block_cache, block);
        }
        qcow2_cache_put(s->refcount_block_cache, &block);
    }
    assert(block_offset == table_offset);
    BLKDBG_EVENT(bs->file, BLKDBG_REFBLOCK_ALLOC_WRITE_BLOCKS);
    ret = qcow2_cache_flush(bs, s->refcount_block_cache);
    if (ret < 0) {
        return ret;
    }
    for (i = 0; i < total; i++) {
        new_table[i] = htobe64(new_table[i]);
    }
    BLKDBG_EVENT(bs->file, BLKDBG_REFBLOCK_ALLOC_WRITE_TABLE);
    ret = bdrv_co_pwrite(bs->file, table_offset,
                         table_size * REFTABLE_ENTRY_SIZE, new_table, 0);
    if (ret == 0) {
        ret = bdrv_co_flush(bs->file->bs);
    }
    if (ret < 0) {
        return ret;
    }
    for (i = 0; i < total; i++) {
        new_table[i] = be64toh(new_table[i]);
    }
    old_offset = s->refcount_table_offset;
    old_size = s->refcount_table_size;
    BLKDBG_EVENT(bs->file, BLKDBG_REFBLOCK_ALLOC_SWITCH_TABLE);
    ret = qcow2_switch_refcount_table(bs, new_table, table_size,
                                      table_offset);
    if (ret < 0) {
        return ret;
    }
    new_table = NULL;           /* the image's now */
    qcow2_free_clusters(bs, old_offset, old_size * REFTABLE_ENTRY_SIZE,
                        QCOW2_DISCARD_OTHER);
    return end_offset;
}

static int coroutine_fn update_refcount(BlockDriverState *bs, int64_t offset,
                                        int64_t length, uint64_t addend,
                                        bool decrease, Qcow2DiscardType type);

/*
 * The refcount block for @cluster_index, allocating it (and growing the
 * table) when missing.  Returns -EAGAIN after allocating: the caller's
 * search for free clusters may have picked what is now metadata.
 */
static int coroutine_fn alloc_refcount_block(BlockDriverState *bs,
                                             int64_t cluster_index,
                                             uint64_t **block)
{
    BDRVQcow2State *s = bs->opaque;
    uint32_t index = cluster_index >> s->refcount_block_bits;
    int64_t new_block, area_end;
    uint64_t blocks_used, meta_offset;
    int ret;

    BLKDBG_EVENT(bs->file, BLKDBG_REFBLOCK_ALLOC);
    if (index < s->refcount_table_size) {
        uint64_t offset = s->refcount_table[index] & REFT_OFFSET_MASK;
        if (offset) {
            return load_refcount_block(bs, offset, index, block);
        }
    }
    *block = NULL;
    /* we write the refcount table, which L2 tables may depend on */
    ret = qcow2_cache_flush(bs, s->l2_cache);
    if (ret < 0) {
        return ret;
    }
    new_block = alloc_clusters_noref(bs, s->cluster_size, INT64_MAX);
    if (new_block < 0) {
        return new_block;
    }
    if (new_block == 0) {
        return qcow2_signal_corruption(bs, true, "Preventing invalid "
                                       "allocation of refcount block at "
                                       "offset 0");
    }
    if (in_same_refcount_block(s, new_block,
                               cluster_index << s->cluster_bits)) {
        /* the block describes itself */
        ret = qcow2_cache_get_empty(bs, s->refcount_block_cache, new_block,
                                    block);
        if (ret < 0) {
            return ret;
        }
        memset(*block, 0, s->cluster_size);
        rc_set(*block, s->refcount_order,
               (new_block >> s->cluster_bits) & (s->refcount_block_size - 1),
               1);
    } else {
        /* described elsewhere: recursion ends at a self-describing block */
        ret = update_refcount(bs, new_block, s->cluster_size, 1, false,
                              QCOW2_DISCARD_NEVER);
        if (ret < 0) {
            return ret;
        }
        ret = qcow2_cache_flush(bs, s->refcount_block_cache);
        if (ret < 0) {
            return ret;
        }
        ret = qcow2_cache_get_empty(bs, s->refcount_block_cache, new_block,
                                    block);
        if (ret < 0) {
            return ret;
        }
        memset(*block, 0, s->cluster_size);
    }
    qcow2_cache_mark_dirty(s->refcount_block_cache, *block);
    BLKDBG_EVENT(bs->file, BLKDBG_REFBLOCK_ALLOC_WRITE);
    ret = qcow2_cache_flush(bs, s->refcount_block_cache);
    if (ret < 0) {
        goto fail;
    }
    if (index < s->refcount_table_size) {
        uint64_t be = htobe64(new_block);
        BLKDBG_EVENT(bs->file, BLKDBG_REFBLOCK_ALLOC_HOOKUP);
        ret = bdrv_co_pwrite(bs->file, s->refcount_table_offset +
                             (uint64_t)index * REFTABLE_ENTRY_SIZE,
                             sizeof(be), &be, 0);
        if (ret == 0) {
            ret = bdrv_co_flush(bs->file->bs);
        }
        if (ret < 0) {
            goto fail;
        }
        s->refcount_table[index] = new_block;
        s->max_refcount_table_index = MAX(s->max_refcount_table_index, index);
        qcow2_cache_put(s->refcount_block_cache, block);
        return -EAGAIN;
    }
    qcow2_cache_put(s->refcount_block_cache, block);

    /* the table is full: new self-describing structures at the end */
    BLKDBG_EVENT(bs->file, BLKDBG_REFTABLE_GROW);
    blocks_used = DIV_ROUND_UP(MAX(cluster_index + 1,
                                   (new_block >> s->cluster_bits) + 1),
                               s->refcount_block_size);
    meta_offset = blocks_used * s->refcount_block_size * s->cluster_size;
    area_end = qcow2_refcount_area(bs, meta_offset, 0, false, index,
                                   new_block);
    return area_end < 0 ? (int)area_end : -EAGAIN;

fail:
    qcow2_cache_put(s->refcount_block_cache, block);
    return ret;
}

void qcow2_queue_discard(BlockDriverState *bs, uint64_t offset,
                         uint64_t length)
{
    BDRVQcow2State *s = bs->opaque;
    Qcow2DiscardRegion *d, *p, *next;

    QTAILQ_FOREACH(d, &s->discards, next) {
        uint64_t start = MIN(offset, d->offset);
        uint64_t end = MAX(offset + length, d->offset + d->bytes);
        if (end - start <= length + d->bytes) {
            d->offset = start;
            d->bytes = end - start;
            goto merge;
        }
    }
    d = g_new(Qcow2DiscardRegion, 1);
    d->offset = offset;
    d->bytes = length;
    QTAILQ_INSERT_TAIL(&s->discards, d, next);
merge:
    QTAILQ_FOREACH_SAFE(p, &s->discards, next, next) {
        if (p == d || p->offset > d->offset + d->bytes ||
            d->offset > p->offset + p->bytes) {
            continue;
        }
        QTAILQ_REMOVE(&s->discards, p, next);
        d->bytes = MAX(d->offset + d->bytes, p->offset + p->bytes) -
                   MIN(d->offset, p->offset);
        d->offset = MIN(d->offset, p->offset);
        g_free(p);
    }
}

void coroutine_fn qcow2_process_discards(BlockDriverState *bs, int ret)
{
    BDRVQcow2State *s = bs->opaque;
    Qcow2DiscardRegion *d, *next;

    QTAILQ_FOREACH_SAFE(d, &s->discards, next, next) {
        QTAILQ_REMOVE(&s->discards, d, next);
        /*
         * Not once the image is marked corrupt: the cluster freed on the
         * way out may be metadata a wrong refcount handed out (7.2 punches
         * the hole, and a snapshot table with it).
         */
        if (ret >= 0 && !s->unusable) {
            /* advisory: errors are ignored */
            (void)bdrv_co_pdiscard(bs->file, d->offset, d->bytes);
        }
        g_free(d);
    }
}

/* Add (or with @decrease, subtract) @addend to every cluster touched. */
static int coroutine_fn update_refcount(BlockDriverState *bs, int64_t offset,
                                        int64_t length, uint64_t addend,
                                        bool decrease, Qcow2DiscardType type)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t start, last, cluster_offset;
    int64_t old_table_index = -1;
    uint64_t *block = NULL;
    int ret = 0;

    if (length < 0) {
        return -EINVAL;
    }
    if (length == 0) {
        return 0;
    }
    if (decrease) {
        ret = qcow2_cache_set_dependency(bs, s->refcount_block_cache,
                                         s->l2_cache);
        if (ret < 0) {
            return ret;
        }
    }
    start = start_of_cluster(s, offset);
    last = start_of_cluster(s, offset + length - 1);
    for (cluster_offset = start; cluster_offset <= last;
         cluster_offset += s->cluster_size) {
        int64_t cluster_index = cluster_offset >> s->cluster_bits;
        int64_t table_index = cluster_index >> s->refcount_block_bits;
        int64_t block_index;
        uint64_t refcount;

        if (table_index != old_table_index) {
            if (block) {
                qcow2_cache_put(s->refcount_block_cache, &block);
            }
            ret = alloc_refcount_block(bs, cluster_index, &block);
            /* a restarted search tries the same clusters first */
            if (ret == -EAGAIN &&
                s->free_cluster_index > (uint64_t)(start >> s->cluster_bits)) {
                s->free_cluster_index = start >> s->cluster_bits;
            }
            if (ret < 0) {
                block = NULL;
                goto fail;
            }
        }
        old_table_index = table_index;
        qcow2_cache_mark_dirty(s->refcount_block_cache, block);
        block_index = cluster_index & (s->refcount_block_size - 1);
        refcount = rc_get(block, s->refcount_order, block_index);
        if (decrease ? (refcount - addend > refcount)
                     : (refcount + addend < refcount ||
                        refcount + addend > s->refcount_max)) {
            ret = -EINVAL;
            goto fail;
        }
        refcount = decrease ? refcount - addend : refcount + addend;
        if (refcount == 0 && (uint64_t)cluster_index < s->free_cluster_index) {
            s->free_cluster_index = cluster_index;
        }
        if (refcount == 0 && decrease) {
            s->frees_pending = true;
            /*
             * Stop packing compressed data into a cluster that is free now:
             * it may become someone's data cluster.  (7.2 keeps packing
             * there and corrupts the image; found by our crash test.)
             */
            if (s->free_byte_offset &&
                start_of_cluster(s, s->free_byte_offset) == cluster_offset) {
                s->free_byte_offset = 0;
            }
            /* a freed table must not be served from the cache */
            qcow2_cache_discard(s->l2_cache, cluster_offset);
            qcow2_cache_discard(s->refcount_block_cache, cluster_offset);
        }
        rc_set(block, s->refcount_order, block_index, refcount);
        if (refcount == 0 && s->discard_passthrough[type]) {
            qcow2_queue_discard(bs, cluster_offset, s->cluster_size);
        }
    }
    ret = 0;
fail:
    if (!s->cache_discards) {
        qcow2_process_discards(bs, ret);
    }
    if (block) {
        qcow2_cache_put(s->refcount_block_cache, &block);
    }
    if (ret < 0) {
        /* undo what was done (works e.g. for -EAGAIN and ENOSPC) */
        (void)update_refcount(bs, offset, cluster_offset - offset, addend,
                              !decrease, QCOW2_DISCARD_NEVER);
    }
    return ret;
}

/*
 * Before reusing freed clusters, put the metadata that freed them in the
 * file: otherwise a kill could leave the old L2 entry on disk pointing at
 * the new owner's data.
 */
int coroutine_fn qcow2_update_cluster_refcount(BlockDriverState *bs,
                                               int64_t cluster_index,
                                               uint64_t addend, bool decrease,
                                               Qcow2DiscardType type)
{
    BDRVQcow2State *s = bs->opaque;

    return update_refcount(bs, cluster_index << s->cluster_bits, 1, addend,
                           decrease, type);
}

int coroutine_fn qcow2_update_refcount(BlockDriverState *bs, int64_t offset,
                                       int64_t length, uint64_t addend,
                                       bool decrease, Qcow2DiscardType type)
{
    return update_refcount(bs, offset, length, addend, decrease, type);
}

static int coroutine_fn settle_frees(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    if (!s->frees_pending) {
        return 0;
    }
    ret = qcow2_cache_write(bs, s->l2_cache);
    if (ret == 0) {
        ret = qcow2_cache_write(bs, s->refcount_block_cache);
    }
    if (ret == 0) {
        s->frees_pending = false;
    }
    return ret;
}

int64_t coroutine_fn qcow2_alloc_clusters(BlockDriverState *bs, uint64_t size)
{
    int64_t offset;
    int ret;

    BLKDBG_EVENT(bs->file, BLKDBG_CLUSTER_ALLOC);
    ret = settle_frees(bs);
    if (ret < 0) {
        return ret;
    }
    do {
        offset = alloc_clusters_noref(bs, size, QCOW_MAX_CLUSTER_OFFSET);
        if (offset < 0) {
            return offset;
        }
        ret = update_refcount(bs, offset, size, 1, false, QCOW2_DISCARD_NEVER);
    } while (ret == -EAGAIN);
    return ret < 0 ? ret : offset;
}

int64_t coroutine_fn qcow2_alloc_clusters_at(BlockDriverState *bs,
                                             uint64_t offset,
                                             int64_t nb_clusters)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t refcount;
    int64_t i;
    int ret;

    if (nb_clusters == 0) {
        return 0;
    }
    ret = settle_frees(bs);
    if (ret < 0) {
        return ret;
    }
    do {
        /* as many as are free right there */
        uint64_t index = offset >> s->cluster_bits;
        for (i = 0; i < nb_clusters; i++) {
            ret = qcow2_get_refcount(bs, index++, &refcount);
            if (ret < 0) {
                return ret;
            }
            if (refcount != 0) {
                break;
            }
        }
        ret = update_refcount(bs, offset, i << s->cluster_bits, 1, false,
                              QCOW2_DISCARD_NEVER);
    } while (ret == -EAGAIN);
    return ret < 0 ? ret : i;
}

int64_t coroutine_fn qcow2_alloc_bytes(BlockDriverState *bs, int size)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t offset, new_cluster;
    uint64_t refcount;
    size_t free_in_cluster;
    int ret;

    assert(size > 0 && size <= s->cluster_size);
    BLKDBG_EVENT(bs->file, BLKDBG_CLUSTER_ALLOC_BYTES);
    ret = settle_frees(bs);
    if (ret < 0) {
        return ret;
    }
    offset = s->free_byte_offset;
    if (offset) {
        ret = qcow2_get_refcount(bs, offset >> s->cluster_bits, &refcount);
        if (ret < 0) {
            return ret;
        }
        if (refcount == s->refcount_max) {
            offset = 0;
        }
    }
    free_in_cluster = s->cluster_size - offset_into_cluster(s, offset);
    do {
        if (!offset || free_in_cluster < (size_t)size) {
            new_cluster = alloc_clusters_noref(bs, s->cluster_size,
                                               MIN(s->cluster_offset_mask,
                                                   QCOW_MAX_CLUSTER_OFFSET));
            if (new_cluster < 0) {
                return new_cluster;
            }
            if (new_cluster == 0) {
                return qcow2_signal_corruption(bs, true, "Preventing invalid "
                                               "allocation of compressed "
                                               "cluster at offset 0");
            }
            if (!offset || ROUND_UP(offset, s->cluster_size) != new_cluster) {
                offset = new_cluster;
                free_in_cluster = s->cluster_size;
            } else {
                free_in_cluster += s->cluster_size;
            }
        }
        ret = update_refcount(bs, offset, size, 1, false, QCOW2_DISCARD_NEVER);
        if (ret < 0) {
            offset = 0;
        }
    } while (ret == -EAGAIN);
    if (ret < 0) {
        return ret;
    }
    /* the caller's L2 entry must follow the new refcounts to the file */
    ret = qcow2_cache_set_dependency(bs, s->l2_cache, s->refcount_block_cache);
    if (ret < 0) {
        return ret;
    }
    s->free_byte_offset = offset + size;
    if (!offset_into_cluster(s, s->free_byte_offset)) {
        s->free_byte_offset = 0;
    }
    return offset;
}

void coroutine_fn qcow2_free_clusters(BlockDriverState *bs, int64_t offset,
                                      int64_t size, Qcow2DiscardType type)
{
    int ret;

    BLKDBG_EVENT(bs->file, BLKDBG_CLUSTER_FREE);
    ret = update_refcount(bs, offset, size, 1, true, type);

    if (ret < 0) {
        /* a leak at worst; QEMU reports it the same way */
        bdrv_message(BDRV_MSG_NOTE, "qcow2_free_clusters failed: %s",
                     strerror(-ret));
    }
}

void coroutine_fn qcow2_free_any_cluster(BlockDriverState *bs,
                                         uint64_t l2_entry,
                                         Qcow2DiscardType type)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t host = l2_entry & L2E_OFFSET_MASK;

    if (l2_entry & QCOW_OFLAG_COMPRESSED) {
        uint64_t coffset;
        int csize;
        qcow2_parse_compressed_l2_entry(bs, l2_entry, &coffset, &csize);
        qcow2_free_clusters(bs, coffset, csize, type);
        return;
    }
    if (!host && !(has_data_file(s) && (l2_entry & QCOW_OFLAG_COPIED))) {
        return;     /* unallocated or zero without a host cluster */
    }
    if (offset_into_cluster(s, host)) {
        qcow2_signal_corruption(bs, false, "Cannot free unaligned cluster %#"
                                PRIx64, host);
        return;
    }
    if (has_data_file(s)) {
        if (s->discard_passthrough[type]) {
            (void)bdrv_co_pdiscard(s->data_file, host, s->cluster_size);
        }
        return;
    }
    qcow2_free_clusters(bs, host, s->cluster_size, type);
}

/* ---- overlap checks ---- */

static bool overlaps(int64_t a, int64_t alen, int64_t b, int64_t blen)
{
    return a < b + blen && b < a + alen;
}

static int overlap_kind(BlockDriverState *bs, int chk, int64_t offset,
                        int64_t size)
{
    BDRVQcow2State *s = bs->opaque;
    uint32_t i;

    if (size <= 0) {
        return 0;
    }
    if ((chk & QCOW2_OL_MAIN_HEADER) && offset < s->cluster_size) {
        return QCOW2_OL_MAIN_HEADER;
    }
    /* whole clusters, as 7.2: a table's last cluster is the table's */
    size = ROUND_UP(offset_into_cluster(s, offset) + size, s->cluster_size);
    offset = start_of_cluster(s, offset);
    if ((chk & QCOW2_OL_ACTIVE_L1) && s->l1_size &&
        overlaps(offset, size, s->l1_table_offset,
                 (int64_t)s->l1_size * L1E_SIZE)) {
        return QCOW2_OL_ACTIVE_L1;
    }
    if ((chk & QCOW2_OL_REFCOUNT_TABLE) &&
        overlaps(offset, size, s->refcount_table_offset,
                 (int64_t)s->refcount_table_size * REFTABLE_ENTRY_SIZE)) {
        return QCOW2_OL_REFCOUNT_TABLE;
    }
    if ((chk & QCOW2_OL_SNAPSHOT_TABLE) && s->snapshots_size &&
        overlaps(offset, size, s->snapshots_offset, s->snapshots_size)) {
        return QCOW2_OL_SNAPSHOT_TABLE;
    }
    if (chk & QCOW2_OL_INACTIVE_L1) {
        for (i = 0; i < (uint32_t)s->nb_snapshots; i++) {
            if (s->snapshots[i].l1_size &&
                overlaps(offset, size, s->snapshots[i].l1_table_offset,
                         (int64_t)s->snapshots[i].l1_size * L1E_SIZE)) {
                return QCOW2_OL_INACTIVE_L1;
            }
        }
    }
    if ((chk & QCOW2_OL_BITMAP_DIRECTORY) && s->has_bitmaps &&
        overlaps(offset, size, s->bitmap_directory_offset,
                 s->bitmap_directory_size)) {
        return QCOW2_OL_BITMAP_DIRECTORY;
    }
    if ((chk & QCOW2_OL_ACTIVE_L2) && s->l1_table) {
        for (i = 0; i < s->l1_size; i++) {
            uint64_t l2 = s->l1_table[i] & L1E_OFFSET_MASK;
            if (l2 && overlaps(offset, size, l2, s->cluster_size)) {
                return QCOW2_OL_ACTIVE_L2;
            }
        }
    }
    if ((chk & QCOW2_OL_REFCOUNT_BLOCK) && s->refcount_table) {
        for (i = 0; i <= s->max_refcount_table_index &&
             i < s->refcount_table_size; i++) {
            uint64_t rb = s->refcount_table[i] & REFT_OFFSET_MASK;
            if (rb && overlaps(offset, size, rb, s->cluster_size)) {
                return QCOW2_OL_REFCOUNT_BLOCK;
            }
        }
    }
    return 0;
}

static const char *overlap_name(int kind)
{
    switch (kind) {
    case QCOW2_OL_MAIN_HEADER:
        return "qcow2_header";
    case QCOW2_OL_ACTIVE_L1:
        return "active L1 table";
    case QCOW2_OL_ACTIVE_L2:
        return "active L2 table";
    case QCOW2_OL_REFCOUNT_TABLE:
        return "refcount table";
    case QCOW2_OL_REFCOUNT_BLOCK:
        return "refcount block";
    case QCOW2_OL_SNAPSHOT_TABLE:
        return "snapshot table";
    case QCOW2_OL_INACTIVE_L1:
        return "inactive L1 table";
    default:
        return "bitmap directory";
    }
}

int coroutine_fn qcow2_pre_write_overlap_check(BlockDriverState *bs, int ign,
                                               int64_t offset, int64_t size)
{
    BDRVQcow2State *s = bs->opaque;
    int kind = overlap_kind(bs, s->overlap_check & ~ign, offset, size);

    if (!kind) {
        return 0;
    }
    return qcow2_signal_corruption(bs, true, "Preventing invalid write on "
                                   "metadata (overlaps with %s)",
                                   overlap_name(kind));
}
