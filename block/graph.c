/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The node graph: what each user of a node takes and shares (QEMU's
 * permissions, from which file-posix derives its lock bytes), and the
 * attaching and detaching of children and BlockBackend roots that keeps
 * bs->parents and those permissions right.
 */
#include "util/osdep.h"
#include "block/driver.h"

char *bdrv_perm_names(uint64_t perm)
{
    static const char *const names[] = {
        "consistent read", "write", "write unchanged", "resize",
    };
    GString *out = g_string_new("");
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(names); i++) {
        if (perm & (1ULL << i)) {
            g_string_append_printf(out, "%s%s", out->len ? ", " : "",
                                   names[i]);
        }
    }
    return g_string_free(out, false);
}

void bdrv_default_perms(BlockDriverState *bs, BdrvChild *c, uint64_t perm,
                        uint64_t shared, uint64_t *nperm, uint64_t *nshared)
{
    unsigned role = c->role;

    if (role & BDRV_CHILD_COW) {
        /* read where the image is unallocated, and nothing else */
        perm &= BLK_PERM_CONSISTENT_READ;
        shared = (shared & BLK_PERM_WRITE) ?
                 BLK_PERM_WRITE | BLK_PERM_RESIZE : 0;
        shared |= BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE_UNCHANGED;
    } else if (role & (BDRV_CHILD_METADATA | BDRV_CHILD_DATA)) {
        if (role & BDRV_CHILD_METADATA) {
            /* metadata changes even when the guest does not write */
            if (!bs->read_only) {
                perm |= BLK_PERM_WRITE | BLK_PERM_RESIZE;
            }
            if (!(bs->open_flags & BDRV_O_NO_IO)) {
                perm |= BLK_PERM_CONSISTENT_READ;
            }
            shared &= ~(BLK_PERM_WRITE | BLK_PERM_RESIZE);
        }
        if (role & BDRV_CHILD_DATA) {
            /* the format knows the size; writes may grow the file */
            shared &= ~BLK_PERM_RESIZE;
            if (perm & BLK_PERM_WRITE_UNCHANGED) {
                perm |= BLK_PERM_WRITE;
            }
            if (perm & BLK_PERM_WRITE) {
                perm |= BLK_PERM_RESIZE;
            }
        }
    }
    /* a filter, or what the cases above left: passed through */
    *nperm = perm & BLK_PERM_ALL;
    *nshared = shared & BLK_PERM_ALL;
}

static void bdrv_cumulative_perm(BlockDriverState *bs, uint64_t *perm,
                                 uint64_t *shared)
{
    BdrvChild *c;

    *perm = 0;
    *shared = BLK_PERM_ALL;
    QTAILQ_FOREACH(c, &bs->parents, next_parent) {
        *perm |= c->perm;
        *shared &= c->shared_perm;
    }
}

static void bdrv_child_perm(BlockDriverState *bs, BdrvChild *c,
                            uint64_t perm, uint64_t shared, uint64_t *nperm,
                            uint64_t *nshared)
{
    if (bs->drv->child_perm) {
        bs->drv->child_perm(bs, c, perm, shared, nperm, nshared);
    } else {
        bdrv_default_perms(bs, c, perm, shared, nperm, nshared);
    }
    if (c->bs->force_share) {
        *nshared = BLK_PERM_ALL;
    }
}

/* Who @c's parent is, in 7.2's words */
static char *bdrv_child_user_desc(BdrvChild *c)
{
    if (c->parent) {
        return g_strdup_printf("node '%s'", c->parent->node_name);
    }
    if (c->ops && c->ops->get_parent_desc) {
        return c->ops->get_parent_desc(c);
    }
    return g_strdup("an unnamed block device");
}

/*
 * 7.2's check that each user of @bs shares what every other one takes;
 * the users newest first, the first pair that clashes named.
 */
static bool bdrv_parent_perms_conflict(BlockDriverState *bs, Error **errp)
{
    BdrvChild *a, *b;

    QTAILQ_FOREACH(a, &bs->parents, next_parent) {
        QTAILQ_FOREACH(b, &bs->parents, next_parent) {
            g_autofree char *a_user = NULL, *b_user = NULL, *perms = NULL;

            if (a == b || (b->perm & a->shared_perm) == b->perm) {
                continue;
            }
            a_user = bdrv_child_user_desc(a);
            b_user = bdrv_child_user_desc(b);
            perms = bdrv_perm_names(b->perm & ~a->shared_perm);
            error_setg(errp, "Permission conflict on node '%s': permissions "
                       "'%s' are both required by %s (uses node '%s' as '%s' "
                       "child) and unshared by %s (uses node '%s' as '%s' "
                       "child).", bs->node_name, perms, b_user, bs->node_name,
                       b->name, a_user, bs->node_name, a->name);
            return true;
        }
    }
    return false;
}

static bool bdrv_child_set_perm(BdrvChild *c, uint64_t perm, uint64_t shared,
                                Error **errp);

/*
 * Give @bs the permissions its parents now take, and pass on to its
 * children what that implies.  On failure, nodes below may hold a mix of
 * old and new: the caller restores the parents and calls this again.
 */
static bool bdrv_refresh_perms(BlockDriverState *bs, Error **errp)
{
    uint64_t perm, shared, cperm, cshared;
    BdrvChild *c;

    if (bdrv_parent_perms_conflict(bs, errp)) {
        return false;
    }
    bdrv_cumulative_perm(bs, &perm, &shared);
    /* a user that writes on a node opened read-only (read-only=on) */
    if ((perm & (BLK_PERM_WRITE | BLK_PERM_WRITE_UNCHANGED)) &&
        bs->read_only) {
        error_setg(errp, "Block node is read-only");
        return false;
    }
    if (bs->drv->set_perm && !bs->drv->set_perm(bs, perm, shared, errp)) {
        return false;
    }
    QTAILQ_FOREACH(c, &bs->children, next) {
        bdrv_child_perm(bs, c, perm, shared, &cperm, &cshared);
        if (!bdrv_child_set_perm(c, cperm, cshared, errp)) {
            return false;
        }
    }
    return true;
}

/* Set what @c takes; on a conflict, all below is as it was. */
static bool bdrv_child_set_perm(BdrvChild *c, uint64_t perm, uint64_t shared,
                                Error **errp)
{
    uint64_t old_perm = c->perm, old_shared = c->shared_perm;

    if (perm == old_perm && shared == old_shared) {
        return true;
    }
    c->perm = perm;
    c->shared_perm = shared;
    if (bdrv_refresh_perms(c->bs, errp)) {
        return true;
    }
    c->perm = old_perm;
    c->shared_perm = old_shared;
    /* only what we held before: cannot conflict with anyone */
    bdrv_refresh_perms(c->bs, NULL);
    return false;
}

bool bdrv_child_refresh_perms(BlockDriverState *parent, BdrvChild *c,
                              Error **errp)
{
    uint64_t perm, shared, cperm, cshared;

    bdrv_cumulative_perm(parent, &perm, &shared);
    bdrv_child_perm(parent, c, perm, shared, &cperm, &cshared);
    return bdrv_child_set_perm(c, cperm, cshared, errp);
}

/* Link @c as a user of @bs and take its permissions. */
static bool bdrv_link_parent(BlockDriverState *bs, BdrvChild *c,
                             uint64_t perm, uint64_t shared, Error **errp)
{
    c->bs = bs;
    c->perm = 0;
    c->shared_perm = BLK_PERM_ALL;
    /* newest first, as 7.2 keeps them (its conflict texts follow) */
    QTAILQ_INSERT_HEAD(&bs->parents, c, next_parent);
    if (bdrv_child_set_perm(c, perm, shared, errp)) {
        /* a new user of a drained node starts quiesced */
        bdrv_parent_drained_begin_single(c, bs->quiesce_counter);
        return true;
    }
    QTAILQ_REMOVE(&bs->parents, c, next_parent);
    return false;
}

/* Unlink @c from @bs and give up what it took. */
static void bdrv_unlink_parent(BdrvChild *c)
{
    bdrv_parent_drained_end_single(c, c->bs->quiesce_counter);
    QTAILQ_REMOVE(&c->bs->parents, c, next_parent);
    bdrv_refresh_perms(c->bs, NULL);
}

bool bdrv_root_attach(BlockDriverState *bs, BdrvChild *c, uint64_t perm,
                      uint64_t shared, Error **errp)
{
    c->parent = NULL;
    c->role = BDRV_CHILD_FILTERED | BDRV_CHILD_PRIMARY;
    return bdrv_link_parent(bs, c, perm, shared, errp);
}

void bdrv_root_detach(BdrvChild *c)
{
    bdrv_unlink_parent(c);
}

BdrvChild *bdrv_attach_child(BlockDriverState *parent, BlockDriverState *bs,
                             const char *name, unsigned role, Error **errp)
{
    BdrvChild *c = g_new0(BdrvChild, 1);
    uint64_t perm, shared, cperm, cshared;

    c->bs = bs;
    c->name = g_strdup(name);
    c->parent = parent;
    c->role = role;
    bdrv_cumulative_perm(parent, &perm, &shared);
    bdrv_child_perm(parent, c, perm, shared, &cperm, &cshared);
    if (!bdrv_link_parent(bs, c, cperm, cshared, errp)) {
        bdrv_unref(bs);
        g_free(c->name);
        g_free(c);
        return NULL;
    }
    QTAILQ_INSERT_TAIL(&parent->children, c, next);
    if (!strcmp(name, "file")) {
        parent->file = c;
    } else if (!strcmp(name, "backing")) {
        parent->backing = c;
    }
    return c;
}

void bdrv_unref_child(BlockDriverState *parent, BdrvChild *child)
{
    QTAILQ_REMOVE(&parent->children, child, next);
    if (parent->file == child) {
        parent->file = NULL;
    }
    if (parent->backing == child) {
        parent->backing = NULL;
    }
    bdrv_unlink_parent(child);
    bdrv_unref(child->bs);
    g_free(child->name);
    g_free(child);
}

bool bdrv_replace_node(BlockDriverState *from, BlockDriverState *to,
                       Error **errp)
{
    GSList *moved = NULL, *l;
    BdrvChild *c, *next;
    bool ok = true;

    bdrv_ref(from);
    QTAILQ_FOREACH_SAFE(c, &from->parents, next_parent, next) {
        uint64_t perm = c->perm, shared = c->shared_perm;

        if (c->parent == to || (c->ops && c->ops->stay_at_node)) {
            continue;   /* a filter put above @from keeps its link */
        }
        bdrv_unlink_parent(c);
        if (!bdrv_link_parent(to, c, perm, shared, errp)) {
            bdrv_link_parent(from, c, perm, shared, NULL);
            ok = false;
            break;
        }
        moved = g_slist_prepend(moved, c);
    }
    for (l = moved; l; l = l->next) {
        c = l->data;
        if (ok) {
            /* the link's reference moves with it */
            bdrv_ref(to);
            bdrv_unref(from);
        } else {
            uint64_t perm = c->perm, shared = c->shared_perm;

            bdrv_unlink_parent(c);
            bdrv_link_parent(from, c, perm, shared, NULL);
        }
    }
    g_slist_free(moved);
    bdrv_unref(from);
    return ok;
}

bool coroutine_fn bdrv_co_replace_node_drained(BlockDriverState *from,
                                               BlockDriverState *to,
                                               Error **errp)
{
    bool ok;

    bdrv_ref(from);
    bdrv_co_drained_begin(from);
    ok = bdrv_replace_node(from, to, errp);
    bdrv_drained_end(from);
    bdrv_unref(from);
    return ok;
}

BdrvChild *bdrv_primary_child(BlockDriverState *bs)
{
    BdrvChild *c;

    QTAILQ_FOREACH(c, &bs->children, next) {
        if (c->role & BDRV_CHILD_PRIMARY) {
            return c;
        }
    }
    return NULL;
}

BlockDriverState *bdrv_find_overlay(BlockDriverState *bs,
                                    BlockDriverState *node)
{
    for (; bs; bs = bdrv_backing_bs(bs)) {
        if (bdrv_backing_bs(bs) == node) {
            return bs;
        }
    }
    return NULL;
}

bool coroutine_fn bdrv_co_make_read_only(BlockDriverState *bs, Error **errp)
{
    uint64_t perm, shared;
    int ret;

    if (bs->read_only) {
        return true;
    }
    bdrv_cumulative_perm(bs, &perm, &shared);
    if (perm & (BLK_PERM_WRITE | BLK_PERM_WRITE_UNCHANGED)) {
        error_setg(errp, "Node '%s' has writers: it cannot become read-only",
                   bs->node_name);
        return false;
    }
    ret = bdrv_co_flush(bs);
    if (ret == 0 && bs->drv->co_inactivate && bs->opened) {
        /* what a close would write: bitmaps stored, the image clean */
        ret = bs->drv->co_inactivate(bs);
    }
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Could not make node '%s' read-only",
                         bs->node_name);
        return false;
    }
    bs->read_only = true;
    bs->open_flags &= ~BDRV_O_RDWR;
    /* the children give up write (and the file its write lock bytes) */
    bdrv_refresh_perms(bs, NULL);
    return true;
}

/* The children @bs writes through: all but its backing chain. */
static bool bdrv_writes_through(BdrvChild *c)
{
    return !(c->role & BDRV_CHILD_COW);
}

/* Back to read-only after a failed bdrv_co_make_writable() step. */
static void bdrv_undo_writable(BlockDriverState *bs)
{
    bs->read_only = true;
    bs->open_flags &= ~BDRV_O_RDWR;
    bdrv_refresh_perms(bs, NULL);
}

bool coroutine_fn bdrv_co_make_writable(BlockDriverState *bs, Error **errp)
{
    BdrvChild *c;
    bool protocol = true;

    if (!bs->read_only) {
        return true;
    }
    QTAILQ_FOREACH(c, &bs->children, next) {
        if (bdrv_writes_through(c)) {
            protocol = false;
            if (!bdrv_co_make_writable(c->bs, errp)) {
                return false;
            }
        }
    }
    if (protocol && bs->drv->protocol_name && !bs->drv->co_reopen_rw) {
        error_setg(errp, "Node '%s' cannot be reopened read-write",
                   bs->node_name);
        return false;
    }
    if (protocol && bs->drv->co_reopen_rw &&
        !bs->drv->co_reopen_rw(bs, errp)) {
        return false;
    }
    bs->read_only = false;
    bs->open_flags |= BDRV_O_RDWR;
    /* what the node now takes on its file: write, with its lock bytes */
    if (!bdrv_refresh_perms(bs, errp)) {
        bdrv_undo_writable(bs);
        return false;
    }
    if (!protocol && bs->drv->co_reopen_rw &&
        !bs->drv->co_reopen_rw(bs, errp)) {
        bdrv_undo_writable(bs);
        return false;
    }
    return true;
}

BlockDriverState *coroutine_fn bdrv_co_reopen_backing_rw(
    BlockDriverState *above, bool *was_ro, Error **errp)
{
    BlockDriverState *bs = bdrv_backing_bs(above);
    bool ok;

    if (was_ro) {
        *was_ro = bs && bs->read_only;
    }
    if (!bs || !bs->read_only) {
        return bs;
    }
    bdrv_co_drained_begin(bs);
    ok = bdrv_co_make_writable(bs, errp);
    bdrv_drained_end(bs);
    return ok ? bs : NULL;
}

/* ---- op blockers ---- */

typedef struct BdrvOpBlocker {
    const void *owner;
    char *reason;
} BdrvOpBlocker;

void bdrv_op_block_all(BlockDriverState *bs, const void *owner,
                       const char *reason)
{
    BdrvOpBlocker *b = g_new(BdrvOpBlocker, 1);

    b->owner = owner;
    b->reason = g_strdup(reason);
    bs->op_blockers = g_slist_prepend(bs->op_blockers, b);
}

void bdrv_op_unblock_all(BlockDriverState *bs, const void *owner)
{
    GSList *l = bs->op_blockers;

    while (l) {
        BdrvOpBlocker *b = l->data;

        l = l->next;
        if (b->owner == owner) {
            bs->op_blockers = g_slist_remove(bs->op_blockers, b);
            g_free(b->reason);
            g_free(b);
        }
    }
}

bool bdrv_op_is_blocked(BlockDriverState *bs, BlockOpType op, Error **errp)
{
    BdrvChild *c;

    if (bs->op_blockers) {
        BdrvOpBlocker *b = bs->op_blockers->data;

        error_setg(errp, "Node '%s' is busy: %s", bs->node_name, b->reason);
        return true;
    }
    switch (op) {
    case BLOCK_OP_TYPE_COMMIT_TARGET:
    case BLOCK_OP_TYPE_STREAM:
    case BLOCK_OP_TYPE_BACKUP_SOURCE:
    case BLOCK_OP_TYPE_BACKUP_TARGET:
        return false;
    default:
        break;
    }
    QTAILQ_FOREACH(c, &bs->parents, next_parent) {
        if (c->parent && (c->role & BDRV_CHILD_COW)) {
            error_setg(errp, "Node '%s' is busy: node is used as backing hd "
                       "of '%s'", bs->node_name, c->parent->node_name);
            return true;
        }
    }
    return false;
}
