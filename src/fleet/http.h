/* mote fleet: moted's HTTP server (libmicrohttpd) and its route table.
 *
 * Modules (devices API, graph /sparql, console) register handlers for a
 * method and a path prefix; the server collects the whole request body
 * (bounded by MOTE_HTTP_MAX_BODY), resolves the caller's identity (API
 * token or session cookie) and calls the first matching route. Each
 * connection has its own thread (at most MOTE_HTTP_MAX_CONNECTIONS):
 * handlers must be thread-safe with respect to the state they share. A
 * handler may answer with a stream (Server-Sent Events) instead of a
 * buffered body. */
#ifndef MOTE_HTTP_H
#define MOTE_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include "mote/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MOTE_HTTP_MAX_BODY (8u * 1024u * 1024u) /* bytes; larger requests get 413 */
#define MOTE_HTTP_COOKIES 1  /* requests carry cookies, responses extra headers, sessions a hook */

typedef struct mote_http_req {
    const char *method;          /* "GET", "POST", "PUT", "DELETE" */
    const char *path;            /* decoded path without the query, e.g. "/api/devices/dev-0001" */
    const char *query;           /* raw query string after '?', URL-encoded; "" if none */
    const char *content_type;    /* "" if none */
    const char *accept;          /* "" if none */
    const uint8_t *body;         /* request body (not NUL-terminated), may be NULL when body_len is 0 */
    size_t body_len;
    const char *user;            /* authenticated user name, NULL when anonymous */
    const char *role;            /* "viewer" | "engineer" | "admin", NULL when anonymous */
    const char *cookie;          /* raw "Cookie" header, "" if none (NULL tolerated) */
    const char *csrf;            /* "X-CSRF-Token" header, "" if none (NULL tolerated) */
    const char *if_none_match;   /* "If-None-Match" header, "" if none (NULL tolerated) */
    const char *last_event_id;   /* "Last-Event-ID" header (SSE reconnect), "" if none (NULL tolerated) */
} mote_http_req_t;

/* A streamed body (Server-Sent Events), produced on the connection's own
 * thread. `next` writes at most `cap` bytes to buf and returns how many;
 * 0 when nothing is ready yet, after waiting at most about
 * MOTE_HTTP_STREAM_WAIT_MS (the server calls again: returning 0 at once
 * would spin); < 0 to end the stream. `done` frees ctx (once, also when
 * the stream never started). */
typedef long (*mote_http_stream_fn)(void *ctx, char *buf, size_t cap);
typedef void (*mote_http_stream_done_fn)(void *ctx);

#define MOTE_HTTP_STREAM_WAIT_MS 250 /* longest a stream's `next` may block when idle */
#define MOTE_HTTP_MAX_STREAMS 32     /* open streams per server; more get 503 */
#define MOTE_HTTP_MAX_CONNECTIONS 256 /* open connections (threads) per server */

typedef struct mote_http_resp {
    int status;                  /* HTTP status code; 0 is treated as 500 */
    char content_type[64];       /* e.g. "application/json" */
    char *body;                  /* malloc'ed by the handler, freed by the server; may be NULL */
    size_t body_len;
    char headers[512];           /* extra header lines "Name: value\r\n"..., "" for none */
    mote_http_stream_fn stream;  /* non-NULL: stream the body instead of `body` (status 200) */
    mote_http_stream_done_fn stream_done;
    void *stream_ctx;            /* owned by the response once `stream` is set */
} mote_http_resp_t;

/* A route handler fills `resp`. `user` is the pointer given at registration. */
typedef void (*mote_http_handler_fn)(void *user, const mote_http_req_t *req, mote_http_resp_t *resp);

typedef struct mote_http mote_http_t;

/* Set resp to a JSON body (copied) / to {"error": msg} with `status`. */
void mote_http_json(mote_http_resp_t *resp, int status, const char *json);
void mote_http_error(mote_http_resp_t *resp, int status, const char *msg);

/* Free what a response owns (body, stream context) and zero it. */
void mote_http_resp_free(mote_http_resp_t *resp);

/* Parse an event id as sent in "Last-Event-ID" or "?since=": 1..19 decimal
 * digits (leading spaces allowed), value <= INT64_MAX. Returns 0 and sets
 * *id, or -1 for anything else (empty, sign, junk, overflow). */
int mote_http_parse_event_id(const char *s, uint64_t *id);

/* Decode query parameter `key` of a raw query string into buf (NUL-terminated).
 * Returns 1 when present, 0 when absent, -1 when it does not fit or is malformed. */
int mote_http_query_get(const char *query, const char *key, char *buf, size_t cap);

/* Register a handler for `method` ("*" = any) and a path prefix ("/sparql").
 * A prefix matches the path exactly or up to a '/'. Routes registered first
 * win. `min_role` NULL = anonymous allowed; else the caller needs that role
 * or a higher one (viewer < engineer < admin), otherwise 401/403. */
mote_status_t mote_http_route(mote_http_t *srv, const char *method, const char *prefix, const char *min_role,
                              mote_http_handler_fn fn, void *user);

/* ---- server life cycle and authentication (implemented in http.c) ---- */

#define MOTE_HTTP_MAX_ROUTES 64
#define MOTE_HTTP_MAX_TOKENS 64

/* A server with no routes and no tokens; not listening yet. */
mote_status_t mote_http_create(mote_http_t **out);
/* Stop (if started) and free. */
void mote_http_destroy(mote_http_t *srv);

/* Accept bearer `token` (>= 16 bytes) as `user` with `role`
 * ("viewer" | "engineer" | "admin"). Only a hash of the token is kept. */
mote_status_t mote_http_add_token(mote_http_t *srv, const char *token, const char *user, const char *role);
/* Read tokens from a file, one per line: "TOKEN ROLE USER"; '#' starts a
 * comment. Errors name the line. */
mote_status_t mote_http_load_tokens(mote_http_t *srv, const char *path, char *err, size_t errsz);

/* Listen on host:port (an IPv4 address, normally 127.0.0.1; port 0 picks
 * a free one, see mote_http_port). Routes must be registered before. */
mote_status_t mote_http_start(mote_http_t *srv, const char *host, uint16_t port, char *err, size_t errsz);
/* The bound TCP port, 0 when not started. */
uint16_t mote_http_port(const mote_http_t *srv);
void mote_http_stop(mote_http_t *srv);

/* A session resolver for requests without an Authorization header (web
 * console cookies). Returns 0 with user[0] == '\0' for anonymous, 0 with
 * user/role filled for a live session, or an HTTP status (401/403) to
 * answer with instead. Runs on the server's threads. */
typedef int (*mote_http_session_fn)(void *ctx, const mote_http_req_t *req, char user[64], char role[16]);
/* Install the session hook (NULL removes it); call before mote_http_start. */
void mote_http_set_session(mote_http_t *srv, mote_http_session_fn fn, void *ctx);

/* Handle one request without a socket: resolve the caller from the raw
 * `authorization` header value (may be NULL), check the route's role and
 * call it. Fills req->user/role. The caller frees resp->body. Used by the
 * server itself and by the fuzz target. */
void mote_http_dispatch(mote_http_t *srv, mote_http_req_t *req, const char *authorization, mote_http_resp_t *resp);

#ifdef __cplusplus
}
#endif
#endif
