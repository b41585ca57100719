/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2 snapshot: the interface of snapshot.c (internal snapshots).
 * Included by qcow2.h, after the types it uses.
 */
#ifndef BLOCK_QCOW2_SNAPSHOT_H
#define BLOCK_QCOW2_SNAPSHOT_H

/*
 * Read the snapshot table; false + errp on a malformed one.  The entries'
 * L1 tables are checked where they are used, not here.
 */
bool coroutine_fn qcow2_read_snapshots(BlockDriverState *bs, Error **errp);
/*
 * qemu-img check's view of the snapshot table (7.2's): read again from
 * the header, repaired where @fix allows (entries dropped off the end of
 * a table too large, extra data cut); incomplete v3 entries counted.
 * Then, after the refcounts are right, qcow2_check_fix_snapshot_table()
 * writes the table again if @res has corruptions to fix.
 */
int coroutine_fn qcow2_check_read_snapshot_table(BlockDriverState *bs,
                                                 BdrvCheckResult *res,
                                                 int fix);
int coroutine_fn qcow2_check_fix_snapshot_table(BlockDriverState *bs,
                                                BdrvCheckResult *res,
                                                int fix);
void qcow2_free_snapshots(BDRVQcow2State *s);
/* Snapshot table from s->snapshots, header updated (snapshot.c). */
int coroutine_fn qcow2_write_snapshots(BlockDriverState *bs);
/* The driver's snapshot operations (block/snapshot.h). */
int coroutine_fn qcow2_co_snapshot_create(BlockDriverState *bs,
                                          const BdrvSnapshotInfo *info);
int coroutine_fn qcow2_co_snapshot_goto(BlockDriverState *bs,
                                        const char *id_or_name);
int coroutine_fn qcow2_co_snapshot_delete(BlockDriverState *bs,
                                          const char *id, const char *name,
                                          Error **errp);
/* Read the snapshot's L1 table instead of the active one (snapshot.c). */
int coroutine_fn qcow2_co_snapshot_load_tmp(BlockDriverState *bs,
                                            const char *id, const char *name,
                                            Error **errp);

#endif /* BLOCK_QCOW2_SNAPSHOT_H */
