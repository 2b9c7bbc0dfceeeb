/* Console users and sessions (src/fleet/auth*.c): the users file (round
 * trip, replace, refusal of bad names/roles/passwords, mode 0600, a bad
 * line named at open), login (right and wrong password, unknown user,
 * lockout after 5 failures), cookie + CSRF resolution (reads pass,
 * writes need the session's own token, logout ends it), the cookie and
 * login-body parsers, and, when http.h carries cookies, the login route
 * through mote_http_dispatch. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "auth.h"

static char dir[64], users[128];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/mote-auth-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(users, sizeof users, "%s/users.txt", dir);
    char err[256];
    if (mote_auth_user_set(users, "alice", "engineer", "correct horse", err, sizeof err) != MOTE_OK ||
        mote_auth_user_set(users, "victor", "viewer", "battery staple", err, sizeof err) != MOTE_OK)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_users_file(void **state)
{
    (void)state;
    char role[16], hash[128], err[256];
    assert_int_equal(mote_auth_user_find(users, "alice", role, hash, err, sizeof err), MOTE_OK);
    assert_string_equal(role, "engineer");
    assert_memory_equal(hash, "$argon2id$", 10);
    assert_int_equal(mote_auth_user_find(users, "mallory", role, hash, err, sizeof err), MOTE_ERR_NOT_FOUND);
    struct stat st;
    assert_int_equal(stat(users, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    /* Replacing keeps one line per user. */
    assert_int_equal(mote_auth_user_set(users, "victor", "admin", "new password!", err, sizeof err), MOTE_OK);
    assert_int_equal(mote_auth_user_find(users, "victor", role, hash, err, sizeof err), MOTE_OK);
    assert_string_equal(role, "admin");
    FILE *f = fopen(users, "r");
    char line[512];
    int victor = 0;
    while (fgets(line, sizeof line, f))
        victor += strncmp(line, "victor ", 7) == 0;
    fclose(f);
    assert_int_equal(victor, 1);
    assert_int_equal(mote_auth_user_set(users, "victor", "viewer", "battery staple", err, sizeof err), MOTE_OK);

    assert_int_equal(mote_auth_user_set(users, "bad name", "viewer", "long enough", err, sizeof err), MOTE_ERR_ARG);
    assert_int_equal(mote_auth_user_set(users, "bob", "root", "long enough", err, sizeof err), MOTE_ERR_ARG);
    assert_int_equal(mote_auth_user_set(users, "bob", "viewer", "short", err, sizeof err), MOTE_ERR_ARG);
    assert_non_null(strstr(err, "password"));
}

static void test_bad_file_named(void **state)
{
    (void)state;
    char bad[160], err[256];
    snprintf(bad, sizeof bad, "%s/bad.txt", dir);
    FILE *f = fopen(bad, "w");
    fputs("# comment\n\nalice engineer $argon2id$v=19$x\nbob superuser $argon2id$v=19$y\n", f);
    fclose(f);
    mote_auth_t *a = NULL;
    assert_int_equal(mote_auth_open(&a, bad, err, sizeof err), MOTE_ERR_FORMAT);
    assert_null(a);
    assert_non_null(strstr(err, "bad.txt:4:"));
    snprintf(bad, sizeof bad, "%s/missing.txt", dir);
    assert_int_equal(mote_auth_open(&a, bad, err, sizeof err), MOTE_ERR_IO);
}

static void test_login_and_csrf(void **state)
{
    (void)state;
    mote_auth_t *a;
    char err[256], sid[65], csrf[65], role[16], user[64], r[16];
    assert_int_equal(mote_auth_open(&a, users, err, sizeof err), MOTE_OK);
    assert_int_equal(mote_auth_login(a, "alice", "wrong password", sid, csrf, role), MOTE_ERR_VERIFY);
    assert_int_equal(mote_auth_login(a, "nobody", "correct horse", sid, csrf, role), MOTE_ERR_VERIFY);
    assert_int_equal(mote_auth_login(a, "alice", "correct horse", sid, csrf, role), MOTE_OK);
    assert_int_equal(strlen(sid), 64);
    assert_int_equal(strlen(csrf), 64);
    assert_string_equal(role, "engineer");

    char cookie[160];
    snprintf(cookie, sizeof cookie, "theme=dark; %s=%s; other=1", MOTE_AUTH_COOKIE, sid);
    assert_int_equal(mote_auth_resolve(a, "GET", cookie, NULL, user, r), 0);
    assert_string_equal(user, "alice");
    assert_string_equal(r, "engineer");
    /* A write without the token, or with another session's, is refused. */
    assert_int_equal(mote_auth_resolve(a, "POST", cookie, NULL, user, r), 403);
    assert_string_equal(user, "");
    char sid2[65], csrf2[65];
    assert_int_equal(mote_auth_login(a, "victor", "battery staple", sid2, csrf2, role), MOTE_OK);
    assert_string_equal(role, "viewer");
    assert_string_not_equal(csrf, csrf2);
    assert_int_equal(mote_auth_resolve(a, "POST", cookie, csrf2, user, r), 403);
    assert_int_equal(mote_auth_resolve(a, "DELETE", cookie, csrf, user, r), 0);
    assert_string_equal(user, "alice");
    char again[65];
    mote_auth_csrf_for(a, sid, again);
    assert_string_equal(again, csrf);

    /* Unknown or malformed session ids are anonymous, not errors. */
    assert_int_equal(mote_auth_resolve(a, "POST", "mote_session=0123", "x", user, r), 0);
    assert_string_equal(user, "");
    assert_int_equal(mote_auth_resolve(a, "GET", NULL, NULL, user, r), 0);
    assert_string_equal(user, "");

    assert_int_equal(mote_auth_logout(a, sid), MOTE_OK);
    assert_int_equal(mote_auth_logout(a, sid), MOTE_ERR_NOT_FOUND);
    assert_int_equal(mote_auth_resolve(a, "GET", cookie, NULL, user, r), 0);
    assert_string_equal(user, "");
    mote_auth_close(a);
}

typedef struct audit_log {
    int logins, failed, logouts;
} audit_log_t;

static void on_audit(void *ctx, const char *kind, const char *user, const char *detail)
{
    (void)user;
    (void)detail;
    audit_log_t *l = ctx;
    l->logins += strcmp(kind, "login") == 0;
    l->failed += strcmp(kind, "login_failed") == 0;
    l->logouts += strcmp(kind, "logout") == 0;
}

static void test_lockout(void **state)
{
    (void)state;
    mote_auth_t *a;
    audit_log_t log = {0};
    char err[256], sid[65], csrf[65], role[16];
    assert_int_equal(mote_auth_open(&a, users, err, sizeof err), MOTE_OK);
    mote_auth_set_audit(a, on_audit, &log);
    for (int i = 0; i < 5; i++)
        assert_int_equal(mote_auth_login(a, "victor", "guess guess", sid, csrf, role), MOTE_ERR_VERIFY);
    /* Locked: even the right password is refused for a minute. */
    assert_int_equal(mote_auth_login(a, "victor", "battery staple", sid, csrf, role), MOTE_ERR_LIMIT);
    assert_int_equal(mote_auth_login(a, "alice", "correct horse", sid, csrf, role), MOTE_OK);
    assert_int_equal(mote_auth_logout(a, sid), MOTE_OK);
    assert_int_equal(log.failed, 6);
    assert_int_equal(log.logins, 1);
    assert_int_equal(log.logouts, 1);
    mote_auth_close(a);
}

static void test_cookie_parser(void **state)
{
    (void)state;
    char v[16];
    assert_int_equal(mote_auth_cookie_get("a=1; b=22", "b", v, sizeof v), 1);
    assert_string_equal(v, "22");
    assert_int_equal(mote_auth_cookie_get("ab=1; b=2", "b", v, sizeof v), 1);
    assert_string_equal(v, "2");
    assert_int_equal(mote_auth_cookie_get("xb=1", "b", v, sizeof v), 0);
    assert_int_equal(mote_auth_cookie_get("b", "b", v, sizeof v), 0);
    assert_int_equal(mote_auth_cookie_get("b=", "b", v, sizeof v), 1);
    assert_string_equal(v, "");
    assert_int_equal(mote_auth_cookie_get("b=\"q\"", "b", v, sizeof v), -1);
    assert_int_equal(mote_auth_cookie_get("b=0123456789abcdef", "b", v, sizeof v), -1);
    assert_int_equal(mote_auth_cookie_get(";;  b=x  ;", "b", v, sizeof v), 1);
    assert_string_equal(v, "x");
    assert_int_equal(mote_auth_cookie_get(NULL, "b", v, sizeof v), 0);
}

static void test_login_body(void **state)
{
    (void)state;
    char u[64], p[64], err[256];
    const char *ok = "{\"user\":\"alice\",\"password\":\"pw\"}";
    assert_int_equal(mote_auth_parse_login((const uint8_t *)ok, strlen(ok), u, p, sizeof p, err, sizeof err), MOTE_OK);
    assert_string_equal(u, "alice");
    assert_string_equal(p, "pw");
    const char *bad[] = {"", "[]", "{\"user\":\"al ice\",\"password\":\"x\"}", "{\"user\":\"a\"}",
                         "{\"user\":\"a\",\"password\":\"x\\u0000y\"}", "{\"user\":\"a\",\"user\":\"b\",\"password\":\"x\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(mote_auth_parse_login((const uint8_t *)bad[i], strlen(bad[i]), u, p, sizeof p, err, sizeof err),
                         MOTE_ERR_FORMAT);
}

#ifdef MOTE_HTTP_COOKIES
/* Log in through the route table, then call an engineer-only route with
 * the cookie, with and without the CSRF header. */
static void engineer_only(void *user, const mote_http_req_t *req, mote_http_resp_t *resp)
{
    (void)user;
    mote_http_json(resp, 200, req->user ? "{\"who\":\"someone\"}" : "{}");
}

static void test_routes(void **state)
{
    (void)state;
    mote_http_t *srv;
    mote_auth_t *a;
    char err[256];
    assert_int_equal(mote_http_create(&srv), MOTE_OK);
    assert_int_equal(mote_auth_open(&a, users, err, sizeof err), MOTE_OK);
    assert_int_equal(mote_auth_routes(a, srv), MOTE_OK);
    assert_int_equal(mote_http_route(srv, "POST", "/api/thing", "engineer", engineer_only, NULL), MOTE_OK);
    mote_http_set_session(srv, mote_auth_session_hook, a);

    const char *body = "{\"user\":\"alice\",\"password\":\"correct horse\"}";
    mote_http_req_t req = {0};
    req.method = "POST";
    req.path = "/api/login";
    req.query = "";
    req.content_type = "application/json";
    req.body = (const uint8_t *)body;
    req.body_len = strlen(body);
    mote_http_resp_t resp = {0};
    mote_http_dispatch(srv, &req, NULL, &resp);
    assert_int_equal(resp.status, 200);
    char *set = strstr(resp.headers, "Set-Cookie: mote_session=");
    assert_non_null(set);
    assert_non_null(strstr(resp.headers, "HttpOnly; SameSite=Strict"));
    char cookie[128], csrf[65];
    snprintf(cookie, sizeof cookie, "mote_session=%.64s", set + strlen("Set-Cookie: mote_session="));
    char *c = strstr(resp.body, "\"csrf\":\"");
    assert_non_null(c);
    snprintf(csrf, sizeof csrf, "%.64s", c + 8);
    free(resp.body);

    mote_http_req_t w = {0};
    w.method = "POST";
    w.path = "/api/thing";
    w.query = "";
    w.cookie = cookie;
    w.csrf = "";
    memset(&resp, 0, sizeof resp);
    mote_http_dispatch(srv, &w, NULL, &resp);
    assert_int_equal(resp.status, 403);
    free(resp.body);
    w.csrf = csrf;
    memset(&resp, 0, sizeof resp);
    mote_http_dispatch(srv, &w, NULL, &resp);
    assert_int_equal(resp.status, 200);
    free(resp.body);
    mote_http_destroy(srv);
    mote_auth_close(a);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_users_file), cmocka_unit_test(test_bad_file_named),
        cmocka_unit_test(test_login_and_csrf), cmocka_unit_test(test_lockout),
        cmocka_unit_test(test_cookie_parser), cmocka_unit_test(test_login_body),
#ifdef MOTE_HTTP_COOKIES
        cmocka_unit_test(test_routes),
#endif
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
