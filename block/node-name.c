/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Node names: the registry of live nodes, by the user's node-name or a
 * generated one, as QEMU 7.2 keeps them (its graph_bdrv_states).
 */
#include "util/osdep.h"
#include "block/driver.h"
#include "util/cutils.h"

static QTAILQ_HEAD(, BlockDriverState) all_nodes =
    QTAILQ_HEAD_INITIALIZER(all_nodes);
static uint64_t node_name_counter;

BlockDriverState *bdrv_find_node(const char *name)
{
    BlockDriverState *bs;

    QTAILQ_FOREACH(bs, &all_nodes, node_list) {
        if (!strcmp(bs->node_name, name)) {
            return bs;
        }
    }
    return NULL;
}

BlockDriverState *bdrv_next_node(BlockDriverState *bs)
{
    return bs ? QTAILQ_NEXT(bs, node_list) : QTAILQ_FIRST(&all_nodes);
}

const char *bdrv_get_node_name(BlockDriverState *bs)
{
    return bs->node_name;
}

bool bdrv_node_name_is_user(BlockDriverState *bs)
{
    return bs->named_by_user;
}

/* 7.2's checks of a node-name the user gives, before anything is opened. */
bool bdrv_check_node_name(const char *name, Error **errp)
{
    if (!id_wellformed(name)) {
        error_setg(errp, "Invalid node-name: '%s'", name);
        return false;
    }
    if (bdrv_find_node(name)) {
        error_setg(errp, "Duplicate nodes with node-name='%s'", name);
        return false;
    }
    if (strlen(name) >= sizeof(((BlockDriverState *)NULL)->node_name)) {
        error_setg(errp, "Node name too long");
        return false;
    }
    return true;
}

/*
 * Name @bs (@name NULL: a generated name, "#block" then a count and two
 * random digits as 7.2's, which no user name can take: it starts with
 * '#') and list it among the live nodes.
 */
bool bdrv_assign_node_name(BlockDriverState *bs, const char *name,
                                  Error **errp)
{
    if (name) {
        if (!bdrv_check_node_name(name, errp)) {
            return false;
        }
        g_strlcpy(bs->node_name, name, sizeof(bs->node_name));
        bs->named_by_user = true;
    } else {
        snprintf(bs->node_name, sizeof(bs->node_name), "#block%" PRIu64 "%02d",
                 node_name_counter++, g_random_int_range(0, 100));
    }
    QTAILQ_INSERT_TAIL(&all_nodes, bs, node_list);
    return true;
}

void bdrv_release_node_name(BlockDriverState *bs)
{
    if (bs->node_name[0]) {
        QTAILQ_REMOVE(&all_nodes, bs, node_list);
        bs->node_name[0] = 0;
    }
}
