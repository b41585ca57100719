/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The QMP input stream: a lexer that cuts bytes into tokens, a counter of
 * open brackets that decides where a message ends, and a parser over the
 * message's tokens.  The grammar, the messages and the limits are QEMU
 * 7.2's (its qobject/json-*.c), so a client sees the same errors.
 * json_parse() (json: file names, --blockdev JSON) is one more user.
 */
#include "util/osdep.h"
#include "util/json-stream.h"
#include "util/json.h"

#define MAX_TOKEN_SIZE  (64ULL << 20)
#define MAX_TOKEN_COUNT (2ULL << 20)
#define MAX_NESTING     (1 << 10)

typedef enum TokType {
    TOK_LCURLY, TOK_RCURLY, TOK_LSQUARE, TOK_RSQUARE, TOK_COLON, TOK_COMMA,
    TOK_INTEGER, TOK_FLOAT, TOK_KEYWORD, TOK_STRING,
} TokType;

typedef enum LexState {
    LX_START, LX_RECOVERY, LX_STRING, LX_STRING_ESC, LX_SIGN, LX_ZERO,
    LX_DIGITS, LX_MANTISSA, LX_MANTISSA_DIGITS, LX_EXP_E, LX_EXP_SIGN,
    LX_EXP_DIGITS, LX_KEYWORD,
} LexState;

typedef struct Token {
    TokType type;
    char *str;
} Token;

struct JsonStream {
    JsonStreamEmit *emit;
    void *opaque;
    LexState state;
    char quote;
    GString *tok;               /* the token being lexed */
    GArray *tokens;             /* Token: the message so far */
    uint64_t token_size;
    int braces, brackets;
    int max_nesting;
};

JsonStream *json_stream_new(JsonStreamEmit *emit, void *opaque)
{
    JsonStream *js = g_new0(JsonStream, 1);

    js->emit = emit;
    js->opaque = opaque;
    js->tok = g_string_new(NULL);
    js->tokens = g_array_new(false, false, sizeof(Token));
    js->max_nesting = MAX_NESTING;
    return js;
}

static void drop_tokens(JsonStream *js)
{
    guint i;

    for (i = 0; i < js->tokens->len; i++) {
        g_free(g_array_index(js->tokens, Token, i).str);
    }
    g_array_set_size(js->tokens, 0);
    js->token_size = 0;
    js->braces = js->brackets = 0;
}

void json_stream_free(JsonStream *js)
{
    if (js) {
        drop_tokens(js);
        g_array_free(js->tokens, true);
        g_string_free(js->tok, true);
        g_free(js);
    }
}

/* ---- the parser: one message's tokens ---- */

typedef struct Parser {
    Token *t;
    guint n, pos;
    Error *err;
} Parser;

static void G_GNUC_PRINTF(2, 3) perr(Parser *p, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *msg = NULL;

    if (p->err) {
        return;
    }
    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    error_setg(&p->err, "JSON parse error, %s", msg);
}

static Token *peek(Parser *p)
{
    return p->pos < p->n ? &p->t[p->pos] : NULL;
}

static Token *pop(Parser *p)
{
    return p->pos < p->n ? &p->t[p->pos++] : NULL;
}

/* The value of four hex digits at @s (a \\u escape's), or -1. */
static int hex4(const char *s)
{
    int v = 0, i;

    for (i = 0; i < 4; i++) {
        int d = g_ascii_xdigit_value(s[i]);

        if (d < 0) {
            return -1;
        }
        v = v * 16 + d;
    }
    return v;
}

/* Modified UTF-8 as 7.2 keeps strings: U+0000 is C0 80; no surrogates. */
static bool append_cp(GString *s, int cp)
{
    if (cp < 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return false;
    }
    if (cp == 0) {
        g_string_append(s, "\xC0\x80");
    } else {
        g_string_append_unichar(s, cp);
    }
    return true;
}

/* A valid UTF-8 character (or C0 80) at @s; its length, or -1. */
static int utf8_char_len(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    gunichar c;

    if (u[0] < 0x80) {
        return 1;
    }
    if (u[0] == 0xC0 && u[1] == 0x80) {
        return 2;
    }
    c = g_utf8_get_char_validated(s, -1);
    if (c == (gunichar)-1 || c == (gunichar)-2 ||
        (c >= 0xD800 && c <= 0xDFFF)) {
        return -1;
    }
    return g_utf8_next_char(s) - s;
}

static QObject *parse_string(Parser *p, const Token *tk)
{
    const char *s = tk->str;
    char quote = *s++;
    GString *out = g_string_new(NULL);

    while (*s != quote) {
        const char *beg = s;
        int cp, lo, len;

        if (*s != '\\') {
            len = utf8_char_len(s);
            if (len < 0) {
                perr(p, "invalid UTF-8 sequence in string");
                goto fail;
            }
            g_string_append_len(out, s, len);
            s += len;
            continue;
        }
        s++;
        switch (*s++) {
        case '"': g_string_append_c(out, '"'); break;
        case '\'': g_string_append_c(out, '\''); break;
        case '\\': g_string_append_c(out, '\\'); break;
        case '/': g_string_append_c(out, '/'); break;
        case 'b': g_string_append_c(out, '\b'); break;
        case 'f': g_string_append_c(out, '\f'); break;
        case 'n': g_string_append_c(out, '\n'); break;
        case 'r': g_string_append_c(out, '\r'); break;
        case 't': g_string_append_c(out, '\t'); break;
        case 'u':
            cp = hex4(s);
            if (cp >= 0) {
                s += 4;
            } else {
                /* as 7.2, the four characters are named whatever they are */
                s += strnlen(s, 4);
            }
            if (cp >= 0xD800 && cp <= 0xDBFF && s[0] == '\\' && s[1] == 'u') {
                lo = hex4(s + 2);
                if (lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp & 0x3FF) << 10) + (lo & 0x3FF);
                    s += 6;
                } else {
                    cp = -1;
                }
            }
            if (!append_cp(out, cp)) {
                perr(p, "%.*s is not a valid Unicode character",
                     (int)(s - beg), beg);
                goto fail;
            }
            break;
        default:
            perr(p, "invalid escape sequence in string");
            goto fail;
        }
    }
    {
        g_autofree char *text = g_string_free(out, false);
        return qstring_new(text);
    }
fail:
    g_string_free(out, true);
    return NULL;
}

static QObject *parse_value(Parser *p);

static QObject *parse_object(Parser *p)
{
    QDict *d = qdict_new();
    Token *t;

    pop(p);                                     /* { */
    t = peek(p);
    if (!t) {
        perr(p, "premature EOI");
        goto fail;
    }
    if (t->type == TOK_RCURLY) {
        pop(p);
        return d;
    }
    for (;;) {
        QObject *k, *v;

        /* as 7.2: the key is any value, then refused when no string */
        k = parse_value(p);
        if (!k || qobject_type(k) != QTYPE_STRING) {
            qobject_unref(k);
            perr(p, "key is not a string in object");
            goto fail;
        }
        t = pop(p);
        if (!t) {
            qobject_unref(k);
            perr(p, "premature EOI");
            goto fail;
        }
        if (t->type != TOK_COLON) {
            qobject_unref(k);
            perr(p, "missing : in object pair");
            goto fail;
        }
        v = parse_value(p);
        if (!v) {
            qobject_unref(k);
            if (!p->err) {
                perr(p, "Missing value in dict");
            }
            goto fail;
        }
        if (qdict_haskey(d, qstring_get(k))) {
            qobject_unref(k);
            qobject_unref(v);
            perr(p, "duplicate key");
            goto fail;
        }
        qdict_put_obj(d, qstring_get(k), v);
        qobject_unref(k);
        t = pop(p);
        if (!t) {
            perr(p, "premature EOI");
            goto fail;
        }
        if (t->type == TOK_RCURLY) {
            return d;
        }
        if (t->type != TOK_COMMA) {
            perr(p, "expected separator in dict");
            goto fail;
        }
    }
fail:
    qobject_unref(d);
    return NULL;
}

static QObject *parse_array(Parser *p)
{
    QList *l = qlist_new();
    Token *t;

    pop(p);                                     /* [ */
    t = peek(p);
    if (!t) {
        perr(p, "premature EOI");
        goto fail;
    }
    if (t->type == TOK_RSQUARE) {
        pop(p);
        return l;
    }
    for (;;) {
        QObject *v = parse_value(p);

        if (!v) {
            goto fail;
        }
        qlist_append(l, v);
        t = pop(p);
        if (!t) {
            perr(p, "premature EOI");
            goto fail;
        }
        if (t->type == TOK_RSQUARE) {
            return l;
        }
        if (t->type != TOK_COMMA) {
            perr(p, "expected separator in list");
            goto fail;
        }
    }
fail:
    qobject_unref(l);
    return NULL;
}

static QObject *parse_number(const Token *t)
{
    char *end;

    if (t->type == TOK_INTEGER) {
        int64_t v;

        errno = 0;
        v = g_ascii_strtoll(t->str, &end, 10);
        if (!errno && !*end) {
            return qint_new(v);
        }
        /* 7.2 keeps a larger unsigned one exact; ours become doubles */
    }
    return qnum_new(g_ascii_strtod(t->str, NULL));
}

static QObject *parse_value(Parser *p)
{
    Token *t = peek(p);

    if (!t) {
        perr(p, "premature EOI");
        return NULL;
    }
    switch (t->type) {
    case TOK_LCURLY:
        return parse_object(p);
    case TOK_LSQUARE:
        return parse_array(p);
    case TOK_STRING:
        pop(p);
        return parse_string(p, t);
    case TOK_INTEGER:
    case TOK_FLOAT:
        pop(p);
        return parse_number(t);
    case TOK_KEYWORD:
        pop(p);
        if (!strcmp(t->str, "true")) {
            return qbool_new(true);
        } else if (!strcmp(t->str, "false")) {
            return qbool_new(false);
        } else if (!strcmp(t->str, "null")) {
            return qnull_new();
        }
        perr(p, "invalid keyword '%s'", t->str);
        return NULL;
    default:
        perr(p, "expecting value");
        return NULL;
    }
}

/* ---- the message boundaries ---- */

static void emit_message(JsonStream *js)
{
    Parser p = {
        .t = (Token *)js->tokens->data, .n = js->tokens->len,
    };
    QObject *obj = p.n ? parse_value(&p) : NULL;

    drop_tokens(js);
    if (p.err) {
        qobject_unref(obj);
        js->emit(js->opaque, NULL, p.err);
    } else if (obj) {
        js->emit(js->opaque, obj, NULL);
    }
}

static void emit_error(JsonStream *js, const char *msg)
{
    Error *err = NULL;

    drop_tokens(js);
    error_setg(&err, "%s", msg);
    js->emit(js->opaque, NULL, err);
}

static void add_token(JsonStream *js, TokType type)
{
    Token t = { .type = type };

    switch (type) {
    case TOK_LCURLY: js->braces++; break;
    case TOK_RCURLY: js->braces--; break;
    case TOK_LSQUARE: js->brackets++; break;
    case TOK_RSQUARE: js->brackets--; break;
    default: break;
    }
    if (js->token_size + js->tok->len + 1 > MAX_TOKEN_SIZE) {
        emit_error(js, "JSON token size limit exceeded");
        goto out;
    }
    if (js->tokens->len + 1 > MAX_TOKEN_COUNT) {
        emit_error(js, "JSON token count limit exceeded");
        goto out;
    }
    if (js->braces + js->brackets > js->max_nesting) {
        emit_error(js, "JSON nesting depth limit exceeded");
        goto out;
    }
    t.str = g_strndup(js->tok->str, js->tok->len);
    js->token_size += js->tok->len;
    g_array_append_val(js->tokens, t);
    if ((js->braces > 0 || js->brackets > 0) &&
        js->braces >= 0 && js->brackets >= 0) {
        goto out;
    }
    emit_message(js);
out:
    g_string_truncate(js->tok, 0);
}

/* A lexical error: the text so far is "stray", then resynchronise. */
static void lex_error(JsonStream *js)
{
    g_autofree char *msg = g_strdup_printf("JSON parse error, stray '%s'",
                                           js->tok->str);

    g_string_truncate(js->tok, 0);
    emit_error(js, msg);
    js->state = LX_RECOVERY;
}

static bool is_structural(unsigned char c)
{
    return strchr("[]{}:,", c) && c;
}

/*
 * Feed one byte; returns whether it was consumed (a byte that ends a
 * number or keyword is looked at again in the start state).
 */
static bool lex_char(JsonStream *js, unsigned char c)
{
    switch (js->state) {
    case LX_RECOVERY:
        if ((c < 0x20 && c != '\t') || c >= 0xFE || is_structural(c)) {
            js->state = LX_START;
            return false;
        }
        return true;
    case LX_START:
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            return true;
        }
        g_string_append_c(js->tok, c);
        switch (c) {
        case '{': add_token(js, TOK_LCURLY); return true;
        case '}': add_token(js, TOK_RCURLY); return true;
        case '[': add_token(js, TOK_LSQUARE); return true;
        case ']': add_token(js, TOK_RSQUARE); return true;
        case ':': add_token(js, TOK_COLON); return true;
        case ',': add_token(js, TOK_COMMA); return true;
        case '"': case '\'':
            js->quote = c;
            js->state = LX_STRING;
            return true;
        case '-': js->state = LX_SIGN; return true;
        case '0': js->state = LX_ZERO; return true;
        default:
            if (c >= '1' && c <= '9') {
                js->state = LX_DIGITS;
            } else if (c >= 'a' && c <= 'z') {
                js->state = LX_KEYWORD;
            } else {
                lex_error(js);
            }
            return true;
        }
    case LX_STRING:
    case LX_STRING_ESC:
        g_string_append_c(js->tok, c);
        if (c < 0x20 || c >= 0xFE) {
            lex_error(js);
        } else if (js->state == LX_STRING_ESC) {
            js->state = LX_STRING;
        } else if (c == '\\') {
            js->state = LX_STRING_ESC;
        } else if (c == js->quote) {
            js->state = LX_START;
            add_token(js, TOK_STRING);
        }
        return true;
    case LX_KEYWORD:
        if (c >= 'a' && c <= 'z') {
            g_string_append_c(js->tok, c);
            return true;
        }
        js->state = LX_START;
        add_token(js, TOK_KEYWORD);
        return false;
    default:
        break;
    }

    /* numbers: 7.2's grammar, state by state */
    {
        LexState next = LX_START;
        bool digit = c >= '0' && c <= '9';
        TokType done = TOK_INTEGER;
        bool terminal = false;

        switch (js->state) {
        case LX_SIGN:
            next = c == '0' ? LX_ZERO : digit ? LX_DIGITS : LX_START;
            break;
        case LX_ZERO:
            if (digit) {
                g_string_append_c(js->tok, c);
                lex_error(js);
                return true;
            }
            next = c == '.' ? LX_MANTISSA : LX_START;
            terminal = next == LX_START;
            break;
        case LX_DIGITS:
            next = digit ? LX_DIGITS : (c == 'e' || c == 'E') ? LX_EXP_E :
                   c == '.' ? LX_MANTISSA : LX_START;
            terminal = next == LX_START;
            break;
        case LX_MANTISSA:
            next = digit ? LX_MANTISSA_DIGITS : LX_START;
            break;
        case LX_MANTISSA_DIGITS:
            next = digit ? LX_MANTISSA_DIGITS :
                   (c == 'e' || c == 'E') ? LX_EXP_E : LX_START;
            terminal = next == LX_START;
            done = TOK_FLOAT;
            break;
        case LX_EXP_E:
            next = (c == '-' || c == '+') ? LX_EXP_SIGN :
                   digit ? LX_EXP_DIGITS : LX_START;
            break;
        case LX_EXP_SIGN:
            next = digit ? LX_EXP_DIGITS : LX_START;
            break;
        case LX_EXP_DIGITS:
            next = digit ? LX_EXP_DIGITS : LX_START;
            terminal = next == LX_START;
            done = TOK_FLOAT;
            break;
        default:
            g_assert_not_reached();
        }
        if (next != LX_START) {
            g_string_append_c(js->tok, c);
            js->state = next;
            return true;
        }
        if (terminal) {
            js->state = LX_START;
            add_token(js, done);
            return false;
        }
        /* a number cut short: the byte is part of the stray text */
        g_string_append_c(js->tok, c);
        lex_error(js);
        return true;
    }
}

void json_stream_feed(JsonStream *js, const char *buf, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        while (!lex_char(js, (unsigned char)buf[i])) {
            /* looked at again in the start state */
        }
        if (js->tok->len > MAX_TOKEN_SIZE) {
            /* a single huge token: 7.2 gives up on the message */
            g_string_truncate(js->tok, 0);
            js->state = LX_START;
            emit_error(js, "JSON token size limit exceeded");
        }
    }
}

void json_stream_flush(JsonStream *js)
{
    switch (js->state) {
    case LX_START:
    case LX_RECOVERY:
        break;
    case LX_KEYWORD:
        add_token(js, TOK_KEYWORD);
        break;
    case LX_ZERO:
    case LX_DIGITS:
        add_token(js, TOK_INTEGER);
        break;
    case LX_MANTISSA_DIGITS:
    case LX_EXP_DIGITS:
        add_token(js, TOK_FLOAT);
        break;
    default:
        /* a string or number cut short */
        lex_error(js);
    }
    js->state = LX_START;
    if (js->tokens->len) {
        emit_message(js);
    }
}

void json_stream_reset(JsonStream *js)
{
    g_string_truncate(js->tok, 0);
    js->state = LX_START;
    drop_tokens(js);
}

/* ---- one value from a string ---- */

typedef struct OneValue {
    QObject *result;
    Error *err;
} OneValue;

/* As 7.2's qobject_from_json(): the first error, or exactly one value. */
static void one_value(void *opaque, QObject *obj, Error *err)
{
    OneValue *v = opaque;

    if (v->result) {
        g_clear_pointer(&v->result, qobject_unref);
        error_setg(&v->err, "Expecting at most one JSON value");
    }
    if (v->err) {
        qobject_unref(obj);
        error_free(err);
        return;
    }
    v->result = obj;
    v->err = err;
}

QObject *json_parse(const char *text, Error **errp)
{
    OneValue v = { 0 };
    JsonStream *js = json_stream_new(one_value, &v);

    /* json: names are parsed in coroutines: a smaller bound than QMP's */
    js->max_nesting = JSON_PARSE_MAX_NESTING;
    json_stream_feed(js, text, strlen(text));
    json_stream_flush(js);
    json_stream_free(js);
    if (!v.result && !v.err) {
        error_setg(&v.err, "Expecting a JSON value");
    }
    error_propagate(errp, v.err);
    return v.result;
}
