/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The iscsi driver's sessions (see iscsi.c for the whole): each one a
 * libiscsi context driven by the connection engine (block/net-conn.h),
 * its login, its commands sent, answered, retried and timed out.
 */
#include "block/iscsi-int.h"

#include <netinet/in.h>
#include <netinet/tcp.h>

#define ISCSI_TICK_NS           (1000 * 1000 * 1000LL)
#define ISCSI_BACKOFF_NS        (100 * 1000 * 1000LL)
#define ISCSI_NOP_TICKS         5       /* a NOP-Out every 5 ticks */
#define ISCSI_MAX_NOP_FAILURES  3
#define ISCSI_DEFAULT_INITIATOR "iqn.2008-11.org.linux-kvm"

static ISCSIConn *iscsi_conn(NetConn *nc)
{
    return container_of(nc, ISCSIConn, nc);
}

/* ---- the engine's hooks ---- */

static int iscsi_conn_get_fd(NetConn *nc)
{
    return iscsi_get_fd(iscsi_conn(nc)->iscsi);
}

static int iscsi_conn_which_events(NetConn *nc)
{
    return iscsi_which_events(iscsi_conn(nc)->iscsi);
}

/*
 * libiscsi sends each PDU as it is queued, header and data in two calls,
 * on a TCP_NODELAY socket: a write's Data-Out PDUs of 8 KiB (the target's
 * MaxRecvDataSegmentLength) went out as two packets each, 61,000 of each
 * for 479 MB, and the target read them one at a time.  Corked while
 * libiscsi services the socket, what one call writes leaves in full
 * segments, and the last at once when the call ends.
 */
static void iscsi_sock_cork(int fd, bool on)
{
    int v = on;

    if (fd >= 0) {
        setsockopt(fd, IPPROTO_TCP, TCP_CORK, &v, sizeof(v));
    }
}

static void iscsi_conn_service(NetConn *nc, int revents)
{
    ISCSIConn *c = iscsi_conn(nc);
    int fd, ret;

    fd = iscsi_get_fd(c->iscsi);
    iscsi_sock_cork(fd, true);
    ret = iscsi_service(c->iscsi, revents);
    iscsi_sock_cork(fd, false);
    if (c->connecting && (c->login_failed || ret < 0)) {
        /*
         * The login failed in this call (its callback said so, or the
         * call did).  Worded as libiscsi's synchronous connect (QEMU's)
         * would see it when the call returns: the text then, and the
         * call's own failure if it failed.  Nothing more is serviced on
         * this session: the text stays until the other sessions' logins
         * have ended too.
         */
        g_free(c->connect_error);
        c->connect_error = ret < 0 ?
            g_strdup_printf("iscsi_service failed with : %s",
                            iscsi_get_error(c->iscsi)) :
            g_strdup(iscsi_get_error(c->iscsi));
        c->login_failed = true;
        if (c->connect_req) {
            net_req_put(c->connect_req);
            c->connect_req = NULL;
        }
        net_conn_kill(nc);
        return;
    }
    if (ret < 0) {
        /*
         * libiscsi reconnects by itself (the watchdog bounds the wait); until
         * the next tick the dead socket must not wake us in a loop.
         */
        net_conn_backoff(nc, ISCSI_BACKOFF_NS);
    }
}

static void iscsi_cmd_done(ISCSICmd *cmd, int status, struct scsi_task *task);

/*
 * Give up a session: its commands fail (libiscsi calls them back as
 * cancelled) and no new one is sent on it.
 */
static void iscsi_conn_give_up(ISCSIConn *c, const char *why)
{
    ISCSIClient *s = iscsi_client(c);
    ISCSICmd *cmd;

    if (c->nc.dead) {
        return;
    }
    iscsi_report(s, "iSCSI: %s: %s", s->portal, why);
    c->tmf_sent = false;
    net_conn_kill(&c->nc);
    if (!net_pool_pick(&s->pool)) {
        /*
         * Said here, once, rather than by whichever request next looks
         * for a session (there may be none: the run's output would
         * depend on timing).
         */
        iscsi_report(s, "iSCSI: the session with the target is lost");
    }
    /*
     * Destroying the context ends every command libiscsi still holds
     * (whether or not it calls them back, it never will again); those it
     * did not call back fail here.
     */
    iscsi_destroy_context(c->iscsi);
    c->iscsi = NULL;
    while ((cmd = QTAILQ_FIRST(&c->cmds))) {
        iscsi_cmd_done(cmd, SCSI_STATUS_CANCELLED, NULL);
    }
}

static void iscsi_tmf_cb(struct iscsi_context *iscsi, int status,
                         void *command_data, void *opaque)
{
    ISCSIConn *c = opaque;
    ISCSIClient *s = iscsi_client(c);

    if (!c->tmf_sent) {
        return;                 /* destroyed with the context */
    }
    c->tmf_sent = false;
    if (status != SCSI_STATUS_GOOD) {
        c->tmf_failed = true;
        net_conn_set_tick(&c->nc, 0);
        return;
    }
    /* the sessions of a stalled target time out together: one warning */
    if (s->abort_warned_ns &&
        get_clock_ns() - s->abort_warned_ns < 2 * ISCSI_TICK_NS) {
        return;
    }
    s->abort_warned_ns = get_clock_ns();
    bdrv_warn_report("iSCSI: %s: commands timed out; the target aborted them, "
                     "sending them again", s->portal);
}

/* A command got no answer in time: its task set aborted, or given up. */
static bool iscsi_conn_check_timeouts(ISCSIConn *c, int64_t now)
{
    ISCSIClient *s = iscsi_client(c);

    if (c->timed_out && !c->tmf_sent) {
        /*
         * Ask the target to abort what this session has running on the
         * LUN (so nothing stale lands later).  Answered, the target is
         * alive and the timed-out commands are sent again; unanswered in
         * time, it is given up.
         */
        c->timed_out = false;
        if (iscsi_task_mgmt_abort_task_set_async(c->iscsi, s->lun,
                                                 iscsi_tmf_cb, c) == 0) {
            c->tmf_sent = true;
            c->tmf_deadline = now + s->timeout_ns;
        } else {
            c->tmf_failed = true;
        }
    }
    if (c->tmf_failed || (c->tmf_sent && now > c->tmf_deadline)) {
        g_autofree char *why = g_strdup_printf(
            "a command got no answer in %" PRId64 " s, nor did the abort "
            "of its task set; giving up", s->timeout_ns / 1000000000);

        iscsi_conn_give_up(c, why);
        return false;
    }
    if (c->nc.in_flight == 0) {
        c->last_progress = now;
    } else if (s->timeout_ns && now - c->last_progress > s->timeout_ns) {
        g_autofree char *why = g_strdup_printf(
            "no answer from the target for %" PRId64 " s, giving up",
            s->timeout_ns / 1000000000);

        iscsi_conn_give_up(c, why);
        return false;
    }
    return true;
}

static void iscsi_conn_tick(NetConn *nc)
{
    ISCSIConn *c = iscsi_conn(nc);

    net_conn_service(nc, 0);            /* libiscsi's command timeouts */
    if (nc->dead || !iscsi_conn_check_timeouts(c, get_clock_ns())) {
        return;
    }
    if (++c->ticks % ISCSI_NOP_TICKS == 0) {
        if (iscsi_get_nops_in_flight(c->iscsi) >= ISCSI_MAX_NOP_FAILURES) {
            bdrv_warn_report("iSCSI: NOP timeout. Reconnecting...");
            iscsi_reconnect(c->iscsi);
        } else {
            iscsi_nop_out_async(c->iscsi, NULL, NULL, 0, NULL);
        }
    }
    net_conn_update_events(nc);
    if (!nc->backoff) {
        net_conn_set_tick(nc, ISCSI_TICK_NS);
    }
}

const NetConnOps iscsi_conn_ops = {
    .get_fd = iscsi_conn_get_fd,
    .which_events = iscsi_conn_which_events,
    .service = iscsi_conn_service,
    .tick = iscsi_conn_tick,
};

/* ---- completion ---- */
/* SCSI sense to errno, as the kernel's SCSI layer and QEMU map them. */
static int iscsi_sense_errno(const struct scsi_sense *sense)
{
    switch (sense->key) {
    case SCSI_SENSE_NO_SENSE:
    case SCSI_SENSE_RECOVERED_ERROR:
        return 0;
    case SCSI_SENSE_NOT_READY:
        return EBUSY;
    case SCSI_SENSE_DATA_PROTECTION:
        return EACCES;
    case SCSI_SENSE_UNIT_ATTENTION:
        return EAGAIN;
    case SCSI_SENSE_ILLEGAL_REQUEST:
        switch (sense->ascq) {
        case SCSI_SENSE_ASCQ_LBA_OUT_OF_RANGE:
            return EINVAL;
        case SCSI_SENSE_ASCQ_INVALID_OPERATION_CODE:
        case SCSI_SENSE_ASCQ_INVALID_FIELD_IN_CDB:
        case SCSI_SENSE_ASCQ_INVALID_FIELD_IN_PARAMETER_LIST:
        case SCSI_SENSE_ASCQ_PARAMETER_LIST_LENGTH_ERROR:
            return EINVAL;
        case SCSI_SENSE_ASCQ_LOGICAL_UNIT_NOT_SUPPORTED:
            return ENODEV;
        default:
            return EINVAL;
        }
    case SCSI_SENSE_COMMAND_ABORTED:
        return ECANCELED;
    case SCSI_SENSE_MEDIUM_ERROR:
    case SCSI_SENSE_HARDWARE_ERROR:
    default:
        return EIO;
    }
}

/*
 * Worth sending again: the target is busy, reports a unit attention, or
 * the command timed out or was aborted (the session's task management
 * decides whether the target is still there; if not, the resent command
 * fails with the session).
 */
static bool iscsi_status_retryable(int status, struct scsi_task *task)
{
    return status == SCSI_STATUS_BUSY || status == SCSI_STATUS_TASK_SET_FULL ||
           status == SCSI_STATUS_TIMEOUT || status == SCSI_STATUS_TASK_ABORTED ||
           (status == SCSI_STATUS_CHECK_CONDITION && task &&
            task->sense.key == SCSI_SENSE_UNIT_ATTENTION);
}

/*
 * A command worth sending again: see above; also one libiscsi cancelled
 * on a session still alive (the answer to an ABORT TASK SET cancels what
 * the target aborted), unlike one cancelled because its session was given
 * up.
 */
bool iscsi_cmd_retryable(ISCSICmd *cmd)
{
    return iscsi_status_retryable(cmd->status, cmd->task) ||
           (cmd->status == SCSI_STATUS_CANCELLED && cmd->conn &&
            !cmd->conn->nc.dead);
}

/* -errno for a finished command's @status (0 for GOOD). */
int iscsi_status_errno(int status, struct scsi_task *task)
{
    switch (status) {
    case SCSI_STATUS_GOOD:
    case SCSI_STATUS_CONDITION_MET:
        return 0;
    case SCSI_STATUS_CHECK_CONDITION:
        return task ? -(iscsi_sense_errno(&task->sense) ?: EIO) : -EIO;
    case SCSI_STATUS_TIMEOUT:
    case SCSI_STATUS_CANCELLED:     /* its session was given up: a timeout */
        return -ETIMEDOUT;
    case SCSI_STATUS_BUSY:
    case SCSI_STATUS_TASK_SET_FULL:
        return -EBUSY;
    case SCSI_STATUS_RESERVATION_CONFLICT:
        return -EBADE;
    default:
        return -EIO;
    }
}

static void iscsi_cmd_done(ISCSICmd *cmd, int status, struct scsi_task *task)
{
    ISCSIConn *c = cmd->conn;

    QTAILQ_REMOVE(&c->cmds, cmd, next);
    if (status == SCSI_STATUS_TIMEOUT && !c->tmf_sent) {
        /* task management from the timer, outside libiscsi's callback */
        c->timed_out = true;
        net_conn_set_tick(&c->nc, 0);
    }
    c->last_progress = get_clock_ns();
    cmd->status = status;
    cmd->task = task;
    net_conn_put(&c->nc);
    net_req_put(cmd->req);
}

void iscsi_cmd_cb(struct iscsi_context *iscsi, int status,
                         void *command_data, void *opaque)
{
    iscsi_cmd_done(opaque, status, command_data);
}

/* ---- issuing ---- */

/* Send @cmd on a session; false (and req->ret set) if it could not be. */
bool coroutine_fn iscsi_cmd_send(ISCSIClient *s, NetReq *req,
                                        ISCSICmd *cmd, ISCSISendFunc *send,
                                        void *arg)
{
    NetConn *nc = net_pool_co_get_slot(&s->pool);
    ISCSIConn *c;

    if (!nc) {
        /* every session was given up, each for a timeout */
        iscsi_report(s, "iSCSI: the session with the target is lost");
        net_req_fail(req, -ETIMEDOUT);
        return false;
    }
    c = iscsi_conn(nc);
    cmd->req = req;
    cmd->conn = c;
    cmd->task = NULL;
    net_req_get(req);
    if (nc->in_flight == 0) {
        c->last_progress = get_clock_ns();
    }
    net_conn_get(nc);
    if (!send(c, cmd, arg)) {
        net_conn_put(nc);
        net_req_put(req);
        iscsi_report(s, "iSCSI: failed to send a command: %s",
                     iscsi_get_error(c->iscsi));
        net_req_fail(req, -ENOMEM);
        return false;
    }
    QTAILQ_INSERT_TAIL(&c->cmds, cmd, next);
    net_conn_update_events(nc);
    return true;
}

/*
 * One command, waited for, sent again while the target is busy.  Returns
 * -errno; on return cmd->task (NULL when none) is the caller's to free.
 */
int coroutine_fn iscsi_co_cmd(ISCSIClient *s, ISCSICmd *cmd,
                                     ISCSISendFunc *send, void *arg)
{
    int tries;

    for (tries = 0;; tries++) {
        NetReq req;
        int ret;

        net_req_init(&req);
        iscsi_cmd_send(s, &req, cmd, send, arg);
        ret = net_req_wait(&req);
        if (ret < 0) {
            return ret;
        }
        if (tries < ISCSI_RETRIES && iscsi_cmd_retryable(cmd)) {
            if (cmd->task) {
                scsi_free_scsi_task(cmd->task);
                cmd->task = NULL;
            }
            net_co_retry_sleep(tries);
            continue;
        }
        return iscsi_status_errno(cmd->status, cmd->task);
    }
}

/* The text for a failed command: its sense, or libiscsi's last error. */
char *iscsi_cmd_error(ISCSICmd *cmd)
{
    struct scsi_task *t = cmd->task;

    if (cmd->status == SCSI_STATUS_CHECK_CONDITION && t) {
        return g_strdup_printf("SENSE KEY:%s(%d) ASCQ:%s(0x%04x)",
                               scsi_sense_key_str(t->sense.key), t->sense.key,
                               scsi_sense_ascq_str(t->sense.ascq),
                               t->sense.ascq);
    }
    if (cmd->status == SCSI_STATUS_CANCELLED) {
        return g_strdup("the session with the target is lost");
    }
    if (cmd->status == SCSI_STATUS_TIMEOUT) {
        return g_strdup("command timed out");
    }
    if (!cmd->conn || !cmd->conn->iscsi) {
        /* never sent (every session lost), or its session was given up */
        return g_strdup("the session with the target is lost");
    }
    return g_strdup(iscsi_get_error(cmd->conn->iscsi));
}

static bool iscsi_set_digest(struct iscsi_context *iscsi, const char *digest,
                             Error **errp)
{
    static const struct {
        const char *name;
        enum iscsi_header_digest value;
    } digests[] = {
        { "crc32c", ISCSI_HEADER_DIGEST_CRC32C },
        { "none", ISCSI_HEADER_DIGEST_NONE },
        { "crc32c-none", ISCSI_HEADER_DIGEST_CRC32C_NONE },
        { "none-crc32c", ISCSI_HEADER_DIGEST_NONE_CRC32C },
    };
    size_t i;

    if (!digest) {
        iscsi_set_header_digest(iscsi, ISCSI_HEADER_DIGEST_NONE_CRC32C);
        return true;
    }
    for (i = 0; i < G_N_ELEMENTS(digests); i++) {
        if (!strcmp(digest, digests[i].name)) {
            iscsi_set_header_digest(iscsi, digests[i].value);
            return true;
        }
    }
    error_setg(errp, "Invalid header-digest setting : %s", digest);
    return false;
}

static void iscsi_connect_cb(struct iscsi_context *iscsi, int status,
                             void *command_data, void *opaque)
{
    ISCSIConn *c = opaque;
    NetReq *req = c->connect_req;

    if (!req) {
        return;                 /* already failed */
    }
    c->connect_req = NULL;
    if (status != SCSI_STATUS_GOOD) {
        /* iscsi_conn_service() words the message once libiscsi returns */
        c->login_failed = true;
        c->connect_error = g_strdup(iscsi_get_error(iscsi));
    }
    net_req_put(req);
}

/*
 * Start logging in on session @c (the target, then the LUN); @req counts
 * the logins in flight.  The session's ISID is the image's random one
 * with the session's index as qualifier: distinct I_T nexuses, so the
 * target never takes a second session for a reinstatement of the first.
 */
bool iscsi_conn_start(ISCSIConn *c, const ISCSIOptions *o,
                             uint32_t isid, int index, NetReq *req,
                             Error **errp)
{
    c->iscsi = iscsi_create_context(o->initiator ? o->initiator
                                                 : ISCSI_DEFAULT_INITIATOR);
    if (!c->iscsi) {
        error_setg(errp, "iSCSI: Failed to create iSCSI context.");
        return false;
    }
    if (iscsi_set_targetname(c->iscsi, o->target)) {
        error_setg(errp, "iSCSI: Failed to set target name.");
        return false;
    }
    if (o->user &&
        iscsi_set_initiator_username_pwd(c->iscsi, o->user, o->password)) {
        error_setg(errp, "Failed to set initiator username and password");
        return false;
    }
    if (iscsi_set_session_type(c->iscsi, ISCSI_SESSION_NORMAL) != 0) {
        error_setg(errp, "iSCSI: Failed to set session type to normal.");
        return false;
    }
    if (!iscsi_set_digest(c->iscsi, o->digest, errp)) {
        return false;
    }
    iscsi_set_isid_random(c->iscsi, isid, index);
    iscsi_set_timeout(c->iscsi, o->timeout);
    /*
     * libiscsi reconnects a dropped session as often as it takes: the
     * timeout (no progress for that long) is what bounds the wait.
     */
    iscsi_set_reconnect_max_retries(c->iscsi, -1);

    c->login_failed = false;
    c->connecting = true;
    c->connect_req = req;
    net_req_get(req);
    if (iscsi_full_connect_async(c->iscsi, o->portal, o->lun,
                                 iscsi_connect_cb, c) != 0) {
        c->connect_error = g_strdup_printf("Failed to start full connect %s",
                                           iscsi_get_error(c->iscsi));
        c->connect_req = NULL;
        c->login_failed = true;
        net_req_put(req);
    } else {
        net_conn_update_events(&c->nc);
        net_conn_set_tick(&c->nc, ISCSI_TICK_NS);
    }
    return true;
}

/* After the logins started by iscsi_conn_start() have all ended. */
bool iscsi_conn_started(ISCSIConn *c, Error **errp)
{
    c->connecting = false;
    if (c->login_failed) {
        error_setg(errp, "iSCSI: Failed to connect to LUN : %s",
                   c->connect_error ? c->connect_error
                                    : iscsi_get_error(c->iscsi));
        return false;
    }
    c->last_progress = get_clock_ns();
    return true;
}

void iscsi_conn_close(ISCSIConn *c)
{
    g_free(c->connect_error);
    c->connect_error = NULL;
    net_conn_close(&c->nc);
    if (c->iscsi) {
        /* logging out would wait on the target; closing the socket will do */
        iscsi_destroy_context(c->iscsi);
        c->iscsi = NULL;
    }
}
