/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QMP monitors on character devices, as 7.2's daemon runs them.
 *
 * A character device is stdio or a socket: a server (listening; one
 * client at a time, the next waits in the listen queue) or a client.
 * Each connection gets the greeting, then must negotiate capabilities.
 * Bytes go through a JsonStream; each message is queued, and one
 * dispatcher coroutine per monitor runs the queue in order (reading
 * stops while 8 wait, as 7.2's).  Replies and events are buffered and
 * written as the socket takes them: a client that does not read slows
 * only its own monitor.  A client that leaves mid-command loses only the
 * reply.
 */
#include "util/osdep.h"
#include "qmp.h"
#include "util/secret.h"
#include "block/block.h"
#include "block/driver.h"
#include "util/aio.h"
#include "util/json.h"
#include "util/json-stream.h"
#include "util/sockets.h"
#include "util/keyval.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>

#define QMP_MAX_QUEUED 8

typedef struct Monitor Monitor;

typedef struct Chardev {
    char *id;
    bool stdio;
    bool server;
    char *unix_path;            /* a server's socket, removed at the end */
    int listen_fd;
    int in_fd, out_fd;          /* the connection, -1 when none */
    Monitor *mon;
} Chardev;

typedef struct QmpRequest {
    QObject *obj;
    Error *err;
} QmpRequest;

struct Monitor {
    Chardev *chr;
    bool pretty;
    bool negotiated;
    bool oob;                   /* the client enabled the oob capability */
    uint64_t conn_gen;          /* which connection a reply is for */
    JsonStream *js;
    GQueue queue;               /* QmpRequest */
    bool dispatching;
    bool reading;
    GString *out;
    bool want_write;
};

static GPtrArray *chardevs;
static GPtrArray *monitors;
static QmpCommandFilter *command_filter;

static const char *const error_class_names[] = {
    [QMP_ERROR_GENERIC] = "GenericError",
    [QMP_ERROR_COMMAND_NOT_FOUND] = "CommandNotFound",
    [QMP_ERROR_DEVICE_NOT_ACTIVE] = "DeviceNotActive",
    [QMP_ERROR_DEVICE_NOT_FOUND] = "DeviceNotFound",
};

static void mon_update_handlers(Monitor *mon);

/* {"qemu": {"major": 7, ...}, "package": ...} as query-version's */
static QObject *qmp_version(void)
{
    g_auto(GStrv) parts = g_strsplit(QEMU_VERSION, ".", 3);
    QDict *v = qdict_new();
    QDict *q = qdict_new();

    qdict_put_int(q, "micro", parts[1] && parts[2] ? atoi(parts[2]) : 0);
    qdict_put_int(q, "minor", parts[1] ? atoi(parts[1]) : 0);
    qdict_put_int(q, "major", atoi(parts[0]));
    qdict_put_obj(v, "qemu", q);
    qdict_put_str(v, "package", "qemu-block-tools");
    return v;
}

/* ---- output ---- */

static void mon_flush(Monitor *mon)
{
    Chardev *chr = mon->chr;

    while (mon->out->len && chr->out_fd >= 0) {
        ssize_t n = write(chr->out_fd, mon->out->str, mon->out->len);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && errno == EAGAIN) {
            break;
        }
        if (n <= 0) {
            /* the peer is gone: reading notices and disconnects */
            g_string_truncate(mon->out, 0);
            break;
        }
        g_string_erase(mon->out, 0, n);
    }
    mon_update_handlers(mon);
}

static void mon_send(Monitor *mon, QObject *obj)
{
    if (mon->chr->out_fd < 0) {
        return;
    }
    json_write(mon->out, obj,
               JSON_QEMU_ORDER | (mon->pretty ? JSON_PRETTY : 0), 0);
    g_string_append_c(mon->out, '\n');
    mon_flush(mon);
}

static QDict *error_dict(QmpErrorClass cls, const char *desc)
{
    QDict *e = qdict_new();
    QDict *r = qdict_new();

    qdict_put_str(e, "class", error_class_names[cls]);
    qdict_put_str(e, "desc", desc);
    qdict_put_obj(r, "error", e);
    return r;
}

static void mon_send_error(Monitor *mon, QmpErrorClass cls, const char *desc,
                           QObject *id)
{
    g_autoptr(QObject) r = error_dict(cls, desc);

    if (id) {
        qdict_put_obj(r, "id", qobject_ref(id));
    }
    mon_send(mon, r);
}

void qmp_send_event(const char *event, QDict *data)
{
    g_autoptr(QObject) ev = qdict_new();
    QDict *ts = qdict_new();
    gint64 now = g_get_real_time();
    guint i;

    qdict_put_int(ts, "seconds", now / G_USEC_PER_SEC);
    qdict_put_int(ts, "microseconds", now % G_USEC_PER_SEC);
    qdict_put_obj(ev, "timestamp", ts);
    qdict_put_str(ev, "event", event);
    if (data) {
        qdict_put_obj(ev, "data", data);
    }
    for (i = 0; monitors && i < monitors->len; i++) {
        Monitor *mon = monitors->pdata[i];

        if (mon->negotiated) {
            mon_send(mon, ev);
        }
    }
}

static void mon_greet(Monitor *mon)
{
    g_autoptr(QObject) g = qdict_new();
    QDict *qmp = qdict_new();
    QList *caps = qlist_new();
    QObject *ver = qmp_version();

    qlist_append(caps, qstring_new("oob"));
    qdict_put_obj(qmp, "version", ver);
    qdict_put_obj(qmp, "capabilities", caps);
    qdict_put_obj(g, "QMP", qmp);
    mon_send(mon, g);
}

/* ---- dispatch ---- */

static const QmpCommand *find_command(const char *name);

/* 7.2's checks of the request object; the command name, or NULL. */
static const char *check_request(Monitor *mon, QDict *req, bool *oob,
                                 Error **errp)
{
    const char *name = NULL;
    size_t i;

    for (i = 0; i < qdict_size(req); i++) {
        const char *key = qdict_key_at(req, i);
        QObject *v = qdict_value_at(req, i);

        if (!strcmp(key, "execute") ||
            (!strcmp(key, "exec-oob") && mon->oob)) {
            if (qobject_type(v) != QTYPE_STRING) {
                error_setg(errp, "QMP input member '%s' must be a string",
                           key);
                return NULL;
            }
            if (name) {
                error_setg(errp, "QMP input must not contain both 'execute' "
                           "and 'exec-oob'");
                return NULL;
            }
            name = qstring_get(v);
            *oob = key[4] == '-';
        } else if (!strcmp(key, "arguments")) {
            if (qobject_type(v) != QTYPE_DICT) {
                error_setg(errp, "QMP input member 'arguments' must be an "
                           "object");
                return NULL;
            }
        } else if (strcmp(key, "id")) {
            error_setg(errp, "QMP input member '%s' is unexpected", key);
            return NULL;
        }
    }
    if (!name) {
        error_setg(errp, "QMP input lacks member 'execute'");
    }
    return name;
}

static void coroutine_fn qmp_capabilities(Monitor *mon, QDict *args,
                                          Error **errp)
{
    QList *enable;
    size_t i;

    if (!qmp_check_args(args, "?enable:a", errp)) {
        return;
    }
    enable = (QList *)qdict_get(args, "enable");
    for (i = 0; enable && i < qlist_size(enable); i++) {
        QObject *cap = qlist_at(enable, i);

        if (qobject_type(cap) != QTYPE_STRING) {
            error_setg(errp, "Invalid parameter type for 'enable[%zu]', "
                       "expected: string", i);
            return;
        }
        if (strcmp(qstring_get(cap), "oob")) {
            error_setg(errp, "Parameter 'enable[%zu]' does not accept value "
                       "'%s'", i, qstring_get(cap));
            return;
        }
    }
    mon->negotiated = true;
    mon->oob = enable && qlist_size(enable) > 0;
}

static void coroutine_fn mon_handle(Monitor *mon, QmpRequest *r,
                                    uint64_t gen)
{
    g_autoptr(Error) err = NULL;
    g_autoptr(QObject) args = NULL;
    g_autoptr(QObject) ret = NULL;
    QObject *id = NULL;
    const QmpCommand *cmd;
    const char *name;
    bool oob = false;

    if (r->err) {
        mon_send_error(mon, QMP_ERROR_GENERIC, error_get_pretty(r->err), NULL);
        return;
    }
    if (qobject_type(r->obj) != QTYPE_DICT) {
        mon_send_error(mon, QMP_ERROR_GENERIC, "QMP input must be a JSON object", NULL);
        return;
    }
    id = qdict_get(r->obj, "id");
    name = check_request(mon, r->obj, &oob, &err);
    if (!name) {
        mon_send_error(mon, QMP_ERROR_GENERIC, error_get_pretty(err), id);
        return;
    }
    cmd = find_command(name);
    if (!cmd && strcmp(name, "qmp_capabilities")) {
        g_autofree char *msg = g_strdup_printf("The command %s has not been "
                                               "found", name);
        mon_send_error(mon, QMP_ERROR_COMMAND_NOT_FOUND, msg, id);
        return;
    }
    if (oob) {
        g_autofree char *msg = g_strdup_printf("The command %s does not "
                                               "support OOB", name);
        mon_send_error(mon, QMP_ERROR_GENERIC, msg, id);
        return;
    }
    if (!mon->negotiated && strcmp(name, "qmp_capabilities")) {
        mon_send_error(mon, QMP_ERROR_COMMAND_NOT_FOUND,
                       "Expecting capabilities negotiation with "
                       "'qmp_capabilities'", id);
        return;
    }
    if (mon->negotiated && !strcmp(name, "qmp_capabilities")) {
        mon_send_error(mon, QMP_ERROR_COMMAND_NOT_FOUND,
                       "Capabilities negotiation is already complete, "
                       "command ignored", id);
        return;
    }
    args = qdict_get(r->obj, "arguments") ?
           qobject_ref(qdict_get(r->obj, "arguments")) : qdict_new();
    if (!cmd) {
        qmp_capabilities(mon, args, &err);
    } else if (command_filter && !command_filter(name, (QDict *)args)) {
        error_setg(&err, "The command %s is not allowed here", name);
    } else {
        cmd->fn(args, &ret, &err);
    }
    if (gen != mon->conn_gen) {
        return;                 /* the client left meanwhile */
    }
    if (err) {
        mon_send_error(mon, error_get_class(err), error_get_pretty(err), id);
    } else {
        g_autoptr(QObject) reply = qdict_new();

        qdict_put_obj(reply, "return", ret ? g_steal_pointer(&ret)
                                           : qdict_new());
        if (id) {
            qdict_put_obj(reply, "id", qobject_ref(id));
        }
        mon_send(mon, reply);
    }
}

static void qmp_request_free(QmpRequest *r)
{
    qobject_unref(r->obj);
    error_free(r->err);
    g_free(r);
}

static void coroutine_fn mon_dispatch(void *opaque)
{
    Monitor *mon = opaque;
    QmpRequest *r;

    while ((r = g_queue_pop_head(&mon->queue))) {
        uint64_t gen = mon->conn_gen;

        mon_update_handlers(mon);
        mon_handle(mon, r, gen);
        qmp_request_free(r);
        if (qsd_quit_requested) {
            qsd_wake_main();
        }
    }
    mon->dispatching = false;
    mon_update_handlers(mon);
}

static void mon_emit(void *opaque, QObject *obj, Error *err)
{
    Monitor *mon = opaque;
    QmpRequest *r = g_new0(QmpRequest, 1);

    r->obj = obj;
    r->err = err;
    g_queue_push_tail(&mon->queue, r);
    if (!mon->dispatching) {
        mon->dispatching = true;
        aio_co_schedule(qemu_get_aio_context(),
                        qemu_coroutine_create(mon_dispatch, mon));
    }
}

/* ---- connections ---- */

static void chr_accept(void *opaque);

static void mon_disconnect(Monitor *mon)
{
    Chardev *chr = mon->chr;
    QmpRequest *r;

    aio_set_fd_handler(qemu_get_aio_context(), chr->in_fd, NULL, NULL, NULL);
    if (chr->out_fd != chr->in_fd && chr->out_fd >= 0) {
        aio_set_fd_handler(qemu_get_aio_context(), chr->out_fd, NULL, NULL,
                           NULL);
    }
    if (!chr->stdio) {
        close(chr->in_fd);
    }
    chr->in_fd = chr->out_fd = -1;
    mon->conn_gen++;
    mon->negotiated = false;
    mon->oob = false;
    json_stream_reset(mon->js);
    /* what was not started is dropped with the connection */
    while ((r = g_queue_pop_head(&mon->queue))) {
        qmp_request_free(r);
    }
    g_string_truncate(mon->out, 0);
    mon->reading = mon->want_write = false;
    if (chr->server && chr->listen_fd >= 0) {
        aio_set_fd_handler(qemu_get_aio_context(), chr->listen_fd,
                           chr_accept, NULL, chr);
    }
}

static void mon_read(void *opaque)
{
    Monitor *mon = opaque;
    char buf[4096];
    ssize_t n;

    n = read(mon->chr->in_fd, buf, sizeof(buf));
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
        return;
    }
    if (n <= 0) {
        mon_disconnect(mon);
        return;
    }
    json_stream_feed(mon->js, buf, n);
    mon_update_handlers(mon);
}

static void mon_write(void *opaque)
{
    mon_flush(opaque);
}

static void mon_update_handlers(Monitor *mon)
{
    Chardev *chr = mon->chr;
    AioContext *ctx = qemu_get_aio_context();
    bool reading = chr->in_fd >= 0 &&
                   g_queue_get_length(&mon->queue) < QMP_MAX_QUEUED;
    bool writing = chr->out_fd >= 0 && mon->out->len > 0;

    if (reading == mon->reading && writing == mon->want_write) {
        return;
    }
    mon->reading = reading;
    mon->want_write = writing;
    if (chr->in_fd == chr->out_fd) {
        if (chr->in_fd >= 0) {
            aio_set_fd_handler(ctx, chr->in_fd, reading ? mon_read : NULL,
                               writing ? mon_write : NULL, mon);
        }
        return;
    }
    if (chr->in_fd >= 0) {
        aio_set_fd_handler(ctx, chr->in_fd, reading ? mon_read : NULL, NULL,
                           mon);
    }
    if (chr->out_fd >= 0) {
        aio_set_fd_handler(ctx, chr->out_fd, NULL, writing ? mon_write : NULL,
                           mon);
    }
}

static void mon_connected(Monitor *mon, int in_fd, int out_fd)
{
    Chardev *chr = mon->chr;

    chr->in_fd = in_fd;
    chr->out_fd = out_fd;
    mon->reading = mon->want_write = false;
    mon_greet(mon);
    mon_update_handlers(mon);
}

static void chr_accept(void *opaque)
{
    Chardev *chr = opaque;
    int fd = accept4(chr->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

    if (fd < 0) {
        return;
    }
    if (!chr->mon) {
        close(fd);              /* a character device no monitor uses */
        return;
    }
    /* one client at a time: the next one waits in the listen queue */
    aio_set_fd_handler(qemu_get_aio_context(), chr->listen_fd, NULL, NULL,
                       NULL);
    mon_connected(chr->mon, fd, fd);
}

/* ---- character devices ---- */

static Chardev *find_chardev(const char *id)
{
    guint i;

    for (i = 0; chardevs && i < chardevs->len; i++) {
        Chardev *chr = chardevs->pdata[i];

        if (!strcmp(chr->id, id)) {
            return chr;
        }
    }
    return NULL;
}

static int connect_unix(const char *path, Error **errp)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    int fd;

    if (strlen(path) >= sizeof(sun.sun_path)) {
        error_setg(errp, "UNIX socket path '%s' is too long", path);
        return -1;
    }
    strcpy(sun.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
        error_setg_errno(errp, errno, "Failed to connect to '%s'", path);
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    return fd;
}

bool qmp_add_chardev(QDict *opts, Error **errp)
{
    g_autofree char *backend = bdrv_opt_take_str(opts, "backend");
    g_autofree char *id = bdrv_opt_take_str(opts, "id");
    g_autofree char *path = bdrv_opt_take_str(opts, "path");
    g_autofree char *host = bdrv_opt_take_str(opts, "host");
    g_autofree char *port = bdrv_opt_take_str(opts, "port");
    bool server = false, wait = true;
    Chardev *chr;

    if (!id) {
        error_setg(errp, "chardev: no id specified");
        return false;
    }
    if (!backend) {
        error_setg(errp, "chardev: \"%s\" missing backend", id);
        return false;
    }
    if (!bdrv_opt_take_bool(opts, "server", &server, errp) ||
        !bdrv_opt_take_bool(opts, "wait", &wait, errp)) {
        return false;
    }
    if (qdict_size(opts)) {
        error_setg(errp, "Invalid parameter '%s'", qdict_key_at(opts, 0));
        return false;
    }
    if (find_chardev(id)) {
        error_setg(errp, "attempt to add duplicate property '%s' to object "
                   "(type 'container')", id);
        return false;
    }
    chr = g_new0(Chardev, 1);
    chr->listen_fd = chr->in_fd = chr->out_fd = -1;
    if (!strcmp(backend, "stdio")) {
        chr->stdio = true;
    } else if (!strcmp(backend, "socket")) {
        if (!path && !port) {
            error_setg(errp, "chardev: socket: no host given");
            g_free(chr);
            return false;
        }
        if (server && wait) {
            /* 7.2 would block here for a client: no daemon wants that */
            error_setg(errp, "'wait' option is incompatible with socket in "
                       "server listening mode");
            g_free(chr);
            return false;
        }
        chr->server = server;
        if (server) {
            chr->listen_fd = path ? socket_listen_unix(path, 1, errp)
                                  : socket_listen_tcp(host ? host : "0.0.0.0",
                                                      port, 1, errp);
            if (chr->listen_fd < 0) {
                g_free(chr);
                return false;
            }
            chr->unix_path = g_strdup(path);
        } else {
            int fd;

            if (!path) {
                error_setg(errp, "chardev: socket client mode needs path=");
                g_free(chr);
                return false;
            }
            fd = connect_unix(path, errp);
            if (fd < 0) {
                g_free(chr);
                return false;
            }
            fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
            chr->in_fd = chr->out_fd = fd;
        }
    } else {
        error_setg(errp, "'%s' is not a valid char driver name", backend);
        g_free(chr);
        return false;
    }
    chr->id = g_steal_pointer(&id);
    if (!chardevs) {
        chardevs = g_ptr_array_new();
    }
    g_ptr_array_add(chardevs, chr);
    return true;
}

void qmp_set_command_filter(QmpCommandFilter *filter)
{
    command_filter = filter;
}

void qmp_add_monitor_fd(int fd)
{
    Chardev *chr = g_new0(Chardev, 1);
    Error *err = NULL;

    chr->id = g_strdup_printf("fd%d", fd);
    chr->listen_fd = chr->in_fd = chr->out_fd = -1;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    chr->in_fd = chr->out_fd = fd;
    if (!chardevs) {
        chardevs = g_ptr_array_new();
    }
    g_ptr_array_add(chardevs, chr);
    qmp_add_monitor(chr->id, false, &err);
    assert(!err);
}

bool qmp_monitors_busy(void)
{
    guint i;

    for (i = 0; monitors && i < monitors->len; i++) {
        Monitor *mon = monitors->pdata[i];

        if (mon->dispatching || mon->chr->in_fd >= 0) {
            return true;
        }
    }
    return false;
}

bool qmp_add_monitor(const char *chardev, bool pretty, Error **errp)
{
    Chardev *chr = find_chardev(chardev);
    Monitor *mon;

    if (!chr) {
        error_setg(errp, "chardev \"%s\" not found", chardev);
        return false;
    }
    if (chr->mon) {
        error_setg(errp, "Chardev '%s' is busy", chardev);
        return false;
    }
    mon = g_new0(Monitor, 1);
    mon->chr = chr;
    mon->pretty = pretty;
    mon->js = json_stream_new(mon_emit, mon);
    mon->out = g_string_new(NULL);
    g_queue_init(&mon->queue);
    chr->mon = mon;
    if (!monitors) {
        monitors = g_ptr_array_new();
    }
    g_ptr_array_add(monitors, mon);
    if (chr->stdio) {
        mon_connected(mon, STDIN_FILENO, STDOUT_FILENO);
    } else if (chr->server) {
        aio_set_fd_handler(qemu_get_aio_context(), chr->listen_fd,
                           chr_accept, NULL, chr);
    } else {
        mon_connected(mon, chr->in_fd, chr->out_fd);
    }
    return true;
}

void qmp_cleanup(void)
{
    guint i;

    for (i = 0; chardevs && i < chardevs->len; i++) {
        Chardev *chr = chardevs->pdata[i];
        Monitor *mon = chr->mon;

        if (mon) {
            /* the last replies go out before the end */
            if (chr->out_fd >= 0 && mon->out->len) {
                int fl = fcntl(chr->out_fd, F_GETFL);

                fcntl(chr->out_fd, F_SETFL, fl & ~O_NONBLOCK);
                mon_flush(mon);
            }
            if (chr->in_fd >= 0) {
                mon_disconnect(mon);
            }
            json_stream_free(mon->js);
            g_string_free(mon->out, true);
            g_free(mon);
        }
        if (chr->listen_fd >= 0) {
            aio_set_fd_handler(qemu_get_aio_context(), chr->listen_fd, NULL,
                               NULL, NULL);
            close(chr->listen_fd);
        }
        if (chr->unix_path) {
            unlink(chr->unix_path);
        }
        g_free(chr->unix_path);
        g_free(chr->id);
        g_free(chr);
    }
    g_clear_pointer(&chardevs, g_ptr_array_unref);
    g_clear_pointer(&monitors, g_ptr_array_unref);
}

/* ---- argument checks ---- */

static const char *type_name(char t)
{
    switch (t) {
    case 's': return "string";
    case 'i': return "integer";
    case 'b': return "boolean";
    case 'o': return "object";
    case 'a': return "array";
    case 'n': return "number";
    default: return "value";
    }
}

static bool type_ok(QObject *v, char t)
{
    switch (t) {
    case 's': return qobject_type(v) == QTYPE_STRING;
    case 'i': return qobject_type(v) == QTYPE_INT;
    case 'b': return qobject_type(v) == QTYPE_BOOL;
    case 'o': return qobject_type(v) == QTYPE_DICT;
    case 'a': return qobject_type(v) == QTYPE_LIST;
    case 'n': return qobject_type(v) == QTYPE_INT ||
                     qobject_type(v) == QTYPE_NUM;
    default: return true;
    }
}

bool qmp_check_args(QDict *args, const char *spec, Error **errp)
{
    return qmp_check_args_at(args, spec, NULL, errp);
}

bool qmp_check_args_at(QDict *args, const char *spec, const char *at,
                       Error **errp)
{
    g_auto(GStrv) members = g_strsplit(spec, " ", -1);
    const char *dot = at ? "." : "";
    bool any_other = strstr(spec, "?*") != NULL;
    size_t i, j;

    for (i = 0; members[i]; i++) {
        const char *m = members[i];
        bool optional = *m == '?';
        g_autofree char *name = g_strndup(m + optional,
                                          strcspn(m + optional, ":"));
        char t = strchr(m, ':') ? strchr(m, ':')[1] : '*';
        QObject *v;

        if (!*name || !strcmp(name, "*")) {
            continue;           /* "?*": other members are checked later */
        }
        v = qdict_get(args, name);
        if (!v) {
            if (!optional) {
                error_setg(errp, "Parameter '%s%s%s' is missing",
                           at ? at : "", dot, name);
                return false;
            }
            continue;
        }
        if (!type_ok(v, t)) {
            error_setg(errp, "Invalid parameter type for '%s%s%s', "
                       "expected: %s", at ? at : "", dot, name, type_name(t));
            return false;
        }
    }
    for (j = 0; j < qdict_size(args) && !any_other; j++) {
        const char *key = qdict_key_at(args, j);
        bool known = false;

        for (i = 0; members[i] && !known; i++) {
            const char *m = members[i] + (members[i][0] == '?');
            size_t n = strcspn(m, ":");

            known = strlen(key) == n && !strncmp(m, key, n);
        }
        if (!known) {
            error_setg(errp, "Parameter '%s%s%s' is unexpected",
                       at ? at : "", dot, key);
            return false;
        }
    }
    return true;
}

const char *qmp_str(QDict *args, const char *name)
{
    QObject *v = qdict_get(args, name);

    return v && qobject_type(v) == QTYPE_STRING ? qstring_get(v) : NULL;
}

int64_t qmp_int(QDict *args, const char *name, int64_t def)
{
    QObject *v = qdict_get(args, name);

    return v && qobject_type(v) == QTYPE_INT ? qint_get(v) : def;
}

bool qmp_bool(QDict *args, const char *name, bool def)
{
    QObject *v = qdict_get(args, name);

    return v && qobject_type(v) == QTYPE_BOOL ? qbool_get(v) : def;
}

int qmp_enum(QDict *args, const char *name, const char *const *values,
             int def, Error **errp)
{
    const char *v = qmp_str(args, name);
    int i;

    if (!v) {
        return def;
    }
    for (i = 0; values[i]; i++) {
        if (!strcmp(values[i], v)) {
            return i;
        }
    }
    error_setg(errp, "Parameter '%s' does not accept value '%s'", name, v);
    return -1;
}

/* ---- the command table ---- */

static void coroutine_fn qmp_query_version(QDict *args, QObject **ret,
                                           Error **errp)
{
    if (qmp_check_args(args, "", errp)) {
        *ret = qmp_version();
    }
}

static void coroutine_fn qmp_quit(QDict *args, QObject **ret, Error **errp)
{
    if (qmp_check_args(args, "", errp)) {
        qsd_quit_requested = true;
    }
}

/* 7.2's daemon's commands in the order its query-commands lists them */
static const char *const qmp_7_2_order[] = {
    "transaction", "object-del", "object-add", "qom-list-properties",
    "qom-list-types", "qom-set", "qom-get", "qom-list", "query-qmp-schema",
    "quit", "query-commands", "query-version", "qmp_capabilities",
    "chardev-send-break", "chardev-remove", "chardev-change", "chardev-add",
    "ringbuf-read", "ringbuf-write", "query-chardev-backends",
    "query-chardev", "query-block-exports", "block-export-del",
    "block-export-add", "nbd-server-stop", "nbd-server-remove",
    "nbd-server-add", "nbd-server-start", "query-jobs", "job-finalize",
    "job-dismiss", "job-complete", "job-cancel", "job-resume", "job-pause",
    "blockdev-snapshot-delete-internal-sync",
    "blockdev-snapshot-internal-sync", "x-blockdev-set-iothread",
    "x-blockdev-change", "block-set-write-threshold", "x-blockdev-amend",
    "blockdev-create", "blockdev-del", "blockdev-reopen", "blockdev-add",
    "block-job-finalize", "block-job-dismiss", "block-job-complete",
    "block-job-resume", "block-job-pause", "block-job-cancel",
    "block-job-set-speed", "block-stream", "blockdev-mirror",
    "x-debug-block-dirty-bitmap-sha256", "block-dirty-bitmap-merge",
    "block-dirty-bitmap-disable", "block-dirty-bitmap-enable",
    "block-dirty-bitmap-clear", "block-dirty-bitmap-remove",
    "block-dirty-bitmap-add", "drive-mirror", "x-debug-query-block-graph",
    "query-named-block-nodes", "blockdev-backup", "drive-backup",
    "block-commit", "change-backing-file", "blockdev-snapshot",
    "blockdev-snapshot-sync", "block_resize", "query-block-jobs",
    "query-blockstats", "query-block", NULL,
};

static void coroutine_fn qmp_query_commands(QDict *args, QObject **ret,
                                            Error **errp)
{
    QList *l;
    size_t i;

    if (!qmp_check_args(args, "", errp)) {
        return;
    }
    l = qlist_new();
    for (i = 0; qmp_7_2_order[i]; i++) {
        if (find_command(qmp_7_2_order[i]) ||
            !strcmp(qmp_7_2_order[i], "qmp_capabilities")) {
            QDict *c = qdict_new();

            qdict_put_str(c, "name", qmp_7_2_order[i]);
            qlist_append(l, c);
        }
    }
    *ret = l;
}

static void coroutine_fn qmp_object_add(QDict *args, QObject **ret,
                                        Error **errp)
{
    qemu_object_add_dict(args, errp);
}

static void coroutine_fn qmp_object_del(QDict *args, QObject **ret,
                                        Error **errp)
{
    if (qmp_check_args(args, "id:s", errp)) {
        qemu_object_del(qmp_str(args, "id"), errp);
    }
}

static const QmpCommand core_commands[] = {
    { "object-add", qmp_object_add },
    { "object-del", qmp_object_del },
    { "query-version", qmp_query_version },
    { "query-commands", qmp_query_commands },
    { "quit", qmp_quit },
    { NULL },
};

static const QmpCommand *const tables[] = {
    core_commands, qmp_block_commands, qmp_job_commands, qmp_nbd_commands,
    qmp_transaction_commands, qmp_create_commands,
};

static const QmpCommand *find_command(const char *name)
{
    size_t t;
    const QmpCommand *c;

    for (t = 0; t < G_N_ELEMENTS(tables); t++) {
        for (c = tables[t]; c->name; c++) {
            if (!strcmp(c->name, name)) {
                return c;
            }
        }
    }
    return NULL;
}
