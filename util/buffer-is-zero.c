/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * buffer_is_zero(): the zero detection convert runs on every byte it
 * copies, so it is worth making fast.  The bulk loop ORs 64-byte blocks
 * with compiler vector types; the AVX2 variant is picked at run time when
 * the CPU has it.  Small or unaligned edges use scalar code.
 */
#include "util/osdep.h"
#include "util/cutils.h"

typedef uint64_t v64x4 __attribute__((vector_size(32)));

static bool scalar_is_zero(const uint8_t *p, size_t len)
{
    uint64_t acc = 0;

    while (len >= 8) {
        uint64_t t;
        memcpy(&t, p, 8);
        acc |= t;
        p += 8;
        len -= 8;
    }
    while (len--) {
        acc |= *p++;
    }
    return acc == 0;
}

/*
 * @p is 32-byte aligned and @len a multiple of 128.  Checks the first
 * block early so that data buffers (the common case in convert) leave
 * after touching one cache line.
 */
#define DEFINE_BULK(name, attr)                                           \
    static attr bool name(const uint8_t *p, size_t len)                   \
    {                                                                     \
        const v64x4 *v = (const v64x4 *)p;                                \
        size_t n = len / sizeof(v64x4);                                   \
        size_t i;                                                         \
        v64x4 z;                                                          \
                                                                          \
        z = v[0] | v[1] | v[2] | v[3];                                    \
        if (z[0] | z[1] | z[2] | z[3]) {                                  \
            return false;                                                 \
        }                                                                 \
        for (i = 4; i < n; i += 4) {                                      \
            z = v[i] | v[i + 1] | v[i + 2] | v[i + 3];                    \
            if (z[0] | z[1] | z[2] | z[3]) {                              \
                return false;                                             \
            }                                                             \
        }                                                                 \
        return true;                                                      \
    }

DEFINE_BULK(bulk_is_zero_sse2, )
DEFINE_BULK(bulk_is_zero_avx2, __attribute__((target("avx2"))))

static bool (*bulk_is_zero)(const uint8_t *, size_t);

static void select_accel(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) {
        bulk_is_zero = bulk_is_zero_avx2;
        return;
    }
#endif
    bulk_is_zero = bulk_is_zero_sse2;
}

bool buffer_is_zero(const void *buf, size_t len)
{
    const uint8_t *p = buf;
    size_t head, bulk;

    if (len < 256) {
        return scalar_is_zero(p, len);
    }
    if (!bulk_is_zero) {
        select_accel();
    }
    head = (32 - ((uintptr_t)p & 31)) & 31;
    if (!scalar_is_zero(p, head)) {
        return false;
    }
    p += head;
    len -= head;
    bulk = len & ~(size_t)127;
    if (!bulk_is_zero(p, bulk)) {
        return false;
    }
    return scalar_is_zero(p + bulk, len - bulk);
}
