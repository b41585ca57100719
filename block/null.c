/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * null-co and null-aio: a node of a given size (default 1 GiB) whose
 * writes vanish and whose reads leave the buffer as it is, or give zeroes
 * with read-zeroes=on; latency-ns delays each request.  QEMU's tests and
 * benchmarks use it as a source or sink with no storage behind it.  The
 * two names are one driver here (both complete in a coroutine).
 */
#include "util/osdep.h"
#include "block/driver.h"
#include "util/coroutine.h"
#include "util/json.h"
#include "util/cutils.h"

typedef struct BDRVNullState {
    int64_t length;
    int64_t latency_ns;
    bool read_zeroes;
} BDRVNullState;

static bool null_check_filename(const char *filename, const char *proto,
                                Error **errp)
{
    g_autofree char *only = g_strdup_printf("%s://", proto);

    if (strcmp(filename, only)) {
        error_setg(errp, "The only allowed filename for this driver is '%s'",
                   only);
        return false;
    }
    return true;
}

static bool null_co_parse_filename(const char *filename, QDict *options,
                                   Error **errp)
{
    return null_check_filename(filename, "null-co", errp);
}

static bool null_aio_parse_filename(const char *filename, QDict *options,
                                    Error **errp)
{
    return null_check_filename(filename, "null-aio", errp);
}

static bool coroutine_fn null_co_open(BlockDriverState *bs, QDict *options,
                                      int flags, Error **errp)
{
    BDRVNullState *s = bs->opaque;
    g_autoptr(GString) name = g_string_new(NULL);
    g_autoptr(QObject) shown = qdict_new();
    g_autofree char *latency = NULL;
    uint64_t size = 1 << 30;
    g_autofree char *size_text = NULL;
    bool named_by_options, zeroes_given;

    /* as 7.2 names it: by its URL unless an option changes what it is */
    size_text = g_strdup(qdict_get_try_str(options, "size"));
    zeroes_given = qdict_haskey(options, "read-zeroes");
    named_by_options = size_text || zeroes_given;
    if (!bdrv_opt_take_size(options, "size", &size, NULL, errp) ||
        !bdrv_opt_take_bool(options, "read-zeroes", &s->read_zeroes, errp)) {
        return false;
    }
    if (size > INT64_MAX) {
        error_setg(errp, "Parameter 'size' expects a non-negative number "
                   "below 2^63");
        return false;
    }
    s->length = size;
    latency = bdrv_opt_take_str(options, "latency-ns");
    if (latency) {
        if (qemu_strtoi64(latency, NULL, 0, &s->latency_ns) < 0) {
            error_setg(errp, "Parameter 'latency-ns' expects a number");
            return false;
        }
        if (s->latency_ns < 0) {
            error_setg(errp, "latency-ns is invalid");
            return false;
        }
    }
    g_free(bs->filename);
    if (named_by_options) {
        /*
         * The options given, latency aside (it changes no data).  Values
         * come here as text: a plain number and a boolean are shown as
         * the JSON they most likely were, as 7.2 shows json: options.
         */
        qdict_put_str(shown, "driver", bs->drv->format_name);
        if (size_text) {
            if (size_text[strspn(size_text, "0123456789")]) {
                qdict_put_str(shown, "size", size_text);
            } else {
                qdict_put_int(shown, "size", s->length);
            }
        }
        if (zeroes_given) {
            qdict_put_bool(shown, "read-zeroes", s->read_zeroes);
        }
        g_string_append(name, "json:");
        json_write(name, shown, JSON_QEMU_ORDER, 0);
        bs->filename = g_strdup(name->str);
    } else {
        bs->filename = g_strdup_printf("%s://", bs->drv->format_name);
    }
    bs->supported_write_flags = BDRV_REQ_FUA;
    return true;
}

static int coroutine_fn null_wait(BlockDriverState *bs)
{
    BDRVNullState *s = bs->opaque;

    if (s->latency_ns) {
        qemu_co_sleep_ns(s->latency_ns);
    }
    return 0;
}

static int coroutine_fn null_co_preadv(BlockDriverState *bs, int64_t offset,
                                       int64_t bytes, QEMUIOVector *qiov,
                                       BdrvRequestFlags flags)
{
    BDRVNullState *s = bs->opaque;

    if (s->read_zeroes) {
        qemu_iovec_memset(qiov, 0, 0, bytes);
    }
    return null_wait(bs);
}

static int coroutine_fn null_co_pwritev(BlockDriverState *bs, int64_t offset,
                                        int64_t bytes, QEMUIOVector *qiov,
                                        BdrvRequestFlags flags)
{
    return null_wait(bs);
}

static int coroutine_fn null_co_flush(BlockDriverState *bs)
{
    return null_wait(bs);
}

static int coroutine_fn null_co_block_status(BlockDriverState *bs,
                                             bool want_zero, int64_t offset,
                                             int64_t bytes, int64_t *pnum,
                                             int64_t *map,
                                             BlockDriverState **file)
{
    BDRVNullState *s = bs->opaque;

    *pnum = bytes;
    *map = offset;
    *file = bs;
    return BDRV_BLOCK_OFFSET_VALID | (s->read_zeroes ? BDRV_BLOCK_ZERO : 0);
}

static int64_t coroutine_fn null_co_getlength(BlockDriverState *bs)
{
    return ((BDRVNullState *)bs->opaque)->length;
}

static int64_t coroutine_fn null_co_allocated(BlockDriverState *bs)
{
    return 0;
}

#define NULL_DRIVER(name, parse)                                \
    .format_name = name,                                        \
    .protocol_name = name,                                      \
    .instance_size = sizeof(BDRVNullState),                     \
    .canonical_filename = true,                                 \
    .parse_filename = parse,                                    \
    .co_open = null_co_open,                                    \
    .co_preadv = null_co_preadv,                                \
    .co_pwritev = null_co_pwritev,                              \
    .co_flush_to_disk = null_co_flush,                          \
    .co_block_status = null_co_block_status,                    \
    .co_getlength = null_co_getlength,                          \
    .co_get_allocated_file_size = null_co_allocated

const BlockDriver bdrv_null_co = { NULL_DRIVER("null-co",
                                               null_co_parse_filename) };
const BlockDriver bdrv_null_aio = { NULL_DRIVER("null-aio",
                                                null_aio_parse_filename) };
