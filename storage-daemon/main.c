/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu-storage-daemon: the block layer as a service, with 7.2's command
 * line.  The options are acted on in their order (a --export needs the
 * --blockdev and --nbd-server before it), in a coroutine; then the main
 * loop runs QMP monitors, exports and jobs until quit or SIGTERM/SIGINT/
 * SIGHUP.  At the end, exports go, jobs are cancelled, nodes close (a
 * qcow2's caches written back) and sockets are removed.
 */
#include "util/osdep.h"
#include "qmp.h"
#include "tool-messages.h"
#include "block/block.h"
#include "block/driver.h"
#include "block/job.h"
#include "util/aio.h"
#include "util/json.h"
#include "util/keyval.h"
#include "util/secret.h"

#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <sys/signalfd.h>

bool qsd_quit_requested;
static Coroutine *main_co;
static bool main_waiting;

enum {
    OPT_BLOCKDEV = 256, OPT_CHARDEV, OPT_DAEMONIZE, OPT_EXPORT, OPT_MONITOR,
    OPT_NBD_SERVER, OPT_OBJECT, OPT_PIDFILE,
};

static void usage(void)
{
    printf(
"Usage: qemu-storage-daemon [options]\n"
"QEMU storage daemon\n"
"\n"
"  -h, --help             display this help and exit\n"
"  -T, --trace [[enable=]<pattern>][,events=<file>][,file=<file>]\n"
"                         specify tracing options\n"
"  -V, --version          output version information and exit\n"
"\n"
"  --blockdev [driver=]<driver>[,node-name=<N>][,discard=ignore|unmap]\n"
"             [,cache.direct=on|off][,cache.no-flush=on|off]\n"
"             [,read-only=on|off][,auto-read-only=on|off]\n"
"             [,force-share=on|off][,detect-zeroes=on|off|unmap]\n"
"             [,driver specific parameters...]\n"
"                         configure a block backend\n"
"\n"
"  --chardev <options>    configure a character device backend\n"
"                         (see the qemu(1) man page for possible options)\n"
"\n"
"  --daemonize            daemonize the process, and have the parent exit\n"
"                         once startup is complete\n"
"\n"
"  --export [type=]nbd,id=<id>,node-name=<node-name>[,name=<export-name>]\n"
"           [,writable=on|off][,bitmap=<name>]\n"
"                         export the specified block node over NBD\n"
"                         (requires --nbd-server)\n"
"\n"
"  --monitor [chardev=]name[,mode=control][,pretty[=on|off]]\n"
"                         configure a QMP monitor\n"
"\n"
"  --nbd-server addr.type=inet,addr.host=<host>,addr.port=<port>\n"
"               [,tls-creds=<id>][,tls-authz=<id>][,max-connections=<n>]\n"
"  --nbd-server addr.type=unix,addr.path=<path>\n"
"               [,tls-creds=<id>][,tls-authz=<id>][,max-connections=<n>]\n"
"                         start an NBD server for exporting block nodes\n"
"\n"
"  --object help          list object types that can be added\n"
"  --object <type>,help   list properties for the given object type\n"
"  --object <type>[,<property>=<value>...]\n"
"                         create a new object of type <type>, setting\n"
"                         properties in the order they are specified. Note\n"
"                         that the 'id' property must be set.\n"
"                         See the qemu(1) man page for documentation of the\n"
"                         objects that can be added.\n"
"\n"
"  --pidfile <path>       write process ID to a file after startup\n"
"\n"
"See <https://qemu.org/contribute/report-a-bug> for how to report bugs.\n"
"More information on the QEMU project at <https://qemu.org>.\n");
}

void qsd_wake_main(void)
{
    if (main_waiting && main_co) {
        main_waiting = false;
        aio_co_schedule(qemu_get_aio_context(), main_co);
    }
}

/* job events go to every monitor, as 7.2's */
static void job_event(void *opaque, const char *event, QDict *data)
{
    qmp_send_event(event, data ? (QDict *)qobject_ref(data) : NULL);
}

static int sig_fd = -1;

static void on_signal(void *opaque)
{
    struct signalfd_siginfo si;

    while (read(sig_fd, &si, sizeof(si)) == sizeof(si)) {
        qsd_quit_requested = true;
    }
    qsd_wake_main();
}

typedef struct Startup {
    int argc;
    char **argv;
    const char *pidfile;
    bool daemonize;
    int ready_fd;               /* --daemonize: the parent waits on it */
    int exit_code;
} Startup;

/* --blockdev: keyval with driver implied, or JSON */
static bool coroutine_fn opt_blockdev(const char *arg, Error **errp)
{
    QDict *opts = NULL;

    if (arg[0] == '{') {
        QObject *obj = json_parse(arg, errp);

        if (!obj) {
            return false;
        }
        if (qobject_type(obj) != QTYPE_DICT) {
            qobject_unref(obj);
            error_setg(errp, "JSON argument must be an object");
            return false;
        }
        opts = qdict_flatten_to_options((QDict *)obj);
        qobject_unref(obj);
    } else if (!keyval_parse_into(&opts, arg, "driver", errp)) {
        return false;
    }
    if (!qdict_haskey(opts, "driver")) {
        qobject_unref(opts);
        error_setg(errp, "Parameter 'driver' is missing");
        return false;
    }
    return qsd_blockdev_add(opts, errp);
}

static bool coroutine_fn opt_keyval(int opt, const char *arg, Error **errp)
{
    QDict *opts = NULL;
    static const char *const implied[] = {
        [OPT_CHARDEV - OPT_BLOCKDEV] = "backend",
        [OPT_EXPORT - OPT_BLOCKDEV] = "type",
        [OPT_MONITOR - OPT_BLOCKDEV] = "chardev",
        [OPT_OBJECT - OPT_BLOCKDEV] = "qom-type",
    };
    const char *imp = opt - OPT_BLOCKDEV < (int)G_N_ELEMENTS(implied) ?
                      implied[opt - OPT_BLOCKDEV] : NULL;
    g_autoptr(QObject) o = NULL;

    if (!keyval_parse_into(&opts, arg, imp, errp)) {
        return false;
    }
    o = opts;
    switch (opt) {
    case OPT_CHARDEV:
        return qmp_add_chardev(opts, errp);
    case OPT_EXPORT:
        return qsd_export_add(qobject_ref(o), errp);
    case OPT_NBD_SERVER:
        return qsd_nbd_server_start(qobject_ref(o), errp);
    case OPT_MONITOR: {
        g_autofree char *chr = bdrv_opt_take_str(opts, "chardev");
        g_autofree char *mode = bdrv_opt_take_str(opts, "mode");
        bool pretty = false;

        if (!bdrv_opt_take_bool(opts, "pretty", &pretty, errp)) {
            return false;
        }
        if (mode && strcmp(mode, "control")) {
            error_setg(errp, "Only mode=control is supported");
            return false;
        }
        if (!chr) {
            error_setg(errp, "Parameter 'chardev' is missing");
            return false;
        }
        if (qdict_size(opts)) {
            error_setg(errp, "Invalid parameter '%s'", qdict_key_at(opts, 0));
            return false;
        }
        return qmp_add_monitor(chr, pretty, errp);
    }
    case OPT_OBJECT:
        return qemu_object_add(arg, errp);
    }
    g_assert_not_reached();
}

static bool coroutine_fn process_options(Startup *s)
{
    static const struct option lopt[] = {
        { "blockdev", required_argument, NULL, OPT_BLOCKDEV },
        { "chardev", required_argument, NULL, OPT_CHARDEV },
        { "daemonize", no_argument, NULL, OPT_DAEMONIZE },
        { "export", required_argument, NULL, OPT_EXPORT },
        { "help", no_argument, NULL, 'h' },
        { "monitor", required_argument, NULL, OPT_MONITOR },
        { "nbd-server", required_argument, NULL, OPT_NBD_SERVER },
        { "object", required_argument, NULL, OPT_OBJECT },
        { "pidfile", required_argument, NULL, OPT_PIDFILE },
        { "trace", required_argument, NULL, 'T' },
        { "version", no_argument, NULL, 'V' },
        { NULL },
    };
    int c;

    optind = 1;
    while ((c = getopt_long(s->argc, s->argv, "-hT:V", lopt, NULL)) != -1) {
        g_autoptr(Error) err = NULL;
        bool ok = true;

        switch (c) {
        case 1:
            error_report("Unexpected argument: %s", optarg);
            return false;
        case 'T':
            break;              /* no trace points */
        case OPT_DAEMONIZE:
        case OPT_PIDFILE:
            break;              /* taken before */
        case OPT_BLOCKDEV:
            ok = opt_blockdev(optarg, &err);
            break;
        case '?':
        case ':':
            return false;
        case 'h':
        case 'V':
            break;
        default:
            ok = opt_keyval(c, optarg, &err);
        }
        if (!ok) {
            const struct option *o = lopt;

            while (o->val != c) {
                o++;
            }
            error_report("--%s %s: %s", o->name, optarg,
                         error_get_pretty(err));
            return false;
        }
    }
    return true;
}

static void coroutine_fn qsd_main(void *opaque)
{
    Startup *s = opaque;
    main_co = qemu_coroutine_self();
    s->exit_code = 1;
    if (!process_options(s)) {
        goto out;
    }
    if (s->pidfile) {
        g_autofree char *pid = g_strdup_printf("%d\n", (int)getpid());

        if (!g_file_set_contents(s->pidfile, pid, -1, NULL)) {
            error_report("cannot create PID file: %s", g_strerror(errno));
            goto out;
        }
    }
    if (s->ready_fd >= 0) {
        /* started: the parent exits 0 */
        if (write(s->ready_fd, "", 1) < 0) {
            /* the parent is gone: nobody to tell */
        }
        close(s->ready_fd);
        s->ready_fd = -1;
    }
    s->exit_code = 0;
    while (!qsd_quit_requested) {
        main_waiting = true;
        qemu_coroutine_yield();
    }
out:
    /* 7.2's order: exports first, then the jobs, then the nodes */
    qsd_shutdown_exports();
    job_cancel_sync_all();
    qsd_close_all_nodes();
    if (s->pidfile && s->exit_code == 0) {
        unlink(s->pidfile);
    }
    main_co = NULL;
}

/* --daemonize: the parent waits for "started" and exits 0, or 1 */
static int daemonize(void)
{
    int fds[2];
    pid_t pid;
    char c;

    if (pipe(fds) < 0) {
        error_report("pipe: %s", g_strerror(errno));
        exit(1);
    }
    pid = fork();
    if (pid < 0) {
        error_report("fork: %s", g_strerror(errno));
        exit(1);
    }
    if (pid > 0) {
        close(fds[1]);
        exit(read(fds[0], &c, 1) == 1 ? 0 : 1);
    }
    close(fds[0]);
    setsid();
    return fds[1];
}

int main(int argc, char **argv)
{
    Startup s = { .argc = argc, .argv = argv, .ready_fd = -1 };
    sigset_t mask;
    int i;

    qemu_tune_malloc();
    error_init(argv[0]);
    bdrv_set_message_handler(tool_print_block_message);
    signal(SIGPIPE, SIG_IGN);
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage();
            return 0;
        }
        if (!strcmp(argv[i], "-V") || !strcmp(argv[i], "--version")) {
            printf("qemu-storage-daemon version " QEMU_VERSION
                   " (qemu-block-tools)\n"
                   "Copyright (c) 2003-2022 Fabrice Bellard and the QEMU "
                   "Project developers\n");
            return 0;
        }
        if (!strcmp(argv[i], "--daemonize")) {
            s.daemonize = true;
        }
        if (!strcmp(argv[i], "--pidfile") && i + 1 < argc) {
            s.pidfile = argv[i + 1];
        }
    }
    if (s.daemonize) {
        s.ready_fd = daemonize();
    }
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    aio_set_fd_handler(qemu_get_aio_context(), sig_fd, on_signal, NULL, NULL);
    job_add_listener(job_event, NULL);
    aio_run_coroutine(qsd_main, &s);
    job_remove_listener(job_event, NULL);
    aio_set_fd_handler(qemu_get_aio_context(), sig_fd, NULL, NULL, NULL);
    qmp_cleanup();
    return s.exit_code;
}
