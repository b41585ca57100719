/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target: the L1/L2 walk.  Block status over the first 8 MiB of the
 * guest in steps as a map would take them, and reads that cross
 * clusters, subclusters and compressed data, from a read-only open.
 */
#include "fuzz-mem.h"

#define MAP_SPAN (8 * MiB)

static void coroutine_fn map_co(void *opaque)
{
    FuzzImage *img = opaque;
    BlockDriverState *bs = fuzz_qcow2_open(img, 0);
    static const int64_t reads[][2] = {
        { 0, 4096 }, { 512, 70000 }, { 65536 - 7, 131072 }, { MiB, 4096 },
        { 3 * MiB + 100, 300000 },
    };
    BdrvChild child = { .bs = bs };
    int64_t len, offset = 0, pnum, map;
    g_autofree uint8_t *buf = NULL;
    size_t i;
    int n;

    if (!bs) {
        return;
    }
    len = MIN(bdrv_co_getlength(bs), MAP_SPAN);
    for (n = 0; n < 512 && offset < len; n++) {
        BlockDriverState *file;

        if (bdrv_co_block_status(bs, true, offset, len - offset, &pnum, &map,
                                 &file) < 0 || pnum <= 0) {
            break;
        }
        offset += pnum;
    }
    buf = g_malloc(300000);
    for (i = 0; i < G_N_ELEMENTS(reads); i++) {
        if (reads[i][0] + reads[i][1] <= len) {
            bdrv_co_pread(&child, reads[i][0], reads[i][1], buf, 0);
        }
    }
    bdrv_unref(bs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzImage *img = fuzz_image_new(data, size);

    fuzz_run(map_co, img);
    fuzz_image_free(img);
    return 0;
}
