/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The JSON writer, as 7.2 writes (its member order, its escapes, its
 * pretty layout).  The parser is util/json-stream.c.
 */
#include "util/osdep.h"
#include "util/json.h"

/*
 * As 7.2 writes strings: ASCII as is (control characters and DEL as
 * \uXXXX), everything else as \uXXXX escapes (surrogate pairs past the
 * BMP), an invalid UTF-8 byte as U+FFFD, C0 80 (modified UTF-8) as U+0000.
 */
void json_write_string(GString *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    g_string_append_c(out, '"');
    while (*p) {
        gunichar cp = *p;
        size_t len = 1;

        if (cp >= 0x80) {
            if (p[0] == 0xC0 && p[1] == 0x80) {
                cp = 0;
                len = 2;
            } else {
                cp = g_utf8_get_char_validated((const char *)p, -1);
                if (cp == (gunichar)-1 || cp == (gunichar)-2 ||
                    (cp >= 0xD800 && cp <= 0xDFFF)) {
                    cp = 0xFFFD;
                } else {
                    len = g_utf8_next_char(p) - (const char *)p;
                }
            }
        }
        p += len;
        switch (cp) {
        case '"': g_string_append(out, "\\\""); break;
        case '\\': g_string_append(out, "\\\\"); break;
        case '\b': g_string_append(out, "\\b"); break;
        case '\f': g_string_append(out, "\\f"); break;
        case '\n': g_string_append(out, "\\n"); break;
        case '\r': g_string_append(out, "\\r"); break;
        case '\t': g_string_append(out, "\\t"); break;
        default:
            if (cp > 0xFFFF) {
                g_string_append_printf(out, "\\u%04X\\u%04X",
                                       0xD800 + ((cp - 0x10000) >> 10),
                                       0xDC00 + ((cp - 0x10000) & 0x3FF));
            } else if (cp < 0x20 || cp >= 0x7f) {
                g_string_append_printf(out, "\\u%04X", cp);
            } else {
                g_string_append_c(out, cp);
            }
        }
    }
    g_string_append_c(out, '"');
}

static void newline(GString *out, bool pretty, int level)
{
    if (pretty) {
        g_string_append_printf(out, "\n%*s", level * 4, "");
    }
}

/*
 * The bucket QEMU's QDict puts @key in: the gdbm/tdb string hash modulo
 * its 512 buckets.  Iterating buckets in order, newest entry first within
 * a bucket, reproduces QEMU's member order.
 */
static unsigned qemu_qdict_bucket(const char *key)
{
    const unsigned char *p = (const unsigned char *)key;
    unsigned value = 0x238F13AF * (unsigned)strlen(key);
    unsigned i;

    for (i = 0; p[i]; i++) {
        value += (unsigned)p[i] << (i * 5 % 24);
    }
    return (1103515243 * value + 12345) % 512;
}

typedef struct OrderedMember {
    unsigned bucket;
    size_t index;
} OrderedMember;

static int cmp_member(const void *a, const void *b)
{
    const OrderedMember *x = a, *y = b;

    if (x->bucket != y->bucket) {
        return x->bucket < y->bucket ? -1 : 1;
    }
    return x->index > y->index ? -1 : 1;    /* newest first */
}

size_t *qdict_qemu_order(const QObject *d)
{
    size_t n = qdict_size(d), i;
    g_autofree OrderedMember *order = g_new(OrderedMember, n + 1);
    size_t *idx = g_new(size_t, n + 1);

    for (i = 0; i < n; i++) {
        order[i].index = i;
        order[i].bucket = qemu_qdict_bucket(qdict_key_at(d, i));
    }
    qsort(order, n, sizeof(*order), cmp_member);
    for (i = 0; i < n; i++) {
        idx[i] = order[i].index;
    }
    return idx;
}

void json_write(GString *out, const QObject *obj, int flags, int indent)
{
    bool pretty = flags & JSON_PRETTY;
    size_t i;

    switch (qobject_type(obj)) {
    case QTYPE_NULL:
        g_string_append(out, "null");
        break;
    case QTYPE_BOOL:
        g_string_append(out, qbool_get(obj) ? "true" : "false");
        break;
    case QTYPE_INT:
        g_string_append_printf(out, "%" PRId64, qint_get(obj));
        break;
    case QTYPE_NUM: {
        char buf[G_ASCII_DTOSTR_BUF_SIZE];
        g_string_append(out, g_ascii_formatd(buf, sizeof(buf), "%.17g",
                                             qnum_get(obj)));
        break;
    }
    case QTYPE_STRING:
        json_write_string(out, qstring_get(obj));
        break;
    case QTYPE_DICT: {
        size_t n = qdict_size(obj);
        g_autofree OrderedMember *order = g_new(OrderedMember, n + 1);

        for (i = 0; i < n; i++) {
            order[i].index = i;
            order[i].bucket = (flags & JSON_QEMU_ORDER) ?
                              qemu_qdict_bucket(qdict_key_at(obj, i)) : 0;
        }
        if (flags & JSON_QEMU_ORDER) {
            qsort(order, n, sizeof(*order), cmp_member);
        }
        g_string_append_c(out, '{');
        for (i = 0; i < n; i++) {
            if (i) {
                g_string_append(out, pretty ? "," : ", ");
            }
            newline(out, pretty, indent + 1);
            json_write_string(out, qdict_key_at(obj, order[i].index));
            g_string_append(out, ": ");
            json_write(out, qdict_value_at(obj, order[i].index), flags,
                       indent + 1);
        }
        newline(out, pretty, indent);
        g_string_append_c(out, '}');
        break;
    }
    case QTYPE_LIST:
        g_string_append_c(out, '[');
        for (i = 0; i < qlist_size(obj); i++) {
            if (i) {
                g_string_append(out, pretty ? "," : ", ");
            }
            newline(out, pretty, indent + 1);
            json_write(out, qlist_at(obj, i), flags, indent + 1);
        }
        newline(out, pretty, indent);
        g_string_append_c(out, ']');
        break;
    }
}

static void print_human_entry(const char *key, const QObject *v, int indent)
{
    if (qobject_type(v) == QTYPE_DICT || qobject_type(v) == QTYPE_LIST) {
        printf("%*s%s:\n", indent * 4, "", key);
        qobject_print_human(v, indent + 1);
        return;
    }
    if (qobject_type(v) == QTYPE_BOOL) {
        printf("%*s%s: %s\n", indent * 4, "", key,
               qbool_get(v) ? "true" : "false");
    } else {
        g_autofree char *s = qobject_to_option_string(v);
        printf("%*s%s: %s\n", indent * 4, "", key, s);
    }
}

void qobject_print_human(const QObject *obj, int indent)
{
    g_autofree size_t *order = NULL;
    size_t i;

    if (qobject_type(obj) == QTYPE_LIST) {
        for (i = 0; i < qlist_size(obj); i++) {
            g_autofree char *idx = g_strdup_printf("[%zu]", i);
            print_human_entry(idx, qlist_at(obj, i), indent);
        }
        return;
    }
    order = qdict_qemu_order(obj);
    for (i = 0; i < qdict_size(obj); i++) {
        g_autofree char *key = g_strdup(qdict_key_at(obj, order[i]));
        char *p;
        for (p = key; *p; p++) {
            if (*p == '-') {
                *p = ' ';
            }
        }
        print_human_entry(key, qdict_value_at(obj, order[i]), indent);
    }
}
