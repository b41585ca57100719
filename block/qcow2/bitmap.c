/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2 persistent dirty bitmaps: listing and reading them (a source of
 * convert --bitmaps) and storing new ones (its target).
 *
 * The bitmap directory was read at open (qcow2.c) without judging it;
 * every field is checked here, with QEMU's limits, before it is used:
 * a directory entry or a table entry (of a consistent bitmap) that
 * breaks them fails the listing, so convert refuses before it creates
 * anything; reads check the entries they use again.  Stored bitmaps are written whole
 * (data clusters, then each table, then the directory), flushed, and
 * only then made visible by the header extension and the autoclear
 * bit; a crash before that leaves leaked clusters and no bitmap.
 *
 * Read-write opens drop the bitmaps an image already has (qcow2.c:
 * the autoclear bit goes, as a program without bitmap support must
 * do), so storing never meets an existing directory.
 */
#include "util/osdep.h"
#include "qcow2.h"
#include "util/bswap.h"
#include "util/cutils.h"

#define BME_ENTRY_HEADER 24

/* Bytes of bitmap data for a disk of @len bytes. */
static uint64_t bitmap_data_bytes(uint64_t len, int granularity_bits)
{
    uint64_t bits = DIV_ROUND_UP(len, 1ULL << granularity_bits);
    return DIV_ROUND_UP(bits, 8);
}

static bool entry_is_sane(BDRVQcow2State *s, const Qcow2Bitmap *b)
{
    uint64_t phys = (uint64_t)b->table_size * s->cluster_size;

    if (b->table_size == 0 || b->table_offset == 0 ||
        offset_into_cluster(s, b->table_offset) ||
        b->table_size > BME_MAX_TABLE_SIZE ||
        b->granularity_bits < BME_MIN_GRANULARITY_BITS ||
        b->granularity_bits > BME_MAX_GRANULARITY_BITS ||
        (b->flags & BME_RESERVED_FLAGS) ||
        b->name_size > BME_MAX_NAME_SIZE || b->name_size == 0 ||
        b->type != BME_TYPE_DIRTY_TRACKING || phys > BME_MAX_PHYS_SIZE) {
        return false;
    }
    /* a consistent bitmap's table covers the whole disk */
    return (b->flags & BME_FLAG_IN_USE) ||
           s->virtual_size <= (phys * 8) << b->granularity_bits;
}

/* A table entry QEMU's rules allow (1 alone means all ones). */
static bool table_entry_ok(BDRVQcow2State *s, uint64_t entry)
{
    uint64_t data = entry & BME_TABLE_ENTRY_OFFSET_MASK;

    return !(entry & BME_TABLE_ENTRY_RESERVED_MASK) &&
           !(data && ((entry & BME_TABLE_ENTRY_ALL_ONES) ||
                      offset_into_cluster(s, data)));
}

/* Check every entry of consistent bitmap @b's table, a cluster at a time. */
static int coroutine_fn check_table(BlockDriverState *bs,
                                    const Qcow2Bitmap *b, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t per = s->cluster_size / 8, i, j;
    g_autofree uint64_t *t = g_malloc(s->cluster_size);
    int ret;

    for (i = 0; i < b->table_size; i += per) {
        uint64_t n = MIN(per, b->table_size - i);

        ret = bdrv_co_pread(bs->file, b->table_offset + i * 8, n * 8, t, 0);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Could not read the table of "
                             "bitmap '%s' at offset %" PRIu64, b->name,
                             b->table_offset + i * 8);
            return ret;
        }
        for (j = 0; j < n; j++) {
            if (!table_entry_ok(s, be64toh(t[j]))) {
                error_setg(errp, "Bitmap '%s': invalid table entry 0x%016"
                           PRIx64 " at offset %" PRIu64, b->name,
                           be64toh(t[j]), b->table_offset + (i + j) * 8);
                return -EINVAL;
            }
        }
    }
    return 0;
}

int coroutine_fn qcow2_co_bitmap_list(BlockDriverState *bs,
                                      BdrvBitmap **list, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    BdrvBitmap *l;
    int i, j;

    if (s->version < 3) {
        return -ENOTSUP;
    }
    if (!s->has_bitmaps) {
        return 0;
    }
    for (i = 0; i < s->nb_bitmaps; i++) {
        const Qcow2Bitmap *b = &s->bitmaps[i];

        if (b->extra_data_size) {
            error_setg(errp, "Bitmap extra data is not supported");
            return -ENOTSUP;
        }
        if (!entry_is_sane(s, b)) {
            error_setg(errp, "Bitmap '%s' doesn't satisfy the constraints",
                       b->name);
            return -EINVAL;
        }
        if (!(b->flags & BME_FLAG_IN_USE) &&
            b->table_size != DIV_ROUND_UP(bitmap_data_bytes(
                    s->virtual_size, b->granularity_bits), s->cluster_size)) {
            error_setg(errp, "Could not read bitmap '%s' from image: bitmap "
                       "table has %" PRIu32 " entries, the disk needs %"
                       PRIu64, b->name, b->table_size,
                       DIV_ROUND_UP(bitmap_data_bytes(s->virtual_size,
                                                      b->granularity_bits),
                                    s->cluster_size));
            return -EINVAL;
        }
        for (j = 0; j < i; j++) {
            if (!strcmp(s->bitmaps[j].name, b->name)) {
                error_setg(errp, "Bitmap already exists: %s", b->name);
                return -EINVAL;
            }
        }
        if (!(b->flags & BME_FLAG_IN_USE)) {
            int ret = check_table(bs, b, errp);
            if (ret < 0) {
                return ret;
            }
        }
    }
    l = g_new0(BdrvBitmap, s->nb_bitmaps);
    for (i = 0; i < s->nb_bitmaps; i++) {
        l[i].name = g_strdup(s->bitmaps[i].name);
        l[i].granularity = 1ULL << s->bitmaps[i].granularity_bits;
        l[i].enabled = s->bitmaps[i].flags & BME_FLAG_AUTO;
        l[i].inconsistent = s->bitmaps[i].flags & BME_FLAG_IN_USE;
        l[i].index = i;
    }
    *list = l;
    return s->nb_bitmaps;
}

int coroutine_fn qcow2_co_bitmap_read(BlockDriverState *bs, int index,
                                      uint64_t offset, uint64_t bytes,
                                      uint8_t *buf, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    const Qcow2Bitmap *b;
    uint64_t end = offset + bytes;
    int ret;

    if (index < 0 || index >= s->nb_bitmaps || !s->has_bitmaps ||
        (s->bitmaps[index].flags & BME_FLAG_IN_USE)) {
        error_setg(errp, "No consistent bitmap number %d", index);
        return -EINVAL;
    }
    b = &s->bitmaps[index];
    if (end < offset ||
        end > (uint64_t)b->table_size * s->cluster_size) {
        error_setg(errp, "Bitmap '%s': bytes %" PRIu64 "..%" PRIu64
                   " are beyond its data", b->name, offset, end);
        return -EINVAL;
    }
    while (offset < end) {
        uint64_t idx = offset >> s->cluster_bits;
        uint64_t within = offset_into_cluster(s, offset);
        uint64_t n = MIN(s->cluster_size - within, end - offset);
        uint64_t entry, data;

        ret = bdrv_co_pread(bs->file, b->table_offset + idx * 8, 8, &entry,
                            0);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Could not read the bitmap's "
                             "table at offset %" PRIu64,
                             b->table_offset + idx * 8);
            return ret;
        }
        entry = be64toh(entry);
        data = entry & BME_TABLE_ENTRY_OFFSET_MASK;
        if (!table_entry_ok(s, entry)) {
            error_setg(errp, "Bitmap '%s': invalid table entry 0x%016"
                       PRIx64 " at offset %" PRIu64, b->name, entry,
                       b->table_offset + idx * 8);
            return -EINVAL;
        }
        if (!data) {
            memset(buf, (entry & BME_TABLE_ENTRY_ALL_ONES) ? 0xff : 0, n);
        } else {
            ret = bdrv_co_pread(bs->file, data + within, n, buf, 0);
            if (ret < 0) {
                error_setg_errno(errp, -ret, "Could not read the bitmap's "
                                 "data at offset %" PRIu64, data + within);
                return ret;
            }
        }
        buf += n;
        offset += n;
    }
    return 0;
}

/* Clusters allocated by one store, freed again if it fails. */
typedef struct Allocs {
    GArray *offsets;            /* int64_t, @sizes alongside */
    GArray *sizes;
} Allocs;

static int64_t coroutine_fn alloc_and_write(BlockDriverState *bs,
                                            Allocs *a, const void *buf,
                                            uint64_t size)
{
    int64_t off = qcow2_alloc_clusters(bs, size);
    int ret;

    if (off < 0) {
        return off;
    }
    g_array_append_val(a->offsets, off);
    g_array_append_val(a->sizes, size);
    ret = qcow2_pre_write_overlap_check(bs, 0, off, size);
    if (ret == 0) {
        ret = bdrv_co_pwrite(bs->file, off, size, buf, 0);
    }
    return ret < 0 ? ret : off;
}

/*
 * Write bitmap @b of @src (@bytes of data) as data clusters and a
 * table; the table's offset in *@table_offset, its entries in
 * *@table_size.
 */
static bool coroutine_fn store_one(BlockDriverState *bs, Allocs *a,
                                   BlockDriverState *src, const BdrvBitmap *b,
                                   uint64_t bits, uint8_t *cluster,
                                   uint64_t *table_offset,
                                   uint32_t *table_size, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t bytes = DIV_ROUND_UP(bits, 8);
    uint64_t n = DIV_ROUND_UP(bytes, s->cluster_size), i;
    uint64_t table_bytes = ROUND_UP(n * 8, s->cluster_size);
    g_autofree uint64_t *table = qemu_memalign(4096, table_bytes);
    int64_t off;

    memset(table, 0, table_bytes);
    for (i = 0; i < n; i++) {
        uint64_t pos = i << s->cluster_bits;
        uint64_t len = MIN((uint64_t)s->cluster_size, bytes - pos);

        memset(cluster + len, 0, s->cluster_size - len);
        if (bdrv_co_bitmap_read(src, b->index, pos, len, cluster, errp) < 0) {
            error_prepend(errp, "Failed to populate bitmap %s: ", b->name);
            return false;
        }
        if (pos + len == bytes && (bits & 7)) {
            /* the tail bits past the disk's end must be zero */
            cluster[len - 1] &= (1U << (bits & 7)) - 1;
        }
        if (buffer_is_zero(cluster, s->cluster_size)) {
            continue;
        }
        off = alloc_and_write(bs, a, cluster, s->cluster_size);
        if (off < 0) {
            error_setg_errno(errp, -off, "Failed to write bitmap '%s'",
                             b->name);
            return false;
        }
        table[i] = htobe64(off);
    }
    off = alloc_and_write(bs, a, table, table_bytes);
    if (off < 0) {
        error_setg_errno(errp, -off, "Failed to write the table of bitmap "
                         "'%s'", b->name);
        return false;
    }
    *table_offset = off;
    *table_size = n;
    return true;
}

bool coroutine_fn qcow2_co_bitmaps_store(BlockDriverState *bs,
                                         BlockDriverState *src,
                                         const BdrvBitmap *list, int n,
                                         Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    Allocs a = { g_array_new(false, false, sizeof(int64_t)),
                 g_array_new(false, false, sizeof(uint64_t)) };
    g_autofree uint8_t *cluster = qemu_memalign(4096, s->cluster_size);
    g_autofree uint8_t *dir = NULL;
    Qcow2Bitmap *stored = g_new0(Qcow2Bitmap, n);
    uint64_t dir_size = 0, pos = 0, dir_bytes;
    int64_t dir_offset;
    bool ok = false;
    int i, ret;

    if (s->version < 3 || s->has_bitmaps || s->unusable) {
        error_setg(errp, s->version < 3 ? "Format driver 'qcow2' does not "
                   "support bitmaps in compat=0.10 images" :
                   s->unusable ? "Image is corrupt" :
                   "Adding bitmaps to an image that has some is not "
                   "supported");
        goto out;
    }
    if (n > QCOW2_MAX_BITMAPS) {
        error_setg(errp, "Failed to create bitmap %s: Maximum number of "
                   "persistent bitmaps is already reached", list[0].name);
        goto out;
    }
    /* QEMU's limits, checked for all before anything is written */
    for (i = n - 1; i >= 0; i--) {
        int gbits = ctz64(list[i].granularity);
        uint64_t bytes = bitmap_data_bytes(s->virtual_size, gbits);
        size_t name_len = strlen(list[i].name);

        if (list[i].granularity != 1ULL << gbits ||
            gbits < BME_MIN_GRANULARITY_BITS ||
            gbits > BME_MAX_GRANULARITY_BITS) {
            error_setg(errp, "Failed to create bitmap %s: Granularity %"
                       PRIu64 " is not a power of two in [512, 2 GiB]",
                       list[i].name, list[i].granularity);
            goto out;
        }
        if (bytes > BME_MAX_PHYS_SIZE ||
            DIV_ROUND_UP(bytes, s->cluster_size) > BME_MAX_TABLE_SIZE) {
            error_setg(errp, "Failed to create bitmap %s: Too much space "
                       "will be occupied by the bitmap. Use larger "
                       "granularity", list[i].name);
            goto out;
        }
        if (name_len == 0 || name_len > BME_MAX_NAME_SIZE) {
            error_setg(errp, "Failed to create bitmap %s: Name length "
                       "exceeds maximum (%u characters)", list[i].name,
                       BME_MAX_NAME_SIZE);
            goto out;
        }
        dir_size += ROUND_UP(BME_ENTRY_HEADER + name_len, 8);
        if (dir_size > QCOW2_MAX_BITMAP_DIRECTORY_SIZE) {
            error_setg(errp, "Failed to create bitmap %s: Not enough space "
                       "in the bitmap directory", list[i].name);
            goto out;
        }
        stored[i].name = g_strdup(list[i].name);
        stored[i].name_size = name_len;
        stored[i].granularity_bits = gbits;
        stored[i].type = BME_TYPE_DIRTY_TRACKING;
        stored[i].flags = list[i].enabled ? BME_FLAG_AUTO : 0;
    }

    qemu_co_mutex_lock(&s->lock);
    for (i = 0; i < n; i++) {
        uint64_t bits = DIV_ROUND_UP(s->virtual_size,
                                     1ULL << stored[i].granularity_bits);
        if (!store_one(bs, &a, src, &list[i], bits, cluster,
                       &stored[i].table_offset, &stored[i].table_size,
                       errp)) {
            qemu_co_mutex_unlock(&s->lock);
            goto out;
        }
    }
    dir_bytes = ROUND_UP(dir_size, s->cluster_size);
    dir = qemu_memalign(4096, dir_bytes);
    memset(dir, 0, dir_bytes);
    for (i = 0; i < n; i++) {
        uint8_t *e = dir + pos;

        stq_be_p(e, stored[i].table_offset);
        stl_be_p(e + 8, stored[i].table_size);
        stl_be_p(e + 12, stored[i].flags);
        e[16] = stored[i].type;
        e[17] = stored[i].granularity_bits;
        stw_be_p(e + 18, stored[i].name_size);
        stl_be_p(e + 20, 0);
        memcpy(e + BME_ENTRY_HEADER, stored[i].name, stored[i].name_size);
        pos += ROUND_UP(BME_ENTRY_HEADER + stored[i].name_size, 8);
    }
    dir_offset = alloc_and_write(bs, &a, dir, dir_bytes);
    qemu_co_mutex_unlock(&s->lock);
    if (dir_offset < 0) {
        error_setg_errno(errp, -dir_offset, "Failed to write the bitmap "
                         "directory");
        goto out;
    }

    /* refcounts and everything above on disk before the header points */
    ret = bdrv_co_flush(bs);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Failed to flush the bitmaps");
        goto out;
    }
    qemu_co_mutex_lock(&s->lock);
    s->bitmap_directory_offset = dir_offset;
    s->bitmap_directory_size = dir_size;
    s->nb_bitmaps = n;
    s->has_bitmaps = true;
    s->autoclear_features |= QCOW2_AUTOCLEAR_BITMAPS;
    g_free(s->bitmaps);
    s->bitmaps = g_steal_pointer(&stored);
    ret = qcow2_rewrite_header(bs);
    qemu_co_mutex_unlock(&s->lock);
    if (ret < 0) {
        /* the header may or may not say so now: leave the clusters */
        error_setg_errno(errp, -ret, "Failed to update the image header");
        g_array_set_size(a.offsets, 0);
        goto out;
    }
    ok = true;

out:
    if (!ok) {
        qemu_co_mutex_lock(&s->lock);
        for (guint k = 0; k < a.offsets->len; k++) {
            qcow2_free_clusters(bs, g_array_index(a.offsets, int64_t, k),
                                g_array_index(a.sizes, uint64_t, k),
                                QCOW2_DISCARD_OTHER);
        }
        qemu_co_mutex_unlock(&s->lock);
    }
    for (i = 0; stored && i < n; i++) {
        g_free(stored[i].name);
    }
    g_free(stored);
    g_array_free(a.offsets, true);
    g_array_free(a.sizes, true);
    return ok;
}
