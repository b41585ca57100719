/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu-img info: collect an ImageInfo-like dict per image (with QEMU's
 * member names) and print it as 7.2 does, human or JSON, optionally for
 * the whole backing chain.
 */
#include "util/osdep.h"
#include "img.h"
#include "block/driver.h"
#include "block/snapshot.h"
#include "util/cutils.h"
#include "util/json.h"

#include <getopt.h>

static int64_t snap_int(QObject *sn, const char *key)
{
    QObject *v = qdict_get(sn, key);

    return v ? qint_get(v) : -1;
}

void img_dump_snapshots(QObject *list)
{
    size_t i;

    printf("Snapshot list:\n");
    printf("%-10s%-17s%8s%20s%13s%11s\n", "ID", "TAG", "VM SIZE", "DATE",
           "VM CLOCK", "ICOUNT");
    for (i = 0; i < qlist_size(list); i++) {
        QObject *sn = qlist_at(list, i);
        int64_t secs = snap_int(sn, "vm-clock-sec");
        int64_t nsec = snap_int(sn, "vm-clock-nsec");
        g_autoptr(GDateTime) date =
            g_date_time_new_from_unix_local(snap_int(sn, "date-sec"));
        g_autofree char *date_buf = g_date_time_format(date,
                                                       "%Y-%m-%d %H:%M:%S");
        g_autofree char *sizing = size_to_str(snap_int(sn, "vm-state-size"));
        g_autofree char *icount = qdict_haskey(sn, "icount") ?
            g_strdup_printf("%" PRId64, snap_int(sn, "icount")) :
            g_strdup("");
        char clock_buf[64];

        snprintf(clock_buf, sizeof(clock_buf), "%02d:%02d:%02d.%03d",
                 (int)(secs / 3600), (int)((secs / 60) % 60),
                 (int)(secs % 60), (int)((nsec / 1000000) % 1000));
        printf("%-9s %-16s %8s%20s%13s%11s\n",
               qdict_get_try_str(sn, "id"), qdict_get_try_str(sn, "name"),
               sizing, date_buf, clock_buf, icount);
    }
}

static void dump_human(QDict *info)
{
    QObject *v;
    int64_t vsize = qint_get(qdict_get(info, "virtual-size"));
    g_autofree char *vs = size_to_str(vsize);

    printf("image: %s\n", qdict_get_try_str(info, "filename"));
    printf("file format: %s\n", qdict_get_try_str(info, "format"));
    printf("virtual size: %s (%" PRId64 " bytes)\n", vs, vsize);
    v = qdict_get(info, "actual-size");
    if (v) {
        g_autofree char *as = size_to_str(qint_get(v));
        printf("disk size: %s\n", as);
    } else {
        printf("disk size: unavailable\n");
    }
    if (qdict_get(info, "encrypted")) {
        printf("encrypted: yes\n");
    }
    v = qdict_get(info, "cluster-size");
    if (v) {
        printf("cluster_size: %" PRId64 "\n", qint_get(v));
    }
    v = qdict_get(info, "dirty-flag");
    if (v && qbool_get(v)) {
        printf("cleanly shut down: no\n");
    }
    if (qdict_get_try_str(info, "backing-filename")) {
        const char *name = qdict_get_try_str(info, "backing-filename");
        const char *full = qdict_get_try_str(info, "full-backing-filename");
        printf("backing file: %s", name);
        if (full && strcmp(name, full)) {
            printf(" (actual path: %s)", full);
        }
        printf("\n");
    }
    if (qdict_get_try_str(info, "backing-filename-format")) {
        printf("backing file format: %s\n",
               qdict_get_try_str(info, "backing-filename-format"));
    }
    v = qdict_get(info, "snapshots");
    if (v) {
        img_dump_snapshots(v);
    }
    v = qdict_get(info, "format-specific");
    if (v) {
        printf("Format specific information:\n");
        qobject_print_human(qdict_get(v, "data"), 1);
    }
}

static void print_json(QObject *obj)
{
    g_autoptr(GString) out = g_string_new(NULL);

    json_write(out, obj, JSON_PRETTY | JSON_QEMU_ORDER, 0);
    printf("%s\n", out->str);
}

int coroutine_fn img_info(int argc, char **argv)
{
    enum { OPT_OUTPUT = IMG_OPT_PRIVATE, OPT_BACKING_CHAIN };
    static const struct option long_options[] = {
        { "help", no_argument, NULL, 'h' },
        { "format", required_argument, NULL, 'f' },
        { "output", required_argument, NULL, OPT_OUTPUT },
        { "backing-chain", no_argument, NULL, OPT_BACKING_CHAIN },
        { "object", required_argument, NULL, IMG_OPT_OBJECT },
        { "image-opts", no_argument, NULL, IMG_OPT_IMAGE_OPTS },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 }
    };
    OutputFormat ofmt = OFORMAT_HUMAN;
    const char *fmt = NULL, *filename;
    bool chain = false, image_opts = false, force_share = false;
    g_autoptr(QObject) list = qlist_new();
    g_autofree char *next_name = NULL, *next_fmt = NULL;
    GHashTable *seen;
    BlockBackend *blk;
    BlockDriverState *bs;
    Error *err = NULL;
    int c;
    guint i;

    while ((c = getopt_long(argc, argv, ":f:hU", long_options, NULL)) != -1) {
        switch (c) {
        case 'f':
            fmt = optarg;
            break;
        case 'U':
            force_share = true;
            break;
        case OPT_OUTPUT:
            ofmt = img_parse_output_format(optarg);
            break;
        case OPT_BACKING_CHAIN:
            chain = true;
            break;
        default:
            img_common_option(c, argv, &image_opts);
        }
    }
    if (optind != argc - 1) {
        img_error_exit("Expecting one image file name");
    }
    filename = argv[optind];

    /*
     * As 7.2: open each member of the chain on its own (without its
     * backing file), by the name the previous one records.
     */
    seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    next_name = g_strdup(filename);
    next_fmt = fmt ? g_strdup(fmt) : NULL;
    while (next_name) {
        g_autofree char *name = g_steal_pointer(&next_name);
        g_autofree char *ifmt = g_steal_pointer(&next_fmt);
        QDict *info;

        if (g_hash_table_contains(seen, name)) {
            error_report("Backing file '%s' creates an infinite loop.", name);
            g_hash_table_destroy(seen);
            return 1;
        }
        g_hash_table_add(seen, g_strdup(name));
        blk = img_open(image_opts, name, ifmt,
                       BDRV_O_NO_BACKING | BDRV_O_NO_IO, false, false,
                       force_share);
        if (!blk) {
            g_hash_table_destroy(seen);
            return 1;
        }
        bs = blk_bs(blk);
        info = bdrv_co_query_image_info(bs, bdrv_get_filename(bs), &err);
        if (!info) {
            error_report_err(err);
        }
        if (chain && info) {
            next_name = bdrv_get_full_backing_filename(bs);
            next_fmt = g_strdup(bs->backing_format);
        }
        blk_unref(blk);
        if (!info) {
            g_hash_table_destroy(seen);
            return 1;
        }
        qlist_append(list, info);
        image_opts = false;
    }
    g_hash_table_destroy(seen);

    if (ofmt == OFORMAT_JSON) {
        print_json(chain ? list : qlist_at(list, 0));
        return 0;
    }
    for (i = 0; i < qlist_size(list); i++) {
        if (i) {
            printf("\n");
        }
        dump_human(qlist_at(list, i));
    }
    return 0;
}
