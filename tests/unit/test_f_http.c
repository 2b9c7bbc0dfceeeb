/* moted's HTTP layer (src/fleet/http.c) and API (moted_api.c) without a
 * broker: query decoding, routing, roles, the session hook, a real
 * libmicrohttpd server on 127.0.0.1 talked to with httpc (bodies, 413,
 * JSON errors), and the API's answers to bad requests. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>
#include "http.h"
#include "httpc.h"
#include "moted.h"

#define VIEWER "viewer-token-000000000"
#define ENGINEER "engineer-token-00000000"

static char root[64];

static void h_echo(void *user, const mote_http_req_t *req, mote_http_resp_t *resp)
{
    char buf[512];
    snprintf(buf, sizeof buf, "{\"tag\":\"%s\",\"path\":\"%s\",\"user\":\"%s\",\"len\":%zu}", (const char *)user,
             req->path, req->user ? req->user : "", req->body_len);
    mote_http_json(resp, 200, buf);
    snprintf(resp->headers, sizeof resp->headers, "X-Test: yes\r\n");
}

static mote_http_t *server(void)
{
    mote_http_t *s = NULL;
    assert_int_equal(mote_http_create(&s), MOTE_OK);
    assert_int_equal(mote_http_add_token(s, VIEWER, "vera", "viewer"), MOTE_OK);
    assert_int_equal(mote_http_add_token(s, ENGINEER, "erin", "engineer"), MOTE_OK);
    assert_int_equal(mote_http_route(s, "GET", "/open", NULL, h_echo, "open"), MOTE_OK);
    assert_int_equal(mote_http_route(s, "GET", "/api/things", "viewer", h_echo, "first"), MOTE_OK);
    assert_int_equal(mote_http_route(s, "GET", "/api/things", "viewer", h_echo, "second"), MOTE_OK);
    assert_int_equal(mote_http_route(s, "POST", "/api/things", "engineer", h_echo, "write"), MOTE_OK);
    assert_int_equal(mote_http_route(s, "*", "/any", "admin", h_echo, "admin"), MOTE_OK);
    return s;
}

static int dispatch(mote_http_t *s, const char *method, const char *path, const char *auth, char *body_out,
                    size_t cap)
{
    mote_http_req_t req = {method, path, "", "", "", NULL, 0, NULL, NULL, "", "", "", ""};
    mote_http_resp_t resp;
    memset(&resp, 0, sizeof resp);
    mote_http_dispatch(s, &req, auth, &resp);
    snprintf(body_out, cap, "%.*s", (int)resp.body_len, resp.body ? resp.body : "");
    free(resp.body);
    return resp.status;
}

static void test_query_get(void **state)
{
    (void)state;
    char buf[16];
    assert_int_equal(mote_http_query_get("a=1&q=hello%20w%2B&b", "q", buf, sizeof buf), 1);
    assert_string_equal(buf, "hello w+");
    assert_int_equal(mote_http_query_get("a=1&b", "b", buf, sizeof buf), 1);
    assert_string_equal(buf, "");
    assert_int_equal(mote_http_query_get("a=x+y", "a", buf, sizeof buf), 1);
    assert_string_equal(buf, "x y");
    assert_int_equal(mote_http_query_get("a=1", "q", buf, sizeof buf), 0);
    assert_int_equal(mote_http_query_get("", "q", buf, sizeof buf), 0);
    assert_int_equal(mote_http_query_get("q=%zz", "q", buf, sizeof buf), -1);
    assert_int_equal(mote_http_query_get("q=%4", "q", buf, sizeof buf), -1);
    assert_int_equal(mote_http_query_get("q=%00", "q", buf, sizeof buf), -1);
    assert_int_equal(mote_http_query_get("q=0123456789abcdefXYZ", "q", buf, sizeof buf), -1);
}

static void test_routes_and_roles(void **state)
{
    (void)state;
    mote_http_t *s = server();
    char b[512];
    assert_int_equal(dispatch(s, "GET", "/open", NULL, b, sizeof b), 200);
    assert_int_equal(dispatch(s, "GET", "/api/things", NULL, b, sizeof b), 401);
    assert_non_null(strstr(b, "\"error\""));
    assert_int_equal(dispatch(s, "GET", "/api/things", "Bearer nope-nope-nope-nope", b, sizeof b), 401);
    assert_int_equal(dispatch(s, "GET", "/api/things", "Bearer " VIEWER, b, sizeof b), 200);
    assert_non_null(strstr(b, "\"tag\":\"first\"")); /* first registered wins */
    assert_non_null(strstr(b, "\"user\":\"vera\""));
    assert_int_equal(dispatch(s, "GET", "/api/things/42/x", "Bearer " VIEWER, b, sizeof b), 200);
    assert_int_equal(dispatch(s, "GET", "/api/thingsX", "Bearer " VIEWER, b, sizeof b), 404);
    assert_int_equal(dispatch(s, "POST", "/api/things", "Bearer " VIEWER, b, sizeof b), 403);
    assert_int_equal(dispatch(s, "POST", "/api/things", "Bearer " ENGINEER, b, sizeof b), 200);
    assert_int_equal(dispatch(s, "DELETE", "/api/things", "Bearer " ENGINEER, b, sizeof b), 405);
    assert_int_equal(dispatch(s, "PUT", "/any/thing", "Bearer " ENGINEER, b, sizeof b), 403);
    assert_int_equal(dispatch(s, "GET", "/nowhere", NULL, b, sizeof b), 404);
    /* Bad registrations are refused. */
    assert_int_equal(mote_http_route(s, "GET", "nope", NULL, h_echo, NULL), MOTE_ERR_ARG);
    assert_int_equal(mote_http_route(s, "GET", "/x", "root", h_echo, NULL), MOTE_ERR_ARG);
    assert_int_equal(mote_http_add_token(s, "short", "u", "viewer"), MOTE_ERR_ARG);
    mote_http_destroy(s);
}

static int session_hook(void *ctx, const mote_http_req_t *req, char user[64], char role[16])
{
    (void)ctx;
    if (req->cookie && strcmp(req->cookie, "s=good") == 0) {
        snprintf(user, 64, "sam");
        snprintf(role, 16, "engineer");
        return 0;
    }
    return req->cookie && strcmp(req->cookie, "s=nocsrf") == 0 ? 403 : 0;
}

static void test_session_hook(void **state)
{
    (void)state;
    mote_http_t *s = server();
    mote_http_set_session(s, session_hook, NULL);
    mote_http_req_t req = {"POST", "/api/things", "", "", "", NULL, 0, NULL, NULL, "s=good", "", "", ""};
    mote_http_resp_t resp;
    memset(&resp, 0, sizeof resp);
    mote_http_dispatch(s, &req, NULL, &resp);
    assert_int_equal(resp.status, 200);
    assert_non_null(strstr(resp.body, "\"user\":\"sam\""));
    free(resp.body);
    memset(&resp, 0, sizeof resp);
    req.cookie = "s=nocsrf";
    mote_http_dispatch(s, &req, NULL, &resp);
    assert_int_equal(resp.status, 403);
    free(resp.body);
    memset(&resp, 0, sizeof resp);
    req.cookie = NULL; /* anonymous */
    mote_http_dispatch(s, &req, NULL, &resp);
    assert_int_equal(resp.status, 401);
    free(resp.body);
    mote_http_destroy(s);
}

static void test_tokens_file(void **state)
{
    (void)state;
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/tokens", root);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "# comment\n%s viewer vera\n\n%s engineer erin # trailing\n", VIEWER, ENGINEER);
    fclose(f);
    mote_http_t *s = NULL;
    assert_int_equal(mote_http_create(&s), MOTE_OK);
    assert_int_equal(mote_http_load_tokens(s, path, err, sizeof err), MOTE_OK);
    mote_http_destroy(s);
    f = fopen(path, "w");
    fprintf(f, "%s viewer vera\nshort-token superuser bob\n", VIEWER);
    fclose(f);
    assert_int_equal(mote_http_create(&s), MOTE_OK);
    assert_int_equal(mote_http_load_tokens(s, path, err, sizeof err), MOTE_ERR_FORMAT);
    assert_non_null(strstr(err, ":2:"));
    mote_http_destroy(s);
}

static void test_real_server(void **state)
{
    (void)state;
    mote_http_t *s = server();
    char err[256], url[64];
    assert_int_equal(mote_http_start(s, "127.0.0.1", 0, err, sizeof err), MOTE_OK);
    assert_true(mote_http_port(s) > 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%u", mote_http_port(s));
    mote_httpc_resp_t r;
    const char *body = "{\"x\":1}";
    assert_int_equal(mote_httpc_request(url, "POST", "/api/things?a=1", ENGINEER, body, strlen(body), 0, &r, err,
                                        sizeof err),
                     MOTE_OK);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"len\":7"));
    mote_httpc_free(&r);
    size_t big = MOTE_HTTP_MAX_BODY + 1;
    char *huge = malloc(big);
    memset(huge, 'x', big);
    assert_int_equal(mote_httpc_request(url, "POST", "/api/things", ENGINEER, huge, big, 0, &r, err, sizeof err),
                     MOTE_OK);
    assert_int_equal(r.status, 413);
    mote_httpc_free(&r);
    free(huge);
    assert_int_equal(mote_httpc_request(url, "GET", "/api/things", NULL, NULL, 0, 0, &r, err, sizeof err), MOTE_OK);
    assert_int_equal(r.status, 401);
    mote_httpc_free(&r);
    /* A second server cannot take the same port. */
    mote_http_t *s2 = NULL;
    assert_int_equal(mote_http_create(&s2), MOTE_OK);
    assert_int_equal(mote_http_start(s2, "127.0.0.1", mote_http_port(s), err, sizeof err), MOTE_ERR_IO);
    assert_int_equal(mote_http_start(s2, "localhost", 0, err, sizeof err), MOTE_ERR_ARG);
    mote_http_destroy(s2);
    mote_http_destroy(s);
    assert_int_equal(mote_httpc_request(url, "GET", "/open", NULL, NULL, 0, 2000, &r, err, sizeof err), MOTE_ERR_IO);
    assert_int_equal(mote_httpc_request("ftp://x", "GET", "/", NULL, NULL, 0, 0, &r, err, sizeof err), MOTE_ERR_ARG);
}

/* The API of a moted without broker. */
static int api(mote_http_t *s, const char *method, const char *path, const char *query, const char *body,
               char *out, size_t cap)
{
    mote_http_req_t req = {method, path, query, "application/json", "", (const uint8_t *)body,
                           body ? strlen(body) : 0, NULL, NULL, "", "", "", ""};
    mote_http_resp_t resp;
    memset(&resp, 0, sizeof resp);
    mote_http_dispatch(s, &req, "Bearer " ENGINEER, &resp);
    snprintf(out, cap, "%.*s", (int)resp.body_len, resp.body ? resp.body : "");
    if (resp.status >= 400) {
        json_t *j = json_loads(out, 0, NULL);
        assert_non_null(json_string_value(json_object_get(j, "error"))); /* every error is JSON */
        json_decref(j);
    }
    free(resp.body);
    return resp.status;
}

static void test_api_bad_requests(void **state)
{
    (void)state;
    uint8_t sk[64], pk[32];
    crypto_sign_keypair(pk, sk);
    char dir[128], err[256], b[4096];
    snprintf(dir, sizeof dir, "%s/moted", root);
    mote_moted_config_t cfg = {.state_dir = root, .fleet_sk = sk};
    mote_moted_t *m = NULL;
    assert_int_equal(mote_moted_create(&m, &cfg, err, sizeof err), MOTE_OK);
    mote_http_t *s = NULL;
    assert_int_equal(mote_http_create(&s), MOTE_OK);
    assert_int_equal(mote_http_add_token(s, ENGINEER, "erin", "engineer"), MOTE_OK);
    assert_int_equal(mote_moted_routes(m, s), MOTE_OK);
    assert_int_equal(api(s, "GET", "/api/health", "", NULL, b, sizeof b), 200);
    assert_non_null(strstr(b, "\"store\":\"sqlite\""));
    assert_int_equal(api(s, "GET", "/api/devices", "limit=5", NULL, b, sizeof b), 200);
    assert_non_null(strstr(b, "\"total\":0"));
    assert_int_equal(api(s, "GET", "/api/devices", "limit=0", NULL, b, sizeof b), 400);
    assert_non_null(strstr(b, "limit"));
    assert_int_equal(api(s, "GET", "/api/devices", "offset=-1", NULL, b, sizeof b), 400);
    assert_int_equal(api(s, "GET", "/api/devices/NOT_VALID", "", NULL, b, sizeof b), 404);
    assert_int_equal(api(s, "GET", "/api/devices/dev-1", "", NULL, b, sizeof b), 404);
    assert_int_equal(api(s, "GET", "/api/devices/dev-1/twin", "", NULL, b, sizeof b), 404);
    assert_int_equal(api(s, "POST", "/api/devices/dev-1/twin", "", "{not json", b, sizeof b), 400);
    assert_non_null(strstr(b, "line 1"));
    assert_int_equal(api(s, "POST", "/api/devices/dev-1/twin", "", "{\"model\":\"m\",\"version\":3}", b, sizeof b),
                     404);
    assert_non_null(strstr(b, "not registered"));
    assert_int_equal(api(s, "POST", "/api/models", "", "[1]", b, sizeof b), 400);
    assert_int_equal(api(s, "POST", "/api/models", "", "{\"dir\":\"/nonexistent\",\"name\":\"m\",\"target\":\"t\"}", b,
                         sizeof b),
                     400);
    assert_non_null(strstr(b, "/nonexistent/m.tflite"));
    assert_int_equal(api(s, "POST", "/api/models", "", "{\"dir\":\"/tmp\",\"name\":\"../x\",\"target\":\"t\"}", b,
                         sizeof b),
                     400);
    assert_int_equal(api(s, "POST", "/api/campaigns", "", "{\"model\":\"m\"}", b, sizeof b), 400);
    assert_non_null(strstr(b, "version"));
    assert_int_equal(api(s, "POST", "/api/campaigns", "",
                         "{\"model\":\"m\",\"version\":1,\"stages\":[50,40],\"target\":{\"group\":\"g\"}}", b, sizeof b),
                     400);
    assert_non_null(strstr(b, "stages"));
    assert_int_equal(api(s, "POST", "/api/campaigns", "", "{\"model\":\"m\",\"version\":1,\"target\":{\"group\":\"g\"}}",
                         b, sizeof b),
                     404);
    assert_int_equal(api(s, "GET", "/api/campaigns/nope", "", NULL, b, sizeof b), 404);
    assert_int_equal(api(s, "POST", "/api/campaigns/nope/stop", "", NULL, b, sizeof b), 404);
    assert_int_equal(api(s, "GET", "/api/events", "since=abc", NULL, b, sizeof b), 400);
    assert_int_equal(api(s, "GET", "/api/events", "since=0", NULL, b, sizeof b), 200);
    assert_non_null(strstr(b, "\"next\":0"));
    assert_int_equal(api(s, "GET", "/api/models/none", "", NULL, b, sizeof b), 404);
    mote_http_destroy(s);
    mote_moted_destroy(m);
}

int main(void)
{
    snprintf(root, sizeof root, "/tmp/mote-http-XXXXXX");
    if (!mkdtemp(root) || sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_get),        cmocka_unit_test(test_routes_and_roles),
        cmocka_unit_test(test_session_hook),     cmocka_unit_test(test_tokens_file),
        cmocka_unit_test(test_real_server),      cmocka_unit_test(test_api_bad_requests),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    if (system(cmd) != 0)
        rc = rc ? rc : 1;
    return rc;
}
