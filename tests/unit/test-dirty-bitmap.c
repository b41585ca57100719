/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for block/dirty-bitmap.c: bit ranges and their clipping at
 * the disk's end, the serialized form (qcow2's bit order) across chunk
 * boundaries, all-ones ranges, merges of equal and different
 * granularities, truncation, the node's list, and bdrv_set_dirty()
 * skipping disabled and inconsistent bitmaps.
 */
#include "util/osdep.h"
#include "block/driver.h"

static BlockDriverState *new_node(void)
{
    BlockDriverState *bs = g_new0(BlockDriverState, 1);

    QTAILQ_INIT(&bs->dirty_bitmaps);
    return bs;
}

static void free_node(BlockDriverState *bs)
{
    bdrv_dirty_bitmap_release_all(bs);
    g_free(bs);
}

static void test_ranges(void)
{
    BlockDriverState *bs = new_node();
    /* 10 bits of 512 bytes, the last one half past the end */
    BdrvDirtyBitmap *bm = bdrv_dirty_bitmap_create(bs, "a", 512, 4864,
                                                   &error_abort);
    uint8_t buf[2];

    g_assert_cmpuint(bdrv_dirty_bitmap_data_size(bm), ==, 2);
    bdrv_dirty_bitmap_set_range(bm, 511, 2);        /* bits 0 and 1 */
    g_assert_true(bdrv_dirty_bitmap_get(bm, 0));
    g_assert_true(bdrv_dirty_bitmap_get(bm, 1023));
    g_assert_false(bdrv_dirty_bitmap_get(bm, 1024));
    bdrv_dirty_bitmap_set_range(bm, 4000, 1 << 20); /* clipped: 7..9 */
    g_assert_cmpuint(bdrv_dirty_bitmap_count(bm), ==, 5);
    bdrv_dirty_bitmap_set_range(bm, 4864, 512);     /* past the end */
    bdrv_dirty_bitmap_set_range(bm, 0, 0);
    g_assert_cmpuint(bdrv_dirty_bitmap_count(bm), ==, 5);
    bdrv_dirty_bitmap_serialize(bm, 0, 2, buf);
    g_assert_cmphex(buf[0], ==, 0x83);
    g_assert_cmphex(buf[1], ==, 0x03);              /* no tail bits */
    g_assert_false(bdrv_dirty_bitmap_get(bm, 4864));
    bdrv_dirty_bitmap_clear(bm);
    g_assert_cmpuint(bdrv_dirty_bitmap_count(bm), ==, 0);
    g_assert_true(bdrv_dirty_bitmap_data_is_zero(bm, 0, 2));
    free_node(bs);
}

/* reset, next dirty/clean, dirty areas: across chunks, clipped at the end */
static void test_iterate(void)
{
    BlockDriverState *bs = new_node();
    /* 64 KiB granules; 100,000 granules: bits span four 4 KiB chunks */
    int64_t gran = 65536, size = 100000 * gran - 1000;
    BdrvDirtyBitmap *bm = bdrv_dirty_bitmap_create(bs, NULL, gran, size,
                                                   &error_abort);
    int64_t off, bytes;

    g_assert_null(bdrv_dirty_bitmap_find(bs, "x"));
    g_assert_cmpint(bdrv_dirty_bitmap_next_dirty(bm, 0, size), ==, -1);
    g_assert_cmpint(bdrv_dirty_bitmap_next_zero(bm, 5, size), ==, 5);
    g_assert_false(bdrv_dirty_bitmap_next_dirty_area(bm, 0, size, size,
                                                     &off, &bytes));
    bdrv_dirty_bitmap_set_range(bm, 40000 * gran + 7, 3 * gran);
    g_assert_cmpuint(bdrv_dirty_bitmap_count(bm), ==, 4);
    g_assert_cmpint(bdrv_dirty_bitmap_next_dirty(bm, 0, size), ==,
                    40000 * gran);
    g_assert_cmpint(bdrv_dirty_bitmap_next_dirty(bm, 40002 * gran + 9, size),
                    ==, 40002 * gran + 9);
    g_assert_cmpint(bdrv_dirty_bitmap_next_dirty(bm, 0, 40000 * gran), ==,
                    -1);
    g_assert_cmpint(bdrv_dirty_bitmap_next_zero(bm, 40000 * gran, size), ==,
                    40004 * gran);
    g_assert_true(bdrv_dirty_bitmap_next_dirty_area(bm, 0, size, 2 * gran,
                                                    &off, &bytes));
    g_assert_cmpint(off, ==, 40000 * gran);
    g_assert_cmpint(bytes, ==, 2 * gran);
    g_assert_true(bdrv_dirty_bitmap_next_dirty_area(bm, 0, size, size,
                                                    &off, &bytes));
    g_assert_cmpint(bytes, ==, 4 * gran);
    bdrv_dirty_bitmap_reset_range(bm, 40001 * gran, 2 * gran);
    g_assert_cmpuint(bdrv_dirty_bitmap_count(bm), ==, 2);
    g_assert_cmpint(bdrv_dirty_bitmap_next_zero(bm, 40000 * gran, size), ==,
                    40001 * gran);
    g_assert_cmpint(bdrv_dirty_bitmap_next_dirty(bm, 40001 * gran, size), ==,
                    40003 * gran);
    /* the last granule, partly past the end */
    bdrv_dirty_bitmap_set_range(bm, size - 1, 1);
    g_assert_true(bdrv_dirty_bitmap_next_dirty_area(bm, 40004 * gran, size,
                                                    size, &off, &bytes));
    g_assert_cmpint(off, ==, 99999 * gran);
    g_assert_cmpint(off + bytes, ==, size);
    bdrv_dirty_bitmap_reset_range(bm, 0, size);
    g_assert_cmpuint(bdrv_dirty_bitmap_count(bm), ==, 0);
    g_assert_cmpint(bdrv_dirty_bitmap_next_dirty(bm, 0, size), ==, -1);
    g_assert_false(bdrv_dirty_bitmap_busy(bm));
    bdrv_dirty_bitmap_set_busy(bm, true);
    g_assert_true(bdrv_dirty_bitmap_busy(bm));
    free_node(bs);
}

static void test_serialize(void)
{
    BlockDriverState *bs = new_node();
    /* 3 chunks of 4 KiB and a bit: 100001 bits of 64 KiB */
    int64_t size = 100001LL * 65536 - 1000;
    BdrvDirtyBitmap *bm = bdrv_dirty_bitmap_create(bs, "s", 65536, size,
                                                   &error_abort);
    uint64_t n = bdrv_dirty_bitmap_data_size(bm);
    g_autofree uint8_t *in = g_malloc(n);
    g_autofree uint8_t *out = g_malloc(n);

    g_assert_cmpuint(n, ==, 12501);
    for (uint64_t i = 0; i < n; i++) {
        in[i] = (i * 37 + 11) & 0xff;
    }
    memset(in + 5000, 0, 4000);                 /* a clean chunk */
    bdrv_dirty_bitmap_deserialize(bm, 0, 4000, in);
    bdrv_dirty_bitmap_deserialize(bm, 4000, n - 4000, in + 4000);
    g_assert_true(bdrv_dirty_bitmap_data_is_zero(bm, 5000, 4000));
    g_assert_false(bdrv_dirty_bitmap_data_is_zero(bm, 4999, 2));
    bdrv_dirty_bitmap_serialize(bm, 0, n, out);
    /* 100001 bits: the last byte keeps bit 0 only */
    g_assert_cmphex(out[n - 1], ==, in[n - 1] & 1);
    out[n - 1] = in[n - 1];
    g_assert_cmpmem(in, n, out, n);
    /* bit n of the disk is bit n % 8 of byte n / 8 */
    g_assert_cmpint(bdrv_dirty_bitmap_get(bm, 8 * 65536),
                    ==, in[1] & 1);
    g_assert_cmpint(bdrv_dirty_bitmap_get(bm, 15 * 65536),
                    ==, in[1] >> 7);

    /* all ones over a range that ends at the disk's end */
    bdrv_dirty_bitmap_clear(bm);
    bdrv_dirty_bitmap_deserialize_ones(bm, 12000, n - 12000);
    g_assert_cmpuint(bdrv_dirty_bitmap_count(bm), ==, 100001 - 96000);
    bdrv_dirty_bitmap_serialize(bm, n - 1, 1, out);
    g_assert_cmphex(out[0], ==, 1);
    free_node(bs);
}

static void test_merge(void)
{
    BlockDriverState *bs = new_node();
    Error *err = NULL;
    BdrvDirtyBitmap *a = bdrv_dirty_bitmap_create(bs, "a", 512, 1 << 20,
                                                  &error_abort);
    BdrvDirtyBitmap *b = bdrv_dirty_bitmap_create(bs, "b", 512, 1 << 20,
                                                  &error_abort);
    BdrvDirtyBitmap *c = bdrv_dirty_bitmap_create(bs, "c", 65536, 1 << 20,
                                                  &error_abort);
    BdrvDirtyBitmap *d = bdrv_dirty_bitmap_create(bs, "d", 512, 2 << 20,
                                                  &error_abort);

    bdrv_dirty_bitmap_set_range(a, 0, 512);
    bdrv_dirty_bitmap_set_range(b, 100000, 1);
    g_assert_true(bdrv_dirty_bitmap_merge(b, a, &error_abort));
    g_assert_cmpuint(bdrv_dirty_bitmap_count(b), ==, 2);
    g_assert_true(bdrv_dirty_bitmap_get(b, 0));
    /* finer into coarser: the 64 KiB bits the 512 B ones touch */
    g_assert_true(bdrv_dirty_bitmap_merge(c, b, &error_abort));
    g_assert_cmpuint(bdrv_dirty_bitmap_count(c), ==, 2);
    g_assert_true(bdrv_dirty_bitmap_get(c, 65536 + 100));
    /* coarser into finer: every 512 B bit under a 64 KiB one */
    bdrv_dirty_bitmap_clear(a);
    g_assert_true(bdrv_dirty_bitmap_merge(a, c, &error_abort));
    g_assert_cmpuint(bdrv_dirty_bitmap_count(a), ==, 256);
    g_assert_false(bdrv_dirty_bitmap_merge(d, a, &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "Bitmaps are of different "
                    "sizes (destination size is 2097152, source size is "
                    "1048576) and can't be merged");
    error_free(err);
    free_node(bs);
}

static void test_truncate(void)
{
    BlockDriverState *bs = new_node();
    BdrvDirtyBitmap *bm = bdrv_dirty_bitmap_create(bs, "t", 512, 64 << 20,
                                                   &error_abort);

    bdrv_dirty_bitmap_set_range(bm, 0, 64 << 20);
    g_assert_cmpuint(bdrv_dirty_bitmap_count(bm), ==, 131072);
    bdrv_dirty_bitmap_truncate(bm, 1000 * 512 + 100);
    g_assert_cmpuint(bdrv_dirty_bitmap_count(bm), ==, 1001);
    g_assert_cmpint(bdrv_dirty_bitmap_size(bm), ==, 1000 * 512 + 100);
    /* growing again brings nothing back */
    bdrv_dirty_bitmap_truncate(bm, 64 << 20);
    g_assert_cmpuint(bdrv_dirty_bitmap_count(bm), ==, 1001);
    g_assert_false(bdrv_dirty_bitmap_get(bm, 1001 * 512));
    bdrv_dirty_bitmap_set_range(bm, (64 << 20) - 1, 1);
    g_assert_cmpuint(bdrv_dirty_bitmap_count(bm), ==, 1002);
    bdrv_dirty_bitmap_truncate(bm, 0);
    g_assert_cmpuint(bdrv_dirty_bitmap_count(bm), ==, 0);
    g_assert_cmpuint(bdrv_dirty_bitmap_data_size(bm), ==, 0);
    free_node(bs);
}

static void test_node_list(void)
{
    BlockDriverState *bs = new_node();
    Error *err = NULL;
    BdrvDirtyBitmap *on, *off, *bad;

    on = bdrv_dirty_bitmap_create(bs, "on", 4096, 1 << 20, &error_abort);
    off = bdrv_dirty_bitmap_create(bs, "off", 4096, 1 << 20, &error_abort);
    bad = bdrv_dirty_bitmap_create(bs, "bad", 4096, 1 << 20, &error_abort);
    g_assert_null(bdrv_dirty_bitmap_create(bs, "on", 512, 1 << 20, &err));
    g_assert_cmpstr(error_get_pretty(err), ==, "Bitmap already exists: on");
    g_clear_pointer(&err, error_free);
    g_assert_null(bdrv_dirty_bitmap_create(bs, "x", 768, 1 << 20, &err));
    g_clear_pointer(&err, error_free);
    g_assert_null(bdrv_dirty_bitmap_create(bs, "x", 256, 1 << 20, &err));
    g_clear_pointer(&err, error_free);
    g_assert_cmpint(bdrv_dirty_bitmap_count_all(bs), ==, 3);
    g_assert_true(bdrv_dirty_bitmap_next(bs, NULL) == on);
    g_assert_true(bdrv_dirty_bitmap_next(bs, on) == off);
    g_assert_true(bdrv_dirty_bitmap_next(bs, bad) == NULL);
    g_assert_true(bdrv_dirty_bitmap_find(bs, "bad") == bad);

    bdrv_dirty_bitmap_set_enabled(off, false);
    bdrv_dirty_bitmap_set_inconsistent(bad);
    bdrv_set_dirty(bs, 8192, 1);
    g_assert_cmpuint(bdrv_dirty_bitmap_count(on), ==, 1);
    g_assert_cmpuint(bdrv_dirty_bitmap_count(off), ==, 0);
    g_assert_cmpuint(bdrv_dirty_bitmap_count(bad), ==, 0);

    bdrv_dirty_bitmap_release(bs, off);
    g_assert_null(bdrv_dirty_bitmap_find(bs, "off"));
    g_assert_true(bdrv_dirty_bitmap_next(bs, on) == bad);
    free_node(bs);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/dirty-bitmap/ranges", test_ranges);
    g_test_add_func("/dirty-bitmap/iterate", test_iterate);
    g_test_add_func("/dirty-bitmap/serialize", test_serialize);
    g_test_add_func("/dirty-bitmap/merge", test_merge);
    g_test_add_func("/dirty-bitmap/truncate", test_truncate);
    g_test_add_func("/dirty-bitmap/node-list", test_node_list);
    return g_test_run();
}
