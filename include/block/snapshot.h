/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Internal snapshots as the tools see them (block/snapshot.c): list,
 * load one for reading (convert -l, measure -l), and, on an image opened
 * read-write, create, revert to (apply) and delete.  The format driver
 * does the work; these functions check the node's state and give the
 * errors of QEMU 7.2 for formats without snapshots.
 */
#ifndef BLOCK_SNAPSHOT_H
#define BLOCK_SNAPSHOT_H

#include "block/block.h"

/*
 * Internal snapshots as a list of dicts with QEMU's SnapshotInfo members
 * (id, name, vm-state-size, date-sec, ...), or NULL if there are none or
 * the format has none.  The caller owns the list.
 */
QObject *bdrv_snapshot_list(BlockDriverState *bs);

/*
 * Make @bs (opened read-only) read as its internal snapshot matching
 * @id and/or @name (at least one non-NULL; both must match when both
 * are given), as 7.2's bdrv_snapshot_load_tmp.  Only for reading; the
 * node stays on the snapshot until closed.  Returns 0, or -errno with
 * @errp set (-ENOENT: no such snapshot).  Context: coroutine.
 */
int coroutine_fn bdrv_co_snapshot_load_tmp(BlockDriverState *bs,
                                           const char *id, const char *name,
                                           Error **errp);
/* As above, by ID first and then by name (a plain -l argument). */
int coroutine_fn bdrv_co_snapshot_load_tmp_by_id_or_name(
    BlockDriverState *bs, const char *id_or_name, Error **errp);

#endif /* BLOCK_SNAPSHOT_H */
