/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * blkdebug: a filter that fails chosen requests, for testing error paths
 * (QEMU's driver of that name, the part the tests need).  Options:
 *
 *   image                        the node below (image.filename=..., ...)
 *   inject-error.N.event         read_aio (reads) or write_aio (writes)
 *   inject-error.N.errno         error to return (default EIO)
 *   inject-error.N.sector        only requests covering this 512-byte
 *                                sector (default: every request)
 *   inject-error.N.once          on: the rule fires once, then is gone
 *
 * With driver=raw,file.driver=blkdebug,... the system qemu-img 7.2 fails
 * the same requests, so the error paths are compared with it.
 */
#include "util/osdep.h"
#include "block/driver.h"
#include "util/cutils.h"

#define MAX_RULES 16

typedef struct BlkdebugRule {
    bool is_write;
    int error;
    int64_t sector;             /* -1: any */
    bool once;
    bool spent;
} BlkdebugRule;

typedef struct BDRVBlkdebugState {
    BdrvChild *image;
    BlkdebugRule rules[MAX_RULES];
    int nb_rules;
} BDRVBlkdebugState;

static bool parse_rule(QDict *options, int i, BlkdebugRule *r, bool *found,
                       Error **errp)
{
    g_autofree char *ev_key = g_strdup_printf("inject-error.%d.event", i);
    g_autofree char *errno_key = g_strdup_printf("inject-error.%d.errno", i);
    g_autofree char *sector_key = g_strdup_printf("inject-error.%d.sector", i);
    g_autofree char *once_key = g_strdup_printf("inject-error.%d.once", i);
    g_autofree char *event = bdrv_opt_take_str(options, ev_key);
    uint64_t error = EIO, sector = 0;
    bool has_sector = false, has;

    *found = event != NULL;
    if (!event) {
        return true;
    }
    if (strcmp(event, "read_aio") && strcmp(event, "write_aio")) {
        error_setg(errp, "blkdebug: event '%s' is not supported (only "
                   "read_aio and write_aio)", event);
        return false;
    }
    r->is_write = !strcmp(event, "write_aio");
    if (!bdrv_opt_take_size(options, errno_key, &error, &has, errp) ||
        !bdrv_opt_take_size(options, sector_key, &sector, &has_sector,
                            errp) ||
        !bdrv_opt_take_bool(options, once_key, &r->once, errp)) {
        return false;
    }
    if (error == 0 || error > 4095) {
        error_setg(errp, "blkdebug: invalid errno %" PRIu64, error);
        return false;
    }
    r->error = (int)error;
    r->sector = has_sector ? (int64_t)sector : -1;
    return true;
}

static bool coroutine_fn blkdebug_co_open(BlockDriverState *bs,
                                          QDict *options, int flags,
                                          Error **errp)
{
    BDRVBlkdebugState *s = bs->opaque;
    g_autofree char *config = bdrv_opt_take_str(options, "config");
    int i;

    /* a "filename" option is accepted and ignored (image.* names it) */
    g_free(bdrv_opt_take_str(options, "filename"));

    if (config && *config) {
        error_setg(errp, "blkdebug: config files are not supported");
        return false;
    }
    for (i = 0; i < MAX_RULES; i++) {
        bool found;
        if (!parse_rule(options, i, &s->rules[s->nb_rules], &found, errp)) {
            return false;
        }
        s->nb_rules += found;
    }
    s->image = bdrv_co_open_child(NULL, options, "image", bs,
                                  BDRV_CHILD_FILTERED | BDRV_CHILD_PRIMARY,
                                  flags | BDRV_O_PROTOCOL, errp);
    return s->image != NULL;
}

/* The error a request gets from the rules, or 0. */
static int rule_check(BDRVBlkdebugState *s, int64_t offset, int64_t bytes,
                      bool is_write)
{
    int i;

    for (i = 0; i < s->nb_rules; i++) {
        BlkdebugRule *r = &s->rules[i];
        int64_t at = r->sector * BDRV_SECTOR_SIZE;

        if (r->spent || r->is_write != is_write ||
            (r->sector >= 0 && (at < offset || at >= offset + bytes))) {
            continue;
        }
        r->spent = r->once;
        return -r->error;
    }
    return 0;
}

static int coroutine_fn blkdebug_co_preadv(BlockDriverState *bs,
                                           int64_t offset, int64_t bytes,
                                           QEMUIOVector *qiov,
                                           BdrvRequestFlags flags)
{
    BDRVBlkdebugState *s = bs->opaque;
    int ret = rule_check(s, offset, bytes, false);

    return ret ? ret : bdrv_co_preadv(s->image, offset, bytes, qiov, flags);
}

static int coroutine_fn blkdebug_co_pwritev(BlockDriverState *bs,
                                            int64_t offset, int64_t bytes,
                                            QEMUIOVector *qiov,
                                            BdrvRequestFlags flags)
{
    BDRVBlkdebugState *s = bs->opaque;
    int ret = rule_check(s, offset, bytes, true);

    return ret ? ret : bdrv_co_pwritev(s->image, offset, bytes, qiov, flags);
}

static int coroutine_fn blkdebug_co_pwrite_zeroes(BlockDriverState *bs,
                                                  int64_t offset,
                                                  int64_t bytes,
                                                  BdrvRequestFlags flags)
{
    BDRVBlkdebugState *s = bs->opaque;
    int ret = rule_check(s, offset, bytes, true);

    return ret ? ret : bdrv_co_pwrite_zeroes(s->image, offset, bytes, flags);
}

static int coroutine_fn blkdebug_co_pdiscard(BlockDriverState *bs,
                                             int64_t offset, int64_t bytes)
{
    BDRVBlkdebugState *s = bs->opaque;

    return bdrv_co_pdiscard(s->image, offset, bytes);
}

static int coroutine_fn blkdebug_co_block_status(BlockDriverState *bs,
                                                 bool want_zero,
                                                 int64_t offset,
                                                 int64_t bytes, int64_t *pnum,
                                                 int64_t *map,
                                                 BlockDriverState **file)
{
    BDRVBlkdebugState *s = bs->opaque;

    *pnum = bytes;
    *map = offset;
    *file = s->image->bs;
    return BDRV_BLOCK_RAW | BDRV_BLOCK_OFFSET_VALID;
}

static int coroutine_fn blkdebug_co_truncate(BlockDriverState *bs,
                                             int64_t offset, bool exact,
                                             PreallocMode prealloc,
                                             BdrvRequestFlags flags,
                                             Error **errp)
{
    BDRVBlkdebugState *s = bs->opaque;

    return bdrv_co_truncate(s->image, offset, exact, prealloc, flags, errp);
}

static int64_t coroutine_fn blkdebug_co_getlength(BlockDriverState *bs)
{
    BDRVBlkdebugState *s = bs->opaque;

    return bdrv_co_getlength(s->image->bs);
}

const BlockDriver bdrv_blkdebug = {
    .format_name = "blkdebug",
    .protocol_name = "blkdebug",
    .instance_size = sizeof(BDRVBlkdebugState),
    .co_open = blkdebug_co_open,
    .co_preadv = blkdebug_co_preadv,
    .co_pwritev = blkdebug_co_pwritev,
    .co_pwrite_zeroes = blkdebug_co_pwrite_zeroes,
    .co_pdiscard = blkdebug_co_pdiscard,
    .co_block_status = blkdebug_co_block_status,
    .co_truncate = blkdebug_co_truncate,
    .co_getlength = blkdebug_co_getlength,
};
