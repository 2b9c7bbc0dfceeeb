/* mote fleet graph: SPARQL 1.1 Protocol handler (see graph_http.h).
 *
 * Everything here reads request bytes from the network: parameters are
 * decoded within their bounds, NUL bytes are refused (the query is handed
 * to C string APIs), and every reply is a complete response, never a crash
 * or a partial body. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "graph_http.h"

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Decode s[0..n) into a new string; NULL when malformed or on %00. */
static char *url_decode(const char *s, size_t n)
{
    char *out = malloc(n + 1), *o = out;
    for (size_t i = 0; out && i < n; i++) {
        if (s[i] == '+') {
            *o++ = ' ';
        } else if (s[i] == '%') {
            int hi = i + 2 < n ? hexval((unsigned char)s[i + 1]) : -1;
            int lo = i + 2 < n ? hexval((unsigned char)s[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi | lo) == 0) {
                free(out);
                return NULL;
            }
            *o++ = (char)(hi * 16 + lo);
            i += 2;
        } else if (s[i] == 0) {
            free(out);
            return NULL;
        } else {
            *o++ = s[i];
        }
    }
    if (out)
        *o = 0;
    return out;
}

int mote_graph_form_get(const char *s, size_t len, const char *key, char **out)
{
    size_t kl = strlen(key), i = 0;
    *out = NULL;
    while (s && i < len) {
        size_t end = i;
        while (end < len && s[end] != '&')
            end++;
        if (end - i > kl && !memcmp(s + i, key, kl) && s[i + kl] == '=') {
            *out = url_decode(s + i + kl + 1, end - i - kl - 1);
            return *out ? 1 : -1;
        }
        if (end - i == kl && !memcmp(s + i, key, kl)) {
            *out = calloc(1, 1);
            return *out ? 1 : -1;
        }
        i = end + 1;
    }
    return 0;
}

/* ---- responses ---- */

static void set_body(mote_http_resp_t *resp, int status, const char *ctype, char *body, size_t len)
{
    free(resp->body);
    resp->status = status;
    snprintf(resp->content_type, sizeof resp->content_type, "%s", ctype);
    resp->body = body;
    resp->body_len = body ? len : 0;
}

/* {"error": msg} with msg escaped; control bytes become spaces. */
static void fail(mote_http_resp_t *resp, int status, const char *msg)
{
    size_t n = strlen(msg);
    char *b = malloc(6 * n + 16), *o = b;
    if (!b) {
        set_body(resp, 500, "text/plain", NULL, 0);
        return;
    }
    o += sprintf(o, "{\"error\": \"");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)msg[i];
        if (c == '"' || c == '\\') {
            *o++ = '\\';
            *o++ = (char)c;
        } else {
            *o++ = c < 0x20 || c == 0x7f ? ' ' : (char)c;
        }
    }
    o += sprintf(o, "\"}\n");
    set_body(resp, status, "application/json", b, (size_t)(o - b));
}

/* ---- request decoding ---- */

static int ctype_is(const char *ct, const char *want)
{
    size_t n = strlen(want);
    return ct && !strncasecmp(ct, want, n) && (ct[n] == 0 || ct[n] == ';' || ct[n] == ' ');
}

/* Body as a C string; NULL for NUL bytes or out of memory. */
static char *body_text(const mote_http_req_t *req)
{
    if (req->body_len && memchr(req->body, 0, req->body_len))
        return NULL;
    char *t = malloc(req->body_len + 1);
    if (t) {
        if (req->body_len)
            memcpy(t, req->body, req->body_len);
        t[req->body_len] = 0;
    }
    return t;
}

typedef struct sparql_req {
    char *text;      /* the query or update */
    int update;      /* came as an update (update= or application/sparql-update) */
    char *format;    /* format= parameter or NULL */
} sparql_req_t;

/* Parameters from a query string or form body. */
static int from_form(const char *s, size_t len, int allow_update, sparql_req_t *r, mote_http_resp_t *resp)
{
    char *q = NULL, *u = NULL;
    int hq = mote_graph_form_get(s, len, "query", &q);
    int hu = mote_graph_form_get(s, len, "update", &u);
    int hf = mote_graph_form_get(s, len, "format", &r->format);
    if (hq < 0 || hu < 0 || hf < 0) {
        free(q);
        free(u);
        fail(resp, 400, "malformed percent-encoding in parameters");
        return -1;
    }
    if (hq + hu != 1) {
        free(q);
        free(u);
        fail(resp, 400, hq + hu ? "give either query= or update=, not both" : "missing query= parameter");
        return -1;
    }
    if (hu && !allow_update) {
        free(u);
        fail(resp, 400, "updates must be sent with POST");
        return -1;
    }
    r->text = hq ? q : u;
    r->update = hu;
    return 0;
}

static int decode(const mote_http_req_t *req, sparql_req_t *r, mote_http_resp_t *resp)
{
    const char *qs = req->query ? req->query : "";
    if (!strcmp(req->method, "GET"))
        return from_form(qs, strlen(qs), 0, r, resp);
    if (strcmp(req->method, "POST")) {
        fail(resp, 405, "use GET or POST");
        return -1;
    }
    if (ctype_is(req->content_type, "application/x-www-form-urlencoded")) {
        char *b = body_text(req);
        int rc = b ? from_form(b, req->body_len, 1, r, resp) : -1;
        if (!b)
            fail(resp, 400, "form body holds a NUL byte");
        free(b);
        return rc;
    }
    int upd = ctype_is(req->content_type, "application/sparql-update");
    if (!upd && !ctype_is(req->content_type, "application/sparql-query")) {
        fail(resp, 415, "POST needs application/sparql-query, application/sparql-update "
                        "or application/x-www-form-urlencoded");
        return -1;
    }
    if (mote_graph_form_get(qs, strlen(qs), "format", &r->format) < 0) {
        fail(resp, 400, "malformed format= parameter");
        return -1;
    }
    r->text = body_text(req);
    r->update = upd;
    if (!r->text)
        fail(resp, 400, "query body holds a NUL byte");
    return r->text ? 0 : -1;
}

/* Position of `what` in the Accept header, or a large number. */
static size_t accept_pos(const char *accept, const char *what)
{
    const char *p = accept;
    size_t n = strlen(what);
    for (; *p; p++)
        if (!strncasecmp(p, what, n))
            return (size_t)(p - accept);
    return (size_t)-1;
}

/* 0 json, 1 csv, 2 table; -1 when nothing acceptable. */
static int pick_format(const char *format, const char *accept)
{
    if (format && *format)
        return !strcmp(format, "json") ? 0 : !strcmp(format, "csv") ? 1 : !strcmp(format, "table") ? 2 : -1;
    if (!accept || !*accept)
        return 0;
    size_t j = accept_pos(accept, "application/sparql-results+json");
    size_t j2 = accept_pos(accept, "application/json");
    size_t c = accept_pos(accept, "text/csv");
    j = j2 < j ? j2 : j;
    if (j != (size_t)-1 || c != (size_t)-1)
        return c < j ? 1 : 0;
    if (accept_pos(accept, "*/*") != (size_t)-1 || accept_pos(accept, "application/*") != (size_t)-1)
        return 0;
    return accept_pos(accept, "text/*") != (size_t)-1 ? 1 : -1;
}

static void do_update(mote_graph_t *g, const mote_http_req_t *req, const char *text, mote_http_resp_t *resp)
{
    char err[MOTE_GRAPH_ERR_LEN], buf[64];
    long changed = 0;
    if (!req->role) {
        fail(resp, 401, "SPARQL update needs an authenticated engineer or admin");
        return;
    }
    if (strcmp(req->role, "engineer") && strcmp(req->role, "admin")) {
        fail(resp, 403, "SPARQL update needs role engineer or admin");
        return;
    }
    mote_status_t st = mote_graph_update(g, text, &changed, err, sizeof err);
    if (st) {
        fail(resp, st == MOTE_ERR_UNSUPPORTED ? 501 : st == MOTE_ERR_FORMAT ? 400 : 500, err);
        return;
    }
    int n = snprintf(buf, sizeof buf, "{\"changed\": %ld}\n", changed);
    set_body(resp, 200, "application/json", strdup(buf), (size_t)n);
    if (!resp->body)
        resp->status = 500;
}

static void do_query(mote_graph_t *g, const char *text, int fmt, mote_http_resp_t *resp)
{
    static const char *const ctype[3] = {"application/sparql-results+json", "text/csv; charset=utf-8",
                                         "text/plain; charset=utf-8"};
    static const mote_graph_fmt_t gf[3] = {MOTE_GRAPH_JSON, MOTE_GRAPH_CSV, MOTE_GRAPH_TABLE};
    char err[MOTE_GRAPH_ERR_LEN], *out = NULL;
    size_t len = 0;
    mote_status_t st = mote_graph_query(g, text, gf[fmt], &out, &len, err, sizeof err);
    if (st) {
        fail(resp, st == MOTE_ERR_FORMAT || st == MOTE_ERR_ARG ? 400 : 500, err);
        return;
    }
    /* CONSTRUCT / DESCRIBE answer with Turtle whatever was asked */
    int turtle = strncmp(out, "{", 1) && fmt == 0 && !strstr(out, "\"head\"");
    set_body(resp, 200, turtle ? "text/turtle; charset=utf-8" : ctype[fmt], out, len);
}

void mote_graph_sparql_handler(void *user, const mote_http_req_t *req, mote_http_resp_t *resp)
{
    mote_graph_t *g = user;
    sparql_req_t r = {NULL, 0, NULL};
    if (!g || !req || !resp || !req->method) {
        if (resp)
            fail(resp, 500, "sparql handler: bad arguments");
        return;
    }
    if (decode(req, &r, resp) == 0) {
        int fmt = pick_format(r.format, req->accept);
        if (r.update)
            do_update(g, req, r.text, resp);
        else if (fmt < 0)
            fail(resp, 406, "results are available as application/sparql-results+json or text/csv");
        else if (mote_graph_is_update(r.text))
            fail(resp, 400, "this is an update: send it as update= or application/sparql-update");
        else
            do_query(g, r.text, fmt, resp);
    }
    free(r.text);
    free(r.format);
}
