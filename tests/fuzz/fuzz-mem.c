/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The in-memory image the fast fuzz targets open (see fuzz-mem.h).
 */
#include "fuzz-mem.h"
#include "block/qcow2/qcow2.h"
#include "util/aio.h"

struct FuzzImage {
    uint8_t *buf;
    size_t len;         /* the file's length */
    size_t cap;         /* allocated */
};

typedef struct FuzzMemState {
    FuzzImage *img;
} FuzzMemState;

FuzzImage *fuzz_image_new(const uint8_t *data, size_t size)
{
    FuzzImage *img = g_new0(FuzzImage, 1);

    img->cap = MAX(size, 4096);
    img->buf = g_malloc0(img->cap);
    memcpy(img->buf, data, size);
    img->len = size;
    return img;
}

void fuzz_image_free(FuzzImage *img)
{
    if (img) {
        g_free(img->buf);
        g_free(img);
    }
}

/* Make the image @len long (zeroes added); -ENOSPC past FUZZ_MEM_MAX. */
static int mem_set_length(FuzzImage *img, uint64_t len)
{
    if (len > FUZZ_MEM_MAX) {
        return -ENOSPC;
    }
    if (len > img->cap) {
        size_t cap = MAX(len, MIN(2 * img->cap, (size_t)FUZZ_MEM_MAX));
        img->buf = g_realloc(img->buf, cap);
        memset(img->buf + img->cap, 0, cap - img->cap);
        img->cap = cap;
    }
    if (len < img->len) {
        memset(img->buf + len, 0, img->len - len);
    }
    img->len = len;
    return 0;
}

static int coroutine_fn mem_co_preadv(BlockDriverState *bs, int64_t offset,
                                      int64_t bytes, QEMUIOVector *qiov,
                                      BdrvRequestFlags flags)
{
    FuzzImage *img = ((FuzzMemState *)bs->opaque)->img;
    size_t n = offset < (int64_t)img->len ?
               MIN((size_t)bytes, img->len - offset) : 0;

    qemu_iovec_from_buf(qiov, 0, img->buf + offset, n);
    qemu_iovec_memset(qiov, n, 0, bytes - n);
    return 0;
}

static int coroutine_fn mem_co_pwritev(BlockDriverState *bs, int64_t offset,
                                       int64_t bytes, QEMUIOVector *qiov,
                                       BdrvRequestFlags flags)
{
    FuzzImage *img = ((FuzzMemState *)bs->opaque)->img;

    if ((uint64_t)offset + bytes > img->len &&
        mem_set_length(img, offset + bytes) < 0) {
        return -ENOSPC;
    }
    qemu_iovec_to_buf(qiov, 0, img->buf + offset, bytes);
    return 0;
}

static int coroutine_fn mem_co_truncate(BlockDriverState *bs, int64_t offset,
                                        bool exact, PreallocMode prealloc,
                                        BdrvRequestFlags flags, Error **errp)
{
    FuzzImage *img = ((FuzzMemState *)bs->opaque)->img;
    int ret = mem_set_length(img, offset);

    if (ret < 0) {
        error_setg(errp, "Image too large for the fuzzer");
    }
    return ret;
}

static int64_t coroutine_fn mem_co_getlength(BlockDriverState *bs)
{
    return ((FuzzMemState *)bs->opaque)->img->len;
}

static int coroutine_fn mem_co_flush(BlockDriverState *bs)
{
    return 0;
}

/* The image fuzz_qcow2_open() is opening (co_open takes no other way in). */
static FuzzImage *opening;

static bool coroutine_fn mem_co_open(BlockDriverState *bs, QDict *options,
                                     int flags, Error **errp)
{
    ((FuzzMemState *)bs->opaque)->img = opening;
    return true;
}

static const BlockDriver bdrv_fuzz_mem = {
    .format_name = "fuzz-mem",
    .protocol_name = "fuzz-mem",
    .instance_size = sizeof(FuzzMemState),
    .co_open = mem_co_open,
    .co_preadv = mem_co_preadv,
    .co_pwritev = mem_co_pwritev,
    .co_truncate = mem_co_truncate,
    .co_getlength = mem_co_getlength,
    .co_flush_to_disk = mem_co_flush,
};

BlockDriverState *coroutine_fn fuzz_qcow2_open(FuzzImage *img, int flags)
{
    g_autoptr(QObject) mem_opts = qdict_new();
    g_autoptr(QObject) opts = qdict_new();
    BlockDriverState *file;

    /* incompatible_features at 72, bit 2: an external data file */
    if (img->len >= 80 && (img->buf[79] & 0x04)) {
        return NULL;
    }
    opening = img;
    file = bdrv_co_open_driver(&bdrv_fuzz_mem, "fuzz.qcow2", NULL, mem_opts,
                               (flags & BDRV_O_RDWR) | BDRV_O_PROTOCOL,
                               NULL);
    if (!file) {
        return NULL;
    }
    /* small caches: an input must not cost its declared size in memory */
    qdict_put_str(opts, "l2-cache-size", "262144");
    qdict_put_str(opts, "refcount-cache-size", "262144");
    return bdrv_co_open_driver(&bdrv_qcow2, "fuzz.qcow2", file, opts,
                               flags | BDRV_O_NO_BACKING, NULL);
}

void fuzz_run(CoroutineEntry *fn, void *opaque)
{
    qemu_get_aio_context();
    aio_run_coroutine(fn, opaque);
}

bool fuzz_qcow2_costly(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;

    return s->nb_snapshots > 256 || (uint64_t)s->l1_size * L1E_SIZE > MiB;
}
