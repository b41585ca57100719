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

bool qemu_object_add(const char *str, Error **errp)
{
    g_autoptr(QObject) props = NULL;
    const char *type, *id;
    char *value;
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
    type = qdict_get_try_str(props, "qom-type");
    if (!type) {
        error_setg(errp, "Parameter 'qom-type' is missing");
        return false;
    }
    if (strcmp(type, "secret")) {
        error_setg(errp, "Parameter 'qom-type' does not accept value '%s'",
                   type);
        return false;
    }
    id = qdict_get_try_str(props, "id");
    if (!id) {
        error_setg(errp, "Parameter 'id' is missing");
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
        bool known = !strcmp(key, "qom-type") || !strcmp(key, "id");
        size_t i;

        for (i = 0; i < G_N_ELEMENTS(secret_props) && !known; i++) {
            known = !strcmp(key, secret_props[i]);
        }
        if (!known) {
            error_setg(errp, "Parameter '%s' is unexpected", key);
            return false;
        }
    }
    if (objects && g_hash_table_contains(objects, id)) {
        error_setg(errp, "attempt to add duplicate property '%s' to object "
                   "(type 'container')", id);
        return false;
    }
    value = secret_value(id, props, errp);
    if (!value) {
        return false;
    }
    if (!objects) {
        objects = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                        g_free);
    }
    g_hash_table_insert(objects, g_strdup(id), value);
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
    const char *v = objects ? g_hash_table_lookup(objects, id) : NULL;

    if (!v) {
        error_setg(errp, "No secret with id '%s'", id);
        return NULL;
    }
    return g_strdup(v);
}

void qemu_object_del_all(void)
{
    if (objects) {
        g_hash_table_destroy(objects);
        objects = NULL;
    }
}
