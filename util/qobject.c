/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QObject values.  A dict keeps its entries in a GPtrArray (order) and a
 * GHashTable (lookup by key); dicts here hold tens of entries at most.
 */
#include "util/osdep.h"
#include "util/qobject.h"

typedef struct QDictEntry {
    char *key;
    QObject *value;
} QDictEntry;

struct QObject {
    QType type;
    int refcnt;
    union {
        bool b;
        int64_t i;
        double n;
        char *s;
        struct {
            GPtrArray *entries;     /* QDictEntry *, insertion order */
            GHashTable *index;      /* key -> QDictEntry * */
        } d;
        GPtrArray *list;            /* QObject * */
    } u;
};

static QObject *qobject_alloc(QType type)
{
    QObject *obj = g_new0(QObject, 1);

    obj->type = type;
    obj->refcnt = 1;
    return obj;
}

QObject *qnull_new(void)
{
    return qobject_alloc(QTYPE_NULL);
}

QObject *qbool_new(bool v)
{
    QObject *obj = qobject_alloc(QTYPE_BOOL);

    obj->u.b = v;
    return obj;
}

QObject *qint_new(int64_t v)
{
    QObject *obj = qobject_alloc(QTYPE_INT);

    obj->u.i = v;
    return obj;
}

QObject *qnum_new(double v)
{
    QObject *obj = qobject_alloc(QTYPE_NUM);

    obj->u.n = v;
    return obj;
}

QObject *qstring_new(const char *s)
{
    QObject *obj = qobject_alloc(QTYPE_STRING);

    obj->u.s = g_strdup(s);
    return obj;
}

static void dict_entry_free(gpointer p)
{
    QDictEntry *e = p;

    g_free(e->key);
    qobject_unref(e->value);
    g_free(e);
}

QDict *qdict_new(void)
{
    QObject *obj = qobject_alloc(QTYPE_DICT);

    obj->u.d.entries = g_ptr_array_new_with_free_func(dict_entry_free);
    obj->u.d.index = g_hash_table_new(g_str_hash, g_str_equal);
    return obj;
}

QList *qlist_new(void)
{
    QObject *obj = qobject_alloc(QTYPE_LIST);

    obj->u.list = g_ptr_array_new_with_free_func(
        (GDestroyNotify)qobject_unref);
    return obj;
}

QObject *qobject_ref(QObject *obj)
{
    if (obj) {
        obj->refcnt++;
    }
    return obj;
}

void qobject_unref(QObject *obj)
{
    if (!obj || --obj->refcnt > 0) {
        return;
    }
    switch (obj->type) {
    case QTYPE_STRING:
        g_free(obj->u.s);
        break;
    case QTYPE_DICT:
        g_hash_table_destroy(obj->u.d.index);
        g_ptr_array_free(obj->u.d.entries, TRUE);
        break;
    case QTYPE_LIST:
        g_ptr_array_free(obj->u.list, TRUE);
        break;
    default:
        break;
    }
    g_free(obj);
}

QType qobject_type(const QObject *obj)
{
    return obj->type;
}

bool qbool_get(const QObject *obj)
{
    assert(obj->type == QTYPE_BOOL);
    return obj->u.b;
}

int64_t qint_get(const QObject *obj)
{
    assert(obj->type == QTYPE_INT);
    return obj->u.i;
}

double qnum_get(const QObject *obj)
{
    assert(obj->type == QTYPE_NUM || obj->type == QTYPE_INT);
    return obj->type == QTYPE_INT ? (double)obj->u.i : obj->u.n;
}

const char *qstring_get(const QObject *obj)
{
    assert(obj->type == QTYPE_STRING);
    return obj->u.s;
}

char *qobject_to_option_string(const QObject *obj)
{
    switch (obj->type) {
    case QTYPE_STRING:
        return g_strdup(obj->u.s);
    case QTYPE_BOOL:
        return g_strdup(obj->u.b ? "on" : "off");
    case QTYPE_INT:
        return g_strdup_printf("%" PRId64, obj->u.i);
    case QTYPE_NUM:
        return g_strdup_printf("%.17g", obj->u.n);
    case QTYPE_NULL:
        return g_strdup("");
    default:
        return NULL;
    }
}

void qdict_put_obj(QDict *d, const char *key, QObject *value)
{
    QDictEntry *e;

    assert(d->type == QTYPE_DICT);
    e = g_hash_table_lookup(d->u.d.index, key);
    if (e) {
        qobject_unref(e->value);
        e->value = value;
        return;
    }
    e = g_new0(QDictEntry, 1);
    e->key = g_strdup(key);
    e->value = value;
    g_ptr_array_add(d->u.d.entries, e);
    g_hash_table_insert(d->u.d.index, e->key, e);
}

void qdict_put_str(QDict *d, const char *key, const char *value)
{
    qdict_put_obj(d, key, qstring_new(value));
}

void qdict_put_int(QDict *d, const char *key, int64_t value)
{
    qdict_put_obj(d, key, qint_new(value));
}

void qdict_put_bool(QDict *d, const char *key, bool value)
{
    qdict_put_obj(d, key, qbool_new(value));
}

QObject *qdict_get(const QDict *d, const char *key)
{
    QDictEntry *e;

    assert(d->type == QTYPE_DICT);
    e = g_hash_table_lookup(d->u.d.index, key);
    return e ? e->value : NULL;
}

const char *qdict_get_try_str(const QDict *d, const char *key)
{
    QObject *v = qdict_get(d, key);

    if (!v || v->type != QTYPE_STRING) {
        return NULL;
    }
    return v->u.s;
}

bool qdict_haskey(const QDict *d, const char *key)
{
    return qdict_get(d, key) != NULL;
}

void qdict_del(QDict *d, const char *key)
{
    QDictEntry *e = g_hash_table_lookup(d->u.d.index, key);

    if (e) {
        g_hash_table_remove(d->u.d.index, key);
        g_ptr_array_remove(d->u.d.entries, e);
    }
}

size_t qdict_size(const QDict *d)
{
    return d->u.d.entries->len;
}

const char *qdict_key_at(const QDict *d, size_t i)
{
    return ((QDictEntry *)g_ptr_array_index(d->u.d.entries, i))->key;
}

QObject *qdict_value_at(const QDict *d, size_t i)
{
    return ((QDictEntry *)g_ptr_array_index(d->u.d.entries, i))->value;
}

QDict *qdict_clone_shallow(const QDict *d)
{
    QDict *c = qdict_new();
    size_t i;

    for (i = 0; i < qdict_size(d); i++) {
        qdict_put_obj(c, qdict_key_at(d, i),
                      qobject_ref(qdict_value_at(d, i)));
    }
    return c;
}

static void flatten_into(QDict *dst, const QObject *src, const char *prefix)
{
    size_t i;

    if (src->type == QTYPE_DICT || src->type == QTYPE_LIST) {
        size_t n = src->type == QTYPE_DICT ? qdict_size(src) :
                   qlist_size(src);
        for (i = 0; i < n; i++) {
            g_autofree char *idx = g_strdup_printf("%zu", i);
            const char *k = src->type == QTYPE_DICT ?
                            qdict_key_at(src, i) : idx;
            const QObject *v = src->type == QTYPE_DICT ?
                               qdict_value_at(src, i) : qlist_at(src, i);
            g_autofree char *key = prefix ? g_strdup_printf("%s.%s", prefix, k)
                                          : g_strdup(k);
            flatten_into(dst, v, key);
        }
        return;
    }
    if (prefix && src->type == QTYPE_NULL) {
        /* kept as null: "backing": null is not "backing": "" */
        qdict_put_obj(dst, prefix, qobject_ref((QObject *)src));
    } else if (prefix) {
        g_autofree char *text = qobject_to_option_string(src);
        qdict_put_str(dst, prefix, text);
    }
}

QDict *qdict_flatten_to_options(const QDict *d)
{
    QDict *flat = qdict_new();

    flatten_into(flat, d, NULL);
    return flat;
}

QDict *qdict_extract_subdict(QDict *src, const char *prefix)
{
    QDict *sub = qdict_new();
    size_t plen = strlen(prefix);
    size_t i = 0;

    while (i < qdict_size(src)) {
        const char *key = qdict_key_at(src, i);
        if (strncmp(key, prefix, plen) == 0 && key[plen] == '.') {
            g_autofree char *k = g_strdup(key);
            qdict_put_obj(sub, k + plen + 1,
                          qobject_ref(qdict_value_at(src, i)));
            qdict_del(src, k);
        } else {
            i++;
        }
    }
    return sub;
}

void qlist_append(QList *l, QObject *value)
{
    assert(l->type == QTYPE_LIST);
    g_ptr_array_add(l->u.list, value);
}

size_t qlist_size(const QList *l)
{
    return l->u.list->len;
}

QObject *qlist_at(const QList *l, size_t i)
{
    return g_ptr_array_index(l->u.list, i);
}
