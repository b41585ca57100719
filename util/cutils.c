/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Number parsing and formatting with QEMU's conventions, clocks, aligned
 * memory.  Everything here is pure and thread-safe.
 */
#include "util/osdep.h"
#include "util/cutils.h"

#include <malloc.h>

#include <ctype.h>
#include <math.h>
#include <time.h>

static int suffix_shift(char c)
{
    switch (g_ascii_toupper(c)) {
    case 'B':
        return 0;
    case 'K':
        return 10;
    case 'M':
        return 20;
    case 'G':
        return 30;
    case 'T':
        return 40;
    case 'P':
        return 50;
    case 'E':
        return 60;
    default:
        return -1;
    }
}

int qemu_strtosz_suffix(const char *nptr, const char **end, char default_suffix,
                        uint64_t *result)
{
    const char *p = nptr;
    char *endp;
    uint64_t val;
    double fraction = 0;
    int shift;
    bool hex = false;

    while (g_ascii_isspace(*p)) {
        p++;
    }
    if (*p == '-' || !*p) {
        goto invalid;
    }
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        hex = true;
    }
    errno = 0;
    val = strtoull(p, &endp, hex ? 16 : 10);
    if (endp == p) {
        goto invalid;
    }
    if (errno == ERANGE) {
        if (end) {
            *end = endp;
        }
        return -ERANGE;
    }
    if (*endp == '.' && !hex) {
        char *fend;
        fraction = strtod(endp, &fend);
        if (fend == endp + 1 && !g_ascii_isdigit(endp[1])) {
            /* "1." is accepted as 1 with an empty fraction */
            fraction = 0;
        }
        endp = fend;
    }
    shift = suffix_shift(*endp);
    if (shift >= 0) {
        endp++;
    } else {
        shift = suffix_shift(default_suffix);
        assert(shift >= 0);
    }
    if (fraction != 0 && shift == 0) {
        /* a fraction of a byte makes no sense */
        goto invalid;
    }
    if (end) {
        *end = endp;
    } else if (*endp) {
        goto invalid;
    }
    if (shift && val > (UINT64_MAX >> shift)) {
        return -ERANGE;
    }
    val <<= shift;
    if (fraction != 0) {
        uint64_t extra = (uint64_t)(fraction * (double)(UINT64_C(1) << shift));
        if (val + extra < val) {
            return -ERANGE;
        }
        val += extra;
    }
    if (val > INT64_MAX) {
        return -ERANGE;
    }
    *result = val;
    return 0;

invalid:
    if (end) {
        *end = nptr;
    }
    return -EINVAL;
}

static int check_end(const char *nptr, char *ep, const char **end)
{
    if (ep == nptr) {
        if (end) {
            *end = nptr;
        }
        return -EINVAL;
    }
    if (end) {
        *end = ep;
        return 0;
    }
    return *ep ? -EINVAL : 0;
}

int qemu_strtoi64(const char *nptr, const char **end, int base,
                  int64_t *result)
{
    char *ep;
    long long v;
    int ret;

    if (!nptr) {
        return -EINVAL;
    }
    errno = 0;
    v = strtoll(nptr, &ep, base);
    ret = check_end(nptr, ep, end);
    if (ret == 0 && errno == ERANGE) {
        ret = -ERANGE;
    }
    if (ret == 0) {
        *result = v;
    }
    return ret;
}

int qemu_strtou64(const char *nptr, const char **end, int base,
                  uint64_t *result)
{
    char *ep;
    unsigned long long v;
    int ret;

    if (!nptr) {
        return -EINVAL;
    }
    errno = 0;
    v = strtoull(nptr, &ep, base);
    ret = check_end(nptr, ep, end);
    if (ret == 0 && errno == ERANGE) {
        ret = -ERANGE;
    }
    if (ret == 0) {
        *result = v;
    }
    return ret;
}

int qemu_strtoi(const char *nptr, const char **end, int base, int *result)
{
    int64_t v;
    int ret = qemu_strtoi64(nptr, end, base, &v);

    if (ret == 0 && (v < INT_MIN || v > INT_MAX)) {
        return -ERANGE;
    }
    if (ret == 0) {
        *result = (int)v;
    }
    return ret;
}

char *size_to_str(uint64_t val)
{
    static const char *const units[] = { "", "Ki", "Mi", "Gi", "Ti", "Pi",
                                         "Ei" };
    unsigned i = 0;

    /*
     * Use unit i + 1 once the value reaches 1000 of unit i, so that three
     * significant digits always suffice ("1000 KiB" prints "0.977 MiB").
     */
    while (i + 1 < G_N_ELEMENTS(units) &&
           (double)val >= 1000.0 * (double)(UINT64_C(1) << (10 * i))) {
        i++;
    }
    return g_strdup_printf("%0.3g %sB",
                           (double)val / (double)(UINT64_C(1) << (10 * i)),
                           units[i]);
}

bool strstart(const char *str, const char *prefix, const char **rest)
{
    size_t n = strlen(prefix);

    if (strncmp(str, prefix, n) != 0) {
        return false;
    }
    if (rest) {
        *rest = str + n;
    }
    return true;
}

int64_t get_clock_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * NANOSECONDS_PER_SECOND + ts.tv_nsec;
}

int64_t get_clock_realtime_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec * NANOSECONDS_PER_SECOND + ts.tv_nsec;
}

int qemu_get_ncpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    return n > 0 ? (int)n : 1;
}

void *qemu_memalign(size_t alignment, size_t size)
{
    void *p;
    int ret;

    if (alignment < sizeof(void *)) {
        alignment = sizeof(void *);
    }
    ret = posix_memalign(&p, alignment, size ? size : alignment);
    if (ret) {
        g_error("failed to allocate %zu bytes aligned to %zu", size,
                alignment);
    }
    return p;
}

void qemu_vfree(void *ptr)
{
    free(ptr);
}

/*
 * Requests allocate and free buffers of 4-130 KiB at a high rate (the
 * compressed bytes of every qcow2 cluster read, bounce buffers).  With
 * glibc's default trim threshold (128 KiB) the heap's top is handed back
 * to the kernel and faulted in again over and over: each fault costs a
 * trip through the kernel, and an io_uring read into a not yet faulted
 * buffer cannot complete inline and goes to a kernel worker.  Keeping up
 * to 64 MiB of freed memory took zlib qcow2 -> raw (1 GiB, tmpfs) from
 * 0.81 s to 0.60 s with the same peak RSS: what is freed is reused.
 *
 * Setting the trim threshold also turns off glibc's dynamic mmap
 * threshold, which would otherwise rise to the size of the largest block
 * freed (up to 32 MiB): without it, every allocation over 128 KiB is a
 * fresh mmap, faulted in page by page and unmapped when freed.  libnfs
 * allocates each READ reply (1 MiB) that way: an NFS read of 1 GiB made
 * about 1000 mmap/munmap pairs, each mapping faulted in anew, and took
 * 0.73 s of system time against 0.29 s for 7.2.  So the mmap threshold is set to where
 * glibc's own adjustment would take it.
 */
void qemu_tune_malloc(void)
{
#ifdef __GLIBC__
    mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
#endif
}

bool id_wellformed(const char *id)
{
    const char *p;

    if (!g_ascii_isalpha(*id)) {
        return false;
    }
    for (p = id + 1; *p; p++) {
        if (!g_ascii_isalnum(*p) && !strchr("-._", *p)) {
            return false;
        }
    }
    return true;
}
