/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2 create: the interface of create.c (image creation and measure).
 * Included by qcow2.h, after the types it uses.
 */
#ifndef BLOCK_QCOW2_CREATE_H
#define BLOCK_QCOW2_CREATE_H

bool coroutine_fn qcow2_co_create(const char *filename, QDict *opts,
                                  Error **errp);
/* blockdev-create: the image on an opened node (see co_create_node) */
bool coroutine_fn qcow2_co_create_node(BlockDriverState *file, QDict *opts,
                                       Error **errp);
extern const CreateOptDesc qcow2_create_opts[];
/* qemu-img measure (create.c); see bdrv_co_measure(). */
bool coroutine_fn qcow2_co_measure(QDict *opts, BlockDriverState *in_bs,
                                   BlockMeasureInfo *info, Error **errp);

#endif /* BLOCK_QCOW2_CREATE_H */
