/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The nfs driver's options (see nfs.c): the URL parsed into options as
 * QEMU 7.2 parses it, the options checked and given their defaults, and
 * the canonical URL written back.  Pure functions; nfs.c calls them.
 */
#include "block/nfs-opts.h"
#include "block/driver.h"
#include "block/net-conn.h"
#include "util/error.h"
#include "util/cutils.h"

void nfs_options_free(NFSOptions *o)
{
    g_free(o->host);
    g_free(o->path);
}

/* Everything that set up a client's connections, as one string. */
char *nfs_options_key(const NFSOptions *o, int flags)
{
    return g_strdup_printf("%s %s %d%d%d%d%d%d%d%d %" PRIu64 " %" PRIu64
                           " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
                           " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
                           " %" PRIu64 " %d", o->host, o->path,
                           o->has_uid, o->has_gid, o->has_syncnt,
                           o->has_readahead, o->has_pagecache, o->has_debug,
                           o->has_nfsport, o->has_mountport, o->uid, o->gid,
                           o->syncnt, o->readahead, o->pagecache, o->debug,
                           o->nfsport, o->mountport, o->connections,
                           o->timeout, o->depth, !!(flags & BDRV_O_NOCACHE));
}

bool nfs_take_options(QDict *options, NFSOptions *o, Error **errp)
{
    g_autofree char *type = bdrv_opt_take_str(options, "server.type");
    bool has_conns, has_timeout, has_depth;

    memset(o, 0, sizeof(*o));
    o->host = bdrv_opt_take_str(options, "server.host");
    o->path = bdrv_opt_take_str(options, "path");
    if (!bdrv_opt_take_number(options, "user", &o->uid, &o->has_uid, errp) ||
        !bdrv_opt_take_number(options, "group", &o->gid, &o->has_gid, errp) ||
        !bdrv_opt_take_number(options, "tcp-syn-count", &o->syncnt,
                         &o->has_syncnt, errp) ||
        !bdrv_opt_take_number(options, "readahead-size", &o->readahead,
                         &o->has_readahead, errp) ||
        !bdrv_opt_take_number(options, "page-cache-size", &o->pagecache,
                         &o->has_pagecache, errp) ||
        !bdrv_opt_take_number(options, "debug", &o->debug, &o->has_debug, errp) ||
        !bdrv_opt_take_number(options, "nfsport", &o->nfsport, &o->has_nfsport,
                         errp) ||
        !bdrv_opt_take_number(options, "mountport", &o->mountport,
                         &o->has_mountport, errp) ||
        !bdrv_opt_take_number(options, "connections", &o->connections, &has_conns,
                         errp) ||
        !bdrv_opt_take_number(options, "timeout", &o->timeout, &has_timeout,
                         errp) ||
        !bdrv_opt_take_number(options, "queue-depth", &o->depth, &has_depth,
                         errp)) {
        return false;
    }
    /* in the order QEMU's option visitor meets them */
    if (!type) {
        error_setg(errp, "Parameter '%s' is missing",
                   o->host ? "server.type" : "server");
        return false;
    }
    if (strcmp(type, "inet")) {
        error_setg(errp, "Parameter 'server.type' does not accept value '%s'",
                   type);
        return false;
    }
    if (!o->host) {
        error_setg(errp, "Parameter 'server.host' is missing");
        return false;
    }
    if (!o->path) {
        error_setg(errp, "Parameter 'path' is missing");
        return false;
    }
    if (!strrchr(o->path, '/')) {
        error_setg(errp, "Invalid URL specified");
        return false;
    }
    if (!has_conns) {
        o->connections = NFS_DEFAULT_CONNECTIONS;
    }
    if (!has_depth) {
        o->depth = NFS_DEFAULT_DEPTH;
    }
    if (!has_timeout) {
        o->timeout = NFS_DEFAULT_TIMEOUT_S;
    }
    if (!net_check_options("connections", o->connections, NFS_MAX_CONNECTIONS,
                           o->depth, NFS_MAX_DEPTH, o->timeout, errp)) {
        return false;
    }
    if (o->nfsport > 65535 || o->mountport > 65535) {
        error_setg(errp, "Parameter '%s' must be a port number",
                   o->nfsport > 65535 ? "nfsport" : "mountport");
        return false;
    }
    return true;
}

/*
 * The canonical URL: QEMU's form (host, path, uid and gid when not 0),
 * plus our options that decide how the server is reached.
 */
char *nfs_make_url(const NFSOptions *o)
{
    GString *url = g_string_new("nfs://");
    char sep = '?';
    bool v6 = strchr(o->host, ':') != NULL;

    g_string_append_printf(url, "%s%s%s%s", v6 ? "[" : "", o->host,
                           v6 ? "]" : "", o->path);
#define NFS_URL_PARAM(cond, name, val) \
    if (cond) { \
        g_string_append_printf(url, "%c%s=%" PRIu64, sep, name, val); \
        sep = '&'; \
    }
    NFS_URL_PARAM(o->uid, "uid", o->uid);
    NFS_URL_PARAM(o->gid, "gid", o->gid);
    NFS_URL_PARAM(o->has_nfsport, "nfsport", o->nfsport);
    NFS_URL_PARAM(o->has_mountport, "mountport", o->mountport);
    NFS_URL_PARAM(o->connections != NFS_DEFAULT_CONNECTIONS, "connections",
                  o->connections);
    NFS_URL_PARAM(o->timeout != NFS_DEFAULT_TIMEOUT_S, "timeout", o->timeout);
    NFS_URL_PARAM(o->depth != NFS_DEFAULT_DEPTH, "queue-depth", o->depth);
#undef NFS_URL_PARAM
    return g_string_free(url, false);
}

/* Settings libnfs takes on a fresh context, before mount. */

/* ---- URL parsing ---- */

static bool nfs_has_filename_options_conflict(QDict *options, Error **errp)
{
    static const char *const keys[] = {
        "host", "path", "user", "group", "tcp-syn-count", "readahead-size",
        "page-cache-size", "debug", "nfsport", "mountport", "connections",
        "timeout", "queue-depth", NULL,
    };
    size_t n;
    int i;

    for (n = 0; n < qdict_size(options); n++) {
        const char *key = qdict_key_at(options, n);

        for (i = 0; keys[i]; i++) {
            if (!strcmp(key, keys[i])) {
                break;
            }
        }
        if (keys[i] || strstart(key, "server.", NULL)) {
            error_setg(errp, "Option %s cannot be used with a filename", key);
            return true;
        }
    }
    return false;
}

/* QEMU's names for the URL's query parameters, and ours. */
static const struct {
    const char *query;
    const char *option;
} nfs_query_params[] = {
    { "uid", "user" },
    { "gid", "group" },
    { "tcp-syncnt", "tcp-syn-count" },
    { "readahead", "readahead-size" },
    { "readahead-size", "readahead-size" },
    { "pagecache", "page-cache-size" },
    { "page-cache-size", "page-cache-size" },
    { "debug", "debug" },
    { "nfsport", "nfsport" },
    { "mountport", "mountport" },
    { "connections", "connections" },
    { "timeout", "timeout" },
    { "queue-depth", "queue-depth" },
};

bool nfs_parse_uri(const char *filename, QDict *options, Error **errp)
{
    const char *p, *host_end, *path, *query;
    g_autofree char *host = NULL;
    g_autofree char *path_str = NULL;
    g_auto(GStrv) params = NULL;
    int i;

    if (!strstart(filename, "nfs://", &p)) {
        error_setg(errp, "URI scheme must be 'nfs'");
        return false;
    }
    path = strchr(p, '/');
    query = strchr(p, '?');
    if (query && (!path || query < path)) {
        path = NULL;
    }
    host_end = path ? path : (query ? query : p + strlen(p));
    /* drop userinfo; keep [v6] literals whole; a :port is ignored, as QEMU */
    {
        const char *at = memchr(p, '@', host_end - p);
        const char *h = at ? at + 1 : p;
        const char *colon;

        if (*h == '[') {
            const char *rb = memchr(h, ']', host_end - h);
            if (!rb) {
                error_setg(errp, "Invalid URI specified");
                return false;
            }
            host = g_strndup(h + 1, rb - h - 1);
        } else {
            colon = memchr(h, ':', host_end - h);
            host = g_strndup(h, (colon ? colon : host_end) - h);
        }
    }
    if (!*host) {
        error_setg(errp, "missing hostname in URI");
        return false;
    }
    if (!path) {
        error_setg(errp, "missing file path in URI");
        return false;
    }
    {
        g_autofree char *raw = query ? g_strndup(path, query - path)
                                     : g_strdup(path);
        path_str = g_uri_unescape_string(raw, NULL);
    }
    if (!path_str) {
        error_setg(errp, "Invalid URI specified");
        return false;
    }

    if (query && query[1]) {
        params = g_strsplit(query + 1, "&", -1);
    }
    for (i = 0; params && params[i]; i++) {
        char *eq = strchr(params[i], '=');
        uint64_t val;
        size_t j;

        if (!*params[i]) {
            continue;
        }
        if (!eq) {
            error_setg(errp, "Value for NFS parameter expected: %s",
                       params[i]);
            return false;
        }
        *eq = '\0';
        if (qemu_strtou64(eq + 1, NULL, 0, &val) < 0) {
            error_setg(errp, "Illegal value for NFS parameter: %s", params[i]);
            return false;
        }
        for (j = 0; j < G_N_ELEMENTS(nfs_query_params); j++) {
            if (!strcmp(params[i], nfs_query_params[j].query)) {
                qdict_put_str(options, nfs_query_params[j].option, eq + 1);
                break;
            }
        }
        if (j == G_N_ELEMENTS(nfs_query_params)) {
            error_setg(errp, "Unknown NFS parameter name: %s", params[i]);
            return false;
        }
    }
    qdict_put_str(options, "server.host", host);
    qdict_put_str(options, "server.type", "inet");
    qdict_put_str(options, "path", path_str);
    return true;
}

bool nfs_parse_filename(const char *filename, QDict *options,
                               Error **errp)
{
    if (nfs_has_filename_options_conflict(options, errp)) {
        return false;
    }
    return nfs_parse_uri(filename, options, errp);
}
