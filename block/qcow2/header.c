/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The qcow2 header's one owner: the header and its extensions read and
 * checked at open, written whole (create, amend, bitmaps, refcount
 * width) in QEMU 7.2's layout, single fields updated in place, the
 * dirty, corrupt and consistent bits, and the feature name table, both
 * written and read.
 *
 * Layout written (as 7.2): the fixed header (72 bytes for v2, 112 for v3),
 * the known extensions (backing format, data file name, the feature name
 * table where clusters are over 4 KiB), the bitmaps extension, the
 * extensions we do not know (kept as they were), the end marker, then
 * the backing file name.
 */
#include "util/osdep.h"
#include "qcow2.h"
#include "util/bswap.h"

/* Header extension types; cluster sizes 512 B to 2 MiB. */
#define QCOW2_EXT_MAGIC_END 0
#define QCOW2_EXT_MAGIC_BACKING_FORMAT 0xe2792aca
#define QCOW2_EXT_MAGIC_FEATURE_TABLE 0x6803f857
#define QCOW2_EXT_MAGIC_CRYPTO_HEADER 0x0537be77
#define QCOW2_EXT_MAGIC_BITMAPS 0x23852875
#define QCOW2_EXT_MAGIC_DATA_FILE 0x44415441
#define QCOW_MIN_CLUSTER_BITS 9
#define QCOW_MAX_CLUSTER_BITS 21
#define QCOW2_V2_HEADER_SIZE 72
#define QCOW2_V3_MIN_HEADER_SIZE 104

#define FEATURE_ENTRY_SIZE 48       /* type (1), bit (1), name (46) */
#define FEATURE_NAME_SIZE  (FEATURE_ENTRY_SIZE - 2)
#define BITMAPS_EXT_SIZE   24       /* nb, reserved, size, offset */

/* The feature name table we write, as 7.2 writes it. */
static const struct {
    uint8_t type, bit;
    const char *name;
} feature_names[] = {
    { 0, 0, "dirty bit" },
    { 0, 1, "corrupt bit" },
    { 0, 2, "external data file" },
    { 0, 3, "compression type" },
    { 0, 4, "extended L2 entries" },
    { 1, 0, "lazy refcounts" },
    { 2, 0, "bitmaps" },
    { 2, 1, "raw external data" },
};

/* ---- reading ---- */

static void be_to_cpu_header(QCowHeader *h)
{
    h->magic = be32toh(h->magic);
    h->version = be32toh(h->version);
    h->backing_file_offset = be64toh(h->backing_file_offset);
    h->backing_file_size = be32toh(h->backing_file_size);
    h->cluster_bits = be32toh(h->cluster_bits);
    h->size = be64toh(h->size);
    h->crypt_method = be32toh(h->crypt_method);
    h->l1_size = be32toh(h->l1_size);
    h->l1_table_offset = be64toh(h->l1_table_offset);
    h->refcount_table_offset = be64toh(h->refcount_table_offset);
    h->refcount_table_clusters = be32toh(h->refcount_table_clusters);
    h->nb_snapshots = be32toh(h->nb_snapshots);
    h->snapshots_offset = be64toh(h->snapshots_offset);
    h->incompatible_features = be64toh(h->incompatible_features);
    h->compatible_features = be64toh(h->compatible_features);
    h->autoclear_features = be64toh(h->autoclear_features);
    h->refcount_order = be32toh(h->refcount_order);
    h->header_length = be32toh(h->header_length);
}

static bool check_header(BlockDriverState *bs, QCowHeader *h, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;

    if (h->magic != QCOW_MAGIC) {
        error_setg(errp, "Image is not in qcow2 format");
        return false;
    }
    if (h->version < 2 || h->version > 3) {
        error_setg(errp, "Unsupported qcow2 version %" PRIu32, h->version);
        return false;
    }
    if (h->cluster_bits < QCOW_MIN_CLUSTER_BITS ||
        h->cluster_bits > QCOW_MAX_CLUSTER_BITS) {
        error_setg(errp, "Unsupported cluster size: 2^%" PRIu32,
                   h->cluster_bits);
        return false;
    }
    s->cluster_bits = h->cluster_bits;
    s->cluster_size = 1LL << s->cluster_bits;
    if (h->version == 2) {
        h->incompatible_features = 0;
        h->compatible_features = 0;
        h->autoclear_features = 0;
        h->refcount_order = 4;
        h->header_length = QCOW2_V2_HEADER_SIZE;
        h->compression_type = 0;
    } else {
        if (h->header_length < QCOW2_V3_MIN_HEADER_SIZE) {
            error_setg(errp, "qcow2 header too short");
            return false;
        }
        if (h->header_length > s->cluster_size) {
            error_setg(errp, "qcow2 header exceeds cluster size");
            return false;
        }
        if (h->header_length <= offsetof(QCowHeader, compression_type)) {
            h->compression_type = 0;
        }
    }
    if (h->backing_file_offset > (uint64_t)s->cluster_size) {
        error_setg(errp, "Invalid backing file offset");
        return false;
    }
    if (h->refcount_order > 6) {
        error_setg(errp, "Reference count entry width too large; may not "
                   "exceed 64 bits");
        return false;
    }
    if (h->crypt_method > QCOW_CRYPT_LUKS) {
        error_setg(errp, "Unsupported encryption method %" PRIu32,
                   h->crypt_method);
        return false;
    }
    return true;
}

bool coroutine_fn qcow2_read_header(BlockDriverState *bs, QCowHeader *h,
                                   Error **errp)
{
    int ret = bdrv_co_pread(bs->file, 0, sizeof(*h), h, 0);

    if (ret < 0) {
        error_setg_errno(errp, -ret, "Could not read qcow2 header");
        return false;
    }
    be_to_cpu_header(h);
    return check_header(bs, h, errp);
}

/*
 * "Unsupported qcow2 feature(s): ..." with names from the image's table.
 * As 7.2 reads it: the extension zero-padded to whole entries, and the
 * table ends at its first entry with an empty name.
 */
static void report_unsupported_features(const uint8_t *table,
                                        size_t table_len, uint64_t mask,
                                        Error **errp)
{
    g_autoptr(GString) features = g_string_new(NULL);
    size_t i;

    for (i = 0; table && i < table_len; i += FEATURE_ENTRY_SIZE) {
        uint8_t f[FEATURE_ENTRY_SIZE] = { 0 };

        memcpy(f, table + i, MIN(FEATURE_ENTRY_SIZE, table_len - i));
        if (f[2] == '\0') {
            break;
        }
        if (f[0] == 0 && f[1] < 64 && (mask & (1ULL << f[1]))) {
            if (features->len) {
                g_string_append(features, ", ");
            }
            g_string_append_len(features, (const char *)f + 2,
                                strnlen((const char *)f + 2, 46));
            mask &= ~(1ULL << f[1]);
        }
    }
    if (mask) {
        if (features->len) {
            g_string_append(features, ", ");
        }
        g_string_append_printf(features, "Unknown incompatible feature: %"
                               PRIx64, mask);
    }
    error_setg(errp, "Unsupported qcow2 feature(s): %s", features->str);
}

bool qcow2_check_incompatible_features(const QCowHeader *h,
                                      const uint8_t *feature_table,
                                      size_t feature_table_len, Error **errp)
{
    if (h->incompatible_features & ~QCOW2_INCOMPAT_MASK) {
        report_unsupported_features(feature_table, feature_table_len,
                                    h->incompatible_features &
                                    ~QCOW2_INCOMPAT_MASK, errp);
        return false;
    }
    return true;
}

/*
 * Walk the header extensions between @start and @end (bytes in the first
 * cluster).  @feature_table receives a copy of the feature name table.
 */
bool coroutine_fn qcow2_read_extensions(BlockDriverState *bs, uint64_t start,
                                        uint64_t end, uint8_t **feature_table,
                                        size_t *feature_table_len,
                                        Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t offset = start;
    int ret;

    while (offset < end) {
        uint8_t hdr[8];
        uint32_t magic, len;
        g_autofree uint8_t *data = NULL;

        if (end - offset < sizeof(hdr)) {
            error_setg(errp, "Header extension too large");
            return false;
        }
        ret = bdrv_co_pread(bs->file, offset, sizeof(hdr), hdr, 0);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "qcow2_read_extension: ERROR: "
                             "pread fail from offset %" PRIu64, offset);
            return false;
        }
        magic = ldl_be_p(hdr);
        len = ldl_be_p(hdr + 4);
        offset += sizeof(hdr);
        if (magic == QCOW2_EXT_MAGIC_END) {
            break;
        }
        if (offset > end || len > end - offset) {
            error_setg(errp, "Header extension too large");
            return false;
        }
        data = g_malloc0(len + 1);
        ret = bdrv_co_pread(bs->file, offset, len, data, 0);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "ERROR: ext: Could not read "
                             "extension data");
            return false;
        }
        switch (magic) {
        case QCOW2_EXT_MAGIC_BACKING_FORMAT:
            if (len >= 16) {
                error_setg(errp, "ERROR: ext_backing_format: len=%" PRIu32
                           " too large (>=16)", len);
                return false;
            }
            g_free(bs->backing_format);
            bs->backing_format = g_strndup((char *)data, len);
            break;
        case QCOW2_EXT_MAGIC_FEATURE_TABLE:
            g_free(*feature_table);
            *feature_table = g_steal_pointer(&data);
            *feature_table_len = len;
            break;
        case QCOW2_EXT_MAGIC_DATA_FILE:
            g_free(s->image_data_file);
            s->image_data_file = g_strndup((char *)data, len);
            break;
        case QCOW2_EXT_MAGIC_BITMAPS:
            if (len != 24) {
                error_setg(errp, "bitmaps_ext: Invalid extension length");
                return false;
            }
            s->nb_bitmaps = ldl_be_p(data);
            s->bitmap_directory_size = ldq_be_p(data + 8);
            s->bitmap_directory_offset = ldq_be_p(data + 16);
            s->has_bitmaps = true;
            break;
        case QCOW2_EXT_MAGIC_CRYPTO_HEADER:
            if (!qcow2_crypto_header_ext(s, data, len, errp)) {
                return false;
            }
            break;
        default:
            /* unknown extensions are kept by QEMU on write; ignored here */
            break;
        }
        offset += ROUND_UP(len, 8);
    }
    return true;
}

bool qcow2_check_compression_type(BDRVQcow2State *s, const QCowHeader *h,
                                  Error **errp)
{
    switch (h->compression_type) {
    case QCOW2_COMPRESSION_TYPE_ZLIB:
#ifdef CONFIG_ZSTD
    case QCOW2_COMPRESSION_TYPE_ZSTD:
#endif
        break;
    default:
        error_setg(errp, "qcow2: unknown compression type: %u",
                   h->compression_type);
        return false;
    }
    if (h->compression_type != QCOW2_COMPRESSION_TYPE_ZLIB &&
        !(h->incompatible_features & QCOW2_INCOMPAT_COMPRESSION)) {
        error_setg(errp, "qcow2: Compression type incompatible feature bit "
                   "must be set");
        return false;
    }
    if (h->compression_type == QCOW2_COMPRESSION_TYPE_ZLIB &&
        (h->incompatible_features & QCOW2_INCOMPAT_COMPRESSION)) {
        error_setg(errp, "qcow2: Compression type incompatible feature bit "
                   "must not be set");
        return false;
    }
    s->compression_type = h->compression_type;
    return true;
}

/* ---- writing the whole header ---- */

static void cpu_to_be_header(QCowHeader *be, const QCowHeader *h)
{
    *be = (QCowHeader) {
        .magic = htobe32(h->magic),
        .version = htobe32(h->version),
        .backing_file_offset = htobe64(h->backing_file_offset),
        .backing_file_size = htobe32(h->backing_file_size),
        .cluster_bits = htobe32(h->cluster_bits),
        .size = htobe64(h->size),
        .crypt_method = htobe32(h->crypt_method),
        .l1_size = htobe32(h->l1_size),
        .l1_table_offset = htobe64(h->l1_table_offset),
        .refcount_table_offset = htobe64(h->refcount_table_offset),
        .refcount_table_clusters = htobe32(h->refcount_table_clusters),
        .nb_snapshots = htobe32(h->nb_snapshots),
        .snapshots_offset = htobe64(h->snapshots_offset),
        .incompatible_features = htobe64(h->incompatible_features),
        .compatible_features = htobe64(h->compatible_features),
        .autoclear_features = htobe64(h->autoclear_features),
        .refcount_order = htobe32(h->refcount_order),
        .header_length = htobe32(h->header_length),
        .compression_type = h->compression_type,
    };
}

/* Append extension @magic with @len bytes of @data at *@pos, 8-aligned. */
static void put_ext(uint8_t *buf, size_t *pos, uint32_t magic,
                    const void *data, uint32_t len)
{
    stl_be_p(buf + *pos, magic);
    stl_be_p(buf + *pos + 4, len);
    memcpy(buf + *pos + 8, data, len);
    *pos += 8 + ROUND_UP(len, 8);
}

/* Bytes the extensions of @e take, the end marker included. */
static size_t extensions_size(const QCowHeader *h, const Qcow2HeaderExts *e,
                              bool table)
{
    size_t n = 8;

    if (e->backing_fmt) {
        n += 8 + ROUND_UP(strlen(e->backing_fmt), 8);
    }
    if (e->data_file) {
        n += 8 + ROUND_UP(strlen(e->data_file), 8);
    }
    if (table) {
        n += 8 + G_N_ELEMENTS(feature_names) * FEATURE_ENTRY_SIZE;
    }
    if (e->bitmaps) {
        n += 8 + BITMAPS_EXT_SIZE;
    }
    return n + e->unknown_len;
}

static void put_feature_table(uint8_t *buf, size_t *pos)
{
    uint8_t t[G_N_ELEMENTS(feature_names) * FEATURE_ENTRY_SIZE] = { 0 };
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(feature_names); i++) {
        uint8_t *f = t + i * FEATURE_ENTRY_SIZE;

        f[0] = feature_names[i].type;
        f[1] = feature_names[i].bit;
        memcpy(f + 2, feature_names[i].name,
               MIN(strlen(feature_names[i].name), FEATURE_NAME_SIZE));
    }
    put_ext(buf, pos, QCOW2_EXT_MAGIC_FEATURE_TABLE, t, sizeof(t));
}

bool qcow2_header_encode(uint8_t *buf, size_t size, const QCowHeader *h,
                         const Qcow2HeaderExts *e, Error **errp)
{
    QCowHeader fixed = *h, be;
    /*
     * The feature table costs 392 bytes: 7.2 leaves it out of clusters
     * of 4 KiB and less, where backing file names need the room.
     */
    bool table = h->version >= 3 && h->cluster_bits > 12;
    size_t pos;

    memset(buf, 0, size);
    if (h->version >= 3) {
        fixed.header_length = sizeof(QCowHeader);
        pos = sizeof(QCowHeader);
    } else {
        pos = QCOW2_V2_HEADER_SIZE;
    }
    if (pos + extensions_size(h, e, table) > size) {
        error_setg(errp, "Header extensions too large");
        return false;
    }
    if (e->backing_fmt) {
        put_ext(buf, &pos, QCOW2_EXT_MAGIC_BACKING_FORMAT, e->backing_fmt,
                strlen(e->backing_fmt));
    }
    if (e->data_file) {
        put_ext(buf, &pos, QCOW2_EXT_MAGIC_DATA_FILE, e->data_file,
                strlen(e->data_file));
    }
    if (table) {
        put_feature_table(buf, &pos);
    }
    if (e->bitmaps) {
        /* after the feature table, as QEMU orders them */
        uint8_t ext[BITMAPS_EXT_SIZE] = { 0 };

        stl_be_p(ext, e->nb_bitmaps);
        stq_be_p(ext + 8, e->bitmap_directory_size);
        stq_be_p(ext + 16, e->bitmap_directory_offset);
        put_ext(buf, &pos, QCOW2_EXT_MAGIC_BITMAPS, ext, sizeof(ext));
    }
    if (e->unknown_len) {
        memcpy(buf + pos, e->unknown, e->unknown_len);
    }
    pos += e->unknown_len + 8;      /* and the end marker: 8 zero bytes */
    fixed.backing_file_offset = 0;
    fixed.backing_file_size = 0;
    if (e->backing_file) {
        size_t len = strlen(e->backing_file);

        if (pos + len > size) {
            error_setg(errp, "Backing file name too long");
            return false;
        }
        memcpy(buf + pos, e->backing_file, len);
        fixed.backing_file_offset = pos;
        fixed.backing_file_size = len;
    }
    cpu_to_be_header(&be, &fixed);
    memcpy(buf, &be, h->version >= 3 ? sizeof(be) : QCOW2_V2_HEADER_SIZE);
    return true;
}

/* Extensions of the current header that we do not interpret, in order. */
static int coroutine_fn unknown_extensions(BlockDriverState *bs,
                                           uint8_t *out, size_t *len,
                                           size_t room)
{
    BDRVQcow2State *s = bs->opaque;
    g_autofree uint8_t *hdr = g_malloc(s->cluster_size);
    uint32_t hlen;
    size_t pos;
    int ret;

    ret = bdrv_co_pread(bs->file, 0, s->cluster_size, hdr, 0);
    if (ret < 0) {
        return ret;
    }
    /* what is on disk, which an upgrade has not rewritten yet */
    hlen = ldl_be_p(hdr + offsetof(QCowHeader, version)) >= 3 ?
           ldl_be_p(hdr + offsetof(QCowHeader, header_length)) :
           QCOW2_V2_HEADER_SIZE;
    hlen = MAX(hlen, QCOW2_V2_HEADER_SIZE);
    *len = 0;
    for (pos = hlen; pos + 8 <= (size_t)s->cluster_size;) {
        uint32_t magic = ldl_be_p(hdr + pos);
        uint32_t elen = ldl_be_p(hdr + pos + 4);
        size_t total = 8 + ROUND_UP((size_t)elen, 8);

        if (magic == QCOW2_EXT_MAGIC_END ||
            elen > s->cluster_size - pos - 8) {
            break;
        }
        switch (magic) {
        case QCOW2_EXT_MAGIC_BACKING_FORMAT:
        case QCOW2_EXT_MAGIC_FEATURE_TABLE:
        case QCOW2_EXT_MAGIC_DATA_FILE:
        case QCOW2_EXT_MAGIC_BITMAPS:
        case QCOW2_EXT_MAGIC_CRYPTO_HEADER:
            break;
        default:
            if (*len + total > room) {
                return -ENOSPC;
            }
            memcpy(out + *len, hdr + pos, MIN(total, s->cluster_size - pos));
            *len += total;
        }
        pos += total;
    }
    return 0;
}

int coroutine_fn qcow2_rewrite_header(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    size_t size = s->cluster_size;
    g_autoblkbuf uint8_t *buf = blk_buf_alloc(bs->file->bs, size);
    g_autofree uint8_t *unknown = g_malloc0(size);
    QCowHeader h = {
        .magic = QCOW_MAGIC,
        .version = s->version,
        .cluster_bits = s->cluster_bits,
        .size = s->virtual_size,
        .crypt_method = s->crypt_method,
        .l1_size = s->l1_size,
        .l1_table_offset = s->l1_table_offset,
        .refcount_table_offset = s->refcount_table_offset,
        .refcount_table_clusters = s->refcount_table_clusters,
        .nb_snapshots = s->nb_snapshots,
        .snapshots_offset = s->snapshots_offset,
    };
    Qcow2HeaderExts e = {
        .backing_file = bs->backing_file,
        .backing_fmt = bs->backing_file ? bs->backing_format : NULL,
        .data_file = has_data_file(s) ? s->image_data_file : NULL,
        .bitmaps = s->version >= 3 && s->has_bitmaps &&
                   (s->autoclear_features & QCOW2_AUTOCLEAR_BITMAPS),
        .nb_bitmaps = s->nb_bitmaps,
        .bitmap_directory_size = s->bitmap_directory_size,
        .bitmap_directory_offset = s->bitmap_directory_offset,
        .unknown = unknown,
    };
    int ret;

    if (s->version >= 3) {
        h.incompatible_features = s->incompatible_features;
        h.compatible_features = s->compatible_features;
        h.autoclear_features = s->autoclear_features;
        h.refcount_order = s->refcount_order;
        h.compression_type = s->compression_type;
    }
    ret = unknown_extensions(bs, unknown, &e.unknown_len, size);
    if (ret < 0) {
        return ret;
    }
    if (!qcow2_header_encode(buf, size, &h, &e, NULL)) {
        return -ENOSPC;
    }
    ret = bdrv_co_pwrite(bs->file, 0, size, buf, 0);
    if (ret == 0) {
        ret = bdrv_co_flush(bs->file->bs);
    }
    return ret;
}

/* ---- fields and bits ---- */

int coroutine_fn qcow2_update_header_field(BlockDriverState *bs,
                                           size_t offset, const void *buf,
                                           size_t len)
{
    int ret = bdrv_co_pwrite(bs->file, offset, len, buf, 0);

    if (ret == 0) {
        ret = bdrv_co_flush(bs->file->bs);
    }
    return ret;
}

static int coroutine_fn write_incompatible_features(BlockDriverState *bs,
                                                    uint64_t features)
{
    uint8_t buf[8];

    stq_be_p(buf, features);
    return qcow2_update_header_field(bs, offsetof(QCowHeader,
                                                  incompatible_features),
                                     buf, sizeof(buf));
}

int coroutine_fn qcow2_mark_dirty(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    if (s->incompatible_features & QCOW2_INCOMPAT_DIRTY) {
        return 0;
    }
    /* what is in the file must be complete before it is called dirty */
    ret = bdrv_co_flush(bs->file->bs);
    if (ret == 0) {
        ret = write_incompatible_features(bs, s->incompatible_features |
                                          QCOW2_INCOMPAT_DIRTY);
    }
    if (ret == 0) {
        s->incompatible_features |= QCOW2_INCOMPAT_DIRTY;
    }
    return ret;
}

int coroutine_fn qcow2_mark_clean(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    if (!(s->incompatible_features & QCOW2_INCOMPAT_DIRTY)) {
        return 0;
    }
    ret = qcow2_cache_flush(bs, s->l2_cache);
    if (ret == 0) {
        ret = qcow2_cache_flush(bs, s->refcount_block_cache);
    }
    if (ret == 0) {
        ret = write_incompatible_features(bs, s->incompatible_features &
                                          ~QCOW2_INCOMPAT_DIRTY);
    }
    if (ret == 0) {
        s->incompatible_features &= ~QCOW2_INCOMPAT_DIRTY;
    }
    return ret;
}

/* Clear the corrupt bit (after a repair that left no corruption). */
int coroutine_fn qcow2_mark_consistent(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    if (!(s->incompatible_features & QCOW2_INCOMPAT_CORRUPT)) {
        return 0;
    }
    ret = write_incompatible_features(bs, s->incompatible_features &
                                      ~QCOW2_INCOMPAT_CORRUPT);
    if (ret == 0) {
        s->incompatible_features &= ~QCOW2_INCOMPAT_CORRUPT;
    }
    return ret;
}

int coroutine_fn qcow2_mark_corrupt(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;

    s->incompatible_features |= QCOW2_INCOMPAT_CORRUPT;
    if (s->version < 3) {
        return 0;       /* v2 has no feature bits to record it */
    }
    return write_incompatible_features(bs, s->incompatible_features);
}
