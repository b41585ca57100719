/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Small string and number helpers shared by the tools and the block layer:
 * size parsing with QEMU's suffixes, human-readable sizes, clocks.
 */
#ifndef UTIL_CUTILS_H
#define UTIL_CUTILS_H

#include "util/osdep.h"

/*
 * Parse a size such as "64k", "1.5T", "512", "0x1000" into bytes.
 * Suffixes B/K/M/G/T/P/E, case-insensitive, powers of 1024; a fraction
 * needs a suffix above B.  @default_suffix applies when none is given
 * ('B' for bytes, 'M' for MiB).  With @end NULL the whole string must be
 * consumed; otherwise *@end points after the parsed text.
 * Returns 0, -EINVAL for a malformed number, -ERANGE when it does not fit
 * in int64_t.
 */
int qemu_strtosz_suffix(const char *nptr, const char **end, char default_suffix,
                        uint64_t *result);
static inline int qemu_strtosz(const char *nptr, const char **end,
                               uint64_t *result)
{
    return qemu_strtosz_suffix(nptr, end, 'B', result);
}

/*
 * Strict integer parsers: the whole string must be a number (or *@end
 * receives the stop position).  Return 0, -EINVAL or -ERANGE.
 */
int qemu_strtoi64(const char *nptr, const char **end, int base,
                  int64_t *result);
int qemu_strtou64(const char *nptr, const char **end, int base,
                  uint64_t *result);
int qemu_strtoi(const char *nptr, const char **end, int base, int *result);

/*
 * "64 KiB", "1 MiB", "512 B", "1.5 GiB": three significant digits, as
 * QEMU's size_to_str().  Returns a newly allocated string (g_free()).
 */
char *size_to_str(uint64_t val);

/* If @str starts with @prefix, set *@rest (may be NULL) after it. */
bool strstart(const char *str, const char *prefix, const char **rest);

/* Monotonic and wall clock in nanoseconds. */
int64_t get_clock_ns(void);
int64_t get_clock_realtime_ns(void);

/* Returns the number of online CPUs, at least 1. */
int qemu_get_ncpus(void);

/*
 * Aligned allocation for I/O buffers (O_DIRECT needs it).  Never returns
 * NULL for @size > 0 (aborts on exhaustion, as g_malloc).
 */
void *qemu_memalign(size_t alignment, size_t size);
void qemu_vfree(void *ptr);

/*
 * Process-wide malloc tuning for the tools, called first thing in main():
 * freed heap memory is kept for reuse instead of being returned to the
 * kernel at once (see cutils.c).
 */
void qemu_tune_malloc(void);

/* Returns true when @len bytes at @buf are all zero.  Vectorised. */
bool buffer_is_zero(const void *buf, size_t len);

/*
 * QEMU's identifiers (object ids, job ids, node names): a letter, then
 * letters, digits, '-', '.', '_'.
 */
bool id_wellformed(const char *id);

#endif /* UTIL_CUTILS_H */
