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

/* What the creator says about a new snapshot (7.2's QEMUSnapshotInfo). */
typedef struct BdrvSnapshotInfo {
    const char *name;
    uint32_t date_sec, date_nsec;
    uint64_t vm_clock_nsec;
    uint64_t vm_state_size;
    uint64_t icount;
} BdrvSnapshotInfo;

/*
 * On a writable node: create a snapshot of the current disk (the driver
 * picks its ID), revert the disk to one (by ID first, then by name;
 * refused while the node has dirty bitmaps, as 7.2), delete the one
 * matching @id and/or @name.  Return 0 or -errno; goto and delete set
 * @errp with 7.2's words, create leaves the message to the caller (7.2
 * prints the errno).  Context: coroutine.
 */
int coroutine_fn bdrv_co_snapshot_create(BlockDriverState *bs,
                                         const BdrvSnapshotInfo *info);
int coroutine_fn bdrv_co_snapshot_goto(BlockDriverState *bs,
                                       const char *id_or_name, Error **errp);
int coroutine_fn bdrv_co_snapshot_delete(BlockDriverState *bs,
                                         const char *id, const char *name,
                                         Error **errp);

#endif /* BLOCK_SNAPSHOT_H */
