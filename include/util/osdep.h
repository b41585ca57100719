/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Umbrella header included first by every .c file: system headers, glib,
 * and the handful of macros (alignment, container_of, coroutine_fn) that
 * every layer uses.  It has no .c of its own on purpose.
 */
#ifndef UTIL_OSDEP_H
#define UTIL_OSDEP_H

#ifdef NDEBUG
#error "building with NDEBUG is not supported: assert() guards API contracts"
#endif

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <glib.h>

/*
 * Marks a function that may yield: it must only be called from coroutine
 * context.  The marker has no effect on code generation; the
 * scripts/check-coroutine-fn.py lint enforces its use.
 */
#define coroutine_fn

#define QEMU_PACKED __attribute__((packed))
#define QEMU_NORETURN __attribute__((noreturn))
#define QEMU_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define QEMU_WARN_UNUSED __attribute__((warn_unused_result))

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#ifndef container_of
#define container_of(ptr, type, member) \
    ((type *)((char *)(ptr) - offsetof(type, member)))
#endif

#define ARRAY_SIZE(a) G_N_ELEMENTS(a)

/* Alignment helpers; @m need not be a power of two unless stated. */
#define QEMU_ALIGN_DOWN(n, m) ((n) / (m) * (m))
#define QEMU_ALIGN_UP(n, m)   QEMU_ALIGN_DOWN((n) + (m) - 1, (m))
#define QEMU_IS_ALIGNED(n, m) (((n) % (m)) == 0)
#define DIV_ROUND_UP(n, d)    (((n) + (d) - 1) / (d))
/* Power-of-two only. */
#define ROUND_UP(n, d)        (((n) + (d) - 1) & -(0 ? (n) : (d)))
#define QEMU_PTR_IS_ALIGNED(p, n) QEMU_IS_ALIGNED((uintptr_t)(p), (n))

#define KiB (INT64_C(1) << 10)
#define MiB (INT64_C(1) << 20)
#define GiB (INT64_C(1) << 30)
#define TiB (INT64_C(1) << 40)
#define PiB (INT64_C(1) << 50)
#define EiB (INT64_C(1) << 60)

#define NANOSECONDS_PER_SECOND 1000000000LL

static inline bool is_power_of_2(uint64_t v)
{
    return v && !(v & (v - 1));
}

/* Returns the base-2 logarithm of @v, which must be a power of two. */
static inline int ctz64(uint64_t v)
{
    return v ? __builtin_ctzll(v) : 64;
}

static inline int clz64(uint64_t v)
{
    return v ? __builtin_clzll(v) : 64;
}

#endif /* UTIL_OSDEP_H */
