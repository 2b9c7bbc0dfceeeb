/* HTTP side of console sessions (auth.h): /api/login, /api/logout,
 * /api/session and the session hook moted's server calls per request. */
#define _POSIX_C_SOURCE 200809L
#include "auth.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef MOTE_HTTP_COOKIES

/* {"user","role","csrf"} for a session. */
static void session_json(mote_http_resp_t *resp, const char *user, const char *role, const char *csrf)
{
    json_t *o = json_pack("{s:s, s:s, s:s}", "user", user, "role", role, "csrf", csrf);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (s)
        mote_http_json(resp, 200, s);
    else
        mote_http_error(resp, 500, "out of memory");
    free(s);
    json_decref(o);
}

static void set_cookie(mote_http_resp_t *resp, const char *sid, int max_age)
{
    /* No "Secure": moted serves plain HTTP on loopback unless a TLS proxy
     * fronts it (docs/console.md). */
    snprintf(resp->headers, sizeof resp->headers,
             "Set-Cookie: %s=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%d\r\n"
             "Cache-Control: no-store\r\n",
             MOTE_AUTH_COOKIE, sid, max_age);
}

static int is_json(const char *ct)
{
    return ct && strncmp(ct, "application/json", 16) == 0;
}

static void on_login(void *user, const mote_http_req_t *req, mote_http_resp_t *resp)
{
    mote_auth_t *a = user;
    char name[64], pw[MOTE_AUTH_PASS_MAX + 1], err[256], sid[65], csrf[65], role[16];
    /* JSON only: a cross-site HTML form cannot send it without a CORS
     * preflight, which moted never grants (login CSRF). */
    if (!is_json(req->content_type)) {
        mote_http_error(resp, 415, "login wants Content-Type: application/json");
        return;
    }
    if (mote_auth_parse_login(req->body, req->body_len, name, pw, sizeof pw, err, sizeof err) != MOTE_OK) {
        mote_http_error(resp, 400, err);
        return;
    }
    mote_status_t st = mote_auth_login(a, name, pw, sid, csrf, role);
    sodium_memzero(pw, sizeof pw);
    if (st == MOTE_ERR_LIMIT) {
        mote_http_error(resp, 429, "too many failed logins: wait a minute");
        return;
    }
    if (st != MOTE_OK) {
        mote_http_error(resp, 401, "wrong user name or password");
        return;
    }
    session_json(resp, name, role, csrf);
    set_cookie(resp, sid, MOTE_AUTH_MAX_AGE_S);
}

static void on_logout(void *user, const mote_http_req_t *req, mote_http_resp_t *resp)
{
    char sid[MOTE_AUTH_TOKEN_HEX + 1];
    if (mote_auth_cookie_get(req->cookie, MOTE_AUTH_COOKIE, sid, sizeof sid) != 1 ||
        mote_auth_logout(user, sid) != MOTE_OK) {
        mote_http_error(resp, 400, "no console session to end (bearer tokens cannot log out)");
        return;
    }
    mote_http_json(resp, 200, "{\"ok\":true}");
    set_cookie(resp, "", 0);
}

static void on_session(void *user, const mote_http_req_t *req, mote_http_resp_t *resp)
{
    char sid[MOTE_AUTH_TOKEN_HEX + 1], csrf[65];
    if (mote_auth_cookie_get(req->cookie, MOTE_AUTH_COOKIE, sid, sizeof sid) != 1) {
        /* A bearer-token caller: it needs no CSRF token. */
        session_json(resp, req->user, req->role, "");
        return;
    }
    mote_auth_csrf_for(user, sid, csrf);
    session_json(resp, req->user, req->role, csrf);
    snprintf(resp->headers, sizeof resp->headers, "Cache-Control: no-store\r\n");
}

int mote_auth_session_hook(void *ctx, const mote_http_req_t *req, char user[64], char role[16])
{
    return mote_auth_resolve(ctx, req->method, req->cookie, req->csrf, user, role);
}

#else /* http.h without cookies: the console cannot log in yet */

static void on_login(void *user, const mote_http_req_t *req, mote_http_resp_t *resp)
{
    (void)user;
    (void)req;
    mote_http_error(resp, 501, "this moted's HTTP server has no cookie support (MOTE_HTTP_COOKIES)");
}
#define on_logout on_login
#define on_session on_login

#endif

mote_status_t mote_auth_routes(mote_auth_t *a, mote_http_t *srv)
{
    mote_status_t st = mote_http_route(srv, "POST", "/api/login", NULL, on_login, a);
    if (st == MOTE_OK)
        st = mote_http_route(srv, "POST", "/api/logout", "viewer", on_logout, a);
    if (st == MOTE_OK)
        st = mote_http_route(srv, "GET", "/api/session", "viewer", on_session, a);
    return st;
}
