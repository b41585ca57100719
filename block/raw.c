/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The "raw" format: the guest sees its file child byte for byte, or a
 * window of it with the "offset" and "size" options.  When the format was
 * probed rather than given, writes that would make sector 0 look like
 * another format are refused, as QEMU does, so a guest cannot turn its
 * raw disk into a qcow2 pointing at host files.
 */
#include "util/osdep.h"
#include "block/driver.h"

typedef struct BDRVRawFmtState {
    uint64_t offset;
    uint64_t size;
    bool has_size;
    bool probed;
} BDRVRawFmtState;

static int raw_probe(const uint8_t *buf, int buf_size, const char *filename)
{
    /* Anything is raw, but every real format should win. */
    return 1;
}

static bool coroutine_fn raw_fmt_co_open(BlockDriverState *bs, QDict *options,
                                         int flags, Error **errp)
{
    BDRVRawFmtState *s = bs->opaque;
    bool has_offset;
    int64_t file_len;

    if (!bdrv_opt_take_size(options, "offset", &s->offset, &has_offset,
                            errp) ||
        !bdrv_opt_take_size(options, "size", &s->size, &s->has_size, errp) ||
        !bdrv_opt_take_bool(options, "x-probed", &s->probed, errp)) {
        return false;
    }
    file_len = bdrv_co_getlength(bs->file->bs);
    if (file_len < 0) {
        error_setg_errno(errp, (int)-file_len, "Could not get image size");
        return false;
    }
    if (s->has_size && !QEMU_IS_ALIGNED(s->size, BDRV_SECTOR_SIZE)) {
        error_setg(errp, "Specified size is not multiple of %llu",
                   BDRV_SECTOR_SIZE);
        return false;
    }
    if ((int64_t)s->offset > file_len) {
        error_setg(errp, "Offset (%" PRIu64 ") cannot be greater than size "
                   "of the containing file (%" PRId64 ")", s->offset,
                   file_len);
        return false;
    }
    if (s->has_size && (int64_t)(s->offset + s->size) > file_len) {
        error_setg(errp, "The sum of offset (%" PRIu64 ") and size (%" PRIu64
                   ") has to be smaller or equal to the  actual size of the "
                   "containing file (%" PRId64 ")", s->offset, s->size,
                   file_len);
        return false;
    }
    /* a window of the file: its size matters to us, as to a format */
    if (has_offset || s->has_size) {
        bs->file->role = BDRV_CHILD_DATA | BDRV_CHILD_PRIMARY;
        if (!bdrv_child_refresh_perms(bs, bs->file, errp)) {
            return false;
        }
    }
    bs->supported_write_flags = bs->file->bs->supported_write_flags;
    bs->supported_zero_flags = bs->file->bs->supported_zero_flags;
    return true;
}

/*
 * The default for the role, but write and resize only when our users
 * take them (a window's data role would add them), as 7.2's raw.
 */
static void raw_fmt_child_perm(BlockDriverState *bs, BdrvChild *c,
                               uint64_t perm, uint64_t shared,
                               uint64_t *nperm, uint64_t *nshared)
{
    bdrv_default_perms(bs, c, perm, shared, nperm, nshared);
    *nperm &= ~(BLK_PERM_WRITE | BLK_PERM_RESIZE);
    *nperm |= perm & (BLK_PERM_WRITE | BLK_PERM_RESIZE);
}

static void raw_fmt_refresh_limits(BlockDriverState *bs)
{
    BDRVRawFmtState *s = bs->opaque;

    /* Probed: sector 0 is written whole, so raw_fmt_co_pwritev can check it. */
    if (s->probed) {
        bs->bl.request_alignment = MAX(bs->bl.request_alignment,
                                       BDRV_SECTOR_SIZE);
    }
}

static int coroutine_fn raw_fmt_co_preadv(BlockDriverState *bs, int64_t offset,
                                          int64_t bytes, QEMUIOVector *qiov,
                                          BdrvRequestFlags flags)
{
    BDRVRawFmtState *s = bs->opaque;

    BLKDBG_EVENT(bs->file, BLKDBG_READ_AIO);
    return bdrv_co_preadv(bs->file, offset + s->offset, bytes, qiov, flags);
}

/*
 * True if @sector (512 bytes) would be probed as a format other than raw
 * by 7.2: any of them, not only ours, since an image written here may be
 * opened by any QEMU later, so a guest must not be able to forge any
 * header QEMU would believe.
 */
static bool looks_like_other_format(const uint8_t *sector)
{
    const BlockDriver *drv;
    const char *name = bdrv_probe_format(sector, BDRV_SECTOR_SIZE, NULL, &drv);

    return name && drv != &bdrv_raw;
}

static int coroutine_fn raw_fmt_co_pwritev(BlockDriverState *bs,
                                           int64_t offset, int64_t bytes,
                                           QEMUIOVector *qiov,
                                           BdrvRequestFlags flags)
{
    BDRVRawFmtState *s = bs->opaque;

    if (s->probed && offset < (int64_t)BDRV_SECTOR_SIZE) {
        uint8_t sector[BDRV_SECTOR_SIZE];
        /* request_alignment is >= 512 here, so sector 0 is whole */
        assert(offset == 0 && bytes >= (int64_t)BDRV_SECTOR_SIZE);
        qemu_iovec_to_buf(qiov, 0, sector, sizeof(sector));
        if (looks_like_other_format(sector)) {
            return -EPERM;
        }
    }
    BLKDBG_EVENT(bs->file, BLKDBG_WRITE_AIO);
    return bdrv_co_pwritev(bs->file, offset + s->offset, bytes, qiov, flags);
}

static int coroutine_fn raw_fmt_co_pwrite_zeroes(BlockDriverState *bs,
                                                 int64_t offset, int64_t bytes,
                                                 BdrvRequestFlags flags)
{
    BDRVRawFmtState *s = bs->opaque;

    return bdrv_co_pwrite_zeroes(bs->file, offset + s->offset, bytes, flags);
}

static int coroutine_fn raw_fmt_co_pdiscard(BlockDriverState *bs,
                                            int64_t offset, int64_t bytes)
{
    BDRVRawFmtState *s = bs->opaque;

    return bdrv_co_pdiscard(bs->file, offset + s->offset, bytes);
}

static int coroutine_fn raw_fmt_co_block_status(BlockDriverState *bs,
                                                bool want_zero, int64_t offset,
                                                int64_t bytes, int64_t *pnum,
                                                int64_t *map,
                                                BlockDriverState **file)
{
    BDRVRawFmtState *s = bs->opaque;

    *pnum = bytes;
    *map = offset + s->offset;
    *file = bs->file->bs;
    return BDRV_BLOCK_RAW | BDRV_BLOCK_OFFSET_VALID;
}

static int64_t coroutine_fn raw_fmt_co_getlength(BlockDriverState *bs)
{
    BDRVRawFmtState *s = bs->opaque;
    int64_t len;

    if (s->has_size) {
        return s->size;
    }
    len = bdrv_co_getlength(bs->file->bs);
    if (len < 0) {
        return len;
    }
    return MAX(0, len - (int64_t)s->offset);
}

static int coroutine_fn raw_fmt_co_truncate(BlockDriverState *bs,
                                            int64_t offset, bool exact,
                                            PreallocMode prealloc,
                                            BdrvRequestFlags flags,
                                            Error **errp)
{
    BDRVRawFmtState *s = bs->opaque;

    if (s->has_size) {
        error_setg(errp, "Cannot resize fixed-size raw disks");
        return -ENOTSUP;
    }
    return bdrv_co_truncate(bs->file, offset + s->offset, exact, prealloc,
                            flags, errp);
}

static int raw_fmt_get_info(BlockDriverState *bs, BlockDriverInfo *bdi)
{
    /* what the protocol knows (nothing for nfs: info shows no dirty flag) */
    return bdrv_get_info(bs->file->bs, bdi);
}

static bool raw_fmt_has_zero_init(BlockDriverState *bs)
{
    return bdrv_has_zero_init(bs->file->bs);
}

static bool coroutine_fn raw_fmt_co_create(const char *filename, QDict *opts,
                                           Error **errp)
{
    return bdrv_co_create_file(filename, opts, errp);
}

/* Unallocated sectors take room in a raw file too: both sizes are one. */
static bool coroutine_fn raw_fmt_co_measure(QDict *opts,
                                            BlockDriverState *in_bs,
                                            BlockMeasureInfo *info,
                                            Error **errp)
{
    int64_t required;
    uint64_t size;

    if (in_bs) {
        required = bdrv_co_getlength(in_bs);
        if (required < 0) {
            error_setg_errno(errp, -required, "Unable to get image size");
            return false;
        }
    } else {
        if (!create_opt_get_size(opts, "size", 0, &size, errp)) {
            return false;
        }
        required = QEMU_ALIGN_UP(size, BDRV_SECTOR_SIZE);
    }
    info->required = info->fully_allocated = required;
    return true;
}

static const CreateOptDesc raw_fmt_create_opts[] = {
    { "size", OPT_SIZE, "Virtual disk size", NULL },
    { NULL },
};

const BlockDriver bdrv_raw = {
    .format_name = "raw",
    .instance_size = sizeof(BDRVRawFmtState),
    .file_role = BDRV_CHILD_FILTERED | BDRV_CHILD_PRIMARY,
    .child_perm = raw_fmt_child_perm,
    .probe = raw_probe,
    .co_open = raw_fmt_co_open,
    .refresh_limits = raw_fmt_refresh_limits,
    .co_preadv = raw_fmt_co_preadv,
    .co_pwritev = raw_fmt_co_pwritev,
    .co_pwrite_zeroes = raw_fmt_co_pwrite_zeroes,
    .co_pdiscard = raw_fmt_co_pdiscard,
    .co_block_status = raw_fmt_co_block_status,
    .co_truncate = raw_fmt_co_truncate,
    .co_getlength = raw_fmt_co_getlength,
    .get_info = raw_fmt_get_info,
    .has_zero_init = raw_fmt_has_zero_init,
    .co_create = raw_fmt_co_create,
    .create_opts = raw_fmt_create_opts,
    .co_measure = raw_fmt_co_measure,
};
