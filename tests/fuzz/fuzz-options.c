/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target: what parses a user's or an image's text before any file
 * is opened.  json: filenames (parsed, flattened to options, written back
 * and parsed again), option strings (-o, --image-opts), sizes, booleans,
 * cache/aio/discard/preallocation modes and relative backing names.
 */
#include "util/osdep.h"
#include "block/block.h"
#include "block/driver.h"
#include "util/cutils.h"
#include "util/json.h"
#include "util/keyval.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void values(QDict *d)
{
    size_t i;

    for (i = 0; i < qdict_size(d); i++) {
        g_autofree char *v = qobject_to_option_string(qdict_value_at(d, i));
        uint64_t n;
        bool b;
        int flags = 0;
        PreallocMode mode;

        qemu_strtosz(v, NULL, &n);
        qemu_parse_bool(qdict_key_at(d, i), v, &b, NULL);
        bdrv_parse_cache_mode(v, &flags, &b);
        bdrv_parse_aio(v, &flags);
        bdrv_parse_discard_flags(v, &flags);
        prealloc_mode_parse(v, &mode, NULL);
        g_free(bdrv_path_relative_to("dir/image.qcow2", v));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autofree char *text = g_strndup((const char *)data, size);
    g_autoptr(QObject) obj = json_parse(text, NULL);
    QDict *kv = NULL;

    if (obj) {
        g_autoptr(GString) out = g_string_new(NULL);

        if (qobject_type(obj) == QTYPE_DICT) {
            g_autoptr(QObject) flat = qdict_flatten_to_options(obj);

            values(flat);
            qobject_unref(qdict_extract_subdict(flat, "file"));
        }
        json_write(out, obj, JSON_PRETTY | JSON_QEMU_ORDER, 0);
        qobject_unref(json_parse(out->str, NULL));
    }
    if (keyval_parse_into(&kv, text, "driver", NULL)) {
        values(kv);
    }
    qobject_unref(kv);
    return 0;
}
