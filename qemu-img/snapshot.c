/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu-img snapshot [--object objectdef] [--image-opts] [-U] [-q]
 *                   [-l | -a snapshot | -c snapshot | -d snapshot] filename
 * List, create, apply (revert to) and delete internal snapshots, with
 * 7.2's messages and exit codes.  The format driver does the work
 * (block/snapshot.h).
 */
#include "util/osdep.h"
#include "img.h"
#include "block/driver.h"
#include "block/snapshot.h"

#include <getopt.h>

typedef enum {
    SNAPSHOT_NONE,
    SNAPSHOT_LIST,
    SNAPSHOT_APPLY,
    SNAPSHOT_CREATE,
    SNAPSHOT_DELETE,
} SnapshotAction;

static int coroutine_fn snapshot_create(BlockDriverState *bs,
                                        const char *name)
{
    gint64 now = g_get_real_time();
    BdrvSnapshotInfo info = {
        .name = name,
        .date_sec = now / G_USEC_PER_SEC,
        .date_nsec = (now % G_USEC_PER_SEC) * 1000,
    };
    int ret = bdrv_co_snapshot_create(bs, &info);

    if (ret < 0) {
        error_report("Could not create snapshot '%s': %d (%s)", name, ret,
                     strerror(-ret));
    }
    return ret;
}

/* 7.2 deletes by name: the first snapshot that has it. */
static int coroutine_fn snapshot_delete(BlockDriverState *bs,
                                        const char *name)
{
    g_autoptr(QObject) list = bdrv_snapshot_list(bs);
    Error *err = NULL;
    size_t i;

    for (i = 0; list && i < qlist_size(list); i++) {
        QObject *sn = qlist_at(list, i);
        if (!strcmp(qdict_get_try_str(sn, "name"), name)) {
            if (bdrv_co_snapshot_delete(bs, qdict_get_try_str(sn, "id"),
                                        name, &err) < 0) {
                error_prepend(&err, "Could not delete snapshot '%s': ", name);
                error_report_err(err);
                return -1;
            }
            return 0;
        }
    }
    error_report("Could not delete snapshot '%s': snapshot not found", name);
    return -1;
}

static void set_action(SnapshotAction *action, SnapshotAction a)
{
    if (*action != SNAPSHOT_NONE) {
        img_error_exit("Cannot mix '-l', '-a', '-c', '-d'");
    }
    *action = a;
}

int coroutine_fn img_snapshot(int argc, char **argv)
{
    static const struct option long_options[] = {
        { "help", no_argument, NULL, 'h' },
        { "object", required_argument, NULL, IMG_OPT_OBJECT },
        { "image-opts", no_argument, NULL, IMG_OPT_IMAGE_OPTS },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 }
    };
    SnapshotAction action = SNAPSHOT_NONE;
    const char *name = NULL;
    bool image_opts = false, quiet = false, force_share = false;
    int flags = BDRV_O_RDWR;
    BlockBackend *blk;
    Error *err = NULL;
    int c, ret = 0;

    while ((c = getopt_long(argc, argv, ":la:c:d:hqU", long_options,
                            NULL)) != -1) {
        switch (c) {
        case 'l':
            set_action(&action, SNAPSHOT_LIST);
            flags &= ~BDRV_O_RDWR;
            break;
        case 'a':
            set_action(&action, SNAPSHOT_APPLY);
            name = optarg;
            break;
        case 'c':
            set_action(&action, SNAPSHOT_CREATE);
            name = optarg;
            break;
        case 'd':
            set_action(&action, SNAPSHOT_DELETE);
            name = optarg;
            break;
        case 'q':
            quiet = true;
            break;
        case 'U':
            force_share = true;
            break;
        default:
            img_common_option(c, argv, &image_opts);
        }
    }
    if (optind != argc - 1) {
        img_error_exit("Expecting one image file name");
    }
    blk = img_open(image_opts, argv[optind], NULL, flags, false, quiet,
                   force_share);
    if (!blk) {
        return 1;
    }
    switch (action) {
    case SNAPSHOT_LIST: {
        g_autoptr(QObject) list = bdrv_snapshot_list(blk_bs(blk));
        if (list) {
            img_dump_snapshots(list);
        }
        break;
    }
    case SNAPSHOT_CREATE:
        ret = snapshot_create(blk_bs(blk), name);
        break;
    case SNAPSHOT_APPLY:
        ret = bdrv_co_snapshot_goto(blk_bs(blk), name, &err);
        if (ret < 0) {
            error_prepend(&err, "Could not apply snapshot '%s': ", name);
            error_report_err(err);
        }
        break;
    case SNAPSHOT_DELETE:
        ret = snapshot_delete(blk_bs(blk), name);
        break;
    case SNAPSHOT_NONE:
        break;
    }
    blk_unref(blk);
    return ret ? 1 : 0;
}
