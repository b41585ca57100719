/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Inside the iscsi driver: its state, its sessions and their commands,
 * shared by iscsi.c (the driver: open, I/O, the LUN's properties, URL)
 * and iscsi-conn.c below it (login, sending and retrying commands,
 * timeouts, the engine's hooks), which never calls iscsi.c.
 */
#ifndef BLOCK_ISCSI_INT_H
#define BLOCK_ISCSI_INT_H

#include "util/osdep.h"
#include "block/net-conn.h"
#include "util/iov.h"
#include "util/error.h"
#include "block/block.h"

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
#define ISCSI_RETRIES           5       /* BUSY, TASK SET FULL, UNIT ATTENTION */

typedef struct ISCSIClient ISCSIClient;
typedef struct ISCSICmd ISCSICmd;

/* One connection: an iSCSI session (a libiscsi context) on the LUN. */
typedef struct ISCSIConn {
    NetConn nc;                 /* the engine's part: socket, slots, timer */
    struct iscsi_context *iscsi;
    int64_t last_progress;      /* ns: a command answered, or idle */
    int ticks;
    bool timed_out;             /* a command timed out: abort the task set */
    bool tmf_sent;              /* ABORT TASK SET awaits its answer */
    bool tmf_failed;
    int64_t tmf_deadline;
    QTAILQ_HEAD(, ISCSICmd) cmds;       /* sent, not answered */
    NetReq *connect_req;                /* while logging in */
    bool connecting;
    bool login_failed;
    char *connect_error;
} ISCSIConn;

struct ISCSIClient {
    NetPool pool;               /* the connections, their slots */
    ISCSIConn *conns;           /* pool.nconns of them */
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
    char *portal;               /* for messages */
    int64_t abort_warned_ns;    /* when the last abort was reported */
};

/* One command of a request (NetReq: several commands, one coroutine). */
struct ISCSICmd {
    QTAILQ_ENTRY(ISCSICmd) next;
    NetReq *req;
    ISCSIConn *conn;
    struct scsi_task *task;     /* the answered task, ours to free */
    QEMUIOVector qiov;          /* this command's slice of the request */
    int status;
    uint64_t lba;
};

typedef struct ISCSIOptions {
    char *transport, *portal, *target, *user, *password, *initiator;
    char *digest;
    uint64_t lun, timeout, sessions, depth;
    bool sessions_given;
} ISCSIOptions;

/* Sends one command for @cmd on @c (libiscsi's task, NULL if not sent). */
typedef struct scsi_task *ISCSISendFunc(ISCSIConn *c, ISCSICmd *cmd,
                                        void *arg);

static inline ISCSIClient *iscsi_client(ISCSIConn *c)
{
    return container_of(c->nc.pool, ISCSIClient, pool);
}

/* Print a failure once per distinct text (a dying target fails many). */
#define iscsi_report(s, ...) net_pool_report(&(s)->pool, __VA_ARGS__)

/* ---- iscsi-conn.c: sessions ---- */

extern const NetConnOps iscsi_conn_ops;
/*
 * Start logging in on session @c (added to @s's pool); @req counts the
 * logins in flight.  False only if the context could not be set up.
 */
bool iscsi_conn_start(ISCSIConn *c, const ISCSIOptions *o, uint32_t isid,
                      int index, NetReq *req, Error **errp);
/* After the logins have all ended: did this one succeed? */
bool iscsi_conn_started(ISCSIConn *c, Error **errp);
void iscsi_conn_close(ISCSIConn *c);

/* ---- iscsi-conn.c: commands ---- */

/* libiscsi's callback for every command sent with an ISCSISendFunc. */
void iscsi_cmd_cb(struct iscsi_context *iscsi, int status,
                  void *command_data, void *opaque);
/* Send @cmd on a session; false (and @req failed) if it could not be. */
bool coroutine_fn iscsi_cmd_send(ISCSIClient *s, NetReq *req, ISCSICmd *cmd,
                                 ISCSISendFunc *send, void *arg);
/*
 * One command, waited for, sent again while the target is busy.  Returns
 * -errno; on return cmd->task (NULL when none) is the caller's to free.
 */
int coroutine_fn iscsi_co_cmd(ISCSIClient *s, ISCSICmd *cmd,
                              ISCSISendFunc *send, void *arg);
/* Worth sending again (target busy, unit attention, aborted). */
bool iscsi_cmd_retryable(ISCSICmd *cmd);
/* -errno for a finished command's @status (0 for GOOD). */
int iscsi_status_errno(int status, struct scsi_task *task);
/* The text for a failed command: its sense, or libiscsi's last error. */
char *iscsi_cmd_error(ISCSICmd *cmd);

#endif /* BLOCK_ISCSI_INT_H */
