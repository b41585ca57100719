/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2 check: the interface of check.c (qemu-img check).
 * Included by qcow2.h, after the types it uses.
 */
#ifndef BLOCK_QCOW2_CHECK_H
#define BLOCK_QCOW2_CHECK_H

/* qemu-img check (check.c): @fix is BDRV_FIX_LEAKS | BDRV_FIX_ERRORS. */
int coroutine_fn qcow2_co_check(BlockDriverState *bs, BdrvCheckResult *res,
                                int fix);

#endif /* BLOCK_QCOW2_CHECK_H */
