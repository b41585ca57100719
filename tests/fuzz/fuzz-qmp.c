/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target: the storage daemon's QMP monitor.  The input is what a
 * client sends on a fresh connection (JSON, or not), written to one end
 * of a socket pair whose other end is a monitor; the answers are read
 * and dropped.  The commands run for real, on nodes of the null drivers,
 * raw and qcow2 only: a filter refuses those that would reach the host
 * (file names, sockets, config files, anything with a '/') and sizes
 * beyond 1 GiB.  After each input the daemon's state is torn down as at
 * its exit (jobs cancelled, exports and nodes closed, objects deleted),
 * so that inputs do not see each other.  FUZZ_QMP_VERBOSE=1 shows the
 * answers on stderr.
 */
#include "util/osdep.h"
#include "util/aio.h"
#include "util/coroutine.h"
#include "util/secret.h"
#include "block/job.h"
#include "../../storage-daemon/qmp.h"

#include <fcntl.h>
#include <sys/socket.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* what the daemon's main.c defines */
bool qsd_quit_requested;

void qsd_wake_main(void)
{
}

/* Less than a socket pair buffers: written at once, before the run. */
#define FUZZ_QMP_MAX_INPUT (64 * 1024)

static bool value_allowed(const char *key, QObject *v);

static bool dict_allowed(QDict *d)
{
    size_t i;

    for (i = 0; i < qdict_size(d); i++) {
        if (!value_allowed(qdict_key_at(d, i), qdict_value_at(d, i))) {
            return false;
        }
    }
    return true;
}

/* Nothing that names a host file, a socket or a huge size */
static bool value_allowed(const char *key, QObject *v)
{
    static const char *const keys[] = {
        "filename", "path", "config", "addr", "mountpoint", "host", "port",
        "fd", "x-perf",
    };
    static const char *const drivers[] = {
        "null-co", "null-aio", "raw", "qcow2",
    };
    size_t i;

    for (i = 0; key && i < G_N_ELEMENTS(keys); i++) {
        if (!strcmp(key, keys[i])) {
            return false;
        }
    }
    switch (qobject_type(v)) {
    case QTYPE_STRING:
        if (strchr(qstring_get(v), '/')) {
            return false;
        }
        if (key && !strcmp(key, "driver")) {
            for (i = 0; i < G_N_ELEMENTS(drivers); i++) {
                if (!strcmp(qstring_get(v), drivers[i])) {
                    return true;
                }
            }
            return false;
        }
        /* sizes given as text (null-co's "size": "1G") */
        return !key || strcmp(key, "size") || strlen(qstring_get(v)) < 10;
    case QTYPE_INT:
        return qint_get(v) <= (1 << 30) && qint_get(v) >= -(1 << 30);
    case QTYPE_DICT:
        return dict_allowed((QDict *)v);
    case QTYPE_LIST:
        for (i = 0; i < qlist_size((QList *)v); i++) {
            if (!value_allowed(NULL, qlist_at((QList *)v, i))) {
                return false;
            }
        }
        return true;
    default:
        return true;
    }
}

static bool fuzz_command_allowed(const char *name, QDict *args)
{
    return strcmp(name, "nbd-server-start") && dict_allowed(args);
}

static void fuzz_qmp_drain(void *opaque)
{
    int fd = *(int *)opaque;
    char buf[65536];

    ssize_t n;

    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        /* dropped, or shown to whoever writes a corpus */
        if (getenv("FUZZ_QMP_VERBOSE") && write(2, buf, n) < 0) {
            break;
        }
    }
}

typedef struct FuzzQmp {
    const uint8_t *data;
    size_t size;
} FuzzQmp;

static void coroutine_fn fuzz_qmp_co(void *opaque)
{
    FuzzQmp *f = opaque;
    AioContext *ctx = qemu_get_current_aio_context();
    int sv[2];

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        abort();
    }
    if (write(sv[1], f->data, f->size) != (ssize_t)f->size) {
        abort();
    }
    shutdown(sv[1], SHUT_WR);
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    aio_set_fd_handler(ctx, sv[1], fuzz_qmp_drain, NULL, &sv[1]);
    qmp_set_command_filter(fuzz_command_allowed);
    qmp_add_monitor_fd(sv[0]);
    /* until the monitor has read it all and run the last command */
    while (qmp_monitors_busy()) {
        qemu_co_sleep_ns(100 * 1000);
    }
    /* the daemon's exit */
    qsd_shutdown_exports();
    job_cancel_sync_all();
    qsd_close_all_nodes();
    qmp_cleanup();
    qemu_object_del_all();
    qsd_quit_requested = false;
    aio_set_fd_handler(ctx, sv[1], NULL, NULL, NULL);
    close(sv[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzQmp f = { .data = data, .size = MIN(size, FUZZ_QMP_MAX_INPUT) };

    aio_run_coroutine(fuzz_qmp_co, &f);
    return 0;
}
