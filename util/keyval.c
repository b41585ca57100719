/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Parser for comma-separated key=value option strings (QemuOpts syntax).
 */
#include "util/osdep.h"
#include "util/keyval.h"

/* Copy up to the next unescaped @stop char (or ','); returns the end. */
static const char *get_token(GString *out, const char *p, char stop)
{
    while (*p) {
        if (*p == ',') {
            if (p[1] == ',') {
                g_string_append_c(out, ',');
                p += 2;
                continue;
            }
            break;
        }
        if (*p == stop) {
            break;
        }
        g_string_append_c(out, *p++);
    }
    return p;
}

bool keyval_parse_into(QDict **dict, const char *params,
                       const char *implied_key, Error **errp)
{
    const char *p = params;
    bool first = true;

    if (!*dict) {
        *dict = qdict_new();
    }
    while (*p) {
        g_autoptr(GString) key = g_string_new(NULL);
        g_autoptr(GString) value = g_string_new(NULL);

        p = get_token(key, p, '=');
        if (*p == '=') {
            p = get_token(value, p + 1, '\0');
        } else if (first && implied_key) {
            g_string_assign(value, key->str);
            g_string_assign(key, implied_key);
        } else if (key->len == 0) {
            error_setg(errp, "Invalid parameter ''");
            return false;
        } else if (g_str_has_prefix(key->str, "no") && key->len > 2) {
            g_string_erase(key, 0, 2);
            g_string_assign(value, "off");
        } else {
            g_string_assign(value, "on");
        }
        if (key->len == 0) {
            error_setg(errp, "Invalid parameter '%s'", value->str);
            return false;
        }
        qdict_put_str(*dict, key->str, value->str);
        first = false;
        if (*p == ',') {
            p++;
        }
    }
    return true;
}

bool qemu_parse_bool(const char *name, const char *value, bool *result,
                     Error **errp)
{
    if (!strcmp(value, "on") || !strcmp(value, "yes") ||
        !strcmp(value, "true") || !strcmp(value, "y")) {
        *result = true;
        return true;
    }
    if (!strcmp(value, "off") || !strcmp(value, "no") ||
        !strcmp(value, "false") || !strcmp(value, "n")) {
        *result = false;
        return true;
    }
    error_setg(errp, "Parameter '%s' expects 'on' or 'off'", name);
    return false;
}
