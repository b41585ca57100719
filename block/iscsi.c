/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The "iscsi" protocol: a LUN on an iSCSI target, reached with libiscsi's
 * asynchronous API.
 *
 * Each session is one libiscsi context (one TCP connection, one login).
 * Its socket is an fd handler of the AioContext that asks for the events
 * libiscsi wants and services the context when they come; a timer services
 * it every second as well (libiscsi checks command timeouts only then),
 * sends a NOP-Out every 5 s and reconnects a session whose NOPs go
 * unanswered.  libiscsi reconnects a dropped session by itself and sends
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
 */
#include "util/osdep.h"
#include "block/driver.h"
#include "util/error.h"
#include "util/co-slots.h"
#include "util/json.h"
#include "util/secret.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#define ISCSI_MAX_SESSIONS      16
/*
 * Sessions per LUN.  tgt moves a write's data at a rate per connection:
 * with the socket corked (iscsi_sock_cork), 1 GiB OS disk through the
 * 500 us link, medians of 6: one session 0.82 s, two 0.84 s, three
 * 0.81 s, four 0.73-0.74 s, six 0.70 s, eight of depth 8 0.70 s; two of
 * depth 32 (the same commands in flight as four) 0.84 s.  Reads equal on
 * one, two and four (0.42-0.43 s); NFS -> LUN 1.18 s on two, 1.07 s on
 * four.  Four keep -m 8's 2 MiB chunks (64 commands of 256 KiB) all in
 * flight.  A target that refuses the extra sessions gets the copy on
 * those it took (docs/performance.md, "iSCSI sessions").
 */
#define ISCSI_DEFAULT_SESSIONS  4
/*
 * Commands in flight per session.  16 x 256 KiB covers a 1.2 ms link at
 * over 3 GB/s; more made tgtd spend half as much CPU again on the same
 * writes (1 GiB OS disk: 58-67 ticks at 32 against 36-47 at 16, 1.4-1.6 s
 * against 1.1-1.3 s) with reads no faster (docs/performance.md, "iSCSI").
 */
#define ISCSI_DEFAULT_DEPTH     16
#define ISCSI_MAX_DEPTH         128
/* Bytes per READ/WRITE(16): small enough that several R2Ts overlap. */
#define ISCSI_CMD_BYTES         (256 * 1024)
/* Default seconds without progress before a session is given up. */
#define ISCSI_DEFAULT_TIMEOUT_S 60
#define ISCSI_TICK_NS           (1000 * 1000 * 1000LL)
#define ISCSI_BACKOFF_NS        (100 * 1000 * 1000LL)
#define ISCSI_NOP_TICKS         5       /* a NOP-Out every 5 ticks */
#define ISCSI_MAX_NOP_FAILURES  3
#define ISCSI_RETRIES           5       /* BUSY, TASK SET FULL, UNIT ATTENTION */
#define ISCSI_DEFAULT_INITIATOR "iqn.2008-11.org.linux-kvm"

typedef struct ISCSIClient ISCSIClient;
typedef struct ISCSICmd ISCSICmd;

typedef struct ISCSISession {
    ISCSIClient *client;
    struct iscsi_context *iscsi;
    int fd;                     /* registered with the AioContext, or -1 */
    int events;
    int in_flight;              /* our commands not yet answered */
    int64_t last_progress;      /* ns: a command answered, or idle */
    QEMUTimer *tick;
    int ticks;
    bool dead;                  /* given up: every new command fails */
    bool backoff;               /* libiscsi cannot reconnect right now */
    bool timed_out;             /* a command timed out: abort the task set */
    bool tmf_sent;              /* ABORT TASK SET awaits its answer */
    bool tmf_failed;
    int64_t tmf_deadline;
    QTAILQ_HEAD(, ISCSICmd) cmds;       /* sent, not answered */
    struct ISCSIReq *connect_req;       /* while logging in */
    bool connecting;
    bool login_failed;
    char *connect_error;
} ISCSISession;

struct ISCSIClient {
    AioContext *ctx;
    ISCSISession *sess;
    int nsess;
    int lun;
    int type;                   /* SCSI peripheral device type */
    uint32_t block_size;
    uint64_t num_blocks;
    bool lbpme, lbprz;
    struct scsi_inquiry_logical_block_provisioning lbp;
    struct scsi_inquiry_block_limits bl;
    bool has_write_same;
    uint8_t *zeroblock;
    uint64_t cmd_bytes;         /* data bytes per READ/WRITE command */
    int64_t timeout_ns;         /* 0: never give up */
    int depth;
    CoSlotWaiters slot_waiters; /* requests waiting for a free slot */
    char *last_error;
    char *portal;               /* for messages */
    int64_t abort_warned_ns;    /* when the last abort was reported */
};

/* One request: several commands, one waiting coroutine. */
typedef struct ISCSIReq ISCSIReq;
struct ISCSIReq {
    CoWaiter waiter;
    int pending;
    int ret;
};

struct ISCSICmd {
    QTAILQ_ENTRY(ISCSICmd) next;
    ISCSIReq *req;
    ISCSISession *sess;
    struct scsi_task *task;     /* the answered task, ours to free */
    QEMUIOVector qiov;          /* this command's slice of the request */
    int status;
    uint64_t lba;
};

static void iscsi_sess_set_events(ISCSISession *s);
static void iscsi_req_put(struct ISCSIReq *req);

/* Print a failure once per distinct text (a dying target fails many). */
static void iscsi_report(ISCSIClient *c, const char *fmt, ...)
    QEMU_PRINTF(2, 3);
static void iscsi_report(ISCSIClient *c, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (c->last_error && !strcmp(c->last_error, msg)) {
        return;
    }
    g_free(c->last_error);
    c->last_error = g_strdup(msg);
    error_report("%s", msg);
}

/* ---- event loop glue ---- */

static void iscsi_sess_backoff(ISCSISession *s);

/* A session whose login failed: no more servicing. */
static void iscsi_sess_stop(ISCSISession *s)
{
    s->dead = true;
    if (s->fd >= 0) {
        aio_set_fd_handler(s->client->ctx, s->fd, NULL, NULL, NULL);
        s->fd = -1;
    }
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

static void iscsi_sess_service(ISCSISession *s, int revents)
{
    int fd, ret;

    if (s->dead) {
        return;
    }
    fd = iscsi_get_fd(s->iscsi);
    iscsi_sock_cork(fd, true);
    ret = iscsi_service(s->iscsi, revents);
    iscsi_sock_cork(fd, false);
    if (s->connecting && (s->login_failed || ret < 0)) {
        /*
         * The login failed in this call (its callback said so, or the
         * call did).  Worded as libiscsi's synchronous connect (QEMU's)
         * would see it when the call returns: the text then, and the
         * call's own failure if it failed.  Nothing more is serviced on
         * this session: the text stays until the other sessions' logins
         * have ended too.
         */
        g_free(s->connect_error);
        s->connect_error = ret < 0 ?
            g_strdup_printf("iscsi_service failed with : %s",
                            iscsi_get_error(s->iscsi)) :
            g_strdup(iscsi_get_error(s->iscsi));
        s->login_failed = true;
        if (s->connect_req) {
            iscsi_req_put(s->connect_req);
            s->connect_req = NULL;
        }
        iscsi_sess_stop(s);
        return;
    }
    if (ret < 0) {
        /*
         * libiscsi reconnects by itself (the watchdog bounds the wait); until
         * the next tick the dead socket must not wake us in a loop.
         */
        iscsi_sess_backoff(s);
        return;
    }
    iscsi_sess_set_events(s);
}

static void iscsi_sess_backoff(ISCSISession *s)
{
    if (s->fd >= 0) {
        aio_set_fd_handler(s->client->ctx, s->fd, NULL, NULL, NULL);
        s->fd = -1;
    }
    s->events = -1;
    s->backoff = true;
    timer_mod(s->tick, get_clock_ns() + ISCSI_BACKOFF_NS);
}

static void iscsi_sess_readable(void *opaque)
{
    iscsi_sess_service(opaque, POLLIN);
}

static void iscsi_sess_writable(void *opaque)
{
    iscsi_sess_service(opaque, POLLOUT);
}

static void iscsi_sess_set_events(ISCSISession *s)
{
    AioContext *ctx = s->client->ctx;
    int fd, ev;

    if (s->dead || s->backoff) {
        return;
    }
    fd = iscsi_get_fd(s->iscsi);
    ev = iscsi_which_events(s->iscsi) & (POLLIN | POLLOUT);
    if (fd != s->fd) {
        if (s->fd >= 0) {
            aio_set_fd_handler(ctx, s->fd, NULL, NULL, NULL);
        }
        s->fd = fd;
        s->events = -1;
    }
    if (fd >= 0 && ev != s->events) {
        aio_set_fd_handler(ctx, fd, (ev & POLLIN) ? iscsi_sess_readable : NULL,
                           (ev & POLLOUT) ? iscsi_sess_writable : NULL, s);
        s->events = ev;
    }
}

/*
 * Give up a session: its commands fail (libiscsi calls them back as
 * cancelled) and no new one is sent on it.
 */
static void iscsi_cmd_done(ISCSICmd *cmd, int status, struct scsi_task *task);

static ISCSISession *iscsi_pick_sess(ISCSIClient *c);

static void iscsi_sess_give_up(ISCSISession *s, const char *why)
{
    ISCSIClient *c = s->client;
    ISCSICmd *cmd;

    if (s->dead) {
        return;
    }
    iscsi_report(c, "iSCSI: %s: %s", c->portal, why);
    if (s->fd >= 0) {
        aio_set_fd_handler(c->ctx, s->fd, NULL, NULL, NULL);
        s->fd = -1;
    }
    s->dead = true;
    s->tmf_sent = false;
    if (!iscsi_pick_sess(c)) {
        /*
         * Said here, once, rather than by whichever request next looks
         * for a session (there may be none: the run's output would
         * depend on timing).
         */
        iscsi_report(c, "iSCSI: the session with the target is lost");
    }
    /*
     * Destroying the context ends every command libiscsi still holds
     * (whether or not it calls them back, it never will again); those it
     * did not call back fail here.
     */
    iscsi_destroy_context(s->iscsi);
    s->iscsi = NULL;
    while ((cmd = QTAILQ_FIRST(&s->cmds))) {
        iscsi_cmd_done(cmd, SCSI_STATUS_CANCELLED, NULL);
    }
    co_slot_waiters_wake(&c->slot_waiters,
                         ISCSI_MAX_DEPTH * ISCSI_MAX_SESSIONS);
}

static void iscsi_tmf_cb(struct iscsi_context *iscsi, int status,
                         void *command_data, void *opaque)
{
    ISCSISession *s = opaque;

    if (!s->tmf_sent) {
        return;                 /* destroyed with the context */
    }
    s->tmf_sent = false;
    if (status != SCSI_STATUS_GOOD) {
        s->tmf_failed = true;
        timer_mod(s->tick, get_clock_ns());
        return;
    }
    /* the sessions of a stalled target time out together: one warning */
    if (s->client->abort_warned_ns &&
        get_clock_ns() - s->client->abort_warned_ns < 2 * ISCSI_TICK_NS) {
        return;
    }
    s->client->abort_warned_ns = get_clock_ns();
    warn_report("iSCSI: %s: commands timed out; the target aborted them, "
                "sending them again", s->client->portal);
}

static void iscsi_sess_tick(void *opaque)
{
    ISCSISession *s = opaque;
    ISCSIClient *c = s->client;
    int64_t now = get_clock_ns();

    if (s->dead) {
        return;
    }
    s->backoff = false;
    iscsi_sess_service(s, 0);           /* libiscsi's command timeouts */
    if (s->dead) {
        return;
    }
    if (s->timed_out && !s->tmf_sent) {
        /*
         * A command got no answer in time: ask the target to abort what
         * this session has running on the LUN (so nothing stale lands
         * later).  Answered, the target is alive and the timed-out
         * commands are sent again; unanswered in time, it is given up.
         */
        s->timed_out = false;
        if (iscsi_task_mgmt_abort_task_set_async(s->iscsi, c->lun,
                                                 iscsi_tmf_cb, s) == 0) {
            s->tmf_sent = true;
            s->tmf_deadline = now + c->timeout_ns;
        } else {
            s->tmf_failed = true;
        }
    }
    if (s->tmf_failed || (s->tmf_sent && now > s->tmf_deadline)) {
        g_autofree char *why = g_strdup_printf(
            "a command got no answer in %" PRId64 " s, nor did the abort "
            "of its task set; giving up", c->timeout_ns / 1000000000);

        iscsi_sess_give_up(s, why);
        return;
    }
    if (s->in_flight == 0) {
        s->last_progress = now;
    } else if (c->timeout_ns && now - s->last_progress > c->timeout_ns) {
        g_autofree char *why = g_strdup_printf(
            "no answer from the target for %" PRId64 " s, giving up",
            c->timeout_ns / 1000000000);

        iscsi_sess_give_up(s, why);
        return;
    }
    if (++s->ticks % ISCSI_NOP_TICKS == 0) {
        if (iscsi_get_nops_in_flight(s->iscsi) >= ISCSI_MAX_NOP_FAILURES) {
            warn_report("iSCSI: NOP timeout. Reconnecting...");
            iscsi_reconnect(s->iscsi);
        } else {
            iscsi_nop_out_async(s->iscsi, NULL, NULL, 0, NULL);
        }
    }
    iscsi_sess_set_events(s);
    if (!s->backoff) {
        timer_mod(s->tick, now + ISCSI_TICK_NS);
    }
}

/* ---- completion ---- */

static void iscsi_req_init(ISCSIReq *req)
{
    *req = (ISCSIReq) { .pending = 1 };
    co_waiter_init(&req->waiter);
}

static void iscsi_req_put(ISCSIReq *req)
{
    if (--req->pending == 0) {
        co_waiter_finish(&req->waiter, req->ret);
    }
}

static int coroutine_fn iscsi_req_wait(ISCSIReq *req)
{
    iscsi_req_put(req);         /* the issuer's reference */
    return co_waiter_wait(&req->waiter);
}

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
static bool iscsi_cmd_retryable(ISCSICmd *cmd)
{
    return iscsi_status_retryable(cmd->status, cmd->task) ||
           (cmd->status == SCSI_STATUS_CANCELLED && cmd->sess &&
            !cmd->sess->dead);
}

/* -errno for a finished command's @status (0 for GOOD). */
static int iscsi_status_errno(int status, struct scsi_task *task)
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
    QTAILQ_REMOVE(&cmd->sess->cmds, cmd, next);
    if (status == SCSI_STATUS_TIMEOUT && !cmd->sess->tmf_sent) {
        /* task management from the timer, outside libiscsi's callback */
        cmd->sess->timed_out = true;
        timer_mod(cmd->sess->tick, get_clock_ns());
    }
    cmd->sess->in_flight--;
    cmd->sess->last_progress = get_clock_ns();
    cmd->status = status;
    cmd->task = task;
    co_slot_waiters_wake(&cmd->sess->client->slot_waiters, 1);
    iscsi_req_put(cmd->req);
}

static void iscsi_cmd_cb(struct iscsi_context *iscsi, int status,
                         void *command_data, void *opaque)
{
    iscsi_cmd_done(opaque, status, command_data);
}

/* ---- issuing ---- */

static ISCSISession *iscsi_pick_sess(ISCSIClient *c)
{
    ISCSISession *best = NULL;
    int i;

    for (i = 0; i < c->nsess; i++) {
        ISCSISession *s = &c->sess[i];
        if (!s->dead && (!best || s->in_flight < best->in_flight)) {
            best = s;
        }
    }
    return best;
}

/* A live session with a free slot, waiting for one; NULL if all are dead. */
static ISCSISession *coroutine_fn iscsi_co_get_slot(ISCSIClient *c)
{
    ISCSISession *s;

    while ((s = iscsi_pick_sess(c)) && s->in_flight >= c->depth) {
        co_slot_waiters_wait(&c->slot_waiters);
    }
    return s;
}

typedef struct scsi_task *ISCSISendFunc(ISCSISession *s, ISCSICmd *cmd,
                                        void *arg);

/* Send @cmd on a session; false (and req->ret set) if it could not be. */
static bool coroutine_fn iscsi_cmd_send(ISCSIClient *c, ISCSIReq *req,
                                        ISCSICmd *cmd, ISCSISendFunc *send,
                                        void *arg)
{
    ISCSISession *s = iscsi_co_get_slot(c);

    if (!s) {
        /* every session was given up, each for a timeout */
        iscsi_report(c, "iSCSI: the session with the target is lost");
        req->ret = req->ret ?: -ETIMEDOUT;
        return false;
    }
    cmd->req = req;
    cmd->sess = s;
    cmd->task = NULL;
    req->pending++;
    if (s->in_flight++ == 0) {
        s->last_progress = get_clock_ns();
    }
    if (!send(s, cmd, arg)) {
        s->in_flight--;
        req->pending--;
        iscsi_report(c, "iSCSI: failed to send a command: %s",
                     iscsi_get_error(s->iscsi));
        req->ret = req->ret ?: -ENOMEM;
        return false;
    }
    QTAILQ_INSERT_TAIL(&s->cmds, cmd, next);
    iscsi_sess_set_events(s);
    return true;
}

/*
 * One command, waited for, sent again while the target is busy.  Returns
 * -errno; on return cmd->task (NULL when none) is the caller's to free.
 */
static int coroutine_fn iscsi_co_cmd(ISCSIClient *c, ISCSICmd *cmd,
                                     ISCSISendFunc *send, void *arg)
{
    int tries;

    for (tries = 0;; tries++) {
        ISCSIReq req;
        int ret;

        iscsi_req_init(&req);
        iscsi_cmd_send(c, &req, cmd, send, arg);
        ret = iscsi_req_wait(&req);
        if (ret < 0) {
            return ret;
        }
        if (tries < ISCSI_RETRIES && iscsi_cmd_retryable(cmd)) {
            if (cmd->task) {
                scsi_free_scsi_task(cmd->task);
                cmd->task = NULL;
            }
            qemu_co_sleep_ns((8LL << (2 * tries)) * 1000 * 1000);
            continue;
        }
        return iscsi_status_errno(cmd->status, cmd->task);
    }
}

/* The text for a failed command: its sense, or libiscsi's last error. */
static char *iscsi_cmd_error(ISCSICmd *cmd)
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
    if (!cmd->sess || !cmd->sess->iscsi) {
        /* never sent (every session lost), or its session was given up */
        return g_strdup("the session with the target is lost");
    }
    return g_strdup(iscsi_get_error(cmd->sess->iscsi));
}

static struct scsi_task *iscsi_send_read(ISCSISession *s, ISCSICmd *cmd,
                                         void *arg)
{
    ISCSIClient *c = s->client;

    return iscsi_read16_iov_task(s->iscsi, c->lun, cmd->lba, cmd->qiov.size,
                                 c->block_size, 0, 0, 0, 0, 0, iscsi_cmd_cb,
                                 cmd, (struct scsi_iovec *)cmd->qiov.iov,
                                 cmd->qiov.niov);
}

static struct scsi_task *iscsi_send_write(ISCSISession *s, ISCSICmd *cmd,
                                          void *arg)
{
    ISCSIClient *c = s->client;
    bool fua = *(bool *)arg;

    return iscsi_write16_iov_task(s->iscsi, c->lun, cmd->lba, NULL,
                                  cmd->qiov.size, c->block_size, 0, 0, fua, 0,
                                  0, iscsi_cmd_cb, cmd,
                                  (struct scsi_iovec *)cmd->qiov.iov,
                                  cmd->qiov.niov);
}

static int coroutine_fn iscsi_co_rw(BlockDriverState *bs, int64_t offset,
                                    int64_t bytes, QEMUIOVector *qiov,
                                    bool write, bool fua)
{
    ISCSIClient *c = bs->opaque;
    int n = DIV_ROUND_UP(bytes, c->cmd_bytes), i, tries;
    g_autofree ISCSICmd *cmds = g_new0(ISCSICmd, n);
    ISCSISendFunc *send = write ? iscsi_send_write : iscsi_send_read;
    int ret = 0;

    if (offset % c->block_size || bytes % c->block_size) {
        return -EINVAL;         /* io.c aligns to request_alignment */
    }
    for (i = 0; i < n; i++) {
        uint64_t off = (uint64_t)i * c->cmd_bytes;

        qemu_iovec_init_slice(&cmds[i].qiov, qiov, off,
                              MIN(c->cmd_bytes, bytes - off));
        cmds[i].lba = (offset + off) / c->block_size;
    }
    /*
     * All commands in flight at once (slots permitting); those the target
     * was too busy for are sent again, up to ISCSI_RETRIES rounds.
     */
    for (tries = 0;; tries++) {
        ISCSIReq req;
        bool again = false;

        iscsi_req_init(&req);
        for (i = 0; i < n && req.ret == 0; i++) {
            if (cmds[i].status == SCSI_STATUS_GOOD && cmds[i].sess) {
                continue;       /* done in an earlier round */
            }
            if (!iscsi_cmd_send(c, &req, &cmds[i], send, &fua)) {
                break;
            }
        }
        ret = iscsi_req_wait(&req);
        for (i = 0; i < n; i++) {
            ISCSICmd *cmd = &cmds[i];
            int r;

            if (!cmd->task && cmd->status == SCSI_STATUS_GOOD) {
                continue;
            }
            if (tries < ISCSI_RETRIES && iscsi_cmd_retryable(cmd)) {
                again = true;
                cmd->sess = NULL;
            } else if ((r = iscsi_status_errno(cmd->status, cmd->task)) < 0 &&
                       ret == 0) {
                g_autofree char *why = iscsi_cmd_error(cmd);

                /* a session given up was reported once, not per command */
                if (cmd->status != SCSI_STATUS_CANCELLED) {
                    iscsi_report(c, "iSCSI %s16 failed at lba %" PRIu64 ": %s",
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
        qemu_co_sleep_ns((8LL << (2 * tries)) * 1000 * 1000);
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

static struct scsi_task *iscsi_send_sync_cache(ISCSISession *s, ISCSICmd *cmd,
                                               void *arg)
{
    return iscsi_synchronizecache16_task(s->iscsi, s->client->lun, 0, 0, 0, 0,
                                         iscsi_cmd_cb, cmd);
}

static int coroutine_fn iscsi_co_flush_to_disk(BlockDriverState *bs)
{
    ISCSIClient *c = bs->opaque;
    int i, ret = 0;

    /* every session: each may hold writes in the target's cache */
    for (i = 0; i < c->nsess && ret == 0; i++) {
        ISCSICmd cmd = { 0 };
        int r;

        if (c->sess[i].dead) {
            continue;
        }
        r = iscsi_co_cmd(c, &cmd, iscsi_send_sync_cache, NULL);
        if (r < 0) {
            g_autofree char *why = iscsi_cmd_error(&cmd);

            iscsi_report(c, "iSCSI SYNCHRONIZECACHE16 failed: %s", why);
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

static struct scsi_task *iscsi_send_unmap(ISCSISession *s, ISCSICmd *cmd,
                                          void *arg)
{
    ISCSIRange *r = arg;
    struct unmap_list list = { .lba = r->lba, .num = r->blocks };

    return iscsi_unmap_task(s->iscsi, s->client->lun, 0, 0, &list, 1,
                            iscsi_cmd_cb, cmd);
}

static int coroutine_fn iscsi_co_pdiscard(BlockDriverState *bs, int64_t offset,
                                          int64_t bytes)
{
    ISCSIClient *c = bs->opaque;
    int ret = 0;

    if (offset % c->block_size || bytes % c->block_size) {
        return -ENOTSUP;
    }
    if (!c->lbp.lbpu) {
        return 0;               /* discard is advisory */
    }
    while (bytes > 0 && ret == 0) {
        uint64_t max = c->bl.max_unmap ? c->bl.max_unmap : UINT32_MAX;
        ISCSIRange r = {
            .lba = offset / c->block_size,
            .blocks = MIN(max, (uint64_t)bytes / c->block_size),
        };
        ISCSICmd cmd = { 0 };

        ret = iscsi_co_cmd(c, &cmd, iscsi_send_unmap, &r);
        if (ret < 0 && cmd.status == SCSI_STATUS_CHECK_CONDITION) {
            ret = 0;            /* a target may refuse the alignment */
        } else if (ret < 0) {
            g_autofree char *why = iscsi_cmd_error(&cmd);

            iscsi_report(c, "iSCSI UNMAP failed at lba %" PRIu64 ": %s",
                         r.lba, why);
        }
        if (cmd.task) {
            scsi_free_scsi_task(cmd.task);
        }
        offset += (int64_t)r.blocks * c->block_size;
        bytes -= (int64_t)r.blocks * c->block_size;
    }
    return ret;
}

static struct scsi_task *iscsi_send_write_same(ISCSISession *s, ISCSICmd *cmd,
                                               void *arg)
{
    ISCSIClient *c = s->client;
    ISCSIRange *r = arg;

    return iscsi_writesame16_task(s->iscsi, c->lun, r->lba, c->zeroblock,
                                  c->block_size, r->blocks, 0, r->unmap, 0, 0,
                                  iscsi_cmd_cb, cmd);
}

static int coroutine_fn iscsi_co_pwrite_zeroes(BlockDriverState *bs,
                                               int64_t offset, int64_t bytes,
                                               BdrvRequestFlags flags)
{
    ISCSIClient *c = bs->opaque;
    /* UNMAP through WRITE SAME only where unmapped blocks read as zeroes */
    bool unmap = (flags & BDRV_REQ_MAY_UNMAP) && c->lbp.lbpws && c->lbprz;
    int ret = 0;

    if (offset % c->block_size || bytes % c->block_size) {
        return -ENOTSUP;
    }
    if (!c->has_write_same) {
        return -ENOTSUP;
    }
    if (!c->zeroblock) {
        c->zeroblock = g_malloc0(c->block_size);
    }
    while (bytes > 0 && ret == 0) {
        uint64_t max = c->bl.max_ws_len ? c->bl.max_ws_len : UINT32_MAX;
        ISCSIRange r = {
            .lba = offset / c->block_size,
            .blocks = MIN(MIN(max, UINT32_MAX),
                          (uint64_t)bytes / c->block_size),
            .unmap = unmap,
        };
        ISCSICmd cmd = { 0 };

        ret = iscsi_co_cmd(c, &cmd, iscsi_send_write_same, &r);
        if (ret < 0 && cmd.status == SCSI_STATUS_CHECK_CONDITION &&
            cmd.task && cmd.task->sense.key == SCSI_SENSE_ILLEGAL_REQUEST &&
            (cmd.task->sense.ascq == SCSI_SENSE_ASCQ_INVALID_OPERATION_CODE ||
             cmd.task->sense.ascq == SCSI_SENSE_ASCQ_INVALID_FIELD_IN_CDB)) {
            /* no WRITE SAME here after all: io.c writes zero buffers */
            c->has_write_same = false;
            ret = -ENOTSUP;
        } else if (ret < 0) {
            g_autofree char *why = iscsi_cmd_error(&cmd);

            iscsi_report(c, "iSCSI WRITESAME16 failed at lba %" PRIu64 ": %s",
                         r.lba, why);
        }
        if (cmd.task) {
            scsi_free_scsi_task(cmd.task);
        }
        offset += (int64_t)r.blocks * c->block_size;
        bytes -= (int64_t)r.blocks * c->block_size;
    }
    return ret;
}

static struct scsi_task *iscsi_send_get_lba_status(ISCSISession *s,
                                                   ISCSICmd *cmd, void *arg)
{
    return iscsi_get_lba_status_task(s->iscsi, s->client->lun,
                                     *(uint64_t *)arg, 8 + 16, iscsi_cmd_cb,
                                     cmd);
}

static int coroutine_fn iscsi_co_block_status(BlockDriverState *bs,
                                              bool want_zero, int64_t offset,
                                              int64_t bytes, int64_t *pnum,
                                              int64_t *map,
                                              BlockDriverState **file)
{
    ISCSIClient *c = bs->opaque;
    uint64_t lba = offset / c->block_size;
    ISCSICmd cmd = { 0 };
    struct scsi_get_lba_status *st;
    struct scsi_lba_status_descriptor *d;
    int ret = BDRV_BLOCK_DATA | BDRV_BLOCK_OFFSET_VALID;
    int r;

    *pnum = bytes;
    *map = offset;
    *file = bs;
    if (!c->lbpme) {
        return ret;             /* no provisioning: all mapped */
    }
    r = iscsi_co_cmd(c, &cmd, iscsi_send_get_lba_status, &lba);
    if (r < 0) {
        g_autofree char *why = iscsi_cmd_error(&cmd);

        if (cmd.status == SCSI_STATUS_CHECK_CONDITION) {
            /* not supported after all: everything is data, as QEMU says */
            iscsi_report(c, "iSCSI GET_LBA_STATUS failed at lba %" PRIu64
                         ": %s", lba, why);
        } else {
            ret = r;
        }
        goto out;
    }
    st = scsi_datain_unmarshall(cmd.task);
    if (!st || st->num_descriptors == 0 || st->descriptors[0].lba != lba) {
        iscsi_report(c, "iSCSI GET_LBA_STATUS at lba %" PRIu64 ": the target "
                     "answered for another range", lba);
        ret = -EIO;
        goto out;
    }
    d = &st->descriptors[0];
    if (d->num_blocks == 0) {
        goto out;               /* nonsense; keep the safe answer */
    }
    *pnum = MIN((int64_t)d->num_blocks * c->block_size, bytes);
    if (d->provisioning == SCSI_PROVISIONING_TYPE_DEALLOCATED ||
        d->provisioning == SCSI_PROVISIONING_TYPE_ANCHORED) {
        ret &= ~BDRV_BLOCK_DATA;
        if (c->lbprz) {
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
    ISCSIClient *c = bs->opaque;

    return c->num_blocks * c->block_size;
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
    ISCSIClient *c = bs->opaque;
    uint64_t gran = (uint64_t)c->bl.opt_unmap_gran * c->block_size;

    /* the target's allocation unit, when it is a plausible one */
    bdi->cluster_size = gran >= 4096 && gran <= 16 * 1024 * 1024 ? gran : 0;
    return 0;
}

static void iscsi_refresh_limits(BlockDriverState *bs)
{
    ISCSIClient *c = bs->opaque;
    uint64_t bsz = c->block_size;

    bs->bl.request_alignment = bsz;
    /* io.c may hand us big requests: we split them into commands */
    bs->bl.max_transfer = 0;
    if (c->bl.opt_xfer_len && c->bl.opt_xfer_len < INT_MAX / bsz) {
        uint64_t opt = c->bl.opt_xfer_len * bsz;

        while (opt & (opt - 1)) {
            opt &= opt - 1;     /* down to a power of two */
        }
        bs->bl.opt_transfer = opt;
    }
    if (c->lbp.lbpu) {
        bs->bl.max_pdiscard = c->bl.max_unmap ? c->bl.max_unmap * bsz
                                              : (int64_t)UINT32_MAX * bsz;
        bs->bl.pdiscard_alignment = MAX(c->bl.opt_unmap_gran, 1) * bsz;
    } else {
        bs->bl.pdiscard_alignment = bsz;
    }
    bs->bl.max_pwrite_zeroes = c->bl.max_ws_len ? c->bl.max_ws_len * bsz
                                                : (int64_t)UINT32_MAX * bsz;
    bs->bl.pwrite_zeroes_alignment =
        c->lbp.lbpws ? MAX(c->bl.opt_unmap_gran, 1) * bsz : bsz;
}

/* ---- open, close ---- */

typedef struct ISCSIOptions {
    char *transport, *portal, *target, *user, *password, *initiator;
    char *digest;
    uint64_t lun, timeout, sessions, depth;
    bool sessions_given;
} ISCSIOptions;

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
    if (o->sessions < 1 || o->sessions > ISCSI_MAX_SESSIONS) {
        error_setg(errp, "Parameter 'sessions' must be between 1 and %d",
                   ISCSI_MAX_SESSIONS);
        return false;
    }
    if (o->depth < 1 || o->depth > ISCSI_MAX_DEPTH) {
        error_setg(errp, "Parameter 'queue-depth' must be between 1 and %d",
                   ISCSI_MAX_DEPTH);
        return false;
    }
    if (o->timeout > 3600) {
        error_setg(errp, "Parameter 'timeout' must be at most 3600 seconds");
        return false;
    }
    return true;
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
    ISCSISession *s = opaque;
    ISCSIReq *req = s->connect_req;

    if (!req) {
        return;                 /* already failed */
    }
    s->connect_req = NULL;
    if (status != SCSI_STATUS_GOOD) {
        /* iscsi_sess_service() words the message once libiscsi returns */
        s->login_failed = true;
        s->connect_error = g_strdup(iscsi_get_error(iscsi));
    }
    iscsi_req_put(req);
}

/*
 * Start logging in on session @s (the target, then the LUN); @req counts
 * the logins in flight.  The session's ISID is the image's random one
 * with the session's index as qualifier: distinct I_T nexuses, so the
 * target never takes a second session for a reinstatement of the first.
 */
static bool iscsi_sess_start(ISCSISession *s, const ISCSIOptions *o,
                             uint32_t isid, int index, ISCSIReq *req,
                             Error **errp)
{
    ISCSIClient *c = s->client;

    s->fd = -1;
    s->iscsi = iscsi_create_context(o->initiator ? o->initiator
                                                 : ISCSI_DEFAULT_INITIATOR);
    if (!s->iscsi) {
        error_setg(errp, "iSCSI: Failed to create iSCSI context.");
        return false;
    }
    if (iscsi_set_targetname(s->iscsi, o->target)) {
        error_setg(errp, "iSCSI: Failed to set target name.");
        return false;
    }
    if (o->user &&
        iscsi_set_initiator_username_pwd(s->iscsi, o->user, o->password)) {
        error_setg(errp, "Failed to set initiator username and password");
        return false;
    }
    if (iscsi_set_session_type(s->iscsi, ISCSI_SESSION_NORMAL) != 0) {
        error_setg(errp, "iSCSI: Failed to set session type to normal.");
        return false;
    }
    if (!iscsi_set_digest(s->iscsi, o->digest, errp)) {
        return false;
    }
    iscsi_set_isid_random(s->iscsi, isid, index);
    iscsi_set_timeout(s->iscsi, o->timeout);
    /*
     * libiscsi reconnects a dropped session as often as it takes: the
     * timeout (no progress for that long) is what bounds the wait.
     */
    iscsi_set_reconnect_max_retries(s->iscsi, -1);
    s->tick = aio_timer_new(c->ctx, iscsi_sess_tick, s);

    s->login_failed = false;
    s->connecting = true;
    s->connect_req = req;
    req->pending++;
    if (iscsi_full_connect_async(s->iscsi, o->portal, o->lun,
                                 iscsi_connect_cb, s) != 0) {
        s->connect_error = g_strdup_printf("Failed to start full connect %s",
                                           iscsi_get_error(s->iscsi));
        s->connect_req = NULL;
        s->login_failed = true;
        req->pending--;
    } else {
        iscsi_sess_set_events(s);
        timer_mod(s->tick, get_clock_ns() + ISCSI_TICK_NS);
    }
    return true;
}

/* After the logins started by iscsi_sess_start() have all ended. */
static bool iscsi_sess_started(ISCSISession *s, Error **errp)
{
    s->connecting = false;
    if (s->login_failed) {
        error_setg(errp, "iSCSI: Failed to connect to LUN : %s",
                   s->connect_error ? s->connect_error
                                    : iscsi_get_error(s->iscsi));
        return false;
    }
    s->last_progress = get_clock_ns();
    return true;
}

static void iscsi_sess_close(ISCSISession *s)
{
    g_free(s->connect_error);
    s->connect_error = NULL;
    if (s->tick) {
        timer_del(s->tick);
        timer_free(s->tick);
        s->tick = NULL;
    }
    if (s->fd >= 0) {
        aio_set_fd_handler(s->client->ctx, s->fd, NULL, NULL, NULL);
        s->fd = -1;
    }
    if (s->iscsi) {
        /* logging out would wait on the target; closing the socket will do */
        iscsi_destroy_context(s->iscsi);
        s->iscsi = NULL;
    }
}

static void iscsi_client_close(ISCSIClient *c)
{
    int i;

    for (i = 0; i < c->nsess; i++) {
        iscsi_sess_close(&c->sess[i]);
    }
    g_free(c->sess);
    c->sess = NULL;
    c->nsess = 0;
    g_free(c->zeroblock);
    c->zeroblock = NULL;
    g_free(c->last_error);
    c->last_error = NULL;
    g_free(c->portal);
    c->portal = NULL;
    co_slot_waiters_destroy(&c->slot_waiters);
}

static struct scsi_task *iscsi_send_inquiry(ISCSISession *s, ISCSICmd *cmd,
                                            void *arg)
{
    int *a = arg;           /* evpd, page, allocation length */

    return iscsi_inquiry_task(s->iscsi, s->client->lun, a[0], a[1], a[2],
                              iscsi_cmd_cb, cmd);
}

/* INQUIRY (a VPD page when @evpd); the unmarshalled data, task in *@task. */
static void *coroutine_fn iscsi_co_inquiry(ISCSIClient *c, int evpd, int page,
                                           struct scsi_task **task,
                                           Error **errp)
{
    int args[3] = { evpd, page, 255 };
    ISCSICmd cmd = { 0 };
    void *data;
    int ret;

    ret = iscsi_co_cmd(c, &cmd, iscsi_send_inquiry, args);
    if (ret == 0 && scsi_datain_getfullsize(cmd.task) > cmd.task->datain.size) {
        args[2] = scsi_datain_getfullsize(cmd.task);
        scsi_free_scsi_task(cmd.task);
        cmd.task = NULL;
        ret = iscsi_co_cmd(c, &cmd, iscsi_send_inquiry, args);
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

static struct scsi_task *iscsi_send_readcap16(ISCSISession *s, ISCSICmd *cmd,
                                              void *arg)
{
    return iscsi_readcapacity16_task(s->iscsi, s->client->lun, iscsi_cmd_cb,
                                     cmd);
}

static struct scsi_task *iscsi_send_readcap10(ISCSISession *s, ISCSICmd *cmd,
                                              void *arg)
{
    return iscsi_readcapacity10_task(s->iscsi, s->client->lun, 0, 0,
                                     iscsi_cmd_cb, cmd);
}

static bool coroutine_fn iscsi_co_read_capacity(ISCSIClient *c, Error **errp)
{
    ISCSICmd cmd = { 0 };
    bool ok = false;

    if (c->type == SCSI_INQUIRY_PERIPHERAL_DEVICE_TYPE_DIRECT_ACCESS &&
        iscsi_co_cmd(c, &cmd, iscsi_send_readcap16, NULL) == 0) {
        struct scsi_readcapacity16 *rc = scsi_datain_unmarshall(cmd.task);

        if (!rc) {
            error_setg(errp, "iSCSI: Failed to unmarshall readcapacity16 "
                       "data.");
            goto out;
        }
        c->block_size = rc->block_length;
        c->num_blocks = rc->returned_lba + 1;
        c->lbpme = rc->lbpme;
        c->lbprz = rc->lbprz;
    } else {
        if (cmd.task) {
            scsi_free_scsi_task(cmd.task);
        }
        cmd = (ISCSICmd) { 0 };
        if (iscsi_co_cmd(c, &cmd, iscsi_send_readcap10, NULL) == 0) {
            struct scsi_readcapacity10 *rc = scsi_datain_unmarshall(cmd.task);

            if (!rc) {
                error_setg(errp, "iSCSI: Failed to unmarshall readcapacity10 "
                           "data.");
                goto out;
            }
            c->block_size = rc->block_size;
            c->num_blocks = rc->lba ? (uint64_t)rc->lba + 1 : 0;
        } else {
            error_setg(errp, "iSCSI: failed to send readcapacity10/16 "
                       "command");
            goto out;
        }
    }
    if (!c->block_size || c->block_size % BDRV_SECTOR_SIZE ||
        c->block_size > 65536 || (c->block_size & (c->block_size - 1))) {
        error_setg(errp, "iSCSI: the target returned an invalid block size "
                   "of %u.", c->block_size);
        goto out;
    }
    if (c->num_blocks > INT64_MAX / c->block_size) {
        error_setg(errp, "iSCSI: the target returned an invalid capacity "
                   "of %" PRIu64 " blocks", c->num_blocks);
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
static bool coroutine_fn iscsi_co_read_vpd(ISCSIClient *c, Error **errp)
{
    struct scsi_task *task = NULL, *t = NULL;
    struct scsi_inquiry_supported_pages *pages;
    int i;

    pages = iscsi_co_inquiry(c, 1, SCSI_INQUIRY_PAGECODE_SUPPORTED_VPD_PAGES,
                             &task, errp);
    if (!pages) {
        return false;
    }
    for (i = 0; i < pages->num_pages; i++) {
        void *p;

        switch (pages->pages[i]) {
        case SCSI_INQUIRY_PAGECODE_LOGICAL_BLOCK_PROVISIONING:
            p = iscsi_co_inquiry(c, 1, pages->pages[i], &t, errp);
            if (!p) {
                goto fail;
            }
            memcpy(&c->lbp, p, sizeof(c->lbp));
            break;
        case SCSI_INQUIRY_PAGECODE_BLOCK_LIMITS:
            p = iscsi_co_inquiry(c, 1, pages->pages[i], &t, errp);
            if (!p) {
                goto fail;
            }
            memcpy(&c->bl, p, sizeof(c->bl));
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

static bool coroutine_fn iscsi_client_open(ISCSIClient *c, QDict *options,
                                           int flags, Error **errp)
{
    ISCSIOptions o;
    struct scsi_task *task = NULL;
    struct scsi_inquiry_standard *inq;
    ISCSIReq login;
    uint32_t isid;
    bool ok = false;
    int i, j;

    if (!iscsi_take_options(options, &o, errp)) {
        goto out;
    }
    c->ctx = qemu_get_current_aio_context();
    c->portal = g_strdup(o.portal);
    c->lun = o.lun;
    c->depth = o.depth;
    c->timeout_ns = o.timeout * 1000 * 1000 * 1000LL;
    c->has_write_same = true;
    co_slot_waiters_init(&c->slot_waiters, c->ctx);
    c->sess = g_new0(ISCSISession, o.sessions);
    for (i = 0; i < (int)o.sessions; i++) {
        c->sess[i].client = c;
        c->sess[i].fd = -1;
        QTAILQ_INIT(&c->sess[i].cmds);
    }
    c->nsess = o.sessions;
    /* all sessions log in at once: a second one costs no extra round trips */
    isid = g_random_int() & 0xffffff;
    iscsi_req_init(&login);
    for (i = 0; i < c->nsess; i++) {
        if (!iscsi_sess_start(&c->sess[i], &o, isid, i, &login, errp)) {
            c->nsess = i + 1;
            break;
        }
    }
    iscsi_req_wait(&login);
    if (i < (int)o.sessions) {
        goto out;
    }
    for (i = 0; i < c->nsess; i++) {
        Error *local_err = NULL;

        if (iscsi_sess_started(&c->sess[i], &local_err)) {
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
        for (j = i; j < c->nsess; j++) {
            iscsi_sess_close(&c->sess[j]);
        }
        c->nsess = i;
        break;
    }
    inq = iscsi_co_inquiry(c, 0, 0, &task, errp);
    if (!inq) {
        goto out;
    }
    c->type = inq->device_type;
    scsi_free_scsi_task(task);
    if (c->type != SCSI_INQUIRY_PERIPHERAL_DEVICE_TYPE_DIRECT_ACCESS &&
        c->type != SCSI_INQUIRY_PERIPHERAL_DEVICE_TYPE_MMC) {
        error_setg(errp, "iSCSI: LUN %d is not a disk (device type %d)",
                   c->lun, c->type);
        goto out;
    }
    if (!iscsi_co_read_capacity(c, errp) || !iscsi_co_read_vpd(c, errp)) {
        goto out;
    }
    c->cmd_bytes = ISCSI_CMD_BYTES;
    if (c->bl.max_xfer_len) {
        c->cmd_bytes = MIN(c->cmd_bytes,
                           (uint64_t)c->bl.max_xfer_len * c->block_size);
    }
    c->cmd_bytes = MAX(c->cmd_bytes / c->block_size, 1) * c->block_size;
    ok = true;
out:
    if (!ok) {
        iscsi_client_close(c);
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
    ISCSIClient c = { 0 };
    g_autoptr(QObject) options = qdict_new();
    g_autofree char *prealloc = NULL;
    uint64_t size;
    uint8_t *zero;
    QEMUIOVector qiov;
    BlockDriverState bs = { .opaque = &c };
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
        !iscsi_client_open(&c, options, 0, errp)) {
        return false;
    }
    if (size > c.num_blocks * c.block_size) {
        error_setg(errp, "Cannot grow iSCSI devices");
        iscsi_client_close(&c);
        return false;
    }
    zero = g_malloc0(c.block_size);
    qemu_iovec_init_buf(&qiov, zero, c.block_size);
    ret = c.num_blocks ? iscsi_co_rw(&bs, 0, c.block_size, &qiov, true, false)
                       : 0;
    g_free(zero);
    iscsi_client_close(&c);
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
