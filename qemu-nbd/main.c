/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu-nbd: serve one image over NBD, with QEMU 7.2's command line.
 *
 * The options are parsed first; with --fork the process forks before
 * anything else (the parent relays the child's messages until the child
 * is ready, then exits 1 if there were any, as 7.2's does).  Then, in one
 * coroutine: listen, open the image, add the export (block/export/
 * nbd-server.c), write the PID file, and accept clients, at most --shared
 * at once (the rest wait in the listen queue), until SIGTERM/SIGINT/SIGHUP
 * or, without --persistent, until the last client that got past the
 * handshake has gone.  The image is then closed cleanly (a qcow2's caches
 * written back), the unix socket removed.
 */
#include "util/osdep.h"
#include "tool-messages.h"
#include "list.h"
#include "block/block-backend.h"
#include "block/driver.h"
#include "block/nbd-server.h"
#include "block/snapshot.h"
#include "util/aio.h"
#include "util/cutils.h"
#include "util/keyval.h"
#include "util/secret.h"
#include "util/sockets.h"

#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>

#define NBD_DEFAULT_PORT_STR    "10809"
#define NBD_MAX_NAME            4096

typedef struct NbdOpts {
    const char *sockpath, *bindto, *port;
    const char *fmt, *export_name, *description;
    const char *snapshot_param, *pid_file;
    const char *image;
    GPtrArray *bitmaps;         /* -B, last first (as 7.2 numbers them) */
    uint64_t offset;
    int shared;
    int flags;
    BdrvDetectZeroes detect_zeroes;
    bool persistent, read_only, alloc_depth, image_opts, fork_process;
    bool snapshot_by_param;     /* -l snapshot.id=...,snapshot.name=... */
    bool list;                  /* -L: list another server's exports */
    int exit_code;
} NbdOpts;

static void usage(const char *name)
{
    printf(
"Usage: %s [OPTIONS] FILE\n"
"  or:  %s -L [OPTIONS]\n"
"QEMU Disk Network Block Device Utility\n"
"\n"
"  -h, --help                display this help and exit\n"
"  -V, --version             output version information and exit\n"
"\n"
"Connection properties:\n"
"  -p, --port=PORT           port to listen on (default `10809')\n"
"  -b, --bind=IFACE          interface to bind to (default `0.0.0.0')\n"
"  -k, --socket=PATH         path to the unix socket\n"
"                            (default '/var/lock/qemu-nbd-DEVICE')\n"
"  -e, --shared=NUM          device can be shared by NUM clients (default '1')\n"
"  -t, --persistent          don't exit on the last connection\n"
"  -v, --verbose             display extra debugging information\n"
"  -x, --export-name=NAME    expose export by name (default is empty string)\n"
"  -D, --description=TEXT    export a human-readable description\n"
"\n"
"Exposing part of the image:\n"
"  -o, --offset=OFFSET       offset into the image\n"
"  -A, --allocation-depth    expose the allocation depth\n"
"  -B, --bitmap=NAME         expose a persistent dirty bitmap\n"
"\n"
"General purpose options:\n"
"  -L, --list                list exports available from another NBD server\n"
"  --object type,id=ID,...   define an object such as 'secret' for providing\n"
"                            passwords and/or encryption keys\n"
"  --tls-creds=ID            use id of an earlier --object to provide TLS\n"
"  --tls-authz=ID            use id of an earlier --object to provide\n"
"                            authorization\n"
"  -T, --trace [[enable=]<pattern>][,events=<file>][,file=<file>]\n"
"                            specify tracing options\n"
"  --fork                    fork off the server process and exit the parent\n"
"                            once the server is running\n"
"  --pid-file=PATH           store the server's process ID in the given file\n"
"  --selinux-label=LABEL     set SELinux process label on listening socket\n"
"\n"
"Kernel NBD client support:\n"
"  -c, --connect=DEV         connect FILE to the local NBD device DEV\n"
"  -d, --disconnect          disconnect the specified device\n"
"\n"
"Block device options:\n"
"  -f, --format=FORMAT       set image format (raw, qcow2, ...)\n"
"  -r, --read-only           export read-only\n"
"  -s, --snapshot            use FILE as an external snapshot, create a temporary\n"
"                            file with backing_file=FILE, redirect the write to\n"
"                            the temporary one\n"
"  -l, --load-snapshot=SNAPSHOT_PARAM\n"
"                            load an internal snapshot inside FILE and export it\n"
"                            as an read-only device, SNAPSHOT_PARAM format is\n"
"                            'snapshot.id=[ID],snapshot.name=[NAME]', or\n"
"                            '[ID_OR_NAME]'\n"
"  -n, --nocache             disable host cache\n"
"      --cache=MODE          set cache mode used to access the disk image, the\n"
"                            valid options are: 'none', 'writeback' (default),\n"
"                            'writethrough', 'directsync' and 'unsafe'\n"
"      --aio=MODE            set AIO mode (native, io_uring or threads)\n"
"      --discard=MODE        set discard mode (ignore, unmap)\n"
"      --detect-zeroes=MODE  set detect-zeroes mode (off, on, unmap)\n"
"      --image-opts          treat FILE as a full set of image options\n"
"\n"
"See <https://qemu.org/contribute/report-a-bug> for how to report bugs.\n"
"More information on the QEMU project at <https://qemu.org>.\n",
    name, name);
}

enum {
    OPT_OBJECT = 256, OPT_TLSCREDS, OPT_TLSAUTHZ, OPT_TLSHOSTNAME,
    OPT_IMAGE_OPTS, OPT_FORK, OPT_PID_FILE, OPT_SELINUX, OPT_CACHE, OPT_AIO,
    OPT_DISCARD, OPT_DETECT_ZEROES,
};

static const struct option qemu_nbd_lopt[] = {
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'V' },
    { "bind", required_argument, NULL, 'b' },
    { "port", required_argument, NULL, 'p' },
    { "socket", required_argument, NULL, 'k' },
    { "offset", required_argument, NULL, 'o' },
    { "read-only", no_argument, NULL, 'r' },
    { "allocation-depth", no_argument, NULL, 'A' },
    { "bitmap", required_argument, NULL, 'B' },
    { "connect", required_argument, NULL, 'c' },
    { "disconnect", no_argument, NULL, 'd' },
    { "list", no_argument, NULL, 'L' },
    { "snapshot", no_argument, NULL, 's' },
    { "load-snapshot", required_argument, NULL, 'l' },
    { "nocache", no_argument, NULL, 'n' },
    { "cache", required_argument, NULL, OPT_CACHE },
    { "aio", required_argument, NULL, OPT_AIO },
    { "discard", required_argument, NULL, OPT_DISCARD },
    { "detect-zeroes", required_argument, NULL, OPT_DETECT_ZEROES },
    { "shared", required_argument, NULL, 'e' },
    { "format", required_argument, NULL, 'f' },
    { "persistent", no_argument, NULL, 't' },
    { "verbose", no_argument, NULL, 'v' },
    { "object", required_argument, NULL, OPT_OBJECT },
    { "export-name", required_argument, NULL, 'x' },
    { "description", required_argument, NULL, 'D' },
    { "tls-creds", required_argument, NULL, OPT_TLSCREDS },
    { "tls-hostname", required_argument, NULL, OPT_TLSHOSTNAME },
    { "tls-authz", required_argument, NULL, OPT_TLSAUTHZ },
    { "image-opts", no_argument, NULL, OPT_IMAGE_OPTS },
    { "trace", required_argument, NULL, 'T' },
    { "fork", no_argument, NULL, OPT_FORK },
    { "pid-file", required_argument, NULL, OPT_PID_FILE },
    { "selinux-label", required_argument, NULL, OPT_SELINUX },
    { NULL, 0, NULL, 0 }
};

/* What parse_args() tracks beyond the options themselves. */
typedef struct ParseState {
    bool seen_cache, seen_aio, seen_discard, list;
    const char *device;
} ParseState;

/* False, with 7.2's message, when an option naming @what came before. */
static bool first_time(bool *seen, const char *what)
{
    if (*seen) {
        error_report("%s can only be specified once", what);
        return false;
    }
    *seen = true;
    return true;
}

/* How the image is opened: 1 taken, 0 not such an option, -1 error. */
static int parse_block_option(int ch, NbdOpts *o, ParseState *ps)
{
    bool writethrough;

    switch (ch) {
    case 's':
        o->flags |= BDRV_O_SNAPSHOT;
        return 1;
    case 'n':
    case OPT_CACHE:
        if (!first_time(&ps->seen_cache, "-n and --cache")) {
            return -1;
        }
        if (!bdrv_parse_cache_mode(ch == 'n' ? "none" : optarg, &o->flags,
                                   &writethrough)) {
            error_report("Invalid cache mode `%s'", optarg);
            return -1;
        }
        return 1;
    case OPT_AIO:
        if (!first_time(&ps->seen_aio, "--aio")) {
            return -1;
        }
        if (!bdrv_parse_aio(optarg, &o->flags)) {
            error_report("Invalid aio mode '%s'", optarg);
            return -1;
        }
        return 1;
    case OPT_DISCARD:
        if (!first_time(&ps->seen_discard, "--discard")) {
            return -1;
        }
        if (!bdrv_parse_discard_flags(optarg, &o->flags)) {
            error_report("Invalid discard mode `%s'", optarg);
            return -1;
        }
        return 1;
    case OPT_DETECT_ZEROES:
        if (!bdrv_parse_detect_zeroes(optarg, &o->detect_zeroes)) {
            error_report("Failed to parse detect_zeroes mode: invalid "
                         "parameter value: %s", optarg);
            return -1;
        }
        /* as 7.2: --discard=unmap must come first */
        if (o->detect_zeroes == BDRV_DETECT_ZEROES_UNMAP &&
            !(o->flags & BDRV_O_UNMAP)) {
            error_report("setting detect-zeroes to unmap is not allowed "
                         "without setting discard operation to unmap");
            return -1;
        }
        return 1;
    case 'o':
        if (qemu_strtou64(optarg, NULL, 0, &o->offset) < 0) {
            error_report("Invalid offset '%s'", optarg);
            return -1;
        }
        return 1;
    case 'l':
        o->snapshot_param = optarg;
        o->snapshot_by_param = strstart(optarg, "snapshot.", NULL);
        /* fall through */
    case 'r':
        o->read_only = true;
        o->flags &= ~BDRV_O_RDWR;
        return 1;
    case 'f':
        o->fmt = optarg;
        return 1;
    case OPT_IMAGE_OPTS:
        o->image_opts = true;
        return 1;
    case OPT_OBJECT:
        return qemu_object_add_cmdline(optarg) ? 1 : -1;
    }
    return 0;
}

/* How the image is served: 1 taken, 0 not such an option, -1 error. */
static int parse_server_option(int ch, NbdOpts *o, ParseState *ps)
{
    switch (ch) {
    case 'b':
        o->bindto = optarg;
        return 1;
    case 'p':
        o->port = optarg;
        return 1;
    case 'k':
        o->sockpath = optarg;
        if (optarg[0] != '/') {
            error_report("socket path must be absolute");
            return -1;
        }
        return 1;
    case 'e':
        if (qemu_strtoi(optarg, NULL, 0, &o->shared) < 0 || o->shared < 0) {
            error_report("Invalid shared device number '%s'", optarg);
            return -1;
        }
        return 1;
    case 't':
        o->persistent = true;
        return 1;
    case 'x':
    case 'D':
        if (strlen(optarg) > NBD_MAX_NAME) {
            error_report(ch == 'x' ? "export name '%s' too long"
                                   : "export description '%s' too long",
                         optarg);
            return -1;
        }
        *(ch == 'x' ? &o->export_name : &o->description) = optarg;
        return 1;
    case 'A':
        o->alloc_depth = true;
        return 1;
    case 'B':
        g_ptr_array_insert(o->bitmaps, 0, optarg);
        return 1;
    case 'd':
    case 'c':
        ps->device = optarg ? optarg : "";
        return 1;
    case 'L':
        ps->list = true;
        return 1;
    case 'v':
    case 'T':
        return 1;
    case OPT_TLSCREDS:
    case OPT_TLSAUTHZ:
    case OPT_TLSHOSTNAME:
        error_report("TLS is not supported by this qemu-nbd");
        return -1;
    case OPT_SELINUX:
        error_report("SELinux support not enabled in this binary");
        return -1;
    case OPT_FORK:
        o->fork_process = true;
        return 1;
    case OPT_PID_FILE:
        o->pid_file = optarg;
        return 1;
    }
    return 0;
}

static void print_version(const char *name)
{
    printf("%s " QEMU_VERSION " (qemu-block-tools)\n"
           "Written by Anthony Liguori.\n\n"
           "Copyright (c) 2006-2022 Fabrice Bellard and the QEMU Project "
           "developers\n"
           "This is free software; see the source for copying conditions.  "
           "There is NO\n"
           "warranty; not even for MERCHANTABILITY or FITNESS FOR A "
           "PARTICULAR PURPOSE.\n", name);
}

/* What the options say together; false with the message printed. */
static bool check_args(const char *name, NbdOpts *o, ParseState *ps)
{
    if (ps->list) {
        /* 7.2's checks, in its order */
        if (o->image) {
            error_report("List mode is incompatible with a file name");
            return false;
        }
        if (o->export_name || o->description || o->offset || ps->device ||
            o->fmt || o->snapshot_param || o->bitmaps->len || o->alloc_depth ||
            ps->seen_aio || ps->seen_discard || ps->seen_cache) {
            error_report("List mode is incompatible with per-device "
                         "settings");
            return false;
        }
        if (o->fork_process) {
            error_report("List mode is incompatible with forking");
            return false;
        }
        o->list = true;
        return true;
    }
    if (ps->device) {
        error_report("Kernel /dev/nbdN support not available");
        return false;
    }
    if (!o->image) {
        error_report("Invalid number of arguments");
        fprintf(stderr, "Try `%s --help' for more information.\n", name);
        return false;
    }
    if (o->image_opts && o->fmt) {
        error_report("--image-opts and -f are mutually exclusive");
        return false;
    }
    if (!o->export_name) {
        o->export_name = "";
    }
    return true;
}

/* Parse the command line into @o; false with o->exit_code set. */
static bool parse_args(int argc, char **argv, NbdOpts *o)
{
    ParseState ps = { 0 };
    int ch, r;

    o->shared = 1;
    o->flags = BDRV_O_RDWR;
    while ((ch = getopt_long(argc, argv, "-hVb:o:p:rsnc:dvk:e:f:tl:x:T:D:AB:L",
                             qemu_nbd_lopt, NULL)) != -1) {
        if (ch == 1) {
            if (o->image) {
                error_report("Invalid number of arguments");
                fprintf(stderr, "Try `%s --help' for more information.\n",
                        argv[0]);
                return false;
            }
            o->image = optarg;
            continue;
        }
        if (ch == 'V' || ch == 'h') {
            if (ch == 'V') {
                print_version(argv[0]);
            } else {
                usage(argv[0]);
            }
            o->exit_code = 0;
            return false;
        }
        r = parse_block_option(ch, o, &ps);
        if (r == 0) {
            r = parse_server_option(ch, o, &ps);
        }
        if (r < 0) {
            return false;
        }
        if (r == 0) {
            error_report("Try `%s --help' for more information.", argv[0]);
            return false;
        }
    }
    return check_args(argv[0], o, &ps);
}

/* ---- listening ---- */

/* ---- serving ---- */

/* --fork: the child's own stderr while the parent relays its messages */
static int old_stderr = -1;

typedef struct NbdServe {
    NbdOpts *o;
    NBDServer *srv;
    int listen_fd;
    int sig_fd;
    bool terminate;
    CoWaiter *waiter;           /* the main coroutine, waiting for events */
    bool listening;             /* the listen socket is watched */
    bool accept_ready;
} NbdServe;

static void serve_wake(NbdServe *s)
{
    CoWaiter *w = s->waiter;

    if (w) {
        s->waiter = NULL;
        co_waiter_finish(w, 0);
    }
}

/* Sleep until serve_wake(): an event for the main coroutine came. */
static void coroutine_fn serve_wait(NbdServe *s)
{
    CoWaiter w;

    co_waiter_init(&w);
    s->waiter = &w;
    co_waiter_wait(&w);
}

static void serve_accept_ready(void *opaque)
{
    NbdServe *s = opaque;

    s->accept_ready = true;
    serve_wake(s);
}

static void serve_signal(void *opaque)
{
    NbdServe *s = opaque;
    struct signalfd_siginfo si;

    while (read(s->sig_fd, &si, sizeof(si)) == sizeof(si)) {
        s->terminate = true;
    }
    serve_wake(s);
}

static void serve_client_closed(void *opaque, bool negotiated)
{
    NbdServe *s = opaque;

    if (negotiated && !s->o->persistent &&
        nbd_server_client_count(s->srv) == 0) {
        s->terminate = true;
    }
    serve_wake(s);
}

/* Watch the listen socket only while another client may come in. */
static void serve_update_watch(NbdServe *s)
{
    bool want = !s->terminate &&
                (s->o->shared == 0 ||
                 nbd_server_client_count(s->srv) < s->o->shared);

    if (want != s->listening) {
        aio_set_fd_handler(qemu_get_current_aio_context(), s->listen_fd,
                           want ? serve_accept_ready : NULL, NULL, s);
        s->listening = want;
    }
}

static void coroutine_fn serve_loop(NbdServe *s)
{
    while (!s->terminate) {
        serve_update_watch(s);
        if (s->accept_ready) {
            int fd;

            s->accept_ready = false;
            fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
            if (fd >= 0) {
                nbd_server_add_client(s->srv, fd, serve_client_closed, s);
            }
            continue;
        }
        serve_wait(s);
    }
    s->terminate = true;
    serve_update_watch(s);
}

/* Open the image as 7.2's qemu-nbd does; NULL with the message printed. */
static BlockBackend *coroutine_fn open_image(NbdOpts *o)
{
    QDict *options = qdict_new();
    g_autoptr(Error) err = NULL;
    const char *warning;
    BlockBackend *blk;
    int ret = 0;

    if (o->image_opts) {
        if (!keyval_parse_into(&options, o->image, NULL, &err)) {
            error_report_err(g_steal_pointer(&err));
            qobject_unref(options);
            return NULL;
        }
    } else if (o->fmt) {
        qdict_put_str(options, "driver", o->fmt);
    }
    if (o->offset) {
        /* -o: a raw view of the image from @offset (raw format only) */
        g_autofree char *off = NULL;

        if (o->image_opts || (o->fmt && strcmp(o->fmt, "raw"))) {
            error_report("-o/--offset is supported with -f raw only");
            qobject_unref(options);
            return NULL;
        }
        off = g_strdup_printf("%" PRIu64, o->offset);
        qdict_put_str(options, "driver", "raw");
        qdict_put_str(options, "offset", off);
    }
    blk = blk_co_new_open(o->image_opts ? NULL : o->image, options,
                          o->flags, &err);
    if (!blk) {
        error_report("Failed to blk_new_open '%s': %s", o->image,
                     error_get_pretty(err));
        return NULL;
    }
    warning = bdrv_get_open_warning(blk_bs(blk));
    if (warning) {
        fprintf(stderr, "%s\n", warning);
    }
    /* the client flushes when it wants the data on disk */
    blk_set_enable_write_cache(blk, true);
    /* as 7.2, the option's value (off by default) whatever the image's */
    blk_bs(blk)->detect_zeroes = o->detect_zeroes;
    if (o->snapshot_param && o->snapshot_by_param) {
        g_autofree char *id = NULL, *name = NULL;
        g_auto(GStrv) parts = g_strsplit(o->snapshot_param, ",", -1);
        int i;

        for (i = 0; parts[i]; i++) {
            const char *v;

            if (strstart(parts[i], "snapshot.id=", &v)) {
                g_free(id);
                id = g_strdup(v);
            } else if (strstart(parts[i], "snapshot.name=", &v)) {
                g_free(name);
                name = g_strdup(v);
            } else {
                error_report("Failed in parsing snapshot param `%s'",
                             o->snapshot_param);
                blk_unref(blk);
                return NULL;
            }
        }
        ret = bdrv_co_snapshot_load_tmp(blk_bs(blk), id, name, &err);
    } else if (o->snapshot_param) {
        ret = bdrv_co_snapshot_load_tmp_by_id_or_name(blk_bs(blk),
                                                      o->snapshot_param,
                                                      &err);
    }
    if (ret < 0) {
        error_report("Failed to load snapshot: %s", error_get_pretty(err));
        blk_unref(blk);
        return NULL;
    }
    return blk;
}

static void coroutine_fn qemu_nbd_serve(void *opaque)
{
    NbdServe *s = opaque;
    NbdOpts *o = s->o;
    AioContext *ctx = qemu_get_current_aio_context();
    g_autoptr(Error) err = NULL;
    BlockBackend *blk = NULL;
    NBDExportOptions eo = { 0 };
    int backlog = (o->persistent || o->shared == 0)
                  ? SOMAXCONN : MIN(o->shared, SOMAXCONN);

    o->exit_code = 1;
    if (o->sockpath) {
        s->listen_fd = socket_listen_unix(o->sockpath, backlog, &err);
    } else {
        s->listen_fd = socket_listen_tcp(o->bindto ? o->bindto : "0.0.0.0",
                                  o->port ? o->port : NBD_DEFAULT_PORT_STR,
                                  backlog, &err);
    }
    if (s->listen_fd < 0) {
        error_report_err(g_steal_pointer(&err));
        return;
    }
    blk = open_image(o);
    if (!blk) {
        goto out;
    }
    s->srv = nbd_server_new(ctx);
    eo.name = o->export_name;
    eo.description = o->description;
    eo.blk = blk;
    eo.read_only = o->read_only;
    eo.multi_conn = o->shared != 1;
    eo.bitmaps = (const char *const *)o->bitmaps->pdata;
    eo.nr_bitmaps = o->bitmaps->len;
    eo.allocation_depth = o->alloc_depth;
    if (!nbd_server_co_add_export(s->srv, &eo, &err)) {
        error_report_err(g_steal_pointer(&err));
        goto out;
    }
    if (o->pid_file) {
        g_autofree char *pid = g_strdup_printf("%d\n", (int)getpid());

        if (!g_file_set_contents(o->pid_file, pid, -1, NULL)) {
            error_report("Failed to write PID file '%s': %s", o->pid_file,
                         g_strerror(errno));
            goto out;
        }
    }
    if (chdir("/") < 0) {
        error_report("Could not chdir to root directory: %s",
                     g_strerror(errno));
        goto out;
    }
    if (o->fork_process) {
        /* ready: the parent's pipe closes, it exits */
        dup2(old_stderr, STDERR_FILENO);
        close(old_stderr);
    }
    aio_set_fd_handler(ctx, s->sig_fd, serve_signal, NULL, s);
    serve_loop(s);
    o->exit_code = 0;
out:
    if (s->srv) {
        /* the clients' requests end before the image closes */
        nbd_server_close_clients(s->srv);
        while (nbd_server_client_count(s->srv) > 0) {
            serve_wait(s);
        }
        nbd_server_free(s->srv);
        s->srv = NULL;
    }
    if (blk) {
        blk_co_drain(blk);
        blk_unref(blk);
    }
    aio_set_fd_handler(ctx, s->sig_fd, NULL, NULL, NULL);
    if (s->listen_fd >= 0) {
        close(s->listen_fd);
        if (o->sockpath) {
            unlink(o->sockpath);
        }
    }
}

/*
 * --fork: the child goes on with its stderr on a pipe to the parent,
 * which prints what comes through and exits once it closes: 0 if nothing
 * came (the server runs), 1 otherwise.  Returns in the child only.
 */
static void fork_server(void)
{
    int pipefd[2];
    pid_t pid;

    if (pipe2(pipefd, O_CLOEXEC) < 0) {
        error_report("Error setting up communication pipe: %s",
                     g_strerror(errno));
        exit(EXIT_FAILURE);
    }
    pid = fork();
    if (pid < 0) {
        error_report("Failed to fork: %s", g_strerror(errno));
        exit(EXIT_FAILURE);
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);

        close(pipefd[0]);
        old_stderr = dup(STDERR_FILENO);
        setsid();
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        dup2(pipefd[1], STDERR_FILENO);
        close(pipefd[1]);
        close(null);
        return;
    } else {
        char buf[1024];
        bool errors = false;
        ssize_t n;

        close(pipefd[1]);
        while ((n = read(pipefd[0], buf, sizeof(buf))) > 0) {
            errors = true;
            if (write(STDERR_FILENO, buf, n) < 0) {
                exit(EXIT_FAILURE);
            }
        }
        exit(errors || n < 0);
    }
}

int main(int argc, char **argv)
{
    g_autoptr(GPtrArray) bitmaps = g_ptr_array_new();
    NbdOpts o = { .exit_code = 1, .bitmaps = bitmaps };
    NbdServe s = { .o = &o, .listen_fd = -1 };
    sigset_t mask;

    qemu_tune_malloc();
    error_init(argv[0]);
    bdrv_set_message_handler(tool_print_block_message);
    if (!parse_args(argc, argv, &o)) {
        return o.exit_code;
    }
    if (o.list) {
        /* -k wins over -b/-p, as where we would listen */
        return qemu_nbd_list(o.sockpath, o.bindto ? o.bindto : "0.0.0.0",
                             o.port ? o.port : NBD_DEFAULT_PORT_STR);
    }
    if (o.fork_process) {
        fork_server();
    }
    /* SIGTERM, SIGINT, SIGHUP end the server cleanly (images closed) */
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    s.sig_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    qemu_get_aio_context();
    aio_run_coroutine(qemu_nbd_serve, &s);
    return o.exit_code;
}
