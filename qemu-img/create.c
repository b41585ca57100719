/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu-img create: option parsing, "-o help", the "Formatting ..." line
 * and the call into the format driver's create.
 */
#include "util/osdep.h"
#include "img.h"
#include "block/driver.h"
#include "util/keyval.h"

#include <getopt.h>
#include <sys/stat.h>

static const char *opt_type_str(CreateOptType type)
{
    switch (type) {
    case OPT_STRING:
        return "str";
    case OPT_BOOL:
        return "bool (on/off)";
    case OPT_NUMBER:
        return "num";
    case OPT_SIZE:
        return "size";
    }
    g_assert_not_reached();
}

static int cmp_desc(gconstpointer a, gconstpointer b)
{
    const CreateOptDesc *x = *(const CreateOptDesc *const *)a;
    const CreateOptDesc *y = *(const CreateOptDesc *const *)b;

    return strcmp(x->name, y->name);
}

/* Format options, then protocol ones not already listed (QEMU's merge). */
static GPtrArray *merged_opts(const BlockDriver *drv, const BlockDriver *proto)
{
    GPtrArray *list = g_ptr_array_new();
    const CreateOptDesc *d;
    guint i;

    for (d = drv->create_opts; d && d->name; d++) {
        g_ptr_array_add(list, (gpointer)d);
    }
    for (d = proto ? proto->create_opts : NULL; d && d->name; d++) {
        bool dup = false;
        for (i = 0; i < list->len; i++) {
            dup |= !strcmp(((CreateOptDesc *)list->pdata[i])->name, d->name);
        }
        if (!dup) {
            g_ptr_array_add(list, (gpointer)d);
        }
    }
    return list;
}

static void print_opts_help(GPtrArray *list);

void img_print_opt_list(const CreateOptDesc *opts)
{
    g_autoptr(GPtrArray) list = g_ptr_array_new();

    for (; opts && opts->name; opts++) {
        g_ptr_array_add(list, (gpointer)opts);
    }
    print_opts_help(list);
}

static void print_opts_help(GPtrArray *list)
{
    guint i;

    g_ptr_array_sort(list, cmp_desc);
    for (i = 0; i < list->len; i++) {
        const CreateOptDesc *d = list->pdata[i];
        g_autofree char *left = g_strdup_printf("%s=<%s>", d->name,
                                                opt_type_str(d->type));
        printf("  %-22s - %s\n", left, d->help);
    }
}

bool img_has_help_option(const char *options)
{
    g_auto(GStrv) parts = g_strsplit(options, ",", -1);
    int i;

    for (i = 0; parts[i]; i++) {
        if (!strcmp(parts[i], "help") || !strcmp(parts[i], "?")) {
            return true;
        }
    }
    return false;
}

int img_print_create_help(const char *fmt, const char *filename)
{
    const BlockDriver *drv = bdrv_find_format(fmt);
    const BlockDriver *proto = NULL;
    g_autoptr(GPtrArray) list = NULL;

    if (!drv) {
        error_report("Unknown file format '%s'", fmt);
        return 1;
    }
    if (!drv->create_opts) {
        error_report("Format driver '%s' does not support image creation",
                     fmt);
        return 1;
    }
    if (filename) {
        Error *err = NULL;
        proto = bdrv_find_protocol(filename, &err);
        if (!proto) {
            error_report_err(err);
            return 1;
        }
        printf("Supported options:\n");
    } else {
        printf("Supported %s options:\n", fmt);
    }
    list = merged_opts(drv, proto);
    print_opts_help(list);
    if (!filename) {
        printf("\nThe protocol level may support further options.\n"
               "Specify the target filename to include those options.\n");
    }
    return 0;
}

/* "Formatting 'x', fmt=raw size=1048576 ...": set options in list order. */
static void print_formatting(const char *filename, const char *fmt,
                             GPtrArray *list, QDict *opts)
{
    const char *sep = "";
    guint i;

    printf("Formatting '%s', fmt=%s ", filename, fmt);
    for (i = 0; i < list->len; i++) {
        const CreateOptDesc *d = list->pdata[i];
        const char *value = qdict_get_try_str(opts, d->name);
        uint64_t num;

        if (!value) {
            value = d->def_value_str;
        }
        if (!value) {
            continue;
        }
        if ((d->type == OPT_SIZE || d->type == OPT_NUMBER) &&
            qdict_haskey(opts, d->name) &&
            qemu_strtosz(value, NULL, &num) == 0) {
            printf("%s%s=%" PRIu64, sep, d->name, num);
        } else if (d->type == OPT_STRING) {
            /* commas doubled, as in an option string */
            g_auto(GStrv) parts = g_strsplit(value, ",", -1);
            g_autofree char *esc = g_strjoinv(",,", parts);
            printf("%s%s=%s", sep, d->name, esc);
        } else {
            printf("%s%s=%s", sep, d->name, value);
        }
        sep = " ";
    }
    printf("\n");
    fflush(stdout);
}

/* Whether @a and @b name one existing file (by device and inode). */
static bool same_existing_file(const char *a, const char *b)
{
    struct stat sa, sb;

    return stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
           sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/*
 * The backing file options of a new image, checked as 7.2 checks them:
 * never the image itself; opened (metadata only, sharing everything)
 * unless -u, to see it exists, name its format in the hint when -F is
 * missing, and give the new image its size when none was given.
 */
static bool coroutine_fn create_backing_opts(const char *filename,
                                             const char *fmt,
                                             const BlockDriver *drv,
                                             const char *base_filename,
                                             const char *base_fmt,
                                             bool no_backing, QDict *opts,
                                             Error **errp)
{
    const char *backing;
    g_autofree char *full = NULL;
    BlockDriverState *b;
    QDict *bopts;
    int64_t len;
    g_autofree char *num = NULL;

    if (base_filename) {
        if (!drv->supports_backing) {
            error_setg(errp, "Backing file not supported for file format '%s'",
                       fmt);
            return false;
        }
        qdict_put_str(opts, "backing_file", base_filename);
    }
    if (base_fmt) {
        if (!drv->supports_backing) {
            error_setg(errp, "Backing file format not supported for file "
                       "format '%s'", fmt);
            return false;
        }
        qdict_put_str(opts, "backing_fmt", base_fmt);
    }
    backing = qdict_get_try_str(opts, "backing_file");
    base_fmt = qdict_get_try_str(opts, "backing_fmt");
    if (!backing) {
        return true;
    }
    full = bdrv_path_relative_to(filename, backing);
    /* 7.2 compares the names; an existing file is compared by inode too */
    if (!strcmp(filename, backing) || same_existing_file(filename, full)) {
        error_setg(errp, "Error: Trying to create an image with the same "
                   "filename as the backing file");
        return false;
    }
    if (!*backing) {
        error_setg(errp, "Expected backing file name, got empty string");
        return false;
    }
    if (no_backing) {
        if (!base_fmt) {
            error_setg(errp, "Backing file specified without backing format");
            return false;
        }
        return true;
    }
    bopts = qdict_new();
    if (base_fmt) {
        qdict_put_str(bopts, "driver", base_fmt);
    }
    qdict_put_str(bopts, "force-share", "on");
    b = bdrv_co_open(full, bopts, BDRV_O_NO_BACKING | BDRV_O_NO_IO, errp);
    if (!b) {
        error_append_hint(errp, "Could not open backing image.\n");
        return false;
    }
    if (!base_fmt) {
        error_setg(errp, "Backing file specified without backing format");
        /* 7.2's hint has no newline: the exit status follows */
        error_append_hint(errp, "Detected format of %s.",
                          bdrv_get_format_name(b));
        bdrv_unref(b);
        return false;
    }
    if (!qdict_haskey(opts, "size")) {
        len = bdrv_co_getlength(b);
        if (len < 0) {
            error_setg_errno(errp, (int)-len, "Could not get size of '%s'",
                             backing);
            bdrv_unref(b);
            return false;
        }
        num = g_strdup_printf("%" PRId64, len);
        qdict_put_str(opts, "size", num);
    }
    bdrv_unref(b);
    return true;
}

static bool coroutine_fn img_create_image(const char *filename, const char *fmt,
                             const char *base_filename,
                             const char *base_fmt, const char *options,
                             int64_t img_size, bool no_backing, bool quiet,
                             Error **errp)
{
    const BlockDriver *drv, *proto;
    g_autoptr(GPtrArray) list = NULL;
    g_autoptr(QObject) opts = qdict_new();
    Error *local_err = NULL;

    drv = bdrv_find_format(fmt);
    if (!drv) {
        error_setg(errp, "Unknown file format '%s'", fmt);
        return false;
    }
    proto = bdrv_find_protocol(filename, errp);
    if (!proto) {
        return false;
    }
    if (!drv->create_opts || !drv->co_create) {
        error_setg(errp, "Format driver '%s' does not support image creation",
                   drv->format_name);
        return false;
    }
    if (!proto->create_opts) {
        error_setg(errp, "Protocol driver '%s' does not support image "
                   "creation", proto->format_name);
        return false;
    }
    list = merged_opts(drv, proto);
    if (options && !keyval_parse_into(&opts, options, NULL, errp)) {
        return false;
    }
    if (!bdrv_check_create_opts(drv, proto, opts, errp)) {
        return false;
    }
    if (img_size != -1) {
        g_autofree char *num = NULL;
        if (qdict_haskey(opts, "size")) {
            error_setg(errp, "The image size must be specified only once");
            return false;
        }
        num = g_strdup_printf("%" PRId64, img_size);
        qdict_put_str(opts, "size", num);
    }
    if (!create_backing_opts(filename, fmt, drv, base_filename, base_fmt,
                             no_backing, opts, errp)) {
        return false;
    }
    if (!qdict_haskey(opts, "size")) {
        error_setg(errp, "Image creation needs a size parameter");
        return false;
    }
    if (!quiet) {
        print_formatting(filename, fmt, list, opts);
    }
    if (!bdrv_co_create(drv, filename, opts, &local_err)) {
        if (error_get_errno(local_err) == EFBIG) {
            /* as 7.2: more to the point than the driver's failure */
            error_free(local_err);
            error_setg(errp, "The image size is too large for file format "
                       "'%s'%s", fmt, qdict_haskey(opts, "cluster_size") ?
                       " (try using a larger cluster size)" : "");
            return false;
        }
        error_propagate(errp, local_err);
        return false;
    }
    return true;
}

int coroutine_fn img_create(int argc, char **argv)
{
    static const struct option long_options[] = {
        { "help", no_argument, NULL, 'h' },
        { "object", required_argument, NULL, IMG_OPT_OBJECT },
        { NULL, 0, NULL, 0 }
    };
    const char *fmt = "raw", *base_fmt = NULL, *filename, *base = NULL;
    g_autoptr(GString) options = g_string_new(NULL);
    bool quiet = false, help = false, no_backing = false;
    int64_t img_size = -1;
    Error *err = NULL;
    int c;

    while ((c = getopt_long(argc, argv, ":F:b:f:ho:qu", long_options,
                            NULL)) != -1) {
        switch (c) {
        case 'F':
            base_fmt = optarg;
            break;
        case 'b':
            base = optarg;
            break;
        case 'f':
            fmt = optarg;
            break;
        case 'o':
            if (!strcmp(optarg, "help") || !strcmp(optarg, "?")) {
                help = true;
                break;
            }
            if (options->len) {
                g_string_append_c(options, ',');
            }
            g_string_append(options, optarg);
            break;
        case 'q':
            quiet = true;
            break;
        case 'u':
            no_backing = true;
            break;
        default:
            img_common_option(c, argv, NULL);
        }
    }
    if (help) {
        return img_print_create_help(fmt, optind < argc ? argv[optind] : NULL);
    }
    if (optind >= argc) {
        img_error_exit("Expecting image file name");
    }
    filename = argv[optind++];
    if (optind < argc) {
        img_size = img_cvtnum("image size", argv[optind++]);
        if (img_size < 0) {
            return 1;
        }
    }
    if (optind != argc) {
        img_error_exit("Unexpected argument: %s", argv[optind]);
    }
    if (!img_create_image(filename, fmt, base, base_fmt,
                          options->len ? options->str : NULL, img_size,
                          no_backing, quiet, &err)) {
        error_prepend(&err, "%s: ", filename);
        error_report_err(err);
        return 1;
    }
    return 0;
}
