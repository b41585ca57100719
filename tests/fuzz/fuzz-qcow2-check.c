/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target: refcounts, check and repair.  qemu-img check, then check
 * -r all on the same image as qemu-img check opens it, then the repaired
 * image opened read-write (a dirty image is repaired there too) and
 * written: allocation on what the repair left.
 */
#include "fuzz-mem.h"

static void coroutine_fn check_co(void *opaque)
{
    FuzzImage *img = opaque;
    BlockDriverState *bs = fuzz_qcow2_open(img, BDRV_O_CHECK);
    BdrvCheckResult res;
    uint8_t buf[4096];
    BdrvChild child;

    if (bs) {
        bool costly = fuzz_qcow2_costly(bs);

        bdrv_co_check(bs, &res, 0);
        bdrv_unref(bs);
        if (costly) {
            return;
        }
    }
    bs = fuzz_qcow2_open(img, BDRV_O_CHECK | BDRV_O_RDWR);
    if (!bs) {
        return;
    }
    /* a read-only open may have failed where this one did not */
    if (fuzz_qcow2_costly(bs)) {
        bdrv_unref(bs);
        return;
    }
    bdrv_co_check(bs, &res, BDRV_FIX_LEAKS | BDRV_FIX_ERRORS);
    bdrv_unref(bs);
    bs = fuzz_qcow2_open(img, BDRV_O_RDWR);
    if (!bs) {
        return;
    }
    child.bs = bs;
    memset(buf, 0x5a, sizeof(buf));
    bdrv_co_pwrite(&child, 0, sizeof(buf), buf, 0);
    bdrv_co_pwrite(&child, 3 * 65536 + 512, sizeof(buf), buf, 0);
    bdrv_co_pwrite_zeroes(&child, 65536, 65536, BDRV_REQ_MAY_UNMAP);
    bdrv_co_pdiscard(&child, 131072, 65536);
    bdrv_unref(bs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzImage *img = fuzz_image_new(data, size);

    fuzz_run(check_co, img);
    fuzz_image_free(img);
    return 0;
}
