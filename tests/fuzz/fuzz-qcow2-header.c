/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target: the qcow2 header and its extensions (feature table,
 * backing format, data file name, bitmaps, LUKS header), the snapshot
 * table and the bitmap directory, as `info` and a read-only open read
 * them; then what info prints (format-specific data, snapshots).
 */
#include "fuzz-mem.h"
#include "block/snapshot.h"
#include "util/json.h"
#include "block/qcow2/qcow2.h"

static void coroutine_fn header_co(void *opaque)
{
    FuzzImage *img = opaque;
    static const int modes[] = { BDRV_O_NO_IO, 0 };
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(modes); i++) {
        BlockDriverState *bs = fuzz_qcow2_open(img, modes[i]);
        g_autoptr(GString) out = g_string_new(NULL);
        BlockDriverInfo bdi;
        QObject *o;

        if (!bs) {
            continue;
        }
        bdrv_get_info(bs, &bdi);
        o = (QObject *)bdrv_get_specific_info(bs, NULL);
        if (o) {
            json_write(out, o, JSON_PRETTY | JSON_QEMU_ORDER, 0);
            qobject_unref(o);
        }
        /*
         * Listing is the same code for 10 snapshots as for 65535; a table
         * of tens of thousands (zeroes past a tiny image's end) would
         * cost a second an execution under ASan in building the list.
         * Such a table is read at open all the same.
         */
        if (((BDRVQcow2State *)bs->opaque)->nb_snapshots <= 64) {
            o = bdrv_snapshot_list(bs);
            if (o) {
                json_write(out, o, JSON_QEMU_ORDER, 0);
            }
            qobject_unref(o);
        }
        bdrv_unref(bs);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzImage *img = fuzz_image_new(data, size);

    fuzz_run(header_co, img);
    fuzz_image_free(img);
    return 0;
}
