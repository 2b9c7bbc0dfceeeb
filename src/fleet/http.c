/* moted's HTTP server on libmicrohttpd: route table, bearer-token roles,
 * bounded request bodies, streamed bodies (http.h).
 *
 * One thread per connection: a Server-Sent Events stream keeps its
 * connection for hours, and its reader blocks between events. In a small
 * thread pool each open stream would stall every other request sharing
 * its thread; here it stalls only itself. */
#define _GNU_SOURCE /* POLLRDHUP */
#include "http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

typedef struct route {
    char method[8];
    char prefix[128];
    int min_rank; /* 0 = anonymous */
    mote_http_handler_fn fn;
    void *user;
} route_t;

typedef struct token {
    uint8_t hash[crypto_generichash_BYTES];
    char user[64];
    char role[16];
} token_t;

struct mote_http {
    struct MHD_Daemon *d;
    uint16_t port;
    route_t routes[MOTE_HTTP_MAX_ROUTES];
    int n_routes;
    token_t tokens[MOTE_HTTP_MAX_TOKENS];
    int n_tokens;
    mote_http_session_fn session;
    void *session_ctx;
    atomic_int stopping;  /* set before MHD_stop_daemon so streams end */
    atomic_int n_streams; /* open streamed responses */
};

/* One streamed response on its connection. */
typedef struct stream {
    mote_http_t *srv;
    mote_http_stream_fn next;
    mote_http_stream_done_fn done;
    void *ctx;
    int fd; /* the connection's socket, to notice a closed peer; -1 unknown */
    char *cookie;     /* the session cookie it was opened with; NULL for a bearer token */
    int64_t check_ms; /* monotonic ms of the last session check */
} stream_t;

#define STREAM_RECHECK_MS 5000 /* a stream ends this soon after its session does */

/* Per-connection upload state. */
typedef struct upload {
    uint8_t *body;
    size_t len, cap;
    int too_large;
} upload_t;

static int role_rank(const char *role)
{
    if (!role)
        return 0;
    if (strcmp(role, "viewer") == 0)
        return 1;
    if (strcmp(role, "engineer") == 0)
        return 2;
    if (strcmp(role, "admin") == 0)
        return 3;
    return -1;
}

/* ---- responses and queries ---- */

void mote_http_json(mote_http_resp_t *resp, int status, const char *json)
{
    size_t n = strlen(json);
    free(resp->body);
    resp->body = malloc(n + 1);
    resp->status = resp->body ? status : 500;
    resp->body_len = resp->body ? n : 0;
    if (resp->body)
        memcpy(resp->body, json, n + 1);
    snprintf(resp->content_type, sizeof resp->content_type, "application/json");
}

void mote_http_error(mote_http_resp_t *resp, int status, const char *msg)
{
    json_t *o = json_pack("{s:s}", "error", msg ? msg : "error");
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    mote_http_json(resp, status, s ? s : "{\"error\":\"out of memory\"}");
    free(s);
    json_decref(o);
}

void mote_http_resp_free(mote_http_resp_t *resp)
{
    free(resp->body);
    if (resp->stream_done)
        resp->stream_done(resp->stream_ctx);
    memset(resp, 0, sizeof *resp);
}

int mote_http_parse_event_id(const char *s, uint64_t *id)
{
    if (!s)
        return -1;
    while (*s == ' ')
        s++;
    uint64_t v = 0;
    size_t n = 0;
    for (; s[n] >= '0' && s[n] <= '9'; n++) {
        if (n == 19)
            return -1;
        v = v * 10 + (uint64_t)(s[n] - '0');
    }
    if (n == 0 || s[n] != '\0' || v > (uint64_t)INT64_MAX)
        return -1;
    *id = v;
    return 0;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* URL-decode [s, s+n) into buf; -1 on a bad escape or overflow. */
static int url_decode(const char *s, size_t n, char *buf, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '+')
            c = ' ';
        else if (c == '%') {
            if (i + 2 >= n)
                return -1;
            int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
            if (h < 0 || l < 0)
                return -1;
            c = h * 16 + l;
            i += 2;
        }
        if (c == 0 || o + 1 >= cap)
            return -1;
        buf[o++] = (char)c;
    }
    if (cap == 0)
        return -1;
    buf[o] = '\0';
    return 0;
}

int mote_http_query_get(const char *query, const char *key, char *buf, size_t cap)
{
    if (!query || !key)
        return 0;
    const char *p = query;
    while (*p) {
        const char *end = strchr(p, '&');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        size_t klen = eq ? (size_t)(eq - p) : len;
        char k[128];
        if (url_decode(p, klen, k, sizeof k) == 0 && strcmp(k, key) == 0) {
            if (!eq)
                return cap ? (buf[0] = '\0', 1) : -1;
            return url_decode(eq + 1, len - klen - 1, buf, cap) == 0 ? 1 : -1;
        }
        p += len;
        if (*p == '&')
            p++;
    }
    return 0;
}

/* ---- routes and tokens ---- */

mote_status_t mote_http_create(mote_http_t **out)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return MOTE_ERR_NOMEM;
    if (sodium_init() < 0) {
        free(*out);
        *out = NULL;
        return MOTE_ERR_STATE;
    }
    return MOTE_OK;
}

mote_status_t mote_http_route(mote_http_t *srv, const char *method, const char *prefix, const char *min_role,
                              mote_http_handler_fn fn, void *user)
{
    if (!srv || !method || !prefix || !fn || prefix[0] != '/' || strlen(method) >= 8 || strlen(prefix) >= 128)
        return MOTE_ERR_ARG;
    int rank = role_rank(min_role);
    if (rank < 0)
        return MOTE_ERR_ARG;
    if (srv->n_routes >= MOTE_HTTP_MAX_ROUTES)
        return MOTE_ERR_FULL;
    route_t *r = &srv->routes[srv->n_routes++];
    snprintf(r->method, sizeof r->method, "%s", method);
    snprintf(r->prefix, sizeof r->prefix, "%s", prefix);
    r->min_rank = rank;
    r->fn = fn;
    r->user = user;
    return MOTE_OK;
}

static void token_hash(const char *token, uint8_t out[crypto_generichash_BYTES])
{
    crypto_generichash(out, crypto_generichash_BYTES, (const uint8_t *)token, strlen(token), NULL, 0);
}

mote_status_t mote_http_add_token(mote_http_t *srv, const char *token, const char *user, const char *role)
{
    if (!srv || !token || !user || strlen(token) < 16 || role_rank(role) <= 0 || strlen(user) >= 64)
        return MOTE_ERR_ARG;
    if (srv->n_tokens >= MOTE_HTTP_MAX_TOKENS)
        return MOTE_ERR_FULL;
    token_t *t = &srv->tokens[srv->n_tokens++];
    token_hash(token, t->hash);
    snprintf(t->user, sizeof t->user, "%s", user);
    snprintf(t->role, sizeof t->role, "%s", role);
    return MOTE_OK;
}

mote_status_t mote_http_load_tokens(mote_http_t *srv, const char *path, char *err, size_t errsz)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errsz, "%s: %s", path, strerror(errno));
        return MOTE_ERR_IO;
    }
    char line[512];
    int ln = 0;
    mote_status_t st = MOTE_OK;
    while (st == MOTE_OK && fgets(line, sizeof line, f)) {
        ln++;
        char tok[256], role[32], user[128], extra[2];
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        int n = sscanf(line, "%255s %31s %127s %1s", tok, role, user, extra);
        if (n <= 0)
            continue;
        if (n != 3 || mote_http_add_token(srv, tok, user, role) != MOTE_OK) {
            snprintf(err, errsz,
                     "%s:%d: want 'TOKEN ROLE USER' with a token of 16+ characters and role"
                     " viewer|engineer|admin",
                     path, ln);
            st = MOTE_ERR_FORMAT;
        }
    }
    fclose(f);
    return st;
}

/* The token entry for an "Authorization: Bearer X" value, NULL if none. */
static const token_t *find_token(const mote_http_t *srv, const char *authorization)
{
    if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
        return NULL;
    const char *tok = authorization + 7;
    while (*tok == ' ')
        tok++;
    uint8_t h[crypto_generichash_BYTES];
    token_hash(tok, h);
    const token_t *hit = NULL;
    for (int i = 0; i < srv->n_tokens; i++) /* compare all, in constant time each */
        if (sodium_memcmp(h, srv->tokens[i].hash, sizeof h) == 0)
            hit = &srv->tokens[i];
    return hit;
}

static int prefix_match(const char *prefix, const char *path)
{
    size_t n = strlen(prefix);
    if (strncmp(prefix, path, n) != 0)
        return 0;
    return path[n] == '\0' || path[n] == '/' || prefix[n - 1] == '/';
}

void mote_http_set_session(mote_http_t *srv, mote_http_session_fn fn, void *ctx)
{
    srv->session = fn;
    srv->session_ctx = ctx;
}

/* Fill req->user/role from the bearer token or, without one, the session
 * hook. Returns 0, or the status to answer with (resp already set). */
static int identify(mote_http_t *srv, mote_http_req_t *req, const char *authorization, char user[64], char role[16],
                    mote_http_resp_t *resp)
{
    const token_t *t = find_token(srv, authorization);
    req->user = t ? t->user : NULL;
    req->role = t ? t->role : NULL;
    if (authorization && *authorization) {
        if (t)
            return 0;
        mote_http_error(resp, 401, "invalid or unknown bearer token");
        return 401;
    }
    if (!srv->session)
        return 0;
    user[0] = role[0] = '\0';
    int st = srv->session(srv->session_ctx, req, user, role);
    if (st != 0) {
        mote_http_error(resp, st, st == 403 ? "missing or wrong CSRF token" : "session expired");
        return st;
    }
    if (user[0]) {
        req->user = user;
        req->role = role;
    }
    return 0;
}

void mote_http_dispatch(mote_http_t *srv, mote_http_req_t *req, const char *authorization, mote_http_resp_t *resp)
{
    char user[64], role[16];
    if (identify(srv, req, authorization, user, role, resp) != 0)
        return;
    int path_known = 0;
    for (int i = 0; i < srv->n_routes; i++) {
        const route_t *r = &srv->routes[i];
        if (!prefix_match(r->prefix, req->path))
            continue;
        path_known = 1;
        if (strcmp(r->method, "*") != 0 && strcmp(r->method, req->method) != 0)
            continue;
        int rank = role_rank(req->role);
        if (r->min_rank > 0 && rank <= 0) {
            mote_http_error(resp, 401, "authentication required: send 'Authorization: Bearer TOKEN'");
            return;
        }
        if (rank < r->min_rank) {
            mote_http_error(resp, 403, "your role may not do this");
            return;
        }
        r->fn(r->user, req, resp);
        if (resp->status == 0)
            resp->status = 500;
        return;
    }
    if (path_known)
        mote_http_error(resp, 405, "method not allowed on this path");
    else
        mote_http_error(resp, 404, "no such path");
}

/* ---- libmicrohttpd glue ---- */

/* Rebuild the URL-encoded query string from MHD's parsed arguments, so
 * handlers see one raw form whatever the server library. */
typedef struct qbuild {
    char *buf;
    size_t len, cap;
    int overflow;
} qbuild_t;

static void q_put(qbuild_t *q, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        int plain = isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
        if (q->len + 4 >= q->cap) {
            q->overflow = 1;
            return;
        }
        if (plain) {
            q->buf[q->len++] = (char)c;
        } else {
            q->buf[q->len++] = '%';
            q->buf[q->len++] = hex[c >> 4];
            q->buf[q->len++] = hex[c & 15];
        }
    }
    q->buf[q->len] = '\0';
}

static enum MHD_Result q_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    qbuild_t *q = cls;
    if (q->len && q->len + 1 < q->cap)
        q->buf[q->len++] = '&';
    q_put(q, key);
    if (value && q->len + 1 < q->cap) {
        q->buf[q->len++] = '=';
        q_put(q, value);
    }
    q->buf[q->len] = '\0';
    return MHD_YES;
}

static const char *header(struct MHD_Connection *c, const char *name)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
    return v ? v : "";
}

/* Extra "Name: value\r\n" lines set by a handler. */
static void add_headers(struct MHD_Response *r, const char *lines)
{
    char buf[sizeof((mote_http_resp_t *)0)->headers];
    snprintf(buf, sizeof buf, "%s", lines);
    char *save = NULL;
    for (char *l = strtok_r(buf, "\r\n", &save); l; l = strtok_r(NULL, "\r\n", &save)) {
        char *colon = strchr(l, ':');
        if (!colon || colon == l)
            continue;
        *colon = '\0';
        const char *v = colon + 1;
        while (*v == ' ')
            v++;
        MHD_add_response_header(r, l, v);
    }
}

/* bearer_hint: answer a 401 with "WWW-Authenticate: Bearer" (API clients,
 * not browsers holding a session cookie). */
static enum MHD_Result send_resp(struct MHD_Connection *c, mote_http_resp_t *resp, int bearer_hint)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(resp->body_len, resp->body ? resp->body : (void *)"",
                                        resp->body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(resp->body);
        return MHD_NO;
    }
    if (resp->content_type[0])
        MHD_add_response_header(r, "Content-Type", resp->content_type);
    if (resp->status == 401 && bearer_hint)
        MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
    add_headers(r, resp->headers);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    return ret;
}

/* The client hung up: an idle stream would otherwise hold its slot until
 * the next keepalive write fails. */
static int peer_gone(int fd)
{
    if (fd < 0)
        return 0;
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDHUP};
    if (poll(&p, 1, 0) <= 0)
        return 0;
    return (p.revents & (POLLHUP | POLLERR | POLLRDHUP | POLLNVAL)) != 0;
}

static int64_t mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* A logout or an expired session must not leave its streams running: the
 * role was checked once, when the stream opened. Resolving the session
 * also counts as activity, so an open live page keeps an idle session
 * alive (never past its absolute lifetime). */
static int session_ended(stream_t *st)
{
    if (!st->cookie || !st->srv->session)
        return 0;
    int64_t now = mono_ms();
    if (now - st->check_ms < STREAM_RECHECK_MS)
        return 0;
    st->check_ms = now;
    mote_http_req_t req = {.method = "GET", .path = "", .query = "", .cookie = st->cookie, .csrf = ""};
    char user[64], role[16];
    user[0] = '\0';
    return st->srv->session(st->srv->session_ctx, &req, user, role) != 0 || !user[0];
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    stream_t *st = cls;
    for (;;) {
        if (atomic_load(&st->srv->stopping) || peer_gone(st->fd) || session_ended(st))
            return MHD_CONTENT_READER_END_WITH_ERROR;
        long n = st->next(st->ctx, buf, max);
        if (n > 0)
            return (ssize_t)n;
        if (n < 0)
            return MHD_CONTENT_READER_END_OF_STREAM;
    }
}

static void stream_free(void *cls)
{
    stream_t *st = cls;
    st->done(st->ctx);
    atomic_fetch_sub(&st->srv->n_streams, 1);
    free(st->cookie);
    free(st);
}

/* A handler's stream becomes the response; past MOTE_HTTP_MAX_STREAMS,
 * or without memory, a 503 instead. */
static enum MHD_Result send_stream(mote_http_t *srv, struct MHD_Connection *c, mote_http_resp_t *resp)
{
    stream_t *st = NULL;
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    char *cookie = auth && *auth ? NULL : strdup(header(c, "Cookie"));
    if (atomic_fetch_add(&srv->n_streams, 1) < MOTE_HTTP_MAX_STREAMS && (cookie || (auth && *auth)))
        st = calloc(1, sizeof *st);
    if (!st) {
        free(cookie);
        atomic_fetch_sub(&srv->n_streams, 1);
        mote_http_resp_free(resp);
        char msg[96];
        snprintf(msg, sizeof msg, "too many open streams (at most %d): retry later", MOTE_HTTP_MAX_STREAMS);
        mote_http_error(resp, 503, msg);
        snprintf(resp->headers, sizeof resp->headers, "Retry-After: 5\r\n");
        return send_resp(c, resp, 0);
    }
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    *st = (stream_t){srv, resp->stream, resp->stream_done, resp->stream_ctx, ci ? ci->connect_fd : -1, cookie,
                     mono_ms()};
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, st, stream_free);
    if (!r) {
        stream_free(st);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", resp->content_type[0] ? resp->content_type : "text/event-stream");
    MHD_add_response_header(r, "Cache-Control", "no-cache");
    add_headers(r, resp->headers);
    /* Idle streams are expected; liveness is the keepalive's job. */
    MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, (unsigned)0);
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
}

static int upload_add(upload_t *u, const char *data, size_t n)
{
    if (u->too_large || u->len + n > MOTE_HTTP_MAX_BODY) {
        u->too_large = 1;
        return 0;
    }
    if (u->len + n > u->cap) {
        size_t cap = u->cap ? u->cap : 4096;
        while (cap < u->len + n)
            cap *= 2;
        uint8_t *b = realloc(u->body, cap);
        if (!b) {
            u->too_large = 1;
            return 0;
        }
        u->body = b;
        u->cap = cap;
    }
    memcpy(u->body + u->len, data, n);
    u->len += n;
    return 0;
}

static void handle(mote_http_t *srv, struct MHD_Connection *c, const char *url, const char *method, upload_t *u,
                   mote_http_resp_t *resp)
{
    char qbuf[4096];
    qbuild_t q = {qbuf, 0, sizeof qbuf, 0};
    qbuf[0] = '\0';
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, q_arg, &q);
    if (u->too_large) {
        mote_http_error(resp, 413, "request body too large");
        return;
    }
    if (q.overflow) {
        mote_http_error(resp, 414, "query string too long");
        return;
    }
    mote_http_req_t req = {
        method, url,  qbuf, header(c, "Content-Type"), header(c, "Accept"),       u->body,
        u->len, NULL, NULL, header(c, "Cookie"),       header(c, "X-CSRF-Token"), header(c, "If-None-Match"),
        header(c, "Last-Event-ID")};
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    mote_http_dispatch(srv, &req, auth, resp);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
    (void)version;
    mote_http_t *srv = cls;
    upload_t *u = *con_cls;
    if (!u) {
        u = calloc(1, sizeof *u);
        if (!u)
            return MHD_NO;
        *con_cls = u;
        return MHD_YES;
    }
    if (*upload_size) {
        upload_add(u, upload_data, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    mote_http_resp_t resp;
    memset(&resp, 0, sizeof resp);
    handle(srv, c, url, method, u, &resp);
    if (resp.stream) {
        free(resp.body);
        resp.body = NULL;
        return send_stream(srv, c, &resp);
    }
    return send_resp(c, &resp, header(c, "Cookie")[0] == '\0');
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    upload_t *u = *con_cls;
    if (u) {
        free(u->body);
        free(u);
        *con_cls = NULL;
    }
}

mote_status_t mote_http_start(mote_http_t *srv, const char *host, uint16_t port, char *err, size_t errsz)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
        snprintf(err, errsz, "http: '%s' is not an IPv4 address", host);
        return MOTE_ERR_ARG;
    }
    atomic_store(&srv->stopping, 0);
    srv->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL, port,
                              NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&a,
                              MHD_OPTION_CONNECTION_LIMIT, (unsigned)MOTE_HTTP_MAX_CONNECTIONS,
                              MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_CONNECTION_TIMEOUT,
                              (unsigned)30, MHD_OPTION_END);
    if (!srv->d) {
        snprintf(err, errsz, "http: cannot listen on %s:%u (in use?)", host, port);
        return MOTE_ERR_IO;
    }
    const union MHD_DaemonInfo *i = MHD_get_daemon_info(srv->d, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = i ? i->port : port;
    return MOTE_OK;
}

uint16_t mote_http_port(const mote_http_t *srv)
{
    return srv->d ? srv->port : 0;
}

void mote_http_stop(mote_http_t *srv)
{
    if (srv && srv->d) {
        atomic_store(&srv->stopping, 1); /* open streams end within MOTE_HTTP_STREAM_WAIT_MS */
        MHD_stop_daemon(srv->d);
        srv->d = NULL;
    }
}

void mote_http_destroy(mote_http_t *srv)
{
    mote_http_stop(srv);
    free(srv);
}
