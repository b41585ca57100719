/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Drained sections (see driver.h): the quiet a graph change needs.  A
 * section on a node quiesces the node and everything above it: parent
 * nodes count the section too, and the users that are no node (a
 * BlockBackend, a job) hear of it through their BdrvChildOps.  The
 * drainer then waits, in its coroutine, until neither the node nor
 * anything above it has a request in flight.  Requests already inside
 * the graph go on to the children, so the children need no waiting of
 * their own: a node's requests to them end before its own do.
 */
#include "util/osdep.h"
#include "block/driver.h"

static CoQueue drain_waiters = {
    .entries = QSIMPLEQ_HEAD_INITIALIZER(drain_waiters.entries),
};

void bdrv_drain_wake(void)
{
    qemu_co_queue_restart_all(&drain_waiters);
}

void bdrv_dec_in_flight(BlockDriverState *bs)
{
    assert(bs->in_flight > 0);
    if (--bs->in_flight == 0 && bs->quiesce_counter) {
        bdrv_drain_wake();
    }
}

static void drained_begin_node(BlockDriverState *bs);
static void drained_end_node(BlockDriverState *bs);

void bdrv_parent_drained_begin_single(BdrvChild *c, int n)
{
    for (; n > 0; n--) {
        if (c->parent) {
            drained_begin_node(c->parent);
        } else if (c->ops && c->ops->drained_begin) {
            c->ops->drained_begin(c);
        }
    }
}

void bdrv_parent_drained_end_single(BdrvChild *c, int n)
{
    for (; n > 0; n--) {
        if (c->parent) {
            drained_end_node(c->parent);
        } else if (c->ops && c->ops->drained_end) {
            c->ops->drained_end(c);
        }
    }
}

static void drained_begin_node(BlockDriverState *bs)
{
    BdrvChild *c;

    bs->quiesce_counter++;
    QTAILQ_FOREACH(c, &bs->parents, next_parent) {
        bdrv_parent_drained_begin_single(c, 1);
    }
}

static void drained_end_node(BlockDriverState *bs)
{
    BdrvChild *c;

    assert(bs->quiesce_counter > 0);
    bs->quiesce_counter--;
    QTAILQ_FOREACH(c, &bs->parents, next_parent) {
        bdrv_parent_drained_end_single(c, 1);
    }
}

/* Something is still in flight on @bs or above it. */
static bool drain_busy(BlockDriverState *bs)
{
    BdrvChild *c;

    if (bs->in_flight) {
        return true;
    }
    QTAILQ_FOREACH(c, &bs->parents, next_parent) {
        if (c->parent ? drain_busy(c->parent) :
            c->ops && c->ops->drained_poll && c->ops->drained_poll(c)) {
            return true;
        }
    }
    return false;
}

void coroutine_fn bdrv_co_drained_begin(BlockDriverState *bs)
{
    drained_begin_node(bs);
    while (drain_busy(bs)) {
        qemu_co_queue_wait(&drain_waiters, NULL);
    }
}

void bdrv_drained_end(BlockDriverState *bs)
{
    drained_end_node(bs);
}
