/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2 cluster mapping: guest offset -> L1 entry -> L2 table (through the
 * cache) -> L2 entry (and, with extended L2, the subcluster bitmap) ->
 * the subcluster's type and host offset.  Every offset read from the image
 * is checked before use; a bad one is reported as corruption (-EIO).
 */
#include "util/osdep.h"
#include "qcow2.h"

static inline bool has_subclusters(BDRVQcow2State *s)
{
    return s->incompatible_features & QCOW2_INCOMPAT_EXTL2;
}

static inline uint64_t get_l2_entry(BDRVQcow2State *s, uint64_t *l2_table,
                                    int idx)
{
    return be64toh(l2_table[idx * (s->l2_entry_size / 8)]);
}

static inline uint64_t get_l2_bitmap(BDRVQcow2State *s, uint64_t *l2_table,
                                     int idx)
{
    return has_subclusters(s) ? be64toh(l2_table[idx * 2 + 1]) : 0;
}

typedef enum {
    QCOW2_CLUSTER_UNALLOCATED,
    QCOW2_CLUSTER_ZERO_PLAIN,
    QCOW2_CLUSTER_ZERO_ALLOC,
    QCOW2_CLUSTER_NORMAL,
    QCOW2_CLUSTER_COMPRESSED,
} QCow2ClusterType;

static QCow2ClusterType cluster_type(BDRVQcow2State *s, uint64_t l2_entry)
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
    QCow2ClusterType type = cluster_type(s, l2_entry);
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
        /* no subclusters: the bitmap must be empty */
        return l2_bitmap ? QCOW2_SUBCLUSTER_INVALID :
                           QCOW2_SUBCLUSTER_COMPRESSED;
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
        return qcow2_signal_corruption(bs, "L2 table offset %#" PRIx64
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

    switch (*type) {
    case QCOW2_SUBCLUSTER_INVALID:
        ret = qcow2_signal_corruption(bs, "Invalid cluster entry found "
                                      " (L2 offset: %#" PRIx64 ", L2 index: "
                                      "%#x)", l2_offset, l2_index);
        goto fail;
    case QCOW2_SUBCLUSTER_COMPRESSED:
        if (has_data_file(s)) {
            ret = qcow2_signal_corruption(bs, "Compressed cluster entry found "
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
            ret = qcow2_signal_corruption(bs, "Cluster allocation offset %#"
                                          PRIx64 " unaligned (L2 offset: %#"
                                          PRIx64 ", L2 index: %#x)",
                                          host_cluster, l2_offset, l2_index);
            goto fail;
        }
        if (has_data_file(s) && s->data_file_raw &&
            host_cluster != offset - offset_into_cluster(s, offset)) {
            ret = qcow2_signal_corruption(bs, "External data file host "
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
