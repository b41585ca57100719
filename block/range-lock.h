/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The areas a block job is working on (a copy in flight, a guest write
 * being mirrored): a new operation first waits until no area in the list
 * overlaps its own, then adds it; removing an area wakes those waiting
 * on it.  Mirror and backup keep one list each.  Main loop, coroutines.
 */
#ifndef BLOCK_RANGE_LOCK_H
#define BLOCK_RANGE_LOCK_H

#include "util/osdep.h"
#include "util/coroutine.h"
#include "util/queue.h"

typedef struct BlockRange {
    int64_t offset, bytes;
    CoQueue waiters;                /* operations on the same area */
    QTAILQ_ENTRY(BlockRange) next;
} BlockRange;

typedef QTAILQ_HEAD(, BlockRange) BlockRangeList;

/* Yield until no area of @list overlaps [@offset, @offset + @bytes). */
static inline void coroutine_fn block_range_wait(BlockRangeList *list,
                                                 int64_t offset,
                                                 int64_t bytes)
{
    BlockRange *r;

again:
    QTAILQ_FOREACH(r, list, next) {
        if (r->offset < offset + bytes && offset < r->offset + r->bytes) {
            qemu_co_queue_wait(&r->waiters, NULL);
            goto again;
        }
    }
}

/* Add @r, the area [@offset, @offset + @bytes) (wait for it first). */
static inline void block_range_add(BlockRangeList *list, BlockRange *r,
                                   int64_t offset, int64_t bytes)
{
    r->offset = offset;
    r->bytes = bytes;
    qemu_co_queue_init(&r->waiters);
    QTAILQ_INSERT_TAIL(list, r, next);
}

/* The work on @r is done: remove it and wake who waits on it. */
static inline void block_range_remove(BlockRangeList *list, BlockRange *r)
{
    QTAILQ_REMOVE(list, r, next);
    qemu_co_queue_restart_all(&r->waiters);
}

#endif /* BLOCK_RANGE_LOCK_H */
