/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for util/cutils.c, util/buffer-is-zero.c and util/error.c:
 * size parsing with QEMU's suffixes, size_to_str(), zero detection.
 */
#include "util/osdep.h"
#include "util/cutils.h"
#include "util/error.h"

static void test_strtosz(void)
{
    static const struct {
        const char *in;
        int ret;
        uint64_t val;
    } cases[] = {
        { "0", 0, 0 },
        { "512", 0, 512 },
        { "64k", 0, 64 * KiB },
        { "64K", 0, 64 * KiB },
        { "1M", 0, MiB },
        { "1G", 0, GiB },
        { "1.5T", 0, 3 * TiB / 2 },
        { "2P", 0, 2 * PiB },
        { "1E", 0, EiB },
        { "12b", 0, 12 },
        { "0x1000", 0, 4096 },
        { "1.5", -EINVAL, 0 },
        { "", -EINVAL, 0 },
        { "-1", -EINVAL, 0 },
        { "1Q", -EINVAL, 0 },
        { "abc", -EINVAL, 0 },
        { "8E", -ERANGE, 0 },
        { "99999999999999999999", -ERANGE, 0 },
    };
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(cases); i++) {
        uint64_t v = 0;
        int ret = qemu_strtosz(cases[i].in, NULL, &v);
        g_assert_cmpint(ret, ==, cases[i].ret);
        if (ret == 0) {
            g_assert_cmpuint(v, ==, cases[i].val);
        }
    }
}

static void test_strtosz_end(void)
{
    const char *end;
    uint64_t v;

    g_assert_cmpint(qemu_strtosz("4k,rest", &end, &v), ==, 0);
    g_assert_cmpuint(v, ==, 4096);
    g_assert_cmpstr(end, ==, ",rest");
    g_assert_cmpint(qemu_strtosz_suffix("2", NULL, 'M', &v), ==, 0);
    g_assert_cmpuint(v, ==, 2 * MiB);
}

static void test_size_to_str(void)
{
    static const struct {
        uint64_t in;
        const char *out;
    } cases[] = {
        { 0, "0 B" },
        { 512, "512 B" },
        { 999, "999 B" },
        { 1000, "0.977 KiB" },
        { 65536, "64 KiB" },
        { 1048576, "1 MiB" },
        { 1536 * KiB, "1.5 MiB" },
        { 10 * GiB, "10 GiB" },
        { 100 * GiB, "100 GiB" },
        { 1023 * MiB, "0.999 GiB" },
    };
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *s = size_to_str(cases[i].in);
        g_assert_cmpstr(s, ==, cases[i].out);
    }
}

static void test_buffer_is_zero(void)
{
    size_t len, pos;
    uint8_t *buf = qemu_memalign(64, 8192 + 64);

    for (len = 0; len < 4200; len = len * 2 + 1) {
        size_t off;
        for (off = 0; off < 40; off += 13) {
            memset(buf, 0, 8192 + 64);
            g_assert_true(buffer_is_zero(buf + off, len));
            for (pos = 0; pos < len; pos += MAX(len / 7, 1)) {
                buf[off + pos] = 1;
                g_assert_false(buffer_is_zero(buf + off, len));
                buf[off + pos] = 0;
            }
            if (len) {
                /* the last byte counts too */
                buf[off + len - 1] = 0x80;
                g_assert_false(buffer_is_zero(buf + off, len));
                buf[off + len - 1] = 0;
                /* a byte just past the end does not */
                buf[off + len] = 1;
                g_assert_true(buffer_is_zero(buf + off, len));
            }
        }
    }
    qemu_vfree(buf);
}

static void test_error_prepend(void)
{
    Error *err = NULL;

    error_setg(&err, "base %d", 1);
    error_prepend(&err, "ctx '%s': ", "f");
    g_assert_cmpstr(error_get_pretty(err), ==, "ctx 'f': base 1");
    error_free(err);

    err = NULL;
    error_setg_errno(&err, ENOENT, "Could not open '%s'", "x");
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Could not open 'x': No such file or directory");
    g_assert_cmpint(error_get_errno(err), ==, ENOENT);
    error_free(err);

    /* only error_setg_errno() records an errno */
    err = NULL;
    error_setg(&err, "plain");
    g_assert_cmpint(error_get_errno(err), ==, 0);
    error_free(err);

    /* a NULL errp drops the error */
    error_setg(NULL, "dropped");
}

static void test_strtoi(void)
{
    int64_t v;
    int i;

    g_assert_cmpint(qemu_strtoi64("-42", NULL, 0, &v), ==, 0);
    g_assert_cmpint(v, ==, -42);
    g_assert_cmpint(qemu_strtoi64("42x", NULL, 0, &v), ==, -EINVAL);
    g_assert_cmpint(qemu_strtoi("99999999999", NULL, 0, &i), ==, -ERANGE);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/cutils/strtosz/table", test_strtosz);
    g_test_add_func("/cutils/strtosz/end", test_strtosz_end);
    g_test_add_func("/cutils/strtoi", test_strtoi);
    g_test_add_func("/cutils/size-to-str", test_size_to_str);
    g_test_add_func("/cutils/buffer-is-zero", test_buffer_is_zero);
    g_test_add_func("/error/prepend", test_error_prepend);
    return g_test_run();
}
