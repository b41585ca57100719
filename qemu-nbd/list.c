/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qemu-nbd -L: the exports of another NBD server, printed as 7.2 prints
 * them.  A client of one connection, through libnbd's option mode:
 * NBD_OPT_LIST for the names and descriptions, then for each export
 * NBD_OPT_INFO (size, flags, block sizes) and, with structured replies,
 * NBD_OPT_LIST_META_CONTEXT; NBD_OPT_ABORT at the end.  An oldstyle
 * server has one export, named "".
 */
#include "util/osdep.h"
#include "util/error.h"
#include "list.h"

#ifdef CONFIG_LIBNBD
#include <libnbd.h>

typedef struct Export {
    char *name, *description;
} Export;

/* Export flags (NBD protocol), for the names printed. */
static const char *const flag_names[] = {
    NULL, "readonly", "flush", "fua", "rotational", "trim", "zeroes", "df",
    "multi", "resize", "cache", "fast-zero",
};

static int add_export(void *opaque, const char *name, const char *desc)
{
    GArray *exports = opaque;
    Export e = { g_strdup(name), g_strdup(desc) };

    g_array_append_val(exports, e);
    return 0;
}

static int add_context(void *opaque, const char *name)
{
    g_ptr_array_add(opaque, g_strdup(name));
    return 0;
}

static void clear_export(void *p)
{
    Export *e = p;

    g_free(e->name);
    g_free(e->description);
}

/*
 * The export flags the handshake told, rebuilt from libnbd's view of
 * them (it keeps no raw copy); the resize bit is one it does not report.
 */
static unsigned export_flags(struct nbd_handle *h)
{
    const struct {
        int bit;
        int (*get)(struct nbd_handle *);
    } bits[] = {
        { 1, nbd_is_read_only }, { 2, nbd_can_flush }, { 3, nbd_can_fua },
        { 4, nbd_is_rotational }, { 5, nbd_can_trim }, { 6, nbd_can_zero },
        { 7, nbd_can_df }, { 8, nbd_can_multi_conn }, { 10, nbd_can_cache },
        { 11, nbd_can_fast_zero },
    };
    unsigned flags = 1;         /* NBD_FLAG_HAS_FLAGS: libnbd insists */
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(bits); i++) {
        if (bits[i].get(h) == 1) {
            flags |= 1u << bits[i].bit;
        }
    }
    return flags;
}

/* The contexts of the export being asked about; as 7.2, "qemu:" asked
 * for by name when a server's answer to "all" had none of them. */
static GPtrArray *list_contexts(struct nbd_handle *h)
{
    GPtrArray *ctx = g_ptr_array_new_with_free_func(g_free);
    nbd_context_callback cb = { .callback = add_context, .user_data = ctx };
    guint i;
    bool qemu = false;

    nbd_clear_meta_contexts(h);
    if (nbd_opt_list_meta_context(h, cb) < 0) {
        return ctx;
    }
    for (i = 0; i < ctx->len; i++) {
        qemu |= g_str_has_prefix(g_ptr_array_index(ctx, i), "qemu:");
    }
    if (ctx->len && !qemu && nbd_add_meta_context(h, "qemu:") == 0) {
        nbd_opt_list_meta_context(h, cb);
        nbd_clear_meta_contexts(h);
    }
    return ctx;
}

static void print_export(struct nbd_handle *h, const Export *e, bool info,
                         bool contexts)
{
    printf(" export: '%s'\n", e->name);
    if (e->description && *e->description) {
        printf("  description: %s\n", e->description);
    }
    if (!info) {
        return;
    }
    {
        unsigned flags = export_flags(h);
        int64_t min = nbd_get_block_size(h, LIBNBD_SIZE_MINIMUM);
        size_t bit;

        printf("  size:  %" PRId64 "\n", nbd_get_size(h));
        printf("  flags: 0x%x (", flags);
        for (bit = 0; bit < G_N_ELEMENTS(flag_names); bit++) {
            if (flag_names[bit] && (flags & (1u << bit))) {
                printf(" %s", flag_names[bit]);
            }
        }
        printf(" )\n");
        if (min > 0) {
            printf("  min block: %" PRId64 "\n", min);
            printf("  opt block: %" PRId64 "\n",
                   nbd_get_block_size(h, LIBNBD_SIZE_PREFERRED));
            printf("  max block: %" PRId64 "\n",
                   nbd_get_block_size(h, LIBNBD_SIZE_MAXIMUM));
        }
    }
    if (contexts) {
        g_autoptr(GPtrArray) ctx = list_contexts(h);
        guint i;

        if (ctx->len) {
            printf("  available meta contexts: %u\n", ctx->len);
            for (i = 0; i < ctx->len; i++) {
                printf("   %s\n", (char *)g_ptr_array_index(ctx, i));
            }
        }
    }
}

int qemu_nbd_list(const char *sockpath, const char *host, const char *port)
{
    g_autofree char *where = sockpath ? g_strdup(sockpath)
                                      : g_strdup_printf("%s:%s", host, port);
    g_autoptr(GArray) exports = g_array_new(false, false, sizeof(Export));
    struct nbd_handle *h = nbd_create();
    int ret = 1, r;
    guint i;

    g_array_set_clear_func(exports, clear_export);
    if (!h || nbd_set_opt_mode(h, true) < 0) {
        error_report("%s", nbd_get_error());
        goto out;
    }
    r = sockpath ? nbd_connect_unix(h, sockpath)
                 : nbd_connect_tcp(h, host, port);
    if (r < 0) {
        int err = nbd_get_errno();
        const char *msg = nbd_get_error();

        if (err && msg && (strstr(msg, "connect:") || strstr(msg, "connect_"))) {
            error_report("Failed to connect to '%s': %s", where,
                         g_strerror(err));
        } else {
            error_report("%s", msg ? msg : "connection failed");
        }
        goto out;
    }
    if (!nbd_aio_is_negotiating(h)) {
        /* oldstyle: the one export, told by the handshake */
        Export e = { (char *)"", NULL };

        printf("exports available: 1\n");
        print_export(h, &e, true, false);
        nbd_shutdown(h, 0);
        ret = 0;
        goto out;
    }
    if (nbd_opt_list(h, (nbd_list_callback) { .callback = add_export,
                                              .user_data = exports }) < 0) {
        error_report("%s", nbd_get_error());
        nbd_opt_abort(h);
        goto out;
    }
    printf("exports available: %u\n", exports->len);
    for (i = 0; i < exports->len; i++) {
        Export *e = &g_array_index(exports, Export, i);
        bool info = nbd_set_export_name(h, e->name) == 0 &&
                    nbd_opt_info(h) == 0;

        print_export(h, e, info,
                     info && nbd_get_structured_replies_negotiated(h) == 1);
        if (!info) {
            /* as 7.2: no NBD_OPT_INFO, no more asked of the rest */
            for (i++; i < exports->len; i++) {
                print_export(h, &g_array_index(exports, Export, i), false,
                             false);
            }
            break;
        }
    }
    nbd_opt_abort(h);
    ret = 0;
out:
    if (h) {
        nbd_close(h);
    }
    return ret;
}

#else

int qemu_nbd_list(const char *sockpath, const char *host, const char *port)
{
    error_report("List mode (-L) needs libnbd, which this qemu-nbd was "
                 "built without");
    return 1;
}

#endif
