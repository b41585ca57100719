/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The in-memory image the fast fuzz targets open (see fuzz-mem.h).
 */
#include "fuzz-mem.h"
#include "block/qcow2/qcow2.h"
#include "util/aio.h"
#include "util/bswap.h"

/*
 * Sparse: pages of FUZZ_MEM_PAGE bytes, allocated when first written, so
 * that an input which makes the image grow by tens of MiB (a refcount
 * table moved to the end) costs what it writes, not a memset of the gap.
 */
#define FUZZ_MEM_PAGE (64 * KiB)
#define FUZZ_MEM_PAGES (FUZZ_MEM_MAX / FUZZ_MEM_PAGE)

struct FuzzImage {
    uint8_t *page[FUZZ_MEM_PAGES];      /* NULL: zeroes */
    uint64_t len;                       /* the file's length */
};

typedef struct FuzzMemState {
    FuzzImage *img;
} FuzzMemState;

/* Write @n bytes at @offset (within FUZZ_MEM_MAX) into @img. */
static void mem_fill(FuzzImage *img, uint64_t offset, const uint8_t *buf,
                     uint64_t n)
{
    while (n > 0) {
        uint64_t i = offset / FUZZ_MEM_PAGE, in = offset % FUZZ_MEM_PAGE;
        uint64_t part = MIN(n, FUZZ_MEM_PAGE - in);

        if (!img->page[i]) {
            img->page[i] = g_malloc0(FUZZ_MEM_PAGE);
        }
        memcpy(img->page[i] + in, buf, part);
        offset += part;
        buf += part;
        n -= part;
    }
}

FuzzImage *fuzz_image_new(const uint8_t *data, size_t size)
{
    FuzzImage *img = g_new0(FuzzImage, 1);

    size = MIN(size, (size_t)FUZZ_MEM_MAX);
    mem_fill(img, 0, data, size);
    img->len = size;
    return img;
}

void fuzz_image_free(FuzzImage *img)
{
    if (img) {
        for (size_t i = 0; i < FUZZ_MEM_PAGES; i++) {
            g_free(img->page[i]);
        }
        g_free(img);
    }
}

/* Make the image @len long (zeroes added); -ENOSPC past FUZZ_MEM_MAX. */
static int mem_set_length(FuzzImage *img, uint64_t len)
{
    if (len > FUZZ_MEM_MAX) {
        return -ENOSPC;
    }
    if (len < img->len) {
        /* what lies past the new end reads as zeroes if it grows again */
        uint64_t first = DIV_ROUND_UP(len, FUZZ_MEM_PAGE);

        if (len % FUZZ_MEM_PAGE && img->page[len / FUZZ_MEM_PAGE]) {
            memset(img->page[len / FUZZ_MEM_PAGE] + len % FUZZ_MEM_PAGE, 0,
                   FUZZ_MEM_PAGE - len % FUZZ_MEM_PAGE);
        }
        for (uint64_t i = first; i < FUZZ_MEM_PAGES; i++) {
            g_clear_pointer(&img->page[i], g_free);
        }
    }
    img->len = len;
    return 0;
}

static int coroutine_fn mem_co_preadv(BlockDriverState *bs, int64_t offset,
                                      int64_t bytes, QEMUIOVector *qiov,
                                      BdrvRequestFlags flags)
{
    FuzzImage *img = ((FuzzMemState *)bs->opaque)->img;
    uint64_t n = (uint64_t)offset < img->len ?
                 MIN((uint64_t)bytes, img->len - offset) : 0;
    uint64_t done = 0;

    while (done < n) {
        uint64_t i = (offset + done) / FUZZ_MEM_PAGE;
        uint64_t in = (offset + done) % FUZZ_MEM_PAGE;
        uint64_t part = MIN(n - done, FUZZ_MEM_PAGE - in);

        if (img->page[i]) {
            qemu_iovec_from_buf(qiov, done, img->page[i] + in, part);
        } else {
            qemu_iovec_memset(qiov, done, 0, part);
        }
        done += part;
    }
    qemu_iovec_memset(qiov, n, 0, bytes - n);
    return 0;
}

static int coroutine_fn mem_co_pwritev(BlockDriverState *bs, int64_t offset,
                                       int64_t bytes, QEMUIOVector *qiov,
                                       BdrvRequestFlags flags)
{
    FuzzImage *img = ((FuzzMemState *)bs->opaque)->img;
    uint64_t done = 0;

    if ((uint64_t)offset + bytes > img->len &&
        mem_set_length(img, offset + bytes) < 0) {
        return -ENOSPC;
    }
    while (done < (uint64_t)bytes) {
        uint64_t i = (offset + done) / FUZZ_MEM_PAGE;
        uint64_t in = (offset + done) % FUZZ_MEM_PAGE;
        uint64_t part = MIN((uint64_t)bytes - done, FUZZ_MEM_PAGE - in);

        if (!img->page[i]) {
            img->page[i] = g_malloc0(FUZZ_MEM_PAGE);
        }
        qemu_iovec_to_buf(qiov, done, img->page[i] + in, part);
        done += part;
    }
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
    if (img->len >= 80 && img->page[0] && (img->page[0][79] & 0x04)) {
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
    FuzzImage *img = ((FuzzMemState *)bs->file->bs->opaque)->img;
    /* check reads the table the header declares, whatever open loaded */
    uint32_t declared = img->len >= 64 && img->page[0] ?
                        ldl_be_p(img->page[0] + 60) : 0;

    return s->nb_snapshots > 64 || declared > 64 ||
           (uint64_t)s->l1_size * L1E_SIZE > 64 * KiB;
}
