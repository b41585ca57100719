/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu-io commands.  Output formats (reports, dumps, error lines) follow
 * QEMU 7.2's qemu-io byte for byte because iotests and user scripts parse
 * them; only the timing figures vary.  Each command returns 0 or -errno.
 */
#include "util/osdep.h"
#include "qemu-io.h"
#include "cmds-int.h"
#include "block/driver.h"
#include "util/cutils.h"
#include "util/json.h"
#include "util/keyval.h"

#include <ctype.h>
#include <getopt.h>
#include <signal.h>
#include <time.h>

#define CMD_NOFILE_OK 0x01
#define CMD_FLAG_GLOBAL 0x02
#define CMD_PERM_WRITE 0x04

typedef int coroutine_fn CmdFunc(int argc, char **argv);

typedef struct CmdInfo {
    const char *name;
    const char *altname;
    CmdFunc *func;
    int argmin;
    int argmax;         /* -1: unlimited */
    int flags;
} CmdInfo;

BlockBackend *qemuio_blk;
bool qemuio_misalign;
bool qemuio_quit;


/* ---- truncate, length, info, discard ---- */

static int coroutine_fn truncate_f(int argc, char **argv)
{
    Error *local_err = NULL;
    PreallocMode prealloc = PREALLOC_MODE_OFF;
    int64_t offset;
    int c, ret;

    while ((c = getopt(argc, argv, "m:")) != -1) {
        switch (c) {
        case 'm':
            if (!prealloc_mode_parse(optarg, &prealloc, NULL)) {
                error_report("Invalid preallocation mode '%s'", optarg);
                return -EINVAL;
            }
            break;
        default:
            return usage_of("truncate");
        }
    }
    if (optind != argc - 1) {
        return usage_of("truncate");
    }
    offset = cvtnum_arg(argv[optind]);
    if (offset < 0) {
        return offset;
    }
    /* exact=false: a protocol may keep a larger size (block devices) */
    ret = blk_co_truncate(qemuio_blk, offset, false, prealloc, 0, &local_err);
    if (ret < 0) {
        error_report_err(local_err);
        return ret;
    }
    return 0;
}

static int coroutine_fn length_f(int argc, char **argv)
{
    int64_t size = blk_co_getlength(qemuio_blk);
    char s1[64];

    if (size < 0) {
        printf("getlength: %s\n", strerror(-size));
        return size;
    }
    cvtstr(size, s1, sizeof(s1));
    printf("%s\n", s1);
    return 0;
}

static int coroutine_fn info_f(int argc, char **argv)
{
    BlockDriverState *bs = blk_bs(qemuio_blk);
    BlockDriverInfo bdi;
    char s1[64], s2[64];
    Error *err = NULL;
    QDict *spec;
    int ret;

    /* as 7.2: a protocol driver's name is printed twice, once per role */
    printf("format name: %s\n", bs->drv->format_name);
    if (bs->drv->protocol_name) {
        printf("format name: %s\n", bs->drv->protocol_name);
    }
    ret = bdrv_get_info(bs, &bdi);
    if (ret) {
        return ret;
    }
    cvtstr(bdi.cluster_size, s1, sizeof(s1));
    cvtstr(bdi.vm_state_offset, s2, sizeof(s2));
    printf("cluster size: %s\n", s1);
    printf("vm state offset: %s\n", s2);
    spec = bdrv_get_specific_info(bs, &err);
    if (err) {
        error_report_err(err);
        return -EIO;
    }
    if (spec) {
        printf("Format specific information:\n");
        qobject_print_human(qdict_get(spec, "data"), 1);
        qobject_unref(spec);
    }
    return 0;
}

static int coroutine_fn discard_f(int argc, char **argv)
{
    struct timespec t1, t2;
    bool Cflag = false, qflag = false;
    int64_t offset, bytes;
    int c, ret;

    while ((c = getopt(argc, argv, "Cq")) != -1) {
        switch (c) {
        case 'C':
            Cflag = true;
            break;
        case 'q':
            qflag = true;
            break;
        default:
            return usage_of("discard");
        }
    }
    if (optind != argc - 2) {
        return usage_of("discard");
    }
    ret = parse_off_len(argv, &offset, &bytes);
    if (ret < 0) {
        return ret;
    }
    now(&t1);
    ret = blk_co_pdiscard(qemuio_blk, offset, bytes);
    now(&t2);
    if (ret < 0) {
        printf("discard failed: %s\n", strerror(-ret));
        return ret;
    }
    if (!qflag) {
        t2 = tsub(t2, t1);
        print_report("discard", &t2, offset, bytes, bytes, 1, Cflag);
    }
    return 0;
}

/* ---- alloc, map ---- */

static int coroutine_fn alloc_f(int argc, char **argv)
{
    BlockDriverState *bs = blk_bs(qemuio_blk);
    int64_t offset, start, remaining, count, num, sum_alloc = 0;
    char s1[64];
    int ret;

    start = offset = cvtnum(argv[1]);
    if (offset < 0) {
        print_cvtnum_err(offset, argv[1]);
        return offset;
    }
    if (argc == 3) {
        count = cvtnum(argv[2]);
        if (count < 0) {
            print_cvtnum_err(count, argv[2]);
            return count;
        }
    } else {
        count = BDRV_SECTOR_SIZE;
    }
    remaining = count;
    while (remaining) {
        ret = bdrv_co_is_allocated(bs, offset, remaining, &num);
        if (ret < 0) {
            printf("is_allocated failed: %s\n", strerror(-ret));
            return ret;
        }
        offset += num;
        remaining -= num;
        if (ret) {
            sum_alloc += num;
        }
        if (num == 0) {
            count -= remaining;
            remaining = 0;
        }
    }
    cvtstr(start, s1, sizeof(s1));
    printf("%" PRId64 "/%" PRId64 " bytes allocated at offset %s\n",
           sum_alloc, count, s1);
    return 0;
}

/* Allocation status of the longest run starting at @offset. */
static int coroutine_fn map_is_allocated(BlockDriverState *bs, int64_t offset,
                                         int64_t bytes, int64_t *pnum)
{
    int64_t num;
    int ret, firstret;

    /* as QEMU: allocation in the top layer only */
    ret = bdrv_co_is_allocated(bs, offset, MIN(bytes, BDRV_REQUEST_MAX_BYTES),
                               &num);
    if (ret < 0) {
        return ret;
    }
    firstret = ret;
    *pnum = num;
    while (bytes > 0 && ret == firstret) {
        offset += num;
        bytes -= num;
        ret = bdrv_co_is_allocated(bs, offset,
                                   MIN(bytes, BDRV_REQUEST_MAX_BYTES), &num);
        if (ret == firstret && num) {
            *pnum += num;
        } else {
            break;
        }
    }
    return firstret;
}

static int coroutine_fn map_f(int argc, char **argv)
{
    int64_t offset = 0, bytes, num;
    char s1[64], s2[64];
    int ret;

    bytes = blk_co_getlength(qemuio_blk);
    if (bytes < 0) {
        error_report("Failed to query image length: %s", strerror(-bytes));
        return bytes;
    }
    while (bytes) {
        ret = map_is_allocated(blk_bs(qemuio_blk), offset, bytes, &num);
        if (ret < 0) {
            error_report("Failed to get allocation status: %s",
                         strerror(-ret));
            return ret;
        } else if (!num) {
            error_report("Unexpected end of image");
            return -EIO;
        }
        cvtstr(num, s1, sizeof(s1));
        cvtstr(offset, s2, sizeof(s2));
        printf("%s (0x%" PRIx64 ") bytes %s at offset %s (0x%" PRIx64 ")\n",
               s1, num, ret ? "    allocated" : "not allocated", s2, offset);
        offset += num;
        bytes -= num;
    }
    return 0;
}

/* ---- open, close, quit, sleep, help, abort, sigraise ---- */

static int coroutine_fn open_f(int argc, char **argv)
{
    int flags = BDRV_O_UNMAP;
    bool readonly = false, writethrough = true;
    g_autoptr(QObject) opts = qdict_new();
    Error *err = NULL;
    int c, ret;

    while ((c = getopt(argc, argv, "snCro:ki:t:d:U")) != -1) {
        switch (c) {
        case 'U':
            qdict_put_str(opts, "force-share", "on");
            break;
        case 's':
            flags |= BDRV_O_SNAPSHOT;
            break;
        case 'C':
            flags |= BDRV_O_COPY_ON_READ;
            break;
        case 'n':
            flags |= BDRV_O_NOCACHE;
            writethrough = false;
            break;
        case 'r':
            readonly = true;
            break;
        case 'k':
            flags |= BDRV_O_NATIVE_AIO;
            break;
        case 't':
            if (!bdrv_parse_cache_mode(optarg, &flags, &writethrough)) {
                error_report("Invalid cache option: %s", optarg);
                return -EINVAL;
            }
            break;
        case 'd':
            if (!bdrv_parse_discard_flags(optarg, &flags)) {
                error_report("Invalid discard option: %s", optarg);
                return -EINVAL;
            }
            break;
        case 'i':
            if (!bdrv_parse_aio(optarg, &flags)) {
                error_report("Invalid aio option: %s", optarg);
                return -EINVAL;
            }
            break;
        case 'o':
            if (!keyval_parse_into(&opts, optarg, NULL, &err)) {
                error_report_err(err);
                return -EINVAL;
            }
            break;
        default:
            return usage_of("open");
        }
    }
    if (!readonly) {
        flags |= BDRV_O_RDWR;
    }
    if (optind == argc - 1) {
        ret = qemuio_openfile(argv[optind], g_steal_pointer(&opts), flags,
                              writethrough);
    } else if (optind == argc) {
        ret = qemuio_openfile(NULL, g_steal_pointer(&opts), flags,
                              writethrough);
    } else {
        return usage_of("open");
    }
    return ret;
}

/*
 * reopen [-r|-w] [-c cache] [-o options]: the image opened again with
 * these changes (7.2 changes the open nodes in place; we close and open,
 * falling back to the old options when the new ones fail).
 */
static int coroutine_fn reopen_f(int argc, char **argv)
{
    static const char *const bools[] = {
        "cache.direct", "cache.no-flush", "auto-read-only",
    };
    const char *ro;
    int flags = qemuio_open_flags();
    bool writethrough = !blk_enable_write_cache(qemuio_blk);
    bool has_rw = false, has_cache = false, b;
    g_autoptr(QObject) changes = qdict_new();
    Error *err = NULL;
    size_t i;
    int c;

    while ((c = getopt(argc, argv, "c:o:rw")) != -1) {
        switch (c) {
        case 'c':
            if (!bdrv_parse_cache_mode(optarg, &flags, &writethrough)) {
                error_report("Invalid cache option: %s", optarg);
                return -EINVAL;
            }
            has_cache = true;
            break;
        case 'o':
            if (!keyval_parse_into(&changes, optarg, NULL, &err)) {
                error_report_err(err);
                return -EINVAL;
            }
            break;
        case 'r':
        case 'w':
            if (has_rw) {
                error_report("Only one -r/-w option may be given");
                return -EINVAL;
            }
            flags = c == 'r' ? flags & ~BDRV_O_RDWR : flags | BDRV_O_RDWR;
            has_rw = true;
            break;
        default:
            return usage_of("reopen");
        }
    }
    if (optind != argc) {
        return usage_of("reopen");
    }
    if (qdict_haskey(changes, "read-only") && has_rw) {
        error_report("Cannot set both -r/-w and 'read-only'");
        return -EINVAL;
    }
    if ((qdict_haskey(changes, "cache.direct") ||
         qdict_haskey(changes, "cache.no-flush")) && has_cache) {
        error_report("Cannot set both -c and the cache options");
        return -EINVAL;
    }
    /* read-only=on|off is -r/-w said as an option: a flag, like them */
    ro = qdict_get_try_str(changes, "read-only");
    if (ro) {
        if (!qemu_parse_bool("read-only", ro, &b, &err)) {
            error_report_err(err);
            return -EINVAL;
        }
        flags = b ? flags & ~BDRV_O_RDWR : flags | BDRV_O_RDWR;
    }
    for (i = 0; i < G_N_ELEMENTS(bools); i++) {
        const char *v = qdict_get_try_str(changes, bools[i]);

        if (v && !qemu_parse_bool(bools[i], v, &b, &err)) {
            error_report_err(err);
            return -EINVAL;
        }
    }
    qdict_del(changes, "read-only");
    return qemuio_reopen(changes, flags, writethrough);
}

static int coroutine_fn close_f(int argc, char **argv)
{
    blk_co_drain(qemuio_blk);
    blk_unref(qemuio_blk);
    qemuio_blk = NULL;
    return 0;
}

static int coroutine_fn quit_f(int argc, char **argv)
{
    qemuio_quit = true;
    return 0;
}

static int coroutine_fn sleep_f(int argc, char **argv)
{
    char *end;
    long ms = strtol(argv[1], &end, 0);

    if (ms < 0 || *end != '\0') {
        printf("%s is not a valid number\n", argv[1]);
        return -EINVAL;
    }
    qemu_co_sleep_ns((int64_t)ms * 1000000);
    return 0;
}

/* ---- breakpoints (blkdebug) ---- */

static int coroutine_fn break_f(int argc, char **argv)
{
    int ret = bdrv_debug_breakpoint(blk_bs(qemuio_blk), argv[1], argv[2]);

    if (ret < 0) {
        printf("Could not set breakpoint: %s\n", strerror(-ret));
    }
    return ret;
}

static int coroutine_fn remove_break_f(int argc, char **argv)
{
    int ret = bdrv_debug_remove_breakpoint(blk_bs(qemuio_blk), argv[1]);

    if (ret < 0) {
        printf("Could not remove breakpoint %s: %s\n", argv[1],
               strerror(-ret));
    }
    return ret;
}

static int coroutine_fn resume_f(int argc, char **argv)
{
    int ret = bdrv_debug_resume(blk_bs(qemuio_blk), argv[1]);

    if (ret < 0) {
        printf("Could not resume request: %s\n", strerror(-ret));
    }
    return ret;
}

/*
 * Let the requests in flight run until one stops under the tag (as 7.2,
 * forever if none does).  The check is cheap; a millisecond's sleep
 * between checks keeps an idle wait off the CPU.
 */
static int coroutine_fn wait_break_f(int argc, char **argv)
{
    while (!bdrv_debug_is_suspended(blk_bs(qemuio_blk), argv[1])) {
        qemu_co_sleep_ns(1000000);
    }
    return 0;
}

static int coroutine_fn abort_f(int argc, char **argv)
{
    abort();
}

static int coroutine_fn sigraise_f(int argc, char **argv)
{
    int64_t sig = cvtnum(argv[1]);

    if (sig < 0) {
        print_cvtnum_err(sig, argv[1]);
        return sig;
    } else if (sig > NSIG) {
        printf("signal argument '%s' is too large to be a valid signal\n",
               argv[1]);
        return -EINVAL;
    }
    fflush(stdout);
    fflush(stderr);
    raise((int)sig);
    return 0;
}

static int coroutine_fn help_f(int argc, char **argv);

/* Sorted by name, as QEMU's table. */
static const CmdInfo cmdtab[] = {
    { "abort", NULL, abort_f, 0, 0, CMD_NOFILE_OK },
    { "aio_flush", NULL, aio_flush_f, 0, 0, 0 },
    { "aio_read", NULL, aio_read_f, 2, -1, 0 },
    { "aio_write", NULL, aio_write_f, 2, -1, CMD_PERM_WRITE },
    { "alloc", "a", alloc_f, 1, 2, 0 },
    { "break", NULL, break_f, 2, 2, 0 },
    { "close", "c", close_f, 0, 0, 0 },
    { "discard", "d", discard_f, 2, -1, CMD_PERM_WRITE },
    { "flush", "f", flush_f, 0, 0, 0 },
    { "help", "?", help_f, 0, 1, CMD_FLAG_GLOBAL },
    { "info", "i", info_f, 0, 0, 0 },
    { "length", "l", length_f, 0, 0, 0 },
    { "map", NULL, map_f, 0, 0, 0 },
    { "open", "o", open_f, 1, -1, CMD_NOFILE_OK },
    { "quit", "q", quit_f, 0, 0, CMD_FLAG_GLOBAL },
    { "read", "r", read_f, 2, -1, 0 },
    { "readv", NULL, readv_f, 2, -1, 0 },
    { "remove_break", NULL, remove_break_f, 1, 1, 0 },
    { "reopen", NULL, reopen_f, 0, -1, 0 },
    { "resume", NULL, resume_f, 1, 1, 0 },
    { "sigraise", NULL, sigraise_f, 1, 1, CMD_NOFILE_OK },
    { "sleep", NULL, sleep_f, 1, 1, CMD_NOFILE_OK },
    { "truncate", "t", truncate_f, 1, 3, CMD_PERM_WRITE },
    { "wait_break", NULL, wait_break_f, 1, 1, 0 },
    { "write", "w", write_f, 2, -1, CMD_PERM_WRITE },
    { "writev", NULL, writev_f, 2, -1, CMD_PERM_WRITE },
};

static const CmdInfo *find_command(const char *name)
{
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(cmdtab); i++) {
        if (!strcmp(cmdtab[i].name, name) ||
            (cmdtab[i].altname && !strcmp(cmdtab[i].altname, name))) {
            return &cmdtab[i];
        }
    }
    return NULL;
}

static void help_oneline(const char *cmd, const QemuIoHelp *h)
{
    printf("%s ", cmd);
    if (h->args) {
        printf("%s ", h->args);
    }
    printf("-- %s\n", h->oneline);
}

static int coroutine_fn help_f(int argc, char **argv)
{
    const CmdInfo *ct;
    const QemuIoHelp *h;
    size_t i;

    if (argc == 1) {
        for (i = 0; i < G_N_ELEMENTS(cmdtab); i++) {
            help_oneline(cmdtab[i].name, find_help(cmdtab[i].name));
        }
        printf("\nUse 'help commandname' for extended help.\n");
        return 0;
    }
    ct = find_command(argv[1]);
    if (!ct) {
        printf("command %s not found\n", argv[1]);
        return -EINVAL;
    }
    h = find_help(ct->name);
    help_oneline(argv[1], h);
    if (h->help) {
        fputs(h->help, stdout);
    }
    return 0;
}

int coroutine_fn qemuio_command(const char *cmdline)
{
    g_auto(GStrv) words = g_strsplit(cmdline, " ", -1);
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    const CmdInfo *ct;
    int argc, i;

    for (i = 0; words[i]; i++) {
        if (*words[i]) {
            g_ptr_array_add(argv, words[i]);
        }
    }
    argc = argv->len;
    if (argc == 0) {
        return 0;
    }
    g_ptr_array_add(argv, NULL);

    ct = find_command(g_ptr_array_index(argv, 0));
    if (!ct) {
        fprintf(stderr, "command \"%s\" not found\n",
                (char *)g_ptr_array_index(argv, 0));
        return -EINVAL;
    }
    if (!(ct->flags & (CMD_FLAG_GLOBAL | CMD_NOFILE_OK)) && !qemuio_blk) {
        fprintf(stderr, "no file open, try 'help open'\n");
        return -EINVAL;
    }
    if (argc - 1 < ct->argmin || (ct->argmax != -1 &&
                                  argc - 1 > ct->argmax)) {
        if (ct->argmax == -1) {
            fprintf(stderr, "bad argument count %d to %s, expected at least "
                    "%d arguments\n", argc - 1,
                    (char *)g_ptr_array_index(argv, 0), ct->argmin);
        } else if (ct->argmin == ct->argmax) {
            fprintf(stderr, "bad argument count %d to %s, expected %d "
                    "arguments\n", argc - 1,
                    (char *)g_ptr_array_index(argv, 0), ct->argmin);
        } else {
            fprintf(stderr, "bad argument count %d to %s, expected between "
                    "%d and %d arguments\n", argc - 1,
                    (char *)g_ptr_array_index(argv, 0), ct->argmin,
                    ct->argmax);
        }
        return -EINVAL;
    }
    if ((ct->flags & CMD_PERM_WRITE) && bdrv_is_read_only(blk_bs(qemuio_blk))) {
        error_report("Block node is read-only");
        return -EPERM;
    }
    optind = 0;
    return ct->func(argc, (char **)argv->pdata);
}
