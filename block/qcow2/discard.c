/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2 zero writes and discards: zero flags (or, in v2 images without a
 * backing file, discards) over whole (sub)clusters, L2 entries dropped in
 * the cache, and the host ranges punched only once the L2 tables that
 * dropped them are in the file.  Also the expansion of zero clusters that
 * a downgrade to v2 needs.
 */
#include "util/osdep.h"
#include "qcow2.h"

static bool cluster_is_allocated(QCow2ClusterType t)
{
    return t == QCOW2_CLUSTER_COMPRESSED || t == QCOW2_CLUSTER_NORMAL ||
           t == QCOW2_CLUSTER_ZERO_ALLOC;
}

/*
 * Punch the host ranges freed by a discard or zero write only once the L2
 * entries that dropped them are in the file: a kill in between would
 * otherwise leave an entry pointing at a hole (for a compressed cluster:
 * an unreadable one).  7.2 punches first.
 */
static int coroutine_fn finish_discards(BlockDriverState *bs, int ret)
{
    BDRVQcow2State *s = bs->opaque;

    if (ret == 0 && !QTAILQ_EMPTY(&s->discards)) {
        ret = qcow2_cache_flush(bs, s->l2_cache);
    }
    qcow2_process_discards(bs, ret);
    return ret;
}

/* Discard whole clusters in one L2 table; returns how many. */
static int coroutine_fn discard_in_l2(BlockDriverState *bs, uint64_t offset,
                                      int64_t nb_clusters,
                                      Qcow2DiscardType type, bool full)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t *table;
    int l2_index, i, ret;

    ret = qcow2_get_cluster_table(bs, offset, &table, &l2_index);
    if (ret < 0) {
        return ret;
    }
    nb_clusters = MIN(nb_clusters, s->l2_size - l2_index);
    for (i = 0; i < nb_clusters; i++) {
        uint64_t old_entry = get_l2_entry(s, table, l2_index + i);
        uint64_t old_bitmap = get_l2_bitmap(s, table, l2_index + i);
        uint64_t new_entry = old_entry, new_bitmap = old_bitmap;
        QCow2ClusterType t = qcow2_cluster_type(s, old_entry);

        /*
         * A full discard falls through to the backing file; otherwise
         * the range must read as zeroes (v3), which needs a change only
         * for allocated clusters or over a backing file.
         */
        if (full) {
            new_entry = new_bitmap = 0;
        } else if (bs->backing || cluster_is_allocated(t)) {
            if (has_subclusters(s)) {
                new_entry = 0;
                new_bitmap = QCOW_L2_BITMAP_ALL_ZEROES;
            } else {
                new_entry = s->version >= 3 ? QCOW_OFLAG_ZERO : 0;
            }
        }
        if (old_entry == new_entry && old_bitmap == new_bitmap) {
            continue;
        }
        qcow2_cache_mark_dirty(s->l2_cache, table);
        set_l2_entry(s, table, l2_index + i, new_entry);
        if (has_subclusters(s)) {
            set_l2_bitmap(s, table, l2_index + i, new_bitmap);
        }
        qcow2_free_any_cluster(bs, old_entry, type);
    }
    qcow2_cache_put(s->l2_cache, &table);
    return nb_clusters;
}

/* Drop the clusters' L2 entries (in the cache); punching is left to do. */
static int coroutine_fn discard_range(BlockDriverState *bs, uint64_t offset,
                                      uint64_t bytes, Qcow2DiscardType type,
                                      bool full_discard)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t end = offset + bytes;
    int64_t nb_clusters;
    int ret = 0;

    assert(QEMU_IS_ALIGNED(offset, s->cluster_size));
    assert(QEMU_IS_ALIGNED(end, s->cluster_size) ||
           end == (uint64_t)s->virtual_size);
    nb_clusters = size_to_clusters(s, bytes);
    s->cache_discards = true;
    while (nb_clusters > 0) {
        ret = discard_in_l2(bs, offset, nb_clusters, type, full_discard);
        if (ret < 0) {
            break;
        }
        nb_clusters -= ret;
        offset += (uint64_t)ret * s->cluster_size;
        ret = 0;
    }
    s->cache_discards = false;
    return ret;
}

int coroutine_fn qcow2_cluster_discard(BlockDriverState *bs, uint64_t offset,
                                       uint64_t bytes, Qcow2DiscardType type,
                                       bool full_discard)
{
    return finish_discards(bs, discard_range(bs, offset, bytes, type,
                                             full_discard));
}

int coroutine_fn qcow2_guest_discard(BlockDriverState *bs, uint64_t offset,
                                     uint64_t bytes)
{
    int ret = discard_range(bs, offset, bytes, QCOW2_DISCARD_REQUEST, false);

    if (ret < 0) {
        return finish_discards(bs, ret);
    }
    /*
     * The entries are dropped in the cache, as in 7.2; if they cannot be
     * written now, nothing is punched (safe) and the error comes with the
     * next write or flush of the cache, as in 7.2, not with this advisory
     * request.
     */
    finish_discards(bs, 0);
    return 0;
}

/* Zero whole clusters in one L2 table; returns how many. */
static int coroutine_fn zero_in_l2(BlockDriverState *bs, uint64_t offset,
                                   int64_t nb_clusters, int flags)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t *table;
    int l2_index, i, ret;

    ret = qcow2_get_cluster_table(bs, offset, &table, &l2_index);
    if (ret < 0) {
        return ret;
    }
    nb_clusters = MIN(nb_clusters, s->l2_size - l2_index);
    for (i = 0; i < nb_clusters; i++) {
        uint64_t old_entry = get_l2_entry(s, table, l2_index + i);
        uint64_t old_bitmap = get_l2_bitmap(s, table, l2_index + i);
        QCow2ClusterType t = qcow2_cluster_type(s, old_entry);
        bool unmap = t == QCOW2_CLUSTER_COMPRESSED ||
                     ((flags & BDRV_REQ_MAY_UNMAP) && cluster_is_allocated(t));
        uint64_t new_entry = unmap ? 0 : old_entry;
        uint64_t new_bitmap = old_bitmap;

        if (has_subclusters(s)) {
            new_bitmap = QCOW_L2_BITMAP_ALL_ZEROES;
        } else {
            new_entry |= QCOW_OFLAG_ZERO;
        }
        if (old_entry == new_entry && old_bitmap == new_bitmap) {
            continue;
        }
        qcow2_cache_mark_dirty(s->l2_cache, table);
        set_l2_entry(s, table, l2_index + i, new_entry);
        if (has_subclusters(s)) {
            set_l2_bitmap(s, table, l2_index + i, new_bitmap);
        }
        if (unmap) {
            qcow2_free_any_cluster(bs, old_entry, QCOW2_DISCARD_REQUEST);
        }
    }
    qcow2_cache_put(s->l2_cache, &table);
    return nb_clusters;
}

/* Zero @nb_sc subclusters inside one cluster. */
static int coroutine_fn zero_l2_subclusters(BlockDriverState *bs,
                                            uint64_t offset, int nb_sc)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t *table, old_bitmap, bitmap;
    int l2_index, sc = offset_to_sc_index(s, offset), ret;

    ret = qcow2_get_cluster_table(bs, offset, &table, &l2_index);
    if (ret < 0) {
        return ret;
    }
    if (qcow2_cluster_type(s, get_l2_entry(s, table, l2_index)) ==
        QCOW2_CLUSTER_COMPRESSED) {
        ret = -ENOTSUP;     /* part of a compressed cluster cannot be zero */
    } else {
        old_bitmap = get_l2_bitmap(s, table, l2_index);
        bitmap = old_bitmap & ~QCOW_OFLAG_SUB_ALLOC_RANGE(sc, sc + nb_sc);
        bitmap |= QCOW_OFLAG_SUB_ZERO_RANGE(sc, sc + nb_sc);
        if (bitmap != old_bitmap) {
            set_l2_bitmap(s, table, l2_index, bitmap);
            qcow2_cache_mark_dirty(s->l2_cache, table);
        }
    }
    qcow2_cache_put(s->l2_cache, &table);
    return ret;
}

int coroutine_fn qcow2_subcluster_zeroize(BlockDriverState *bs,
                                          uint64_t offset, uint64_t bytes,
                                          int flags)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t end = offset + bytes;
    uint64_t head, tail;
    int64_t nb_clusters;
    int ret = 0;

    /* a raw data file must read the same: zero it too */
    if (has_data_file(s) && s->data_file_raw) {
        ret = bdrv_co_pwrite_zeroes(s->data_file, offset, bytes, flags);
        if (ret < 0) {
            return ret;
        }
    }
    assert(offset_into_subcluster(s, offset) == 0);
    assert(offset_into_subcluster(s, end) == 0 ||
           end >= (uint64_t)s->virtual_size);
    if (s->version < 3) {
        /* no zero flag: only without a backing file can discard do it */
        return bs->backing ? -ENOTSUP :
               qcow2_cluster_discard(bs, offset, bytes, QCOW2_DISCARD_REQUEST,
                                     false);
    }
    head = MIN(end, ROUND_UP(offset, s->cluster_size)) - offset;
    offset += head;
    tail = end >= (uint64_t)s->virtual_size ? 0 :
           end - MAX(offset, start_of_cluster(s, end));
    end -= tail;
    s->cache_discards = true;
    if (head) {
        ret = zero_l2_subclusters(bs, offset - head,
                                  DIV_ROUND_UP(head, s->subcluster_size));
        if (ret < 0) {
            goto out;
        }
    }
    nb_clusters = end > offset ? size_to_clusters(s, end - offset) : 0;
    while (nb_clusters > 0) {
        ret = zero_in_l2(bs, offset, nb_clusters, flags);
        if (ret < 0) {
            goto out;
        }
        nb_clusters -= ret;
        offset += (uint64_t)ret * s->cluster_size;
        ret = 0;
    }
    if (tail) {
        ret = zero_l2_subclusters(bs, end,
                                  DIV_ROUND_UP(tail, s->subcluster_size));
    }
out:
    s->cache_discards = false;
    return finish_discards(bs, ret);
}

/*
 * Downgrade to v2 (amend compat=0.10): no zero flags may remain in the
 * active L2 tables.  As 7.2: without a backing file a zero cluster just
 * becomes unallocated; with one it gets a new cluster of zeroes; a
 * preallocated zero cluster is zeroed in place.  Tables shared with
 * snapshots are the caller's to refuse.
 */
/*
 * One zero cluster of an L2 table referenced @l2_refcount times (by the
 * active L1 and snapshots) made data: *@entry rewritten.  A cluster
 * shared beyond this table (a snapshot's L2 maps it as data) is not
 * zeroed in place: a new one takes its place (7.2 zeroes it, and the
 * snapshot's data with it).
 */
static int coroutine_fn expand_one(BlockDriverState *bs, uint64_t l2_offset,
                                   uint64_t l2_refcount, uint64_t *entry)
{
    BDRVQcow2State *s = bs->opaque;
    QCow2ClusterType type = qcow2_cluster_type(s, *entry);
    int64_t host = *entry & L2E_OFFSET_MASK, old = -1;
    uint64_t rc = 0;
    int ret;

    if (type == QCOW2_CLUSTER_ZERO_PLAIN && !bs->backing) {
        *entry = 0;             /* unallocated reads as zeroes too */
        return 0;
    }
    if (type == QCOW2_CLUSTER_ZERO_ALLOC) {
        ret = qcow2_get_refcount(bs, host >> s->cluster_bits, &rc);
        if (ret < 0) {
            return ret;
        }
        if (rc > l2_refcount) {
            old = host;
        }
    }
    if (type == QCOW2_CLUSTER_ZERO_PLAIN || old >= 0) {
        host = qcow2_alloc_clusters(bs, s->cluster_size);
        if (host < 0) {
            return host;
        }
        /* one reference per L1 table using this L2 table, as 7.2 */
        if (l2_refcount > 1) {
            ret = qcow2_update_cluster_refcount(bs, host >> s->cluster_bits,
                                                l2_refcount - 1, false,
                                                QCOW2_DISCARD_OTHER);
            if (ret < 0) {
                goto fail;
            }
        }
    }
    if (offset_into_cluster(s, host)) {
        return qcow2_signal_corruption(bs, true, "Cluster allocation offset "
                                       "%#" PRIx64 " unaligned (L2 offset: "
                                       "%#" PRIx64 ")", host, l2_offset);
    }
    ret = qcow2_pre_write_overlap_check(bs, 0, host, s->cluster_size);
    if (ret == 0) {
        ret = bdrv_co_pwrite_zeroes(s->data_file, host, s->cluster_size, 0);
    }
    if (ret < 0) {
        goto fail;
    }
    if (old >= 0) {
        ret = qcow2_update_cluster_refcount(bs, old >> s->cluster_bits,
                                            l2_refcount, true,
                                            QCOW2_DISCARD_OTHER);
        if (ret < 0) {
            return ret;
        }
    }
    *entry = host | (l2_refcount == 1 ? QCOW_OFLAG_COPIED : 0);
    return 0;

fail:
    if (type == QCOW2_CLUSTER_ZERO_PLAIN || old >= 0) {
        qcow2_free_clusters(bs, host, s->cluster_size, QCOW2_DISCARD_ALWAYS);
    }
    return ret;
}

/*
 * The zero clusters of the L2 tables @l1 points to: the active ones
 * through the cache, a snapshot's (@active false) read and written
 * directly, as 7.2.
 */
static int coroutine_fn expand_in_l1(BlockDriverState *bs, const uint64_t *l1,
                                     uint32_t l1_size, bool active)
{
    BDRVQcow2State *s = bs->opaque;
    g_autoblkbuf uint64_t *buf = active ? NULL :
                                 blk_buf_alloc(bs->file->bs, s->cluster_size);
    uint32_t i;
    int ret;

    for (i = 0; i < l1_size; i++) {
        uint64_t l2_offset = l1[i] & L1E_OFFSET_MASK, l2_refcount;
        uint64_t *l2 = buf;
        bool dirty = false;
        int64_t j;

        if (!l2_offset) {
            continue;
        }
        if (offset_into_cluster(s, l2_offset)) {
            return qcow2_signal_corruption(bs, true, "L2 table offset %#"
                                           PRIx64 " unaligned (L1 index: %#"
                                           PRIx32 ")", l2_offset, i);
        }
        ret = qcow2_get_refcount(bs, l2_offset >> s->cluster_bits,
                                 &l2_refcount);
        if (ret < 0) {
            return ret;
        }
        ret = active ? qcow2_cache_get(bs, s->l2_cache, l2_offset, &l2) :
              bdrv_co_pread(bs->file, l2_offset, s->cluster_size, buf, 0);
        if (ret < 0) {
            return ret;
        }
        for (j = 0; j < s->l2_size && ret == 0; j++) {
            uint64_t entry = get_l2_entry(s, l2, j);
            QCow2ClusterType type = qcow2_cluster_type(s, entry);

            if (type == QCOW2_CLUSTER_ZERO_PLAIN ||
                type == QCOW2_CLUSTER_ZERO_ALLOC) {
                ret = expand_one(bs, l2_offset, l2_refcount, &entry);
                if (ret == 0) {
                    set_l2_entry(s, l2, j, entry);
                    dirty = true;
                }
            }
        }
        if (active) {
            if (dirty) {
                qcow2_cache_mark_dirty(s->l2_cache, l2);
                qcow2_cache_depends_on_flush(s->l2_cache);
            }
            qcow2_cache_put(s->l2_cache, &l2);
        } else if (dirty) {
            int r = qcow2_pre_write_overlap_check(bs, 0, l2_offset,
                                                  s->cluster_size);

            if (r == 0) {
                r = bdrv_co_pwrite(bs->file, l2_offset, s->cluster_size, l2,
                                   0);
            }
            ret = ret < 0 ? ret : r;
        }
        if (ret < 0) {
            return ret;
        }
    }
    return 0;
}

int coroutine_fn qcow2_expand_zero_clusters(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    int ret = expand_in_l1(bs, s->l1_table, s->l1_size, true);
    int i;

    /*
     * A snapshot's L1 may point at active L2 tables (expanded now): the
     * cache written and emptied first, so that they are read as they
     * are on disk, and not written twice.
     */
    if (ret == 0) {
        ret = qcow2_cache_write(bs, s->l2_cache);
    }
    if (ret < 0) {
        return ret;
    }
    qcow2_cache_empty(s->l2_cache);
    for (i = 0; i < s->nb_snapshots; i++) {
        const Qcow2Snapshot *sn = &s->snapshots[i];
        g_autofree uint64_t *l1 = NULL;
        Error *err = NULL;
        uint32_t k;

        if (!qcow2_validate_table(s, sn->l1_table_offset, sn->l1_size,
                                  L1E_SIZE, QCOW_MAX_L1_SIZE,
                                  "Snapshot L1 table", &err)) {
            bool big = strstr(error_get_pretty(err), "too large") != NULL;

            bdrv_report_err(err);
            return big ? -EFBIG : -EINVAL;
        }
        l1 = g_try_new(uint64_t, MAX(sn->l1_size, 1));
        if (!l1) {
            return -ENOMEM;
        }
        ret = bdrv_co_pread(bs->file, sn->l1_table_offset,
                            (int64_t)sn->l1_size * L1E_SIZE, l1, 0);
        if (ret < 0) {
            return ret;
        }
        for (k = 0; k < sn->l1_size; k++) {
            l1[k] = be64toh(l1[k]);
        }
        ret = expand_in_l1(bs, l1, sn->l1_size, false);
        if (ret < 0) {
            return ret;
        }
    }
    return qcow2_cache_write(bs, s->refcount_block_cache);
}
