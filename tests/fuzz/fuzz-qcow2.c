/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target: open a qcow2 image held in memory, then exercise what a
 * reader of an untrusted image does: length, info, snapshot list, block
 * status over the start of the disk, and reads of several ranges.  Then
 * what a repairing writer does: check -r all (opened as qemu-img check
 * opens), and on the result a normal read-write open (which repairs a
 * dirty image), a snapshot created, a write, the snapshot applied and
 * deleted.
 * Bounded per input (a few MiB of guest space) so that huge virtual sizes
 * do not turn into slow inputs.  The image lives in a memfd opened through
 * the file driver, so the whole real stack runs.
 *
 * Inputs that declare an external data file are skipped: they would make
 * the harness open host files named by the input.
 */
#include "util/osdep.h"
#include "util/aio.h"
#include "block/driver.h"
#include "block/snapshot.h"

#include <sys/mman.h>

#define FUZZ_SPAN (4 * MiB)     /* guest bytes examined per input */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct FuzzRun {
    const char *path;
} FuzzRun;

static void coroutine_fn fuzz_co(void *opaque)
{
    FuzzRun *r = opaque;
    QDict *opts = qdict_new();
    BlockDriverState *bs;
    BdrvChild child;
    BlockDriverInfo bdi;
    int64_t len, offset = 0, pnum, map;
    uint8_t *buf;
    int i;

    qdict_put_str(opts, "driver", "qcow2");
    bs = bdrv_co_open(r->path, opts, BDRV_O_NO_BACKING, NULL);
    if (!bs) {
        return;
    }
    child.bs = bs;
    len = bdrv_co_getlength(bs);
    bdrv_get_info(bs, &bdi);
    qobject_unref(bdrv_get_specific_info(bs, NULL));
    qobject_unref(bdrv_snapshot_list(bs));
    for (i = 0; i < 256 && offset < MIN(len, FUZZ_SPAN); i++) {
        BlockDriverState *file;
        if (bdrv_co_block_status(bs, true, offset, MIN(len, FUZZ_SPAN) - offset,
                                 &pnum, &map, &file) < 0 || pnum <= 0) {
            break;
        }
        offset += pnum;
    }
    buf = g_malloc(256 * KiB);
    if (len > 0) {
        static const int64_t starts[] = { 0, 4096, 65536 - 7, MiB, 3 * MiB };
        for (i = 0; i < (int)G_N_ELEMENTS(starts); i++) {
            if (starts[i] < len) {
                bdrv_co_pread(&child, starts[i],
                              MIN(256 * KiB, len - starts[i]), buf, 0);
            }
        }
    }
    g_free(buf);
    bdrv_unref(bs);
}

static BlockDriverState *coroutine_fn open_rw(const char *path, int flags)
{
    QDict *opts = qdict_new();

    qdict_put_str(opts, "driver", "qcow2");
    return bdrv_co_open(path, opts, BDRV_O_RDWR | BDRV_O_NO_BACKING | flags,
                        NULL);
}

static void coroutine_fn fuzz_write_co(void *opaque)
{
    FuzzRun *r = opaque;
    BdrvSnapshotInfo sn = { .name = "fuzz" };
    BdrvCheckResult res;
    BlockDriverState *bs = open_rw(r->path, BDRV_O_CHECK);
    BdrvChild child;
    uint8_t buf[4096];

    if (!bs) {
        return;
    }
    bdrv_co_check(bs, &res, BDRV_FIX_LEAKS | BDRV_FIX_ERRORS);
    bdrv_unref(bs);
    bs = open_rw(r->path, 0);
    if (!bs) {
        return;
    }
    child.bs = bs;
    memset(buf, 0xa5, sizeof(buf));
    if (bdrv_co_snapshot_create(bs, &sn) == 0) {
        bdrv_co_pwrite(&child, 0, sizeof(buf), buf, 0);
        bdrv_co_snapshot_goto(bs, "fuzz", NULL);
        bdrv_co_snapshot_delete(bs, NULL, "fuzz", NULL);
    }
    bdrv_unref(bs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    char path[64];
    FuzzRun r = { .path = path };

    /* incompatible_features at 72, external data file bit 2 */
    if (size >= 80 && (data[79] & 0x04)) {
        return 0;
    }
    if (fd < 0) {
        qemu_get_aio_context();
        fd = memfd_create("fuzz-qcow2", MFD_CLOEXEC);
        if (fd < 0) {
            abort();
        }
    }
    if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size) {
        abort();
    }
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    aio_run_coroutine(fuzz_co, &r);
    aio_run_coroutine(fuzz_write_co, &r);
    return 0;
}
