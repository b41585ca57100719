/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The "iscsi" protocol: a LUN on an iSCSI target, reached with libiscsi's
 * asynchronous API.
 *
 * Each session is one libiscsi context (one TCP connection, one login),
 * driven by the connection engine (block/net-conn.h): its socket watched
 * for the events libiscsi wants, the context serviced when they come; a
 * timer services it every second as well (libiscsi checks command
 * timeouts only then), sends a NOP-Out every 5 s and reconnects a session
 * whose NOPs go unanswered.  libiscsi reconnects a dropped session by itself and sends
 * again what was in flight.  Callbacks only record results and schedule
 * the waiting coroutine (CoWaiter), never enter it.
 *
 * A request is cut into commands of at most ISCSI_CMD_BYTES (and the
 * target's Block Limits), spread over the sessions (the least busy first),
 * at most queue-depth in flight on each: a target like tgt grants 256 KiB
 * per R2T, so many smaller commands in flight hide the round trips that
 * one big command would wait through.  The first failed command's errno is
 * the request's.  A session that makes no progress for `timeout` seconds
 * (target gone, reconnects failing) is given up: its commands fail and
 * later requests fail at once, so a copy ends with an error, not a hang.
 *
 * Two sessions by default, logged in together, each with its own ISID;
 * an extra default session the target refuses is dropped, one asked for
 * with ?sessions= fails the open.
 *
 * URL: iscsi://[user[%password]@]host[:port]/target-iqn/lun as QEMU 7.2,
 * plus our query parameters ?sessions=N&queue-depth=N&timeout=S.
 *
 * Files, each calling only those below it: iscsi.c (this driver: open,
 * I/O, the LUN's properties, URL), then iscsi-conn.c (sessions: login,
 * commands, retries, timeouts; iscsi-int.h) and net-conn.c.
 */
#include "block/iscsi-int.h"
#include "block/driver.h"
#include "util/json.h"
#include "util/secret.h"

static struct scsi_task *iscsi_send_read(ISCSIConn *c, ISCSICmd *cmd,
                                         void *arg)
{
    ISCSIClient *s = iscsi_client(c);

    return iscsi_read16_iov_task(c->iscsi, s->lun, cmd->lba, cmd->qiov.size,
                                 s->block_size, 0, 0, 0, 0, 0, iscsi_cmd_cb,
                                 cmd, (struct scsi_iovec *)cmd->qiov.iov,
                                 cmd->qiov.niov);
}

static struct scsi_task *iscsi_send_write(ISCSIConn *c, ISCSICmd *cmd,
                                          void *arg)
{
    ISCSIClient *s = iscsi_client(c);
    bool fua = *(bool *)arg;

    return iscsi_write16_iov_task(c->iscsi, s->lun, cmd->lba, NULL,
                                  cmd->qiov.size, s->block_size, 0, 0, fua, 0,
                                  0, iscsi_cmd_cb, cmd,
                                  (struct scsi_iovec *)cmd->qiov.iov,
                                  cmd->qiov.niov);
}

static int coroutine_fn iscsi_co_rw(BlockDriverState *bs, int64_t offset,
                                    int64_t bytes, QEMUIOVector *qiov,
                                    bool write, bool fua)
{
    ISCSIClient *s = bs->opaque;
    int n = DIV_ROUND_UP(bytes, s->cmd_bytes), i, tries;
    g_autofree ISCSICmd *cmds = g_new0(ISCSICmd, n);
    ISCSISendFunc *send = write ? iscsi_send_write : iscsi_send_read;
    int ret = 0;

    if (offset % s->block_size || bytes % s->block_size) {
        return -EINVAL;         /* io.c aligns to request_alignment */
    }
    for (i = 0; i < n; i++) {
        uint64_t off = (uint64_t)i * s->cmd_bytes;

        qemu_iovec_init_slice(&cmds[i].qiov, qiov, off,
                              MIN(s->cmd_bytes, bytes - off));
        cmds[i].lba = (offset + off) / s->block_size;
    }
    /*
     * All commands in flight at once (slots permitting); those the target
     * was too busy for are sent again, up to ISCSI_RETRIES rounds.
     */
    for (tries = 0;; tries++) {
        NetReq req;
        bool again = false;

        net_req_init(&req);
        for (i = 0; i < n && req.ret == 0; i++) {
            if (cmds[i].status == SCSI_STATUS_GOOD && cmds[i].conn) {
                continue;       /* done in an earlier round */
            }
            if (!iscsi_cmd_send(s, &req, &cmds[i], send, &fua)) {
                break;
            }
        }
        ret = net_req_wait(&req);
        for (i = 0; i < n; i++) {
            ISCSICmd *cmd = &cmds[i];
            int r;

            if (!cmd->task && cmd->status == SCSI_STATUS_GOOD) {
                continue;
            }
            if (tries < ISCSI_RETRIES && iscsi_cmd_retryable(cmd)) {
                again = true;
                cmd->conn = NULL;
            } else if ((r = iscsi_status_errno(cmd->status, cmd->task)) < 0 &&
                       ret == 0) {
                g_autofree char *why = iscsi_cmd_error(cmd);

                /* a session given up was reported once, not per command */
                if (cmd->status != SCSI_STATUS_CANCELLED) {
                    iscsi_report(s, "iSCSI %s16 failed at lba %" PRIu64 ": %s",
                                 write ? "WRITE" : "READ", cmd->lba, why);
                }
                ret = r;
            }
            if (cmd->task) {
                scsi_free_scsi_task(cmd->task);
                cmd->task = NULL;
            }
        }
        if (ret < 0 || !again) {
            break;
        }
        net_co_retry_sleep(tries);
    }
    for (i = 0; i < n; i++) {
        qemu_iovec_destroy(&cmds[i].qiov);
    }
    return ret;
}

static int coroutine_fn iscsi_co_preadv(BlockDriverState *bs, int64_t offset,
                                        int64_t bytes, QEMUIOVector *qiov,
                                        BdrvRequestFlags flags)
{
    return iscsi_co_rw(bs, offset, bytes, qiov, false, false);
}

static int coroutine_fn iscsi_co_pwritev(BlockDriverState *bs, int64_t offset,
                                         int64_t bytes, QEMUIOVector *qiov,
                                         BdrvRequestFlags flags)
{
    return iscsi_co_rw(bs, offset, bytes, qiov, true,
                       !!(flags & BDRV_REQ_FUA));
}

static struct scsi_task *iscsi_send_sync_cache(ISCSIConn *c, ISCSICmd *cmd,
                                               void *arg)
{
    return iscsi_synchronizecache16_task(c->iscsi, iscsi_client(c)->lun, 0, 0, 0, 0,
                                         iscsi_cmd_cb, cmd);
}

static int coroutine_fn iscsi_co_flush_to_disk(BlockDriverState *bs)
{
    ISCSIClient *s = bs->opaque;
    int i, ret = 0;

    /* every session: each may hold writes in the target's cache */
    for (i = 0; i < s->pool.nconns && ret == 0; i++) {
        ISCSICmd cmd = { 0 };
        int r;

        if (s->conns[i].nc.dead) {
            continue;
        }
        r = iscsi_co_cmd(s, &cmd, iscsi_send_sync_cache, NULL);
        if (r < 0) {
            g_autofree char *why = iscsi_cmd_error(&cmd);

            iscsi_report(s, "iSCSI SYNCHRONIZECACHE16 failed: %s", why);
            ret = r;
        }
        if (cmd.task) {
            scsi_free_scsi_task(cmd.task);
        }
    }
    return ret;
}

typedef struct ISCSIRange {
    uint64_t lba;
    uint32_t blocks;
    bool unmap;
} ISCSIRange;

static struct scsi_task *iscsi_send_unmap(ISCSIConn *c, ISCSICmd *cmd,
                                          void *arg)
{
    ISCSIRange *r = arg;
    struct unmap_list list = { .lba = r->lba, .num = r->blocks };

    return iscsi_unmap_task(c->iscsi, iscsi_client(c)->lun, 0, 0, &list, 1,
                            iscsi_cmd_cb, cmd);
}

static int coroutine_fn iscsi_co_pdiscard(BlockDriverState *bs, int64_t offset,
                                          int64_t bytes)
{
    ISCSIClient *s = bs->opaque;
    int ret = 0;

    if (offset % s->block_size || bytes % s->block_size) {
        return -ENOTSUP;
    }
    if (!s->lbp.lbpu) {
        return 0;               /* discard is advisory */
    }
    while (bytes > 0 && ret == 0) {
        uint64_t max = s->bl.max_unmap ? s->bl.max_unmap : UINT32_MAX;
        ISCSIRange r = {
            .lba = offset / s->block_size,
            .blocks = MIN(max, (uint64_t)bytes / s->block_size),
        };
        ISCSICmd cmd = { 0 };

        ret = iscsi_co_cmd(s, &cmd, iscsi_send_unmap, &r);
        if (ret < 0 && cmd.status == SCSI_STATUS_CHECK_CONDITION) {
            ret = 0;            /* a target may refuse the alignment */
        } else if (ret < 0) {
            g_autofree char *why = iscsi_cmd_error(&cmd);

            iscsi_report(s, "iSCSI UNMAP failed at lba %" PRIu64 ": %s",
                         r.lba, why);
        }
        if (cmd.task) {
            scsi_free_scsi_task(cmd.task);
        }
        offset += (int64_t)r.blocks * s->block_size;
        bytes -= (int64_t)r.blocks * s->block_size;
    }
    return ret;
}

static struct scsi_task *iscsi_send_write_same(ISCSIConn *c, ISCSICmd *cmd,
                                               void *arg)
{
    ISCSIClient *s = iscsi_client(c);
    ISCSIRange *r = arg;

    return iscsi_writesame16_task(c->iscsi, s->lun, r->lba, s->zeroblock,
                                  s->block_size, r->blocks, 0, r->unmap, 0, 0,
                                  iscsi_cmd_cb, cmd);
}

static int coroutine_fn iscsi_co_pwrite_zeroes(BlockDriverState *bs,
                                               int64_t offset, int64_t bytes,
                                               BdrvRequestFlags flags)
{
    ISCSIClient *s = bs->opaque;
    /* UNMAP through WRITE SAME only where unmapped blocks read as zeroes */
    bool unmap = (flags & BDRV_REQ_MAY_UNMAP) && s->lbp.lbpws && s->lbprz;
    int ret = 0;

    if (offset % s->block_size || bytes % s->block_size) {
        return -ENOTSUP;
    }
    if (!s->has_write_same) {
        return -ENOTSUP;
    }
    if (!s->zeroblock) {
        s->zeroblock = g_malloc0(s->block_size);
    }
    while (bytes > 0 && ret == 0) {
        uint64_t max = s->bl.max_ws_len ? s->bl.max_ws_len : UINT32_MAX;
        ISCSIRange r = {
            .lba = offset / s->block_size,
            .blocks = MIN(MIN(max, UINT32_MAX),
                          (uint64_t)bytes / s->block_size),
            .unmap = unmap,
        };
        ISCSICmd cmd = { 0 };

        ret = iscsi_co_cmd(s, &cmd, iscsi_send_write_same, &r);
        if (ret < 0 && cmd.status == SCSI_STATUS_CHECK_CONDITION &&
            cmd.task && cmd.task->sense.key == SCSI_SENSE_ILLEGAL_REQUEST &&
            (cmd.task->sense.ascq == SCSI_SENSE_ASCQ_INVALID_OPERATION_CODE ||
             cmd.task->sense.ascq == SCSI_SENSE_ASCQ_INVALID_FIELD_IN_CDB)) {
            /* no WRITE SAME here after all: io.c writes zero buffers */
            s->has_write_same = false;
            ret = -ENOTSUP;
        } else if (ret < 0) {
            g_autofree char *why = iscsi_cmd_error(&cmd);

            iscsi_report(s, "iSCSI WRITESAME16 failed at lba %" PRIu64 ": %s",
                         r.lba, why);
        }
        if (cmd.task) {
            scsi_free_scsi_task(cmd.task);
        }
        offset += (int64_t)r.blocks * s->block_size;
        bytes -= (int64_t)r.blocks * s->block_size;
    }
    return ret;
}

static struct scsi_task *iscsi_send_get_lba_status(ISCSIConn *c,
                                                   ISCSICmd *cmd, void *arg)
{
    return iscsi_get_lba_status_task(c->iscsi, iscsi_client(c)->lun,
                                     *(uint64_t *)arg, 8 + 16, iscsi_cmd_cb,
                                     cmd);
}

static int coroutine_fn iscsi_co_block_status(BlockDriverState *bs,
                                              bool want_zero, int64_t offset,
                                              int64_t bytes, int64_t *pnum,
                                              int64_t *map,
                                              BlockDriverState **file)
{
    ISCSIClient *s = bs->opaque;
    uint64_t lba = offset / s->block_size;
    ISCSICmd cmd = { 0 };
    struct scsi_get_lba_status *st;
    struct scsi_lba_status_descriptor *d;
    int ret = BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID;
    int r;

    *pnum = bytes;
    *map = offset;
    *file = bs;
    if (!s->lbpme) {
        return ret;             /* no provisioning: all mapped */
    }
    r = iscsi_co_cmd(s, &cmd, iscsi_send_get_lba_status, &lba);
    if (r < 0) {
        g_autofree char *why = iscsi_cmd_error(&cmd);

        if (cmd.status == SCSI_STATUS_CHECK_CONDITION) {
            /* not supported after all: everything is data, as QEMU says */
            iscsi_report(s, "iSCSI GET_LBA_STATUS failed at lba %" PRIu64
                         ": %s", lba, why);
        } else {
            ret = r;
        }
        goto out;
    }
    st = scsi_datain_unmarshall(cmd.task);
    if (!st || st->num_descriptors == 0 || st->descriptors[0].lba != lba) {
        iscsi_report(s, "iSCSI GET_LBA_STATUS at lba %" PRIu64 ": the target "
                     "answered for another range", lba);
        ret = -EIO;
        goto out;
    }
    d = &st->descriptors[0];
    if (d->num_blocks == 0) {
        goto out;               /* nonsense; keep the safe answer */
    }
    *pnum = MIN((int64_t)d->num_blocks * s->block_size, bytes);
    if (d->provisioning == SCSI_PROVISIONING_TYPE_DEALLOCATED ||
        d->provisioning == SCSI_PROVISIONING_TYPE_ANCHORED) {
        ret &= ~BDRV_BLOCK_DATA;
        if (s->lbprz) {
            ret |= BDRV_BLOCK_ZERO;
        }
    }
out:
    if (cmd.task) {
        scsi_free_scsi_task(cmd.task);
    }
    return ret;
}

static int64_t coroutine_fn iscsi_co_getlength(BlockDriverState *bs)
{
    ISCSIClient *s = bs->opaque;

    return s->num_blocks * s->block_size;
}

static int coroutine_fn iscsi_co_truncate(BlockDriverState *bs, int64_t offset,
                                          bool exact, PreallocMode prealloc,
                                          BdrvRequestFlags flags, Error **errp)
{
    int64_t len = iscsi_co_getlength(bs);

    if (prealloc != PREALLOC_MODE_OFF) {
        error_setg(errp, "Unsupported preallocation mode '%s'",
                   PreallocMode_str[prealloc]);
        return -ENOTSUP;
    }
    if (offset != len && exact) {
        error_setg(errp, "Cannot resize iSCSI devices");
        return -ENOTSUP;
    }
    if (offset > len) {
        error_setg(errp, "Cannot grow iSCSI devices");
        return -EINVAL;
    }
    return 0;
}

static int iscsi_get_info(BlockDriverState *bs, BlockDriverInfo *bdi)
{
    ISCSIClient *s = bs->opaque;
    uint64_t gran = (uint64_t)s->bl.opt_unmap_gran * s->block_size;

    /* the target's allocation unit, when it is a plausible one */
    bdi->cluster_size = gran >= 4096 && gran <= 16 * 1024 * 1024 ? gran : 0;
    return 0;
}

static void iscsi_refresh_limits(BlockDriverState *bs)
{
    ISCSIClient *s = bs->opaque;
    uint64_t bsz = s->block_size;

    bs->bl.request_alignment = bsz;
    /* io.c may hand us big requests: we split them into commands */
    bs->bl.max_transfer = 0;
    if (s->bl.opt_xfer_len && s->bl.opt_xfer_len < INT_MAX / bsz) {
        uint64_t opt = s->bl.opt_xfer_len * bsz;

        while (opt & (opt - 1)) {
            opt &= opt - 1;     /* down to a power of two */
        }
        bs->bl.opt_transfer = opt;
    }
    if (s->lbp.lbpu) {
        bs->bl.max_pdiscard = s->bl.max_unmap ? s->bl.max_unmap * bsz
                                              : (int64_t)UINT32_MAX * bsz;
        bs->bl.pdiscard_alignment = MAX(s->bl.opt_unmap_gran, 1) * bsz;
    } else {
        bs->bl.pdiscard_alignment = bsz;
    }
    bs->bl.max_pwrite_zeroes = s->bl.max_ws_len ? s->bl.max_ws_len * bsz
                                                : (int64_t)UINT32_MAX * bsz;
    bs->bl.pwrite_zeroes_alignment =
        s->lbp.lbpws ? MAX(s->bl.opt_unmap_gran, 1) * bsz : bsz;
}

/* ---- open, close ---- */

static void iscsi_options_free(ISCSIOptions *o)
{
    g_free(o->transport);
    g_free(o->portal);
    g_free(o->target);
    g_free(o->user);
    g_free(o->password);
    g_free(o->initiator);
    g_free(o->digest);
}

static bool iscsi_take_options(QDict *options, ISCSIOptions *o, Error **errp)
{
    g_autofree char *secret = bdrv_opt_take_str(options, "password-secret");

    memset(o, 0, sizeof(*o));
    o->sessions_given = qdict_haskey(options, "sessions");
    o->transport = bdrv_opt_take_str(options, "transport");
    o->portal = bdrv_opt_take_str(options, "portal");
    o->target = bdrv_opt_take_str(options, "target");
    o->user = bdrv_opt_take_str(options, "user");
    o->password = bdrv_opt_take_str(options, "password");
    o->initiator = bdrv_opt_take_str(options, "initiator-name");
    o->digest = bdrv_opt_take_str(options, "header-digest");
    o->lun = 0;
    o->timeout = ISCSI_DEFAULT_TIMEOUT_S;
    o->sessions = ISCSI_DEFAULT_SESSIONS;
    o->depth = ISCSI_DEFAULT_DEPTH;
    if (!bdrv_opt_take_number(options, "lun", &o->lun, NULL, errp) ||
        !bdrv_opt_take_number(options, "timeout", &o->timeout, NULL, errp) ||
        !bdrv_opt_take_number(options, "sessions", &o->sessions, NULL, errp) ||
        !bdrv_opt_take_number(options, "queue-depth", &o->depth, NULL,
                              errp)) {
        return false;
    }
    if (!o->transport || !o->portal || !o->target) {
        error_setg(errp, "Need all of transport, portal and target options");
        return false;
    }
    if (strcmp(o->transport, "tcp")) {
        error_setg(errp, "Unknown transport: %s", o->transport);
        return false;
    }
    /* 7.2 looks at the password only for CHAP, i.e. with a user */
    if (o->user && secret && o->password) {
        error_setg(errp, "'password' and 'password-secret' properties are "
                   "mutually exclusive");
        return false;
    }
    if (o->user && secret) {
        o->password = qemu_secret_lookup(secret, errp);
        if (!o->password) {
            return false;
        }
    }
    if (o->user && !o->password) {
        error_setg(errp, "CHAP username specified but no password was given");
        return false;
    }
    if (o->lun > 16383) {
        error_setg(errp, "Parameter 'lun' must be at most 16383");
        return false;
    }
    return net_check_options("sessions", o->sessions, ISCSI_MAX_SESSIONS,
                             o->depth, ISCSI_MAX_DEPTH, o->timeout, errp);
}

static void iscsi_client_close(ISCSIClient *s)
{
    int i;

    for (i = 0; i < s->pool.nconns; i++) {
        iscsi_conn_close(&s->conns[i]);
    }
    net_pool_destroy(&s->pool);
    g_free(s->conns);
    s->conns = NULL;
    g_free(s->zeroblock);
    s->zeroblock = NULL;
    g_free(s->portal);
    s->portal = NULL;
}

static struct scsi_task *iscsi_send_inquiry(ISCSIConn *c, ISCSICmd *cmd,
                                            void *arg)
{
    int *a = arg;           /* evpd, page, allocation length */

    return iscsi_inquiry_task(c->iscsi, iscsi_client(c)->lun, a[0], a[1], a[2],
                              iscsi_cmd_cb, cmd);
}

/* INQUIRY (a VPD page when @evpd); the unmarshalled data, task in *@task. */
static void *coroutine_fn iscsi_co_inquiry(ISCSIClient *s, int evpd, int page,
                                           struct scsi_task **task,
                                           Error **errp)
{
    int args[3] = { evpd, page, 255 };
    ISCSICmd cmd = { 0 };
    void *data;
    int ret;

    ret = iscsi_co_cmd(s, &cmd, iscsi_send_inquiry, args);
    if (ret == 0 && scsi_datain_getfullsize(cmd.task) > cmd.task->datain.size) {
        args[2] = scsi_datain_getfullsize(cmd.task);
        scsi_free_scsi_task(cmd.task);
        cmd.task = NULL;
        ret = iscsi_co_cmd(s, &cmd, iscsi_send_inquiry, args);
    }
    if (ret < 0) {
        g_autofree char *why = iscsi_cmd_error(&cmd);

        error_setg(errp, "iSCSI: Inquiry command failed : %s", why);
        goto fail;
    }
    data = scsi_datain_unmarshall(cmd.task);
    if (!data) {
        error_setg(errp, "iSCSI: failed to unmarshall inquiry datain blob");
        goto fail;
    }
    *task = cmd.task;
    return data;
fail:
    if (cmd.task) {
        scsi_free_scsi_task(cmd.task);
    }
    return NULL;
}

static struct scsi_task *iscsi_send_readcap16(ISCSIConn *c, ISCSICmd *cmd,
                                              void *arg)
{
    return iscsi_readcapacity16_task(c->iscsi, iscsi_client(c)->lun, iscsi_cmd_cb,
                                     cmd);
}

static struct scsi_task *iscsi_send_readcap10(ISCSIConn *c, ISCSICmd *cmd,
                                              void *arg)
{
    return iscsi_readcapacity10_task(c->iscsi, iscsi_client(c)->lun, 0, 0,
                                     iscsi_cmd_cb, cmd);
}

static bool coroutine_fn iscsi_co_read_capacity(ISCSIClient *s, Error **errp)
{
    ISCSICmd cmd = { 0 };
    bool ok = false;

    if (s->type == SCSI_INQUIRY_PERIPHERAL_DEVICE_TYPE_DIRECT_ACCESS &&
        iscsi_co_cmd(s, &cmd, iscsi_send_readcap16, NULL) == 0) {
        struct scsi_readcapacity16 *rc = scsi_datain_unmarshall(cmd.task);

        if (!rc) {
            error_setg(errp, "iSCSI: Failed to unmarshall readcapacity16 "
                       "data.");
            goto out;
        }
        s->block_size = rc->block_length;
        s->num_blocks = rc->returned_lba + 1;
        s->lbpme = rc->lbpme;
        s->lbprz = rc->lbprz;
    } else {
        if (cmd.task) {
            scsi_free_scsi_task(cmd.task);
        }
        cmd = (ISCSICmd) { 0 };
        if (iscsi_co_cmd(s, &cmd, iscsi_send_readcap10, NULL) == 0) {
            struct scsi_readcapacity10 *rc = scsi_datain_unmarshall(cmd.task);

            if (!rc) {
                error_setg(errp, "iSCSI: Failed to unmarshall readcapacity10 "
                           "data.");
                goto out;
            }
            s->block_size = rc->block_size;
            s->num_blocks = rc->lba ? (uint64_t)rc->lba + 1 : 0;
        } else {
            error_setg(errp, "iSCSI: failed to send readcapacity10/16 "
                       "command");
            goto out;
        }
    }
    if (!s->block_size || s->block_size % BDRV_SECTOR_SIZE ||
        s->block_size > 65536 || (s->block_size & (s->block_size - 1))) {
        error_setg(errp, "iSCSI: the target returned an invalid block size "
                   "of %u.", s->block_size);
        goto out;
    }
    if (s->num_blocks > INT64_MAX / s->block_size) {
        error_setg(errp, "iSCSI: the target returned an invalid capacity "
                   "of %" PRIu64 " blocks", s->num_blocks);
        goto out;
    }
    ok = true;
out:
    if (cmd.task) {
        scsi_free_scsi_task(cmd.task);
    }
    return ok;
}

/* The VPD pages that describe limits and provisioning. */
static bool coroutine_fn iscsi_co_read_vpd(ISCSIClient *s, Error **errp)
{
    struct scsi_task *task = NULL, *t = NULL;
    struct scsi_inquiry_supported_pages *pages;
    int i;

    pages = iscsi_co_inquiry(s, 1, SCSI_INQUIRY_PAGECODE_SUPPORTED_VPD_PAGES,
                             &task, errp);
    if (!pages) {
        return false;
    }
    for (i = 0; i < pages->num_pages; i++) {
        void *p;

        switch (pages->pages[i]) {
        case SCSI_INQUIRY_PAGECODE_LOGICAL_BLOCK_PROVISIONING:
            p = iscsi_co_inquiry(s, 1, pages->pages[i], &t, errp);
            if (!p) {
                goto fail;
            }
            memcpy(&s->lbp, p, sizeof(s->lbp));
            break;
        case SCSI_INQUIRY_PAGECODE_BLOCK_LIMITS:
            p = iscsi_co_inquiry(s, 1, pages->pages[i], &t, errp);
            if (!p) {
                goto fail;
            }
            memcpy(&s->bl, p, sizeof(s->bl));
            break;
        default:
            continue;
        }
        scsi_free_scsi_task(t);
        t = NULL;
    }
    scsi_free_scsi_task(task);
    return true;
fail:
    scsi_free_scsi_task(task);
    return false;
}

static bool coroutine_fn iscsi_client_open(ISCSIClient *s, QDict *options,
                                           int flags, Error **errp)
{
    ISCSIOptions o;
    struct scsi_task *task = NULL;
    struct scsi_inquiry_standard *inq;
    NetReq login;
    uint32_t isid;
    bool ok = false;
    int i, j;

    if (!iscsi_take_options(options, &o, errp)) {
        goto out;
    }
    net_pool_init(&s->pool, qemu_get_current_aio_context(), o.depth);
    s->portal = g_strdup(o.portal);
    s->lun = o.lun;
    s->timeout_ns = o.timeout * 1000 * 1000 * 1000LL;
    s->has_write_same = true;
    s->conns = g_new0(ISCSIConn, o.sessions);
    /* all sessions log in at once: a second one costs no extra round trips */
    isid = g_random_int() & 0xffffff;
    net_req_init(&login);
    for (i = 0; i < (int)o.sessions; i++) {
        ISCSIConn *c = &s->conns[i];

        net_pool_add(&s->pool, &c->nc, &iscsi_conn_ops);
        QTAILQ_INIT(&c->cmds);
        if (!iscsi_conn_start(c, &o, isid, i, &login, errp)) {
            break;
        }
    }
    net_req_wait(&login);
    if (i < (int)o.sessions) {
        goto out;
    }
    for (i = 0; i < s->pool.nconns; i++) {
        Error *local_err = NULL;

        if (iscsi_conn_started(&s->conns[i], &local_err)) {
            continue;
        }
        if (i == 0 || o.sessions_given) {
            error_propagate(errp, local_err);
            goto out;
        }
        /*
         * More sessions were only our default: a target that refuses
         * them (a limit per initiator) gets the copy on fewer.
         */
        error_free(local_err);
        for (j = i; j < s->pool.nconns; j++) {
            iscsi_conn_close(&s->conns[j]);
        }
        net_pool_shrink(&s->pool, i);
        break;
    }
    inq = iscsi_co_inquiry(s, 0, 0, &task, errp);
    if (!inq) {
        goto out;
    }
    s->type = inq->device_type;
    scsi_free_scsi_task(task);
    if (s->type != SCSI_INQUIRY_PERIPHERAL_DEVICE_TYPE_DIRECT_ACCESS &&
        s->type != SCSI_INQUIRY_PERIPHERAL_DEVICE_TYPE_MMC) {
        error_setg(errp, "iSCSI: LUN %d is not a disk (device type %d)",
                   s->lun, s->type);
        goto out;
    }
    if (!iscsi_co_read_capacity(s, errp) || !iscsi_co_read_vpd(s, errp)) {
        goto out;
    }
    s->cmd_bytes = ISCSI_CMD_BYTES;
    if (s->bl.max_xfer_len) {
        s->cmd_bytes = MIN(s->cmd_bytes,
                           (uint64_t)s->bl.max_xfer_len * s->block_size);
    }
    s->cmd_bytes = MAX(s->cmd_bytes / s->block_size, 1) * s->block_size;
    ok = true;
out:
    if (!ok) {
        iscsi_client_close(s);
    }
    iscsi_options_free(&o);
    return ok;
}

static const char *const iscsi_option_keys[];

/* QEMU's name for the node: json:{...} of the options it was opened with. */
static char *iscsi_json_name(QDict *options)
{
    g_autoptr(QObject) d = qdict_new();
    GString *out = g_string_new("json:");
    int i;

    for (i = 0; iscsi_option_keys[i]; i++) {
        QObject *v = qdict_get(options, iscsi_option_keys[i]);

        if (v) {
            qdict_put_obj(d, iscsi_option_keys[i], qobject_ref(v));
        }
    }
    qdict_put_str(d, "driver", "iscsi");
    json_write(out, d, JSON_QEMU_ORDER, 0);
    return g_string_free(out, false);
}

static bool coroutine_fn iscsi_co_open(BlockDriverState *bs, QDict *options,
                                       int flags, Error **errp)
{
    g_autofree char *name = iscsi_json_name(options);

    if (!iscsi_client_open(bs->opaque, options, flags, errp)) {
        return false;
    }
    g_free(bs->filename);
    bs->filename = g_steal_pointer(&name);
    if (((ISCSIClient *)bs->opaque)->lbprz &&
        ((ISCSIClient *)bs->opaque)->lbp.lbpws) {
        /* WRITE SAME with UNMAP: unmapped blocks read as zeroes here */
        bs->supported_zero_flags = BDRV_REQ_MAY_UNMAP;
    }
    return true;
}

static void iscsi_close(BlockDriverState *bs)
{
    iscsi_client_close(bs->opaque);
}

/* ---- URL parsing ---- */

static const char *const iscsi_option_keys[] = {
    "transport", "portal", "target", "user", "password", "password-secret",
    "lun", "initiator-name", "header-digest", "timeout", "sessions",
    "queue-depth", NULL,
};

/* Our query parameters (?sessions=&queue-depth=&timeout=), into @options. */
static bool iscsi_parse_query(const char *query, QDict *options, Error **errp)
{
    static const char *const ours[] = { "sessions", "queue-depth", "timeout",
                                        NULL };
    g_auto(GStrv) params = g_strsplit(query, "&", -1);
    int i, j;

    for (i = 0; params[i]; i++) {
        char *eq = strchr(params[i], '=');
        uint64_t val;

        if (!*params[i]) {
            continue;
        }
        if (eq) {
            *eq = '\0';
        }
        for (j = 0; ours[j] && strcmp(ours[j], params[i]); j++) {
        }
        if (!ours[j]) {
            error_setg(errp, "Unknown iSCSI parameter name: %s", params[i]);
            return false;
        }
        if (!eq || qemu_strtou64(eq + 1, NULL, 0, &val) < 0) {
            error_setg(errp, "Illegal value for iSCSI parameter: %s",
                       params[i]);
            return false;
        }
        qdict_put_str(options, ours[j], eq + 1);
    }
    return true;
}

static bool iscsi_parse_filename(const char *filename, QDict *options,
                                 Error **errp)
{
    g_autofree char *url = g_strdup(filename);
    char *query = strchr(url, '?');
    struct iscsi_url *u;
    size_t n;
    int i;

    for (n = 0; n < qdict_size(options); n++) {
        const char *key = qdict_key_at(options, n);

        for (i = 0; iscsi_option_keys[i]; i++) {
            if (!strcmp(key, iscsi_option_keys[i])) {
                error_setg(errp, "Option %s cannot be used with a filename",
                           key);
                return false;
            }
        }
    }
    if (query) {
        *query++ = '\0';
    }
    u = iscsi_parse_full_url(NULL, url);
    if (!u) {
        error_setg(errp, "Failed to parse URL : %s", filename);
        return false;
    }
    if (query && !iscsi_parse_query(query, options, errp)) {
        iscsi_destroy_url(u);
        return false;
    }
    qdict_put_str(options, "transport", "tcp");
    qdict_put_str(options, "portal", u->portal);
    qdict_put_str(options, "target", u->target);
    {
        char lun[16];

        snprintf(lun, sizeof(lun), "%d", u->lun);
        qdict_put_str(options, "lun", lun);
    }
    if (u->user[0]) {
        qdict_put_str(options, "user", u->user);
        qdict_put_str(options, "password", u->passwd);
    }
    iscsi_destroy_url(u);
    return true;
}

/*
 * A LUN cannot be created: "create" opens it and checks it is big enough,
 * as QEMU's generic fallback does, then clears the first sector so a
 * format probe does not find an old header.
 */
static bool coroutine_fn iscsi_co_create(const char *filename, QDict *opts,
                                         Error **errp)
{
    ISCSIClient s = { 0 };
    g_autoptr(QObject) options = qdict_new();
    g_autofree char *prealloc = NULL;
    uint64_t size;
    uint8_t *zero;
    QEMUIOVector qiov;
    BlockDriverState bs = { .opaque = &s };
    int ret;

    if (!create_opt_get_size(opts, "size", 0, &size, errp)) {
        return false;
    }
    prealloc = g_strdup(qdict_get_try_str(opts, "preallocation"));
    if (prealloc && strcmp(prealloc, "off")) {
        error_setg(errp, "Unsupported preallocation mode '%s'", prealloc);
        return false;
    }
    if (!iscsi_parse_filename(filename, options, errp) ||
        !iscsi_client_open(&s, options, 0, errp)) {
        return false;
    }
    if (size > s.num_blocks * s.block_size) {
        error_setg(errp, "Cannot grow iSCSI devices");
        iscsi_client_close(&s);
        return false;
    }
    zero = g_malloc0(s.block_size);
    qemu_iovec_init_buf(&qiov, zero, s.block_size);
    ret = s.num_blocks ? iscsi_co_rw(&bs, 0, s.block_size, &qiov, true, false)
                       : 0;
    g_free(zero);
    iscsi_client_close(&s);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Failed to clear the new image's first "
                         "sector");
        return false;
    }
    return true;
}

static const CreateOptDesc iscsi_create_opts[] = {
    { "size", OPT_SIZE, "Virtual disk size", NULL },
    { "preallocation", OPT_STRING, "Preallocation mode (allowed values: off)",
      NULL },
    { NULL },
};

const BlockDriver bdrv_iscsi = {
    .format_name = "iscsi",
    .protocol_name = "iscsi",
    .instance_size = sizeof(ISCSIClient),
    .json_filename = true,
    .parse_filename = iscsi_parse_filename,
    .co_open = iscsi_co_open,
    .close = iscsi_close,
    .refresh_limits = iscsi_refresh_limits,
    .co_preadv = iscsi_co_preadv,
    .co_pwritev = iscsi_co_pwritev,
    .co_pwrite_zeroes = iscsi_co_pwrite_zeroes,
    .co_pdiscard = iscsi_co_pdiscard,
    .co_flush_to_disk = iscsi_co_flush_to_disk,
    .co_block_status = iscsi_co_block_status,
    .co_truncate = iscsi_co_truncate,
    .co_getlength = iscsi_co_getlength,
    .get_info = iscsi_get_info,
    .co_create = iscsi_co_create,
    .create_opts = iscsi_create_opts,
};
