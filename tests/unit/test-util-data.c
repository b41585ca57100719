/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for util/iov.c, util/json.c, util/qobject.c and
 * util/keyval.c: slicing without copies, JSON round trips with QEMU's
 * member order, flattening to dotted options, option-string parsing.
 */
#include "util/osdep.h"
#include "util/iov.h"
#include "util/json.h"
#include "util/keyval.h"

/* Contiguous only when one element holds the whole range. */
static void test_iov_contiguous(void)
{
    char a[100], b[50];
    QEMUIOVector q;

    qemu_iovec_init(&q, 2);
    qemu_iovec_add(&q, a, sizeof(a));
    qemu_iovec_add(&q, b, sizeof(b));
    g_assert_true(qemu_iovec_contiguous(&q, 0, 100) == a);
    g_assert_true(qemu_iovec_contiguous(&q, 10, 90) == a + 10);
    g_assert_null(qemu_iovec_contiguous(&q, 10, 91));   /* spans a and b */
    g_assert_true(qemu_iovec_contiguous(&q, 100, 50) == b);
    g_assert_true(qemu_iovec_contiguous(&q, 120, 30) == b + 20);
    g_assert_null(qemu_iovec_contiguous(&q, 120, 31));  /* past the end */
    g_assert_null(qemu_iovec_contiguous(&q, 150, 1));
    qemu_iovec_destroy(&q);
}

static void test_iov_slice(void)
{
    char a[4] = "abcd", b[3] = "efg", c[5] = "hijkl";
    char out[16] = { 0 };
    QEMUIOVector q, s;

    qemu_iovec_init(&q, 1);
    qemu_iovec_add(&q, a, 4);
    qemu_iovec_add(&q, b, 3);
    qemu_iovec_add(&q, c, 5);
    g_assert_cmpuint(q.size, ==, 12);

    qemu_iovec_init_slice(&s, &q, 2, 7);
    g_assert_cmpint(s.niov, ==, 3);
    g_assert_true(s.iov[0].iov_base == a + 2);   /* no copy */
    g_assert_cmpuint(qemu_iovec_to_buf(&s, 0, out, sizeof(out)), ==, 7);
    g_assert_cmpstr(out, ==, "cdefghi");

    qemu_iovec_memset(&s, 1, 'z', 3);
    memset(out, 0, sizeof(out));
    qemu_iovec_to_buf(&q, 0, out, 12);
    g_assert_cmpstr(out, ==, "abczzzghijkl");
    g_assert_false(qemu_iovec_is_zero(&q, 0, 12));
    qemu_iovec_memset(&q, 4, 0, 3);
    g_assert_true(qemu_iovec_is_zero(&q, 4, 3));
    qemu_iovec_destroy(&s);
    qemu_iovec_destroy(&q);
}

static void test_json_roundtrip(void)
{
    Error *err = NULL;
    g_autoptr(QObject) obj = json_parse(
        "{'driver': 'raw', \"file\": {\"driver\": \"file\", "
        "\"filename\": \"a\\\"b\"}, \"n\": -5, \"ok\": true, "
        "\"l\": [1, 2.5, null]}", &err);
    g_autoptr(GString) out = g_string_new(NULL);

    g_assert_null(err);
    g_assert_nonnull(obj);
    json_write(out, obj, 0, 0);
    g_assert_cmpstr(out->str, ==,
                    "{\"driver\": \"raw\", \"file\": {\"driver\": \"file\", "
                    "\"filename\": \"a\\\"b\"}, \"n\": -5, \"ok\": true, "
                    "\"l\": [1, 2.5, null]}");
}

static void test_json_qemu_order(void)
{
    g_autoptr(QObject) d = qdict_new();
    g_autoptr(GString) out = g_string_new(NULL);

    /* inserted in QAPI order; printed in QEMU's QDict bucket order */
    qdict_put_str(d, "filename", "f");
    qdict_put_str(d, "format", "raw");
    qdict_put_bool(d, "dirty-flag", false);
    qdict_put_int(d, "actual-size", 1);
    qdict_put_int(d, "virtual-size", 2);
    json_write(out, d, JSON_PRETTY | JSON_QEMU_ORDER, 0);
    g_assert_cmpstr(out->str, ==,
                    "{\n"
                    "    \"virtual-size\": 2,\n"
                    "    \"filename\": \"f\",\n"
                    "    \"format\": \"raw\",\n"
                    "    \"actual-size\": 1,\n"
                    "    \"dirty-flag\": false\n"
                    "}");
}

static void test_json_errors(void)
{
    static const char *bad[] = {
        "{\"a\": 1", "{\"a\" 1}", "[1, 2", "{\"a\": 1, \"a\": 2}", "tru",
        "\"unterminated", "{1: 2}", "[1] x",
    };
    size_t i;
    GString *deep = g_string_new(NULL);

    for (i = 0; i < G_N_ELEMENTS(bad); i++) {
        Error *err = NULL;
        g_assert_null(json_parse(bad[i], &err));
        g_assert_nonnull(err);
        error_free(err);
    }
    /* nesting is bounded, not a stack overflow */
    for (i = 0; i < 100000; i++) {
        g_string_append_c(deep, '[');
    }
    g_assert_null(json_parse(deep->str, NULL));
    g_string_free(deep, TRUE);
}

static void test_flatten(void)
{
    g_autoptr(QObject) obj = json_parse(
        "{\"driver\": \"raw\", \"file\": {\"driver\": \"file\", "
        "\"filename\": \"x\", \"cache\": {\"direct\": true}}, \"size\": 512}",
        NULL);
    g_autoptr(QObject) flat = qdict_flatten_to_options(obj);
    g_autoptr(QObject) sub = NULL;

    g_assert_cmpstr(qdict_get_try_str(flat, "driver"), ==, "raw");
    g_assert_cmpstr(qdict_get_try_str(flat, "file.filename"), ==, "x");
    g_assert_cmpstr(qdict_get_try_str(flat, "file.cache.direct"), ==, "on");
    g_assert_cmpstr(qdict_get_try_str(flat, "size"), ==, "512");

    sub = qdict_extract_subdict(flat, "file");
    g_assert_cmpuint(qdict_size(sub), ==, 3);
    g_assert_cmpstr(qdict_get_try_str(sub, "cache.direct"), ==, "on");
    g_assert_false(qdict_haskey(flat, "file.driver"));
    g_assert_cmpuint(qdict_size(flat), ==, 2);
}

static void test_keyval(void)
{
    QDict *d = NULL;
    Error *err = NULL;
    bool b;

    g_assert_true(keyval_parse_into(&d, "driver=raw,file.filename=a,,b,"
                                    "read-only,nofoo", NULL, &err));
    g_assert_cmpstr(qdict_get_try_str(d, "driver"), ==, "raw");
    g_assert_cmpstr(qdict_get_try_str(d, "file.filename"), ==, "a,b");
    g_assert_cmpstr(qdict_get_try_str(d, "read-only"), ==, "on");
    g_assert_cmpstr(qdict_get_try_str(d, "foo"), ==, "off");
    qobject_unref(d);

    d = NULL;
    g_assert_true(keyval_parse_into(&d, "img.raw,size=1", "file", &err));
    g_assert_cmpstr(qdict_get_try_str(d, "file"), ==, "img.raw");
    qobject_unref(d);

    d = NULL;
    g_assert_false(keyval_parse_into(&d, "=x", NULL, &err));
    g_assert_nonnull(err);
    error_free(err);
    qobject_unref(d);

    g_assert_true(qemu_parse_bool("x", "yes", &b, NULL) && b);
    g_assert_true(qemu_parse_bool("x", "off", &b, NULL) && !b);
    err = NULL;
    g_assert_false(qemu_parse_bool("x", "maybe", &b, &err));
    g_assert_cmpstr(error_get_pretty(err), ==,
                    "Parameter 'x' expects 'on' or 'off'");
    error_free(err);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/iov/slice", test_iov_slice);
    g_test_add_func("/iov/contiguous", test_iov_contiguous);
    g_test_add_func("/json/roundtrip", test_json_roundtrip);
    g_test_add_func("/json/qemu-order", test_json_qemu_order);
    g_test_add_func("/json/errors", test_json_errors);
    g_test_add_func("/qobject/flatten", test_flatten);
    g_test_add_func("/keyval/parse", test_keyval);
    return g_test_run();
}
