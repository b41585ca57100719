/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * nfs4-seek.c against servers that answer wrongly: each answer to its
 * first call (EXCHANGE_ID) is broken a different way, and setting up must
 * fail cleanly and in bounded time (the nfs driver then reports data).
 * The working path runs against ganesha in iotest nfs-seek.
 */
#include "util/osdep.h"
#include "util/aio.h"
#include "block/nfs4-seek.h"

#include <netinet/in.h>
#include <pthread.h>

typedef enum {
    ANSWER_CLOSE,               /* hang up */
    ANSWER_HUGE,                /* a record longer than any reply */
    ANSWER_WRONG_XID,
    ANSWER_DENIED,              /* MSG_DENIED */
    ANSWER_TRUNCATED,           /* EXCHANGE_ID "OK" without its result */
    ANSWER_FRAGMENTS,           /* the same in two fragments */
    ANSWER_LONG_TAG,            /* a tag longer than the reply */
    ANSWER_GARBAGE,
    ANSWER_NOTHING,             /* never answer: the timeout */
} Answer;

typedef struct FakeServer {
    int listen_fd;
    Answer answer;
    pthread_t thread;
} FakeServer;

static bool read_full(int fd, uint8_t *p, size_t n)
{
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r <= 0) {
            return false;
        }
        p += r;
        n -= r;
    }
    return true;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = v >> 24;
    p[1] = v >> 16;
    p[2] = v >> 8;
    p[3] = v;
}

static void *fake_server(void *opaque)
{
    FakeServer *f = opaque;
    uint8_t mark[4], *req, rep[64];
    uint32_t len, xid, i;
    size_t n = 0;
    int fd = accept(f->listen_fd, NULL, NULL);

    g_assert_cmpint(fd, >=, 0);
    if (!read_full(fd, mark, 4)) {
        goto out;
    }
    len = ((uint32_t)mark[0] << 24 | mark[1] << 16 | mark[2] << 8 | mark[3]) &
          0x7fffffff;
    g_assert_cmpuint(len, <, 65536);
    req = g_malloc(len);
    g_assert_true(read_full(fd, req, len));
    xid = (uint32_t)req[0] << 24 | req[1] << 16 | req[2] << 8 | req[3];
    g_free(req);

    /* an accepted reply: xid, REPLY, MSG_ACCEPTED, AUTH_NONE, SUCCESS */
    put_be32(rep + 4, f->answer == ANSWER_WRONG_XID ? xid + 1 : xid);
    put_be32(rep + 8, 1);
    put_be32(rep + 12, f->answer == ANSWER_DENIED ? 1 : 0);
    put_be32(rep + 16, 0);
    put_be32(rep + 20, 0);
    put_be32(rep + 24, 0);
    /* COMPOUND4res: OK, empty tag, one result: EXCHANGE_ID OK, then none */
    put_be32(rep + 28, 0);
    put_be32(rep + 32, f->answer == ANSWER_LONG_TAG ? 0x7fffffff : 0);
    put_be32(rep + 36, 1);
    put_be32(rep + 40, 42);
    put_be32(rep + 44, 0);
    n = 48;
    switch (f->answer) {
    case ANSWER_CLOSE:
        goto out;
    case ANSWER_NOTHING:
        /* until the client gives up and closes */
        while (read(fd, mark, 1) > 0) {
        }
        goto out;
    case ANSWER_HUGE:
        put_be32(rep, 0x80000000u | 0x7fffffffu);
        break;
    case ANSWER_GARBAGE:
        for (i = 4; i < n; i++) {
            rep[i] = g_random_int();
        }
        /* fall through */
    default:
        put_be32(rep, 0x80000000u | (uint32_t)(n - 4));
        break;
    }
    if (f->answer == ANSWER_FRAGMENTS) {
        uint8_t m[4];

        put_be32(m, 20);                    /* not the last fragment */
        g_assert_cmpint(write(fd, m, 4), ==, 4);
        g_assert_cmpint(write(fd, rep + 4, 20), ==, 20);
        put_be32(m, 0x80000000u | (uint32_t)(n - 24));
        g_assert_cmpint(write(fd, m, 4), ==, 4);
        g_assert_cmpint(write(fd, rep + 24, n - 24), ==, (ssize_t)(n - 24));
    } else {
        g_assert_cmpint(write(fd, rep, n), ==, (ssize_t)n);
    }
    /* the client closes after its error */
    while (read(fd, mark, 1) > 0) {
    }
out:
    close(fd);
    return NULL;
}

typedef struct SeekTest {
    struct sockaddr_storage addr;
    socklen_t len;
    NFS4Seek *s;
} SeekTest;

static void coroutine_fn open_co(void *opaque)
{
    SeekTest *t = opaque;

    t->s = nfs4_seek_co_open(qemu_get_current_aio_context(), &t->addr, t->len,
                          "/export/f.raw", 42, 0, 0, 300);
}

static void test_answer(gconstpointer data)
{
    FakeServer f = { .answer = GPOINTER_TO_INT(data) };
    SeekTest t = { .len = sizeof(struct sockaddr_in) };
    struct sockaddr_in *sin = (struct sockaddr_in *)&t.addr;
    int64_t start;

    f.listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert_cmpint(bind(f.listen_fd, (struct sockaddr *)sin, t.len), ==, 0);
    g_assert_cmpint(listen(f.listen_fd, 1), ==, 0);
    g_assert_cmpint(getsockname(f.listen_fd, (struct sockaddr *)sin, &t.len),
                    ==, 0);
    pthread_create(&f.thread, NULL, fake_server, &f);

    start = get_clock_ns();
    aio_run_coroutine(open_co, &t);
    g_assert_null(t.s);
    /* the 300 ms timeout bounds even a server that never answers */
    g_assert_cmpint(get_clock_ns() - start, <, 5 * 1000 * 1000 * 1000LL);
    pthread_join(f.thread, NULL);
    close(f.listen_fd);
}

int main(int argc, char **argv)
{
    static const char *const names[] = {
        "close", "huge-record", "wrong-xid", "denied", "truncated",
        "fragments", "long-tag", "garbage", "nothing",
    };
    int i;

    g_test_init(&argc, &argv, NULL);
    qemu_get_aio_context();
    for (i = 0; i < (int)G_N_ELEMENTS(names); i++) {
        g_autofree char *path = g_strdup_printf("/nfs4-seek/broken-answer/%s",
                                                names[i]);
        g_test_add_data_func(path, GINT_TO_POINTER(i), test_answer);
    }
    return g_test_run();
}
