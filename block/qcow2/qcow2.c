/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2 format driver: probing, open (header, extensions, feature bits,
 * L1 table, external data file, backing file name, snapshot table), the
 * information shown by `info`, and the VM state area.  Reading and block
 * status live in read.c; writing in write.c, cluster.c, discard.c and
 * refcount.c.
 */
#include "util/osdep.h"
#include "qcow2.h"
#include "util/bswap.h"
#include "util/cutils.h"

#include <endian.h>


#define QCOW_MAX_SNAPSHOTS 65536
#define QCOW2_MAX_BACKING_NAME 1023
#define QCOW2_SUBCLUSTERS_PER_CLUSTER 32
/* Extents of one request read at once, as QEMU's QCOW2_MAX_WORKERS. */
#define QCOW2_DEFAULT_MAX_WORKERS 8

#define DEFAULT_L2_CACHE_MAX_SIZE (32 * MiB)

static int qcow2_probe(const uint8_t *buf, int buf_size, const char *filename)
{
    if (buf_size >= 8 && ldl_be_p(buf) == QCOW_MAGIC && ldl_be_p(buf + 4) >= 2) {
        return 100;
    }
    return 0;
}

int qcow2_signal_corruption(BlockDriverState *bs, bool fatal,
                            const char *fmt, ...)
{
    BDRVQcow2State *s = bs->opaque;
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    fatal = fatal && s->writable;
    if (s->corrupt_reported && !fatal) {
        return -EIO;
    }
    if (s->unusable) {
        return -EIO;
    }
    if (fatal) {
        bdrv_message(BDRV_MSG_NOTE, "qcow2: Marking image as corrupt: %s; "
                     "further corruption events will be suppressed", msg);
    } else {
        bdrv_message(BDRV_MSG_NOTE, "qcow2: Image is corrupt: %s; further "
                     "non-fatal corruption events will be suppressed", msg);
    }
    s->corrupt_reported = true;
    if (fatal) {
        /*
         * Record it in the header and stop: nothing cached is written any
         * more, every later request fails, as QEMU makes the node unusable.
         */
        s->unusable = true;
        qcow2_cache_clean(s->l2_cache);
        if (s->refcount_block_cache) {
            qcow2_cache_clean(s->refcount_block_cache);
        }
        if (qemu_in_coroutine()) {
            (void)qcow2_mark_corrupt(bs);
        }
    }
    return -EIO;
}

/* QEMU's check for tables the header points to. */
bool qcow2_validate_table(BDRVQcow2State *s, uint64_t offset,
                          uint64_t entries, size_t entry_len,
                          int64_t max_size_bytes, const char *table_name,
                          Error **errp)
{
    if (entries > (uint64_t)max_size_bytes / entry_len) {
        error_setg(errp, "%s too large", table_name);
        return false;
    }
    if ((uint64_t)INT64_MAX - entries * entry_len < offset ||
        offset_into_cluster(s, offset) != 0) {
        error_setg(errp, "%s offset invalid", table_name);
        return false;
    }
    return true;
}

/*
 * Read the bitmap directory (for `info`, and for bitmap.c to check and
 * load).  Bitmaps only count when the autoclear bit says the last
 * writer knew about them.
 */
static bool coroutine_fn read_bitmap_directory(BlockDriverState *bs,
                                               Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    g_autofree uint8_t *dir = NULL;
    uint64_t pos = 0;
    int i, ret;

    if (!s->has_bitmaps) {
        return true;
    }
    if (!(s->autoclear_features & QCOW2_AUTOCLEAR_BITMAPS)) {
        /* a program without bitmap support modified the image */
        s->has_bitmaps = false;
        s->nb_bitmaps = 0;
        return true;
    }
    if (s->nb_bitmaps > QCOW2_MAX_BITMAPS) {
        error_setg(errp, "bitmaps_ext: Image has %" PRIu32 " bitmaps, exceeding the "
                   "QEMU supported maximum of %d", s->nb_bitmaps,
                   QCOW2_MAX_BITMAPS);
        return false;
    }
    if (s->nb_bitmaps == 0) {
        error_setg(errp, "found bitmaps extension with zero bitmaps");
        return false;
    }
    if (s->bitmap_directory_size > QCOW2_MAX_BITMAP_DIRECTORY_SIZE) {
        error_setg(errp, "bitmaps_ext: bitmap directory size (%" PRIu64
                   ") exceeds the maximum supported size (%d)",
                   s->bitmap_directory_size, QCOW2_MAX_BITMAP_DIRECTORY_SIZE);
        return false;
    }
    if (offset_into_cluster(s, s->bitmap_directory_offset)) {
        error_setg(errp, "bitmaps_ext: invalid bitmap directory offset");
        return false;
    }
    dir = g_malloc(s->bitmap_directory_size);
    ret = bdrv_co_pread(bs->file, s->bitmap_directory_offset,
                        s->bitmap_directory_size, dir, 0);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Failed to read bitmap directory");
        return false;
    }
    s->bitmaps = g_new0(Qcow2Bitmap, s->nb_bitmaps);
    for (i = 0; i < s->nb_bitmaps; i++) {
        uint32_t name_size, extra;
        uint8_t *e;

        /*
         * (an empty directory is a NULL buffer: no pointer into it; the
         * previous entry's padding may have taken pos past the end)
         */
        if (pos > s->bitmap_directory_size ||
            s->bitmap_directory_size - pos < BME_ENTRY_HEADER) {
            goto broken;
        }
        e = dir + pos;
        name_size = lduw_be_p(e + 18);
        extra = ldl_be_p(e + 20);
        if (s->bitmap_directory_size - pos <
            BME_ENTRY_HEADER + (uint64_t)extra + name_size) {
            goto broken;
        }
        s->bitmaps[i].table_offset = ldq_be_p(e);
        s->bitmaps[i].table_size = ldl_be_p(e + 8);
        s->bitmaps[i].flags = ldl_be_p(e + 12);
        s->bitmaps[i].type = e[16];
        s->bitmaps[i].granularity_bits = e[17];
        s->bitmaps[i].name_size = name_size;
        s->bitmaps[i].extra_data_size = extra;
        s->bitmaps[i].name = g_strndup((char *)e + BME_ENTRY_HEADER + extra,
                                       name_size);
        pos += qcow2_bitmap_entry_bytes(extra, name_size);
    }
    return true;

broken:
    error_setg(errp, "Bitmap directory is corrupted");
    return false;
}

/*
 * The external data file: from the user's "data-file" options, or by the
 * name the image records, which is a file name only (never json: or a
 * protocol: an image must not choose what we open), relative to the
 * image's directory (7.2: the working directory).  Metadata-only opens (info) leave it closed, as
 * 7.2 does since CVE-2024-4467: a data file may be missing or hostile.
 */
static bool coroutine_fn open_data_file(BlockDriverState *bs, QDict *options,
                                        int flags, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    BlockDriverState *dbs;
    bool given = qdict_haskey(options, "data-file") ||
                 qdict_get_try_str(options, "data-file.filename") ||
                 qdict_get(options, "data-file.driver");

    if (!has_data_file(s)) {
        if (given) {
            error_setg(errp, "'data-file' can only be set for images with an "
                       "external data file");
            return false;
        }
        s->data_file = bs->file;
        if (s->data_file_raw && !(flags & BDRV_O_NO_IO)) {
            error_setg(errp, "data-file-raw requires a data file");
            return false;
        }
        return true;
    }
    if (flags & BDRV_O_NO_IO) {
        g_free(bdrv_opt_take_str(options, "data-file"));
        qobject_unref(qdict_extract_subdict(options, "data-file"));
        s->data_file = NULL;
        return true;
    }
    if (given) {
        s->data_file = bdrv_co_open_child(NULL, options, "data-file", bs,
                                          BDRV_CHILD_DATA,
                                          flags | BDRV_O_PROTOCOL |
                                          BDRV_O_UNMAP, errp);
    } else if (!s->image_data_file) {
        error_setg(errp, "'data-file' is required for this image");
        return false;
    } else {
        g_autofree char *name = bdrv_file_name_beside(bs,
                                                      s->image_data_file);

        dbs = bdrv_co_open_file_name(name, flags | BDRV_O_UNMAP, errp);
        s->data_file = dbs ? bdrv_attach_child(bs, dbs, "data-file",
                                               BDRV_CHILD_DATA, errp) : NULL;
    }
    if (!s->data_file) {
        return false;
    }
    /* guest data written over our own metadata: never, locks or not */
    if (s->writable && bdrv_same_file(s->data_file->bs, bs->file->bs)) {
        error_setg(errp, "The data file '%s' is the image file itself",
                   s->data_file->bs->filename);
        return false;
    }
    /* the image file keeps only metadata now */
    bs->file->role &= ~BDRV_CHILD_DATA;
    return bdrv_child_refresh_perms(bs, bs->file, errp);
}

static bool coroutine_fn read_backing_name(BlockDriverState *bs,
                                           QCowHeader *h, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    char name[QCOW2_MAX_BACKING_NAME + 1];
    int ret;

    if (!h->backing_file_offset) {
        return true;
    }
    if (h->backing_file_size > QCOW2_MAX_BACKING_NAME ||
        h->backing_file_size > s->cluster_size - h->backing_file_offset) {
        error_setg(errp, "Backing file name too long");
        return false;
    }
    ret = bdrv_co_pread(bs->file, h->backing_file_offset,
                        h->backing_file_size, name, 0);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Could not read backing file name");
        return false;
    }
    name[h->backing_file_size] = '\0';
    bs->backing_file = g_strdup(name);
    return true;
}

/* The cache options QEMU accepts; l2-cache-size and cache-size are used. */
/* overlap-check=none|constant|cached|all, as QEMU's templates. */
static bool parse_overlap_check(BDRVQcow2State *s, const char *mode,
                                Error **errp)
{
    static const struct { const char *name; int mask; } modes[] = {
        { "none", 0 },
        { "constant", QCOW2_OL_MAIN_HEADER | QCOW2_OL_ACTIVE_L1 |
                      QCOW2_OL_REFCOUNT_TABLE | QCOW2_OL_SNAPSHOT_TABLE |
                      QCOW2_OL_BITMAP_DIRECTORY },
        { "cached", QCOW2_OL_MAIN_HEADER | QCOW2_OL_ACTIVE_L1 |
                    QCOW2_OL_ACTIVE_L2 | QCOW2_OL_REFCOUNT_TABLE |
                    QCOW2_OL_REFCOUNT_BLOCK | QCOW2_OL_SNAPSHOT_TABLE |
                    QCOW2_OL_INACTIVE_L1 | QCOW2_OL_BITMAP_DIRECTORY },
        { "all", QCOW2_OL_MAIN_HEADER | QCOW2_OL_ACTIVE_L1 |
                 QCOW2_OL_ACTIVE_L2 | QCOW2_OL_REFCOUNT_TABLE |
                 QCOW2_OL_REFCOUNT_BLOCK | QCOW2_OL_SNAPSHOT_TABLE |
                 QCOW2_OL_INACTIVE_L1 | QCOW2_OL_BITMAP_DIRECTORY },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(modes); i++) {
        if (!strcmp(mode, modes[i].name)) {
            s->overlap_check = modes[i].mask;
            return true;
        }
    }
    error_setg(errp, "Unsupported value '%s' for qcow2 option "
               "'overlap-check'. Allowed are any of the following: none, "
               "constant, cached, all", mode);
    return false;
}

/*
 * What 7.2 checks of the cache options once the header is read:
 * l2-cache-entry-size (our L2 cache always holds whole tables, so a valid
 * value changes nothing), and the cache sizes counted in entries, which
 * must fit an int.
 */
static bool check_cache_limits(BDRVQcow2State *s, const QCowHeader *h,
                                QDict *options, uint64_t l2_cache_size,
                                uint64_t refcount_cache_size, Error **errp)
{
    uint64_t entry_size = s->cluster_size;
    /* an L2 cache bigger than all L2 tables counts as their size */
    uint64_t l2e = h->incompatible_features & QCOW2_INCOMPAT_EXTL2 ?
                   L2E_SIZE_EXTENDED : L2E_SIZE_NORMAL;
    uint64_t max_l2_cache = ROUND_UP(DIV_ROUND_UP(h->size, s->cluster_size) *
                                     l2e, s->cluster_size);
    bool has_entry_size;

    if (!bdrv_opt_take_size(options, "l2-cache-entry-size", &entry_size,
                            &has_entry_size, errp)) {
        return false;
    }
    if (has_entry_size &&
        (!is_power_of_2(entry_size) || entry_size < 512 ||
         entry_size > (uint64_t)s->cluster_size)) {
        error_setg(errp, "L2 cache entry size must be a power of two "
                   "between %d and the cluster size (%" PRId64 ")", 512,
                   (int64_t)s->cluster_size);
        return false;
    }
    /* 7.2 counts its caches in entries of an int */
    if (MIN(l2_cache_size, max_l2_cache) / entry_size > INT_MAX) {
        error_setg(errp, "L2 cache size too big");
        return false;
    }
    if (refcount_cache_size / s->cluster_size > INT_MAX) {
        error_setg(errp, "Refcount cache size too big");
        return false;
    }
    return true;
}

static bool take_cache_options(BlockDriverState *bs, QDict *options,
                               int flags, uint64_t *l2_cache_size,
                               uint64_t *refcount_cache_size, Error **errp)
{
    static const char *const ignored[] = {
        "discard-no-unref", "data-file-raw",
    };
    static const struct { const char *key; Qcow2DiscardType type; } pass[] = {
        { "pass-discard-request", QCOW2_DISCARD_REQUEST },
        { "pass-discard-snapshot", QCOW2_DISCARD_SNAPSHOT },
        { "pass-discard-other", QCOW2_DISCARD_OTHER },
    };
    BDRVQcow2State *s = bs->opaque;
    uint64_t cache_size = 0, workers = 0, clean_interval = 0;
    bool has_l2, has_all, has_workers, has_rc, lazy = false;
    g_autofree char *ol = NULL, *ol_template = NULL;
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(ignored); i++) {
        g_free(bdrv_opt_take_str(options, ignored[i]));
    }
    /* defaults as QEMU's: requests follow discard=unmap, snapshots pass */
    s->discard_passthrough[QCOW2_DISCARD_NEVER] = false;
    s->discard_passthrough[QCOW2_DISCARD_ALWAYS] = true;
    s->discard_passthrough[QCOW2_DISCARD_REQUEST] = flags & BDRV_O_UNMAP;
    s->discard_passthrough[QCOW2_DISCARD_SNAPSHOT] = true;
    s->discard_passthrough[QCOW2_DISCARD_OTHER] = false;
    for (i = 0; i < G_N_ELEMENTS(pass); i++) {
        bool v = s->discard_passthrough[pass[i].type];
        if (!bdrv_opt_take_bool(options, pass[i].key, &v, errp)) {
            return false;
        }
        s->discard_passthrough[pass[i].type] = v;
    }
    s->use_lazy_refcounts = -1;
    if (qdict_haskey(options, "lazy-refcounts")) {
        if (!bdrv_opt_take_bool(options, "lazy-refcounts", &lazy, errp)) {
            return false;
        }
        s->use_lazy_refcounts = lazy;
    }
    /* no periodic cache cleaning here: only 7.2's limit is checked */
    if (!bdrv_opt_take_number(options, "cache-clean-interval",
                              &clean_interval, NULL, errp)) {
        return false;
    }
    if (clean_interval > UINT_MAX) {
        error_setg(errp, "Cache clean interval too big");
        return false;
    }
    ol = bdrv_opt_take_str(options, "overlap-check");
    ol_template = bdrv_opt_take_str(options, "overlap-check.template");
    if (ol && ol_template && strcmp(ol, ol_template)) {
        error_setg(errp, "Conflicting values for qcow2 options "
                   "'overlap-check' ('%s') and 'overlap-check.template' "
                   "('%s')", ol, ol_template);
        return false;
    }
    if (!parse_overlap_check(s, ol ? ol : ol_template ? ol_template
                                                      : "cached", errp)) {
        return false;
    }
    for (i = 0; i < qdict_size(options);) {
        const char *k = qdict_key_at(options, i);
        if (g_str_has_prefix(k, "overlap-check.")) {
            qdict_del(options, k);
        } else {
            i++;
        }
    }
    if (!bdrv_opt_take_size(options, "refcount-cache-size",
                            refcount_cache_size, &has_rc, errp)) {
        return false;
    }
    if (!has_rc) {
        *refcount_cache_size = 0;
    }
    if (!bdrv_opt_take_size(options, "x-max-workers", &workers, &has_workers,
                            errp)) {
        return false;
    }
    s->max_workers = has_workers ? (int)MIN(MAX(workers, 1), 64) :
                                   QCOW2_DEFAULT_MAX_WORKERS;
    if (!bdrv_opt_take_size(options, "l2-cache-size", l2_cache_size, &has_l2,
                            errp) ||
        !bdrv_opt_take_size(options, "cache-size", &cache_size, &has_all,
                            errp)) {
        return false;
    }
    /* 7.2's rules for the three sizes together */
    if (has_all) {
        if (has_l2 && has_rc) {
            error_setg(errp, "cache-size, l2-cache-size and "
                       "refcount-cache-size may not be set at the same time");
            return false;
        }
        if (has_l2 && *l2_cache_size > cache_size) {
            error_setg(errp, "l2-cache-size may not exceed cache-size");
            return false;
        }
        if (has_rc && *refcount_cache_size > cache_size) {
            error_setg(errp, "refcount-cache-size may not exceed cache-size");
            return false;
        }
    }
    if (!has_l2) {
        *l2_cache_size = !has_all ? 0 : cache_size -
                         (has_rc ? *refcount_cache_size : 0);
    }
    return true;
}

/*
 * What a read-write open adds: refcounts, their cache, and a header that
 * says only what we keep up to date.
 */
static bool coroutine_fn open_for_writing(BlockDriverState *bs, QCowHeader *h,
                                          uint64_t refcount_cache_size,
                                          Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t entries;
    uint64_t keep;
    int ret;

    if (s->use_lazy_refcounts < 0) {
        s->use_lazy_refcounts = s->compatible_features &
                                QCOW2_COMPAT_LAZY_REFCOUNTS;
    }
    if (s->use_lazy_refcounts && s->version < 3) {
        error_setg(errp, "Lazy refcounts require a qcow2 image with at least "
                   "qemu 1.1 compatibility level");
        return false;
    }
    if (!qcow2_refcount_init(bs, errp)) {
        return false;
    }
    /* at least four blocks (QEMU's minimum); 256 KiB covers most uses */
    entries = refcount_cache_size ?
              (int64_t)(refcount_cache_size / s->cluster_size) :
              MIN(256, (int64_t)(256 * KiB) / s->cluster_size);
    s->refcount_block_cache = qcow2_cache_create((int)MAX(entries, 4),
                                                 s->cluster_size);
    s->free_cluster_index = 0;
    s->free_byte_offset = 0;
    QTAILQ_INIT(&s->cluster_allocs);
    QTAILQ_INIT(&s->compress_fifo);
    bs->supported_write_flags = BDRV_REQ_WRITE_COMPRESSED;
    bs->supported_zero_flags = BDRV_REQ_MAY_UNMAP | BDRV_REQ_NO_FALLBACK;

    /*
     * Autoclear bits we do not maintain must go before the first change;
     * data-file-raw we keep true, bitmaps bitmap.c keeps current.
     */
    keep = s->autoclear_features & (QCOW2_AUTOCLEAR_DATA_FILE_RAW |
                                    QCOW2_AUTOCLEAR_BITMAPS);
    if (s->version >= 3 && s->autoclear_features != keep) {
        uint8_t buf[8];
        stq_be_p(buf, keep);
        ret = qcow2_update_header_field(bs, offsetof(QCowHeader,
                                                     autoclear_features),
                                        buf, sizeof(buf));
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Could not update qcow2 header");
            return false;
        }
        s->autoclear_features = keep;
    }
    return true;
}

/*
 * An image left dirty (lazy refcounts, a writer that did not close it)
 * is checked and repaired when opened for writing, as 7.2 does; what the
 * check finds and repairs is printed as by qemu-img check.
 */
static bool coroutine_fn repair_if_dirty(BlockDriverState *bs, int flags,
                                         Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    BdrvCheckResult res = { 0 };
    int ret;

    if (!s->writable || (flags & BDRV_O_CHECK) ||
        !(s->incompatible_features & QCOW2_INCOMPAT_DIRTY)) {
        return true;
    }
    ret = qcow2_co_check(bs, &res, BDRV_FIX_ERRORS | BDRV_FIX_LEAKS);
    if (ret < 0 || res.check_errors) {
        error_setg_errno(errp, ret < 0 ? -ret : EIO,
                         "Could not repair dirty image");
        return false;
    }
    return true;
}

/* Sizes that follow from the cluster size and the L2 entry width. */
static bool set_geometry(BDRVQcow2State *s, const QCowHeader *h, Error **errp)
{
    if (h->incompatible_features & QCOW2_INCOMPAT_EXTL2) {
        if (s->cluster_bits < 14) {
            error_setg(errp, "Extended L2 entries are only supported with "
                       "cluster sizes of at least 16384 bytes");
            return false;
        }
        s->l2_entry_size = L2E_SIZE_EXTENDED;
        s->subclusters_per_cluster = QCOW2_SUBCLUSTERS_PER_CLUSTER;
    } else {
        s->l2_entry_size = L2E_SIZE_NORMAL;
        s->subclusters_per_cluster = 1;
    }
    s->subcluster_size = s->cluster_size / s->subclusters_per_cluster;
    s->subcluster_bits = ctz64(s->subcluster_size);
    s->l2_bits = s->cluster_bits - ctz64(s->l2_entry_size);
    s->l2_size = 1LL << s->l2_bits;
    s->csize_shift = 62 - (s->cluster_bits - 8);
    s->csize_mask = (1ULL << (s->cluster_bits - 8)) - 1;
    s->cluster_offset_mask = (1ULL << s->csize_shift) - 1;
    return true;
}

/*
 * The refcount and snapshot tables the header points to, checked; the
 * active L1 table, read.
 */
static bool coroutine_fn read_tables(BlockDriverState *bs,
                                     const QCowHeader *h, int flags,
                                     Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t l1_vm_state_index;
    int ret;

    s->refcount_table_offset = h->refcount_table_offset;
    s->refcount_table_clusters = h->refcount_table_clusters;
    if (!h->refcount_table_clusters && !(flags & BDRV_O_CHECK)) {
        error_setg(errp, "Image does not contain a reference count table");
        return false;
    }
    if (!qcow2_validate_table(s, h->refcount_table_offset,
                              h->refcount_table_clusters, s->cluster_size,
                              QCOW_MAX_REFTABLE_SIZE, "Reference count table",
                              errp)) {
        return false;
    }
    /* check reads (and repairs) the snapshot table itself, as 7.2 */
    if (!(flags & BDRV_O_CHECK) &&
        !qcow2_validate_table(s, h->snapshots_offset, h->nb_snapshots, 40,
                              40 * QCOW_MAX_SNAPSHOTS, "Snapshot table",
                              errp)) {
        return false;
    }

    /* L1 */
    if (h->l1_size > QCOW_MAX_L1_SIZE / L1E_SIZE) {
        error_setg(errp, "Active L1 table too large");
        return false;
    }
    l1_vm_state_index = size_to_l1(s, h->size);
    if (l1_vm_state_index > INT_MAX) {
        error_setg(errp, "Image is too big");
        return false;
    }
    s->l1_vm_state_index = l1_vm_state_index;
    if (h->l1_size < l1_vm_state_index) {
        error_setg(errp, "L1 table is too small");
        return false;
    }
    s->l1_size = h->l1_size;
    s->l1_table_offset = h->l1_table_offset;
    if (s->l1_size > 0) {
        uint32_t i;

        if (!qcow2_validate_table(s, h->l1_table_offset, h->l1_size,
                                  L1E_SIZE, QCOW_MAX_L1_SIZE,
                                  "Active L1 table", errp)) {
            return false;
        }
        s->l1_table = g_try_malloc(s->l1_size * L1E_SIZE);
        if (!s->l1_table) {
            error_setg(errp, "Could not allocate L1 table");
            return false;
        }
        ret = bdrv_co_pread(bs->file, s->l1_table_offset,
                            s->l1_size * L1E_SIZE, s->l1_table, 0);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Could not read L1 table");
            return false;
        }
        for (i = 0; i < s->l1_size; i++) {
            s->l1_table[i] = be64toh(s->l1_table[i]);
        }
    }
    return true;
}

static bool coroutine_fn qcow2_co_open(BlockDriverState *bs, QDict *options,
                                       int flags, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    QCowHeader h = { 0 };
    g_autofree uint8_t *feature_table = NULL;
    size_t feature_table_len = 0;
    uint64_t l2_cache_size = 0, ext_end;
    uint64_t refcount_cache_size = 0;
    int64_t l2_tables, max_entries;
    g_autofree char *sn_id = bdrv_opt_take_str(options, "snapshot.id");
    g_autofree char *sn_name = bdrv_opt_take_str(options, "snapshot.name");
    bool has_key;

    qemu_co_mutex_init(&s->lock);
    if (!take_cache_options(bs, options, flags, &l2_cache_size,
                            &refcount_cache_size, errp)) {
        return false;
    }
    if (!qcow2_read_header(bs, &h, errp) ||
        !check_cache_limits(s, &h, options, l2_cache_size,
                            refcount_cache_size, errp)) {
        return false;
    }
    s->version = h.version;
    s->incompatible_features = h.incompatible_features;
    s->compatible_features = h.compatible_features;
    s->autoclear_features = h.autoclear_features;
    s->refcount_order = h.refcount_order;
    s->virtual_size = h.size;
    s->crypt_method = h.crypt_method;
    if (!qcow2_crypto_take_options(s, options, &has_key, errp)) {
        return false;
    }

    ext_end = h.backing_file_offset ? h.backing_file_offset :
                                      (uint64_t)s->cluster_size;
    if (!qcow2_read_extensions(bs, h.header_length, ext_end, &feature_table,
                               &feature_table_len, errp) ||
        !qcow2_crypto_open(bs, flags, has_key, errp) ||
        !qcow2_check_incompatible_features(&h, feature_table,
                                           feature_table_len, errp)) {
        return false;
    }
    if ((h.incompatible_features & QCOW2_INCOMPAT_CORRUPT) &&
        (flags & BDRV_O_RDWR) && !(flags & BDRV_O_CHECK)) {
        error_setg(errp, "qcow2: Image is corrupt; cannot be opened "
                   "read/write");
        return false;
    }
    if (!qcow2_check_compression_type(s, &h, errp)) {
        return false;
    }
    s->writable = flags & BDRV_O_RDWR;

    if (!set_geometry(s, &h, errp) ||
        !read_tables(bs, &h, flags, errp)) {
        return false;
    }

    /* L2 cache: by default big enough for the whole disk, up to 32 MiB */
    l2_tables = DIV_ROUND_UP(h.size, s->cluster_size * s->l2_size);
    max_entries = (l2_cache_size ? (int64_t)l2_cache_size :
                   MIN(l2_tables * s->cluster_size,
                       DEFAULT_L2_CACHE_MAX_SIZE)) / s->cluster_size;
    s->l2_cache = qcow2_cache_create((int)MAX(MIN(max_entries, 65536), 2),
                                     s->cluster_size);

    if (!read_backing_name(bs, &h, errp)) {
        return false;
    }
    if (s->writable && !open_for_writing(bs, &h, refcount_cache_size,
                                         errp)) {
        return false;
    }
    s->data_file_raw = s->autoclear_features & QCOW2_AUTOCLEAR_DATA_FILE_RAW;
    if (!open_data_file(bs, options, flags, errp)) {
        return false;
    }
    if (!(flags & BDRV_O_CHECK)) {
        s->snapshots_offset = h.snapshots_offset;
        s->nb_snapshots = h.nb_snapshots;
        if (!qcow2_read_snapshots(bs, errp)) {
            return false;
        }
    }
    if (sn_id || sn_name) {
        if (flags & BDRV_O_RDWR) {
            error_setg(errp, "Snapshots can only be loaded read-only");
            return false;
        }
        if (qcow2_co_snapshot_load_tmp(bs, sn_id, sn_name, errp) < 0) {
            error_prepend(errp, "Failed to load snapshot: ");
            return false;
        }
    }
    if (!read_bitmap_directory(bs, errp)) {
        return false;
    }
    /* the bitmaps describe the active disk, not a snapshot's */
    if (!sn_id && !sn_name && !qcow2_load_bitmaps(bs, errp)) {
        return false;
    }
    return repair_if_dirty(bs, flags, errp);
}

/*
 * Opened read-only, written from now on (a commit's base): what a
 * read-write open does past reading the tables, as 7.2's reopen.
 */
static bool coroutine_fn qcow2_co_reopen_rw(BlockDriverState *bs,
                                            Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    QCowHeader h = { 0 };
    int ret;

    if (s->incompatible_features & QCOW2_INCOMPAT_CORRUPT) {
        error_setg(errp, "qcow2: Image is corrupt; cannot be opened "
                   "read/write");
        return false;
    }
    /* made read-only in place earlier: the refcounts are still loaded */
    if (!s->writable) {
        if (!qcow2_read_header(bs, &h, errp)) {
            return false;
        }
        /* what a read-only node loaded on demand (block status) goes */
        qcow2_refcount_close(bs);
        s->writable = true;
        if (!open_for_writing(bs, &h, 0, errp)) {
            s->writable = false;
            return false;
        }
    }
    if (s->has_bitmaps) {
        ret = qcow2_mark_bitmaps_in_use(bs);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Can't update bitmap directory");
            return false;
        }
    }
    return repair_if_dirty(bs, bs->open_flags, errp);
}

static void qcow2_close(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;

    qcow2_refcount_close(bs);
    qcow2_cache_destroy(s->l2_cache);
    g_free(s->l1_table);
    g_free(s->image_data_file);
    qobject_unref(s->crypto_info);
    qcow2_free_snapshots(s);
    for (int i = 0; s->bitmaps && i < s->nb_bitmaps; i++) {
        g_free(s->bitmaps[i].name);
    }
    g_free(s->bitmaps);
}

static void qcow2_refresh_limits(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;

    bs->bl.request_alignment = 1;
    bs->bl.pwrite_zeroes_alignment = s->subcluster_size;
    bs->bl.pdiscard_alignment = s->cluster_size;
}

static int64_t coroutine_fn qcow2_co_getlength(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;

    return s->virtual_size;
}

static int qcow2_get_info(BlockDriverState *bs, BlockDriverInfo *bdi)
{
    BDRVQcow2State *s = bs->opaque;

    bdi->cluster_size = s->cluster_size;
    bdi->vm_state_offset = (int64_t)s->l1_vm_state_index <<
                           (s->cluster_bits + s->l2_bits);
    bdi->is_dirty = s->incompatible_features & QCOW2_INCOMPAT_DIRTY;
    bdi->encrypted = s->crypt_method != QCOW_CRYPT_NONE;
    return 0;
}

static QDict *qcow2_get_specific_info(BlockDriverState *bs, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    QDict *info = qdict_new();
    QDict *data = qdict_new();

    qdict_put_str(info, "type", "qcow2");
    if (s->version == 2) {
        qdict_put_str(data, "compat", "0.10");
        qdict_put_str(data, "compression-type", "zlib");
        qdict_put_int(data, "refcount-bits", 1 << s->refcount_order);
    } else {
        qdict_put_str(data, "compat", "1.1");
        qdict_put_str(data, "compression-type",
                      s->compression_type == QCOW2_COMPRESSION_TYPE_ZSTD ?
                      "zstd" : "zlib");
        qdict_put_bool(data, "lazy-refcounts",
                       s->compatible_features & QCOW2_COMPAT_LAZY_REFCOUNTS);
        if (s->has_bitmaps) {
            QObject *list = qlist_new();
            int i;
            for (i = 0; i < s->nb_bitmaps; i++) {
                QDict *b = qdict_new();
                QObject *flags = qlist_new();
                if (s->bitmaps[i].flags & BME_FLAG_IN_USE) {
                    qlist_append(flags, qstring_new("in-use"));
                }
                if (s->bitmaps[i].flags & BME_FLAG_AUTO) {
                    qlist_append(flags, qstring_new("auto"));
                }
                qdict_put_obj(b, "flags", flags);
                qdict_put_str(b, "name", s->bitmaps[i].name);
                qdict_put_int(b, "granularity",
                              1LL << MIN(s->bitmaps[i].granularity_bits, 63));
                qlist_append(list, b);
            }
            qdict_put_obj(data, "bitmaps", list);
        }
        qdict_put_int(data, "refcount-bits", 1 << s->refcount_order);
        if (s->crypto_info) {
            qdict_put_obj(data, "encrypt", qobject_ref(s->crypto_info));
        }
        qdict_put_bool(data, "corrupt",
                       s->incompatible_features & QCOW2_INCOMPAT_CORRUPT);
        if (s->image_data_file) {
            qdict_put_str(data, "data-file", s->image_data_file);
        }
        if (has_data_file(s)) {
            qdict_put_bool(data, "data-file-raw", s->data_file_raw);
        }
        qdict_put_bool(data, "extended-l2",
                       s->incompatible_features & QCOW2_INCOMPAT_EXTL2);
    }
    qdict_put_obj(info, "data", data);
    return info;
}

static QObject *qcow2_snapshot_list(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    QObject *list;
    int i;

    if (s->nb_snapshots == 0) {
        return NULL;
    }
    list = qlist_new();
    for (i = 0; i < s->nb_snapshots; i++) {
        Qcow2Snapshot *sn = &s->snapshots[i];
        QDict *d = qdict_new();
        qdict_put_str(d, "id", sn->id_str);
        qdict_put_str(d, "name", sn->name);
        qdict_put_int(d, "vm-state-size", sn->vm_state_size);
        qdict_put_int(d, "date-sec", sn->date_sec);
        qdict_put_int(d, "date-nsec", sn->date_nsec);
        qdict_put_int(d, "vm-clock-sec", sn->vm_clock_nsec / 1000000000);
        qdict_put_int(d, "vm-clock-nsec", sn->vm_clock_nsec % 1000000000);
        if (sn->icount != (uint64_t)-1) {
            qdict_put_int(d, "icount", sn->icount);
        }
        qlist_append(list, d);
    }
    return list;
}

static bool qcow2_has_zero_init(BlockDriverState *bs)
{
    return true;
}

/*
 * The VM state lives past the guest disk, at the first L1 entry the disk
 * does not use, in the same L1/L2 tables (as 7.2 puts it).
 */
static int64_t vm_state_offset(BDRVQcow2State *s)
{
    return (int64_t)size_to_l1(s, s->virtual_size) <<
           (s->cluster_bits + s->l2_bits);
}

static int coroutine_fn rw_vmstate(BlockDriverState *bs, QEMUIOVector *qiov,
                                   int64_t pos, bool is_read)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t start = vm_state_offset(s);

    if (pos > INT64_MAX - start - (int64_t)qiov->size) {
        return -EINVAL;
    }
    BLKDBG_EVENT(bs->file, is_read ? BLKDBG_VMSTATE_LOAD : BLKDBG_VMSTATE_SAVE);
    return is_read ? qcow2_co_preadv(bs, start + pos, qiov->size, qiov, 0) :
                     qcow2_co_pwritev(bs, start + pos, qiov->size, qiov, 0);
}

static int coroutine_fn qcow2_co_save_vmstate(BlockDriverState *bs,
                                              QEMUIOVector *qiov, int64_t pos)
{
    return rw_vmstate(bs, qiov, pos, false);
}

static int coroutine_fn qcow2_co_load_vmstate(BlockDriverState *bs,
                                              QEMUIOVector *qiov, int64_t pos)
{
    return rw_vmstate(bs, qiov, pos, true);
}

/* Options that a reopen replaces as a group (7.2's qcow2_join_options). */
static int join_group(const char *key)
{
    if (!strcmp(key, "cache-size") || !strcmp(key, "l2-cache-size") ||
        !strcmp(key, "refcount-cache-size")) {
        return 1;
    }
    if (!strcmp(key, "overlap-check") ||
        g_str_has_prefix(key, "overlap-check.")) {
        return 2;
    }
    return 0;
}

static void qcow2_join_options(QDict *changes, QDict *old)
{
    bool given[3] = { false, false, false };
    size_t i;

    for (i = 0; i < qdict_size(changes); i++) {
        given[join_group(qdict_key_at(changes, i))] = true;
    }
    for (i = 0; i < qdict_size(old);) {
        int g = join_group(qdict_key_at(old, i));

        if (g && given[g]) {
            qdict_del(old, qdict_key_at(old, i));
        } else {
            i++;
        }
    }
}

const BlockDriver bdrv_qcow2 = {
    .format_name = "qcow2",
    .instance_size = sizeof(BDRVQcow2State),
    .supports_backing = true,
    .supports_compression = true,
    .probe = qcow2_probe,
    .co_open = qcow2_co_open,
    .join_options = qcow2_join_options,
    .close = qcow2_close,
    .refresh_limits = qcow2_refresh_limits,
    .co_inactivate = qcow2_co_inactivate,
    .co_reopen_rw = qcow2_co_reopen_rw,
    .co_check = qcow2_co_check,
    .co_preadv = qcow2_co_preadv,
    .co_pwritev = qcow2_co_pwritev,
    .co_pwrite_zeroes = qcow2_co_pwrite_zeroes,
    .co_pdiscard = qcow2_co_pdiscard,
    .co_flush_to_os = qcow2_co_flush_to_os,
    .co_truncate = qcow2_co_truncate,
    .co_amend = qcow2_co_amend,
    .co_make_empty = qcow2_co_make_empty,
    .co_change_backing_file = qcow2_co_change_backing_file,
    .amend_opts = qcow2_amend_opts,
    .co_block_status = qcow2_co_block_status,
    .supports_bitmaps = qcow2_supports_bitmaps,
    .can_store_bitmap = qcow2_can_store_bitmap,
    .co_store_bitmaps = qcow2_co_store_bitmaps,
    .co_bitmaps_in_use = qcow2_co_bitmaps_in_use,
    .co_getlength = qcow2_co_getlength,
    .co_save_vmstate = qcow2_co_save_vmstate,
    .co_load_vmstate = qcow2_co_load_vmstate,
    .get_info = qcow2_get_info,
    .get_specific_info = qcow2_get_specific_info,
    .has_zero_init = qcow2_has_zero_init,
    .snapshot_list = qcow2_snapshot_list,
    .co_snapshot_load_tmp = qcow2_co_snapshot_load_tmp,
    .co_snapshot_create = qcow2_co_snapshot_create,
    .co_snapshot_goto = qcow2_co_snapshot_goto,
    .co_snapshot_delete = qcow2_co_snapshot_delete,
    .co_create = qcow2_co_create,
    .co_create_node = qcow2_co_create_node,
    .create_opts = qcow2_create_opts,
    .co_measure = qcow2_co_measure,
};
