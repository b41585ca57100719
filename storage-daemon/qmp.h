/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The storage daemon's QMP: monitors (one per --monitor, each on a
 * character device) and the command table.  Commands run one at a time,
 * in a coroutine (a command may open images or wait for a job); their
 * replies and the events are written as 7.2's daemon writes them.
 */
#ifndef STORAGE_DAEMON_QMP_H
#define STORAGE_DAEMON_QMP_H

#include "util/osdep.h"
#include "util/error.h"
#include "util/qobject.h"
#include "util/coroutine.h"
#include "block/block.h"

/* 7.2's error classes */
typedef enum QmpErrorClass {
    QMP_ERROR_GENERIC = 0,          /* an Error's class unless set */
    QMP_ERROR_COMMAND_NOT_FOUND,
    QMP_ERROR_DEVICE_NOT_ACTIVE,
    QMP_ERROR_DEVICE_NOT_FOUND,
} QmpErrorClass;

/*
 * A command's error is GenericError unless its class is set with
 * error_set_class(errp, QMP_ERROR_...) after error_setg().
 */

/*
 * A command: @args is the "arguments" object (an empty one when none
 * came); the result goes to *@ret (NULL: {}).
 */
typedef void coroutine_fn QmpHandler(QDict *args, QObject **ret,
                                     Error **errp);

typedef struct QmpCommand {
    const char *name;
    QmpHandler *fn;
} QmpCommand;

/* ---- argument checks, with 7.2's texts ---- */

/*
 * Check @args against @spec, a space-separated list of "name:T" (T: s
 * string, i integer, b boolean, o object, a array, n number, * any), a
 * leading '?' for an optional member: missing members first, in order,
 * then wrong types, then members @spec does not name (unless it holds
 * "?*": any other member).
 */
bool qmp_check_args(QDict *args, const char *spec, Error **errp);
/* The same for a member @at (a path: "actions[0].data") of the arguments */
bool qmp_check_args_at(QDict *args, const char *spec, const char *at,
                       Error **errp);
const char *qmp_str(QDict *args, const char *name);       /* or NULL */
int64_t qmp_int(QDict *args, const char *name, int64_t def);
bool qmp_bool(QDict *args, const char *name, bool def);
/*
 * The index of the value of enum member @name among @values (NULL-ended),
 * @def when absent; -1 + "Parameter 'x' does not accept value 'y'".
 */
int qmp_enum(QDict *args, const char *name, const char *const *values,
             int def, Error **errp);

/* ---- actions: the commands a transaction groups ---- */

typedef struct QsdAction QsdAction;

/*
 * A command that may be one action of a transaction.  Alone, it is
 * prepare, then commit (abort on failure), then clean; in a transaction
 * every action is prepared first, and all abort if one fails (7.2's
 * BlkActionOps).  Arguments are checked before any action prepares.
 */
typedef struct QsdActionOps {
    const char *name;           /* the command's and the action's */
    const char *spec;           /* its arguments, for qmp_check_args() */
    /* enum values, as 7.2's visitor checks them (optional) */
    bool (*check)(QDict *args, Error **errp);
    bool grouped;               /* may run with completion-mode=grouped */
    /* alone too, 7.2 runs it as a transaction: every node drained first */
    bool drain_all;
    bool coroutine_fn (*prepare)(QsdAction *a, QDict *args, Error **errp);
    void coroutine_fn (*commit)(QsdAction *a);        /* optional */
    void coroutine_fn (*abort)(QsdAction *a);         /* optional */
    void coroutine_fn (*clean)(QsdAction *a);         /* optional */
} QsdActionOps;

/* What an action keeps between prepare and commit/abort/clean */
struct QsdAction {
    const QsdActionOps *ops;
    struct JobTxn *txn;         /* grouped: the jobs' transaction */
    BlockDriverState *bs, *overlay;
    struct BdrvDirtyBitmap *bitmap, *saved;
    struct Job *job;
    bool was_enabled;
    bool appended;
};

/* Run @ops alone, as its command: arguments checked, then the action. */
void coroutine_fn qsd_run_action(const QsdActionOps *ops, QDict *args,
                                 Error **errp);

/* A command table entry for an action's command */
#define QSD_ACTION_COMMAND(fn, ops)                                     \
    static void coroutine_fn fn(QDict *args, QObject **ret, Error **errp) \
    {                                                                   \
        qsd_run_action(&(ops), args, errp);                             \
    }

extern const QsdActionOps qsd_bitmap_add_action, qsd_bitmap_remove_action,
    qsd_bitmap_clear_action, qsd_bitmap_enable_action,
    qsd_bitmap_disable_action, qsd_bitmap_merge_action,
    qsd_snapshot_action, qsd_backup_action;

/* ---- events ---- */

/* Send @event with @data (taken; NULL: none) to every negotiated monitor. */
void qmp_send_event(const char *event, QDict *data);

/* ---- monitors ---- */

/*
 * A monitor on the character device @chardev (a name given to
 * qmp_add_chardev); false + @errp if there is none such.
 */
bool qmp_add_monitor(const char *chardev, bool pretty, Error **errp);
/*
 * A character device from its --chardev options: "socket" (path= or
 * host=/port=; server=on|off, wait=on|off) or "stdio".
 */
bool qmp_add_chardev(QDict *opts, Error **errp);
void qmp_cleanup(void);
/* A monitor on the connected socket @fd (taken; tests and fuzzing) */
void qmp_add_monitor_fd(int fd);
/* Whether a monitor is connected or still runs a command */
bool qmp_monitors_busy(void);
/*
 * Commands that @filter refuses (false) fail with "The command X is not
 * allowed here" instead of running (the fuzz target keeps commands away
 * from the host's files).  NULL: all run.
 */
typedef bool QmpCommandFilter(const char *name, QDict *args);
void qmp_set_command_filter(QmpCommandFilter *filter);

/* ---- the daemon's state, for the commands ---- */

/* Set by quit: the daemon ends once the current command has replied. */
extern bool qsd_quit_requested;
void qsd_wake_main(void);

/* The command tables (qmp-block.c, qmp-jobs.c, qmp-nbd.c) */
extern const QmpCommand qmp_block_commands[];
extern const QmpCommand qmp_job_commands[];
extern const QmpCommand qmp_nbd_commands[];
extern const QmpCommand qmp_transaction_commands[];
extern const QmpCommand qmp_create_commands[];

/*
 * 7.2's bdrv_lookup_bs(): the node named @device (an argument that may
 * name a device or a node; the daemon has no devices) or else
 * @node_name, or NULL + "Cannot find device='D' nor node-name='N'".
 */
BlockDriverState *qsd_lookup_node(const char *device, const char *node_name,
                                  Error **errp);
/* blockdev-add's work, for --blockdev too: @opts is taken. */
bool coroutine_fn qsd_blockdev_add(QDict *opts, Error **errp);
/* --nbd-server and --export */
bool coroutine_fn qsd_nbd_server_start(QDict *opts, Error **errp);
bool coroutine_fn qsd_export_add(QDict *opts, Error **errp);
/* quit: exports deleted, jobs cancelled, nodes closed */
void coroutine_fn qsd_shutdown_exports(void);
void coroutine_fn qsd_close_all_nodes(void);

#endif /* STORAGE_DAEMON_QMP_H */
