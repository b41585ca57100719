/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2 persistent dirty bitmaps: loaded at open, stored back at close.
 *
 * Open (every open, as 7.2): the bitmap directory read by qcow2.c is
 * checked entry by entry with QEMU's limits; each bitmap becomes a
 * persistent BdrvDirtyBitmap of the node (block/dirty-bitmap.c), its
 * table checked and its data read, or, flagged in-use, an inconsistent
 * one with no data.  A bitmap that breaks the rules fails the open.  A
 * writable open then flags the consistent ones in-use in the image:
 * autoclear bit off, directory rewritten in place, autoclear bit on,
 * each step flushed, so a torn directory is never trusted and a crash
 * while open leaves them inconsistent, never stale.
 *
 * Store (close, or bdrv_co_store_bitmaps()): every consistent persistent
 * bitmap is written whole (data clusters, its table) to new clusters,
 * then a new directory, a flush, the header pointing at it, and only
 * then the old tables, data and directory are freed; a failure frees
 * the new clusters and leaves the old directory (in-use flags and all).
 * Inconsistent bitmaps keep their old entries untouched.  After a store
 * the node stays writable with bs->bitmaps_stored set: the next change
 * goes through qcow2_co_bitmaps_in_use() first.
 */
#include "util/osdep.h"
#include "qcow2.h"
#include "util/bswap.h"
#include "util/cutils.h"

/* The bitmap directory and tables (the spec's "Bitmaps extension"). */
#define BME_RESERVED_FLAGS 0xfffffffcU
#define BME_TYPE_DIRTY_TRACKING 1
#define BME_MIN_GRANULARITY_BITS 9
#define BME_MAX_GRANULARITY_BITS 31
#define BME_MAX_NAME_SIZE 1023
#define BME_MAX_TABLE_SIZE 0x8000000U
#define BME_MAX_PHYS_SIZE 0x20000000U     /* bytes of one bitmap's data */
#define BME_TABLE_ENTRY_SIZE 8
#define BME_TABLE_ENTRY_ALL_ONES 1ULL
#define BME_TABLE_ENTRY_RESERVED_MASK 0xff000000000001feULL

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

bool qcow2_bitmap_table_entry_ok(BDRVQcow2State *s, uint64_t entry)
{
    uint64_t data = entry & BME_TABLE_ENTRY_OFFSET_MASK;

    return !(entry & BME_TABLE_ENTRY_RESERVED_MASK) &&
           !(data && ((entry & BME_TABLE_ENTRY_ALL_ONES) ||
                      offset_into_cluster(s, data)));
}

/* The table of @b, checked, in host order; NULL with @errp set. */
static uint64_t *coroutine_fn read_table(BlockDriverState *bs,
                                         const Qcow2Bitmap *b, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    g_autofree uint64_t *t = g_new(uint64_t, b->table_size);
    uint32_t i;
    int ret;

    ret = bdrv_co_pread(bs->file, b->table_offset, b->table_size * 8ULL, t,
                        0);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Could not read bitmap_table table "
                         "from image for bitmap '%s' at offset %" PRIu64,
                         b->name, b->table_offset);
        return NULL;
    }
    for (i = 0; i < b->table_size; i++) {
        t[i] = be64toh(t[i]);
        if (!qcow2_bitmap_table_entry_ok(s, t[i])) {
            error_setg(errp, "Could not read bitmap_table table from image "
                       "for bitmap '%s': invalid entry 0x%016" PRIx64
                       " at offset %" PRIu64, b->name, t[i],
                       b->table_offset + (uint64_t)i * 8);
            return NULL;
        }
    }
    return g_steal_pointer(&t);
}

/* Fill @bm from the image: @b is consistent and its table checked. */
static bool coroutine_fn load_data(BlockDriverState *bs, const Qcow2Bitmap *b,
                                   BdrvDirtyBitmap *bm, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t size = bdrv_dirty_bitmap_data_size(bm);
    uint64_t need = DIV_ROUND_UP(size, s->cluster_size), i;
    g_autofree uint64_t *t = NULL;
    g_autoblkbuf uint8_t *buf = NULL;

    if (b->table_size != need) {
        error_setg(errp, "Could not read bitmap '%s' from image: bitmap "
                   "table has %" PRIu32 " entries, the disk needs %" PRIu64,
                   b->name, b->table_size, need);
        return false;
    }
    t = read_table(bs, b, errp);
    if (!t) {
        return false;
    }
    buf = blk_buf_alloc(bs->file->bs, s->cluster_size);
    for (i = 0; i < need; i++) {
        uint64_t pos = i << s->cluster_bits;
        uint64_t n = MIN((uint64_t)s->cluster_size, size - pos);
        uint64_t data = t[i] & BME_TABLE_ENTRY_OFFSET_MASK;
        int ret;

        if (!data) {
            if (t[i] & BME_TABLE_ENTRY_ALL_ONES) {
                bdrv_dirty_bitmap_deserialize_ones(bm, pos, n);
            }
            continue;
        }
        ret = bdrv_co_pread(bs->file, data, s->cluster_size, buf, 0);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Could not read bitmap '%s' from "
                             "image at offset %" PRIu64, b->name, data);
            return false;
        }
        bdrv_dirty_bitmap_deserialize(bm, pos, n, buf);
    }
    return true;
}

/* The directory of @n entries as the image holds it, @size bytes. */
static uint8_t *build_directory(BlockDriverState *bs, const Qcow2Bitmap *list,
                                int n, uint64_t size)
{
    uint8_t *dir = blk_buf_alloc(bs->file->bs, size);
    uint64_t pos = 0;

    memset(dir, 0, size);
    for (int i = 0; i < n; i++) {
        uint8_t *e = dir + pos;

        stq_be_p(e, list[i].table_offset);
        stl_be_p(e + 8, list[i].table_size);
        stl_be_p(e + 12, list[i].flags);
        e[16] = list[i].type;
        e[17] = list[i].granularity_bits;
        stw_be_p(e + 18, list[i].name_size);
        stl_be_p(e + 20, list[i].extra_data_size);
        memcpy(e + BME_ENTRY_HEADER + list[i].extra_data_size, list[i].name,
               list[i].name_size);
        pos += qcow2_bitmap_entry_bytes(list[i].extra_data_size,
                                        list[i].name_size);
    }
    return dir;
}

static uint64_t directory_size(const Qcow2Bitmap *list, int n)
{
    uint64_t size = 0;

    for (int i = 0; i < n; i++) {
        size += qcow2_bitmap_entry_bytes(list[i].extra_data_size, list[i].name_size);
    }
    return size;
}

static int coroutine_fn write_autoclear(BlockDriverState *bs, uint64_t v)
{
    BDRVQcow2State *s = bs->opaque;
    uint8_t buf[8];
    int ret;

    stq_be_p(buf, v);
    ret = qcow2_update_header_field(bs, offsetof(QCowHeader,
                                                 autoclear_features),
                                    buf, sizeof(buf));
    if (ret == 0) {
        s->autoclear_features = v;
    }
    return ret;
}

/*
 * Flag every consistent bitmap in-use in the image, the directory
 * rewritten in place between autoclear bit off and on.  Lock held (or
 * still opening).
 */
int coroutine_fn qcow2_mark_bitmaps_in_use(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    g_autoblkbuf uint8_t *dir = NULL;
    bool change = false;
    int i, ret;

    for (i = 0; i < s->nb_bitmaps; i++) {
        change |= !(s->bitmaps[i].flags & BME_FLAG_IN_USE);
        s->bitmaps[i].flags |= BME_FLAG_IN_USE;
    }
    if (!change) {
        return 0;
    }
    ret = write_autoclear(bs, s->autoclear_features &
                              ~(uint64_t)QCOW2_AUTOCLEAR_BITMAPS);
    if (ret < 0) {
        return ret;
    }
    dir = build_directory(bs, s->bitmaps, s->nb_bitmaps,
                          s->bitmap_directory_size);
    ret = qcow2_pre_write_overlap_check(bs, QCOW2_OL_BITMAP_DIRECTORY,
                                        s->bitmap_directory_offset,
                                        s->bitmap_directory_size);
    if (ret == 0) {
        ret = bdrv_co_pwrite(bs->file, s->bitmap_directory_offset,
                             s->bitmap_directory_size, dir, 0);
    }
    if (ret == 0) {
        ret = bdrv_co_flush(bs->file->bs);
    }
    if (ret < 0) {
        /* the autoclear bit stays off: the bitmaps are lost, not wrong */
        return ret;
    }
    return write_autoclear(bs, s->autoclear_features |
                               QCOW2_AUTOCLEAR_BITMAPS);
}

bool coroutine_fn qcow2_load_bitmaps(BlockDriverState *bs, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    bool consistent = false;
    int i, ret;

    if (!s->has_bitmaps) {
        return true;
    }
    for (i = 0; i < s->nb_bitmaps; i++) {
        const Qcow2Bitmap *b = &s->bitmaps[i];
        BdrvDirtyBitmap *bm;

        if (b->extra_data_size) {
            error_setg(errp, "Bitmap extra data is not supported");
            return false;
        }
        if (!entry_is_sane(s, b)) {
            error_setg(errp, "Bitmap '%s' doesn't satisfy the constraints",
                       b->name);
            return false;
        }
        bm = bdrv_dirty_bitmap_create(bs, b->name, 1ULL << b->granularity_bits,
                                      s->virtual_size, errp);
        if (!bm) {
            return false;
        }
        bdrv_dirty_bitmap_set_persistent(bm, true);
        bdrv_dirty_bitmap_set_in_image(bm);
        bdrv_dirty_bitmap_set_enabled(bm, b->flags & BME_FLAG_AUTO);
        if (b->flags & BME_FLAG_IN_USE) {
            /* its data was not saved: nothing to read */
            bdrv_dirty_bitmap_set_inconsistent(bm);
            continue;
        }
        if (!load_data(bs, b, bm, errp)) {
            return false;
        }
        consistent = true;
    }
    if (s->writable && consistent) {
        ret = qcow2_mark_bitmaps_in_use(bs);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Can't update bitmap directory");
            return false;
        }
    }
    return true;
}

bool qcow2_supports_bitmaps(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;

    return s->version >= 3;
}

/* Would a new bitmap @name with @granularity fit?  7.2's checks. */
bool qcow2_can_store_bitmap(BlockDriverState *bs, const char *name,
                            uint64_t granularity, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    int gbits = ctz64(granularity);
    uint64_t bytes;
    int n = 0;
    uint64_t dir = 0;
    BdrvDirtyBitmap *bm;

    if (s->version < 3) {
        error_setg(errp, "Cannot store dirty bitmaps in qcow2 v2 files");
        return false;
    }
    if (granularity != 1ULL << gbits || gbits > BME_MAX_GRANULARITY_BITS) {
        error_setg(errp, "Granularity exceeds maximum (%llu bytes)",
                   1ULL << BME_MAX_GRANULARITY_BITS);
        return false;
    }
    if (gbits < BME_MIN_GRANULARITY_BITS) {
        error_setg(errp, "Granularity is under minimum (%llu bytes)",
                   1ULL << BME_MIN_GRANULARITY_BITS);
        return false;
    }
    bytes = bitmap_data_bytes(s->virtual_size, gbits);
    if (bytes > BME_MAX_PHYS_SIZE ||
        bytes > (uint64_t)BME_MAX_TABLE_SIZE * s->cluster_size) {
        error_setg(errp, "Too much space will be occupied by the bitmap. "
                   "Use larger granularity");
        return false;
    }
    if (strlen(name) > BME_MAX_NAME_SIZE) {
        error_setg(errp, "Name length exceeds maximum (%u characters)",
                   BME_MAX_NAME_SIZE);
        return false;
    }
    for (bm = bdrv_dirty_bitmap_next(bs, NULL); bm;
         bm = bdrv_dirty_bitmap_next(bs, bm)) {
        if (bdrv_dirty_bitmap_persistent(bm)) {
            n++;
            dir += qcow2_bitmap_entry_bytes(0, strlen(bdrv_dirty_bitmap_name(bm)));
        }
    }
    if (n >= QCOW2_MAX_BITMAPS) {
        error_setg(errp, "Maximum number of persistent bitmaps is already "
                   "reached");
        return false;
    }
    if (dir + qcow2_bitmap_entry_bytes(0, strlen(name)) >
        QCOW2_MAX_BITMAP_DIRECTORY_SIZE) {
        error_setg(errp, "Not enough space in the bitmap directory");
        return false;
    }
    return true;
}

/* Clusters allocated by one store, freed again if it fails. */
typedef struct Allocs {
    GArray *offsets;            /* int64_t, @sizes alongside */
    GArray *sizes;
} Allocs;

/*
 * Allocate clusters for @size bytes and write the first @len of them
 * (7.2 writes the bitmap directory's exact size: the file may end there).
 */
static int64_t coroutine_fn alloc_and_write(BlockDriverState *bs,
                                            Allocs *a, const void *buf,
                                            uint64_t size, uint64_t len)
{
    int64_t off = qcow2_alloc_clusters(bs, size);
    int ret;

    if (off < 0) {
        return off;
    }
    g_array_append_val(a->offsets, off);
    g_array_append_val(a->sizes, size);
    ret = qcow2_pre_write_overlap_check(bs, 0, off, len);
    if (ret == 0) {
        ret = bdrv_co_pwrite(bs->file, off, len, buf, 0);
    }
    return ret < 0 ? ret : off;
}

/* Write @bm's data clusters and table; fill @e's table fields. */
static bool coroutine_fn store_one(BlockDriverState *bs, Allocs *a,
                                   BdrvDirtyBitmap *bm, Qcow2Bitmap *e,
                                   uint8_t *cluster, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t bytes = bdrv_dirty_bitmap_data_size(bm);
    uint64_t n = DIV_ROUND_UP(bytes, s->cluster_size), i;
    uint64_t table_bytes = ROUND_UP(n * 8, s->cluster_size);
    g_autoblkbuf uint64_t *table = blk_buf_alloc(bs->file->bs, table_bytes);
    int64_t off;

    memset(table, 0, table_bytes);
    for (i = 0; i < n; i++) {
        uint64_t pos = i << s->cluster_bits;
        uint64_t len = MIN((uint64_t)s->cluster_size, bytes - pos);

        if (bdrv_dirty_bitmap_data_is_zero(bm, pos, len)) {
            continue;
        }
        memset(cluster + len, 0, s->cluster_size - len);
        bdrv_dirty_bitmap_serialize(bm, pos, len, cluster);
        off = alloc_and_write(bs, a, cluster, s->cluster_size,
                              s->cluster_size);
        if (off < 0) {
            error_setg_errno(errp, -off, "Failed to write bitmap '%s' to "
                             "file", e->name);
            return false;
        }
        table[i] = htobe64(off);
    }
    off = alloc_and_write(bs, a, table, table_bytes, n * 8);
    if (off < 0) {
        error_setg_errno(errp, -off, "Failed to write bitmap '%s' to file",
                         e->name);
        return false;
    }
    e->table_offset = off;
    e->table_size = n;
    return true;
}

/* Free the clusters of an old entry's table and data (best effort). */
static void coroutine_fn free_old(BlockDriverState *bs, const Qcow2Bitmap *b)
{
    BDRVQcow2State *s = bs->opaque;
    g_autofree uint64_t *t = read_table(bs, b, NULL);

    for (uint32_t i = 0; t && i < b->table_size; i++) {
        uint64_t data = t[i] & BME_TABLE_ENTRY_OFFSET_MASK;
        if (data) {
            qcow2_free_clusters(bs, data, s->cluster_size, QCOW2_DISCARD_OTHER);
        }
    }
    if (t) {
        qcow2_free_clusters(bs, b->table_offset, b->table_size * 8ULL,
                            QCOW2_DISCARD_OTHER);
    }
}

static const Qcow2Bitmap *find_entry(BDRVQcow2State *s, const char *name)
{
    for (int i = 0; i < s->nb_bitmaps; i++) {
        if (!strcmp(s->bitmaps[i].name, name)) {
            return &s->bitmaps[i];
        }
    }
    return NULL;
}

static bool wants_store(BdrvDirtyBitmap *bm)
{
    return bdrv_dirty_bitmap_persistent(bm) &&
           !bdrv_dirty_bitmap_inconsistent(bm);
}

/* Anything the image does not hold as it should?  (co_inactivate) */
static bool needs_store(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    BdrvDirtyBitmap *bm;

    for (bm = bdrv_dirty_bitmap_next(bs, NULL); bm;
         bm = bdrv_dirty_bitmap_next(bs, bm)) {
        if (wants_store(bm) &&
            (!bs->bitmaps_stored || !bdrv_dirty_bitmap_in_image(bm) ||
             !find_entry(s, bdrv_dirty_bitmap_name(bm)))) {
            return true;
        }
    }
    for (int i = 0; s->has_bitmaps && i < s->nb_bitmaps; i++) {
        bm = bdrv_dirty_bitmap_find(bs, s->bitmaps[i].name);
        if (!bm || !bdrv_dirty_bitmap_in_image(bm)) {
            return true;            /* removed (and perhaps added again) */
        }
    }
    return false;
}

static void free_list(Qcow2Bitmap *list, int n)
{
    for (int i = 0; list && i < n; i++) {
        g_free(list[i].name);
    }
    g_free(list);
}

/* Store every consistent persistent bitmap (header comment).  Locked. */
static bool coroutine_fn store_locked(BlockDriverState *bs, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    Allocs a = { g_array_new(false, false, sizeof(int64_t)),
                 g_array_new(false, false, sizeof(uint64_t)) };
    g_autoblkbuf uint8_t *cluster = blk_buf_alloc(bs->file->bs,
                                                  s->cluster_size);
    g_autoblkbuf uint8_t *dir = NULL;
    int total = bdrv_dirty_bitmap_count_all(bs) + s->nb_bitmaps;
    Qcow2Bitmap *list = g_new0(Qcow2Bitmap, MAX(total, 1));
    BdrvDirtyBitmap **of = g_new0(BdrvDirtyBitmap *, MAX(total, 1));
    BdrvDirtyBitmap *bm;
    uint64_t dir_size, dir_bytes;
    uint64_t old_offset = s->bitmap_directory_offset;
    uint64_t old_size = s->bitmap_directory_size;
    bool had = s->has_bitmaps, ok = false;
    int old_n = had ? s->nb_bitmaps : 0;
    Qcow2Bitmap *old_list;
    int64_t dir_offset;
    int n = 0, i, ret;

    if (s->unusable || s->version < 3) {
        error_setg(errp, s->unusable ? "Image is corrupt" :
                   "Cannot store dirty bitmaps in qcow2 v2 files");
        goto out;
    }
    /*
     * The image's entries in their order, then the node's new bitmaps, as
     * 7.2 orders them: a bitmap removed and added again under the same
     * name is a new one and goes last.
     */
    for (i = 0; i < old_n; i++) {
        bm = bdrv_dirty_bitmap_find(bs, s->bitmaps[i].name);
        if (!bm || !bdrv_dirty_bitmap_in_image(bm)) {
            /* released from the node: it leaves the image */
            continue;
        }
        list[n] = s->bitmaps[i];
        list[n].name = g_strdup(s->bitmaps[i].name);
        list[n].name_size = strlen(list[n].name);   /* a NUL ended it */
        of[n++] = wants_store(bm) ? bm : NULL;
    }
    for (bm = bdrv_dirty_bitmap_next(bs, NULL); bm;
         bm = bdrv_dirty_bitmap_next(bs, bm)) {
        const char *name = bdrv_dirty_bitmap_name(bm);

        if (!wants_store(bm) ||
            (had && bdrv_dirty_bitmap_in_image(bm) && find_entry(s, name))) {
            continue;
        }
        list[n].name = g_strdup(name);
        list[n].name_size = strlen(name);
        list[n].type = BME_TYPE_DIRTY_TRACKING;
        of[n++] = bm;
    }
    if (n > QCOW2_MAX_BITMAPS) {
        error_setg(errp, "Too many persistent bitmaps");
        goto out;
    }
    dir_size = directory_size(list, n);
    if (dir_size > QCOW2_MAX_BITMAP_DIRECTORY_SIZE) {
        error_setg(errp, "Bitmap directory is too large");
        goto out;
    }
    for (i = 0; i < n; i++) {
        if (!of[i]) {
            continue;
        }
        list[i].granularity_bits = ctz64(bdrv_dirty_bitmap_granularity(of[i]));
        list[i].flags = bdrv_dirty_bitmap_enabled(of[i]) ? BME_FLAG_AUTO : 0;
        list[i].extra_data_size = 0;
        if (!store_one(bs, &a, of[i], &list[i], cluster, errp)) {
            goto out;
        }
    }
    if (n) {
        dir_bytes = ROUND_UP(dir_size, s->cluster_size);
        dir = build_directory(bs, list, n, dir_bytes);
        dir_offset = alloc_and_write(bs, &a, dir, dir_bytes, dir_size);
        if (dir_offset < 0) {
            error_setg_errno(errp, -dir_offset, "Failed to update bitmap "
                             "extension");
            goto out;
        }
    } else {
        dir_offset = 0;
    }
    /* refcounts and everything above on disk before the header points */
    ret = qcow2_write_caches(bs);
    if (ret == 0) {
        ret = bdrv_co_flush(bs->file->bs);
    }
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Failed to update bitmap extension");
        goto out;
    }
    s->bitmap_directory_offset = dir_offset;
    s->bitmap_directory_size = n ? dir_size : 0;
    s->nb_bitmaps = n;
    s->has_bitmaps = n > 0;
    if (n) {
        s->autoclear_features |= QCOW2_AUTOCLEAR_BITMAPS;
    } else {
        s->autoclear_features &= ~(uint64_t)QCOW2_AUTOCLEAR_BITMAPS;
    }
    ret = qcow2_rewrite_header(bs);
    /* the state now describes the new list, whatever the header says */
    old_list = s->bitmaps;
    s->bitmaps = g_steal_pointer(&list);
    for (i = 0; i < n; i++) {
        if (of[i]) {
            bdrv_dirty_bitmap_set_in_image(of[i]);
        }
    }
    if (ret < 0) {
        /* it may or may not point at the new clusters: leak the old */
        error_setg_errno(errp, -ret, "Failed to update bitmap extension");
        free_list(old_list, old_n);
        goto done;
    }
    /* the rewritten or removed bitmaps' old clusters, then the directory */
    for (i = 0; i < old_n; i++) {
        const Qcow2Bitmap *now = find_entry(s, old_list[i].name);

        if (!now || now->table_offset != old_list[i].table_offset) {
            free_old(bs, &old_list[i]);
        }
    }
    if (had && old_size) {
        qcow2_free_clusters(bs, old_offset, ROUND_UP(old_size, s->cluster_size),
                            QCOW2_DISCARD_OTHER);
    }
    free_list(old_list, old_n);
    bs->bitmaps_stored = true;
    ok = true;
    goto done;

out:
    for (guint k = 0; k < a.offsets->len; k++) {
        qcow2_free_clusters(bs, g_array_index(a.offsets, int64_t, k),
                            g_array_index(a.sizes, uint64_t, k),
                            QCOW2_DISCARD_OTHER);
    }
    free_list(list, n);
done:
    g_free(of);
    g_array_free(a.offsets, true);
    g_array_free(a.sizes, true);
    return ok;
}

bool coroutine_fn qcow2_co_store_bitmaps(BlockDriverState *bs, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    bool ok = true;

    qemu_co_mutex_lock(&s->lock);
    if (needs_store(bs)) {
        ok = store_locked(bs, errp);
        /* reported by the caller: close does not try again */
        s->bitmaps_failed = !ok;
    }
    qemu_co_mutex_unlock(&s->lock);
    return ok;
}

int coroutine_fn qcow2_co_bitmaps_in_use(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    int ret = 0;

    qemu_co_mutex_lock(&s->lock);
    if (bs->bitmaps_stored) {
        ret = qcow2_mark_bitmaps_in_use(bs);
        if (ret == 0) {
            bs->bitmaps_stored = false;
        }
    }
    qemu_co_mutex_unlock(&s->lock);
    return ret;
}

bool coroutine_fn qcow2_store_bitmaps_on_close(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    Error *err = NULL;

    /* a v2 image (downgraded by amend) cannot keep them */
    if (s->version < 3 || s->bitmaps_failed || !needs_store(bs)) {
        return true;
    }
    if (!store_locked(bs, &err)) {
        BlockDriverState *named = bs;

        /* a node opened from options has no name: its file's */
        while (!named->filename[0] && named->file) {
            named = named->file->bs;
        }
        bdrv_report_err(err);
        bdrv_error_report("Persistent bitmaps are lost for node '%s'",
                          named->filename);
        return false;
    }
    return true;
}

uint64_t qcow2_bitmaps_measure(BlockDriverState *in_bs, uint64_t cluster_size)
{
    BdrvDirtyBitmap *bm = NULL;
    uint64_t bytes = 0, dir_bytes = 0;

    while ((bm = bdrv_dirty_bitmap_next(in_bs, bm))) {
        uint64_t clusters;

        if (!bdrv_dirty_bitmap_persistent(bm)) {
            continue;
        }
        clusters = DIV_ROUND_UP(bdrv_dirty_bitmap_data_size(bm),
                                cluster_size);
        /* all of the data, its table, and its directory entry */
        bytes += clusters * cluster_size;
        bytes += ROUND_UP(clusters * BME_TABLE_ENTRY_SIZE, cluster_size);
        dir_bytes += qcow2_bitmap_entry_bytes(0,
                                              strlen(bdrv_dirty_bitmap_name(bm)));
    }
    return bytes + ROUND_UP(dir_bytes, cluster_size);
}
