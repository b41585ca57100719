/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target: internal snapshots.  Each snapshot of the table opened
 * read-only in place of the active disk and read; then on a writable
 * open a snapshot created, the disk written, the first snapshot of the
 * image applied and the new one deleted.
 */
#include "fuzz-mem.h"
#include "block/snapshot.h"

static void coroutine_fn snapshot_co(void *opaque)
{
    FuzzImage *img = opaque;
    BdrvSnapshotInfo sn = { .name = "fuzz" };
    BlockDriverState *bs = fuzz_qcow2_open(img, 0);
    QObject *list = bs ? bdrv_snapshot_list(bs) : NULL;
    g_autofree char *first = NULL;
    uint8_t buf[4096];
    BdrvChild child;
    size_t i;

    bdrv_unref(bs);
    for (i = 0; list && i < MIN(qlist_size(list), 4); i++) {
        const char *id = qdict_get_try_str(qlist_at(list, i), "id");

        bs = fuzz_qcow2_open(img, 0);
        if (bs && id &&
            bdrv_co_snapshot_load_tmp(bs, id, NULL, NULL) == 0) {
            child.bs = bs;
            bdrv_co_pread(&child, 0, sizeof(buf), buf, 0);
        }
        if (!first && id) {
            first = g_strdup(id);
        }
        bdrv_unref(bs);
    }
    qobject_unref(list);
    bs = fuzz_qcow2_open(img, BDRV_O_RDWR);
    if (!bs) {
        return;
    }
    if (fuzz_qcow2_costly(bs)) {
        bdrv_unref(bs);
        return;
    }
    child.bs = bs;
    memset(buf, 0xa5, sizeof(buf));
    if (bdrv_co_snapshot_create(bs, &sn) == 0) {
        bdrv_co_pwrite(&child, 0, sizeof(buf), buf, 0);
        if (first) {
            bdrv_co_snapshot_goto(bs, first, NULL);
        }
        bdrv_co_snapshot_delete(bs, NULL, "fuzz", NULL);
    }
    bdrv_unref(bs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzImage *img = fuzz_image_new(data, size);

    fuzz_run(snapshot_co, img);
    fuzz_image_free(img);
    return 0;
}
