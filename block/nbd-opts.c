/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The nbd driver's options (see nbd.c): file names parsed into options as
 * QEMU 7.2 parses them (nbd://, nbd+tcp://, nbd+unix:// URLs and the legacy
 * nbd:unix:PATH / nbd:HOST:PORT with :exportname=), the options checked
 * in 7.2's order with its messages, and the canonical name written back.
 * Pure functions; nbd.c calls them.
 */
#include "block/nbd-opts.h"
#include "block/driver.h"
#include "block/net-conn.h"
#include "util/error.h"
#include "util/cutils.h"

void nbd_options_free(NBDOptions *o)
{
    g_clear_pointer(&o->path, g_free);
    g_clear_pointer(&o->host, g_free);
    g_clear_pointer(&o->port, g_free);
    g_clear_pointer(&o->export, g_free);
    g_clear_pointer(&o->x_dirty_bitmap, g_free);
}

/* The old top-level path/host/port keys, as server.* (7.2's rules). */
static bool nbd_take_legacy_address(QDict *options, Error **errp)
{
    g_autofree char *path = bdrv_opt_take_str(options, "path");
    g_autofree char *host = bdrv_opt_take_str(options, "host");
    g_autofree char *port = bdrv_opt_take_str(options, "port");
    size_t i;

    if (!path && !host && !port) {
        return true;
    }
    for (i = 0; i < qdict_size(options); i++) {
        if (strstart(qdict_key_at(options, i), "server.", NULL)) {
            error_setg(errp, "Cannot use 'server' and path/host/port at the "
                       "same time");
            return false;
        }
    }
    if (path && host) {
        error_setg(errp, "path and host may not be used at the same time");
        return false;
    }
    if (path) {
        if (port) {
            error_setg(errp, "port may not be used without host");
            return false;
        }
        qdict_put_str(options, "server.type", "unix");
        qdict_put_str(options, "server.path", path);
    } else if (host) {
        qdict_put_str(options, "server.type", "inet");
        qdict_put_str(options, "server.host", host);
        qdict_put_str(options, "server.port",
                      port ? port : G_STRINGIFY(NBD_DEFAULT_PORT));
    }
    return true;
}

/* server.type, server.path or server.host and server.port. */
static bool nbd_take_address(QDict *options, NBDOptions *o, Error **errp)
{
    g_autofree char *type = NULL;
    size_t i;

    for (i = 0; i < qdict_size(options); i++) {
        if (strstart(qdict_key_at(options, i), "server.", NULL)) {
            break;
        }
    }
    if (i == qdict_size(options)) {
        error_setg(errp, "NBD server address missing");
        return false;
    }
    type = bdrv_opt_take_str(options, "server.type");
    if (!type) {
        error_setg(errp, "Parameter 'type' is missing");
        return false;
    }
    if (!strcmp(type, "unix")) {
        o->is_unix = true;
        o->path = bdrv_opt_take_str(options, "server.path");
        if (!o->path) {
            error_setg(errp, "Parameter 'path' is missing");
            return false;
        }
    } else if (!strcmp(type, "inet")) {
        o->host = bdrv_opt_take_str(options, "server.host");
        o->port = bdrv_opt_take_str(options, "server.port");
        if (!o->host) {
            error_setg(errp, "Parameter 'host' is missing");
            return false;
        }
        if (!o->port) {
            error_setg(errp, "Parameter 'port' is missing");
            return false;
        }
    } else {
        error_setg(errp, "Parameter 'type' does not accept value '%s'", type);
        return false;
    }
    return true;
}

bool nbd_take_options(QDict *options, NBDOptions *o, Error **errp)
{
    g_autofree char *tls_creds = NULL;
    g_autofree char *tls_hostname = NULL;
    bool has_depth, has_timeout;

    memset(o, 0, sizeof(*o));
    /* in 7.2's order: its option list, the address, then the names */
    o->export = bdrv_opt_take_str(options, "export");
    tls_creds = bdrv_opt_take_str(options, "tls-creds");
    tls_hostname = bdrv_opt_take_str(options, "tls-hostname");
    o->x_dirty_bitmap = bdrv_opt_take_str(options, "x-dirty-bitmap");
    if (!bdrv_opt_take_number(options, "reconnect-delay", &o->reconnect_delay,
                              NULL, errp) ||
        !bdrv_opt_take_number(options, "open-timeout", &o->open_timeout,
                              NULL, errp) ||
        !bdrv_opt_take_number(options, "connections", &o->connections,
                              &o->has_connections, errp) ||
        !bdrv_opt_take_number(options, "queue-depth", &o->depth, &has_depth,
                              errp) ||
        !bdrv_opt_take_number(options, "timeout", &o->timeout, &has_timeout,
                              errp) ||
        !nbd_take_legacy_address(options, errp) ||
        !nbd_take_address(options, o, errp)) {
        return false;
    }
    if (o->export && strlen(o->export) > NBD_MAX_STRING_SIZE) {
        error_setg(errp, "export name too long to send to server");
        return false;
    }
    if (tls_creds) {
        /* no TLS credentials object exists in this build's tools */
        error_setg(errp, "No TLS credentials with id '%s'", tls_creds);
        return false;
    }
    if (o->x_dirty_bitmap && strlen(o->x_dirty_bitmap) > NBD_MAX_STRING_SIZE) {
        error_setg(errp, "x-dirty-bitmap query too long to send to server");
        return false;
    }
    if (!o->has_connections) {
        o->connections = NBD_DEFAULT_CONNECTIONS;
    }
    if (!has_depth) {
        o->depth = NBD_DEFAULT_DEPTH;
    }
    if (!has_timeout) {
        o->timeout = NBD_DEFAULT_TIMEOUT_S;
    }
    return net_check_options("connections", o->connections,
                             NBD_MAX_CONNECTIONS, o->depth, NBD_MAX_DEPTH,
                             o->timeout, errp);
}

char *nbd_server_name(const NBDOptions *o)
{
    if (o->is_unix) {
        return g_strdup(o->path);
    }
    return g_strdup_printf("%s:%s", o->host, o->port);
}

char *nbd_make_url(const NBDOptions *o)
{
    GString *url = g_string_new(NULL);
    char sep;

    if (o->is_unix) {
        g_string_append_printf(url, "nbd+unix://%s%s?socket=%s",
                               o->export ? "/" : "",
                               o->export ? o->export : "", o->path);
        sep = '&';
    } else {
        g_string_append_printf(url, "nbd://%s:%s%s%s", o->host, o->port,
                               o->export ? "/" : "",
                               o->export ? o->export : "");
        sep = '?';
    }
#define NBD_URL_PARAM(cond, name, val) \
    if (cond) { \
        g_string_append_printf(url, "%c%s=%" PRIu64, sep, name, val); \
        sep = '&'; \
    }
    NBD_URL_PARAM(o->has_connections, "connections", o->connections);
    NBD_URL_PARAM(o->depth != NBD_DEFAULT_DEPTH, "queue-depth", o->depth);
    NBD_URL_PARAM(o->timeout != NBD_DEFAULT_TIMEOUT_S, "timeout", o->timeout);
#undef NBD_URL_PARAM
    return g_string_free(url, false);
}

/* ---- file names ---- */

/* Our options a URL's query may carry besides 7.2's socket=. */
static bool nbd_is_url_option(const char *name)
{
    return !strcmp(name, "connections") || !strcmp(name, "queue-depth") ||
           !strcmp(name, "timeout");
}

/*
 * nbd[+tcp]://HOST[:PORT]/EXPORT and nbd+unix:///EXPORT?socket=PATH, with
 * 7.2's rules: a unix URL has no server part and exactly one socket=, a
 * TCP URL a host and no socket=.  False: not a valid NBD URL.
 */
static bool nbd_parse_uri(const char *filename, QDict *options)
{
    const char *rest, *auth_end, *path_end;
    g_autofree char *auth = NULL;
    g_autofree char *export = NULL;
    g_autofree char *socket = NULL;
    g_auto(GStrv) params = NULL;
    bool is_unix;
    int i;

    if (strstart(filename, "nbd://", &rest) ||
        strstart(filename, "nbd+tcp://", &rest)) {
        is_unix = false;
    } else if (strstart(filename, "nbd+unix://", &rest)) {
        is_unix = true;
    } else {
        return false;
    }
    auth_end = rest + strcspn(rest, "/?#");
    path_end = auth_end + strcspn(auth_end, "?#");
    auth = g_strndup(rest, auth_end - rest);
    if (*path_end == '#') {
        return false;
    }
    {
        const char *p = auth_end;
        g_autofree char *raw = NULL;

        if (*p == '/') {
            p++;
        }
        raw = g_strndup(p, path_end - p);
        export = g_uri_unescape_string(raw, NULL);
        if (!export) {
            return false;
        }
    }
    if (*path_end == '?') {
        params = g_strsplit_set(path_end + 1, "&;", -1);
    }
    for (i = 0; params && params[i]; i++) {
        char *eq = strchr(params[i], '=');
        g_autofree char *value = NULL;

        if (!*params[i]) {
            continue;
        }
        if (eq) {
            *eq = '\0';
        }
        value = g_uri_unescape_string(eq ? eq + 1 : "", NULL);
        if (!value) {
            return false;
        }
        if (is_unix && !strcmp(params[i], "socket") && !socket) {
            socket = g_steal_pointer(&value);
        } else if (nbd_is_url_option(params[i])) {
            qdict_put_str(options, params[i], value);
        } else {
            return false;
        }
    }

    if (is_unix) {
        if (*auth || !socket) {
            return false;
        }
        qdict_put_str(options, "server.type", "unix");
        qdict_put_str(options, "server.path", socket);
    } else {
        const char *at = strrchr(auth, '@');
        const char *host = at ? at + 1 : auth;
        g_autofree char *h = NULL;
        const char *port = NULL;

        if (*host == '[') {
            const char *rb = strchr(host, ']');
            if (!rb) {
                return false;
            }
            h = g_strndup(host + 1, rb - host - 1);
            if (rb[1] == ':') {
                port = rb + 2;
            } else if (rb[1]) {
                return false;
            }
        } else {
            const char *colon = strchr(host, ':');
            h = g_strndup(host, colon ? (size_t)(colon - host) : strlen(host));
            port = colon ? colon + 1 : NULL;
        }
        if (!*h) {
            return false;
        }
        if (port && *port) {
            uint64_t n;

            if (qemu_strtou64(port, NULL, 10, &n) < 0 || n > 65535) {
                return false;
            }
        }
        qdict_put_str(options, "server.type", "inet");
        qdict_put_str(options, "server.host", h);
        qdict_put_str(options, "server.port",
                      port && *port && strcmp(port, "0") ? port
                      : G_STRINGIFY(NBD_DEFAULT_PORT));
    }
    if (*export) {
        qdict_put_str(options, "export", export);
    }
    return true;
}

/* HOST:PORT or [V6]:PORT, as QEMU's inet_parse reads them. */
static bool nbd_parse_inet(const char *spec, QDict *options, Error **errp)
{
    g_autofree char *host = NULL;
    const char *port;

    if (*spec == '[') {
        const char *rb = strchr(spec, ']');

        if (!rb || rb[1] != ':' || !rb[2]) {
            error_setg(errp, "error parsing IPv6 address '%s'", spec);
            return false;
        }
        host = g_strndup(spec + 1, rb - spec - 1);
        port = rb + 2;
    } else {
        const char *colon = strchr(spec, ':');

        if (!colon || !colon[1]) {
            error_setg(errp, "error parsing address '%s'", spec);
            return false;
        }
        host = g_strndup(spec, colon - spec);
        port = colon + 1;
    }
    qdict_put_str(options, "server.type", "inet");
    qdict_put_str(options, "server.host", host);
    qdict_put_str(options, "server.port", port);
    return true;
}

bool nbd_parse_filename(const char *filename, QDict *options, Error **errp)
{
    static const char en_opt[] = ":exportname=";
    g_autofree char *file = NULL;
    const char *spec;
    char *export;
    size_t i;

    for (i = 0; i < qdict_size(options); i++) {
        const char *key = qdict_key_at(options, i);

        if (!strcmp(key, "host") || !strcmp(key, "port") ||
            !strcmp(key, "path") || !strcmp(key, "export") ||
            strstart(key, "server.", NULL)) {
            error_setg(errp, "Option '%s' cannot be used with a file name",
                       key);
            return false;
        }
    }
    if (strstr(filename, "://")) {
        if (!nbd_parse_uri(filename, options)) {
            error_setg(errp, "No valid URL specified");
            return false;
        }
        return true;
    }

    file = g_strdup(filename);
    export = strstr(file, en_opt);
    if (export) {
        if (!export[strlen(en_opt)]) {
            /* 7.2 then finds no address: "NBD server address missing" */
            return true;
        }
        *export = '\0';
        qdict_put_str(options, "export", export + strlen(en_opt));
    }
    if (!strstart(file, "nbd:", &spec)) {
        error_setg(errp, "File name string for NBD must start with 'nbd:'");
        return false;
    }
    if (!*spec) {
        return true;
    }
    if (strstart(spec, "unix:", &spec)) {
        qdict_put_str(options, "server.type", "unix");
        qdict_put_str(options, "server.path", spec);
        return true;
    }
    return nbd_parse_inet(spec, options, errp);
}
