/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target: persistent bitmaps.  The directory and bitmap tables
 * loaded by a writable open, a write that marks them dirty, a new bitmap
 * added, all stored back at close; then read again by a read-only open.
 */
#include "fuzz-mem.h"
#include "block/dirty-bitmap.h"

static void coroutine_fn bitmap_co(void *opaque)
{
    FuzzImage *img = opaque;
    BlockDriverState *bs = fuzz_qcow2_open(img, BDRV_O_RDWR);
    uint8_t buf[4096];
    BdrvChild child;

    if (bs) {
        child.bs = bs;
        memset(buf, 0x3c, sizeof(buf));
        bdrv_co_pwrite(&child, 65536, sizeof(buf), buf, 0);
        bdrv_create_persistent_bitmap(bs, "fuzz", 65536, true, NULL);
        bdrv_co_store_bitmaps(bs, NULL);
        bdrv_co_pwrite(&child, 0, sizeof(buf), buf, 0);
        bdrv_unref(bs);
    }
    bs = fuzz_qcow2_open(img, 0);
    bdrv_unref(bs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzImage *img = fuzz_image_new(data, size);

    fuzz_run(bitmap_co, img);
    fuzz_image_free(img);
    return 0;
}
