/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2 compressed clusters: raw deflate (zlib, window 2^12) or zstd
 * frames.  Compression and decompression run on the AioContext's compute
 * pool, so that several clusters (de)compress on several cores at once;
 * the calling coroutine yields meanwhile.
 */
#include "util/osdep.h"
#include "qcow2.h"
#include "util/thread-pool.h"

#include <zlib.h>
#ifdef CONFIG_LIBDEFLATE
#include <libdeflate.h>
#endif
#ifdef CONFIG_ZSTD
#include <zstd.h>
#endif

typedef struct DecompressJob {
    void *dest;
    size_t dest_size;
    const void *src;
    size_t src_size;
    Qcow2CompressionType type;
} DecompressJob;

#ifdef CONFIG_LIBDEFLATE
/*
 * libdeflate inflates 2-3x faster than zlib.  It is used only where its
 * answer is certainly zlib's: the stream ends with exactly dest_size bytes
 * (trailing input ignored).  Anything else (a stream longer than the
 * cluster, which zlib accepts once the output is full; bad data after that
 * point) is left to zlib, so both read exactly the same images.
 */
static bool libdeflate_decompress(DecompressJob *j)
{
    struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
    size_t in_used, out_len;
    enum libdeflate_result r;

    if (!d) {
        return false;
    }
    r = libdeflate_deflate_decompress_ex(d, j->src, j->src_size, j->dest,
                                         j->dest_size, &in_used, &out_len);
    libdeflate_free_decompressor(d);
    return r == LIBDEFLATE_SUCCESS && out_len == j->dest_size;
}
#endif

/* Returns 0 when exactly dest_size bytes came out. */
static int zlib_decompress(DecompressJob *j)
{
    z_stream strm = { 0 };
    int ret;

#ifdef CONFIG_LIBDEFLATE
    if (libdeflate_decompress(j)) {
        return 0;
    }
#endif
    strm.next_in = (Bytef *)j->src;
    strm.avail_in = j->src_size;
    strm.next_out = j->dest;
    strm.avail_out = j->dest_size;
    if (inflateInit2(&strm, -12) != Z_OK) {
        return -EIO;
    }
    ret = inflate(&strm, Z_FINISH);
    /*
     * Z_BUF_ERROR with a full output is fine: the stored data may end in
     * the middle of a sector, followed by garbage we never asked for.
     */
    if ((ret == Z_STREAM_END || ret == Z_BUF_ERROR) && strm.avail_out == 0) {
        ret = 0;
    } else {
        ret = -EIO;
    }
    inflateEnd(&strm);
    return ret;
}

#ifdef CONFIG_ZSTD
static int zstd_decompress(DecompressJob *j)
{
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    ZSTD_outBuffer out = { j->dest, j->dest_size, 0 };
    ZSTD_inBuffer in = { j->src, j->src_size, 0 };
    int ret = 0;

    if (!dctx) {
        return -EIO;
    }
    /* Several frames may follow each other; stop when the cluster is full. */
    while (out.pos < out.size) {
        size_t last_in = in.pos, last_out = out.pos;
        size_t zret = ZSTD_decompressStream(dctx, &out, &in);
        if (ZSTD_isError(zret)) {
            ret = -EIO;
            break;
        }
        if (in.pos == last_in && out.pos == last_out) {
            ret = -EIO;     /* no progress: input ended too early */
            break;
        }
    }
    ZSTD_freeDCtx(dctx);
    return ret;
}
#endif

typedef struct CompressJob {
    void *dest;
    size_t dest_size;
    const void *src;
    size_t src_size;
    Qcow2CompressionType type;
    ssize_t result;
} CompressJob;

/* Raw deflate, default level, 4 KiB window: QEMU's parameters. */
static ssize_t zlib_compress(CompressJob *j)
{
    z_stream strm = { 0 };
    ssize_t ret;

    if (deflateInit2(&strm, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12, 9,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
        return -EIO;
    }
    strm.next_in = (Bytef *)j->src;
    strm.avail_in = j->src_size;
    strm.next_out = j->dest;
    strm.avail_out = j->dest_size;
    ret = deflate(&strm, Z_FINISH);
    if (ret == Z_STREAM_END) {
        ret = j->dest_size - strm.avail_out;
    } else if (ret == Z_OK || ret == Z_BUF_ERROR) {
        ret = -ENOMEM;      /* did not fit */
    } else {
        ret = -EIO;
    }
    deflateEnd(&strm);
    return ret;
}

#ifdef CONFIG_ZSTD
/* One frame in one call, default level: QEMU's zstd parameters. */
static ssize_t zstd_compress(CompressJob *j)
{
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    ZSTD_outBuffer out = { j->dest, j->dest_size, 0 };
    ZSTD_inBuffer in = { j->src, j->src_size, 0 };
    size_t zret;
    ssize_t ret;

    if (!cctx) {
        return -EIO;
    }
    zret = ZSTD_compressStream2(cctx, &out, &in, ZSTD_e_end);
    if (zret == 0) {
        ret = out.pos;
    } else if (!ZSTD_isError(zret) || zret > out.size - out.pos) {
        ret = -ENOMEM;      /* more output pending: it does not fit */
    } else {
        ret = -EIO;
    }
    ZSTD_freeCCtx(cctx);
    return ret;
}
#endif

static int compress_worker(void *opaque)
{
    CompressJob *j = opaque;

    switch (j->type) {
    case QCOW2_COMPRESSION_TYPE_ZLIB:
        j->result = zlib_compress(j);
        break;
#ifdef CONFIG_ZSTD
    case QCOW2_COMPRESSION_TYPE_ZSTD:
        j->result = zstd_compress(j);
        break;
#endif
    default:
        j->result = -ENOTSUP;
        break;
    }
    return 0;
}

ssize_t coroutine_fn qcow2_co_compress(BlockDriverState *bs, void *dest,
                                       size_t dest_size, const void *src,
                                       size_t src_size)
{
    BDRVQcow2State *s = bs->opaque;
    CompressJob j = {
        .dest = dest,
        .dest_size = dest_size,
        .src = src,
        .src_size = src_size,
        .type = s->compression_type,
    };

    thread_pool_co_submit(aio_get_compute_pool(bs->ctx), compress_worker, &j);
    return j.result;
}

static int decompress_worker(void *opaque)
{
    DecompressJob *j = opaque;

    switch (j->type) {
    case QCOW2_COMPRESSION_TYPE_ZLIB:
        return zlib_decompress(j);
#ifdef CONFIG_ZSTD
    case QCOW2_COMPRESSION_TYPE_ZSTD:
        return zstd_decompress(j);
#endif
    default:
        return -ENOTSUP;
    }
}

int coroutine_fn qcow2_co_decompress(BlockDriverState *bs, void *dest,
                                     size_t dest_size, const void *src,
                                     size_t src_size)
{
    BDRVQcow2State *s = bs->opaque;
    DecompressJob j = {
        .dest = dest,
        .dest_size = dest_size,
        .src = src,
        .src_size = src_size,
        .type = s->compression_type,
    };

    return thread_pool_co_submit(aio_get_compute_pool(bs->ctx),
                                 decompress_worker, &j);
}
