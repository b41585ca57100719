/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2 image creation with QEMU 7.2's exact layout, so that scripts that
 * poke fixed offsets and tools that print host offsets see the same file:
 * cluster 0 header (+ extensions: backing format, data file name, feature
 * name table; then the backing file name), cluster 1 refcount table,
 * cluster 2 the first refcount block, then the L1 table, written with
 * exactly l1_size entries.  Preallocation other than off needs the
 * cluster allocator (qcow2 part 2) and is refused for now.
 */
#include "util/osdep.h"
#include "qcow2.h"
#include "util/bswap.h"
#include "util/cutils.h"
#include "block/block-backend.h"

#include <sys/stat.h>

typedef struct Qcow2CreateOpts {
    uint64_t size;
    int version;
    int cluster_bits;
    int refcount_order;
    bool lazy_refcounts, extended_l2, data_file_raw;
    PreallocMode prealloc;
    Qcow2CompressionType compression_type;
    const char *backing_file, *backing_fmt, *data_file;
} Qcow2CreateOpts;

/*
 * "compat": 2 or 3 in *@version (default 3).  7.2's words differ: create
 * goes through its QAPI "version" enum, measure reads the option itself.
 */
static bool parse_compat(QDict *opts, bool create, int *version,
                         Error **errp)
{
    const char *compat = create_opt_get(opts, "compat");

    if (!compat || !strcmp(compat, "1.1") || !strcmp(compat, "v3")) {
        *version = 3;
    } else if (!strcmp(compat, "0.10") || !strcmp(compat, "v2")) {
        *version = 2;
    } else {
        if (create) {
            error_setg(errp, "Parameter 'version' does not accept value "
                       "'%s'", compat);
        } else {
            error_setg(errp, "Invalid compatibility level: '%s'", compat);
        }
        return false;
    }
    return true;
}

static bool check_cluster_size(uint64_t cluster_size, Error **errp)
{
    if (!is_power_of_2(cluster_size) || cluster_size < 512 ||
        cluster_size > 2 * MiB) {
        error_setg(errp, "Cluster size must be a power of two between 512 "
                   "and 2048k");
        return false;
    }
    return true;
}

/*
 * @use: what the hint tells to set, in 7.2's words: create's checks name
 * the QAPI option ("version=v3"), measure's the -o one ("compat=1.1").
 */
static bool check_refcount_bits(uint64_t refcount_bits, int version,
                                const char *use, Error **errp)
{
    if (!is_power_of_2(refcount_bits) || refcount_bits > 64) {
        error_setg(errp, "Refcount width must be a power of two and may not "
                   "exceed 64 bits");
        return false;
    }
    if (version < 3 && refcount_bits != 16) {
        error_setg(errp, "Different refcount widths than 16 bits require "
                   "compatibility level 1.1 or above (use %s or greater)",
                   use);
        return false;
    }
    return true;
}

#define EXTL2_MIN_CLUSTER_SIZE (16 * KiB)

static bool parse_create_opts(QDict *opts, Qcow2CreateOpts *o, Error **errp)
{
    const char *prealloc = create_opt_get(opts, "preallocation");
    const char *ctype = create_opt_get(opts, "compression_type");
    uint64_t cluster_size, refcount_bits;
    bool encrypted;

    memset(o, 0, sizeof(*o));
    if (!create_opt_get_size(opts, "size", 0, &o->size, errp) ||
        !create_opt_get_size(opts, "cluster_size", 64 * KiB, &cluster_size,
                             errp) ||
        !create_opt_get_number(opts, "refcount_bits", 16,
                               &refcount_bits, errp) ||
        !create_opt_get_bool(opts, "lazy_refcounts", false,
                             &o->lazy_refcounts, errp) ||
        !create_opt_get_bool(opts, "extended_l2", false, &o->extended_l2,
                             errp) ||
        !create_opt_get_bool(opts, "data_file_raw", false, &o->data_file_raw,
                             errp)) {
        return false;
    }
    if (!parse_compat(opts, true, &o->version, errp) ||
        !check_cluster_size(cluster_size, errp) ||
        !check_refcount_bits(refcount_bits, o->version, "version=v3",
                             errp)) {
        return false;
    }
    o->cluster_bits = ctz64(cluster_size);
    o->refcount_order = ctz64(refcount_bits);
    if (o->version < 3 && o->lazy_refcounts) {
        error_setg(errp, "Lazy refcounts only supported with compatibility "
                   "level 1.1 and above (use version=v3 or greater)");
        return false;
    }
    if (o->extended_l2) {
        if (o->version < 3) {
            error_setg(errp, "Extended L2 entries are only supported with "
                       "compatibility level 1.1 and above (use version=v3 or "
                       "greater)");
            return false;
        }
        if (cluster_size < EXTL2_MIN_CLUSTER_SIZE) {
            error_setg(errp, "Extended L2 entries are only supported with "
                       "cluster sizes of at least 16384 bytes");
            return false;
        }
    }
    o->compression_type = QCOW2_COMPRESSION_TYPE_ZLIB;
    if (ctype && !strcmp(ctype, "zstd")) {
        if (o->version < 3) {
            error_setg(errp, "Non-zlib compression type is only supported "
                       "with compatibility level 1.1 and above (use "
                       "version=v3 or greater)");
            return false;
        }
        o->compression_type = QCOW2_COMPRESSION_TYPE_ZSTD;
    } else if (ctype && strcmp(ctype, "zlib")) {
        error_setg(errp, "Parameter 'compression-type' does not accept "
                   "value '%s'", ctype);
        return false;
    }
    o->prealloc = PREALLOC_MODE_OFF;
    if (prealloc && !prealloc_mode_parse(prealloc, &o->prealloc, errp)) {
        return false;
    }
    if (!create_opt_get_bool(opts, "encryption", false, &encrypted, errp)) {
        return false;
    }
    /* encryption=off is what no option says */
    if (encrypted || create_opt_get(opts, "encrypt.format")) {
        error_setg(errp, "Encrypted qcow2 images are not supported");
        return false;
    }
    if (create_opt_get(opts, "backing_fmt") &&
        !create_opt_get(opts, "backing_file")) {
        error_setg(errp, "Backing format cannot be used without backing "
                   "file");
        return false;
    }
    if (create_opt_get(opts, "backing_file") && o->data_file_raw) {
        error_setg(errp, "Backing file and data-file-raw cannot be used at "
                   "the same time");
        return false;
    }
    if (create_opt_get(opts, "backing_file") &&
        o->prealloc != PREALLOC_MODE_OFF && !o->extended_l2) {
        error_setg(errp, "Backing file and preallocation can only be used at "
                   "the same time if extended_l2 is on");
        return false;
    }
    if (o->data_file_raw && o->prealloc == PREALLOC_MODE_OFF) {
        /* the raw data file must read like the image: map it all */
        o->prealloc = PREALLOC_MODE_METADATA;
    }
    o->size = QEMU_ALIGN_UP(o->size, BDRV_SECTOR_SIZE);
    o->backing_file = create_opt_get(opts, "backing_file");
    o->backing_fmt = create_opt_get(opts, "backing_fmt");
    o->data_file = create_opt_get(opts, "data_file");
    if (o->data_file_raw && !o->data_file) {
        error_setg(errp, "data-file-raw requires data-file");
        return false;
    }
    if (o->data_file && o->version < 3) {
        error_setg(errp, "External data files are only supported with "
                   "compatibility level 1.1 and above (use version=v3 or "
                   "greater)");
        return false;
    }
    return true;
}

/* Set refcount @index of a refcount block to 1, for any width. */
static void refcount_set_one(uint8_t *block, int refcount_order,
                             uint64_t index)
{
    int bits = 1 << refcount_order;

    if (bits >= 8) {
        int bytes = bits / 8;
        block[index * bytes + bytes - 1] = 1;      /* big-endian 1 */
    } else {
        /* sub-byte refcounts: entry 0 is the lowest bits of byte 0 */
        uint64_t bit = index * bits;
        block[bit / 8] |= 1 << (bit % 8);
    }
}

/* Build the header cluster: the header, its extensions, the backing name. */
static bool build_header(uint8_t *hdr, const Qcow2CreateOpts *o,
                         uint64_t l1_size, uint64_t l1_offset, Error **errp)
{
    int64_t cluster_size = 1LL << o->cluster_bits;
    QCowHeader h = {
        .magic = QCOW_MAGIC,
        .version = o->version,
        .cluster_bits = o->cluster_bits,
        .size = o->size,
        .l1_size = l1_size,
        .l1_table_offset = l1_offset,
        /* cluster 1, one cluster */
        .refcount_table_offset = cluster_size,
        .refcount_table_clusters = 1,
        .refcount_order = o->refcount_order,
        .compression_type = o->compression_type,
    };
    Qcow2HeaderExts e = {
        .backing_file = o->backing_file,
        .backing_fmt = o->backing_fmt,
        .data_file = o->data_file,
    };

    if (o->version >= 3) {
        h.incompatible_features =
            (o->data_file ? QCOW2_INCOMPAT_DATA_FILE : 0) |
            (o->compression_type != QCOW2_COMPRESSION_TYPE_ZLIB ?
             QCOW2_INCOMPAT_COMPRESSION : 0) |
            (o->extended_l2 ? QCOW2_INCOMPAT_EXTL2 : 0);
        h.compatible_features =
            o->lazy_refcounts ? QCOW2_COMPAT_LAZY_REFCOUNTS : 0;
        h.autoclear_features =
            o->data_file_raw ? QCOW2_AUTOCLEAR_DATA_FILE_RAW : 0;
    } else {
        h.refcount_order = 0;
        h.compression_type = 0;
    }
    return qcow2_header_encode(hdr, cluster_size, &h, &e, errp);
}

/*
 * Whether the image @filename would name itself as backing file @backing
 * (relative to it): by name, or by inode when both exist.
 */
static bool backs_itself(const char *filename, const char *backing)
{
    g_autofree char *full = bdrv_path_relative_to(filename, backing);
    struct stat sb, si;

    return !strcmp(full, filename) ||
           (stat(full, &sb) == 0 && stat(filename, &si) == 0 &&
            sb.st_dev == si.st_dev && sb.st_ino == si.st_ino);
}

/*
 * The L1 entries an image of @o's size needs; false + 7.2's text when
 * there would be more than an L1 table may hold.
 */
static bool l1_entries(const Qcow2CreateOpts *o, uint64_t *l1_size,
                       Error **errp)
{
    int64_t cluster_size = 1LL << o->cluster_bits;
    int64_t l2_size = cluster_size / (o->extended_l2 ? L2E_SIZE_EXTENDED :
                                                       L2E_SIZE_NORMAL);

    *l1_size = DIV_ROUND_UP(o->size, cluster_size * l2_size);
    if (*l1_size > QCOW_MAX_L1_SIZE / L1E_SIZE) {
        error_setg(errp, "The image size is too large for file format "
                   "'qcow2' (try using a larger cluster size)");
        return false;
    }
    return true;
}

/*
 * The first three clusters of a new image: header, refcount table, one
 * refcount block counting them and the @l1_clusters of an L1 table of
 * @l1_size entries right after them (none when @l1_size is 0).  NULL +
 * @errp when the header cannot hold @o.
 */
static uint8_t *build_metadata(const Qcow2CreateOpts *o, uint64_t l1_size,
                               uint64_t l1_clusters, Error **errp)
{
    int64_t cluster_size = 1LL << o->cluster_bits;
    uint8_t *meta = g_malloc0(3 * cluster_size);
    uint64_t i;

    if (!build_header(meta, o, l1_size, l1_size ? 3 * cluster_size : 0,
                      errp)) {
        g_free(meta);
        return NULL;
    }
    stq_be_p(meta + cluster_size, 2 * cluster_size);
    for (i = 0; i < 3 + (l1_size ? l1_clusters : 0); i++) {
        refcount_set_one(meta + 2 * cluster_size, o->refcount_order, i);
    }
    return meta;
}

/*
 * Open the new, empty image (the file @filename, or else on the node
 * @file_node) and give it its size and preallocation.
 */
static bool coroutine_fn grow_new_image(const char *filename,
                                        const char *file_node, uint64_t size,
                                        PreallocMode prealloc, Error **errp)
{
    QDict *opts = qdict_new();
    BlockDriverState *bs;
    BdrvChild child = { 0 };
    int ret;

    qdict_put_str(opts, "driver", "qcow2");
    if (file_node) {
        qdict_put_str(opts, "file", file_node);
    }
    bs = bdrv_co_open(filename, opts, BDRV_O_RDWR | BDRV_O_NO_BACKING, errp);
    if (!bs) {
        return false;
    }
    child.bs = bs;
    ret = bdrv_co_truncate(&child, size, false, prealloc, 0, errp);
    bdrv_unref(bs);
    if (ret < 0) {
        error_prepend(errp, "Could not resize image: ");
    }
    return ret == 0;
}

bool coroutine_fn qcow2_co_create(const char *filename, QDict *opts,
                                  Error **errp)
{
    Qcow2CreateOpts o;
    g_autoptr(QObject) proto_opts = qdict_new();
    g_autofree uint8_t *meta = NULL;
    int64_t cluster_size, l1_bytes, l1_clusters, refblock_entries;
    uint64_t l1_size, l1_offset, final_size;
    BlockDriverState *file;
    bool grow;
    BdrvChild child;
    int ret;

    if (!parse_create_opts(opts, &o, errp) || !l1_entries(&o, &l1_size, errp)) {
        return false;
    }
    cluster_size = 1LL << o.cluster_bits;
    l1_bytes = l1_size * L1E_SIZE;
    l1_clusters = DIV_ROUND_UP(l1_bytes, cluster_size);
    refblock_entries = cluster_size * 8 >> o.refcount_order;
    /*
     * Preallocation, and L1 tables past the first refcount block, come
     * from growing an empty image through the allocator, as 7.2 makes
     * every image: same layout.  So does an external data file: growing
     * gives it the virtual size, as in 7.2.
     */
    grow = o.prealloc != PREALLOC_MODE_OFF || o.data_file ||
           3 + l1_clusters > refblock_entries;
    final_size = o.size;
    if (grow) {
        o.size = 0;
        l1_size = 0;
    }
    l1_offset = l1_size ? 3 * cluster_size : 0;
    meta = build_metadata(&o, l1_size, l1_clusters, errp);
    if (!meta) {
        return false;
    }

    if (o.backing_file && backs_itself(filename, o.backing_file)) {
        error_setg(errp, "Error: Trying to create an image with the same "
                   "filename as the backing file");
        return false;
    }
    qdict_put_str(proto_opts, "size", "0");
    if (o.data_file) {
        /* where open will look: relative to the image (7.2: the cwd) */
        g_autofree char *df = bdrv_path_relative_to(filename, o.data_file);
        g_autoptr(QObject) df_opts = qdict_new();
        g_autofree char *sz = g_strdup_printf("%" PRIu64, final_size);
        struct stat sd, si;

        qdict_put_str(df_opts, "size", o.data_file_raw ? sz : "0");
        if (!bdrv_co_create_file(df, df_opts, errp)) {
            return false;
        }
        /* guest data over our own header: refused, by name or inode */
        if (!strcmp(df, filename) ||
            (stat(df, &sd) == 0 && stat(filename, &si) == 0 &&
             sd.st_dev == si.st_dev && sd.st_ino == si.st_ino)) {
            error_setg(errp, "The data file '%s' is the image file itself",
                       o.data_file);
            return false;
        }
    }
    if (!bdrv_co_create_file(filename, proto_opts, errp)) {
        return false;
    }
    file = bdrv_co_open(filename, NULL, BDRV_O_RDWR | BDRV_O_PROTOCOL, errp);
    if (!file) {
        return false;
    }
    child.bs = file;
    ret = bdrv_co_pwrite(&child, 0, 3 * cluster_size, meta, 0);
    if (ret == 0 && l1_size) {
        g_autofree uint8_t *l1 = g_malloc0(l1_bytes);
        ret = bdrv_co_pwrite(&child, l1_offset, l1_bytes, l1, 0);
    }
    if (ret == 0) {
        ret = bdrv_co_flush(file);
    }
    bdrv_unref(file);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Could not write qcow2 header");
        return false;
    }
    return !grow || grow_new_image(filename, NULL, final_size, o.prealloc,
                                   errp);
}

bool coroutine_fn qcow2_co_create_node(BlockDriverState *file, QDict *opts,
                                       Error **errp)
{
    Qcow2CreateOpts o;
    g_autofree uint8_t *meta = NULL;
    int64_t cluster_size;
    uint64_t final_size, l1_size;
    BlockBackend *blk;
    int ret;

    if (!parse_create_opts(opts, &o, errp) || !l1_entries(&o, &l1_size, errp)) {
        return false;
    }
    if (o.data_file) {
        error_setg(errp, "A data file is not supported by blockdev-create "
                   "here: create the image with qemu-img");
        return false;
    }
    cluster_size = 1LL << o.cluster_bits;
    /* an empty image first, then grown to its size (as 7.2 does) */
    final_size = o.size;
    o.size = 0;
    meta = build_metadata(&o, 0, 0, errp);
    if (!meta) {
        return false;
    }

    blk = blk_new_with_bs(bdrv_ref(file), BLK_PERM_WRITE | BLK_PERM_RESIZE,
                          BLK_PERM_ALL, errp);
    if (!blk) {
        return false;
    }
    blk_set_allow_write_beyond_eof(blk, true);
    ret = blk_co_truncate(blk, 0, false, PREALLOC_MODE_OFF, 0, errp);
    if (ret == 0) {
        ret = blk_co_pwrite(blk, 0, 3 * cluster_size, meta, 0);
        if (ret == 0) {
            ret = blk_co_flush(blk);
        }
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Could not write qcow2 header");
        }
    }
    blk_unref(blk);
    if (ret < 0) {
        return false;
    }
    return grow_new_image(NULL, file->node_name, final_size, o.prealloc,
                          errp);
}

/*
 * File size of an image of @size with every cluster allocated: header,
 * L1 and L2 tables, refcount table and blocks, data (7.2's formula).
 */
static uint64_t fully_allocated_size(uint64_t size, uint64_t cluster_size,
                                     int refcount_order, bool extended_l2)
{
    uint64_t data = ROUND_UP(size, cluster_size);
    uint64_t l2e_size = extended_l2 ? L2E_SIZE_EXTENDED : L2E_SIZE_NORMAL;
    uint64_t l2e = ROUND_UP(data / cluster_size, cluster_size / l2e_size);
    uint64_t l1e = ROUND_UP(l2e * l2e_size / cluster_size,
                            cluster_size / L1E_SIZE);
    uint64_t meta = cluster_size + l2e * l2e_size + l1e * L1E_SIZE;

    meta += qcow2_refcount_metadata_size((meta + data) / cluster_size,
                                         cluster_size, refcount_order, false,
                                         NULL);
    return meta + data;
}

/* Bytes of @in_bs's data clusters (what a convert writes), per 7.2. */
static bool coroutine_fn measure_data(BlockDriverState *in_bs, int64_t size,
                                      uint64_t cluster_size,
                                      uint64_t *required, Error **errp)
{
    int64_t offset, pnum;

    for (offset = 0; offset < size; offset += pnum) {
        int ret = bdrv_co_block_status_above(in_bs, NULL, false, true, offset,
                                             size - offset, &pnum, NULL, NULL,
                                             NULL);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Unable to get block status");
            return false;
        }
        if (pnum == 0) {
            break;
        }
        if (!(ret & BDRV_BLOCK_ZERO) &&
            (ret & (BDRV_BLOCK_DATA | BDRV_BLOCK_ALLOCATED)) ==
            (BDRV_BLOCK_DATA | BDRV_BLOCK_ALLOCATED)) {
            /* whole clusters: on to the end of this one */
            pnum = ROUND_UP(offset + pnum, cluster_size) - offset;
            *required += offset % cluster_size + pnum;
        }
    }
    return true;
}

bool coroutine_fn qcow2_co_measure(QDict *opts, BlockDriverState *in_bs,
                                   BlockMeasureInfo *info, Error **errp)
{
    const char *prealloc_str = create_opt_get(opts, "preallocation");
    const char *encrypt = create_opt_get(opts, "encrypt.format");
    PreallocMode prealloc = PREALLOC_MODE_OFF;
    uint64_t cluster_size, refcount_bits, size, l2e_size, required = 0;
    bool extended_l2;
    int version;

    /* 7.2's order of checks */
    if (!create_opt_get_bool(opts, "extended_l2", false, &extended_l2,
                             errp) ||
        !create_opt_get_size(opts, "cluster_size", 64 * KiB, &cluster_size,
                             errp) ||
        !check_cluster_size(cluster_size, errp)) {
        return false;
    }
    if (extended_l2 && cluster_size < EXTL2_MIN_CLUSTER_SIZE) {
        error_setg(errp, "Extended L2 entries are only supported with "
                   "cluster sizes of at least 16384 bytes");
        return false;
    }
    if (!parse_compat(opts, false, &version, errp) ||
        !create_opt_get_number(opts, "refcount_bits", 16,
                               &refcount_bits, errp) ||
        !check_refcount_bits(refcount_bits, version, "compat=1.1", errp)) {
        return false;
    }
    if (prealloc_str && !prealloc_mode_parse(prealloc_str, &prealloc, NULL)) {
        error_setg(errp, "invalid parameter value: %s", prealloc_str);
        return false;
    }
    if (encrypt && !strcmp(encrypt, "luks")) {
        error_setg(errp, "Encrypted qcow2 images are not supported");
        return false;
    }
    if (!create_opt_get_size(opts, "size", 0, &size, errp)) {
        return false;
    }
    size = ROUND_UP(size, cluster_size);
    l2e_size = extended_l2 ? L2E_SIZE_EXTENDED : L2E_SIZE_NORMAL;
    if (DIV_ROUND_UP(size / cluster_size, cluster_size / l2e_size) >
        QCOW_MAX_L1_SIZE / L1E_SIZE) {
        error_setg(errp, "The image size is too large (try using a larger "
                   "cluster size)");
        return false;
    }
    if (in_bs) {
        int64_t len = bdrv_co_getlength(in_bs);
        if (len < 0) {
            error_setg_errno(errp, -len, "Unable to get image virtual_size");
            return false;
        }
        size = ROUND_UP(len, cluster_size);
        /* with a backing file nothing is known to be shared: count all */
        if (create_opt_get(opts, "backing_file")) {
            required = size;
        } else if (!measure_data(in_bs, len, cluster_size, &required,
                                 errp)) {
            return false;
        }
    }
    if (prealloc == PREALLOC_MODE_FULL || prealloc == PREALLOC_MODE_FALLOC) {
        required = size;
    }
    info->fully_allocated = fully_allocated_size(size, cluster_size,
                                                 ctz64(refcount_bits),
                                                 extended_l2);
    /* metadata for a full image is counted either way (overestimate) */
    info->required = info->fully_allocated - size + required;
    info->has_bitmaps = version >= 3 && in_bs &&
                        bdrv_supports_persistent_bitmaps(in_bs);
    if (info->has_bitmaps) {
        info->bitmaps = qcow2_bitmaps_measure(in_bs, cluster_size);
    }
    return true;
}

/* QEMU's declaration order: "Formatting ..." prints set options in it. */
const CreateOptDesc qcow2_create_opts[] = {
    { "encryption", OPT_BOOL, "Encrypt the image with format 'aes'. "
      "(Deprecated in favor of encrypt.format=aes)", NULL },
    { "encrypt.format", OPT_STRING,
      "Encrypt the image, format choices: 'aes', 'luks'", NULL },
    { "encrypt.key-secret", OPT_STRING,
      "ID of secret providing qcow AES key or LUKS passphrase", NULL },
    { "encrypt.cipher-alg", OPT_STRING, "Name of encryption cipher algorithm",
      NULL },
    { "encrypt.cipher-mode", OPT_STRING, "Name of encryption cipher mode",
      NULL },
    { "encrypt.ivgen-alg", OPT_STRING, "Name of IV generator algorithm",
      NULL },
    { "encrypt.ivgen-hash-alg", OPT_STRING,
      "Name of IV generator hash algorithm", NULL },
    { "encrypt.hash-alg", OPT_STRING, "Name of encryption hash algorithm",
      NULL },
    { "encrypt.iter-time", OPT_NUMBER, "Time to spend in PBKDF in milliseconds",
      NULL },
    { "cluster_size", OPT_SIZE, "qcow2 cluster size", "65536" },
    { "extended_l2", OPT_BOOL, "Extended L2 tables", "off" },
    { "preallocation", OPT_STRING,
      "Preallocation mode (allowed values: off, metadata, falloc, full)",
      NULL },
    { "compression_type", OPT_STRING,
      "Compression method used for image cluster compression", "zlib" },
    { "size", OPT_SIZE, "Virtual disk size", NULL },
    { "compat", OPT_STRING, "Compatibility level (v2 [0.10] or v3 [1.1])",
      NULL },
    { "backing_file", OPT_STRING, "File name of a base image", NULL },
    { "backing_fmt", OPT_STRING, "Image format of the base image", NULL },
    { "data_file", OPT_STRING, "File name of an external data file", NULL },
    { "data_file_raw", OPT_BOOL,
      "The external data file must stay valid as a raw image", NULL },
    { "lazy_refcounts", OPT_BOOL, "Postpone refcount updates", "off" },
    { "refcount_bits", OPT_NUMBER, "Width of a reference count entry in bits",
      "16" },
    { NULL },
};
