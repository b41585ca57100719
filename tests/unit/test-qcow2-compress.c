/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2 zlib cluster decompression answers exactly as QEMU's zlib path,
 * whichever inflater runs (libdeflate where built in, zlib otherwise):
 * a stream with trailing bytes, a stream longer than the cluster (zlib
 * accepts it once the output is full, libdeflate refuses it and zlib
 * decides), one too short, and garbage.
 */
#include "util/osdep.h"
#include "util/aio.h"
#include "block/driver.h"
#include "../../block/qcow2/qcow2.h"

#include <zlib.h>

#define CLUSTER 65536

/* A node with just what (de)compression looks at: its type, its context. */
static void node_init(BlockDriverState *bs, BDRVQcow2State *s,
                      Qcow2CompressionType type)
{
    s->compression_type = type;
    bs->opaque = s;
    bs->ctx = qemu_get_aio_context();
}

/* Raw deflate of @len bytes of @src with QEMU's settings; returns size. */
static size_t deflate_raw(const uint8_t *src, size_t len, uint8_t *dst,
                          size_t cap)
{
    z_stream z = { 0 };
    size_t n;

    g_assert_cmpint(deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12,
                                 9, Z_DEFAULT_STRATEGY), ==, Z_OK);
    z.next_in = (Bytef *)src;
    z.avail_in = len;
    z.next_out = dst;
    z.avail_out = cap;
    g_assert_cmpint(deflate(&z, Z_FINISH), ==, Z_STREAM_END);
    n = cap - z.avail_out;
    deflateEnd(&z);
    return n;
}

typedef struct Case {
    BlockDriverState *bs;
    const uint8_t *src;
    size_t src_size;
    uint8_t *out;
    int ret;
} Case;

static void coroutine_fn decompress_co(void *opaque)
{
    Case *c = opaque;

    c->ret = qcow2_co_decompress(c->bs, c->out, CLUSTER, c->src, c->src_size);
}

static int run(BlockDriverState *bs, const uint8_t *src, size_t n,
               uint8_t *out)
{
    Case c = { .bs = bs, .src = src, .src_size = n, .out = out };

    aio_run_coroutine(decompress_co, &c);
    return c.ret;
}

static void test_zlib_cases(void)
{
    BlockDriverState bs = { 0 };
    BDRVQcow2State *s = g_new0(BDRVQcow2State, 1);
    g_autofree uint8_t *data = g_malloc(CLUSTER + 8192);
    g_autofree uint8_t *z = g_malloc(2 * CLUSTER);
    g_autofree uint8_t *out = g_malloc(CLUSTER);
    size_t i, n;

    node_init(&bs, s, QCOW2_COMPRESSION_TYPE_ZLIB);
    for (i = 0; i < CLUSTER + 8192; i++) {
        data[i] = (i * 7 + i / 300) & 0xff;
    }

    /* a cluster, then sector padding the reader passes along */
    n = deflate_raw(data, CLUSTER, z, 2 * CLUSTER);
    memset(z + n, 0xa5, 511);
    g_assert_cmpint(run(&bs, z, n + 511, out), ==, 0);
    g_assert_cmpmem(out, CLUSTER, data, CLUSTER);

    /* longer than the cluster: the first CLUSTER bytes are the answer */
    memset(out, 0, CLUSTER);
    n = deflate_raw(data, CLUSTER + 8192, z, 2 * CLUSTER);
    g_assert_cmpint(run(&bs, z, n, out), ==, 0);
    g_assert_cmpmem(out, CLUSTER, data, CLUSTER);

    /* shorter than the cluster */
    n = deflate_raw(data, CLUSTER - 512, z, 2 * CLUSTER);
    g_assert_cmpint(run(&bs, z, n, out), ==, -EIO);

    /* cut short, and garbage */
    n = deflate_raw(data, CLUSTER, z, 2 * CLUSTER);
    g_assert_cmpint(run(&bs, z, n / 2, out), ==, -EIO);
    memset(z, 0xff, 4096);
    g_assert_cmpint(run(&bs, z, 4096, out), ==, -EIO);
    g_free(s);
}

typedef struct CompressCase {
    BlockDriverState *bs;
    const uint8_t *src;
    uint8_t *out;
    ssize_t ret;
} CompressCase;

static void coroutine_fn compress_co(void *opaque)
{
    CompressCase *c = opaque;

    c->ret = qcow2_co_compress(c->bs, c->out, CLUSTER - 1, c->src, CLUSTER);
}

/* qcow2_co_compress() with the driver's limit (less than a cluster). */
static ssize_t run_compress(BlockDriverState *bs, const uint8_t *src,
                            uint8_t *out)
{
    CompressCase c = { .bs = bs, .src = src, .out = out };

    aio_run_coroutine(compress_co, &c);
    return c.ret;
}

/* Inflate exactly as QEMU 7.2 does: 4 KiB window, one call, whole cluster. */
static void qemu_inflate(const uint8_t *z, size_t n, uint8_t *out)
{
    z_stream strm = { 0 };
    int ret;

    g_assert_cmpint(inflateInit2(&strm, -12), ==, Z_OK);
    strm.next_in = (Bytef *)z;
    strm.avail_in = n;
    strm.next_out = out;
    strm.avail_out = CLUSTER;
    ret = inflate(&strm, Z_FINISH);
    g_assert_true(ret == Z_STREAM_END || ret == Z_BUF_ERROR);
    g_assert_cmpint(strm.avail_out, ==, 0);
    inflateEnd(&strm);
}

/*
 * What we deflate, QEMU reads: a cluster whose only redundancy is 16 KiB
 * apart (four copies of one random 16 KiB block) is matched across that
 * distance by libdeflate, beyond zlib's 4 KiB window, and QEMU's inflate
 * still returns it.  Random data does not fit: -ENOMEM, the driver then
 * writes the cluster uncompressed.
 */
static void test_deflate_read_by_qemu(void)
{
    BlockDriverState bs = { 0 };
    BDRVQcow2State *s = g_new0(BDRVQcow2State, 1);
    g_autofree uint8_t *data = g_malloc(CLUSTER);
    g_autofree uint8_t *z = g_malloc(CLUSTER);
    g_autofree uint8_t *out = g_malloc(CLUSTER);
    GRand *r = g_rand_new_with_seed(7);
    ssize_t n;
    int i;

    node_init(&bs, s, QCOW2_COMPRESSION_TYPE_ZLIB);
    for (i = 0; i < CLUSTER; i++) {
        data[i] = g_rand_int(r);
    }
    g_assert_cmpint(run_compress(&bs, data, z), ==, -ENOMEM);
    for (i = 1; i < 4; i++) {
        memcpy(data + i * 16384, data, 16384);
    }
    n = run_compress(&bs, data, z);
    g_assert_cmpint(n, >, 0);
#ifdef CONFIG_LIBDEFLATE
    g_assert_cmpint(n, <, CLUSTER / 3);     /* the 16 KiB matches were used */
#endif
    qemu_inflate(z, n, out);
    g_assert_cmpmem(out, CLUSTER, data, CLUSTER);
    /* and the same compressor (kept per thread) does it again */
    g_assert_cmpint(run_compress(&bs, data, z), ==, n);
    g_rand_free(r);
    g_free(s);
}

#ifdef CONFIG_ZSTD
/*
 * zstd contexts are kept per thread: a frame that did not fit, or a
 * stream that failed to decompress, leaves nothing behind for the next
 * cluster.
 */
static void test_zstd_context_reuse(void)
{
    BlockDriverState bs = { 0 };
    BDRVQcow2State *s = g_new0(BDRVQcow2State, 1);
    g_autofree uint8_t *rnd = g_malloc(CLUSTER);
    g_autofree uint8_t *data = g_malloc(CLUSTER);
    g_autofree uint8_t *z = g_malloc(CLUSTER);
    g_autofree uint8_t *out = g_malloc(CLUSTER);
    GRand *r = g_rand_new_with_seed(9);
    ssize_t n, n2;
    int i;

    node_init(&bs, s, QCOW2_COMPRESSION_TYPE_ZSTD);
    for (i = 0; i < CLUSTER; i++) {
        rnd[i] = g_rand_int(r);
        data[i] = (i / 100) & 0x1f;
    }
    n = run_compress(&bs, data, z);
    g_assert_cmpint(n, >, 0);
    g_assert_cmpint(run_compress(&bs, rnd, z), ==, -ENOMEM);
    n2 = run_compress(&bs, data, z);
    g_assert_cmpint(n2, ==, n);
    g_assert_cmpint(run(&bs, z, n2 / 2, out), ==, -EIO);
    memset(out, 0, CLUSTER);
    g_assert_cmpint(run(&bs, z, n2, out), ==, 0);
    g_assert_cmpmem(out, CLUSTER, data, CLUSTER);
    g_rand_free(r);
    g_free(s);
}
#endif

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qemu_get_aio_context();
    g_test_add_func("/qcow2-compress/zlib-as-qemu", test_zlib_cases);
    g_test_add_func("/qcow2-compress/deflate-read-by-qemu",
                    test_deflate_read_by_qemu);
#ifdef CONFIG_ZSTD
    g_test_add_func("/qcow2-compress/zstd-context-reuse",
                    test_zstd_context_reuse);
#endif
    return g_test_run();
}
