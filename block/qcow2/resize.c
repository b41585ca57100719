/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2 resize: grow (L1 table to the exact size, then preallocation
 * metadata, falloc or full as asked) and shrink (drop the clusters past
 * the end, the L2 tables they used and refcount blocks left empty, and
 * cut the file after its last used cluster), with QEMU 7.2's checks and
 * messages.  Create uses it too, as QEMU does: a new image is grown from
 * size 0, which is where its L1 table and preallocation come from.
 */
#include "util/osdep.h"
#include "qcow2.h"
#include "util/bswap.h"

#define REFT_OFFSET_MASK 0xfffffffffffffe00ULL

/* The last cluster with a reference, from the end of a file of @size. */
static int64_t coroutine_fn get_last_cluster(BlockDriverState *bs,
                                             int64_t size)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t i;

    for (i = size_to_clusters(s, size) - 1; i >= 0; i--) {
        uint64_t refcount;
        int ret = qcow2_get_refcount(bs, i, &refcount);
        if (ret < 0) {
            return ret;
        }
        if (refcount > 0) {
            return i;
        }
    }
    return qcow2_signal_corruption(bs, true, "There are no references in "
                                   "the refcount table.");
}

/* Zero the L1 entries past @new_size and free their L2 tables. */
static int coroutine_fn shrink_l1_table(BlockDriverState *bs,
                                        uint64_t new_size)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t i;
    int ret;

    if (new_size == s->l1_size) {
        return 0;
    }
    ret = qcow2_cache_flush(bs, s->l2_cache);
    if (ret == 0) {
        ret = bdrv_co_pwrite_zeroes(bs->file, s->l1_table_offset +
                                    new_size * L1E_SIZE,
                                    (s->l1_size - new_size) * L1E_SIZE, 0);
    }
    if (ret == 0) {
        ret = bdrv_co_flush(bs->file->bs);
    }
    if (ret < 0) {
        return ret;
    }
    /* the table keeps its size: 7.2 does not rewrite l1_size either */
    for (i = s->l1_size - 1; i >= (int64_t)new_size; i--) {
        uint64_t l2 = s->l1_table[i] & L1E_OFFSET_MASK;
        if (l2) {
            qcow2_free_clusters(bs, l2, s->cluster_size, QCOW2_DISCARD_ALWAYS);
            s->l1_table[i] = 0;
        }
    }
    return 0;
}

/* Drop refcount blocks that count nothing but (maybe) themselves. */
static int coroutine_fn shrink_reftable(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    /*
     * The table as it is now: freeing below may grow it (a corrupt image
     * whose refcounts need a block we just dropped), and nothing past
     * this size is ours to look at.
     */
    uint32_t n = s->refcount_table_size;
    g_autofree uint64_t *table = g_new0(uint64_t, n);
    uint64_t refcount;
    uint32_t i;
    int ret;

    for (i = 0; i < n; i++) {
        uint64_t offs = s->refcount_table[i] & REFT_OFFSET_MASK;
        bool unused = true;
        uint64_t self = UINT64_MAX, j;

        if (!offs) {
            continue;
        }
        if ((offs >> (s->cluster_bits + s->refcount_block_bits)) == i) {
            self = (offs >> s->cluster_bits) & (s->refcount_block_size - 1);
        }
        for (j = 0; j < (uint64_t)s->refcount_block_size && unused; j++) {
            if (j == self) {
                continue;
            }
            ret = qcow2_get_refcount(bs, ((uint64_t)i << s->refcount_block_bits)
                                         + j, &refcount);
            if (ret < 0) {
                return ret;
            }
            unused = refcount == 0;
        }
        table[i] = unused ? 0 : htobe64(s->refcount_table[i]);
    }
    ret = bdrv_co_pwrite(bs->file, s->refcount_table_offset,
                         (int64_t)n * 8, table, 0);
    if (ret == 0) {
        ret = bdrv_co_flush(bs->file->bs);
    }
    for (i = 0; i < n; i++) {
        if (s->refcount_table[i] && !table[i]) {
            uint64_t offs = s->refcount_table[i] & REFT_OFFSET_MASK;
            s->refcount_table[i] = 0;
            qcow2_cache_discard(s->refcount_block_cache, offs);
            if (ret == 0) {
                /* counted elsewhere: that count goes; self-counted: gone */
                uint64_t idx = offs >> (s->cluster_bits +
                                        s->refcount_block_bits);
                if (idx != i) {
                    qcow2_free_clusters(bs, offs, s->cluster_size,
                                        QCOW2_DISCARD_ALWAYS);
                } else {
                    /* its count went with it; the space goes back too */
                    qcow2_queue_discard(bs, offs, s->cluster_size);
                }
                if ((offs >> s->cluster_bits) < s->free_cluster_index) {
                    s->free_cluster_index = offs >> s->cluster_bits;
                }
            }
        }
    }
    qcow2_process_discards(bs, ret);
    return ret;
}

/*
 * Map [offset, new_length) to new clusters (metadata preallocation), then
 * extend the file to cover the last one (with @mode's allocation for the
 * data part when it is falloc or full).
 */
static int coroutine_fn preallocate(BlockDriverState *bs, uint64_t offset,
                                    uint64_t new_length, PreallocMode mode,
                                    Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t host = 0;
    int64_t cur = 0, file_length;
    int ret;

    while (offset < new_length) {
        QCowL2Meta *m = NULL, *it;

        cur = MIN(new_length - offset,
                  QEMU_ALIGN_DOWN(INT_MAX, s->cluster_size));
        ret = qcow2_alloc_host_offset(bs, offset, &cur, &host, &m);
        if (ret < 0) {
            qcow2_l2meta_finish(bs, m, false);
            error_setg_errno(errp, -ret, "Allocating clusters failed");
            return ret;
        }
        for (it = m; it; it = it->next) {
            it->prealloc = true;
        }
        ret = 0;
        for (it = m; it && ret == 0; it = it->next) {
            ret = qcow2_perform_cow_locked(bs, it);
        }
        ret = qcow2_l2meta_finish(bs, m, ret == 0) ?: ret;
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Mapping clusters failed");
            return ret;
        }
        offset += cur;
    }
    file_length = bdrv_co_getlength(s->data_file->bs);
    if (file_length < 0) {
        error_setg_errno(errp, -file_length, "Could not get file size");
        return file_length;
    }
    if ((int64_t)host + cur > file_length) {
        if (mode == PREALLOC_MODE_METADATA) {
            mode = PREALLOC_MODE_OFF;
        }
        ret = bdrv_co_truncate(s->data_file, host + cur, false, mode, 0,
                               errp);
        if (ret < 0) {
            return ret;
        }
    }
    return 0;
}

/*
 * falloc/full without a data file: new refcount structures at the end of
 * the file sized for the new clusters, the data clusters after them in
 * one piece (allocated by the protocol with @mode), then their L2 entries.
 */
static int coroutine_fn grow_falloc_full(BlockDriverState *bs,
                                         uint64_t old_length,
                                         uint64_t offset, PreallocMode mode,
                                         Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t old_file_size, last_cluster, allocation_start, allocated;
    uint64_t nb_data, nb_l2, host, guest;
    int ret;

    old_file_size = bdrv_co_getlength(bs->file->bs);
    if (old_file_size < 0) {
        error_setg_errno(errp, -old_file_size,
                         "Failed to inquire current file length");
        return old_file_size;
    }
    last_cluster = get_last_cluster(bs, old_file_size);
    if (last_cluster < 0) {
        error_setg_errno(errp, -last_cluster,
                         "Failed to find the last cluster");
        return last_cluster;
    }
    old_file_size = (last_cluster + 1) * s->cluster_size;
    nb_data = (ROUND_UP(offset, s->cluster_size) -
               start_of_cluster(s, old_length)) >> s->cluster_bits;
    /* enough refcounts for the L2 tables too, wherever they land */
    nb_l2 = DIV_ROUND_UP(nb_data, s->l2_size) + 1;
    allocation_start = qcow2_refcount_area(bs, old_file_size, nb_data + nb_l2,
                                           true, 0, 0);
    if (allocation_start < 0) {
        error_setg_errno(errp, -allocation_start,
                         "Failed to resize refcount structures");
        return allocation_start;
    }
    allocated = qcow2_alloc_clusters_at(bs, allocation_start, nb_data);
    if (allocated < 0) {
        error_setg_errno(errp, -allocated, "Failed to allocate data clusters");
        return allocated;
    }
    ret = bdrv_co_truncate(bs->file, allocation_start +
                           nb_data * s->cluster_size, false, mode, 0, errp);
    if (ret < 0) {
        error_prepend(errp, "Failed to resize underlying file: ");
        qcow2_free_clusters(bs, allocation_start, nb_data * s->cluster_size,
                            QCOW2_DISCARD_OTHER);
        return ret;
    }
    host = allocation_start;
    guest = old_length;
    while (nb_data) {
        uint64_t n = MIN(nb_data, s->l2_size - ((guest >> s->cluster_bits) &
                                               (s->l2_size - 1)));
        QCowL2Meta m = {
            .offset = start_of_cluster(s, guest),
            .alloc_offset = host,
            .nb_clusters = n,
            .cow_start = { 0, offset_into_cluster(s, guest) },
            .cow_end = { n << s->cluster_bits, 0 },
            .prealloc = true,
        };
        /*
         * The first new cluster replaces the one holding the old end:
         * its data before the old end is copied over before the switch.
         */
        ret = qcow2_perform_cow_locked(bs, &m);
        if (ret == 0) {
            ret = qcow2_alloc_cluster_link_l2(bs, &m);
        }
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Failed to update L2 tables");
            qcow2_free_clusters(bs, host, nb_data * s->cluster_size,
                                QCOW2_DISCARD_OTHER);
            return ret;
        }
        guest = start_of_cluster(s, guest) + (n << s->cluster_bits);
        host += n << s->cluster_bits;
        nb_data -= n;
    }
    return 0;
}

/*
 * A grown image whose backing file is longer than it was would show the
 * backing file's old data in the new area: make it read as zeroes, as 7.2
 * does (zero flags where whole subclusters allow, zeroes written for the
 * unaligned head).  Context: s->lock held.
 */
static int coroutine_fn zero_over_backing(BlockDriverState *bs,
                                          uint64_t old_length,
                                          uint64_t new_length, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t backing_len = bdrv_co_getlength(bs->backing->bs);
    uint64_t zero_start = ROUND_UP(old_length, s->subcluster_size);
    int ret = 0;

    if (backing_len < 0) {
        error_setg_errno(errp, (int)-backing_len,
                         "Could not get backing file size");
        return (int)backing_len;
    }
    if ((uint64_t)backing_len <= old_length) {
        return 0;
    }
    if (new_length > zero_start) {
        ret = qcow2_subcluster_zeroize(bs, zero_start,
                                       new_length - zero_start, 0);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Failed to zero out new clusters");
            return ret;
        }
    }
    if (zero_start > old_length) {
        uint64_t len = MIN(zero_start, new_length) - old_length;
        void *buf = blk_buf_alloc(bs, len);
        QEMUIOVector qiov;

        memset(buf, 0, len);
        qemu_iovec_init_buf(&qiov, buf, len);
        qemu_co_mutex_unlock(&s->lock);
        ret = qcow2_co_pwritev(bs, old_length, len, &qiov, 0);
        qemu_co_mutex_lock(&s->lock);
        blk_buf_free(buf);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Failed to zero out the new area");
        }
    }
    return ret;
}

int coroutine_fn qcow2_co_truncate(BlockDriverState *bs, int64_t offset,
                                   bool exact, PreallocMode prealloc,
                                   BdrvRequestFlags flags, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t old_length, new_l1_size;
    uint8_t buf[8];
    int ret;

    if (s->unusable) {
        error_setg(errp, "Image is corrupt");
        return -EIO;
    }
    if (!QEMU_IS_ALIGNED(offset, BDRV_SECTOR_SIZE)) {
        error_setg(errp, "The new size must be a multiple of %u",
                   (unsigned)BDRV_SECTOR_SIZE);
        return -EINVAL;
    }
    qemu_co_mutex_lock(&s->lock);
    if (s->nb_snapshots && s->version < 3) {
        error_setg(errp, "Can't resize a v2 image which has snapshots");
        ret = -ENOTSUP;
        goto out;
    }
    old_length = s->virtual_size;
    new_l1_size = size_to_l1(s, offset);
    if ((uint64_t)offset < old_length) {
        int64_t file_size, last;

        if (prealloc != PREALLOC_MODE_OFF) {
            error_setg(errp, "Preallocation can't be used for shrinking an "
                       "image");
            ret = -EINVAL;
            goto out;
        }
        if (ROUND_UP(offset, s->cluster_size) < (int64_t)old_length) {
            ret = qcow2_cluster_discard(bs, ROUND_UP(offset, s->cluster_size),
                                        old_length - ROUND_UP(offset,
                                                              s->cluster_size),
                                        QCOW2_DISCARD_ALWAYS, true);
            if (ret < 0) {
                error_setg_errno(errp, -ret, "Failed to discard cropped "
                                 "clusters");
                goto out;
            }
        }
        ret = shrink_l1_table(bs, new_l1_size);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Failed to reduce the number of L2 "
                             "tables");
            goto out;
        }
        ret = shrink_reftable(bs);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Failed to discard unused "
                             "refblocks");
            goto out;
        }
        file_size = bdrv_co_getlength(bs->file->bs);
        if (file_size < 0) {
            ret = file_size;
            error_setg_errno(errp, -ret, "Failed to inquire current file "
                             "length");
            goto out;
        }
        last = get_last_cluster(bs, file_size);
        if (last < 0) {
            ret = last;
            error_setg_errno(errp, -ret, "Failed to find the last cluster");
            goto out;
        }
        if ((last + 1) * s->cluster_size < file_size) {
            Error *local_err = NULL;
            if (bdrv_co_truncate(bs->file, (last + 1) * s->cluster_size,
                                 false, PREALLOC_MODE_OFF, 0,
                                 &local_err) < 0) {
                error_prepend(&local_err, "Failed to truncate the tail of "
                              "the image: ");
                bdrv_warn_report("%s", error_get_pretty(local_err));
                error_free(local_err);
            }
        }
    } else {
        ret = qcow2_grow_l1_table(bs, new_l1_size, true);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Failed to grow the L1 table");
            goto out;
        }
        if (has_data_file(s) && s->data_file_raw &&
            prealloc == PREALLOC_MODE_OFF) {
            /* a raw data file stays mapped 1:1: map the new part too */
            prealloc = PREALLOC_MODE_METADATA;
        }
    }

    switch (prealloc) {
    case PREALLOC_MODE_OFF:
        if (has_data_file(s)) {
            ret = bdrv_co_truncate(s->data_file, offset, exact, prealloc, 0,
                                   errp);
        }
        break;
    case PREALLOC_MODE_METADATA:
        ret = preallocate(bs, old_length, offset, prealloc, errp);
        break;
    case PREALLOC_MODE_FALLOC:
    case PREALLOC_MODE_FULL:
        ret = has_data_file(s) ?
              preallocate(bs, old_length, offset, prealloc, errp) :
              grow_falloc_full(bs, old_length, offset, prealloc, errp);
        break;
    default:
        g_assert_not_reached();
    }
    if (ret < 0) {
        goto out;
    }
    if (prealloc != PREALLOC_MODE_OFF) {
        ret = qcow2_cache_write(bs, s->l2_cache);
        if (ret == 0) {
            ret = qcow2_cache_write(bs, s->refcount_block_cache);
        }
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Failed to flush the preallocated "
                             "area to disk");
            goto out;
        }
    }
    /* before the new size is recorded: a failure leaves the old size */
    if (bs->backing && (uint64_t)offset > old_length) {
        ret = zero_over_backing(bs, old_length, offset, errp);
        if (ret < 0) {
            goto out;
        }
    }
    stq_be_p(buf, offset);
    ret = qcow2_update_header_field(bs, offsetof(QCowHeader, size), buf,
                                    sizeof(buf));
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Failed to update the image size");
        goto out;
    }
    s->virtual_size = offset;
    s->l1_vm_state_index = new_l1_size;
out:
    qemu_co_mutex_unlock(&s->lock);
    return ret;
}
