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

/*
 * (De)compression contexts are kept per thread of the compute pool and
 * reused: setting one up (zstd's tables above all) costs about as much as
 * a 64 KiB cluster's work.  Freed when the thread ends.
 */
#ifdef CONFIG_LIBDEFLATE
static void free_compressor(gpointer p)
{
    libdeflate_free_compressor(p);
}

static void free_decompressor(gpointer p)
{
    libdeflate_free_decompressor(p);
}

static GPrivate compressor_key = G_PRIVATE_INIT(free_compressor);
static GPrivate decompressor_key = G_PRIVATE_INIT(free_decompressor);

/*
 * libdeflate inflates 2-3x faster than zlib.  It is used only where its
 * answer is certainly zlib's: the stream ends with exactly dest_size bytes
 * (trailing input ignored).  Anything else (a stream longer than the
 * cluster, which zlib accepts once the output is full; bad data after that
 * point) is left to zlib, so both read exactly the same images.
 */
static bool libdeflate_decompress(DecompressJob *j)
{
    struct libdeflate_decompressor *d = g_private_get(&decompressor_key);
    size_t in_used, out_len;
    enum libdeflate_result r;

    if (!d) {
        d = libdeflate_alloc_decompressor();
        if (!d) {
            return false;
        }
        g_private_set(&decompressor_key, d);
    }
    r = libdeflate_deflate_decompress_ex(d, j->src, j->src_size, j->dest,
                                         j->dest_size, &in_used, &out_len);
    return r == LIBDEFLATE_SUCCESS && out_len == j->dest_size;
}
#endif

#ifdef CONFIG_ZSTD
static void free_cctx(gpointer p)
{
    ZSTD_freeCCtx(p);
}

static void free_dctx(gpointer p)
{
    ZSTD_freeDCtx(p);
}

static GPrivate cctx_key = G_PRIVATE_INIT(free_cctx);
static GPrivate dctx_key = G_PRIVATE_INIT(free_dctx);
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
    ZSTD_DCtx *dctx = g_private_get(&dctx_key);
    ZSTD_outBuffer out = { j->dest, j->dest_size, 0 };
    ZSTD_inBuffer in = { j->src, j->src_size, 0 };
    int ret = 0;

    if (!dctx) {
        dctx = ZSTD_createDCtx();
        if (!dctx) {
            return -EIO;
        }
        g_private_set(&dctx_key, dctx);
    }
    /* a stream left half-read by bad data must not leak into this one */
    ZSTD_DCtx_reset(dctx, ZSTD_reset_session_only);
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

#ifdef CONFIG_LIBDEFLATE
/*
 * libdeflate at level 4 deflates about 3.7x faster than zlib at the level
 * QEMU uses (6) and, with the full 32 KiB window RFC 1951 allows, into
 * about 5% less (an ext4 disk image's clusters; docs/performance.md).
 * Not byte-identical to 7.2's images, as different deflaters never are.
 * QEMU inflates a cluster in one call into the whole cluster buffer,
 * which takes any distance within the cluster: its 4 KiB inflate window
 * does not limit what it reads (tests/unit/test-qcow2-compress.c).
 */
#define LIBDEFLATE_LEVEL 4

static ssize_t libdeflate_compress(CompressJob *j)
{
    static gsize use_zlib;
    struct libdeflate_compressor *c = g_private_get(&compressor_key);
    size_t n;

    /* QCOW2_DEFLATE=zlib: 7.2's bytes exactly (reproducible images) */
    if (g_once_init_enter(&use_zlib)) {
        const char *v = getenv("QCOW2_DEFLATE");
        g_once_init_leave(&use_zlib, v && !strcmp(v, "zlib") ? 2 : 1);
    }
    if (use_zlib == 2) {
        return -ENOTSUP;
    }
    if (!c) {
        c = libdeflate_alloc_compressor(LIBDEFLATE_LEVEL);
        if (!c) {
            return -ENOTSUP;        /* zlib then */
        }
        g_private_set(&compressor_key, c);
    }
    n = libdeflate_deflate_compress(c, j->src, j->src_size, j->dest,
                                    j->dest_size);
    return n ? (ssize_t)n : -ENOMEM;    /* 0: it did not fit */
}
#endif

/*
 * Raw deflate, default level, 4 KiB window: QEMU's parameters (and its
 * output, byte for byte) where libdeflate is not built in.
 */
static ssize_t zlib_compress(CompressJob *j)
{
    z_stream strm = { 0 };
    ssize_t ret;

#ifdef CONFIG_LIBDEFLATE
    ret = libdeflate_compress(j);
    if (ret != -ENOTSUP) {
        return ret;
    }
#endif

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
    ZSTD_CCtx *cctx = g_private_get(&cctx_key);
    ZSTD_outBuffer out = { j->dest, j->dest_size, 0 };
    ZSTD_inBuffer in = { j->src, j->src_size, 0 };
    size_t zret;
    ssize_t ret;

    if (!cctx) {
        cctx = ZSTD_createCCtx();
        if (!cctx) {
            return -EIO;
        }
        g_private_set(&cctx_key, cctx);
    }
    /* a frame left unfinished (it did not fit) is dropped; defaults kept */
    ZSTD_CCtx_reset(cctx, ZSTD_reset_session_only);
    zret = ZSTD_compressStream2(cctx, &out, &in, ZSTD_e_end);
    if (zret == 0) {
        ret = out.pos;
    } else if (!ZSTD_isError(zret) || zret > out.size - out.pos) {
        ret = -ENOMEM;      /* more output pending: it does not fit */
    } else {
        ret = -EIO;
    }
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
