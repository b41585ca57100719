/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * transaction: several actions (bitmap changes, backups, snapshots) that
 * take effect together or not at all, as 7.2's.  Every action's
 * arguments are checked first; then each is prepared in order; if one
 * fails, those prepared are aborted in reverse order, else all commit.
 * completion-mode=grouped puts the jobs started in one job transaction:
 * one failing cancels the others.
 */
#include "util/osdep.h"
#include "qmp.h"
#include "block/job.h"
#include "block/driver.h"

/* 7.2's TransactionActionKind, in its order; NULL: not ours */
static const struct {
    const char *type;
    const QsdActionOps *ops;
} action_kinds[] = {
    { "abort", NULL },
    { "block-dirty-bitmap-add", &qsd_bitmap_add_action },
    { "block-dirty-bitmap-remove", &qsd_bitmap_remove_action },
    { "block-dirty-bitmap-clear", &qsd_bitmap_clear_action },
    { "block-dirty-bitmap-enable", &qsd_bitmap_enable_action },
    { "block-dirty-bitmap-disable", &qsd_bitmap_disable_action },
    { "block-dirty-bitmap-merge", &qsd_bitmap_merge_action },
    { "blockdev-backup", &qsd_backup_action },
    { "blockdev-snapshot", &qsd_snapshot_action },
    { "blockdev-snapshot-internal-sync", NULL },
    { "blockdev-snapshot-sync", NULL },
    { "drive-backup", NULL },
};

/* @d's member @key, known to be an object */
static QDict *dict_member(QDict *d, const char *key)
{
    return (QDict *)qdict_get(d, key);
}

static bool coroutine_fn abort_prepare(QsdAction *a, QDict *args,
                                       Error **errp)
{
    error_setg(errp, "Transaction aborted using Abort action");
    return false;
}

static const QsdActionOps abort_action = {
    .name = "abort",
    .spec = "",
    .grouped = true,
    .prepare = abort_prepare,
};

/* Yield to the main loop once: what was woken meanwhile runs first. */
static void coroutine_fn yield_once(void)
{
    aio_co_schedule(qemu_get_aio_context(), qemu_coroutine_self());
    qemu_coroutine_yield();
}

/*
 * 7.2 drains every node before the actions: requests in flight finish,
 * and each running job stops once at a pause point (the drain waits for
 * it); then the jobs run again before the actions do.
 */
static void coroutine_fn drain_all_once(void)
{
    BlockDriverState *bs = NULL;
    GSList *nodes = NULL, *l;

    while ((bs = bdrv_next_node(bs))) {
        nodes = g_slist_prepend(nodes, bdrv_ref(bs));
        bdrv_co_drained_begin(bs);
    }
    for (l = nodes; l; l = l->next) {
        bdrv_drained_end(l->data);
        bdrv_unref(l->data);
    }
    g_slist_free(nodes);
    yield_once();       /* the jobs run again */
}

void coroutine_fn qsd_run_action(const QsdActionOps *ops, QDict *args,
                                 Error **errp)
{
    QsdAction a = { .ops = ops };
    bool ok;

    if (!qmp_check_args(args, ops->spec, errp) ||
        (ops->check && !ops->check(args, errp))) {
        return;
    }
    if (ops->drain_all) {
        drain_all_once();
    }
    ok = ops->prepare(&a, args, errp);
    if (ok && ops->commit) {
        ops->commit(&a);
    } else if (!ok && ops->abort) {
        ops->abort(&a);
    }
    if (ops->clean) {
        ops->clean(&a);
    }
}

/*
 * The action at @i of @list, checked as 7.2's visitor checks it: its
 * type, its data's members.  NULL + @errp.
 */
static const QsdActionOps *check_action(QList *list, size_t i, Error **errp)
{
    QObject *o = qlist_at(list, i);
    g_autofree char *at = g_strdup_printf("actions[%zu]", i);
    g_autofree char *data_at = g_strdup_printf("actions[%zu].data", i);
    const QsdActionOps *ops = NULL;
    const char *type;
    QDict *action, *data;
    size_t k;

    if (qobject_type(o) != QTYPE_DICT) {
        error_setg(errp, "Invalid parameter type for '%s', expected: object",
                   at);
        return NULL;
    }
    action = (QDict *)o;
    /* the union's tag, its branch, then what else the action holds */
    if (!qmp_check_args_at(action, "type:s ?*", at, errp)) {
        return NULL;
    }
    type = qmp_str(action, "type");
    for (k = 0; k < G_N_ELEMENTS(action_kinds); k++) {
        if (!strcmp(action_kinds[k].type, type)) {
            break;
        }
    }
    if (k == G_N_ELEMENTS(action_kinds)) {
        error_setg(errp, "Parameter 'type' does not accept value '%s'", type);
        return NULL;
    }
    if (!qmp_check_args_at(action, "type:s data:o ?*", at, errp)) {
        return NULL;
    }
    ops = k == 0 ? &abort_action : action_kinds[k].ops;
    if (!ops) {
        error_setg(errp, "Action '%s' is not supported by this daemon",
                   type);
        return NULL;
    }
    data = dict_member(action, "data");
    if (!qmp_check_args_at(data, ops->spec, data_at, errp) ||
        (ops->check && !ops->check(data, errp)) ||
        !qmp_check_args_at(action, "type:s data:o", at, errp)) {
        return NULL;
    }
    return ops;
}

static void coroutine_fn qmp_transaction(QDict *args, QObject **ret,
                                         Error **errp)
{
    static const char *const modes[] = { "individual", "grouped", NULL };
    QList *list;
    QDict *props;
    size_t n, i, prepared;
    g_autofree QsdAction *acts = NULL;
    JobTxn *txn = NULL;
    int mode = 0;
    bool ok = true;

    if (!qmp_check_args(args, "actions:a ?properties:o", errp)) {
        return;
    }
    list = (QList *)qdict_get(args, "actions");
    n = qlist_size(list);
    acts = g_new0(QsdAction, n);
    for (i = 0; i < n; i++) {
        acts[i].ops = check_action(list, i, errp);
        if (!acts[i].ops) {
            return;
        }
    }
    props = dict_member(args, "properties");
    if (props) {
        if (!qmp_check_args_at(props, "?completion-mode:s", "properties",
                               errp)) {
            return;
        }
        mode = qmp_enum(props, "completion-mode", modes, 0, errp);
        if (mode < 0) {
            return;
        }
    }
    if (mode == 1) {
        txn = job_txn_new();
    }
    drain_all_once();
    for (prepared = 0; prepared < n && ok; prepared++) {
        QsdAction *a = &acts[prepared];
        QDict *data = dict_member((QDict *)qlist_at(list, prepared),
                                      "data");

        a->txn = txn;
        if (txn && !a->ops->grouped) {
            error_setg(errp, "Action '%s' does not support Transaction "
                       "property completion-mode = grouped", a->ops->name);
            ok = false;
        } else {
            ok = a->ops->prepare(a, data, errp);
        }
    }
    for (i = 0; i < prepared; i++) {
        if (ok && acts[i].ops->commit) {
            acts[i].ops->commit(&acts[i]);
        }
    }
    for (i = prepared; !ok && i-- > 0;) {
        if (acts[i].ops->abort) {
            acts[i].ops->abort(&acts[i]);
        }
    }
    for (i = 0; i < prepared; i++) {
        if (acts[i].ops->clean) {
            acts[i].ops->clean(&acts[i]);
        }
    }
    if (txn) {
        job_txn_unref(txn);
    }
}

const QmpCommand qmp_transaction_commands[] = {
    { "transaction", qmp_transaction },
    { NULL },
};
