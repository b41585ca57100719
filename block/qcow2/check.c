/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu-img check for qcow2: every cluster the metadata references is
 * counted in memory (the header, the L1 tables of the image and of its
 * snapshots, their L2 tables and data, the snapshot table, the refcount
 * table and blocks, the bitmap directory, tables and data) and the counts
 * compared with the refcounts on disk.  A count above the reference is a
 * leak (space wasted), below it an error (a later allocation would
 * overwrite data).  Then the COPIED flags are compared with the refcounts.
 *
 * What is printed, and in which order, is QEMU 7.2's (the iotests compare
 * it with the real qemu-img), as are the repairs -r leaks and -r all make:
 * refcounts set to the references, COPIED flags set to the refcounts,
 * misaligned preallocated clusters turned into zero clusters.  When the
 * refcount structure itself is broken (a referenced cluster with
 * refcount 0, a bad refcount table entry, a refcount block outside the
 * file), -r all writes a new one from the counts, as 7.2 does: refcount
 * blocks and table in free clusters, then the header points at them; the
 * old structure is a leak the next pass repairs.
 */
#include "util/osdep.h"
#include "qcow2.h"
#include "util/bswap.h"

/* Bits that must be zero in table entries. */
#define L1E_RESERVED_MASK    0x7f000000000001ffULL
#define L2E_STD_RESERVED_MASK 0x3f000000000001feULL
#define REFT_RESERVED_MASK   0x1ffULL

enum {
    CHECK_FRAG_INFO = 1,        /* count allocation for the summary */
};

typedef struct CheckState {
    BlockDriverState *bs;
    BdrvCheckResult *res;
    int fix;
    bool rebuild;               /* the refcount structure itself is bad */
    uint64_t *refs;             /* references per cluster, computed */
    int64_t nb_clusters;        /* entries of @refs */
    int64_t file_len;
} CheckState;

static bool grow_refs(CheckState *c, int64_t n)
{
    uint64_t *p;

    if (n <= c->nb_clusters) {
        return true;
    }
    p = g_try_renew(uint64_t, c->refs, n);
    if (!p) {
        return false;
    }
    memset(p + c->nb_clusters, 0, (n - c->nb_clusters) * sizeof(*p));
    c->refs = p;
    c->nb_clusters = n;
    return true;
}

/* One more reference to every cluster of [offset, +size). */
static int count_range(CheckState *c, int64_t offset, int64_t size)
{
    BDRVQcow2State *s = c->bs->opaque;
    uint64_t start, last, k;

    if (size <= 0) {
        return 0;
    }
    /*
     * The last cluster may be partly past the end of the file, no more.
     * An offset from the image past 2^63 (negative here) is no nearer.
     */
    if (offset < 0 || size > INT64_MAX - offset ||
        offset + size - c->file_len >= s->cluster_size) {
        bdrv_message(BDRV_MSG_CHECK,
                     "ERROR: counting reference for region exceeding the "
                     "end of the file by one cluster or more: offset 0x%" PRIx64
                     " size 0x%" PRIx64,
                     offset, size);
        c->res->corruptions++;
        return 0;
    }
    start = start_of_cluster(s, offset) >> s->cluster_bits;
    last = start_of_cluster(s, offset + size - 1) >> s->cluster_bits;
    for (k = start; k <= last; k++) {
        if (!grow_refs(c, k + 1)) {
            c->res->check_errors++;
            return -ENOMEM;
        }
        if (c->refs[k] == s->refcount_max) {
            bdrv_message(BDRV_MSG_CHECK,
                         "ERROR: overflow cluster offset=0x%" PRIx64,
                         k << s->cluster_bits);
            bdrv_message(
                BDRV_MSG_CHECK,
                "Use qemu-img amend to increase the refcount entry "
                "width or qemu-img convert to create a clean copy if the "
                "image cannot be opened for writing");
            c->res->corruptions++;
            continue;
        }
        c->refs[k]++;
    }
    return 0;
}

/*
 * -r all on a misaligned cluster without data: make the entry a zero
 * cluster (zero subclusters), written through at once.  0 when fixed.
 */
static int coroutine_fn zero_l2_entry(CheckState *c, uint64_t l2_offset,
                                      uint64_t *l2, int i, bool active,
                                      bool *overlap)
{
    BlockDriverState *bs = c->bs;
    BDRVQcow2State *s = bs->opaque;
    int words = s->l2_entry_size / 8;
    uint64_t entry_offset = l2_offset + (uint64_t)i * s->l2_entry_size;
    int ret;

    if (has_subclusters(s)) {
        uint64_t bitmap = get_l2_bitmap(s, l2, i);
        bitmap = (bitmap | (bitmap << 32)) & QCOW_L2_BITMAP_ALL_ZEROES;
        set_l2_bitmap(s, l2, i, bitmap);
        set_l2_entry(s, l2, i, 0);
    } else {
        set_l2_entry(s, l2, i, QCOW_OFLAG_ZERO);
    }
    ret = qcow2_pre_write_overlap_check(bs, active ? QCOW2_OL_ACTIVE_L2 : 0,
                                        entry_offset, s->l2_entry_size);
    *overlap = ret < 0;
    if (ret < 0) {
        bdrv_message(BDRV_MSG_CHECK, "ERROR: Overlap check failed");
        goto fail;
    }
    ret = bdrv_co_pwrite(bs->file, entry_offset, s->l2_entry_size,
                         &l2[i * words], 0);
    if (ret == 0) {
        ret = bdrv_co_flush(bs->file->bs);
    }
    if (ret < 0) {
        bdrv_message(BDRV_MSG_CHECK,
                     "ERROR: Failed to overwrite L2 table entry: %s",
                     strerror(-ret));
        goto fail;
    }
    qcow2_cache_discard(s->l2_cache, l2_offset);
    c->res->corruptions--;
    c->res->corruptions_fixed++;
    return 0;

fail:
    c->res->check_errors++;
    return ret;
}

/* The clusters one L2 table references, and its entries' sanity. */
static int coroutine_fn count_l2(CheckState *c, uint64_t l2_offset,
                                 int flags, bool active)
{
    BlockDriverState *bs = c->bs;
    BDRVQcow2State *s = bs->opaque;
    BdrvCheckResult *res = c->res;
    size_t bytes = s->l2_size * s->l2_entry_size;
    g_autofree uint64_t *l2 = g_malloc(bytes);
    uint64_t next_contiguous = 0;
    int64_t i;
    int ret;

    ret = bdrv_co_pread(bs->file, l2_offset, bytes, l2, 0);
    if (ret < 0) {
        bdrv_message(BDRV_MSG_CHECK, "ERROR: I/O error in check_refcounts_l2");
        res->check_errors++;
        return ret;
    }
    for (i = 0; i < s->l2_size; i++) {
        uint64_t entry = get_l2_entry(s, l2, i);
        uint64_t bitmap = get_l2_bitmap(s, l2, i);
        QCow2ClusterType kind = qcow2_cluster_type(s, entry);
        uint64_t offset = entry & L2E_OFFSET_MASK;

        if (kind != QCOW2_CLUSTER_COMPRESSED &&
            (entry & L2E_STD_RESERVED_MASK)) {
            bdrv_message(BDRV_MSG_CHECK,
                         "ERROR found l2 entry with reserved bits set: "
                         "%" PRIx64,
                         entry);
            res->corruptions++;
        }
        switch (kind) {
        case QCOW2_CLUSTER_COMPRESSED: {
            uint64_t coffset;
            int csize;

            if (entry & QCOW_OFLAG_COPIED) {
                bdrv_message(BDRV_MSG_CHECK,
                             "ERROR: coffset=0x%" PRIx64 ": copied flag "
                             "must never be set for compressed clusters",
                             entry & s->cluster_offset_mask);
                entry &= ~QCOW_OFLAG_COPIED;
                res->corruptions++;
            }
            if (has_data_file(s)) {
                bdrv_message(BDRV_MSG_CHECK,
                             "ERROR compressed cluster %d with data file, "
                             "entry=0x%" PRIx64,
                             (int)i, entry);
                res->corruptions++;
                break;
            }
            if (bitmap) {
                bdrv_message(BDRV_MSG_CHECK,
                             "ERROR compressed cluster %d with non-zero "
                             "subcluster allocation bitmap, entry=0x%" PRIx64,
                             (int)i, entry);
                res->corruptions++;
                break;
            }
            qcow2_parse_compressed_l2_entry(bs, entry, &coffset, &csize);
            ret = count_range(c, coffset, csize);
            if (ret < 0) {
                return ret;
            }
            if (flags & CHECK_FRAG_INFO) {
                /* compressed clusters count as fragmented, as in QEMU */
                res->allocated_clusters++;
                res->compressed_clusters++;
                res->fragmented_clusters++;
            }
            break;
        }
        case QCOW2_CLUSTER_ZERO_ALLOC:
        case QCOW2_CLUSTER_NORMAL:
            if ((bitmap >> 32) & bitmap) {
                res->corruptions++;
                bdrv_message(BDRV_MSG_CHECK,
                             "ERROR offset=%" PRIx64 ": Allocated cluster "
                             "has corrupted subcluster allocation bitmap",
                             offset);
            }
            if (offset_into_cluster(s, offset)) {
                bool has_data = has_subclusters(s) ?
                                (bitmap & QCOW_L2_BITMAP_ALL_ALLOC) :
                                !(entry & QCOW_OFLAG_ZERO);
                res->corruptions++;
                if (has_data) {
                    bdrv_message(BDRV_MSG_CHECK,
                                 "ERROR offset=%" PRIx64 ": Data cluster is "
                                 "not properly aligned; L2 entry corrupted.",
                                 offset);
                } else {
                    bool overlap = false;
                    bdrv_message(BDRV_MSG_CHECK,
                                 "%s offset=%" PRIx64 ": Preallocated "
                                 "cluster is not properly aligned; L2 entry "
                                 "corrupted.",
                                 c->fix & BDRV_FIX_ERRORS ? "Repairing"
                                                          : "ERROR",
                                 offset);
                    if (c->fix & BDRV_FIX_ERRORS) {
                        ret = zero_l2_entry(c, l2_offset, l2, i, active,
                                            &overlap);
                        if (overlap) {
                            return ret;     /* give up on this table */
                        }
                        if (ret == 0) {
                            continue;       /* nothing left to count */
                        }
                    }
                }
            }
            if (flags & CHECK_FRAG_INFO) {
                res->allocated_clusters++;
                if (next_contiguous && offset != next_contiguous) {
                    res->fragmented_clusters++;
                }
                next_contiguous = offset + s->cluster_size;
            }
            if (!has_data_file(s)) {
                ret = count_range(c, offset, s->cluster_size);
                if (ret < 0) {
                    return ret;
                }
            }
            break;
        case QCOW2_CLUSTER_ZERO_PLAIN:
            break;
        case QCOW2_CLUSTER_UNALLOCATED:
            if (bitmap & QCOW_L2_BITMAP_ALL_ALLOC) {
                res->corruptions++;
                bdrv_message(BDRV_MSG_CHECK,
                             "ERROR: Unallocated cluster has non-zero "
                             "subcluster allocation map");
            }
            break;
        }
    }
    return 0;
}

/* An L1 table, its L2 tables and everything they reference. */
static int coroutine_fn count_l1(CheckState *c, uint64_t l1_offset,
                                 uint32_t l1_size, int flags, bool active)
{
    BlockDriverState *bs = c->bs;
    BDRVQcow2State *s = bs->opaque;
    size_t bytes = (size_t)l1_size * L1E_SIZE;
    g_autofree uint64_t *l1 = NULL;
    uint32_t i;
    int ret;

    if (!l1_size) {
        return 0;
    }
    ret = count_range(c, l1_offset, bytes);
    if (ret < 0) {
        return ret;
    }
    l1 = g_try_malloc(bytes);
    if (!l1) {
        c->res->check_errors++;
        return -ENOMEM;
    }
    ret = bdrv_co_pread(bs->file, l1_offset, bytes, l1, 0);
    if (ret < 0) {
        bdrv_message(BDRV_MSG_CHECK, "ERROR: I/O error in check_refcounts_l1");
        c->res->check_errors++;
        return ret;
    }
    for (i = 0; i < l1_size; i++) {
        uint64_t entry = be64toh(l1[i]);
        uint64_t l2_offset = entry & L1E_OFFSET_MASK;

        if (!entry) {
            continue;
        }
        if (entry & L1E_RESERVED_MASK) {
            bdrv_message(BDRV_MSG_CHECK,
                         "ERROR found L1 entry with reserved bits set: "
                         "%" PRIx64,
                         entry);
            c->res->corruptions++;
        }
        ret = count_range(c, l2_offset, s->cluster_size);
        if (ret < 0) {
            return ret;
        }
        if (offset_into_cluster(s, l2_offset)) {
            bdrv_message(BDRV_MSG_CHECK,
                         "ERROR l2_offset=%" PRIx64 ": Table is not "
                         "cluster aligned; L1 entry corrupted",
                         l2_offset);
            c->res->corruptions++;
        }
        ret = count_l2(c, l2_offset, flags, active);
        if (ret < 0) {
            return ret;
        }
    }
    return 0;
}

/* The bitmap directory, each bitmap's table and its data clusters. */
static int coroutine_fn count_bitmaps(CheckState *c)
{
    BlockDriverState *bs = c->bs;
    BDRVQcow2State *s = bs->opaque;
    int i, ret;

    if (!s->has_bitmaps || !s->nb_bitmaps) {
        return 0;
    }
    ret = count_range(c, s->bitmap_directory_offset, s->bitmap_directory_size);
    if (ret < 0) {
        return ret;
    }
    for (i = 0; i < s->nb_bitmaps; i++) {
        Qcow2Bitmap *bm = &s->bitmaps[i];
        size_t bytes = (size_t)bm->table_size * 8;
        g_autofree uint64_t *table = NULL;
        uint32_t j;

        ret = count_range(c, bm->table_offset, bytes);
        if (ret < 0) {
            return ret;
        }
        table = g_try_malloc(MAX(bytes, 1));
        if (!table) {
            c->res->check_errors++;
            return -ENOMEM;
        }
        /* as 7.2: a table that cannot be used ends the check */
        ret = bdrv_co_pread(bs->file, bm->table_offset, bytes, table, 0);
        if (ret < 0) {
            c->res->corruptions++;
            return ret;
        }
        for (j = 0; j < bm->table_size; j++) {
            uint64_t entry = be64toh(table[j]);
            uint64_t offset = entry & BME_TABLE_ENTRY_OFFSET_MASK;

            if (!qcow2_bitmap_table_entry_ok(s, entry)) {
                c->res->corruptions++;
                return -EINVAL;
            }
            if (offset) {
                ret = count_range(c, offset, s->cluster_size);
                if (ret < 0) {
                    return ret;
                }
            }
        }
    }
    return 0;
}

/* The refcount blocks themselves: each referenced once, from the table. */
static int coroutine_fn count_refblocks(CheckState *c)
{
    BDRVQcow2State *s = c->bs->opaque;
    uint32_t i;
    int ret;

    for (i = 0; i < s->refcount_table_size; i++) {
        uint64_t offset = s->refcount_table[i] & REFT_OFFSET_MASK;
        uint64_t cluster = offset >> s->cluster_bits;

        if (s->refcount_table[i] & REFT_RESERVED_MASK) {
            bdrv_message(BDRV_MSG_CHECK,
                         "ERROR refcount table entry %" PRIu32 " has "
                         "reserved bits set",
                         i);
            c->res->corruptions++;
            c->rebuild = true;
            continue;
        }
        if (offset_into_cluster(s, offset)) {
            bdrv_message(BDRV_MSG_CHECK,
                         "ERROR refcount block %" PRIu32 " is not cluster "
                         "aligned; refcount table entry corrupted",
                         i);
            c->res->corruptions++;
            c->rebuild = true;
            continue;
        }
        if ((int64_t)cluster >= size_to_clusters(s, c->file_len)) {
            /*
             * 7.2's -r all grows the file to hold it, which leaves a
             * refcount structure to rebuild; we stop at that point.
             */
            c->res->corruptions++;
            bdrv_message(BDRV_MSG_CHECK,
                         "ERROR refcount block %" PRIu32 " is outside "
                         "image",
                         i);
            if (c->fix & BDRV_FIX_ERRORS) {
                c->rebuild = true;
            }
            continue;
        }
        if (offset) {
            ret = count_range(c, offset, s->cluster_size);
            if (ret < 0) {
                return ret;
            }
            if (c->refs[cluster] != 1) {
                bdrv_message(BDRV_MSG_CHECK,
                             "ERROR refcount block %" PRIu32
                             " refcount=%" PRIu64,
                             i, c->refs[cluster]);
                c->res->corruptions++;
                c->rebuild = true;
            }
        }
    }
    return 0;
}

static int coroutine_fn count_references(CheckState *c)
{
    BlockDriverState *bs = c->bs;
    BDRVQcow2State *s = bs->opaque;
    int i, ret;

    ret = count_range(c, 0, s->cluster_size);               /* header */
    if (ret == 0) {
        ret = count_l1(c, s->l1_table_offset, s->l1_size, CHECK_FRAG_INFO,
                       true);
    }
    for (i = 0; ret == 0 && i < s->nb_snapshots; i++) {
        Qcow2Snapshot *sn = &s->snapshots[i];

        if (offset_into_cluster(s, sn->l1_table_offset)) {
            bdrv_message(
                BDRV_MSG_CHECK,
                "ERROR snapshot %s (%s) l1_offset=%#" PRIx64 ": "
                "L1 table is not cluster aligned; snapshot table entry "
                "corrupted",
                sn->id_str, sn->name, sn->l1_table_offset);
            c->res->corruptions++;
            continue;
        }
        if (sn->l1_size > QCOW_MAX_L1_SIZE / L1E_SIZE) {
            bdrv_message(
                BDRV_MSG_CHECK,
                "ERROR snapshot %s (%s) l1_size=%#" PRIx32 ": "
                "L1 table is too large; snapshot table entry corrupted",
                sn->id_str, sn->name, sn->l1_size);
            c->res->corruptions++;
            continue;
        }
        ret = count_l1(c, sn->l1_table_offset, sn->l1_size, 0, false);
    }
    if (ret == 0) {
        ret = count_range(c, s->snapshots_offset, s->snapshots_size);
    }
    if (ret == 0) {
        ret = count_range(c, s->refcount_table_offset,
                          (int64_t)s->refcount_table_size *
                          REFTABLE_ENTRY_SIZE);
    }
    if (ret == 0) {
        ret = count_bitmaps(c);
    }
    if (ret == 0) {
        ret = count_refblocks(c);
    }
    return ret;
}

/*
 * The refcounts on disk against the references counted; with @fix,
 * leaks (refcount too high) and errors (too low but not 0) are set right.
 */
static void coroutine_fn compare_refcounts(CheckState *c, int fix,
                                           int64_t *highest)
{
    BlockDriverState *bs = c->bs;
    BdrvCheckResult *res = c->res;
    int64_t i;

    *highest = 0;
    for (i = 0; i < c->nb_clusters; i++) {
        uint64_t on_disk, counted = c->refs[i];
        int64_t *fixed = NULL;
        int ret = qcow2_get_refcount(bs, i, &on_disk);

        if (ret < 0) {
            bdrv_message(BDRV_MSG_CHECK,
                         "Can't get refcount for cluster %" PRId64 ": %s", i,
                         strerror(-ret));
            res->check_errors++;
            continue;
        }
        if (on_disk || counted) {
            *highest = i;
        }
        if (on_disk == counted) {
            continue;
        }
        if (on_disk == 0) {
            c->rebuild = true;
        } else if (on_disk > counted && (fix & BDRV_FIX_LEAKS)) {
            fixed = &res->leaks_fixed;
        } else if (on_disk < counted && (fix & BDRV_FIX_ERRORS)) {
            fixed = &res->corruptions_fixed;
        }
        bdrv_message(BDRV_MSG_CHECK,
                     "%s cluster %" PRId64 " refcount=%" PRIu64
                     " reference=%" PRIu64,
                     fixed               ? "Repairing"
                     : on_disk < counted ? "ERROR"
                                         : "Leaked",
                     i, on_disk, counted);
        if (fixed) {
            bool decrease = on_disk > counted;
            ret = qcow2_update_cluster_refcount(bs, i, decrease ?
                                                on_disk - counted :
                                                counted - on_disk, decrease,
                                                QCOW2_DISCARD_ALWAYS);
            if (ret >= 0) {
                (*fixed)++;
                continue;
            }
        }
        if (on_disk < counted) {
            res->corruptions++;
        } else {
            res->leaks++;
        }
    }
}

/* The COPIED flags of the active tables against the refcounts. */
static int coroutine_fn check_copied_flags(CheckState *c)
{
    BlockDriverState *bs = c->bs;
    BDRVQcow2State *s = bs->opaque;
    BdrvCheckResult *res = c->res;
    size_t bytes = s->l2_size * s->l2_entry_size;
    g_autofree uint64_t *l2 = g_malloc(bytes);
    bool repair;
    uint32_t i;
    int ret;

    if (c->fix & BDRV_FIX_ERRORS) {
        repair = true;
    } else if (c->fix & BDRV_FIX_LEAKS) {
        /* only when the refcounts are now known to be right */
        repair = !res->check_errors && !res->corruptions && !res->leaks;
    } else {
        repair = false;
    }
    for (i = 0; i < s->l1_size; i++) {
        uint64_t l1_entry = s->l1_table[i];
        uint64_t l2_offset = l1_entry & L1E_OFFSET_MASK;
        uint64_t refcount;
        int dirty = 0;
        int64_t j;

        if (!l2_offset) {
            continue;
        }
        if (qcow2_get_refcount(bs, l2_offset >> s->cluster_bits,
                               &refcount) < 0) {
            continue;       /* reported by compare_refcounts() */
        }
        if ((refcount == 1) != !!(l1_entry & QCOW_OFLAG_COPIED)) {
            res->corruptions++;
            bdrv_message(BDRV_MSG_CHECK,
                         "%s OFLAG_COPIED L2 cluster: l1_index=%" PRIu32
                         " l1_entry=%" PRIx64 " refcount=%" PRIu64,
                         repair ? "Repairing" : "ERROR", i, l1_entry, refcount);
            if (repair) {
                s->l1_table[i] = refcount == 1 ?
                                 l1_entry | QCOW_OFLAG_COPIED :
                                 l1_entry & ~QCOW_OFLAG_COPIED;
                ret = qcow2_write_l1_entry(bs, i);
                if (ret < 0) {
                    res->check_errors++;
                    return ret;
                }
                res->corruptions--;
                res->corruptions_fixed++;
            }
        }
        ret = bdrv_co_pread(bs->file, l2_offset, bytes, l2, 0);
        if (ret < 0) {
            bdrv_message(BDRV_MSG_CHECK, "ERROR: Could not read L2 table: %s",
                         strerror(-ret));
            res->check_errors++;
            return ret;
        }
        for (j = 0; j < s->l2_size; j++) {
            uint64_t entry = get_l2_entry(s, l2, j);
            QCow2ClusterType kind = qcow2_cluster_type(s, entry);

            if (kind != QCOW2_CLUSTER_NORMAL &&
                kind != QCOW2_CLUSTER_ZERO_ALLOC) {
                continue;
            }
            if (has_data_file(s)) {
                refcount = 1;
            } else if (qcow2_get_refcount(bs, (entry & L2E_OFFSET_MASK) >>
                                          s->cluster_bits, &refcount) < 0) {
                continue;
            }
            if ((refcount == 1) != !!(entry & QCOW_OFLAG_COPIED)) {
                res->corruptions++;
                bdrv_message(BDRV_MSG_CHECK,
                             "%s OFLAG_COPIED data cluster: l2_entry=%" PRIx64
                             " refcount=%" PRIu64,
                             repair ? "Repairing" : "ERROR", entry, refcount);
                if (repair) {
                    set_l2_entry(s, l2, j, refcount == 1 ?
                                 entry | QCOW_OFLAG_COPIED :
                                 entry & ~QCOW_OFLAG_COPIED);
                    dirty++;
                }
            }
        }
        if (dirty) {
            ret = qcow2_pre_write_overlap_check(bs, QCOW2_OL_ACTIVE_L2,
                                                l2_offset, s->cluster_size);
            if (ret < 0) {
                bdrv_message(BDRV_MSG_CHECK,
                             "ERROR: Could not write L2 table; metadata "
                             "overlap check failed: %s",
                             strerror(-ret));
                res->check_errors++;
                return ret;
            }
            ret = bdrv_co_pwrite(bs->file, l2_offset, s->cluster_size, l2, 0);
            if (ret < 0) {
                bdrv_message(BDRV_MSG_CHECK,
                             "ERROR: Could not write L2 table: %s",
                             strerror(-ret));
                res->check_errors++;
                return ret;
            }
            qcow2_cache_discard(s->l2_cache, l2_offset);
            res->corruptions -= dirty;
            res->corruptions_fixed += dirty;
        }
    }
    return 0;
}

/*
 * @n free clusters in a row in the counts, from *@first_free on (past the
 * end if need be), counted as used; 7.2's alloc_clusters_imrt.  Returns
 * the offset or -ENOMEM.
 */
static int64_t alloc_counted(CheckState *c, int64_t n, int64_t *first_free)
{
    BDRVQcow2State *s = c->bs->opaque;
    int64_t cluster = *first_free, run = 0, i;
    bool first_gap = true;

    for (; cluster < c->nb_clusters && run < n; cluster++) {
        if (c->refs[cluster]) {
            run = 0;
            continue;
        }
        run++;
        if (first_gap) {
            *first_free = cluster;
            first_gap = false;
        }
    }
    if (run < n && !grow_refs(c, cluster + n - run)) {
        return -ENOMEM;
    }
    cluster -= run;
    for (i = 0; i < n; i++) {
        c->refs[cluster + i] = 1;
    }
    return cluster << s->cluster_bits;
}

/* Refcount block @index built from the counts, written at @offset. */
static int coroutine_fn write_refblock(CheckState *c, int64_t index,
                                       int64_t offset)
{
    BDRVQcow2State *s = c->bs->opaque;
    g_autofree void *block = g_malloc0(s->cluster_size);
    int64_t first = index << s->refcount_block_bits, i;
    /* the old structure is being replaced: its places may be reused */
    int ret = qcow2_pre_write_overlap_check(c->bs, QCOW2_OL_REFCOUNT_TABLE |
                                            QCOW2_OL_REFCOUNT_BLOCK,
                                            offset, s->cluster_size);

    for (i = 0; i < s->refcount_block_size && first + i < c->nb_clusters;
         i++) {
        qcow2_rc_set(block, s->refcount_order, i, c->refs[first + i]);
    }
    if (ret == 0) {
        ret = bdrv_co_pwrite(c->bs->file, offset, s->cluster_size, block, 0);
    }
    if (ret < 0) {
        bdrv_message(BDRV_MSG_CHECK, "ERROR writing refblock: %s",
                     strerror(-ret));
    }
    return ret;
}

/*
 * Write the refcount blocks covering the used clusters of [@first,
 * @end), allocating those not yet in *@table (grown as needed, whole
 * clusters of entries).  Returns 1 if *@table grew, 0 if not, -errno.
 */
static int coroutine_fn write_refblocks(CheckState *c, int64_t first,
                                        int64_t end, uint64_t **table,
                                        uint32_t *entries)
{
    BDRVQcow2State *s = c->bs->opaque;
    int64_t cluster, first_free = 0;
    bool grown = false;
    int ret;

    for (cluster = first; cluster < end; cluster++) {
        int64_t index = cluster >> s->refcount_block_bits;
        int64_t start = index << s->refcount_block_bits;
        int64_t offset;

        if (!c->refs[cluster]) {
            continue;
        }
        if (index < *entries && (*table)[index]) {
            offset = (*table)[index];
        } else {
            /* not in a block already written */
            first_free = MAX(first_free, start);
            offset = alloc_counted(c, 1, &first_free);
            if (offset < 0) {
                bdrv_message(BDRV_MSG_CHECK, "ERROR allocating refblock: %s",
                             strerror(-offset));
                return offset;
            }
            /* the block that counts this one must be written too */
            end = MAX(end, (offset >> s->cluster_bits) + 1);
            if (index >= *entries) {
                uint32_t n = ROUND_UP((index + 1) * REFTABLE_ENTRY_SIZE,
                                      s->cluster_size) / REFTABLE_ENTRY_SIZE;
                *table = g_renew(uint64_t, *table, n);
                memset(*table + *entries, 0,
                       (n - *entries) * REFTABLE_ENTRY_SIZE);
                *entries = n;
                grown = true;
            }
            (*table)[index] = offset;
        }
        ret = write_refblock(c, index, offset);
        if (ret < 0) {
            return ret;
        }
        cluster = start + s->refcount_block_size - 1;
    }
    return grown;
}

/*
 * A new refcount structure from the counts (7.2's algorithm and layout):
 * the blocks first, then a table in free clusters (which the blocks
 * covering it then count, and which may need a larger table: repeat
 * until it stops growing), then the header points at the table.
 */
static int coroutine_fn rebuild_refcounts(CheckState *c)
{
    BDRVQcow2State *s = c->bs->opaque;
    g_autofree uint64_t *table = NULL;
    uint32_t entries = 0, i;
    int64_t offset = -1, clusters, first_free;
    int ret;

    qcow2_cache_empty(s->refcount_block_cache);
    ret = write_refblocks(c, 0, c->nb_clusters, &table, &entries);
    while (ret > 0) {
        clusters = size_to_clusters(s, (int64_t)entries * REFTABLE_ENTRY_SIZE);
        first_free = 0;
        offset = alloc_counted(c, clusters, &first_free);
        if (offset < 0) {
            bdrv_message(BDRV_MSG_CHECK, "ERROR allocating reftable: %s",
                         strerror(-offset));
            return offset;
        }
        ret = write_refblocks(c, offset >> s->cluster_bits,
                              (offset >> s->cluster_bits) + clusters, &table,
                              &entries);
    }
    if (ret < 0) {
        return ret;
    }
    for (i = 0; i < entries; i++) {
        table[i] = htobe64(table[i]);
    }
    ret = qcow2_pre_write_overlap_check(c->bs, QCOW2_OL_REFCOUNT_TABLE |
                                        QCOW2_OL_REFCOUNT_BLOCK, offset,
                                        (int64_t)entries * REFTABLE_ENTRY_SIZE);
    if (ret == 0) {
        ret = bdrv_co_pwrite(c->bs->file, offset,
                             (int64_t)entries * REFTABLE_ENTRY_SIZE, table, 0);
    }
    if (ret == 0) {
        ret = bdrv_co_flush(c->bs->file->bs);
    }
    if (ret < 0) {
        bdrv_message(BDRV_MSG_CHECK, "ERROR writing reftable: %s",
                     strerror(-ret));
        return ret;
    }
    for (i = 0; i < entries; i++) {
        table[i] = be64toh(table[i]);
    }
    ret = qcow2_switch_refcount_table(c->bs, table, entries, offset);
    if (ret < 0) {
        bdrv_message(BDRV_MSG_CHECK, "ERROR setting reftable: %s",
                     strerror(-ret));
        return ret;
    }
    table = NULL;               /* the image's now */
    qcow2_refcount_table_replaced(s);
    return 0;
}

/*
 * After -r all found the refcount structure broken: rebuild it, count
 * again (the new structure in, the old one leaked) and repair the leaks,
 * reporting as 7.2 does.
 */
static int coroutine_fn rebuild_and_recount(CheckState *c, int64_t *highest)
{
    BdrvCheckResult *res = c->res, old = *res, saved;
    int64_t fresh_leaks = 0, len;
    int ret;

    bdrv_message(BDRV_MSG_CHECK, "Rebuilding refcount structure");
    ret = rebuild_refcounts(c);
    if (ret < 0) {
        res->check_errors++;
        return ret;
    }
    res->corruptions = 0;
    res->leaks = 0;
    c->rebuild = false;
    len = bdrv_co_getlength(c->bs->file->bs);
    if (len < 0) {
        res->check_errors++;
        return len;
    }
    c->file_len = len;
    memset(c->refs, 0, c->nb_clusters * sizeof(*c->refs));
    if (!grow_refs(c, size_to_clusters(c->bs->opaque, len))) {
        res->check_errors++;
        return -ENOMEM;
    }
    /* the allocation statistics were taken on the first pass */
    saved = *res;
    ret = count_references(c);
    res->allocated_clusters = saved.allocated_clusters;
    res->fragmented_clusters = saved.fragmented_clusters;
    res->compressed_clusters = saved.compressed_clusters;
    if (ret < 0) {
        return ret;
    }
    if (c->fix & BDRV_FIX_LEAKS) {
        /* the leaks fixed here are the old structure: not reported */
        saved = *res;
        *res = (BdrvCheckResult){ 0 };
        compare_refcounts(c, BDRV_FIX_LEAKS, highest);
        if (c->rebuild) {
            bdrv_message(BDRV_MSG_CHECK,
                         "ERROR rebuilt refcount structure is still "
                         "broken");
        }
        fresh_leaks = res->leaks;
        *res = saved;
    }
    if (res->corruptions < old.corruptions) {
        res->corruptions_fixed += old.corruptions - res->corruptions;
    }
    if (res->leaks < old.leaks) {
        res->leaks_fixed += old.leaks - res->leaks;
    }
    res->leaks += fresh_leaks;
    return 0;
}

static int coroutine_fn check_refcounts(CheckState *c)
{
    BlockDriverState *bs = c->bs;
    BDRVQcow2State *s = bs->opaque;
    BdrvCheckResult *res = c->res, before;
    int64_t highest;
    int ret;

    c->file_len = bdrv_co_getlength(bs->file->bs);
    if (c->file_len < 0) {
        res->check_errors++;
        return c->file_len;
    }
    if (size_to_clusters(s, c->file_len) > INT_MAX) {
        res->check_errors++;
        return -EFBIG;
    }
    if (!grow_refs(c, size_to_clusters(s, c->file_len))) {
        res->check_errors++;
        return -ENOMEM;
    }
    res->total_clusters = size_to_clusters(s, s->virtual_size);
    ret = count_references(c);
    if (ret < 0) {
        return ret;
    }
    /* compared once to learn what is wrong, again to repair it */
    before = *res;
    compare_refcounts(c, 0, &highest);
    if (c->rebuild && (c->fix & BDRV_FIX_ERRORS)) {
        ret = rebuild_and_recount(c, &highest);
        if (ret < 0) {
            return ret;
        }
    } else if (c->fix) {
        if (c->rebuild) {
            bdrv_message(BDRV_MSG_CHECK,
                         "ERROR need to rebuild refcount structures");
            res->check_errors++;
            return -EIO;
        }
        if (res->leaks || res->corruptions) {
            *res = before;
            compare_refcounts(c, c->fix, &highest);
        }
    }
    ret = check_copied_flags(c);
    if (ret < 0) {
        return ret;
    }
    res->image_end_offset = (highest + 1) * s->cluster_size;
    return 0;
}

/* Add what @src found and fixed to @out (the counters, not the sizes). */
static void add_check_result(BdrvCheckResult *out, const BdrvCheckResult *src)
{
    out->corruptions += src->corruptions;
    out->leaks += src->leaks;
    out->check_errors += src->check_errors;
    out->corruptions_fixed += src->corruptions_fixed;
    out->leaks_fixed += src->leaks_fixed;
}

int coroutine_fn qcow2_co_check(BlockDriverState *bs, BdrvCheckResult *res,
                                int fix)
{
    BDRVQcow2State *s = bs->opaque;
    CheckState c = { .bs = bs, .res = res, .fix = fix };
    BdrvCheckResult sn_res = { 0 };
    int ret;

    memset(res, 0, sizeof(*res));
    qemu_co_mutex_lock(&s->lock);
    /* as 7.2: the snapshot table first, its repair after the refcounts' */
    ret = qcow2_check_read_snapshot_table(bs, &sn_res, fix);
    if (ret < 0) {
        add_check_result(res, &sn_res);
        goto out;
    }
    if (!qcow2_refcounts_load(bs)) {
        res->check_errors++;
        add_check_result(res, &sn_res);
        ret = -EIO;
        goto out;
    }
    ret = check_refcounts(&c);
    if (ret < 0) {
        add_check_result(res, &sn_res);
        goto out;
    }
    ret = qcow2_check_fix_snapshot_table(bs, &sn_res, fix);
    add_check_result(res, &sn_res);
    if (ret == 0 && fix && !res->check_errors && !res->corruptions) {
        ret = qcow2_write_caches(bs);
        if (ret == 0) {
            ret = qcow2_mark_clean(bs);
        }
        if (ret == 0) {
            ret = qcow2_mark_consistent(bs);
        }
    }
out:
    qemu_co_mutex_unlock(&s->lock);
    g_free(c.refs);
    return ret;
}
