/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Unit tests for util/json-stream.c: where messages end, byte by byte or
 * many in one read, and 7.2's texts for bad input (the expected texts are
 * what 7.2's qemu-storage-daemon answers to the same bytes).
 */
#include "util/osdep.h"
#include "util/json.h"
#include "util/json-stream.h"

static void collect(void *opaque, QObject *obj, Error *err)
{
    GString *log = opaque;

    if (err) {
        g_string_append_printf(log, "E:%s\n", error_get_pretty(err));
        error_free(err);
        return;
    }
    json_write(log, obj, 0, 0);
    g_string_append_c(log, '\n');
    qobject_unref(obj);
}

/* Feed @in whole, and again one byte at a time: both give @expect. */
static void check(const char *in, const char *expect)
{
    g_autoptr(GString) whole = g_string_new(NULL);
    g_autoptr(GString) bytes = g_string_new(NULL);
    JsonStream *js = json_stream_new(collect, whole);
    size_t i;

    json_stream_feed(js, in, strlen(in));
    json_stream_free(js);
    g_assert_cmpstr(whole->str, ==, expect);

    js = json_stream_new(collect, bytes);
    for (i = 0; in[i]; i++) {
        json_stream_feed(js, in + i, 1);
    }
    json_stream_free(js);
    g_assert_cmpstr(bytes->str, ==, expect);
}

static void test_boundaries(void)
{
    check("{\"a\": 1}{\"b\": [1, 2]}\n", "{\"a\": 1}\n{\"b\": [1, 2]}\n");
    check("{\"execute\":\n \"x\"\n}\n", "{\"execute\": \"x\"}\n");
    check("\"abc\" 12 true null ", "\"abc\"\n12\ntrue\nnull\n");
    check("{'single': 'q\\'d'}", "{\"single\": \"q'd\"}\n");
    check("[1.5e3, -0, 0.25]", "[1500, 0, 0.25]\n");
    /* an unfinished message waits for more */
    check("{\"a\": [1,", "");
}

static void test_errors(void)
{
    check("{bad json}\n{\"ok\": 1}",
          "E:JSON parse error, invalid keyword 'bad'\n{\"ok\": 1}\n");
    check("}\n", "E:JSON parse error, expecting value\n");
    check("{\"a\":\"\\u00zz\"}",
          "E:JSON parse error, \\u00zz is not a valid Unicode character\n");
    check("{\"a\":\"\\ud800\"}",
          "E:JSON parse error, \\ud800 is not a valid Unicode character\n");
    check("{\"a\": 1, \"a\": 2}", "E:JSON parse error, duplicate key\n");
    check("{1: 2}", "E:JSON parse error, key is not a string in object\n");
    check("{\"a\" 2}", "E:JSON parse error, missing : in object pair\n");
    check("{\"a\": 1 \"b\": 2}",
          "E:JSON parse error, expected separator in dict\n");
    check("[1 2]", "E:JSON parse error, expected separator in list\n");
    check("{\"a\": }", "E:JSON parse error, expecting value\n");
    check("{\"a\": \"\\q\"}",
          "E:JSON parse error, invalid escape sequence in string\n");
    check("{\"a\": \"\xff\"}",
          "E:JSON parse error, stray '\"\xff'\n"
          "E:JSON parse error, expecting value\n");
    /* a stray byte: reported, skipped up to the next structural char */
    check("@@@ {\"x\": 1}", "E:JSON parse error, stray '@'\n{\"x\": 1}\n");
    check("{\"a\": 01}", "E:JSON parse error, stray '01'\n"
          "E:JSON parse error, expecting value\n");
    check("{\"a\": \"x\ny\"}\n{\"b\":2}",
          "E:JSON parse error, stray '\"x\n'\n"
          "E:JSON parse error, expecting value\n{\"b\": 2}\n");
}

static void test_limits(void)
{
    g_autoptr(GString) deep = g_string_new(NULL);
    g_autoptr(GString) log = g_string_new(NULL);
    JsonStream *js = json_stream_new(collect, log);
    int i;

    for (i = 0; i < 1025; i++) {
        g_string_append_c(deep, '[');
    }
    json_stream_feed(js, deep->str, deep->len);
    g_assert_true(g_str_has_prefix(log->str,
                  "E:JSON nesting depth limit exceeded\n"));
    /* and the stream goes on */
    g_string_truncate(log, 0);
    json_stream_reset(js);
    json_stream_feed(js, "{\"a\": 1}", 8);
    g_assert_cmpstr(log->str, ==, "{\"a\": 1}\n");
    json_stream_free(js);

    /* 1024 levels are fine */
    g_string_truncate(deep, 1024);
    for (i = 0; i < 1024; i++) {
        g_string_append_c(deep, ']');
    }
    g_string_truncate(log, 0);
    js = json_stream_new(collect, log);
    json_stream_feed(js, deep->str, deep->len);
    json_stream_free(js);
    g_assert_true(g_str_has_prefix(log->str, "[[[[["));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/json-stream/boundaries", test_boundaries);
    g_test_add_func("/json-stream/errors", test_errors);
    g_test_add_func("/json-stream/limits", test_limits);
    return g_test_run();
}
