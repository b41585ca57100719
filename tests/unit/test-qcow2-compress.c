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

    s->compression_type = QCOW2_COMPRESSION_TYPE_ZLIB;
    bs.opaque = s;
    bs.ctx = qemu_get_aio_context();
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

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qemu_get_aio_context();
    g_test_add_func("/qcow2-compress/zlib-as-qemu", test_zlib_cases);
    return g_test_run();
}
