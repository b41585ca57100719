/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for block/io.c through a memory-backed test protocol that
 * demands 4 KiB alignment, caps transfers at 64 KiB and has no zero
 * operation: unaligned reads and writes must be padded (read-modify-
 * write), big requests split, write-zeroes emulated, and concurrent
 * overlapping unaligned writes serialised.
 */
#include "util/osdep.h"
#include "util/aio.h"
#include "block/driver.h"

#define MEM_SIZE (1 * MiB)
#define MEM_ALIGN 4096
#define MEM_MAX_TRANSFER (64 * KiB)

typedef struct MemState {
    uint8_t *data;
    int max_seen;           /* largest request the driver saw */
    int unaligned_seen;     /* requests violating the alignment */
    int in_flight;
    int max_in_flight;
} MemState;

static MemState *mem_state;

static bool coroutine_fn mem_open(BlockDriverState *bs, QDict *options,
                                  int flags, Error **errp)
{
    g_free(bdrv_opt_take_str(options, "filename"));
    mem_state = bs->opaque;
    mem_state->data = g_malloc0(MEM_SIZE);
    return true;
}

static void mem_close(BlockDriverState *bs)
{
    MemState *s = bs->opaque;

    g_free(s->data);
}

static void mem_refresh_limits(BlockDriverState *bs)
{
    bs->bl.request_alignment = MEM_ALIGN;
    bs->bl.max_transfer = MEM_MAX_TRANSFER;
}

static int coroutine_fn mem_rw(BlockDriverState *bs, int64_t offset,
                               int64_t bytes, QEMUIOVector *qiov, bool write)
{
    MemState *s = bs->opaque;

    if (offset % MEM_ALIGN || bytes % MEM_ALIGN) {
        s->unaligned_seen++;
        return -EINVAL;
    }
    s->max_seen = MAX(s->max_seen, (int)bytes);
    s->in_flight++;
    s->max_in_flight = MAX(s->max_in_flight, s->in_flight);
    /* yield once so concurrent requests really overlap in time */
    aio_co_schedule(qemu_get_current_aio_context(), qemu_coroutine_self());
    qemu_coroutine_yield();
    s->in_flight--;
    if (write) {
        qemu_iovec_to_buf(qiov, 0, s->data + offset, bytes);
    } else {
        qemu_iovec_from_buf(qiov, 0, s->data + offset, bytes);
    }
    return 0;
}

static int coroutine_fn mem_preadv(BlockDriverState *bs, int64_t offset,
                                   int64_t bytes, QEMUIOVector *qiov,
                                   BdrvRequestFlags flags)
{
    return mem_rw(bs, offset, bytes, qiov, false);
}

static int coroutine_fn mem_pwritev(BlockDriverState *bs, int64_t offset,
                                    int64_t bytes, QEMUIOVector *qiov,
                                    BdrvRequestFlags flags)
{
    return mem_rw(bs, offset, bytes, qiov, true);
}

static int64_t coroutine_fn mem_getlength(BlockDriverState *bs)
{
    return MEM_SIZE;
}

static const BlockDriver bdrv_mem = {
    .format_name = "test-mem",
    .protocol_name = "test-mem",
    .instance_size = sizeof(MemState),
    .co_open = mem_open,
    .close = mem_close,
    .refresh_limits = mem_refresh_limits,
    .co_preadv = mem_preadv,
    .co_pwritev = mem_pwritev,
    .co_getlength = mem_getlength,
};

typedef struct TestCtx {
    BlockDriverState *bs;
    BdrvChild child;
    int done;
} TestCtx;

static BlockDriverState *new_mem_bs(void)
{
    BlockDriverState *bs = g_new0(BlockDriverState, 1);

    bs->drv = &bdrv_mem;
    bs->opaque = g_malloc0(sizeof(MemState));
    bs->ctx = qemu_get_aio_context();
    bs->refcnt = 1;
    bs->filename = g_strdup("mem");
    QTAILQ_INIT(&bs->children);
    QTAILQ_INIT(&bs->tracked_requests);
    mem_state = bs->opaque;
    mem_state->data = g_malloc0(MEM_SIZE);
    mem_refresh_limits(bs);
    bs->total_bytes = MEM_SIZE;
    bs->open_flags = BDRV_O_RDWR;
    bs->open_started = true;    /* as bdrv_co_open_driver: close frees data */
    return bs;
}

static void coroutine_fn unaligned_co(void *opaque)
{
    TestCtx *t = opaque;
    uint8_t buf[10000], check[12000];
    int i;

    for (i = 0; i < (int)sizeof(buf); i++) {
        buf[i] = i * 7;
    }
    memset(mem_state->data, 0x5a, MEM_SIZE);
    g_assert_cmpint(bdrv_co_pwrite(&t->child, 4095, sizeof(buf), buf, 0), ==,
                    0);
    g_assert_cmpint(bdrv_co_pread(&t->child, 4094, sizeof(check), check, 0),
                    ==, 0);
    g_assert_cmpint(check[0], ==, 0x5a);
    g_assert_cmpmem(check + 1, sizeof(buf), buf, sizeof(buf));
    g_assert_cmpint(check[sizeof(buf) + 1], ==, 0x5a);
    /* a write inside a single block */
    g_assert_cmpint(bdrv_co_pwrite(&t->child, 100, 3, "xyz", 0), ==, 0);
    g_assert_cmpmem(mem_state->data + 99, 5, "\x5a" "xyz" "\x5a", 5);
    g_assert_cmpint(mem_state->unaligned_seen, ==, 0);
}

static void coroutine_fn split_zero_co(void *opaque)
{
    TestCtx *t = opaque;
    uint8_t *big = g_malloc(512 * KiB);

    memset(big, 0x33, 512 * KiB);
    g_assert_cmpint(bdrv_co_pwrite(&t->child, 0, 512 * KiB, big, 0), ==, 0);
    g_assert_cmpint(mem_state->max_seen, <=, MEM_MAX_TRANSFER);
    /* no zero operation: emulated with buffers, still split and padded */
    g_assert_cmpint(bdrv_co_pwrite_zeroes(&t->child, 1000, 300 * KiB, 0), ==,
                    0);
    g_assert_cmpint(mem_state->data[999], ==, 0x33);
    g_assert_true(buffer_is_zero(mem_state->data + 1000, 300 * KiB));
    g_assert_cmpint(mem_state->data[1000 + 300 * KiB], ==, 0x33);
    g_assert_cmpint(mem_state->unaligned_seen, ==, 0);
    /* reads past the end fail cleanly, zero-length ones succeed */
    g_assert_cmpint(bdrv_co_pread(&t->child, -1, 1, big, 0), ==, -EIO);
    g_assert_cmpint(bdrv_co_pread(&t->child, 0, 0, big, 0), ==, 0);
    g_free(big);
}

typedef struct Writer {
    TestCtx *t;
    int64_t offset;
    uint8_t pattern;
} Writer;

static void coroutine_fn writer_co(void *opaque)
{
    Writer *w = opaque;
    uint8_t buf[3000];

    memset(buf, w->pattern, sizeof(buf));
    g_assert_cmpint(bdrv_co_pwrite(&w->t->child, w->offset, sizeof(buf), buf,
                                   0), ==, 0);
    w->t->done++;
}

static void test_run(CoroutineEntry *fn)
{
    TestCtx t = { 0 };

    t.bs = new_mem_bs();
    t.child.bs = t.bs;
    aio_run_coroutine(fn, &t);
    bdrv_unref(t.bs);
}

static void test_unaligned(void)
{
    test_run(unaligned_co);
}

static void test_split_zero(void)
{
    test_run(split_zero_co);
}

/*
 * Unaligned writes into the same 4 KiB block from concurrent coroutines:
 * without serialisation each read-modify-write would undo the others.
 */
static void test_serialising(void)
{
    TestCtx t = { 0 };
    Writer w[4];
    int i;

    t.bs = new_mem_bs();
    t.child.bs = t.bs;
    for (i = 0; i < 4; i++) {
        w[i].t = &t;
        w[i].offset = 8192 + 100 + i * 3000;  /* neighbours share blocks */
        w[i].pattern = 0xa0 + i;
        qemu_coroutine_enter(qemu_coroutine_create(writer_co, &w[i]));
    }
    while (t.done < 4) {
        aio_poll(qemu_get_aio_context(), true);
    }
    for (i = 0; i < 4; i++) {
        uint8_t expect[3000];
        memset(expect, 0xa0 + i, sizeof(expect));
        g_assert_cmpmem(mem_state->data + w[i].offset, 3000, expect, 3000);
    }
    g_assert_cmpint(mem_state->unaligned_seen, ==, 0);
    bdrv_unref(t.bs);
}

/*
 * Block status through a pass-through node (BDRV_BLOCK_RAW, as raw answers)
 * onto a protocol whose status fails: the caller gets the protocol's
 * errno itself.  (The flags io.c strips from an answer once masked a
 * negative errno into another: -EIO came out as -EBADFD.)
 */
static int coroutine_fn fail_block_status(BlockDriverState *bs,
                                          bool want_zero, int64_t offset,
                                          int64_t bytes, int64_t *pnum,
                                          int64_t *map,
                                          BlockDriverState **file)
{
    return -EIO;
}

static int coroutine_fn pass_block_status(BlockDriverState *bs,
                                          bool want_zero, int64_t offset,
                                          int64_t bytes, int64_t *pnum,
                                          int64_t *map,
                                          BlockDriverState **file)
{
    *pnum = bytes;
    *map = offset;
    *file = bs->opaque;
    return BDRV_BLOCK_RAW | BDRV_BLOCK_OFFSET_VALID;
}

static const BlockDriver bdrv_fail_status = {
    .format_name = "test-fail-status",
    .protocol_name = "test-fail-status",
    .co_block_status = fail_block_status,
    .co_getlength = mem_getlength,
};

static const BlockDriver bdrv_pass_status = {
    .format_name = "test-pass-status",
    .co_block_status = pass_block_status,
    .co_getlength = mem_getlength,
};

static BlockDriverState *new_status_bs(const BlockDriver *drv, void *opaque)
{
    BlockDriverState *bs = g_new0(BlockDriverState, 1);

    bs->drv = drv;
    bs->opaque = opaque;
    bs->ctx = qemu_get_aio_context();
    bs->refcnt = 1;
    bs->filename = g_strdup(drv->format_name);
    QTAILQ_INIT(&bs->children);
    QTAILQ_INIT(&bs->tracked_requests);
    bs->bl.request_alignment = 512;
    bs->total_bytes = MEM_SIZE;
    return bs;
}

static void coroutine_fn status_error_co(void *opaque)
{
    BlockDriverState *top = opaque;
    int64_t pnum = -1;

    g_assert_cmpint(bdrv_co_block_status(top, true, 0, MEM_SIZE, &pnum, NULL,
                                         NULL), ==, -EIO);
    g_assert_cmpint(bdrv_co_block_status_above(top, NULL, false, true, 4096,
                                               MEM_SIZE - 4096, &pnum, NULL,
                                               NULL, NULL), ==, -EIO);
}

static void test_status_error(void)
{
    BlockDriverState *bottom = new_status_bs(&bdrv_fail_status, NULL);
    BlockDriverState *top = new_status_bs(&bdrv_pass_status, bottom);

    aio_run_coroutine(status_error_co, top);
    top->opaque = NULL;
    bdrv_unref(top);
    bdrv_unref(bottom);
}

/* ---- the block layer's messages reach the tool's handler only ---- */

static GString *msg_log;

static void log_message(BdrvMessageKind kind, const char *msg)
{
    g_string_append_printf(msg_log, "[%d]%s|", kind, msg);
}

static void test_messages(void)
{
    Error *err = NULL;

    msg_log = g_string_new(NULL);
    /* no handler: dropped */
    bdrv_message(BDRV_MSG_CHECK, "dropped %d", 1);
    bdrv_set_message_handler(log_message);
    bdrv_message(BDRV_MSG_CHECK, "Leaked cluster %d refcount=%d", 5, 1);
    bdrv_error_report("an error: %s", "text");
    bdrv_warn_report("a warning");
    error_setg(&err, "with a hint");
    error_append_hint(&err, "the hint\n");
    bdrv_report_err(g_steal_pointer(&err));
    error_setg(&err, "without one");
    bdrv_report_err(err);
    bdrv_set_message_handler(NULL);
    bdrv_message(BDRV_MSG_TRACE, "dropped again");
    g_assert_cmpstr(msg_log->str, ==,
                    "[1]Leaked cluster 5 refcount=1|[3]an error: text|"
                    "[4]a warning|[3]with a hint\nthe hint|[3]without one|");
    g_string_free(msg_log, TRUE);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qemu_get_aio_context();
    g_test_add_func("/block-io/unaligned-rmw", test_unaligned);
    g_test_add_func("/block-io/split-and-zero-fallback", test_split_zero);
    g_test_add_func("/block-io/serialising-rmw", test_serialising);
    g_test_add_func("/block-io/status-error-through-raw", test_status_error);
    g_test_add_func("/block-io/messages", test_messages);
    return g_test_run();
}
