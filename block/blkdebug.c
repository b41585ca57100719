/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * blkdebug: a filter that fails chosen requests and constrains request
 * shapes, for testing error paths (QEMU's driver of that name, with its
 * options, its filename syntax and its config file format).
 *
 *   blkdebug:[CONFIG]:IMAGE       legacy filename: rules from CONFIG
 *   config, x-image               the same as options
 *   image                         the node below (image.driver=...)
 *   inject-error.N.{event,state,iotype,errno,sector,once,immediately}
 *   set-state.N.{event,state,new_state}
 *   align, max-transfer, opt-write-zero, max-write-zero, opt-discard,
 *   max-discard                   limits the block layer must honour
 *
 * How rules work (as in 7.2): the driver above reports events (see
 * BLKDBG_EVENT in driver.h).  When an event fires, the inject-error rules
 * for it whose state matches (0 = any) become the active rules, replacing
 * the previous ones; set-state rules move the state machine (it starts in
 * state 1).  A request fails with the first active rule that covers its
 * offset (sector, or any) and its kind (iotype, default all but
 * block-status); a "once" rule is then gone.
 *
 * Breakpoints (bdrv_debug_breakpoint, from qemu-io's break) are rules of
 * a third kind, for one event in every state: the request that reaches
 * the event is suspended (its coroutine yields in the event) under the
 * breakpoint's tag, and the breakpoint is gone; resume enters it again.
 */
#include "util/osdep.h"
#include "block/driver.h"
#include "util/cutils.h"

const char *const bdrv_debug_event_names[BLKDBG__MAX] = {
    "l1_update", "l1_grow_alloc_table", "l1_grow_write_table",
    "l1_grow_activate_table", "l2_load", "l2_update",
    "l2_update_compressed", "l2_alloc_cow_read", "l2_alloc_write",
    "read_aio", "read_backing_aio", "read_compressed", "write_aio",
    "write_compressed", "vmstate_load", "vmstate_save", "cow_read",
    "cow_write", "reftable_load", "reftable_grow", "reftable_update",
    "refblock_load", "refblock_update", "refblock_update_part",
    "refblock_alloc", "refblock_alloc_hookup", "refblock_alloc_write",
    "refblock_alloc_write_blocks", "refblock_alloc_write_table",
    "refblock_alloc_switch_table", "cluster_alloc",
    "cluster_alloc_bytes", "cluster_free", "flush_to_os",
    "flush_to_disk", "pwritev_rmw_head", "pwritev_rmw_after_head",
    "pwritev_rmw_tail", "pwritev_rmw_after_tail", "pwritev",
    "pwritev_zero", "pwritev_done", "empty_image_prepare",
    "l1_shrink_write_table", "l1_shrink_free_l2_clusters",
    "cor_write", "cluster_alloc_space", "none",
};

void bdrv_debug_event(BlockDriverState *bs, BlkdebugEvent event)
{
    if (bs && bs->drv && bs->drv->debug_event) {
        bs->drv->debug_event(bs, event);
    }
}

/* The first node down @bs's primary chain with breakpoints, or NULL. */
static BlockDriverState *breakpoint_node(BlockDriverState *bs)
{
    while (bs && bs->drv && !bs->drv->debug_breakpoint) {
        BdrvChild *c = bdrv_primary_child(bs);

        bs = c ? c->bs : NULL;
    }
    return bs && bs->drv ? bs : NULL;
}

int bdrv_debug_breakpoint(BlockDriverState *bs, const char *event,
                          const char *tag)
{
    bs = breakpoint_node(bs);
    return bs ? bs->drv->debug_breakpoint(bs, event, tag) : -ENOTSUP;
}

int bdrv_debug_remove_breakpoint(BlockDriverState *bs, const char *tag)
{
    bs = breakpoint_node(bs);
    return bs ? bs->drv->debug_remove_breakpoint(bs, tag) : -ENOTSUP;
}

int bdrv_debug_resume(BlockDriverState *bs, const char *tag)
{
    bs = breakpoint_node(bs);
    return bs ? bs->drv->debug_resume(bs, tag) : -ENOTSUP;
}

bool bdrv_debug_is_suspended(BlockDriverState *bs, const char *tag)
{
    bs = breakpoint_node(bs);
    return bs && bs->drv->debug_is_suspended(bs, tag);
}

enum { IO_READ, IO_WRITE, IO_WRITE_ZEROES, IO_DISCARD, IO_FLUSH,
       IO_BLOCK_STATUS, IO__MAX };
static const char *const iotype_names[IO__MAX] = {
    "read", "write", "write-zeroes", "discard", "flush", "block-status",
};
#define IO_DEFAULT_MASK ((1u << IO_READ) | (1u << IO_WRITE) | \
                         (1u << IO_WRITE_ZEROES) | (1u << IO_DISCARD) | \
                         (1u << IO_FLUSH))

/* The option groups: one rule each. */
enum { ACTION_INJECT_ERROR, ACTION_SET_STATE, ACTION_SUSPEND };
static const char *const group_names[] = { "inject-error", "set-state" };
static const char *const inject_keys[] = {
    "event", "state", "iotype", "errno", "sector", "once", "immediately",
    NULL,
};
static const char *const set_state_keys[] = {
    "event", "state", "new_state", NULL,
};

typedef struct BlkdebugRule {
    BlkdebugEvent event;
    int action;
    uint64_t state;                 /* 0: in every state */
    /* inject-error */
    int error;
    bool once;
    bool immediately;
    int64_t offset;                 /* -1: any */
    unsigned iotype_mask;
    /* set-state */
    uint64_t new_state;
    /* suspend (a breakpoint) */
    char *tag;
    QTAILQ_ENTRY(BlkdebugRule) next;        /* in rules[event] */
    QTAILQ_ENTRY(BlkdebugRule) active_next; /* in active, if there */
} BlkdebugRule;

/* A request stopped at a breakpoint. */
typedef struct BlkdebugSuspended {
    Coroutine *co;
    char *tag;
    QTAILQ_ENTRY(BlkdebugSuspended) next;
} BlkdebugSuspended;

typedef struct BDRVBlkdebugState {
    BdrvChild *image;
    char *config_file;
    uint64_t state;
    uint64_t align, max_transfer, opt_write_zero, max_write_zero;
    uint64_t opt_discard, max_discard;
    QTAILQ_HEAD(, BlkdebugRule) rules[BLKDBG__MAX];
    QTAILQ_HEAD(, BlkdebugRule) active;
    QTAILQ_HEAD(, BlkdebugSuspended) suspended;
} BDRVBlkdebugState;

/* 7.2's number options; a negative one is refused, not wrapped around */
static bool take_number(QDict *group, const char *key, uint64_t def,
                        uint64_t *val, Error **errp)
{
    const char *s = qdict_get_try_str(group, key);

    *val = def;
    if (s && (!*s || *s == '-')) {
        error_setg(errp, "Parameter '%s' expects a number", key);
        return false;
    }
    return bdrv_opt_take_number(group, key, val, NULL, errp);
}

static int lookup(const char *const *names, int n, const char *s)
{
    int i;

    for (i = 0; i < n; i++) {
        if (!strcmp(names[i], s)) {
            return i;
        }
    }
    return -1;
}

/*
 * One rule from @group (its keys without prefix; consumed).  Rules for an
 * event are kept newest first, as 7.2 keeps them.
 */
static bool add_rule(BDRVBlkdebugState *s, int action, QDict *group,
                     Error **errp)
{
    const char *const *keys = action == ACTION_INJECT_ERROR ?
                              inject_keys : set_state_keys;
    g_autofree char *event = NULL;
    g_autofree char *iotype = NULL;
    g_autofree BlkdebugRule *rule = g_new0(BlkdebugRule, 1);
    uint64_t error, sector;
    size_t i;
    int ev;

    for (i = 0; i < qdict_size(group); i++) {
        const char *key = qdict_key_at(group, i);
        int k;

        for (k = 0; keys[k] && strcmp(keys[k], key); k++) {
        }
        if (!keys[k]) {
            error_setg(errp, "[%s] section doesn't support the option '%s'",
                       group_names[action], key);
            return false;
        }
    }
    event = bdrv_opt_take_str(group, "event");
    if (!event) {
        error_setg(errp, "Missing event name for rule");
        return false;
    }
    ev = lookup(bdrv_debug_event_names, BLKDBG__MAX, event);
    if (ev < 0) {
        error_setg(errp, "invalid parameter value: %s", event);
        return false;
    }
    rule->event = ev;
    rule->action = action;
    if (!take_number(group, "state", 0, &rule->state, errp)) {
        return false;
    }
    if (action == ACTION_SET_STATE) {
        if (!take_number(group, "new_state", 0, &rule->new_state, errp)) {
            return false;
        }
    } else {
        if (!take_number(group, "errno", EIO, &error, errp) ||
            !take_number(group, "sector", UINT64_MAX, &sector, errp) ||
            !bdrv_opt_take_bool(group, "once", &rule->once, errp) ||
            !bdrv_opt_take_bool(group, "immediately", &rule->immediately,
                                errp)) {
            return false;
        }
        rule->error = (int)MIN(error, (uint64_t)INT_MAX);
        rule->offset = sector == UINT64_MAX || sector > INT64_MAX / 512 ?
                       -1 : (int64_t)sector * BDRV_SECTOR_SIZE;
        iotype = bdrv_opt_take_str(group, "iotype");
        rule->iotype_mask = IO_DEFAULT_MASK;
        if (iotype) {
            int t = lookup(iotype_names, IO__MAX, iotype);

            if (t < 0) {
                error_setg(errp, "invalid parameter value: %s", iotype);
                return false;
            }
            rule->iotype_mask = 1u << t;
        }
    }
    QTAILQ_INSERT_HEAD(&s->rules[ev], rule, next);
    rule = NULL;
    return true;
}

static void remove_rule(BDRVBlkdebugState *s, BlkdebugRule *rule)
{
    if (QTAILQ_IN_USE(rule, active_next)) {
        QTAILQ_REMOVE(&s->active, rule, active_next);
    }
    QTAILQ_REMOVE(&s->rules[rule->event], rule, next);
    g_free(rule->tag);
    g_free(rule);
}

/*
 * A config file: "[inject-error]" and "[set-state]" sections of
 * 'key = "value"' lines; '#' starts a comment line.  Rules go to
 * @groups[action] in file order.
 */
static bool read_config(const char *path, GPtrArray *groups[2], Error **errp)
{
    FILE *f = fopen(path, "r");
    char line[1024];
    QDict *cur = NULL;
    bool ok = false;

    if (!f) {
        error_setg_errno(errp, errno, "Could not read blkdebug config file");
        return false;
    }
    while (fgets(line, sizeof(line), f)) {
        char key[64], value[1024], group[64];
        int action;

        if (line[0] == '\n' || line[0] == '#') {
            continue;
        }
        if (line[0] == '[' && sscanf(line, "[%63[^]]]", group) == 1) {
            action = lookup(group_names, 2, group);
            if (action < 0) {
                error_setg(errp, "There is no option group '%s'", group);
                goto out;
            }
            cur = qdict_new();
            g_ptr_array_add(groups[action], cur);
            continue;
        }
        value[0] = '\0';
        if (sscanf(line, " %63s = \"%1023[^\"]\"", key, value) == 2 ||
            sscanf(line, " %63s = \"\"", key) == 1) {
            if (!cur) {
                error_setg(errp, "no group defined");
                goto out;
            }
            qdict_put_str(cur, key, value);
            continue;
        }
        error_setg(errp, "parse error");
        goto out;
    }
    if (ferror(f)) {
        error_setg_errno(errp, errno, "Cannot read config file");
        goto out;
    }
    ok = true;
out:
    fclose(f);
    return ok;
}

static void unref_group(gpointer group)
{
    qobject_unref(group);
}

/* inject-error.N.* and set-state.N.* options, N = 0, 1, ... */
static void take_option_groups(QDict *options, GPtrArray *groups[2])
{
    int action;

    for (action = 0; action < 2; action++) {
        for (int n = 0;; n++) {
            g_autofree char *prefix =
                g_strdup_printf("%s.%d", group_names[action], n);
            QDict *sub = qdict_extract_subdict(options, prefix);

            if (!qdict_size(sub)) {
                qobject_unref(sub);
                break;
            }
            g_ptr_array_add(groups[action], sub);
        }
    }
}

static bool blkdebug_parse_filename(const char *filename, QDict *options,
                                    Error **errp)
{
    const char *rest, *colon;

    if (!g_str_has_prefix(filename, "blkdebug:")) {
        qdict_put_str(options, "x-image", filename);
        return true;
    }
    rest = filename + strlen("blkdebug:");
    colon = strchr(rest, ':');
    if (!colon) {
        error_setg(errp, "blkdebug requires both config file and image path");
        return false;
    }
    if (colon != rest) {
        g_autofree char *config = g_strndup(rest, colon - rest);
        qdict_put_str(options, "config", config);
    }
    qdict_put_str(options, "x-image", colon + 1);
    return true;
}

static void blkdebug_debug_event(BlockDriverState *bs, BlkdebugEvent event);

static bool check_limit(const char *name, uint64_t val, uint64_t align,
                        Error **errp)
{
    if (val && (val >= INT_MAX || val % align)) {
        error_setg(errp, "Cannot meet constraints with %s %" PRIu64, name,
                   val);
        return false;
    }
    return true;
}

static bool coroutine_fn blkdebug_co_open(BlockDriverState *bs,
                                          QDict *options, int flags,
                                          Error **errp)
{
    BDRVBlkdebugState *s = bs->opaque;
    g_autofree char *image = NULL;
    GPtrArray *groups[2];
    uint64_t align;
    bool ok = true;
    int i;

    for (i = 0; i < BLKDBG__MAX; i++) {
        QTAILQ_INIT(&s->rules[i]);
    }
    QTAILQ_INIT(&s->active);
    QTAILQ_INIT(&s->suspended);
    groups[0] = g_ptr_array_new_with_free_func(unref_group);
    groups[1] = g_ptr_array_new_with_free_func(unref_group);

    /* the node is named by x-image (the legacy syntax fills it) */
    g_free(bdrv_opt_take_str(options, "filename"));
    image = bdrv_opt_take_str(options, "x-image");
    s->config_file = bdrv_opt_take_str(options, "config");
    if (s->config_file && *s->config_file) {
        ok = read_config(s->config_file, groups, errp);
    }
    take_option_groups(options, groups);
    for (int a = 0; a < 2 && ok; a++) {
        for (i = 0; i < (int)groups[a]->len && ok; i++) {
            ok = add_rule(s, a, g_ptr_array_index(groups[a], i), errp);
        }
    }
    g_ptr_array_free(groups[0], true);
    g_ptr_array_free(groups[1], true);
    if (!ok) {
        return false;
    }
    s->state = 1;

    if (!bdrv_opt_take_size(options, "align", &s->align, NULL, errp) ||
        !bdrv_opt_take_size(options, "max-transfer", &s->max_transfer, NULL,
                            errp) ||
        !bdrv_opt_take_size(options, "opt-write-zero", &s->opt_write_zero,
                            NULL, errp) ||
        !bdrv_opt_take_size(options, "max-write-zero", &s->max_write_zero,
                            NULL, errp) ||
        !bdrv_opt_take_size(options, "opt-discard", &s->opt_discard, NULL,
                            errp) ||
        !bdrv_opt_take_size(options, "max-discard", &s->max_discard, NULL,
                            errp)) {
        return false;
    }

    s->image = bdrv_co_open_child(image, options, "image", bs,
                                  BDRV_CHILD_FILTERED | BDRV_CHILD_PRIMARY,
                                  flags | BDRV_O_PROTOCOL, errp);
    if (!s->image) {
        return false;
    }
    bs->supported_write_flags = s->image->bs->supported_write_flags &
                                BDRV_REQ_FUA;
    bs->supported_zero_flags = s->image->bs->supported_zero_flags &
                               (BDRV_REQ_FUA | BDRV_REQ_MAY_UNMAP |
                                BDRV_REQ_NO_FALLBACK);

    if (s->align && (s->align >= INT_MAX || !is_power_of_2(s->align))) {
        error_setg(errp, "Cannot meet constraints with align %" PRIu64,
                   s->align);
        return false;
    }
    align = MAX(s->align, s->image->bs->bl.request_alignment);
    if (!check_limit("max-transfer", s->max_transfer, align, errp) ||
        !check_limit("opt-write-zero", s->opt_write_zero, align, errp) ||
        !check_limit("max-write-zero", s->max_write_zero,
                     MAX(s->opt_write_zero, align), errp) ||
        !check_limit("opt-discard", s->opt_discard, align, errp) ||
        !check_limit("max-discard", s->max_discard,
                     MAX(s->opt_discard, align), errp)) {
        return false;
    }
    /* rules for event "none" are active from the start */
    blkdebug_debug_event(bs, BLKDBG_NONE);
    return true;
}

static void blkdebug_refresh_limits(BlockDriverState *bs)
{
    BDRVBlkdebugState *s = bs->opaque;

    if (s->align) {
        bs->bl.request_alignment = s->align;
    }
    if (s->max_transfer) {
        bs->bl.max_transfer = s->max_transfer;
    }
    if (s->opt_write_zero) {
        bs->bl.pwrite_zeroes_alignment = s->opt_write_zero;
    }
    if (s->max_write_zero) {
        bs->bl.max_pwrite_zeroes = s->max_write_zero;
    }
    if (s->opt_discard) {
        bs->bl.pdiscard_alignment = s->opt_discard;
    }
    if (s->max_discard) {
        bs->bl.max_pdiscard = s->max_discard;
    }
}

static void blkdebug_close(BlockDriverState *bs)
{
    BDRVBlkdebugState *s = bs->opaque;
    BlkdebugRule *rule, *tmp;
    int i;

    for (i = 0; i < BLKDBG__MAX; i++) {
        QTAILQ_FOREACH_SAFE(rule, &s->rules[i], next, tmp) {
            remove_rule(s, rule);
        }
    }
    g_free(s->config_file);
}

/* A request stopped @n times over: each resume enters it once. */
static void coroutine_fn wait_resumed(int n)
{
    while (n-- > 0) {
        qemu_coroutine_yield();
    }
}

/*
 * Events come from coroutines (requests) and from outside them (open);
 * breakpoints stop only the former.
 */
static void blkdebug_debug_event(BlockDriverState *bs, BlkdebugEvent event)
{
    BDRVBlkdebugState *s = bs->opaque;
    BlkdebugRule *rule, *next;
    uint64_t new_state = s->state;
    bool injected = false;
    int suspends = 0;

    QTAILQ_FOREACH_SAFE(rule, &s->rules[event], next, next) {
        if (rule->state && rule->state != s->state) {
            continue;
        }
        if (rule->action == ACTION_SET_STATE) {
            new_state = rule->new_state;
            continue;
        }
        if (rule->action == ACTION_SUSPEND) {
            BlkdebugSuspended *r;

            if (!qemu_in_coroutine()) {
                continue;       /* no request to stop: at open, say */
            }
            r = g_new0(BlkdebugSuspended, 1);
            r->co = qemu_coroutine_self();
            r->tag = g_steal_pointer(&rule->tag);
            remove_rule(s, rule);
            QTAILQ_INSERT_HEAD(&s->suspended, r, next);
            bdrv_message(BDRV_MSG_TRACE, "blkdebug: Suspended request '%s'",
                         r->tag);
            suspends++;
            continue;
        }
        if (!injected) {
            /* this event's rules replace the ones active so far */
            while (!QTAILQ_EMPTY(&s->active)) {
                BlkdebugRule *old = QTAILQ_FIRST(&s->active);
                QTAILQ_REMOVE(&s->active, old, active_next);
            }
            injected = true;
        }
        if (!QTAILQ_IN_USE(rule, active_next)) {
            QTAILQ_INSERT_HEAD(&s->active, rule, active_next);
        }
    }
    s->state = new_state;
    if (suspends) {
        wait_resumed(suspends);     /* only counted in a coroutine */
    }
}

static int blkdebug_debug_breakpoint(BlockDriverState *bs, const char *event,
                                     const char *tag)
{
    BDRVBlkdebugState *s = bs->opaque;
    BlkdebugRule *rule;
    int ev = lookup(bdrv_debug_event_names, BLKDBG__MAX, event);

    if (ev < 0) {
        return -ENOENT;
    }
    rule = g_new0(BlkdebugRule, 1);
    rule->event = ev;
    rule->action = ACTION_SUSPEND;
    rule->tag = g_strdup(tag);
    QTAILQ_INSERT_HEAD(&s->rules[ev], rule, next);
    return 0;
}

/*
 * Enter the first (or with @all every) request suspended under @tag;
 * whether there was one.
 */
static bool resume_by_tag(BDRVBlkdebugState *s, const char *tag, bool all)
{
    BlkdebugSuspended *r;
    bool resumed = false;

again:
    QTAILQ_FOREACH(r, &s->suspended, next) {
        if (!strcmp(r->tag, tag)) {
            Coroutine *co = r->co;

            bdrv_message(BDRV_MSG_TRACE, "blkdebug: Resuming request '%s'",
                         r->tag);
            QTAILQ_REMOVE(&s->suspended, r, next);
            g_free(r->tag);
            g_free(r);
            resumed = true;
            /* the list may change while the request runs: start over */
            qemu_coroutine_enter(co);
            if (all) {
                goto again;
            }
            break;
        }
    }
    return resumed;
}

static int blkdebug_debug_resume(BlockDriverState *bs, const char *tag)
{
    return resume_by_tag(bs->opaque, tag, false) ? 0 : -ENOENT;
}

/*
 * Drop the breakpoints tagged @tag and resume what they stopped.  As in
 * 7.2, only a breakpoint that had not fired yet makes it a success.
 */
static int blkdebug_debug_remove_breakpoint(BlockDriverState *bs,
                                            const char *tag)
{
    BDRVBlkdebugState *s = bs->opaque;
    BlkdebugRule *rule, *next;
    int i, ret = -ENOENT;

    for (i = 0; i < BLKDBG__MAX; i++) {
        QTAILQ_FOREACH_SAFE(rule, &s->rules[i], next, next) {
            if (rule->action == ACTION_SUSPEND && !strcmp(rule->tag, tag)) {
                remove_rule(s, rule);
                ret = 0;
            }
        }
    }
    resume_by_tag(s, tag, true);
    return ret;
}

static bool blkdebug_debug_is_suspended(BlockDriverState *bs,
                                        const char *tag)
{
    BDRVBlkdebugState *s = bs->opaque;
    BlkdebugSuspended *r;

    QTAILQ_FOREACH(r, &s->suspended, next) {
        if (!strcmp(r->tag, tag)) {
            return true;
        }
    }
    return false;
}

/* The error a request gets from the active rules, or 0. */
static int rule_check(BDRVBlkdebugState *s, int64_t offset, int64_t bytes,
                      int iotype)
{
    BlkdebugRule *rule;
    int error;

    QTAILQ_FOREACH(rule, &s->active, active_next) {
        if ((rule->offset == -1 ||
             (bytes && rule->offset >= offset &&
              rule->offset < offset + bytes)) &&
            (rule->iotype_mask & (1u << iotype))) {
            break;
        }
    }
    if (!rule || !rule->error) {
        return 0;
    }
    error = rule->error;
    if (rule->once) {
        remove_rule(s, rule);
    }
    return -error;
}

static int coroutine_fn blkdebug_co_preadv(BlockDriverState *bs,
                                           int64_t offset, int64_t bytes,
                                           QEMUIOVector *qiov,
                                           BdrvRequestFlags flags)
{
    BDRVBlkdebugState *s = bs->opaque;
    int ret = rule_check(s, offset, bytes, IO_READ);

    return ret ? ret : bdrv_co_preadv(s->image, offset, bytes, qiov, flags);
}

static int coroutine_fn blkdebug_co_pwritev(BlockDriverState *bs,
                                            int64_t offset, int64_t bytes,
                                            QEMUIOVector *qiov,
                                            BdrvRequestFlags flags)
{
    BDRVBlkdebugState *s = bs->opaque;
    int ret = rule_check(s, offset, bytes, IO_WRITE);

    return ret ? ret : bdrv_co_pwritev(s->image, offset, bytes, qiov, flags);
}

/*
 * Requests smaller than the preferred zero alignment are refused with
 * -ENOTSUP, as 7.2 does, so that the block layer's fallback to writing
 * zeroes as data is what runs for them.
 */
static int coroutine_fn blkdebug_co_pwrite_zeroes(BlockDriverState *bs,
                                                  int64_t offset,
                                                  int64_t bytes,
                                                  BdrvRequestFlags flags)
{
    BDRVBlkdebugState *s = bs->opaque;
    uint32_t align = MAX(bs->bl.request_alignment,
                         bs->bl.pwrite_zeroes_alignment);
    int ret;

    if (bytes < align) {
        return -ENOTSUP;
    }
    ret = rule_check(s, offset, bytes, IO_WRITE_ZEROES);
    return ret ? ret : bdrv_co_pwrite_zeroes(s->image, offset, bytes, flags);
}

static int coroutine_fn blkdebug_co_pdiscard(BlockDriverState *bs,
                                             int64_t offset, int64_t bytes)
{
    BDRVBlkdebugState *s = bs->opaque;
    int ret;

    if (bytes < bs->bl.request_alignment) {
        return -ENOTSUP;
    }
    ret = rule_check(s, offset, bytes, IO_DISCARD);
    return ret ? ret : bdrv_co_pdiscard(s->image, offset, bytes);
}

/*
 * The node below is flushed after this, by the block layer; as in 7.2,
 * only when something was written since the last flush.
 */
static int coroutine_fn blkdebug_co_flush(BlockDriverState *bs)
{
    return rule_check(bs->opaque, 0, 0, IO_FLUSH);
}

static int coroutine_fn blkdebug_co_block_status(BlockDriverState *bs,
                                                 bool want_zero,
                                                 int64_t offset,
                                                 int64_t bytes, int64_t *pnum,
                                                 int64_t *map,
                                                 BlockDriverState **file)
{
    BDRVBlkdebugState *s = bs->opaque;
    int ret = rule_check(s, offset, bytes, IO_BLOCK_STATUS);

    if (ret) {
        return ret;
    }
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
    .parse_filename = blkdebug_parse_filename,
    .co_open = blkdebug_co_open,
    .close = blkdebug_close,
    .refresh_limits = blkdebug_refresh_limits,
    .is_filter = true,
    .debug_event = blkdebug_debug_event,
    .debug_breakpoint = blkdebug_debug_breakpoint,
    .debug_remove_breakpoint = blkdebug_debug_remove_breakpoint,
    .debug_resume = blkdebug_debug_resume,
    .debug_is_suspended = blkdebug_debug_is_suspended,
    .co_preadv = blkdebug_co_preadv,
    .co_pwritev = blkdebug_co_pwritev,
    .co_pwrite_zeroes = blkdebug_co_pwrite_zeroes,
    .co_pdiscard = blkdebug_co_pdiscard,
    .co_flush_to_disk = blkdebug_co_flush,
    .co_block_status = blkdebug_co_block_status,
    .co_truncate = blkdebug_co_truncate,
    .co_getlength = blkdebug_co_getlength,
};
