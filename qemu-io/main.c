/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu-io: parse options, open the image, run the -c commands (or read
 * commands from standard input with a "qemu-io> " prompt), then close.
 * The whole program body runs in one coroutine so that commands can wait
 * for I/O; aio_read/aio_write requests run in coroutines of their own.
 */
#include "util/osdep.h"
#include "tool-messages.h"
#include "util/progress.h"
#include "qemu-io.h"
#include "block/driver.h"
#include "util/aio.h"
#include "util/keyval.h"
#include "util/secret.h"

#include <getopt.h>

typedef struct QemuIoMain {
    int argc;
    char **argv;
    int exit_code;
} QemuIoMain;

static void usage(const char *name)
{
    printf(
"Usage: %s [OPTIONS]... [-c STRING]... [file]\n"
"QEMU Disk exerciser\n"
"\n"
"  --object OBJECTDEF   define an object such as 'secret' for\n"
"                       passwords and/or encryption keys\n"
"  --image-opts         treat file as option string\n"
"  -c, --cmd STRING     execute command with its arguments\n"
"                       from the given string\n"
"  -f, --format FMT     specifies the block driver to use\n"
"  -r, --read-only      export read-only\n"
"  -s, --snapshot       use snapshot file\n"
"  -n, --nocache        disable host cache, short for -t none\n"
"  -C, --copy-on-read   enable copy-on-read\n"
"  -m, --misalign       misalign allocations for O_DIRECT\n"
"  -k, --native-aio     use kernel AIO implementation\n"
"                       (Linux only, prefer use of -i)\n"
"  -i, --aio=MODE       use AIO mode (threads, native or io_uring)\n"
"  -t, --cache=MODE     use the given cache mode for the image\n"
"  -d, --discard=MODE   use the given discard mode for the image\n"
"  -T, --trace [[enable=]<pattern>][,events=<file>][,file=<file>]\n"
"                       specify tracing options\n"
"                       see qemu-img(1) man page for full description\n"
"  -U, --force-share    force shared permissions\n"
"  -h, --help           display this help and exit\n"
"  -V, --version        output version information and exit\n"
"\n"
"See '%s -c help' for information on available commands.\n"
"\n"
"See <https://qemu.org/contribute/report-a-bug> for how to report bugs.\n"
"More information on the QEMU project at <https://qemu.org>.\n",
    name, name);
}

/* What the current image was opened with, for reopen. */
static char *open_name;
static QDict *open_opts;
static int open_flags;

int qemuio_open_flags(void)
{
    return open_flags;
}

static void remember_open(const char *name, QDict *opts, int flags)
{
    g_free(open_name);
    qobject_unref(open_opts);
    open_name = g_strdup(name);
    open_opts = qdict_clone_shallow(opts);
    open_flags = flags;
}

int coroutine_fn qemuio_openfile(const char *name, QDict *opts, int flags,
                                 bool writethrough)
{
    Error *err = NULL;
    const char *warning;

    if (qemuio_blk) {
        error_report("file open already, try 'help close'");
        qobject_unref(opts);
        return -EBUSY;
    }
    remember_open(name, opts, flags);
    qemuio_blk = blk_co_new_open(name, opts, flags, &err);
    if (!qemuio_blk) {
        error_prepend(&err, "can't open%s%s: ", name ? " device " : "",
                      name ? name : "");
        error_report_err(err);
        return -EINVAL;
    }
    warning = bdrv_get_open_warning(blk_bs(qemuio_blk));
    if (warning) {
        fprintf(stderr, "%s\n", warning);
    }
    blk_set_enable_write_cache(qemuio_blk, !writethrough);
    return 0;
}

/*
 * The node @key's prefix leads to ("file.node-name": the file child of
 * the root), or NULL.
 */
static BlockDriverState *node_of_key(BlockDriverState *bs, const char *key)
{
    g_auto(GStrv) parts = g_strsplit(key, ".", -1);
    int i;

    for (i = 0; bs && parts[i] && parts[i + 1]; i++) {
        BdrvChild *c;
        BlockDriverState *next = NULL;

        QTAILQ_FOREACH(c, &bs->children, next) {
            if (!strcmp(c->name, parts[i])) {
                next = c->bs;
            }
        }
        bs = next;
    }
    return bs;
}

/*
 * As 7.2, a reopen may not change a node's driver or name: the same value
 * is accepted, another one (or one where none was given) refused.
 */
static bool check_unchanged(QDict *changes, Error **errp)
{
    size_t i;

    for (i = 0; i < qdict_size(changes); i++) {
        const char *key = qdict_key_at(changes, i);
        const char *last = strrchr(key, '.') ? strrchr(key, '.') + 1 : key;
        const char *val = qdict_get_try_str(changes, key);
        const char *cur = NULL;
        BlockDriverState *bs;

        if (strcmp(last, "driver") && strcmp(last, "node-name")) {
            continue;
        }
        if (!strcmp(last, "node-name")) {
            cur = qdict_get_try_str(open_opts, key);
        } else if ((bs = node_of_key(blk_bs(qemuio_blk), key)) && bs->drv) {
            cur = bs->drv->format_name;
        }
        if (!cur || !val || strcmp(cur, val)) {
            error_setg(errp, "Cannot change the option '%s'", last);
            return false;
        }
    }
    return true;
}

int coroutine_fn qemuio_reopen(QDict *changes, int flags, bool writethrough)
{
    g_autoptr(QObject) merged = NULL;
    Error *err = NULL;
    BlockBackend *blk;
    bool old_wce;
    size_t i;

    if (open_flags & BDRV_O_SNAPSHOT) {
        /* closing would drop the temporary overlay and what was written */
        error_report("reopen is not supported in snapshot mode (-s)");
        return -ENOTSUP;
    }
    if (!check_unchanged(changes, &err)) {
        error_report_err(err);
        return -EINVAL;
    }
    merged = qdict_clone_shallow(open_opts);
    bdrv_join_options(blk_bs(qemuio_blk), changes, (QDict *)merged);
    for (i = 0; i < qdict_size(changes); i++) {
        const char *key = qdict_key_at(changes, i);
        qdict_put_str(merged, key, qdict_get_try_str(changes, key));
    }
    /* the old image closes first: it holds the locks the new one takes */
    old_wce = blk_enable_write_cache(qemuio_blk);
    blk_co_drain(qemuio_blk);
    blk_unref(qemuio_blk);
    qemuio_blk = NULL;
    blk = blk_co_new_open(open_name, qdict_clone_shallow(merged), flags, &err);
    if (!blk) {
        error_report_err(err);
        err = NULL;
        qemuio_blk = blk_co_new_open(open_name, qdict_clone_shallow(open_opts),
                                     open_flags, &err);
        if (!qemuio_blk) {
            error_report_err(err);
        } else {
            blk_set_enable_write_cache(qemuio_blk, old_wce);
        }
        return -EINVAL;
    }
    qemuio_blk = blk;
    qobject_unref(open_opts);
    open_opts = (QDict *)g_steal_pointer(&merged);
    open_flags = flags;
    blk_set_enable_write_cache(qemuio_blk, !writethrough);
    return 0;
}

static void stdin_ready(void *opaque)
{
    Coroutine *co = opaque;

    aio_set_fd_handler(qemu_get_aio_context(), STDIN_FILENO, NULL, NULL,
                       NULL);
    aio_co_wake(co);
}

/* Wait (letting aio requests progress) until a line can be read. */
static char *coroutine_fn fetch_line(void)
{
    GString *line = g_string_new(NULL);
    int c;

    aio_set_fd_handler(qemu_get_aio_context(), STDIN_FILENO, stdin_ready,
                       NULL, qemu_coroutine_self());
    qemu_coroutine_yield();
    while ((c = getchar()) != EOF && c != '\n') {
        g_string_append_c(line, (char)c);
    }
    if (c == EOF && line->len == 0) {
        g_string_free(line, TRUE);
        return NULL;
    }
    return g_string_free(line, FALSE);
}

static int coroutine_fn command_loop(GPtrArray *cmds)
{
    int last_error = 0, ret;
    guint i;

    for (i = 0; !qemuio_quit && i < cmds->len; i++) {
        ret = qemuio_command(g_ptr_array_index(cmds, i));
        if (ret < 0) {
            last_error = ret;
        }
    }
    if (cmds->len) {
        return last_error;
    }
    while (!qemuio_quit) {
        g_autofree char *input = NULL;

        printf("qemu-io> ");
        fflush(stdout);
        input = fetch_line();
        if (!input) {
            break;
        }
        ret = qemuio_command(input);
        if (ret < 0) {
            last_error = ret;
        }
    }
    return last_error;
}

enum {
    OPTION_OBJECT = 256,
    OPTION_IMAGE_OPTS,
};

/* Long: one getopt switch over qemu-io's options, then the run. */
static void coroutine_fn qemuio_main(void *opaque)
{
    static const struct option long_options[] = {
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { "cmd", required_argument, NULL, 'c' },
        { "format", required_argument, NULL, 'f' },
        { "read-only", no_argument, NULL, 'r' },
        { "snapshot", no_argument, NULL, 's' },
        { "nocache", no_argument, NULL, 'n' },
        { "copy-on-read", no_argument, NULL, 'C' },
        { "misalign", no_argument, NULL, 'm' },
        { "native-aio", no_argument, NULL, 'k' },
        { "aio", required_argument, NULL, 'i' },
        { "discard", required_argument, NULL, 'd' },
        { "cache", required_argument, NULL, 't' },
        { "trace", required_argument, NULL, 'T' },
        { "object", required_argument, NULL, OPTION_OBJECT },
        { "image-opts", no_argument, NULL, OPTION_IMAGE_OPTS },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 }
    };
    QemuIoMain *m = opaque;
    int argc = m->argc;
    char **argv = m->argv;
    const char *progname = error_get_progname();
    g_autoptr(GPtrArray) cmds = g_ptr_array_new();
    g_autoptr(QObject) opts = qdict_new();
    const char *format = NULL;
    bool readonly = false, writethrough = true, image_opts = false;
    bool force_share = false;
    int flags = BDRV_O_UNMAP;
    int c, ret;

    while ((c = getopt_long(argc, argv, "-hVc:d:f:rsnCmki:t:T:U",
                            long_options, NULL)) != -1) {
        switch (c) {
        case 1:
            /* a non-option argument: the file, kept for later */
            if (qdict_haskey(opts, "x-file")) {
                usage(progname);
                m->exit_code = 1;
                return;
            }
            qdict_put_str(opts, "x-file", optarg);
            break;
        case 'V':
            printf("%s version " QEMU_VERSION " (qemu-block-tools)\n"
                   "Copyright (c) 2003-2022 Fabrice Bellard and the QEMU "
                   "Project developers\n", progname);
            m->exit_code = 0;
            return;
        case 'h':
            usage(progname);
            m->exit_code = 0;
            return;
        case 'c':
            g_ptr_array_add(cmds, optarg);
            break;
        case 'd':
            if (!bdrv_parse_discard_flags(optarg, &flags)) {
                error_report("Invalid discard option: %s", optarg);
                m->exit_code = 1;
                return;
            }
            break;
        case 'f':
            format = optarg;
            break;
        case 'r':
            readonly = true;
            break;
        case 'n':
            flags |= BDRV_O_NOCACHE;
            writethrough = false;
            break;
        case 'm':
            qemuio_misalign = true;
            break;
        case 'k':
            flags |= BDRV_O_NATIVE_AIO;
            break;
        case 'i':
            if (!bdrv_parse_aio(optarg, &flags)) {
                error_report("Invalid aio option: %s", optarg);
                m->exit_code = 1;
                return;
            }
            break;
        case 't':
            if (!bdrv_parse_cache_mode(optarg, &flags, &writethrough)) {
                error_report("Invalid cache option: %s", optarg);
                m->exit_code = 1;
                return;
            }
            break;
        case 'U':
            force_share = true;
            break;
        case 's':
            flags |= BDRV_O_SNAPSHOT;
            break;
        case 'C':
            flags |= BDRV_O_COPY_ON_READ;
            break;
        case 'T':
            break;
        case OPTION_OBJECT:
            if (!qemu_object_add_cmdline(optarg)) {
                m->exit_code = 1;
                return;
            }
            break;
        case OPTION_IMAGE_OPTS:
            image_opts = true;
            break;
        default:
            usage(progname);
            m->exit_code = 1;
            return;
        }
    }
    if (format && image_opts) {
        error_report("--image-opts and -f are mutually exclusive");
        m->exit_code = 1;
        return;
    }
    if (!readonly) {
        flags |= BDRV_O_RDWR;
    }
    if (qdict_haskey(opts, "x-file")) {
        g_autofree char *file = g_strdup(qdict_get_try_str(opts, "x-file"));
        QDict *o = qdict_new();
        Error *err = NULL;

        if (image_opts && !keyval_parse_into(&o, file, NULL, &err)) {
            error_report_err(err);
            qobject_unref(o);
            m->exit_code = 1;
            return;
        }
        if (format) {
            qdict_put_str(o, "driver", format);    /* never with image_opts */
        }
        if (force_share) {
            qdict_put_str(o, "force-share", "on");
        }
        ret = qemuio_openfile(image_opts ? NULL : file, o, flags,
                              writethrough);
        if (ret < 0) {
            m->exit_code = 1;
            return;
        }
    }

    ret = command_loop(cmds);
    if (qemuio_blk) {
        blk_co_drain(qemuio_blk);
        blk_unref(qemuio_blk);
        qemuio_blk = NULL;
    }
    m->exit_code = ret < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    QemuIoMain m = { .argc = argc, .argv = argv };

    qemu_tune_malloc();
    qemu_progress_signal_init();
    error_init(argv[0]);
    bdrv_set_message_handler(tool_print_block_message);
    qemu_get_aio_context();
    aio_run_coroutine(qemuio_main, &m);
    fflush(stdout);
    return m.exit_code;
}
