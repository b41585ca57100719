/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * --object secret,... (see include/util/secret.h).  Objects live in one
 * table by id for the life of the process.
 */
#include "util/osdep.h"
#include "util/secret.h"
#include "util/cutils.h"
#include "util/keyval.h"
#include "util/qobject.h"

static GHashTable *objects;     /* id -> secret value (NUL-terminated) */

static const char *const secret_props[] = {
    "data", "file", "format", "iv", "keyid",
};

static char *secret_value(const char *id, QDict *props, Error **errp)
{
    const char *data = qdict_get_try_str(props, "data");
    const char *file = qdict_get_try_str(props, "file");
    const char *format = qdict_get_try_str(props, "format");
    const char *keyid = qdict_get_try_str(props, "keyid");
    g_autoptr(GError) gerr = NULL;
    char *value = NULL;
    gsize len = 0;

    if (format && strcmp(format, "raw") && strcmp(format, "base64")) {
        error_setg(errp, "Parameter 'format' does not accept value '%s'",
                   format);
        return NULL;
    }
    if (data && file) {
        error_setg(errp, "'file' and 'data' are mutually exclusive");
        return NULL;
    }
    if (!data && !file) {
        error_setg(errp, "Either 'file' or 'data' must be provided");
        return NULL;
    }
    if (file) {
        if (!g_file_get_contents(file, &value, &len, &gerr)) {
            error_setg(errp, "Unable to read %s: %s", file, gerr->message);
            return NULL;
        }
    } else {
        value = g_strdup(data);
        len = strlen(data);
    }
    if (keyid) {
        /* AES-256-CBC under another secret: QEMU's crypto layer */
        char *key;

        if (!strcmp(keyid, id)) {
            /* itself, before it is complete */
            g_free(value);
            error_setg(errp, "Secret with id '%s' has no data", id);
            return NULL;
        }
        key = qemu_secret_lookup(keyid, errp);
        if (!key) {
            g_free(value);
            return NULL;
        }
        g_free(key);
        g_free(value);
        error_setg(errp, "Secret '%s': encrypted secrets (keyid) are not "
                   "supported", keyid);
        return NULL;
    }
    if (format && !strcmp(format, "base64")) {
        char *raw;
        const char *p;

        for (p = value; p < value + len; p++) {
            if (!g_ascii_isalnum(*p) && !strchr("+/=\n\r", *p)) {
                g_free(value);
                error_setg(errp, "Base64 data contains invalid characters");
                return NULL;
            }
        }
        raw = (char *)g_base64_decode(value, &len);
        g_free(value);
        value = g_realloc(raw, len + 1);
        value[len] = '\0';
    }
    return value;
}

/*
 * The types we create and the properties each takes ("name:T", T: s
 * string, i integer, b boolean, o object).  Only a secret has an effect:
 * everything runs in the main thread, and no throttle filter uses a
 * group; the others are kept so that their ids exist as 7.2's do.
 */
static const struct {
    const char *type;
    const char *props;
} object_types[] = {
    { "secret", "data:s file:s format:s iv:s keyid:s loaded:b" },
    { "iothread", "poll-max-ns:i poll-grow:i poll-shrink:i aio-max-batch:i "
                  "thread-pool-min:i thread-pool-max:i" },
    { "throttle-group", "limits:o" },
};

typedef struct UserObject {
    char *type;
    char *secret;               /* a secret's value, NUL-terminated */
} UserObject;

static void user_object_free(gpointer p)
{
    UserObject *o = p;

    g_free(o->type);
    g_free(o->secret);
    g_free(o);
}

/* @v as property type @t: JSON values exactly, command-line text parsed */
static bool prop_type_ok(QObject *v, char t, bool keyval, const char *name,
                         Error **errp)
{
    static const char *const names[] = { "string", "integer", "boolean",
                                         "object" };
    const char *types = "sibo";
    QType want[] = { QTYPE_STRING, QTYPE_INT, QTYPE_BOOL, QTYPE_DICT };
    int i = strchr(types, t) - types;

    if (qobject_type(v) == want[i]) {
        return true;
    }
    if (keyval && qobject_type(v) == QTYPE_STRING && (t == 'i' || t == 'b')) {
        const char *text = qstring_get(v);
        int64_t n;

        if (t == 'i' ? qemu_strtoi64(text, NULL, 0, &n) == 0 :
            !strcmp(text, "on") || !strcmp(text, "off")) {
            return true;
        }
        error_setg(errp, "Parameter '%s' expects %s", name, names[i]);
        return false;
    }
    error_setg(errp, "Invalid parameter type for '%s', expected: %s", name,
               names[i]);
    return false;
}

static bool object_add(QDict *props, bool keyval, Error **errp)
{
    const char *type, *id, *spec = NULL;
    UserObject *obj;
    size_t n, t;

    if (!qdict_get(props, "qom-type")) {
        error_setg(errp, "Parameter 'qom-type' is missing");
        return false;
    }
    type = qdict_get_try_str(props, "qom-type");
    for (t = 0; type && t < G_N_ELEMENTS(object_types); t++) {
        if (!strcmp(type, object_types[t].type)) {
            spec = object_types[t].props;
            break;
        }
    }
    if (!spec) {
        if (type) {
            error_setg(errp, "Parameter 'qom-type' does not accept value '%s'",
                       type);
        } else {
            error_setg(errp, "Invalid parameter type for 'qom-type', "
                       "expected: string");
        }
        return false;
    }
    if (!qdict_get(props, "id")) {
        error_setg(errp, "Parameter 'id' is missing");
        return false;
    }
    id = qdict_get_try_str(props, "id");
    if (!id) {
        error_setg(errp, "Invalid parameter type for 'id', expected: string");
        return false;
    }
    if (!id_wellformed(id)) {
        error_setg(errp, "Parameter 'id' expects an identifier");
        error_append_hint(errp, "Identifiers consist of letters, digits, "
                          "'-', '.', '_', starting with a letter.\n");
        return false;
    }
    for (n = 0; n < qdict_size(props); n++) {
        const char *key = qdict_key_at(props, n);
        g_autofree char *pat = g_strdup_printf("%s:", key);
        const char *m = strstr(spec, pat);

        if (!strcmp(key, "qom-type") || !strcmp(key, "id")) {
            continue;
        }
        /* a whole member of the list, not the tail of another */
        while (m && m != spec && m[-1] != ' ') {
            m = strstr(m + 1, pat);
        }
        if (!m) {
            error_setg(errp, "Parameter '%s' is unexpected", key);
            return false;
        }
        if (!prop_type_ok(qdict_value_at(props, n), m[strlen(pat)], keyval,
                          key, errp)) {
            return false;
        }
    }
    if (qdict_get(props, "loaded")) {
        error_setg(errp, "Property 'secret.loaded' is not writable");
        return false;
    }
    if (objects && g_hash_table_contains(objects, id)) {
        error_setg(errp, "attempt to add duplicate property '%s' to object "
                   "(type 'container')", id);
        return false;
    }
    obj = g_new0(UserObject, 1);
    obj->type = g_strdup(type);
    if (!strcmp(type, "secret")) {
        obj->secret = secret_value(id, props, errp);
        if (!obj->secret) {
            user_object_free(obj);
            return false;
        }
    }
    if (!objects) {
        objects = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                        user_object_free);
    }
    g_hash_table_insert(objects, g_strdup(id), obj);
    return true;
}

bool qemu_object_add(const char *str, Error **errp)
{
    g_autoptr(QObject) props = NULL;
    size_t n;

    /*
     * The type is the first key's text: QEMU's keyval does not unescape
     * ",," there, so "secret,,id=x" is "secret" then an empty key.
     */
    n = strcspn(str, "=,");
    if (str[n] == ',' && str[n + 1] == ',') {
        error_setg(errp, "Invalid parameter ''");
        return false;
    }
    if (!keyval_parse_into(&props, str, "qom-type", errp)) {
        return false;
    }
    return object_add((QDict *)props, true, errp);
}

bool qemu_object_add_dict(QDict *props, Error **errp)
{
    return object_add(props, false, errp);
}

bool qemu_object_del(const char *id, Error **errp)
{
    if (!objects || !g_hash_table_remove(objects, id)) {
        error_setg(errp, "object '%s' not found", id);
        return false;
    }
    return true;
}

bool qemu_object_add_cmdline(const char *optarg)
{
    Error *err = NULL;

    if (!strcmp(optarg, "help")) {
        printf("List of user creatable objects:\n  secret\n");
        exit(0);
    }
    if (!strcmp(optarg, "secret,help")) {
        size_t i;
        printf("secret options:\n");
        for (i = 0; i < G_N_ELEMENTS(secret_props); i++) {
            printf("  %s=<%s>\n", secret_props[i],
                   strcmp(secret_props[i], "format") ? "string" :
                   "QCryptoSecretFormat");
        }
        exit(0);
    }
    if (!qemu_object_add(optarg, &err)) {
        error_report_err(err);
        return false;
    }
    return true;
}

char *qemu_secret_lookup(const char *id, Error **errp)
{
    UserObject *o = objects ? g_hash_table_lookup(objects, id) : NULL;

    if (!o) {
        error_setg(errp, "No secret with id '%s'", id);
        return NULL;
    }
    if (!o->secret) {
        error_setg(errp, "Object '%s' is not a secret", id);
        return NULL;
    }
    return g_strdup(o->secret);
}

void qemu_object_del_all(void)
{
    if (objects) {
        g_hash_table_destroy(objects);
        objects = NULL;
    }
}
