/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2 cluster mapping: guest offset -> L1 entry -> L2 table (through the
 * cache) -> L2 entry (and, with extended L2, the subcluster bitmap) ->
 * the subcluster's type and host offset.  Every offset read from the image
 * is checked before use; a bad one is reported as corruption (-EIO).
 *
 * The write side follows QEMU's decisions so that the same writes give the
 * same layout: L2 tables are allocated before the data clusters of the
 * write that needs them, a write takes contiguous new clusters up to the
 * end of its L2 table, COW copies only the (sub)clusters' parts the write
 * does not cover, and L2 entries change only after the data is written.
 */
#include "util/osdep.h"
#include "qcow2.h"
#include "util/bswap.h"

QCow2ClusterType qcow2_cluster_type(BDRVQcow2State *s, uint64_t l2_entry)
{
    if (l2_entry & QCOW_OFLAG_COMPRESSED) {
        return QCOW2_CLUSTER_COMPRESSED;
    }
    if ((l2_entry & QCOW_OFLAG_ZERO) && !has_subclusters(s)) {
        return (l2_entry & L2E_OFFSET_MASK) ? QCOW2_CLUSTER_ZERO_ALLOC :
                                              QCOW2_CLUSTER_ZERO_PLAIN;
    }
    if (!(l2_entry & L2E_OFFSET_MASK)) {
        /*
         * Offset 0 is a valid host offset in an external data file, where
         * every allocated cluster has refcount 1: COPIED tells them apart.
         */
        if (has_data_file(s) && (l2_entry & QCOW_OFLAG_COPIED)) {
            return QCOW2_CLUSTER_NORMAL;
        }
        return QCOW2_CLUSTER_UNALLOCATED;
    }
    return QCOW2_CLUSTER_NORMAL;
}

static QCow2SubclusterType subcluster_type(BDRVQcow2State *s,
                                           uint64_t l2_entry,
                                           uint64_t l2_bitmap, int sc_index)
{
    QCow2ClusterType type = qcow2_cluster_type(s, l2_entry);
    uint64_t alloc = 1ULL << sc_index;
    uint64_t zero = alloc << 32;

    if (!has_subclusters(s)) {
        switch (type) {
        case QCOW2_CLUSTER_COMPRESSED:
            return QCOW2_SUBCLUSTER_COMPRESSED;
        case QCOW2_CLUSTER_ZERO_PLAIN:
            return QCOW2_SUBCLUSTER_ZERO_PLAIN;
        case QCOW2_CLUSTER_ZERO_ALLOC:
            return QCOW2_SUBCLUSTER_ZERO_ALLOC;
        case QCOW2_CLUSTER_NORMAL:
            return QCOW2_SUBCLUSTER_NORMAL;
        case QCOW2_CLUSTER_UNALLOCATED:
            return QCOW2_SUBCLUSTER_UNALLOCATED_PLAIN;
        }
        g_assert_not_reached();
    }
    switch (type) {
    case QCOW2_CLUSTER_COMPRESSED:
        /*
         * The spec wants the bitmap empty, and check reports it, but the
         * data is readable: 7.2 reads it, and so does a rescue convert.
         */
        return QCOW2_SUBCLUSTER_COMPRESSED;
    case QCOW2_CLUSTER_NORMAL:
        if ((l2_bitmap >> 32) & l2_bitmap) {
            return QCOW2_SUBCLUSTER_INVALID;    /* allocated and zero */
        }
        if (l2_bitmap & zero) {
            return QCOW2_SUBCLUSTER_ZERO_ALLOC;
        }
        return (l2_bitmap & alloc) ? QCOW2_SUBCLUSTER_NORMAL :
                                     QCOW2_SUBCLUSTER_UNALLOCATED_ALLOC;
    case QCOW2_CLUSTER_UNALLOCATED:
        if (l2_bitmap & 0xffffffffULL) {
            return QCOW2_SUBCLUSTER_INVALID;    /* allocated without host */
        }
        return (l2_bitmap & zero) ? QCOW2_SUBCLUSTER_ZERO_PLAIN :
                                    QCOW2_SUBCLUSTER_UNALLOCATED_PLAIN;
    default:
        return QCOW2_SUBCLUSTER_INVALID;        /* zero flag is reserved */
    }
}

static bool type_has_host(QCow2SubclusterType t)
{
    return t == QCOW2_SUBCLUSTER_NORMAL || t == QCOW2_SUBCLUSTER_ZERO_ALLOC ||
           t == QCOW2_SUBCLUSTER_UNALLOCATED_ALLOC;
}

void qcow2_parse_compressed_l2_entry(BlockDriverState *bs, uint64_t l2_entry,
                                     uint64_t *coffset, int *csize)
{
    BDRVQcow2State *s = bs->opaque;
    int nb_csectors;

    *coffset = l2_entry & s->cluster_offset_mask;
    nb_csectors = ((l2_entry >> s->csize_shift) & s->csize_mask) + 1;
    *csize = nb_csectors * BDRV_SECTOR_SIZE - (*coffset & 511);
}

/*
 * Count subclusters from (@l2_index, @sc_index) on that have @type and,
 * for types with a host cluster, continue contiguously on the host.
 */
static int64_t count_contiguous(BDRVQcow2State *s, uint64_t *l2_table,
                                int l2_index, int sc_index,
                                QCow2SubclusterType type, int64_t max_sc)
{
    uint64_t first_host = get_l2_entry(s, l2_table, l2_index) &
                          L2E_OFFSET_MASK;
    int64_t n = 0;
    int i;

    for (i = l2_index; i < s->l2_size && n < max_sc; i++) {
        uint64_t entry = get_l2_entry(s, l2_table, i);
        uint64_t bitmap = get_l2_bitmap(s, l2_table, i);
        int sc;

        if (type_has_host(type) &&
            (entry & L2E_OFFSET_MASK) !=
            first_host + (uint64_t)(i - l2_index) * s->cluster_size) {
            break;
        }
        for (sc = (i == l2_index ? sc_index : 0);
             sc < s->subclusters_per_cluster && n < max_sc; sc++) {
            if (subcluster_type(s, entry, bitmap, sc) != type) {
                return n;
            }
            n++;
        }
        if (type == QCOW2_SUBCLUSTER_COMPRESSED) {
            break;      /* each compressed cluster stands alone */
        }
    }
    return n;
}

int coroutine_fn qcow2_get_host_offset(BlockDriverState *bs, uint64_t offset,
                                       int64_t *bytes, uint64_t *host_offset,
                                       QCow2SubclusterType *type)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t l1_index, l2_offset, l2_entry, l2_bitmap;
    uint64_t *l2_table = NULL;
    int64_t in_sc = offset_into_subcluster(s, offset);
    int64_t max_sc, n;
    int l2_index, sc_index, ret;

    l2_index = (offset >> s->cluster_bits) & (s->l2_size - 1);
    sc_index = offset_into_cluster(s, offset) >> s->subcluster_bits;
    /* what the rest of this L2 table covers, in subclusters */
    max_sc = ((s->l2_size - l2_index) << (s->cluster_bits -
                                          s->subcluster_bits)) - sc_index;
    max_sc = MIN(max_sc, DIV_ROUND_UP(*bytes + in_sc, s->subcluster_size));
    *host_offset = 0;

    l1_index = offset >> (s->l2_bits + s->cluster_bits);
    l2_offset = l1_index < s->l1_size ? s->l1_table[l1_index] &
                                        L1E_OFFSET_MASK : 0;
    if (!l2_offset) {
        *type = QCOW2_SUBCLUSTER_UNALLOCATED_PLAIN;
        n = max_sc;
        goto out;
    }
    if (offset_into_cluster(s, l2_offset)) {
        return qcow2_signal_corruption(bs, true, "L2 table offset %#" PRIx64
                                       " unaligned (L1 index: %#" PRIx64 ")",
                                       l2_offset, l1_index);
    }
    ret = qcow2_cache_get(bs, s->l2_cache, l2_offset, &l2_table);
    if (ret < 0) {
        return ret;
    }
    l2_entry = get_l2_entry(s, l2_table, l2_index);
    l2_bitmap = get_l2_bitmap(s, l2_table, l2_index);
    *type = subcluster_type(s, l2_entry, l2_bitmap, sc_index);

    /* v2 has no zero flag: bit 0 set there is corruption, as for 7.2 */
    if ((*type == QCOW2_SUBCLUSTER_ZERO_PLAIN ||
         *type == QCOW2_SUBCLUSTER_ZERO_ALLOC) && s->version < 3) {
        ret = qcow2_signal_corruption(bs, true, "Zero cluster entry found in "
                                      "pre-v3 image (L2 offset: %#" PRIx64
                                      ", L2 index: %#x)", l2_offset,
                                      l2_index);
        goto fail;
    }
    switch (*type) {
    case QCOW2_SUBCLUSTER_INVALID:
        ret = qcow2_signal_corruption(bs, true, "Invalid cluster entry found "
                                      " (L2 offset: %#" PRIx64 ", L2 index: "
                                      "%#x)", l2_offset, l2_index);
        goto fail;
    case QCOW2_SUBCLUSTER_COMPRESSED:
        if (has_data_file(s)) {
            ret = qcow2_signal_corruption(bs, true, "Compressed cluster entry found "
                                          "in image with external data file "
                                          "(L2 offset: %#" PRIx64 ", L2 index:"
                                          " %#x)", l2_offset, l2_index);
            goto fail;
        }
        *host_offset = l2_entry;
        break;
    case QCOW2_SUBCLUSTER_NORMAL:
    case QCOW2_SUBCLUSTER_ZERO_ALLOC:
    case QCOW2_SUBCLUSTER_UNALLOCATED_ALLOC: {
        uint64_t host_cluster = l2_entry & L2E_OFFSET_MASK;
        if (offset_into_cluster(s, host_cluster)) {
            ret = qcow2_signal_corruption(bs, true, "Cluster allocation offset %#"
                                          PRIx64 " unaligned (L2 offset: %#"
                                          PRIx64 ", L2 index: %#x)",
                                          host_cluster, l2_offset, l2_index);
            goto fail;
        }
        if (has_data_file(s) && s->data_file_raw &&
            host_cluster != offset - offset_into_cluster(s, offset)) {
            ret = qcow2_signal_corruption(bs, true, "External data file host "
                                          "cluster offset %#" PRIx64 " does "
                                          "not match guest cluster offset: %#"
                                          PRIx64, host_cluster,
                                          offset - offset_into_cluster(s,
                                                                       offset));
            goto fail;
        }
        *host_offset = host_cluster + offset_into_cluster(s, offset);
        break;
    }
    default:
        break;
    }
    n = count_contiguous(s, l2_table, l2_index, sc_index, *type, max_sc);
    qcow2_cache_put(s->l2_cache, &l2_table);
out:
    assert(n > 0);
    *bytes = MIN(*bytes, n * s->subcluster_size - in_sc);
    return 0;

fail:
    qcow2_cache_put(s->l2_cache, &l2_table);
    return ret;
}

/* ==== write side ==== */

int coroutine_fn qcow2_write_l1_entry(BlockDriverState *bs, int l1_index)
{
    BDRVQcow2State *s = bs->opaque;
    /* the smallest write the file takes: one entry unless O_DIRECT */
    int nentries = MAX(L1E_SIZE, MIN((int64_t)bs->file->bs->bl.request_alignment,
                                     s->cluster_size)) / L1E_SIZE;
    int start = QEMU_ALIGN_DOWN(l1_index, nentries);
    g_autofree uint64_t *buf = g_new0(uint64_t, nentries);
    int i, ret;

    for (i = 0; i < nentries && (uint32_t)(start + i) < s->l1_size; i++) {
        buf[i] = htobe64(s->l1_table[start + i]);
    }
    ret = qcow2_pre_write_overlap_check(bs, QCOW2_OL_ACTIVE_L1,
                                        s->l1_table_offset +
                                        (uint64_t)start * L1E_SIZE,
                                        nentries * L1E_SIZE);
    if (ret < 0) {
        return ret;
    }
    BLKDBG_EVENT(bs->file, BLKDBG_L1_UPDATE);
    ret = bdrv_co_pwrite(bs->file, s->l1_table_offset +
                         (uint64_t)start * L1E_SIZE, nentries * L1E_SIZE,
                         buf, 0);
    if (ret == 0) {
        ret = bdrv_co_flush(bs->file->bs);
    }
    return ret;
}

int coroutine_fn qcow2_grow_l1_table(BlockDriverState *bs, uint64_t min_size,
                                     bool exact_size)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t new_size, bytes, i;
    int64_t new_offset;
    uint64_t old_offset, old_size;
    uint64_t *table;
    uint8_t data[12];
    int ret;

    if (min_size <= s->l1_size) {
        return 0;
    }
    if (min_size > INT_MAX / L1E_SIZE) {
        return -EFBIG;
    }
    if (exact_size) {
        new_size = min_size;
    } else {
        /* grow by half each time, as QEMU does */
        new_size = MAX(s->l1_size, 1);
        while (min_size > new_size) {
            new_size = (new_size * 3 + 1) / 2;
        }
    }
    if (new_size > QCOW_MAX_L1_SIZE / L1E_SIZE) {
        return -EFBIG;
    }
    bytes = new_size * L1E_SIZE;
    table = g_try_malloc0(bytes);
    if (!table) {
        return -ENOMEM;
    }
    BLKDBG_EVENT(bs->file, BLKDBG_L1_GROW_ALLOC_TABLE);
    new_offset = qcow2_alloc_clusters(bs, bytes);
    if (new_offset < 0) {
        g_free(table);
        return new_offset;
    }
    ret = qcow2_cache_flush(bs, s->refcount_block_cache);
    if (ret == 0) {
        ret = qcow2_pre_write_overlap_check(bs, 0, new_offset, bytes);
    }
    if (ret < 0) {
        goto fail;
    }
    for (i = 0; i < s->l1_size; i++) {
        table[i] = htobe64(s->l1_table[i]);
    }
    BLKDBG_EVENT(bs->file, BLKDBG_L1_GROW_WRITE_TABLE);
    ret = bdrv_co_pwrite(bs->file, new_offset, bytes, table, 0);
    if (ret == 0) {
        ret = bdrv_co_flush(bs->file->bs);
    }
    if (ret < 0) {
        goto fail;
    }
    for (i = 0; i < s->l1_size; i++) {
        table[i] = be64toh(table[i]);
    }
    stl_be_p(data, new_size);
    stq_be_p(data + 4, new_offset);
    BLKDBG_EVENT(bs->file, BLKDBG_L1_GROW_ACTIVATE_TABLE);
    ret = qcow2_update_header_field(bs, offsetof(QCowHeader, l1_size), data,
                                    sizeof(data));
    if (ret < 0) {
        goto fail;
    }
    old_offset = s->l1_table_offset;
    old_size = s->l1_size;
    g_free(s->l1_table);
    s->l1_table = table;
    s->l1_table_offset = new_offset;
    s->l1_size = new_size;
    qcow2_free_clusters(bs, old_offset, old_size * L1E_SIZE,
                        QCOW2_DISCARD_OTHER);
    return 0;

fail:
    g_free(table);
    qcow2_free_clusters(bs, new_offset, bytes, QCOW2_DISCARD_OTHER);
    return ret;
}

/*
 * A new L2 table for L1 entry @l1_index: zeroed, or a copy of the shared
 * one it replaces.  The table reaches the file before the L1 entry.
 */
static int coroutine_fn l2_allocate(BlockDriverState *bs, int l1_index)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t old_l2 = s->l1_table[l1_index] & L1E_OFFSET_MASK;
    uint64_t *table = NULL, *old_table = NULL;
    int64_t l2_offset;
    int ret;

    l2_offset = qcow2_alloc_clusters(bs, s->cluster_size);
    if (l2_offset < 0) {
        return l2_offset;
    }
    if (l2_offset == 0) {
        return qcow2_signal_corruption(bs, true, "Preventing invalid "
                                       "allocation of L2 table at offset 0");
    }
    ret = qcow2_cache_flush(bs, s->refcount_block_cache);
    if (ret < 0) {
        goto fail;
    }
    ret = qcow2_cache_get_empty(bs, s->l2_cache, l2_offset, &table);
    if (ret < 0) {
        goto fail;
    }
    if (!old_l2) {
        memset(table, 0, s->cluster_size);
    } else {
        BLKDBG_EVENT(bs->file, BLKDBG_L2_ALLOC_COW_READ);
        ret = qcow2_cache_get(bs, s->l2_cache, old_l2, &old_table);
        if (ret < 0) {
            qcow2_cache_put(s->l2_cache, &table);
            goto fail;
        }
        memcpy(table, old_table, s->cluster_size);
        qcow2_cache_put(s->l2_cache, &old_table);
    }
    BLKDBG_EVENT(bs->file, BLKDBG_L2_ALLOC_WRITE);
    qcow2_cache_mark_dirty(s->l2_cache, table);
    qcow2_cache_put(s->l2_cache, &table);
    ret = qcow2_cache_flush(bs, s->l2_cache);
    if (ret < 0) {
        goto fail;
    }
    s->l1_table[l1_index] = l2_offset | QCOW_OFLAG_COPIED;
    ret = qcow2_write_l1_entry(bs, l1_index);
    if (ret < 0) {
        s->l1_table[l1_index] = old_l2;
        goto fail;
    }
    return 0;

fail:
    qcow2_cache_discard(s->l2_cache, l2_offset);
    qcow2_free_clusters(bs, l2_offset, s->cluster_size, QCOW2_DISCARD_ALWAYS);
    return ret;
}

/*
 * The L2 table for guest @offset, writable: allocated when missing, copied
 * when shared with a snapshot.  Put it with qcow2_cache_put().
 */
int coroutine_fn qcow2_get_cluster_table(BlockDriverState *bs,
                                         uint64_t offset, uint64_t **table,
                                         int *l2_index)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t l1_index = offset >> (s->l2_bits + s->cluster_bits);
    uint64_t l2_offset;
    int ret;

    if (l1_index >= s->l1_size) {
        ret = qcow2_grow_l1_table(bs, l1_index + 1, false);
        if (ret < 0) {
            return ret;
        }
    }
    l2_offset = s->l1_table[l1_index] & L1E_OFFSET_MASK;
    if (offset_into_cluster(s, l2_offset)) {
        return qcow2_signal_corruption(bs, true, "L2 table offset %#" PRIx64
                                       " unaligned (L1 index: %#" PRIx64 ")",
                                       l2_offset, l1_index);
    }
    /* "not shared" said of no table: 7.2 asserts here */
    if (!l2_offset && (s->l1_table[l1_index] & QCOW_OFLAG_COPIED)) {
        return qcow2_signal_corruption(bs, true, "L1 entry with the COPIED "
                                       "flag but no L2 table (L1 index: %#"
                                       PRIx64 ")", l1_index);
    }
    if (!(s->l1_table[l1_index] & QCOW_OFLAG_COPIED)) {
        ret = l2_allocate(bs, l1_index);
        if (ret < 0) {
            return ret;
        }
        if (l2_offset) {
            /* the shared table loses one reference */
            qcow2_free_clusters(bs, l2_offset, s->cluster_size,
                                QCOW2_DISCARD_OTHER);
        }
        l2_offset = s->l1_table[l1_index] & L1E_OFFSET_MASK;
    }
    ret = qcow2_cache_get(bs, s->l2_cache, l2_offset, table);
    if (ret < 0) {
        return ret;
    }
    *l2_index = (offset >> s->cluster_bits) & (s->l2_size - 1);
    return 0;
}

/* Does a write here need a new host cluster? */
static bool cluster_needs_new_alloc(BDRVQcow2State *s, uint64_t l2_entry)
{
    switch (qcow2_cluster_type(s, l2_entry)) {
    case QCOW2_CLUSTER_NORMAL:
    case QCOW2_CLUSTER_ZERO_ALLOC:
        return !(l2_entry & QCOW_OFLAG_COPIED);
    default:
        return true;
    }
}

/*
 * Clusters from @l2_index on (at most @nb) that all need (@new_alloc) or
 * all do not need a new allocation; without one, also host-contiguous.
 */
static int count_single_write_clusters(BDRVQcow2State *s, int nb,
                                       uint64_t *table, int l2_index,
                                       bool new_alloc)
{
    uint64_t expected = get_l2_entry(s, table, l2_index) & L2E_OFFSET_MASK;
    int i;

    for (i = 0; i < nb; i++) {
        uint64_t e = get_l2_entry(s, table, l2_index + i);
        if (cluster_needs_new_alloc(s, e) != new_alloc) {
            break;
        }
        if (!new_alloc) {
            if (expected != (e & L2E_OFFSET_MASK)) {
                break;
            }
            expected += s->cluster_size;
        }
    }
    return i;
}

/* Subclusters from @sc_from on that share one type (in this cluster). */
static int subcluster_range_type(BDRVQcow2State *s, uint64_t entry,
                                 uint64_t bitmap, int sc_from,
                                 QCow2SubclusterType *type)
{
    int n = 1;

    *type = subcluster_type(s, entry, bitmap, sc_from);
    while (sc_from + n < s->subclusters_per_cluster &&
           subcluster_type(s, entry, bitmap, sc_from + n) == *type) {
        n++;
    }
    return n;
}

static int ctz32_or_32(uint32_t v)
{
    return v ? __builtin_ctz(v) : 32;
}

static int clz32_or_32(uint32_t v)
{
    return v ? __builtin_clz(v) : 32;
}

/*
 * The COW regions and bookkeeping of a write of @bytes at guest
 * @guest_offset into host clusters at @host_cluster: a new QCowL2Meta on
 * *@m, or nothing when @keep_old and every written subcluster is already
 * plain data.
 */
static int calculate_l2_meta(BlockDriverState *bs, uint64_t host_cluster,
                             uint64_t guest_offset, unsigned bytes,
                             uint64_t *table, QCowL2Meta **m, bool keep_old)
{
    BDRVQcow2State *s = bs->opaque;
    int l2_index = (guest_offset >> s->cluster_bits) & (s->l2_size - 1);
    unsigned cow_start_to = offset_into_cluster(s, guest_offset);
    unsigned cow_end_from = cow_start_to + bytes;
    unsigned nb_clusters = size_to_clusters(s, cow_end_from);
    unsigned cow_start_from, cow_end_to;
    uint64_t entry, bitmap;
    QCow2SubclusterType type;
    bool skip_cow = keep_old;
    unsigned i;
    int sc;

    for (i = 0; i < nb_clusters; i++) {
        entry = get_l2_entry(s, table, l2_index + i);
        bitmap = get_l2_bitmap(s, table, l2_index + i);
        if (skip_cow) {
            unsigned from = MAX(cow_start_to, i << s->cluster_bits);
            unsigned to = MIN(cow_end_from, (i + 1) << s->cluster_bits);
            int first_sc = offset_to_sc_index(s, from);
            int last_sc = offset_to_sc_index(s, to - 1);
            int cnt = subcluster_range_type(s, entry, bitmap, first_sc, &type);
            if (type != QCOW2_SUBCLUSTER_NORMAL || first_sc + cnt <= last_sc) {
                skip_cow = false;
            }
        } else {
            type = subcluster_type(s, entry, bitmap, 0);
        }
        if (type == QCOW2_SUBCLUSTER_INVALID) {
            uint64_t l1_index = guest_offset >> (s->l2_bits + s->cluster_bits);
            return qcow2_signal_corruption(bs, true, "Invalid cluster entry "
                                           "found (L2 offset: %#" PRIx64
                                           ", L2 index: %#x)",
                                           (uint64_t)(s->l1_table[l1_index] &
                                                      L1E_OFFSET_MASK),
                                           l2_index + i);
        }
    }
    if (skip_cow) {
        return 0;
    }

    /* where copying starts, from the first cluster's kind */
    entry = get_l2_entry(s, table, l2_index);
    bitmap = get_l2_bitmap(s, table, l2_index);
    sc = offset_to_sc_index(s, guest_offset);
    type = subcluster_type(s, entry, bitmap, sc);
    if (!keep_old) {
        switch (type) {
        case QCOW2_SUBCLUSTER_COMPRESSED:
            cow_start_from = 0;
            break;
        case QCOW2_SUBCLUSTER_NORMAL:
        case QCOW2_SUBCLUSTER_ZERO_ALLOC:
        case QCOW2_SUBCLUSTER_UNALLOCATED_ALLOC:
            /* with subclusters: skip leading unallocated/zero ones */
            cow_start_from = has_subclusters(s) ?
                MIN(sc, ctz32_or_32(bitmap & QCOW_L2_BITMAP_ALL_ALLOC))
                    << s->subcluster_bits : 0;
            break;
        default:        /* ZERO_PLAIN, UNALLOCATED_PLAIN */
            cow_start_from = sc << s->subcluster_bits;
            break;
        }
    } else {
        cow_start_from = type == QCOW2_SUBCLUSTER_NORMAL ? cow_start_to :
                         (unsigned)sc << s->subcluster_bits;
    }

    /* where it ends, from the last cluster's kind */
    entry = get_l2_entry(s, table, l2_index + nb_clusters - 1);
    bitmap = get_l2_bitmap(s, table, l2_index + nb_clusters - 1);
    sc = offset_to_sc_index(s, guest_offset + bytes - 1);
    type = subcluster_type(s, entry, bitmap, sc);
    if (!keep_old) {
        switch (type) {
        case QCOW2_SUBCLUSTER_COMPRESSED:
            cow_end_to = ROUND_UP(cow_end_from, s->cluster_size);
            break;
        case QCOW2_SUBCLUSTER_NORMAL:
        case QCOW2_SUBCLUSTER_ZERO_ALLOC:
        case QCOW2_SUBCLUSTER_UNALLOCATED_ALLOC:
            cow_end_to = ROUND_UP(cow_end_from, s->cluster_size);
            if (has_subclusters(s)) {
                cow_end_to -= MIN(s->subclusters_per_cluster - sc - 1,
                                  clz32_or_32(bitmap &
                                              QCOW_L2_BITMAP_ALL_ALLOC))
                              << s->subcluster_bits;
            }
            break;
        default:
            cow_end_to = ROUND_UP(cow_end_from, s->subcluster_size);
            break;
        }
    } else {
        cow_end_to = type == QCOW2_SUBCLUSTER_NORMAL ? cow_end_from :
                     ROUND_UP(cow_end_from, s->subcluster_size);
    }

    QCowL2Meta *nm = g_new0(QCowL2Meta, 1);
    *nm = (QCowL2Meta) {
        .next = *m,
        .alloc_offset = host_cluster,
        .offset = start_of_cluster(s, guest_offset),
        .nb_clusters = nb_clusters,
        .keep_old_clusters = keep_old,
        .cow_start = { cow_start_from, cow_start_to - cow_start_from },
        .cow_end = { cow_end_from, cow_end_to - cow_end_from },
    };
    qemu_co_queue_init(&nm->dependent_requests);
    QTAILQ_INSERT_HEAD(&s->cluster_allocs, nm, next_in_flight);
    *m = nm;
    return 0;
}

static uint64_t l2meta_cow_start(QCowL2Meta *m)
{
    return m->offset + m->cow_start.offset;
}

static uint64_t l2meta_cow_end(QCowL2Meta *m)
{
    return m->offset + m->cow_end.offset + m->cow_end.nb_bytes;
}

/*
 * Stop before, or wait for, an allocation in flight on the same clusters.
 * Returns -EAGAIN after waiting (the lock was dropped: look again); sets
 * *cur_bytes to 0 when the caller already gathered allocations (*m) and
 * must not wait.
 */
static int coroutine_fn handle_dependencies(BlockDriverState *bs,
                                            uint64_t guest_offset,
                                            int64_t *cur_bytes,
                                            QCowL2Meta **m)
{
    BDRVQcow2State *s = bs->opaque;
    QCowL2Meta *old;
    uint64_t bytes = *cur_bytes;

    QTAILQ_FOREACH(old, &s->cluster_allocs, next_in_flight) {
        uint64_t start = guest_offset, end = start + bytes;
        uint64_t old_start = start_of_cluster(s, l2meta_cow_start(old));
        uint64_t old_end = ROUND_UP(l2meta_cow_end(old), s->cluster_size);

        if (end <= old_start || start >= old_end) {
            continue;
        }
        if (old->keep_old_clusters &&
            (end <= l2meta_cow_start(old) || start >= l2meta_cow_end(old))) {
            continue;   /* same clusters, no COW overlap: no conflict */
        }
        bytes = start < old_start ? old_start - start : 0;
        if (bytes == 0 && *m) {
            *cur_bytes = 0;
            return 0;
        }
        if (bytes == 0) {
            qemu_co_queue_wait(&old->dependent_requests, &s->lock);
            return -EAGAIN;
        }
    }
    *cur_bytes = bytes;
    return 0;
}

#define INV_OFFSET UINT64_MAX

/*
 * Clusters we own from @guest_offset on: written in place (a QCowL2Meta
 * only where subclusters or zero flags change).  With *@host_offset set,
 * only if they continue there.  Returns 1 (progress), 0, or -errno.
 */
static int coroutine_fn handle_copied(BlockDriverState *bs,
                                      uint64_t guest_offset,
                                      uint64_t *host_offset, int64_t *bytes,
                                      QCowL2Meta **m)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t *table, entry, cluster_offset;
    int64_t nb_clusters;
    int l2_index, ret;

    nb_clusters = MIN(size_to_clusters(s, offset_into_cluster(s, guest_offset)
                                       + *bytes),
                      s->l2_size - ((guest_offset >> s->cluster_bits) &
                                    (s->l2_size - 1)));
    nb_clusters = MIN(nb_clusters, BDRV_REQUEST_MAX_BYTES >> s->cluster_bits);
    ret = qcow2_get_cluster_table(bs, guest_offset, &table, &l2_index);
    if (ret < 0) {
        return ret;
    }
    entry = get_l2_entry(s, table, l2_index);
    cluster_offset = entry & L2E_OFFSET_MASK;
    if (cluster_needs_new_alloc(s, entry)) {
        ret = 0;
        goto out;
    }
    if (offset_into_cluster(s, cluster_offset)) {
        ret = qcow2_signal_corruption(bs, true, "%s cluster offset %#" PRIx64
                                      " unaligned (guest offset: %#" PRIx64
                                      ")", qcow2_cluster_type(s, entry) ==
                                      QCOW2_CLUSTER_ZERO_ALLOC ?
                                      "Preallocated zero" : "Data",
                                      cluster_offset, guest_offset);
        goto out;
    }
    if (*host_offset != INV_OFFSET &&
        start_of_cluster(s, *host_offset) != (int64_t)cluster_offset) {
        *bytes = 0;
        ret = 0;
        goto out;
    }
    nb_clusters = count_single_write_clusters(s, nb_clusters, table, l2_index,
                                              false);
    *bytes = MIN(*bytes, nb_clusters * s->cluster_size -
                         offset_into_cluster(s, guest_offset));
    ret = calculate_l2_meta(bs, cluster_offset, guest_offset, *bytes, table,
                            m, true);
    if (ret == 0) {
        ret = 1;
    }
out:
    qcow2_cache_put(s->l2_cache, &table);
    if (ret > 0) {
        *host_offset = cluster_offset + offset_into_cluster(s, guest_offset);
    }
    return ret;
}

/*
 * New clusters for @guest_offset on (unallocated, zero, compressed, or
 * shared ones): anywhere, or with *@host_offset set only right there.
 * Returns 1 (progress), 0 (cannot continue there), or -errno.
 */
static int coroutine_fn handle_alloc(BlockDriverState *bs,
                                     uint64_t guest_offset,
                                     uint64_t *host_offset, int64_t *bytes,
                                     QCowL2Meta **m)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t *table, alloc_offset;
    int64_t nb_clusters, avail, requested, nb_bytes;
    int l2_index, ret;

    nb_clusters = MIN(size_to_clusters(s, offset_into_cluster(s, guest_offset)
                                       + *bytes),
                      s->l2_size - ((guest_offset >> s->cluster_bits) &
                                    (s->l2_size - 1)));
    nb_clusters = MIN(nb_clusters, BDRV_REQUEST_MAX_BYTES >> s->cluster_bits);
    ret = qcow2_get_cluster_table(bs, guest_offset, &table, &l2_index);
    if (ret < 0) {
        return ret;
    }
    /* compressed clusters included, as 7.2 does: each COWs on its own */
    nb_clusters = count_single_write_clusters(s, nb_clusters, table, l2_index,
                                              true);
    assert(nb_clusters > 0);

    if (has_data_file(s)) {
        /* the data file mirrors the guest: no allocation there */
        alloc_offset = start_of_cluster(s, guest_offset);
        if (*host_offset != INV_OFFSET &&
            start_of_cluster(s, *host_offset) != (int64_t)alloc_offset) {
            nb_clusters = 0;
        }
    } else if (*host_offset == INV_OFFSET) {
        int64_t r = qcow2_alloc_clusters(bs, nb_clusters * s->cluster_size);
        if (r < 0) {
            ret = r;
            goto out;
        }
        alloc_offset = r;
    } else {
        int64_t r;
        alloc_offset = start_of_cluster(s, *host_offset);
        r = qcow2_alloc_clusters_at(bs, alloc_offset, nb_clusters);
        if (r < 0) {
            ret = r;
            goto out;
        }
        nb_clusters = r;
    }
    if (nb_clusters == 0) {
        /* cannot extend the contiguous allocation */
        *bytes = 0;
        ret = 0;
        goto out;
    }
    if (!has_data_file(s) && alloc_offset == 0) {
        ret = qcow2_pre_write_overlap_check(bs, 0, 0, s->cluster_size);
        goto out;
    }
    requested = *bytes + offset_into_cluster(s, guest_offset);
    avail = MIN(INT_MAX, nb_clusters << s->cluster_bits);
    nb_bytes = MIN(requested, avail);
    *host_offset = alloc_offset + offset_into_cluster(s, guest_offset);
    *bytes = MIN(*bytes, nb_bytes - offset_into_cluster(s, guest_offset));
    ret = calculate_l2_meta(bs, alloc_offset, guest_offset, *bytes, table, m,
                            false);
    if (ret < 0) {
        if (!has_data_file(s)) {
            qcow2_free_clusters(bs, alloc_offset, nb_clusters * s->cluster_size,
                                QCOW2_DISCARD_NEVER);
        }
        goto out;
    }
    ret = 1;
out:
    qcow2_cache_put(s->l2_cache, &table);
    return ret;
}

int coroutine_fn qcow2_alloc_host_offset(BlockDriverState *bs,
                                         uint64_t offset, int64_t *bytes,
                                         uint64_t *host_offset,
                                         QCowL2Meta **m)
{
    uint64_t start, cluster_offset;
    int64_t remaining, cur_bytes;
    int ret;

again:
    start = offset;
    remaining = *bytes;
    cluster_offset = INV_OFFSET;
    *host_offset = INV_OFFSET;
    cur_bytes = 0;
    *m = NULL;

    /*
     * Gather as much as continues contiguously on the host: clusters we
     * own, then new ones right after them, and so on.
     */
    for (;;) {
        if (*host_offset == INV_OFFSET && cluster_offset != INV_OFFSET) {
            *host_offset = cluster_offset;
        }
        start += cur_bytes;
        remaining -= cur_bytes;
        if (cluster_offset != INV_OFFSET) {
            cluster_offset += cur_bytes;
        }
        if (remaining == 0) {
            break;
        }
        cur_bytes = remaining;
        ret = handle_dependencies(bs, start, &cur_bytes, m);
        if (ret == -EAGAIN) {
            assert(*m == NULL);
            goto again;
        }
        if (cur_bytes == 0) {
            break;
        }
        ret = handle_copied(bs, start, &cluster_offset, &cur_bytes, m);
        if (ret < 0) {
            return ret;
        } else if (ret) {
            continue;
        } else if (cur_bytes == 0) {
            break;
        }
        ret = handle_alloc(bs, start, &cluster_offset, &cur_bytes, m);
        if (ret < 0) {
            return ret;
        } else if (ret) {
            continue;
        }
        break;
    }
    *bytes -= remaining;
    assert(*bytes > 0 && *host_offset != INV_OFFSET);
    return 0;
}

int coroutine_fn qcow2_alloc_cluster_link_l2(BlockDriverState *bs,
                                             QCowL2Meta *m)
{
    BDRVQcow2State *s = bs->opaque;
    g_autofree uint64_t *old = g_new(uint64_t, m->nb_clusters);
    uint64_t *table;
    int i, j = 0, l2_index, ret;

    if (s->use_lazy_refcounts) {
        ret = qcow2_mark_dirty(bs);
        if (ret < 0) {
            return ret;
        }
    }
    /*
     * The refcounts of the new clusters go to the file first, unless the
     * image is dirty (lazy refcounts): then they stay in the cache until
     * it is marked clean, and a crash leaves them to the repair at the
     * next open, as 7.2 does.
     */
    if (!(s->incompatible_features & QCOW2_INCOMPAT_DIRTY)) {
        ret = qcow2_cache_set_dependency(bs, s->l2_cache,
                                         s->refcount_block_cache);
        if (ret < 0) {
            return ret;
        }
    }
    ret = qcow2_get_cluster_table(bs, m->offset, &table, &l2_index);
    if (ret < 0) {
        return ret;
    }
    qcow2_cache_mark_dirty(s->l2_cache, table);
    for (i = 0; i < m->nb_clusters; i++) {
        uint64_t host = m->alloc_offset + ((uint64_t)i << s->cluster_bits);
        uint64_t e = get_l2_entry(s, table, l2_index + i);

        /*
         * A concurrent write may have linked its own cluster here first:
         * ours replaces it (its data was copied by our COW).
         */
        if (e != 0) {
            old[j++] = e;
        }
        set_l2_entry(s, table, l2_index + i, host | QCOW_OFLAG_COPIED);
        if (has_subclusters(s) && !m->prealloc) {
            uint64_t bitmap = get_l2_bitmap(s, table, l2_index + i);
            unsigned from = MAX(m->cow_start.offset,
                                (unsigned)i << s->cluster_bits);
            unsigned to = MIN(m->cow_end.offset + m->cow_end.nb_bytes,
                              (unsigned)(i + 1) << s->cluster_bits);
            int first_sc = offset_to_sc_index(s, from);
            int last_sc = offset_to_sc_index(s, to - 1);
            bitmap |= QCOW_OFLAG_SUB_ALLOC_RANGE(first_sc, last_sc + 1);
            bitmap &= ~QCOW_OFLAG_SUB_ZERO_RANGE(first_sc, last_sc + 1);
            set_l2_bitmap(s, table, l2_index + i, bitmap);
        }
    }
    qcow2_cache_put(s->l2_cache, &table);
    if (!m->keep_old_clusters) {
        for (i = 0; i < j; i++) {
            qcow2_free_any_cluster(bs, old[i], QCOW2_DISCARD_NEVER);
        }
    }
    return 0;
}

static void qcow2_alloc_cluster_abort(BlockDriverState *bs, QCowL2Meta *m)
{
    BDRVQcow2State *s = bs->opaque;

    if (!has_data_file(s) && !m->keep_old_clusters) {
        qcow2_free_clusters(bs, m->alloc_offset,
                            (int64_t)m->nb_clusters << s->cluster_bits,
                            QCOW2_DISCARD_NEVER);
    }
}

int coroutine_fn qcow2_l2meta_finish(BlockDriverState *bs, QCowL2Meta *m,
                                     bool link)
{
    BDRVQcow2State *s = bs->opaque;
    int ret = 0;

    while (m) {
        QCowL2Meta *next = m->next;
        if (link && ret == 0 && !s->unusable) {
            ret = qcow2_alloc_cluster_link_l2(bs, m);
        }
        if (!link || ret < 0 || s->unusable) {
            qcow2_alloc_cluster_abort(bs, m);
        }
        QTAILQ_REMOVE(&s->cluster_allocs, m, next_in_flight);
        qemu_co_queue_restart_all(&m->dependent_requests);
        g_free(m);
        m = next;
    }
    return ret;
}

int coroutine_fn qcow2_alloc_compressed_cluster_offset(BlockDriverState *bs,
                                                       uint64_t offset,
                                                       int compressed_size,
                                                       uint64_t *host_offset)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t *table;
    int64_t coffset;
    uint64_t nb_csectors, entry;
    int l2_index, ret;

    ret = qcow2_get_cluster_table(bs, offset, &table, &l2_index);
    if (ret < 0) {
        return ret;
    }
    /* compression cannot overwrite anything */
    if (get_l2_entry(s, table, l2_index) & L2E_OFFSET_MASK) {
        qcow2_cache_put(s->l2_cache, &table);
        return -EIO;
    }
    qcow2_cache_put(s->l2_cache, &table);
    coffset = qcow2_alloc_bytes(bs, compressed_size);
    if (coffset < 0) {
        return coffset;
    }
    ret = qcow2_get_cluster_table(bs, offset, &table, &l2_index);
    if (ret < 0) {
        qcow2_free_clusters(bs, coffset, compressed_size, QCOW2_DISCARD_NEVER);
        return ret;
    }
    nb_csectors = (coffset + compressed_size - 1) / BDRV_SECTOR_SIZE -
                  coffset / BDRV_SECTOR_SIZE;
    entry = coffset | QCOW_OFLAG_COMPRESSED |
            (nb_csectors << s->csize_shift);
    BLKDBG_EVENT(bs->file, BLKDBG_L2_UPDATE_COMPRESSED);
    qcow2_cache_mark_dirty(s->l2_cache, table);
    set_l2_entry(s, table, l2_index, entry);
    if (has_subclusters(s)) {
        set_l2_bitmap(s, table, l2_index, 0);
    }
    qcow2_cache_put(s->l2_cache, &table);
    *host_offset = coffset;
    return 0;
}
